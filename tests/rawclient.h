#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QTcpSocket>

// A WebSocket client written by hand on a QTcpSocket, for what QWebSocket will not do: send
// invalid UTF-8, leave pings unanswered, stop reading while the server keeps sending.
class RawClient : public QObject
{
    Q_OBJECT

public:
    enum Opcode {
        Continuation = 0x0,
        Text = 0x1,
        Binary = 0x2,
        Close = 0x8,
        Ping = 0x9,
        Pong = 0xA
    };

    explicit RawClient(QObject *parent = nullptr);
    ~RawClient() override;

    // Connects and completes the opening handshake on /ws. receiveBuffer > 0 shrinks the
    // kernel's receive buffer first, so that a client that stops reading fills up quickly.
    bool open(quint16 port, int receiveBuffer = 0, int timeoutMs = 5000);
    // Sends a masked frame, as a client must.
    void sendFrame(int opcode, const QByteArray &payload, bool fin = true);
    void sendText(const QByteArray &utf8) { sendFrame(Text, utf8); }
    void sendJson(const QJsonObject &request);
    // Sends hello and waits for the welcome.
    bool hello(const QString &nick, int timeoutMs = 5000);

    // Leaves everything the server sends unread from now on; the socket's own buffer stays small.
    void stopReading();
    void abort();

    const QList<QJsonObject> &frames() const { return m_frames; }
    int countOf(const QString &type) const;
    int pingsReceived() const { return m_pings; }
    bool closeFrameReceived() const { return m_closeCode >= 0; }
    // The code of the server's close frame; -1 when none came.
    int closeCode() const { return m_closeCode; }
    bool isDisconnected() const { return m_disconnected; }
    bool waitDisconnected(int timeoutMs = 5000);
    QTcpSocket *socket() { return &m_socket; }

private:
    void onReadyRead();
    void parseFrames();

    QTcpSocket m_socket;
    QByteArray m_buffer;
    QByteArray m_message; // a fragmented message being put together
    int m_messageOpcode = 0;
    bool m_upgraded = false;
    bool m_reading = true;
    bool m_disconnected = false;
    bool m_handshakeFailed = false;
    QList<QJsonObject> m_frames;
    int m_pings = 0;
    int m_closeCode = -1;
};
