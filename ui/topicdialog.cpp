#include "topicdialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QVBoxLayout>

TopicDialog::TopicDialog(const QStringList &rooms, const QHash<QString, QString> &topics,
                         QWidget *parent)
    : QDialog(parent)
    , m_topics(topics)
    , m_room(new QComboBox(this))
    , m_topic(new QLineEdit(this))
{
    setObjectName(QStringLiteral("topicDialog"));
    setWindowTitle(tr("Room topic"));

    m_room->setObjectName(QStringLiteral("room"));
    m_room->setEditable(true);
    m_room->addItems(rooms);
    // The room name rules of the protocol, so that a typo is caught here and not by the server.
    m_room->setValidator(new QRegularExpressionValidator(
        QRegularExpression(QStringLiteral("[a-z0-9_-]{1,32}")), m_room));
    m_topic->setObjectName(QStringLiteral("topic"));
    m_topic->setPlaceholderText(tr("Empty clears the topic"));
    m_topic->setMaxLength(200);
    connect(m_room, &QComboBox::currentTextChanged, this,
            [this](const QString &room) { m_topic->setText(m_topics.value(room)); });
    m_topic->setText(m_topics.value(m_room->currentText()));

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    auto *set = buttons->addButton(tr("Set topic"), QDialogButtonBox::AcceptRole);
    set->setDefault(true);
    connect(m_room, &QComboBox::currentTextChanged, this,
            [set](const QString &room) { set->setEnabled(!room.isEmpty()); });
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("Room:"), m_room);
    form->addRow(tr("Topic:"), m_topic);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    resize(440, sizeHint().height());
}

QString TopicDialog::room() const
{
    return m_room->currentText().trimmed();
}

void TopicDialog::setRoom(const QString &room)
{
    m_room->setCurrentText(room);
}

QString TopicDialog::topic() const
{
    return m_topic->text().trimmed();
}

void TopicDialog::setTopic(const QString &topic)
{
    m_topic->setText(topic);
}
