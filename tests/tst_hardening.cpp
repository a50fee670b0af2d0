// Regression tests for faults that the sanitizer runs, the fuzzers and the soak test found.
// Each test names what went wrong; each failed before the fix it guards.

#include "connectionmanager.h"
#include "serverconfig.h"
#include "serverhost.h"

#include <QPointer>
#include <QSignalSpy>
#include <QTest>

using namespace Qt::StringLiterals;

class TestHardening : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void serverHostReleasesServerWhenDestroyed();
};

// The window stops its server and drops the host at once when it closes. The server's deletion
// was queued as a call on the network thread, which the thread quits before running, so every
// server, its sockets and its rooms leaked (LeakSanitizer in tst_mainwindow). The race is lost
// often but not always, hence the rounds.
void TestHardening::serverHostReleasesServerWhenDestroyed()
{
    ServerConfig config;
    config.bindAddress = QHostAddress::LocalHost;
    config.port = 0;
    config.storeEnabled = false;

    constexpr int Rounds = 20;
    int leaked = 0;
    for (int round = 0; round < Rounds; ++round) {
        QPointer<ConnectionManager> manager;
        {
            ServerHost host;
            QSignalSpy started(&host, &ServerHost::started);
            host.start(config);
            QCOMPARE(started.size(), 1);
            manager = started.at(0).at(0).value<ConnectionManager *>();
            QVERIFY(manager);
        }
        // The network thread has finished: whatever it was going to delete is gone by now.
        if (manager)
            ++leaked;
    }
    QCOMPARE(leaked, 0);
}

QTEST_GUILESS_MAIN(TestHardening)
#include "tst_hardening.moc"
