#include "sqlitestore.h"

#include "logging.h"

#include <QAtomicInteger>
#include <QDir>
#include <QFileInfo>
#include <QLockFile>
#include <QRegularExpression>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 DayMs = 24 * 60 * 60 * 1000;
constexpr int PruneIntervalMs = 60 * 60 * 1000;
// Indexing waits for this long without a new message, and then takes this many at a time:
// about a millisecond of work each, short enough that nobody waits for it.
constexpr int IndexQuietMs = 100;
constexpr int IndexSliceRows = 200;
constexpr int IndexRetryMs = 10 * 1000;
// Past this many unindexed messages a slice goes in at every pause-length interval, busy or not.
constexpr quint64 IndexBacklogLimit = 50000;
// Enough for any history length the host picks; only used when nothing is kept on disk.
constexpr int MemoryHistoryLength = 500;
const QString DriverName = u"QSQLITE"_s;
constexpr int WriterCacheKiB = 256;
// At most this often, while messages come in: each checkpoint costs two fsyncs.
constexpr int CheckpointIntervalMs = 100;

// Schema version 2. The full-text index is an external-content FTS5 table, so the text is
// stored once. The trigram tokenizer finds words in any script, including those written
// without spaces, and ignores case. Messages are indexed after they are stored, in small slices
// while the server has a moment (see indexPending()): indexing costs several times more than
// storing, and must not slow delivery. meta's fts_indexed_to is the highest id the index holds;
// the delete trigger touches the index only for rows it holds, as FTS5 requires.
const char *const SchemaV2[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "INSERT INTO meta (key, value) VALUES ('last_message_id', 0)",
    "INSERT INTO meta (key, value) VALUES ('fts_indexed_to', 0)",
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " room TEXT," // NULL for a direct message
    " sender TEXT NOT NULL,"
    " recipient TEXT," // direct messages only
    " text TEXT NOT NULL,"
    " ts INTEGER NOT NULL)", // milliseconds since the epoch, UTC
    "CREATE INDEX messages_room ON messages (room, id)",
    "CREATE INDEX messages_ts ON messages (ts)",
    "CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages',"
    " content_rowid = 'id', tokenize = 'trigram case_sensitive 0')",
    "CREATE TABLE bans ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," // ban ids are never reused
    " nick TEXT,"
    " address TEXT,"
    " reason TEXT NOT NULL DEFAULT '',"
    " since INTEGER NOT NULL,"
    " until INTEGER)", // NULL: no end
    "CREATE TABLE moderation ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL DEFAULT '',"
    " at INTEGER NOT NULL,"
    " until INTEGER)",
};

// The triggers that keep the index in step with deletions and edits, in version 2 and later.
const char *const IndexTriggersV2[] = {
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages"
    " WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_indexed_to')"
    " BEGIN INSERT INTO messages_fts (messages_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages"
    " WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_indexed_to')"
    " BEGIN INSERT INTO messages_fts (messages_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text);"
    " INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END",
};

// Version 1 indexed every message in the same transaction as its insert; its index is whole.
const char *const UpgradeV1ToV2[] = {
    "DROP TRIGGER messages_fts_insert",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    "INSERT OR REPLACE INTO meta (key, value)"
    " VALUES ('fts_indexed_to', (SELECT coalesce(max(id), 0) FROM messages))",
};

const QString MessageColumns = u"id, room, sender, recipient, text, ts"_s;

// SQLite's own words, without Qt's generic suffix.
QString errorText(const QSqlError &error)
{
    return error.databaseText().isEmpty() ? error.text() : error.databaseText();
}

// Qt's SQLite driver binds unsigned 64-bit values as text, which SQLite then orders after every
// number; ids go in as signed integers.
QVariant sqlInteger(quint64 value)
{
    return QVariant(qint64(value));
}

QVariant nullable(const QString &text)
{
    return text.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(text);
}

QVariant msOrNull(const QDateTime &time)
{
    return time.isValid() ? QVariant(time.toMSecsSinceEpoch())
                          : QVariant(QMetaType::fromType<qlonglong>());
}

QDateTime timeOrInvalid(const QVariant &value)
{
    return value.isNull() ? QDateTime()
                          : QDateTime::fromMSecsSinceEpoch(value.toLongLong(), Qt::UTC);
}

QString kindName(ModerationAction::Kind kind)
{
    switch (kind) {
    case ModerationAction::Kick:
        return u"kick"_s;
    case ModerationAction::BanAction:
        return u"ban"_s;
    case ModerationAction::Unban:
        return u"unban"_s;
    case ModerationAction::Mute:
        return u"mute"_s;
    case ModerationAction::Unmute:
        return u"unmute"_s;
    case ModerationAction::Announce:
        return u"announce"_s;
    case ModerationAction::Topic:
        return u"topic"_s;
    }
    return u"kick"_s;
}

ModerationAction::Kind kindFromName(const QString &name)
{
    static const QHash<QString, ModerationAction::Kind> kinds = {
        {u"kick"_s, ModerationAction::Kick},     {u"ban"_s, ModerationAction::BanAction},
        {u"unban"_s, ModerationAction::Unban},   {u"mute"_s, ModerationAction::Mute},
        {u"unmute"_s, ModerationAction::Unmute}, {u"announce"_s, ModerationAction::Announce},
        {u"topic"_s, ModerationAction::Topic},
    };
    return kinds.value(name, ModerationAction::Kick);
}

ChatMessage messageFromRow(const QSqlQuery &query)
{
    ChatMessage message;
    message.id = query.value(0).toULongLong();
    message.room = query.value(1).toString();
    message.from = query.value(2).toString();
    message.to = query.value(3).toString();
    message.text = query.value(4).toString();
    message.ts = QDateTime::fromMSecsSinceEpoch(query.value(5).toLongLong(), Qt::UTC);
    return message;
}

QString nextConnectionName()
{
    static QAtomicInteger<quint64> counter;
    return u"lanchat-store-%1"_s.arg(++counter);
}

} // namespace

// Runs passive checkpoints, which never block the writer, on a thread with its own connection.
// Its thread, lock and wake-ups are the standard library's rather than Qt's: QWaitCondition
// lets go of the lock and takes it back inside Qt, and QThread::wait() returns before the
// thread is gone, where ThreadSanitizer cannot see either; the sanitizer builds must see every
// ordering LanChat relies on, and a joined thread leaves a process that can fork safely.
class WalCheckpointer
{
public:
    explicit WalCheckpointer(const QString &filePath)
        : m_filePath(filePath)
    { }

    ~WalCheckpointer()
    {
        {
            std::lock_guard locker(m_mutex);
            m_stopping = true;
        }
        m_wake.notify_all();
        if (m_thread.joinable())
            m_thread.join();
    }

    // Starts the thread and waits until its connection is open; false when it could not open.
    bool start()
    {
        m_thread = std::thread([this] { run(); });
        std::unique_lock locker(m_mutex);
        m_wake.wait(locker, [this] { return m_started; });
        return m_opened;
    }

    // After a commit. Cheap when a checkpoint is already due.
    void commitDone()
    {
        {
            std::lock_guard locker(m_mutex);
            if (m_due)
                return;
            m_due = true;
        }
        m_wake.notify_all();
    }

private:
    void run()
    {
        const QString name = nextConnectionName();
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(DriverName, name);
            db.setDatabaseName(m_filePath);
            const bool opened = db.open();
            if (!opened) {
                qCWarning(lcStore).noquote()
                    << u"History database %1: no background checkpoints (%2)"_s.arg(
                           QDir::toNativeSeparators(m_filePath), errorText(db.lastError()));
            }
            {
                std::lock_guard locker(m_mutex);
                m_started = true;
                m_opened = opened;
            }
            m_wake.notify_all();
            if (opened)
                checkpointWhileRunning(db);
            db.close();
        }
        QSqlDatabase::removeDatabase(name);
    }

    void checkpointWhileRunning(const QSqlDatabase &db)
    {
        QSqlQuery checkpoint(db);
        std::unique_lock locker(m_mutex);
        for (;;) {
            m_wake.wait(locker, [this] { return m_due || m_stopping; });
            if (m_stopping)
                return;
            m_due = false;
            locker.unlock();
            // A busy result only means another checkpoint was under way; the next one catches
            // up, and the writer's own checkpoint bounds the log meanwhile.
            if (!checkpoint.exec(u"PRAGMA wal_checkpoint(PASSIVE)"_s))
                qCDebug(lcStore) << "background checkpoint failed:" << checkpoint.lastError();
            checkpoint.finish();
            locker.lock();
            const auto pause = std::chrono::steady_clock::now()
                + std::chrono::milliseconds(CheckpointIntervalMs);
            m_wake.wait_until(locker, pause, [this] { return m_stopping; });
        }
    }

    const QString m_filePath;
    std::thread m_thread;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_started = false;
    bool m_opened = false;
    bool m_due = false;
    bool m_stopping = false;
};

SqliteStore::SqliteStore()
    : m_connectionName(nextConnectionName())
{
    m_pruneTimer.setInterval(PruneIntervalMs);
    m_indexTimer.setSingleShot(true);
    QObject::connect(&m_indexTimer, &QTimer::timeout, &m_indexTimer, [this] { indexWhenQuiet(); });
    QObject::connect(&m_pruneTimer, &QTimer::timeout, &m_pruneTimer, [this] {
        if (prune() < 0)
            warn();
    });
}

SqliteStore::~SqliteStore()
{
    close();
}

QString SqliteStore::defaultFilePath(const QString &dataDir)
{
    QString dir = dataDir;
    if (dir.isEmpty())
        dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return QDir(dir).absoluteFilePath(u"lanchat.sqlite"_s);
}

bool SqliteStore::open(const QString &filePath, Mode mode)
{
    close();
    m_errorString.clear();
    m_mode = mode;
    m_filePath = QFileInfo(filePath).absoluteFilePath();
    const QFileInfo info(m_filePath);

    if (info.exists() && !info.isFile())
        return fail(u"it is not a file"_s, {});
    if (mode == Mode::ReadOnly) {
        if (!info.exists())
            return fail(u"no history has been stored there yet"_s, {});
    } else {
        const QString dir = info.absolutePath();
        if (!QFileInfo(dir).isDir() && !QDir().mkpath(dir))
            return fail(u"cannot create the folder %1"_s.arg(QDir::toNativeSeparators(dir)), {});
        if (info.exists() && !info.isWritable())
            return fail(u"the file is not writable"_s, {});

        m_lock = std::make_unique<QLockFile>(m_filePath + u".lock"_s);
        m_lock->setStaleLockTime(0); // a lock is stale only when its process is gone
        if (!m_lock->tryLock(0)) {
            const QLockFile::LockError error = m_lock->error();
            qint64 pid = 0;
            QString host;
            QString app;
            m_lock->getLockInfo(&pid, &host, &app);
            m_lock.reset();
            if (error == QLockFile::LockFailedError)
                return fail(
                    u"another LanChat server (process %1 on %2) is using it"_s.arg(pid).arg(host),
                    {});
            return fail(u"cannot create a lock file in %1; is the folder writable?"_s.arg(
                            QDir::toNativeSeparators(dir)),
                        {});
        }
    }

    if (!QSqlDatabase::isDriverAvailable(DriverName)) {
        return fail(u"the Qt SQLite driver is not installed (Debian package libqt6sql6-sqlite)"_s,
                    {});
    }
    m_db = QSqlDatabase::addDatabase(DriverName, m_connectionName);
    m_db.setDatabaseName(m_filePath);
    // A reader waits for a writer's commit rather than failing at once.
    m_db.setConnectOptions(mode == Mode::ReadOnly
                               ? u"QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000"_s
                               : u"QSQLITE_BUSY_TIMEOUT=5000"_s);
    if (!m_db.open()) {
        const QString detail = errorText(m_db.lastError());
        close();
        return fail(u"cannot open it"_s, detail);
    }

    int version = 0;
    if (!checkIdentity(&version)) {
        close();
        return false;
    }

    if (mode == Mode::ReadOnly) {
        // Version 1 differs only in when messages are indexed, which a reader need not know.
        if (version < 1) {
            close();
            return fail(u"it was written by an older LanChat; start the server once to "
                        "upgrade it"_s,
                        {});
        }
        exec(u"PRAGMA query_only = ON"_s, {});
    } else {
        QSqlQuery journal(m_db);
        if (!journal.exec(u"PRAGMA journal_mode = WAL"_s) || !journal.next()
            || journal.value(0).toString().compare(u"wal"_s, Qt::CaseInsensitive) != 0) {
            const QString detail = errorText(journal.lastError());
            close();
            return fail(u"cannot switch it to write-ahead logging"_s, detail);
        }
        journal.finish();
        // Appends touch the last pages of each table and index; the index slices read a few
        // segments. SQLite's default cache, 2 MiB, would only fill with pages never read again.
        if (!exec(u"PRAGMA synchronous = NORMAL"_s, u"cannot set it up"_s)
            || !exec(u"PRAGMA cache_size = -%1"_s.arg(WriterCacheKiB), u"cannot set it up"_s)
            || !migrate(version)) {
            close();
            return false;
        }
    }

    if (!loadLastMessageId()) {
        close();
        return false;
    }

    if (mode == Mode::ReadWrite) {
        m_insertMessage = std::make_unique<QSqlQuery>(m_db);
        m_updateLastId = std::make_unique<QSqlQuery>(m_db);
        if (!m_insertMessage->prepare(
                u"INSERT INTO messages (%1) VALUES (?, ?, ?, ?, ?, ?)"_s.arg(MessageColumns))
            || !m_updateLastId->prepare(u"UPDATE meta SET value = max(CAST(value AS INTEGER), ?)"
                                        " WHERE key = 'last_message_id'"_s)) {
            const QString detail
                = errorText(m_insertMessage->lastError()) + errorText(m_updateLastId->lastError());
            close();
            return fail(u"cannot prepare its statements"_s, detail);
        }
        bool ok = false;
        m_indexedTo = storedIndexedTo(&ok);
        if (!ok || prune() < 0) {
            const QString error = m_errorString;
            close();
            m_errorString = error;
            return false;
        }
        // Without it the writer checkpoints every 1,000 pages, as SQLite does by default.
        m_checkpointer = std::make_unique<WalCheckpointer>(m_filePath);
        if (!m_checkpointer->start())
            m_checkpointer.reset();
        m_pruneTimer.start();
        if (m_lastMessageId > quint64(m_indexedTo))
            m_indexTimer.start(IndexQuietMs);
    }

    qCInfo(lcStore).noquote() << u"Opened %1%2; the last message id is %3"_s.arg(
        QDir::toNativeSeparators(m_filePath), mode == Mode::ReadOnly ? u" to read"_s : QString(),
        QString::number(m_lastMessageId));
    return true;
}

void SqliteStore::close()
{
    m_pruneTimer.stop();
    m_indexTimer.stop();
    m_sinceAppend.invalidate();
    m_indexedTo = 0;
    m_insertMessage.reset();
    m_updateLastId.reset();
    // Its connection goes before the writer's, whose close then checkpoints what is left.
    m_checkpointer.reset();
    if (m_db.isOpen() && m_mode == Mode::ReadWrite)
        QSqlQuery(m_db).exec(u"PRAGMA optimize"_s);
    if (m_db.isValid()) {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
    }
    m_lock.reset();
    m_memoryHistory.clear();
    m_lastMessageId = 0;
}

bool SqliteStore::fail(const QString &what, const QString &detail) const
{
    m_errorString = u"History database %1: %2"_s.arg(QDir::toNativeSeparators(m_filePath), what);
    if (!detail.trimmed().isEmpty())
        m_errorString += u" (%1)"_s.arg(detail.trimmed());
    return false;
}

void SqliteStore::warn() const
{
    qCWarning(lcStore).noquote() << m_errorString;
}

bool SqliteStore::failQuery(const QString &what, const QSqlQuery &query) const
{
    return fail(what, errorText(query.lastError()));
}

bool SqliteStore::exec(const QString &sql, const QString &what)
{
    QSqlQuery query(m_db);
    if (query.exec(sql))
        return true;
    if (what.isEmpty())
        return false;
    return failQuery(what, query);
}

bool SqliteStore::checkIdentity(int *version)
{
    // The first read of the file is where a damaged or foreign file shows itself.
    QSqlQuery query(m_db);
    if (!query.exec(u"SELECT (SELECT application_id FROM pragma_application_id),"
                    " (SELECT user_version FROM pragma_user_version),"
                    " (SELECT count(*) FROM sqlite_master)"_s)
        || !query.next()) {
        return failQuery(u"it is damaged or not a database"_s, query);
    }
    const qint32 applicationId = query.value(0).toInt();
    *version = query.value(1).toInt();
    const int objects = query.value(2).toInt();
    query.finish();

    if (applicationId != ApplicationId && (applicationId != 0 || objects > 0))
        return fail(u"it is not a LanChat history database"_s, {});
    if (*version > SchemaVersion) {
        return fail(u"it was written by a newer LanChat (history format %1; this LanChat "
                    "reads up to %2). Upgrade LanChat or choose another data folder"_s.arg(*version)
                        .arg(SchemaVersion),
                    {});
    }
    if (objects == 0)
        return true;

    if (!query.exec(u"PRAGMA quick_check"_s))
        return failQuery(u"it is damaged"_s, query);
    QStringList problems;
    while (query.next())
        problems << query.value(0).toString().split(u'\n');
    if (problems != QStringList {u"ok"_s}) {
        const qsizetype more = problems.size() - 3;
        QString detail = problems.mid(0, 3).join(u"; "_s);
        if (more > 0)
            detail += u"; and %1 more problems"_s.arg(more);
        return fail(u"it is damaged"_s, detail);
    }
    return true;
}

bool SqliteStore::migrate(int fromVersion)
{
    if (fromVersion == SchemaVersion)
        return true;
    if (!m_db.transaction())
        return fail(u"cannot write to it"_s, errorText(m_db.lastError()));

    auto run = [this](const auto &statements, const QString &what) {
        for (const char *statement : statements) {
            QSqlQuery query(m_db);
            if (!query.exec(QString::fromLatin1(statement))) {
                const QString detail = errorText(query.lastError());
                m_db.rollback();
                if (detail.contains(u"fts5"_s))
                    return fail(u"this SQLite library has no FTS5 full-text search"_s, detail);
                return fail(what, detail);
            }
        }
        return true;
    };
    // A new file gets the current schema at once; an older one goes up a version at a time.
    if (fromVersion < 1) {
        if (!run(SchemaV2, u"cannot create its tables"_s))
            return false;
    } else if (fromVersion == 1) {
        if (!run(UpgradeV1ToV2, u"cannot upgrade it"_s))
            return false;
    }
    if (!run(IndexTriggersV2, u"cannot create its tables"_s))
        return false;
    bool ok = true;
    ok = ok && exec(u"PRAGMA application_id = %1"_s.arg(ApplicationId), u"cannot write to it"_s)
        && exec(u"PRAGMA user_version = %1"_s.arg(SchemaVersion), u"cannot write to it"_s);
    if (!ok || !m_db.commit()) {
        const QString detail = errorText(m_db.lastError());
        m_db.rollback();
        return ok ? fail(u"cannot write to it"_s, detail) : false;
    }
    if (fromVersion > 0)
        qCInfo(lcStore) << "Upgraded the history database from version" << fromVersion << "to"
                        << SchemaVersion;
    return true;
}

bool SqliteStore::loadLastMessageId()
{
    QSqlQuery query(m_db);
    if (!query.exec(
            u"SELECT max((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_message_id'),"
            " coalesce((SELECT max(id) FROM messages), 0))"_s)
        || !query.next()) {
        return failQuery(u"cannot read it"_s, query);
    }
    m_lastMessageId = query.value(0).toULongLong();
    return true;
}

void SqliteStore::setRetentionDays(int days)
{
    m_retentionDays = std::max(0, days);
}

qint64 SqliteStore::cutoffMs(const QDateTime &now) const
{
    return now.toMSecsSinceEpoch() - qint64(m_retentionDays) * DayMs;
}

int SqliteStore::prune()
{
    return prune(QDateTime::currentDateTimeUtc());
}

int SqliteStore::prune(const QDateTime &now)
{
    if (!m_db.isOpen() || m_mode != Mode::ReadWrite)
        return 0;

    QSqlQuery query(m_db);
    if (m_retentionDays == 0) {
        if (!query.exec(u"DELETE FROM messages"_s)) {
            failQuery(u"cannot remove old messages"_s, query);
            return -1;
        }
    } else {
        query.prepare(u"DELETE FROM messages WHERE ts < ?"_s);
        query.addBindValue(cutoffMs(now));
        if (!query.exec()) {
            failQuery(u"cannot remove old messages"_s, query);
            return -1;
        }
    }
    const int removed = query.numRowsAffected();

    QSqlQuery bans(m_db);
    bans.prepare(u"DELETE FROM bans WHERE until IS NOT NULL AND until <= ?"_s);
    bans.addBindValue(now.toMSecsSinceEpoch());
    if (!bans.exec()) {
        failQuery(u"cannot remove expired bans"_s, bans);
        return -1;
    }

    if (removed > 0)
        qCInfo(lcStore) << "Removed" << removed << "messages older than" << m_retentionDays
                        << "days";
    return removed;
}

bool SqliteStore::clearHistory()
{
    m_memoryHistory.clear();
    if (!m_db.isOpen() || m_mode != Mode::ReadWrite)
        return fail(u"it is not open for writing"_s, {});
    if (!exec(u"DELETE FROM messages"_s, u"cannot clear the history"_s))
        return false;
    qCInfo(lcStore) << "History cleared";
    return true;
}

bool SqliteStore::clearHistory(const QString &filePath, QString *errorString)
{
    // Not open() in ReadWrite mode: the server holds that lock. SQLite's own locking keeps this
    // one transaction apart from the server's writes.
    {
        SqliteStore check;
        if (!check.open(filePath, Mode::ReadOnly)) {
            if (errorString)
                *errorString = check.errorString();
            return false;
        }
    }

    const QString name = nextConnectionName();
    QString error;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(DriverName, name);
        db.setDatabaseName(QFileInfo(filePath).absoluteFilePath());
        db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=5000"_s);
        if (!db.open()) {
            error = errorText(db.lastError());
        } else {
            QSqlQuery query(db);
            if (!query.exec(u"DELETE FROM messages"_s))
                error = errorText(query.lastError());
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);

    if (error.isEmpty()) {
        qCInfo(lcStore) << "History cleared";
        return true;
    }
    if (errorString) {
        *errorString = u"History database %1: cannot clear the history (%2)"_s.arg(
            QDir::toNativeSeparators(filePath), error);
    }
    return false;
}

bool SqliteStore::appendMessages(const QList<ChatMessage> &messages)
{
    if (messages.isEmpty())
        return true;
    if (!m_insertMessage)
        return fail(u"it is not open for writing"_s, {});

    quint64 highest = m_lastMessageId;
    for (const ChatMessage &message : messages)
        highest = std::max(highest, message.id);

    if (!m_db.transaction())
        return fail(u"cannot start a transaction"_s, errorText(m_db.lastError()));

    if (m_retentionDays > 0) {
        for (const ChatMessage &message : messages) {
            QSqlQuery &insert = *m_insertMessage;
            insert.bindValue(0, sqlInteger(message.id));
            insert.bindValue(1, nullable(message.room));
            insert.bindValue(2, message.from);
            insert.bindValue(3, nullable(message.to));
            insert.bindValue(4, message.text);
            insert.bindValue(5,
                             message.ts.isValid() ? message.ts.toMSecsSinceEpoch()
                                                  : QDateTime::currentMSecsSinceEpoch());
            if (!insert.exec()) {
                const QString detail = errorText(insert.lastError());
                m_db.rollback();
                return fail(u"cannot store message %1"_s.arg(message.id), detail);
            }
        }
    }

    m_updateLastId->bindValue(0, sqlInteger(highest));
    if (!m_updateLastId->exec()) {
        const QString detail = errorText(m_updateLastId->lastError());
        m_db.rollback();
        return fail(u"cannot store the message counter"_s, detail);
    }
    if (!m_db.commit()) {
        const QString detail = errorText(m_db.lastError());
        m_db.rollback();
        return fail(u"cannot commit messages"_s, detail);
    }

    m_lastMessageId = highest;
    if (m_checkpointer)
        m_checkpointer->commitDone();
    if (m_retentionDays == 0) {
        rememberInMemory(messages);
    } else {
        m_sinceAppend.start();
        if (!m_indexTimer.isActive())
            m_indexTimer.start(IndexQuietMs);
    }
    return true;
}

void SqliteStore::rememberInMemory(const QList<ChatMessage> &messages)
{
    for (const ChatMessage &message : messages) {
        if (message.isDirect())
            continue;
        QList<ChatMessage> &room = m_memoryHistory[message.room];
        room.append(message);
        if (room.size() > MemoryHistoryLength)
            room.remove(0, room.size() - MemoryHistoryLength);
    }
}

QList<ChatMessage> SqliteStore::selectMessages(QSqlQuery &query) const
{
    QList<ChatMessage> messages;
    while (query.next())
        messages.append(messageFromRow(query));
    return messages;
}

QList<ChatMessage> SqliteStore::roomHistory(const QString &room, int limit) const
{
    if (limit <= 0 || !m_db.isOpen())
        return {};
    if (m_mode == Mode::ReadWrite && m_retentionDays == 0) {
        const QList<ChatMessage> kept = m_memoryHistory.value(room);
        return kept.mid(std::max<qsizetype>(0, kept.size() - limit));
    }

    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    query.prepare(
        u"SELECT %1 FROM messages WHERE room = ? AND ts >= ? ORDER BY id DESC LIMIT ?"_s.arg(
            MessageColumns));
    query.addBindValue(room);
    query.addBindValue(m_mode == Mode::ReadWrite ? cutoffMs(QDateTime::currentDateTimeUtc())
                                                 : std::numeric_limits<qint64>::min());
    query.addBindValue(limit);
    if (!query.exec()) {
        failQuery(u"cannot read the history of %1"_s.arg(room), query);
        warn();
        return {};
    }
    QList<ChatMessage> messages = selectMessages(query);
    std::reverse(messages.begin(), messages.end());
    return messages;
}

QList<ChatMessage> SqliteStore::search(const QString &query, int limit) const
{
    if (limit <= 0 || !m_db.isOpen())
        return {};

    // Words of three characters or more go through the trigram index; shorter ones cannot, so
    // they narrow the indexed matches (or, alone, the whole table) with LIKE.
    QStringList phrases;
    QStringList shortWords;
    const QStringList words = query.split(QRegularExpression(u"\\s+"_s), Qt::SkipEmptyParts);
    for (const QString &word : words) {
        if (word.toUcs4().size() >= 3) {
            phrases << u'"' + QString(word).replace(u'"', u"\"\""_s) + u'"';
        } else {
            QString pattern = word;
            pattern.replace(u'\\', u"\\\\"_s).replace(u'%', u"\\%"_s).replace(u'_', u"\\_"_s);
            shortWords << u'%' + pattern + u'%';
        }
    }
    if (phrases.isEmpty() && shortWords.isEmpty())
        return {};

    // One bound for both halves, so that a server indexing meanwhile neither hides a message
    // nor shows one twice.
    bool ok = false;
    const qint64 indexedTo = storedIndexedTo(&ok);
    if (!ok)
        return {};
    bool failed = false;
    QList<ChatMessage> found = searchUnindexed(words, indexedTo, limit, &failed);
    if (failed || found.size() >= limit)
        return found;

    QString sql;
    if (!phrases.isEmpty()) {
        sql = u"SELECT m.id, m.room, m.sender, m.recipient, m.text, m.ts FROM messages_fts f"
              " JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ? AND f.rowid <= ?"_s;
    } else {
        sql = u"SELECT m.id, m.room, m.sender, m.recipient, m.text, m.ts FROM messages m"
              " WHERE m.id <= ?"_s;
    }
    for (qsizetype i = 0; i < shortWords.size(); ++i)
        sql += u" AND m.text LIKE ? ESCAPE '\\'"_s;
    // Ordering by the index's own rowid lets FTS5 walk its matches newest first and stop at the
    // limit, instead of sorting every match.
    sql += phrases.isEmpty() ? u" ORDER BY m.id DESC LIMIT ?"_s
                             : u" ORDER BY f.rowid DESC LIMIT ?"_s;

    QSqlQuery select(m_db);
    select.setForwardOnly(true);
    select.prepare(sql);
    if (!phrases.isEmpty())
        select.addBindValue(phrases.join(u' '));
    select.addBindValue(indexedTo);
    for (const QString &pattern : std::as_const(shortWords))
        select.addBindValue(pattern);
    select.addBindValue(limit - found.size());
    if (!select.exec()) {
        failQuery(u"cannot search"_s, select);
        return found;
    }
    return found + selectMessages(select);
}

QList<ChatMessage> SqliteStore::searchUnindexed(const QStringList &words, qint64 indexedTo,
                                                int limit, bool *failed) const
{
    // Only what arrived since the index last caught up: a few slices' worth, unless the server
    // has been busy without a pause for a long while.
    QSqlQuery select(m_db);
    select.setForwardOnly(true);
    select.prepare(u"SELECT %1 FROM messages WHERE id > ? ORDER BY id DESC"_s.arg(MessageColumns));
    select.addBindValue(indexedTo);
    if (!select.exec()) {
        *failed = true;
        failQuery(u"cannot search"_s, select);
        return {};
    }
    QList<ChatMessage> found;
    while (found.size() < limit && select.next()) {
        const QString text = select.value(4).toString();
        const bool all = std::all_of(words.cbegin(), words.cend(), [&text](const QString &word) {
            return text.contains(word, Qt::CaseInsensitive);
        });
        if (all)
            found.append(messageFromRow(select));
    }
    return found;
}

qint64 SqliteStore::storedIndexedTo(bool *ok) const
{
    // A file of version 1 has no such row: its index holds every message.
    QSqlQuery query(m_db);
    *ok = query.exec(u"SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta"
                     " WHERE key = 'fts_indexed_to'), (SELECT max(id) FROM messages), 0)"_s)
        && query.next();
    if (!*ok) {
        failQuery(u"cannot search"_s, query);
        return 0;
    }
    return query.value(0).toLongLong();
}

int SqliteStore::indexPending(int maxRows)
{
    if (!m_insertMessage || maxRows <= 0)
        return 0;
    if (!m_db.transaction()) {
        fail(u"cannot start a transaction"_s, errorText(m_db.lastError()));
        return -1;
    }
    QSqlQuery slice(m_db);
    slice.prepare(u"SELECT max(id), count(*) FROM (SELECT id FROM messages WHERE id > ?"
                  " ORDER BY id LIMIT ?)"_s);
    slice.addBindValue(m_indexedTo);
    slice.addBindValue(maxRows);
    if (!slice.exec() || !slice.next()) {
        failQuery(u"cannot index messages"_s, slice);
        m_db.rollback();
        return -1;
    }
    const qint64 upTo = slice.value(0).isNull() ? m_indexedTo : slice.value(0).toLongLong();
    const int rows = slice.value(1).toInt();
    slice.finish();

    QSqlQuery insert(m_db);
    insert.prepare(u"INSERT INTO messages_fts (rowid, text)"
                   " SELECT id, text FROM messages WHERE id > ? AND id <= ?"_s);
    insert.addBindValue(m_indexedTo);
    insert.addBindValue(upTo);
    QSqlQuery mark(m_db);
    mark.prepare(u"UPDATE meta SET value = ? WHERE key = 'fts_indexed_to'"_s);
    mark.addBindValue(upTo);
    if (!insert.exec() || !mark.exec()) {
        failQuery(u"cannot index messages"_s, insert.lastError().isValid() ? insert : mark);
        m_db.rollback();
        return -1;
    }
    if (!m_db.commit()) {
        fail(u"cannot index messages"_s, errorText(m_db.lastError()));
        m_db.rollback();
        return -1;
    }
    m_indexedTo = upTo;
    return rows;
}

void SqliteStore::indexWhenQuiet()
{
    // Delivery comes first: a slice waits for a pause in the traffic, unless so much has piled
    // up that searching it unindexed would be slow.
    const bool quiet = !m_sinceAppend.isValid() || m_sinceAppend.elapsed() >= IndexQuietMs;
    if (!quiet && m_lastMessageId - quint64(m_indexedTo) < IndexBacklogLimit) {
        m_indexTimer.start(IndexQuietMs);
        return;
    }
    const int indexed = indexPending(IndexSliceRows);
    if (indexed < 0) {
        warn();
        m_indexTimer.start(IndexRetryMs);
    } else if (indexed == IndexSliceRows) {
        m_indexTimer.start(quiet ? 0 : IndexQuietMs);
    }
}

QList<ChatMessage> SqliteStore::latestMessages(int limit) const
{
    if (limit <= 0 || !m_db.isOpen())
        return {};
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    query.prepare(u"SELECT %1 FROM messages ORDER BY id DESC LIMIT ?"_s.arg(MessageColumns));
    query.addBindValue(limit);
    if (!query.exec()) {
        failQuery(u"cannot read the history"_s, query);
        return {};
    }
    return selectMessages(query);
}

bool SqliteStore::forEachMessage(const QString &room,
                                 const std::function<bool(const ChatMessage &)> &visit) const
{
    if (!m_db.isOpen())
        return fail(u"it is not open"_s, {});
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    if (room.isEmpty()) {
        query.prepare(u"SELECT %1 FROM messages ORDER BY id"_s.arg(MessageColumns));
    } else {
        query.prepare(u"SELECT %1 FROM messages WHERE room = ? ORDER BY id"_s.arg(MessageColumns));
        query.addBindValue(room);
    }
    if (!query.exec())
        return failQuery(u"cannot read the history"_s, query);
    while (query.next()) {
        if (!visit(messageFromRow(query)))
            break;
    }
    if (query.lastError().isValid())
        return failQuery(u"cannot read the history"_s, query);
    return true;
}

qint64 SqliteStore::messageCount() const
{
    QSqlQuery query(m_db);
    if (!query.exec(u"SELECT count(*) FROM messages"_s) || !query.next())
        return -1;
    return query.value(0).toLongLong();
}

QStringList SqliteStore::rooms() const
{
    QStringList names;
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    if (!query.exec(u"SELECT DISTINCT room FROM messages WHERE room IS NOT NULL ORDER BY room"_s))
        return names;
    while (query.next())
        names << query.value(0).toString();
    return names;
}

QList<Ban> SqliteStore::loadBans() const
{
    QList<Ban> bans;
    if (!m_db.isOpen())
        return bans;
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    query.prepare(u"SELECT id, nick, address, reason, since, until FROM bans"
                  " WHERE until IS NULL OR until > ? ORDER BY id"_s);
    query.addBindValue(QDateTime::currentMSecsSinceEpoch());
    if (!query.exec()) {
        failQuery(u"cannot read the bans"_s, query);
        warn();
        return bans;
    }
    while (query.next()) {
        Ban ban;
        ban.id = query.value(0).toULongLong();
        ban.nick = query.value(1).toString();
        ban.address = query.value(2).toString();
        ban.reason = query.value(3).toString();
        ban.since = timeOrInvalid(query.value(4));
        ban.until = timeOrInvalid(query.value(5));
        bans.append(ban);
    }
    return bans;
}

quint64 SqliteStore::addBan(const Ban &ban)
{
    if (!m_db.isOpen() || m_mode != Mode::ReadWrite) {
        fail(u"it is not open for writing"_s, {});
        return 0;
    }
    QSqlQuery query(m_db);
    query.prepare(u"INSERT INTO bans (nick, address, reason, since, until)"
                  " VALUES (?, ?, ?, ?, ?)"_s);
    query.addBindValue(nullable(ban.nick));
    query.addBindValue(nullable(ban.address));
    query.addBindValue(ban.reason.isNull() ? u""_s : ban.reason);
    query.addBindValue(ban.since.isValid() ? ban.since.toMSecsSinceEpoch()
                                           : QDateTime::currentMSecsSinceEpoch());
    query.addBindValue(msOrNull(ban.until));
    if (!query.exec()) {
        failQuery(u"cannot store the ban"_s, query);
        warn();
        return 0;
    }
    return query.lastInsertId().toULongLong();
}

bool SqliteStore::removeBan(quint64 id)
{
    if (!m_db.isOpen() || m_mode != Mode::ReadWrite)
        return fail(u"it is not open for writing"_s, {});
    QSqlQuery query(m_db);
    query.prepare(u"DELETE FROM bans WHERE id = ?"_s);
    query.addBindValue(sqlInteger(id));
    if (!query.exec()) {
        failQuery(u"cannot remove ban %1"_s.arg(id), query);
        warn();
        return false;
    }
    return query.numRowsAffected() > 0;
}

void SqliteStore::recordAction(const ModerationAction &action)
{
    if (!m_db.isOpen() || m_mode != Mode::ReadWrite)
        return;
    QSqlQuery query(m_db);
    query.prepare(u"INSERT INTO moderation (kind, target, reason, at, until)"
                  " VALUES (?, ?, ?, ?, ?)"_s);
    query.addBindValue(kindName(action.kind));
    query.addBindValue(action.target.isNull() ? u""_s : action.target);
    query.addBindValue(action.reason.isNull() ? u""_s : action.reason);
    query.addBindValue(action.at.isValid() ? action.at.toMSecsSinceEpoch()
                                           : QDateTime::currentMSecsSinceEpoch());
    query.addBindValue(msOrNull(action.until));
    if (!query.exec()) {
        failQuery(u"cannot record the host's action"_s, query);
        warn();
    }
}

QList<ModerationAction> SqliteStore::moderationRecord(int limit) const
{
    QList<ModerationAction> actions;
    if (!m_db.isOpen() || limit <= 0)
        return actions;
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    query.prepare(u"SELECT kind, target, reason, at, until FROM moderation"
                  " ORDER BY id DESC LIMIT ?"_s);
    query.addBindValue(limit);
    if (!query.exec()) {
        failQuery(u"cannot read the moderation record"_s, query);
        return actions;
    }
    while (query.next()) {
        ModerationAction action;
        action.kind = kindFromName(query.value(0).toString());
        action.target = query.value(1).toString();
        action.reason = query.value(2).toString();
        action.at = timeOrInvalid(query.value(3));
        action.until = timeOrInvalid(query.value(4));
        actions.append(action);
    }
    return actions;
}
