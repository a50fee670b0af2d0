#pragma once

#include "chattypes.h"

#include <QAbstractTableModel>
#include <QList>

// The bans in force, as the server last reported them.
class BanModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { NickColumn, AddressColumn, SinceColumn, UntilColumn, ReasonColumn, ColumnCount };
    enum Role { IdRole = Qt::UserRole + 1 };

    explicit BanModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setBans(const QList<Ban> &bans);
    const QList<Ban> &bans() const { return m_bans; }
    const Ban &banAt(int row) const { return m_bans.at(row); }

private:
    QList<Ban> m_bans;
};
