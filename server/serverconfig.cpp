#include "serverconfig.h"

#include <QSettings>

using namespace Qt::StringLiterals;

namespace {

template<typename T> void read(QSettings &settings, const char *key, T &value)
{
    const QString name = QString::fromLatin1(key);
    if (settings.contains(name))
        value = settings.value(name).value<T>();
}

} // namespace

void ServerConfig::load(QSettings &settings)
{
    read(settings, "port", port);
    if (settings.contains(u"bind"_s)) {
        const QString bind = settings.value(u"bind"_s).toString().trimmed();
        bindAddress = bind.isEmpty() || bind == u"any"_s ? QHostAddress(QHostAddress::Any)
                                                         : QHostAddress(bind);
    }
    read(settings, "name", name);
    read(settings, "motd", motd);
    read(settings, "password", password);
    read(settings, "dataDir", dataDir);
    read(settings, "textLength", textLength);
    read(settings, "nickLength", nickLength);
    read(settings, "messagesPerSecond", messagesPerSecond);
    read(settings, "burst", burst);
    read(settings, "floodDrops", floodDrops);
    read(settings, "floodWindowMs", floodWindowMs);
    read(settings, "passwordFailures", passwordFailures);
    read(settings, "passwordFailureWindowMs", passwordFailureWindowMs);
    read(settings, "passwordLockoutMs", passwordLockoutMs);
    read(settings, "maxConnections", maxConnections);
    read(settings, "maxConnectionsPerAddress", maxConnectionsPerAddress);
    read(settings, "helloTimeoutMs", helloTimeoutMs);
    read(settings, "pingIntervalMs", pingIntervalMs);
    read(settings, "idleTimeoutMs", idleTimeoutMs);
    read(settings, "typingIntervalMs", typingIntervalMs);
    read(settings, "maxMessageBytes", maxMessageBytes);
    read(settings, "maxPendingBytes", maxPendingBytes);
    read(settings, "handshakeTimeoutMs", handshakeTimeoutMs);
    read(settings, "historyLength", historyLength);
    read(settings, "storeEnabled", storeEnabled);
    read(settings, "retentionDays", retentionDays);
    read(settings, "listenBacklog", listenBacklog);
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
