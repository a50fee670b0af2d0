#include "chatserver.h"
#include "chattypes.h"
#include "connectionmanager.h"
#include "protocol.h"
#include "rawclient.h"
#include "serverconfig.h"
#include "testclient.h"
#include "testdispatcher.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <sys/resource.h>

#include <memory>

using namespace Qt::StringLiterals;

namespace {

using Match = TestClient::Match;

Match inRoom(const QString &room)
{
    return [room](const QJsonObject &f) { return f.value(u"room"_s).toString() == room; };
}

Match withRef(const QString &ref)
{
    return [ref](const QJsonObject &f) { return f.value(u"ref"_s).toString() == ref; };
}

Match presence(const QString &nick, const QString &event, const QString &room = u"lobby"_s)
{
    return [=](const QJsonObject &f) {
        return f.value(u"nick"_s).toString() == nick && f.value(u"event"_s).toString() == event
            && f.value(u"room"_s).toString() == room;
    };
}

Match textIs(const QString &text)
{
    return [text](const QJsonObject &f) { return f.value(u"text"_s).toString() == text; };
}

QStringList sortedNames(const QJsonValue &array)
{
    QStringList names;
    for (const QJsonValue &value : array.toArray())
        names.append(value.toString());
    names.sort();
    return names;
}

QJsonObject roomEntry(const QJsonObject &roomsFrame, const QString &name)
{
    for (const QJsonValue &value : roomsFrame.value(u"rooms"_s).toArray()) {
        if (value.toObject().value(u"name"_s).toString() == name)
            return value.toObject();
    }
    return {};
}

bool isTimestamp(const QJsonValue &value)
{
    static const QRegularExpression shape(
        u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"_s);
    return shape.match(value.toString()).hasMatch();
}

// Departures a client saw for nick in room: every presence event except joined and renamed.
int departuresSeen(const TestClient *client, const QString &nick, const QString &room)
{
    int count = 0;
    for (const QJsonObject &f : client->framesOfType(u"presence"_s)) {
        const QString event = f.value(u"event"_s).toString();
        if (f.value(u"nick"_s).toString() == nick && f.value(u"room"_s).toString() == room
            && event != u"joined"_s && event != u"renamed"_s)
            ++count;
    }
    return count;
}

// Empty when ids are first, first+1, ...; otherwise where the run breaks.
QString checkConsecutive(const QList<qint64> &ids)
{
    for (int i = 1; i < ids.size(); ++i) {
        if (ids.at(i) != ids.at(i - 1) + 1)
            return u"id %1 follows %2 at position %3 of %4"_s.arg(
                QString::number(ids.at(i)), QString::number(ids.at(i - 1)), QString::number(i),
                QString::number(ids.size()));
    }
    return {};
}

QJsonObject say(const QString &room, const QString &text, const QString &ref = {})
{
    QJsonObject request {{u"type"_s, u"say"_s}, {u"room"_s, room}, {u"text"_s, text}};
    if (!ref.isEmpty())
        request.insert(u"ref"_s, ref);
    return request;
}

QJsonObject request(const QString &type, const QString &key = {}, const QString &value = {},
                    const QString &ref = {})
{
    QJsonObject object {{u"type"_s, type}};
    if (!key.isEmpty())
        object.insert(key, value);
    if (!ref.isEmpty())
        object.insert(u"ref"_s, ref);
    return object;
}

// The largest send buffer the kernel grows a TCP socket to (Linux), a guess elsewhere.
qint64 kernelSendBufferMax()
{
    QFile file(u"/proc/sys/net/ipv4/tcp_wmem"_s);
    if (file.open(QIODevice::ReadOnly)) {
        const QList<QByteArray> fields = file.readAll().simplified().split(' ');
        if (fields.size() == 3 && fields.at(2).toLongLong() > 0)
            return fields.at(2).toLongLong();
    }
    return 4 * 1024 * 1024;
}

} // namespace

// Takes the next frame of a type (optionally matching) from a client, failing the test with
// what did arrive when it does not come.
#define TAKE(var, client, ...)                                                                     \
    const QJsonObject var = (client)->take(__VA_ARGS__);                                           \
    QVERIFY2(                                                                                      \
        !var.isEmpty(),                                                                            \
        qPrintable(u"expected frame missing at line %1; "_s.arg(__LINE__) + (client)->describe()))

#define CONNECT_AS(var, nick)                                                                      \
    TestClient *var = connectAs(nick);                                                             \
    QVERIFY2(var, qPrintable(m_failure))

#define EXPECT_ERROR(client, code, ref)                                                            \
    do {                                                                                           \
        TAKE(error_, client, u"error"_s, withRef(ref));                                            \
        QCOMPARE(error_.value(u"code"_s).toString(), QString(code));                               \
        QVERIFY(!error_.value(u"message"_s).toString().isEmpty());                                 \
    } while (false)

class TestConnectionManager : public QObject
{
    Q_OBJECT

public:
    static void initMain() { TestDispatcher::installRequested(); }

private Q_SLOTS:
    void initTestCase();
    void cleanup();

    // Session
    void welcomeAndLobby();
    void helloRefusals_data();
    void helloRefusals();
    void notReadyBeforeHello();
    void secondHelloIsBadRequest();
    void helloTimeout();
    void helloTimeoutNotRestartedByRefusals();
    void password_data();
    void password();
    void passwordGuessingIsThrottled();
    void normalCloseIsLeft();

    // Rooms and messages
    void joinLeaveRoomsWho();
    void roomLimits();
    void historyOnJoin();
    void historyDefaultLength();
    void sayReachesEveryMember();
    void textLength_data();
    void textLength();
    void loneSurrogateStoredAsRelayed();
    void directMessages();
    void typing();
    void nickChange();
    void renameToOwnName();
    void requestErrors_data();
    void requestErrors();
    void refLength_data();
    void refLength();

    // Limits
    void rateLimitAndFlood();
    void rateLimitBeforeHello();
    void connectionLimits_data();
    void connectionLimits();
    void messageSizeLimit();
    void fragmentedMessageSize_data();
    void fragmentedMessageSize();

    // Host actions
    void kick();
    void longReasonFitsCloseFrame_data();
    void longReasonFitsCloseFrame();
    void banNickname();
    void banNicknameLookAlikes_data();
    void banNicknameLookAlikes();
    void banAddressAndUnban();
    void mute();
    void timedMuteAndBanEnd();
    void announceAndTopic();
    void hostActionOnNobody();
    void logLines();
    void shutdown_data();
    void shutdown();
    void noStatsAfterShutdown();

    // Faults, order and load
    void binaryFrame();
    void invalidUtf8();
    void floodDoesNotDisturbOthers();
    void floodKickFollowsAcceptedMessages();
    void slowReaderIsDropped();
    void pingerThatNeverReadsIsDropped();
    void vanishingConnection();
    void kickAndBanWhileFlowing();
    void orderAndIds();
    void idsIncreaseAcrossRestarts();
    void liveness();
    void manyClientsAtOnce();

private:
    static ServerConfig fastConfig();
    bool start(const ServerConfig &config = fastConfig());
    TestClient *newClient();
    TestClient *connectAs(const QString &nick);
    // Sends a lobby message from sender and checks that each receiver gets it with the id
    // after the last one it saw, and that its ids have no gap: the server still serves them
    // and lost nothing. Every receiver must be in every room that saw messages.
    bool stillServing(TestClient *sender, const QList<TestClient *> &receivers);

    std::unique_ptr<ChatServer> m_server;
    quint16 m_port = 0;
    QList<TestClient *> m_clients;
    QList<RawClient *> m_raws;
    QString m_failure;
    int m_probe = 0;
};

void TestConnectionManager::initTestCase()
{
    QVERIFY(TestDispatcher::requestedIsRunning());
    LanChat::registerMetaTypes();

    // The test holds both ends of every connection.
    rlimit limit {};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    QCOMPARE(setrlimit(RLIMIT_NOFILE, &limit), 0);
}

void TestConnectionManager::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    qDeleteAll(m_raws);
    m_raws.clear();
    m_server.reset();
    m_failure.clear();
}

ServerConfig TestConnectionManager::fastConfig()
{
    // Most tests send far more than a person would; the limit tests set their own values.
    ServerConfig config;
    config.name = u"TestChat"_s;
    config.messagesPerSecond = 1'000'000;
    config.burst = 1'000'000;
    config.floodDrops = 1'000'000;
    return config;
}

bool TestConnectionManager::start(const ServerConfig &config)
{
    m_server = std::make_unique<ChatServer>(config);
    if (!m_server->listen(QHostAddress::LocalHost, 0)) {
        qWarning() << "listen failed:" << m_server->errorString();
        return false;
    }
    m_port = m_server->port();
    return m_port != 0;
}

TestClient *TestConnectionManager::newClient()
{
    auto *client = new TestClient;
    m_clients.append(client);
    return client;
}

TestClient *TestConnectionManager::connectAs(const QString &nick)
{
    TestClient *client = newClient();
    if (!client->open(m_port)) {
        m_failure = u"could not open a WebSocket as %1"_s.arg(nick);
        return nullptr;
    }
    if (!client->hello(nick)) {
        m_failure = u"hello as %1 failed: %2"_s.arg(nick, client->describe());
        return nullptr;
    }
    return client;
}

bool TestConnectionManager::stillServing(TestClient *sender, const QList<TestClient *> &receivers)
{
    const QString text = u"probe %1"_s.arg(++m_probe);
    QList<qint64> before;
    for (TestClient *receiver : receivers) {
        const QList<qint64> ids = receiver->messageIds();
        before.append(ids.isEmpty() ? -1 : ids.last());
    }
    sender->send(say(u"lobby"_s, text));
    for (int i = 0; i < receivers.size(); ++i) {
        const QJsonObject message = receivers.at(i)->take(u"message"_s, textIs(text));
        if (message.isEmpty()) {
            m_failure = u"probe not delivered: "_s + receivers.at(i)->describe();
            return false;
        }
        const qint64 id = message.value(u"id"_s).toInteger();
        if (before.at(i) >= 0 && id != before.at(i) + 1) {
            m_failure = u"probe to %1 has id %2 after %3"_s.arg(
                receivers.at(i)->nick(), QString::number(id), QString::number(before.at(i)));
            return false;
        }
        const QString gap = checkConsecutive(receivers.at(i)->messageIds());
        if (!gap.isEmpty()) {
            m_failure = receivers.at(i)->nick() + u": "_s + gap;
            return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Session

void TestConnectionManager::welcomeAndLobby()
{
    ServerConfig config; // the default limits, as the welcome must show them
    config.name = u"TestChat"_s;
    config.motd = u"Be nice"_s;
    QVERIFY(start(config));

    TestClient *alice = newClient();
    QVERIFY(alice->open(m_port));
    alice->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"alice"_s}, {u"ref"_s, u"h1"_s}});
    TAKE(welcome, alice, u"welcome"_s);
    QCOMPARE(welcome.value(u"nick"_s).toString(), u"alice"_s);
    QCOMPARE(welcome.value(u"ref"_s).toString(), u"h1"_s);
    QCOMPARE(welcome.value(u"server"_s).toObject().value(u"name"_s).toString(), u"TestChat"_s);
    QVERIFY(!welcome.value(u"server"_s).toObject().value(u"version"_s).toString().isEmpty());
    QCOMPARE(welcome.value(u"motd"_s).toString(), u"Be nice"_s);
    const QJsonObject limits = welcome.value(u"limits"_s).toObject();
    QCOMPARE(limits.value(u"textLength"_s).toInt(), 2000);
    QCOMPARE(limits.value(u"nickLength"_s).toInt(), 24);
    QCOMPARE(limits.value(u"messagesPerSecond"_s).toInt(), 5);
    QCOMPARE(limits.value(u"burst"_s).toInt(), 10);
    const QJsonObject lobbyEntry = roomEntry(welcome, u"lobby"_s);
    QCOMPARE(lobbyEntry.value(u"members"_s).toInt(), 1);
    QCOMPARE(lobbyEntry.value(u"topic"_s).toString(), QString());

    // The joined for lobby comes right after the welcome, and carries no ref.
    QCOMPARE(alice->frames().size(), 2);
    TAKE(joined, alice, u"joined"_s);
    QCOMPARE(joined.value(u"room"_s).toString(), u"lobby"_s);
    QVERIFY(!joined.contains(u"ref"_s));
    QCOMPARE(joined.value(u"topic"_s).toString(), QString());
    QCOMPARE(sortedNames(joined.value(u"members"_s)), QStringList {u"alice"_s});
    QVERIFY(joined.value(u"history"_s).isArray());

    // Spaces at both ends are trimmed; the welcome counts the newcomer.
    TestClient *bob = newClient();
    QVERIFY(bob->open(m_port));
    QVERIFY(bob->hello(u"  bob "_s));
    QCOMPARE(bob->nick(), u"bob"_s);
    const QJsonObject bobWelcome = bob->framesOfType(u"welcome"_s).value(0);
    QCOMPARE(roomEntry(bobWelcome, u"lobby"_s).value(u"members"_s).toInt(), 2);
    QVERIFY(!bobWelcome.contains(u"ref"_s));
    const QJsonObject bobJoined = bob->framesOfType(u"joined"_s).value(0);
    QCOMPARE(sortedNames(bobJoined.value(u"members"_s)), (QStringList {u"alice"_s, u"bob"_s}));

    TAKE(arrival, alice, u"presence"_s, presence(u"bob"_s, u"joined"_s));
    QVERIFY(!arrival.contains(u"ref"_s));
    QCOMPARE(m_server->manager()->connectionCount(), 2);
}

void TestConnectionManager::helloRefusals_data()
{
    QTest::addColumn<QString>("nick");
    QTest::addColumn<QString>("code"); // empty: welcomed

    QTest::newRow("24 characters") << QString(24, u'x') << QString();
    QTest::newRow("25 characters") << QString(25, u'x') << u"nick_invalid"_s;
    QTest::newRow("24 letters beyond the BMP")
        << QString(u"\U00020000"_s).repeated(24) << QString();
    QTest::newRow("25 letters beyond the BMP")
        << QString(u"\U00020000"_s).repeated(25) << u"nick_invalid"_s;
    QTest::newRow("empty") << QString() << u"nick_invalid"_s;
    QTest::newRow("only spaces") << u"   "_s << u"nick_invalid"_s;
    QTest::newRow("inner space") << u"al ice"_s << u"nick_invalid"_s;
    QTest::newRow("punctuation") << u"<script>"_s << u"nick_invalid"_s;
    QTest::newRow("reserved admin") << u"admin"_s << u"nick_invalid"_s;
    QTest::newRow("reserved Server") << u"Server"_s << u"nick_invalid"_s;
    QTest::newRow("reserved HOST") << u"HOST"_s << u"nick_invalid"_s;
    QTest::newRow("reserved system") << u"system"_s << u"nick_invalid"_s;
    QTest::newRow("Unicode letters") << u"\u0416\u0435\u043d\u044f"_s << QString();
    QTest::newRow("taken") << u"alice"_s << u"nick_taken"_s;
    QTest::newRow("taken in upper case") << u"ALICE"_s << u"nick_taken"_s;
    QTest::newRow("taken with spaces around") << u" alice "_s << u"nick_taken"_s;
    QTest::newRow("Cyrillic a look-alike") << u"\u0430lice"_s << u"nick_taken"_s;
    // Invisible characters are no letters: the form rule refuses them before any look-alike
    // check could.
    QTest::newRow("zero-width space in a taken name") << u"ali\u200bce"_s << u"nick_invalid"_s;
    QTest::newRow("full-width look-alike")
        << u"\uff41\uff4c\uff49\uff43\uff45"_s << u"nick_taken"_s;
}

void TestConnectionManager::helloRefusals()
{
    QFETCH(QString, nick);
    QFETCH(QString, code);

    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);

    TestClient *client = newClient();
    QVERIFY(client->open(m_port));
    client->send({{u"type"_s, u"hello"_s}, {u"nick"_s, nick}, {u"ref"_s, u"try1"_s}});
    if (code.isEmpty()) {
        TAKE(welcome, client, u"welcome"_s);
        QCOMPARE(welcome.value(u"nick"_s).toString(), nick);
        return;
    }
    EXPECT_ERROR(client, code, u"try1"_s);
    QVERIFY(client->countOf(u"welcome"_s) == 0);

    // A refused hello leaves the connection open for another try.
    QVERIFY2(client->hello(u"second_try"_s), qPrintable(client->describe()));
    QVERIFY(!client->isClosed());
    TAKE(arrival, alice, u"presence"_s, presence(u"second_try"_s, u"joined"_s));
}

void TestConnectionManager::notReadyBeforeHello()
{
    QVERIFY(start());
    TestClient *client = newClient();
    QVERIFY(client->open(m_port));

    const QList<QJsonObject> requests {
        say(u"lobby"_s, u"hi"_s, u"a"_s),
        request(u"join"_s, u"room"_s, u"games"_s, u"b"_s),
        request(u"rooms"_s, {}, {}, u"c"_s),
        request(u"who"_s, u"room"_s, u"lobby"_s, u"d"_s),
        {{u"type"_s, u"dm"_s}, {u"to"_s, u"x"_s}, {u"text"_s, u"y"_s}, {u"ref"_s, u"e"_s}},
        request(u"typing"_s, u"room"_s, u"lobby"_s, u"f"_s),
        request(u"nick"_s, u"nick"_s, u"zed"_s, u"g"_s),
        request(u"leave"_s, u"room"_s, u"lobby"_s, u"h"_s),
    };
    for (const QJsonObject &r : requests)
        client->send(r);
    for (const QJsonObject &r : requests)
        EXPECT_ERROR(client, u"not_ready"_s, r.value(u"ref"_s).toString());
    QVERIFY(client->hello(u"later"_s));
}

void TestConnectionManager::secondHelloIsBadRequest()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    alice->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"alice2"_s}, {u"ref"_s, u"again"_s}});
    EXPECT_ERROR(alice, u"bad_request"_s, u"again"_s);
    QVERIFY(alice->fence());
    QCOMPARE(alice->countOf(u"welcome"_s), 1);
}

void TestConnectionManager::helloTimeout()
{
    ServerConfig config = fastConfig();
    config.helloTimeoutMs = 300;
    QVERIFY(start(config));

    CONNECT_AS(early, u"early"_s);
    TestClient *silent = newClient();
    QVERIFY(silent->open(m_port));
    QVERIFY2(silent->waitClosed(5000), qPrintable(silent->describe()));
    QCOMPARE(silent->closeCode(), int(Protocol::ClosePolicy));

    // The client that said hello in time stays, though it is older than the timeout.
    QVERIFY(!early->isClosed());
    QVERIFY(early->fence());
    QTRY_COMPARE(m_server->manager()->connectionCount(), 1);
}

void TestConnectionManager::helloTimeoutNotRestartedByRefusals()
{
    ServerConfig config = fastConfig();
    config.helloTimeoutMs = 600;
    QVERIFY(start(config));

    TestClient *client = newClient();
    QVERIFY(client->open(m_port));
    // A refused hello every 100 ms: were the clock restarted by each, the close would never come.
    QTimer retry;
    connect(&retry, &QTimer::timeout, client, [client] {
        client->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"not valid"_s}});
    });
    retry.start(100);
    QVERIFY2(client->waitClosed(4000), qPrintable(client->describe()));
    retry.stop();
    QCOMPARE(client->closeCode(), int(Protocol::ClosePolicy));
    QVERIFY(client->countOf(u"error"_s) >= 2);
}

void TestConnectionManager::password_data()
{
    QTest::addColumn<QJsonValue>("password");
    QTest::addColumn<bool>("accepted");

    QTest::newRow("right") << QJsonValue(u"s3cret"_s) << true;
    QTest::newRow("wrong") << QJsonValue(u"guess"_s) << false;
    QTest::newRow("wrong case") << QJsonValue(u"S3CRET"_s) << false;
    QTest::newRow("empty") << QJsonValue(QString()) << false;
    QTest::newRow("missing") << QJsonValue(QJsonValue::Undefined) << false;
}

void TestConnectionManager::password()
{
    QFETCH(QJsonValue, password);
    QFETCH(bool, accepted);

    ServerConfig config = fastConfig();
    config.password = u"s3cret"_s;
    QVERIFY(start(config));

    TestClient *client = newClient();
    QVERIFY(client->open(m_port));
    QJsonObject hello {{u"type"_s, u"hello"_s}, {u"nick"_s, u"carol"_s}, {u"ref"_s, u"p"_s}};
    if (!password.isUndefined())
        hello.insert(u"password"_s, password);
    client->send(hello);
    if (accepted) {
        TAKE(welcome, client, u"welcome"_s);
        QCOMPARE(welcome.value(u"nick"_s).toString(), u"carol"_s);
        return;
    }
    EXPECT_ERROR(client, u"bad_password"_s, u"p"_s);
    QVERIFY(client->waitClosed());
    QCOMPARE(client->closeCode(), int(Protocol::ClosePolicy));
}

void TestConnectionManager::passwordGuessingIsThrottled()
{
    ServerConfig config = fastConfig();
    config.password = u"s3cret"_s;
    config.passwordFailures = 5;
    config.passwordFailureWindowMs = 60'000;
    config.passwordLockoutMs = 1'500;
    QVERIFY(start(config));

    // Hello without a password asks whether one is needed: that is no guess.
    auto tryHello = [this](const QJsonValue &password, const QString &ref) {
        TestClient *client = newClient();
        if (!client->open(m_port))
            return client;
        QJsonObject hello {{u"type"_s, u"hello"_s}, {u"nick"_s, u"carol"_s}, {u"ref"_s, ref}};
        if (!password.isUndefined())
            hello.insert(u"password"_s, password);
        client->send(hello);
        return client;
    };
    for (int i = 0; i < 3; ++i) {
        TestClient *asking = tryHello(QJsonValue::Undefined, u"ask%1"_s.arg(i));
        EXPECT_ERROR(asking, u"bad_password"_s, u"ask%1"_s.arg(i));
    }
    for (int i = 0; i < 5; ++i) {
        TestClient *guess = tryHello(u"guess%1"_s.arg(i), u"g%1"_s.arg(i));
        EXPECT_ERROR(guess, u"bad_password"_s, u"g%1"_s.arg(i));
        QVERIFY(guess->waitClosed());
    }

    // After the fifth, even the right password is refused for a while, and says so.
    TestClient *locked = tryHello(u"s3cret"_s, u"right"_s);
    TAKE(error, locked, u"error"_s, withRef(u"right"_s));
    QElapsedTimer lockedSince; // the lock began before this answer was sent
    lockedSince.start();
    QCOMPARE(error.value(u"code"_s).toString(), u"too_many_attempts"_s);
    QVERIFY(error.value(u"retryAfter"_s).toInteger() >= 1);
    QVERIFY(locked->waitClosed());
    QCOMPARE(locked->closeCode(), int(Protocol::ClosePolicy));
    QCOMPARE(locked->countOf(u"welcome"_s), 0);

    // Once the lockout is over, the right password is let in.
    QTRY_VERIFY_WITH_TIMEOUT(lockedSince.elapsed() > config.passwordLockoutMs, 5000);
    TestClient *later = tryHello(u"s3cret"_s, u"later"_s);
    TAKE(welcome, later, u"welcome"_s);
}

void TestConnectionManager::normalCloseIsLeft()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    bob->send(request(u"join"_s, u"room"_s, u"games"_s));
    alice->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(joined, alice, u"joined"_s, inRoom(u"games"_s));

    bob->close();
    QVERIFY(bob->waitClosed());
    QCOMPARE(bob->closeCode(), int(Protocol::CloseNormal));
    TAKE(leftLobby, alice, u"presence"_s, presence(u"bob"_s, u"left"_s));
    TAKE(leftGames, alice, u"presence"_s, presence(u"bob"_s, u"left"_s, u"games"_s));
    QVERIFY(alice->fence());
    QCOMPARE(departuresSeen(alice, u"bob"_s, u"lobby"_s), 1);
    QCOMPARE(departuresSeen(alice, u"bob"_s, u"games"_s), 1);
    QTRY_COMPARE(m_server->manager()->connectionCount(), 1);
}

// ---------------------------------------------------------------------------------------------
// Rooms and messages

void TestConnectionManager::roomLimits()
{
    ServerConfig config = fastConfig();
    config.maxRoomsPerUser = 3;
    config.maxRooms = 4;
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    // lobby, a and b: as many as alice may be in.
    for (const QString &room : {u"a"_s, u"b"_s}) {
        alice->send(request(u"join"_s, u"room"_s, room, room));
        TAKE(joined, alice, u"joined"_s, withRef(room));
    }
    alice->send(request(u"join"_s, u"room"_s, u"c"_s, u"c"_s));
    EXPECT_ERROR(alice, u"too_many_rooms"_s, u"c"_s);
    // Joining a room she is in already adds none.
    alice->send(request(u"join"_s, u"room"_s, u"a"_s, u"again"_s));
    TAKE(again, alice, u"joined"_s, withRef(u"again"_s));

    // lobby, a, b and c: as many as the server holds. Joining one that exists still works.
    bob->send(request(u"join"_s, u"room"_s, u"c"_s, u"c"_s));
    TAKE(created, bob, u"joined"_s, withRef(u"c"_s));
    bob->send(request(u"join"_s, u"room"_s, u"d"_s, u"d"_s));
    EXPECT_ERROR(bob, u"too_many_rooms"_s, u"d"_s);
    bob->send(request(u"join"_s, u"room"_s, u"a"_s, u"a"_s));
    TAKE(existing, bob, u"joined"_s, withRef(u"a"_s));

    // b goes with its last member, which leaves the server room for d; but bob is in three
    // rooms already, until he leaves one.
    alice->send(request(u"leave"_s, u"room"_s, u"b"_s, u"leave"_s));
    TAKE(left, alice, u"left"_s, withRef(u"leave"_s));
    bob->send(request(u"join"_s, u"room"_s, u"d"_s, u"d2"_s));
    EXPECT_ERROR(bob, u"too_many_rooms"_s, u"d2"_s);
    bob->send(request(u"leave"_s, u"room"_s, u"c"_s, u"leave"_s));
    TAKE(bobLeft, bob, u"left"_s, withRef(u"leave"_s));
    bob->send(request(u"join"_s, u"room"_s, u"d"_s, u"d3"_s));
    TAKE(madeRoom, bob, u"joined"_s, withRef(u"d3"_s));
}

void TestConnectionManager::joinLeaveRoomsWho()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);

    alice->send(request(u"join"_s, u"room"_s, u"games"_s, u"j1"_s));
    TAKE(joined, alice, u"joined"_s, withRef(u"j1"_s));
    QCOMPARE(joined.value(u"room"_s).toString(), u"games"_s);
    QCOMPARE(joined.value(u"topic"_s).toString(), QString());
    QCOMPARE(sortedNames(joined.value(u"members"_s)), QStringList {u"alice"_s});
    QCOMPARE(joined.value(u"history"_s).toArray().size(), 0);

    bob->send(request(u"join"_s, u"room"_s, u"games"_s, u"j2"_s));
    TAKE(bobJoined, bob, u"joined"_s, withRef(u"j2"_s));
    QCOMPARE(sortedNames(bobJoined.value(u"members"_s)), (QStringList {u"alice"_s, u"bob"_s}));
    TAKE(arrival, alice, u"presence"_s, presence(u"bob"_s, u"joined"_s, u"games"_s));
    QVERIFY(!arrival.contains(u"ref"_s));

    // Joining again answers joined again, with no presence event.
    bob->send(request(u"join"_s, u"room"_s, u"games"_s, u"j3"_s));
    TAKE(again, bob, u"joined"_s, withRef(u"j3"_s));
    QCOMPARE(again.value(u"room"_s).toString(), u"games"_s);
    QVERIFY(alice->fence());
    QVERIFY(!alice->has(u"presence"_s, inRoom(u"games"_s)));
    // Nobody outside the room hears of it.
    QVERIFY(carol->fence());
    QVERIFY(!carol->has(u"presence"_s, inRoom(u"games"_s)));

    carol->send(request(u"rooms"_s, {}, {}, u"r1"_s));
    TAKE(rooms, carol, u"rooms"_s, withRef(u"r1"_s));
    QCOMPARE(roomEntry(rooms, u"lobby"_s).value(u"members"_s).toInt(), 3);
    QCOMPARE(roomEntry(rooms, u"games"_s).value(u"members"_s).toInt(), 2);
    QCOMPARE(roomEntry(rooms, u"games"_s).value(u"topic"_s).toString(), QString());

    // Rooms are public: who works from outside.
    carol->send(request(u"who"_s, u"room"_s, u"games"_s, u"w1"_s));
    TAKE(who, carol, u"who"_s, withRef(u"w1"_s));
    QCOMPARE(who.value(u"room"_s).toString(), u"games"_s);
    QCOMPARE(sortedNames(who.value(u"members"_s)), (QStringList {u"alice"_s, u"bob"_s}));

    bob->send(request(u"leave"_s, u"room"_s, u"games"_s, u"l1"_s));
    TAKE(left, bob, u"left"_s, withRef(u"l1"_s));
    QCOMPARE(left.value(u"room"_s).toString(), u"games"_s);
    TAKE(departure, alice, u"presence"_s, presence(u"bob"_s, u"left"_s, u"games"_s));

    bob->send(request(u"leave"_s, u"room"_s, u"games"_s, u"l2"_s));
    EXPECT_ERROR(bob, u"not_in_room"_s, u"l2"_s);

    // A room exists while someone is in it.
    alice->send(request(u"leave"_s, u"room"_s, u"games"_s, u"l3"_s));
    TAKE(aliceLeft, alice, u"left"_s, withRef(u"l3"_s));
    carol->send(request(u"rooms"_s, {}, {}, u"r2"_s));
    TAKE(rooms2, carol, u"rooms"_s, withRef(u"r2"_s));
    QVERIFY(roomEntry(rooms2, u"games"_s).isEmpty());

    // lobby always exists, even with nobody in it.
    for (TestClient *c : {alice, bob, carol}) {
        c->send(request(u"leave"_s, u"room"_s, u"lobby"_s, u"out"_s));
        TAKE(out, c, u"left"_s, withRef(u"out"_s));
    }
    carol->send(request(u"rooms"_s, {}, {}, u"r3"_s));
    TAKE(rooms3, carol, u"rooms"_s, withRef(u"r3"_s));
    QVERIFY2(!roomEntry(rooms3, u"lobby"_s).isEmpty(), qPrintable(frameText(rooms3)));
    QCOMPARE(roomEntry(rooms3, u"lobby"_s).value(u"members"_s).toInt(), 0);
}

void TestConnectionManager::historyOnJoin()
{
    ServerConfig config = fastConfig();
    config.historyLength = 3;
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);

    alice->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(joined, alice, u"joined"_s, inRoom(u"games"_s));
    for (int i = 1; i <= 5; ++i)
        alice->send(say(u"games"_s, u"m%1"_s.arg(i)));
    alice->send(say(u"lobby"_s, u"in the lobby"_s));
    TAKE(last, alice, u"message"_s, textIs(u"in the lobby"_s));

    CONNECT_AS(bob, u"bob"_s);
    const QJsonObject lobby = bob->framesOfType(u"joined"_s).value(0);
    const QJsonArray lobbyHistory = lobby.value(u"history"_s).toArray();
    QCOMPARE(lobbyHistory.size(), 1);
    QCOMPARE(lobbyHistory.at(0).toObject().value(u"text"_s).toString(), u"in the lobby"_s);

    bob->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(bobJoined, bob, u"joined"_s, inRoom(u"games"_s));
    const QJsonArray history = bobJoined.value(u"history"_s).toArray();
    QCOMPARE(history.size(), 3);
    qint64 previousId = 0;
    for (int i = 0; i < 3; ++i) {
        const QJsonObject message = history.at(i).toObject();
        QCOMPARE(message.value(u"text"_s).toString(), u"m%1"_s.arg(i + 3));
        QCOMPARE(message.value(u"room"_s).toString(), u"games"_s);
        QCOMPARE(message.value(u"from"_s).toString(), u"alice"_s);
        QVERIFY(isTimestamp(message.value(u"ts"_s)));
        const qint64 id = message.value(u"id"_s).toInteger();
        QVERIFY(id > previousId);
        previousId = id;
    }
}

void TestConnectionManager::historyDefaultLength()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    for (int i = 0; i < 60; ++i)
        alice->send(say(u"lobby"_s, u"h%1"_s.arg(i)));
    TAKE(last, alice, u"message"_s, textIs(u"h59"_s));

    CONNECT_AS(bob, u"bob"_s);
    const QJsonArray history
        = bob->framesOfType(u"joined"_s).value(0).value(u"history"_s).toArray();
    QCOMPARE(history.size(), 50);
    QCOMPARE(history.first().toObject().value(u"text"_s).toString(), u"h10"_s);
    QCOMPARE(history.last().toObject().value(u"text"_s).toString(), u"h59"_s);
}

void TestConnectionManager::sayReachesEveryMember()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    carol->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(carolJoined, carol, u"joined"_s, inRoom(u"games"_s));

    // Passed on exactly as written; a client's own from is ignored; broadcasts carry no ref.
    const QString text = u"  <b>hi</b> & \"quoted\" \u00e9\U0001F600\n"_s;
    QJsonObject spoofed = say(u"lobby"_s, text, u"s1"_s);
    spoofed.insert(u"from"_s, u"mallory"_s);
    alice->send(spoofed);

    qint64 id = -1;
    for (TestClient *c : {alice, bob, carol}) {
        TAKE(message, c, u"message"_s);
        QCOMPARE(message.value(u"room"_s).toString(), u"lobby"_s);
        QCOMPARE(message.value(u"from"_s).toString(), u"alice"_s);
        QCOMPARE(message.value(u"text"_s).toString(), text);
        QVERIFY(!message.contains(u"ref"_s));
        QVERIFY2(isTimestamp(message.value(u"ts"_s)), qPrintable(frameText(message)));
        QVERIFY(message.value(u"id"_s).isDouble());
        if (id < 0)
            id = message.value(u"id"_s).toInteger();
        QCOMPARE(message.value(u"id"_s).toInteger(), id);
    }

    // A room message reaches the members of that room only.
    carol->send(say(u"games"_s, u"only games"_s));
    TAKE(games, carol, u"message"_s, inRoom(u"games"_s));
    QCOMPARE(games.value(u"id"_s).toInteger(), id + 1);
    QVERIFY(alice->fence());
    QVERIFY(!alice->has(u"message"_s));
    QCOMPARE(m_server->manager()->lastMessageId(), quint64(id + 1));
}

void TestConnectionManager::textLength_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("accepted");

    QTest::newRow("one character") << u"x"_s << true;
    QTest::newRow("2000 characters") << QString(2000, u'a') << true;
    QTest::newRow("2001 characters") << QString(2001, u'a') << false;
    QTest::newRow("2000 emoji") << QString(u"\U0001F600"_s).repeated(2000) << true;
    QTest::newRow("2001 emoji") << QString(u"\U0001F600"_s).repeated(2001) << false;
    QTest::newRow("2000 with spaces around") << u" "_s + QString(1998, u'a') + u" "_s << true;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow("white space only") << u" \t\n \r"_s << false;
    QTest::newRow("zero-width space only") << u"\u200b"_s << false;
    QTest::newRow("byte order mark only") << u"\ufeff"_s << false;
    QTest::newRow("format characters and spaces") << u" \u200d \u2060\u200e "_s << false;
    QTest::newRow("zero-width space inside") << u"a\u200bb"_s << true;
}

void TestConnectionManager::textLength()
{
    QFETCH(QString, text);
    QFETCH(bool, accepted);

    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    alice->send(say(u"lobby"_s, text, u"t1"_s));
    alice->send(
        {{u"type"_s, u"dm"_s}, {u"to"_s, u"bob"_s}, {u"text"_s, text}, {u"ref"_s, u"t2"_s}});
    if (accepted) {
        TAKE(message, bob, u"message"_s);
        QCOMPARE(message.value(u"text"_s).toString(), text);
        TAKE(dm, bob, u"dm"_s);
        QCOMPARE(dm.value(u"text"_s).toString(), text);
    } else {
        EXPECT_ERROR(alice, u"text_invalid"_s, u"t1"_s);
        EXPECT_ERROR(alice, u"text_invalid"_s, u"t2"_s);
        QVERIFY(alice->fence());
        QVERIFY(bob->fence());
        QCOMPARE(bob->countOf(u"message"_s), 0);
        QCOMPARE(bob->countOf(u"dm"_s), 0);
    }
}

void TestConnectionManager::loneSurrogateStoredAsRelayed()
{
    QTemporaryDir data;
    QVERIFY(data.isValid());
    ServerConfig config = fastConfig();
    config.storeEnabled = true;
    config.dataDir = data.path();
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);

    alice->sendRaw(uR"({"type":"say","room":"lobby","text":"lone \ud800 surrogate"})"_s);
    TAKE(live, alice, u"message"_s);
    const QString expected = u"lone \ufffd surrogate"_s;
    QCOMPARE(live.value(u"text"_s).toString(), expected);

    // What a later client reads back from the store is what everyone saw.
    cleanup();
    QVERIFY(start(config));
    CONNECT_AS(bob, u"bob"_s);
    const QJsonArray history
        = bob->framesOfType(u"joined"_s).value(0).value(u"history"_s).toArray();
    QCOMPARE(history.size(), 1);
    QCOMPARE(history.at(0).toObject().value(u"text"_s).toString(), expected);
}

void TestConnectionManager::directMessages()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);

    alice->send(say(u"lobby"_s, u"before"_s));
    TAKE(before, alice, u"message"_s);
    const qint64 firstId = before.value(u"id"_s).toInteger();

    // Nicknames compare without regard to case; room messages and dms share one sequence.
    alice->send(
        {{u"type"_s, u"dm"_s}, {u"to"_s, u"BOB"_s}, {u"text"_s, u"psst"_s}, {u"ref"_s, u"d1"_s}});
    TAKE(toBob, bob, u"dm"_s);
    TAKE(echo, alice, u"dm"_s);
    for (const QJsonObject &dm : {toBob, echo}) {
        QCOMPARE(dm.value(u"id"_s).toInteger(), firstId + 1);
        QCOMPARE(dm.value(u"from"_s).toString(), u"alice"_s);
        QCOMPARE(dm.value(u"to"_s).toString(), u"bob"_s);
        QCOMPARE(dm.value(u"text"_s).toString(), u"psst"_s);
        QVERIFY(isTimestamp(dm.value(u"ts"_s)));
        QVERIFY(!dm.contains(u"ref"_s));
    }
    QVERIFY(carol->fence());
    QCOMPARE(carol->countOf(u"dm"_s), 0);

    // A dm to oneself arrives once.
    alice->send({{u"type"_s, u"dm"_s}, {u"to"_s, u"alice"_s}, {u"text"_s, u"note"_s}});
    TAKE(self, alice, u"dm"_s, textIs(u"note"_s));
    QCOMPARE(self.value(u"id"_s).toInteger(), firstId + 2);
    QVERIFY(alice->fence());
    QCOMPARE(alice->framesOfType(u"dm"_s).size(), 2);

    // A client's own from is ignored here too.
    bob->send({{u"type"_s, u"dm"_s},
               {u"to"_s, u"carol"_s},
               {u"text"_s, u"hey"_s},
               {u"from"_s, u"alice"_s}});
    TAKE(toCarol, carol, u"dm"_s);
    QCOMPARE(toCarol.value(u"from"_s).toString(), u"bob"_s);

    alice->send(
        {{u"type"_s, u"dm"_s}, {u"to"_s, u"nobody"_s}, {u"text"_s, u"x"_s}, {u"ref"_s, u"d2"_s}});
    EXPECT_ERROR(alice, u"no_such_user"_s, u"d2"_s);
}

void TestConnectionManager::typing()
{
    ServerConfig config = fastConfig();
    config.typingIntervalMs = 1000;
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    alice->send(request(u"typing"_s, u"room"_s, u"lobby"_s));
    TAKE(hint, bob, u"typing"_s);
    QCOMPARE(hint.value(u"room"_s).toString(), u"lobby"_s);
    QCOMPARE(hint.value(u"nick"_s).toString(), u"alice"_s);

    // Sooner than the interval, the hint is not passed on; the message after it shows when
    // everything before it has arrived.
    alice->send(request(u"typing"_s, u"room"_s, u"lobby"_s));
    alice->send(say(u"lobby"_s, u"fence"_s));
    TAKE(fence, bob, u"message"_s);
    QCOMPARE(bob->countOf(u"typing"_s), 1);
    QVERIFY(alice->fence());
    QCOMPARE(alice->countOf(u"typing"_s), 0); // not echoed to the sender
    QCOMPARE(alice->countOf(u"error"_s), 0);

    // After the interval it is passed on again.
    QTimer::singleShot(1200, alice,
                       [alice] { alice->send(request(u"typing"_s, u"room"_s, u"lobby"_s)); });
    TAKE(second, bob, u"typing"_s, 5000);

    // A client that waits the interval after sending sees its hint arrive early when the one
    // before was held up: up to a third of the interval early, it is still passed on. The next
    // is then due a whole interval after the one it followed, not after its arrival.
    QTimer::singleShot(800, alice,
                       [alice] { alice->send(request(u"typing"_s, u"room"_s, u"lobby"_s)); });
    TAKE(early, bob, u"typing"_s, 5000);
    alice->send(request(u"typing"_s, u"room"_s, u"lobby"_s));
    alice->send(say(u"lobby"_s, u"fence 2"_s));
    TAKE(fence2, bob, u"message"_s);
    QVERIFY(!bob->has(u"typing"_s));
    QCOMPARE(bob->countOf(u"typing"_s), 3);

    alice->send(request(u"typing"_s, u"room"_s, u"games"_s, u"t"_s));
    EXPECT_ERROR(alice, u"not_in_room"_s, u"t"_s);
}

void TestConnectionManager::nickChange()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    for (TestClient *c : {alice, carol}) {
        c->send(request(u"join"_s, u"room"_s, u"games"_s));
        TAKE(j, c, u"joined"_s, inRoom(u"games"_s));
    }
    carol->send(request(u"leave"_s, u"room"_s, u"lobby"_s));
    TAKE(l, carol, u"left"_s);

    alice->send(request(u"nick"_s, u"nick"_s, u"alicia"_s, u"n1"_s));
    TAKE(own1, alice, u"presence"_s, presence(u"alicia"_s, u"renamed"_s, u"lobby"_s));
    TAKE(own2, alice, u"presence"_s, presence(u"alicia"_s, u"renamed"_s, u"games"_s));
    QCOMPARE(own1.value(u"old"_s).toString(), u"alice"_s);
    QCOMPARE(own2.value(u"old"_s).toString(), u"alice"_s);
    TAKE(bobSaw, bob, u"presence"_s, presence(u"alicia"_s, u"renamed"_s, u"lobby"_s));
    QCOMPARE(bobSaw.value(u"old"_s).toString(), u"alice"_s);
    TAKE(carolSaw, carol, u"presence"_s, presence(u"alicia"_s, u"renamed"_s, u"games"_s));
    QVERIFY(bob->fence());
    QVERIFY(carol->fence());
    QVERIFY(!bob->has(u"presence"_s, inRoom(u"games"_s)));
    QVERIFY(!carol->has(u"presence"_s, inRoom(u"lobby"_s)));

    alice->send(say(u"lobby"_s, u"new name"_s));
    TAKE(message, bob, u"message"_s);
    QCOMPARE(message.value(u"from"_s).toString(), u"alicia"_s);
    bob->send(
        {{u"type"_s, u"dm"_s}, {u"to"_s, u"alice"_s}, {u"text"_s, u"x"_s}, {u"ref"_s, u"old"_s}});
    EXPECT_ERROR(bob, u"no_such_user"_s, u"old"_s);
    bob->send({{u"type"_s, u"dm"_s}, {u"to"_s, u"ALICIA"_s}, {u"text"_s, u"y"_s}});
    TAKE(dm, alice, u"dm"_s);

    // The old name is free again; the new one is taken.
    CONNECT_AS(other, u"alice"_s);
    TestClient *late = newClient();
    QVERIFY(late->open(m_port));
    late->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"Alicia"_s}, {u"ref"_s, u"h"_s}});
    EXPECT_ERROR(late, u"nick_taken"_s, u"h"_s);
}

void TestConnectionManager::renameToOwnName()
{
    QVERIFY(start());
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    QSignalSpy renames(m_server->manager(), &ConnectionManager::clientRenamed);

    // The same name, spaces aside: bob alone hears that it holds, with no room.
    bob->send(request(u"nick"_s, u"nick"_s, u" bob "_s));
    TAKE(same, bob, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"event"_s) == u"renamed"_s && !f.contains(u"room"_s);
    });
    QCOMPARE(same.value(u"nick"_s).toString(), u"bob"_s);
    QCOMPARE(same.value(u"old"_s).toString(), u"bob"_s);
    QVERIFY(bob->fence());
    QVERIFY(!bob->has(u"presence"_s, presence(u"bob"_s, u"renamed"_s)));
    QVERIFY(carol->fence());
    QCOMPARE(carol->framesOfType(u"presence"_s).size(), 0);
    QCOMPARE(renames.size(), 0);

    // Another case is another name, and everyone hears of it.
    bob->send(request(u"nick"_s, u"nick"_s, u"Bob"_s));
    TAKE(cased, carol, u"presence"_s, presence(u"Bob"_s, u"renamed"_s));
    QCOMPARE(cased.value(u"old"_s).toString(), u"bob"_s);
    TAKE(own, bob, u"presence"_s, presence(u"Bob"_s, u"renamed"_s));
    QCOMPARE(renames.size(), 1);
}

void TestConnectionManager::requestErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<bool>("muted");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("ref"); // what the error must carry

    const auto row = [](const char *name, const char *json, const char *code, bool muted = false) {
        const bool hasRef = QByteArray(json).contains("\"ref\":\"x\"");
        QTest::newRow(name) << QByteArray(json) << muted << QString::fromLatin1(code)
                            << (hasRef ? u"x"_s : QString());
    };

    // Form
    row("not JSON", "hello there", "bad_request");
    row("truncated JSON", R"({"type":"rooms")", "bad_request");
    row("array", R"([1,2])", "bad_request");
    row("unknown type", R"({"type":"shout","ref":"x"})", "bad_request");
    row("missing type", R"({"ref":"x"})", "bad_request");
    row("say without text", R"({"type":"say","room":"lobby","ref":"x"})", "bad_request");
    row("say text is a number", R"({"type":"say","room":"lobby","text":1,"ref":"x"})",
        "bad_request");
    row("dm without to", R"({"type":"dm","text":"hi","ref":"x"})", "bad_request");
    row("join room is a number", R"({"type":"join","room":3,"ref":"x"})", "bad_request");
    row("nick is null", R"({"type":"nick","nick":null,"ref":"x"})", "bad_request");
    row("ref is a number", R"({"type":"rooms","ref":5})", "bad_request");
    row("second hello", R"({"type":"hello","nick":"zed","ref":"x"})", "bad_request");
    // Form before values
    row("bad form and bad room", R"({"type":"say","room":"NO SUCH","text":7,"ref":"x"})",
        "bad_request");
    row("bad form and bad nick", R"({"type":"dm","to":"a b","ref":"x"})", "bad_request");
    // Values
    row("join upper-case room", R"({"type":"join","room":"Games","ref":"x"})", "room_invalid");
    row("join 33 characters",
        R"({"type":"join","room":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","ref":"x"})", "room_invalid");
    row("join empty room", R"({"type":"join","room":"","ref":"x"})", "room_invalid");
    row("leave invalid room", R"({"type":"leave","room":"a b","ref":"x"})", "room_invalid");
    row("who invalid room", R"({"type":"who","room":"#x","ref":"x"})", "room_invalid");
    row("say invalid room", R"({"type":"say","room":"A","text":"hi","ref":"x"})", "room_invalid");
    row("typing invalid room", R"({"type":"typing","room":"A","ref":"x"})", "room_invalid");
    row("say empty text", R"({"type":"say","room":"lobby","text":"","ref":"x"})", "text_invalid");
    row("dm blank text", R"({"type":"dm","to":"bob","text":"  ","ref":"x"})", "text_invalid");
    row("nick invalid", R"({"type":"nick","nick":"a b","ref":"x"})", "nick_invalid");
    row("nick reserved", R"({"type":"nick","nick":"Admin","ref":"x"})", "nick_invalid");
    row("nick 25 characters", R"({"type":"nick","nick":"aaaaaaaaaaaaaaaaaaaaaaaaa","ref":"x"})",
        "nick_invalid");
    // Values before state
    row("empty text in a room not joined", R"({"type":"say","room":"games","text":"","ref":"x"})",
        "text_invalid");
    row("empty dm to nobody", R"({"type":"dm","to":"nobody","text":"","ref":"x"})", "text_invalid");
    row("muted and empty text", R"({"type":"say","room":"lobby","text":" ","ref":"x"})",
        "text_invalid", true);
    // State
    row("say in a room not joined", R"({"type":"say","room":"games","text":"hi","ref":"x"})",
        "not_in_room");
    row("leave a room not joined", R"({"type":"leave","room":"games","ref":"x"})", "not_in_room");
    row("typing in a room not joined", R"({"type":"typing","room":"games","ref":"x"})",
        "not_in_room");
    row("dm to nobody", R"({"type":"dm","to":"nobody","text":"hi","ref":"x"})", "no_such_user");
    row("nick taken", R"({"type":"nick","nick":"BOB","ref":"x"})", "nick_taken");
    row("nick look-alike", R"({"type":"nick","nick":"b\u043eb","ref":"x"})", "nick_taken");
    row("muted say", R"({"type":"say","room":"lobby","text":"hi","ref":"x"})", "muted", true);
    row("muted dm", R"({"type":"dm","to":"bob","text":"hi","ref":"x"})", "muted", true);
    row("muted typing", R"({"type":"typing","room":"lobby","ref":"x"})", "muted", true);
    row("muted in a room not joined", R"({"type":"say","room":"games","text":"hi","ref":"x"})",
        "not_in_room", true);
    row("muted dm to nobody", R"({"type":"dm","to":"nobody","text":"hi","ref":"x"})",
        "no_such_user", true);
}

void TestConnectionManager::requestErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(bool, muted);
    QFETCH(QString, code);
    QFETCH(QString, ref);

    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    bob->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(bobJoined, bob, u"joined"_s, inRoom(u"games"_s));
    if (muted) {
        m_server->manager()->mute(u"alice"_s, 0);
        TAKE(mutedFrame, alice, u"muted"_s);
    }

    alice->sendRaw(QString::fromUtf8(json));
    TAKE(error, alice, u"error"_s);
    QCOMPARE(error.value(u"code"_s).toString(), code);
    QCOMPARE(error.value(u"ref"_s).toString(), ref);
    QVERIFY(!error.value(u"message"_s).toString().isEmpty());

    // A bad request never closes the connection, and nobody else hears of it.
    QVERIFY(alice->fence());
    QVERIFY(!alice->isClosed());
    QCOMPARE(alice->countOf(u"error"_s), 1);
    QVERIFY(bob->fence());
    QCOMPARE(bob->countOf(u"message"_s) + bob->countOf(u"dm"_s) + bob->countOf(u"typing"_s), 0);
    if (!muted)
        QVERIFY2(stillServing(alice, {alice, bob}), qPrintable(m_failure));
}

void TestConnectionManager::refLength_data()
{
    QTest::addColumn<QString>("ref");
    QTest::addColumn<bool>("accepted");

    QTest::newRow("64 characters") << QString(64, u'r') << true;
    QTest::newRow("65 characters") << QString(65, u'r') << false;
    QTest::newRow("64 emoji") << QString(u"\U0001F600"_s).repeated(64) << true;
}

void TestConnectionManager::refLength()
{
    QFETCH(QString, ref);
    QFETCH(bool, accepted);

    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    alice->send(request(u"who"_s, u"room"_s, u"lobby"_s, ref));
    if (accepted) {
        TAKE(who, alice, u"who"_s);
        QCOMPARE(who.value(u"ref"_s).toString(), ref);
    } else {
        TAKE(error, alice, u"error"_s);
        QCOMPARE(error.value(u"code"_s).toString(), u"bad_request"_s);
        QVERIFY(!error.contains(u"ref"_s));
        QVERIFY(alice->fence());
        QCOMPARE(alice->countOf(u"who"_s), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Limits

void TestConnectionManager::rateLimitAndFlood()
{
    ServerConfig config;
    config.messagesPerSecond = 1; // slow enough that no token comes back during the burst
    config.burst = 10;
    config.floodDrops = 20;
    config.floodWindowMs = 10'000;
    QVERIFY(start(config));
    CONNECT_AS(watcher, u"watcher"_s);
    CONNECT_AS(alice, u"alice"_s);

    // The burst: exactly `burst` requests pass.
    for (int i = 0; i < 10; ++i)
        alice->send(say(u"lobby"_s, u"m%1"_s.arg(i), u"r%1"_s.arg(i)));
    // Then 19 are dropped, whatever their form: the rate limit is checked first.
    const QList<QByteArray> overLimit {
        R"({"type":"shout","ref":"r%1"})",
        R"({"type":"say","ref":"r%1"})",
        R"({"type":"join","room":"NOT VALID","ref":"r%1"})",
        R"({"type":"say","room":"nowhere","text":"x","ref":"r%1"})",
        R"({"type":"say","room":"lobby","text":"ok","ref":"r%1"})",
    };
    for (int i = 10; i < 29; ++i)
        alice->sendRaw(QString::fromUtf8(overLimit.at(i % overLimit.size())).arg(i));

    for (int i = 0; i < 10; ++i) {
        TAKE(message, watcher, u"message"_s, textIs(u"m%1"_s.arg(i)));
    }
    for (int i = 10; i < 29; ++i)
        EXPECT_ERROR(alice, u"rate_limited"_s, u"r%1"_s.arg(i));
    QCOMPARE(alice->countOf(u"error"_s), 19);

    // 19 drops do not disconnect: once a token is back, the next request is served.
    QTimer::singleShot(1200, alice,
                       [alice] { alice->send(request(u"rooms"_s, {}, {}, u"r29"_s)); });
    TAKE(rooms, alice, u"rooms"_s, withRef(u"r29"_s), 5000);
    QVERIFY(!alice->isClosed());

    // The 20th drop within the window disconnects.
    alice->send(request(u"rooms"_s, {}, {}, u"r30"_s));
    EXPECT_ERROR(alice, u"rate_limited"_s, u"r30"_s);
    QVERIFY2(alice->waitClosed(), qPrintable(alice->describe()));
    QCOMPARE(alice->closeCode(), int(Protocol::CloseFlooding));

    TAKE(gone, watcher, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"nick"_s) == u"alice"_s && f.value(u"event"_s) != u"joined"_s;
    });
    QVERIFY(watcher->fence());
    QCOMPARE(departuresSeen(watcher, u"alice"_s, u"lobby"_s), 1);
    QCOMPARE(watcher->countOf(u"message"_s), 10);
}

void TestConnectionManager::rateLimitBeforeHello()
{
    ServerConfig config;
    config.messagesPerSecond = 1;
    config.burst = 10;
    config.floodDrops = 20;
    config.floodWindowMs = 10'000;
    QVERIFY(start(config));
    CONNECT_AS(watcher, u"watcher"_s);

    // Refused hellos take tokens like any request, and a flood of them closes the connection.
    TestClient *guesser = newClient();
    QVERIFY(guesser->open(m_port));
    for (int i = 0; i < 30; ++i)
        guesser->send(
            {{u"type"_s, u"hello"_s}, {u"nick"_s, u"no good"_s}, {u"ref"_s, u"h%1"_s.arg(i)}});
    for (int i = 0; i < 10; ++i)
        EXPECT_ERROR(guesser, u"nick_invalid"_s, u"h%1"_s.arg(i));
    for (int i = 10; i < 30; ++i)
        EXPECT_ERROR(guesser, u"rate_limited"_s, u"h%1"_s.arg(i));
    QVERIFY2(guesser->waitClosed(), qPrintable(guesser->describe()));
    QCOMPARE(guesser->closeCode(), int(Protocol::CloseFlooding));
    QCOMPARE(guesser->countOf(u"error"_s), 30);

    // A client that then says hello gets the full burst its welcome promises.
    CONNECT_AS(alice, u"alice"_s);
    for (int i = 0; i < 10; ++i)
        alice->send(say(u"lobby"_s, u"m%1"_s.arg(i)));
    for (int i = 0; i < 10; ++i) {
        TAKE(message, watcher, u"message"_s, textIs(u"m%1"_s.arg(i)));
    }
    QCOMPARE(alice->countOf(u"error"_s), 0);
}

void TestConnectionManager::connectionLimits_data()
{
    QTest::addColumn<int>("overall");
    QTest::addColumn<int>("perAddress");

    QTest::newRow("server") << 3 << 100;
    QTest::newRow("address") << 100 << 3;
}

void TestConnectionManager::connectionLimits()
{
    QFETCH(int, overall);
    QFETCH(int, perAddress);

    ServerConfig config = fastConfig();
    config.maxConnections = overall;
    config.maxConnectionsPerAddress = perAddress;
    QVERIFY(start(config));

    // Up to the limit, everyone gets in.
    CONNECT_AS(first, u"first"_s);
    CONNECT_AS(second, u"second"_s);
    TestClient *third = newClient();
    QVERIFY(third->open(m_port)); // still in its handshake: counts all the same

    // QWebSocket in Qt 6.4 takes 1013 for an invalid close code and reports 1002 instead, so
    // the refused client reads the close frame itself.
    auto *fourth = new RawClient;
    m_raws.append(fourth);
    QVERIFY(fourth->open(m_port));
    if (!fourth->isDisconnected())
        fourth->sendJson({{u"type"_s, u"hello"_s}, {u"nick"_s, u"fourth"_s}});
    QVERIFY(fourth->waitDisconnected());
    QCOMPARE(fourth->closeCode(), int(Protocol::CloseTryAgainLater));
    QCOMPARE(fourth->countOf(u"welcome"_s), 0);
    QVERIFY(!fourth->frames().isEmpty());
    QCOMPARE(fourth->frames().first().value(u"type"_s).toString(), u"error"_s);
    QCOMPARE(fourth->frames().first().value(u"code"_s).toString(), u"server_full"_s);

    // The refused connection did not disturb the others, and is not counted.
    QVERIFY(third->hello(u"third"_s));
    QVERIFY2(stillServing(first, {first, second, third}), qPrintable(m_failure));
    QTRY_COMPARE(m_server->manager()->connectionCount(), 3);

    // A freed place can be taken again.
    second->close();
    QTRY_COMPARE(m_server->manager()->connectionCount(), 2);
    CONNECT_AS(fifth, u"fifth"_s);
    QVERIFY2(stillServing(fifth, {first, third, fifth}), qPrintable(m_failure));
}

void TestConnectionManager::messageSizeLimit()
{
    ServerConfig config = fastConfig();
    config.maxMessageBytes = 1024;
    config.textLength = 5000;
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    const auto frameOfSize = [](int bytes) -> QString {
        const QString head = u"{\"type\":\"say\",\"room\":\"lobby\",\"text\":\""_s;
        const QString tail = u"\"}"_s;
        return head + QString(bytes - head.size() - tail.size(), u'z') + tail;
    };
    const QString largest = frameOfSize(1024);
    QCOMPARE(largest.toUtf8().size(), 1024);
    alice->sendRaw(largest);
    TAKE(message, bob, u"message"_s);
    QCOMPARE(message.value(u"text"_s).toString().toUtf8().size() + 39, 1024);

    alice->sendRaw(frameOfSize(1025));
    QVERIFY2(alice->waitClosed(), qPrintable(alice->describe()));
    QCOMPARE(alice->closeCode(), int(Protocol::CloseTooBig));

    TAKE(gone, bob, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"nick"_s) == u"alice"_s && f.value(u"event"_s) != u"joined"_s;
    });
    CONNECT_AS(carol, u"carol"_s);
    QVERIFY2(stillServing(carol, {bob, carol}), qPrintable(m_failure));
    QCOMPARE(bob->countOf(u"message"_s), 2);
    QCOMPARE(departuresSeen(bob, u"alice"_s, u"lobby"_s), 1);
}

void TestConnectionManager::fragmentedMessageSize_data()
{
    QTest::addColumn<int>("bytes");
    QTest::addColumn<bool>("accepted");

    QTest::newRow("1024 bytes in three frames") << 1024 << true;
    QTest::newRow("1025 bytes in three frames") << 1025 << false;
}

void TestConnectionManager::fragmentedMessageSize()
{
    QFETCH(int, bytes);
    QFETCH(bool, accepted);

    ServerConfig config = fastConfig();
    config.maxMessageBytes = 1024;
    config.textLength = 5000;
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);

    // The limit is on the message, not on each frame: no frame here is near it.
    auto *raw = new RawClient;
    m_raws.append(raw);
    QVERIFY(raw->open(m_port));
    QVERIFY(raw->hello(u"fragmenter"_s));
    const QByteArray head = R"({"type":"say","room":"lobby","text":")";
    const QByteArray message = head + QByteArray(bytes - head.size() - 2, 'f') + "\"}";
    QCOMPARE(message.size(), bytes);
    const int third = bytes / 3;
    raw->sendFrame(RawClient::Text, message.left(third), false);
    raw->sendFrame(RawClient::Continuation, message.mid(third, third), false);
    raw->sendFrame(RawClient::Continuation, message.mid(2 * third), true);

    if (accepted) {
        TAKE(said, alice, u"message"_s);
        QCOMPARE(said.value(u"from"_s).toString(), u"fragmenter"_s);
        QCOMPARE(said.value(u"text"_s).toString().size(), bytes - head.size() - 2);
        return;
    }
    QVERIFY(raw->waitDisconnected());
    QCOMPARE(raw->closeCode(), int(Protocol::CloseTooBig));
    TAKE(gone, alice, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"nick"_s) == u"fragmenter"_s && f.value(u"event"_s) != u"joined"_s;
    });
    QCOMPARE(alice->countOf(u"message"_s), 0);
    QVERIFY2(stillServing(alice, {alice}), qPrintable(m_failure));
}

// ---------------------------------------------------------------------------------------------
// Host actions

void TestConnectionManager::kick()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    for (TestClient *c : {alice, bob}) {
        c->send(request(u"join"_s, u"room"_s, u"games"_s));
        TAKE(j, c, u"joined"_s, inRoom(u"games"_s));
    }

    m_server->manager()->kick(u"BOB"_s, u"Too loud"_s);
    TAKE(kicked, bob, u"kicked"_s);
    QCOMPARE(kicked.value(u"reason"_s).toString(), u"Too loud"_s);
    QVERIFY(bob->waitClosed());
    QCOMPARE(bob->closeCode(), int(Protocol::CloseKicked));

    for (const QString &room : {u"lobby"_s, u"games"_s}) {
        TAKE(seen, alice, u"presence"_s, presence(u"bob"_s, u"kicked"_s, room));
        QCOMPARE(seen.value(u"reason"_s).toString(), u"Too loud"_s);
    }
    QVERIFY(alice->fence());
    QCOMPARE(departuresSeen(alice, u"bob"_s, u"lobby"_s), 1);
    QCOMPARE(departuresSeen(alice, u"bob"_s, u"games"_s), 1);

    // A kick is no ban.
    CONNECT_AS(back, u"bob"_s);
}

void TestConnectionManager::longReasonFitsCloseFrame_data()
{
    QTest::addColumn<bool>("ban");
    QTest::newRow("kick") << false;
    QTest::newRow("ban") << true;
}

void TestConnectionManager::longReasonFitsCloseFrame()
{
    QFETCH(bool, ban);

    QVERIFY(start());
    CONNECT_AS(bob, u"bob"_s);
    // 142 bytes in UTF-8: a cut at byte 123 would fall inside an e acute.
    const QString reason = u"ab"_s + QString(70, QChar(0xe9));
    if (ban)
        m_server->manager()->ban(u"bob"_s, {}, 0, reason);
    else
        m_server->manager()->kick(u"bob"_s, reason);

    TAKE(notice, bob, ban ? u"banned"_s : u"kicked"_s);
    QCOMPARE(notice.value(u"reason"_s).toString(), reason);
    QVERIFY(bob->waitClosed());
    QCOMPARE(bob->closeCode(), int(ban ? Protocol::CloseBanned : Protocol::CloseKicked));
    QCOMPARE(bob->closeReason(), u"ab"_s + QString(60, QChar(0xe9)));
}

void TestConnectionManager::banNickname()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    QSignalSpy bans(m_server->manager(), &ConnectionManager::bansChanged);

    m_server->manager()->ban(u"bob"_s, {}, 0, u"Spam"_s);
    TAKE(banned, bob, u"banned"_s);
    QCOMPARE(banned.value(u"reason"_s).toString(), u"Spam"_s);
    QVERIFY(!banned.contains(u"until"_s));
    QVERIFY(bob->waitClosed());
    QCOMPARE(bob->closeCode(), int(Protocol::CloseBanned));
    TAKE(seen, alice, u"presence"_s, presence(u"bob"_s, u"banned"_s));
    QCOMPARE(seen.value(u"reason"_s).toString(), u"Spam"_s);
    QVERIFY(bans.size() >= 1);

    // A ban with an end says when.
    m_server->manager()->ban(u"carol"_s, {}, 60, u"Cool off"_s);
    TAKE(timed, carol, u"banned"_s);
    QVERIFY2(isTimestamp(timed.value(u"until"_s)), qPrintable(frameText(timed)));
    const QDateTime until
        = QDateTime::fromString(timed.value(u"until"_s).toString(), Qt::ISODateWithMs);
    const qint64 seconds = QDateTime::currentDateTimeUtc().secsTo(until);
    QVERIFY2(seconds > 50 && seconds <= 61, qPrintable(timed.value(u"until"_s).toString()));
    QVERIFY(carol->waitClosed());
    QCOMPARE(carol->closeCode(), int(Protocol::CloseBanned));

    // The nickname stays banned, in any case.
    for (const QString &nick : {u"bob"_s, u"BOB"_s}) {
        TestClient *again = newClient();
        QVERIFY(again->open(m_port));
        again->send({{u"type"_s, u"hello"_s}, {u"nick"_s, nick}, {u"ref"_s, u"b"_s}});
        EXPECT_ERROR(again, u"banned"_s, u"b"_s);
        QVERIFY(again->waitClosed());
        QCOMPARE(again->closeCode(), int(Protocol::CloseBanned));
    }
    QVERIFY2(stillServing(alice, {alice}), qPrintable(m_failure));
    CONNECT_AS(dave, u"dave"_s);
}

void TestConnectionManager::banNicknameLookAlikes_data()
{
    QTest::addColumn<QString>("nick");
    QTest::addColumn<bool>("banned");

    QTest::newRow("Cyrillic a") << u"\u0430lice"_s << true;
    QTest::newRow("full-width") << u"\uff41\uff4c\uff49\uff43\uff45"_s << true;
    QTest::newRow("capital I for l") << u"aIice"_s << true;
    QTest::newRow("digit 1 for l") << u"a1ice"_s << true;
    QTest::newRow("another name") << u"alicia"_s << false;
}

void TestConnectionManager::banNicknameLookAlikes()
{
    QFETCH(QString, nick);
    QFETCH(bool, banned);

    QVERIFY(start());
    m_server->manager()->ban(u"alice"_s, {}, 0, u"Spam"_s);

    TestClient *hello = newClient();
    QVERIFY(hello->open(m_port));
    hello->send({{u"type"_s, u"hello"_s}, {u"nick"_s, nick}, {u"ref"_s, u"h"_s}});
    if (banned) {
        EXPECT_ERROR(hello, u"banned"_s, u"h"_s);
        QVERIFY(hello->waitClosed());
        QCOMPARE(hello->closeCode(), int(Protocol::CloseBanned));
    } else {
        TAKE(welcome, hello, u"welcome"_s);
        hello->close();
    }

    // Renaming to the look-alike is refused the same way.
    CONNECT_AS(bob, u"bob"_s);
    bob->send(request(u"nick"_s, u"nick"_s, nick, u"n"_s));
    if (banned) {
        EXPECT_ERROR(bob, u"banned"_s, u"n"_s);
        QVERIFY(bob->waitClosed());
        QCOMPARE(bob->closeCode(), int(Protocol::CloseBanned));
    } else {
        TAKE(renamed, bob, u"presence"_s, presence(nick, u"renamed"_s));
    }
}

void TestConnectionManager::banAddressAndUnban()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    QSignalSpy bans(m_server->manager(), &ConnectionManager::bansChanged);

    m_server->manager()->ban({}, u"127.0.0.1"_s, 0, u"Whole machine"_s);
    TAKE(banned, alice, u"banned"_s);
    QVERIFY(alice->waitClosed());
    QCOMPARE(alice->closeCode(), int(Protocol::CloseBanned));

    TestClient *again = newClient();
    QVERIFY(again->open(m_port));
    again->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"newname"_s}, {u"ref"_s, u"b"_s}});
    EXPECT_ERROR(again, u"banned"_s, u"b"_s);
    QVERIFY(again->waitClosed());
    QCOMPARE(again->closeCode(), int(Protocol::CloseBanned));

    QVERIFY(!bans.isEmpty());
    const QList<Ban> list = bans.last().at(0).value<QList<Ban>>();
    QCOMPARE(list.size(), 1);
    QCOMPARE(list.first().address, u"127.0.0.1"_s);
    QVERIFY(list.first().isPermanent());

    m_server->manager()->unban(list.first().id);
    QTRY_VERIFY(bans.last().at(0).value<QList<Ban>>().isEmpty());
    CONNECT_AS(welcomeBack, u"alice"_s);
}

void TestConnectionManager::mute()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    m_server->manager()->mute(u"bob"_s, 0);
    TAKE(muted, bob, u"muted"_s);
    QVERIFY(!muted.contains(u"until"_s));
    bob->send(say(u"lobby"_s, u"hi"_s, u"s"_s));
    bob->send(
        {{u"type"_s, u"dm"_s}, {u"to"_s, u"alice"_s}, {u"text"_s, u"hi"_s}, {u"ref"_s, u"d"_s}});
    bob->send(request(u"typing"_s, u"room"_s, u"lobby"_s, u"t"_s));
    EXPECT_ERROR(bob, u"muted"_s, u"s"_s);
    EXPECT_ERROR(bob, u"muted"_s, u"d"_s);
    EXPECT_ERROR(bob, u"muted"_s, u"t"_s);

    // Muted users still read, join and rename.
    QVERIFY2(stillServing(alice, {alice, bob}), qPrintable(m_failure));
    bob->send(request(u"join"_s, u"room"_s, u"games"_s, u"j"_s));
    TAKE(joined, bob, u"joined"_s, withRef(u"j"_s));
    QVERIFY(alice->fence());
    QCOMPARE(alice->countOf(u"dm"_s) + alice->countOf(u"typing"_s), 0);

    m_server->manager()->unmute(u"bob"_s);
    TAKE(unmuted, bob, u"unmuted"_s);
    QVERIFY2(stillServing(bob, {alice, bob}), qPrintable(m_failure));

    m_server->manager()->mute(u"bob"_s, 120);
    TAKE(timed, bob, u"muted"_s);
    QVERIFY2(isTimestamp(timed.value(u"until"_s)), qPrintable(frameText(timed)));
}

void TestConnectionManager::timedMuteAndBanEnd()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    m_server->manager()->mute(u"alice"_s, 1);
    TAKE(muted, alice, u"muted"_s);
    QVERIFY(isTimestamp(muted.value(u"until"_s)));
    alice->send(say(u"lobby"_s, u"too soon"_s, u"s"_s));
    EXPECT_ERROR(alice, u"muted"_s, u"s"_s);
    TAKE(unmuted, alice, u"unmuted"_s, 5000);
    QVERIFY2(stillServing(alice, {alice, bob}), qPrintable(m_failure));

    m_server->manager()->ban(u"bob"_s, {}, 1, u"A second"_s);
    TAKE(banned, bob, u"banned"_s);
    QVERIFY(bob->waitClosed());
    const QDateTime until
        = QDateTime::fromString(banned.value(u"until"_s).toString(), Qt::ISODateWithMs);
    QVERIFY2(until.isValid(), qPrintable(frameText(banned)));
    QTRY_VERIFY_WITH_TIMEOUT(QDateTime::currentDateTimeUtc() > until, 5000);
    CONNECT_AS(bobAgain, u"bob"_s);
}

void TestConnectionManager::announceAndTopic()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    alice->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(joined, alice, u"joined"_s, inRoom(u"games"_s));

    m_server->manager()->announce({}, u"Pizza is here"_s);
    for (TestClient *c : {alice, bob}) {
        TAKE(notice, c, u"notice"_s);
        QCOMPARE(notice.value(u"text"_s).toString(), u"Pizza is here"_s);
        QVERIFY(!notice.contains(u"room"_s));
        QVERIFY(isTimestamp(notice.value(u"ts"_s)));
    }

    m_server->manager()->announce(u"games"_s, u"Finals soon"_s);
    TAKE(roomNotice, alice, u"notice"_s);
    QCOMPARE(roomNotice.value(u"room"_s).toString(), u"games"_s);
    QCOMPARE(roomNotice.value(u"text"_s).toString(), u"Finals soon"_s);
    QVERIFY(bob->fence());
    QCOMPARE(bob->countOf(u"notice"_s), 1);

    m_server->manager()->setTopic(u"games"_s, u"Finals at 3pm"_s);
    TAKE(topic, alice, u"topic"_s);
    QCOMPARE(topic.value(u"room"_s).toString(), u"games"_s);
    QCOMPARE(topic.value(u"topic"_s).toString(), u"Finals at 3pm"_s);

    bob->send(request(u"rooms"_s, {}, {}, u"r"_s));
    TAKE(rooms, bob, u"rooms"_s, withRef(u"r"_s));
    QCOMPARE(roomEntry(rooms, u"games"_s).value(u"topic"_s).toString(), u"Finals at 3pm"_s);
    bob->send(request(u"join"_s, u"room"_s, u"games"_s));
    TAKE(bobJoined, bob, u"joined"_s, inRoom(u"games"_s));
    QCOMPARE(bobJoined.value(u"topic"_s).toString(), u"Finals at 3pm"_s);
}

void TestConnectionManager::hostActionOnNobody()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    QSignalSpy failures(m_server->manager(), &ConnectionManager::hostActionFailed);

    m_server->manager()->kick(u"nobody"_s, u"x"_s);
    QTRY_COMPARE(failures.size(), 1);
    m_server->manager()->mute(u"nobody"_s, 0);
    QTRY_COMPARE(failures.size(), 2);
    m_server->manager()->setTopic(u"Not A Room"_s, u"x"_s);
    QTRY_COMPARE(failures.size(), 3);
    QVERIFY2(stillServing(alice, {alice}), qPrintable(m_failure));
}

void TestConnectionManager::logLines()
{
    QVERIFY(start());
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    CONNECT_AS(erin, u"erin"_s);
    // Whole lines: no empty parentheses, no doubled spaces, no colon left dangling.
    const auto expect = [](const QString &line) {
        QTest::ignoreMessage(
            QtInfoMsg,
            QRegularExpression(u"^#\\d+ "_s + QRegularExpression::escape(line) + u"$"_s));
    };

    expect(u"bob@127.0.0.1 kicked by the host"_s);
    expect(u"bob@127.0.0.1 left the server (kicked)"_s);
    m_server->manager()->kick(u"bob"_s, {});
    QVERIFY(bob->waitClosed());

    expect(u"carol@127.0.0.1 banned by the host: Spam"_s);
    expect(u"carol@127.0.0.1 left the server (banned: Spam)"_s);
    m_server->manager()->ban(u"carol"_s, {}, 0, u"Spam"_s);
    QVERIFY(carol->waitClosed());

    // Refused hellos name the nickname that was tried.
    m_server->manager()->ban(u"dave"_s, {}, 0, {});
    expect(u"-@127.0.0.1 refused hello as \"dave\": banned"_s);
    expect(u"-@127.0.0.1 refused hello as \"Carol\": banned (Spam)"_s);
    for (const QString &nick : {u"dave"_s, u"Carol"_s}) {
        TestClient *again = newClient();
        QVERIFY(again->open(m_port));
        again->send({{u"type"_s, u"hello"_s}, {u"nick"_s, nick}});
        QVERIFY(again->waitClosed());
    }

    expect(u"erin@127.0.0.1 left the server (timeout)"_s);
    erin->abort();
    QTRY_COMPARE(m_server->manager()->connectionCount(), 0);
}

void TestConnectionManager::shutdown_data()
{
    QTest::addColumn<bool>("throughServer");

    QTest::newRow("manager shutdown") << false;
    QTest::newRow("server stop") << true;
}

void TestConnectionManager::shutdown()
{
    QFETCH(bool, throughServer);

    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    TestClient *unnamed = newClient();
    QVERIFY(unnamed->open(m_port));

    if (throughServer)
        m_server->stop(u"Closing time"_s);
    else
        m_server->manager()->shutdown(u"Closing time"_s);

    for (TestClient *c : {alice, bob}) {
        TAKE(notice, c, u"notice"_s);
        QCOMPARE(notice.value(u"text"_s).toString(), u"Closing time"_s);
        QVERIFY(isTimestamp(notice.value(u"ts"_s)));
        QVERIFY2(c->waitClosed(), qPrintable(c->describe()));
        QCOMPARE(c->closeCode(), int(Protocol::CloseGoingAway));
    }
    QVERIFY(unnamed->waitClosed());
    QCOMPARE(unnamed->closeCode(), int(Protocol::CloseGoingAway));
}

// A snapshot taken after the shutdown would show the host connections that are already gone.
void TestConnectionManager::noStatsAfterShutdown()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    ConnectionManager *manager = m_server->manager();
    QSignalSpy stats(manager, &ConnectionManager::statsUpdated);
    manager->setStatsInterval(5);
    QTRY_VERIFY(stats.size() >= 2);

    manager->shutdown(u"Closing time"_s);
    stats.clear();
    // Waits on purpose: what is checked is that nothing comes in forty stats intervals.
    QTest::qWait(200);
    QCOMPARE(stats.size(), 0);
    QVERIFY(alice->waitClosed());
}

// ---------------------------------------------------------------------------------------------
// Faults, order and load

void TestConnectionManager::binaryFrame()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(mallory, u"mallory"_s);
    QVERIFY2(stillServing(alice, {alice, bob}), qPrintable(m_failure));

    mallory->sendBinary(QByteArray("\x00\x01\x02", 3));
    QVERIFY(mallory->waitClosed());
    QCOMPARE(mallory->closeCode(), int(Protocol::CloseUnsupportedData));

    TAKE(gone, alice, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"nick"_s) == u"mallory"_s && f.value(u"event"_s) != u"joined"_s;
    });
    QVERIFY2(stillServing(bob, {alice, bob}), qPrintable(m_failure));
    QCOMPARE(departuresSeen(alice, u"mallory"_s, u"lobby"_s), 1);
}

void TestConnectionManager::invalidUtf8()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);

    auto *raw = new RawClient;
    m_raws.append(raw);
    QVERIFY(raw->open(m_port));
    QVERIFY(raw->hello(u"mallory"_s));
    TAKE(arrival, alice, u"presence"_s, presence(u"mallory"_s, u"joined"_s));

    raw->sendText(QByteArray("{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"\xc3\x28\"}"));
    QVERIFY(raw->waitDisconnected());
    QCOMPARE(raw->closeCode(), int(Protocol::CloseInvalidPayload));

    TAKE(gone, alice, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"nick"_s) == u"mallory"_s && f.value(u"event"_s) != u"joined"_s;
    });
    QVERIFY2(stillServing(alice, {alice, bob}), qPrintable(m_failure));
    QCOMPARE(departuresSeen(bob, u"mallory"_s, u"lobby"_s), 1);
    QCOMPARE(bob->countOf(u"message"_s), 1);
}

void TestConnectionManager::floodDoesNotDisturbOthers()
{
    ServerConfig config; // the default limits: burst 10, 5 a second, 20 drops
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(flooder, u"flooder"_s);

    for (int i = 0; i < 500; ++i)
        flooder->send(say(u"lobby"_s, u"flood %1"_s.arg(i)));
    QVERIFY(flooder->waitClosed());
    QCOMPARE(flooder->closeCode(), int(Protocol::CloseFlooding));

    TAKE(gone, alice, u"presence"_s, [](const QJsonObject &f) {
        return f.value(u"nick"_s) == u"flooder"_s && f.value(u"event"_s) != u"joined"_s;
    });
    QVERIFY2(stillServing(alice, {alice, bob}), qPrintable(m_failure));

    // Everything accepted from the flooder reached everyone, the flooder included.
    const int accepted = flooder->countOf(u"message"_s);
    QVERIFY2(accepted >= 10 && accepted < 500, qPrintable(QString::number(accepted)));
    QCOMPARE(alice->countOf(u"message"_s), accepted + 1);
    QCOMPARE(bob->countOf(u"message"_s), accepted + 1);
    QCOMPARE(flooder->messageIds(), alice->messageIds().mid(0, accepted));
    QCOMPARE(departuresSeen(bob, u"flooder"_s, u"lobby"_s), 1);
}

void TestConnectionManager::floodKickFollowsAcceptedMessages()
{
    // Stored messages wait for the store, which takes them once the pass that accepted them is
    // over; the kick for the flood comes in that same pass.
    QTemporaryDir data;
    QVERIFY(data.isValid());
    ServerConfig config; // burst 10, 20 drops
    config.storeEnabled = true;
    config.dataDir = data.path();
    QVERIFY(start(config));
    CONNECT_AS(bob, u"bob"_s);
    auto *flooder = new RawClient;
    m_raws.append(flooder);
    QVERIFY(flooder->open(m_port));
    QVERIFY(flooder->hello(u"flooder"_s));
    TAKE(arrival, bob, u"presence"_s, presence(u"flooder"_s, u"joined"_s));

    // In one write, so that the server reads them all in one pass.
    for (int i = 0; i < 40; ++i)
        flooder->sendJson(say(u"lobby"_s, u"f%1"_s.arg(i)));
    QVERIFY(flooder->waitDisconnected());
    TAKE(kicked, bob, u"presence"_s, presence(u"flooder"_s, u"kicked"_s));
    QVERIFY(bob->fence());

    // Everything accepted reached bob before the kick, and the flooder before its close.
    const QList<QJsonObject> &frames = bob->frames();
    const auto isFlooders = [](const QJsonObject &f) {
        return f.value(u"type"_s) == u"message"_s && f.value(u"from"_s) == u"flooder"_s;
    };
    const auto kick = std::find_if(frames.cbegin(), frames.cend(), [](const QJsonObject &f) {
        return f.value(u"type"_s) == u"presence"_s && f.value(u"event"_s) == u"kicked"_s;
    });
    QCOMPARE(std::count_if(frames.cbegin(), kick, isFlooders), 10);
    QCOMPARE(std::count_if(kick, frames.cend(), isFlooders), 0);
    QCOMPARE(flooder->countOf(u"message"_s), 10);
    QCOMPARE(flooder->closeCode(), int(Protocol::CloseFlooding));
}

void TestConnectionManager::slowReaderIsDropped()
{
    ServerConfig config = fastConfig();
    config.maxPendingBytes = 256 * 1024;
    config.textLength = 4000;
    QVERIFY(start(config));
    CONNECT_AS(sender, u"sender"_s);
    CONNECT_AS(fast1, u"fast1"_s);
    CONNECT_AS(fast2, u"fast2"_s);

    auto *slow = new RawClient;
    m_raws.append(slow);
    QVERIFY(slow->open(m_port, 4096));
    QVERIFY(slow->hello(u"slow"_s));
    TAKE(arrival, fast1, u"presence"_s, presence(u"slow"_s, u"joined"_s));
    slow->stopReading();

    // About 4.5 MB for each member: far past the cap and the kernel's buffers.
    // The kernel may hold up to its largest send buffer for the slow reader besides the cap; the
    // stream is twice that and more, sent in bursts of a thousand, each read by the others
    // before the next.
    const qint64 frameBytes = 1100;
    const qint64 heldAtMost = kernelSendBufferMax() + 2 * config.maxPendingBytes;
    const int count = int(2 * heldAtMost / frameBytes / 1000 + 1) * 1000;
    const QString filler(1000, u'w');
    for (int i = 0; i < count; ++i) {
        sender->send(say(u"lobby"_s, u"%1 "_s.arg(i) + filler));
        if ((i + 1) % 1000 != 0)
            continue;
        const QString last = u"%1 "_s.arg(i) + filler;
        for (TestClient *c : {sender, fast1, fast2}) {
            TAKE(lastOne, c, u"message"_s, textIs(last), 30'000);
        }
    }
    TAKE(timeout, fast1, u"presence"_s, presence(u"slow"_s, u"timeout"_s));

    // Dropped while the stream was still flowing: the server did not hold the whole stream for
    // it. Everyone else got every message, in order.
    const QList<QJsonObject> &frames = fast1->frames();
    const auto timeoutAt = std::find_if(frames.cbegin(), frames.cend(), [](const QJsonObject &f) {
        return f.value(u"type"_s) == u"presence"_s && f.value(u"nick"_s) == u"slow"_s
            && f.value(u"event"_s) == u"timeout"_s;
    });
    const int messagesBefore = int(std::count_if(frames.cbegin(), timeoutAt, [](const auto &f) {
        return f.value(u"type"_s) == u"message"_s;
    }));
    qInfo() << "slow reader dropped after" << messagesBefore << "of" << count << "messages";
    QVERIFY2(messagesBefore * frameBytes < heldAtMost + 1000 * frameBytes,
             qPrintable(QString::number(messagesBefore)));

    for (TestClient *c : {sender, fast1, fast2}) {
        QCOMPARE(c->countOf(u"message"_s), count);
        const QString gap = checkConsecutive(c->messageIds());
        QVERIFY2(gap.isEmpty(), qPrintable(gap));
        QCOMPARE(departuresSeen(c, u"slow"_s, u"lobby"_s), 1);
    }
    QTRY_COMPARE(m_server->manager()->connectionCount(), 3);
    QVERIFY2(stillServing(fast2, {sender, fast1, fast2}), qPrintable(m_failure));
}

void TestConnectionManager::pingerThatNeverReadsIsDropped()
{
    ServerConfig config = fastConfig();
    config.maxPendingBytes = 256 * 1024;
    QVERIFY(start(config));
    CONNECT_AS(watcher, u"watcher"_s);

    auto *pinger = new RawClient;
    m_raws.append(pinger);
    QVERIFY(pinger->open(m_port, 4096));
    QVERIFY(pinger->hello(u"pinger"_s));
    TAKE(arrival, watcher, u"presence"_s, presence(u"pinger"_s, u"joined"_s));
    pinger->stopReading();

    // Every ping is answered with a pong of 127 bytes, which the kernel and then the server
    // hold for a client that reads nothing; twice what both may hold is sent, a thousand at a
    // time, each thousand taken in by the server before the next.
    const qint64 heldAtMost = kernelSendBufferMax() + 2 * config.maxPendingBytes;
    const int bursts = int(2 * heldAtMost / 127 / 1000 + 1);
    const QByteArray payload(125, 'p');
    int sent = 0;
    for (int burst = 0; burst < bursts && !pinger->isDisconnected(); ++burst) {
        for (int i = 0; i < 1000; ++i)
            pinger->sendFrame(RawClient::Ping, payload);
        sent += 1000;
        QTRY_VERIFY_WITH_TIMEOUT(pinger->socket()->bytesToWrite() == 0 || pinger->isDisconnected(),
                                 10'000);
    }
    TAKE(timeout, watcher, u"presence"_s, presence(u"pinger"_s, u"timeout"_s), 10'000);
    qInfo() << "pinger dropped after at most" << sent << "pings";
    QTRY_COMPARE(m_server->manager()->connectionCount(), 1);
    QVERIFY2(stillServing(watcher, {watcher}), qPrintable(m_failure));
}

void TestConnectionManager::vanishingConnection()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    for (TestClient *c : {alice, bob, carol}) {
        c->send(request(u"join"_s, u"room"_s, u"games"_s));
        TAKE(j, c, u"joined"_s, inRoom(u"games"_s));
    }

    // Bob's connection goes away without a close frame while alice's stream is being delivered.
    const int count = 500;
    connect(carol, &TestClient::frameReceived, bob, [carol, bob] {
        if (carol->countOf(u"message"_s) == 100)
            bob->abort();
    });
    for (int i = 0; i < count; ++i)
        alice->send(say(i % 2 ? u"lobby"_s : u"games"_s, u"m%1"_s.arg(i)));

    TAKE(last, carol, u"message"_s, textIs(u"m%1"_s.arg(count - 1)), 30'000);
    TAKE(lobbyTimeout, carol, u"presence"_s, presence(u"bob"_s, u"timeout"_s));
    TAKE(gamesTimeout, carol, u"presence"_s, presence(u"bob"_s, u"timeout"_s, u"games"_s));
    QVERIFY(carol->fence());
    QVERIFY(alice->fence());
    for (TestClient *c : {alice, carol}) {
        QCOMPARE(departuresSeen(c, u"bob"_s, u"lobby"_s), 1);
        QCOMPARE(departuresSeen(c, u"bob"_s, u"games"_s), 1);
        QCOMPARE(c->countOf(u"message"_s), count);
        const QString gap = checkConsecutive(c->messageIds());
        QVERIFY2(gap.isEmpty(), qPrintable(gap));
    }
    QTRY_COMPARE(m_server->manager()->connectionCount(), 2);
    QVERIFY2(stillServing(carol, {alice, carol}), qPrintable(m_failure));
}

void TestConnectionManager::kickAndBanWhileFlowing()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    CONNECT_AS(dave, u"dave"_s);

    ConnectionManager *manager = m_server->manager();
    connect(carol, &TestClient::frameReceived, manager, [carol, manager] {
        const int seen = carol->countOf(u"message"_s);
        if (seen == 50)
            manager->kick(u"bob"_s, u"Off you go"_s);
        else if (seen == 100)
            manager->ban(u"dave"_s, {}, 0, u"Spam"_s);
    });
    const int count = 400;
    for (int i = 0; i < count; ++i)
        alice->send(say(u"lobby"_s, u"m%1"_s.arg(i)));

    TAKE(kicked, bob, u"kicked"_s, 20'000);
    QCOMPARE(kicked.value(u"reason"_s).toString(), u"Off you go"_s);
    QVERIFY(bob->waitClosed());
    QCOMPARE(bob->closeCode(), int(Protocol::CloseKicked));
    TAKE(banned, dave, u"banned"_s, 20'000);
    QCOMPARE(banned.value(u"reason"_s).toString(), u"Spam"_s);
    QVERIFY(dave->waitClosed());
    QCOMPARE(dave->closeCode(), int(Protocol::CloseBanned));

    TAKE(last, carol, u"message"_s, textIs(u"m%1"_s.arg(count - 1)), 30'000);
    TAKE(bobGone, carol, u"presence"_s, presence(u"bob"_s, u"kicked"_s));
    TAKE(daveGone, carol, u"presence"_s, presence(u"dave"_s, u"banned"_s));
    QVERIFY(carol->fence());
    for (TestClient *c : {alice, carol}) {
        QCOMPARE(c->countOf(u"message"_s), count);
        const QString gap = checkConsecutive(c->messageIds());
        QVERIFY2(gap.isEmpty(), qPrintable(gap));
        QCOMPARE(departuresSeen(c, u"bob"_s, u"lobby"_s), 1);
        QCOMPARE(departuresSeen(c, u"dave"_s, u"lobby"_s), 1);
    }
    // What the kicked and the banned received before leaving had no gaps either.
    for (TestClient *c : {bob, dave}) {
        const QString gap = checkConsecutive(c->messageIds());
        QVERIFY2(gap.isEmpty(), qPrintable(gap));
    }

    TestClient *again = newClient();
    QVERIFY(again->open(m_port));
    again->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"Dave"_s}, {u"ref"_s, u"b"_s}});
    EXPECT_ERROR(again, u"banned"_s, u"b"_s);
    QVERIFY(again->waitClosed());
    QCOMPARE(again->closeCode(), int(Protocol::CloseBanned));
    QVERIFY2(stillServing(carol, {alice, carol}), qPrintable(m_failure));
}

void TestConnectionManager::orderAndIds()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    CONNECT_AS(bob, u"bob"_s);
    CONNECT_AS(carol, u"carol"_s);
    CONNECT_AS(dave, u"dave"_s);

    // Two senders at once: every member sees one sequence of ids, each sender's in its order.
    const int count = 300;
    for (int i = 0; i < count; ++i) {
        alice->send(say(u"lobby"_s, u"a%1"_s.arg(i)));
        bob->send(say(u"lobby"_s, u"b%1"_s.arg(i)));
    }
    const QList<TestClient *> everyone {alice, bob, carol, dave};
    QVERIFY(TestClient::waitUntil(
        [&] {
            return std::all_of(everyone.cbegin(), everyone.cend(),
                               [](TestClient *c) { return c->countOf(u"message"_s) >= 2 * count; });
        },
        30'000));

    const QList<QJsonObject> reference = carol->framesOfType(u"message"_s);
    for (TestClient *c : everyone) {
        const QList<QJsonObject> messages = c->framesOfType(u"message"_s);
        QCOMPARE(messages.size(), 2 * count);
        const QString gap = checkConsecutive(c->messageIds());
        QVERIFY2(gap.isEmpty(), qPrintable(c->nick() + u": "_s + gap));
        int nextA = 0;
        int nextB = 0;
        for (int i = 0; i < messages.size(); ++i) {
            const QJsonObject &m = messages.at(i);
            QCOMPARE(m.value(u"id"_s).toInteger(), reference.at(i).value(u"id"_s).toInteger());
            QCOMPARE(m.value(u"text"_s).toString(), reference.at(i).value(u"text"_s).toString());
            const QString from = m.value(u"from"_s).toString();
            if (from == u"alice"_s)
                QCOMPARE(m.value(u"text"_s).toString(), u"a%1"_s.arg(nextA++));
            else
                QCOMPARE(m.value(u"text"_s).toString(), u"b%1"_s.arg(nextB++));
        }
    }
    QCOMPARE(m_server->manager()->lastMessageId(),
             quint64(reference.last().value(u"id"_s).toInteger()));
}

void TestConnectionManager::idsIncreaseAcrossRestarts()
{
    QVERIFY(start());
    CONNECT_AS(alice, u"alice"_s);
    alice->send(say(u"lobby"_s, u"first run"_s));
    TAKE(first, alice, u"message"_s);
    cleanup();
    // A restart takes longer than a millisecond; in one process it may not.
    const qint64 firstMs = QDateTime::fromString(first.value(u"ts"_s).toString(), Qt::ISODateWithMs)
                               .toMSecsSinceEpoch();
    QTRY_VERIFY(QDateTime::currentMSecsSinceEpoch() > firstMs + 1);

    QVERIFY(start());
    CONNECT_AS(bob, u"bob"_s);
    bob->send(say(u"lobby"_s, u"second run"_s));
    TAKE(second, bob, u"message"_s);
    QVERIFY2(second.value(u"id"_s).toInteger() > first.value(u"id"_s).toInteger(),
             qPrintable(frameText(first) + u" then "_s + frameText(second)));
}

void TestConnectionManager::liveness()
{
    ServerConfig config = fastConfig();
    config.pingIntervalMs = 100;
    config.idleTimeoutMs = 1000;
    QVERIFY(start(config));
    CONNECT_AS(alice, u"alice"_s);
    QElapsedTimer aliceAge;
    aliceAge.start();

    // This client never answers the server's pings.
    auto *mute = new RawClient;
    m_raws.append(mute);
    QVERIFY(mute->open(m_port));
    QVERIFY(mute->hello(u"silent"_s));
    QTRY_VERIFY_WITH_TIMEOUT(mute->pingsReceived() >= 2, 5000);

    TAKE(timeout, alice, u"presence"_s, presence(u"silent"_s, u"timeout"_s), 10'000);
    QVERIFY(mute->waitDisconnected());
    QCOMPARE(mute->closeCode(), int(Protocol::CloseGoingAway));
    QCOMPARE(departuresSeen(alice, u"silent"_s, u"lobby"_s), 1);

    // Alice answered every ping (QWebSocket does) and stays, though silent for longer.
    QVERIFY(aliceAge.elapsed() > config.idleTimeoutMs);
    QVERIFY(!alice->isClosed());
    QVERIFY(alice->fence());
    QTRY_COMPARE(m_server->manager()->connectionCount(), 1);
}

void TestConnectionManager::manyClientsAtOnce()
{
    QVERIFY(start());
    const int count = 500;
    QList<TestClient *> clients;
    for (int i = 0; i < count; ++i) {
        TestClient *c = newClient();
        c->ignore(u"presence"_s);
        c->socket()->open(QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(m_port)));
        clients.append(c);
    }
    QVERIFY(TestClient::waitUntil(
        [&] {
            return std::all_of(clients.cbegin(), clients.cend(),
                               [](TestClient *c) { return c->isOpen() || c->isClosed(); });
        },
        60'000));
    for (int i = 0; i < count; ++i) {
        QVERIFY2(clients.at(i)->isOpen(), qPrintable(clients.at(i)->describe()));
        clients.at(i)->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"user%1"_s.arg(i)}});
    }
    QVERIFY(TestClient::waitUntil(
        [&] {
            return std::all_of(clients.cbegin(), clients.cend(),
                               [](TestClient *c) { return c->countOf(u"welcome"_s) == 1; });
        },
        60'000));
    QCOMPARE(m_server->manager()->connectionCount(), count);

    // Everybody is in the lobby and hears a message.
    for (TestClient *c : clients)
        c->clear();
    clients.first()->send(say(u"lobby"_s, u"hello everyone"_s));
    QVERIFY(TestClient::waitUntil(
        [&] {
            return std::all_of(clients.cbegin(), clients.cend(),
                               [](TestClient *c) { return c->has(u"message"_s); });
        },
        30'000));
    clients.last()->send(request(u"who"_s, u"room"_s, u"lobby"_s, u"w"_s));
    TAKE(who, clients.last(), u"who"_s, withRef(u"w"_s));
    QCOMPARE(who.value(u"members"_s).toArray().size(), count);
}

QTEST_GUILESS_MAIN(TestConnectionManager)
#include "tst_connectionmanager.moc"
