#pragma once

#include <QDialog>

class BanModel;
class QPushButton;
class QTableView;

// The bans in force, with a way to lift them. It stays open beside the window and follows the
// server's list as it changes.
class BanListDialog : public QDialog
{
    Q_OBJECT

public:
    explicit BanListDialog(BanModel *model, QWidget *parent = nullptr);

    QTableView *view() const { return m_view; }
    // Asks to lift every selected ban.
    void unbanSelected();

Q_SIGNALS:
    void unbanRequested(quint64 banId);

private:
    void updateButtons();

    BanModel *m_model;
    QTableView *m_view;
    QPushButton *m_unban;
};
