#include "chatserver.h"
#include "connectionmanager.h"
#include "historyexport.h"
#include "sqlitestore.h"
#include "testclient.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QProcess>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace Qt::StringLiterals;

namespace {

QJsonObject say(const QString &room, const QString &text)
{
    return {{u"type"_s, u"say"_s}, {u"room"_s, room}, {u"text"_s, text}};
}

QJsonObject dm(const QString &to, const QString &text)
{
    return {{u"type"_s, u"dm"_s}, {u"to"_s, to}, {u"text"_s, text}};
}

QJsonObject join(const QString &room)
{
    return {{u"type"_s, u"join"_s}, {u"room"_s, room}};
}

TestClient::Match textIs(const QString &text)
{
    return [text](const QJsonObject &frame) { return frame.value(u"text"_s).toString() == text; };
}

TestClient::Match roomIs(const QString &room)
{
    return [room](const QJsonObject &frame) { return frame.value(u"room"_s).toString() == room; };
}

// The joined for lobby that hello() already waited for.
QJsonObject lobbyJoined(const TestClient *client)
{
    for (const QJsonObject &frame : client->frames()) {
        if (frame.value(u"type"_s) == u"joined"_s && frame.value(u"room"_s) == u"lobby"_s)
            return frame;
    }
    return {};
}

QList<qint64> historyIds(const QJsonObject &joined)
{
    QList<qint64> ids;
    const QJsonArray history = joined.value(u"history"_s).toArray();
    for (const QJsonValue &message : history)
        ids << message.toObject().value(u"id"_s).toInteger();
    return ids;
}

} // namespace

class TestPersistence : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void historyAndIdsContinueAcrossRestart();
    void bansHoldAcrossRestart();
    void hostActionsAreRecorded();
    void clearedHistoryLeavesTheRunningServer();
    void damagedStoreStopsTheStart();
    void withoutStoreNothingIsWritten();
    void killedServerLosesNothingReceived();

private:
    ServerConfig config() const;
    bool start();
    void stop();
    TestClient *connectAs(const QString &nick);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    QList<TestClient *> m_clients;
    QString m_failure;
};

void TestPersistence::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestPersistence::cleanup()
{
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
}

ServerConfig TestPersistence::config() const
{
    ServerConfig config;
    config.storeEnabled = true;
    config.dataDir = m_dir->path();
    config.messagesPerSecond = 1'000'000;
    config.burst = 1'000'000;
    config.floodDrops = 1'000'000;
    return config;
}

bool TestPersistence::start()
{
    m_server = std::make_unique<ChatServer>(config());
    if (!m_server->listen(QHostAddress::LocalHost, 0)) {
        m_failure = m_server->errorString();
        return false;
    }
    return true;
}

void TestPersistence::stop()
{
    m_server->stop(u"restarting"_s, 0);
    qDeleteAll(m_clients);
    m_clients.clear();
    m_server.reset();
}

TestClient *TestPersistence::connectAs(const QString &nick)
{
    auto *client = new TestClient;
    m_clients.append(client);
    if (!client->open(m_server->port()) || !client->hello(nick)) {
        m_failure = u"%1 could not join: %2"_s.arg(nick, client->describe());
        return nullptr;
    }
    return client;
}

void TestPersistence::historyAndIdsContinueAcrossRestart()
{
    QVERIFY2(start(), qPrintable(m_failure));
    TestClient *alice = connectAs(u"alice"_s);
    QVERIFY2(alice, qPrintable(m_failure));
    TestClient *bob = connectAs(u"bob"_s);
    QVERIFY2(bob, qPrintable(m_failure));

    const QStringList texts
        = {u"first"_s, u"Grüße, \"quoted\"\nand a new line"_s, u"🎉 日本語"_s};
    QList<QJsonObject> sent;
    for (const QString &text : texts) {
        alice->send(say(u"lobby"_s, text));
        sent << bob->take(u"message"_s, textIs(text));
        QVERIFY2(!sent.last().isEmpty(), qPrintable(bob->describe()));
    }
    alice->send(join(u"games"_s));
    QVERIFY(!alice->take(u"joined"_s, roomIs(u"games"_s)).isEmpty());
    alice->send(say(u"games"_s, u"in games"_s));
    const QJsonObject games = alice->take(u"message"_s, textIs(u"in games"_s));
    QVERIFY(!games.isEmpty());
    alice->send(dm(u"bob"_s, u"psst"_s));
    const QJsonObject direct = bob->take(u"dm"_s);
    QVERIFY(!direct.isEmpty());
    const qint64 lastId = direct.value(u"id"_s).toInteger();
    stop();

    QVERIFY2(start(), qPrintable(m_failure));
    TestClient *carol = connectAs(u"carol"_s);
    QVERIFY2(carol, qPrintable(m_failure));
    const QJsonObject lobby = lobbyJoined(carol);
    const QJsonArray history = lobby.value(u"history"_s).toArray();
    QCOMPARE(history.size(), sent.size());
    for (qsizetype i = 0; i < sent.size(); ++i) {
        const QJsonObject stored = history.at(i).toObject();
        for (const QString &field : {u"id"_s, u"room"_s, u"from"_s, u"text"_s, u"ts"_s})
            QCOMPARE(stored.value(field), sent.at(i).value(field));
    }

    carol->send(join(u"games"_s));
    const QJsonObject joinedGames = carol->take(u"joined"_s, roomIs(u"games"_s));
    QCOMPARE(historyIds(joinedGames), (QList<qint64> {games.value(u"id"_s).toInteger()}));

    carol->send(say(u"lobby"_s, u"after the restart"_s));
    const QJsonObject next = carol->take(u"message"_s, textIs(u"after the restart"_s));
    QCOMPARE(next.value(u"id"_s).toInteger(), lastId + 1);
}

void TestPersistence::bansHoldAcrossRestart()
{
    QVERIFY2(start(), qPrintable(m_failure));
    TestClient *mallory = connectAs(u"mallory"_s);
    QVERIFY2(mallory, qPrintable(m_failure));
    QSignalSpy bans(m_server->manager(), &ConnectionManager::bansChanged);
    m_server->manager()->ban(u"mallory"_s, {}, 0, u"spam"_s);
    QVERIFY(mallory->waitClosed());
    QCOMPARE(mallory->closeCode(), 4003);
    QTRY_VERIFY(!bans.isEmpty());
    const QList<Ban> list = bans.last().at(0).value<QList<Ban>>();
    QCOMPARE(list.size(), 1);
    const quint64 banId = list.first().id;
    stop();

    QVERIFY2(start(), qPrintable(m_failure));
    auto *again = new TestClient;
    m_clients.append(again);
    QVERIFY(again->open(m_server->port()));
    again->send({{u"type"_s, u"hello"_s}, {u"nick"_s, u"Mallory"_s}});
    const QJsonObject error = again->take(u"error"_s);
    QCOMPARE(error.value(u"code"_s).toString(), u"banned"_s);
    QVERIFY(again->waitClosed());
    QCOMPARE(again->closeCode(), 4003);

    m_server->manager()->unban(banId);
    stop();

    QVERIFY2(start(), qPrintable(m_failure));
    QVERIFY2(connectAs(u"mallory"_s), qPrintable(m_failure));
}

void TestPersistence::hostActionsAreRecorded()
{
    QVERIFY2(start(), qPrintable(m_failure));
    TestClient *eve = connectAs(u"eve"_s);
    QVERIFY2(eve, qPrintable(m_failure));
    m_server->manager()->announce({}, u"Pizza is here"_s);
    QVERIFY(!eve->take(u"notice"_s, textIs(u"Pizza is here"_s)).isEmpty());
    m_server->manager()->kick(u"eve"_s, u"be nice"_s);
    QVERIFY(eve->waitClosed());
    stop();

    SqliteStore store;
    QVERIFY(store.open(SqliteStore::defaultFilePath(m_dir->path()), SqliteStore::Mode::ReadOnly));
    const QList<ModerationAction> record = store.moderationRecord(10);
    QCOMPARE(record.size(), 2);
    QCOMPARE(record.at(0).kind, ModerationAction::Kick);
    QCOMPARE(record.at(0).target, u"eve"_s);
    QCOMPARE(record.at(0).reason, u"be nice"_s);
    QCOMPARE(record.at(1).kind, ModerationAction::Announce);
    QCOMPARE(record.at(1).reason, u"Pizza is here"_s);
}

void TestPersistence::clearedHistoryLeavesTheRunningServer()
{
    QVERIFY2(start(), qPrintable(m_failure));
    TestClient *alice = connectAs(u"alice"_s);
    QVERIFY2(alice, qPrintable(m_failure));
    alice->send(say(u"lobby"_s, u"before the clear"_s));
    const QJsonObject before = alice->take(u"message"_s);
    QVERIFY(!before.isEmpty());

    // What the History window does while the server runs.
    QString error;
    QVERIFY2(SqliteStore::clearHistory(SqliteStore::defaultFilePath(m_dir->path()), &error),
             qPrintable(error));
    m_server->manager()->reloadHistory();

    TestClient *bob = connectAs(u"bob"_s);
    QVERIFY2(bob, qPrintable(m_failure));
    QVERIFY(historyIds(lobbyJoined(bob)).isEmpty());
    bob->send(say(u"lobby"_s, u"after the clear"_s));
    const QJsonObject after = bob->take(u"message"_s, textIs(u"after the clear"_s));
    QCOMPARE(after.value(u"id"_s).toInteger(), before.value(u"id"_s).toInteger() + 1);
}

void TestPersistence::damagedStoreStopsTheStart()
{
    QFile file(SqliteStore::defaultFilePath(m_dir->path()));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray(8192, '\x42'));
    file.close();

    m_server = std::make_unique<ChatServer>(config());
    QVERIFY(!m_server->listen(QHostAddress::LocalHost, 0));
    QVERIFY(!m_server->isListening());
    QVERIFY2(m_server->errorString().contains(file.fileName()),
             qPrintable(m_server->errorString()));
    QVERIFY2(m_server->errorString().contains(u"damaged"_s), qPrintable(m_server->errorString()));
}

void TestPersistence::withoutStoreNothingIsWritten()
{
    ServerConfig memoryOnly = config();
    memoryOnly.storeEnabled = false;
    m_server = std::make_unique<ChatServer>(memoryOnly);
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
    TestClient *alice = connectAs(u"alice"_s);
    QVERIFY2(alice, qPrintable(m_failure));
    alice->send(say(u"lobby"_s, u"hello"_s));
    QVERIFY(!alice->take(u"message"_s).isEmpty());
    QVERIFY(QDir(m_dir->path()).isEmpty());
}

// The real program, killed without warning while messages flow: everything a client received
// must be on disk, and the next id must follow the last one stored.
void TestPersistence::killedServerLosesNothingReceived()
{
    const QString settingsFile = m_dir->filePath(u"lanchat.ini"_s);
    {
        QFile ini(settingsFile);
        QVERIFY(ini.open(QIODevice::WriteOnly));
        ini.write("messagesPerSecond=1000000\nburst=1000000\nfloodDrops=1000000\n");
    }
    const QString dataDir = m_dir->filePath(u"data"_s);
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(u"XDG_CONFIG_HOME"_s, m_dir->filePath(u"config"_s));
    environment.insert(u"XDG_DATA_HOME"_s, m_dir->filePath(u"share"_s));

    // Starts the program on a port that was free a moment ago; waits until it accepts clients.
    auto launch = [&](QProcess &process, quint16 *port) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            QTcpServer probe;
            if (!probe.listen(QHostAddress::LocalHost, 0))
                return false;
            *port = probe.serverPort();
            probe.close();
            process.setProcessEnvironment(environment);
            process.setProcessChannelMode(QProcess::MergedChannels);
            process.start(QStringLiteral(LANCHAT_BINARY),
                          {u"--headless"_s, u"--port"_s, QString::number(*port), u"--bind"_s,
                           u"127.0.0.1"_s, u"--data-dir"_s, dataDir, u"--config"_s, settingsFile});
            if (!process.waitForStarted(10'000))
                return false;
            // Listening once a connection to the port succeeds, or gone if it exits.
            const bool listening = TestClient::waitUntil(
                [&] {
                    if (process.state() != QProcess::Running)
                        return true;
                    QTcpSocket socket;
                    socket.connectToHost(QHostAddress::LocalHost, *port);
                    return socket.waitForConnected(200);
                },
                10'000);
            if (listening && process.state() == QProcess::Running)
                return true;
            qInfo() << "attempt" << attempt << "failed:" << process.readAll();
            process.kill();
            process.waitForFinished(5000);
        }
        return false;
    };

    QProcess first;
    quint16 port = 0;
    QVERIFY2(launch(first, &port), "the lanchat program did not start");

    QList<TestClient *> clients;
    for (const QString &nick : {u"alice"_s, u"bob"_s, u"carol"_s}) {
        auto *client = new TestClient;
        m_clients.append(client);
        QVERIFY(client->open(port));
        QVERIFY2(client->hello(nick), qPrintable(client->describe()));
        clients << client;
    }
    TestClient *alice = clients.at(0);
    TestClient *bob = clients.at(1);
    TestClient *carol = clients.at(2);

    // Far more than the server can store and send before the kill below.
    constexpr int Rounds = 10'000;
    for (int i = 0; i < Rounds; ++i) {
        alice->send(say(u"lobby"_s, u"lobby %1, \"ünïcödé\" 🎉"_s.arg(i)));
        bob->send(dm(u"carol"_s, u"direct %1"_s.arg(i)));
    }
    // Kill as soon as some messages are through, while the rest are still flowing.
    QVERIFY2(
        TestClient::waitUntil([&] { return carol->messageIds(u"lobby"_s).size() >= 200; }, 30'000),
        qPrintable(carol->describe()));
    ::kill(pid_t(first.processId()), SIGKILL);
    QVERIFY(first.waitForFinished(10'000));
    QCOMPARE(first.exitStatus(), QProcess::CrashExit);
    TestClient::waitUntil([&] { return alice->isClosed() && bob->isClosed() && carol->isClosed(); },
                          5000);

    // Everything any client received, by id.
    QHash<qint64, QJsonObject> received;
    for (TestClient *client : std::as_const(clients)) {
        for (const QJsonObject &frame : client->frames()) {
            const QString type = frame.value(u"type"_s).toString();
            if (type == u"message"_s || type == u"dm"_s)
                received.insert(frame.value(u"id"_s).toInteger(), frame);
        }
    }
    QVERIFY(received.size() >= 200);
    qInfo() << "clients received" << received.size() << "distinct messages before the kill";
    if (received.size() == 2 * Rounds)
        qWarning("every message arrived before the kill; the check below proves less");

    // Read what is on disk with the program's own export, as a host would.
    const QString exportFile = m_dir->filePath(u"after-kill.json"_s);
    QProcess exporter;
    exporter.setProcessEnvironment(environment);
    exporter.setProcessChannelMode(QProcess::MergedChannels);
    exporter.start(QStringLiteral(LANCHAT_BINARY),
                   {u"--export"_s, exportFile, u"--data-dir"_s, dataDir});
    QVERIFY(exporter.waitForFinished(30'000));
    QVERIFY2(exporter.exitCode() == 0, exporter.readAll().constData());
    QFile file(exportFile);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QList<ChatMessage> stored;
    QString error;
    QVERIFY2(HistoryExport::fromJson(file.readAll(), &stored, &error), qPrintable(error));
    QHash<qint64, ChatMessage> byId;
    qint64 highest = 0;
    for (const ChatMessage &message : std::as_const(stored)) {
        byId.insert(qint64(message.id), message);
        highest = std::max(highest, qint64(message.id));
    }
    qInfo() << "the store holds" << stored.size() << "messages";

    for (auto it = received.cbegin(); it != received.cend(); ++it) {
        QVERIFY2(byId.contains(it.key()), qPrintable(u"message %1 was lost"_s.arg(it.key())));
        const ChatMessage &message = byId.value(it.key());
        const QJsonObject &frame = it.value();
        QCOMPARE(message.text, frame.value(u"text"_s).toString());
        QCOMPARE(message.from, frame.value(u"from"_s).toString());
        QCOMPARE(message.room, frame.value(u"room"_s).toString());
        QCOMPARE(message.to, frame.value(u"to"_s).toString());
        QCOMPARE(message.ts.toString(Qt::ISODateWithMs), frame.value(u"ts"_s).toString());
    }

    // The restarted program carries on from the last stored id.
    QProcess second;
    QVERIFY2(launch(second, &port), "the lanchat program did not start again");
    auto *dave = new TestClient;
    m_clients.append(dave);
    QVERIFY(dave->open(port));
    QVERIFY2(dave->hello(u"dave"_s), qPrintable(dave->describe()));
    const QList<qint64> history = historyIds(lobbyJoined(dave));
    QVERIFY(!history.isEmpty());
    for (qint64 id : history)
        QVERIFY(byId.contains(id));
    dave->send(say(u"lobby"_s, u"back again"_s));
    const QJsonObject next = dave->take(u"message"_s, textIs(u"back again"_s), 15'000);
    QVERIFY2(!next.isEmpty(), qPrintable(dave->describe() + QString::fromUtf8(second.readAll())));
    QCOMPARE(next.value(u"id"_s).toInteger(), highest + 1);

    second.terminate();
    QVERIFY(second.waitForFinished(10'000));
}

QTEST_GUILESS_MAIN(TestPersistence)

#include "tst_persistence.moc"
