#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include <functional>

class QTcpSocket;

// One HTTP/1.x request head, as parse() read it. The server never reads a body: every response
// closes the connection.
struct HttpRequest
{
    enum class Result {
        Ok,
        Incomplete, // the blank line that ends the head has not arrived
        Malformed, // 400
        TooLarge, // 431: the head passes HttpResponder::MaxHeadBytes
        UriTooLong, // 414
        BadVersion, // 505
    };

    Result result = Result::Incomplete;
    QByteArray method;
    QByteArray path; // the target without its query
    QByteArray query;
    int minorVersion = 1; // HTTP/1.minorVersion
    QList<QPair<QByteArray, QByteArray>> headers; // names in lower case, values trimmed

    // The value of the first header with this lower-case name, or a null array.
    QByteArray header(const QByteArray &lowerName) const;
};

// Serves the browser client and /api/status from memory. Only the files compiled into the
// library under :/client are ever served; nothing is read from the disk. The parsing and the
// answering are pure functions of their input, so that both can be tested and fuzzed without a
// socket.
class HttpResponder
{
public:
    static constexpr qsizetype MaxHeadBytes = 8 * 1024;
    static constexpr qsizetype MaxTargetBytes = 2 * 1024;
    static constexpr int MaxHeaders = 64;

    // What /api/status reports.
    struct Status
    {
        QString name;
        QString version;
        qint64 uptimeSeconds = 0;
        int connections = 0;
        int rooms = 0;
        bool passwordRequired = false;
    };
    using StatusSource = std::function<Status()>;

    struct Response
    {
        int status = 200;
        QByteArray reason;
        QList<QPair<QByteArray, QByteArray>> headers;
        QByteArray body;
        bool headOnly = false; // HEAD: the headers announce the body, which is not sent

        QByteArray header(const QByteArray &name) const;
        QByteArray toBytes() const;
    };

    // How a request for /ws stands as a WebSocket opening handshake (RFC 6455 section 4.2.1).
    enum class Upgrade {
        None, // asks for no WebSocket: 426 tells it to
        Valid, // for the WebSocket server
        BadVersion, // 426 naming version 13
        Malformed, // 400: no key or a bad one, no Connection: Upgrade, not GET over HTTP/1.1
    };
    static Upgrade checkUpgrade(const HttpRequest &request);

    explicit HttpResponder(StatusSource status = {});

    // The length of the head at the start of data, blank line included, or -1 while it is not
    // complete.
    static qsizetype headLength(const QByteArray &data);
    static HttpRequest parse(const QByteArray &head);
    Response respond(const HttpRequest &request) const;

    // Answers the request whose head socket has received (as parse() read it), then closes the
    // connection once the answer is written (or after writeTimeoutMs if the peer does not read
    // it).
    void serve(QTcpSocket *socket, const HttpRequest &request, int writeTimeoutMs = 10'000) const;
    // Answers with 503 whatever the connection asks: it is one more than the server takes now.
    static void refuseBusy(QTcpSocket *socket, int writeTimeoutMs = 10'000);

private:
    Response statusResponse() const;
    static void send(QTcpSocket *socket, const Response &response, int writeTimeoutMs);

    StatusSource m_status;
};
