#include "connectionfilterproxy.h"

#include "connectionmodel.h"

ConnectionFilterProxy::ConnectionFilterProxy(ConnectionModel *source, QObject *parent)
    : QSortFilterProxyModel(parent)
    , m_source(source)
{
    setSourceModel(source);
    setSortRole(ConnectionModel::SortRole);
    setDynamicSortFilter(true);
}

void ConnectionFilterProxy::setFilterText(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed == m_text)
        return;
    m_text = trimmed;
    invalidateFilter();
}

bool ConnectionFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (m_text.isEmpty() || sourceParent.isValid())
        return true;
    const ClientStats &c = m_source->clientAt(sourceRow);
    const auto has = [this](const QString &s) { return s.contains(m_text, Qt::CaseInsensitive); };
    if (has(c.nick) || has(c.state))
        return true;
    if (has(m_source->data(m_source->index(sourceRow, ConnectionModel::AddressColumn)).toString()))
        return true;
    for (const QString &room : c.rooms) {
        if (has(room))
            return true;
    }
    return false;
}
