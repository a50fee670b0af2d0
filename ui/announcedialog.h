#pragma once

#include <QDialog>

class QComboBox;
class QPlainTextEdit;

// Writes a notice from the host to everyone or to one room.
class AnnounceDialog : public QDialog
{
    Q_OBJECT

public:
    explicit AnnounceDialog(const QStringList &rooms, QWidget *parent = nullptr);

    // Empty: everyone.
    QString room() const;
    void setRoom(const QString &room);
    QString text() const;
    void setText(const QString &text);

private:
    QComboBox *m_room;
    QPlainTextEdit *m_text;
};
