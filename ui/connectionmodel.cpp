#include "connectionmodel.h"

#include <QLocale>
#include <QSet>

namespace {

// A removal burst larger than this many separate row ranges resets the model instead: one
// reset is cheaper for the views than thousands of small removals.
constexpr int MaxRemovalRanges = 64;

QString formatIdle(qint64 ms)
{
    const qint64 s = ms / 1000;
    if (s < 60)
        return QStringLiteral("%1 s").arg(s);
    if (s < 3600)
        return QStringLiteral("%1 min").arg(s / 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString formatSince(const QDateTime &at)
{
    const QDateTime local = at.toLocalTime();
    if (local.date() == QDate::currentDate())
        return local.toString(QStringLiteral("HH:mm:ss"));
    return local.toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

QString formatAddress(const QHostAddress &address, quint16 port)
{
    // A v4-mapped v6 address reads better as plain v4.
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    if (isV4)
        return QHostAddress(v4).toString() + u':' + QString::number(port);
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return u'[' + address.toString() + u"]:" + QString::number(port);
    return address.toString() + u':' + QString::number(port);
}

// Only what the table shows: idle time counts in whole seconds, so that an unchanged row
// does not make the views re-sort it.
bool sameVisible(const ClientStats &a, const ClientStats &b)
{
    return a.nick == b.nick && a.rooms == b.rooms && a.idleMs / 1000 == b.idleMs / 1000
        && a.messagesIn == b.messagesIn && a.messagesOut == b.messagesOut && a.bytesIn == b.bytesIn
        && a.bytesOut == b.bytesOut && a.rttMs == b.rttMs && a.muted == b.muted
        && a.state == b.state;
}

} // namespace

ConnectionModel::ConnectionModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int ConnectionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ConnectionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ConnectionModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const ClientStats &c = m_rows[size_t(index.row())];

    switch (role) {
    case IdRole:
        return c.id;
    case NickRole:
        return c.nick;
    case AddressRole: {
        bool isV4 = false;
        const quint32 v4 = c.address.toIPv4Address(&isV4);
        return isV4 ? QHostAddress(v4).toString() : c.address.toString();
    }
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case IdleColumn:
        case MessagesInColumn:
        case MessagesOutColumn:
        case BytesInColumn:
        case BytesOutColumn:
        case RttColumn:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
        }
    case Qt::DisplayRole:
        switch (index.column()) {
        case NickColumn:
            return c.nick.isEmpty() ? QStringLiteral("(no hello yet)") : c.nick;
        case AddressColumn:
            return formatAddress(c.address, c.port);
        case RoomsColumn:
            return c.rooms.join(QStringLiteral(", "));
        case ConnectedColumn:
            return formatSince(c.connectedAt);
        case IdleColumn:
            return formatIdle(c.idleMs);
        case MessagesInColumn:
            return QString::number(c.messagesIn);
        case MessagesOutColumn:
            return QString::number(c.messagesOut);
        case BytesInColumn:
            return QLocale().formattedDataSize(qint64(c.bytesIn), 1,
                                               QLocale::DataSizeTraditionalFormat);
        case BytesOutColumn:
            return QLocale().formattedDataSize(qint64(c.bytesOut), 1,
                                               QLocale::DataSizeTraditionalFormat);
        case RttColumn:
            return c.rttMs < 0 ? QStringLiteral("–") : QStringLiteral("%1 ms").arg(c.rttMs);
        case StateColumn:
            return c.muted ? QStringLiteral("muted") : c.state;
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case NickColumn:
            return c.nick.toCaseFolded();
        case AddressColumn:
            return formatAddress(c.address, c.port);
        case RoomsColumn:
            return c.rooms.join(u',');
        case ConnectedColumn:
            return c.connectedAt;
        case IdleColumn:
            return c.idleMs / 1000;
        case MessagesInColumn:
            return c.messagesIn;
        case MessagesOutColumn:
            return c.messagesOut;
        case BytesInColumn:
            return c.bytesIn;
        case BytesOutColumn:
            return c.bytesOut;
        case RttColumn:
            return c.rttMs;
        case StateColumn:
            return c.muted ? QStringLiteral("muted") : c.state;
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == ConnectedColumn)
            return c.connectedAt.toLocalTime().toString(Qt::ISODate);
        return {};
    default:
        return {};
    }
}

QVariant ConnectionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case NickColumn:
        return tr("Nickname");
    case AddressColumn:
        return tr("Address");
    case RoomsColumn:
        return tr("Rooms");
    case ConnectedColumn:
        return tr("Since");
    case IdleColumn:
        return tr("Idle");
    case MessagesInColumn:
        return tr("Msgs in");
    case MessagesOutColumn:
        return tr("Msgs out");
    case BytesInColumn:
        return tr("Bytes in");
    case BytesOutColumn:
        return tr("Bytes out");
    case RttColumn:
        return tr("RTT");
    case StateColumn:
        return tr("State");
    }
    return {};
}

void ConnectionModel::applySnapshot(const QList<ClientStats> &clients)
{
    QHash<quint64, int> incoming;
    incoming.reserve(clients.size());
    for (int i = 0; i < clients.size(); ++i)
        incoming.insert(clients.at(i).id, i);

    std::vector<int> gone;
    int ranges = 0;
    for (int row = 0; row < int(m_rows.size()); ++row) {
        if (incoming.contains(m_rows[size_t(row)].id))
            continue;
        if (gone.empty() || gone.back() != row - 1)
            ++ranges;
        gone.push_back(row);
    }
    if (ranges > MaxRemovalRanges) {
        beginResetModel();
        m_rows.assign(clients.cbegin(), clients.cend());
        m_rowById.clear();
        reindexFrom(0);
        endResetModel();
        return;
    }

    // Removals from the bottom up in contiguous ranges, so that row numbers above stay valid
    // while we go.
    if (!gone.empty()) {
        for (const int row : gone)
            m_rowById.remove(m_rows[size_t(row)].id);
        for (auto it = gone.crbegin(); it != gone.crend();) {
            const int last = *it;
            int first = last;
            for (++it; it != gone.crend() && *it == first - 1; ++it)
                first = *it;
            beginRemoveRows({}, first, last);
            m_rows.erase(m_rows.begin() + first, m_rows.begin() + last + 1);
            endRemoveRows();
        }
        reindexFrom(gone.front());
    }

    // Updates in place, announced as one range covering the rows that changed.
    int firstChanged = -1;
    int lastChanged = -1;
    for (int row = 0; row < int(m_rows.size()); ++row) {
        ClientStats &current = m_rows[size_t(row)];
        const ClientStats &fresh = clients.at(incoming.value(current.id));
        if (!sameVisible(current, fresh)) {
            if (firstChanged < 0)
                firstChanged = row;
            lastChanged = row;
        }
        current = fresh;
    }
    if (firstChanged >= 0)
        Q_EMIT dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));

    // New connections go to the end, in the order the snapshot lists them.
    if (int(m_rows.size()) == clients.size())
        return;
    std::vector<const ClientStats *> added;
    for (const ClientStats &c : clients) {
        if (!m_rowById.contains(c.id))
            added.push_back(&c);
    }
    if (added.empty())
        return;
    const int first = int(m_rows.size());
    beginInsertRows({}, first, first + int(added.size()) - 1);
    for (const ClientStats *c : added) {
        m_rowById.insert(c->id, int(m_rows.size()));
        m_rows.push_back(*c);
    }
    endInsertRows();
}

void ConnectionModel::clear()
{
    if (m_rows.empty())
        return;
    beginResetModel();
    m_rows.clear();
    m_rowById.clear();
    endResetModel();
}

int ConnectionModel::rowOfNick(const QString &nick) const
{
    for (int row = 0; row < int(m_rows.size()); ++row) {
        if (m_rows[size_t(row)].nick.compare(nick, Qt::CaseInsensitive) == 0)
            return row;
    }
    return -1;
}

QStringList ConnectionModel::rooms() const
{
    QSet<QString> set;
    for (const ClientStats &c : m_rows) {
        for (const QString &room : c.rooms)
            set.insert(room);
    }
    QStringList list(set.begin(), set.end());
    list.sort();
    return list;
}

void ConnectionModel::reindexFrom(int first)
{
    for (int row = first; row < int(m_rows.size()); ++row)
        m_rowById.insert(m_rows[size_t(row)].id, row);
}
