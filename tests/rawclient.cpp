#include "rawclient.h"

#include "testclient.h"

#include <QJsonDocument>
#include <QRandomGenerator>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

RawClient::RawClient(QObject *parent)
    : QObject(parent)
{
    connect(&m_socket, &QTcpSocket::readyRead, this, &RawClient::onReadyRead);
    connect(&m_socket, &QTcpSocket::disconnected, this, [this] {
        m_disconnected = true;
        TestClient::notifyActivity();
    });
    connect(&m_socket, &QTcpSocket::errorOccurred, this, [this] {
        if (m_socket.state() != QAbstractSocket::ConnectedState) {
            m_disconnected = true;
            TestClient::notifyActivity();
        }
    });
}

RawClient::~RawClient()
{
    m_socket.disconnect(this);
    m_socket.abort();
}

bool RawClient::open(quint16 port, int receiveBuffer, int timeoutMs)
{
    if (receiveBuffer > 0) {
        // The buffer size has to be set before connecting to limit the window the peer sees.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return false;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
        sockaddr_in address {};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
            ::close(fd);
            return false;
        }
        if (!m_socket.setSocketDescriptor(fd)) {
            ::close(fd);
            return false;
        }
    } else {
        m_socket.connectToHost(u"127.0.0.1"_s, port);
        if (!TestClient::waitUntil(
                [this] {
                    return m_socket.state() == QAbstractSocket::ConnectedState || m_disconnected;
                },
                timeoutMs)
            || m_disconnected)
            return false;
    }

    QByteArray key(16, Qt::Uninitialized);
    for (char &c : key)
        c = char(QRandomGenerator::global()->bounded(256));
    const QByteArray request = "GET /ws HTTP/1.1\r\n"
                               "Host: 127.0.0.1:"
        + QByteArray::number(port)
        + "\r\n"
          "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\n"
          "Sec-WebSocket-Key: "
        + key.toBase64()
        + "\r\n"
          "Sec-WebSocket-Version: 13\r\n"
          "\r\n";
    m_socket.write(request);
    return TestClient::waitUntil(
               [this] { return m_upgraded || m_handshakeFailed || m_disconnected; }, timeoutMs)
        && m_upgraded;
}

void RawClient::sendFrame(int opcode, const QByteArray &payload, bool fin)
{
    QByteArray frame;
    frame.append(char((fin ? 0x80 : 0x00) | (opcode & 0x0f)));
    const qint64 size = payload.size();
    if (size < 126) {
        frame.append(char(0x80 | size));
    } else if (size < 65536) {
        frame.append(char(0x80 | 126));
        frame.append(char(size >> 8));
        frame.append(char(size & 0xff));
    } else {
        frame.append(char(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            frame.append(char((size >> shift) & 0xff));
    }
    const quint32 maskValue = QRandomGenerator::global()->generate();
    char mask[4];
    for (int i = 0; i < 4; ++i)
        mask[i] = char((maskValue >> (8 * i)) & 0xff);
    frame.append(mask, 4);
    for (qint64 i = 0; i < size; ++i)
        frame.append(char(payload.at(i) ^ mask[i % 4]));
    m_socket.write(frame);
    m_socket.flush();
}

void RawClient::sendJson(const QJsonObject &request)
{
    sendText(QJsonDocument(request).toJson(QJsonDocument::Compact));
}

bool RawClient::hello(const QString &nick, int timeoutMs)
{
    sendJson({{u"type"_s, u"hello"_s}, {u"nick"_s, nick}});
    return TestClient::waitUntil([this] { return countOf(u"welcome"_s) > 0 || m_disconnected; },
                                 timeoutMs)
        && countOf(u"welcome"_s) > 0;
}

void RawClient::stopReading()
{
    m_reading = false;
    m_socket.setReadBufferSize(4096);
}

void RawClient::abort()
{
    m_socket.abort();
    m_disconnected = true;
}

int RawClient::countOf(const QString &type) const
{
    int count = 0;
    for (const QJsonObject &frame : m_frames) {
        if (frame.value(u"type"_s).toString() == type)
            ++count;
    }
    return count;
}

bool RawClient::waitDisconnected(int timeoutMs)
{
    return TestClient::waitUntil([this] { return m_disconnected; }, timeoutMs);
}

void RawClient::onReadyRead()
{
    if (!m_reading)
        return;
    m_buffer.append(m_socket.readAll());

    if (!m_upgraded) {
        const qsizetype end = m_buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        const QByteArray head = m_buffer.left(end);
        m_buffer.remove(0, end + 4);
        if (!head.startsWith("HTTP/1.1 101")) {
            m_handshakeFailed = true;
            TestClient::notifyActivity();
            return;
        }
        m_upgraded = true;
    }
    parseFrames();
    TestClient::notifyActivity();
}

void RawClient::parseFrames()
{
    for (;;) {
        if (m_buffer.size() < 2)
            return;
        const auto byte = [this](qsizetype i) { return quint8(m_buffer.at(i)); };
        const bool fin = byte(0) & 0x80;
        const int opcode = byte(0) & 0x0f;
        quint64 length = byte(1) & 0x7f;
        qsizetype offset = 2;
        if (length == 126) {
            if (m_buffer.size() < 4)
                return;
            length = (quint64(byte(2)) << 8) | byte(3);
            offset = 4;
        } else if (length == 127) {
            if (m_buffer.size() < 10)
                return;
            length = 0;
            for (int i = 0; i < 8; ++i)
                length = (length << 8) | byte(2 + i);
            offset = 10;
        }
        if (quint64(m_buffer.size() - offset) < length)
            return;
        const QByteArray payload = m_buffer.mid(offset, qsizetype(length));
        m_buffer.remove(0, offset + qsizetype(length));

        switch (opcode) {
        case Ping:
            // Left unanswered on purpose: this client is the one that stops answering.
            ++m_pings;
            break;
        case Close:
            m_closeCode
                = payload.size() >= 2 ? (quint8(payload.at(0)) << 8) | quint8(payload.at(1)) : 1005;
            break;
        case Text:
        case Binary:
        case Continuation:
            if (opcode != Continuation) {
                m_message.clear();
                m_messageOpcode = opcode;
            }
            m_message.append(payload);
            if (fin && m_messageOpcode == Text) {
                const QJsonDocument document = QJsonDocument::fromJson(m_message);
                m_frames.append(document.isObject()
                                    ? document.object()
                                    : QJsonObject {{u"type"_s, u"<not an object>"_s}});
            }
            break;
        default:
            break;
        }
    }
}
