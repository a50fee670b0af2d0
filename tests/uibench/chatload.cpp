#include "chatload.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QUrl>
#include <QWebSocket>

using namespace Qt::StringLiterals;

namespace {
constexpr int OpenBatch = 50;
constexpr int SendTickMs = 20;

QString encode(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}
} // namespace

ChatLoad::ChatLoad(const Options &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_openTimer(this)
    , m_sendTimer(this)
{
    m_openTimer.setInterval(10);
    connect(&m_openTimer, &QTimer::timeout, this, &ChatLoad::openBatch);
    m_sendTimer.setInterval(SendTickMs);
    m_sendTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_sendTimer, &QTimer::timeout, this, &ChatLoad::sendSome);
}

ChatLoad::~ChatLoad()
{
    stop();
}

void ChatLoad::start()
{
    m_openTimer.start();
}

void ChatLoad::setRate(double messagesPerSecond)
{
    m_rate = messagesPerSecond;
    if (m_rate > 0 && !m_sendTimer.isActive())
        m_sendTimer.start();
}

void ChatLoad::stop()
{
    m_openTimer.stop();
    m_sendTimer.stop();
    for (Client *client : std::as_const(m_clients)) {
        client->socket->disconnect(this);
        client->socket->abort();
        delete client->socket;
        delete client;
    }
    m_clients.clear();
}

void ChatLoad::openBatch()
{
    // A batch at a time keeps the handshakes within the server's listen backlog.
    for (int i = 0; i < OpenBatch && m_opened < m_options.clients; ++i, ++m_opened) {
        auto *client = new Client;
        client->socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        client->nick = m_opened < m_options.nicks.size()
            ? m_options.nicks.at(m_opened)
            : u"user%1"_s.arg(m_opened + 1, 4, 10, QLatin1Char('0'));
        client->room = m_options.rooms.isEmpty()
            ? u"lobby"_s
            : m_options.rooms.at(m_opened % m_options.rooms.size());
        m_clients.append(client);
        connect(client->socket, &QWebSocket::connected, this, [client] {
            client->socket->sendTextMessage(
                encode(QJsonObject {{u"type"_s, u"hello"_s}, {u"nick"_s, client->nick}}));
        });
        connect(client->socket, &QWebSocket::textMessageReceived, this,
                [this, client](const QString &text) { onText(client, text); });
        client->socket->open(QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(m_options.port)));
    }
    if (m_opened >= m_options.clients)
        m_openTimer.stop();
}

void ChatLoad::onText(Client *client, const QString &text)
{
    if (client->joined)
        return;
    // Only the first frames matter; a cheap look is enough to tell them apart.
    if (!client->welcomed && text.contains(u"\"welcome\""_s)) {
        client->welcomed = true;
        ++m_welcomed;
        if (m_welcomed % 100 == 0)
            Q_EMIT progress(m_welcomed);
        if (client->room == u"lobby"_s) {
            client->joined = true;
        } else {
            client->socket->sendTextMessage(
                encode(QJsonObject {{u"type"_s, u"join"_s}, {u"room"_s, client->room}}));
            return;
        }
    } else if (client->welcomed && text.contains(u"\"joined\""_s)
               && text.contains(u'"' + client->room + u'"')) {
        client->joined = true;
    } else {
        return;
    }
    if (++m_joined == m_options.clients)
        Q_EMIT ready(m_joined);
}

void ChatLoad::sendSome()
{
    if (m_clients.isEmpty())
        return;
    m_budget += m_rate * SendTickMs / 1000.0;
    while (m_budget >= 1) {
        m_budget -= 1;
        Client *client = m_clients.at(m_next);
        m_next = (m_next + 1) % int(m_clients.size());
        if (!client->joined)
            continue;
        m_seed = m_seed * 1103515245u + 12345u;
        const quint32 pick = (m_seed >> 8);
        const QString text = m_options.lines.isEmpty()
            ? u"message %1 from %2"_s.arg(++m_sent).arg(client->nick)
            : m_options.lines.at(int(pick % quint32(m_options.lines.size())));
        const bool direct
            = m_options.directShare > 0 && (pick % 1000) < quint32(m_options.directShare * 1000);
        if (direct) {
            const Client *to = m_clients.at(int((pick / 7) % quint32(m_clients.size())));
            client->socket->sendTextMessage(
                encode(QJsonObject {{u"type"_s, u"dm"_s}, {u"to"_s, to->nick}, {u"text"_s, text}}));
        } else {
            // Now and then the lobby, mostly one's own room.
            const bool lobby = (pick / 13) % 1000 < quint32(m_options.lobbyShare * 1000);
            const QString room = lobby ? u"lobby"_s : client->room;
            client->socket->sendTextMessage(
                encode(QJsonObject {{u"type"_s, u"say"_s}, {u"room"_s, room}, {u"text"_s, text}}));
        }
    }
}
