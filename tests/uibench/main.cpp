// The window's worst stalls while the server it runs carries many clients and a steady flood of
// messages, or while its models take a synthetic load of 10,000 connections. Prints figures;
// never passes or fails on them. With --screenshot it instead stages a small party and saves a
// picture of the window.

#include "announcedialog.h"
#include "chatload.h"
#include "connectionmodel.h"
#include "kickdialog.h"
#include "logmodel.h"
#include "mainwindow.h"
#include "stallmeter.h"
#include "threadhandover.h"
#include "topicdialog.h"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QRandomGenerator>
#include <QTableView>
#include <QThread>
#include <QTimer>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace {

void print(const QString &line)
{
    std::fprintf(stdout, "%s\n", qPrintable(line));
    std::fflush(stdout);
}

// Runs the event loop for a while: the window goes on working meanwhile.
void runFor(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

// Runs the event loop until done() or the time is up; false on time out.
template<typename Done> bool runUntil(Done done, int timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if (clock.elapsed() > timeoutMs)
            return false;
        runFor(20);
    }
    return true;
}

struct LoadThread
{
    QThread thread;
    ChatLoad *load = nullptr;

    explicit LoadThread(const ChatLoad::Options &options)
    {
        thread.setObjectName(u"chat-load"_s);
        load = new ChatLoad(options);
        load->moveToThread(&thread);
        // Deleted by the thread as it finishes: a queued deleteLater() could still be waiting
        // when quit() ends the loop, and the load would leak.
        QObject::connect(&thread, &QThread::finished, load, &QObject::deleteLater);
        thread.start();
        LanChat::handOver();
        QMetaObject::invokeMethod(load, &ChatLoad::start, Qt::QueuedConnection);
    }
    ~LoadThread()
    {
        LanChat::invokeOnThread(
            load, [l = load] { l->stop(); }, Qt::BlockingQueuedConnection);
        thread.quit();
        thread.wait();
    }
    void setRate(double rate)
    {
        LanChat::invokeOnThread(load, [l = load, rate] { l->setRate(rate); });
    }
};

ServerConfig benchConfig(int clients)
{
    ServerConfig config;
    config.bindAddress = QHostAddress::LocalHost;
    config.port = 0;
    config.name = u"LanChat benchmark"_s;
    config.maxConnections = std::max(config.maxConnections, clients + 100);
    config.maxConnectionsPerAddress = std::max(config.maxConnectionsPerAddress, clients + 100);
    return config;
}

int runServerBench(int clients, int roomCount, double rate, double lobbyShare, int seconds)
{
    MainWindow window(benchConfig(clients));
    window.show();
    if (!window.isServerRunning()) {
        print(u"the server did not start"_s);
        return 1;
    }

    StallMeter meter;
    meter.start();

    ChatLoad::Options options;
    options.port = window.serverPort();
    options.clients = clients;
    for (int i = 0; i < roomCount; ++i)
        options.rooms.append(u"room-%1"_s.arg(i + 1));
    options.lobbyShare = lobbyShare;
    LoadThread load(options);
    bool ready = false;
    QObject::connect(load.load, &ChatLoad::ready, &meter, [&ready] { ready = true; });

    QElapsedTimer clock;
    clock.start();
    if (!runUntil([&] { return ready; }, 120'000)) {
        print(u"only some clients joined within 120 s; connections now: %1"_s.arg(
            window.counters().connections));
        return 1;
    }
    print(u"joining: %1 clients in %2 ms"_s.arg(clients).arg(clock.elapsed()));
    print(u"  window while they joined: "_s + meter.summary());

    load.setRate(rate);
    runFor(2000); // let the flood settle before measuring
    meter.reset();
    double messages = 0;
    double deliveries = 0;
    int samples = 0;
    clock.restart();
    while (clock.elapsed() < seconds * 1000) {
        runFor(1000);
        const ServerCounters c = window.counters();
        messages += c.messagesPerSecond;
        deliveries += c.deliveriesPerSecond;
        ++samples;
    }
    meter.stop();
    print(u"flood: %1 s, asked %2 msg/s; server measured %3 msg/s, %4 deliveries/s"_s.arg(seconds)
              .arg(rate)
              .arg(samples ? messages / samples : 0, 0, 'f', 0)
              .arg(samples ? deliveries / samples : 0, 0, 'f', 0));
    print(u"  window during the flood: "_s + meter.summary());
    print(
        u"  rows: %1 connections, %2 log lines (cap %3)"_s.arg(window.connectionModel()->rowCount())
            .arg(window.logModel()->rowCount())
            .arg(window.logModel()->capacity()));
    // The server says goodbye before the clients go, so nothing writes to a vanished socket.
    window.stopServer();
    return 0;
}

int runSyntheticBench(int connections, int logRate, int seconds)
{
    MainWindow window(benchConfig(0));
    window.show();
    window.stopServer();

    // What the server would send: a snapshot a quarter second, the busy clients' figures moving.
    QList<ClientStats> snapshot;
    snapshot.reserve(connections);
    for (int i = 0; i < connections; ++i) {
        ClientStats s;
        s.id = quint64(i + 1);
        s.nick = u"user%1"_s.arg(i + 1, 5, 10, QLatin1Char('0'));
        s.address = QHostAddress(quint32(0x0a000000 + i / 250));
        s.port = quint16(30000 + i % 30000);
        s.rooms = {u"lobby"_s, u"room-%1"_s.arg(i % 50 + 1)};
        s.connectedAt = QDateTime::currentDateTimeUtc();
        s.rttMs = 1 + i % 40;
        s.state = u"online"_s;
        snapshot.append(s);
    }
    QRandomGenerator random(7);
    quint64 nextId = quint64(connections + 1);
    QTimer stats;
    stats.setInterval(250);
    QObject::connect(&stats, &QTimer::timeout, &window, [&] {
        // A tenth of them talk; a few leave and as many arrive.
        for (int i = 0; i < connections / 10; ++i) {
            ClientStats &s = snapshot[int(random.bounded(connections))];
            s.messagesIn += 1;
            s.bytesIn += 80;
            s.messagesOut += 50;
            s.bytesOut += 4000;
        }
        for (int i = 0; i < 5 && !snapshot.isEmpty(); ++i) {
            const int at = int(random.bounded(int(snapshot.size())));
            // One leaves, and someone new arrives in its place in the server's list.
            ClientStats &slot = snapshot[at];
            slot.id = nextId++;
            slot.connectedAt = QDateTime::currentDateTimeUtc();
        }
        window.connectionModel()->applySnapshot(snapshot);
    });
    QTimer logTimer;
    logTimer.setInterval(20);
    quint64 logged = 0;
    QObject::connect(&logTimer, &QTimer::timeout, &window, [&] {
        const QDateTime now = QDateTime::currentDateTimeUtc();
        for (int i = 0; i < logRate / 50; ++i) {
            LogEntry e;
            e.kind = LogEntry::Message;
            e.time = now;
            e.room = u"room-%1"_s.arg(logged % 50 + 1);
            e.sender = u"user%1"_s.arg(logged % quint64(connections) + 1, 5, 10, QLatin1Char('0'));
            e.text = u"synthetic message %1"_s.arg(++logged);
            window.logModel()->append(e);
        }
    });

    StallMeter meter;
    meter.start();
    stats.start();
    logTimer.start();
    runFor(2000);
    meter.reset();
    runFor(seconds * 1000);
    meter.stop();
    print(u"synthetic: %1 connections (snapshot every 250 ms), %2 log lines/s for %3 s"_s
              .arg(connections)
              .arg(logRate)
              .arg(seconds));
    print(u"  window: "_s + meter.summary());
    print(u"  rows: %1 connections, %2 log lines"_s.arg(window.connectionModel()->rowCount())
              .arg(window.logModel()->rowCount()));
    return 0;
}

template<typename Dialog> Dialog *findDialog(MainWindow &window)
{
    Dialog *dialog = nullptr;
    runUntil([&] { return (dialog = window.findChild<Dialog *>()) != nullptr; }, 5000);
    return dialog;
}

int runScreenshot(const QString &path, int seconds)
{
    ServerConfig config = benchConfig(20);
    config.name = u"Friday LAN party"_s;
    config.motd = u"Welcome! Pizza at 8."_s;
    MainWindow window(config);
    window.show();
    if (!window.isServerRunning()) {
        print(u"the server did not start"_s);
        return 1;
    }

    ChatLoad::Options options;
    options.port = window.serverPort();
    options.nicks = {u"alice"_s, u"bob"_s,   u"carol"_s, u"dave"_s, u"erin"_s,    u"frank"_s,
                     u"grace"_s, u"heidi"_s, u"ivan"_s,  u"judy"_s, u"mallory"_s, u"oscar"_s};
    options.clients = int(options.nicks.size());
    options.rooms = {u"lobby"_s, u"games"_s, u"kitchen"_s};
    options.directShare = 0.1;
    options.lobbyShare = 0.4;
    options.lines = {
        u"anyone up for another round?"_s,
        u"the server in the corner is running hot again"_s,
        u"who brought the extra HDMI cable?"_s,
        u"gg, that was close"_s,
        u"pizza's here, come grab a slice"_s,
        u"I'll host the next match, joining in 2"_s,
        u"can someone pass me the wifi password?"_s,
        u"it's on the whiteboard by the door"_s,
        u"<b>bold</b> doesn't work here, it's plain text :)"_s,
        u"brb, coffee"_s,
        u"map vote: dust or nuke?"_s,
        u"nuke, obviously"_s,
        u"my ping is 3 ms, no excuses tonight"_s,
        u"who left their charger in the kitchen?"_s,
        u"the projector is free if anyone wants it"_s,
    };
    LoadThread load(options);
    bool ready = false;
    QObject::connect(load.load, &ChatLoad::ready, &window, [&ready] { ready = true; });
    if (!runUntil([&] { return ready; }, 30'000)) {
        print(u"the clients did not all join"_s);
        return 1;
    }
    load.setRate(3);
    // The host's actions come near the end, so that they are still in view in the log.
    runFor(std::max(0, seconds * 1000 - 14'000));

    // The host at work, all through the window: a topic, an announcement, a mute and a kick.
    window.findChild<QAction *>(u"topicAction"_s)->trigger();
    if (auto *topic = findDialog<TopicDialog>(window)) {
        topic->setRoom(u"games"_s);
        topic->setTopic(u"Finals at 9 pm, bracket on the wall"_s);
        topic->accept();
    }
    runFor(4000);
    window.findChild<QAction *>(u"announceAction"_s)->trigger();
    if (auto *announce = findDialog<AnnounceDialog>(window)) {
        announce->setText(u"Pizza is here! Kitchen, now."_s);
        announce->accept();
    }
    runFor(4000);
    if (window.selectConnection(u"mallory"_s))
        window.findChild<QAction *>(u"muteAction"_s)->trigger();
    runFor(3000);
    if (window.selectConnection(u"oscar"_s)) {
        window.findChild<QAction *>(u"kickAction"_s)->trigger();
        if (auto *kick = findDialog<KickDialog>(window)) {
            kick->setReason(u"Time to sleep, see you tomorrow"_s);
            kick->accept();
        }
    }
    runFor(2500);

    window.selectConnection(u"erin"_s);
    runFor(600);
    const QPixmap picture = window.grab();
    if (!picture.save(path)) {
        print(u"could not write %1"_s.arg(path));
        return 1;
    }
    print(u"saved %1 (%2x%3)"_s.arg(path).arg(picture.width()).arg(picture.height()));
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(u"LanChat"_s);
    QCoreApplication::setApplicationName(u"lanchat-uibench"_s);

    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"How long the LanChat window's event loop stalls under load. Prints figures."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"clients"_s, u"Chat clients (default 1000)."_s, u"n"_s, u"1000"_s},
        {u"rooms"_s, u"Rooms the clients spread over (default 10)."_s, u"n"_s, u"10"_s},
        {u"rate"_s, u"Messages per second, all clients together (default 300)."_s, u"n"_s,
         u"300"_s},
        {u"lobby-share"_s, u"Share of messages said in the lobby, to everyone (default 0.05)."_s,
         u"x"_s, u"0.05"_s},
        {u"seconds"_s, u"How long to measure (default 20)."_s, u"s"_s, u"20"_s},
        {u"synthetic"_s, u"Instead of a server, feed the window's models this many connections."_s,
         u"n"_s},
        {u"log-rate"_s, u"With --synthetic: log lines per second (default 10000)."_s, u"n"_s,
         u"10000"_s},
        {u"screenshot"_s, u"Stage a dozen chatting clients and save the window to this file."_s,
         u"file"_s},
    });
    parser.process(app);

    const int seconds = std::max(1, parser.value(u"seconds"_s).toInt());
    if (parser.isSet(u"screenshot"_s))
        return runScreenshot(parser.value(u"screenshot"_s), seconds);
    if (parser.isSet(u"synthetic"_s)) {
        return runSyntheticBench(std::max(1, parser.value(u"synthetic"_s).toInt()),
                                 std::max(50, parser.value(u"log-rate"_s).toInt()), seconds);
    }
    return runServerBench(std::max(1, parser.value(u"clients"_s).toInt()),
                          std::max(0, parser.value(u"rooms"_s).toInt()),
                          parser.value(u"rate"_s).toDouble(),
                          parser.value(u"lobby-share"_s).toDouble(), seconds);
}
