#include "loadgen.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/resource.h>

namespace {

const char Usage[] = R"(usage: lanchat-load --port PORT [options]

Opens many client connections to a chat server and measures it. Modes:
  --mode idle     open --clients connections (with hello unless --no-hello) and report the
                  server's resident memory per connection (needs --server-pid)
  --mode burst    open --clients WebSocket connections as fast as the server accepts them
  --mode fanout   (default) --clients clients join --rooms rooms; senders post say messages
                  at a fixed open-loop rate; every client measures the latency of every message

Options:
  --host ADDR            IPv4 address (127.0.0.1)
  --port PORT            server port (required)
  --path PATH            WebSocket path (/ws)
  --tcp                  speak the newline protocol of the TCP fan-out floor instead
  --clients N            connections (100)
  --rooms R              rooms, clients spread round-robin (1)
  --senders S            clients that send (max(rooms, 10))
  --no-hello             idle mode: stop after the WebSocket handshake
  --concurrency C        connections being set up at once (256)
  --setup-timeout S      seconds allowed to open every connection (120)
  --hold S               idle mode: keep the connections open S seconds afterwards
  --server-pid PID       read the server's VmRSS from /proc/PID/status
  --nick-prefix P        nicknames are P0, P1, ... (u)
  --search               find the highest rate with p99 below the limit and nothing lost
  --search-start R       first rate tried, messages/s (20,000 deliveries/s)
  --search-budget S      seconds the search may take (60)
  --max-steps N          steps the search may take (16)
  --step S               seconds per search step (3)
  --p99-limit MS         latency limit for the search (100)
  --rate R[,R...]        run fixed-rate steps at these message rates (after any search)
  --fixed-fraction F     after the search, one fixed step at F times the best rate
  --fixed-seconds S      seconds per fixed step (5)

Every figure is also printed on a line starting with RESULT, as key=value pairs.
)";

bool parseRates(const char *text, std::vector<double> &rates)
{
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        char *end = nullptr;
        const double rate = std::strtod(item.c_str(), &end);
        if (end == item.c_str() || rate <= 0)
            return false;
        rates.push_back(rate);
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : nullptr;
        auto needValue = [&]() -> const char * {
            if (!value) {
                std::fprintf(stderr, "lanchat-load: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            ++i;
            return value;
        };
        if (arg == "--help" || arg == "-h") {
            std::fputs(Usage, stdout);
            return 0;
        } else if (arg == "--mode") {
            const std::string mode = needValue();
            if (mode == "idle")
                options.mode = Mode::Idle;
            else if (mode == "burst")
                options.mode = Mode::Burst;
            else if (mode == "fanout")
                options.mode = Mode::Fanout;
            else {
                std::fprintf(stderr, "lanchat-load: unknown mode %s\n", mode.c_str());
                return 2;
            }
        } else if (arg == "--host") {
            options.host = needValue();
        } else if (arg == "--port") {
            options.port = std::atoi(needValue());
        } else if (arg == "--path") {
            options.path = needValue();
        } else if (arg == "--tcp") {
            options.transport = Transport::Tcp;
        } else if (arg == "--clients") {
            options.clients = std::atoi(needValue());
        } else if (arg == "--rooms") {
            options.rooms = std::atoi(needValue());
        } else if (arg == "--senders") {
            options.senders = std::atoi(needValue());
        } else if (arg == "--no-hello") {
            options.hello = false;
        } else if (arg == "--concurrency") {
            options.concurrency = std::atoi(needValue());
        } else if (arg == "--setup-timeout") {
            options.setupTimeout = std::atof(needValue());
        } else if (arg == "--hold") {
            options.holdSeconds = std::atof(needValue());
        } else if (arg == "--server-pid") {
            options.serverPid = std::atoi(needValue());
        } else if (arg == "--nick-prefix") {
            options.nickPrefix = needValue();
        } else if (arg == "--search") {
            options.search = true;
        } else if (arg == "--search-start") {
            options.searchStart = std::atof(needValue());
        } else if (arg == "--search-budget") {
            options.searchBudget = std::atof(needValue());
        } else if (arg == "--max-steps") {
            options.maxSteps = std::atoi(needValue());
        } else if (arg == "--step") {
            options.stepSeconds = std::atof(needValue());
        } else if (arg == "--p99-limit") {
            options.p99LimitMs = std::atof(needValue());
        } else if (arg == "--rate") {
            if (!parseRates(needValue(), options.fixedRates)) {
                std::fprintf(stderr, "lanchat-load: --rate takes positive numbers\n");
                return 2;
            }
        } else if (arg == "--fixed-fraction") {
            options.fixedFraction = std::atof(needValue());
        } else if (arg == "--fixed-seconds") {
            options.fixedSeconds = std::atof(needValue());
        } else {
            std::fprintf(stderr, "lanchat-load: unknown option %s\n%s", arg.c_str(), Usage);
            return 2;
        }
    }
    if (options.port <= 0 || options.port > 65535 || options.clients <= 0 || options.rooms <= 0
        || options.concurrency <= 0 || options.stepSeconds <= 0) {
        std::fprintf(stderr, "%s", Usage);
        return 2;
    }

    // Every connection is a file descriptor; take whatever the hard limit allows.
    rlimit files {};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    signal(SIGPIPE, SIG_IGN);

    LoadGenerator generator(options);
    return generator.run();
}
