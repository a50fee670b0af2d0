#pragma once

#include <QDialog>
#include <QStringList>

class QLineEdit;

// Asks the host to confirm a kick and gives it a reason the kicked people will read.
class KickDialog : public QDialog
{
    Q_OBJECT

public:
    explicit KickDialog(const QStringList &nicks, QWidget *parent = nullptr);

    QStringList nicks() const { return m_nicks; }
    QString reason() const;
    void setReason(const QString &reason);

private:
    QStringList m_nicks;
    QLineEdit *m_reason;
};
