#include "historymodel.h"

#include <QLocale>

using namespace Qt::StringLiterals;

HistoryModel::HistoryModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int HistoryModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_messages.size());
}

int HistoryModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HistoryModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const ChatMessage &message = m_messages.at(index.row());

    if (role == IdRole)
        return message.id;
    if (role == Qt::ToolTipRole && index.column() == TextColumn)
        return message.text;
    if (role != Qt::DisplayRole)
        return {};

    switch (index.column()) {
    case TimeColumn:
        return QLocale().toString(message.ts.toLocalTime(), QLocale::ShortFormat);
    case WhereColumn:
        return message.isDirect() ? tr("to %1").arg(message.to) : u'#' + message.room;
    case FromColumn:
        return message.from;
    case TextColumn: {
        // One line per row; the tooltip shows the text as it was written.
        QString text = message.text;
        text.replace(u"\r\n"_s, u" ⏎ "_s).replace(u'\n', u" ⏎ "_s).replace(u'\r', u" ⏎ "_s);
        return text;
    }
    }
    return {};
}

QVariant HistoryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case WhereColumn:
        return tr("Room");
    case FromColumn:
        return tr("From");
    case TextColumn:
        return tr("Message");
    }
    return {};
}

void HistoryModel::setMessages(const QList<ChatMessage> &messages)
{
    beginResetModel();
    m_messages = messages;
    endResetModel();
}
