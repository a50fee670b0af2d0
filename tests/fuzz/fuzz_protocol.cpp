// Feeds arbitrary bytes to Protocol::decode, as a client's text frame would, and every decoded
// field to the value checks the server runs next.

#include "fuzzcheck.h"
#include "nickrules.h"
#include "protocol.h"

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <cstddef>
#include <cstdint>

using namespace Qt::StringLiterals;

namespace {

const NickRules &nickRules()
{
    static const NickRules rules;
    return rules;
}

void checkText(const QString &text)
{
    const int length = Protocol::codePointLength(text);
    // A surrogate pair counts one, every other unit one.
    FUZZ_CHECK(length <= text.size());
    FUZZ_CHECK(2 * qsizetype(length) >= text.size());

    // Visible needs more than something other than white space, and any printable ASCII
    // character is enough.
    bool notSpace = false;
    bool printableAscii = false;
    for (const QChar c : text) {
        notSpace = notSpace || !c.isSpace();
        printableAscii = printableAscii || (c.unicode() > 0x20 && c.unicode() < 0x7f);
    }
    const bool visible = Protocol::hasVisibleCharacter(text);
    FUZZ_CHECK(!visible || notSpace);
    FUZZ_CHECK(!printableAscii || visible);
}

void checkRoom(const QString &room)
{
    if (!Protocol::isValidRoomName(room))
        return;
    FUZZ_CHECK(!room.isEmpty() && room.size() <= 32);
    for (const QChar c : room) {
        const char16_t u = c.unicode();
        FUZZ_CHECK((u >= u'a' && u <= u'z') || (u >= u'0' && u <= u'9') || u == u'-' || u == u'_');
    }
}

void checkNick(const QString &raw)
{
    const NickRules &rules = nickRules();
    const QString nick = NickRules::normalize(raw);
    const QString skeleton = rules.skeleton(nick);
    const QString key = NickRules::caseKey(nick);
    if (!rules.isValid(nick))
        return;
    const int length = Protocol::codePointLength(nick);
    FUZZ_CHECK(length >= 1 && length <= 24);
    // The server finds a user by normalising whatever name it is given; the name it handed
    // out must find that same user again.
    FUZZ_CHECK(NickRules::normalize(nick) == nick);
    FUZZ_CHECK(NickRules::caseKey(NickRules::normalize(nick)) == key);
    FUZZ_CHECK(rules.skeleton(nick) == skeleton);
    FUZZ_CHECK(!skeleton.isEmpty());
}

// Whatever text a client sends goes out in a frame the server writes by hand; it must read back
// as the same text, and be what encodeUtf8() makes of it.
void checkRelayed(const QString &text, const QString &from)
{
    ChatMessage message;
    message.id = quint64(text.size()) * 7919;
    message.room = u"r"_s;
    message.from = from;
    message.text = text;
    message.ts = QDateTime::fromMSecsSinceEpoch(qint64(text.size()) * 86'399'999, Qt::UTC);
    const QByteArray written = Protocol::encodeMessage(message);

    const QJsonObject expected {
        {u"type"_s, u"message"_s}, {u"id"_s, qint64(message.id)},
        {u"room"_s, message.room}, {u"from"_s, from},
        {u"text"_s, text},         {u"ts"_s, Protocol::timestamp(message.ts)}};
    FUZZ_CHECK(written == Protocol::encodeUtf8(expected));
    QJsonParseError error;
    const QJsonObject back = QJsonDocument::fromJson(written, &error).object();
    FUZZ_CHECK(error.error == QJsonParseError::NoError);
    FUZZ_CHECK(back.value(u"text"_s).toString() == text);
    FUZZ_CHECK(back.value(u"from"_s).toString() == from);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes
        = QByteArray::fromRawData(reinterpret_cast<const char *>(data), qsizetype(size));
    const Protocol::DecodeResult decoded = Protocol::decode(bytes);

    FUZZ_CHECK(Protocol::codePointLength(decoded.ref) <= Protocol::MaxRefLength);
    FUZZ_CHECK(decoded.ok == decoded.problem.isEmpty());
    if (decoded.ok) {
        const Protocol::Request &request = decoded.request;
        FUZZ_CHECK(request.ref == decoded.ref);
        checkText(request.text);
        checkText(request.ref);
        checkRoom(request.room);
        checkNick(request.nick);
        checkNick(request.to);
        // The reply to an error repeats the ref; it must encode whatever the client sent.
        FUZZ_CHECK(!Protocol::errorFrame(Protocol::Error::BadRequest, request.ref).isEmpty());
        checkRelayed(request.text, request.nick);
    }

    // The same bytes as a value, for inputs that are not JSON at all.
    const QString text = QString::fromUtf8(bytes);
    checkText(text);
    checkRoom(text);
    checkRelayed(Protocol::wellFormed(text), u"alice"_s);
    return 0;
}
