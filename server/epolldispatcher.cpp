#include "epolldispatcher.h"

#include "threadhandover.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTimerEvent>
#include <QVarLengthArray>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace {

using Nanos = qint64;
constexpr Nanos NsPerMs = 1'000'000;
constexpr Nanos NsPerSecond = 1'000'000'000;

// The epoll data of a descriptor: its watch's generation above, its number below. The eventfd
// has generation 0, which no watch is given.
quint64 keyOf(int fd, quint32 generation)
{
    return quint64(generation) << 32 | quint32(fd);
}

Nanos monotonicNow()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Nanos(ts.tv_sec) * NsPerSecond + ts.tv_nsec;
}

timespec toTimespec(Nanos ns)
{
    return timespec {time_t(ns / NsPerSecond), long(ns % NsPerSecond)};
}

// How much later than due a timer of this type may fire: none for a precise one, 5% of the
// interval for a coarse one, up to a second for a very coarse one, as Qt documents them.
Nanos slackOf(Qt::TimerType type, qint64 intervalMs)
{
    switch (type) {
    case Qt::PreciseTimer:
        return 0;
    case Qt::CoarseTimer:
        return intervalMs * NsPerMs / 20;
    case Qt::VeryCoarseTimer:
        return NsPerSecond;
    }
    return 0;
}

// Rounds due up to a multiple of the coarsest step the slack allows, so that timers started at
// different moments but with a similar slack fall due on the same tick and share one wake-up.
Nanos coarsen(Nanos due, Nanos slack)
{
    static constexpr qint64 StepsMs[] = {1000, 500, 250, 100, 50, 25, 10, 5, 1};
    for (const qint64 stepMs : StepsMs) {
        const Nanos step = stepMs * NsPerMs;
        if (step <= slack)
            return (due + step - 1) / step * step;
    }
    return due;
}

} // namespace

EpollDispatcher *EpollDispatcher::create(QObject *parent)
{
    const int epollFd = epoll_create1(EPOLL_CLOEXEC);
    if (epollFd < 0)
        return nullptr;
    const int wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd < 0) {
        ::close(epollFd);
        return nullptr;
    }
    epoll_event event {};
    event.events = EPOLLIN;
    event.data.u64 = keyOf(wakeFd, 0);
    if (epoll_ctl(epollFd, EPOLL_CTL_ADD, wakeFd, &event) < 0) {
        ::close(wakeFd);
        ::close(epollFd);
        return nullptr;
    }
    return new EpollDispatcher(epollFd, wakeFd, parent);
}

EpollDispatcher::EpollDispatcher(int epollFd, int wakeFd, QObject *parent)
    : QAbstractEventDispatcher(parent)
    , m_epollFd(epollFd)
    , m_wakeFd(wakeFd)
{ }

EpollDispatcher::~EpollDispatcher()
{
    // Other threads call wakeUp() and interrupt() until QThread deletes the dispatcher at the
    // thread's end, ordered by QThread's own lock, which an uninstrumented Qt hides from TSan.
    LanChat::takeOver();
    ::close(m_wakeFd);
    ::close(m_epollFd);
}

bool EpollDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    // One pass per call, with or without EventLoopExec: QEventLoop::exec() calls again and looks
    // at its exit flag in between, which is why interrupt() needs only to end the pass it finds.
    // An interrupt() has done its work once that call returned.
    m_interrupted.store(false, std::memory_order_relaxed);
    const bool withSockets = !flags.testFlag(QEventLoop::ExcludeSocketNotifiers);
    const bool withTimers = !flags.testFlag(QEventLoop::X11ExcludeTimers);

    QCoreApplication::sendPostedEvents();
    if (m_interrupted.load(std::memory_order_relaxed))
        return false;

    // Events posted from here on write the eventfd, so the wait cannot sleep through them.
    Nanos timeout = 0;
    if (flags.testFlag(QEventLoop::WaitForMoreEvents)) {
        const Nanos next = withTimers ? nextDeadline() : -1;
        timeout = next < 0 ? -1 : std::max<Nanos>(0, next - monotonicNow());
    }

    epoll_event ready[MaxEvents];
    const bool blocks = timeout != 0;
    if (blocks)
        Q_EMIT aboutToBlock();
    int count = wait(ready, timeout, withSockets);
    if (blocks)
        Q_EMIT awake();
    if (count < 0) {
        if (errno != EINTR)
            qErrnoWarning("EpollDispatcher: waiting for events failed");
        count = 0;
    }

    bool activated = false;
    for (int i = 0; i < count; ++i) {
        if (ready[i].data.u64 == keyOf(m_wakeFd, 0)) {
            drainWakeUp();
            activated = true;
        }
    }
    if (m_interrupted.load(std::memory_order_relaxed))
        return activated;
    if (withSockets && activateSockets(ready, count))
        activated = true;
    if (m_interrupted.load(std::memory_order_relaxed))
        return activated;
    if (withTimers && activateTimers())
        activated = true;
    return activated;
}

// epoll_pwait2() rather than a timerfd: the wait is the one system call a pass makes anyway,
// and it takes the timeout in nanoseconds, where a timerfd would cost a timerfd_settime()
// each time the earliest deadline moves, which is most passes while timers run. Kernels older
// than 5.11 (and seccomp filters that do not know the call) refuse it; then epoll_wait() with
// the timeout rounded up to milliseconds, so that the loop never wakes before a timer is due
// and spins until it is.
int EpollDispatcher::wait(epoll_event *ready, Nanos timeout, bool withSockets)
{
    const timespec ts = toTimespec(std::max<Nanos>(timeout, 0));
    if (!withSockets) {
        // Sockets that are ready would end any wait on the epoll descriptor at once.
        pollfd wake {m_wakeFd, POLLIN, 0};
        const int result = ppoll(&wake, 1, timeout < 0 ? nullptr : &ts, nullptr);
        if (result <= 0)
            return result;
        ready[0].events = EPOLLIN;
        ready[0].data.u64 = keyOf(m_wakeFd, 0);
        return 1;
    }

    if (m_useEpollPwait2) {
        const int result
            = epoll_pwait2(m_epollFd, ready, MaxEvents, timeout < 0 ? nullptr : &ts, nullptr);
        if (result >= 0 || (errno != ENOSYS && errno != EPERM))
            return result;
        m_useEpollPwait2 = false;
    }
    const int ms
        = timeout < 0 ? -1 : int(std::min<Nanos>((timeout + NsPerMs - 1) / NsPerMs, INT_MAX));
    return epoll_wait(m_epollFd, ready, MaxEvents, ms);
}

void EpollDispatcher::drainWakeUp()
{
    eventfd_t value = 0;
    eventfd_read(m_wakeFd, &value);
    // Cleared only after the read: a wakeUp() in between finds it still set and writes
    // nothing, and its event goes out with the posted events at the start of the next pass,
    // which comes before any wait.
    m_wakeUpPending.store(false, std::memory_order_release);
}

void EpollDispatcher::wakeUp()
{
    if (!m_wakeUpPending.exchange(true, std::memory_order_acq_rel))
        eventfd_write(m_wakeFd, 1);
    LanChat::handOver(); // see the destructor
}

void EpollDispatcher::interrupt()
{
    m_interrupted.store(true, std::memory_order_relaxed);
    wakeUp();
}

bool EpollDispatcher::activateSockets(const epoll_event *ready, int count)
{
    bool activated = false;
    for (int i = 0; i < count; ++i) {
        const quint64 key = ready[i].data.u64;
        const auto generation = quint32(key >> 32);
        if (generation == 0)
            continue;
        const auto fd = int(quint32(key));
        const auto it = m_watches.constFind(fd);
        if (it == m_watches.cend() || it->generation != generation)
            continue;

        // Like poll(), epoll reports a hang-up or an error whatever was asked for. It goes to
        // the read notifier, whose read sees the end or the error, or else to the others, so
        // that it is never left unanswered to end every wait at once.
        const quint32 events = ready[i].events;
        const bool failed = events & (EPOLLHUP | EPOLLERR);
        const bool hasRead = it->notifiers[QSocketNotifier::Read];
        const bool hasWrite = it->notifiers[QSocketNotifier::Write];
        const bool read = events & EPOLLIN || failed;
        const bool write = events & (EPOLLOUT | EPOLLERR) || (failed && !hasRead);
        const bool exception = events & EPOLLPRI || (failed && !hasRead && !hasWrite);

        // Each activation may unregister or delete any notifier, this one's included, so each
        // is looked up again before it is sent its event.
        if (read && activate(fd, generation, QSocketNotifier::Read))
            activated = true;
        if (write && activate(fd, generation, QSocketNotifier::Write))
            activated = true;
        if (exception && activate(fd, generation, QSocketNotifier::Exception))
            activated = true;
        // Level-triggered: whatever this pass leaves is reported again on the next.
        if (m_interrupted.load(std::memory_order_relaxed))
            break;
    }
    return activated;
}

bool EpollDispatcher::activate(int fd, quint32 generation, int type)
{
    const auto it = m_watches.constFind(fd);
    if (it == m_watches.cend() || it->generation != generation || !it->notifiers[type])
        return false;
    QEvent event(QEvent::SockAct);
    QCoreApplication::sendEvent(it->notifiers[type], &event);
    return true;
}

void EpollDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    Q_ASSERT(notifier);
    const int fd = int(notifier->socket());
    const int type = notifier->type();
    auto it = m_watches.find(fd);
    if (it == m_watches.end()) {
        it = m_watches.insert(fd, Watch {});
        it->generation = m_nextGeneration;
        m_nextGeneration = m_nextGeneration == UINT_MAX ? 1 : m_nextGeneration + 1;
    } else if (it->notifiers[type]) {
        qWarning("EpollDispatcher: socket %d already has a notifier of type %d", fd, type);
        return;
    }
    it->notifiers[type] = notifier;
    updateWatch(fd, *it);
}

void EpollDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    Q_ASSERT(notifier);
    const int fd = int(notifier->socket());
    const int type = notifier->type();
    const auto it = m_watches.find(fd);
    if (it == m_watches.end() || it->notifiers[type] != notifier)
        return;
    it->notifiers[type] = nullptr;
    updateWatch(fd, *it);
    if (it->events == 0)
        m_watches.erase(it);
}

void EpollDispatcher::updateWatch(int fd, Watch &watch)
{
    quint32 events = 0;
    if (watch.notifiers[QSocketNotifier::Read])
        events |= EPOLLIN;
    if (watch.notifiers[QSocketNotifier::Write])
        events |= EPOLLOUT;
    if (watch.notifiers[QSocketNotifier::Exception])
        events |= EPOLLPRI;
    if (events == watch.events)
        return;

    if (events == 0) {
        // Fails harmlessly when the descriptor was closed first: closing took it out already.
        epoll_ctl(m_epollFd, EPOLL_CTL_DEL, fd, nullptr);
        watch.events = 0;
        return;
    }
    epoll_event event {};
    event.events = events;
    event.data.u64 = keyOf(fd, watch.generation);
    int result = epoll_ctl(m_epollFd, watch.events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
    // A descriptor closed and opened again under the same number while registered has left the
    // epoll set, and one duplicated from a registered descriptor may still be in it.
    if (result < 0 && errno == ENOENT)
        result = epoll_ctl(m_epollFd, EPOLL_CTL_ADD, fd, &event);
    else if (result < 0 && errno == EEXIST)
        result = epoll_ctl(m_epollFd, EPOLL_CTL_MOD, fd, &event);
    if (result < 0)
        qErrnoWarning("EpollDispatcher: cannot watch descriptor %d", fd);
    watch.events = events;
}

void EpollDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                    QObject *object)
{
    Q_ASSERT(timerId > 0 && interval >= 0 && object);
    unregisterTimer(timerId);
    Timer timer;
    timer.object = object;
    timer.intervalMs = interval;
    timer.type = timerType;
    timer.serial = m_nextSerial++;
    const auto it = m_timers.insert(timerId, timer);
    schedule(timerId, *it, monotonicNow() + interval * NsPerMs);
}

void EpollDispatcher::schedule(int timerId, Timer &timer, Nanos due)
{
    m_queue.erase({timer.deadline, timerId});
    timer.due = due;
    timer.deadline = coarsen(due, slackOf(timer.type, timer.intervalMs));
    m_queue.emplace(timer.deadline, timerId);
}

bool EpollDispatcher::unregisterTimer(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return false;
    m_queue.erase({it->deadline, timerId});
    m_timers.erase(it);
    return true;
}

bool EpollDispatcher::unregisterTimers(QObject *object)
{
    bool found = false;
    for (auto it = m_timers.begin(); it != m_timers.end();) {
        if (it->object == object) {
            m_queue.erase({it->deadline, it.key()});
            it = m_timers.erase(it);
            found = true;
        } else {
            ++it;
        }
    }
    return found;
}

QList<QAbstractEventDispatcher::TimerInfo> EpollDispatcher::registeredTimers(QObject *object) const
{
    QList<TimerInfo> timers;
    for (auto it = m_timers.cbegin(); it != m_timers.cend(); ++it) {
        if (it->object == object)
            timers.append(TimerInfo(it.key(), int(it->intervalMs), it->type));
    }
    return timers;
}

int EpollDispatcher::remainingTime(int timerId)
{
    const auto it = m_timers.constFind(timerId);
    if (it == m_timers.cend())
        return -1;
    const Nanos left = it->deadline - monotonicNow();
    return left <= 0 ? 0 : int(std::min<Nanos>(left / NsPerMs, INT_MAX));
}

EpollDispatcher::Nanos EpollDispatcher::nextDeadline() const
{
    // A timer whose handler runs a nested loop is not fired again by that loop, so it must not
    // cut the loop's waits short either.
    for (const auto &[deadline, timerId] : m_queue) {
        if (!m_timers.value(timerId).inEvent)
            return deadline;
    }
    return -1;
}

bool EpollDispatcher::activateTimers()
{
    const Nanos now = monotonicNow();
    // Only the timers due when the pass began, each once: a zero timer, or one that a handler
    // starts, waits for the next pass, so that sockets and posted events get their turn.
    QVarLengthArray<std::pair<int, quint64>, 32> due;
    for (const auto &[deadline, timerId] : m_queue) {
        if (deadline > now)
            break;
        due.append({timerId, m_timers.value(timerId).serial});
    }

    bool activated = false;
    for (const auto &[timerId, serial] : due) {
        auto it = m_timers.find(timerId);
        if (it == m_timers.end() || it->serial != serial || it->inEvent)
            continue;

        // The next period is booked before the handler runs, so that the handler can stop or
        // restart the timer. One that fell more than a period behind skips what it missed.
        Nanos next = it->due + it->intervalMs * NsPerMs;
        if (next < now)
            next = now + it->intervalMs * NsPerMs;
        schedule(timerId, *it, next);
        it->inEvent = true;

        QTimerEvent event(timerId);
        QCoreApplication::sendEvent(it->object, &event);
        activated = true;

        it = m_timers.find(timerId);
        if (it != m_timers.end() && it->serial == serial)
            it->inEvent = false;
        if (m_interrupted.load(std::memory_order_relaxed))
            break;
    }
    return activated;
}
