// A chat server for the browser tests, played as the host from standard input. The real window
// and the headless program cannot be driven from outside, so the end-to-end tests start this
// instead: the same ChatServer, on 127.0.0.1, with one command a line.
//
//   kick NICK REASON...          ban NICK REASON...          mute NICK SECONDS
//   notice TEXT...               topic ROOM TEXT...          restart        quit
//
// It prints "listening on http://127.0.0.1:PORT/" once it listens, and "ok COMMAND" once a
// command has been carried out (or "error ..." when it could not be).

#include "chatserver.h"
#include "chattypes.h"
#include "connectionmanager.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>

#include <cstdio>
#include <memory>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

void say(const QString &line)
{
    std::fprintf(stdout, "%s\n", qPrintable(line));
    std::fflush(stdout);
}

class TestHost : public QObject
{
public:
    TestHost(const ServerConfig &config, quint16 port)
        : m_config(config)
        , m_port(port)
        , m_stdin(STDIN_FILENO, QSocketNotifier::Read)
    {
        connect(&m_stdin, &QSocketNotifier::activated, this, &TestHost::onStdinReadable);
    }

    bool start()
    {
        m_server = std::make_unique<ChatServer>(m_config);
        if (!m_server->listen(QHostAddress::LocalHost, m_port)) {
            say(u"error "_s + m_server->errorString());
            return false;
        }
        m_port = m_server->port();
        connect(m_server->manager(), &ConnectionManager::hostActionFailed, this,
                [](const QString &message) { say(u"error "_s + message); });
        say(u"listening on http://127.0.0.1:%1/"_s.arg(m_port));
        return true;
    }

private:
    void onStdinReadable()
    {
        char chunk[4096];
        const ssize_t count = ::read(STDIN_FILENO, chunk, sizeof chunk);
        if (count <= 0) {
            // The test runner went away: so do we.
            m_stdin.setEnabled(false);
            QCoreApplication::quit();
            return;
        }
        m_pending.append(chunk, qsizetype(count));
        qsizetype end;
        while ((end = m_pending.indexOf('\n')) >= 0) {
            const QString line = QString::fromUtf8(m_pending.left(end)).trimmed();
            m_pending.remove(0, end + 1);
            if (!line.isEmpty())
                run(line);
        }
    }

    void run(const QString &line)
    {
        const QString command = line.section(u' ', 0, 0);
        const QString first = line.section(u' ', 1, 1);
        const QString rest = line.section(u' ', 2);
        const QString all = line.section(u' ', 1);
        ConnectionManager *manager = m_server->manager();

        if (command == u"kick"_s) {
            manager->kick(first, rest);
        } else if (command == u"ban"_s) {
            manager->ban(first, {}, 0, rest);
        } else if (command == u"mute"_s) {
            manager->mute(first, rest.toInt());
        } else if (command == u"notice"_s) {
            manager->announce({}, all);
        } else if (command == u"topic"_s) {
            manager->setTopic(first, rest);
        } else if (command == u"restart"_s) {
            m_server->stop(u"The host is restarting the chat."_s, 500);
            m_server.reset();
            if (!start())
                QCoreApplication::exit(1);
        } else if (command == u"quit"_s) {
            m_server->stop(u"The host has stopped the chat."_s, 500);
            say(u"ok quit"_s);
            QCoreApplication::quit();
            return;
        } else {
            say(u"error unknown command "_s + command);
            return;
        }
        say(u"ok "_s + command);
    }

    ServerConfig m_config;
    quint16 m_port;
    std::unique_ptr<ChatServer> m_server;
    QSocketNotifier m_stdin;
    QByteArray m_pending;
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    LanChat::registerMetaTypes();

    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption portOption(u"port"_s, u"Port to listen on (0: any)."_s, u"port"_s,
                                        u"0"_s);
    const QCommandLineOption nameOption(u"name"_s, u"Server name."_s, u"name"_s);
    const QCommandLineOption motdOption(u"motd"_s, u"Message of the day."_s, u"text"_s);
    const QCommandLineOption passwordOption(u"password"_s, u"Server password."_s, u"password"_s);
    parser.addOptions({portOption, nameOption, motdOption, passwordOption});
    parser.process(app);

    ServerConfig config;
    config.storeEnabled = false;
    if (parser.isSet(nameOption))
        config.name = parser.value(nameOption);
    config.motd = parser.value(motdOption);
    config.password = parser.value(passwordOption);

    TestHost host(config, quint16(parser.value(portOption).toUInt()));
    if (!host.start())
        return 1;
    return app.exec();
}
