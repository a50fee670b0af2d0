#include "protocol.h"

#include <QJsonDocument>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using Protocol::RequestType;

namespace QTest {
template<> char *toString(const Protocol::RequestType &type)
{
    static const char *const names[]
        = {"Hello", "Join", "Leave", "Rooms", "Who", "Say", "Dm", "Typing", "Nick"};
    const int index = int(type);
    return qstrdup(index >= 0 && index < 9 ? names[index] : "?");
}
} // namespace QTest

// Decoding checks the form of a request only; the values are the manager's business.
class TestProtocol : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void decodeGood_data();
    void decodeGood();
    void decodeBad_data();
    void decodeBad();
    void byteOrderMarkIsKept();
    void problemSaysWhatIsWrong_data();
    void problemSaysWhatIsWrong();
    void refLength_data();
    void refLength();
    void passwordAbsentIsNull();
    void errorCodeNames_data();
    void errorCodeNames();
    void errorFrame();
    void timestamp();
    void timestampAsQtWritesIt();
    void codePointLength_data();
    void codePointLength();
    void hasVisibleCharacter_data();
    void hasVisibleCharacter();
    void roomNames_data();
    void roomNames();
    void encodeIsCompactJson();
    void encodeMessage_data();
    void encodeMessage();
    void closeReason_data();
    void closeReason();
};

void TestProtocol::decodeGood_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<RequestType>("type");
    QTest::addColumn<QString>("ref");
    QTest::addColumn<QString>("nick");
    QTest::addColumn<QString>("room");
    QTest::addColumn<QString>("to");
    QTest::addColumn<QString>("text");

    QTest::newRow("hello") << QByteArray(R"({"type":"hello","nick":"alice"})") << RequestType::Hello
                           << QString() << u"alice"_s << QString() << QString() << QString();
    QTest::newRow("hello with password and ref")
        << QByteArray(R"({"type":"hello","nick":"bob","password":"pw","ref":"1"})")
        << RequestType::Hello << u"1"_s << u"bob"_s << QString() << QString() << QString();
    QTest::newRow("hello keeps spaces for the manager to trim")
        << QByteArray(R"({"type":"hello","nick":"  carol "})") << RequestType::Hello << QString()
        << u"  carol "_s << QString() << QString() << QString();
    QTest::newRow("join") << QByteArray(R"({"type":"join","room":"games","ref":"j"})")
                          << RequestType::Join << u"j"_s << QString() << u"games"_s << QString()
                          << QString();
    QTest::newRow("join with an invalid name still decodes")
        << QByteArray(R"({"type":"join","room":"NOT VALID"})") << RequestType::Join << QString()
        << QString() << u"NOT VALID"_s << QString() << QString();
    QTest::newRow("leave") << QByteArray(R"({"type":"leave","room":"games"})") << RequestType::Leave
                           << QString() << QString() << u"games"_s << QString() << QString();
    QTest::newRow("rooms") << QByteArray(R"({"type":"rooms"})") << RequestType::Rooms << QString()
                           << QString() << QString() << QString() << QString();
    QTest::newRow("who") << QByteArray(R"({"type":"who","room":"lobby"})") << RequestType::Who
                         << QString() << QString() << u"lobby"_s << QString() << QString();
    QTest::newRow("say") << QByteArray(R"({"type":"say","room":"lobby","text":"hi"})")
                         << RequestType::Say << QString() << QString() << u"lobby"_s << QString()
                         << u"hi"_s;
    QTest::newRow("say ignores a client's from")
        << QByteArray(R"({"type":"say","room":"lobby","text":"x","from":"mallory"})")
        << RequestType::Say << QString() << QString() << u"lobby"_s << QString() << u"x"_s;
    QTest::newRow("say keeps text exactly")
        << QByteArray(R"({"type":"say","room":"a","text":"  <b>é😀</b>\n"})") << RequestType::Say
        << QString() << QString() << u"a"_s << QString() << u"  <b>é😀</b>\n"_s;
    QTest::newRow("say with empty text decodes")
        << QByteArray(R"({"type":"say","room":"a","text":""})") << RequestType::Say << QString()
        << QString() << u"a"_s << QString() << QString();
    QTest::newRow("dm") << QByteArray(R"({"type":"dm","to":"bob","text":"psst"})")
                        << RequestType::Dm << QString() << QString() << QString() << u"bob"_s
                        << u"psst"_s;
    QTest::newRow("typing") << QByteArray(R"({"type":"typing","room":"lobby"})")
                            << RequestType::Typing << QString() << QString() << u"lobby"_s
                            << QString() << QString();
    QTest::newRow("nick") << QByteArray(R"({"type":"nick","nick":"alice2","ref":"n"})")
                          << RequestType::Nick << u"n"_s << u"alice2"_s << QString() << QString()
                          << QString();
    QTest::newRow("unknown extra fields are ignored")
        << QByteArray(R"({"type":"rooms","future":[1,2,3]})") << RequestType::Rooms << QString()
        << QString() << QString() << QString() << QString();
    QTest::newRow("whitespace around the object")
        << QByteArray(" \n{\"type\":\"rooms\"}\n ") << RequestType::Rooms << QString() << QString()
        << QString() << QString() << QString();
    // UTF-8 cannot hold an unpaired surrogate: relayed and stored alike, it becomes U+FFFD.
    QTest::newRow("lone surrogates become U+FFFD")
        << QByteArray(
               R"({"type":"dm","to":"b\udc00b","text":"lone \ud800 surrogate","ref":"\ud800"})")
        << RequestType::Dm << u"\ufffd"_s << QString() << QString() << u"b\ufffdb"_s
        << u"lone \ufffd surrogate"_s;
    QTest::newRow("a surrogate pair stays")
        << QByteArray(R"({"type":"say","room":"lobby","text":"\ud83d\ude00"})") << RequestType::Say
        << QString() << QString() << u"lobby"_s << QString() << u"\U0001F600"_s;
}

void TestProtocol::decodeGood()
{
    QFETCH(QByteArray, json);
    QFETCH(RequestType, type);
    QFETCH(QString, ref);
    QFETCH(QString, nick);
    QFETCH(QString, room);
    QFETCH(QString, to);
    QFETCH(QString, text);

    const Protocol::DecodeResult result = Protocol::decode(json);
    QVERIFY2(result.ok, qPrintable(result.problem));
    QCOMPARE(result.request.type, type);
    QCOMPARE(result.request.ref, ref);
    QCOMPARE(result.ref, ref);
    QCOMPARE(result.request.nick, nick);
    QCOMPARE(result.request.room, room);
    QCOMPARE(result.request.to, to);
    QCOMPARE(result.request.text, text);
}

void TestProtocol::decodeBad_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("ref"); // the ref the error reply can still carry

    QTest::newRow("empty") << QByteArray() << QString();
    QTest::newRow("not JSON") << QByteArray("hello") << QString();
    QTest::newRow("truncated JSON") << QByteArray(R"({"type":"rooms")") << QString();
    QTest::newRow("array") << QByteArray(R"([{"type":"rooms"}])") << QString();
    QTest::newRow("string") << QByteArray(R"("rooms")") << QString();
    QTest::newRow("number") << QByteArray("42") << QString();
    QTest::newRow("null") << QByteArray("null") << QString();
    QTest::newRow("no type") << QByteArray(R"({"ref":"r1"})") << u"r1"_s;
    QTest::newRow("type is a number") << QByteArray(R"({"type":5,"ref":"r2"})") << u"r2"_s;
    QTest::newRow("type is null") << QByteArray(R"({"type":null})") << QString();
    QTest::newRow("unknown type") << QByteArray(R"({"type":"shout","ref":"r3"})") << u"r3"_s;
    QTest::newRow("type in upper case")
        << QByteArray(R"({"type":"SAY","room":"a","text":"b"})") << QString();
    QTest::newRow("hello without nick") << QByteArray(R"({"type":"hello","ref":"h"})") << u"h"_s;
    QTest::newRow("hello nick is a number")
        << QByteArray(R"({"type":"hello","nick":7})") << QString();
    QTest::newRow("hello password is a number")
        << QByteArray(R"({"type":"hello","nick":"a","password":1})") << QString();
    QTest::newRow("join without room") << QByteArray(R"({"type":"join"})") << QString();
    QTest::newRow("join room is an array")
        << QByteArray(R"({"type":"join","room":["a"]})") << QString();
    QTest::newRow("leave without room") << QByteArray(R"({"type":"leave"})") << QString();
    QTest::newRow("who without room") << QByteArray(R"({"type":"who"})") << QString();
    QTest::newRow("typing without room") << QByteArray(R"({"type":"typing"})") << QString();
    QTest::newRow("say without text")
        << QByteArray(R"({"type":"say","room":"lobby"})") << QString();
    QTest::newRow("say without room") << QByteArray(R"({"type":"say","text":"hi"})") << QString();
    QTest::newRow("say text is a number")
        << QByteArray(R"({"type":"say","room":"lobby","text":5,"ref":"s"})") << u"s"_s;
    QTest::newRow("say text is null")
        << QByteArray(R"({"type":"say","room":"lobby","text":null})") << QString();
    QTest::newRow("dm without to") << QByteArray(R"({"type":"dm","text":"x"})") << QString();
    QTest::newRow("dm without text") << QByteArray(R"({"type":"dm","to":"bob"})") << QString();
    QTest::newRow("dm to is an object")
        << QByteArray(R"({"type":"dm","to":{},"text":"x"})") << QString();
    QTest::newRow("nick without nick") << QByteArray(R"({"type":"nick"})") << QString();
    QTest::newRow("nick is a bool") << QByteArray(R"({"type":"nick","nick":true})") << QString();
    QTest::newRow("ref is a number") << QByteArray(R"({"type":"rooms","ref":1})") << QString();
}

void TestProtocol::decodeBad()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, ref);

    const Protocol::DecodeResult result = Protocol::decode(json);
    QVERIFY(!result.ok);
    QVERIFY(!result.problem.isEmpty());
    QCOMPARE(result.ref, ref);
}

// A U+FEFF sent as it is, not escaped, at the start of a string is text like any other.
void TestProtocol::byteOrderMarkIsKept()
{
    const Protocol::DecodeResult said
        = Protocol::decode("{\"type\":\"say\",\"room\":\"lobby\",\"text\":"
                           "\"\xEF\xBB\xBF\xEF\xBB\xBFraw\xEF\xBB\xBF\"}");
    QVERIFY2(said.ok, qPrintable(said.problem));
    QCOMPARE(said.request.text, u"\ufeff\ufeffraw\ufeff"_s);

    const Protocol::DecodeResult escaped
        = Protocol::decode(R"({"type":"say","room":"lobby","text":"\ufeffraw"})");
    QVERIFY(escaped.ok);
    QCOMPARE(escaped.request.text, u"\ufeffraw"_s);

    // Outside a string it is no JSON, escaped or not.
    QVERIFY(!Protocol::decode("{\xEF\xBB\xBF\"type\":\"rooms\"}").ok);
}

void TestProtocol::problemSaysWhatIsWrong_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("problem");

    QTest::newRow("not JSON") << QByteArray("hello") << u"The message is not valid JSON."_s;
    QTest::newRow("truncated object")
        << QByteArray(R"({"type":"rooms")") << u"The message is not valid JSON."_s;
    QTest::newRow("empty") << QByteArray(" ") << u"The message is not valid JSON."_s;
    QTest::newRow("string") << QByteArray(R"( "hi")") << u"The message must be a JSON object."_s;
    QTest::newRow("null") << QByteArray("null") << u"The message must be a JSON object."_s;
    QTest::newRow("array") << QByteArray("[1,2]") << u"The message must be a JSON object."_s;
    QTest::newRow("no type") << QByteArray("{}") << u"The field type is missing."_s;
    QTest::newRow("type is a number")
        << QByteArray(R"({"type":5})") << u"The field type must be a string."_s;
}

void TestProtocol::problemSaysWhatIsWrong()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, problem);
    QCOMPARE(Protocol::decode(json).problem, problem);
}

void TestProtocol::refLength_data()
{
    QTest::addColumn<QString>("ref");
    QTest::addColumn<bool>("ok");

    QTest::newRow("empty") << QString() << true;
    QTest::newRow("64 ASCII") << QString(64, u'r') << true;
    QTest::newRow("65 ASCII") << QString(65, u'r') << false;
    QString emoji;
    for (int i = 0; i < 64; ++i)
        emoji += u"😀"_s;
    QTest::newRow("64 emoji (128 UTF-16 units)") << emoji << true;
    QTest::newRow("65 emoji") << emoji + u"😀"_s << false;
}

void TestProtocol::refLength()
{
    QFETCH(QString, ref);
    QFETCH(bool, ok);

    const QJsonObject request {{u"type"_s, u"rooms"_s}, {u"ref"_s, ref}};
    const Protocol::DecodeResult result
        = Protocol::decode(QJsonDocument(request).toJson(QJsonDocument::Compact));
    QCOMPARE(result.ok, ok);
    // A ref that is too long is not copied into the error either.
    QCOMPARE(result.ref, ok ? ref : QString());
}

void TestProtocol::passwordAbsentIsNull()
{
    const auto absent = Protocol::decode(R"({"type":"hello","nick":"a"})");
    QVERIFY(absent.ok);
    QVERIFY(absent.request.password.isNull());

    const auto empty = Protocol::decode(R"({"type":"hello","nick":"a","password":""})");
    QVERIFY(empty.ok);
    QVERIFY(!empty.request.password.isNull());
    QVERIFY(empty.request.password.isEmpty());
}

void TestProtocol::errorCodeNames_data()
{
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("name");

    using E = Protocol::Error;
    QTest::newRow("bad_request") << int(E::BadRequest) << u"bad_request"_s;
    QTest::newRow("not_ready") << int(E::NotReady) << u"not_ready"_s;
    QTest::newRow("nick_invalid") << int(E::NickInvalid) << u"nick_invalid"_s;
    QTest::newRow("nick_taken") << int(E::NickTaken) << u"nick_taken"_s;
    QTest::newRow("bad_password") << int(E::BadPassword) << u"bad_password"_s;
    QTest::newRow("banned") << int(E::Banned) << u"banned"_s;
    QTest::newRow("room_invalid") << int(E::RoomInvalid) << u"room_invalid"_s;
    QTest::newRow("not_in_room") << int(E::NotInRoom) << u"not_in_room"_s;
    QTest::newRow("no_such_user") << int(E::NoSuchUser) << u"no_such_user"_s;
    QTest::newRow("text_invalid") << int(E::TextInvalid) << u"text_invalid"_s;
    QTest::newRow("muted") << int(E::Muted) << u"muted"_s;
    QTest::newRow("rate_limited") << int(E::RateLimited) << u"rate_limited"_s;
    QTest::newRow("server_full") << int(E::ServerFull) << u"server_full"_s;
    QTest::newRow("too_many_attempts") << int(E::TooManyAttempts) << u"too_many_attempts"_s;
}

void TestProtocol::errorCodeNames()
{
    QFETCH(int, code);
    QFETCH(QString, name);

    QCOMPARE(Protocol::errorCodeName(Protocol::Error(code)), name);
    QVERIFY(!Protocol::defaultErrorMessage(Protocol::Error(code)).isEmpty());
}

void TestProtocol::errorFrame()
{
    const auto parse
        = [](const QString &text) { return QJsonDocument::fromJson(text.toUtf8()).object(); };

    const QJsonObject withRef = parse(Protocol::errorFrame(Protocol::Error::NickTaken, u"r7"_s));
    QCOMPARE(withRef.value(u"type"_s).toString(), u"error"_s);
    QCOMPARE(withRef.value(u"code"_s).toString(), u"nick_taken"_s);
    QCOMPARE(withRef.value(u"ref"_s).toString(), u"r7"_s);
    QVERIFY(!withRef.value(u"message"_s).toString().isEmpty());

    const QJsonObject noRef
        = parse(Protocol::errorFrame(Protocol::Error::BadRequest, {}, u"Why not"_s));
    QVERIFY(!noRef.contains(u"ref"_s));
    QCOMPARE(noRef.value(u"message"_s).toString(), u"Why not"_s);
}

void TestProtocol::timestamp()
{
    const QDateTime utc(QDate(2026, 12, 3), QTime(18, 0, 0, 123), Qt::UTC);
    QCOMPARE(Protocol::timestamp(utc), u"2026-12-03T18:00:00.123Z"_s);

    // Whole seconds still carry three digits of milliseconds.
    const QDateTime whole(QDate(2026, 1, 2), QTime(3, 4, 5, 0), Qt::UTC);
    QCOMPARE(Protocol::timestamp(whole), u"2026-01-02T03:04:05.000Z"_s);

    // A local time is written in UTC.
    const QDateTime offset(QDate(2026, 12, 3), QTime(20, 0, 0, 5), Qt::OffsetFromUTC, 7200);
    QCOMPARE(Protocol::timestamp(offset), u"2026-12-03T18:00:00.005Z"_s);

    static const QRegularExpression shape(
        u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"_s);
    const QString now = Protocol::timestamp(QDateTime::currentDateTimeUtc());
    QVERIFY2(shape.match(now).hasMatch(), qPrintable(now));
}

// The server writes timestamps itself; QDateTime is the reference for every kind of date.
void TestProtocol::timestampAsQtWritesIt()
{
    QList<QDateTime> times = {
        QDateTime::fromMSecsSinceEpoch(0, Qt::UTC),
        QDateTime::fromMSecsSinceEpoch(-1, Qt::UTC),
        QDateTime(QDate(1969, 12, 31), QTime(0, 0), Qt::UTC),
        QDateTime(QDate(2024, 2, 29), QTime(23, 59, 59, 999), Qt::UTC),
        QDateTime(QDate(2100, 3, 1), QTime(0, 0, 0, 1), Qt::UTC),
        QDateTime(QDate(1, 1, 1), QTime(0, 0), Qt::UTC),
        QDateTime(QDate(9999, 12, 31), QTime(23, 59, 59, 999), Qt::UTC),
        QDateTime(QDate(-5, 6, 7), QTime(8, 9, 10), Qt::UTC),
        QDateTime(QDate(12345, 1, 1), QTime(0, 0), Qt::UTC),
        QDateTime(QDate(2026, 12, 3), QTime(20, 0, 0, 5), Qt::OffsetFromUTC, -34200),
        QDateTime(),
    };
    // From year 1 to 9999, the same times in every run.
    QRandomGenerator random(20261204);
    for (int i = 0; i < 2000; ++i)
        times.append(QDateTime::fromMSecsSinceEpoch(
            random.bounded(-62135596800000LL, 253402300800000LL), Qt::UTC));

    for (const QDateTime &time : std::as_const(times)) {
        const QString expected = time.toUTC().toString(Qt::ISODateWithMs);
        QCOMPARE(Protocol::timestamp(time), expected);
    }
}

void TestProtocol::codePointLength_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("length");

    QTest::newRow("empty") << QString() << 0;
    QTest::newRow("ascii") << u"hello"_s << 5;
    QTest::newRow("precomposed e acute") << u"\u00e9"_s << 1;
    QTest::newRow("emoji") << u"😀"_s << 1;
    QTest::newRow("emoji and letters") << u"a😀b😀"_s << 4;
    QTest::newRow("CJK extension B") << u"\U00020000\U00020001"_s << 2;
    QTest::newRow("lone high surrogate counts one") << QString(QChar(0xd800)) << 1;
}

void TestProtocol::codePointLength()
{
    QFETCH(QString, text);
    QFETCH(int, length);

    QCOMPARE(Protocol::codePointLength(text), length);
}

void TestProtocol::hasVisibleCharacter_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("visible");

    QTest::newRow("empty") << QString() << false;
    QTest::newRow("spaces") << u"   "_s << false;
    QTest::newRow("tabs and newlines") << u"\t\n\r \n"_s << false;
    QTest::newRow("ideographic space") << u"\u3000"_s << false;
    QTest::newRow("letter") << u"a"_s << true;
    QTest::newRow("letter in spaces") << u"  a  "_s << true;
    QTest::newRow("emoji") << u"😀"_s << true;
    QTest::newRow("dot") << u"."_s << true;
    QTest::newRow("zero-width space") << u"\u200b"_s << false;
    QTest::newRow("byte order mark") << u"\ufeff"_s << false;
    QTest::newRow("format characters in white space") << u" \u200d\t\u2060\u200e \u00ad"_s << false;
    QTest::newRow("Hangul filler") << u"\u3164"_s << false;
    QTest::newRow("blank Braille pattern") << u"\u2800\u2800"_s << false;
    QTest::newRow("Braille pattern with dots") << u"\u2801"_s << true;
    QTest::newRow("variation selector") << u"\ufe0f"_s << false;
    QTest::newRow("control characters") << u"\u0001\u007f"_s << false;
    QTest::newRow("lone surrogate") << QString(QChar(0xd800)) << false;
    QTest::newRow("letter after a zero-width space") << u"\u200ba"_s << true;
    QTest::newRow("emoji beyond the BMP after format characters") << u"\u200d\U0001F600"_s << true;
}

void TestProtocol::hasVisibleCharacter()
{
    QFETCH(QString, text);
    QFETCH(bool, visible);

    QCOMPARE(Protocol::hasVisibleCharacter(text), visible);
}

void TestProtocol::roomNames_data()
{
    QTest::addColumn<QString>("room");
    QTest::addColumn<bool>("valid");

    QTest::newRow("lobby") << u"lobby"_s << true;
    QTest::newRow("one character") << u"a"_s << true;
    QTest::newRow("digits, dash, underscore") << u"room-1_b"_s << true;
    QTest::newRow("32 characters") << QString(32, u'x') << true;
    QTest::newRow("33 characters") << QString(33, u'x') << false;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow("upper case") << u"Games"_s << false;
    QTest::newRow("space") << u"my room"_s << false;
    QTest::newRow("dot") << u"a.b"_s << false;
    QTest::newRow("non-ASCII letter") << u"caf\u00e9"_s << false;
    QTest::newRow("full-width letter") << u"\uff41"_s << false;
    QTest::newRow("slash") << u"a/b"_s << false;
}

void TestProtocol::roomNames()
{
    QFETCH(QString, room);
    QFETCH(bool, valid);

    QCOMPARE(Protocol::isValidRoomName(room), valid);
}

void TestProtocol::encodeIsCompactJson()
{
    const QString text = Protocol::encode({{u"type"_s, u"notice"_s}, {u"text"_s, u"a\"b"_s}});
    QVERIFY(!text.contains(u'\n'));
    const QJsonObject back = QJsonDocument::fromJson(text.toUtf8()).object();
    QCOMPARE(back.value(u"type"_s).toString(), u"notice"_s);
    QCOMPARE(back.value(u"text"_s).toString(), u"a\"b"_s);
}

void TestProtocol::encodeMessage_data()
{
    QTest::addColumn<QString>("room");
    QTest::addColumn<QString>("to");
    QTest::addColumn<QString>("text");
    QTest::addColumn<quint64>("id");
    QTest::addColumn<QDateTime>("ts");

    const QDateTime ts(QDate(2026, 12, 4), QTime(7, 51, 2, 34), Qt::UTC);
    QString controls;
    for (char16_t c = 0; c < 0x20; ++c)
        controls.append(QChar(c));
    controls += u"\x7f\"\\/"_s;

    QTest::newRow("room") << u"lobby"_s << QString() << u"hello"_s << quint64(1) << ts;
    QTest::newRow("direct") << QString() << u"bob"_s << u"psst"_s << quint64(42) << ts;
    QTest::newRow("controls and quotes") << u"lobby"_s << QString() << controls << quint64(7) << ts;
    QTest::newRow("scripts and emoji")
        << u"café"_s << QString()
        << u"日本語 עברית Ελληνικά 👋🏽 \u2028\u2029 \ufeff"_s << quint64(8)
        << ts;
    // Written raw, Qt's own reader would drop the first: the server escapes them.
    QTest::newRow("byte order marks opening the text")
        << u"r"_s << QString() << u"\ufeff\ufeffhi\ufeff"_s << quint64(13) << ts;
    QTest::newRow("direct, escapes in every field")
        << QString() << u"b\"o\\b"_s << u"line\nbreak"_s << quint64(9) << ts;
    QTest::newRow("largest id") << u"r"_s << QString() << u"x"_s
                                << quint64(std::numeric_limits<qint64>::max()) << ts;
    QTest::newRow("empty text") << u"r"_s << QString() << QString() << quint64(10) << ts;
    QTest::newRow("no time") << u"r"_s << QString() << u"x"_s << quint64(11) << QDateTime();
    QTest::newRow("year 10000") << u"r"_s << QString() << u"x"_s << quint64(12)
                                << QDateTime(QDate(10000, 1, 1), QTime(0, 0), Qt::UTC);
}

// The frame every message goes out in is written by hand; it must be what encodeUtf8() makes of
// the same object, to the byte, and read back as that object.
void TestProtocol::encodeMessage()
{
    QFETCH(QString, room);
    QFETCH(QString, to);
    QFETCH(QString, text);
    QFETCH(quint64, id);
    QFETCH(QDateTime, ts);

    ChatMessage message;
    message.id = id;
    message.room = room;
    message.from = u"al\"ice"_s;
    message.to = to;
    message.text = text;
    message.ts = ts;

    QJsonObject expected {{u"type"_s, message.isDirect() ? u"dm"_s : u"message"_s},
                          {u"id"_s, qint64(id)},
                          {u"from"_s, message.from},
                          {u"text"_s, text},
                          {u"ts"_s, ts.toUTC().toString(Qt::ISODateWithMs)}};
    expected.insert(message.isDirect() ? u"to"_s : u"room"_s, message.isDirect() ? to : room);

    const QByteArray written = Protocol::encodeMessage(message);
    QCOMPARE(written, Protocol::encodeUtf8(expected));
    QCOMPARE(QJsonDocument::fromJson(written).object(), expected);
    // The history in a joined frame carries the same object.
    QCOMPARE(Protocol::messageObject(message), expected);
}

void TestProtocol::closeReason_data()
{
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QString>("expected");

    QTest::newRow("short") << u"Too loud"_s << u"Too loud"_s;
    QTest::newRow("123 ASCII bytes") << QString(123, u'x') << QString(123, u'x');
    QTest::newRow("124 ASCII bytes") << QString(124, u'x') << QString(123, u'x');
    // 2 + 60 * 2 = 122 bytes fit; the 61st e acute would end at byte 124.
    QTest::newRow("two-byte characters")
        << u"ab"_s + QString(70, QChar(0xe9)) << u"ab"_s + QString(60, QChar(0xe9));
    QTest::newRow("three-byte characters")
        << QString(50, QChar(0x20ac)) << QString(41, QChar(0x20ac));
    // 30 emoji are 120 bytes; the 31st would not fit, and neither may half of it.
    QTest::newRow("emoji") << QString(u"\U0001F600"_s).repeated(40)
                           << QString(u"\U0001F600"_s).repeated(30);
}

void TestProtocol::closeReason()
{
    QFETCH(QString, reason);
    QFETCH(QString, expected);

    const QString cut = Protocol::closeReason(reason);
    QCOMPARE(cut, expected);
    QVERIFY(cut.toUtf8().size() <= Protocol::MaxCloseReasonBytes);
}

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
