#pragma once

#include <QDateTime>
#include <QString>

// One line of the window's log: a chat message, or something that happened around the chat.
struct LogEntry
{
    enum Kind {
        Message,
        Direct,
        Joined,
        Left,
        Renamed,
        Connected,
        Disconnected,
        Notice,
        Topic,
        Kicked,
        Banned,
        Unbanned,
        Muted,
        Unmuted,
        Server,
        Failure,
    };

    Kind kind = Message;
    QDateTime time;
    QString room; // empty: direct, or not about one room
    QString sender; // who wrote or did it
    QString recipient; // direct messages only
    QString text;

    bool isChat() const { return kind == Message || kind == Direct; }
    bool isHostAction() const
    {
        return kind == Notice || kind == Topic || kind == Kicked || kind == Banned
            || kind == Unbanned || kind == Muted || kind == Unmuted;
    }
};
