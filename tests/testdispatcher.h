#pragma once

#include <QAbstractEventDispatcher>
#include <QCoreApplication>

#ifdef LANCHAT_HAVE_EPOLL
#include "epolldispatcher.h"
#endif

// With LANCHAT_TEST_DISPATCHER=epoll in the environment, a test that runs the server on its own
// thread runs it on the epoll dispatcher that ServerHost gives the network thread.
namespace TestDispatcher {

inline bool epollRequested()
{
    return qEnvironmentVariable("LANCHAT_TEST_DISPATCHER") == QLatin1StringView("epoll");
}

// For a test's initMain(), before the application object exists.
inline void installRequested()
{
    if (!epollRequested())
        return;
#ifdef LANCHAT_HAVE_EPOLL
    if (QAbstractEventDispatcher *dispatcher = EpollDispatcher::create())
        QCoreApplication::setEventDispatcher(dispatcher);
#endif
}

// False when the epoll dispatcher was asked for and is not the one running, so that the test
// fails rather than pass on Qt's.
inline bool requestedIsRunning()
{
    if (!epollRequested())
        return true;
#ifdef LANCHAT_HAVE_EPOLL
    return qobject_cast<EpollDispatcher *>(QAbstractEventDispatcher::instance()) != nullptr;
#else
    return false;
#endif
}

} // namespace TestDispatcher
