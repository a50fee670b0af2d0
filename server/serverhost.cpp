#include "serverhost.h"

#include "chatserver.h"
#include "chattypes.h"
#include "logging.h"
#include "threadhandover.h"

#ifdef LANCHAT_HAVE_EPOLL
#include "epolldispatcher.h"
#endif

ServerHost::ServerHost(QObject *parent)
    : QObject(parent)
{
    LanChat::registerMetaTypes();
    m_thread.setObjectName(QStringLiteral("lanchat-network"));
#ifdef LANCHAT_HAVE_EPOLL
    // Qt's dispatcher polls every socket on every pass, which with many clients costs more
    // than the messages do. Without an epoll descriptor the thread keeps Qt's.
    if (EpollDispatcher *dispatcher = EpollDispatcher::create())
        m_thread.setEventDispatcher(dispatcher);
#endif
    m_thread.start();
}

ServerHost::~ServerHost()
{
    stop();
    m_thread.quit();
    m_thread.wait();
}

void ServerHost::start(const ServerConfig &config)
{
    if (m_running)
        stop();

    // The server is made and started on the network thread, so that every socket and timer it
    // creates belongs to that thread.
    auto *server = new ChatServer(config);
    server->moveToThread(&m_thread);
    bool ok = false;
    ChatServer::Failure failure = ChatServer::NoFailure;
    QString error;
    QStringList urls;
    quint16 port = 0;
    LanChat::invokeOnThread(
        server,
        [server, &ok, &failure, &error, &urls, &port] {
            ok = server->listen();
            failure = server->failure();
            error = server->errorString();
            if (ok) {
                urls = server->joinUrls();
                port = server->port();
            }
        },
        Qt::BlockingQueuedConnection);

    if (!ok) {
        server->deleteLater();
        qCWarning(lcServer).noquote() << error;
        Q_EMIT startFailed(error, failure);
        return;
    }
    m_server = server;
    m_running = true;
    Q_EMIT started(server->manager(), port, urls);
}

void ServerHost::stop(const QString &notice)
{
    if (!m_running)
        return;
    m_running = false;
    ChatServer *server = std::exchange(m_server, nullptr);
    LanChat::invokeOnThread(
        server, [server, notice] { server->stop(notice); }, Qt::BlockingQueuedConnection);
    // The close frames go out on the network thread's event loop before the server goes.
    // deleteLater() posts the deletion itself, which the thread carries out even when it is
    // told to quit right away; a queued call to it would be dropped then, and the server leak.
    server->deleteLater();
    Q_EMIT stopped();
}
