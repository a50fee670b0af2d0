#include "testclient.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QTimer>
#include <QUrl>

using namespace Qt::StringLiterals;

namespace {

struct Waiter
{
    QEventLoop *loop;
    // A zero-interval timer: many frames arriving in one pass of the event loop cost one look
    // at the predicate.
    QTimer *lookAgain;
};

QList<Waiter> &waiters()
{
    static QList<Waiter> list;
    return list;
}

} // namespace

QString frameText(const QJsonObject &frame)
{
    return QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact));
}

TestClient::TestClient(QObject *parent)
    : QObject(parent)
{
    connect(&m_socket, &QWebSocket::connected, this, [this] {
        m_open = true;
        notifyActivity();
    });
    connect(&m_socket, &QWebSocket::disconnected, this, &TestClient::onDisconnected);
    connect(&m_socket, &QWebSocket::textMessageReceived, this, &TestClient::onTextMessageReceived);
}

TestClient::~TestClient()
{
    m_socket.disconnect(this);
    m_socket.abort();
}

bool TestClient::open(quint16 port, int timeoutMs)
{
    m_socket.open(QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(port)));
    return waitUntil([this] { return m_open || m_closed; }, timeoutMs) && m_open;
}

bool TestClient::hello(const QString &nick, const QString &password, int timeoutMs)
{
    QJsonObject request {{u"type"_s, u"hello"_s}, {u"nick"_s, nick}};
    if (!password.isNull())
        request.insert(u"password"_s, password);
    send(request);

    const QJsonObject welcome = take(u"welcome"_s, timeoutMs);
    if (welcome.isEmpty())
        return false;
    m_nick = welcome.value(u"nick"_s).toString();
    const QJsonObject lobby = take(
        u"joined"_s, [](const QJsonObject &f) { return f.value(u"room"_s) == u"lobby"_s; },
        timeoutMs);
    return !lobby.isEmpty();
}

void TestClient::send(const QJsonObject &request)
{
    sendRaw(frameText(request));
}

void TestClient::sendRaw(const QString &text)
{
    m_socket.sendTextMessage(text);
    m_socket.flush();
}

void TestClient::sendBinary(const QByteArray &data)
{
    m_socket.sendBinaryMessage(data);
    m_socket.flush();
}

bool TestClient::fence(int timeoutMs)
{
    const QString ref = u"fence-%1"_s.arg(++m_fenceCount);
    send({{u"type"_s, u"rooms"_s}, {u"ref"_s, ref}});
    return !take(
                u"rooms"_s, [&ref](const QJsonObject &f) { return f.value(u"ref"_s) == ref; },
                timeoutMs)
                .isEmpty();
}

void TestClient::close()
{
    m_socket.close();
}

void TestClient::abort()
{
    m_socket.abort();
}

QList<QJsonObject> TestClient::framesOfType(const QString &type) const
{
    QList<QJsonObject> result;
    for (const QJsonObject &frame : m_frames) {
        if (frame.value(u"type"_s).toString() == type)
            result.append(frame);
    }
    return result;
}

QList<qint64> TestClient::messageIds(const QString &room) const
{
    QList<qint64> ids;
    for (const QJsonObject &frame : m_frames) {
        if (frame.value(u"type"_s).toString() != u"message"_s)
            continue;
        if (!room.isEmpty() && frame.value(u"room"_s).toString() != room)
            continue;
        ids.append(frame.value(u"id"_s).toInteger(-1));
    }
    return ids;
}

QJsonObject TestClient::take(const QString &type, int timeoutMs)
{
    return take(type, Match(), timeoutMs);
}

QJsonObject TestClient::take(const QString &type, const Match &match, int timeoutMs)
{
    int found = -1;
    int scanned = m_firstUntaken;
    const auto look = [&] {
        for (int i = scanned; i < m_frames.size(); ++i) {
            if (m_taken.at(i))
                continue;
            const QJsonObject &frame = m_frames.at(i);
            if (frame.value(u"type"_s).toString() == type && (!match || match(frame))) {
                found = i;
                return true;
            }
        }
        scanned = int(m_frames.size());
        return false;
    };
    if (!look() && !waitUntil(look, timeoutMs))
        return {};

    m_taken[found] = true;
    while (m_firstUntaken < m_frames.size() && m_taken.at(m_firstUntaken))
        ++m_firstUntaken;
    return m_frames.at(found);
}

bool TestClient::has(const QString &type, const Match &match) const
{
    for (int i = m_firstUntaken; i < m_frames.size(); ++i) {
        const QJsonObject &frame = m_frames.at(i);
        if (!m_taken.at(i) && frame.value(u"type"_s).toString() == type && (!match || match(frame)))
            return true;
    }
    return false;
}

void TestClient::clear()
{
    m_frames.clear();
    m_taken.clear();
    m_counts.clear();
    m_firstUntaken = 0;
}

bool TestClient::waitClosed(int timeoutMs)
{
    return waitUntil([this] { return m_closed; }, timeoutMs);
}

QString TestClient::describe() const
{
    QStringList untaken;
    for (int i = m_firstUntaken; i < m_frames.size() && untaken.size() < 12; ++i) {
        if (!m_taken.at(i))
            untaken.append(frameText(m_frames.at(i)).left(160));
    }
    QString text = u"client '%1': %2 frames received; untaken: [%3]"_s.arg(
        m_nick, QString::number(m_frames.size()), untaken.join(u", "_s));
    if (m_closed)
        text += u"; closed with %1 '%2'"_s.arg(QString::number(m_closeCode), m_closeReason);
    return text;
}

bool TestClient::waitUntil(const std::function<bool()> &predicate, int timeoutMs)
{
    if (predicate())
        return true;

    QEventLoop loop;
    QTimer deadline;
    deadline.setSingleShot(true);
    QObject::connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    // State outside the clients (a server counter, a spy) changes without a frame: look again
    // now and then as well.
    QTimer recheck;
    QTimer lookAgain;
    lookAgain.setSingleShot(true);
    lookAgain.setInterval(0);
    const auto check = [&] {
        if (predicate())
            loop.quit();
    };
    QObject::connect(&recheck, &QTimer::timeout, &loop, check);
    QObject::connect(&lookAgain, &QTimer::timeout, &loop, check);
    deadline.start(timeoutMs);
    recheck.start(20);

    waiters().append(Waiter {&loop, &lookAgain});
    loop.exec();
    waiters().removeIf([&loop](const Waiter &w) { return w.loop == &loop; });
    return predicate();
}

void TestClient::notifyActivity()
{
    for (const Waiter &waiter : std::as_const(waiters())) {
        if (!waiter.lookAgain->isActive())
            waiter.lookAgain->start();
    }
}

void TestClient::onTextMessageReceived(const QString &text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(text.toUtf8(), &error);
    // A frame that is not a JSON object is a protocol violation by the server; keep it in a
    // form the tests will not mistake for any message type.
    QJsonObject frame = document.isObject()
        ? document.object()
        : QJsonObject {{u"type"_s, u"<not an object>"_s}, {u"raw"_s, text.left(200)}};
    const QString type = frame.value(u"type"_s).toString();
    ++m_counts[type];
    if (!m_ignored.contains(type)) {
        m_frames.append(frame);
        m_taken.append(false);
    }
    Q_EMIT frameReceived(frame);
    notifyActivity();
}

void TestClient::onDisconnected()
{
    m_open = false;
    m_closed = true;
    m_closeCode = int(m_socket.closeCode());
    m_closeReason = m_socket.closeReason();
    notifyActivity();
}
