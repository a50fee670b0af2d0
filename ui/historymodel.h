#pragma once

#include "chattypes.h"

#include <QAbstractTableModel>
#include <QList>

// Stored messages found in the history, newest first.
class HistoryModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { TimeColumn, WhereColumn, FromColumn, TextColumn, ColumnCount };
    enum Role { IdRole = Qt::UserRole + 1 };

    explicit HistoryModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setMessages(const QList<ChatMessage> &messages);
    const QList<ChatMessage> &messages() const { return m_messages; }

private:
    QList<ChatMessage> m_messages;
};
