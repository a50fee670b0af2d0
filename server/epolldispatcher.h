#pragma once

#include <QAbstractEventDispatcher>
#include <QHash>

#include <atomic>
#include <set>
#include <utility>

struct epoll_event;

// An event dispatcher for Linux that waits with epoll. Qt's own dispatcher hands every socket
// of its thread to ppoll() on every pass of the loop, so with a thousand clients connected
// most of a pass goes on sockets that have nothing to say; here the kernel keeps the set and a
// pass costs in proportion to the sockets that are ready.
//
// Like every event dispatcher it belongs to one thread: only wakeUp() and interrupt() may be
// called from others.
class EpollDispatcher : public QAbstractEventDispatcher
{
    Q_OBJECT

public:
    // nullptr when the kernel gives no epoll or eventfd descriptor; the caller then leaves the
    // thread with Qt's dispatcher.
    static EpollDispatcher *create(QObject *parent = nullptr);
    ~EpollDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;

private:
    EpollDispatcher(int epollFd, int wakeFd, QObject *parent);

    // Nanoseconds on the monotonic clock.
    using Nanos = qint64;

    struct Timer
    {
        QObject *object = nullptr;
        qint64 intervalMs = 0;
        Qt::TimerType type = Qt::CoarseTimer;
        // When the timer is due by its interval alone; the next period counts from here, so
        // that a repeating timer does not drift by the time each pass takes.
        Nanos due = 0;
        // due, moved later within the slack the timer type allows.
        Nanos deadline = 0;
        // Tells this timer from a later one that was given the same id.
        quint64 serial = 0;
        // Its event is being delivered: a nested loop in the handler must not fire it again.
        bool inEvent = false;
    };

    struct Watch
    {
        // Indexed by QSocketNotifier::Type.
        QSocketNotifier *notifiers[3] = {};
        quint32 events = 0;
        // Tells this entry from a later one for the same descriptor number.
        quint32 generation = 0;
    };

    void schedule(int timerId, Timer &timer, Nanos due);
    Nanos nextDeadline() const;
    int wait(epoll_event *ready, Nanos timeout, bool withSockets);
    void drainWakeUp();
    bool activateSockets(const epoll_event *ready, int count);
    bool activate(int fd, quint32 generation, int type);
    bool activateTimers();
    void updateWatch(int fd, Watch &watch);

    int m_epollFd = -1;
    int m_wakeFd = -1;
    // Set when the eventfd has been written and not yet drained, so that a burst of posted
    // events costs one write.
    std::atomic<bool> m_wakeUpPending {false};
    std::atomic<bool> m_interrupted {false};
    bool m_useEpollPwait2 = true;

    QHash<int, Timer> m_timers;
    // (deadline, id) of every timer, earliest first.
    std::set<std::pair<Nanos, int>> m_queue;
    quint64 m_nextSerial = 1;

    QHash<int, Watch> m_watches;
    quint32 m_nextGeneration = 1;

    static constexpr int MaxEvents = 256;
};
