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
