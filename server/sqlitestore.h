#pragma once

#include "chatstore.h"

#include <QElapsedTimer>
#include <QHash>
#include <QSqlDatabase>
#include <QTimer>

#include <functional>
#include <memory>

class QLockFile;
class QSqlQuery;
class WalCheckpointer;

// The ChatStore of a LanChat server: one SQLite file in the data directory.
//
// The journal is a write-ahead log with synchronous=NORMAL. A commit is in the operating
// system's hands before appendMessages() returns, so killing the process (even with SIGKILL)
// loses nothing a client has been sent; only a power cut or a kernel crash can drop the last
// few transactions, and the file stays consistent even then. synchronous=FULL would close that
// gap at the price of an fsync for every group of messages, which caps the message rate at the
// disk's flush rate.
//
// A store opened for writing holds a lock file next to the database, so that two servers never
// hand out the same message ids. A store opened read-only (the History window, an export)
// takes no lock and can read while a server writes.
//
// A checkpoint, which copies the log back into the database, ends in an fsync that can take
// milliseconds. A store opened for writing runs its checkpoints on a thread of its own, with a
// connection of its own, so that the thread that stores and delivers messages does not wait for
// the disk. SQLite's own checkpoint after 1,000 pages stays as the backstop: it then finds
// little left to copy and sync.
//
// Every instance has its own named Qt SQL connection, used only from the thread that opened it.
class SqliteStore : public ChatStore
{
public:
    enum class Mode { ReadWrite, ReadOnly };

    // The schema this LanChat writes; PRAGMA user_version holds it in the file.
    static constexpr int SchemaVersion = 2;
    // PRAGMA application_id of a LanChat database ("LnCh").
    static constexpr qint32 ApplicationId = 0x4c6e4368;
    static constexpr int DefaultRetentionDays = 30;

    SqliteStore();
    ~SqliteStore() override;
    SqliteStore(const SqliteStore &) = delete;
    SqliteStore &operator=(const SqliteStore &) = delete;

    // The database file in dataDir; an empty dataDir means the platform's data location.
    static QString defaultFilePath(const QString &dataDir = {});

    // Opens (and for ReadWrite creates or migrates) the database. On failure errorString() names
    // the file and what is wrong with it.
    bool open(const QString &filePath, Mode mode = Mode::ReadWrite);
    void close();
    bool isOpen() const { return m_db.isOpen(); }
    QString filePath() const { return m_filePath; }
    Mode mode() const { return m_mode; }

    // Messages older than this many days are removed at open and every hour after; 0 keeps
    // none on disk (rooms then remember their latest messages in memory only).
    void setRetentionDays(int days);
    int retentionDays() const { return m_retentionDays; }
    // Removes the messages older than the retention as of now; returns how many, -1 on error.
    int prune(const QDateTime &now);
    int prune();
    // Removes every stored message. Ids carry on from where they were.
    bool clearHistory();
    // Clears the history of the database at filePath through a connection of its own, for a
    // window that does not own the server's store. Safe while a server writes to the file.
    static bool clearHistory(const QString &filePath, QString *errorString);

    quint64 lastMessageId() const override { return m_lastMessageId; }
    bool appendMessages(const QList<ChatMessage> &messages) override;
    QList<ChatMessage> roomHistory(const QString &room, int limit) const override;

    QList<Ban> loadBans() const override;
    quint64 addBan(const Ban &ban) override;
    bool removeBan(quint64 id) override;

    void recordAction(const ModerationAction &action) override;
    // The latest host actions, newest first.
    QList<ModerationAction> moderationRecord(int limit) const;

    // Messages whose text holds every word of query (case-insensitive, any script), newest
    // first. Words of one or two characters match as substrings too, just more slowly.
    // Messages not yet in the full-text index are read one by one, so none is missed.
    QList<ChatMessage> search(const QString &query, int limit) const;
    // Adds up to maxRows stored messages to the full-text index, oldest first; returns how many,
    // -1 on error. The store calls it by itself when the traffic pauses.
    int indexPending(int maxRows);
    // The latest stored messages of every room and every direct conversation, newest first.
    QList<ChatMessage> latestMessages(int limit) const;
    // Calls visit for every stored message of room (every message, direct ones too, when room
    // is empty), oldest first, until visit returns false. Returns false on a database error.
    bool forEachMessage(const QString &room,
                        const std::function<bool(const ChatMessage &)> &visit) const;
    qint64 messageCount() const;
    // Rooms that have stored messages, sorted.
    QStringList rooms() const;

    QString errorString() const override { return m_errorString; }

private:
    bool fail(const QString &what, const QString &detail) const;
    bool failQuery(const QString &what, const QSqlQuery &query) const;
    // For failures no caller hears of: the manager does not check every call.
    void warn() const;
    bool exec(const QString &sql, const QString &what);
    bool checkIdentity(int *version);
    bool migrate(int fromVersion);
    bool loadLastMessageId();
    void rememberInMemory(const QList<ChatMessage> &messages);
    QList<ChatMessage> selectMessages(QSqlQuery &query) const;
    QList<ChatMessage> searchUnindexed(const QStringList &words, qint64 indexedTo, int limit,
                                       bool *failed) const;
    qint64 storedIndexedTo(bool *ok) const;
    void indexWhenQuiet();
    qint64 cutoffMs(const QDateTime &now) const;

    QString m_connectionName;
    QSqlDatabase m_db;
    QString m_filePath;
    Mode m_mode = Mode::ReadWrite;
    std::unique_ptr<QLockFile> m_lock;
    std::unique_ptr<WalCheckpointer> m_checkpointer;
    std::unique_ptr<QSqlQuery> m_insertMessage;
    std::unique_ptr<QSqlQuery> m_updateLastId;
    quint64 m_lastMessageId = 0;
    int m_retentionDays = DefaultRetentionDays;
    QTimer m_pruneTimer;
    QTimer m_indexTimer;
    QElapsedTimer m_sinceAppend;
    qint64 m_indexedTo = 0; // the highest message id in the full-text index
    // With a retention of 0 days, the latest messages of each room, oldest first.
    QHash<QString, QList<ChatMessage>> m_memoryHistory;
    mutable QString m_errorString;
};
