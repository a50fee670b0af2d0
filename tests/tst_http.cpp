#include "chatserver.h"
#include "connectionmanager.h"
#include "httpresponder.h"
#include "testclient.h"
#include "testdispatcher.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTest>

#include <memory>
#include <vector>

using namespace Qt::StringLiterals;

char *toString(HttpRequest::Result result)
{
    switch (result) {
    case HttpRequest::Result::Ok:
        return qstrdup("Ok");
    case HttpRequest::Result::Incomplete:
        return qstrdup("Incomplete");
    case HttpRequest::Result::Malformed:
        return qstrdup("Malformed");
    case HttpRequest::Result::TooLarge:
        return qstrdup("TooLarge");
    case HttpRequest::Result::UriTooLong:
        return qstrdup("UriTooLong");
    case HttpRequest::Result::BadVersion:
        return qstrdup("BadVersion");
    }
    return qstrdup("?");
}

namespace {

// One answer as it came off the wire.
struct Reply
{
    bool complete = false; // the server closed the connection after answering
    int status = 0;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    QByteArray raw;

    QByteArray header(const QByteArray &name) const
    {
        for (const auto &field : headers) {
            if (field.first.compare(name, Qt::CaseInsensitive) == 0)
                return field.second;
        }
        return {};
    }
};

Reply parseReply(const QByteArray &raw)
{
    Reply reply;
    reply.raw = raw;
    const qsizetype end = raw.indexOf("\r\n\r\n");
    if (end < 0)
        return reply;
    const QList<QByteArray> lines = raw.left(end).split('\n');
    const QList<QByteArray> statusLine = lines.first().trimmed().split(' ');
    if (statusLine.size() >= 2 && statusLine.first() == "HTTP/1.1")
        reply.status = statusLine.at(1).toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            reply.headers.append({line.left(colon), line.mid(colon + 1).trimmed()});
    }
    reply.body = raw.mid(end + 4);
    return reply;
}

// A connection to the server under test that collects everything it receives.
class HttpClient
{
public:
    explicit HttpClient(quint16 port)
    {
        QObject::connect(&m_socket, &QTcpSocket::readyRead, &m_socket,
                         [this] { m_received += m_socket.readAll(); });
        QObject::connect(&m_socket, &QTcpSocket::disconnected, &m_socket,
                         [this] { m_closed = true; });
        m_socket.connectToHost(QHostAddress::LocalHost, port);
    }

    void send(const QByteArray &bytes) { m_socket.write(bytes); }
    bool isConnected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }
    bool isClosed() const { return m_closed; }
    QTcpSocket &socket() { return m_socket; }

    Reply reply() const
    {
        Reply reply = parseReply(m_received);
        reply.complete = m_closed;
        return reply;
    }

private:
    QTcpSocket m_socket;
    QByteArray m_received;
    bool m_closed = false;
};

QByteArray resource(const QString &name)
{
    QFile file(u":/client/"_s + name);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QByteArray get(const QByteArray &target, const QByteArray &method = "GET")
{
    return method + ' ' + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: tst_http\r\n\r\n";
}

} // namespace

class tst_Http : public QObject
{
    Q_OBJECT

public:
    static void initMain() { TestDispatcher::installRequested(); }

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void parse_data();
    void parse();
    void parseSurvivesMutations();

    void servesEmbeddedFile_data();
    void servesEmbeddedFile();
    void headHasNoBody_data();
    void headHasNoBody();
    void revalidatesWithEtag();
    void status();
    void unknownPathIsNotFound_data();
    void unknownPathIsNotFound();
    void otherMethodIsNotAllowed_data();
    void otherMethodIsNotAllowed();
    void badRequest_data();
    void badRequest();
    void badUpgrade_data();
    void badUpgrade();
    void goodUpgradeStillOpens();
    void plainWebSocketsNeedNoTls();
    void oversizedHead();
    void lineFeedsOnlyAreRefused();
    void unfinishedRequestIsDropped();
    void unfinishedRequestsPerAddressAreCapped();
    void requestInPieces();
    void manyAtOnce();

private:
    Reply fetch(const QByteArray &request);

    std::unique_ptr<ChatServer> m_server;
    static constexpr int HeadTimeoutMs = 400;
};

void tst_Http::initTestCase()
{
    QVERIFY(TestDispatcher::requestedIsRunning());
}

void tst_Http::init()
{
    ServerConfig config;
    config.name = u"Test <LAN> \"chat\""_s;
    config.handshakeTimeoutMs = HeadTimeoutMs;
    m_server = std::make_unique<ChatServer>(config);
    QVERIFY2(m_server->listen(QHostAddress::LocalHost, 0), qPrintable(m_server->errorString()));
}

void tst_Http::cleanup()
{
    m_server.reset();
}

Reply tst_Http::fetch(const QByteArray &request)
{
    HttpClient client(m_server->port());
    client.send(request);
    (void)QTest::qWaitFor([&] { return client.isClosed(); }, 5000);
    return client.reply();
}

void tst_Http::parse_data()
{
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<HttpRequest::Result>("result");
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");

    using R = HttpRequest::Result;
    const QByteArray host = "Host: lan\r\n";

    QTest::newRow("simple get") << QByteArray("GET / HTTP/1.1\r\n" + host + "\r\n") << R::Ok
                                << QByteArray("GET") << QByteArray("/");
    QTest::newRow("query is split off")
        << QByteArray("GET /app.js?v=2 HTTP/1.1\r\n" + host + "\r\n") << R::Ok << QByteArray("GET")
        << QByteArray("/app.js");
    QTest::newRow("http/1.0 needs no host")
        << QByteArray("HEAD / HTTP/1.0\r\n\r\n") << R::Ok << QByteArray("HEAD") << QByteArray("/");
    QTest::newRow("http/1.2 reads as 1.1") << QByteArray("GET / HTTP/1.2\r\n" + host + "\r\n")
                                           << R::Ok << QByteArray("GET") << QByteArray("/");
    QTest::newRow("spaces around value")
        << QByteArray("GET / HTTP/1.1\r\nHost:   lan  \r\nAccept:\t*/*\r\n\r\n") << R::Ok
        << QByteArray("GET") << QByteArray("/");
    QTest::newRow("not finished") << QByteArray("GET / HTTP/1.1\r\n" + host) << R::Incomplete
                                  << QByteArray() << QByteArray();
    QTest::newRow("nothing") << QByteArray() << R::Incomplete << QByteArray() << QByteArray();
    QTest::newRow("only the blank line")
        << QByteArray("\r\n\r\n") << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("http/1.1 without host")
        << QByteArray("GET / HTTP/1.1\r\n\r\n") << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("two hosts") << QByteArray("GET / HTTP/1.1\r\n" + host + host + "\r\n")
                               << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("lone line feed") << QByteArray("GET / HTTP/1.1\nHost: lan\r\n\r\n")
                                    << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("line feeds only") << QByteArray("GET / HTTP/1.1\nHost: lan\n\n") << R::Malformed
                                     << QByteArray() << QByteArray();
    QTest::newRow("lone carriage return, unfinished")
        << QByteArray("GET / HTTP/1.1\rHost: lan") << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("carriage return awaiting its line feed")
        << QByteArray("GET / HTTP/1.1\r\n" + host + "\r") << R::Incomplete << QByteArray()
        << QByteArray();
    QTest::newRow("folded header")
        << QByteArray("GET / HTTP/1.1\r\n" + host + "X-A: 1\r\n  2\r\n\r\n") << R::Malformed
        << QByteArray() << QByteArray();
    QTest::newRow("space before colon") << QByteArray("GET / HTTP/1.1\r\nHost : lan\r\n\r\n")
                                        << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("control byte in value")
        << QByteArray("GET / HTTP/1.1\r\n" + host + QByteArray("X-A: a\0b\r\n\r\n", 13))
        << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("method with a slash") << QByteArray("G/ET / HTTP/1.1\r\n" + host + "\r\n")
                                         << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("absolute target") << QByteArray("GET http://lan/ HTTP/1.1\r\n" + host + "\r\n")
                                     << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("space in target") << QByteArray("GET /a b HTTP/1.1\r\n" + host + "\r\n")
                                     << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("no version") << QByteArray("GET /\r\n" + host + "\r\n") << R::Malformed
                                << QByteArray() << QByteArray();
    QTest::newRow("http/2") << QByteArray("GET / HTTP/2.0\r\n" + host + "\r\n") << R::BadVersion
                            << QByteArray() << QByteArray();
    QTest::newRow("length and chunked") << QByteArray(
        "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                                        << R::Malformed << QByteArray() << QByteArray();
    QTest::newRow("target too long") << QByteArray(
        "GET /" + QByteArray(HttpResponder::MaxTargetBytes, 'a') + " HTTP/1.1\r\n" + host + "\r\n")
                                     << R::UriTooLong << QByteArray() << QByteArray();
    QTest::newRow("too many headers")
        << QByteArray("GET / HTTP/1.1\r\n" + host + QByteArray("X: y\r\n").repeated(100) + "\r\n")
        << R::TooLarge << QByteArray() << QByteArray();
    QTest::newRow("head too long")
        << QByteArray("GET / HTTP/1.1\r\n" + host
                      + "X: " + QByteArray(HttpResponder::MaxHeadBytes, 'a') + "\r\n\r\n")
        << R::TooLarge << QByteArray() << QByteArray();
    QTest::newRow("too long and unfinished")
        << QByteArray("GET / HTTP/1.1\r\nX: " + QByteArray(HttpResponder::MaxHeadBytes, 'a'))
        << R::TooLarge << QByteArray() << QByteArray();
}

void tst_Http::parse()
{
    QFETCH(QByteArray, head);
    QFETCH(HttpRequest::Result, result);
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);

    const HttpRequest request = HttpResponder::parse(head);
    QCOMPARE(request.result, result);
    if (result == HttpRequest::Result::Ok) {
        QCOMPARE(request.method, method);
        QCOMPARE(request.path, path);
    }
}

// Random damage to a valid head must give an answer, never a crash or an unbounded one: the
// parser and the responder take whatever bytes a peer sends.
void tst_Http::parseSurvivesMutations()
{
    const QByteArray seed
        = "GET /app.js?x=1 HTTP/1.1\r\nHost: lan\r\nIf-None-Match: \"a\", W/\"b\"\r\n"
          "Accept: text/html\r\n\r\n";
    const char alphabet[] = {'\r', '\n', ' ', ':', '/', '\0', '\t', 'G', '?', '"', ',', '\x7f'};
    QRandomGenerator random(20261203);
    const HttpResponder responder;
    int ok = 0;

    for (int round = 0; round < 20'000; ++round) {
        QByteArray head = seed;
        const int edits = 1 + int(random.bounded(6));
        for (int i = 0; i < edits; ++i) {
            const int at = int(random.bounded(int(head.size())));
            switch (random.bounded(4)) {
            case 0:
                head[at] = alphabet[random.bounded(int(sizeof alphabet))];
                break;
            case 1:
                head.remove(at, 1 + int(random.bounded(4)));
                break;
            case 2:
                head.insert(at, char(random.bounded(256)));
                break;
            default:
                head.insert(at, head.mid(at, 1 + int(random.bounded(8))));
                break;
            }
        }

        const HttpRequest request = HttpResponder::parse(head);
        if (request.result == HttpRequest::Result::Ok)
            ++ok;
        const HttpResponder::Response response = responder.respond(request);
        const QByteArray bytes = response.toBytes();
        QVERIFY2(bytes.startsWith("HTTP/1.1 "), head.toPercentEncoding().constData());
        QVERIFY(response.status >= 200 && response.status < 600);
        QVERIFY(bytes.size() < 64 * 1024);
        if (request.result != HttpRequest::Result::Ok)
            QVERIFY(response.status >= 400);
    }
    // Some mutations leave the head valid; a parser that refused everything would also pass
    // the checks above.
    QVERIFY(ok > 100);
}

void tst_Http::servesEmbeddedFile_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("contentType");

    QTest::newRow("root") << QByteArray("/") << u"index.html"_s
                          << QByteArray("text/html; charset=utf-8");
    QTest::newRow("index.html") << QByteArray("/index.html") << u"index.html"_s
                                << QByteArray("text/html; charset=utf-8");
    QTest::newRow("style") << QByteArray("/app.css") << u"app.css"_s
                           << QByteArray("text/css; charset=utf-8");
    QTest::newRow("script") << QByteArray("/app.js") << u"app.js"_s
                            << QByteArray("text/javascript; charset=utf-8");
    QTest::newRow("script with query")
        << QByteArray("/app.js?v=1") << u"app.js"_s << QByteArray("text/javascript; charset=utf-8");
    QTest::newRow("icon") << QByteArray("/favicon.svg") << u"favicon.svg"_s
                          << QByteArray("image/svg+xml; charset=utf-8");
}

void tst_Http::servesEmbeddedFile()
{
    QFETCH(QByteArray, path);
    QFETCH(QString, file);
    QFETCH(QByteArray, contentType);

    const QByteArray expected = resource(file);
    QVERIFY(!expected.isEmpty());

    const Reply reply = fetch(get(path));
    QVERIFY2(reply.complete, reply.raw.left(200).constData());
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.header("Content-Type"), contentType);
    QCOMPARE(reply.header("Content-Length").toLongLong(), expected.size());
    QCOMPARE(reply.body, expected);
    QCOMPARE(reply.header("X-Content-Type-Options"), QByteArray("nosniff"));
    QCOMPARE(reply.header("Cache-Control"), QByteArray("no-cache"));
    QCOMPARE(reply.header("Connection"), QByteArray("close"));
    QVERIFY(!reply.header("ETag").isEmpty());

    const QByteArray csp = reply.header("Content-Security-Policy");
    QVERIFY(csp.contains("default-src 'self'"));
    QVERIFY(csp.contains("script-src 'self';"));
    QVERIFY(csp.contains("connect-src 'self' ws: wss:"));
    QVERIFY(!csp.contains("unsafe-inline"));
    QVERIFY(!csp.contains("unsafe-eval"));
}

void tst_Http::headHasNoBody_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<int>("status");

    QTest::newRow("page") << QByteArray("/") << 200;
    QTest::newRow("status") << QByteArray("/api/status") << 200;
    QTest::newRow("missing") << QByteArray("/missing") << 404;
}

void tst_Http::headHasNoBody()
{
    QFETCH(QByteArray, path);
    QFETCH(int, status);

    const Reply full = fetch(get(path));
    const Reply head = fetch(get(path, "HEAD"));
    QVERIFY(head.complete);
    QCOMPARE(head.status, status);
    QVERIFY(head.body.isEmpty());
    QCOMPARE(head.header("Content-Type"), full.header("Content-Type"));
    if (path != "/api/status") // the uptime in the body may have grown a digit in between
        QCOMPARE(head.header("Content-Length"), full.header("Content-Length"));
    QVERIFY(head.header("Content-Length").toInt() > 0);
}

void tst_Http::revalidatesWithEtag()
{
    const Reply first = fetch(get("/app.js"));
    const QByteArray etag = first.header("ETag");
    QVERIFY(etag.startsWith('"') && etag.endsWith('"'));

    const Reply again = fetch("GET /app.js HTTP/1.1\r\nHost: lan\r\nIf-None-Match: \"other\", "
                              + etag + "\r\n\r\n");
    QCOMPARE(again.status, 304);
    QVERIFY(again.body.isEmpty());
    QCOMPARE(again.header("ETag"), etag);

    const Reply changed
        = fetch("GET /app.js HTTP/1.1\r\nHost: lan\r\nIf-None-Match: \"other\"\r\n\r\n");
    QCOMPARE(changed.status, 200);
    QCOMPARE(changed.body, resource(u"app.js"_s));
}

void tst_Http::status()
{
    TestClient alice;
    QVERIFY(alice.open(m_server->port()));
    QVERIFY(alice.hello(u"alice"_s));
    alice.send({{u"type"_s, u"join"_s}, {u"room"_s, u"games"_s}});
    QVERIFY(!alice
                 .take(u"joined"_s,
                       [](const QJsonObject &frame) {
                           return frame.value(u"room"_s).toString() == u"games"_s;
                       })
                 .isEmpty());

    const Reply reply = fetch(get("/api/status"));
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.header("Content-Type"), QByteArray("application/json; charset=utf-8"));
    QCOMPARE(reply.header("Cache-Control"), QByteArray("no-store"));

    QJsonParseError error;
    const QJsonObject json = QJsonDocument::fromJson(reply.body, &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(json.value(u"name"_s).toString(), u"Test <LAN> \"chat\""_s);
    QCOMPARE(json.value(u"version"_s).toString(), QStringLiteral(LANCHAT_VERSION));
    QVERIFY(json.value(u"uptime"_s).isDouble());
    QVERIFY(json.value(u"uptime"_s).toDouble() >= 0);
    QCOMPARE(json.value(u"connections"_s).toInt(), 1);
    QCOMPARE(json.value(u"rooms"_s).toInt(), 2);
    QCOMPARE(json.value(u"passwordRequired"_s).toBool(), false);
}

void tst_Http::unknownPathIsNotFound_data()
{
    QTest::addColumn<QByteArray>("path");

    QTest::newRow("missing") << QByteArray("/missing");
    QTest::newRow("climbing out") << QByteArray("/../../etc/passwd");
    QTest::newRow("encoded climb") << QByteArray("/%2e%2e/%2e%2e/etc/passwd");
    QTest::newRow("source tree") << QByteArray("/CMakeLists.txt");
    QTest::newRow("resource path") << QByteArray("/:/client/index.html");
    QTest::newRow("double slash") << QByteArray("//app.js");
    QTest::newRow("trailing slash") << QByteArray("/app.js/");
}

void tst_Http::unknownPathIsNotFound()
{
    QFETCH(QByteArray, path);

    const Reply reply = fetch(get(path));
    QVERIFY(reply.complete);
    QCOMPARE(reply.status, 404);
    QCOMPARE(reply.header("Content-Type"), QByteArray("text/plain; charset=utf-8"));
    QCOMPARE(reply.header("X-Content-Type-Options"), QByteArray("nosniff"));
    QVERIFY(!reply.header("Content-Security-Policy").isEmpty());
}

void tst_Http::otherMethodIsNotAllowed_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");

    QTest::newRow("post page") << QByteArray("POST") << QByteArray("/");
    QTest::newRow("put script") << QByteArray("PUT") << QByteArray("/app.js");
    QTest::newRow("delete status") << QByteArray("DELETE") << QByteArray("/api/status");
    QTest::newRow("options") << QByteArray("OPTIONS") << QByteArray("/");
    QTest::newRow("lower-case get") << QByteArray("get") << QByteArray("/");
}

void tst_Http::otherMethodIsNotAllowed()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);

    const Reply reply = fetch(get(path, method));
    QVERIFY(reply.complete);
    QCOMPARE(reply.status, 405);
    QCOMPARE(reply.header("Allow"), QByteArray("GET, HEAD"));
}

void tst_Http::badRequest_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");

    QTest::newRow("garbage") << QByteArray("\x16\x03\x01\x02\x00\r\n\r\n", 9) << 400;
    QTest::newRow("no host") << QByteArray("GET / HTTP/1.1\r\n\r\n") << 400;
    QTest::newRow("http/2 preface") << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << 400;
    QTest::newRow("version 3") << QByteArray("GET / HTTP/3.0\r\nHost: x\r\n\r\n") << 505;
    QTest::newRow("websocket path without upgrade") << get("/ws") << 426;
    QTest::newRow("long target") << get("/" + QByteArray(HttpResponder::MaxTargetBytes + 10, 'a'))
                                 << 414;
}

void tst_Http::badRequest()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);

    const Reply reply = fetch(request);
    QVERIFY(reply.complete);
    QCOMPARE(reply.status, status);
}

namespace {

QByteArray upgrade(const QByteArray &fields)
{
    return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields + "\r\n";
}

const QByteArray GoodKey = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

} // namespace

void tst_Http::badUpgrade_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");

    const QByteArray asks = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    const QByteArray v13 = "Sec-WebSocket-Version: 13\r\n";
    QTest::newRow("no key") << upgrade(asks + v13) << 400;
    QTest::newRow("empty key") << upgrade(asks + v13 + "Sec-WebSocket-Key:\r\n") << 400;
    QTest::newRow("key not base64")
        << upgrade(asks + v13 + "Sec-WebSocket-Key: not*base64!\r\n") << 400;
    QTest::newRow("key of 8 bytes")
        << upgrade(asks + v13 + "Sec-WebSocket-Key: AAECAwQFBgc=\r\n") << 400;
    QTest::newRow("no Connection: Upgrade")
        << upgrade("Upgrade: websocket\r\n" + v13 + GoodKey) << 400;
    QTest::newRow("version 8") << upgrade(asks + "Sec-WebSocket-Version: 8\r\n" + GoodKey) << 426;
    QTest::newRow("no version") << upgrade(asks + GoodKey) << 426;
}

void tst_Http::badUpgrade()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);

    // Answered, not dropped: a client learns why its handshake failed.
    const Reply reply = fetch(request);
    QVERIFY2(reply.complete, reply.raw.constData());
    QCOMPARE(reply.status, status);
    if (status == 426) {
        QCOMPARE(reply.header("Sec-WebSocket-Version"), QByteArray("13"));
        QCOMPARE(reply.header("Upgrade"), QByteArray("websocket"));
    }
    QCOMPARE(m_server->manager()->connectionCount(), 0);
}

void tst_Http::goodUpgradeStillOpens()
{
    HttpClient client(m_server->port());
    client.send(upgrade("Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        + GoodKey));
    QTRY_COMPARE(client.reply().status, 101);
    QCOMPARE(client.reply().header("Sec-WebSocket-Accept"),
             QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    QTRY_COMPARE(m_server->manager()->connectionCount(), 1);
}

void tst_Http::plainWebSocketsNeedNoTls()
{
#if !QT_CONFIG(ssl)
    QSKIP("Qt without TLS support");
#else
    // What the certificate-only backend cannot do must not reach the host's log.
    QTest::failOnWarning(QRegularExpression(u"TLS|QSslKey"_s));
    HttpClient client(m_server->port());
    client.send(upgrade("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        + GoodKey));
    QTRY_COMPARE(client.reply().status, 101);
    QTRY_COMPARE(m_server->manager()->connectionCount(), 1);
    // The server's QWebSocket exists now, and with it its TLS configuration: made by the light
    // backend, so OpenSSL was never set up.
    QCOMPARE(QSslSocket::activeBackend(), u"cert-only"_s);
#endif
}

void tst_Http::oversizedHead()
{
    HttpClient client(m_server->port());
    QTRY_VERIFY(client.isConnected());
    client.send("GET / HTTP/1.1\r\nHost: lan\r\n");
    // Headers without an end, far past any limit: answered with 431 as soon as the limit is
    // passed, well before the head timeout.
    const QByteArray filler = "X-Filler: " + QByteArray(1000, 'f') + "\r\n";
    for (int i = 0; i < 20 && !client.isClosed(); ++i)
        client.send(filler);

    QTRY_VERIFY_WITH_TIMEOUT(client.isClosed(), 5000);
    QCOMPARE(client.reply().status, 431);
}

void tst_Http::lineFeedsOnlyAreRefused()
{
    // Ends in a blank line for a reader that takes LF alone as a line break, but never will
    // for this server: answered, not left to wait for the head timeout.
    HttpClient client(m_server->port());
    client.send("GET / HTTP/1.1\nHost: lan\n\n");
    QTRY_VERIFY_WITH_TIMEOUT(client.isClosed(), 5000);
    QCOMPARE(client.reply().status, 400);
}

void tst_Http::unfinishedRequestIsDropped()
{
    HttpClient client(m_server->port());
    QTRY_VERIFY(client.isConnected());
    client.send("GET / HTTP/1.1\r\nHost: lan\r\n");

    QElapsedTimer clock;
    clock.start();
    QTRY_VERIFY_WITH_TIMEOUT(client.isClosed(), HeadTimeoutMs * 10);
    QVERIFY(clock.elapsed() >= HeadTimeoutMs / 2);
    QVERIFY(client.reply().raw.isEmpty());
}

void tst_Http::unfinishedRequestsPerAddressAreCapped()
{
    ServerConfig config;
    config.maxConnectionsPerAddress = 3;
    config.handshakeTimeoutMs = 60'000;
    m_server = std::make_unique<ChatServer>(config);
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));

    std::vector<std::unique_ptr<HttpClient>> slow;
    for (int i = 0; i < 3; ++i) {
        slow.push_back(std::make_unique<HttpClient>(m_server->port()));
        slow.back()->send("GET / HTTP/1.1\r\nHost: lan\r\n");
    }
    for (const auto &client : slow)
        QTRY_VERIFY(client->isConnected());

    // A fourth from the same address is told to come back, at once.
    Reply busy = fetch(get("/api/status"));
    QCOMPARE(busy.status, 503);
    QCOMPARE(busy.header("retry-after"), QByteArray("10"));

    // One of the three finishes its request; that makes room for another.
    slow.front()->send("\r\n");
    QTRY_VERIFY_WITH_TIMEOUT(slow.front()->isClosed(), 5000);
    QCOMPARE(slow.front()->reply().status, 200);
    QTRY_COMPARE(fetch(get("/api/status")).status, 200);
    for (size_t i = 1; i < slow.size(); ++i)
        QVERIFY(!slow.at(i)->isClosed());
}

void tst_Http::requestInPieces()
{
    HttpClient client(m_server->port());
    QTRY_VERIFY(client.isConnected());
    // On the loopback a flushed write is in the server's socket at once, so a turn of the event
    // loop makes the server read each piece on its own.
    const QByteArray request = get("/app.css");
    for (qsizetype at = 0; at < request.size(); at += 5) {
        client.send(request.mid(at, 5));
        client.socket().flush();
        QCoreApplication::processEvents();
    }
    QTRY_VERIFY_WITH_TIMEOUT(client.isClosed(), 5000);
    QCOMPARE(client.reply().status, 200);
    QCOMPARE(client.reply().body, resource(u"app.css"_s));
}

void tst_Http::manyAtOnce()
{
    constexpr int Count = 200;
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < Count; ++i) {
        clients.push_back(std::make_unique<HttpClient>(m_server->port()));
        clients.back()->send(get(i % 2 ? "/app.js" : "/api/status"));
    }

    const auto allClosed = [&] {
        for (const auto &client : clients) {
            if (!client->isClosed())
                return false;
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(allClosed(), 20'000);

    const QByteArray script = resource(u"app.js"_s);
    for (int i = 0; i < Count; ++i) {
        const Reply reply = clients[i]->reply();
        QCOMPARE(reply.status, 200);
        if (i % 2)
            QCOMPARE(reply.body, script);
        else
            QVERIFY(QJsonDocument::fromJson(reply.body).isObject());
    }
}

QTEST_GUILESS_MAIN(tst_Http)
#include "tst_http.moc"
