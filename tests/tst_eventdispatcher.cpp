// The epoll dispatcher the network thread runs on. initMain() installs it for the test's own
// thread, so every QTRY_, QSignalSpy::wait and QEventLoop here runs on it too; the worker
// thread test installs it the way ServerHost does.

#include "epolldispatcher.h"
#include "threadhandover.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QPointer>
#include <QSignalSpy>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

using namespace Qt::StringLiterals;

namespace {

// Counts its timer events and runs a handler for each.
class TimerCounter : public QObject
{
public:
    int fired = 0;
    std::function<void(int timerId)> onTimer;

protected:
    void timerEvent(QTimerEvent *event) override
    {
        ++fired;
        if (onTimer)
            onTimer(event->timerId());
    }
};

// Both ends of a pipe, closed on destruction.
struct Pipe
{
    int read = -1;
    int write = -1;

    Pipe()
    {
        int fds[2];
        if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
            read = fds[0];
            write = fds[1];
        }
    }
    ~Pipe() { closeBoth(); }
    void closeBoth()
    {
        if (read >= 0)
            ::close(std::exchange(read, -1));
        if (write >= 0)
            ::close(std::exchange(write, -1));
    }
    bool fill() const { return ::write(write, "x", 1) == 1; }
};

EpollDispatcher *dispatcher()
{
    return qobject_cast<EpollDispatcher *>(QAbstractEventDispatcher::instance());
}

} // namespace

class TestEventDispatcher : public QObject
{
    Q_OBJECT

public:
    static void initMain();

private Q_SLOTS:
    void initTestCase();
    void singleShotTimer_data();
    void singleShotTimer();
    void repeatingTimerKeepsItsPeriod();
    void stopFromOwnHandler();
    void restartFromOwnHandler();
    void zeroTimerFiresOncePerPass();
    void lateTimerFiresOncePerPass();
    void timerStartedInHandlerWaitsForNextPass();
    void remainingTime();
    void registeredTimers();
    void tcpEcho();
    void notifierGoneWithinBatch_data();
    void notifierGoneWithinBatch();
    void excludeSocketNotifiers();
    void waitForMoreEvents();
    void wakeUpFromAnotherThread_data();
    void wakeUpFromAnotherThread();
    void burstOfPostsFromAnotherThread();
    void interruptFromAnotherThread();
    void interruptSkipsRestOfPass();
    void quitNestedLoop();
    void workerThread();
};

void TestEventDispatcher::initMain()
{
    EpollDispatcher *epoll = EpollDispatcher::create();
    if (!epoll)
        qFatal("no epoll dispatcher: %s", strerror(errno));
    QCoreApplication::setEventDispatcher(epoll);
}

void TestEventDispatcher::initTestCase()
{
    QVERIFY(dispatcher());
}

void TestEventDispatcher::singleShotTimer_data()
{
    QTest::addColumn<Qt::TimerType>("type");
    QTest::addColumn<int>("latestMs");
    QTest::newRow("precise") << Qt::PreciseTimer << 2000;
    QTest::newRow("coarse") << Qt::CoarseTimer << 2000;
    QTest::newRow("very coarse") << Qt::VeryCoarseTimer << 3000;
}

void TestEventDispatcher::singleShotTimer()
{
    QFETCH(Qt::TimerType, type);
    QFETCH(int, latestMs);

    QTimer timer;
    timer.setSingleShot(true);
    timer.setTimerType(type);
    QSignalSpy fired(&timer, &QTimer::timeout);
    QElapsedTimer clock;
    clock.start();
    timer.start(60);
    QVERIFY(fired.wait(latestMs));
    // No timer type lets this dispatcher fire early.
    QCOMPARE_GE(clock.elapsed(), 60);
    QVERIFY(!timer.isActive());
    QVERIFY(!fired.wait(150));
    QCOMPARE(fired.count(), 1);
}

void TestEventDispatcher::repeatingTimerKeepsItsPeriod()
{
    QTimer timer;
    timer.setTimerType(Qt::PreciseTimer);
    QSignalSpy fired(&timer, &QTimer::timeout);
    QElapsedTimer clock;
    clock.start();
    timer.start(20);
    QTRY_VERIFY_WITH_TIMEOUT(fired.count() >= 5, 5000);
    // Each period counts from the last one's due time, never from a late firing's, and
    // none comes early.
    QCOMPARE_GE(clock.elapsed(), 5 * 20);
    QVERIFY(timer.isActive());
}

void TestEventDispatcher::stopFromOwnHandler()
{
    QTimer timer;
    timer.setTimerType(Qt::PreciseTimer);
    int fired = 0;
    connect(&timer, &QTimer::timeout, &timer, [&] {
        if (++fired == 3)
            timer.stop();
    });
    QSignalSpy spy(&timer, &QTimer::timeout);
    timer.start(10);
    QTRY_COMPARE_WITH_TIMEOUT(fired, 3, 5000);
    QVERIFY(!spy.wait(100));
    QCOMPARE(fired, 3);
    QVERIFY(!timer.isActive());
}

void TestEventDispatcher::restartFromOwnHandler()
{
    // A restart kills the timer and starts one that may get the very same id back.
    TimerCounter counter;
    int timerId = 0;
    QList<int> ids;
    counter.onTimer = [&](int id) {
        QCOMPARE(id, timerId);
        counter.killTimer(id);
        ids.append(id);
        if (ids.size() < 5)
            timerId = counter.startTimer(5, Qt::PreciseTimer);
    };
    timerId = counter.startTimer(5, Qt::PreciseTimer);
    QTRY_COMPARE_WITH_TIMEOUT(counter.fired, 5, 5000);
    QVERIFY(dispatcher()->registeredTimers(&counter).isEmpty());
}

void TestEventDispatcher::zeroTimerFiresOncePerPass()
{
    TimerCounter counter;
    counter.startTimer(0);
    for (int pass = 1; pass <= 5; ++pass) {
        dispatcher()->processEvents(QEventLoop::AllEvents);
        QCOMPARE(counter.fired, pass);
    }
}

void TestEventDispatcher::lateTimerFiresOncePerPass()
{
    TimerCounter counter;
    counter.startTimer(2, Qt::PreciseTimer);
    // Nothing to wait for: the point is that many periods go by without a pass.
    QThread::msleep(50);
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(counter.fired, 1);
}

void TestEventDispatcher::timerStartedInHandlerWaitsForNextPass()
{
    // Two zero timers are due in the same pass. Whichever fires first stops the other and
    // starts a third, which gets the stopped one's id back; it waits for the next pass all the
    // same.
    TimerCounter counters[2];
    TimerCounter newcomer;
    int ids[2] = {};
    int stoppedId = 0;
    int newcomerId = 0;
    for (int i = 0; i < 2; ++i) {
        counters[i].onTimer = [&, i](int) {
            if (newcomerId)
                return;
            stoppedId = ids[1 - i];
            counters[1 - i].killTimer(stoppedId);
            newcomerId = newcomer.startTimer(0);
        };
        ids[i] = counters[i].startTimer(0);
    }

    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(counters[0].fired + counters[1].fired, 1);
    QCOMPARE(newcomerId, stoppedId);
    QCOMPARE(newcomer.fired, 0);
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(counters[0].fired + counters[1].fired, 2);
    QCOMPARE(newcomer.fired, 1);
}

void TestEventDispatcher::remainingTime()
{
    TimerCounter counter;
    const int precise = counter.startTimer(2000, Qt::PreciseTimer);
    const int zero = counter.startTimer(0, Qt::PreciseTimer);
    const int left = dispatcher()->remainingTime(precise);
    QVERIFY2(left > 1500 && left <= 2000, qPrintable(QString::number(left)));
    QCOMPARE(dispatcher()->remainingTime(zero), 0);

    // A coarse timer may run up to 5% late, never early.
    const int coarse = counter.startTimer(2000, Qt::CoarseTimer);
    const int coarseLeft = dispatcher()->remainingTime(coarse);
    QVERIFY2(coarseLeft > 1500 && coarseLeft <= 2100, qPrintable(QString::number(coarseLeft)));

    counter.killTimer(precise);
    QCOMPARE(dispatcher()->remainingTime(precise), -1);

    QTimer timer;
    timer.start(1000);
    QVERIFY(timer.remainingTime() > 500 && timer.remainingTime() <= 1050);
    timer.stop();
    QCOMPARE(timer.remainingTime(), -1);
}

void TestEventDispatcher::registeredTimers()
{
    using TimerInfo = QAbstractEventDispatcher::TimerInfo;
    auto *counter = new TimerCounter;
    const int precise = counter->startTimer(100, Qt::PreciseTimer);
    const int veryCoarse = counter->startTimer(3000, Qt::VeryCoarseTimer);
    TimerCounter other;
    other.startTimer(50);

    QList<TimerInfo> timers = dispatcher()->registeredTimers(counter);
    std::sort(timers.begin(), timers.end(),
              [](const TimerInfo &a, const TimerInfo &b) { return a.interval < b.interval; });
    QCOMPARE(timers.size(), 2);
    QCOMPARE(timers[0].timerId, precise);
    QCOMPARE(timers[0].interval, 100);
    QCOMPARE(timers[0].timerType, Qt::PreciseTimer);
    QCOMPARE(timers[1].timerId, veryCoarse);
    QCOMPARE(timers[1].interval, 3000);
    QCOMPARE(timers[1].timerType, Qt::VeryCoarseTimer);

    counter->killTimer(precise);
    QCOMPARE(dispatcher()->registeredTimers(counter).size(), 1);

    // Deleting the object unregisters the rest of its timers, and no one else's.
    delete counter;
    QCOMPARE(dispatcher()->remainingTime(veryCoarse), -1);
    QCOMPARE(dispatcher()->registeredTimers(&other).size(), 1);
}

void TestEventDispatcher::tcpEcho()
{
    QTcpServer server;
    QVERIFY2(server.listen(QHostAddress::LocalHost, 0), qPrintable(server.errorString()));
    QPointer<QTcpSocket> served;
    connect(&server, &QTcpServer::newConnection, &server, [&] {
        served = server.nextPendingConnection();
        connect(served, &QTcpSocket::readyRead, served,
                [socket = served.data()] { socket->write(socket->readAll()); });
        connect(served, &QTcpSocket::disconnected, served, &QObject::deleteLater);
    });

    // More than the socket buffers hold, so that writes wait for the write notifier.
    QByteArray payload(8 * 1024 * 1024, '\0');
    for (qsizetype i = 0; i < payload.size(); ++i)
        payload[i] = char(i * 7 + i / 4096);

    QTcpSocket client;
    QByteArray echoed;
    connect(&client, &QTcpSocket::readyRead, &client, [&] { echoed += client.readAll(); });
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::ConnectedState, 5000);
    client.write(payload);
    QTRY_COMPARE_WITH_TIMEOUT(echoed.size(), payload.size(), 30000);
    QVERIFY(echoed == payload);

    // The server side sees the close and deletes its socket.
    QVERIFY(served);
    client.disconnectFromHost();
    QTRY_VERIFY_WITH_TIMEOUT(!served, 5000);
}

void TestEventDispatcher::notifierGoneWithinBatch_data()
{
    QTest::addColumn<QString>("how");
    QTest::newRow("deleted") << u"delete"_s;
    QTest::newRow("disabled") << u"disable"_s;
    QTest::newRow("descriptor number reused") << u"reuse"_s;
}

void TestEventDispatcher::notifierGoneWithinBatch()
{
    QFETCH(QString, how);

    // Both pipes are readable before the pass, so one wait reports both; whichever notifier
    // goes first takes the other away.
    auto pipes = std::make_unique<Pipe[]>(2);
    QVERIFY(pipes[0].fill() && pipes[1].fill());
    std::unique_ptr<QSocketNotifier> notifiers[2];
    int activations[2] = {};
    std::unique_ptr<Pipe> reused;
    std::unique_ptr<QSocketNotifier> newcomer;
    int newcomerActivations = 0;
    for (int i = 0; i < 2; ++i) {
        notifiers[i] = std::make_unique<QSocketNotifier>(pipes[i].read, QSocketNotifier::Read);
        connect(notifiers[i].get(), &QSocketNotifier::activated, this, [&, i] {
            ++activations[i];
            const int other = 1 - i;
            if (!notifiers[other])
                return;
            if (how == u"disable"_s) {
                notifiers[other]->setEnabled(false);
                return;
            }
            notifiers[other].reset();
            if (how == u"reuse"_s) {
                // The lowest free number is the one just closed: the new notifier sits on the
                // same descriptor number, and nothing is written to its pipe.
                const int number = pipes[other].read;
                pipes[other].closeBoth();
                reused = std::make_unique<Pipe>();
                QCOMPARE(reused->read, number);
                newcomer = std::make_unique<QSocketNotifier>(reused->read, QSocketNotifier::Read);
                connect(newcomer.get(), &QSocketNotifier::activated, this,
                        [&] { ++newcomerActivations; });
            }
        });
    }

    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(activations[0] + activations[1], 1);
    QCOMPARE(newcomerActivations, 0);
    if (how == u"reuse"_s)
        QVERIFY(newcomer);
    // The pipe that is left stays readable, and level-triggered waiting says so again.
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(activations[0] + activations[1], 2);
    QCOMPARE(newcomerActivations, 0);
}

void TestEventDispatcher::excludeSocketNotifiers()
{
    Pipe pipe;
    QVERIFY(pipe.fill());
    QSocketNotifier notifier(pipe.read, QSocketNotifier::Read);
    QSignalSpy activated(&notifier, &QSocketNotifier::activated);

    TimerCounter counter;
    counter.startTimer(50, Qt::PreciseTimer);
    // A readable socket that the pass leaves out must not end the wait, which the timer does.
    QElapsedTimer clock;
    clock.start();
    for (int pass = 0; pass < 10 && counter.fired == 0; ++pass)
        dispatcher()->processEvents(QEventLoop::ExcludeSocketNotifiers
                                    | QEventLoop::WaitForMoreEvents);
    QCOMPARE(activated.count(), 0);
    QCOMPARE(counter.fired, 1);
    QCOMPARE_GE(clock.elapsed(), 50);

    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(activated.count(), 1);
}

void TestEventDispatcher::waitForMoreEvents()
{
    TimerCounter counter;
    counter.startTimer(100, Qt::PreciseTimer);
    QSignalSpy aboutToBlock(dispatcher(), &QAbstractEventDispatcher::aboutToBlock);
    QSignalSpy awake(dispatcher(), &QAbstractEventDispatcher::awake);

    // Without the flag a pass does not wait.
    QElapsedTimer clock;
    clock.start();
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QVERIFY(clock.elapsed() < 90);
    QCOMPARE(counter.fired, 0);
    QCOMPARE(aboutToBlock.count(), 0);

    // With it, the pass sleeps until the timer is due, and says so before and after.
    bool activated = false;
    for (int pass = 0; pass < 10 && counter.fired == 0; ++pass)
        activated = dispatcher()->processEvents(QEventLoop::WaitForMoreEvents);
    QVERIFY(activated);
    QCOMPARE(counter.fired, 1);
    QCOMPARE_GE(clock.elapsed(), 100);
    QCOMPARE_GE(aboutToBlock.count(), 1);
    QCOMPARE(awake.count(), aboutToBlock.count());
}

void TestEventDispatcher::wakeUpFromAnotherThread_data()
{
    QTest::addColumn<bool>("invoke");
    QTest::newRow("postEvent") << false;
    QTest::newRow("invokeMethod") << true;
}

void TestEventDispatcher::wakeUpFromAnotherThread()
{
    QFETCH(bool, invoke);

    // Only a wake-up can end the loop before the safety timer does.
    QEventLoop loop;
    QTimer safety;
    safety.setSingleShot(true);
    connect(&safety, &QTimer::timeout, &loop, &QEventLoop::quit);
    safety.start(5000);

    QObject receiver;
    bool delivered = false;
    std::thread poster([&] {
        // Gives the loop the time to fall asleep; the test holds either way.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (invoke) {
            LanChat::invokeOnThread(&receiver, [&] {
                delivered = true;
                loop.quit();
            });
        } else {
            QCoreApplication::postEvent(&loop, new QEvent(QEvent::Quit));
        }
    });
    QElapsedTimer clock;
    clock.start();
    loop.exec();
    poster.join();
    QVERIFY(safety.isActive());
    QVERIFY(clock.elapsed() < 4000);
    if (invoke)
        QVERIFY(delivered);
}

void TestEventDispatcher::burstOfPostsFromAnotherThread()
{
    // Many posts racing with the loop's own clearing of the wake-up flag: a lost wake-up
    // would leave the loop asleep until the safety timer.
    constexpr int Posts = 20000;
    QEventLoop loop;
    QTimer safety;
    safety.setSingleShot(true);
    connect(&safety, &QTimer::timeout, &loop, &QEventLoop::quit);
    safety.start(20000);

    QObject receiver;
    int delivered = 0;
    std::thread poster([&] {
        for (int i = 0; i < Posts; ++i) {
            LanChat::invokeOnThread(&receiver, [&] {
                if (++delivered == Posts)
                    loop.quit();
            });
            if (i % 64 == 0)
                std::this_thread::yield();
        }
    });
    loop.exec();
    poster.join();
    QVERIFY(safety.isActive());
    QCOMPARE(delivered, Posts);
}

void TestEventDispatcher::interruptFromAnotherThread()
{
    // Wake-ups left from earlier tests would end the wait below before the interrupt does.
    EpollDispatcher *epoll = dispatcher();
    for (int pass = 0; pass < 10; ++pass)
        epoll->processEvents(QEventLoop::AllEvents);

    // Nothing else ends the wait before the safety timer.
    TimerCounter safety;
    safety.startTimer(5000);
    std::thread other([epoll] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        epoll->interrupt();
    });
    QElapsedTimer clock;
    clock.start();
    epoll->processEvents(QEventLoop::WaitForMoreEvents);
    other.join();
    QVERIFY(clock.elapsed() < 4000);
    QCOMPARE(safety.fired, 0);
}

void TestEventDispatcher::interruptSkipsRestOfPass()
{
    TimerCounter counters[2];
    for (TimerCounter &counter : counters) {
        counter.onTimer = [](int) { dispatcher()->interrupt(); };
        counter.startTimer(0);
    }
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(counters[0].fired + counters[1].fired, 1);
    // The interrupt does not outlive the pass it was meant for.
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(counters[0].fired + counters[1].fired, 2);
}

void TestEventDispatcher::quitNestedLoop()
{
    // A zero timer's handler runs a loop of its own, which another timer quits. The nested
    // loop must neither fire the zero timer again nor spin on it.
    QEventLoop outer;
    TimerCounter host;
    bool inHandler = false;
    int reentered = 0;
    host.onTimer = [&](int id) {
        if (inHandler) {
            ++reentered;
            return;
        }
        inHandler = true;
        QEventLoop nested;
        QTimer::singleShot(30, &nested, &QEventLoop::quit);
        nested.exec();
        inHandler = false;
        host.killTimer(id);
        outer.quit();
    };
    host.startTimer(0);
    QTimer safety;
    safety.setSingleShot(true);
    connect(&safety, &QTimer::timeout, &outer, &QEventLoop::quit);
    safety.start(5000);
    outer.exec();
    QVERIFY(safety.isActive());
    QCOMPARE(host.fired, 1);
    QCOMPARE(reentered, 0);
}

void TestEventDispatcher::workerThread()
{
    EpollDispatcher *epoll = EpollDispatcher::create();
    QVERIFY(epoll);
    QThread thread;
    thread.setEventDispatcher(epoll);
    thread.start();
    QCOMPARE(QAbstractEventDispatcher::instance(&thread), epoll);

    // A running timer moves with its object, which registers it again on the worker.
    auto *counter = new TimerCounter;
    std::atomic<int> fired {0};
    std::atomic<bool> onWorker {true};
    counter->onTimer = [&](int) {
        onWorker = onWorker && QThread::currentThread() == &thread;
        ++fired;
    };
    counter->startTimer(10, Qt::PreciseTimer);
    counter->moveToThread(&thread);
    QTRY_VERIFY_WITH_TIMEOUT(fired >= 3, 5000);
    QVERIFY(onWorker);

    // deleteLater() posts from here; the thread carries out deferred deletions as it ends.
    counter->deleteLater();
    thread.quit();
    QVERIFY(thread.wait(5000));
}

QTEST_GUILESS_MAIN(TestEventDispatcher)
#include "tst_eventdispatcher.moc"
