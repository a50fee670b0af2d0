#pragma once

#include <QDialog>
#include <QHash>

class QComboBox;
class QLineEdit;

// Sets the topic of a room; the room's current topic is filled in to edit.
class TopicDialog : public QDialog
{
    Q_OBJECT

public:
    TopicDialog(const QStringList &rooms, const QHash<QString, QString> &topics,
                QWidget *parent = nullptr);

    QString room() const;
    void setRoom(const QString &room);
    QString topic() const;
    void setTopic(const QString &topic);

private:
    QHash<QString, QString> m_topics;
    QComboBox *m_room;
    QLineEdit *m_topic;
};
