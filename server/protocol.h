#pragma once

#include "chattypes.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>

// The wire protocol (docs/PROTOCOL.md): decoding of requests into typed values, and the
// encoding of every frame the server sends.
namespace Protocol {

enum class RequestType { Hello, Join, Leave, Rooms, Who, Say, Dm, Typing, Nick };

struct Request
{
    RequestType type = RequestType::Hello;
    QString ref;
    QString nick; // hello, nick
    QString password; // hello; null when absent
    QString room; // join, leave, who, say, typing
    QString to; // dm
    QString text; // say, dm
};

enum class Error {
    BadRequest,
    NotReady,
    NickInvalid,
    NickTaken,
    BadPassword,
    Banned,
    RoomInvalid,
    NotInRoom,
    NoSuchUser,
    TextInvalid,
    Muted,
    RateLimited,
    ServerFull,
    TooManyAttempts,
    TooManyRooms,
};

enum CloseCode {
    CloseNormal = 1000,
    CloseGoingAway = 1001,
    CloseUnsupportedData = 1003,
    CloseInvalidPayload = 1007,
    ClosePolicy = 1008,
    CloseTooBig = 1009,
    CloseTryAgainLater = 1013,
    CloseKicked = 4001,
    CloseBanned = 4003,
    CloseFlooding = 4008,
};

constexpr int MaxRefLength = 64;
// A close frame's payload is at most 125 bytes, two of which hold the code (RFC 6455 5.5).
constexpr int MaxCloseReasonBytes = 123;

struct DecodeResult
{
    bool ok = false;
    Request request;
    QString ref; // set whenever a valid ref could be read, even if decoding failed
    QString problem; // why decoding failed, for the error message
};

// Checks the form only: JSON object, known type, every field present with the right type.
// Values (nick rules, room names, text length) are checked later, in the protocol's order.
DecodeResult decode(const QByteArray &utf8);

QString errorCodeName(Error code);
QString defaultErrorMessage(Error code);

// ISO 8601 in UTC with milliseconds: 2026-12-03T18:00:00.123Z
QString timestamp(const QDateTime &utc);

// Code points, not UTF-16 units: an emoji counts one.
int codePointLength(const QString &text);
// True when text holds a character that shows: neither white space nor an invisible one
// (controls, format characters such as U+200B and U+FEFF, other default-ignorable code points).
bool hasVisibleCharacter(const QString &text);
// text with every unpaired UTF-16 surrogate replaced by U+FFFD. JSON's \ud800 escapes can
// carry them; UTF-8 cannot, so without this what is stored would differ from what was relayed.
QString wellFormed(const QString &text);
bool isValidRoomName(const QString &room);
// The longest start of reason that fits a close frame in UTF-8, never ending inside a
// character: a cut character would make the frame invalid and the peer see 1007 instead.
QString closeReason(const QString &reason);

// Compact JSON in UTF-8, what goes on the wire; U+FEFF is written as the escape \ufeff, which
// every reader keeps.
QByteArray encodeUtf8(const QJsonObject &frame);
// The message or dm frame of a chat message, as an object (inside a joined frame's history)
// and as the bytes of a frame of its own: byte for byte what encodeUtf8() makes of the object.
// Every message sent is written once this way, and building a QJsonObject, and its timestamp with
// QDateTime::toString(), took more of the server's time than its delivery.
QJsonObject messageObject(const ChatMessage &message);
QByteArray encodeMessage(const ChatMessage &message);
QString encode(const QJsonObject &frame);
QJsonObject errorObject(Error code, const QString &ref, const QString &message = {});
QString errorFrame(Error code, const QString &ref, const QString &message = {});

// A complete, unmasked WebSocket text frame (RFC 6455 section 5.2) around UTF-8 payload, as
// a server sends it: built once, it can be written to any number of connections.
QByteArray textFrame(const QByteArray &utf8);

} // namespace Protocol
