#pragma once

#include "logentry.h"

#include <QAbstractTableModel>
#include <QList>
#include <QTimer>

// The conversation and everything around it, oldest first, capped in memory. Entries arrive one
// by one and are handed to the views in batches, so a flood of messages costs the views a few
// insertions a second rather than one per message.
class LogModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { TimeColumn, KindColumn, RoomColumn, SenderColumn, TextColumn, ColumnCount };

    enum Role {
        KindRole = Qt::UserRole + 1,
        RoomRole,
        SenderRole,
    };

    explicit LogModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Queues the entry; it shows at the next flush.
    void append(const LogEntry &entry);
    // Hands the queued entries to the views now and drops the oldest beyond the capacity.
    void flush();
    void clear();

    void setCapacity(int rows);
    int capacity() const { return m_capacity; }
    void setBatchInterval(int ms) { m_flushTimer.setInterval(ms); }

    const LogEntry &entryAt(int row) const { return m_entries.at(row); }
    int pendingCount() const { return int(m_pending.size()); }

    static QString kindName(LogEntry::Kind kind);

Q_SIGNALS:
    // After a flush that added rows; the window follows the end on it.
    void flushed();

private:
    void trim();

    QList<LogEntry> m_entries;
    QList<LogEntry> m_pending;
    QTimer m_flushTimer;
    int m_capacity = 50'000;
};
