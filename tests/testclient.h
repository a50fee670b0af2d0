#pragma once

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QWebSocket>

#include <functional>

// A chat client for the tests: a QWebSocket that parses every text frame it receives and keeps
// them, so that a test can take the frames it expects, in order, and inspect what is left.
class TestClient : public QObject
{
    Q_OBJECT

public:
    using Match = std::function<bool(const QJsonObject &)>;

    explicit TestClient(QObject *parent = nullptr);
    ~TestClient() override;

    // Opens ws://127.0.0.1:<port>/ws and waits for the handshake to finish.
    bool open(quint16 port, int timeoutMs = 5000);
    // Sends hello and waits for the welcome and the joined for lobby that follows it.
    bool hello(const QString &nick, const QString &password = {}, int timeoutMs = 5000);

    void send(const QJsonObject &request);
    void sendRaw(const QString &text);
    void sendBinary(const QByteArray &data);
    // Sends a rooms request and waits for its answer: every frame the server queued for this
    // client before it read the request has then arrived.
    bool fence(int timeoutMs = 5000);
    void close();
    // Drops the TCP connection without a close frame.
    void abort();

    QString nick() const { return m_nick; }
    QWebSocket *socket() { return &m_socket; }

    // Every frame received, oldest first.
    const QList<QJsonObject> &frames() const { return m_frames; }
    QList<QJsonObject> framesOfType(const QString &type) const;
    // How many frames of this type arrived since the last clear(), ignored ones included.
    int countOf(const QString &type) const { return m_counts.value(type); }
    // The message ids received in room messages (room empty: any room), in arrival order.
    QList<qint64> messageIds(const QString &room = {}) const;

    // Takes the oldest frame of this type that no earlier take returned, waiting for it if need
    // be. An empty object when none came in time.
    QJsonObject take(const QString &type, int timeoutMs = 5000);
    QJsonObject take(const QString &type, const Match &match, int timeoutMs = 5000);
    // True when an untaken frame of this type (matching) is already here; does not wait.
    bool has(const QString &type, const Match &match = {}) const;
    // Forgets every frame received so far.
    void clear();
    // Frames of this type are counted from now on but not kept: for crowds, where each client
    // hears of every other.
    void ignore(const QString &type) { m_ignored.append(type); }

    bool isOpen() const { return m_open; }
    bool waitClosed(int timeoutMs = 5000);
    bool isClosed() const { return m_closed; }
    int closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }

    // For failure messages: the types of the untaken frames and the close state.
    QString describe() const;

    // Runs the event loop until predicate holds or the time is up; woken by every frame and close
    // any test client sees, and re-checked every few milliseconds for other state.
    static bool waitUntil(const std::function<bool()> &predicate, int timeoutMs = 5000);
    // Wakes the waits in progress so that they look at their predicate again.
    static void notifyActivity();

Q_SIGNALS:
    void frameReceived(const QJsonObject &frame);

private:
    void onTextMessageReceived(const QString &text);
    void onDisconnected();

    QWebSocket m_socket;
    QString m_nick;
    QList<QJsonObject> m_frames;
    QList<bool> m_taken;
    QHash<QString, int> m_counts;
    QStringList m_ignored;
    int m_firstUntaken = 0;
    int m_fenceCount = 0;
    bool m_open = false;
    bool m_closed = false;
    int m_closeCode = -1;
    QString m_closeReason;
};

// Compact text for a frame, for failure messages.
QString frameText(const QJsonObject &frame);
