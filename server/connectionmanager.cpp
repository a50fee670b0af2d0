#include "connectionmanager.h"

#include "chatstore.h"
#include "logging.h"
#include "nickrules.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QMetaMethod>
#include <QNetworkProxy>
#include <QTcpSocket>
#include <QWebSocket>

#include <algorithm>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif
#include <deque>

#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace Qt::StringLiterals;
using Protocol::Error;
using Protocol::Request;
using Protocol::RequestType;

namespace {

constexpr qint64 CloseGraceMs = 5'000; // a peer that never answers our close frame is cut off
constexpr quint64 TrimAfterBytes = 1 << 20;
constexpr int TrimQuietMs = 100;
// Traffic that never pauses still gets its heap trimmed this often: the memory freed by people
// who came and went would otherwise stay with the process for as long as the chat goes on.
constexpr qint64 TrimLongestWaitMs = 5000;

QJsonObject presence(const QString &room, const QString &nick, const QString &event)
{
    return QJsonObject {
        {"type"_L1, u"presence"_s}, {"room"_L1, room}, {"nick"_L1, nick}, {"event"_L1, event}};
}

// Text a client chose, quoted with its control characters escaped: it cannot break a log line.
QString quoted(const QString &text)
{
    QString out;
    QDebug(&out).nospace() << text;
    return out;
}

// ": reason" for a reason, nothing for none, so that no line ends in a dangling colon.
QString reasonSuffix(const QString &reason)
{
    return reason.isEmpty() ? QString() : u": "_s + reason;
}

// A socket keeps the 16 KiB chunk of its read buffer once the data in it has been read, for as
// long as the connection lasts, though an idle one only hears a pong now and then. Opening the
// device again lets go of its buffers and leaves the connection alone, so it is done only while
// they hold nothing.
void releaseIdleBuffers(QTcpSocket *socket)
{
    if (socket && socket->isOpen() && socket->bytesAvailable() == 0 && socket->bytesToWrite() == 0
        && !socket->isTransactionStarted())
        socket->open(socket->openMode());
}

// Qt WebSockets passes some signals of the TCP socket and of its frame parser on as the
// WebSocket's own. Nothing here listens to those, and each relay is a connection that lasts as
// long as the socket, well over 100 bytes of heap for every idle client. The WebSocket's own
// reading, writing and closing go through connections of their own, which stay.
void dropUnusedRelays(QWebSocket *socket, QTcpSocket *transport)
{
    if (transport) {
        QObject::disconnect(transport, &QAbstractSocket::bytesWritten, socket,
                            &QWebSocket::bytesWritten);
        QObject::disconnect(transport, &QAbstractSocket::readChannelFinished, socket,
                            &QWebSocket::readChannelFinished);
        QObject::disconnect(transport, &QAbstractSocket::proxyAuthenticationRequired, socket,
                            &QWebSocket::proxyAuthenticationRequired);
#if QT_VERSION < QT_VERSION_CHECK(6, 5, 0)
        QObject::disconnect(transport, &QAbstractSocket::errorOccurred, socket,
                            qOverload<QAbstractSocket::SocketError>(&QWebSocket::error));
#else
        QObject::disconnect(transport, &QAbstractSocket::errorOccurred, socket,
                            &QWebSocket::errorOccurred);
#endif
    }
    // The parser is a private class, found by the names of its signals; a Qt that names them
    // otherwise keeps its relays, and nothing else changes.
    static const char *const frameSignals[]
        = {"textFrameReceived(QString,bool)", "binaryFrameReceived(QByteArray,bool)"};
    const QObjectList children = socket->children();
    for (QObject *child : children) {
        const QMetaObject *meta = child->metaObject();
        for (const char *signature : frameSignals) {
            const int index = meta->indexOfSignal(signature);
            if (index >= 0)
                QObject::disconnect(child, meta->method(index), socket, QMetaMethod());
        }
    }
}

} // namespace

struct ConnectionManager::Room
{
    QString name;
    QString topic;
    QList<Client *> members; // in order of joining
    std::deque<ChatMessage> history; // the latest messages, oldest first
};

struct ConnectionManager::Client
{
    quint64 id = 0;
    QWebSocket *socket = nullptr;
    QPointer<QTcpSocket> transport;
    QHostAddress hostAddress;
    QString address; // hostAddress as text, the key for bans and per-address limits
    quint16 port = 0;
    QDateTime connectedAt;
    qint64 openedMs = 0;
    qint64 lastHeardMs = 0; // any frame, pongs included: liveness
    qint64 lastActiveMs = 0; // the last request: idle time shown to the host

    bool ready = false; // hello succeeded
    bool departed = false; // out of every room and index; only the socket remains
    bool counted = false; // holds a place in the per-address count
    bool overflowed = false; // passed the cap on unsent data; about to be dropped
    bool closing = false; // the client started a close handshake
    bool closed = false; // our close frame is out: nothing may follow it
    QByteArray corked; // frames held until the end of this pass of the event loop
    QString nick;
    QString nickKey;
    QStringList lookAlikeKeys;
    QList<Room *> rooms;

    double tokens = 0;
    qint64 refillMs = 0;
    // When recent requests were dropped by the rate limit. Not a std::deque: that allocates
    // its first block with the client, and most clients are never dropped.
    QList<qint64> drops;
    qint64 typingDueMs = std::numeric_limits<qint64>::min() / 2; // when the next hint is due

    bool muted = false;
    QDateTime mutedUntil; // invalid: until unmuted

    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    int rttMs = -1;

    // How log lines name a client, so that one grep follows one client.
    QString label() const
    {
        return u"#%1 %2@%3"_s.arg(id).arg(nick.isEmpty() ? u"-"_s : nick, address);
    }
};

ConnectionManager::ConnectionManager(const ServerConfig &config, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_nickRules(std::make_unique<NickRules>(config.nickLength))
{
    m_clock.start();
    // ServerHost moves the manager to the network thread; member timers go along only as
    // children.
    for (QTimer *timer : {&m_sweepTimer, &m_pingTimer, &m_statsTimer, &m_trimTimer})
        timer->setParent(this);
    // Without a store, ids start from the clock so that they still never go back after a
    // restart; at a thousand ids a millisecond they stay below 2^53 for centuries.
    m_nextMessageId = quint64(QDateTime::currentMSecsSinceEpoch()) * 1000;

    auto lobby = std::make_unique<Room>();
    lobby->name = u"lobby"_s;
    m_rooms.emplace(lobby->name, std::move(lobby));

    const int shortest = std::min(m_config.helloTimeoutMs, m_config.idleTimeoutMs);
    m_sweepTimer.setInterval(std::clamp(shortest / 5, 20, 1000));
    connect(&m_sweepTimer, &QTimer::timeout, this, &ConnectionManager::sweep);
    m_sweepTimer.start();

    m_pingTimer.setInterval(m_config.pingIntervalMs);
    connect(&m_pingTimer, &QTimer::timeout, this, &ConnectionManager::pingAll);
    m_pingTimer.start();

    connect(&m_statsTimer, &QTimer::timeout, this, &ConnectionManager::emitStats);

    m_trimTimer.setSingleShot(true);
    m_trimTimer.setInterval(TrimQuietMs);
    connect(&m_trimTimer, &QTimer::timeout, this, &ConnectionManager::trimHeap);
    setStatsInterval(500);
}

ConnectionManager::~ConnectionManager()
{
    for (auto &entry : m_clients) {
        if (QWebSocket *socket = entry.second->socket) {
            socket->disconnect(this);
            socket->abort();
            delete socket;
        }
    }
}

void ConnectionManager::setStore(ChatStore *store)
{
    m_store = store;
    if (!m_store)
        return;
    m_nextMessageId = m_store->lastMessageId() + 1;
    m_bans = m_store->loadBans();
    for (const Ban &ban : std::as_const(m_bans))
        m_nextBanId = std::max(m_nextBanId, ban.id + 1);
    for (auto &entry : m_rooms) {
        Room &room = *entry.second;
        const QList<ChatMessage> stored = m_store->roomHistory(room.name, m_config.historyLength);
        room.history.assign(stored.cbegin(), stored.cend());
    }
}

void ConnectionManager::setStatsInterval(int ms)
{
    if (ms <= 0 || m_shuttingDown) {
        m_statsTimer.stop();
        return;
    }
    m_statsTimer.start(ms);
}

void ConnectionManager::addConnection(QWebSocket *socket, QTcpSocket *transport)
{
    socket->setParent(this);
    dropUnusedRelays(socket, transport);
    // A socket the server accepted never connects anywhere, so its proxy is never used. Each
    // holds a copy of Qt's DefaultProxy with heap of its own; a default-constructed proxy means
    // the same and has none.
    socket->setProxy(QNetworkProxy());
    socket->setMaxAllowedIncomingFrameSize(quint64(m_config.maxMessageBytes));
    socket->setMaxAllowedIncomingMessageSize(quint64(m_config.maxMessageBytes));

    auto owned = std::make_unique<Client>();
    Client *client = owned.get();
    client->id = m_nextClientId++;
    client->socket = socket;
    client->transport = transport;
    // The handshake has been read and answered.
    releaseIdleBuffers(transport);
    // Shared with the socket's own copy unless it has to change.
    client->hostAddress = LanChat::plainAddress(socket->peerAddress());
    client->address = client->hostAddress.toString();
    client->port = socket->peerPort();
    client->connectedAt = QDateTime::currentDateTimeUtc();
    client->openedMs = m_clock.elapsed();
    client->lastHeardMs = client->openedMs;
    client->lastActiveMs = client->openedMs;
    // Before hello too: refused hellos would otherwise come as fast as a client can send them.
    client->tokens = m_config.burst;
    client->refillMs = client->openedMs;
    m_clients.emplace(client->id, std::move(owned));

    // Each connection carries its client. QObject::sender() would cost less memory, but it finds
    // the socket by walking every connection made to this object, for every message.
    connect(socket, &QWebSocket::textMessageReceived, this,
            [this, client](const QString &text) { onTextMessage(client, text); });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [this, client] {
        client->lastHeardMs = m_clock.elapsed();
        qCInfo(lcServer).noquote() << client->label() << "sent a binary frame; closing";
        closeClient(client, Protocol::CloseUnsupportedData, u"Binary frames are not accepted"_s);
        depart(client, u"left"_s, {});
    });
    connect(socket, &QWebSocket::pong, this, [this, client](quint64 elapsed) {
        client->lastHeardMs = m_clock.elapsed();
        client->rttMs = int(std::min<quint64>(elapsed, INT_MAX));
        // The pong is all an idle client sends; let go of the buffer it came in once the
        // socket is done reading, not while it is.
        if (QTcpSocket *transport = client->transport)
            QTimer::singleShot(0, transport, [transport] { releaseIdleBuffers(transport); });
    });
    // The socket answers every ping by itself, into the buffer that sendWire() watches: a
    // client that pings without reading would fill it past the cap unseen. This runs after the
    // socket's own reading, which is connected first.
    if (transport) {
        connect(transport, &QTcpSocket::readyRead, this, [this, client] {
            if (!client->overflowed && client->transport
                && client->transport->bytesToWrite() > m_config.maxPendingBytes) {
                markOverflowed(client);
                processOverflowed();
            }
        });
    }
    // The socket answers a close frame from the client with its own, announcing it here; a
    // connection that is simply lost never sends one.
    connect(socket, &QWebSocket::aboutToClose, this, [client] { client->closing = true; });
    // Queued, so that a socket going away never changes the room lists while they are walked.
    connect(
        socket, &QWebSocket::disconnected, this, [this, client] { onDisconnected(client); },
        Qt::QueuedConnection);

    const int perAddress = m_perAddress.value(client->address);
    if (connectionCount() > m_config.maxConnections
        || perAddress >= m_config.maxConnectionsPerAddress) {
        qCInfo(lcServer).noquote() << client->label() << "refused: server full";
        client->departed = true;
        send(client, Protocol::errorObject(Error::ServerFull, {}));
        closeClient(client, Protocol::CloseTryAgainLater, u"Server full"_s);
        return;
    }
    m_perAddress[client->address] = perAddress + 1;
    client->counted = true;

    qCDebug(lcServer).noquote() << client->label() << "connected from port" << client->port;
    Q_EMIT clientConnected(
        ClientInfo {client->id, client->hostAddress, client->port, client->connectedAt});
}

void ConnectionManager::onTextMessage(Client *client, const QString &text)
{
    const qint64 now = m_clock.elapsed();
    client->lastHeardMs = now;
    if (client->departed)
        return;

    const QByteArray utf8 = text.toUtf8();
    ++client->messagesIn;
    client->bytesIn += quint64(utf8.size());

    const Protocol::DecodeResult decoded = Protocol::decode(utf8);
    if (!takeToken(client)) {
        sendError(client, Error::RateLimited, decoded.ref);
        // The dropped request still gets its answer; only then does a flood close the line.
        if (int(client->drops.size()) >= m_config.floodDrops) {
            qCInfo(lcServer).noquote() << client->label() << "disconnected for flooding";
            depart(client, u"kicked"_s, u"Disconnected for flooding"_s);
            closeClient(client, Protocol::CloseFlooding, u"Flooding"_s);
        }
        processOverflowed();
        return;
    }
    if (!decoded.ok) {
        qCDebug(lcServer).noquote() << client->label() << "bad request:" << decoded.problem;
        sendError(client, Error::BadRequest, decoded.ref, decoded.problem);
    } else {
        client->lastActiveMs = now;
        handleRequest(client, decoded.request);
    }
    processOverflowed();
}

bool ConnectionManager::takeToken(Client *client)
{
    const qint64 now = m_clock.elapsed();
    const double refill = double(now - client->refillMs) * m_config.messagesPerSecond / 1000.0;
    client->tokens = std::min<double>(m_config.burst, client->tokens + refill);
    client->refillMs = now;
    if (client->tokens >= 1.0) {
        client->tokens -= 1.0;
        return true;
    }

    client->drops.push_back(now);
    while (!client->drops.empty() && now - client->drops.front() >= m_config.floodWindowMs)
        client->drops.pop_front();
    return false;
}

bool ConnectionManager::passwordMatches(const QString &password) const
{
    // Digests of equal length, compared without an early exit: how long the comparison takes
    // tells nothing about how much of a guess was right.
    const QByteArray given
        = QCryptographicHash::hash(password.toUtf8(), QCryptographicHash::Sha256);
    const QByteArray wanted
        = QCryptographicHash::hash(m_config.password.toUtf8(), QCryptographicHash::Sha256);
    unsigned char difference = 0;
    for (qsizetype i = 0; i < given.size(); ++i)
        difference |= static_cast<unsigned char>(given.at(i) ^ wanted.at(i));
    return difference == 0;
}

qint64 ConnectionManager::passwordLockRemaining(const QString &address) const
{
    const auto it = m_passwordFailures.constFind(address);
    if (it == m_passwordFailures.cend())
        return 0;
    return std::max<qint64>(0, it->lockedUntilMs - m_clock.elapsed());
}

void ConnectionManager::notePasswordFailure(const QString &address)
{
    if (m_config.passwordFailures <= 0)
        return;
    const qint64 now = m_clock.elapsed();
    PasswordFailures &failures = m_passwordFailures[address];
    failures.times.push_back(now);
    while (now - failures.times.front() >= m_config.passwordFailureWindowMs)
        failures.times.pop_front();
    if (int(failures.times.size()) >= m_config.passwordFailures) {
        failures.lockedUntilMs = now + m_config.passwordLockoutMs;
        failures.times.clear();
        qCInfo(lcServer).noquote()
            << "refusing passwords from" << address << "for" << m_config.passwordLockoutMs / 1000
            << "s after" << m_config.passwordFailures << "wrong ones";
    }
}

void ConnectionManager::handleRequest(Client *client, const Request &request)
{
    if (request.type == RequestType::Hello) {
        handleHello(client, request);
        return;
    }
    if (!client->ready) {
        sendError(client, Error::NotReady, request.ref);
        return;
    }
    if (request.type != RequestType::Say && request.type != RequestType::Dm)
        deliverUnstored();
    switch (request.type) {
    case RequestType::Hello:
        break;
    case RequestType::Join:
        handleJoin(client, request);
        break;
    case RequestType::Leave:
        handleLeave(client, request);
        break;
    case RequestType::Rooms: {
        QJsonObject reply {{"type"_L1, u"rooms"_s}, {"rooms"_L1, roomList()}};
        if (!request.ref.isEmpty())
            reply.insert("ref"_L1, request.ref);
        send(client, reply);
        break;
    }
    case RequestType::Who: {
        if (!Protocol::isValidRoomName(request.room)) {
            sendError(client, Error::RoomInvalid, request.ref);
            break;
        }
        QJsonArray members;
        const auto it = m_rooms.find(request.room);
        if (it != m_rooms.end()) {
            for (const Client *member : std::as_const(it->second->members))
                members.append(member->nick);
        }
        QJsonObject reply {
            {"type"_L1, u"who"_s}, {"room"_L1, request.room}, {"members"_L1, members}};
        if (!request.ref.isEmpty())
            reply.insert("ref"_L1, request.ref);
        send(client, reply);
        break;
    }
    case RequestType::Say:
        handleSay(client, request);
        break;
    case RequestType::Dm:
        handleDm(client, request);
        break;
    case RequestType::Typing:
        handleTyping(client, request);
        break;
    case RequestType::Nick:
        handleNick(client, request);
        break;
    }
}

void ConnectionManager::handleHello(Client *client, const Request &request)
{
    if (client->ready) {
        sendError(client, Error::BadRequest, request.ref, u"You have already said hello."_s);
        return;
    }
    const QString nick = NickRules::normalize(request.nick);
    const auto logRefusal = [client, &nick](const QString &why) {
        qCInfo(lcServer).noquote()
            << client->label() << u"refused hello as %1: %2"_s.arg(quoted(nick), why);
    };
    if (!m_config.password.isEmpty()) {
        // A locked address is refused before the password is even looked at, so that guessing
        // from it learns nothing.
        if (const qint64 remaining = passwordLockRemaining(client->address); remaining > 0) {
            logRefusal(u"too many wrong passwords from the address"_s);
            QJsonObject error = Protocol::errorObject(Error::TooManyAttempts, request.ref);
            error.insert("retryAfter"_L1, qint64((remaining + 999) / 1000));
            send(client, error);
            client->departed = true;
            closeClient(client, Protocol::ClosePolicy, u"Too many wrong passwords"_s);
            return;
        }
        if (!passwordMatches(request.password)) {
            logRefusal(u"wrong password"_s);
            // No password at all is a client asking whether one is needed, not a guess.
            if (!request.password.isEmpty())
                notePasswordFailure(client->address);
            sendError(client, Error::BadPassword, request.ref);
            client->departed = true;
            closeClient(client, Protocol::ClosePolicy, u"Wrong password"_s);
            return;
        }
    }

    const QStringList keys = m_nickRules->lookAlikeKeys(nick);
    const bool valid = m_nickRules->isValid(nick, keys);
    const QString key = NickRules::caseKey(nick);
    const QStringList lookAlikeKeys = valid ? keys : QStringList();
    if (const Ban *ban = findBan(valid ? key : QString(), lookAlikeKeys, client->address)) {
        logRefusal(ban->reason.isEmpty() ? u"banned"_s : u"banned (%1)"_s.arg(ban->reason));
        sendError(client, Error::Banned, request.ref);
        client->departed = true;
        closeClient(client, Protocol::CloseBanned, u"Banned"_s);
        return;
    }
    if (!valid) {
        qCDebug(lcServer).noquote()
            << client->label() << "refused hello as" << quoted(nick) << "(nick_invalid)";
        sendError(client, Error::NickInvalid, request.ref);
        return;
    }
    if (m_byNickKey.contains(key) || lookAlikeHolder(lookAlikeKeys, client)) {
        qCDebug(lcServer).noquote()
            << client->label() << "refused hello as" << quoted(nick) << "(nick_taken)";
        sendError(client, Error::NickTaken, request.ref);
        return;
    }

    client->ready = true;
    // The welcome's limits promise a full burst from here on.
    client->tokens = m_config.burst;
    client->refillMs = m_clock.elapsed();
    registerNick(client, nick, key, lookAlikeKeys);

    const auto mute = m_mutes.constFind(key);
    if (mute != m_mutes.cend()) {
        if (mute->isValid() && *mute <= QDateTime::currentDateTimeUtc()) {
            m_mutes.erase(mute);
        } else {
            client->muted = true;
            client->mutedUntil = *mute;
        }
    }

    Room *lobby = m_rooms.at(u"lobby"_s).get();
    lobby->members.append(client);
    client->rooms.append(lobby);

    const QJsonObject limits {{"textLength"_L1, m_config.textLength},
                              {"nickLength"_L1, m_config.nickLength},
                              {"messagesPerSecond"_L1, m_config.messagesPerSecond},
                              {"burst"_L1, m_config.burst},
                              {"roomsPerUser"_L1, m_config.maxRoomsPerUser}};
    QJsonObject welcome {
        {"type"_L1, u"welcome"_s},
        {"nick"_L1, nick},
        {"server"_L1,
         QJsonObject {{"name"_L1, m_config.name}, {"version"_L1, QStringLiteral(LANCHAT_VERSION)}}},
        {"motd"_L1, m_config.motd},
        {"limits"_L1, limits},
        {"rooms"_L1, roomList()}};
    if (!request.ref.isEmpty())
        welcome.insert("ref"_L1, request.ref);
    send(client, welcome);

    qCInfo(lcServer).noquote() << client->label() << "joined the server";
    Q_EMIT clientIdentified(client->id, nick);
    joinRoom(client, lobby->name, {}, false);
    if (client->muted) {
        QJsonObject muted {{"type"_L1, u"muted"_s}};
        if (client->mutedUntil.isValid())
            muted.insert("until"_L1, Protocol::timestamp(client->mutedUntil));
        send(client, muted);
    }
}

void ConnectionManager::joinRoom(Client *client, const QString &name, const QString &ref,
                                 bool alreadyMember)
{
    auto it = m_rooms.find(name);
    if (it == m_rooms.end()) {
        auto room = std::make_unique<Room>();
        room->name = name;
        if (m_store) {
            const QList<ChatMessage> stored = m_store->roomHistory(name, m_config.historyLength);
            room->history.assign(stored.cbegin(), stored.cend());
        }
        it = m_rooms.emplace(name, std::move(room)).first;
    }
    Room *room = it->second.get();
    const bool isNew = !room->members.contains(client);
    if (isNew) {
        room->members.append(client);
        client->rooms.append(room);
    }

    QJsonArray members;
    for (const Client *member : std::as_const(room->members))
        members.append(member->nick);
    QJsonArray history;
    for (const ChatMessage &message : room->history)
        history.append(Protocol::messageObject(message));
    QJsonObject joined {{"type"_L1, u"joined"_s},
                        {"room"_L1, room->name},
                        {"topic"_L1, room->topic},
                        {"members"_L1, members},
                        {"history"_L1, history}};
    if (!ref.isEmpty())
        joined.insert("ref"_L1, ref);
    send(client, joined);

    if (isNew || !alreadyMember) {
        broadcast(*room, wireFrame(presence(room->name, client->nick, u"joined"_s)), client);
        qCDebug(lcServer).noquote() << client->label() << "joined room" << room->name;
        Q_EMIT clientJoinedRoom(client->id, client->nick, room->name);
    }
}

void ConnectionManager::handleJoin(Client *client, const Request &request)
{
    if (!Protocol::isValidRoomName(request.room)) {
        sendError(client, Error::RoomInvalid, request.ref);
        return;
    }
    const auto it = m_rooms.find(request.room);
    const bool member = it != m_rooms.end() && it->second->members.contains(client);
    // Every room is in every welcome and every room list: their number bounds what those cost.
    if (!member && client->rooms.size() >= m_config.maxRoomsPerUser) {
        sendError(
            client, Error::TooManyRooms, request.ref,
            u"You are in %1 rooms, as many as the server allows."_s.arg(m_config.maxRoomsPerUser));
        return;
    }
    if (it == m_rooms.end() && int(m_rooms.size()) >= m_config.maxRooms) {
        sendError(client, Error::TooManyRooms, request.ref);
        return;
    }
    joinRoom(client, request.room, request.ref, member);
}

ConnectionManager::Room *ConnectionManager::memberRoom(Client *client, const Request &request)
{
    if (!Protocol::isValidRoomName(request.room)) {
        sendError(client, Error::RoomInvalid, request.ref);
        return nullptr;
    }
    const auto it = m_rooms.find(request.room);
    if (it == m_rooms.end() || !it->second->members.contains(client)) {
        sendError(client, Error::NotInRoom, request.ref);
        return nullptr;
    }
    return it->second.get();
}

void ConnectionManager::handleLeave(Client *client, const Request &request)
{
    Room *room = memberRoom(client, request);
    if (!room)
        return;
    const QString name = room->name;
    QJsonObject left {{"type"_L1, u"left"_s}, {"room"_L1, name}};
    if (!request.ref.isEmpty())
        left.insert("ref"_L1, request.ref);
    send(client, left);
    leaveRoom(client, room, u"left"_s, {});
}

void ConnectionManager::leaveRoom(Client *client, Room *room, const QString &event,
                                  const QString &reason)
{
    room->members.removeOne(client);
    client->rooms.removeOne(room);

    QJsonObject note = presence(room->name, client->nick, event);
    if (event == "kicked"_L1 || event == "banned"_L1)
        note.insert("reason"_L1, reason);
    broadcast(*room, wireFrame(note));
    Q_EMIT clientLeftRoom(client->id, client->nick, room->name, event);

    if (room->members.isEmpty() && room->name != "lobby"_L1)
        m_rooms.erase(room->name);
}

void ConnectionManager::handleSay(Client *client, const Request &request)
{
    if (!Protocol::hasVisibleCharacter(request.text)
        || Protocol::codePointLength(request.text) > m_config.textLength) {
        sendError(client, Error::TextInvalid, request.ref);
        return;
    }
    if (!memberRoom(client, request))
        return;
    if (client->muted) {
        sendError(client, Error::Muted, request.ref);
        return;
    }

    ChatMessage message;
    message.id = m_nextMessageId++;
    message.room = request.room;
    message.from = client->nick;
    message.text = request.text;
    message.ts = QDateTime::currentDateTimeUtc();
    accept(message);
}

void ConnectionManager::handleDm(Client *client, const Request &request)
{
    if (!Protocol::hasVisibleCharacter(request.text)
        || Protocol::codePointLength(request.text) > m_config.textLength) {
        sendError(client, Error::TextInvalid, request.ref);
        return;
    }
    Client *target = findByNick(request.to);
    if (!target) {
        sendError(client, Error::NoSuchUser, request.ref);
        return;
    }
    if (client->muted) {
        sendError(client, Error::Muted, request.ref);
        return;
    }

    ChatMessage message;
    message.id = m_nextMessageId++;
    message.from = client->nick;
    message.to = target->nick;
    message.text = request.text;
    message.ts = QDateTime::currentDateTimeUtc();
    accept(message);
}

void ConnectionManager::accept(const ChatMessage &message)
{
    ++m_messagesTotal;
    ++m_messagesSinceStats;
    if (!m_store) {
        deliver(message);
        return;
    }
    // Messages accepted in one pass of the event loop reach the store in one transaction,
    // and nobody sees them before they are stored.
    m_unstored.append(message);
    if (!m_flushPending) {
        m_flushPending = true;
        QMetaObject::invokeMethod(this, &ConnectionManager::flushUnstored, Qt::QueuedConnection);
    }
}

void ConnectionManager::flushUnstored()
{
    m_flushPending = false;
    deliverUnstored();
    processOverflowed();
}

void ConnectionManager::deliverUnstored()
{
    if (m_unstored.isEmpty())
        return;
    const QList<ChatMessage> batch = std::exchange(m_unstored, {});
    if (!m_store->appendMessages(batch)) {
        qCWarning(lcServer) << "could not store" << batch.size()
                            << "messages; they were not delivered:" << m_store->errorString();
        return;
    }
    for (const ChatMessage &message : batch)
        deliver(message);
}

void ConnectionManager::deliver(const ChatMessage &message)
{
    const QByteArray frame = Protocol::textFrame(Protocol::encodeMessage(message));
    if (message.isDirect()) {
        Client *sender = findByNick(message.from);
        Client *target = findByNick(message.to);
        if (target)
            sendWire(target, frame);
        if (sender && sender != target)
            sendWire(sender, frame);
    } else {
        const auto it = m_rooms.find(message.room);
        if (it != m_rooms.end()) {
            Room &room = *it->second;
            broadcast(room, frame);
            room.history.push_back(message);
            while (int(room.history.size()) > m_config.historyLength)
                room.history.pop_front();
        }
    }
    Q_EMIT messagePosted(message);
}

void ConnectionManager::handleTyping(Client *client, const Request &request)
{
    Room *room = memberRoom(client, request);
    if (!room)
        return;
    if (client->muted) {
        sendError(client, Error::Muted, request.ref);
        return;
    }
    // One hint per interval on average, and each may come up to a third of the interval early.
    // A client that keeps to the interval by its own clock sees a hint arrive early whenever the
    // one before it was held up on the way; without the allowance that hint, often the only one
    // for what is being typed, would be dropped. Beyond it, typing is a hint: too many are
    // simply not passed on.
    const qint64 now = m_clock.elapsed();
    const qint64 interval = m_config.typingIntervalMs;
    if (client->typingDueMs - now > interval / 3)
        return;
    client->typingDueMs = std::max(client->typingDueMs, now) + interval;
    const QJsonObject typing {
        {"type"_L1, u"typing"_s}, {"room"_L1, request.room}, {"nick"_L1, client->nick}};
    broadcast(*room, wireFrame(typing), client);
}

void ConnectionManager::handleNick(Client *client, const Request &request)
{
    const QString nick = NickRules::normalize(request.nick);
    const QStringList lookAlikeKeys = m_nickRules->lookAlikeKeys(nick);
    if (!m_nickRules->isValid(nick, lookAlikeKeys)) {
        sendError(client, Error::NickInvalid, request.ref);
        return;
    }
    if (nick == client->nick) {
        // Nothing changes, so nobody else hears of it; the user still learns that the name
        // holds, in the form a user in no room gets.
        send(client,
             QJsonObject {{"type"_L1, u"presence"_s},
                          {"nick"_L1, nick},
                          {"event"_L1, u"renamed"_s},
                          {"old"_L1, nick}});
        return;
    }
    const QString key = NickRules::caseKey(nick);
    if (findBan(key, lookAlikeKeys, {})) {
        sendError(client, Error::Banned, request.ref);
        depart(client, u"banned"_s, u"Banned nickname"_s);
        closeClient(client, Protocol::CloseBanned, u"Banned"_s);
        return;
    }
    const Client *byKey = m_byNickKey.value(key);
    const Client *byLookAlike = lookAlikeHolder(lookAlikeKeys, client);
    if ((byKey && byKey != client) || byLookAlike) {
        sendError(client, Error::NickTaken, request.ref);
        return;
    }

    const QString old = client->nick;
    unregisterNick(client);
    registerNick(client, nick, key, lookAlikeKeys);
    if (client->muted) {
        // A mute follows the person, not the name.
        m_mutes.insert(key, m_mutes.take(NickRules::caseKey(old)));
    }

    qCInfo(lcServer).noquote() << client->label() << "renamed from" << old;
    if (client->rooms.isEmpty()) {
        // Nobody else would hear of it; the user still learns that the new name holds.
        QJsonObject note {{"type"_L1, u"presence"_s},
                          {"nick"_L1, nick},
                          {"event"_L1, u"renamed"_s},
                          {"old"_L1, old}};
        send(client, note);
    }
    for (Room *room : std::as_const(client->rooms)) {
        QJsonObject note = presence(room->name, nick, u"renamed"_s);
        note.insert("old"_L1, old);
        broadcast(*room, wireFrame(note));
    }
    Q_EMIT clientRenamed(client->id, old, nick);
}

void ConnectionManager::sendError(Client *client, Error code, const QString &ref,
                                  const QString &message)
{
    send(client, Protocol::errorObject(code, ref, message));
}

void ConnectionManager::send(Client *client, const QJsonObject &object)
{
    sendWire(client, wireFrame(object));
}

QByteArray ConnectionManager::wireFrame(const QJsonObject &object)
{
    return Protocol::textFrame(Protocol::encodeUtf8(object));
}

void ConnectionManager::sendWire(Client *client, const QByteArray &wire)
{
    if (client->overflowed || client->closed)
        return;
    qint64 pending = 0;
    if (QTcpSocket *transport = client->transport) {
        // Lost, with its disconnect still queued: the client is about to go.
        if (!transport->isOpen())
            return;
        if (transport->bytesToWrite() == 0) {
            // Corked: everything a client is sent in one pass of the event loop leaves in one
            // system call when the pass is over, without the socket's own write buffering.
            if (client->corked.isEmpty()) {
                m_corked.append(client->id);
                if (!m_uncorkPending) {
                    m_uncorkPending = true;
                    QMetaObject::invokeMethod(this, &ConnectionManager::uncorkAll,
                                              Qt::QueuedConnection);
                }
            }
            client->corked.append(wire);
        } else {
            // The kernel is full for this client; the socket queues behind what it holds.
            transport->write(wire);
        }
        pending = client->corked.size() + transport->bytesToWrite();
        if (pending > m_config.maxPendingBytes) {
            // The cap is on what the kernel will not take yet: hand it over before judging.
            uncork(client);
            transport->flush();
            pending = transport->bytesToWrite();
        }
    } else if (QWebSocket *socket = client->socket) {
        const int header = quint8(wire.at(1)) < 126 ? 2 : quint8(wire.at(1)) == 126 ? 4 : 10;
        socket->sendTextMessage(QString::fromUtf8(wire.constData() + header, wire.size() - header));
        pending = socket->bytesToWrite();
    } else {
        return;
    }
    ++client->messagesOut;
    client->bytesOut += quint64(wire.size());
    ++m_deliveriesSinceStats;
    m_sentSinceTrim += quint64(wire.size());
    if (m_sentSinceTrim >= TrimAfterBytes && !m_trimTimer.isActive()) {
        m_sentWhenTrimArmed = m_sentSinceTrim;
        m_trimArmedMs = m_clock.elapsed();
        m_trimTimer.start();
    }
    if (pending > m_config.maxPendingBytes)
        markOverflowed(client);
}

void ConnectionManager::markOverflowed(Client *client)
{
    // Cut off after the walk over the room is done, never in the middle of it.
    client->overflowed = true;
    m_overflowed.append(client->id);
}

void ConnectionManager::uncork(Client *client)
{
    if (client->corked.isEmpty())
        return;
    const QByteArray data = std::exchange(client->corked, {});
    QTcpSocket *transport = client->transport;
    if (!transport || !transport->isOpen())
        return;
    qint64 sent = 0;
#ifdef Q_OS_UNIX
    // Straight to the kernel: no copy into the socket's buffer, no write notifier to arm.
    const ssize_t result = ::send(int(transport->socketDescriptor()), data.constData(),
                                  size_t(data.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (result > 0)
        sent = result;
        // Any other failure is the socket's to find and report: it gets the data as it is.
#endif
    if (sent < data.size())
        transport->write(data.constData() + sent, data.size() - sent);
}

void ConnectionManager::uncorkAll()
{
    m_uncorkPending = false;
    const QList<quint64> ids = std::exchange(m_corked, {});
    for (quint64 id : ids) {
        const auto it = m_clients.find(id);
        if (it != m_clients.end())
            uncork(it->second.get());
    }
}

void ConnectionManager::broadcast(const Room &room, const QByteArray &wire, const Client *except)
{
    deliverUnstored();
    for (Client *member : room.members) {
        if (member != except)
            sendWire(member, wire);
    }
}

void ConnectionManager::processOverflowed()
{
    while (!m_overflowed.isEmpty()) {
        const QList<quint64> ids = std::exchange(m_overflowed, {});
        for (quint64 id : ids) {
            const auto it = m_clients.find(id);
            if (it == m_clients.end())
                continue;
            Client *client = it->second.get();
            qCInfo(lcServer).noquote() << client->label() << "dropped: more than"
                                       << m_config.maxPendingBytes << "bytes unsent";
            depart(client, u"timeout"_s, {});
            if (client->socket)
                client->socket->abort();
        }
    }
}

void ConnectionManager::depart(Client *client, const QString &event, const QString &reason)
{
    if (client->departed)
        return;
    // The client's own last messages go out under the nickname, and to the rooms, it had.
    deliverUnstored();
    client->departed = true;
    if (!client->ready)
        return;

    const QList<Room *> rooms = client->rooms;
    for (Room *room : rooms)
        leaveRoom(client, room, event, reason);
    unregisterNick(client);
    qCInfo(lcServer).noquote() << client->label()
                               << u"left the server (%1%2)"_s.arg(event, reasonSuffix(reason));
}

void ConnectionManager::closeClient(Client *client, int closeCode, const QString &reason)
{
    QWebSocket *socket = client->socket;
    if (!socket || client->closed)
        return;
    client->closed = true;
    uncork(client); // what was said before the close frame goes before it
    socket->close(QWebSocketProtocol::CloseCode(closeCode), Protocol::closeReason(reason));
    QTimer::singleShot(CloseGraceMs, socket, [socket] { socket->abort(); });
}

void ConnectionManager::onDisconnected(Client *client)
{
    if (!client->departed) {
        // A close frame from the client means it left; anything else means the connection was
        // lost.
        depart(client, client->closing ? u"left"_s : u"timeout"_s, {});
    }
    removeClient(client);
}

void ConnectionManager::removeClient(Client *client)
{
    const quint64 id = client->id;
    const QString nick = client->nick;
    if (client->counted) {
        auto it = m_perAddress.find(client->address);
        if (it != m_perAddress.end() && --it.value() <= 0)
            m_perAddress.erase(it);
    }
    if (QWebSocket *socket = client->socket) {
        socket->disconnect(this);
        socket->deleteLater();
    }
    // The transport goes with the socket, later; what it still reads is not for this client.
    if (QTcpSocket *transport = client->transport)
        transport->disconnect(this);
    m_clients.erase(id);
    processOverflowed();
    Q_EMIT clientDisconnected(id, nick, {});
}

void ConnectionManager::registerNick(Client *client, const QString &nick, const QString &key,
                                     const QStringList &lookAlikeKeys)
{
    client->nick = nick;
    client->nickKey = key;
    client->lookAlikeKeys = lookAlikeKeys;
    m_byNickKey.insert(key, client);
    for (const QString &lookAlike : lookAlikeKeys)
        m_byLookAlike.insert(lookAlike, client);
}

void ConnectionManager::unregisterNick(Client *client)
{
    if (m_byNickKey.value(client->nickKey) == client)
        m_byNickKey.remove(client->nickKey);
    for (const QString &lookAlike : std::as_const(client->lookAlikeKeys)) {
        if (m_byLookAlike.value(lookAlike) == client)
            m_byLookAlike.remove(lookAlike);
    }
}

const ConnectionManager::Client *
ConnectionManager::lookAlikeHolder(const QStringList &lookAlikeKeys, const Client *except) const
{
    for (const QString &lookAlike : lookAlikeKeys) {
        const Client *holder = m_byLookAlike.value(lookAlike);
        if (holder && holder != except)
            return holder;
    }
    return nullptr;
}

ConnectionManager::Client *ConnectionManager::findByNick(const QString &nick) const
{
    return m_byNickKey.value(NickRules::caseKey(NickRules::normalize(nick)));
}

bool ConnectionManager::banCoversNick(const Ban &ban, const QString &nickKey,
                                      const QStringList &lookAlikeKeys) const
{
    if (nickKey.isEmpty() || ban.nick.isEmpty())
        return false;
    if (NickRules::caseKey(ban.nick) == nickKey)
        return true;
    // The same test as nick_taken: otherwise "аlice" with a Cyrillic а walks past a ban on
    // "alice".
    auto cached = m_banLookAlikes.constFind(ban.nick);
    if (cached == m_banLookAlikes.cend())
        cached = m_banLookAlikes.insert(ban.nick, m_nickRules->lookAlikeKeys(ban.nick));
    const QStringList &banKeys = *cached;
    return std::any_of(lookAlikeKeys.cbegin(), lookAlikeKeys.cend(),
                       [&banKeys](const QString &key) { return banKeys.contains(key); });
}

const Ban *ConnectionManager::findBan(const QString &nickKey, const QStringList &lookAlikeKeys,
                                      const QString &address) const
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const Ban &ban : m_bans) {
        if (ban.until.isValid() && ban.until <= now)
            continue;
        if (banCoversNick(ban, nickKey, lookAlikeKeys))
            return &ban;
        if (!address.isEmpty() && !ban.address.isEmpty() && ban.address == address)
            return &ban;
    }
    return nullptr;
}

QJsonArray ConnectionManager::roomList() const
{
    QList<const Room *> rooms;
    rooms.reserve(qsizetype(m_rooms.size()));
    for (const auto &entry : m_rooms)
        rooms.append(entry.second.get());
    std::sort(rooms.begin(), rooms.end(),
              [](const Room *a, const Room *b) { return a->name < b->name; });
    QJsonArray list;
    for (const Room *room : rooms) {
        list.append(QJsonObject {{"name"_L1, room->name},
                                 {"members"_L1, int(room->members.size())},
                                 {"topic"_L1, room->topic}});
    }
    return list;
}

void ConnectionManager::kick(const QString &nick, const QString &reason)
{
    Client *client = findByNick(nick);
    if (!client) {
        Q_EMIT hostActionFailed(tr("Nobody named %1 is connected.").arg(nick));
        return;
    }
    qCInfo(lcServer).noquote() << client->label() + u" kicked by the host"_s + reasonSuffix(reason);
    send(client, QJsonObject {{"type"_L1, u"kicked"_s}, {"reason"_L1, reason}});
    depart(client, u"kicked"_s, reason);
    closeClient(client, Protocol::CloseKicked, reason);
    record(ModerationAction::Kick, client->nick, reason);
    processOverflowed();
}

void ConnectionManager::ban(const QString &nick, const QString &address, int seconds,
                            const QString &reason)
{
    QString banAddress = address.trimmed();
    if (!banAddress.isEmpty()) {
        QHostAddress parsed(banAddress);
        if (parsed.isNull()) {
            Q_EMIT hostActionFailed(tr("%1 is not an address.").arg(banAddress));
            return;
        }
        banAddress = LanChat::plainAddress(parsed).toString();
    }
    const QString banNick = NickRules::normalize(nick);
    if (banNick.isEmpty() && banAddress.isEmpty()) {
        Q_EMIT hostActionFailed(tr("A ban needs a nickname or an address."));
        return;
    }

    Ban ban;
    ban.nick = banNick;
    ban.address = banAddress;
    ban.reason = reason;
    ban.since = QDateTime::currentDateTimeUtc();
    if (seconds > 0)
        ban.until = ban.since.addSecs(seconds);
    ban.id = m_store ? m_store->addBan(ban) : 0;
    if (ban.id == 0)
        ban.id = m_nextBanId;
    m_nextBanId = std::max(m_nextBanId, ban.id + 1);
    m_bans.append(ban);

    QJsonObject notice {{"type"_L1, u"banned"_s}, {"reason"_L1, reason}};
    if (ban.until.isValid())
        notice.insert("until"_L1, Protocol::timestamp(ban.until));
    const QByteArray frame = wireFrame(notice);

    QList<Client *> targets;
    for (auto &entry : m_clients) {
        Client *client = entry.second.get();
        if (client->departed)
            continue;
        if ((client->ready && banCoversNick(ban, client->nickKey, client->lookAlikeKeys))
            || (!banAddress.isEmpty() && client->address == banAddress))
            targets.append(client);
    }
    for (Client *client : std::as_const(targets)) {
        qCInfo(lcServer).noquote()
            << client->label() + u" banned by the host"_s + reasonSuffix(reason);
        sendWire(client, frame);
        depart(client, u"banned"_s, reason);
        closeClient(client, Protocol::CloseBanned, reason);
    }

    const QString target = banNick.isEmpty() ? banAddress
        : banAddress.isEmpty()               ? banNick
                                             : banNick + u'@' + banAddress;
    record(ModerationAction::BanAction, target, reason, ban.until);
    reportBans();
    processOverflowed();
}

void ConnectionManager::unban(quint64 banId)
{
    const auto it = std::find_if(m_bans.begin(), m_bans.end(),
                                 [banId](const Ban &ban) { return ban.id == banId; });
    if (it == m_bans.end()) {
        Q_EMIT hostActionFailed(tr("There is no ban number %1.").arg(banId));
        return;
    }
    const QString target = it->nick.isEmpty() ? it->address : it->nick;
    if (m_store)
        m_store->removeBan(banId);
    m_bans.erase(it);
    m_banLookAlikes.clear();
    qCInfo(lcServer).noquote() << "host lifted the ban on" << target;
    record(ModerationAction::Unban, target, {});
    reportBans();
}

void ConnectionManager::mute(const QString &nick, int seconds)
{
    Client *client = findByNick(nick);
    if (!client) {
        Q_EMIT hostActionFailed(tr("Nobody named %1 is connected.").arg(nick));
        return;
    }
    client->muted = true;
    client->mutedUntil
        = seconds > 0 ? QDateTime::currentDateTimeUtc().addSecs(seconds) : QDateTime();
    m_mutes.insert(client->nickKey, client->mutedUntil);
    QJsonObject note {{"type"_L1, u"muted"_s}};
    if (client->mutedUntil.isValid())
        note.insert("until"_L1, Protocol::timestamp(client->mutedUntil));
    send(client, note);
    qCInfo(lcServer).noquote() << client->label() << "muted by the host";
    record(ModerationAction::Mute, client->nick, {}, client->mutedUntil);
    processOverflowed();
}

void ConnectionManager::unmute(const QString &nick)
{
    Client *client = findByNick(nick);
    if (!client || !client->muted) {
        m_mutes.remove(NickRules::caseKey(NickRules::normalize(nick)));
        if (!client)
            Q_EMIT hostActionFailed(tr("Nobody named %1 is connected.").arg(nick));
        return;
    }
    liftMute(client);
    record(ModerationAction::Unmute, client->nick, {});
    processOverflowed();
}

void ConnectionManager::liftMute(Client *client)
{
    client->muted = false;
    client->mutedUntil = {};
    m_mutes.remove(client->nickKey);
    send(client, QJsonObject {{"type"_L1, u"unmuted"_s}});
    qCInfo(lcServer).noquote() << client->label() << "unmuted";
}

void ConnectionManager::announce(const QString &room, const QString &rawText)
{
    const QString text = Protocol::wellFormed(rawText);
    if (!Protocol::hasVisibleCharacter(text)) {
        Q_EMIT hostActionFailed(tr("An announcement needs some text."));
        return;
    }
    QJsonObject notice {{"type"_L1, u"notice"_s},
                        {"text"_L1, text},
                        {"ts"_L1, Protocol::timestamp(QDateTime::currentDateTimeUtc())}};
    if (room.isEmpty()) {
        const QByteArray frame = wireFrame(notice);
        for (auto &entry : m_clients) {
            Client *client = entry.second.get();
            if (client->ready && !client->departed)
                sendWire(client, frame);
        }
    } else {
        const auto it = m_rooms.find(room);
        if (it == m_rooms.end()) {
            Q_EMIT hostActionFailed(tr("There is no room %1.").arg(room));
            return;
        }
        notice.insert("room"_L1, room);
        broadcast(*it->second, wireFrame(notice));
    }
    qCInfo(lcServer).noquote() << u"host announced to %1: %2"_s.arg(
        room.isEmpty() ? u"everyone"_s : room, text);
    Q_EMIT noticePosted(room, text);
    record(ModerationAction::Announce, room, text);
    processOverflowed();
}

void ConnectionManager::reloadHistory()
{
    for (auto &entry : m_rooms) {
        Room &room = *entry.second;
        room.history.clear();
        if (m_store) {
            const QList<ChatMessage> stored
                = m_store->roomHistory(room.name, m_config.historyLength);
            room.history.assign(stored.cbegin(), stored.cend());
        }
    }
}

void ConnectionManager::setTopic(const QString &room, const QString &rawTopic)
{
    const QString topic = Protocol::wellFormed(rawTopic);
    const auto it = m_rooms.find(room);
    if (it == m_rooms.end()) {
        Q_EMIT hostActionFailed(tr("There is no room %1.").arg(room));
        return;
    }
    it->second->topic = topic;
    const QJsonObject frame {{"type"_L1, u"topic"_s}, {"room"_L1, room}, {"topic"_L1, topic}};
    broadcast(*it->second, wireFrame(frame));
    if (topic.isEmpty())
        qCInfo(lcServer).noquote() << "host cleared the topic of" << room;
    else
        qCInfo(lcServer).noquote() << "host set the topic of" << room << "to" << topic;
    Q_EMIT topicChanged(room, topic);
    record(ModerationAction::Topic, room, topic);
    processOverflowed();
}

void ConnectionManager::shutdown(const QString &notice)
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    // No snapshot after this one: it would show connections that are about to go.
    for (QTimer *timer : {&m_sweepTimer, &m_pingTimer, &m_statsTimer, &m_trimTimer})
        timer->stop();
    deliverUnstored();

    const QString text = notice.isEmpty() ? tr("The server is shutting down.") : notice;
    const QByteArray frame
        = wireFrame(QJsonObject {{"type"_L1, u"notice"_s},
                                 {"text"_L1, text},
                                 {"ts"_L1, Protocol::timestamp(QDateTime::currentDateTimeUtc())}});
    for (auto &entry : m_clients) {
        Client *client = entry.second.get();
        if (client->ready && !client->departed)
            sendWire(client, frame);
        client->departed = true;
        closeClient(client, Protocol::CloseGoingAway, text);
    }
    qCInfo(lcServer).noquote() << (m_clients.size() == 1
                                       ? u"Closed 1 connection for shutdown"_s
                                       : u"Closed %1 connections for shutdown"_s.arg(
                                           m_clients.size()));
}

void ConnectionManager::record(int kind, const QString &target, const QString &reason,
                               const QDateTime &until)
{
    ModerationAction action;
    action.kind = ModerationAction::Kind(kind);
    action.target = target;
    action.reason = reason;
    action.at = QDateTime::currentDateTimeUtc();
    action.until = until;
    if (m_store)
        m_store->recordAction(action);
    Q_EMIT hostActionTaken(action);
}

void ConnectionManager::reportBans()
{
    Q_EMIT bansChanged(m_bans);
}

void ConnectionManager::expireBans()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const qsizetype before = m_bans.size();
    m_bans.removeIf([&now](const Ban &ban) { return ban.until.isValid() && ban.until <= now; });
    if (m_bans.size() != before) {
        m_banLookAlikes.clear();
        reportBans();
    }
}

void ConnectionManager::sweep()
{
    const qint64 now = m_clock.elapsed();
    const QDateTime utcNow = QDateTime::currentDateTimeUtc();
    QList<Client *> late;
    QList<Client *> silent;
    QList<Client *> unmuted;
    for (auto &entry : m_clients) {
        Client *client = entry.second.get();
        if (client->departed)
            continue;
        if (!client->ready && now - client->openedMs >= m_config.helloTimeoutMs)
            late.append(client);
        else if (now - client->lastHeardMs >= m_config.idleTimeoutMs)
            silent.append(client);
        else if (client->muted && client->mutedUntil.isValid() && client->mutedUntil <= utcNow)
            unmuted.append(client);
    }
    for (Client *client : std::as_const(late)) {
        qCInfo(lcServer).noquote() << client->label() << "closed: no hello in time";
        client->departed = true;
        closeClient(client, Protocol::ClosePolicy, u"No hello in time"_s);
    }
    for (Client *client : std::as_const(silent)) {
        qCInfo(lcServer).noquote() << client->label() << "dropped: stopped answering";
        depart(client, u"timeout"_s, {});
        closeClient(client, Protocol::CloseGoingAway, u"Stopped answering"_s);
        // Nothing more will come from a peer that stopped answering; don't wait for it.
        if (QWebSocket *socket = client->socket)
            QTimer::singleShot(0, socket, [socket] { socket->abort(); });
    }
    for (Client *client : std::as_const(unmuted))
        liftMute(client);
    expireBans();
    m_passwordFailures.removeIf([this, now](const auto &entry) {
        const PasswordFailures &failures = entry.value();
        return failures.lockedUntilMs <= now
            && (failures.times.empty()
                || now - failures.times.back() >= m_config.passwordFailureWindowMs);
    });
    processOverflowed();
}

void ConnectionManager::trimHeap()
{
    // Still busy: a trim walks the whole heap, so it waits for the traffic to pause, for a while.
    if (m_sentSinceTrim != m_sentWhenTrimArmed
        && m_clock.elapsed() - m_trimArmedMs < TrimLongestWaitMs) {
        m_sentWhenTrimArmed = m_sentSinceTrim;
        m_trimTimer.start();
        return;
    }
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
    m_sentSinceTrim = 0;
}

void ConnectionManager::pingAll()
{
    for (auto &entry : m_clients) {
        Client *client = entry.second.get();
        if (!client->departed && client->socket) {
            uncork(client);
            // What the client sent since the last ping, its pong included, has been read.
            releaseIdleBuffers(client->transport);
            client->socket->ping();
        }
    }
}

void ConnectionManager::emitStats()
{
    const qint64 now = m_clock.elapsed();
    const double seconds = std::max<qint64>(1, now - m_lastStatsMs) / 1000.0;
    ServerCounters counters;
    counters.connections = connectionCount();
    counters.users = int(m_byNickKey.size());
    counters.rooms = int(m_rooms.size());
    counters.messagesPerSecond = double(m_messagesSinceStats) / seconds;
    counters.deliveriesPerSecond = double(m_deliveriesSinceStats) / seconds;
    counters.messagesTotal = m_messagesTotal;
    m_messagesSinceStats = 0;
    m_deliveriesSinceStats = 0;
    m_lastStatsMs = now;

    if (!isSignalConnected(QMetaMethod::fromSignal(&ConnectionManager::statsUpdated)))
        return;
    QList<ClientStats> list;
    list.reserve(qsizetype(m_clients.size()));
    for (const auto &entry : m_clients) {
        const Client *client = entry.second.get();
        ClientStats stats;
        stats.id = client->id;
        stats.nick = client->nick;
        stats.address = client->hostAddress;
        stats.port = client->port;
        for (const Room *room : client->rooms)
            stats.rooms.append(room->name);
        stats.connectedAt = client->connectedAt;
        stats.idleMs = now - client->lastActiveMs;
        stats.messagesIn = client->messagesIn;
        stats.messagesOut = client->messagesOut;
        stats.bytesIn = client->bytesIn;
        stats.bytesOut = client->bytesOut;
        stats.rttMs = client->rttMs;
        stats.muted = client->muted;
        stats.state = client->departed ? u"closing"_s
            : !client->ready           ? u"no hello yet"_s
            : client->muted            ? u"muted"_s
                                       : u"online"_s;
        list.append(stats);
    }
    Q_EMIT statsUpdated(list, counters);
}
