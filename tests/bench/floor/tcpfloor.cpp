// The floor for the fan-out benchmark: a single-threaded epoll server that relays lines to every
// connection in a room, with no framing, no JSON and no per-message allocation beyond the
// output buffers. No WebSocket server doing real work can deliver faster on the same machine.
//
// Protocol, one line each way:
//   server -> client  "W"            on accept
//   client -> server  "J <room>"     join a room (one room per connection); answered "J"
//   client -> server  "M <payload>"  relayed as "<payload>" to every member of the room
//
//   lanchat-tcpfloor --port 9003 [--host 127.0.0.1]     (port 0: the system chooses)

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

struct Client
{
    int fd = -1;
    std::string room;
    std::string in;
    std::string out;
    size_t outPos = 0;
    bool writeInterest = false;
};

class FloorServer
{
public:
    bool listenOn(const char *host, int port)
    {
        m_epoll = epoll_create1(EPOLL_CLOEXEC);
        m_listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(m_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in address {};
        address.sin_family = AF_INET;
        address.sin_port = htons(uint16_t(port));
        inet_pton(AF_INET, host, &address.sin_addr);
        if (bind(m_listener, reinterpret_cast<sockaddr *>(&address), sizeof address) < 0
            || listen(m_listener, 1024) < 0) {
            std::perror("lanchat-tcpfloor: listen");
            return false;
        }
        epoll_event event {};
        event.events = EPOLLIN;
        event.data.fd = m_listener;
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listener, &event);
        socklen_t length = sizeof address;
        getsockname(m_listener, reinterpret_cast<sockaddr *>(&address), &length);
        m_port = ntohs(address.sin_port);
        return true;
    }

    int port() const { return m_port; }

    void run()
    {
        epoll_event events[512];
        while (true) {
            const int n = epoll_wait(m_epoll, events, 512, -1);
            for (int i = 0; i < n; ++i) {
                const int fd = events[i].data.fd;
                if (fd == m_listener) {
                    acceptAll();
                    continue;
                }
                auto found = m_clients.find(fd);
                if (found == m_clients.end())
                    continue;
                Client &client = *found->second;
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    readFrom(client);
                if (m_clients.count(fd) && (events[i].events & EPOLLOUT))
                    flush(client);
            }
            // One write per connection for everything relayed in this round, not one per line.
            flushDirty();
        }
    }

private:
    void acceptAll()
    {
        while (true) {
            const int fd = accept4(m_listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return;
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto client = std::make_unique<Client>();
            client->fd = fd;
            epoll_event event {};
            event.events = EPOLLIN;
            event.data.fd = fd;
            epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event);
            Client &ref = *client;
            m_clients.emplace(fd, std::move(client));
            ref.out = "W\n";
            flush(ref);
        }
    }

    void readFrom(Client &client)
    {
        char buffer[65536];
        while (true) {
            const ssize_t n = read(client.fd, buffer, sizeof buffer);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                drop(client);
                return;
            }
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return;
            }
            client.in.append(buffer, size_t(n));
            size_t used = 0;
            while (true) {
                const size_t end = client.in.find('\n', used);
                if (end == std::string::npos)
                    break;
                onLine(client, std::string_view(client.in).substr(used, end - used));
                used = end + 1;
            }
            client.in.erase(0, used);
            if (size_t(n) < sizeof buffer)
                return;
        }
    }

    void onLine(Client &client, std::string_view line)
    {
        if (line.size() > 2 && line[0] == 'J' && line[1] == ' ') {
            leaveRoom(client);
            client.room = std::string(line.substr(2));
            m_rooms[client.room].push_back(&client);
            client.out += "J\n";
            flush(client);
        } else if (line.size() > 2 && line[0] == 'M' && line[1] == ' ' && !client.room.empty()) {
            const std::string_view payload = line.substr(2);
            const std::vector<Client *> &members = m_rooms[client.room];
            for (Client *member : members) {
                if (member->out.empty())
                    m_dirty.push_back(member->fd);
                member->out.append(payload);
                member->out += '\n';
            }
        }
    }

    void flushDirty()
    {
        for (int fd : m_dirty) {
            auto found = m_clients.find(fd);
            if (found != m_clients.end())
                flush(*found->second);
        }
        m_dirty.clear();
    }

    void flush(Client &client)
    {
        while (client.outPos < client.out.size()) {
            const ssize_t n = send(client.fd, client.out.data() + client.outPos,
                                   client.out.size() - client.outPos, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    setWriteInterest(client, true);
                    return;
                }
                drop(client);
                return;
            }
            client.outPos += size_t(n);
        }
        client.out.clear();
        client.outPos = 0;
        setWriteInterest(client, false);
    }

    void setWriteInterest(Client &client, bool on)
    {
        if (client.writeInterest == on)
            return;
        client.writeInterest = on;
        epoll_event event {};
        event.events = uint32_t(EPOLLIN) | (on ? uint32_t(EPOLLOUT) : 0u);
        event.data.fd = client.fd;
        epoll_ctl(m_epoll, EPOLL_CTL_MOD, client.fd, &event);
    }

    void leaveRoom(Client &client)
    {
        if (client.room.empty())
            return;
        auto &members = m_rooms[client.room];
        for (size_t i = 0; i < members.size(); ++i) {
            if (members[i] == &client) {
                members[i] = members.back();
                members.pop_back();
                break;
            }
        }
        client.room.clear();
    }

    void drop(Client &client)
    {
        const int fd = client.fd;
        leaveRoom(client);
        epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        m_clients.erase(fd);
    }

    int m_epoll = -1;
    int m_listener = -1;
    int m_port = 0;
    std::unordered_map<int, std::unique_ptr<Client>> m_clients;
    std::unordered_map<std::string, std::vector<Client *>> m_rooms;
    std::vector<int> m_dirty;
};

} // namespace

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--port") == 0)
            port = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
    }
    if (port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: lanchat-tcpfloor --port PORT [--host ADDR]\n");
        return 2;
    }
    rlimit files {};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    std::signal(SIGPIPE, SIG_IGN);
    FloorServer server;
    if (!server.listenOn(host, port))
        return 1;
    std::printf("tcpfloor listening on %s:%d\n", host, server.port());
    std::fflush(stdout);
    server.run();
}
