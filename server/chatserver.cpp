#include "chatserver.h"

#include "connectionmanager.h"
#include "httpresponder.h"
#include "logging.h"
#include "sqlitestore.h"

#include <QEventLoop>
#include <QLoggingCategory>
#include <QNetworkInterface>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

using namespace Qt::StringLiterals;

namespace {

const char HeadTimerName[] = "lanchatHeadTimer";

QString peerKey(const QHostAddress &address, quint16 port)
{
    return address.toString() + u'|' + QString::number(port);
}

#ifdef Q_OS_UNIX
// Sends what it is given straight to the kernel while nothing is queued ahead of it. Without
// this, a connection's first write (the handshake answer) leaves the socket holding a 32 KiB
// write buffer and a write notifier for the rest of its life, though an idle connection only
// ever sends a ping now and then.
class DirectTcpSocket : public QTcpSocket
{
public:
    using QTcpSocket::QTcpSocket;

protected:
    qint64 writeData(const char *data, qint64 size) override
    {
        qint64 sent = 0;
        if (size > 0 && bytesToWrite() == 0 && state() == ConnectedState) {
            const ssize_t result
                = ::send(int(socketDescriptor()), data, size_t(size), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (result > 0)
                sent = result;
            // Any failure is the socket's to find and report: it gets the data as it is.
        }
        if (sent == size)
            return size;
        const qint64 queued = QTcpSocket::writeData(data + sent, size - sent);
        return queued < 0 && sent == 0 ? queued : sent + std::max<qint64>(queued, 0);
    }
};

class DirectTcpServer : public QTcpServer
{
public:
    using QTcpServer::QTcpServer;

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new DirectTcpSocket(this);
        socket->setSocketDescriptor(descriptor);
        addPendingConnection(socket);
    }
};
#else
using DirectTcpServer = QTcpServer;
#endif

} // namespace

namespace {

// Every QWebSocket carries a TLS configuration, even on a plain connection, and building one
// loads the TLS backend. LanChat serves plain ws:// only; the certificate-only backend spares
// each process the 5 MB that loading OpenSSL costs.
bool preferPlainTlsBackend()
{
#if QT_CONFIG(ssl)
    static const bool chosen = [] {
        const QString certOnly = u"cert-only"_s;
        if (!QSslSocket::availableBackends().contains(certOnly)
            || !QSslSocket::setActiveBackend(certOnly))
            return false;
        // QWebSocket's configuration asks for an empty key, which only this backend lacks.
        QLoggingCategory::setFilterRules(u"qt.network.ssl.warning=false"_s);
        return true;
    }();
    return chosen;
#else
    return false;
#endif
}

} // namespace

ChatServer::ChatServer(const ServerConfig &config, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_tcpServer(new DirectTcpServer(this))
    , m_wsServer(new QWebSocketServer(config.name, QWebSocketServer::NonSecureMode, this))
    , m_manager(new ConnectionManager(config, this))
{
    preferPlainTlsBackend();
    // Our own listener: QWebSocketServer's keeps the default backlog of 50, which turns
    // a classroom joining at once into refused connections.
    m_tcpServer->setListenBacklogSize(m_config.listenBacklog);
    m_tcpServer->setMaxPendingConnections(m_config.listenBacklog);
    m_wsServer->setMaxPendingConnections(m_config.listenBacklog);
    m_wsServer->setHandshakeTimeout(m_config.handshakeTimeoutMs);
    connect(m_tcpServer, &QTcpServer::newConnection, this, &ChatServer::onNewTcpConnection);
    connect(m_wsServer, &QWebSocketServer::newConnection, this, &ChatServer::onWebSocketReady);
}

ChatServer::~ChatServer() = default;

bool ChatServer::listen()
{
    return listen(m_config.bindAddress, m_config.port);
}

bool ChatServer::listen(const QHostAddress &address, quint16 port)
{
    // The port first: a busy port is the common failure, and must leave no data folder behind.
    if (!m_tcpServer->listen(address, port)) {
        const bool everywhere = address == QHostAddress(QHostAddress::Any);
        m_failure = ListenFailed;
        m_errorString = tr("Cannot listen on %1 port %2: %3")
                            .arg(everywhere ? tr("every interface") : address.toString())
                            .arg(port)
                            .arg(m_tcpServer->errorString());
        return false;
    }
    // Connections that arrive meanwhile wait in the backlog until the event loop runs again.
    if (!openStore()) {
        m_failure = StoreFailed;
        m_tcpServer->close();
        return false;
    }
    m_failure = NoFailure;
    m_config.bindAddress = address;
    m_config.port = m_tcpServer->serverPort();
    return true;
}

bool ChatServer::openStore()
{
    if (!m_config.storeEnabled || m_store)
        return true;
    auto store = std::make_unique<SqliteStore>();
    store->setRetentionDays(m_config.retentionDays);
    if (!store->open(SqliteStore::defaultFilePath(m_config.dataDir))) {
        m_errorString = store->errorString();
        return false;
    }
    m_store = std::move(store);
    m_manager->setStore(m_store.get());
    return true;
}

bool ChatServer::isListening() const
{
    return m_tcpServer->isListening();
}

quint16 ChatServer::port() const
{
    return m_tcpServer->serverPort();
}

QStringList ChatServer::joinUrls() const
{
    const quint16 listenPort = port();
    auto urlFor = [listenPort](const QHostAddress &address) {
        const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
            ? u'[' + address.toString() + u']'
            : address.toString();
        return u"http://%1:%2/"_s.arg(host).arg(listenPort);
    };

    const QHostAddress bound = m_config.bindAddress;
    const bool anyV4
        = bound == QHostAddress(QHostAddress::Any) || bound == QHostAddress(QHostAddress::AnyIPv4);
    const bool anyV6
        = bound == QHostAddress(QHostAddress::Any) || bound == QHostAddress(QHostAddress::AnyIPv6);
    if (!anyV4 && !anyV6)
        return {urlFor(bound)};

    QStringList v4;
    QStringList v6;
    const auto interfaces = QNetworkInterface::allInterfaces();
    for (const QNetworkInterface &interface : interfaces) {
        const auto flags = interface.flags();
        if (!(flags & QNetworkInterface::IsUp) || !(flags & QNetworkInterface::IsRunning)
            || (flags & QNetworkInterface::IsLoopBack))
            continue;
        const auto entries = interface.addressEntries();
        for (const QNetworkAddressEntry &entry : entries) {
            const QHostAddress ip = entry.ip();
            if (ip.isLoopback() || ip.isLinkLocal())
                continue;
            if (ip.protocol() == QAbstractSocket::IPv4Protocol && anyV4)
                v4.append(urlFor(ip));
            else if (ip.protocol() == QAbstractSocket::IPv6Protocol && anyV6)
                v6.append(urlFor(ip));
        }
    }
    QStringList urls = v4 + v6;
    if (urls.isEmpty())
        urls.append(urlFor(anyV4 ? QHostAddress(QHostAddress::LocalHost)
                                 : QHostAddress(QHostAddress::LocalHostIPv6)));
    return urls;
}

void ChatServer::stop(const QString &notice, int graceMs)
{
    if (m_tcpServer->isListening()) {
        m_tcpServer->close();
        qCInfo(lcServer) << "stopped listening";
    }
    m_manager->shutdown(notice);
    if (m_manager->connectionCount() == 0 || graceMs <= 0)
        return;

    // Let the close frames go out and the clients answer them, but never wait for long.
    QEventLoop loop;
    QTimer deadline;
    deadline.setSingleShot(true);
    connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    connect(m_manager, &ConnectionManager::clientDisconnected, &loop, [this, &loop] {
        if (m_manager->connectionCount() == 0)
            loop.quit();
    });
    deadline.start(graceMs);
    loop.exec();
}

void ChatServer::onNewTcpConnection()
{
    while (QTcpSocket *socket = m_tcpServer->nextPendingConnection()) {
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);

        const QHostAddress peer = LanChat::plainAddress(socket->peerAddress());
        int &unfinished = m_unfinishedHeads[peer];
        if (unfinished >= m_config.maxConnectionsPerAddress) {
            qCInfo(lcHttp) << peer << "has" << unfinished
                           << "requests unfinished; one more refused";
            HttpResponder::refuseBusy(socket, m_config.handshakeTimeoutMs);
            continue;
        }
        ++unfinished;

        // Until the request head is complete the connection is neither HTTP nor WebSocket;
        // one that never completes it is cut off.
        auto *timer = new QTimer(socket);
        timer->setObjectName(QLatin1StringView(HeadTimerName));
        timer->setSingleShot(true);
        connect(timer, &QTimer::timeout, socket, [socket] {
            qCDebug(lcHttp) << socket->peerAddress() << "sent no complete request in time";
            socket->abort();
        });
        timer->start(m_config.handshakeTimeoutMs);
        // The timer goes when the head is taken or the connection with it, whichever comes
        // first.
        connect(timer, &QObject::destroyed, this, [this, peer] {
            const auto it = m_unfinishedHeads.find(peer);
            if (it != m_unfinishedHeads.end() && --it.value() <= 0)
                m_unfinishedHeads.erase(it);
        });

        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onHeadReadable(socket); });
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        if (socket->bytesAvailable() > 0)
            onHeadReadable(socket);
    }
}

void ChatServer::onHeadReadable(QTcpSocket *socket)
{
    // peek, never read: the WebSocket server must still see the whole handshake.
    const QByteArray head = socket->peek(HttpResponder::MaxHeadBytes + 4);
    const qsizetype end = head.indexOf("\r\n\r\n");
    if (end < 0) {
        // A head that can no longer become a valid one (too long, or with a lone line break)
        // is answered at once.
        const HttpRequest unfinished = HttpResponder::parse(head);
        if (unfinished.result != HttpRequest::Result::Incomplete) {
            disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
            delete socket->findChild<QTimer *>(QLatin1StringView(HeadTimerName));
            respondHttp(socket, unfinished);
        }
        return;
    }

    disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
    delete socket->findChild<QTimer *>(QLatin1StringView(HeadTimerName));
    const QByteArray requestHead = head.left(end + 4);
    // Only a complete, valid opening handshake goes to the WebSocket server, which would
    // drop any other without an answer; the responder answers the rest with 400 or 426.
    const HttpRequest request = HttpResponder::parse(requestHead);
    if (HttpResponder::checkUpgrade(request) == HttpResponder::Upgrade::Valid) {
        disconnect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        // QWebSocket does not tell which TCP socket it wraps; the peer's address and port do.
        // A socket that dies during its handshake leaves a null entry behind. They are swept
        // out in bulk, now and then, rather than watched one by one: a connection to each
        // socket's destroyed() would stay with the socket for the whole of its life.
        if (m_upgrading.size() >= m_upgradingSweepSize) {
            m_upgrading.removeIf([](const auto &entry) { return entry.value().isNull(); });
            m_upgradingSweepSize = std::max<qsizetype>(64, m_upgrading.size() * 2);
        }
        m_upgrading.insert(peerKey(socket->peerAddress(), socket->peerPort()), socket);
        m_wsServer->handleConnection(socket);
        return;
    }
    respondHttp(socket, request);
}

void ChatServer::onWebSocketReady()
{
    while (QWebSocket *socket = m_wsServer->nextPendingConnection()) {
        QTcpSocket *transport
            = m_upgrading.take(peerKey(socket->peerAddress(), socket->peerPort()));
        m_manager->addConnection(socket, transport);
    }
}

void ChatServer::respondHttp(QTcpSocket *socket, const HttpRequest &request)
{
    const HttpResponder responder([this] {
        HttpResponder::Status status;
        status.name = m_config.name;
        status.version = QStringLiteral(LANCHAT_VERSION);
        status.uptimeSeconds = m_manager->uptimeMs() / 1000;
        status.connections = m_manager->connectionCount();
        status.rooms = m_manager->roomCount();
        status.passwordRequired = !m_config.password.isEmpty();
        return status;
    });
    responder.serve(socket, request, m_config.handshakeTimeoutMs);
}
