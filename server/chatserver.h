#pragma once

#include "serverconfig.h"

#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
#include <QStringList>

#include <memory>

class ConnectionManager;
struct HttpRequest;
class QTcpServer;
class QTcpSocket;
class QWebSocketServer;
class QWebSocket;
class SqliteStore;

// Listens on one port. Connections whose request head asks for a WebSocket on /ws go to the
// QWebSocketServer and then to the ConnectionManager; every other request is HTTP.
class ChatServer : public QObject
{
    Q_OBJECT

public:
    explicit ChatServer(const ServerConfig &config, QObject *parent = nullptr);
    ~ChatServer() override;

    enum Failure { NoFailure, ListenFailed, StoreFailed };
    Q_ENUM(Failure)

    // Listens on the configured address and port, then opens the history store (unless the
    // configuration turns it off). Either failing makes failure() and errorString() say why,
    // and leaves the server not listening.
    bool listen();
    bool listen(const QHostAddress &address, quint16 port);
    bool isListening() const;
    quint16 port() const;
    Failure failure() const { return m_failure; }
    QString errorString() const { return m_errorString; }

    ConnectionManager *manager() const { return m_manager; }

    // The http:// addresses people on the network can open: this machine's LAN addresses
    // (or the bound address when it is a single one), with the port.
    QStringList joinUrls() const;

public Q_SLOTS:
    // Stops listening, tells every client and closes them with 1001, then waits up to graceMs
    // for them to go.
    void stop(const QString &notice, int graceMs = 2000);

private:
    void onNewTcpConnection();
    void onHeadReadable(QTcpSocket *socket);
    void onWebSocketReady();
    void respondHttp(QTcpSocket *socket, const HttpRequest &request);
    bool openStore();

    ServerConfig m_config;
    QTcpServer *m_tcpServer = nullptr;
    QWebSocketServer *m_wsServer = nullptr;
    ConnectionManager *m_manager = nullptr;
    // Destroyed before the manager (a child), which never touches the store while it goes.
    std::unique_ptr<SqliteStore> m_store;
    Failure m_failure = NoFailure;
    QString m_errorString;
    // Sockets handed to the WebSocket server, by peer, until their handshake completes.
    QHash<QString, QPointer<QTcpSocket>> m_upgrading;
    qsizetype m_upgradingSweepSize = 64; // when to drop the entries of sockets that died
    // Connections whose request head has not been taken yet, by peer address. They hold a
    // descriptor each like a chat connection, and so have a cap of their own per address.
    QHash<QHostAddress, int> m_unfinishedHeads;
};
