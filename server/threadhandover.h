#pragma once

// Qt as Debian ships it is not built with ThreadSanitizer. TSan therefore cannot see the
// ordering that Qt's event queue gives between a thread that posts a call and the thread that
// runs it, and would report every queued signal as a data race. In a TSan build these two
// calls tell it about that ordering at the places where LanChat hands work to another thread;
// the rest (signal emissions and the delivery of posted events) is marked by
// tests/sanitizers/tsanqt.cpp. In any other build they compile to nothing.

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

// Captured last by a lambda that Qt runs on another thread. Qt moves the lambda into the call
// it posts, and later destroys it in whichever thread is done with it: the move hands over
// everything written so far, the captures included, and the destruction takes over what the
// other thread did, which covers the wait of Qt::BlockingQueuedConnection that TSan cannot see.
struct ThreadHandOver
{
    ThreadHandOver() = default;
    ThreadHandOver(const ThreadHandOver &) { handOver(); }
    ThreadHandOver(ThreadHandOver &&) noexcept { handOver(); }
    ThreadHandOver &operator=(const ThreadHandOver &) = default;
    ThreadHandOver &operator=(ThreadHandOver &&) = default;
    ~ThreadHandOver() { takeOver(); }
};

} // namespace LanChat
