#pragma once

#include "processprobe.h"

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QProcess>
#include <QSet>
#include <QStringList>
#include <QTemporaryDir>
#include <QTimer>

#include <random>
#include <vector>

class SoakClient;

struct SoakOptions
{
    QString serverPath; // the lanchat binary, run with --headless
    int seconds = 600;
    int clients = 1000; // connected at any time: staying plus passing
    int staying = 800; // connected for the whole run; losses are counted for them
    int churn = 200; // joins and leaves a second, half of each
    int rooms = 10;
    double rate = 50; // messages a second from the staying clients, all rooms together
    double dropShare = 0.1; // of the leaving clients, how many just drop the connection
    int setupTimeoutSeconds = 180;
    int drainSeconds = 20;
    // The server keeps no history on disk: tells the store's share of the memory from the rest.
    bool noHistory = false;
};

// Starts the real server, brings up the staying clients, then for the set time lets clients
// come and go while the staying ones chat, and reports what the staying ones missed, how long
// deliveries took and what the server process held in memory and descriptors.
class SoakRun : public QObject
{
    Q_OBJECT

public:
    explicit SoakRun(const SoakOptions &options, QObject *parent = nullptr);
    ~SoakRun() override;

    // Runs the whole soak in the event loop; returns the process exit code.
    int exec();

private:
    enum class Phase { Starting, SettingUp, Running, Draining, Closing, Done };

    bool startServer();
    void onServerOutput();
    void setUpStaying();
    void openNextStaying();
    void startRunning();
    void onTick();
    void onSample();
    void stopRunning();
    void onDrainCheck();
    void closeEverything();
    void onCloseCheck();
    void finish();
    void fail(const QString &why);

    SoakClient *createClient(int index, const QString &nick, const QString &room);
    void startPassing();
    void onReady(SoakClient *client);
    void onGone(SoakClient *client);
    void onMessage(SoakClient *client, qint64 id, const QString &text, qint64 receivedNs);
    void onError(SoakClient *client, const QString &code);

    qint64 expectedDeliveries() const;
    qint64 receivedDeliveries() const;
    void report();

    SoakOptions m_options;
    QTemporaryDir m_dataDir;
    QProcess m_server;
    QByteArray m_serverOutput;
    QStringList m_serverTail; // the latest lines the server logged
    quint16 m_port = 0;
    ProcessProbe m_probe;
    QElapsedTimer m_clock;
    Phase m_phase = Phase::Starting;
    QTimer m_tick;
    QTimer m_sampler;
    QTimer m_phaseTimer;
    std::mt19937 m_random {20261203};
    int m_exitCode = 0;
    QStringList m_failures;

    // Staying clients, by index; each has a bit for every message its room was sent.
    QList<SoakClient *> m_staying;
    int m_stayingOpened = 0;
    int m_stayingReady = 0;
    int m_stayingLost = 0; // staying clients whose connection ended before the end
    std::vector<std::vector<bool>> m_received;
    std::vector<qint64> m_lastId; // the last message id each staying client saw
    std::vector<int> m_sentPerRoom;
    qint64 m_duplicates = 0;
    qint64 m_outOfOrder = 0;
    qint64 m_unexpected = 0;

    // Passing clients, by their serial number.
    QHash<int, SoakClient *> m_passing;
    int m_nextPassing = 0;
    qint64 m_passingStarted = 0;
    qint64 m_passingReady = 0;
    qint64 m_passingLeft = 0;
    qint64 m_passingDropped = 0;
    qint64 m_passingMessagesSeen = 0;

    double m_arrivalDebt = 0;
    double m_messageDebt = 0;
    qint64 m_lastTickNs = 0;
    qint64 m_runStartNs = 0;
    int m_nextProgressSecond = 10;

    std::vector<float> m_latencyMs; // every delivery of a staying client's message
    double m_maxPassingLatencyMs = 0;
    QMap<QString, int> m_errors;

    qint64 m_rssIdle = -1;
    qint64 m_rssLoadedStart = -1;
    qint64 m_rssPeak = -1;
    qint64 m_rssLoadedEnd = -1;
    qint64 m_rssEnd = -1;
    int m_fdIdle = -1;
    int m_fdLoaded = -1;
    int m_fdEnd = -1;
    int m_serverExit = -1;
    QList<QPair<int, qint64>> m_rssTimeline; // seconds into the run, KiB
};
