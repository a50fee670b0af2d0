#include "stallmeter.h"

#include <algorithm>

#include <time.h>

using namespace Qt::StringLiterals;

namespace {
qint64 threadCpuNs()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return qint64(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
} // namespace

StallMeter::StallMeter(QObject *parent)
    : QObject(parent)
    , m_timer(this)
{
    m_timer.setInterval(1);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &StallMeter::onTick);
    m_gapsNs.reserve(1 << 20);
}

void StallMeter::start()
{
    m_clock.start();
    reset();
    m_timer.start();
}

void StallMeter::stop()
{
    m_timer.stop();
}

void StallMeter::reset()
{
    m_gapsNs.clear();
    m_lastNs = -1;
    m_startWallNs = m_clock.isValid() ? m_clock.nsecsElapsed() : 0;
    m_startCpuNs = threadCpuNs();
}

void StallMeter::onTick()
{
    const qint64 now = m_clock.nsecsElapsed();
    if (m_lastNs >= 0)
        m_gapsNs.push_back(now - m_lastNs);
    m_lastNs = now;
}

double StallMeter::worstMs() const
{
    if (m_gapsNs.empty())
        return 0;
    return *std::max_element(m_gapsNs.begin(), m_gapsNs.end()) / 1e6;
}

QString StallMeter::summary() const
{
    if (m_gapsNs.empty())
        return u"no ticks"_s;
    std::vector<qint64> sorted = m_gapsNs;
    std::sort(sorted.begin(), sorted.end());
    const auto at = [&sorted](double q) {
        const size_t i = std::min(sorted.size() - 1, size_t(q * double(sorted.size())));
        return sorted[i] / 1e6;
    };
    const auto over = [&sorted](double ms) {
        return std::count_if(sorted.begin(), sorted.end(),
                             [ms](qint64 ns) { return ns > qint64(ms * 1e6); });
    };
    const qint64 wallNs = std::max<qint64>(1, m_clock.nsecsElapsed() - m_startWallNs);
    const qint64 cpuNs = threadCpuNs() - m_startCpuNs;
    qint64 stalledNs = 0;
    for (qint64 ns : sorted) {
        if (ns > 16'000'000)
            stalledNs += ns;
    }
    return u"ticks %1  gap p50 %2 ms  p99 %3 ms  p99.9 %4 ms  worst %5 ms  "
           "gaps >16 ms: %6  >50 ms: %7  >100 ms: %8  "
           "time in gaps >16 ms: %9 ms  window thread busy %10%"_s.arg(sorted.size())
               .arg(at(0.5), 0, 'f', 2)
               .arg(at(0.99), 0, 'f', 2)
               .arg(at(0.999), 0, 'f', 2)
               .arg(sorted.back() / 1e6, 0, 'f', 1)
               .arg(over(16))
               .arg(over(50))
               .arg(over(100))
               .arg(stalledNs / 1'000'000)
               .arg(100.0 * double(cpuNs) / double(wallNs), 0, 'f', 1);
}
