#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QUrl>

class QWebSocket;

// One chat client of the soak: says hello, moves from the lobby into its room, and from then
// on reports every room message it receives. A staying client lives for the whole run; a
// passing one comes, says one thing and goes.
class SoakClient : public QObject
{
    Q_OBJECT

public:
    enum class State { Connecting, Greeting, Joining, LeavingLobby, Ready, Gone };

    SoakClient(int index, const QString &nick, const QString &room, const QElapsedTimer *clock,
               QObject *parent = nullptr);

    int index() const { return m_index; }
    const QString &room() const { return m_room; }
    State state() const { return m_state; }
    bool isReady() const { return m_state == State::Ready; }

    void open(const QUrl &url);
    void say(const QString &text);
    // Leaves the room with a leave request and closes with 1000, the way a person leaves.
    void leave();
    // Drops the connection without a close frame, the way a laptop that sleeps does.
    void drop();

Q_SIGNALS:
    void becameReady(SoakClient *client);
    void gone(SoakClient *client);
    // receivedNs is read from the run's clock when the frame arrived.
    void messageReceived(SoakClient *client, qint64 id, const QString &text, qint64 receivedNs);
    void errorReceived(SoakClient *client, const QString &code);

private:
    void onConnected();
    void onTextMessage(const QString &text);
    void onDisconnected();
    void send(const QString &frame);

    int m_index;
    QString m_nick;
    QString m_room;
    const QElapsedTimer *m_clock;
    QWebSocket *m_socket;
    State m_state = State::Connecting;
};
