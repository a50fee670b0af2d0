#pragma once

#include <QSortFilterProxyModel>

class ConnectionModel;

// Sorts the connections by the raw value of a column and keeps the rows whose nickname,
// address, rooms or state contain the filter text.
class ConnectionFilterProxy : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit ConnectionFilterProxy(ConnectionModel *source, QObject *parent = nullptr);

    void setFilterText(const QString &text);
    QString filterText() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    ConnectionModel *m_source;
    QString m_text;
};
