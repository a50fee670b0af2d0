#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <vector>

// Measures how late the event loop it runs on answers a 1 ms timer: every gap between two
// ticks beyond the millisecond is time the loop spent on something else.
class StallMeter : public QObject
{
    Q_OBJECT

public:
    explicit StallMeter(QObject *parent = nullptr);

    void start();
    void stop();
    // Forgets the gaps measured so far.
    void reset();

    // A line of figures: ticks, worst gap, percentiles, how many gaps passed 16/50/100 ms, and
    // the processor time the loop's thread used, which tells its own work from waiting for a core.
    QString summary() const;
    double worstMs() const;

private:
    void onTick();

    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = -1;
    qint64 m_startWallNs = 0;
    qint64 m_startCpuNs = 0;
    std::vector<qint64> m_gapsNs;
};
