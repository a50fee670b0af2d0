#include "logmodel.h"

#include <QBrush>
#include <QColor>
#include <QFont>

LogModel::LogModel(QObject *parent)
    : QAbstractTableModel(parent)
{
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(150);
    connect(&m_flushTimer, &QTimer::timeout, this, &LogModel::flush);
}

int LogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int LogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString LogModel::kindName(LogEntry::Kind kind)
{
    switch (kind) {
    case LogEntry::Message:
        return tr("message");
    case LogEntry::Direct:
        return tr("direct");
    case LogEntry::Joined:
        return tr("joined");
    case LogEntry::Left:
        return tr("left");
    case LogEntry::Renamed:
        return tr("renamed");
    case LogEntry::Connected:
        return tr("connected");
    case LogEntry::Disconnected:
        return tr("disconnected");
    case LogEntry::Notice:
        return tr("notice");
    case LogEntry::Topic:
        return tr("topic");
    case LogEntry::Kicked:
        return tr("kicked");
    case LogEntry::Banned:
        return tr("banned");
    case LogEntry::Unbanned:
        return tr("unbanned");
    case LogEntry::Muted:
        return tr("muted");
    case LogEntry::Unmuted:
        return tr("unmuted");
    case LogEntry::Server:
        return tr("server");
    case LogEntry::Failure:
        return tr("failed");
    }
    return {};
}

QVariant LogModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_entries.size())
        return {};
    const LogEntry &e = m_entries.at(index.row());

    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return e.time.toLocalTime().toString(QStringLiteral("HH:mm:ss"));
        case KindColumn:
            return kindName(e.kind);
        case RoomColumn:
            if (e.kind == LogEntry::Direct)
                return tr("direct");
            if (e.room.isEmpty())
                return e.kind == LogEntry::Notice ? tr("everyone") : QString();
            return QString(u'#' + e.room);
        case SenderColumn:
            if (e.kind == LogEntry::Direct)
                return QString(e.sender + QStringLiteral(" → ") + e.recipient);
            return e.sender;
        case TextColumn:
            return e.text;
        }
        return {};
    case Qt::ForegroundRole:
        // Chat reads in the normal colour; what happened around it steps back, host actions
        // stand out and failures are red.
        if (e.kind == LogEntry::Failure)
            return QBrush(QColor(0xc0, 0x1c, 0x28));
        if (e.isHostAction())
            return QBrush(QColor(0xa3, 0x4a, 0x00));
        if (!e.isChat())
            return QBrush(QColor(0x6b, 0x70, 0x78));
        if (e.kind == LogEntry::Direct && index.column() == KindColumn)
            return QBrush(QColor(0x1a, 0x5f, 0xb4));
        return {};
    case Qt::FontRole:
        if (!e.isChat() && !e.isHostAction() && e.kind != LogEntry::Failure) {
            QFont font;
            font.setItalic(true);
            return font;
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == TimeColumn)
            return e.time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
        return {};
    case KindRole:
        return int(e.kind);
    case RoomRole:
        return e.room;
    case SenderRole:
        return e.sender;
    default:
        return {};
    }
}

QVariant LogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case KindColumn:
        return tr("Kind");
    case RoomColumn:
        return tr("Room");
    case SenderColumn:
        return tr("From");
    case TextColumn:
        return tr("Text");
    }
    return {};
}

void LogModel::append(const LogEntry &entry)
{
    m_pending.append(entry);
    // More queued than can ever be shown: the oldest would be trimmed right away anyway.
    if (m_pending.size() > m_capacity)
        m_pending.remove(0, m_pending.size() - m_capacity);
    if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

void LogModel::flush()
{
    m_flushTimer.stop();
    if (m_pending.isEmpty())
        return;

    // Make room first, so the views never hold more than the capacity.
    const qsizetype overflow = m_entries.size() + m_pending.size() - m_capacity;
    if (overflow > 0) {
        const int drop = int(qMin(overflow, m_entries.size()));
        if (drop == m_entries.size()) {
            beginResetModel();
            m_entries.clear();
            endResetModel();
        } else {
            beginRemoveRows({}, 0, drop - 1);
            m_entries.remove(0, drop);
            endRemoveRows();
        }
    }

    const int first = int(m_entries.size());
    beginInsertRows({}, first, first + int(m_pending.size()) - 1);
    m_entries.append(m_pending);
    endInsertRows();
    m_pending.clear();
    Q_EMIT flushed();
}

void LogModel::clear()
{
    m_pending.clear();
    beginResetModel();
    m_entries.clear();
    endResetModel();
}

void LogModel::setCapacity(int rows)
{
    m_capacity = qMax(1, rows);
    trim();
}

void LogModel::trim()
{
    if (m_pending.size() > m_capacity)
        m_pending.remove(0, m_pending.size() - m_capacity);
    if (m_entries.size() <= m_capacity)
        return;
    const int drop = int(m_entries.size() - m_capacity);
    beginRemoveRows({}, 0, drop - 1);
    m_entries.remove(0, drop);
    endRemoveRows();
}
