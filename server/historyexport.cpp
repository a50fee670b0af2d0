#include "historyexport.h"

#include "sqlitestore.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

using namespace Qt::StringLiterals;

namespace {

const QStringList CsvColumns = {u"id"_s, u"room"_s, u"from"_s, u"to"_s, u"text"_s, u"ts"_s};

QByteArray isoTime(const QDateTime &time)
{
    return time.toUTC().toString(Qt::ISODateWithMs).toUtf8();
}

QDateTime parseTime(const QString &text)
{
    QDateTime time = QDateTime::fromString(text, Qt::ISODateWithMs);
    return time.isValid() ? time.toUTC() : time;
}

QByteArray quoted(const QString &field)
{
    QByteArray bytes = field.toUtf8();
    bytes.replace('"', "\"\"");
    return '"' + bytes + '"';
}

// Splits RFC 4180 text into records of fields. Quoted fields may hold commas, doubled quotes
// and line breaks; records end with CRLF or LF.
bool parseCsv(const QString &text, QList<QStringList> *records, QString *error)
{
    QStringList record;
    QString field;
    bool inQuotes = false;
    bool wasQuoted = false;
    int line = 1;
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        const QChar c = text.at(i);
        if (inQuotes) {
            if (c == u'"') {
                if (i + 1 < size && text.at(i + 1) == u'"') {
                    field += u'"';
                    ++i;
                } else {
                    inQuotes = false;
                }
            } else {
                if (c == u'\n')
                    ++line;
                field += c;
            }
            continue;
        }
        if (c == u'"') {
            if (!field.isEmpty() || wasQuoted) {
                *error = u"line %1: a quote inside an unquoted field"_s.arg(line);
                return false;
            }
            inQuotes = true;
            wasQuoted = true;
        } else if (c == u',') {
            record << field;
            field.clear();
            wasQuoted = false;
        } else if (c == u'\r' || c == u'\n') {
            if (c == u'\r' && i + 1 < size && text.at(i + 1) == u'\n')
                ++i;
            record << field;
            records->append(record);
            record.clear();
            field.clear();
            wasQuoted = false;
            ++line;
        } else {
            if (wasQuoted) {
                *error = u"line %1: text after a closing quote"_s.arg(line);
                return false;
            }
            field += c;
        }
    }
    if (inQuotes) {
        *error = u"a quoted field is not closed"_s;
        return false;
    }
    if (!field.isEmpty() || wasQuoted || !record.isEmpty()) {
        record << field;
        records->append(record);
    }
    return true;
}

} // namespace

bool HistoryExport::formatForFile(const QString &fileName, Format *format)
{
    const QString suffix = QFileInfo(fileName).suffix().toLower();
    if (suffix == u"csv"_s)
        *format = Format::Csv;
    else if (suffix == u"json"_s)
        *format = Format::Json;
    else
        return false;
    return true;
}

QByteArray HistoryExport::csvHeader()
{
    return CsvColumns.join(u',').toUtf8() + "\r\n";
}

QByteArray HistoryExport::csvRow(const ChatMessage &message)
{
    return QByteArray::number(message.id) + ',' + quoted(message.room) + ',' + quoted(message.from)
        + ',' + quoted(message.to) + ',' + quoted(message.text) + ',' + isoTime(message.ts)
        + "\r\n";
}

QByteArray HistoryExport::jsonObject(const ChatMessage &message)
{
    QJsonObject object;
    object.insert(u"type"_s, message.isDirect() ? u"dm"_s : u"message"_s);
    object.insert(u"id"_s, qint64(message.id));
    if (message.isDirect())
        object.insert(u"to"_s, message.to);
    else
        object.insert(u"room"_s, message.room);
    object.insert(u"from"_s, message.from);
    object.insert(u"text"_s, message.text);
    object.insert(u"ts"_s, QString::fromUtf8(isoTime(message.ts)));
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QByteArray HistoryExport::toCsv(const QList<ChatMessage> &messages)
{
    QByteArray data = csvHeader();
    for (const ChatMessage &message : messages)
        data += csvRow(message);
    return data;
}

QByteArray HistoryExport::toJson(const QList<ChatMessage> &messages)
{
    QByteArray data = "[";
    for (qsizetype i = 0; i < messages.size(); ++i)
        data += (i == 0 ? "\n" : ",\n") + jsonObject(messages.at(i));
    data += "\n]\n";
    return data;
}

bool HistoryExport::fromCsv(const QByteArray &data, QList<ChatMessage> *messages, QString *error)
{
    QString text = QString::fromUtf8(data);
    if (text.startsWith(QChar(0xfeff)))
        text.remove(0, 1);
    QList<QStringList> records;
    if (!parseCsv(text, &records, error))
        return false;
    if (records.isEmpty() || records.first() != CsvColumns) {
        *error = u"the first line is not the header %1"_s.arg(CsvColumns.join(u','));
        return false;
    }
    messages->clear();
    for (qsizetype i = 1; i < records.size(); ++i) {
        const QStringList &record = records.at(i);
        if (record.size() != CsvColumns.size()) {
            *error = u"record %1 has %2 fields instead of %3"_s.arg(i)
                         .arg(record.size())
                         .arg(CsvColumns.size());
            return false;
        }
        ChatMessage message;
        bool ok = false;
        message.id = record.at(0).toULongLong(&ok);
        message.room = record.at(1);
        message.from = record.at(2);
        message.to = record.at(3);
        message.text = record.at(4);
        message.ts = parseTime(record.at(5));
        if (!ok || !message.ts.isValid()) {
            *error = u"record %1 has a bad id or time"_s.arg(i);
            return false;
        }
        messages->append(message);
    }
    return true;
}

bool HistoryExport::fromJson(const QByteArray &data, QList<ChatMessage> *messages, QString *error)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(data, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = parseError.errorString();
        return false;
    }
    if (!document.isArray()) {
        *error = u"the document is not an array of messages"_s;
        return false;
    }
    messages->clear();
    const QJsonArray array = document.array();
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QJsonObject object = array.at(i).toObject();
        const QString type = object.value(u"type"_s).toString();
        ChatMessage message;
        message.id = quint64(object.value(u"id"_s).toInteger(-1));
        message.room = object.value(u"room"_s).toString();
        message.from = object.value(u"from"_s).toString();
        message.to = object.value(u"to"_s).toString();
        message.text = object.value(u"text"_s).toString();
        message.ts = parseTime(object.value(u"ts"_s).toString());
        if ((type != u"message"_s && type != u"dm"_s) || message.id == quint64(-1)
            || !message.ts.isValid()) {
            *error = u"message %1 lacks its type, id or time"_s.arg(i);
            return false;
        }
        messages->append(message);
    }
    return true;
}

bool HistoryExport::write(const SqliteStore &store, const QString &fileName, Format format,
                          const QString &room, QString *error, qint64 *count)
{
    QSaveFile file(fileName);
    if (!file.open(QIODevice::WriteOnly)) {
        *error
            = u"Cannot write %1: %2"_s.arg(QDir::toNativeSeparators(fileName), file.errorString());
        return false;
    }

    // Streamed, so that a long history never has to fit in memory at once.
    qint64 written = 0;
    bool writeOk = file.write(format == Format::Csv ? csvHeader() : QByteArray("[")) >= 0;
    const bool readOk = writeOk && store.forEachMessage(room, [&](const ChatMessage &message) {
        const QByteArray chunk = format == Format::Csv
            ? csvRow(message)
            : (written == 0 ? "\n" : ",\n") + jsonObject(message);
        ++written;
        writeOk = file.write(chunk) == chunk.size();
        return writeOk;
    });
    if (format == Format::Json && writeOk)
        writeOk = file.write("\n]\n") >= 0;
    if (!readOk || !writeOk) {
        file.cancelWriting();
        *error = writeOk
            ? store.errorString()
            : u"Cannot write %1: %2"_s.arg(QDir::toNativeSeparators(fileName), file.errorString());
        return false;
    }
    if (!file.commit()) {
        *error
            = u"Cannot write %1: %2"_s.arg(QDir::toNativeSeparators(fileName), file.errorString());
        return false;
    }
    if (count)
        *count = written;
    return true;
}

bool HistoryExport::exportFile(const QString &dataDir, const QString &fileName, const QString &room,
                               QString *error, qint64 *count)
{
    Format format;
    if (!formatForFile(fileName, &format)) {
        *error = u"Cannot tell the format of %1: name it .csv or .json"_s.arg(fileName);
        return false;
    }
    SqliteStore store;
    if (!store.open(SqliteStore::defaultFilePath(dataDir), SqliteStore::Mode::ReadOnly)) {
        *error = store.errorString();
        return false;
    }
    return write(store, fileName, format, room, error, count);
}
