#pragma once

#include "chattypes.h"
#include "protocol.h"
#include "serverconfig.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <deque>
#include <limits>
#include <memory>
#include <unordered_map>

class ChatStore;
class NickRules;
class QTcpSocket;
class QWebSocket;

// Owns every WebSocket connection after its handshake: sessions, nicknames, rooms, limits and
// host actions. It lives on the network thread; the window and the headless front end reach it
// only through its signals and slots.
class ConnectionManager : public QObject
{
    Q_OBJECT

public:
    explicit ConnectionManager(const ServerConfig &config, QObject *parent = nullptr);
    ~ConnectionManager() override;

    const ServerConfig &config() const { return m_config; }

    // Takes ownership of a socket whose WebSocket handshake has completed. Frames built once
    // for many recipients are written straight to transport, the TCP socket under it.
    void addConnection(QWebSocket *socket, QTcpSocket *transport = nullptr);

    int connectionCount() const { return int(m_clients.size()); }
    int roomCount() const { return int(m_rooms.size()); }
    qint64 uptimeMs() const { return m_clock.elapsed(); }
    quint64 lastMessageId() const { return m_nextMessageId - 1; }
    // The next accepted message gets this id; ids must never go back across restarts.
    void setNextMessageId(quint64 id) { m_nextMessageId = id; }

    // Persists messages, bans and host actions; not owned, and must outlive the manager.
    // Without a store, history lives in memory and ids start from the clock.
    void setStore(ChatStore *store);

    // How often statsUpdated() is emitted; 0 turns it off.
    void setStatsInterval(int ms);

public Q_SLOTS:
    void kick(const QString &nick, const QString &reason);
    // Bans a nickname, an address or both; seconds <= 0 bans for good.
    void ban(const QString &nick, const QString &address, int seconds, const QString &reason);
    void unban(quint64 banId);
    // Mutes a user; seconds <= 0 mutes until unmute().
    void mute(const QString &nick, int seconds);
    void unmute(const QString &nick);
    // An empty room announces to everyone.
    void announce(const QString &room, const QString &text);
    void setTopic(const QString &room, const QString &topic);
    // Sends the notice and closes every connection with 1001.
    void shutdown(const QString &notice);
    // Emits bansChanged() with the bans in force, for an observer that connects after they were
    // loaded (the window, when the server starts).
    void reportBans();
    // Reads each room's latest messages from the store again, after the host cleared it.
    void reloadHistory();

Q_SIGNALS:
    void clientConnected(const ClientInfo &info);
    void clientIdentified(quint64 id, const QString &nick);
    void clientRenamed(quint64 id, const QString &oldNick, const QString &newNick);
    void clientJoinedRoom(quint64 id, const QString &nick, const QString &room);
    // event is the presence event the room saw: left, kicked, banned or timeout.
    void clientLeftRoom(quint64 id, const QString &nick, const QString &room, const QString &event);
    void clientDisconnected(quint64 id, const QString &nick, const QString &reason);
    void messagePosted(const ChatMessage &message);
    void noticePosted(const QString &room, const QString &text);
    void topicChanged(const QString &room, const QString &topic);
    void hostActionTaken(const ModerationAction &action);
    void bansChanged(const QList<Ban> &bans);
    void statsUpdated(const QList<ClientStats> &clients, const ServerCounters &counters);
    // A host action that could not be carried out (no such user, bad room name, ...).
    void hostActionFailed(const QString &message);

private:
    struct Room;
    struct Client;

    void onTextMessage(Client *client, const QString &text);
    void handleRequest(Client *client, const Protocol::Request &request);
    void handleHello(Client *client, const Protocol::Request &request);
    void handleJoin(Client *client, const Protocol::Request &request);
    // The room the request names, if the client is in it; otherwise answers with the error.
    Room *memberRoom(Client *client, const Protocol::Request &request);
    void handleLeave(Client *client, const Protocol::Request &request);
    void handleSay(Client *client, const Protocol::Request &request);
    void handleDm(Client *client, const Protocol::Request &request);
    void handleTyping(Client *client, const Protocol::Request &request);
    void handleNick(Client *client, const Protocol::Request &request);

    bool takeToken(Client *client);
    bool passwordMatches(const QString &password) const;
    // Milliseconds until the address may try a password again; 0 when it may now.
    qint64 passwordLockRemaining(const QString &address) const;
    void notePasswordFailure(const QString &address);
    void sendError(Client *client, Protocol::Error code, const QString &ref,
                   const QString &message = {});
    void send(Client *client, const QJsonObject &object);
    static QByteArray wireFrame(const QJsonObject &object);
    void sendWire(Client *client, const QByteArray &wire);
    void broadcast(const Room &room, const QByteArray &wire, const Client *except = nullptr);
    // Hands the frames held for the client to the kernel.
    void uncork(Client *client);
    void uncorkAll();
    void markOverflowed(Client *client);
    // Drops the clients whose unsent data passed the cap, once no room list is being walked.
    void processOverflowed();

    void accept(const ChatMessage &message);
    void flushUnstored();
    // Stores and delivers what was accepted so far. Called before anything that would pass the
    // accepted messages otherwise: an event for a room, a change of nickname or of a room's
    // members, a departure.
    void deliverUnstored();
    void deliver(const ChatMessage &message);

    void joinRoom(Client *client, const QString &name, const QString &ref, bool alreadyMember);
    void leaveRoom(Client *client, Room *room, const QString &event, const QString &reason);
    // Takes the client out of every room and the nickname index, telling each room once.
    void depart(Client *client, const QString &event, const QString &reason);
    // Sends a close frame; the client goes when its disconnect arrives.
    void closeClient(Client *client, int closeCode, const QString &reason);
    void onDisconnected(Client *client);
    void removeClient(Client *client);
    void liftMute(Client *client);

    void registerNick(Client *client, const QString &nick, const QString &key,
                      const QStringList &lookAlikeKeys);
    void unregisterNick(Client *client);
    const Client *lookAlikeHolder(const QStringList &lookAlikeKeys, const Client *except) const;
    Client *findByNick(const QString &nick) const;
    // The ban in force on the address, or on the nickname or any that looks like it.
    const Ban *findBan(const QString &nickKey, const QStringList &lookAlikeKeys,
                       const QString &address) const;
    bool banCoversNick(const Ban &ban, const QString &nickKey,
                       const QStringList &lookAlikeKeys) const;
    void expireBans();
    void record(int kind, const QString &target, const QString &reason,
                const QDateTime &until = {});
    QJsonArray roomList() const;
    void sweep();
    void pingAll();
    void trimHeap();
    void emitStats();

    ServerConfig m_config;
    ChatStore *m_store = nullptr;
    std::unique_ptr<NickRules> m_nickRules;
    std::unordered_map<quint64, std::unique_ptr<Client>> m_clients;
    QHash<QString, Client *> m_byNickKey; // case-folded nickname
    QHash<QString, Client *> m_byLookAlike; // every look-alike key of every nickname
    QHash<QString, int> m_perAddress;
    struct PasswordFailures
    {
        std::deque<qint64> times; // within the window, oldest first
        qint64 lockedUntilMs = 0;
    };
    QHash<QString, PasswordFailures> m_passwordFailures; // by address
    std::unordered_map<QString, std::unique_ptr<Room>> m_rooms;
    QList<Ban> m_bans;
    // The look-alike keys of each banned nickname, worked out once rather than at every hello.
    mutable QHash<QString, QStringList> m_banLookAlikes;
    QHash<QString, QDateTime> m_mutes; // case key -> until (invalid: until unmuted)
    QList<ChatMessage> m_unstored; // accepted, waiting for the store
    bool m_flushPending = false;
    QList<quint64> m_overflowed; // clients to drop for unread data
    QList<quint64> m_corked; // clients with frames held for the end of the pass
    bool m_uncorkPending = false;
    quint64 m_nextClientId = 1;
    quint64 m_nextBanId = 1;
    quint64 m_nextMessageId = 1;
    QElapsedTimer m_clock;
    QTimer m_sweepTimer;
    QTimer m_pingTimer;
    QTimer m_statsTimer;
    bool m_shuttingDown = false;

    // Rates for the counters, counted since the last stats emission.
    quint64 m_messagesTotal = 0;
    quint64 m_messagesSinceStats = 0;
    quint64 m_deliveriesSinceStats = 0;
    qint64 m_lastStatsMs = 0;
    // A burst of traffic (a class joining at once, a busy room) leaves the heap full of freed
    // frames and JSON that glibc keeps resident; once the traffic pauses, the free pages go
    // back to the system. Counted in bytes sent since the last trim.
    QTimer m_trimTimer;
    quint64 m_sentSinceTrim = 0;
    quint64 m_sentWhenTrimArmed = 0;
    qint64 m_trimArmedMs = 0;
};
