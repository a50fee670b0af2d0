#include "logfilterproxy.h"

#include "logmodel.h"

LogFilterProxy::LogFilterProxy(LogModel *source, QObject *parent)
    : QSortFilterProxyModel(parent)
    , m_source(source)
{
    setSourceModel(source);
    setDynamicSortFilter(true);
}

void LogFilterProxy::setRoom(const QString &room)
{
    if (room == m_room)
        return;
    m_room = room;
    invalidateFilter();
}

void LogFilterProxy::setUser(const QString &user)
{
    const QString trimmed = user.trimmed();
    if (trimmed == m_user)
        return;
    m_user = trimmed;
    invalidateFilter();
}

void LogFilterProxy::setText(const QString &text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateFilter();
}

void LogFilterProxy::setShowPresence(bool show)
{
    if (show == m_showPresence)
        return;
    m_showPresence = show;
    invalidateFilter();
}

bool LogFilterProxy::isFiltering() const
{
    return !m_room.isEmpty() || !m_user.isEmpty() || !m_text.isEmpty() || !m_showPresence;
}

bool LogFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (sourceParent.isValid())
        return false;
    const LogEntry &e = m_source->entryAt(sourceRow);

    if (!m_showPresence && !e.isChat() && !e.isHostAction() && e.kind != LogEntry::Failure)
        return false;
    if (!m_room.isEmpty()) {
        if (m_room == directRoom()) {
            if (e.kind != LogEntry::Direct)
                return false;
        } else if (e.room.compare(m_room, Qt::CaseInsensitive) != 0
                   && !(e.kind == LogEntry::Notice && e.room.isEmpty())) {
            // A notice to everyone reached this room too.
            return false;
        }
    }
    if (!m_user.isEmpty() && !e.sender.contains(m_user, Qt::CaseInsensitive)
        && !e.recipient.contains(m_user, Qt::CaseInsensitive))
        return false;
    if (!m_text.isEmpty() && !e.text.contains(m_text, Qt::CaseInsensitive))
        return false;
    return true;
}
