#pragma once

#include "chattypes.h"

#include <QByteArray>
#include <QList>
#include <QString>

class SqliteStore;

// Writes stored history as CSV or JSON, and reads it back.
//
// CSV (RFC 4180, UTF-8, CRLF between records) has the header id,room,from,to,text,ts; text
// fields are always quoted, so commas, quotes and line breaks inside a message survive. JSON is
// an array with one object per message, in the form the wire protocol sends them: type
// "message" with room, or type "dm" with to. Times are UTC ISO 8601 with milliseconds.
class HistoryExport
{
public:
    enum class Format { Csv, Json };

    // The format a file's extension asks for (.csv or .json, any case).
    static bool formatForFile(const QString &fileName, Format *format);

    static QByteArray toCsv(const QList<ChatMessage> &messages);
    static QByteArray toJson(const QList<ChatMessage> &messages);
    static bool fromCsv(const QByteArray &data, QList<ChatMessage> *messages, QString *error);
    static bool fromJson(const QByteArray &data, QList<ChatMessage> *messages, QString *error);

    // Writes the stored messages of room (all of them, direct ones too, when room is empty) to
    // fileName, replacing it only once everything is written.
    static bool write(const SqliteStore &store, const QString &fileName, Format format,
                      const QString &room, QString *error, qint64 *count = nullptr);

    // What `lanchat --export FILE [--room NAME]` does: opens the history in dataDir read-only
    // (the server may be running) and writes fileName in the format its extension names.
    static bool exportFile(const QString &dataDir, const QString &fileName, const QString &room,
                           QString *error, qint64 *count = nullptr);

private:
    static QByteArray csvHeader();
    static QByteArray csvRow(const ChatMessage &message);
    static QByteArray jsonObject(const ChatMessage &message);
};
