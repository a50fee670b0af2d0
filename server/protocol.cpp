#include "protocol.h"

#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>

#include <unicode/uchar.h>

using namespace Qt::StringLiterals;

namespace Protocol {

namespace {

struct TypeInfo
{
    QLatin1StringView name;
    RequestType type;
};

constexpr TypeInfo requestTypes[] = {
    {QLatin1StringView("hello"), RequestType::Hello},
    {QLatin1StringView("join"), RequestType::Join},
    {QLatin1StringView("leave"), RequestType::Leave},
    {QLatin1StringView("rooms"), RequestType::Rooms},
    {QLatin1StringView("who"), RequestType::Who},
    {QLatin1StringView("say"), RequestType::Say},
    {QLatin1StringView("dm"), RequestType::Dm},
    {QLatin1StringView("typing"), RequestType::Typing},
    {QLatin1StringView("nick"), RequestType::Nick},
};

// Reads a required string field; false when it is missing or not a string.
bool readString(const QJsonObject &object, QLatin1StringView key, QString &out)
{
    const QJsonValue value = object.value(key);
    if (!value.isString())
        return false;
    out = wellFormed(value.toString());
    return true;
}

// U+FEFF in UTF-8. Qt decodes each JSON string on its own and drops a U+FEFF that opens one as
// a byte order mark; escaped, it stays. Outside strings it is no JSON either way, so it is
// escaped wherever it is, in what the server reads and in what it writes.
constexpr char Bom[] = "\xEF\xBB\xBF";
constexpr char EscapedBom[] = "\\ufeff";

} // namespace

DecodeResult decode(const QByteArray &frame)
{
    const QByteArray utf8
        = frame.contains(Bom) ? QByteArray(frame).replace(Bom, EscapedBom) : frame;

    DecodeResult result;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(utf8, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // Qt reads only objects and arrays as documents: "hi" or null is JSON, but no request,
        // which the same text in an array tells.
        QJsonParseError asElement;
        QJsonDocument::fromJson('[' + utf8 + ']', &asElement);
        result.problem = asElement.error == QJsonParseError::NoError && !utf8.trimmed().isEmpty()
            ? u"The message must be a JSON object."_s
            : u"The message is not valid JSON."_s;
        return result;
    }
    if (!document.isObject()) {
        result.problem = u"The message must be a JSON object."_s;
        return result;
    }
    const QJsonObject object = document.object();

    const QJsonValue ref = object.value("ref"_L1);
    if (!ref.isUndefined()) {
        if (!ref.isString()) {
            result.problem = u"The field ref must be a string."_s;
            return result;
        }
        const QString refText = wellFormed(ref.toString());
        if (codePointLength(refText) > MaxRefLength) {
            result.problem = u"The field ref is longer than 64 characters."_s;
            return result;
        }
        result.ref = refText;
        result.request.ref = refText;
    }

    const QJsonValue typeValue = object.value("type"_L1);
    if (!typeValue.isString()) {
        result.problem = typeValue.isUndefined() ? u"The field type is missing."_s
                                                 : u"The field type must be a string."_s;
        return result;
    }
    const QString typeName = typeValue.toString();
    bool known = false;
    for (const TypeInfo &info : requestTypes) {
        if (typeName == info.name) {
            result.request.type = info.type;
            known = true;
            break;
        }
    }
    if (!known) {
        result.problem = u"Unknown message type."_s;
        return result;
    }

    Request &request = result.request;
    bool fieldsOk = true;
    switch (request.type) {
    case RequestType::Hello: {
        fieldsOk = readString(object, "nick"_L1, request.nick);
        const QJsonValue password = object.value("password"_L1);
        if (password.isString())
            request.password = wellFormed(password.toString());
        else if (!password.isUndefined() && !password.isNull())
            fieldsOk = false;
        break;
    }
    case RequestType::Nick:
        fieldsOk = readString(object, "nick"_L1, request.nick);
        break;
    case RequestType::Join:
    case RequestType::Leave:
    case RequestType::Who:
    case RequestType::Typing:
        fieldsOk = readString(object, "room"_L1, request.room);
        break;
    case RequestType::Rooms:
        break;
    case RequestType::Say:
        fieldsOk = readString(object, "room"_L1, request.room)
            && readString(object, "text"_L1, request.text);
        break;
    case RequestType::Dm:
        fieldsOk = readString(object, "to"_L1, request.to)
            && readString(object, "text"_L1, request.text);
        break;
    }
    if (!fieldsOk) {
        result.problem = u"A required field is missing or has the wrong type."_s;
        return result;
    }
    result.ok = true;
    return result;
}

QString errorCodeName(Error code)
{
    switch (code) {
    case Error::BadRequest:
        return u"bad_request"_s;
    case Error::NotReady:
        return u"not_ready"_s;
    case Error::NickInvalid:
        return u"nick_invalid"_s;
    case Error::NickTaken:
        return u"nick_taken"_s;
    case Error::BadPassword:
        return u"bad_password"_s;
    case Error::Banned:
        return u"banned"_s;
    case Error::RoomInvalid:
        return u"room_invalid"_s;
    case Error::NotInRoom:
        return u"not_in_room"_s;
    case Error::NoSuchUser:
        return u"no_such_user"_s;
    case Error::TextInvalid:
        return u"text_invalid"_s;
    case Error::Muted:
        return u"muted"_s;
    case Error::RateLimited:
        return u"rate_limited"_s;
    case Error::ServerFull:
        return u"server_full"_s;
    case Error::TooManyAttempts:
        return u"too_many_attempts"_s;
    case Error::TooManyRooms:
        return u"too_many_rooms"_s;
    }
    return u"bad_request"_s;
}

QString defaultErrorMessage(Error code)
{
    switch (code) {
    case Error::BadRequest:
        return u"The request is not understood."_s;
    case Error::NotReady:
        return u"Say hello first."_s;
    case Error::NickInvalid:
        return u"That nickname is not allowed."_s;
    case Error::NickTaken:
        return u"That nickname is in use."_s;
    case Error::BadPassword:
        return u"Wrong password."_s;
    case Error::Banned:
        return u"You are banned from this server."_s;
    case Error::RoomInvalid:
        return u"That room name is not allowed."_s;
    case Error::NotInRoom:
        return u"You are not in that room."_s;
    case Error::NoSuchUser:
        return u"Nobody by that name is connected."_s;
    case Error::TextInvalid:
        return u"The text is empty or too long."_s;
    case Error::Muted:
        return u"You are muted."_s;
    case Error::RateLimited:
        return u"Too many requests; slow down."_s;
    case Error::ServerFull:
        return u"The server is full."_s;
    case Error::TooManyAttempts:
        return u"Too many wrong passwords from your address; try again later."_s;
    case Error::TooManyRooms:
        return u"There are as many rooms as the server allows."_s;
    }
    return {};
}

namespace {

constexpr qint64 MsPerDay = 24 * 60 * 60 * 1000;
constexpr int TimestampLength = 24; // 2026-12-03T18:00:00.123Z

// Writes the timestamp into out and returns true, or false for a time that QDateTime must
// write itself: one before year 1 or after 9999, or an invalid one.
bool formatTimestamp(const QDateTime &time, char (&out)[TimestampLength])
{
    if (!time.isValid())
        return false;
    const qint64 ms = time.toMSecsSinceEpoch();
    qint64 days = ms / MsPerDay;
    qint64 inDay = ms % MsPerDay;
    if (inDay < 0) {
        inDay += MsPerDay;
        --days;
    }
    const QDate date = QDate(1970, 1, 1).addDays(days);
    if (!date.isValid() || date.year() < 1 || date.year() > 9999)
        return false;

    const auto put = [&out](int at, int value, int digits) {
        for (int i = digits - 1; i >= 0; --i, value /= 10)
            out[at + i] = char('0' + value % 10);
    };
    const int msOfDay = int(inDay);
    put(0, date.year(), 4);
    out[4] = '-';
    put(5, date.month(), 2);
    out[7] = '-';
    put(8, date.day(), 2);
    out[10] = 'T';
    put(11, msOfDay / 3'600'000, 2);
    out[13] = ':';
    put(14, msOfDay / 60'000 % 60, 2);
    out[16] = ':';
    put(17, msOfDay / 1000 % 60, 2);
    out[19] = '.';
    put(20, msOfDay % 1000, 3);
    out[23] = 'Z';
    return true;
}

// text as a JSON string, quotes included, escaped as encodeUtf8() escapes it.
void appendJsonString(QByteArray &out, const QString &text)
{
    static constexpr char Hex[] = "0123456789abcdef";
    const QByteArray utf8 = text.toUtf8();
    const char *run = utf8.constData();
    const char *const end = run + utf8.size();
    out.append('"');
    for (const char *p = run; p != end; ++p) {
        const auto c = uchar(*p);
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0xEF)
            continue;
        if (c == 0xEF) {
            if (end - p < 3 || uchar(p[1]) != 0xBB || uchar(p[2]) != 0xBF)
                continue;
            out.append(run, p - run);
            out.append(EscapedBom, sizeof EscapedBom - 1);
            p += 2;
            run = p + 1;
            continue;
        }
        out.append(run, p - run);
        run = p + 1;
        // The characters JSON has a short escape for, and the letter that follows the backslash.
        static constexpr char Short[] = "\"\"\\\\\bb\ff\nn\rr\tt";
        const char *shortEscape = nullptr;
        for (const char *e = Short; *e; e += 2) {
            if (uchar(*e) == c)
                shortEscape = e + 1;
        }
        if (shortEscape) {
            const char escape[] = {'\\', *shortEscape};
            out.append(escape, sizeof escape);
        } else {
            const char escape[] = {'\\', 'u', '0', '0', Hex[c >> 4], Hex[c & 0xf]};
            out.append(escape, sizeof escape);
        }
    }
    out.append(run, end - run);
    out.append('"');
}

} // namespace

QString timestamp(const QDateTime &utc)
{
    char text[TimestampLength];
    if (formatTimestamp(utc, text))
        return QString::fromLatin1(text, TimestampLength);
    return utc.toUTC().toString(Qt::ISODateWithMs);
}

int codePointLength(const QString &text)
{
    int count = 0;
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        if (text.at(i).isHighSurrogate() && i + 1 < size && text.at(i + 1).isLowSurrogate())
            ++i;
        ++count;
    }
    return count;
}

bool hasVisibleCharacter(const QString &text)
{
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        char32_t c = text.at(i).unicode();
        if (QChar::isHighSurrogate(c) && i + 1 < size && text.at(i + 1).isLowSurrogate()) {
            c = QChar::surrogateToUcs4(text.at(i), text.at(i + 1));
            ++i;
        }
        // U+2800, the Braille pattern without dots, is a symbol to Unicode but shows as blank.
        if (QChar::isSurrogate(c) || u_isUWhiteSpace(UChar32(c)) || c == 0x2800
            || u_hasBinaryProperty(UChar32(c), UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
            continue;
        const int8_t category = u_charType(UChar32(c));
        if (category == U_CONTROL_CHAR || category == U_FORMAT_CHAR)
            continue;
        return true;
    }
    return false;
}

QString wellFormed(const QString &text)
{
    QString out = text;
    const qsizetype size = out.size();
    for (qsizetype i = 0; i < size; ++i) {
        const QChar c = out.at(i);
        if (c.isHighSurrogate() && i + 1 < size && out.at(i + 1).isLowSurrogate())
            ++i;
        else if (c.isSurrogate())
            out[i] = QChar::ReplacementCharacter;
    }
    return out;
}

bool isValidRoomName(const QString &room)
{
    if (room.isEmpty() || room.size() > 32)
        return false;
    for (const QChar c : room) {
        const char16_t u = c.unicode();
        const bool ok = (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_';
        if (!ok)
            return false;
    }
    return true;
}

QString closeReason(const QString &reason)
{
    int bytes = 0;
    const qsizetype size = reason.size();
    qsizetype i = 0;
    while (i < size) {
        const QChar c = reason.at(i);
        int units = 1;
        int width = c.unicode() < 0x80 ? 1 : c.unicode() < 0x800 ? 2 : 3;
        if (c.isHighSurrogate() && i + 1 < size && reason.at(i + 1).isLowSurrogate()) {
            units = 2;
            width = 4;
        }
        if (bytes + width > MaxCloseReasonBytes)
            break;
        bytes += width;
        i += units;
    }
    return reason.left(i);
}

QByteArray encodeUtf8(const QJsonObject &frame)
{
    QByteArray json = QJsonDocument(frame).toJson(QJsonDocument::Compact);
    if (json.contains(Bom))
        json.replace(Bom, EscapedBom);
    return json;
}

QJsonObject messageObject(const ChatMessage &message)
{
    QJsonObject object {{"type"_L1, message.isDirect() ? u"dm"_s : u"message"_s},
                        {"id"_L1, qint64(message.id)},
                        {"from"_L1, message.from},
                        {"text"_L1, message.text},
                        {"ts"_L1, timestamp(message.ts)}};
    if (message.isDirect())
        object.insert("to"_L1, message.to);
    else
        object.insert("room"_L1, message.room);
    return object;
}

QByteArray encodeMessage(const ChatMessage &message)
{
    const bool direct = message.isDirect();
    QByteArray out;
    out.reserve(80
                + 3
                    * (message.from.size() + message.text.size() + message.room.size()
                       + message.to.size()));
    // In the order of QJsonObject's keys, which is sorted.
    out.append(R"({"from":)");
    appendJsonString(out, message.from);
    out.append(R"(,"id":)");
    out.append(QByteArray::number(qint64(message.id)));
    if (!direct) {
        out.append(R"(,"room":)");
        appendJsonString(out, message.room);
    }
    out.append(R"(,"text":)");
    appendJsonString(out, message.text);
    if (direct) {
        out.append(R"(,"to":)");
        appendJsonString(out, message.to);
    }
    out.append(R"(,"ts":)");
    char ts[TimestampLength];
    if (formatTimestamp(message.ts, ts)) {
        out.append('"');
        out.append(ts, TimestampLength);
        out.append('"');
    } else {
        appendJsonString(out, timestamp(message.ts));
    }
    out.append(direct ? R"(,"type":"dm"})" : R"(,"type":"message"})");
    return out;
}

QString encode(const QJsonObject &frame)
{
    return QString::fromUtf8(encodeUtf8(frame));
}

QString errorFrame(Error code, const QString &ref, const QString &message)
{
    return encode(errorObject(code, ref, message));
}

QByteArray textFrame(const QByteArray &utf8)
{
    const quint64 length = quint64(utf8.size());
    QByteArray frame;
    frame.reserve(utf8.size() + 10);
    frame.append(char(0x81)); // FIN, text
    if (length < 126) {
        frame.append(char(length));
    } else if (length <= 0xFFFF) {
        frame.append(char(126));
        frame.append(char(length >> 8));
        frame.append(char(length & 0xFF));
    } else {
        frame.append(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.append(char((length >> shift) & 0xFF));
    }
    frame.append(utf8);
    return frame;
}

QJsonObject errorObject(Error code, const QString &ref, const QString &message)
{
    QJsonObject frame {{"type"_L1, u"error"_s},
                       {"code"_L1, errorCodeName(code)},
                       {"message"_L1, message.isEmpty() ? defaultErrorMessage(code) : message}};
    if (!ref.isEmpty())
        frame.insert("ref"_L1, ref);
    return frame;
}

} // namespace Protocol
