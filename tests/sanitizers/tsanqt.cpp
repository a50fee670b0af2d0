// Linked into every program of a ThreadSanitizer build (LANCHAT_SANITIZE=thread). Debian's Qt
// is not instrumented, so TSan cannot see that posting an event to another thread's queue
// orders what the poster did before what the receiver does after taking it. This marks that
// edge where Qt lets a program watch it: every signal emission releases (it may post a queued
// call), and every delivered event acquires. What LanChat's own code does to data that two
// threads share outside the event queues stays fully checked.

#include "threadhandover.h"

#include <QCoreApplication>

QT_BEGIN_NAMESPACE
// Qt's hook for signal spies (QTest's -vs uses it); exported, declared in a private header.
struct QSignalSpyCallbackSet
{
    using BeginCallback = void (*)(QObject *caller, int signalOrMethodIndex, void **argv);
    using EndCallback = void (*)(QObject *caller, int signalOrMethodIndex);
    BeginCallback signal_begin_callback;
    BeginCallback slot_begin_callback;
    EndCallback signal_end_callback;
    EndCallback slot_end_callback;
};
Q_CORE_EXPORT void qt_register_signal_spy_callbacks(QSignalSpyCallbackSet *callbackSet);
QT_END_NAMESPACE

namespace {

// Before the emission, for what the emitter did so far; after it, for the copies of the
// arguments that Qt made for the queued calls.
void signalBegins(QObject *, int, void **)
{
    LanChat::handOver();
}

void signalEnds(QObject *, int)
{
    LanChat::handOver();
}

// data: receiver, event, result. The event is not looked at: it was made after the poster's
// hand-over.
bool eventDelivered(void **)
{
    LanChat::takeOver();
    return false; // never filters the event
}

QSignalSpyCallbackSet callbacks {signalBegins, nullptr, signalEnds, nullptr};

const bool registered = [] {
    qt_register_signal_spy_callbacks(&callbacks);
    QInternal::registerCallback(QInternal::EventNotifyCallback, eventDelivered);
    return true;
}();

} // namespace
