#include "historyexport.h"
#include "sqlitestore.h"

#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 DayMs = 24 * 60 * 60 * 1000;

ChatMessage roomMessage(quint64 id, const QString &room, const QString &from, const QString &text,
                        const QDateTime &ts = QDateTime::currentDateTimeUtc())
{
    ChatMessage message;
    message.id = id;
    message.room = room;
    message.from = from;
    message.text = text;
    message.ts = ts;
    return message;
}

ChatMessage directMessage(quint64 id, const QString &from, const QString &to, const QString &text)
{
    ChatMessage message;
    message.id = id;
    message.from = from;
    message.to = to;
    message.text = text;
    message.ts = QDateTime::currentDateTimeUtc();
    return message;
}

QList<quint64> ids(const QList<ChatMessage> &messages)
{
    QList<quint64> result;
    for (const ChatMessage &message : messages)
        result << message.id;
    return result;
}

// Messages whose text tries everything a CSV or JSON writer can get wrong.
QList<ChatMessage> awkwardMessages()
{
    const QDateTime base = QDateTime::fromString(u"2026-12-03T18:00:00.123Z"_s, Qt::ISODateWithMs);
    return {
        roomMessage(1, u"lobby"_s, u"alice"_s, u"plain words"_s, base),
        roomMessage(2, u"lobby"_s, u"bob"_s, u"commas, \"quotes\", 'single' and \"\"doubled\"\""_s,
                    base.addMSecs(1)),
        roomMessage(3, u"games"_s, u"Zoë"_s, u"line one\nline two\r\nline three\rend"_s,
                    base.addMSecs(999)),
        roomMessage(4, u"games"_s, u"Юлия"_s,
                    u"Привет, мир! "
                    u"Ελληνικά, עברית, العربية"_s,
                    base.addSecs(60)),
        roomMessage(5, u"lobby"_s, u"直子"_s,
                    u"日本語のテキスト、中文，한국어 "
                    u"🎉👩‍👩‍👧‍👦🇩🇪"_s,
                    base.addDays(1)),
        directMessage(6, u"alice"_s, u"bob"_s, u"  leading and trailing spaces\t "_s),
        roomMessage(7, u"lobby"_s, u"carol"_s,
                    u"=SUM(A1:A2),\\back\\slash, <b>html</b> & {\"j\":1}"_s, base.addDays(2)),
        roomMessage(8, u"lobby"_s, u"dave"_s, u"\"\"\""_s, base.addDays(3)),
    };
}

} // namespace

class TestSqliteStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();

    void idsAndHistoryContinueAcrossReopen();
    void idsContinueAfterClearingPastTen();
    void groupIsAllOrNothing();
    void roomHistoryIsLatestOldestFirst();
    void bansHoldAcrossReopen();
    void moderationRecordHoldsActions();
    void retentionDropsExactlyOlderMessages_data();
    void retentionDropsExactlyOlderMessages();
    void retentionAppliesAtOpen();
    void retentionZeroKeepsNothingOnDisk();
    void clearHistoryKeepsIds();
    void clearHistoryFromAnotherConnection();
    void search_data();
    void search();
    void searchSpansIndexedAndNewMessages();
    void indexesWhenTrafficPauses();
    void indexFollowsDeletions();
    void checkpointsInTheBackground();
    void upgradesVersion1();
    void exportRoundTrips_data();
    void exportRoundTrips();
    void exportFileNamesFormat_data();
    void exportFileNamesFormat();
    void refusesDamagedFile_data();
    void refusesDamagedFile();
    void refusesNewerVersion();
    void refusesForeignDatabase();
    void refusesUnwritableLocation();
    void refusesSecondServer();
    void readOnlyWhileServerWrites();

private:
    QString dbPath() const { return m_dir->filePath(u"lanchat.sqlite"_s); }
    void createStoreWith(const QList<ChatMessage> &messages);
    // Changes the file through a plain SQLite connection, as another program would.
    void rawExec(const QString &sql);
    // The value of the first column of the first row, through a plain SQLite connection.
    QVariant rawValue(const QString &sql);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestSqliteStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestSqliteStore::createStoreWith(const QList<ChatMessage> &messages)
{
    SqliteStore store;
    QVERIFY2(store.open(dbPath()), qPrintable(store.errorString()));
    QVERIFY2(store.appendMessages(messages), qPrintable(store.errorString()));
}

QVariant TestSqliteStore::rawValue(const QString &sql)
{
    const QString name = u"raw"_s;
    QVariant value;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(dbPath());
        if (db.open()) {
            QSqlQuery query(db);
            if (query.exec(sql) && query.next())
                value = query.value(0);
            else
                qWarning() << sql << query.lastError().text();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return value;
}

void TestSqliteStore::rawExec(const QString &sql)
{
    const QString name = u"raw"_s;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(dbPath());
        QVERIFY(db.open());
        QSqlQuery query(db);
        QVERIFY2(query.exec(sql), qPrintable(query.lastError().text()));
    }
    QSqlDatabase::removeDatabase(name);
}

void TestSqliteStore::idsAndHistoryContinueAcrossReopen()
{
    {
        SqliteStore store;
        QVERIFY2(store.open(dbPath()), qPrintable(store.errorString()));
        QCOMPARE(store.lastMessageId(), 0u);
        QVERIFY(store.appendMessages({roomMessage(1, u"lobby"_s, u"alice"_s, u"one"_s),
                                      roomMessage(2, u"lobby"_s, u"bob"_s, u"two"_s)}));
        QVERIFY(store.appendMessages({directMessage(3, u"alice"_s, u"bob"_s, u"psst"_s)}));
        QCOMPARE(store.lastMessageId(), 3u);
    }
    SqliteStore store;
    QVERIFY2(store.open(dbPath()), qPrintable(store.errorString()));
    QCOMPARE(store.lastMessageId(), 3u);
    const QList<ChatMessage> history = store.roomHistory(u"lobby"_s, 50);
    QCOMPARE(ids(history), (QList<quint64> {1, 2}));
    QCOMPARE(history.at(1).from, u"bob"_s);
    QCOMPARE(history.at(1).text, u"two"_s);
    QVERIFY(history.at(1).to.isEmpty());
}

void TestSqliteStore::idsContinueAfterClearingPastTen()
{
    // With nothing left in the messages table, the counter alone holds the last id; it must
    // compare as a number (12 > 9), not as text.
    {
        SqliteStore store;
        QVERIFY(store.open(dbPath()));
        QList<ChatMessage> group;
        for (quint64 id = 1; id <= 9; ++id)
            group << roomMessage(id, u"lobby"_s, u"a"_s, u"x"_s);
        QVERIFY(store.appendMessages(group));
        QVERIFY(store.appendMessages({roomMessage(10, u"lobby"_s, u"a"_s, u"x"_s),
                                      roomMessage(12, u"lobby"_s, u"a"_s, u"x"_s)}));
        QCOMPARE(store.lastMessageId(), 12u);
        QVERIFY(store.clearHistory());
    }
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QCOMPARE(store.lastMessageId(), 12u);
    QVERIFY(store.appendMessages({roomMessage(13, u"lobby"_s, u"a"_s, u"x"_s)}));
    store.close();
    QVERIFY(store.open(dbPath()));
    QCOMPARE(store.lastMessageId(), 13u);
}

void TestSqliteStore::groupIsAllOrNothing()
{
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QVERIFY(store.appendMessages({roomMessage(1, u"lobby"_s, u"alice"_s, u"one"_s)}));

    // The second message reuses id 1, so the whole group must be refused.
    QVERIFY(!store.appendMessages({roomMessage(2, u"lobby"_s, u"alice"_s, u"two"_s),
                                   roomMessage(1, u"lobby"_s, u"alice"_s, u"again"_s),
                                   roomMessage(3, u"lobby"_s, u"alice"_s, u"three"_s)}));
    QVERIFY(store.errorString().contains(dbPath()));
    QCOMPARE(store.lastMessageId(), 1u);
    QCOMPARE(ids(store.roomHistory(u"lobby"_s, 50)), (QList<quint64> {1}));

    // The store stays usable after a refused group.
    QVERIFY(store.appendMessages({roomMessage(2, u"lobby"_s, u"alice"_s, u"two"_s)}));
    QCOMPARE(ids(store.roomHistory(u"lobby"_s, 50)), (QList<quint64> {1, 2}));
}

void TestSqliteStore::roomHistoryIsLatestOldestFirst()
{
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QList<ChatMessage> group;
    for (quint64 id = 1; id <= 100; ++id) {
        if (id % 10 == 0)
            group << directMessage(id, u"alice"_s, u"bob"_s, u"dm"_s);
        else
            group << roomMessage(id, id % 2 ? u"lobby"_s : u"games"_s, u"alice"_s, u"x"_s);
    }
    QVERIFY(store.appendMessages(group));

    QCOMPARE(ids(store.roomHistory(u"lobby"_s, 3)), (QList<quint64> {95, 97, 99}));
    QCOMPARE(ids(store.roomHistory(u"games"_s, 3)), (QList<quint64> {94, 96, 98}));
    QCOMPARE(store.roomHistory(u"lobby"_s, 1000).size(), 50);
    QVERIFY(store.roomHistory(u"nowhere"_s, 10).isEmpty());
    QVERIFY(store.roomHistory(u"lobby"_s, 0).isEmpty());
    QCOMPARE(store.rooms(), (QStringList {u"games"_s, u"lobby"_s}));
}

void TestSqliteStore::bansHoldAcrossReopen()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    quint64 forever = 0;
    quint64 later = 0;
    {
        SqliteStore store;
        QVERIFY(store.open(dbPath()));
        Ban ban;
        ban.nick = u"mallory"_s;
        ban.reason = u"spam, \"lots\""_s;
        ban.since = now;
        forever = store.addBan(ban);
        QVERIFY(forever > 0);

        Ban byAddress;
        byAddress.address = u"192.168.1.20"_s;
        byAddress.since = now;
        byAddress.until = now.addSecs(3600);
        later = store.addBan(byAddress);
        QVERIFY(later > forever);

        Ban expired;
        expired.nick = u"old"_s;
        expired.since = now.addSecs(-7200);
        expired.until = now.addSecs(-3600);
        const quint64 expiredId = store.addBan(expired);
        QVERIFY(expiredId > later);

        Ban lifted;
        lifted.nick = u"forgiven"_s;
        lifted.since = now;
        const quint64 liftedId = store.addBan(lifted);
        QVERIFY(store.removeBan(liftedId));
        QVERIFY(!store.removeBan(liftedId));
    }

    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    const QList<Ban> bans = store.loadBans();
    QCOMPARE(bans.size(), 2);
    QCOMPARE(bans.at(0).id, forever);
    QCOMPARE(bans.at(0).nick, u"mallory"_s);
    QVERIFY(bans.at(0).address.isEmpty());
    QCOMPARE(bans.at(0).reason, u"spam, \"lots\""_s);
    QCOMPARE(bans.at(0).since.toMSecsSinceEpoch(), now.toMSecsSinceEpoch());
    QVERIFY(bans.at(0).isPermanent());
    QCOMPARE(bans.at(1).id, later);
    QVERIFY(bans.at(1).nick.isEmpty());
    QCOMPARE(bans.at(1).address, u"192.168.1.20"_s);
    QCOMPARE(bans.at(1).until.toMSecsSinceEpoch(), now.addSecs(3600).toMSecsSinceEpoch());

    // Ban ids are never reused, even after the latest one is lifted.
    Ban next;
    next.nick = u"eve"_s;
    QVERIFY(store.addBan(next) > later + 2);
}

void TestSqliteStore::moderationRecordHoldsActions()
{
    const QDateTime at = QDateTime::fromString(u"2026-12-03T18:00:00.123Z"_s, Qt::ISODateWithMs);
    {
        SqliteStore store;
        QVERIFY(store.open(dbPath()));
        ModerationAction kick;
        kick.kind = ModerationAction::Kick;
        kick.target = u"mallory"_s;
        kick.reason = u"be nice"_s;
        kick.at = at;
        store.recordAction(kick);
        ModerationAction mute;
        mute.kind = ModerationAction::Mute;
        mute.target = u"eve"_s;
        mute.at = at.addSecs(1);
        mute.until = at.addSecs(61);
        store.recordAction(mute);
        ModerationAction announce;
        announce.kind = ModerationAction::Announce;
        announce.reason = u"Pizza is here 🍕"_s;
        announce.at = at.addSecs(2);
        store.recordAction(announce);
    }
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    const QList<ModerationAction> record = store.moderationRecord(10);
    QCOMPARE(record.size(), 3);
    QCOMPARE(record.at(0).kind, ModerationAction::Announce);
    QCOMPARE(record.at(0).reason, u"Pizza is here 🍕"_s);
    QVERIFY(record.at(0).target.isEmpty());
    QCOMPARE(record.at(1).kind, ModerationAction::Mute);
    QCOMPARE(record.at(1).until, at.addSecs(61));
    QCOMPARE(record.at(2).kind, ModerationAction::Kick);
    QCOMPARE(record.at(2).target, u"mallory"_s);
    QCOMPARE(record.at(2).reason, u"be nice"_s);
    QCOMPARE(record.at(2).at, at);
    QVERIFY(!record.at(2).until.isValid());
    QCOMPARE(store.moderationRecord(1).size(), 1);
}

void TestSqliteStore::retentionDropsExactlyOlderMessages_data()
{
    QTest::addColumn<int>("days");
    QTest::newRow("default 30 days") << 30;
    QTest::newRow("one day") << 1;
    QTest::newRow("a year") << 365;
}

void TestSqliteStore::retentionDropsExactlyOlderMessages()
{
    QFETCH(int, days);
    const QDateTime now = QDateTime::fromString(u"2026-12-03T18:00:00.000Z"_s, Qt::ISODateWithMs);
    const QDateTime limit = now.addMSecs(-days * DayMs);

    SqliteStore store;
    store.setRetentionDays(days);
    QVERIFY(store.open(dbPath()));
    QVERIFY(store.appendMessages({
        roomMessage(1, u"lobby"_s, u"a"_s, u"far too old"_s, limit.addDays(-3)),
        roomMessage(2, u"lobby"_s, u"a"_s, u"just too old"_s, limit.addMSecs(-1)),
        directMessage(3, u"a"_s, u"b"_s, u"too old direct"_s),
        roomMessage(4, u"lobby"_s, u"a"_s, u"exactly at the limit"_s, limit),
        roomMessage(5, u"lobby"_s, u"a"_s, u"just young enough"_s, limit.addMSecs(1)),
        roomMessage(6, u"lobby"_s, u"a"_s, u"new"_s, now),
    }));
    // Direct messages follow the same retention.
    rawExec(
        u"UPDATE messages SET ts = %1 WHERE id = 3"_s.arg(limit.addMSecs(-1).toMSecsSinceEpoch()));

    QCOMPARE(store.prune(now), 3);
    QList<quint64> kept;
    QVERIFY(store.forEachMessage({}, [&](const ChatMessage &message) {
        kept << message.id;
        return true;
    }));
    QCOMPARE(kept, (QList<quint64> {4, 5, 6}));
    QCOMPARE(store.prune(now), 0);
    // The index forgets the dropped text too.
    QVERIFY(store.search(u"too old"_s, 10).isEmpty());
    QCOMPARE(store.lastMessageId(), 6u);
}

void TestSqliteStore::retentionAppliesAtOpen()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    createStoreWith({roomMessage(1, u"lobby"_s, u"a"_s, u"old"_s, now.addDays(-10)),
                     roomMessage(2, u"lobby"_s, u"a"_s, u"recent"_s, now.addDays(-2))});

    SqliteStore store;
    store.setRetentionDays(5);
    QVERIFY(store.open(dbPath()));
    QCOMPARE(ids(store.roomHistory(u"lobby"_s, 10)), (QList<quint64> {2}));
    QCOMPARE(store.lastMessageId(), 2u);
}

void TestSqliteStore::retentionZeroKeepsNothingOnDisk()
{
    createStoreWith({roomMessage(1, u"lobby"_s, u"a"_s, u"from before"_s)});
    {
        SqliteStore store;
        store.setRetentionDays(0);
        QVERIFY(store.open(dbPath()));
        QCOMPARE(store.messageCount(), 0);
        QVERIFY(store.appendMessages({roomMessage(2, u"lobby"_s, u"a"_s, u"two"_s),
                                      directMessage(3, u"a"_s, u"b"_s, u"three"_s),
                                      roomMessage(4, u"lobby"_s, u"b"_s, u"four"_s)}));
        QCOMPARE(store.messageCount(), 0);
        // People joining still see what was said since the server started.
        QCOMPARE(ids(store.roomHistory(u"lobby"_s, 50)), (QList<quint64> {2, 4}));
        QCOMPARE(ids(store.roomHistory(u"lobby"_s, 1)), (QList<quint64> {4}));
    }
    SqliteStore store;
    store.setRetentionDays(0);
    QVERIFY(store.open(dbPath()));
    QCOMPARE(store.lastMessageId(), 4u);
    QVERIFY(store.roomHistory(u"lobby"_s, 50).isEmpty());
}

void TestSqliteStore::clearHistoryKeepsIds()
{
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QVERIFY(store.appendMessages({roomMessage(1, u"lobby"_s, u"a"_s, u"one"_s),
                                  directMessage(2, u"a"_s, u"b"_s, u"two"_s)}));
    QVERIFY(store.clearHistory());
    QCOMPARE(store.messageCount(), 0);
    QVERIFY(store.search(u"one"_s, 10).isEmpty());
    QCOMPARE(store.lastMessageId(), 2u);
    store.close();
    QVERIFY(store.open(dbPath()));
    QCOMPARE(store.lastMessageId(), 2u);
}

void TestSqliteStore::clearHistoryFromAnotherConnection()
{
    SqliteStore server;
    QVERIFY(server.open(dbPath()));
    QVERIFY(server.appendMessages({roomMessage(1, u"lobby"_s, u"a"_s, u"one"_s)}));

    QString error;
    QVERIFY2(SqliteStore::clearHistory(dbPath(), &error), qPrintable(error));
    QVERIFY(server.roomHistory(u"lobby"_s, 10).isEmpty());
    QVERIFY(server.appendMessages({roomMessage(2, u"lobby"_s, u"a"_s, u"two"_s)}));
    QCOMPARE(ids(server.roomHistory(u"lobby"_s, 10)), (QList<quint64> {2}));

    QVERIFY(!SqliteStore::clearHistory(m_dir->filePath(u"missing.sqlite"_s), &error));
    QVERIFY(error.contains(u"missing.sqlite"_s));
}

void TestSqliteStore::search_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QList<quint64>>("expected");

    QTest::newRow("word") << u"plain"_s << QList<quint64> {1};
    QTest::newRow("any case") << u"PLAIN WORDS"_s << QList<quint64> {1};
    QTest::newRow("every word must match") << u"plain missing"_s << QList<quint64> {};
    QTest::newRow("part of a word") << u"oubl"_s << QList<quint64> {2};
    QTest::newRow("quotes in the query") << u"\"quotes\""_s << QList<quint64> {2};
    QTest::newRow("cyrillic any case") << u"ПРИВЕТ"_s << QList<quint64> {4};
    QTest::newRow("greek") << u"Ελληνικά"_s << QList<quint64> {4};
    QTest::newRow("japanese without spaces") << u"テキスト"_s << QList<quint64> {5};
    QTest::newRow("korean") << u"한국어"_s << QList<quint64> {5};
    QTest::newRow("emoji") << u"🎉"_s << QList<quint64> {5};
    QTest::newRow("two letters") << u"tw"_s << QList<quint64> {3};
    QTest::newRow("short and long words") << u"line tw"_s << QList<quint64> {3};
    QTest::newRow("like wildcards are literal") << u"%"_s << QList<quint64> {};
    QTest::newRow("direct messages too") << u"trailing"_s << QList<quint64> {6};
    QTest::newRow("newest first") << u"\"\""_s << QList<quint64> {8, 2};
    QTest::newRow("fts syntax is literal") << u"AND OR NOT"_s << QList<quint64> {};
    QTest::newRow("white space only") << u"  "_s << QList<quint64> {};
}

void TestSqliteStore::search()
{
    QFETCH(QString, query);
    QFETCH(QList<quint64>, expected);

    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QVERIFY(store.appendMessages(awkwardMessages()));
    // Just stored, the messages are read one by one; indexed, the index finds them. Both ways
    // must agree.
    QCOMPARE(ids(store.search(query, 10)), expected);
    QCOMPARE(store.indexPending(100), int(awkwardMessages().size()));
    QCOMPARE(ids(store.search(query, 10)), expected);
    QVERIFY2(store.errorString().isEmpty(), qPrintable(store.errorString()));
}

void TestSqliteStore::searchSpansIndexedAndNewMessages()
{
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QList<ChatMessage> messages;
    for (quint64 id = 1; id <= 10; ++id)
        messages << roomMessage(id, u"lobby"_s, u"a"_s, u"pizza %1"_s.arg(id));
    QVERIFY(store.appendMessages(messages));
    QCOMPARE(store.indexPending(4), 4);
    QCOMPARE(rawValue(u"SELECT value FROM meta WHERE key = 'fts_indexed_to'"_s).toInt(), 4);

    QCOMPARE(ids(store.search(u"PIZZA"_s, 100)), (QList<quint64> {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
    // The limit is filled from the newest, across the two halves.
    QCOMPARE(ids(store.search(u"pizza"_s, 3)), (QList<quint64> {10, 9, 8}));
    QCOMPARE(ids(store.search(u"pizza"_s, 8)), (QList<quint64> {10, 9, 8, 7, 6, 5, 4, 3}));
    QCOMPARE(ids(store.search(u"pizza 3"_s, 100)), (QList<quint64> {3}));

    SqliteStore reader;
    QVERIFY(reader.open(dbPath(), SqliteStore::Mode::ReadOnly));
    QCOMPARE(reader.search(u"pizza"_s, 100).size(), 10);
    QCOMPARE(reader.indexPending(100), 0); // a reader never writes

    QCOMPARE(store.indexPending(100), 6);
    QCOMPARE(store.indexPending(100), 0);
    QCOMPARE(reader.search(u"pizza"_s, 100).size(), 10);
}

void TestSqliteStore::indexesWhenTrafficPauses()
{
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    QList<ChatMessage> messages;
    for (quint64 id = 1; id <= 450; ++id)
        messages << roomMessage(id, u"lobby"_s, u"a"_s, u"message %1"_s.arg(id));
    QVERIFY(store.appendMessages(messages));
    QCOMPARE(rawValue(u"SELECT value FROM meta WHERE key = 'fts_indexed_to'"_s).toInt(), 0);
    // Several slices, one after another, once nothing new arrives.
    QTRY_COMPARE(rawValue(u"SELECT value FROM meta WHERE key = 'fts_indexed_to'"_s).toInt(), 450);
    QCOMPARE(
        rawValue(u"SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'message'"_s).toInt(),
        450);

    // A store opened on a file with unindexed messages catches up by itself too.
    QVERIFY(store.appendMessages({roomMessage(451, u"lobby"_s, u"a"_s, u"late"_s)}));
    store.close();
    QVERIFY(store.open(dbPath()));
    QTRY_COMPARE(rawValue(u"SELECT value FROM meta WHERE key = 'fts_indexed_to'"_s).toInt(), 451);
}

void TestSqliteStore::checkpointsInTheBackground()
{
    SqliteStore store;
    QVERIFY(store.open(dbPath()));
    const qint64 before = QFileInfo(dbPath()).size();
    // About a hundred pages: far below the thousand after which the writer checkpoints itself,
    // so only the background checkpoint can move them from the log into the database.
    const QString text(1000, u'x');
    quint64 id = 0;
    for (int group = 0; group < 40; ++group) {
        QList<ChatMessage> messages;
        for (int i = 0; i < 10; ++i)
            messages << roomMessage(++id, u"lobby"_s, u"a"_s, text);
        QVERIFY(store.appendMessages(messages));
    }
    QTRY_VERIFY(QFileInfo(dbPath()).size() > before + 100 * 1000);
    QCOMPARE(rawValue(u"SELECT count(*) FROM messages"_s).toInt(), 400);
}

void TestSqliteStore::indexFollowsDeletions()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    SqliteStore store;
    store.setRetentionDays(1);
    QVERIFY(store.open(dbPath()));
    QVERIFY(store.appendMessages(
        {roomMessage(1, u"lobby"_s, u"a"_s, u"old indexed"_s, now.addMSecs(-2 * DayMs)),
         roomMessage(2, u"lobby"_s, u"a"_s, u"new indexed"_s)}));
    QCOMPARE(store.indexPending(100), 2);
    QVERIFY(store.appendMessages(
        {roomMessage(3, u"lobby"_s, u"a"_s, u"old unindexed"_s, now.addMSecs(-2 * DayMs)),
         roomMessage(4, u"lobby"_s, u"a"_s, u"new unindexed"_s)}));
    QCOMPARE(store.prune(now), 2);
    QCOMPARE(ids(store.search(u"indexed"_s, 10)), (QList<quint64> {4, 2}));
    QCOMPARE(store.indexPending(100), 1);
    QCOMPARE(ids(store.search(u"indexed"_s, 10)), (QList<quint64> {4, 2}));

    QVERIFY(store.clearHistory());
    QVERIFY(store.search(u"indexed"_s, 10).isEmpty());
    // FTS5 checks its index against the messages table.
    rawExec(u"INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')"_s);
    QCOMPARE(rawValue(u"SELECT count(*) FROM messages_fts"_s).toInt(), 0);
}

void TestSqliteStore::upgradesVersion1()
{
    // A file as LanChat 0.1 wrote it: every message indexed by a trigger as it was stored.
    const char *const version1[] = {
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
        "INSERT INTO meta (key, value) VALUES ('last_message_id', 2)",
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT, sender TEXT NOT NULL,"
        " recipient TEXT, text TEXT NOT NULL, ts INTEGER NOT NULL)",
        "CREATE INDEX messages_room ON messages (room, id)",
        "CREATE INDEX messages_ts ON messages (ts)",
        "CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages',"
        " content_rowid = 'id', tokenize = 'trigram case_sensitive 0')",
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
        " INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END",
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
        " INSERT INTO messages_fts (messages_fts, rowid, text)"
        " VALUES ('delete', old.id, old.text); END",
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN"
        " INSERT INTO messages_fts (messages_fts, rowid, text)"
        " VALUES ('delete', old.id, old.text);"
        " INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END",
        "CREATE TABLE bans (id INTEGER PRIMARY KEY AUTOINCREMENT, nick TEXT, address TEXT,"
        " reason TEXT NOT NULL DEFAULT '', since INTEGER NOT NULL, until INTEGER)",
        "CREATE TABLE moderation (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
        " target TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL,"
        " until INTEGER)",
        "INSERT INTO messages VALUES (1, 'lobby', 'alice', NULL,"
        " 'Съешь же ещё этих булок', 1000)",
        "INSERT INTO messages VALUES (2, 'lobby', 'bob', NULL, 'pizza at noon', 2000)",
        "PRAGMA application_id = 1282294632",
        "PRAGMA user_version = 1",
    };
    for (const char *statement : version1)
        rawExec(QString::fromUtf8(statement));

    {
        // A reader takes the file as it is.
        SqliteStore reader;
        QVERIFY2(reader.open(dbPath(), SqliteStore::Mode::ReadOnly),
                 qPrintable(reader.errorString()));
        QCOMPARE(ids(reader.search(u"БУЛОК"_s, 10)), (QList<quint64> {1}));
    }

    SqliteStore store;
    store.setRetentionDays(100000); // the two old messages are from 1970

    QVERIFY2(store.open(dbPath()), qPrintable(store.errorString()));
    QCOMPARE(rawValue(u"PRAGMA user_version"_s).toInt(), SqliteStore::SchemaVersion);
    QCOMPARE(rawValue(u"SELECT value FROM meta WHERE key = 'fts_indexed_to'"_s).toInt(), 2);
    QCOMPARE(store.lastMessageId(), 2u);
    QCOMPARE(ids(store.search(u"БУЛОК"_s, 10)), (QList<quint64> {1}));
    QVERIFY(store.appendMessages({roomMessage(3, u"lobby"_s, u"carol"_s, u"more pizza"_s)}));
    QCOMPARE(ids(store.search(u"pizza"_s, 10)), (QList<quint64> {3, 2}));
    QCOMPARE(store.indexPending(10), 1);
    QCOMPARE(ids(store.search(u"pizza"_s, 10)), (QList<quint64> {3, 2}));
    QCOMPARE(store.prune(QDateTime::currentDateTimeUtc().addDays(100001)), 3);
    rawExec(u"INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')"_s);
}

void TestSqliteStore::exportRoundTrips_data()
{
    QTest::addColumn<QString>("fileName");
    QTest::addColumn<QString>("room");
    QTest::addColumn<QList<quint64>>("expected");

    const QList<quint64> all {1, 2, 3, 4, 5, 6, 7, 8};
    QTest::newRow("csv, everything") << u"history.csv"_s << QString() << all;
    QTest::newRow("json, everything") << u"history.json"_s << QString() << all;
    QTest::newRow("csv, one room") << u"games.CSV"_s << u"games"_s << QList<quint64> {3, 4};
    QTest::newRow("json, one room")
        << u"lobby.json"_s << u"lobby"_s << QList<quint64> {1, 2, 5, 7, 8};
    QTest::newRow("json, empty room") << u"none.json"_s << u"nowhere"_s << QList<quint64> {};
    QTest::newRow("csv, empty room") << u"none.csv"_s << u"nowhere"_s << QList<quint64> {};
}

void TestSqliteStore::exportRoundTrips()
{
    QFETCH(QString, fileName);
    QFETCH(QString, room);
    QFETCH(QList<quint64>, expected);

    const QList<ChatMessage> original = awkwardMessages();
    {
        SqliteStore store;
        QVERIFY(store.open(dbPath()));
        QVERIFY(store.appendMessages(original));
    }

    // The server holds the file while the export reads it.
    SqliteStore server;
    QVERIFY(server.open(dbPath()));
    const QString path = m_dir->filePath(fileName);
    QString error;
    qint64 count = -1;
    QVERIFY2(HistoryExport::exportFile(m_dir->path(), path, room, &error, &count),
             qPrintable(error));
    QCOMPARE(count, expected.size());

    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray data = file.readAll();
    QList<ChatMessage> read;
    const bool ok = fileName.endsWith(u"json"_s) ? HistoryExport::fromJson(data, &read, &error)
                                                 : HistoryExport::fromCsv(data, &read, &error);
    QVERIFY2(ok, qPrintable(error));

    QCOMPARE(ids(read), expected);
    for (const ChatMessage &message : std::as_const(read)) {
        const ChatMessage &source = original.at(message.id - 1);
        QCOMPARE(message.room, source.room);
        QCOMPARE(message.from, source.from);
        QCOMPARE(message.to, source.to);
        QCOMPARE(message.text, source.text);
        QCOMPARE(message.ts, source.ts);
        QCOMPARE(message.ts.toMSecsSinceEpoch(), source.ts.toMSecsSinceEpoch());
    }

    // The same holds for the in-memory writers.
    QList<ChatMessage> again;
    QVERIFY(HistoryExport::fromCsv(HistoryExport::toCsv(read), &again, &error));
    QCOMPARE(ids(again), expected);
    QVERIFY(HistoryExport::fromJson(HistoryExport::toJson(read), &again, &error));
    QCOMPARE(ids(again), expected);
}

void TestSqliteStore::exportFileNamesFormat_data()
{
    QTest::addColumn<QString>("fileName");
    QTest::addColumn<bool>("known");
    QTest::newRow("csv") << u"out.csv"_s << true;
    QTest::newRow("json upper case") << u"OUT.JSON"_s << true;
    QTest::newRow("text") << u"out.txt"_s << false;
    QTest::newRow("no extension") << u"out"_s << false;
}

void TestSqliteStore::exportFileNamesFormat()
{
    QFETCH(QString, fileName);
    QFETCH(bool, known);
    createStoreWith({roomMessage(1, u"lobby"_s, u"a"_s, u"one"_s)});
    QString error;
    QCOMPARE(HistoryExport::exportFile(m_dir->path(), m_dir->filePath(fileName), {}, &error),
             known);
    QCOMPARE(QFile::exists(m_dir->filePath(fileName)), known);
    if (!known)
        QVERIFY2(error.contains(u".csv or .json"_s), qPrintable(error));
}

void TestSqliteStore::refusesDamagedFile_data()
{
    QTest::addColumn<QString>("damage");
    QTest::newRow("not a database") << u"text"_s;
    QTest::newRow("header overwritten") << u"header"_s;
    QTest::newRow("pages overwritten") << u"pages"_s;
    QTest::newRow("truncated") << u"truncated"_s;
}

void TestSqliteStore::refusesDamagedFile()
{
    QFETCH(QString, damage);

    QList<ChatMessage> many;
    for (quint64 id = 1; id <= 2000; ++id)
        many << roomMessage(id, u"lobby"_s, u"alice"_s, u"message number %1"_s.arg(id));
    createStoreWith(many);

    QFile file(dbPath());
    QVERIFY(file.open(QIODevice::ReadWrite));
    const qint64 size = file.size();
    QVERIFY(size > 16 * 4096);
    if (damage == u"text"_s) {
        QVERIFY(file.resize(0));
        file.write("these are my notes, not a database\n");
    } else if (damage == u"header"_s) {
        file.write(QByteArray(100, '\x5a'));
    } else if (damage == u"pages"_s) {
        // Page size is 4096; wreck the b-tree pages after the schema page.
        file.seek(4096);
        file.write(QByteArray(8 * 4096, '\xa5'));
    } else {
        QVERIFY(file.resize(size / 2 + 1234));
    }
    file.close();

    SqliteStore store;
    QVERIFY(!store.open(dbPath()));
    qInfo().noquote() << store.errorString();
    QVERIFY2(store.errorString().contains(dbPath()), qPrintable(store.errorString()));
    QVERIFY2(store.errorString().contains(u"damaged"_s), qPrintable(store.errorString()));
    QVERIFY(!store.isOpen());

    SqliteStore reader;
    QVERIFY(!reader.open(dbPath(), SqliteStore::Mode::ReadOnly));
    QVERIFY(reader.errorString().contains(u"damaged"_s));
}

void TestSqliteStore::refusesNewerVersion()
{
    createStoreWith({roomMessage(1, u"lobby"_s, u"a"_s, u"one"_s)});
    rawExec(u"PRAGMA user_version = %1"_s.arg(SqliteStore::SchemaVersion + 1));

    SqliteStore store;
    QVERIFY(!store.open(dbPath()));
    qInfo().noquote() << store.errorString();
    QVERIFY(store.errorString().contains(dbPath()));
    QVERIFY(store.errorString().contains(u"newer LanChat"_s));

    // Refusing must not have touched the file.
    rawExec(u"PRAGMA user_version = %1"_s.arg(SqliteStore::SchemaVersion));
    QVERIFY2(store.open(dbPath()), qPrintable(store.errorString()));
    QCOMPARE(store.lastMessageId(), 1u);
}

void TestSqliteStore::refusesForeignDatabase()
{
    rawExec(u"CREATE TABLE recipes (name TEXT)"_s);
    SqliteStore store;
    QVERIFY(!store.open(dbPath()));
    QVERIFY(store.errorString().contains(u"not a LanChat history database"_s));

    // An empty file is a new database, not a foreign one.
    QVERIFY(QFile::remove(dbPath()));
    QFile empty(dbPath());
    QVERIFY(empty.open(QIODevice::WriteOnly));
    empty.close();
    QVERIFY2(store.open(dbPath()), qPrintable(store.errorString()));
}

void TestSqliteStore::refusesUnwritableLocation()
{
    // A folder that cannot exist: its parent is a file. (Tests may run as root, which file
    // permissions do not stop.)
    QFile blocker(m_dir->filePath(u"data"_s));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    const QString path = m_dir->filePath(u"data/sub/lanchat.sqlite"_s);
    SqliteStore store;
    QVERIFY(!store.open(path));
    qInfo().noquote() << store.errorString();
    QVERIFY(store.errorString().contains(path));
    QVERIFY(store.errorString().contains(u"cannot create the folder"_s));

    QVERIFY(!store.open(m_dir->path()));
    QVERIFY(store.errorString().contains(u"not a file"_s));
}

void TestSqliteStore::refusesSecondServer()
{
    SqliteStore first;
    QVERIFY(first.open(dbPath()));
    SqliteStore second;
    QVERIFY(!second.open(dbPath()));
    QVERIFY2(second.errorString().contains(u"another LanChat server"_s),
             qPrintable(second.errorString()));
    first.close();
    QVERIFY2(second.open(dbPath()), qPrintable(second.errorString()));
}

void TestSqliteStore::readOnlyWhileServerWrites()
{
    SqliteStore reader;
    QVERIFY(!reader.open(dbPath(), SqliteStore::Mode::ReadOnly));
    QVERIFY(reader.errorString().contains(u"no history"_s));
    QVERIFY(!QFile::exists(dbPath()));

    SqliteStore server;
    QVERIFY(server.open(dbPath()));
    QVERIFY(server.appendMessages({roomMessage(1, u"lobby"_s, u"a"_s, u"one"_s)}));
    QVERIFY2(reader.open(dbPath(), SqliteStore::Mode::ReadOnly), qPrintable(reader.errorString()));
    QCOMPARE(reader.search(u"one"_s, 10).size(), 1);

    QVERIFY(server.appendMessages({roomMessage(2, u"lobby"_s, u"a"_s, u"two"_s)}));
    QCOMPARE(ids(reader.roomHistory(u"lobby"_s, 10)), (QList<quint64> {1, 2}));
    QCOMPARE(reader.addBan(Ban()), 0u);
}

QTEST_GUILESS_MAIN(TestSqliteStore)

#include "tst_sqlitestore.moc"
