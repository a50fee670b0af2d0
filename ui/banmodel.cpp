#include "banmodel.h"

BanModel::BanModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int BanModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_bans.size());
}

int BanModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant BanModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_bans.size())
        return {};
    const Ban &ban = m_bans.at(index.row());
    if (role == IdRole)
        return ban.id;
    if (role != Qt::DisplayRole)
        return {};

    const QString format = QStringLiteral("yyyy-MM-dd HH:mm");
    switch (index.column()) {
    case NickColumn:
        return ban.nick.isEmpty() ? QStringLiteral("–") : ban.nick;
    case AddressColumn:
        return ban.address.isEmpty() ? QStringLiteral("–") : ban.address;
    case SinceColumn:
        return ban.since.toLocalTime().toString(format);
    case UntilColumn:
        return ban.isPermanent() ? tr("forever") : ban.until.toLocalTime().toString(format);
    case ReasonColumn:
        return ban.reason;
    }
    return {};
}

QVariant BanModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NickColumn:
        return tr("Nickname");
    case AddressColumn:
        return tr("Address");
    case SinceColumn:
        return tr("Since");
    case UntilColumn:
        return tr("Until");
    case ReasonColumn:
        return tr("Reason");
    }
    return {};
}

void BanModel::setBans(const QList<Ban> &bans)
{
    beginResetModel();
    m_bans = bans;
    endResetModel();
}
