#pragma once

#include "chatserver.h"
#include "chattypes.h"
#include "serverconfig.h"

#include <QElapsedTimer>
#include <QHash>
#include <QMainWindow>
#include <QPointer>
#include <QSet>
#include <QStringList>
#include <QTimer>

class ActivityChart;
class BanDialog;
class BanListDialog;
class BanModel;
class ConnectionFilterProxy;
class ConnectionManager;
class ConnectionModel;
class LogFilterProxy;
class LogModel;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QSystemTrayIcon;
class QTableView;
class QToolButton;
class QrCodeWidget;
class ServerHost;
struct LogEntry;

// The host's window: who is connected, what they say, and the means to keep order. It runs the
// chat server on a thread of its own from the moment it is made until it closes.
class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(const ServerConfig &config, QWidget *parent = nullptr);
    // settingsProblem: what was wrong in the settings the configuration was read from; the
    // window shows it instead of starting, until settings are saved.
    MainWindow(const ServerConfig &config, const QString &settingsProblem,
               QWidget *parent = nullptr);
    ~MainWindow() override;

    bool isServerRunning() const;
    // The port the server listens on (the one the system chose when the setting is 0).
    quint16 serverPort() const { return m_port; }
    QStringList joinUrls() const { return m_joinUrls; }
    ServerConfig config() const { return m_config; }
    // The server's latest figures: connections, people, rooms, rates.
    ServerCounters counters() const { return m_counters; }

    ConnectionModel *connectionModel() const { return m_connections; }
    LogModel *logModel() const { return m_log; }
    BanModel *banModel() const { return m_bans; }
    QTableView *connectionsView() const { return m_connectionsView; }
    QTableView *logView() const { return m_logView; }
    QrCodeWidget *qrCode() const { return m_qrCode; }
    bool isFollowingLog() const { return m_followLog; }

    // Selects the connection row of this nickname (as if the host clicked it).
    bool selectConnection(const QString &nick);

public Q_SLOTS:
    void startServer();
    // Stops at once, without asking; the Stop action asks first.
    void stopServer();
    // Saves the configuration and runs the server with it.
    void applyConfig(const ServerConfig &config);
    // What Server → Quit does once confirmed: notice, close with 1001, quit. For a stop signal,
    // which nobody is there to confirm.
    void quitWithoutAsking();

Q_SIGNALS:
    void serverStarted(quint16 port, const QStringList &joinUrls);
    void serverStopped();
    void serverFailed(const QString &errorString);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    struct Target
    {
        quint64 id = 0;
        QString nick;
        QString address;
    };

    void createActions();
    void createToolBar();
    void createMenus();
    QWidget *createConnectionsPanel();
    QWidget *createLogPanel();
    QWidget *createStatusPanel();
    void createTray();

    void onStarted(ConnectionManager *manager, quint16 port, const QStringList &joinUrls);
    void onStartFailed(const QString &errorString, ChatServer::Failure failure);
    void reportStartFailure(const QString &message, const QString &errorString);
    void onStopped();
    void connectManager(ConnectionManager *manager);
    template<typename Call> void callManager(Call call);

    void onClientConnected(const ClientInfo &info);
    void onClientIdentified(quint64 id, const QString &nick);
    void onClientRenamed(quint64 id, const QString &oldNick, const QString &newNick);
    void onClientJoinedRoom(quint64 id, const QString &nick, const QString &room);
    void onClientLeftRoom(quint64 id, const QString &nick, const QString &room,
                          const QString &event);
    void onClientDisconnected(quint64 id, const QString &nick, const QString &reason);
    void onMessagePosted(const ChatMessage &message);
    void onNoticePosted(const QString &room, const QString &text);
    void onTopicChanged(const QString &room, const QString &topic);
    void onHostActionTaken(const ModerationAction &action);
    void onBansChanged(const QList<Ban> &bans);
    void onStatsUpdated(const QList<ClientStats> &clients, const ServerCounters &counters);
    void onHostActionFailed(const QString &message);

    void applyPendingStats();
    void onClockTick();
    void updateStatusPanel();
    void updateActions();
    void updateRoomFilter();
    void updateFollowButton();
    void updateConnectionsTitle();
    void onLogFlushed();
    void setFollowLog(bool follow);

    QList<Target> selectedTargets() const;
    Target targetForNick(const QString &nick) const;
    void kick(const QList<Target> &targets);
    void ban(const QList<Target> &targets);
    void mute(const QList<Target> &targets, int seconds);
    void unmute(const QList<Target> &targets);
    void announce();
    void editTopic(const QString &room = {});
    void showBans();
    void showSettings();
    void confirmStop();
    void copyJoinUrl();
    void showConnectionsMenu(const QPoint &pos);
    void showLogMenu(const QPoint &pos);

    void saveLayout();
    void restoreLayout();

    void log(LogEntry entry);
    void log(int kind, const QString &text, const QString &room = {}, const QString &sender = {});
    QStringList knownRooms() const;

    ServerConfig m_config;
    ServerHost *m_host;
    QPointer<ConnectionManager> m_manager;
    quint16 m_port = 0;
    QStringList m_joinUrls;
    QString m_failure;
    QString m_settingsProblem;
    QElapsedTimer m_uptime;
    ServerCounters m_counters;
    QList<ClientStats> m_pendingStats;
    bool m_statsPending = false;
    // The rates the server reports for each quarter second jump about; the window shows their
    // average over the last second.
    double m_rateSum = 0;
    double m_deliverySum = 0;
    int m_rateSamples = 0;
    double m_messageRate = 0;
    double m_deliveryRate = 0;
    QHash<quint64, QString> m_addresses;
    QHash<QString, QString> m_topics;
    QSet<QString> m_logRooms;
    bool m_followLog = true;
    bool m_scrollingLog = false;
    bool m_quitConfirmed = false;

    ConnectionModel *m_connections;
    ConnectionFilterProxy *m_connectionsProxy;
    LogModel *m_log;
    LogFilterProxy *m_logProxy;
    BanModel *m_bans;

    QTableView *m_connectionsView = nullptr;
    QLineEdit *m_connectionFilter = nullptr;
    QLabel *m_connectionsTitle = nullptr;
    QTableView *m_logView = nullptr;
    QComboBox *m_logRoom = nullptr;
    QLineEdit *m_logUser = nullptr;
    QLineEdit *m_logText = nullptr;
    QCheckBox *m_logPresence = nullptr;
    QToolButton *m_followButton = nullptr;
    QLabel *m_stateLabel = nullptr;
    QLabel *m_nameLabel = nullptr;
    QLabel *m_urlsLabel = nullptr;
    QrCodeWidget *m_qrCode = nullptr;
    QLabel *m_uptimeLabel = nullptr;
    QLabel *m_connectionsLabel = nullptr;
    QLabel *m_usersLabel = nullptr;
    QLabel *m_roomsLabel = nullptr;
    QLabel *m_rateLabel = nullptr;
    QLabel *m_deliveriesLabel = nullptr;
    QLabel *m_totalLabel = nullptr;
    ActivityChart *m_chart = nullptr;
    QSystemTrayIcon *m_tray = nullptr;
    QPointer<BanListDialog> m_banList;

    QAction *m_startAction = nullptr;
    QAction *m_stopAction = nullptr;
    QAction *m_settingsAction = nullptr;
    QAction *m_kickAction = nullptr;
    QAction *m_banAction = nullptr;
    QAction *m_muteAction = nullptr;
    QAction *m_muteTenMinutesAction = nullptr;
    QAction *m_muteHourAction = nullptr;
    QAction *m_unmuteAction = nullptr;
    QAction *m_banListAction = nullptr;
    QAction *m_announceAction = nullptr;
    QAction *m_topicAction = nullptr;
    QAction *m_copyUrlAction = nullptr;
    QAction *m_clearLogAction = nullptr;
    QAction *m_followAction = nullptr;
    QAction *m_findAction = nullptr;
    QAction *m_quitAction = nullptr;

    QTimer m_statsTimer;
    QTimer m_clockTimer;
};
