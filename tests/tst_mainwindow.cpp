#include "activitychart.h"
#include "announcedialog.h"
#include "bandialog.h"
#include "banlistdialog.h"
#include "banmodel.h"
#include "chatserver.h"
#include "connectionmodel.h"
#include "kickdialog.h"
#include "logfilterproxy.h"
#include "logmodel.h"
#include "mainwindow.h"
#include "qrcodewidget.h"
#include "settingsdialog.h"
#include "testclient.h"
#include "topicdialog.h"

#include <QAction>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;

// The host window against a real server on 127.0.0.1, with real WebSocket clients.
class TestMainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void rowsAppearAndVanish();
    void logShowsMessagesLiterally_data();
    void logShowsMessagesLiterally();
    void kickFromSelectedRow();
    void banKeepsOutUntilUnbanned_data();
    void banKeepsOutUntilUnbanned();
    void storedBansShowAfterRestart();
    void muteBlocksSay();
    void announcementReachesEveryone_data();
    void announcementReachesEveryone();
    void topicReachesTheRoom();
    void topicDialogOffersLiveRooms();
    void failedHostActionIsLogged();
    void stopAndStartAgain();
    void stopResetsTheCounts();
    void oneConnectionIsOnePerson();
    void followButtonSaysWhatItDoes();
    void settingsAreSavedAndApplied();
    void qrCodeShowsFirstJoinUrl();
    void busyPortIsReported();
    void lockedDataFolderIsReported();
    void invalidSettingsAreShown_data();
    void invalidSettingsAreShown();
    void followPausesWhenScrolledUp();
    void logModelKeepsItsCapacity();
    void logFilterNarrowsTheLog_data();
    void logFilterNarrowsTheLog();
    void connectionModelAppliesSnapshots();

private:
    std::unique_ptr<TestClient> join(const QString &nick);
    void select(const QString &nick);
    // Rows of the log model whose kind and text match.
    int logCount(LogEntry::Kind kind, const QString &textPart) const;
    QAction *action(const char *name) const;
    template<typename Dialog> Dialog *waitForDialog();

    QTemporaryDir m_settingsDir;
    std::unique_ptr<MainWindow> m_window;
};

void TestMainWindow::initTestCase()
{
    QVERIFY(m_settingsDir.isValid());
    // The settings dialog saves to QSettings: keep the tests away from the user's own.
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QCoreApplication::setOrganizationName(u"LanChatTests"_s);
    QCoreApplication::setApplicationName(u"tst_mainwindow"_s);
}

void TestMainWindow::init()
{
    ServerConfig config;
    config.bindAddress = QHostAddress::LocalHost;
    config.port = 0;
    config.name = u"Test party"_s;
    m_window = std::make_unique<MainWindow>(config);
    m_window->logModel()->setBatchInterval(20);
    m_window->show();
    QVERIFY(m_window->isServerRunning());
    QVERIFY(m_window->serverPort() != 0);
}

void TestMainWindow::cleanup()
{
    m_window.reset();
}

std::unique_ptr<TestClient> TestMainWindow::join(const QString &nick)
{
    auto client = std::make_unique<TestClient>();
    if (!client->open(m_window->serverPort()) || !client->hello(nick))
        return nullptr;
    return client;
}

void TestMainWindow::select(const QString &nick)
{
    QTableView *view = m_window->connectionsView();
    QAbstractItemModel *model = view->model();
    QModelIndex found;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (int row = 0; row < model->rowCount(); ++row) {
                const QModelIndex index = model->index(row, ConnectionModel::NickColumn);
                if (index.data(ConnectionModel::NickRole).toString() == nick) {
                    found = index;
                    return true;
                }
            }
            return false;
        }(),
        5000);
    view->selectionModel()->select(found,
                                   QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

int TestMainWindow::logCount(LogEntry::Kind kind, const QString &textPart) const
{
    const LogModel *log = m_window->logModel();
    int count = 0;
    for (int row = 0; row < log->rowCount(); ++row) {
        const LogEntry &e = log->entryAt(row);
        if (e.kind == kind && e.text.contains(textPart))
            ++count;
    }
    return count;
}

QAction *TestMainWindow::action(const char *name) const
{
    return m_window->findChild<QAction *>(QString::fromLatin1(name));
}

template<typename Dialog> Dialog *TestMainWindow::waitForDialog()
{
    Dialog *dialog = nullptr;
    const bool found = QTest::qWaitFor(
        [&] { return (dialog = m_window->findChild<Dialog *>()) != nullptr; }, 5000);
    return found ? dialog : nullptr;
}

void TestMainWindow::rowsAppearAndVanish()
{
    ConnectionModel *model = m_window->connectionModel();
    auto alice = join(u"alice"_s);
    auto bob = join(u"bob"_s);
    auto carol = join(u"carol"_s);
    QVERIFY(alice && bob && carol);

    QTRY_COMPARE(model->rowCount(), 3);
    QTRY_VERIFY(model->rowOfNick(u"carol"_s) >= 0);
    QTRY_COMPARE(m_window->connectionsView()->model()->rowCount(), 3);
    const ClientStats &stats = model->clientAt(model->rowOfNick(u"alice"_s));
    QCOMPARE(stats.rooms, QStringList {u"lobby"_s});
    QVERIFY(model->index(model->rowOfNick(u"alice"_s), ConnectionModel::AddressColumn)
                .data()
                .toString()
                .startsWith(u"127.0.0.1:"_s));

    bob->close();
    QVERIFY(bob->waitClosed());
    QTRY_COMPARE(model->rowCount(), 2);
    QCOMPARE(model->rowOfNick(u"bob"_s), -1);
    QVERIFY(model->rowOfNick(u"alice"_s) >= 0);
    QTRY_COMPARE(logCount(LogEntry::Disconnected, {}), 1);
    QTRY_COMPARE(logCount(LogEntry::Connected, {}), 3);

    // The filter narrows the table without touching the model.
    auto *filter = m_window->findChild<QLineEdit *>(u"connectionFilter"_s);
    QVERIFY(filter);
    filter->setText(u"CAR"_s);
    QCOMPARE(m_window->connectionsView()->model()->rowCount(), 1);
    filter->clear();
    QCOMPARE(m_window->connectionsView()->model()->rowCount(), 2);
}

void TestMainWindow::logShowsMessagesLiterally_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("plain") << u"hello everyone"_s;
    QTest::newRow("markup") << u"<b>x</b><script>alert(1)</script>"_s;
    QTest::newRow("entities") << u"fish &amp; chips & <i>"_s;
    QTest::newRow("emoji") << u"🍕 is here"_s;
}

void TestMainWindow::logShowsMessagesLiterally()
{
    QFETCH(QString, text);
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    alice->send(QJsonObject {{u"type"_s, u"say"_s}, {u"room"_s, u"lobby"_s}, {u"text"_s, text}});
    QVERIFY(!alice->take(u"message"_s).isEmpty());

    QTRY_COMPARE(logCount(LogEntry::Message, text), 1);

    // What the view shows is what the model gives it for display, painted as plain text by the
    // standard delegate, with no tooltip that could be taken for rich text.
    QTableView *view = m_window->logView();
    QAbstractItemModel *shown = view->model();
    int row = -1;
    for (int r = 0; r < shown->rowCount(); ++r) {
        if (shown->index(r, LogModel::TextColumn).data().toString() == text)
            row = r;
    }
    QVERIFY(row >= 0);
    const QModelIndex textIndex = shown->index(row, LogModel::TextColumn);
    QCOMPARE(textIndex.data(Qt::DisplayRole).toString(), text);
    QVERIFY(!textIndex.data(Qt::ToolTipRole).isValid());
    QCOMPARE(shown->index(row, LogModel::SenderColumn).data().toString(), u"alice"_s);
    QCOMPARE(shown->index(row, LogModel::RoomColumn).data().toString(), u"#lobby"_s);
    QVERIFY(qobject_cast<QStyledItemDelegate *>(view->itemDelegateForIndex(textIndex)));
    QVERIFY(view->indexWidget(textIndex) == nullptr);
}

void TestMainWindow::kickFromSelectedRow()
{
    auto alice = join(u"alice"_s);
    auto bob = join(u"bob"_s);
    QVERIFY(alice && bob);
    select(u"bob"_s);
    QTRY_VERIFY(action("kickAction")->isEnabled());

    action("kickAction")->trigger();
    auto *dialog = waitForDialog<KickDialog>();
    QVERIFY(dialog);
    QCOMPARE(dialog->nicks(), QStringList {u"bob"_s});
    dialog->setReason(u"Too loud <b>"_s);
    dialog->accept();

    const QJsonObject kicked = bob->take(u"kicked"_s);
    QCOMPARE(kicked.value(u"reason"_s).toString(), u"Too loud <b>"_s);
    QVERIFY(bob->waitClosed());
    QCOMPARE(bob->closeCode(), 4001);
    QVERIFY(!alice
                 ->take(u"presence"_s,
                        [](const QJsonObject &f) { return f.value(u"event"_s) == u"kicked"_s; })
                 .isEmpty());

    QTRY_COMPARE(m_window->connectionModel()->rowOfNick(u"bob"_s), -1);
    QCOMPARE(m_window->connectionModel()->rowCount(), 1);
    QTRY_COMPARE(logCount(LogEntry::Kicked, u"kicked bob: Too loud <b>"_s), 1);
}

void TestMainWindow::banKeepsOutUntilUnbanned_data()
{
    QTest::addColumn<bool>("byNick");
    QTest::addColumn<bool>("byAddress");
    QTest::newRow("nickname") << true << false;
    QTest::newRow("address") << false << true;
    QTest::newRow("both") << true << true;
}

void TestMainWindow::banKeepsOutUntilUnbanned()
{
    QFETCH(bool, byNick);
    QFETCH(bool, byAddress);
    auto mallory = join(u"mallory"_s);
    QVERIFY(mallory);
    select(u"mallory"_s);
    QTRY_VERIFY(action("banAction")->isEnabled());

    action("banAction")->trigger();
    auto *dialog = waitForDialog<BanDialog>();
    QVERIFY(dialog);
    dialog->setBanNick(byNick);
    dialog->setBanAddress(byAddress);
    dialog->setDurationSeconds(0);
    dialog->setReason(u"spam"_s);
    dialog->accept();

    QCOMPARE(mallory->take(u"banned"_s).value(u"reason"_s).toString(), u"spam"_s);
    QVERIFY(mallory->waitClosed());
    QCOMPARE(mallory->closeCode(), 4003);
    QTRY_COMPARE(m_window->banModel()->rowCount(), 1);
    QTRY_COMPARE(logCount(LogEntry::Banned, u"spam"_s), 1);
    QTRY_COMPARE(m_window->connectionModel()->rowCount(), 0);

    // Coming back is refused.
    TestClient again;
    QVERIFY(again.open(m_window->serverPort()));
    again.send(QJsonObject {{u"type"_s, u"hello"_s}, {u"nick"_s, u"mallory"_s}});
    QCOMPARE(again.take(u"error"_s).value(u"code"_s).toString(), u"banned"_s);
    QVERIFY(again.waitClosed());
    QCOMPARE(again.closeCode(), 4003);

    // Lifted from the ban list, the door opens again.
    action("banListAction")->trigger();
    auto *list = m_window->findChild<BanListDialog *>();
    QVERIFY(list);
    QTRY_VERIFY(list->isVisible());
    list->view()->selectRow(0);
    auto *unban = list->findChild<QPushButton *>(u"unbanButton"_s);
    QVERIFY(unban && unban->isEnabled());
    unban->click();
    QTRY_COMPARE(m_window->banModel()->rowCount(), 0);
    QTRY_COMPARE(logCount(LogEntry::Unbanned, {}), 1);

    auto back = join(u"mallory"_s);
    QVERIFY(back);
}

void TestMainWindow::storedBansShowAfterRestart()
{
    QTemporaryDir data;
    QVERIFY(data.isValid());
    ServerConfig config = m_window->config();
    config.storeEnabled = true;
    config.dataDir = data.path();
    m_window = std::make_unique<MainWindow>(config);
    QVERIFY(m_window->isServerRunning());

    auto mallory = join(u"mallory"_s);
    QVERIFY(mallory);
    select(u"mallory"_s);
    QTRY_VERIFY(action("banAction")->isEnabled());
    action("banAction")->trigger();
    auto *dialog = waitForDialog<BanDialog>();
    QVERIFY(dialog);
    dialog->setReason(u"spam"_s);
    dialog->accept();
    QTRY_COMPARE(m_window->banModel()->rowCount(), 1);

    // A new window on the same data: the ban list is there from the start.
    m_window.reset();
    m_window = std::make_unique<MainWindow>(config);
    QVERIFY(m_window->isServerRunning());
    QTRY_COMPARE(m_window->banModel()->rowCount(), 1);
    QCOMPARE(m_window->banModel()->banAt(0).nick, u"mallory"_s);
    QCOMPARE(m_window->banModel()->banAt(0).reason, u"spam"_s);
}

void TestMainWindow::muteBlocksSay()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    select(u"alice"_s);
    QTRY_VERIFY(action("muteAction")->isEnabled());
    QVERIFY(!action("unmuteAction")->isEnabled());

    action("muteAction")->trigger();
    QVERIFY(!alice->take(u"muted"_s).isEmpty());
    alice->send(QJsonObject {{u"type"_s, u"say"_s}, {u"room"_s, u"lobby"_s}, {u"text"_s, u"hi"_s}});
    QCOMPARE(alice->take(u"error"_s).value(u"code"_s).toString(), u"muted"_s);
    QTRY_COMPARE(logCount(LogEntry::Muted, u"alice"_s), 1);

    // The table learns of the mute with the next snapshot; then Unmute becomes possible.
    QTRY_VERIFY(action("unmuteAction")->isEnabled());
    const int row = m_window->connectionModel()->rowOfNick(u"alice"_s);
    QCOMPARE(
        m_window->connectionModel()->index(row, ConnectionModel::StateColumn).data().toString(),
        u"muted"_s);
    action("unmuteAction")->trigger();
    QVERIFY(!alice->take(u"unmuted"_s).isEmpty());
    alice->send(QJsonObject {{u"type"_s, u"say"_s}, {u"room"_s, u"lobby"_s}, {u"text"_s, u"hi"_s}});
    QCOMPARE(alice->take(u"message"_s).value(u"text"_s).toString(), u"hi"_s);
    QTRY_COMPARE(logCount(LogEntry::Unmuted, u"alice"_s), 1);
}

void TestMainWindow::announcementReachesEveryone_data()
{
    QTest::addColumn<QString>("room");
    QTest::newRow("everyone") << QString();
    QTest::newRow("one room") << u"games"_s;
}

void TestMainWindow::announcementReachesEveryone()
{
    QFETCH(QString, room);
    auto alice = join(u"alice"_s);
    auto bob = join(u"bob"_s);
    auto carol = join(u"carol"_s);
    QVERIFY(alice && bob && carol);
    bob->send(QJsonObject {{u"type"_s, u"join"_s}, {u"room"_s, u"games"_s}});
    QVERIFY(!bob->take(u"joined"_s).isEmpty());

    action("announceAction")->trigger();
    auto *dialog = waitForDialog<AnnounceDialog>();
    QVERIFY(dialog);
    if (!room.isEmpty())
        dialog->setRoom(room);
    dialog->setText(u"Pizza is <here> & hot"_s);
    dialog->accept();

    const QJsonObject notice = bob->take(u"notice"_s);
    QCOMPARE(notice.value(u"text"_s).toString(), u"Pizza is <here> & hot"_s);
    QCOMPARE(notice.value(u"room"_s).toString(), room);
    if (room.isEmpty()) {
        QVERIFY(!alice->take(u"notice"_s).isEmpty());
        QVERIFY(!carol->take(u"notice"_s).isEmpty());
    } else {
        QVERIFY(alice->fence());
        QVERIFY(!alice->has(u"notice"_s));
    }
    QTRY_COMPARE(logCount(LogEntry::Notice, u"Pizza is <here> & hot"_s), 1);
}

void TestMainWindow::topicReachesTheRoom()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    alice->send(QJsonObject {{u"type"_s, u"join"_s}, {u"room"_s, u"games"_s}});
    QVERIFY(!alice->take(u"joined"_s).isEmpty());

    action("topicAction")->trigger();
    auto *dialog = waitForDialog<TopicDialog>();
    QVERIFY(dialog);
    dialog->setRoom(u"games"_s);
    dialog->setTopic(u"Finals at 3pm"_s);
    dialog->accept();

    const QJsonObject topic = alice->take(u"topic"_s);
    QCOMPARE(topic.value(u"room"_s).toString(), u"games"_s);
    QCOMPARE(topic.value(u"topic"_s).toString(), u"Finals at 3pm"_s);
    QTRY_COMPARE(logCount(LogEntry::Topic, u"Finals at 3pm"_s), 1);
}

void TestMainWindow::topicDialogOffersLiveRooms()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    alice->send(QJsonObject {{u"type"_s, u"join"_s}, {u"room"_s, u"games"_s}});
    QVERIFY(!alice->take(u"joined"_s).isEmpty());
    QTRY_VERIFY(m_window->connectionModel()->rooms().contains(u"games"_s));
    alice->send(QJsonObject {{u"type"_s, u"leave"_s}, {u"room"_s, u"games"_s}});
    QVERIFY(!alice->take(u"left"_s).isEmpty());
    QTRY_VERIFY(!m_window->connectionModel()->rooms().contains(u"games"_s));

    // The log still knows games; the dialog offers only the rooms that exist now.
    action("topicAction")->trigger();
    auto *dialog = waitForDialog<TopicDialog>();
    QVERIFY(dialog);
    auto *rooms = dialog->findChild<QComboBox *>(u"room"_s);
    QVERIFY(rooms);
    QStringList offered;
    for (int i = 0; i < rooms->count(); ++i)
        offered << rooms->itemText(i);
    QCOMPARE(offered, QStringList {u"lobby"_s});
    dialog->reject();
}

void TestMainWindow::failedHostActionIsLogged()
{
    action("topicAction")->trigger();
    auto *dialog = waitForDialog<TopicDialog>();
    QVERIFY(dialog);
    dialog->setRoom(u"nowhere"_s);
    dialog->setTopic(u"x"_s);
    dialog->accept();
    QTRY_COMPARE(logCount(LogEntry::Failure, u"nowhere"_s), 1);
}

void TestMainWindow::stopAndStartAgain()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    QTRY_COMPARE(m_window->connectionModel()->rowCount(), 1);
    QSignalSpy stopped(m_window.get(), &MainWindow::serverStopped);

    action("stopAction")->trigger();
    auto *box = waitForDialog<QMessageBox>();
    QVERIFY(box);
    box->accept();
    QCOMPARE(stopped.size(), 1);
    QVERIFY(!m_window->isServerRunning());
    QVERIFY(!alice->take(u"notice"_s).isEmpty());
    QVERIFY(alice->waitClosed());
    QCOMPARE(alice->closeCode(), 1001);
    QCOMPARE(m_window->connectionModel()->rowCount(), 0);
    QVERIFY(!action("stopAction")->isEnabled());
    QVERIFY(action("startAction")->isEnabled());

    QSignalSpy started(m_window.get(), &MainWindow::serverStarted);
    action("startAction")->trigger();
    QCOMPARE(started.size(), 1);
    QVERIFY(m_window->isServerRunning());
    QVERIFY(join(u"alice"_s));
}

void TestMainWindow::stopResetsTheCounts()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    auto *title = m_window->findChild<QLabel *>(u"connectionsTitle"_s);
    auto *chart = m_window->findChild<ActivityChart *>(u"activityChart"_s);
    QVERIFY(title && chart);
    QTRY_COMPARE(title->text(), u"Connections (1)"_s);
    QTRY_VERIFY(chart->sampleCount() > 0);

    m_window->stopServer();
    QCOMPARE(m_window->connectionModel()->rowCount(), 0);
    QCOMPARE(title->text(), u"Connections (0)"_s);
    QCOMPARE(m_window->counters().connections, 0);
    QCOMPARE(chart->sampleCount(), 0);
}

void TestMainWindow::oneConnectionIsOnePerson()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    QTRY_COMPARE(m_window->counters().connections, 1);

    m_window->close();
    auto *quit = m_window->findChild<QMessageBox *>(u"quitBox"_s);
    QVERIFY(quit);
    QVERIFY2(quit->text().startsWith(u"1 person is connected."_s), qPrintable(quit->text()));
    quit->reject();

    action("stopAction")->trigger();
    auto *stop = m_window->findChild<QMessageBox *>(u"stopBox"_s);
    QVERIFY(stop);
    QVERIFY2(stop->text().contains(u"1 person will be"_s), qPrintable(stop->text()));
    stop->reject();
    QVERIFY(m_window->isServerRunning());
}

void TestMainWindow::followButtonSaysWhatItDoes()
{
    QAction *follow = action("followAction");
    QVERIFY(m_window->isFollowingLog());
    QVERIFY(follow->isChecked());
    QCOMPARE(follow->text(), u"&Following"_s);

    follow->trigger();
    QVERIFY(!m_window->isFollowingLog());
    QVERIFY(!follow->isChecked());
    QCOMPARE(follow->text(), u"Paused: &follow"_s);

    follow->trigger();
    QVERIFY(m_window->isFollowingLog());
    QCOMPARE(follow->text(), u"&Following"_s);
}

void TestMainWindow::settingsAreSavedAndApplied()
{
    auto alice = join(u"alice"_s);
    QVERIFY(alice);
    QSignalSpy started(m_window.get(), &MainWindow::serverStarted);

    action("settingsAction")->trigger();
    auto *dialog = waitForDialog<SettingsDialog>();
    QVERIFY(dialog);
    auto *name = dialog->findChild<QLineEdit *>(u"name"_s);
    QVERIFY(name);
    name->setText(u"Renamed party"_s);
    auto *rooms = dialog->findChild<QSpinBox *>(u"maxRoomsPerUser"_s);
    QVERIFY(rooms);
    rooms->setValue(7);
    dialog->accept();

    // Saved for the next run, and applied now by a restart that everyone hears of.
    QCOMPARE(QSettings().value(u"name"_s).toString(), u"Renamed party"_s);
    QCOMPARE(QSettings().value(u"maxRoomsPerUser"_s).toInt(), 7);
    QCOMPARE(started.size(), 1);
    QVERIFY(m_window->isServerRunning());
    QVERIFY(alice->waitClosed());
    QCOMPARE(alice->closeCode(), 1001);
    QCOMPARE(m_window->config().name, u"Renamed party"_s);

    TestClient bob;
    QVERIFY(bob.open(m_window->serverPort()));
    QVERIFY(bob.hello(u"bob"_s));
    const QJsonObject welcome = bob.framesOfType(u"welcome"_s).value(0);
    QCOMPARE(welcome.value(u"server"_s).toObject().value(u"name"_s).toString(), u"Renamed party"_s);
    QCOMPARE(welcome.value(u"limits"_s).toObject().value(u"roomsPerUser"_s).toInt(), 7);
}

void TestMainWindow::qrCodeShowsFirstJoinUrl()
{
    QVERIFY(!m_window->joinUrls().isEmpty());
    QCOMPARE(m_window->qrCode()->text(), m_window->joinUrls().first());
    // Version 1 is 21 modules; any URL with a port needs more.
    QVERIFY(m_window->qrCode()->moduleCount() > 21);
    auto *urls = m_window->findChild<QLabel *>(u"urlsLabel"_s);
    QVERIFY(urls);
    QVERIFY(urls->text().contains(QString::number(m_window->serverPort())));
}

void TestMainWindow::busyPortIsReported()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    ServerConfig config;
    config.bindAddress = QHostAddress::LocalHost;
    config.port = squatter.serverPort();
    MainWindow window(config);

    QVERIFY(!window.isServerRunning());
    auto *state = window.findChild<QLabel *>(u"stateLabel"_s);
    QVERIFY(state);
    QVERIFY2(state->text().contains(u"Could not start"_s), qPrintable(state->text()));
    auto *box = window.findChild<QMessageBox *>(u"startFailedBox"_s);
    QVERIFY(box);
    QVERIFY(box->text().contains(QString::number(config.port)));
    QVERIFY(window.findChild<QAction *>(u"startAction"_s)->isEnabled());
}

void TestMainWindow::lockedDataFolderIsReported()
{
    QTemporaryDir data;
    QVERIFY(data.isValid());
    ServerConfig config = m_window->config();
    config.storeEnabled = true;
    config.dataDir = data.path();
    ChatServer other(config);
    QVERIFY2(other.listen(QHostAddress::LocalHost, 0), qPrintable(other.errorString()));

    MainWindow window(config);
    QVERIFY(!window.isServerRunning());
    auto *box = window.findChild<QMessageBox *>(u"startFailedBox"_s);
    QVERIFY(box);
    QVERIFY2(box->text().contains(u"history"_s), qPrintable(box->text()));
    QVERIFY2(!box->text().contains(u"port"_s), qPrintable(box->text()));
}

void TestMainWindow::invalidSettingsAreShown_data()
{
    QTest::addColumn<int>("nickLength");
    QTest::addColumn<QString>("settingsProblem");
    QTest::addColumn<QString>("named");
    QTest::newRow("out of range") << 0 << QString() << u"nickLength"_s;
    QTest::newRow("unreadable in the file")
        << 24 << u"in lanchat.ini: port=abc: port takes a whole number from 0 to 65535"_s
        << u"port=abc"_s;
}

void TestMainWindow::invalidSettingsAreShown()
{
    QFETCH(int, nickLength);
    QFETCH(QString, settingsProblem);
    QFETCH(QString, named);
    ServerConfig config;
    config.bindAddress = QHostAddress::LocalHost;
    config.port = 0;
    config.nickLength = nickLength;
    MainWindow window(config, settingsProblem);

    QVERIFY(!window.isServerRunning());
    auto *box = window.findChild<QMessageBox *>(u"startFailedBox"_s);
    QVERIFY(box);
    QVERIFY2(box->text().contains(named), qPrintable(box->text()));
    QVERIFY2(!box->text().contains(u"listen"_s), qPrintable(box->text()));

    // The settings dialog refuses the same, and says why.
    auto *dialog = new SettingsDialog(config, false, &window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
    QCOMPARE(window.config().nickLength, nickLength);
    if (nickLength == 0) {
        dialog->accept();
        QVERIFY(dialog->isVisible());
        const QList<QLabel *> error = dialog->findChildren<QLabel *>();
        const bool said = std::any_of(error.cbegin(), error.cend(), [](QLabel *label) {
            return label->isVisible() && label->text().contains(u"nickLength"_s);
        });
        QVERIFY(said);
    }
}

void TestMainWindow::followPausesWhenScrolledUp()
{
    LogModel *log = m_window->logModel();
    QTableView *view = m_window->logView();
    const auto add = [log](int count) {
        for (int i = 0; i < count; ++i) {
            LogEntry entry;
            entry.kind = LogEntry::Message;
            entry.time = QDateTime::currentDateTimeUtc();
            entry.room = u"lobby"_s;
            entry.sender = u"alice"_s;
            entry.text = QString::number(i);
            log->append(entry);
        }
        log->flush();
    };
    QScrollBar *bar = view->verticalScrollBar();
    add(500);
    QVERIFY(m_window->isFollowingLog());
    QTRY_VERIFY(bar->maximum() > 0);
    QCOMPARE(bar->value(), bar->maximum());

    bar->setValue(0);
    QVERIFY(!m_window->isFollowingLog());
    add(100);
    QCOMPARE(bar->value(), 0);

    action("followAction")->trigger();
    QVERIFY(m_window->isFollowingLog());
    QCOMPARE(bar->value(), bar->maximum());
    add(100);
    QCOMPARE(bar->value(), bar->maximum());
}

void TestMainWindow::logModelKeepsItsCapacity()
{
    LogModel log;
    log.setCapacity(100);
    QSignalSpy flushed(&log, &LogModel::flushed);
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 70; ++i) {
            LogEntry entry;
            entry.text = QString::number(round * 70 + i);
            log.append(entry);
        }
        QCOMPARE(log.rowCount(), qMin(100, round * 70));
        QVERIFY(flushed.wait(2000));
    }
    QCOMPARE(log.rowCount(), 100);
    QCOMPARE(log.entryAt(0).text, u"110"_s);
    QCOMPARE(log.entryAt(99).text, u"209"_s);
}

void TestMainWindow::logFilterNarrowsTheLog_data()
{
    QTest::addColumn<QString>("room");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("presence");
    QTest::addColumn<QStringList>("expected");

    const QString all;
    QTest::newRow("everything") << all << all << all << true
                                << QStringList {u"hello"_s, u"gg"_s, u"psst"_s, u"joined"_s,
                                                u"pizza"_s};
    QTest::newRow("one room, with notices to everyone")
        << u"lobby"_s << all << all << true << QStringList {u"hello"_s, u"joined"_s, u"pizza"_s};
    QTest::newRow("direct messages")
        << LogFilterProxy::directRoom() << all << all << true << QStringList {u"psst"_s};
    QTest::newRow("a user, as sender or recipient")
        << all << u"ALICE"_s << all << true << QStringList {u"hello"_s, u"psst"_s};
    QTest::newRow("text") << all << all << u"GG"_s << true << QStringList {u"gg"_s};
    QTest::newRow("without comings and goings")
        << all << all << all << false << QStringList {u"hello"_s, u"gg"_s, u"psst"_s, u"pizza"_s};
}

void TestMainWindow::logFilterNarrowsTheLog()
{
    QFETCH(QString, room);
    QFETCH(QString, user);
    QFETCH(QString, text);
    QFETCH(bool, presence);
    QFETCH(QStringList, expected);

    LogModel log;
    const auto add = [&log](LogEntry::Kind kind, const QString &room, const QString &sender,
                            const QString &recipient, const QString &text) {
        LogEntry e;
        e.kind = kind;
        e.room = room;
        e.sender = sender;
        e.recipient = recipient;
        e.text = text;
        log.append(e);
    };
    add(LogEntry::Message, u"lobby"_s, u"alice"_s, {}, u"hello"_s);
    add(LogEntry::Message, u"games"_s, u"bob"_s, {}, u"gg"_s);
    add(LogEntry::Direct, {}, u"carol"_s, u"alice"_s, u"psst"_s);
    add(LogEntry::Joined, u"lobby"_s, u"dave"_s, {}, u"joined"_s);
    add(LogEntry::Notice, {}, u"host"_s, {}, u"pizza"_s);
    log.flush();

    LogFilterProxy proxy(&log);
    proxy.setRoom(room);
    proxy.setUser(user);
    proxy.setText(text);
    proxy.setShowPresence(presence);
    QStringList shown;
    for (int row = 0; row < proxy.rowCount(); ++row)
        shown.append(proxy.index(row, LogModel::TextColumn).data().toString());
    QCOMPARE(shown, expected);
}

void TestMainWindow::connectionModelAppliesSnapshots()
{
    ConnectionModel model;
    const auto stats = [](quint64 id, const QString &nick) {
        ClientStats s;
        s.id = id;
        s.nick = nick;
        s.address = QHostAddress(u"192.168.1.20"_s);
        s.port = quint16(40000 + id);
        s.state = u"online"_s;
        return s;
    };
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

    model.applySnapshot({stats(1, u"a"_s), stats(2, u"b"_s), stats(3, u"c"_s)});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(inserted.size(), 1);

    // Unchanged rows stay quiet; a gone row is removed; a new one is appended.
    model.applySnapshot({stats(1, u"a"_s), stats(3, u"c"_s), stats(4, u"d"_s)});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(inserted.size(), 2);
    QCOMPARE(changed.size(), 0);
    QCOMPARE(model.rowOfNick(u"b"_s), -1);
    QCOMPARE(model.rowOfId(4), 2);

    ClientStats renamed = stats(3, u"c2"_s);
    renamed.messagesIn = 5;
    model.applySnapshot({stats(1, u"a"_s), renamed, stats(4, u"d"_s)});
    QCOMPARE(changed.size(), 1);
    QCOMPARE(model.index(model.rowOfId(3), ConnectionModel::NickColumn).data().toString(), u"c2"_s);
    QCOMPARE(model.index(0, ConnectionModel::AddressColumn).data().toString(),
             u"192.168.1.20:40001"_s);

    // Connected, but without a hello: the WebSocket handshake is long done.
    ClientStats newcomer = stats(5, QString());
    newcomer.state = u"no hello yet"_s;
    model.applySnapshot({newcomer});
    QCOMPARE(model.index(0, ConnectionModel::NickColumn).data().toString(), u"(no hello yet)"_s);

    model.applySnapshot({});
    QCOMPARE(model.rowCount(), 0);
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
