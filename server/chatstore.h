#pragma once

#include "chattypes.h"

#include <QList>
#include <QString>

// Where the conversation, the bans and the moderation record outlive the process. The
// ConnectionManager calls it on the network thread; without one, history lives in memory only.
class ChatStore
{
public:
    virtual ~ChatStore() = default;

    // The highest message id ever stored; the next message gets the one after it.
    virtual quint64 lastMessageId() const = 0;
    // Writes a group of messages in one transaction. The manager delivers none of them until
    // this returns true; on false the messages are refused, never delivered unstored.
    virtual bool appendMessages(const QList<ChatMessage> &messages) = 0;
    // The room's latest messages, oldest first.
    virtual QList<ChatMessage> roomHistory(const QString &room, int limit) const = 0;

    virtual QList<Ban> loadBans() const = 0;
    // Stores the ban and returns its id (0 on failure).
    virtual quint64 addBan(const Ban &ban) = 0;
    virtual bool removeBan(quint64 id) = 0;

    virtual void recordAction(const ModerationAction &action) = 0;

    virtual QString errorString() const = 0;
};
