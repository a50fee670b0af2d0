#include "historydialog.h"
#include "historyexport.h"
#include "historymodel.h"
#include "sqlitestore.h"

#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;

namespace {

ChatMessage message(quint64 id, const QString &room, const QString &from, const QString &text)
{
    ChatMessage result;
    result.id = id;
    result.room = room;
    result.from = from;
    result.to = room.isEmpty() ? u"bob"_s : QString();
    result.text = text;
    result.ts = QDateTime::currentDateTimeUtc();
    return result;
}

QList<quint64> shownIds(const HistoryModel *model)
{
    QList<quint64> ids;
    for (int row = 0; row < model->rowCount(); ++row)
        ids << model->index(row, 0).data(HistoryModel::IdRole).toULongLong();
    return ids;
}

} // namespace

class TestHistoryDialog : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void showsLatestThenSearches_data();
    void showsLatestThenSearches();
    void exportsTheChosenRoom();
    void explainsAMissingDatabase();
    void seesWhatTheServerWritesLater();

private:
    QString dbPath() const { return m_dir->filePath(u"lanchat.sqlite"_s); }
    std::unique_ptr<QTemporaryDir> m_dir;
    // Plays the running server: it holds the file for writing while the window reads.
    std::unique_ptr<SqliteStore> m_server;
};

void TestHistoryDialog::init()
{
    m_server.reset();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestHistoryDialog::showsLatestThenSearches_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QList<quint64>>("expected");
    QTest::newRow("empty shows the latest") << QString() << QList<quint64> {4, 3, 2, 1};
    QTest::newRow("one word") << u"pizza"_s << QList<quint64> {3, 1};
    QTest::newRow("two words") << u"pizza later"_s << QList<quint64> {3};
    QTest::newRow("cyrillic") << u"привет"_s << QList<quint64> {2};
    QTest::newRow("direct message") << u"secret"_s << QList<quint64> {4};
    QTest::newRow("nothing") << u"nothing like this"_s << QList<quint64> {};
}

void TestHistoryDialog::showsLatestThenSearches()
{
    QFETCH(QString, query);
    QFETCH(QList<quint64>, expected);

    m_server = std::make_unique<SqliteStore>();
    QVERIFY(m_server->open(dbPath()));
    QVERIFY(m_server->appendMessages({message(1, u"lobby"_s, u"alice"_s, u"Pizza is here"_s),
                                      message(2, u"games"_s, u"Юлия"_s, u"Привет всем"_s),
                                      message(3, u"lobby"_s, u"bob"_s, u"pizza later?"_s),
                                      message(4, {}, u"alice"_s, u"a secret"_s)}));

    HistoryDialog dialog(dbPath());
    dialog.searchField()->setText(query);
    dialog.search();
    QCOMPARE(shownIds(dialog.model()), expected);
    QVERIFY(!dialog.statusText().isEmpty());
    QCOMPARE(dialog.model()->index(0, HistoryModel::TextColumn).isValid(), !expected.isEmpty());
}

void TestHistoryDialog::exportsTheChosenRoom()
{
    m_server = std::make_unique<SqliteStore>();
    QVERIFY(m_server->open(dbPath()));
    QVERIFY(m_server->appendMessages({message(1, u"lobby"_s, u"alice"_s, u"one, \"two\""_s),
                                      message(2, u"games"_s, u"bob"_s, u"line\nbreak"_s),
                                      message(3, {}, u"alice"_s, u"direct"_s)}));

    HistoryDialog dialog(dbPath());
    QComboBox *scope = dialog.scopeBox();
    QCOMPARE(scope->count(), 3); // everything, #games, #lobby
    scope->setCurrentIndex(scope->findData(u"games"_s));

    const QString file = m_dir->filePath(u"games.csv"_s);
    QVERIFY2(dialog.exportTo(file), qPrintable(dialog.statusText()));
    QVERIFY(dialog.statusText().contains(file));
    QFile csv(file);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QList<ChatMessage> read;
    QString error;
    QVERIFY2(HistoryExport::fromCsv(csv.readAll(), &read, &error), qPrintable(error));
    QCOMPARE(read.size(), 1);
    QCOMPARE(read.first().text, u"line\nbreak"_s);

    scope->setCurrentIndex(0);
    QVERIFY(dialog.exportTo(m_dir->filePath(u"all.json"_s)));
    QFile json(m_dir->filePath(u"all.json"_s));
    QVERIFY(json.open(QIODevice::ReadOnly));
    QVERIFY2(HistoryExport::fromJson(json.readAll(), &read, &error), qPrintable(error));
    QCOMPARE(read.size(), 3);

    QVERIFY(!dialog.exportTo(m_dir->filePath(u"all.txt"_s)));
    QVERIFY(dialog.statusText().contains(u".json"_s));
}

void TestHistoryDialog::explainsAMissingDatabase()
{
    HistoryDialog dialog(dbPath());
    QCOMPARE(dialog.model()->rowCount(), 0);
    QVERIFY2(dialog.statusText().contains(dbPath()), qPrintable(dialog.statusText()));
    QVERIFY(!QFile::exists(dbPath()));
}

void TestHistoryDialog::seesWhatTheServerWritesLater()
{
    HistoryDialog dialog(dbPath());
    QCOMPARE(dialog.model()->rowCount(), 0);

    m_server = std::make_unique<SqliteStore>();
    QVERIFY(m_server->open(dbPath()));
    QVERIFY(m_server->appendMessages({message(1, u"lobby"_s, u"alice"_s, u"first"_s)}));
    dialog.search();
    QCOMPARE(shownIds(dialog.model()), (QList<quint64> {1}));

    QVERIFY(m_server->appendMessages({message(2, u"lobby"_s, u"alice"_s, u"second"_s)}));
    // Typing searches by itself after a short pause.
    dialog.searchField()->setText(u"second"_s);
    QTRY_COMPARE(shownIds(dialog.model()), (QList<quint64> {2}));
}

QTEST_MAIN(TestHistoryDialog)

#include "tst_historydialog.moc"
