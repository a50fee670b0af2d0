#pragma once

#include <QSortFilterProxyModel>

class LogModel;

// Narrows the log to one room (or direct messages), one user and a piece of text, and can hide
// the comings and goings to leave only the conversation and the host's actions.
class LogFilterProxy : public QSortFilterProxyModel
{
    Q_OBJECT

public:
    explicit LogFilterProxy(LogModel *source, QObject *parent = nullptr);

    // Empty: every room. DirectRoom: direct messages only.
    void setRoom(const QString &room);
    void setUser(const QString &user);
    void setText(const QString &text);
    void setShowPresence(bool show);

    bool isFiltering() const;

    static QString directRoom() { return QStringLiteral("\x01direct"); }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    LogModel *m_source;
    QString m_room;
    QString m_user;
    QString m_text;
    bool m_showPresence = true;
};
