#pragma once

#include "chatserver.h"
#include "serverconfig.h"

#include <QObject>
#include <QStringList>
#include <QThread>

class ConnectionManager;

// Runs the chat server on a thread of its own, so that no load on the network can stall the
// window. Everything here is called from the window's thread; the manager it announces lives
// on the network thread and must be reached through queued connections only.
class ServerHost : public QObject
{
    Q_OBJECT

public:
    explicit ServerHost(QObject *parent = nullptr);
    ~ServerHost() override;

    bool isRunning() const { return m_running; }

public Q_SLOTS:
    void start(const ServerConfig &config);
    // Tells every client, closes them with 1001, and blocks until the network side is down.
    void stop(const QString &notice = {});

Q_SIGNALS:
    // manager lives on the network thread: connect to it with Qt::QueuedConnection.
    void started(ConnectionManager *manager, quint16 port, const QStringList &joinUrls);
    void startFailed(const QString &errorString, ChatServer::Failure failure);
    void stopped();

private:
    QThread m_thread;
    ChatServer *m_server = nullptr;
    bool m_running = false;
};
