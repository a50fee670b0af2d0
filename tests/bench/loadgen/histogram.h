#pragma once

#include <array>
#include <cstdint>

// Latencies in microseconds, in log-linear buckets: exact below 32 us, then 32 buckets for every
// power of two, so a percentile is off by at most about 3 %. Recording is a few instructions,
// which matters because every delivered message is recorded.
class LatencyHistogram
{
public:
    void record(int64_t nanoseconds);
    void reset();

    uint64_t count() const { return m_count; }
    // The value below which the fraction p (0..1) of the samples fall, in milliseconds.
    double percentileMs(double p) const;
    double maxMs() const { return double(m_maxUs) / 1000.0; }

private:
    static constexpr int SubBits = 5;
    static constexpr int SubCount = 1 << SubBits;
    static constexpr int BucketCount = 64 * SubCount;

    static int bucketOf(uint64_t us);
    static uint64_t upperBoundOf(int bucket);

    std::array<uint64_t, BucketCount> m_counts {};
    uint64_t m_count = 0;
    uint64_t m_maxUs = 0;
};
