#pragma once

#include <QHostAddress>
#include <QString>

class QSettings;

// Everything the host can set. The defaults are the ones PROTOCOL.md names.
struct ServerConfig
{
    quint16 port = 8080;
    QHostAddress bindAddress = QHostAddress::Any; // every interface, IPv4 and IPv6
    QString name = QStringLiteral("LanChat");
    QString motd;
    QString password; // empty: none
    QString dataDir; // empty: the platform's application data location

    int textLength = 2000;
    int nickLength = 24;
    int messagesPerSecond = 5;
    int burst = 10;
    int floodDrops = 20; // dropped requests within floodWindowMs that disconnect a client
    int floodWindowMs = 10'000;
    // Wrong passwords from one address within passwordFailureWindowMs that make the server
    // refuse every password from it for passwordLockoutMs; 0 turns the throttle off.
    int passwordFailures = 5;
    int passwordFailureWindowMs = 60'000;
    int passwordLockoutMs = 60'000;
    int maxConnections = 10'000;
    int maxConnectionsPerAddress = 1'000;
    int maxRooms = 1'000; // lobby included
    int maxRoomsPerUser = 20; // lobby included
    int helloTimeoutMs = 10'000;
    int pingIntervalMs = 30'000;
    int idleTimeoutMs = 75'000;
    int typingIntervalMs = 3'000;
    qint64 maxMessageBytes = 64 * 1024;
    qint64 maxPendingBytes = 4 * 1024 * 1024; // unsent data held for one client
    int handshakeTimeoutMs = 10'000;
    int historyLength = 50;
    // Whether history, bans and host actions are kept in dataDir. The lanchat program turns it
    // on; a bare ChatServer (tests, tools) keeps its history in memory.
    bool storeEnabled = false;
    int retentionDays = 30; // stored messages older than this go; 0 keeps none on disk
    int listenBacklog = 1024;

    // Reads the keys that are present in settings, leaving the rest as they are. A value that
    // is not of its key's kind or out of its range is left out, and error (if given) names the
    // first such key; false then.
    bool load(QSettings &settings, QString *error = nullptr);
    void save(QSettings &settings) const;

    // Empty when the server can run with these settings; otherwise one line that names the
    // first key at fault and what it allows.
    QString validate() const;
};
