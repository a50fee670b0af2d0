#include "serverconfig.h"

#include <QSettings>

#include <type_traits>

using namespace Qt::StringLiterals;

namespace {

constexpr int NameLength = 64;
// A hello, the frame around a say and its room, with room to spare.
constexpr qint64 FrameOverheadBytes = 1024;
// A code point takes at most 4 bytes in UTF-8.
constexpr qint64 BytesPerCodePoint = 4;

// Every number a host can set, with the range the server works with. One table for reading
// the settings and for checking a configuration, so that both say the same.
// The rate limits reach a billion so that a benchmark can turn them off in effect.
template<typename Config, typename Visit> void forEachNumber(Config &c, Visit visit)
{
    visit("port", c.port, 0, 65535);
    visit("textLength", c.textLength, 1, 100'000);
    visit("nickLength", c.nickLength, 1, 64);
    visit("messagesPerSecond", c.messagesPerSecond, 1, 1'000'000'000);
    visit("burst", c.burst, 1, 1'000'000'000);
    visit("floodDrops", c.floodDrops, 1, 1'000'000'000);
    visit("floodWindowMs", c.floodWindowMs, 100, 86'400'000);
    visit("passwordFailures", c.passwordFailures, 0, 1'000'000'000); // 0: no throttle
    visit("passwordFailureWindowMs", c.passwordFailureWindowMs, 100, 86'400'000);
    visit("passwordLockoutMs", c.passwordLockoutMs, 100, 86'400'000);
    visit("maxConnections", c.maxConnections, 1, 1'000'000);
    visit("maxConnectionsPerAddress", c.maxConnectionsPerAddress, 1, 1'000'000);
    visit("maxRooms", c.maxRooms, 1, 1'000'000);
    visit("maxRoomsPerUser", c.maxRoomsPerUser, 1, 1'000'000);
    visit("helloTimeoutMs", c.helloTimeoutMs, 100, 86'400'000);
    visit("pingIntervalMs", c.pingIntervalMs, 100, 86'400'000);
    visit("idleTimeoutMs", c.idleTimeoutMs, 100, 86'400'000);
    visit("typingIntervalMs", c.typingIntervalMs, 0, 86'400'000);
    visit("maxMessageBytes", c.maxMessageBytes, FrameOverheadBytes, 64 * 1024 * 1024);
    visit("maxPendingBytes", c.maxPendingBytes, 64 * 1024, qint64(1024) * 1024 * 1024);
    visit("handshakeTimeoutMs", c.handshakeTimeoutMs, 100, 86'400'000);
    visit("historyLength", c.historyLength, 0, 10'000);
    visit("retentionDays", c.retentionDays, 0, 36'500);
    visit("listenBacklog", c.listenBacklog, 1, 65'535);
}

QString rangeError(const char *key, const QString &value, qint64 minimum, qint64 maximum)
{
    return u"%1=%2: %1 takes a whole number from %3 to %4"_s.arg(QLatin1StringView(key), value)
        .arg(minimum)
        .arg(maximum);
}

template<typename T> void read(QSettings &settings, const char *key, T &value)
{
    const QString name = QString::fromLatin1(key);
    if (settings.contains(name))
        value = settings.value(name).value<T>();
}

} // namespace

bool ServerConfig::load(QSettings &settings, QString *error)
{
    QString problem;
    const auto note = [&problem](const QString &text) {
        if (problem.isEmpty())
            problem = text;
    };

    forEachNumber(*this, [&](const char *key, auto &value, qint64 minimum, qint64 maximum) {
        const QString name = QString::fromLatin1(key);
        if (!settings.contains(name))
            return;
        // Read as text: QVariant would wrap 70000 into a port and take "abc" for 0.
        const QString text = settings.value(name).toString().trimmed();
        bool ok = false;
        const qint64 number = text.toLongLong(&ok);
        if (!ok || number < minimum || number > maximum) {
            note(rangeError(key, text, minimum, maximum));
            return;
        }
        value = std::remove_reference_t<decltype(value)>(number);
    });

    if (settings.contains(u"bind"_s)) {
        const QString bind = settings.value(u"bind"_s).toString().trimmed();
        const QHostAddress address = bind.isEmpty() || bind == u"any"_s
            ? QHostAddress(QHostAddress::Any)
            : QHostAddress(bind);
        if (address.isNull())
            note(u"bind=%1: bind takes an IP address of this computer, or any"_s.arg(bind));
        else
            bindAddress = address;
    }
    if (settings.contains(u"storeEnabled"_s)) {
        const QString text = settings.value(u"storeEnabled"_s).toString().trimmed().toLower();
        if (text == u"true"_s || text == u"1"_s)
            storeEnabled = true;
        else if (text == u"false"_s || text == u"0"_s)
            storeEnabled = false;
        else
            note(u"storeEnabled=%1: storeEnabled takes true or false"_s.arg(text));
    }
    read(settings, "name", name);
    read(settings, "motd", motd);
    read(settings, "password", password);
    read(settings, "dataDir", dataDir);

    if (error)
        *error = problem;
    return problem.isEmpty();
}

QString ServerConfig::validate() const
{
    QString problem;
    forEachNumber(*this, [&](const char *key, const auto &value, qint64 minimum, qint64 maximum) {
        if (problem.isEmpty() && (qint64(value) < minimum || qint64(value) > maximum))
            problem = rangeError(key, QString::number(qint64(value)), minimum, maximum);
    });
    if (!problem.isEmpty())
        return problem;

    if (bindAddress.isNull())
        return u"bind takes an IP address of this computer, or any"_s;
    const QString trimmedName = name.trimmed();
    if (trimmedName.isEmpty() || trimmedName.size() > NameLength)
        return u"name must be 1 to %1 characters long"_s.arg(NameLength);
    const qint64 needed = FrameOverheadBytes + BytesPerCodePoint * textLength;
    if (maxMessageBytes < needed) {
        return u"maxMessageBytes=%1: maxMessageBytes must be at least %2 with textLength=%3, so "
               "that a message of full length fits"_s.arg(maxMessageBytes)
                   .arg(needed)
                   .arg(textLength);
    }
    if (maxPendingBytes < maxMessageBytes) {
        return u"maxPendingBytes=%1: maxPendingBytes must be at least maxMessageBytes (%2)"_s
            .arg(maxPendingBytes)
            .arg(maxMessageBytes);
    }
    return {};
}

void ServerConfig::save(QSettings &settings) const
{
    settings.setValue(u"port"_s, port);
    settings.setValue(u"bind"_s,
                      bindAddress == QHostAddress(QHostAddress::Any) ? u"any"_s
                                                                     : bindAddress.toString());
    settings.setValue(u"name"_s, name);
    settings.setValue(u"motd"_s, motd);
    settings.setValue(u"password"_s, password);
    settings.setValue(u"dataDir"_s, dataDir);
    settings.setValue(u"textLength"_s, textLength);
    settings.setValue(u"nickLength"_s, nickLength);
    settings.setValue(u"messagesPerSecond"_s, messagesPerSecond);
    settings.setValue(u"burst"_s, burst);
    settings.setValue(u"floodDrops"_s, floodDrops);
    settings.setValue(u"floodWindowMs"_s, floodWindowMs);
    settings.setValue(u"passwordFailures"_s, passwordFailures);
    settings.setValue(u"passwordFailureWindowMs"_s, passwordFailureWindowMs);
    settings.setValue(u"passwordLockoutMs"_s, passwordLockoutMs);
    settings.setValue(u"maxConnections"_s, maxConnections);
    settings.setValue(u"maxConnectionsPerAddress"_s, maxConnectionsPerAddress);
    settings.setValue(u"maxRooms"_s, maxRooms);
    settings.setValue(u"maxRoomsPerUser"_s, maxRoomsPerUser);
    settings.setValue(u"helloTimeoutMs"_s, helloTimeoutMs);
    settings.setValue(u"pingIntervalMs"_s, pingIntervalMs);
    settings.setValue(u"idleTimeoutMs"_s, idleTimeoutMs);
    settings.setValue(u"typingIntervalMs"_s, typingIntervalMs);
    settings.setValue(u"maxMessageBytes"_s, maxMessageBytes);
    settings.setValue(u"maxPendingBytes"_s, maxPendingBytes);
    settings.setValue(u"handshakeTimeoutMs"_s, handshakeTimeoutMs);
    settings.setValue(u"historyLength"_s, historyLength);
    settings.setValue(u"storeEnabled"_s, storeEnabled);
    settings.setValue(u"retentionDays"_s, retentionDays);
    settings.setValue(u"listenBacklog"_s, listenBacklog);
}
