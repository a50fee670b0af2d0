#pragma once

#include <QDialog>
#include <QList>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QPushButton;

// Asks what to ban (the nickname, the address or both), for how long and why. The dialog is
// the confirmation: nothing happens until the host presses Ban.
class BanDialog : public QDialog
{
    Q_OBJECT

public:
    struct Target
    {
        QString nick;
        QString address;
    };

    explicit BanDialog(const QList<Target> &targets, QWidget *parent = nullptr);

    QList<Target> targets() const { return m_targets; }
    bool banNick() const;
    bool banAddress() const;
    void setBanNick(bool on);
    void setBanAddress(bool on);
    // 0: no end.
    int durationSeconds() const;
    void setDurationSeconds(int seconds);
    QString reason() const;
    void setReason(const QString &reason);

    // The durations offered, in seconds; 0 is forever.
    static QList<int> durations() { return {600, 3600, 86400, 0}; }

private:
    void updateBanButton();

    QList<Target> m_targets;
    QCheckBox *m_nick;
    QCheckBox *m_address;
    QComboBox *m_duration;
    QLineEdit *m_reason;
    QPushButton *m_ban = nullptr;
};
