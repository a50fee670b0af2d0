#include "loadgen.h"
#include "wsframe.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr size_t ReadChunk = 256 * 1024;
char g_readBuffer[ReadChunk];

double seconds(int64_t ns)
{
    return double(ns) / 1e9;
}

double cpuSeconds()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The value of a top-level string field of a JSON object, without unescaping (the fields read
// here never hold escapes). Nested objects are skipped: a "joined" carries messages of type
// "message" in its history. Good enough for frames from a known server; not a JSON parser.
bool stringField(std::string_view json, std::string_view key, std::string_view &value)
{
    const size_t n = json.size();
    auto skipString = [&](size_t i) {
        while (i < n && json[i] != '"')
            i += json[i] == '\\' ? 2 : 1;
        return i;
    };
    auto skipSpace = [&](size_t i) {
        while (i < n && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
            ++i;
        return i;
    };
    int depth = 0;
    size_t i = 0;
    while (i < n) {
        const char ch = json[i];
        if (ch == '"') {
            const size_t start = i + 1;
            i = skipString(start);
            if (i >= n)
                return false;
            const std::string_view token = json.substr(start, i - start);
            ++i;
            size_t next = skipSpace(i);
            if (depth != 1 || next >= n || json[next] != ':' || token != key)
                continue;
            next = skipSpace(next + 1);
            if (next >= n || json[next] != '"')
                return false;
            const size_t end = skipString(next + 1);
            if (end >= n)
                return false;
            value = json.substr(next + 1, end - next - 1);
            return true;
        }
        if (ch == '{' || ch == '[')
            ++depth;
        else if (ch == '}' || ch == ']')
            --depth;
        ++i;
    }
    return false;
}

bool parseNumber(std::string_view &text, uint64_t &value)
{
    size_t i = 0;
    value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        value = value * 10 + uint64_t(text[i] - '0');
        ++i;
    }
    if (i == 0)
        return false;
    text.remove_prefix(i);
    return true;
}

} // namespace

int64_t monotonicNs()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double readCpuSeconds(int pid)
{
    if (pid <= 0)
        return -1;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(stat, text);
    // The command name may hold spaces; the fields after it are counted from its closing ')'.
    const size_t close = text.rfind(')');
    if (close == std::string::npos)
        return -1;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int index = 3; fields >> field; ++index) {
        if (index == 14)
            utime = std::stoull(field);
        if (index == 15) {
            stime = std::stoull(field);
            break;
        }
    }
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

long readRssKib(int pid)
{
    if (pid <= 0)
        return -1;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

struct LoadGenerator::Connection
{
    int fd = -1;
    int index = 0;
    int room = 0;
    State state = State::Connecting;
    bool writeInterest = false;
    bool counted = false; // reached the target state or failed
    std::string in;
    std::string out;
    size_t outPos = 0;
    std::string fragment; // a text message split over continuation frames
    bool inFragment = false;
};

LoadGenerator::LoadGenerator(const Options &options)
    : m_options(options)
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_roomSize.assign(size_t(std::max(1, m_options.rooms)), 0);
    m_random ^= uint32_t(monotonicNs());
}

LoadGenerator::~LoadGenerator()
{
    for (auto &c : m_connections) {
        if (c && c->fd >= 0) {
            // A reset instead of TIME_WAIT, so that repeated runs do not run out of ports.
            linger hard {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
            close(c->fd);
        }
    }
    if (m_epoll >= 0)
        close(m_epoll);
}

void LoadGenerator::startConnection(int index)
{
    auto c = std::make_unique<Connection>();
    c->index = index;
    c->room = index % std::max(1, m_options.rooms);
    Connection &conn = *c;
    m_connections[size_t(index)] = std::move(c);
    ++m_started;

    conn.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (conn.fd < 0) {
        fail(conn, "socket");
        return;
    }
    int one = 1;
    setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(m_options.port));
    inet_pton(AF_INET, m_options.host.c_str(), &address.sin_addr);
    epoll_event event {};
    event.events = EPOLLOUT;
    event.data.u32 = uint32_t(index);
    conn.writeInterest = true;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, conn.fd, &event);
    if (connect(conn.fd, reinterpret_cast<sockaddr *>(&address), sizeof address) < 0
        && errno != EINPROGRESS)
        fail(conn, "connect");
}

void LoadGenerator::fail(Connection &c, const char *why)
{
    if (c.state == State::Closed)
        return;
    std::string reason = why;
    if (errno != 0 && reason.find(' ') == std::string::npos)
        reason += std::string(": ") + std::strerror(errno);
    ++m_failures[reason];
    if (c.state == State::Ready)
        --m_roomSize[size_t(c.room)];
    c.state = State::Closed;
    if (c.fd >= 0) {
        epoll_ctl(m_epoll, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
    }
    if (!c.counted) {
        c.counted = true;
        ++m_failed;
    } else if (m_setupDone) {
        ++m_closedAfterSetup;
    }
}

void LoadGenerator::setWriteInterest(Connection &c, bool on)
{
    if (c.writeInterest == on || c.fd < 0)
        return;
    c.writeInterest = on;
    epoll_event event {};
    event.events = uint32_t(EPOLLIN) | (on ? uint32_t(EPOLLOUT) : 0u);
    event.data.u32 = uint32_t(c.index);
    epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &event);
}

void LoadGenerator::flush(Connection &c)
{
    while (c.outPos < c.out.size()) {
        const ssize_t n
            = ::send(c.fd, c.out.data() + c.outPos, c.out.size() - c.outPos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                setWriteInterest(c, true);
                return;
            }
            if (errno == EINTR)
                continue;
            fail(c, "send");
            return;
        }
        c.outPos += size_t(n);
    }
    c.out.clear();
    c.outPos = 0;
    setWriteInterest(c, false);
}

void LoadGenerator::sendText(Connection &c, std::string_view text)
{
    if (m_options.transport == Transport::Tcp) {
        c.out.append(text);
        c.out += '\n';
    } else {
        m_random ^= m_random << 13;
        m_random ^= m_random >> 17;
        m_random ^= m_random << 5;
        WsFrame::appendClientFrame(c.out, WsFrame::Text, text, m_random);
    }
    if (c.state != State::Connecting)
        flush(c);
}

void LoadGenerator::sendControl(Connection &c, uint8_t opcode, std::string_view payload)
{
    WsFrame::appendClientFrame(c.out, WsFrame::Opcode(opcode), payload, m_random);
    flush(c);
}

void LoadGenerator::handleEvent(Connection &c, uint32_t events)
{
    if (c.state == State::Closed)
        return;
    if (c.state == State::Connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            onConnected(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        onReadable(c);
    if (c.state != State::Closed && (events & EPOLLOUT))
        flush(c);
}

void LoadGenerator::onConnected(Connection &c)
{
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
        errno = error;
        fail(c, "connect");
        return;
    }
    c.state = State::Upgrading;
    c.writeInterest = true; // forces the change below
    setWriteInterest(c, false);
    if (m_options.transport == Transport::WebSocket) {
        uint8_t key[16];
        for (auto &byte : key) {
            m_random ^= m_random << 13;
            m_random ^= m_random >> 17;
            m_random ^= m_random << 5;
            byte = uint8_t(m_random);
        }
        c.out = WsFrame::handshakeRequest(m_options.host, m_options.port, m_options.path,
                                          WsFrame::base64(key, sizeof key));
        flush(c);
    }
}

void LoadGenerator::onReadable(Connection &c)
{
    while (c.state != State::Closed) {
        const ssize_t n = ::read(c.fd, g_readBuffer, ReadChunk);
        if (n == 0) {
            errno = 0;
            fail(c, "closed by the server");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR)
                continue;
            fail(c, "read");
            return;
        }
        m_lastReceive = monotonicNs();
        if (c.in.empty()) {
            const size_t used = consume(c, g_readBuffer, size_t(n));
            if (c.state != State::Closed && used < size_t(n))
                c.in.assign(g_readBuffer + used, size_t(n) - used);
        } else {
            c.in.append(g_readBuffer, size_t(n));
            const size_t used = consume(c, c.in.data(), c.in.size());
            if (c.state != State::Closed)
                c.in.erase(0, used);
        }
        if (size_t(n) < ReadChunk)
            return;
    }
}

size_t LoadGenerator::consume(Connection &c, char *data, size_t size)
{
    size_t used = 0;
    if (c.state == State::Upgrading && m_options.transport == Transport::WebSocket) {
        used = consumeHandshake(c, data, size);
        if (c.state == State::Upgrading || c.state == State::Closed)
            return used;
    }
    if (m_options.transport == Transport::Tcp)
        return used + consumeLines(c, data + used, size - used);
    return used + consumeFrames(c, data + used, size - used);
}

size_t LoadGenerator::consumeHandshake(Connection &c, char *data, size_t size)
{
    const std::string_view view(data, size);
    const size_t end = view.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (size > 16384) {
            errno = 0;
            fail(c, "handshake response too long");
        }
        return 0;
    }
    if (view.rfind("HTTP/1.1 101", 0) != 0) {
        errno = 0;
        fail(c, "handshake refused");
        return 0;
    }
    if (m_options.mode == Mode::Burst || (m_options.mode == Mode::Idle && !m_options.hello)) {
        reachTarget(c);
    } else {
        c.state = State::Greeting;
        const std::string hello = "{\"type\":\"hello\",\"nick\":\"" + m_options.nickPrefix
            + std::to_string(c.index) + "\"}";
        sendText(c, hello);
    }
    return end + 4;
}

size_t LoadGenerator::consumeFrames(Connection &c, char *data, size_t size)
{
    size_t used = 0;
    while (c.state != State::Closed && used < size) {
        WsFrame::Frame frame;
        const long n = WsFrame::parse(data + used, size - used, frame);
        if (n == 0)
            break;
        if (n < 0) {
            errno = 0;
            fail(c, "invalid frame");
            break;
        }
        used += size_t(n);
        switch (frame.opcode) {
        case WsFrame::Text:
            if (frame.fin) {
                onText(c, frame.payload);
            } else {
                c.fragment.assign(frame.payload);
                c.inFragment = true;
            }
            break;
        case WsFrame::Continuation:
            if (!c.inFragment)
                break;
            c.fragment.append(frame.payload);
            if (frame.fin) {
                c.inFragment = false;
                const std::string whole = std::move(c.fragment);
                c.fragment.clear();
                onText(c, whole);
            }
            break;
        case WsFrame::Ping:
            sendControl(c, WsFrame::Pong, frame.payload);
            break;
        case WsFrame::Close: {
            std::string code = "closed by the server";
            if (frame.payload.size() >= 2) {
                const int value = (uint8_t(frame.payload[0]) << 8) | uint8_t(frame.payload[1]);
                code += " with " + std::to_string(value);
            }
            sendControl(c, WsFrame::Close, frame.payload.substr(0, 2));
            errno = 0;
            fail(c, code.c_str());
            break;
        }
        default:
            break;
        }
    }
    return used;
}

size_t LoadGenerator::consumeLines(Connection &c, char *data, size_t size)
{
    size_t used = 0;
    while (c.state != State::Closed && used < size) {
        const void *newline = std::memchr(data + used, '\n', size - used);
        if (!newline)
            break;
        const size_t end = size_t(static_cast<const char *>(newline) - data);
        onLine(c, std::string_view(data + used, end - used));
        used = end + 1;
    }
    return used;
}

void LoadGenerator::onLine(Connection &c, std::string_view line)
{
    if (!line.empty() && line[0] >= '0' && line[0] <= '9') {
        onDelivery(line);
        return;
    }
    if (line == "W" && c.state == State::Upgrading) {
        if (m_options.mode != Mode::Fanout) {
            reachTarget(c);
            return;
        }
        c.state = State::Joining;
        sendText(c, "J r" + std::to_string(c.room));
    } else if (line == "J" && c.state == State::Joining) {
        reachTarget(c);
    }
}

void LoadGenerator::onText(Connection &c, std::string_view text)
{
    std::string_view type;
    if (!stringField(text, "type", type))
        return;
    if (type == "message") {
        std::string_view body;
        if (stringField(text, "text", body))
            onDelivery(body);
        return;
    }
    if (type == "welcome" && c.state == State::Greeting) {
        if (m_options.mode != Mode::Fanout) {
            reachTarget(c);
            return;
        }
        c.state = State::Joining;
        sendText(c, "{\"type\":\"join\",\"room\":\"r" + std::to_string(c.room) + "\"}");
        return;
    }
    if (type == "joined" && c.state == State::Joining) {
        std::string_view room;
        if (stringField(text, "room", room) && room.size() > 1 && room[0] == 'r'
            && room.substr(1) == std::to_string(c.room))
            reachTarget(c);
        return;
    }
    if (type == "error") {
        std::string_view code;
        stringField(text, "code", code);
        ++m_errorFrames;
        ++m_errorCodes[std::string(code)];
        if (c.state == State::Greeting || c.state == State::Joining) {
            errno = 0;
            fail(c, ("refused: " + std::string(code)).c_str());
        }
    }
}

void LoadGenerator::onDelivery(std::string_view text)
{
    uint64_t sentNs = 0;
    uint64_t seq = 0;
    if (!parseNumber(text, sentNs) || text.empty() || text[0] != ' ')
        return;
    text.remove_prefix(1);
    if (!parseNumber(text, seq) || seq >= m_received.size())
        return;
    const int64_t now = monotonicNs();
    m_lastArrival = now;
    if (++m_received[seq] <= m_expected[seq])
        --m_outstanding;
    if (seq >= m_stepFirstSeq)
        m_latency.record(now - int64_t(sentNs));
}

void LoadGenerator::reachTarget(Connection &c)
{
    c.state = State::Ready;
    ++m_roomSize[size_t(c.room)];
    if (!c.counted) {
        c.counted = true;
        ++m_reached;
    }
}

void LoadGenerator::sendSay(Connection &c, uint64_t seq)
{
    char text[64];
    const int n = std::snprintf(text, sizeof text, "%lld %llu", (long long)monotonicNs(),
                                (unsigned long long)seq);
    std::string_view body(text, size_t(n));
    if (m_options.transport == Transport::Tcp) {
        c.out += "M ";
        sendText(c, body);
        return;
    }
    std::string frame;
    frame.reserve(96);
    frame += "{\"type\":\"say\",\"room\":\"r";
    frame += std::to_string(c.room);
    frame += "\",\"text\":\"";
    frame += body;
    frame += "\"}";
    sendText(c, frame);
}

void LoadGenerator::pollOnce(int timeoutMs)
{
    epoll_event events[512];
    const int n = epoll_wait(m_epoll, events, 512, timeoutMs);
    for (int i = 0; i < n; ++i) {
        auto &c = m_connections[events[i].data.u32];
        if (c)
            handleEvent(*c, events[i].events);
    }
}

template<typename Done> void LoadGenerator::loop(int64_t deadline, Done done)
{
    while (!done()) {
        const int64_t left = deadline - monotonicNs();
        if (left <= 0)
            return;
        pollOnce(int(std::min<int64_t>(left / 1'000'000 + 1, 50)));
    }
}

bool LoadGenerator::setUp(int count, int concurrency, double timeout)
{
    m_connections.resize(size_t(count));
    const int64_t deadline = monotonicNs() + int64_t(timeout * 1e9);
    while (m_reached + m_failed < count) {
        while (m_started < count && m_started - m_reached - m_failed < concurrency)
            startConnection(m_started);
        if (monotonicNs() >= deadline)
            return false;
        pollOnce(10);
    }
    m_setupDone = true;
    return m_failed == 0;
}

void LoadGenerator::settle(int quietMs, double maxSeconds)
{
    const int64_t deadline = monotonicNs() + int64_t(maxSeconds * 1e9);
    m_lastReceive = monotonicNs();
    loop(deadline, [&] { return monotonicNs() - m_lastReceive > int64_t(quietMs) * 1'000'000; });
}

long LoadGenerator::settleRss(double maxSeconds)
{
    // Memory is read once it stops moving, so deferred work on the server has taken place.
    long previous = readRssKib(m_options.serverPid);
    const int64_t deadline = monotonicNs() + int64_t(maxSeconds * 1e9);
    while (monotonicNs() < deadline) {
        loop(monotonicNs() + 300'000'000, [] { return false; });
        const long now = readRssKib(m_options.serverPid);
        if (std::labs(now - previous) <= std::max(64L, previous / 200))
            return now;
        previous = now;
    }
    return previous;
}

StepResult LoadGenerator::runStep(double rate, double secondsToRun)
{
    StepResult result;
    result.rate = rate;
    const auto total = uint64_t(std::max(1.0, std::round(rate * secondsToRun)));
    const uint64_t firstSeq = m_expected.size();
    m_stepFirstSeq = firstSeq;
    m_expected.resize(firstSeq + total, 0);
    m_received.resize(firstSeq + total, 0);
    m_latency.reset();
    const uint64_t errorsBefore = m_errorFrames;
    const int closedBefore = m_closedAfterSetup;

    double members = 0;
    for (int s : m_senders)
        members += m_roomSize[size_t(m_connections[size_t(s)]->room)];
    result.offeredDeliveries = m_senders.empty() ? 0 : rate * members / double(m_senders.size());

    LatencyHistogram lag;
    const double cpuStart = cpuSeconds();
    const double serverCpuStart = readCpuSeconds(m_options.serverPid);
    const int64_t start = monotonicNs();
    const double interval = 1e9 / rate;
    uint64_t k = 0;
    while (k < total) {
        int64_t now = monotonicNs();
        while (k < total) {
            const int64_t due = start + int64_t(double(k) * interval);
            if (due > now)
                break;
            Connection &sender = *m_connections[size_t(m_senders[k % m_senders.size()])];
            if (sender.state == State::Ready) {
                const uint64_t seq = firstSeq + k;
                m_expected[seq] = uint32_t(m_roomSize[size_t(sender.room)]);
                m_outstanding += m_expected[seq];
                result.expected += m_expected[seq];
                sendSay(sender, seq);
                ++result.sent;
                lag.record(now - due);
            }
            ++k;
            if ((k & 63) == 0)
                now = monotonicNs();
        }
        if (k >= total)
            break;
        const int64_t due = start + int64_t(double(k) * interval);
        // Rounded up: waking early would spin, and a send at most a millisecond late is fine.
        const int64_t wait = due - monotonicNs();
        pollOnce(wait > 0 ? int((wait + 999'999) / 1'000'000) : 0);
    }
    const int64_t sendEnd = monotonicNs();
    const double cpuSend = cpuSeconds() - cpuStart;

    // Everything sent should arrive within the latency limit; generous slack beyond that tells
    // a late message from a lost one.
    const auto drain = int64_t(std::max(3.0, 10 * m_options.p99LimitMs / 1000.0) * 1e9);
    loop(sendEnd + drain, [&] { return m_outstanding == 0; });
    const int64_t lastArrival = m_lastArrival;
    const double serverCpu = readCpuSeconds(m_options.serverPid) - serverCpuStart;

    for (uint64_t seq = firstSeq; seq < firstSeq + total; ++seq) {
        const uint32_t got = std::min(m_received[seq], m_expected[seq]);
        result.delivered += got;
        result.lost += m_expected[seq] - got;
        if (m_received[seq] > m_expected[seq])
            result.duplicates += m_received[seq] - m_expected[seq];
    }
    // The schedule's length, not the last send: the last message is due one interval before.
    const int64_t scheduleEnd = start + int64_t(double(total) * interval);
    const double span = seconds(std::max({lastArrival, sendEnd, scheduleEnd}) - start);
    result.deliveredPerSecond = span > 0 ? double(result.delivered) / span : 0;
    result.p50 = m_latency.percentileMs(0.50);
    result.p99 = m_latency.percentileMs(0.99);
    result.p999 = m_latency.percentileMs(0.999);
    result.max = m_latency.maxMs();
    result.errors = m_errorFrames - errorsBefore;
    result.closed = m_closedAfterSetup - closedBefore;
    result.generatorCpu = cpuSend / seconds(sendEnd - start);
    result.lagP99 = lag.percentileMs(0.99);
    if (serverCpuStart >= 0 && result.delivered > 0) {
        result.serverCpu = serverCpu / span;
        result.serverUsPerDelivery = serverCpu * 1e6 / double(result.delivered);
    }
    result.generatorLimited = result.generatorCpu > 0.9 || result.lagP99 > 5.0;
    result.ok = result.lost == 0 && result.p99 < m_options.p99LimitMs && result.errors == 0
        && result.closed == 0 && result.sent == total;

    // Whatever is still queued belongs to this step; let it arrive before the next one starts.
    if (m_outstanding > 0)
        settle(500, 15.0);
    m_outstanding = 0;
    return result;
}

void LoadGenerator::printStep(const char *kind, const StepResult &r) const
{
    std::printf("  %-6s %9.1f msg/s  offered %10.0f/s  delivered %10.0f/s  lost %llu  "
                "p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms  errors %llu  gen cpu %.0f%% "
                "lag p99 %.2f ms  server cpu %.0f%% %.2f us/delivery%s  %s\n",
                kind, r.rate, r.offeredDeliveries, r.deliveredPerSecond, (unsigned long long)r.lost,
                r.p50, r.p99, r.p999, r.max, (unsigned long long)r.errors, r.generatorCpu * 100,
                r.lagP99, r.serverCpu * 100, r.serverUsPerDelivery,
                r.generatorCpu > 0.9     ? "  GENERATOR-SATURATED"
                    : r.generatorLimited ? "  GENERATOR-BEHIND-SCHEDULE"
                                         : "",
                r.ok ? "ok" : "FAIL");
    std::printf("RESULT mode=step kind=%s rate=%.2f offered_dps=%.0f delivered_dps=%.0f sent=%llu "
                "expected=%llu delivered=%llu lost=%llu duplicates=%llu p50_ms=%.3f p99_ms=%.3f "
                "p999_ms=%.3f max_ms=%.3f errors=%llu closed=%d gen_cpu=%.2f lag_p99_ms=%.3f "
                "server_cpu=%.2f server_us_per_delivery=%.3f gen_limited=%d ok=%d\n",
                kind, r.rate, r.offeredDeliveries, r.deliveredPerSecond, (unsigned long long)r.sent,
                (unsigned long long)r.expected, (unsigned long long)r.delivered,
                (unsigned long long)r.lost, (unsigned long long)r.duplicates, r.p50, r.p99, r.p999,
                r.max, (unsigned long long)r.errors, r.closed, r.generatorCpu, r.lagP99,
                r.serverCpu, r.serverUsPerDelivery, r.generatorLimited ? 1 : 0, r.ok ? 1 : 0);
    std::fflush(stdout);
}

int LoadGenerator::run()
{
    switch (m_options.mode) {
    case Mode::Idle:
        return runIdle();
    case Mode::Burst:
        return runBurst();
    case Mode::Fanout:
        return runFanout();
    }
    return 2;
}

int LoadGenerator::runIdle()
{
    const long before = readRssKib(m_options.serverPid);
    const int64_t start = monotonicNs();
    setUp(m_options.clients, m_options.concurrency, m_options.setupTimeout);
    const double setupSeconds = seconds(monotonicNs() - start);
    const long after = settleRss(10.0);
    const double perConnection
        = m_reached > 0 && before > 0 ? double(after - before) * 1024.0 / m_reached : 0;
    std::printf("idle: %d of %d connections open%s in %.2f s; server RSS %ld -> %ld KiB, "
                "%.0f bytes per connection\n",
                m_reached, m_options.clients, m_options.hello ? " (after hello)" : "", setupSeconds,
                before, after, perConnection);
    for (const auto &[why, count] : m_failures)
        std::printf("  %d failed: %s\n", count, why.c_str());
    std::printf("RESULT mode=idle clients=%d open=%d failed=%d setup_s=%.3f rss_before_kib=%ld "
                "rss_after_kib=%ld per_conn_bytes=%.0f\n",
                m_options.clients, m_reached, m_failed, setupSeconds, before, after, perConnection);
    std::fflush(stdout);
    if (m_options.holdSeconds > 0)
        loop(monotonicNs() + int64_t(m_options.holdSeconds * 1e9), [] { return false; });
    return m_reached == m_options.clients ? 0 : 1;
}

int LoadGenerator::runBurst()
{
    const int64_t start = monotonicNs();
    setUp(m_options.clients, m_options.concurrency, m_options.setupTimeout);
    const double elapsed = seconds(monotonicNs() - start);
    const double perSecond = elapsed > 0 ? m_reached / elapsed : 0;
    const double cpu = cpuSeconds() / elapsed;
    std::printf("burst: %d of %d WebSocket handshakes done in %.3f s: %.0f connections/s "
                "(at most %d in flight; generator cpu %.0f%%)\n",
                m_reached, m_options.clients, elapsed, perSecond, m_options.concurrency, cpu * 100);
    for (const auto &[why, count] : m_failures)
        std::printf("  %d failed: %s\n", count, why.c_str());
    std::printf("RESULT mode=burst clients=%d open=%d failed=%d seconds=%.3f per_second=%.0f "
                "gen_cpu=%.2f gen_limited=%d\n",
                m_options.clients, m_reached, m_failed, elapsed, perSecond, cpu, cpu > 0.9 ? 1 : 0);
    std::fflush(stdout);
    return m_reached == m_options.clients ? 0 : 1;
}

int LoadGenerator::runFanout()
{
    const long before = readRssKib(m_options.serverPid);
    const int64_t start = monotonicNs();
    const bool complete = setUp(m_options.clients, m_options.concurrency, m_options.setupTimeout);
    const double setupSeconds = seconds(monotonicNs() - start);
    // Presence events from the joins may still be on their way; they are not part of a step.
    settle(300, 30.0);
    const long after = settleRss(5.0);
    const double perClient
        = m_reached > 0 && before > 0 ? double(after - before) * 1024.0 / m_reached : 0;
    std::printf("setup: %d of %d clients in %d rooms ready in %.2f s; server RSS %ld -> %ld KiB, "
                "%.0f bytes per client\n",
                m_reached, m_options.clients, m_options.rooms, setupSeconds, before, after,
                perClient);
    for (const auto &[why, count] : m_failures)
        std::printf("  %d failed: %s\n", count, why.c_str());
    std::printf("RESULT mode=setup clients=%d rooms=%d ready=%d failed=%d setup_s=%.3f "
                "rss_before_kib=%ld rss_after_kib=%ld per_client_bytes=%.0f\n",
                m_options.clients, m_options.rooms, m_reached, m_failed, setupSeconds, before,
                after, perClient);
    std::fflush(stdout);
    if (!complete || m_reached == 0)
        return 1;

    int senders = m_options.senders > 0 ? m_options.senders : std::max(m_options.rooms, 10);
    senders = std::min(senders, m_options.clients);
    for (int i = 0; i < senders; ++i)
        m_senders.push_back(i);
    const double membersPerRoom = double(m_options.clients) / std::max(1, m_options.rooms);

    double best = 0;
    StepResult bestStep;
    bool bestCapped = false; // the step above the best failed because of the generator
    bool aborted = false;
    if (m_options.search) {
        const int64_t searchEnd = monotonicNs() + int64_t(m_options.searchBudget * 1e9);
        double rate = m_options.searchStart > 0 ? m_options.searchStart
                                                : std::max(1.0, 20000.0 / membersPerRoom);
        double low = 0;
        double high = 0;
        for (int step = 0; step < m_options.maxSteps; ++step) {
            const double needed = m_options.stepSeconds + 1.0;
            if (step > 0 && seconds(searchEnd - monotonicNs()) < needed)
                break;
            StepResult result = runStep(rate, m_options.stepSeconds);
            printStep("search", result);
            if (result.closed > 0) {
                aborted = true;
                break;
            }
            // Anything else on the machine can only make a step worse, never better, so a failed
            // step gets a second chance before it bounds the search.
            if (!result.ok && seconds(searchEnd - monotonicNs()) >= needed) {
                result = runStep(rate, m_options.stepSeconds);
                printStep("retry", result);
                if (result.closed > 0) {
                    aborted = true;
                    break;
                }
            }
            if (result.ok) {
                low = rate;
                best = rate;
                bestStep = result;
                bestCapped = false;
                rate = high > 0 ? (low + high) / 2 : rate * 2;
            } else {
                high = rate;
                bestCapped = result.generatorLimited;
                rate = low > 0 ? (low + high) / 2 : rate / 4;
            }
            if (low > 0 && high > 0 && high / low < 1.12)
                break;
            if (rate < 0.5)
                break;
        }
        // A search that never failed only found a lower bound.
        const bool lowerBound = high == 0 && best > 0;
        std::printf("search: best %.1f msg/s = %.0f deliveries/s with p99 < %.0f ms and nothing "
                    "lost%s%s%s\n",
                    best, bestStep.deliveredPerSecond, m_options.p99LimitMs,
                    lowerBound ? " (no failing rate found within the time budget)" : "",
                    bestCapped ? " (the next step was limited by the load generator)" : "",
                    aborted ? " (stopped: connections were closed)" : "");
        std::printf("RESULT mode=search best_rate=%.2f best_dps=%.0f offered_dps=%.0f "
                    "p99_ms=%.3f gen_limited=%d lower_bound=%d aborted=%d\n",
                    best, bestStep.deliveredPerSecond, bestStep.offeredDeliveries, bestStep.p99,
                    bestCapped ? 1 : 0, lowerBound ? 1 : 0, aborted ? 1 : 0);
        std::fflush(stdout);
    }

    std::vector<double> fixed = m_options.fixedRates;
    if (m_options.fixedFraction > 0 && best > 0)
        fixed.push_back(best * m_options.fixedFraction);
    for (double rate : fixed) {
        if (aborted || rate <= 0)
            continue;
        const StepResult result = runStep(rate, m_options.fixedSeconds);
        printStep("fixed", result);
        if (result.closed > 0)
            aborted = true;
    }
    if (!m_errorCodes.empty()) {
        std::printf("error frames from the server:");
        for (const auto &[code, count] : m_errorCodes)
            std::printf(" %s=%llu", code.c_str(), (unsigned long long)count);
        std::printf("\n");
    }
    return aborted ? 1 : 0;
}
