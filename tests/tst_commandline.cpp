#include "sqlitestore.h"
#include "testclient.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

#include <signal.h>

using namespace Qt::StringLiterals;

// The real lanchat program, as a host starts it: its options, its exit codes, what it prints.
class TestCommandLine : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();

    void informationNeedsNoDisplay_data();
    void informationNeedsNoDisplay();
    void windowWithoutDisplayRunsHeadless_data();
    void windowWithoutDisplayRunsHeadless();
    void invalidSettingsStopTheStart_data();
    void invalidSettingsStopTheStart();
    void windowStopsCleanlyOnSignal_data();
    void windowStopsCleanlyOnSignal();
    void busyPortIsOneLineAndNoFolder();
    void exportChecksTheRoom_data();
    void exportChecksTheRoom();
    void roomNeedsExport();

private:
    // An environment with no display at all and with settings kept in the test's folder.
    QProcessEnvironment environment() const;
    // A display name that nothing answers on.
    static QString unreachableDisplay();
    // Runs lanchat to its end; the exit code, or -1 when it crashed or did not end.
    int run(const QStringList &arguments, const QProcessEnvironment &environment, QString *output);
    // Starts lanchat and waits until it says which port it serves; 0 when it did not.
    quint16 launch(QProcess &process, const QStringList &arguments,
                   const QProcessEnvironment &environment);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestCommandLine::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

QProcessEnvironment TestCommandLine::environment() const
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        environment.remove(QString::fromLatin1(name));
    environment.insert(u"XDG_CONFIG_HOME"_s, m_dir->filePath(u"config"_s));
    environment.insert(u"XDG_DATA_HOME"_s, m_dir->filePath(u"share"_s));
    return environment;
}

QString TestCommandLine::unreachableDisplay()
{
    for (int number = 4000; number < 5000; ++number) {
        if (!QFile::exists(u"/tmp/.X11-unix/X%1"_s.arg(number)))
            return u":%1"_s.arg(number);
    }
    return {};
}

int TestCommandLine::run(const QStringList &arguments, const QProcessEnvironment &environment,
                         QString *output)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral(LANCHAT_BINARY), arguments);
    const bool finished = process.waitForFinished(30'000);
    *output = QString::fromLocal8Bit(process.readAll());
    if (!finished) {
        process.kill();
        process.waitForFinished();
        return -1;
    }
    return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
}

quint16 TestCommandLine::launch(QProcess &process, const QStringList &arguments,
                                const QProcessEnvironment &environment)
{
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral(LANCHAT_BINARY), arguments);
    if (!process.waitForStarted(10'000))
        return 0;
    static const QRegularExpression portLine(u"(?:on port |join at http://\\S+:)(\\d+)"_s);
    QByteArray seen;
    QRegularExpressionMatch match;
    const bool said = QTest::qWaitFor(
        [&] {
            if (!process.canReadLine() && !process.waitForReadyRead(100))
                return process.state() != QProcess::Running;
            seen += process.readAll();
            match = portLine.match(QString::fromLocal8Bit(seen));
            return match.hasMatch();
        },
        20'000);
    // What was read so far stays readable for the test.
    process.setProperty("seen", seen);
    return said && match.hasMatch() ? quint16(match.captured(1).toUInt()) : 0;
}

void TestCommandLine::informationNeedsNoDisplay_data()
{
    QTest::addColumn<QString>("option");
    QTest::addColumn<bool>("displaySet");
    QTest::addColumn<QString>("expected");
    QTest::newRow("help, display unreachable") << u"--help"_s << true << u"Usage:"_s;
    QTest::newRow("version, display unreachable") << u"--version"_s << true << u"LanChat"_s;
    QTest::newRow("help, no display") << u"--help"_s << false << u"Usage:"_s;
}

void TestCommandLine::informationNeedsNoDisplay()
{
    QFETCH(QString, option);
    QFETCH(bool, displaySet);
    QFETCH(QString, expected);
    QProcessEnvironment env = environment();
    if (displaySet)
        env.insert(u"DISPLAY"_s, unreachableDisplay());
    QString output;
    QCOMPARE(run({option}, env, &output), 0);
    QVERIFY2(output.contains(expected), qPrintable(output));
    QVERIFY2(!output.contains(u"platform"_s), qPrintable(output));
}

void TestCommandLine::windowWithoutDisplayRunsHeadless_data()
{
    QTest::addColumn<bool>("displaySet");
    QTest::newRow("display unreachable") << true;
    QTest::newRow("no display") << false;
}

void TestCommandLine::windowWithoutDisplayRunsHeadless()
{
    QFETCH(bool, displaySet);
    QProcessEnvironment env = environment();
    if (displaySet)
        env.insert(u"DISPLAY"_s, unreachableDisplay());
    QProcess process;
    const quint16 port = launch(process,
                                {u"--port"_s, u"0"_s, u"--bind"_s, u"127.0.0.1"_s, u"--data-dir"_s,
                                 m_dir->filePath(u"data"_s)},
                                env);
    const QString seen = QString::fromLocal8Bit(process.property("seen").toByteArray());
    QVERIFY2(port != 0, qPrintable(seen + QString::fromLocal8Bit(process.readAll())));
    QCOMPARE(seen.count(u"running without a window"_s), 1);
    QCOMPARE(seen.contains(u"cannot be used"_s), displaySet);

    process.terminate();
    QVERIFY(process.waitForFinished(10'000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
}

void TestCommandLine::invalidSettingsStopTheStart_data()
{
    QTest::addColumn<QByteArray>("settings");
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("named");

    const QStringList none;
    QTest::newRow("port too high") << QByteArray("port=70000") << none << u"port=70000"_s;
    QTest::newRow("port not a number") << QByteArray("port=abc") << none << u"port=abc"_s;
    QTest::newRow("bind not an address") << QByteArray("bind=nothost") << none << u"bind"_s;
    QTest::newRow("no connections")
        << QByteArray("maxConnections=-1") << none << u"maxConnections"_s;
    QTest::newRow("empty nicknames") << QByteArray("nickLength=0") << none << u"nickLength"_s;
    QTest::newRow("no room for a message")
        << QByteArray("maxMessageBytes=0") << none << u"maxMessageBytes"_s;
    QTest::newRow("message too small for the text")
        << QByteArray("maxMessageBytes=2000") << none << u"maxMessageBytes"_s;
    QTest::newRow("negative text") << QByteArray("textLength=-5") << none << u"textLength"_s;
    QTest::newRow("no burst") << QByteArray("burst=0") << none << u"burst"_s;
    QTest::newRow("rate not a number")
        << QByteArray("messagesPerSecond=abc") << none << u"messagesPerSecond"_s;
    QTest::newRow("store not a switch")
        << QByteArray("storeEnabled=maybe") << none << u"storeEnabled"_s;
    QTest::newRow("empty name") << QByteArray() << QStringList {u"--name"_s, QString()}
                                << u"name"_s;
    QTest::newRow("no such settings file")
        << QByteArray() << QStringList {u"--config"_s, u"/nonexistent/lanchat.ini"_s}
        << u"/nonexistent/lanchat.ini"_s;
}

void TestCommandLine::invalidSettingsStopTheStart()
{
    QFETCH(QByteArray, settings);
    QFETCH(QStringList, options);
    QFETCH(QString, named);

    const QString file = m_dir->filePath(u"lanchat.ini"_s);
    {
        QFile ini(file);
        QVERIFY(ini.open(QIODevice::WriteOnly));
        ini.write("[General]\n" + settings + '\n');
    }
    QStringList arguments {u"--headless"_s,
                           u"--bind"_s,
                           u"127.0.0.1"_s,
                           u"--port"_s,
                           u"0"_s,
                           u"--data-dir"_s,
                           m_dir->filePath(u"data"_s)};
    if (!options.contains(u"--config"_s))
        arguments << u"--config"_s << file;
    arguments << options;

    QString output;
    QCOMPARE(run(arguments, environment(), &output), 1);
    QVERIFY2(output.contains(named), qPrintable(output));
    QCOMPARE(output.trimmed().count(u'\n'), 0);
}

void TestCommandLine::windowStopsCleanlyOnSignal_data()
{
    QTest::addColumn<int>("signal");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void TestCommandLine::windowStopsCleanlyOnSignal()
{
    QFETCH(int, signal);
    QProcessEnvironment env = environment();
    env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
    QProcess process;
    const quint16 port = launch(
        process, {u"--port"_s, u"0"_s, u"--bind"_s, u"127.0.0.1"_s, u"--no-history"_s}, env);
    const QString seen = QString::fromLocal8Bit(process.property("seen").toByteArray());
    QVERIFY2(port != 0, qPrintable(seen + QString::fromLocal8Bit(process.readAll())));
    QVERIFY2(!seen.contains(u"without a window"_s), qPrintable(seen));

    TestClient alice;
    QVERIFY(alice.open(port));
    QVERIFY2(alice.hello(u"alice"_s), qPrintable(alice.describe()));
    ::kill(pid_t(process.processId()), signal);
    const bool noticed = !alice.take(u"notice"_s, 10'000).isEmpty();
    QVERIFY2(noticed,
             qPrintable(alice.describe() + u"; lanchat said: "_s
                        + QString::fromLocal8Bit(process.readAll())));
    QVERIFY(alice.waitClosed(10'000));
    QCOMPARE(alice.closeCode(), 1001);
    QVERIFY(process.waitForFinished(10'000));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
}

void TestCommandLine::busyPortIsOneLineAndNoFolder()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const QString dataDir = m_dir->filePath(u"data"_s);
    QString output;
    QCOMPARE(run({u"--headless"_s, u"--bind"_s, u"127.0.0.1"_s, u"--port"_s,
                  QString::number(squatter.serverPort()), u"--data-dir"_s, dataDir},
                 environment(), &output),
             1);
    QVERIFY2(output.contains(QString::number(squatter.serverPort())), qPrintable(output));
    QCOMPARE(output.trimmed().count(u'\n'), 0);
    QVERIFY(!QFileInfo::exists(dataDir));
}

void TestCommandLine::exportChecksTheRoom_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("said");
    QTest::newRow("not a room name")
        << QStringList {u"--room"_s, u"BAD ROOM"_s} << 1 << u"room name"_s;
    QTest::newRow("unknown room") << QStringList {u"--room"_s, u"nosuchroom"_s} << 0
                                  << u"no messages are stored for a room nosuchroom"_s;
    QTest::newRow("every room") << QStringList() << 0 << u"wrote 0 messages"_s;
}

void TestCommandLine::exportChecksTheRoom()
{
    QFETCH(QStringList, options);
    QFETCH(int, exitCode);
    QFETCH(QString, said);
    const QString dataDir = m_dir->filePath(u"data"_s);
    {
        SqliteStore store;
        QVERIFY2(store.open(SqliteStore::defaultFilePath(dataDir)),
                 qPrintable(store.errorString()));
    }
    const QString file = m_dir->filePath(u"export.json"_s);
    QString output;
    QCOMPARE(run(QStringList {u"--export"_s, file, u"--data-dir"_s, dataDir} + options,
                 environment(), &output),
             exitCode);
    QVERIFY2(output.contains(said), qPrintable(output));
    QCOMPARE(QFileInfo::exists(file), exitCode == 0);
}

void TestCommandLine::roomNeedsExport()
{
    QString output;
    QCOMPARE(run({u"--headless"_s, u"--room"_s, u"lobby"_s}, environment(), &output), 1);
    QVERIFY2(output.contains(u"--export"_s), qPrintable(output));
}

QTEST_GUILESS_MAIN(TestCommandLine)

#include "tst_commandline.moc"
