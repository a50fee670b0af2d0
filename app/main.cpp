#include "chatserver.h"
#include "connectionmanager.h"
#ifdef LANCHAT_HAVE_EPOLL
#include "epolldispatcher.h"
#endif
#include "historyexport.h"
#include "logging.h"
#include "mainwindow.h"
#include "protocol.h"
#include "serverconfig.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QGuiApplication>
#include <QSettings>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <memory>

#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

int signalPipe[2] = {-1, -1};

void onUnixSignal(int signal)
{
    const char byte = char(signal);
    [[maybe_unused]] const auto written = ::write(signalPipe[0], &byte, 1);
}

// SIGINT and SIGTERM arrive through a socket pair so that the stop runs in the event loop,
// not inside the signal handler.
void watchStopSignals(QObject *context, std::function<void()> onStop)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(signalPipe[1], QSocketNotifier::Read, context);
    QObject::connect(notifier, &QSocketNotifier::activated, context, [notifier, onStop] {
        char byte = 0;
        [[maybe_unused]] const auto got = ::read(signalPipe[1], &byte, 1);
        notifier->setEnabled(false);
        onStop();
    });
    struct sigaction action = {};
    action.sa_handler = onUnixSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

struct Options
{
    bool headless = false;
    ServerConfig config;
};

void addOptions(QCommandLineParser &parser)
{
    parser.setApplicationDescription(
        u"Hosts a chat for the local network: people join from a browser."_s);
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOptions({
        {u"headless"_s, u"Run the server without a window."_s},
        {u"port"_s, u"Port for the browser client and WebSocket (default 8080)."_s, u"port"_s},
        {u"bind"_s, u"Address to listen on (default: every interface)."_s, u"address"_s},
        {u"name"_s, u"Server name shown to clients."_s, u"name"_s},
        {u"motd"_s, u"Welcome text shown to clients."_s, u"text"_s},
        {u"password"_s, u"Password clients need to join."_s, u"password"_s},
        {u"data-dir"_s, u"Where history and bans are kept."_s, u"dir"_s},
        {u"config"_s, u"Read settings from this INI file."_s, u"file"_s},
        {u"no-history"_s, u"Keep history and bans in memory only, not in the data folder."_s},
        {u"export"_s, u"Write the stored history to file (.csv or .json) and exit."_s, u"file"_s},
        {u"room"_s, u"With --export: only the messages of this room."_s, u"name"_s},
    });
}

// Settings come from the defaults, then the settings file, then the command line. An error in
// the options is the command line's; one in the settings goes to settingsProblem, which the
// window shows where the headless server stops.
bool readOptions(const QCommandLineParser &parser, ServerConfig &config, QString &error,
                 QString &settingsProblem)
{
    if (parser.isSet(u"config"_s)) {
        const QString file = parser.value(u"config"_s);
        const QFileInfo info(file);
        if (!info.isFile() || !info.isReadable()) {
            error = u"cannot read the settings file %1: %2"_s.arg(
                file, info.exists() ? u"not a readable file"_s : u"no such file"_s);
            return false;
        }
        QSettings settings(file, QSettings::IniFormat);
        if (settings.status() != QSettings::NoError) {
            error = u"cannot read the settings file %1"_s.arg(file);
            return false;
        }
        QString problem;
        if (!config.load(settings, &problem))
            settingsProblem = u"in %1: %2"_s.arg(file, problem);
    } else {
        QSettings settings;
        QString problem;
        if (!config.load(settings, &problem))
            settingsProblem = u"in the saved settings %1: %2"_s.arg(settings.fileName(), problem);
    }

    if (parser.isSet(u"port"_s)) {
        bool ok = false;
        const uint port = parser.value(u"port"_s).toUInt(&ok);
        if (!ok || port > 65535) {
            error = u"--port takes a number from 0 to 65535"_s;
            return false;
        }
        config.port = quint16(port);
    }
    if (parser.isSet(u"bind"_s)) {
        const QHostAddress address(parser.value(u"bind"_s));
        if (address.isNull()) {
            error = u"--bind takes an IP address, such as 0.0.0.0 or 192.168.1.20"_s;
            return false;
        }
        config.bindAddress = address;
    }
    if (parser.isSet(u"name"_s))
        config.name = parser.value(u"name"_s);
    if (parser.isSet(u"motd"_s))
        config.motd = parser.value(u"motd"_s);
    if (parser.isSet(u"password"_s))
        config.password = parser.value(u"password"_s);
    if (parser.isSet(u"data-dir"_s))
        config.dataDir = parser.value(u"data-dir"_s);
    if (parser.isSet(u"no-history"_s))
        config.storeEnabled = false;
    return true;
}

int runHeadless(QCoreApplication &app, const ServerConfig &config)
{
    ChatServer server(config);
    // Watched before the port is announced: a signal sent as soon as it is shown stops cleanly.
    watchStopSignals(&app, [&server] {
        qCInfo(lcServer) << "stopping on signal";
        server.stop(QCoreApplication::translate("main", "The host has stopped LanChat."));
        QCoreApplication::quit();
    });
    if (!server.listen()) {
        std::fprintf(stderr, "lanchat: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    qCInfo(lcServer).noquote() << "LanChat" << QCoreApplication::applicationVersion() << "serving"
                               << config.name << "on port" << server.port();
    const QStringList urls = server.joinUrls();
    for (const QString &url : urls)
        qCInfo(lcServer).noquote() << "join at" << url;
    return app.exec();
}

// What Qt says about its platform plugins while the application object is made: kept back, so
// that a display that cannot be used is reported in one line of ours, not in Qt's words.
struct PlatformMessage
{
    QtMsgType type;
    QByteArray category;
    QString text;
};
QtMessageHandler previousHandler = nullptr;
QList<PlatformMessage> platformMessages;

void holdPlatformMessage(QtMsgType type, const QMessageLogContext &context, const QString &text)
{
    if (context.category && qstrncmp(context.category, "qt.qpa", 6) == 0)
        platformMessages.append({type, context.category, text});
    else
        previousHandler(type, context, text);
}

// The platform plugins to try, ending in offscreen. Qt 6 tries a list like "xcb;offscreen" in
// order and takes the first that works, and the xcb and wayland plugins give up (rather than
// abort) when they cannot reach their display. So Qt itself answers whether the display can
// be used, with its authentication, remote and Wayland cases, which probing a socket would not.
QByteArray platformsToTry(bool *offscreenWanted)
{
    QByteArray requested = qgetenv("QT_QPA_PLATFORM");
    if (requested.isEmpty())
        requested = qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ? "wayland;xcb" : "xcb";
    *offscreenWanted = requested.split(';').contains("offscreen");
    return *offscreenWanted ? requested : requested + ";offscreen";
}

// The window needs the help, version and export options to have been recognised before any
// application object exists, which a parse of the raw arguments does.
bool needsNoWindow(int argc, char *argv[])
{
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    QCommandLineParser parser;
    addOptions(parser);
    if (!parser.parse(arguments))
        return false; // QApplication may still take Qt's own options; the real parse reports
    return parser.isSet(u"help"_s) || parser.isSet(u"help-all"_s) || parser.isSet(u"version"_s)
        || parser.isSet(u"export"_s) || parser.isSet(u"headless"_s);
}

} // namespace

int main(int argc, char *argv[])
{
    qSetMessagePattern(u"%{time yyyy-MM-dd hh:mm:ss.zzz} %{if-category}%{category}: %{endif}"
                       u"%{message}"_s);

    // GLib's main loop finds a socket notifier by walking a list, which makes every write to
    // one of thousands of clients cost time in proportion to their number; Qt's own event
    // dispatcher keeps them in a hash. Only an explicit setting in the environment wins.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");

    // Decide before any application object exists: QApplication aborts without a display.
    const bool hasDisplayVariable = qEnvironmentVariableIsSet("DISPLAY")
        || qEnvironmentVariableIsSet("WAYLAND_DISPLAY")
        || qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
    bool headless = needsNoWindow(argc, argv);
    QString noWindowReason;
    if (!headless && !hasDisplayVariable) {
        headless = true;
        noWindowReason = u"no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"_s;
    }

    std::unique_ptr<QCoreApplication> app;
    if (headless) {
#ifdef LANCHAT_HAVE_EPOLL
        // Without a window the server runs on this thread, not on ServerHost's: it gets the
        // same dispatcher, which can only be set before the application object exists.
        if (EpollDispatcher *dispatcher = EpollDispatcher::create())
            QCoreApplication::setEventDispatcher(dispatcher);
#endif
        app = std::make_unique<QCoreApplication>(argc, argv);
    } else {
        bool offscreenWanted = false;
        qputenv("QT_QPA_PLATFORM", platformsToTry(&offscreenWanted));
        previousHandler = qInstallMessageHandler(holdPlatformMessage);
        app = std::make_unique<QApplication>(argc, argv);
        qInstallMessageHandler(previousHandler);
        if (!offscreenWanted && QGuiApplication::platformName() == u"offscreen"_s) {
            // The server runs on in this application object; it never makes a window.
            headless = true;
            // Qt's first word on it is the cause; the rest repeats that the plugin failed.
            noWindowReason = u"the display cannot be used (%1)"_s.arg(
                platformMessages.isEmpty() ? u"no platform plugin could reach it"_s
                                           : platformMessages.constFirst().text);
        } else {
            for (const PlatformMessage &message : std::as_const(platformMessages)) {
                const QMessageLogContext context(nullptr, 0, nullptr, message.category.constData());
                previousHandler(message.type, context, message.text);
            }
        }
        platformMessages.clear();
    }
    QCoreApplication::setOrganizationName(u"LanChat"_s);
    QCoreApplication::setApplicationName(u"LanChat"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(LANCHAT_VERSION));

    QCommandLineParser parser;
    addOptions(parser);
    parser.process(*app);

    ServerConfig config;
    config.storeEnabled = true;
    QString error;
    QString settingsProblem;
    if (!readOptions(parser, config, error, settingsProblem)) {
        std::fprintf(stderr, "lanchat: %s\n", qPrintable(error));
        return 1;
    }

    if (parser.isSet(u"room"_s) && !parser.isSet(u"export"_s)) {
        std::fprintf(stderr, "lanchat: --room only goes with --export\n");
        return 1;
    }
    if (parser.isSet(u"export"_s)) {
        const QString file = parser.value(u"export"_s);
        const QString room = parser.value(u"room"_s);
        if (parser.isSet(u"room"_s) && !Protocol::isValidRoomName(room)) {
            std::fprintf(stderr,
                         "lanchat: --room takes a room name: 1 to 32 of a-z, 0-9, - and _\n");
            return 1;
        }
        qint64 count = 0;
        if (!HistoryExport::exportFile(config.dataDir, file, room, &error, &count)) {
            std::fprintf(stderr, "lanchat: %s\n", qPrintable(error));
            return 1;
        }
        if (count == 0 && !room.isEmpty()) {
            std::fprintf(stderr,
                         "lanchat: no messages are stored for a room %s; wrote an empty "
                         "export to %s\n",
                         qPrintable(room), qPrintable(file));
        } else {
            std::fprintf(stderr, "lanchat: wrote %lld messages to %s\n", count, qPrintable(file));
        }
        return 0;
    }

    if (headless) {
        if (settingsProblem.isEmpty())
            settingsProblem = config.validate();
        if (!settingsProblem.isEmpty()) {
            std::fprintf(stderr, "lanchat: %s\n", qPrintable(settingsProblem));
            return 1;
        }
        if (!noWindowReason.isEmpty())
            qCInfo(lcServer).noquote() << noWindowReason + u"; running without a window"_s;
        return runHeadless(*app, config);
    }

    // The window starts the server as it is made, so the signals are watched first; what they
    // bring is read in the event loop, when the window exists.
    MainWindow *shown = nullptr;
    watchStopSignals(app.get(), [&shown] {
        qCInfo(lcServer) << "stopping on signal";
        shown->quitWithoutAsking();
    });
    MainWindow window(config, settingsProblem);
    shown = &window;
    window.show();
    return app->exec();
}
