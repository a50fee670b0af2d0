#pragma once

#include "chattypes.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>

#include <vector>

// The live connections, one row per WebSocket. The server sends a full snapshot a few times a
// second; applying one moves only the rows that changed, so selection and scrolling survive and
// ten thousand rows stay cheap.
class ConnectionModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        NickColumn,
        AddressColumn,
        RoomsColumn,
        ConnectedColumn,
        IdleColumn,
        MessagesInColumn,
        MessagesOutColumn,
        BytesInColumn,
        BytesOutColumn,
        RttColumn,
        StateColumn,
        ColumnCount
    };

    enum Role {
        SortRole = Qt::UserRole + 1, // raw values, so that numbers sort as numbers
        IdRole,
        NickRole,
        AddressRole,
    };

    explicit ConnectionModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Makes the rows match the snapshot: gone clients are removed, new ones appended.
    void applySnapshot(const QList<ClientStats> &clients);
    void clear();

    const ClientStats &clientAt(int row) const { return m_rows.at(size_t(row)); }
    int rowOfId(quint64 id) const { return m_rowById.value(id, -1); }
    int rowOfNick(const QString &nick) const;
    // Every room someone is in, sorted.
    QStringList rooms() const;

private:
    // Brings the id index up to date for the rows from this one on.
    void reindexFrom(int first);

    // A vector, so that removing rows from the middle moves the rest instead of copying them.
    std::vector<ClientStats> m_rows;
    QHash<quint64, int> m_rowById;
};
