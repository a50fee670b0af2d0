#pragma once

#include <QObject>

#include <utility>

// Qt as Debian ships it is not built with ThreadSanitizer. TSan therefore cannot see the
// ordering that Qt's event queue gives between a thread that posts a call and the thread that
// runs it, and would report every queued signal as a data race. In a TSan build the calls
// below tell it about that ordering at the places where LanChat hands work to another thread
// (invokeOnThread() for a functor); the rest (signal emissions and the delivery of posted
// events) is marked by tests/sanitizers/tsanqt.cpp. In any other build they compile to nothing.

#if defined(__SANITIZE_THREAD__)
#define LANCHAT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LANCHAT_TSAN 1
#endif
#endif

#ifdef LANCHAT_TSAN
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
#endif

namespace LanChat {

#ifdef LANCHAT_TSAN
// One address stands for Qt's posted-event queues, in every thread.
inline char eventQueueChannel = 0;
#endif

// Everything this thread did so far happens before what the receiving thread does once it
// has taken the posted call or event.
inline void handOver()
{
#ifdef LANCHAT_TSAN
    __tsan_release(&eventQueueChannel);
#endif
}

// Everything handed over so far happens before what this thread does next.
inline void takeOver()
{
#ifdef LANCHAT_TSAN
    __tsan_acquire(&eventQueueChannel);
#endif
}

// Marks, for TSan, the two ends of a call that Qt moves to another thread and destroys in
// whichever thread lets go of it last: each move of it hands over, its destruction takes over.
struct ThreadHandOver
{
    ThreadHandOver() = default;
    ThreadHandOver(const ThreadHandOver &) { handOver(); }
    ThreadHandOver(ThreadHandOver &&) noexcept { handOver(); }
    ThreadHandOver &operator=(const ThreadHandOver &) = default;
    ThreadHandOver &operator=(ThreadHandOver &&) = default;
    ~ThreadHandOver() { takeOver(); }
};

// QMetaObject::invokeMethod() with a functor, for a context that lives on another thread. What
// this thread did before, the functor's captures included, happens before the call; what the
// call did happens before the call is destroyed, which may be in this thread once it is back
// from posting, and, with Qt::BlockingQueuedConnection, before this thread goes on.
template<typename Call>
bool invokeOnThread(QObject *context, Call call, Qt::ConnectionType type = Qt::QueuedConnection)
{
    struct HandedOverCall
    {
        Call call;
        // Declared last, so destroyed first: it takes over before the captures are destroyed.
        ThreadHandOver edge;

        void operator()()
        {
            takeOver();
            call();
            handOver();
        }
    };
    const bool invoked
        = QMetaObject::invokeMethod(context, HandedOverCall {std::move(call), {}}, type);
    if (type == Qt::BlockingQueuedConnection)
        takeOver();
    return invoked;
}

} // namespace LanChat
