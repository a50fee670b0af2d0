#pragma once

#include <QDateTime>
#include <QHostAddress>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

// Values that cross from the network thread to the window: plain copyable data, registered
// with the meta-type system so that queued signals can carry them.

struct ClientInfo
{
    quint64 id = 0;
    QHostAddress address;
    quint16 port = 0;
    QDateTime connectedAt;
};

// A snapshot of one connection, sent to observers a few times a second.
struct ClientStats
{
    quint64 id = 0;
    QString nick; // empty until the client's hello succeeds
    QHostAddress address;
    quint16 port = 0;
    QStringList rooms;
    QDateTime connectedAt;
    qint64 idleMs = 0;
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    int rttMs = -1; // -1 until the first pong
    bool muted = false;
    QString state; // "no hello yet", "online", "muted", "closing"
};

struct ServerCounters
{
    int connections = 0;
    int users = 0;
    int rooms = 0;
    double messagesPerSecond = 0; // accepted messages
    double deliveriesPerSecond = 0; // frames sent to clients
    quint64 messagesTotal = 0;
};

struct ChatMessage
{
    quint64 id = 0;
    QString room; // empty for a direct message
    QString from;
    QString to; // direct messages only
    QString text;
    QDateTime ts;

    bool isDirect() const { return room.isEmpty(); }
};

struct Ban
{
    quint64 id = 0;
    QString nick; // either or both of nick and address are set
    QString address;
    QString reason;
    QDateTime since;
    QDateTime until; // invalid: no end

    bool isPermanent() const { return !until.isValid(); }
};

// One host action, as the moderation record and the window's log see it.
struct ModerationAction
{
    enum Kind { Kick, BanAction, Unban, Mute, Unmute, Announce, Topic };
    Kind kind = Kick;
    QString target; // nickname, address, room or empty for everyone
    QString reason; // reason, announcement text or topic
    QDateTime at;
    QDateTime until;
};

Q_DECLARE_METATYPE(ClientInfo)
Q_DECLARE_METATYPE(ClientStats)
Q_DECLARE_METATYPE(ServerCounters)
Q_DECLARE_METATYPE(ChatMessage)
Q_DECLARE_METATYPE(Ban)
Q_DECLARE_METATYPE(ModerationAction)

namespace LanChat {
// Registers the types above for queued connections; call once before connecting across threads.
void registerMetaTypes();
// An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; bans and limits want a.b.c.d.
// Any other address comes back as it is, sharing its data.
QHostAddress plainAddress(const QHostAddress &address);
} // namespace LanChat
