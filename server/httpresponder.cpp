#include "httpresponder.h"

#include "logging.h"

#include <QCryptographicHash>
#include <QFile>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <cctype>

namespace {

// Every answer carries these: the client runs only its own script and style, talks only to its
// own origin, and cannot be framed.
constexpr char ContentSecurityPolicy[]
    = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'; "
      "frame-ancestors 'none'";

struct Asset
{
    QByteArray body;
    QByteArray contentType;
    QByteArray etag;
};

const QHash<QByteArray, Asset> &assets()
{
    static const QHash<QByteArray, Asset> table = [] {
        struct Entry
        {
            const char *path;
            const char *resource;
            const char *contentType;
        };
        const Entry entries[] = {
            {"/", ":/client/index.html", "text/html; charset=utf-8"},
            {"/index.html", ":/client/index.html", "text/html; charset=utf-8"},
            {"/app.css", ":/client/app.css", "text/css; charset=utf-8"},
            {"/app.js", ":/client/app.js", "text/javascript; charset=utf-8"},
            {"/favicon.svg", ":/client/favicon.svg", "image/svg+xml; charset=utf-8"},
        };

        QHash<QByteArray, Asset> result;
        for (const Entry &entry : entries) {
            QFile file(QString::fromLatin1(entry.resource));
            if (!file.open(QIODevice::ReadOnly)) {
                qCWarning(lcHttp) << "the browser client lacks" << entry.resource;
                continue;
            }
            Asset asset;
            asset.body = file.readAll();
            asset.contentType = entry.contentType;
            asset.etag = '"'
                + QCryptographicHash::hash(asset.body, QCryptographicHash::Sha256).toHex().left(20)
                + '"';
            result.insert(entry.path, asset);
        }
        return result;
    }();
    return table;
}

bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

bool isToken(QByteArrayView text)
{
    if (text.isEmpty())
        return false;
    for (char c : text) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

bool isFieldValue(QByteArrayView text)
{
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

bool isTargetChar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
}

QByteArrayView trimmed(QByteArrayView text)
{
    qsizetype begin = 0;
    qsizetype end = text.size();
    while (begin < end && (text[begin] == ' ' || text[begin] == '\t'))
        ++begin;
    while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        --end;
    return text.sliced(begin, end - begin);
}

// A CR not followed by LF, or an LF not preceded by CR. A CR that ends the data may still be
// followed by its LF.
bool hasLoneLineBreak(QByteArrayView data)
{
    for (qsizetype i = 0; i < data.size(); ++i) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            return true;
        if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] != '\n')
            return true;
    }
    return false;
}

HttpRequest failed(HttpRequest::Result result)
{
    HttpRequest request;
    request.result = result;
    return request;
}

bool matchesEtag(const QByteArray &ifNoneMatch, const QByteArray &etag)
{
    const QList<QByteArray> candidates = ifNoneMatch.split(',');
    for (const QByteArray &candidate : candidates) {
        QByteArray tag = candidate.trimmed();
        if (tag == "*")
            return true;
        if (tag.startsWith("W/"))
            tag = tag.mid(2);
        if (tag == etag)
            return true;
    }
    return false;
}

HttpResponder::Response plain(int status, const QByteArray &reason)
{
    HttpResponder::Response response;
    response.status = status;
    response.reason = reason;
    response.body = QByteArray::number(status) + ' ' + reason + '\n';
    response.headers = {
        {"Content-Type", "text/plain; charset=utf-8"},
        {"Cache-Control", "no-store"},
    };
    return response;
}

} // namespace

QByteArray HttpRequest::header(const QByteArray &lowerName) const
{
    for (const auto &field : headers) {
        if (field.first == lowerName)
            return field.second;
    }
    return {};
}

namespace {

// Whether a comma-separated header value lists token, in any case.
bool hasToken(const QByteArray &value, const QByteArray &token)
{
    const QList<QByteArray> items = value.split(',');
    return std::any_of(items.cbegin(), items.cend(), [&token](const QByteArray &item) {
        return item.trimmed().compare(token, Qt::CaseInsensitive) == 0;
    });
}

} // namespace

HttpResponder::Upgrade HttpResponder::checkUpgrade(const HttpRequest &request)
{
    if (request.result != HttpRequest::Result::Ok || request.path != "/ws"
        || !hasToken(request.header("upgrade"), "websocket"))
        return Upgrade::None;
    // The version first: a client that speaks another one learns which to use.
    if (request.header("sec-websocket-version") != "13")
        return Upgrade::BadVersion;
    const QByteArray key = request.header("sec-websocket-key");
    const auto decoded
        = QByteArray::fromBase64Encoding(key, QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || decoded.decoded.size() != 16 || key.size() != 24)
        return Upgrade::Malformed;
    if (request.method != "GET" || request.minorVersion < 1
        || !hasToken(request.header("connection"), "upgrade"))
        return Upgrade::Malformed;
    return Upgrade::Valid;
}

QByteArray HttpResponder::Response::header(const QByteArray &name) const
{
    for (const auto &field : headers) {
        if (field.first.compare(name, Qt::CaseInsensitive) == 0)
            return field.second;
    }
    return {};
}

QByteArray HttpResponder::Response::toBytes() const
{
    QByteArray bytes = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason + "\r\n";
    for (const auto &field : headers)
        bytes += field.first + ": " + field.second + "\r\n";
    bytes += "\r\n";
    if (!headOnly)
        bytes += body;
    return bytes;
}

HttpResponder::HttpResponder(StatusSource status)
    : m_status(std::move(status))
{ }

qsizetype HttpResponder::headLength(const QByteArray &data)
{
    const qsizetype end = data.indexOf("\r\n\r\n");
    return end < 0 ? -1 : end + 4;
}

HttpRequest HttpResponder::parse(const QByteArray &head)
{
    using Result = HttpRequest::Result;

    const qsizetype length = headLength(head);
    if (length < 0) {
        // A head with a lone line break can never end as this server reads heads (see below):
        // refused now rather than left to the head timeout.
        if (hasLoneLineBreak(head))
            return failed(Result::Malformed);
        return failed(head.size() >= MaxHeadBytes ? Result::TooLarge : Result::Incomplete);
    }
    if (length > MaxHeadBytes)
        return failed(Result::TooLarge);

    // Lines end in CRLF only; a lone CR or LF anywhere is refused rather than guessed at, so
    // that no two readers of the same bytes can disagree about where a header ends.
    const QByteArrayView text = QByteArrayView(head).first(length - 4);
    QList<QByteArrayView> lines;
    qsizetype start = 0;
    while (true) {
        const qsizetype end = text.indexOf(QByteArrayView("\r\n"), start);
        const QByteArrayView line = text.sliced(start, (end < 0 ? text.size() : end) - start);
        if (line.contains('\r') || line.contains('\n'))
            return failed(Result::Malformed);
        lines.append(line);
        if (end < 0)
            break;
        start = end + 2;
    }

    const QByteArrayView requestLine = lines.first();
    const qsizetype firstSpace = requestLine.indexOf(' ');
    const qsizetype lastSpace = requestLine.lastIndexOf(' ');
    if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        return failed(Result::Malformed);
    const QByteArrayView method = requestLine.first(firstSpace);
    const QByteArrayView target = requestLine.sliced(firstSpace + 1, lastSpace - firstSpace - 1);
    const QByteArrayView version = requestLine.sliced(lastSpace + 1);

    if (method.size() > 16 || !isToken(method))
        return failed(Result::Malformed);
    if (target.size() > MaxTargetBytes)
        return failed(Result::UriTooLong);
    if (!target.startsWith('/') || !std::all_of(target.begin(), target.end(), isTargetChar))
        return failed(Result::Malformed);
    if (version.size() != 8 || !version.startsWith("HTTP/") || version[6] != '.'
        || !std::isdigit(static_cast<unsigned char>(version[5]))
        || !std::isdigit(static_cast<unsigned char>(version[7])))
        return failed(Result::Malformed);
    if (version[5] != '1')
        return failed(Result::BadVersion);

    HttpRequest request;
    request.method = method.toByteArray();
    const qsizetype question = target.indexOf('?');
    request.path = (question < 0 ? target : target.first(question)).toByteArray();
    if (question >= 0)
        request.query = target.sliced(question + 1).toByteArray();
    // HTTP/1.2 and later minor versions are read as 1.1, as the specification asks.
    request.minorVersion = version[7] == '0' ? 0 : 1;

    if (lines.size() - 1 > MaxHeaders)
        return failed(Result::TooLarge);
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArrayView line = lines.at(i);
        const qsizetype colon = line.indexOf(':');
        // No folded lines and no space before the colon: both are old ways to smuggle a header.
        if (colon <= 0 || !isToken(line.first(colon)))
            return failed(Result::Malformed);
        const QByteArrayView value = trimmed(line.sliced(colon + 1));
        if (!isFieldValue(value))
            return failed(Result::Malformed);
        request.headers.append({line.first(colon).toByteArray().toLower(), value.toByteArray()});
    }

    int hosts = 0;
    int contentLengths = 0;
    bool chunked = false;
    for (const auto &field : std::as_const(request.headers)) {
        if (field.first == "host")
            ++hosts;
        else if (field.first == "content-length")
            ++contentLengths;
        else if (field.first == "transfer-encoding")
            chunked = true;
    }
    if (hosts > 1 || (request.minorVersion == 1 && hosts == 0))
        return failed(Result::Malformed);
    if (contentLengths > 1 || (contentLengths == 1 && chunked))
        return failed(Result::Malformed);

    request.result = Result::Ok;
    return request;
}

HttpResponder::Response HttpResponder::respond(const HttpRequest &request) const
{
    using Result = HttpRequest::Result;

    Response response;
    switch (request.result) {
    case Result::Incomplete:
        response = plain(408, "Request Timeout");
        break;
    case Result::Malformed:
        response = plain(400, "Bad Request");
        break;
    case Result::TooLarge:
        response = plain(431, "Request Header Fields Too Large");
        break;
    case Result::UriTooLong:
        response = plain(414, "URI Too Long");
        break;
    case Result::BadVersion:
        response = plain(505, "HTTP Version Not Supported");
        break;
    case Result::Ok:
        if (request.method != "GET" && request.method != "HEAD") {
            response = plain(405, "Method Not Allowed");
            response.headers.emplaceBack("Allow", "GET, HEAD");
        } else if (request.path == "/ws") {
            switch (checkUpgrade(request)) {
            case Upgrade::Malformed:
                response = plain(400, "Bad Request");
                break;
            case Upgrade::BadVersion:
                response = plain(426, "Upgrade Required");
                response.headers.emplaceBack("Upgrade", "websocket");
                response.headers.emplaceBack("Sec-WebSocket-Version", "13");
                break;
            case Upgrade::None:
            case Upgrade::Valid: // handed to the WebSocket server before it gets here
                response = plain(426, "Upgrade Required");
                response.headers.emplaceBack("Upgrade", "websocket");
                break;
            }
        } else if (request.path == "/api/status") {
            response = statusResponse();
        } else if (const auto it = assets().constFind(request.path); it != assets().cend()) {
            const QByteArray ifNoneMatch = request.header("if-none-match");
            if (!ifNoneMatch.isNull() && matchesEtag(ifNoneMatch, it->etag)) {
                response.status = 304;
                response.reason = "Not Modified";
            } else {
                response.status = 200;
                response.reason = "OK";
                response.body = it->body;
                response.headers.emplaceBack("Content-Type", it->contentType);
            }
            response.headers.emplaceBack("ETag", it->etag);
            // Always revalidated, so that a newer server is never shown with an older client.
            response.headers.emplaceBack("Cache-Control", "no-cache");
        } else {
            response = plain(404, "Not Found");
        }
        response.headOnly = request.method == "HEAD";
        break;
    }

    if (response.status != 304)
        response.headers.emplaceBack("Content-Length", QByteArray::number(response.body.size()));
    response.headers.emplaceBack("Content-Security-Policy", ContentSecurityPolicy);
    response.headers.emplaceBack("X-Content-Type-Options", "nosniff");
    response.headers.emplaceBack("X-Frame-Options", "DENY");
    response.headers.emplaceBack("Referrer-Policy", "no-referrer");
    response.headers.emplaceBack("Connection", "close");
    if (response.status == 304)
        response.body.clear();
    return response;
}

HttpResponder::Response HttpResponder::statusResponse() const
{
    const Status status = m_status ? m_status() : Status {};
    const QJsonObject json {
        {QStringLiteral("name"), status.name},
        {QStringLiteral("version"), status.version},
        {QStringLiteral("uptime"), status.uptimeSeconds},
        {QStringLiteral("connections"), status.connections},
        {QStringLiteral("rooms"), status.rooms},
        {QStringLiteral("passwordRequired"), status.passwordRequired},
    };

    Response response;
    response.status = 200;
    response.reason = "OK";
    response.body = QJsonDocument(json).toJson(QJsonDocument::Compact);
    response.headers = {
        {"Content-Type", "application/json; charset=utf-8"},
        {"Cache-Control", "no-store"},
    };
    return response;
}

void HttpResponder::serve(QTcpSocket *socket, const HttpRequest &request, int writeTimeoutMs) const
{
    const Response response = respond(request);
    const QString peer
        = socket->peerAddress().toString() + u':' + QString::number(socket->peerPort());
    if (request.result == HttpRequest::Result::Ok)
        qCDebug(lcHttp).noquote() << peer << request.method << request.path << response.status;
    else
        qCDebug(lcHttp).noquote() << peer << "sent a head we refuse:" << response.status;
    send(socket, response, writeTimeoutMs);
}

void HttpResponder::refuseBusy(QTcpSocket *socket, int writeTimeoutMs)
{
    Response response = plain(503, "Service Unavailable");
    response.headers.emplaceBack("Retry-After", "10");
    send(socket, response, writeTimeoutMs);
}

void HttpResponder::send(QTcpSocket *socket, const Response &response, int writeTimeoutMs)
{
    // Nothing more is read from this connection: whatever the peer still sends is dropped.
    socket->readAll();
    QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket] { socket->readAll(); });
    QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    QTimer::singleShot(writeTimeoutMs, socket, [socket] { socket->abort(); });

    socket->write(response.toBytes());
    socket->disconnectFromHost();
}
