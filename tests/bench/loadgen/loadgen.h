#pragma once

#include "histogram.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

enum class Transport { WebSocket, Tcp };
enum class Mode { Idle, Burst, Fanout };

struct Options
{
    std::string host = "127.0.0.1";
    int port = 0;
    std::string path = "/ws";
    Transport transport = Transport::WebSocket;
    Mode mode = Mode::Fanout;
    std::string nickPrefix = "u";

    int clients = 100;
    int rooms = 1;
    int senders = 0; // 0: max(rooms, 10), at most clients
    bool hello = true; // idle mode: send hello, or stay at the open WebSocket
    int concurrency = 256; // connections being set up at once
    double setupTimeout = 120.0;
    double holdSeconds = 0.0; // idle mode: keep the connections open this long afterwards

    bool search = false;
    double searchStart = 0.0; // messages per second; 0: 20,000 deliveries per second
    double searchBudget = 60.0;
    int maxSteps = 16;
    double stepSeconds = 3.0;
    double p99LimitMs = 100.0;
    std::vector<double> fixedRates;
    double fixedFraction = 0.0; // after a search, one more step at this share of the best
    double fixedSeconds = 5.0;

    int serverPid = 0; // its resident memory is read from /proc
};

// One open-loop step at a fixed rate of say messages.
struct StepResult
{
    double rate = 0; // messages per second offered
    double offeredDeliveries = 0; // per second
    double deliveredPerSecond = 0;
    uint64_t sent = 0;
    uint64_t expected = 0;
    uint64_t delivered = 0;
    uint64_t lost = 0;
    uint64_t duplicates = 0;
    double p50 = 0, p99 = 0, p999 = 0, max = 0; // milliseconds
    uint64_t errors = 0;
    int closed = 0;
    double generatorCpu = 0; // share of one core
    double serverCpu = 0; // share of one core, from /proc/PID/stat
    double serverUsPerDelivery = 0; // server CPU time per delivery, microseconds
    double lagP99 = 0; // how late sends left against their schedule, milliseconds
    bool generatorLimited = false;
    bool ok = false;
};

// Drives many client connections from one thread with epoll. The hot path is plain C++:
// byte buffers, a hand-written frame parser and a scan for two JSON string fields.
class LoadGenerator
{
public:
    explicit LoadGenerator(const Options &options);
    ~LoadGenerator();

    int run();

private:
    enum class State { Connecting, Upgrading, Greeting, Joining, Ready, Closed };
    struct Connection;

    // Opens count connections and brings each to its target state; false on timeout.
    bool setUp(int count, int concurrency, double timeout);
    void startConnection(int index);
    void handleEvent(Connection &c, uint32_t events);
    void onConnected(Connection &c);
    void onReadable(Connection &c);
    size_t consume(Connection &c, char *data, size_t size);
    size_t consumeHandshake(Connection &c, char *data, size_t size);
    size_t consumeFrames(Connection &c, char *data, size_t size);
    size_t consumeLines(Connection &c, char *data, size_t size);
    void onText(Connection &c, std::string_view text);
    void onLine(Connection &c, std::string_view line);
    void onDelivery(std::string_view text);
    void reachTarget(Connection &c);
    void sendText(Connection &c, std::string_view text);
    void sendControl(Connection &c, uint8_t opcode, std::string_view payload);
    void flush(Connection &c);
    void setWriteInterest(Connection &c, bool on);
    void fail(Connection &c, const char *why);
    void sendSay(Connection &c, uint64_t seq);

    // Runs the event loop until done() or the deadline (monotonic nanoseconds).
    template<typename Done> void loop(int64_t deadline, Done done);
    void pollOnce(int timeoutMs);
    // Waits until nothing has arrived for quietMs, at most maxSeconds.
    void settle(int quietMs, double maxSeconds);
    long settleRss(double maxSeconds);

    StepResult runStep(double rate, double seconds);
    void printStep(const char *kind, const StepResult &r) const;
    int runIdle();
    int runBurst();
    int runFanout();

    Options m_options;
    int m_epoll = -1;
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::vector<int> m_senders;
    std::vector<int> m_roomSize; // ready members of each room
    State m_target = State::Ready;
    int m_started = 0;
    int m_reached = 0;
    int m_failed = 0;
    int m_closedAfterSetup = 0;
    bool m_setupDone = false;
    std::map<std::string, int> m_failures;
    std::map<std::string, uint64_t> m_errorCodes;
    uint64_t m_errorFrames = 0;
    int64_t m_lastArrival = 0;
    int64_t m_lastReceive = 0;
    uint32_t m_random = 0x9e3779b9;

    // Per message, by sequence number: members that should get it, and those that did.
    std::vector<uint32_t> m_expected;
    std::vector<uint32_t> m_received;
    uint64_t m_outstanding = 0;
    uint64_t m_stepFirstSeq = 0;
    LatencyHistogram m_latency;
};

long readRssKib(int pid);
double readCpuSeconds(int pid); // user + system time of a process, -1 when unknown
int64_t monotonicNs();
