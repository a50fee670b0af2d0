#include "soakclient.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QWebSocket>

using namespace Qt::StringLiterals;

SoakClient::SoakClient(int index, const QString &nick, const QString &room,
                       const QElapsedTimer *clock, QObject *parent)
    : QObject(parent)
    , m_index(index)
    , m_nick(nick)
    , m_room(room)
    , m_clock(clock)
    , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
{
    connect(m_socket, &QWebSocket::connected, this, &SoakClient::onConnected);
    connect(m_socket, &QWebSocket::textMessageReceived, this, &SoakClient::onTextMessage);
    connect(m_socket, &QWebSocket::disconnected, this, &SoakClient::onDisconnected);
}

void SoakClient::open(const QUrl &url)
{
    m_socket->open(url);
}

void SoakClient::say(const QString &text)
{
    const QJsonObject say {{"type"_L1, u"say"_s}, {"room"_L1, m_room}, {"text"_L1, text}};
    send(QString::fromUtf8(QJsonDocument(say).toJson(QJsonDocument::Compact)));
}

void SoakClient::leave()
{
    if (m_state == State::Connecting) {
        // Nothing to say goodbye on yet.
        m_socket->abort();
        return;
    }
    if (m_state == State::Ready)
        send(u"{\"type\":\"leave\",\"room\":\"%1\"}"_s.arg(m_room));
    m_socket->close(QWebSocketProtocol::CloseCodeNormal);
}

void SoakClient::drop()
{
    m_socket->abort();
}

void SoakClient::onConnected()
{
    m_state = State::Greeting;
    send(u"{\"type\":\"hello\",\"nick\":\"%1\"}"_s.arg(m_nick));
}

void SoakClient::onTextMessage(const QString &text)
{
    const qint64 receivedNs = m_clock->nsecsElapsed();
    // The server writes keys in order, so "type" comes last. Presence and typing are most of
    // the traffic and need no parsing.
    if (text.endsWith(u"\"type\":\"presence\"}"_s) || text.endsWith(u"\"type\":\"typing\"}"_s))
        return;

    const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
    const QString type = frame.value("type"_L1).toString();
    if (type == "message"_L1) {
        if (frame.value("room"_L1).toString() == m_room)
            Q_EMIT messageReceived(this, frame.value("id"_L1).toInteger(),
                                   frame.value("text"_L1).toString(), receivedNs);
    } else if (type == "welcome"_L1) {
        m_state = State::Joining;
        send(u"{\"type\":\"join\",\"room\":\"%1\"}"_s.arg(m_room));
    } else if (type == "joined"_L1) {
        if (m_state == State::Joining && frame.value("room"_L1).toString() == m_room) {
            // Out of the lobby, so that every arrival is not announced to everyone.
            m_state = State::LeavingLobby;
            send(u"{\"type\":\"leave\",\"room\":\"lobby\"}"_s);
        }
    } else if (type == "left"_L1) {
        if (m_state == State::LeavingLobby && frame.value("room"_L1).toString() == "lobby"_L1) {
            m_state = State::Ready;
            Q_EMIT becameReady(this);
        }
    } else if (type == "error"_L1) {
        Q_EMIT errorReceived(this, frame.value("code"_L1).toString());
    }
}

void SoakClient::onDisconnected()
{
    if (m_state == State::Gone)
        return;
    m_state = State::Gone;
    Q_EMIT gone(this);
}

void SoakClient::send(const QString &frame)
{
    m_socket->sendTextMessage(frame);
}
