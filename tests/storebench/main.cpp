// Figures for the history store: how many messages a second it takes in groups of various sizes,
// how fast it answers the queries the server and the History window make, and what the store
// costs the whole server (the same load with the store on and off, in one run).
//
//     lanchat-storebench [--messages N] [--senders S] [--per-sender M] [--dir DIR]
//
// It prints figures and never judges them.

#include "connectionmanager.h"
#include "serverconfig.h"
#include "serverhost.h"
#include "sqlitestore.h"
#include "testclient.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QTemporaryDir>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace {

QString sampleText(quint64 id)
{
    // Roughly the size of a chat line, with words the search below can find.
    static const QStringList words
        = {u"pizza"_s, u"meeting"_s, u"Grüße"_s, u"привет"_s,  u"テスト"_s,
           u"later"_s, u"🎉"_s,       u"build"_s, u"release"_s, u"lunch"_s};
    return u"message %1 about %2 and %3, see you %4"_s.arg(id).arg(
        words.at(int(id % 10)), words.at(int((id / 10) % 10)), words.at(int((id / 100) % 10)));
}

void printRow(const char *label, double value, const char *unit)
{
    std::printf("  %-44s %12.0f %s\n", label, value, unit);
}

// Appends `total` messages in groups of `groupSize` to a fresh store; returns messages a second.
double appendRate(const QString &dir, int groupSize, int total)
{
    const QString path = QDir(dir).filePath(u"append-%1.sqlite"_s.arg(groupSize));
    SqliteStore store;
    if (!store.open(path)) {
        std::fprintf(stderr, "%s\n", qPrintable(store.errorString()));
        return 0;
    }
    QList<ChatMessage> group;
    group.reserve(groupSize);
    quint64 id = 0;
    QElapsedTimer timer;
    timer.start();
    while (id < quint64(total)) {
        group.clear();
        for (int i = 0; i < groupSize && id < quint64(total); ++i) {
            ChatMessage message;
            message.id = ++id;
            message.room = id % 7 == 0 ? QString() : u"lobby"_s;
            message.to = message.room.isEmpty() ? u"bob"_s : QString();
            message.from = u"alice"_s;
            message.text = sampleText(id);
            message.ts = QDateTime::currentDateTimeUtc();
            group.append(message);
        }
        if (!store.appendMessages(group)) {
            std::fprintf(stderr, "%s\n", qPrintable(store.errorString()));
            return 0;
        }
    }
    return total * 1000.0 / std::max<qint64>(1, timer.elapsed());
}

void storeFigures(const QString &dir, int messages)
{
    std::printf("Store: grouped appends (WAL, synchronous=NORMAL), %d messages each\n", messages);
    for (int groupSize : {1, 10, 100, 1000}) {
        // One message per transaction is the slow case; fewer of them keep the run short.
        const int total = groupSize == 1 ? std::min(messages, 5000) : messages;
        const double rate = appendRate(dir, groupSize, total);
        const QByteArray label = "groups of " + QByteArray::number(groupSize);
        printRow(label.constData(), rate, "messages/s");
    }

    const QString path = QDir(dir).filePath(u"append-1000.sqlite"_s);
    {
        // The server does this in slices of a few hundred while the traffic pauses.
        SqliteStore indexer;
        if (!indexer.open(path))
            return;
        QElapsedTimer indexing;
        indexing.start();
        qint64 indexed = 0;
        for (int slice = 0; (slice = indexer.indexPending(200)) > 0;)
            indexed += slice;
        printRow("full-text indexing, slices of 200",
                 indexed * 1000.0 / std::max<qint64>(1, indexing.elapsed()), "messages/s");
    }
    QElapsedTimer opening;
    opening.start();
    {
        // What a server start costs: the quick check, the prune, the last id.
        SqliteStore server;
        if (!server.open(path))
            return;
    }
    const double openMs = opening.nsecsElapsed() / 1e6;
    SqliteStore store;
    if (!store.open(path, SqliteStore::Mode::ReadOnly))
        return;
    std::printf("Queries on %lld stored messages (%.1f MB file)\n", store.messageCount(),
                QFileInfo(path).size() / 1e6);
    printRow("opening for writing (quick check, prune)", openMs * 1000, "µs");
    const int rounds = 200;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < rounds; ++i)
        store.roomHistory(u"lobby"_s, 50);
    printRow("roomHistory(lobby, 50)", timer.nsecsElapsed() / 1e3 / rounds, "µs");

    struct Search
    {
        const char *label;
        QString query;
    };
    const QList<Search> searches = {
        {"search(\"pizza\"), 500 newest", u"pizza"_s},
        {"search(\"привет lunch\"), 500 newest", u"привет lunch"_s},
        {"search(\"message 12345\") (rare)", u"message 12345"_s},
        {"search(\"🎉\") (short: scans)", u"🎉"_s},
    };
    for (const Search &search : searches) {
        timer.restart();
        int found = 0;
        for (int i = 0; i < 20; ++i)
            found = int(store.search(search.query, 500).size());
        const QByteArray label = QByteArray(search.label) + " [" + QByteArray::number(found) + "]";
        printRow(label.constData(), timer.nsecsElapsed() / 1e3 / 20, "µs");
    }
    timer.restart();
    qint64 visited = 0;
    store.forEachMessage({}, [&](const ChatMessage &) {
        ++visited;
        return true;
    });
    printRow("reading every message (export)",
             visited * 1000.0 / std::max<qint64>(1, timer.elapsed()), "messages/s");
}

struct ServerRun
{
    double seconds = 0;
    qint64 accepted = 0;
    qint64 received = 0;
    bool ok = false;
};

// Senders each fire perSender messages into lobby as fast as they can; a listener in lobby
// counts them. The server runs on its own thread, as in the window.
ServerRun serverRun(bool store, const QString &dataDir, int senders, int perSender)
{
    ServerRun run;
    ServerConfig config;
    config.storeEnabled = store;
    config.dataDir = dataDir;
    config.bindAddress = QHostAddress::LocalHost;
    config.port = 0;
    config.messagesPerSecond = 1'000'000;
    config.burst = 1'000'000;
    config.floodDrops = 1'000'000;
    config.maxPendingBytes = 512 * 1024 * 1024;

    ServerHost host;
    quint16 port = 0;
    QObject::connect(
        &host, &ServerHost::started, &host,
        [&port](ConnectionManager *, quint16 listening, const QStringList &) { port = listening; });
    QObject::connect(&host, &ServerHost::startFailed, &host, [](const QString &error) {
        std::fprintf(stderr, "server: %s\n", qPrintable(error));
    });
    host.start(config);
    if (port == 0)
        return run;

    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i <= senders; ++i) {
        auto client = std::make_unique<TestClient>();
        client->ignore(u"message"_s);
        client->ignore(u"presence"_s);
        if (!client->open(port) || !client->hello(u"user%1"_s.arg(i)))
            return run;
        clients.push_back(std::move(client));
    }
    TestClient *listener = clients.front().get();

    const qint64 total = qint64(senders) * perSender;
    QElapsedTimer timer;
    timer.start();
    for (int n = 0; n < perSender; ++n) {
        for (int s = 1; s <= senders; ++s) {
            clients.at(s)->send({{u"type"_s, u"say"_s},
                                 {u"room"_s, u"lobby"_s},
                                 {u"text"_s, sampleText(quint64(n))}});
        }
    }
    run.ok
        = TestClient::waitUntil([&] { return listener->countOf(u"message"_s) >= total; }, 300'000);
    run.seconds = timer.nsecsElapsed() / 1e9;
    run.accepted = total;
    run.received = listener->countOf(u"message"_s);
    clients.clear();
    host.stop();
    return run;
}

void serverFigures(const QString &dir, int senders, int perSender)
{
    std::printf("Server: %d senders x %d messages into lobby, %d members, one process\n", senders,
                perSender, senders + 1);
    for (bool store : {false, true, false, true}) {
        const QString dataDir
            = QDir(dir).filePath(u"server-%1"_s.arg(QDateTime::currentMSecsSinceEpoch()));
        const ServerRun run = serverRun(store, dataDir, senders, perSender);
        if (!run.ok) {
            std::printf("  store %-3s: did not finish (%lld of %lld arrived)\n",
                        store ? "on" : "off", run.received, run.accepted);
            continue;
        }
        std::printf("  store %-3s: %8.0f messages/s accepted and delivered, %9.0f frames/s out "
                    "(%.2f s)\n",
                    store ? "on" : "off", run.accepted / run.seconds,
                    run.accepted * (senders + 1) / run.seconds, run.seconds);
    }
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    // Every client joining and every store opening would drown the figures.
    QLoggingCategory::setFilterRules(u"lanchat.*.info=false"_s);

    QCommandLineParser parser;
    parser.setApplicationDescription(u"Measures the LanChat history store."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"messages"_s, u"Messages per append run (default 100000)."_s, u"n"_s, u"100000"_s},
        {u"senders"_s, u"Sending clients in the server run (default 4)."_s, u"n"_s, u"4"_s},
        {u"per-sender"_s, u"Messages each sender sends (default 5000)."_s, u"n"_s, u"5000"_s},
        {u"dir"_s, u"Where the databases go (default: a temporary folder)."_s, u"dir"_s},
    });
    parser.process(app);

    QTemporaryDir temporary;
    const QString dir = parser.isSet(u"dir"_s) ? parser.value(u"dir"_s) : temporary.path();
    QDir().mkpath(dir);

    storeFigures(dir, parser.value(u"messages"_s).toInt());
    serverFigures(dir, parser.value(u"senders"_s).toInt(), parser.value(u"per-sender"_s).toInt());
    return 0;
}
