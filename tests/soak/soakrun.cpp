#include "soakrun.h"

#include "soakclient.h"

#include <QCoreApplication>
#include <QRegularExpression>
#include <QSettings>
#include <QUrl>

#include <algorithm>
#include <cstdio>
#include <numeric>

using namespace Qt::StringLiterals;

namespace {

constexpr int TickMs = 10;
constexpr int SetupConcurrency = 64; // handshakes in flight while the staying clients connect
constexpr int DescriptorSlack = 8; // the history store may keep a journal open after a run

double mib(qint64 kib)
{
    return double(kib) / 1024.0;
}

void line(const QString &text)
{
    std::printf("%s\n", qPrintable(text));
    std::fflush(stdout);
}

} // namespace

SoakRun::SoakRun(const SoakOptions &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
{
    m_tick.setInterval(TickMs);
    m_tick.setTimerType(Qt::PreciseTimer);
    connect(&m_tick, &QTimer::timeout, this, &SoakRun::onTick);
    m_sampler.setInterval(1000);
    connect(&m_sampler, &QTimer::timeout, this, &SoakRun::onSample);
    m_phaseTimer.setSingleShot(true);
    m_sentPerRoom.assign(size_t(m_options.rooms), 0);
}

SoakRun::~SoakRun()
{
    if (m_server.state() != QProcess::NotRunning) {
        m_server.kill();
        m_server.waitForFinished(5000);
    }
}

int SoakRun::exec()
{
    m_clock.start();
    line(u"LanChat soak: %1 clients (%2 staying), %3 joins and leaves a second, %4 rooms, "
         u"%5 messages a second, %6 s"_s.arg(m_options.clients)
             .arg(m_options.staying)
             .arg(m_options.churn)
             .arg(m_options.rooms)
             .arg(m_options.rate)
             .arg(m_options.seconds));
    if (!startServer())
        return 1;
    m_sampler.start();
    return QCoreApplication::exec();
}

bool SoakRun::startServer()
{
    if (!m_dataDir.isValid()) {
        line(u"cannot create a temporary directory"_s);
        return false;
    }
    // Every client comes from 127.0.0.1, far more than the per-address limit allows.
    const QString configPath = m_dataDir.filePath(u"soak.ini"_s);
    {
        QSettings settings(configPath, QSettings::IniFormat);
        settings.setValue(u"maxConnectionsPerAddress"_s, 100'000);
        settings.setValue(u"maxConnections"_s, 100'000);
        settings.setValue(u"listenBacklog"_s, 4096);
    }

    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    // The port is read from the server's own log line.
    environment.remove(u"QT_LOGGING_RULES"_s);
    m_server.setProcessEnvironment(environment);
    m_server.setProcessChannelMode(QProcess::MergedChannels);
    connect(&m_server, &QProcess::readyReadStandardOutput, this, &SoakRun::onServerOutput);
    connect(&m_server, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
        m_serverExit = status == QProcess::NormalExit ? code : -1;
        if (m_phase != Phase::Closing && m_phase != Phase::Done)
            fail(status == QProcess::NormalExit
                     ? u"the server exited with code %1 during the run"_s.arg(code)
                     : u"the server crashed during the run"_s);
    });
    QStringList arguments {u"--headless"_s, u"--bind"_s,      u"127.0.0.1"_s,
                           u"--port"_s,     u"0"_s,           u"--config"_s,
                           configPath,      u"--data-dir"_s,  m_dataDir.filePath(u"data"_s),
                           u"--name"_s,     u"LanChat soak"_s};
    if (m_options.noHistory)
        arguments << u"--no-history"_s;
    m_server.start(m_options.serverPath, arguments);
    if (!m_server.waitForStarted(10'000)) {
        line(u"cannot start %1: %2"_s.arg(m_options.serverPath, m_server.errorString()));
        return false;
    }
    m_probe.setPid(m_server.processId());
    connect(&m_phaseTimer, &QTimer::timeout, this,
            [this] { fail(u"the server did not say which port it listens on"_s); });
    m_phaseTimer.start(30'000);
    return true;
}

void SoakRun::onServerOutput()
{
    m_serverOutput += m_server.readAllStandardOutput();
    qsizetype end;
    while ((end = m_serverOutput.indexOf('\n')) >= 0) {
        const QString text = QString::fromUtf8(m_serverOutput.left(end));
        m_serverOutput.remove(0, end + 1);
        m_serverTail.append(text);
        if (m_serverTail.size() > 40)
            m_serverTail.removeFirst();
        if (m_port != 0)
            continue;
        static const QRegularExpression portLine(u"on port (\\d+)"_s);
        const QRegularExpressionMatch match = portLine.match(text);
        if (match.hasMatch()) {
            m_port = quint16(match.captured(1).toUInt());
            m_phaseTimer.stop();
            m_phaseTimer.disconnect(this);
            // A moment for the server to settle before its idle figures are read.
            QTimer::singleShot(1000, this, [this] {
                m_rssIdle = m_probe.residentKiB();
                m_fdIdle = m_probe.openFileDescriptors();
                m_rssPeak = std::max(m_rssPeak, m_rssIdle);
                line(u"server pid %1 on port %2: %3 MiB resident, %4 descriptors when idle"_s
                         .arg(m_server.processId())
                         .arg(m_port)
                         .arg(mib(m_rssIdle), 0, 'f', 1)
                         .arg(m_fdIdle));
                setUpStaying();
            });
        }
    }
}

SoakClient *SoakRun::createClient(int index, const QString &nick, const QString &room)
{
    auto *client = new SoakClient(index, nick, room, &m_clock, this);
    connect(client, &SoakClient::becameReady, this, &SoakRun::onReady);
    connect(client, &SoakClient::gone, this, &SoakRun::onGone);
    connect(client, &SoakClient::messageReceived, this, &SoakRun::onMessage);
    connect(client, &SoakClient::errorReceived, this, &SoakRun::onError);
    return client;
}

void SoakRun::setUpStaying()
{
    m_phase = Phase::SettingUp;
    m_received.assign(size_t(m_options.staying), {});
    m_lastId.assign(size_t(m_options.staying), 0);
    for (int i = 0; i < m_options.staying; ++i) {
        m_staying.append(
            createClient(i, u"stay%1"_s.arg(i), u"soak-%1"_s.arg(i % m_options.rooms)));
    }
    connect(&m_phaseTimer, &QTimer::timeout, this, [this] {
        fail(u"only %1 of %2 staying clients were in their rooms after %3 s"_s.arg(m_stayingReady)
                 .arg(m_options.staying)
                 .arg(m_options.setupTimeoutSeconds));
    });
    m_phaseTimer.start(m_options.setupTimeoutSeconds * 1000);
    openNextStaying();
}

void SoakRun::openNextStaying()
{
    const QUrl url(u"ws://127.0.0.1:%1/ws"_s.arg(m_port));
    while (m_stayingOpened < m_staying.size()
           && m_stayingOpened - m_stayingReady < SetupConcurrency) {
        m_staying.at(m_stayingOpened++)->open(url);
    }
}

void SoakRun::startRunning()
{
    m_phaseTimer.stop();
    m_phaseTimer.disconnect(this);
    m_phase = Phase::Running;
    m_runStartNs = m_clock.nsecsElapsed();
    m_lastTickNs = m_runStartNs;
    line(u"%1 staying clients in their rooms after %2 s; %3 MiB resident; running for %4 s"_s
             .arg(m_options.staying)
             .arg(double(m_runStartNs) / 1e9, 0, 'f', 1)
             .arg(mib(m_probe.residentKiB()), 0, 'f', 1)
             .arg(m_options.seconds));
    m_tick.start();

    // The starting figure is taken once the passing clients have filled their share.
    const int warmUpMs = std::clamp(m_options.seconds * 1000 / 4, 1000, 10'000);
    QTimer::singleShot(warmUpMs, this, [this] {
        if (m_phase == Phase::Running) {
            m_rssLoadedStart = m_probe.residentKiB();
            line(u"loaded: %1 MiB resident, %2 descriptors, %3 clients passing through"_s
                     .arg(mib(m_rssLoadedStart), 0, 'f', 1)
                     .arg(m_probe.openFileDescriptors())
                     .arg(m_passing.size()));
        }
    });
    connect(&m_phaseTimer, &QTimer::timeout, this, &SoakRun::stopRunning);
    m_phaseTimer.start(m_options.seconds * 1000);
}

void SoakRun::onTick()
{
    const qint64 now = m_clock.nsecsElapsed();
    const double seconds = double(now - m_lastTickNs) / 1e9;
    m_lastTickNs = now;

    m_arrivalDebt += seconds * m_options.churn / 2.0;
    // Never more at once than a long stall of the loop would owe: a burst is not the point.
    m_arrivalDebt = std::min(m_arrivalDebt, double(m_options.churn));
    while (m_arrivalDebt >= 1.0) {
        m_arrivalDebt -= 1.0;
        startPassing();
    }

    m_messageDebt += seconds * m_options.rate;
    m_messageDebt = std::min(m_messageDebt, m_options.rate);
    std::uniform_int_distribution<int> pick(0, m_options.staying - 1);
    while (m_messageDebt >= 1.0) {
        m_messageDebt -= 1.0;
        SoakClient *sender = m_staying.at(pick(m_random));
        if (!sender->isReady())
            continue;
        const int room = sender->index() % m_options.rooms;
        const int sequence = m_sentPerRoom[size_t(room)]++;
        sender->say(u"m %1 %2"_s.arg(sequence).arg(m_clock.nsecsElapsed()));
    }
}

void SoakRun::startPassing()
{
    const int serial = m_nextPassing++;
    std::uniform_int_distribution<int> roomPick(0, m_options.rooms - 1);
    SoakClient *client
        = createClient(-1 - serial, u"pass%1"_s.arg(serial), u"soak-%1"_s.arg(roomPick(m_random)));
    m_passing.insert(serial, client);
    ++m_passingStarted;

    // Arrivals at churn/2 a second that each stay this long on average keep the number
    // passing through near clients - staying.
    const double meanSeconds
        = double(std::max(1, m_options.clients - m_options.staying)) / (m_options.churn / 2.0);
    std::uniform_real_distribution<double> lifetime(0.5 * meanSeconds, 1.5 * meanSeconds);
    const bool drops = std::uniform_real_distribution<double>(0, 1)(m_random) < m_options.dropShare;
    QTimer::singleShot(int(lifetime(m_random) * 1000), client, [this, client, drops] {
        if (client->state() == SoakClient::State::Gone)
            return;
        if (drops) {
            ++m_passingDropped;
            client->drop();
        } else {
            ++m_passingLeft;
            client->leave();
        }
    });
    client->open(QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(m_port)));
}

void SoakRun::onReady(SoakClient *client)
{
    if (client->index() < 0) {
        ++m_passingReady;
        client->say(u"p %1"_s.arg(m_clock.nsecsElapsed()));
        return;
    }
    ++m_stayingReady;
    if (m_phase != Phase::SettingUp)
        return;
    if (m_stayingReady == m_options.staying)
        startRunning();
    else
        openNextStaying();
}

void SoakRun::onGone(SoakClient *client)
{
    if (client->index() < 0) {
        m_passing.remove(-1 - client->index());
        client->deleteLater();
        return;
    }
    if (m_phase == Phase::Closing || m_phase == Phase::Done)
        return;
    ++m_stayingLost;
    if (m_stayingLost <= 5)
        line(u"staying client %1 lost its connection"_s.arg(client->index()));
    if (m_phase == Phase::SettingUp)
        fail(u"a staying client could not connect"_s);
}

void SoakRun::onMessage(SoakClient *client, qint64 id, const QString &text, qint64 receivedNs)
{
    const int index = client->index();
    if (index < 0)
        return;

    qint64 &lastId = m_lastId[size_t(index)];
    if (id <= lastId)
        ++m_outOfOrder;
    lastId = std::max(lastId, id);

    const QStringList parts = text.split(u' ');
    if (parts.size() == 3 && parts.at(0) == "m"_L1) {
        const int sequence = parts.at(1).toInt();
        std::vector<bool> &bits = m_received[size_t(index)];
        if (size_t(sequence) >= bits.size())
            bits.resize(size_t(sequence) + 256, false);
        if (bits[size_t(sequence)]) {
            ++m_duplicates;
        } else {
            bits[size_t(sequence)] = true;
            m_latencyMs.push_back(float(double(receivedNs - parts.at(2).toLongLong()) / 1e6));
        }
    } else if (parts.size() == 2 && parts.at(0) == "p"_L1) {
        ++m_passingMessagesSeen;
        m_maxPassingLatencyMs
            = std::max(m_maxPassingLatencyMs, double(receivedNs - parts.at(1).toLongLong()) / 1e6);
    } else {
        ++m_unexpected;
    }
}

void SoakRun::onError(SoakClient *client, const QString &code)
{
    ++m_errors[code];
    if (m_errors.value(code) == 1)
        line(u"first error from the server: %1 (to %2 client %3)"_s.arg(
            code, client->index() < 0 ? u"a passing"_s : u"staying"_s,
            QString::number(client->index())));
}

void SoakRun::onSample()
{
    const qint64 rss = m_probe.residentKiB();
    if (rss < 0)
        return;
    m_rssPeak = std::max(m_rssPeak, rss);
    if (m_phase != Phase::Running)
        return;
    const int second = int((m_clock.nsecsElapsed() - m_runStartNs) / 1'000'000'000);
    if (second < m_nextProgressSecond)
        return;
    m_nextProgressSecond = second - second % 10 + 10;
    m_rssTimeline.append({second, rss});
    double slowest = 0;
    for (const float ms : m_latencyMs)
        slowest = std::max(slowest, double(ms));
    line(u"[%1 s] %2 MiB resident, %3 descriptors, %4 passing, %5 came and went, "
         u"%6 messages sent, %7 delivered to staying clients, slowest %8 ms"_s.arg(second, 4)
             .arg(mib(rss), 0, 'f', 1)
             .arg(m_probe.openFileDescriptors())
             .arg(m_passing.size())
             .arg(m_passingStarted)
             .arg(std::accumulate(m_sentPerRoom.cbegin(), m_sentPerRoom.cend(), 0))
             .arg(m_latencyMs.size())
             .arg(slowest, 0, 'f', 1));
}

void SoakRun::stopRunning()
{
    m_phaseTimer.disconnect(this);
    m_rssLoadedEnd = m_probe.residentKiB();
    m_fdLoaded = m_probe.openFileDescriptors();
    m_rssPeak = std::max(m_rssPeak, m_rssLoadedEnd);
    m_phase = Phase::Draining;
    m_tick.stop();
    line(u"stopping: %1 MiB resident, %2 descriptors; waiting for the last deliveries"_s
             .arg(mib(m_rssLoadedEnd), 0, 'f', 1)
             .arg(m_fdLoaded));

    const QList<SoakClient *> passing = m_passing.values();
    for (SoakClient *client : passing) {
        ++m_passingLeft;
        client->leave();
    }

    auto *check = new QTimer(this);
    const qint64 deadline = m_clock.elapsed() + m_options.drainSeconds * 1000;
    connect(check, &QTimer::timeout, this, [this, check, deadline] {
        if ((receivedDeliveries() >= expectedDeliveries() && m_passing.isEmpty())
            || m_clock.elapsed() > deadline) {
            check->deleteLater();
            closeEverything();
        }
    });
    check->start(100);
}

qint64 SoakRun::expectedDeliveries() const
{
    qint64 total = 0;
    for (int i = 0; i < m_options.staying; ++i)
        total += m_sentPerRoom[size_t(i % m_options.rooms)];
    return total;
}

qint64 SoakRun::receivedDeliveries() const
{
    return qint64(m_latencyMs.size());
}

void SoakRun::closeEverything()
{
    m_phase = Phase::Closing;
    for (SoakClient *client : std::as_const(m_staying)) {
        if (client->state() != SoakClient::State::Gone)
            client->leave();
    }
    auto *check = new QTimer(this);
    const qint64 deadline = m_clock.elapsed() + 20'000;
    connect(check, &QTimer::timeout, this, [this, check, deadline] {
        const bool allGone = std::all_of(m_staying.cbegin(), m_staying.cend(), [](auto *client) {
            return client->state() == SoakClient::State::Gone;
        });
        const int fds = m_probe.openFileDescriptors();
        if ((allGone && m_passing.isEmpty() && fds <= m_fdIdle + DescriptorSlack)
            || m_clock.elapsed() > deadline) {
            check->deleteLater();
            // A moment for the server to free what the last connections held.
            QTimer::singleShot(2000, this, [this] {
                m_rssEnd = m_probe.residentKiB();
                m_fdEnd = m_probe.openFileDescriptors();
                m_server.terminate();
                if (!m_server.waitForFinished(15'000)) {
                    m_failures.append(u"the server did not stop within 15 s of SIGTERM"_s);
                    m_server.kill();
                    m_server.waitForFinished(5000);
                }
                finish();
            });
        }
    });
    check->start(100);
}

void SoakRun::fail(const QString &why)
{
    m_failures.append(why);
    if (m_phase == Phase::Done)
        return;
    line(u"FAILED: "_s + why);
    line(u"the server's last lines:"_s);
    for (const QString &text : std::as_const(m_serverTail))
        line(u"  "_s + text);
    if (m_phase == Phase::Running) {
        // What was seen so far is still worth reporting.
        stopRunning();
        return;
    }
    if (m_phase == Phase::Draining || m_phase == Phase::Closing)
        return;
    finish();
}

void SoakRun::finish()
{
    if (m_phase == Phase::Done)
        return;
    m_phase = Phase::Done;
    m_tick.stop();
    m_sampler.stop();
    report();
    QCoreApplication::exit(m_failures.isEmpty() ? 0 : 1);
}

void SoakRun::report()
{
    qint64 lost = 0;
    for (int i = 0; i < m_options.staying && size_t(i) < m_received.size(); ++i) {
        const std::vector<bool> &bits = m_received[size_t(i)];
        const int sent = m_sentPerRoom[size_t(i % m_options.rooms)];
        for (int s = 0; s < sent; ++s) {
            if (size_t(s) >= bits.size() || !bits[size_t(s)])
                ++lost;
        }
    }
    std::vector<float> sorted = m_latencyMs;
    std::sort(sorted.begin(), sorted.end());
    auto percentile = [&sorted](double p) {
        return sorted.empty() ? 0.0 : double(sorted[size_t(p * double(sorted.size() - 1))]);
    };
    const double runSeconds = double(m_lastTickNs - m_runStartNs) / 1e9;

    line(QString());
    line(u"== soak report"_s);
    line(u"run: %1 s at %2 clients; %3 passing clients came (%4 a second), %5 left with a "
         u"leave and close, %6 dropped their connection"_s.arg(runSeconds, 0, 'f', 0)
             .arg(m_options.clients)
             .arg(m_passingStarted)
             .arg(runSeconds > 0 ? double(m_passingStarted) / runSeconds : 0.0, 0, 'f', 1)
             .arg(m_passingLeft)
             .arg(m_passingDropped));
    line(u"messages: %1 sent by staying clients; %2 deliveries to staying clients expected, %3 "
         u"received"_s.arg(std::accumulate(m_sentPerRoom.cbegin(), m_sentPerRoom.cend(), 0))
             .arg(expectedDeliveries())
             .arg(receivedDeliveries()));
    line(u"lost: %1 (staying clients that lost their connection: %2); duplicates %3; "
         u"out of order %4; unreadable %5"_s.arg(lost)
             .arg(m_stayingLost)
             .arg(m_duplicates)
             .arg(m_outOfOrder)
             .arg(m_unexpected));
    line(u"passing clients' messages seen by staying clients: %1; slowest %2 ms"_s
             .arg(m_passingMessagesSeen)
             .arg(m_maxPassingLatencyMs, 0, 'f', 1));
    line(u"delivery to staying clients: median %1 ms, p99 %2 ms, p99.9 %3 ms, slowest %4 ms"_s
             .arg(percentile(0.5), 0, 'f', 2)
             .arg(percentile(0.99), 0, 'f', 2)
             .arg(percentile(0.999), 0, 'f', 2)
             .arg(sorted.empty() ? 0.0 : double(sorted.back()), 0, 'f', 2));
    QStringList errors;
    for (auto it = m_errors.cbegin(); it != m_errors.cend(); ++it)
        errors.append(u"%1 %2"_s.arg(it.key()).arg(it.value()));
    line(u"errors from the server: %1"_s.arg(errors.isEmpty() ? u"none"_s : errors.join(u", ")));
    const auto pct = [](qint64 value, qint64 base) {
        return base > 0 ? u"%1%"_s.arg(100.0 * double(value - base) / double(base), 0, 'f', 1)
                        : u"-"_s;
    };
    line(u"server resident memory (VmRSS): idle %1 MiB; loaded start %2 MiB; peak %3 MiB; "
         u"loaded end %4 MiB (%5 against loaded start); after everyone left %6 MiB (%7 against "
         u"idle)"_s.arg(mib(m_rssIdle), 0, 'f', 1)
             .arg(mib(m_rssLoadedStart), 0, 'f', 1)
             .arg(mib(m_rssPeak), 0, 'f', 1)
             .arg(mib(m_rssLoadedEnd), 0, 'f', 1)
             .arg(pct(m_rssLoadedEnd, m_rssLoadedStart))
             .arg(mib(m_rssEnd), 0, 'f', 1)
             .arg(pct(m_rssEnd, m_rssIdle)));
    QStringList timeline;
    for (const auto &sample : std::as_const(m_rssTimeline))
        timeline.append(u"%1s:%2"_s.arg(sample.first).arg(mib(sample.second), 0, 'f', 1));
    line(u"resident memory every 10 s (MiB): "_s + timeline.join(u' '));
    line(u"server descriptors: idle %1, loaded %2, after everyone left %3"_s.arg(m_fdIdle)
             .arg(m_fdLoaded)
             .arg(m_fdEnd));
    line(u"server exit code after SIGTERM: %1"_s.arg(m_serverExit));

    if (lost > 0)
        m_failures.append(u"%1 messages lost by staying clients"_s.arg(lost));
    if (m_stayingLost > 0)
        m_failures.append(u"%1 staying clients lost their connection"_s.arg(m_stayingLost));
    if (m_duplicates > 0 || m_outOfOrder > 0)
        m_failures.append(u"duplicate or out-of-order deliveries"_s);
    if (m_fdEnd > m_fdIdle + DescriptorSlack)
        m_failures.append(
            u"the server holds %1 descriptors after everyone left, %2 when idle"_s.arg(m_fdEnd).arg(
                m_fdIdle));
    if (m_serverExit != 0)
        m_failures.append(u"the server's exit code was %1"_s.arg(m_serverExit));
    m_failures.removeDuplicates();
    line(m_failures.isEmpty() ? u"RESULT: PASS"_s : u"RESULT: FAIL: "_s + m_failures.join(u"; "));
}
