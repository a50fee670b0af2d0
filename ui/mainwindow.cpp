#include "mainwindow.h"

#include "activitychart.h"
#include "announcedialog.h"
#include "bandialog.h"
#include "banlistdialog.h"
#include "banmodel.h"
#include "connectionfilterproxy.h"
#include "connectionmanager.h"
#include "connectionmodel.h"
#include "historydialog.h"
#include "kickdialog.h"
#include "logentry.h"
#include "logfilterproxy.h"
#include "logmodel.h"
#include "qrcodewidget.h"
#include "serverhost.h"
#include "settingsdialog.h"
#include "sqlitestore.h"
#include "threadhandover.h"
#include "topicdialog.h"
#include "uilogging.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QFormLayout>
#include <QFrame>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QSystemTrayIcon>
#include <QTableView>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

namespace {

// How often the window takes in the server's snapshot of the connections.
constexpr int StatsIntervalMs = 250;

QString formatUptime(qint64 ms)
{
    const qint64 s = ms / 1000;
    if (s < 3600)
        return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2:%3")
        .arg(s / 3600)
        .arg((s % 3600) / 60, 2, 10, QLatin1Char('0'))
        .arg(s % 60, 2, 10, QLatin1Char('0'));
}

QString formatRate(double perSecond)
{
    if (perSecond >= 100)
        return QLocale().toString(qRound64(perSecond));
    return QLocale().toString(perSecond, 'f', 1);
}

QString durationText(int seconds)
{
    if (seconds <= 0)
        return QObject::tr("forever");
    if (seconds % 86400 == 0)
        return QObject::tr("%n day(s)", nullptr, seconds / 86400);
    if (seconds % 3600 == 0)
        return QObject::tr("%n hour(s)", nullptr, seconds / 3600);
    return QObject::tr("%n minute(s)", nullptr, seconds / 60);
}

// A nickname inside a menu entry: & would otherwise mark a shortcut.
QString menuText(QString text)
{
    return text.replace(u'&', QStringLiteral("&&"));
}

QLabel *valueLabel(QWidget *parent, const QString &name)
{
    auto *label = new QLabel(QStringLiteral("–"), parent);
    label->setObjectName(name);
    label->setTextFormat(Qt::PlainText);
    label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    return label;
}

QLabel *titleLabel(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    label->setTextFormat(Qt::PlainText);
    QFont font = label->font();
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.1);
    label->setFont(font);
    return label;
}

void setupTable(QTableView *view)
{
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
    view->setTextElideMode(Qt::ElideRight);
    view->setContextMenuPolicy(Qt::CustomContextMenu);
    view->verticalHeader()->hide();
    // Fixed row heights let the view lay out tens of thousands of rows without measuring them.
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 8);
    view->horizontalHeader()->setHighlightSections(false);
    view->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
}

} // namespace

MainWindow::MainWindow(const ServerConfig &config, QWidget *parent)
    : MainWindow(config, QString(), parent)
{ }

MainWindow::MainWindow(const ServerConfig &config, const QString &settingsProblem, QWidget *parent)
    : QMainWindow(parent)
    , m_config(config)
    , m_host(new ServerHost(this))
    , m_connections(new ConnectionModel(this))
    , m_connectionsProxy(new ConnectionFilterProxy(m_connections, this))
    , m_log(new LogModel(this))
    , m_logProxy(new LogFilterProxy(m_log, this))
    , m_bans(new BanModel(this))
{
    m_settingsProblem = settingsProblem;
    LanChat::registerMetaTypes();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/lanchat.png")));

    createActions();
    createToolBar();
    createMenus();

    auto *main = new QSplitter(Qt::Vertical, this);
    main->setObjectName(QStringLiteral("mainSplitter"));
    main->setChildrenCollapsible(false);
    main->addWidget(createConnectionsPanel());
    main->addWidget(createLogPanel());
    main->setStretchFactor(0, 2);
    main->setStretchFactor(1, 3);

    auto *outer = new QSplitter(Qt::Horizontal, this);
    outer->setObjectName(QStringLiteral("outerSplitter"));
    outer->setChildrenCollapsible(false);
    outer->addWidget(main);
    outer->addWidget(createStatusPanel());
    outer->setStretchFactor(0, 1);
    outer->setStretchFactor(1, 0);
    setCentralWidget(outer);
    createTray();

    connect(m_host, &ServerHost::started, this, &MainWindow::onStarted);
    connect(m_host, &ServerHost::startFailed, this, &MainWindow::onStartFailed);
    connect(m_host, &ServerHost::stopped, this, &MainWindow::onStopped);
    connect(m_log, &LogModel::flushed, this, &MainWindow::onLogFlushed);

    m_statsTimer.setInterval(StatsIntervalMs);
    connect(&m_statsTimer, &QTimer::timeout, this, &MainWindow::applyPendingStats);
    m_statsTimer.start();
    m_clockTimer.setInterval(1000);
    connect(&m_clockTimer, &QTimer::timeout, this, &MainWindow::onClockTick);
    m_clockTimer.start();

    resize(1320, 820);
    restoreLayout();
    updateActions();
    updateStatusPanel();
    startServer();
}

MainWindow::~MainWindow()
{
    // The log and the views go before the host; nothing may reach them once the server stops.
    disconnect(m_host, nullptr, this, nullptr);
    if (m_host->isRunning())
        m_host->stop(tr("The host closed LanChat."));
}

bool MainWindow::isServerRunning() const
{
    return m_host->isRunning();
}

// ---------------------------------------------------------------------------------------------
// Building the window

void MainWindow::createActions()
{
    const auto make = [this](const QString &name, const QString &text, QStyle::StandardPixmap icon,
                             const QKeySequence &shortcut, const QString &tip) {
        auto *action = new QAction(style()->standardIcon(icon), text, this);
        action->setObjectName(name);
        if (!shortcut.isEmpty())
            action->setShortcut(shortcut);
        action->setToolTip(shortcut.isEmpty() ? tip
                                              : tip + QStringLiteral(" (")
                                   + shortcut.toString(QKeySequence::NativeText) + u')');
        action->setStatusTip(tip);
        addAction(action);
        return action;
    };

    m_startAction = make(QStringLiteral("startAction"), tr("&Start"), QStyle::SP_MediaPlay,
                         QKeySequence(Qt::CTRL | Qt::Key_R), tr("Start the server"));
    m_stopAction = make(QStringLiteral("stopAction"), tr("S&top"), QStyle::SP_MediaStop,
                        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R),
                        tr("Stop the server and disconnect everyone"));
    m_settingsAction = make(QStringLiteral("settingsAction"), tr("Se&ttings…"),
                            QStyle::SP_FileDialogDetailedView, QKeySequence::Preferences,
                            tr("Port, name, password and limits"));
    if (m_settingsAction->shortcut().isEmpty())
        m_settingsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    m_kickAction = make(QStringLiteral("kickAction"), tr("&Kick…"), QStyle::SP_DialogCancelButton,
                        QKeySequence(Qt::CTRL | Qt::Key_K), tr("Disconnect the selected people"));
    m_banAction = make(QStringLiteral("banAction"), tr("&Ban…"), QStyle::SP_BrowserStop,
                       QKeySequence(Qt::CTRL | Qt::Key_B),
                       tr("Disconnect the selected people and keep them out"));
    m_muteAction = make(QStringLiteral("muteAction"), tr("&Mute"), QStyle::SP_MediaVolumeMuted,
                        QKeySequence(Qt::CTRL | Qt::Key_M),
                        tr("Stop the selected people from writing until unmuted"));
    m_muteTenMinutesAction = new QAction(tr("Mute for 10 minutes"), this);
    m_muteTenMinutesAction->setObjectName(QStringLiteral("muteTenMinutesAction"));
    m_muteHourAction = new QAction(tr("Mute for 1 hour"), this);
    m_muteHourAction->setObjectName(QStringLiteral("muteHourAction"));
    m_unmuteAction = make(QStringLiteral("unmuteAction"), tr("&Unmute"), QStyle::SP_MediaVolume,
                          QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M),
                          tr("Let the selected people write again"));
    m_banListAction = make(
        QStringLiteral("banListAction"), tr("Ba&ns…"), QStyle::SP_FileDialogListView,
        QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B), tr("The bans in force, and lifting them"));
    const QString announceText = tr("&Announce…");
    m_announceAction
        = make(QStringLiteral("announceAction"), announceText, QStyle::SP_MessageBoxInformation,
               QKeySequence(Qt::CTRL | Qt::Key_N), tr("A notice to everyone or to one room"));
    m_topicAction
        = make(QStringLiteral("topicAction"), tr("&Topic…"), QStyle::SP_FileDialogInfoView,
               QKeySequence(Qt::CTRL | Qt::Key_T), tr("Set a room's topic"));
    m_copyUrlAction
        = make(QStringLiteral("copyUrlAction"), tr("&Copy join address"),
               QStyle::SP_DialogSaveButton, QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C),
               tr("Copy the address people open in their browser"));
    m_clearLogAction
        = make(QStringLiteral("clearLogAction"), tr("C&lear log"), QStyle::SP_DialogResetButton,
               QKeySequence(), tr("Empty the log in this window (the server keeps its history)"));
    m_followAction
        = make(QStringLiteral("followAction"), tr("&Follow the log"), QStyle::SP_ArrowDown,
               QKeySequence(Qt::CTRL | Qt::Key_End), tr("Keep the newest log lines in view"));
    m_followAction->setCheckable(true);
    updateFollowButton();
    m_findAction
        = make(QStringLiteral("findAction"), tr("&Find connection"),
               QStyle::SP_FileDialogContentsView, QKeySequence::Find, tr("Filter the connections"));
    m_quitAction = make(QStringLiteral("quitAction"), tr("&Quit"), QStyle::SP_DialogCloseButton,
                        QKeySequence::Quit, tr("Stop the server and close LanChat"));
    if (m_quitAction->shortcut().isEmpty())
        m_quitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));

    connect(m_startAction, &QAction::triggered, this, &MainWindow::startServer);
    connect(m_stopAction, &QAction::triggered, this, &MainWindow::confirmStop);
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::showSettings);
    connect(m_kickAction, &QAction::triggered, this, [this] { kick(selectedTargets()); });
    connect(m_banAction, &QAction::triggered, this, [this] { ban(selectedTargets()); });
    connect(m_muteAction, &QAction::triggered, this, [this] { mute(selectedTargets(), 0); });
    connect(m_muteTenMinutesAction, &QAction::triggered, this,
            [this] { mute(selectedTargets(), 600); });
    connect(m_muteHourAction, &QAction::triggered, this, [this] { mute(selectedTargets(), 3600); });
    connect(m_unmuteAction, &QAction::triggered, this, [this] { unmute(selectedTargets()); });
    connect(m_banListAction, &QAction::triggered, this, &MainWindow::showBans);
    connect(m_announceAction, &QAction::triggered, this, &MainWindow::announce);
    connect(m_topicAction, &QAction::triggered, this, [this] { editTopic(); });
    connect(m_copyUrlAction, &QAction::triggered, this, &MainWindow::copyJoinUrl);
    connect(m_clearLogAction, &QAction::triggered, m_log, &LogModel::clear);
    connect(m_followAction, &QAction::triggered, this, &MainWindow::setFollowLog);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);
}

void MainWindow::createToolBar()
{
    auto *bar = addToolBar(tr("Host"));
    bar->setObjectName(QStringLiteral("hostToolBar"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(m_startAction);
    bar->addAction(m_stopAction);
    bar->addAction(m_settingsAction);
    bar->addSeparator();
    bar->addAction(m_kickAction);
    bar->addAction(m_banAction);
    bar->addAction(m_muteAction);
    bar->addAction(m_unmuteAction);
    bar->addAction(m_banListAction);
    bar->addSeparator();
    bar->addAction(m_announceAction);
    bar->addAction(m_topicAction);
}

void MainWindow::createMenus()
{
    QMenu *server = menuBar()->addMenu(tr("&Server"));
    server->addAction(m_startAction);
    server->addAction(m_stopAction);
    server->addSeparator();
    server->addAction(m_copyUrlAction);
    server->addAction(m_settingsAction);
    QAction *history = server->addAction(tr("&History…"), this, [this] {
        auto *dialog = new HistoryDialog(SqliteStore::defaultFilePath(m_config.dataDir), this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &HistoryDialog::historyCleared, this, [this] {
            if (m_manager) {
                LanChat::handOver();
                QMetaObject::invokeMethod(m_manager.data(), &ConnectionManager::reloadHistory,
                                          Qt::QueuedConnection);
            }
        });
        dialog->show();
    });
    history->setObjectName(QStringLiteral("historyAction"));
    server->addSeparator();
    server->addAction(m_quitAction);

    QMenu *people = menuBar()->addMenu(tr("&People"));
    people->addAction(m_kickAction);
    people->addAction(m_banAction);
    people->addAction(m_muteAction);
    people->addAction(m_muteTenMinutesAction);
    people->addAction(m_muteHourAction);
    people->addAction(m_unmuteAction);
    people->addSeparator();
    people->addAction(m_banListAction);
    people->addAction(m_findAction);

    QMenu *rooms = menuBar()->addMenu(tr("&Rooms"));
    rooms->addAction(m_announceAction);
    rooms->addAction(m_topicAction);

    QMenu *view = menuBar()->addMenu(tr("&Log"));
    view->addAction(m_followAction);
    view->addAction(m_clearLogAction);
}

QWidget *MainWindow::createConnectionsPanel()
{
    auto *panel = new QWidget(this);
    m_connectionsTitle = titleLabel(tr("Connections"), panel);
    m_connectionsTitle->setObjectName(QStringLiteral("connectionsTitle"));
    m_connectionFilter = new QLineEdit(panel);
    m_connectionFilter->setObjectName(QStringLiteral("connectionFilter"));
    m_connectionFilter->setPlaceholderText(tr("Filter by nickname, address, room or state"));
    m_connectionFilter->setClearButtonEnabled(true);
    m_connectionFilter->setMaximumWidth(340);
    connect(m_connectionFilter, &QLineEdit::textChanged, m_connectionsProxy,
            &ConnectionFilterProxy::setFilterText);
    connect(m_findAction, &QAction::triggered, this, [this] {
        m_connectionFilter->setFocus();
        m_connectionFilter->selectAll();
    });

    m_connectionsView = new QTableView(panel);
    m_connectionsView->setObjectName(QStringLiteral("connectionsView"));
    setupTable(m_connectionsView);
    m_connectionsView->setModel(m_connectionsProxy);
    m_connectionsView->setSortingEnabled(true);
    m_connectionsView->sortByColumn(ConnectionModel::ConnectedColumn, Qt::AscendingOrder);
    QHeaderView *header = m_connectionsView->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(false);
    header->setSectionResizeMode(ConnectionModel::RoomsColumn, QHeaderView::Stretch);
    const int digit = m_connectionsView->fontMetrics().horizontalAdvance(u'0');
    const QList<QPair<int, int>> widths = {
        {ConnectionModel::NickColumn, 14},      {ConnectionModel::AddressColumn, 17},
        {ConnectionModel::ConnectedColumn, 8},  {ConnectionModel::IdleColumn, 6},
        {ConnectionModel::MessagesInColumn, 7}, {ConnectionModel::MessagesOutColumn, 8},
        {ConnectionModel::BytesInColumn, 9},    {ConnectionModel::BytesOutColumn, 9},
        {ConnectionModel::RttColumn, 6},        {ConnectionModel::StateColumn, 8},
    };
    for (const auto &[column, chars] : widths)
        header->resizeSection(column, chars * digit + 16);

    connect(m_connectionsView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::updateActions);
    connect(m_connectionsView, &QWidget::customContextMenuRequested, this,
            &MainWindow::showConnectionsMenu);
    // A double click follows that person in the log.
    connect(m_connectionsView, &QAbstractItemView::doubleClicked, this,
            [this](const QModelIndex &index) {
                const QString nick = index.data(ConnectionModel::NickRole).toString();
                if (!nick.isEmpty())
                    m_logUser->setText(nick);
            });

    auto *top = new QHBoxLayout;
    top->addWidget(m_connectionsTitle);
    top->addStretch();
    top->addWidget(m_connectionFilter);
    auto *layout = new QVBoxLayout(panel);
    layout->setContentsMargins(6, 6, 3, 3);
    layout->addLayout(top);
    layout->addWidget(m_connectionsView);
    return panel;
}

QWidget *MainWindow::createLogPanel()
{
    auto *panel = new QWidget(this);
    m_logRoom = new QComboBox(panel);
    m_logRoom->setObjectName(QStringLiteral("logRoomFilter"));
    m_logRoom->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_logRoom->addItem(tr("All rooms"), QString());
    m_logRoom->addItem(tr("Direct messages"), LogFilterProxy::directRoom());
    connect(m_logRoom, &QComboBox::currentIndexChanged, this,
            [this] { m_logProxy->setRoom(m_logRoom->currentData().toString()); });

    m_logUser = new QLineEdit(panel);
    m_logUser->setObjectName(QStringLiteral("logUserFilter"));
    m_logUser->setPlaceholderText(tr("User"));
    m_logUser->setClearButtonEnabled(true);
    m_logUser->setMaximumWidth(160);
    connect(m_logUser, &QLineEdit::textChanged, m_logProxy, &LogFilterProxy::setUser);

    m_logText = new QLineEdit(panel);
    m_logText->setObjectName(QStringLiteral("logTextFilter"));
    m_logText->setPlaceholderText(tr("Search the text"));
    m_logText->setClearButtonEnabled(true);
    m_logText->setMaximumWidth(240);
    connect(m_logText, &QLineEdit::textChanged, m_logProxy, &LogFilterProxy::setText);

    m_logPresence = new QCheckBox(tr("Joins and leaves"), panel);
    m_logPresence->setObjectName(QStringLiteral("logPresence"));
    m_logPresence->setChecked(true);
    m_logPresence->setToolTip(tr("Show people coming, going and renaming"));
    connect(m_logPresence, &QCheckBox::toggled, m_logProxy, &LogFilterProxy::setShowPresence);

    m_followButton = new QToolButton(panel);
    m_followButton->setObjectName(QStringLiteral("followButton"));
    m_followButton->setDefaultAction(m_followAction);
    m_followButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);

    m_logView = new QTableView(panel);
    m_logView->setObjectName(QStringLiteral("logView"));
    setupTable(m_logView);
    m_logView->setModel(m_logProxy);
    QHeaderView *header = m_logView->horizontalHeader();
    header->setStretchLastSection(true);
    const int digit = m_logView->fontMetrics().horizontalAdvance(u'0');
    header->resizeSection(LogModel::TimeColumn, 9 * digit + 16);
    header->resizeSection(LogModel::KindColumn, 11 * digit + 16);
    header->resizeSection(LogModel::RoomColumn, 12 * digit + 16);
    header->resizeSection(LogModel::SenderColumn, 18 * digit + 16);
    connect(m_logView, &QWidget::customContextMenuRequested, this, &MainWindow::showLogMenu);

    // Scrolling up pauses following; coming back to the end resumes it.
    QScrollBar *bar = m_logView->verticalScrollBar();
    connect(bar, &QScrollBar::valueChanged, this, [this, bar](int value) {
        if (m_scrollingLog)
            return;
        const bool atEnd = value >= bar->maximum();
        if (atEnd != m_followLog) {
            m_followLog = atEnd;
            updateFollowButton();
        }
    });

    auto *top = new QHBoxLayout;
    top->addWidget(titleLabel(tr("Log"), panel));
    top->addStretch();
    top->addWidget(m_logRoom);
    top->addWidget(m_logUser);
    top->addWidget(m_logText);
    top->addWidget(m_logPresence);
    top->addWidget(m_followButton);
    auto *layout = new QVBoxLayout(panel);
    layout->setContentsMargins(6, 3, 3, 6);
    layout->addLayout(top);
    layout->addWidget(m_logView);
    return panel;
}

QWidget *MainWindow::createStatusPanel()
{
    auto *panel = new QFrame(this);
    panel->setObjectName(QStringLiteral("statusPanel"));
    panel->setMinimumWidth(270);
    panel->setMaximumWidth(380);

    m_stateLabel = new QLabel(panel);
    m_stateLabel->setObjectName(QStringLiteral("stateLabel"));
    m_stateLabel->setTextFormat(Qt::PlainText);
    m_stateLabel->setWordWrap(true);
    QFont stateFont = m_stateLabel->font();
    stateFont.setBold(true);
    stateFont.setPointSizeF(stateFont.pointSizeF() * 1.25);
    m_stateLabel->setFont(stateFont);

    m_nameLabel = new QLabel(panel);
    m_nameLabel->setObjectName(QStringLiteral("nameLabel"));
    m_nameLabel->setTextFormat(Qt::PlainText);
    m_nameLabel->setWordWrap(true);

    auto *joinTitle = titleLabel(tr("Join from a browser"), panel);
    m_urlsLabel = new QLabel(panel);
    m_urlsLabel->setObjectName(QStringLiteral("urlsLabel"));
    m_urlsLabel->setTextFormat(Qt::PlainText);
    m_urlsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_urlsLabel->setWordWrap(true);
    auto *copy = new QToolButton(panel);
    copy->setObjectName(QStringLiteral("copyUrlButton"));
    copy->setText(tr("Copy"));
    copy->setToolTip(m_copyUrlAction->toolTip());
    connect(copy, &QToolButton::clicked, m_copyUrlAction, &QAction::trigger);
    connect(m_copyUrlAction, &QAction::enabledChanged, copy, &QWidget::setEnabled);

    m_qrCode = new QrCodeWidget(panel);
    m_qrCode->setObjectName(QStringLiteral("qrCode"));
    m_qrCode->setFixedSize(176, 176);

    auto *numbers = new QFormLayout;
    numbers->setLabelAlignment(Qt::AlignLeft);
    numbers->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_uptimeLabel = valueLabel(panel, QStringLiteral("uptimeLabel"));
    m_connectionsLabel = valueLabel(panel, QStringLiteral("connectionsLabel"));
    m_usersLabel = valueLabel(panel, QStringLiteral("usersLabel"));
    m_roomsLabel = valueLabel(panel, QStringLiteral("roomsLabel"));
    m_rateLabel = valueLabel(panel, QStringLiteral("rateLabel"));
    m_deliveriesLabel = valueLabel(panel, QStringLiteral("deliveriesLabel"));
    m_totalLabel = valueLabel(panel, QStringLiteral("totalLabel"));
    numbers->addRow(tr("Up for"), m_uptimeLabel);
    numbers->addRow(tr("Connections"), m_connectionsLabel);
    numbers->addRow(tr("People"), m_usersLabel);
    numbers->addRow(tr("Rooms"), m_roomsLabel);
    numbers->addRow(tr("Messages/s"), m_rateLabel);
    numbers->addRow(tr("Deliveries/s"), m_deliveriesLabel);
    numbers->addRow(tr("Messages in all"), m_totalLabel);

    m_chart = new ActivityChart(panel);
    m_chart->setObjectName(QStringLiteral("activityChart"));
    m_chart->setMinimumHeight(130);

    auto *urlRow = new QHBoxLayout;
    urlRow->addWidget(m_urlsLabel, 1);
    urlRow->addWidget(copy, 0, Qt::AlignTop);
    auto *qrRow = new QHBoxLayout;
    qrRow->addStretch();
    qrRow->addWidget(m_qrCode);
    qrRow->addStretch();

    auto *layout = new QVBoxLayout(panel);
    layout->setContentsMargins(10, 8, 10, 8);
    layout->addWidget(m_stateLabel);
    layout->addWidget(m_nameLabel);
    layout->addSpacing(8);
    layout->addWidget(joinTitle);
    layout->addLayout(urlRow);
    layout->addLayout(qrRow);
    layout->addSpacing(8);
    layout->addLayout(numbers);
    layout->addSpacing(8);
    layout->addWidget(titleLabel(tr("Activity"), panel));
    layout->addWidget(m_chart, 1);
    return panel;
}

void MainWindow::createTray()
{
    if (!QSystemTrayIcon::isSystemTrayAvailable())
        return;
    m_tray = new QSystemTrayIcon(windowIcon(), this);
    m_tray->setObjectName(QStringLiteral("trayIcon"));
    auto *menu = new QMenu(this);
    QAction *show = menu->addAction(tr("Show LanChat"));
    connect(show, &QAction::triggered, this, [this] {
        showNormal();
        raise();
        activateWindow();
    });
    menu->addAction(m_announceAction);
    menu->addAction(m_copyUrlAction);
    menu->addSeparator();
    menu->addAction(m_quitAction);
    m_tray->setContextMenu(menu);
    connect(m_tray, &QSystemTrayIcon::activated, this,
            [this](QSystemTrayIcon::ActivationReason reason) {
                if (reason != QSystemTrayIcon::Trigger)
                    return;
                if (isVisible() && !isMinimized()) {
                    hide();
                } else {
                    showNormal();
                    raise();
                    activateWindow();
                }
            });
    m_tray->show();
}

// ---------------------------------------------------------------------------------------------
// The server

void MainWindow::startServer()
{
    if (m_host->isRunning())
        return;
    m_failure.clear();
    const QString problem = m_settingsProblem.isEmpty() ? m_config.validate() : m_settingsProblem;
    if (!problem.isEmpty()) {
        qCWarning(lcUi).noquote() << "settings not valid:" << problem;
        reportStartFailure(
            tr("LanChat cannot start with these settings: %1. Correct them in Settings.")
                .arg(problem),
            problem);
        return;
    }
    m_host->start(m_config);
}

void MainWindow::stopServer()
{
    if (!m_host->isRunning())
        return;
    m_host->stop(tr("The host stopped the server."));
}

void MainWindow::applyConfig(const ServerConfig &config)
{
    m_config = config;
    // Saving writes every key, over whatever could not be read before.
    m_settingsProblem.clear();
    QSettings settings;
    m_config.save(settings);
    settings.sync();

    log(LogEntry::Server, tr("Settings saved."));
    if (m_host->isRunning()) {
        m_host->stop(tr("The server is restarting with new settings."));
        startServer();
    } else if (!m_failure.isEmpty()) {
        // The last start failed; the new settings deserve a try.
        startServer();
    }
}

void MainWindow::quitWithoutAsking()
{
    m_quitConfirmed = true;
    close();
}

void MainWindow::onStarted(ConnectionManager *manager, quint16 port, const QStringList &joinUrls)
{
    m_manager = manager;
    m_port = port;
    m_joinUrls = joinUrls;
    m_failure.clear();
    m_uptime.start();
    m_counters = {};
    m_connections->clear();
    m_addresses.clear();
    m_chart->clear();
    connectManager(manager);

    qCInfo(lcUi).noquote() << "server running on port" << port;
    log(LogEntry::Server,
        joinUrls.isEmpty()
            ? tr("Server started on port %1.").arg(port)
            : tr("Server started: join at %1").arg(joinUrls.join(QStringLiteral(", "))));
    m_qrCode->setText(joinUrls.value(0));
    updateStatusPanel();
    updateActions();
    Q_EMIT serverStarted(port, joinUrls);
}

void MainWindow::onStartFailed(const QString &errorString, ChatServer::Failure failure)
{
    const QString message = failure == ChatServer::StoreFailed
        ? tr("The server could not open its history (%1). Stop the other LanChat server that "
             "uses this data folder, or start LanChat with another --data-dir.")
              .arg(errorString)
        : tr("The server could not listen on port %1 (%2). Another program may be using the "
             "port: choose another one in Settings.")
              .arg(m_config.port)
              .arg(errorString);
    qCWarning(lcUi).noquote() << "server did not start:" << errorString;
    reportStartFailure(message, errorString);
}

void MainWindow::reportStartFailure(const QString &message, const QString &errorString)
{
    m_failure = errorString;
    log(LogEntry::Failure, message);
    statusBar()->showMessage(tr("The server could not start."));
    updateStatusPanel();
    updateActions();

    // Shown without blocking, so that a window started without anyone in front of it (or a
    // test) goes on running.
    auto *box = new QMessageBox(QMessageBox::Warning, tr("LanChat could not start"), message,
                                QMessageBox::Close, this);
    box->setObjectName(QStringLiteral("startFailedBox"));
    box->setTextFormat(Qt::PlainText);
    QPushButton *settings = box->addButton(tr("Settings…"), QMessageBox::AcceptRole);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::buttonClicked, this, [this, settings](QAbstractButton *button) {
        if (button == settings)
            QTimer::singleShot(0, this, &MainWindow::showSettings);
    });
    box->open();
    Q_EMIT serverFailed(errorString);
}

void MainWindow::onStopped()
{
    m_manager = nullptr;
    m_statsPending = false;
    m_pendingStats.clear();
    m_connections->clear();
    m_addresses.clear();
    m_counters = {};
    m_messageRate = 0;
    m_deliveryRate = 0;
    m_chart->clear();
    updateConnectionsTitle();
    qCInfo(lcUi) << "server stopped";
    log(LogEntry::Server, tr("Server stopped."));
    updateStatusPanel();
    updateActions();
    Q_EMIT serverStopped();
}

void MainWindow::connectManager(ConnectionManager *manager)
{
    // The manager lives on the network thread: every connection is queued, so its signals run
    // here on the window's thread, and it never waits for the window.
    const auto queued = Qt::QueuedConnection;
    connect(manager, &ConnectionManager::clientConnected, this, &MainWindow::onClientConnected,
            queued);
    connect(manager, &ConnectionManager::clientIdentified, this, &MainWindow::onClientIdentified,
            queued);
    connect(manager, &ConnectionManager::clientRenamed, this, &MainWindow::onClientRenamed, queued);
    connect(manager, &ConnectionManager::clientJoinedRoom, this, &MainWindow::onClientJoinedRoom,
            queued);
    connect(manager, &ConnectionManager::clientLeftRoom, this, &MainWindow::onClientLeftRoom,
            queued);
    connect(manager, &ConnectionManager::clientDisconnected, this,
            &MainWindow::onClientDisconnected, queued);
    connect(manager, &ConnectionManager::messagePosted, this, &MainWindow::onMessagePosted, queued);
    connect(manager, &ConnectionManager::noticePosted, this, &MainWindow::onNoticePosted, queued);
    connect(manager, &ConnectionManager::topicChanged, this, &MainWindow::onTopicChanged, queued);
    connect(manager, &ConnectionManager::hostActionTaken, this, &MainWindow::onHostActionTaken,
            queued);
    connect(manager, &ConnectionManager::bansChanged, this, &MainWindow::onBansChanged, queued);
    connect(manager, &ConnectionManager::statsUpdated, this, &MainWindow::onStatsUpdated, queued);
    connect(manager, &ConnectionManager::hostActionFailed, this, &MainWindow::onHostActionFailed,
            queued);

    callManager([](ConnectionManager *m) {
        m->setStatsInterval(StatsIntervalMs);
        // Bans kept from earlier runs are loaded before the window connects.
        m->reportBans();
    });
}

template<typename Call> void MainWindow::callManager(Call call)
{
    ConnectionManager *manager = m_manager;
    if (!manager) {
        statusBar()->showMessage(tr("The server is not running."), 5000);
        return;
    }
    // Runs on the network thread; dropped if the manager is gone by then.
    LanChat::invokeOnThread(manager, [manager, call] { call(manager); });
}

// ---------------------------------------------------------------------------------------------
// What the server reports

void MainWindow::onClientConnected(const ClientInfo &info)
{
    bool isV4 = false;
    const quint32 v4 = info.address.toIPv4Address(&isV4);
    m_addresses.insert(info.id, isV4 ? QHostAddress(v4).toString() : info.address.toString());
}

void MainWindow::onClientIdentified(quint64 id, const QString &nick)
{
    const QString address = m_addresses.value(id);
    log(LogEntry::Connected,
        address.isEmpty() ? tr("connected") : tr("connected from %1").arg(address), {}, nick);
}

void MainWindow::onClientRenamed(quint64 id, const QString &oldNick, const QString &newNick)
{
    LogEntry entry;
    entry.kind = LogEntry::Renamed;
    entry.sender = oldNick;
    entry.recipient = newNick;
    entry.text = tr("is now %1").arg(newNick);
    log(entry);
}

void MainWindow::onClientJoinedRoom(quint64 id, const QString &nick, const QString &room)
{
    log(LogEntry::Joined, tr("joined #%1").arg(room), room, nick);
}

void MainWindow::onClientLeftRoom(quint64 id, const QString &nick, const QString &room,
                                  const QString &event)
{
    QString text;
    if (event == QLatin1String("kicked"))
        text = tr("was kicked from #%1").arg(room);
    else if (event == QLatin1String("banned"))
        text = tr("was banned from #%1").arg(room);
    else if (event == QLatin1String("timeout"))
        text = tr("lost the connection to #%1").arg(room);
    else
        text = tr("left #%1").arg(room);
    log(LogEntry::Left, text, room, nick);
}

void MainWindow::onClientDisconnected(quint64 id, const QString &nick, const QString &reason)
{
    const QString address = m_addresses.take(id);
    // A connection that never said hello is noise in the log; the table showed it while it lasted.
    if (nick.isEmpty())
        return;
    log(LogEntry::Disconnected, reason.isEmpty() ? tr("left the server") : reason, {}, nick);
}

void MainWindow::onMessagePosted(const ChatMessage &message)
{
    LogEntry entry;
    entry.kind = message.isDirect() ? LogEntry::Direct : LogEntry::Message;
    entry.time = message.ts;
    entry.room = message.room;
    entry.sender = message.from;
    entry.recipient = message.to;
    entry.text = message.text;
    log(entry);
}

void MainWindow::onNoticePosted(const QString &room, const QString &text)
{
    log(LogEntry::Notice, text, room, tr("host"));
}

void MainWindow::onTopicChanged(const QString &room, const QString &topic)
{
    m_topics.insert(room, topic);
    log(LogEntry::Topic,
        topic.isEmpty() ? tr("cleared the topic") : tr("set the topic: %1").arg(topic), room,
        tr("host"));
}

void MainWindow::onHostActionTaken(const ModerationAction &action)
{
    // Announcements and topics reach the log through noticePosted and topicChanged.
    switch (action.kind) {
    case ModerationAction::Kick:
        log(LogEntry::Kicked,
            action.reason.isEmpty() ? tr("kicked %1").arg(action.target)
                                    : tr("kicked %1: %2").arg(action.target, action.reason),
            {}, tr("host"));
        break;
    case ModerationAction::BanAction: {
        const QString until = action.until.isValid()
            ? tr("until %1")
                  .arg(action.until.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm")))
            : tr("for good");
        log(LogEntry::Banned,
            action.reason.isEmpty()
                ? tr("banned %1 %2").arg(action.target, until)
                : tr("banned %1 %2: %3").arg(action.target, until, action.reason),
            {}, tr("host"));
        break;
    }
    case ModerationAction::Unban:
        log(LogEntry::Unbanned, tr("lifted the ban on %1").arg(action.target), {}, tr("host"));
        break;
    case ModerationAction::Mute:
        log(LogEntry::Muted,
            action.until.isValid()
                ? tr("muted %1 until %2")
                      .arg(action.target,
                           action.until.toLocalTime().toString(QStringLiteral("HH:mm")))
                : tr("muted %1").arg(action.target),
            {}, tr("host"));
        break;
    case ModerationAction::Unmute:
        log(LogEntry::Unmuted, tr("unmuted %1").arg(action.target), {}, tr("host"));
        break;
    case ModerationAction::Announce:
    case ModerationAction::Topic:
        break;
    }
}

void MainWindow::onBansChanged(const QList<Ban> &bans)
{
    m_bans->setBans(bans);
}

void MainWindow::onStatsUpdated(const QList<ClientStats> &clients, const ServerCounters &counters)
{
    // A snapshot still queued from a server that has stopped since would bring its rows back.
    if (sender() != m_manager)
        return;
    // Only the newest snapshot matters; the timer applies it, however many came meanwhile.
    m_pendingStats = clients;
    m_counters = counters;
    m_statsPending = true;
    m_rateSum += counters.messagesPerSecond;
    m_deliverySum += counters.deliveriesPerSecond;
    ++m_rateSamples;
}

void MainWindow::onHostActionFailed(const QString &message)
{
    log(LogEntry::Failure, message, {}, tr("host"));
    statusBar()->showMessage(message, 8000);
}

void MainWindow::applyPendingStats()
{
    if (!m_statsPending)
        return;
    m_statsPending = false;
    m_connections->applySnapshot(m_pendingStats);
    m_pendingStats.clear();
    updateConnectionsTitle();
    updateActions();
}

void MainWindow::updateConnectionsTitle()
{
    m_connectionsTitle->setText(
        m_connectionsProxy->filterText().isEmpty()
            ? tr("Connections (%1)").arg(QLocale().toString(m_connections->rowCount()))
            : tr("Connections (%1 of %2)")
                  .arg(QLocale().toString(m_connectionsProxy->rowCount()),
                       QLocale().toString(m_connections->rowCount())));
}

void MainWindow::onClockTick()
{
    if (m_rateSamples > 0) {
        m_messageRate = m_rateSum / m_rateSamples;
        m_deliveryRate = m_deliverySum / m_rateSamples;
    } else {
        m_messageRate = m_counters.messagesPerSecond;
        m_deliveryRate = m_counters.deliveriesPerSecond;
    }
    m_rateSum = 0;
    m_deliverySum = 0;
    m_rateSamples = 0;
    if (m_host->isRunning())
        m_chart->addSample(m_counters.connections, m_messageRate);
    updateStatusPanel();
    updateRoomFilter();
}

// ---------------------------------------------------------------------------------------------
// Keeping the window current

void MainWindow::updateStatusPanel()
{
    const bool running = m_host->isRunning();
    QPalette statePalette = m_stateLabel->palette();
    if (running) {
        m_stateLabel->setText(tr("● Running on port %1").arg(m_port));
        statePalette.setColor(QPalette::WindowText, QColor(0x26, 0x8a, 0x3c));
    } else if (!m_failure.isEmpty()) {
        m_stateLabel->setText(tr("● Could not start: %1").arg(m_failure));
        statePalette.setColor(QPalette::WindowText, QColor(0xc0, 0x1c, 0x28));
    } else {
        m_stateLabel->setText(tr("● Stopped"));
        statePalette.setColor(QPalette::WindowText, QColor(0x6b, 0x70, 0x78));
    }
    m_stateLabel->setPalette(statePalette);
    m_nameLabel->setText(m_config.password.isEmpty()
                             ? m_config.name
                             : tr("%1 — password required").arg(m_config.name));

    if (running) {
        m_urlsLabel->setText(m_joinUrls.isEmpty() ? tr("port %1").arg(m_port)
                                                  : m_joinUrls.join(u'\n'));
    } else {
        m_urlsLabel->setText(tr("Start the server to let people join."));
        m_qrCode->setText({});
    }
    m_copyUrlAction->setEnabled(running && !m_joinUrls.isEmpty());

    const QLocale locale;
    const auto number = [&](QLabel *label, qint64 value) {
        label->setText(running ? locale.toString(value) : QStringLiteral("–"));
    };
    m_uptimeLabel->setText(running ? formatUptime(m_uptime.elapsed()) : QStringLiteral("–"));
    number(m_connectionsLabel, m_counters.connections);
    number(m_usersLabel, m_counters.users);
    number(m_roomsLabel, m_counters.rooms);
    number(m_totalLabel, qint64(m_counters.messagesTotal));
    m_rateLabel->setText(running ? formatRate(m_messageRate) : QStringLiteral("–"));
    m_deliveriesLabel->setText(running ? formatRate(m_deliveryRate) : QStringLiteral("–"));

    const QString title = running ? tr("%1 — LanChat").arg(m_config.name)
                                  : tr("%1 — LanChat (stopped)").arg(m_config.name);
    if (windowTitle() != title)
        setWindowTitle(title);
    if (m_tray) {
        m_tray->setToolTip(running ? tr("LanChat: %n connected", nullptr, m_counters.connections)
                                   : tr("LanChat: stopped"));
    }
}

void MainWindow::updateActions()
{
    const bool running = m_host->isRunning();
    bool anyNick = false;
    bool anyAddress = false;
    bool anyMuted = false;
    bool anyUnmuted = false;
    const QList<Target> targets = selectedTargets();
    for (const Target &t : targets) {
        anyAddress = anyAddress || !t.address.isEmpty();
        if (t.nick.isEmpty())
            continue;
        anyNick = true;
        const int row = m_connections->rowOfId(t.id);
        const bool muted = row >= 0 && m_connections->clientAt(row).muted;
        anyMuted = anyMuted || muted;
        anyUnmuted = anyUnmuted || !muted;
    }
    m_startAction->setEnabled(!running);
    m_stopAction->setEnabled(running);
    m_kickAction->setEnabled(running && anyNick);
    m_banAction->setEnabled(running && (anyNick || anyAddress));
    m_muteAction->setEnabled(running && anyUnmuted);
    m_muteTenMinutesAction->setEnabled(running && anyUnmuted);
    m_muteHourAction->setEnabled(running && anyUnmuted);
    m_unmuteAction->setEnabled(running && anyMuted);
    m_announceAction->setEnabled(running);
    m_topicAction->setEnabled(running);
}

QStringList MainWindow::knownRooms() const
{
    QSet<QString> rooms = m_logRooms;
    const QStringList current = m_connections->rooms();
    for (const QString &room : current)
        rooms.insert(room);
    QStringList list(rooms.begin(), rooms.end());
    list.sort();
    return list;
}

void MainWindow::updateRoomFilter()
{
    const QStringList rooms = knownRooms();
    // Items after "All rooms" and "Direct messages" are the rooms, in order.
    QStringList listed;
    for (int i = 2; i < m_logRoom->count(); ++i)
        listed.append(m_logRoom->itemData(i).toString());
    if (listed == rooms)
        return;
    const QString current = m_logRoom->currentData().toString();
    const QSignalBlocker blocker(m_logRoom);
    while (m_logRoom->count() > 2)
        m_logRoom->removeItem(2);
    for (const QString &room : rooms)
        m_logRoom->addItem(u'#' + room, room);
    const int index = m_logRoom->findData(current);
    if (index >= 0) {
        m_logRoom->setCurrentIndex(index);
    } else {
        // The room filtered on is gone from the list; keep filtering on it all the same.
        m_logRoom->addItem(u'#' + current, current);
        m_logRoom->setCurrentIndex(m_logRoom->count() - 1);
    }
}

void MainWindow::onLogFlushed()
{
    if (m_followLog) {
        m_scrollingLog = true;
        m_logView->scrollToBottom();
        m_scrollingLog = false;
    }
}

void MainWindow::setFollowLog(bool follow)
{
    m_followLog = follow;
    if (follow) {
        m_scrollingLog = true;
        m_logView->scrollToBottom();
        m_scrollingLog = false;
    }
    updateFollowButton();
}

void MainWindow::updateFollowButton()
{
    // Checked while following, and the label says so: a click pauses, or follows again.
    m_followAction->setChecked(m_followLog);
    m_followAction->setText(m_followLog ? tr("&Following") : tr("Paused: &follow"));
    const QString tip = m_followLog ? tr("The newest log lines stay in view; click to pause")
                                    : tr("Click to show the newest log lines and follow them");
    m_followAction->setToolTip(tip);
    m_followAction->setStatusTip(tip);
}

// ---------------------------------------------------------------------------------------------
// Host actions

QList<MainWindow::Target> MainWindow::selectedTargets() const
{
    QList<Target> targets;
    if (!m_connectionsView)
        return targets;
    const QModelIndexList rows = m_connectionsView->selectionModel()->selectedRows();
    for (const QModelIndex &index : rows) {
        const QModelIndex source = m_connectionsProxy->mapToSource(index);
        if (!source.isValid())
            continue;
        const ClientStats &c = m_connections->clientAt(source.row());
        Target t;
        t.id = c.id;
        t.nick = c.nick;
        t.address = source.data(ConnectionModel::AddressRole).toString();
        targets.append(t);
    }
    return targets;
}

MainWindow::Target MainWindow::targetForNick(const QString &nick) const
{
    Target t;
    t.nick = nick;
    const int row = m_connections->rowOfNick(nick);
    if (row >= 0) {
        t.id = m_connections->clientAt(row).id;
        t.address = m_connections->index(row, 0).data(ConnectionModel::AddressRole).toString();
    }
    return t;
}

bool MainWindow::selectConnection(const QString &nick)
{
    const int row = m_connections->rowOfNick(nick);
    if (row < 0)
        return false;
    const QModelIndex index = m_connectionsProxy->mapFromSource(m_connections->index(row, 0));
    if (!index.isValid())
        return false;
    m_connectionsView->selectionModel()->select(
        index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_connectionsView->selectionModel()->setCurrentIndex(index, QItemSelectionModel::NoUpdate);
    m_connectionsView->scrollTo(index);
    updateActions();
    return true;
}

void MainWindow::kick(const QList<Target> &targets)
{
    QStringList nicks;
    for (const Target &t : targets) {
        if (!t.nick.isEmpty())
            nicks.append(t.nick);
    }
    if (nicks.isEmpty())
        return;
    auto *dialog = new KickDialog(nicks, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const QString reason = dialog->reason();
        const QStringList nicks = dialog->nicks();
        for (const QString &nick : nicks)
            callManager([nick, reason](ConnectionManager *m) { m->kick(nick, reason); });
    });
    dialog->open();
}

void MainWindow::ban(const QList<Target> &targets)
{
    QList<BanDialog::Target> list;
    for (const Target &t : targets) {
        if (!t.nick.isEmpty() || !t.address.isEmpty())
            list.append({t.nick, t.address});
    }
    if (list.isEmpty())
        return;
    auto *dialog = new BanDialog(list, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const bool byNick = dialog->banNick();
        const bool byAddress = dialog->banAddress();
        const int seconds = dialog->durationSeconds();
        const QString reason = dialog->reason();
        const QList<BanDialog::Target> targets = dialog->targets();
        QSet<QString> addressesDone;
        for (const BanDialog::Target &t : targets) {
            const QString nick = byNick ? t.nick : QString();
            QString address = byAddress ? t.address : QString();
            // Several people behind one address need only one ban on it.
            if (!address.isEmpty() && addressesDone.contains(address)) {
                if (nick.isEmpty())
                    continue;
                address.clear();
            }
            if (!address.isEmpty())
                addressesDone.insert(address);
            if (nick.isEmpty() && address.isEmpty())
                continue;
            callManager([nick, address, seconds, reason](ConnectionManager *m) {
                m->ban(nick, address, seconds, reason);
            });
        }
        statusBar()->showMessage(tr("Banned %1.").arg(durationText(seconds)), 5000);
    });
    dialog->open();
}

void MainWindow::mute(const QList<Target> &targets, int seconds)
{
    for (const Target &t : targets) {
        if (t.nick.isEmpty())
            continue;
        const QString nick = t.nick;
        callManager([nick, seconds](ConnectionManager *m) { m->mute(nick, seconds); });
    }
}

void MainWindow::unmute(const QList<Target> &targets)
{
    for (const Target &t : targets) {
        if (t.nick.isEmpty())
            continue;
        const QString nick = t.nick;
        callManager([nick](ConnectionManager *m) { m->unmute(nick); });
    }
}

void MainWindow::announce()
{
    auto *dialog = new AnnounceDialog(knownRooms(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    const QString filtered = m_logRoom->currentData().toString();
    if (!filtered.isEmpty() && filtered != LogFilterProxy::directRoom())
        dialog->setRoom(filtered);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const QString room = dialog->room();
        const QString text = dialog->text();
        callManager([room, text](ConnectionManager *m) { m->announce(room, text); });
    });
    dialog->open();
}

void MainWindow::editTopic(const QString &room)
{
    // Only the rooms someone is in: a topic for a room that is gone would only be refused.
    QStringList rooms = m_connections->rooms();
    if (!rooms.contains(QStringLiteral("lobby")))
        rooms.prepend(QStringLiteral("lobby"));
    auto *dialog = new TopicDialog(rooms, m_topics, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QString initial = room;
    const QString filtered = m_logRoom->currentData().toString();
    if (initial.isEmpty() && filtered != LogFilterProxy::directRoom())
        initial = filtered;
    if (!initial.isEmpty())
        dialog->setRoom(initial);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const QString room = dialog->room();
        const QString topic = dialog->topic();
        callManager([room, topic](ConnectionManager *m) { m->setTopic(room, topic); });
    });
    dialog->open();
}

void MainWindow::showBans()
{
    if (!m_banList) {
        m_banList = new BanListDialog(m_bans, this);
        connect(m_banList, &BanListDialog::unbanRequested, this,
                [this](quint64 id) { callManager([id](ConnectionManager *m) { m->unban(id); }); });
    }
    m_banList->show();
    m_banList->raise();
    m_banList->activateWindow();
}

void MainWindow::showSettings()
{
    auto *dialog = new SettingsDialog(m_config, m_host->isRunning(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { applyConfig(dialog->config()); });
    dialog->open();
}

void MainWindow::confirmStop()
{
    if (!m_host->isRunning())
        return;
    auto *box = new QMessageBox(QMessageBox::Question, tr("Stop the server"),
                                m_counters.connections == 1
                                    ? tr("Stop the server? 1 person will be disconnected.")
                                    : tr("Stop the server? %1 people will be disconnected.")
                                          .arg(QLocale().toString(m_counters.connections)),
                                QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("stopBox"));
    box->setTextFormat(Qt::PlainText);
    QPushButton *stop = box->addButton(tr("Stop"), QMessageBox::AcceptRole);
    box->setDefaultButton(stop);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::accepted, this, &MainWindow::stopServer);
    box->open();
}

void MainWindow::copyJoinUrl()
{
    if (m_joinUrls.isEmpty())
        return;
    QGuiApplication::clipboard()->setText(m_joinUrls.first());
    statusBar()->showMessage(tr("Copied %1").arg(m_joinUrls.first()), 4000);
}

void MainWindow::showConnectionsMenu(const QPoint &pos)
{
    const QModelIndex index = m_connectionsView->indexAt(pos);
    if (!index.isValid())
        return;
    const QList<Target> targets = selectedTargets();
    QMenu menu(this);
    menu.addAction(m_kickAction);
    menu.addAction(m_banAction);
    menu.addAction(m_muteAction);
    menu.addAction(m_muteTenMinutesAction);
    menu.addAction(m_muteHourAction);
    menu.addAction(m_unmuteAction);
    if (targets.size() == 1) {
        const Target t = targets.first();
        menu.addSeparator();
        if (!t.nick.isEmpty()) {
            menu.addAction(tr("Show only %1 in the log").arg(menuText(t.nick)), this,
                           [this, nick = t.nick] { m_logUser->setText(nick); });
            menu.addAction(tr("Copy nickname"), this,
                           [nick = t.nick] { QGuiApplication::clipboard()->setText(nick); });
        }
        menu.addAction(tr("Copy address"), this,
                       [address = t.address] { QGuiApplication::clipboard()->setText(address); });
    }
    menu.exec(m_connectionsView->viewport()->mapToGlobal(pos));
}

void MainWindow::showLogMenu(const QPoint &pos)
{
    const QModelIndex index = m_logView->indexAt(pos);
    if (!index.isValid())
        return;
    const QModelIndex source = m_logProxy->mapToSource(index);
    const LogEntry entry = m_log->entryAt(source.row());
    QMenu menu(this);
    menu.addAction(tr("Copy text"), this,
                   [text = entry.text] { QGuiApplication::clipboard()->setText(text); });
    if (!entry.room.isEmpty()) {
        menu.addAction(tr("Show only #%1").arg(menuText(entry.room)), this,
                       [this, room = entry.room] {
                           updateRoomFilter();
                           int i = m_logRoom->findData(room);
                           if (i < 0) {
                               m_logRoom->addItem(u'#' + room, room);
                               i = m_logRoom->count() - 1;
                           }
                           m_logRoom->setCurrentIndex(i);
                       });
        menu.addAction(tr("Set the topic of #%1…").arg(menuText(entry.room)), this,
                       [this, room = entry.room] { editTopic(room); });
    }
    // People, not the host, can be acted on from what they wrote.
    if (entry.isChat() || entry.kind == LogEntry::Joined || entry.kind == LogEntry::Connected) {
        const Target target = targetForNick(entry.sender);
        const QString nick = menuText(entry.sender);
        menu.addSeparator();
        menu.addAction(tr("Show only %1").arg(nick), this,
                       [this, sender = entry.sender] { m_logUser->setText(sender); });
        if (target.id != 0) {
            menu.addAction(tr("Select %1 in Connections").arg(nick), this,
                           [this, sender = entry.sender] { selectConnection(sender); });
            QAction *kickSender = menu.addAction(tr("Kick %1…").arg(nick), this,
                                                 [this, target] { kick({target}); });
            kickSender->setEnabled(m_host->isRunning());
            const QString banText = tr("Ban %1…").arg(nick);
            QAction *banSender = menu.addAction(banText, this, [this, target] { ban({target}); });
            banSender->setEnabled(m_host->isRunning());
            QAction *muteSender = menu.addAction(tr("Mute %1").arg(nick), this,
                                                 [this, target] { mute({target}, 0); });
            muteSender->setEnabled(m_host->isRunning());
        }
    }
    menu.exec(m_logView->viewport()->mapToGlobal(pos));
}

void MainWindow::log(LogEntry entry)
{
    if (!entry.time.isValid())
        entry.time = QDateTime::currentDateTimeUtc();
    if (!entry.room.isEmpty())
        m_logRooms.insert(entry.room);
    m_log->append(entry);
}

void MainWindow::log(int kind, const QString &text, const QString &room, const QString &sender)
{
    LogEntry entry;
    entry.kind = LogEntry::Kind(kind);
    entry.text = text;
    entry.room = room;
    entry.sender = sender;
    log(entry);
}

// The window's size, its panes and the tables' columns, as the host left them.
void MainWindow::saveLayout()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("window"));
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("state"), saveState());
    const auto splitters = findChildren<QSplitter *>();
    for (QSplitter *splitter : splitters)
        settings.setValue(splitter->objectName(), splitter->saveState());
    settings.setValue(QStringLiteral("connectionsHeader"),
                      m_connectionsView->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("logHeader"), m_logView->horizontalHeader()->saveState());
    settings.endGroup();
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("window"));
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("state")).toByteArray());
    const auto splitters = findChildren<QSplitter *>();
    for (QSplitter *splitter : splitters)
        splitter->restoreState(settings.value(splitter->objectName()).toByteArray());
    m_connectionsView->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("connectionsHeader")).toByteArray());
    m_logView->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("logHeader")).toByteArray());
    settings.endGroup();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_host->isRunning() && m_counters.connections > 0 && !m_quitConfirmed) {
        event->ignore();
        auto *box = new QMessageBox(
            QMessageBox::Question, tr("Quit LanChat"),
            m_counters.connections == 1
                ? tr("1 person is connected. Quitting stops the server and disconnects them.")
                : tr("%1 people are connected. Quitting stops the server and disconnects them.")
                      .arg(QLocale().toString(m_counters.connections)),
            QMessageBox::Cancel, this);
        box->setObjectName(QStringLiteral("quitBox"));
        box->setTextFormat(Qt::PlainText);
        QPushButton *quit = box->addButton(tr("Quit"), QMessageBox::AcceptRole);
        box->setDefaultButton(quit);
        box->setAttribute(Qt::WA_DeleteOnClose);
        connect(box, &QMessageBox::accepted, this, &MainWindow::quitWithoutAsking);
        box->open();
        return;
    }
    saveLayout();
    if (m_host->isRunning())
        m_host->stop(tr("The host closed LanChat."));
    if (m_tray)
        m_tray->hide();
    event->accept();
    // With a tray icon the application would otherwise live on without a window.
    QCoreApplication::quit();
}
