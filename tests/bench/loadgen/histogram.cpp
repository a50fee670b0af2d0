#include "histogram.h"

#include <algorithm>
#include <cmath>

int LatencyHistogram::bucketOf(uint64_t us)
{
    if (us < uint64_t(SubCount))
        return int(us);
    const int topBit = 63 - __builtin_clzll(us);
    const int sub = int((us >> (topBit - SubBits)) & (SubCount - 1));
    return (topBit - SubBits + 1) * SubCount + sub;
}

uint64_t LatencyHistogram::upperBoundOf(int bucket)
{
    if (bucket < SubCount)
        return uint64_t(bucket);
    const int topBit = bucket / SubCount + SubBits - 1;
    const uint64_t sub = uint64_t(bucket % SubCount);
    const uint64_t width = uint64_t(1) << (topBit - SubBits);
    return ((uint64_t(SubCount) + sub) << (topBit - SubBits)) + width - 1;
}

void LatencyHistogram::record(int64_t nanoseconds)
{
    const uint64_t us = nanoseconds > 0 ? uint64_t(nanoseconds) / 1000 : 0;
    ++m_counts[size_t(bucketOf(us))];
    ++m_count;
    m_maxUs = std::max(m_maxUs, us);
}

void LatencyHistogram::reset()
{
    m_counts.fill(0);
    m_count = 0;
    m_maxUs = 0;
}

double LatencyHistogram::percentileMs(double p) const
{
    if (m_count == 0)
        return 0.0;
    const auto wanted = uint64_t(std::ceil(p * double(m_count)));
    uint64_t seen = 0;
    for (int bucket = 0; bucket < BucketCount; ++bucket) {
        seen += m_counts[size_t(bucket)];
        if (seen >= wanted && seen > 0)
            return double(std::min(upperBoundOf(bucket), m_maxUs)) / 1000.0;
    }
    return maxMs();
}
