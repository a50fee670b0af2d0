#pragma once

#include <QList>
#include <QObject>
#include <QStringList>
#include <QTimer>

class QWebSocket;

// Many chat clients on a thread of their own, so that their work never lands on the window's
// event loop being measured. Each says hello, joins its room and then, all together, they
// post messages at a steady rate.
class ChatLoad : public QObject
{
    Q_OBJECT

public:
    struct Options
    {
        quint16 port = 0;
        int clients = 1000;
        QStringList rooms; // client i joins rooms[i % size]; empty: lobby only
        QStringList nicks; // used in order before generated ones
        QStringList lines; // what they say; empty: numbered messages
        double directShare = 0; // share of messages sent as direct messages
        double lobbyShare = 0.2; // share of room messages said in the lobby
    };

    explicit ChatLoad(const Options &options, QObject *parent = nullptr);
    ~ChatLoad() override;

    // Called on the load's thread (queued).
    void start();
    void setRate(double messagesPerSecond);
    void stop();

Q_SIGNALS:
    // Every client has its welcome and its room.
    void ready(int clients);
    void progress(int welcomed);

private:
    struct Client
    {
        QWebSocket *socket = nullptr;
        QString nick;
        QString room;
        bool welcomed = false;
        bool joined = false;
    };

    void openBatch();
    void onText(Client *client, const QString &text);
    void sendSome();

    Options m_options;
    QList<Client *> m_clients;
    QTimer m_openTimer;
    QTimer m_sendTimer;
    int m_opened = 0;
    int m_welcomed = 0;
    int m_joined = 0;
    double m_rate = 0;
    double m_budget = 0;
    int m_next = 0;
    quint64 m_sent = 0;
    quint32 m_seed = 12345;
};
