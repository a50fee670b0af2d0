#include "chattypes.h"

void LanChat::registerMetaTypes()
{
    qRegisterMetaType<ClientInfo>();
    qRegisterMetaType<ClientStats>();
    qRegisterMetaType<QList<ClientStats>>();
    qRegisterMetaType<ServerCounters>();
    qRegisterMetaType<ChatMessage>();
    qRegisterMetaType<Ban>();
    qRegisterMetaType<QList<Ban>>();
    qRegisterMetaType<ModerationAction>();
}

QHostAddress LanChat::plainAddress(const QHostAddress &address)
{
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        bool isV4 = false;
        const quint32 v4 = address.toIPv4Address(&isV4);
        if (isV4)
            return QHostAddress(v4);
    }
    return address;
}
