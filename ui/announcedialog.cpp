#include "announcedialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

AnnounceDialog::AnnounceDialog(const QStringList &rooms, QWidget *parent)
    : QDialog(parent)
    , m_room(new QComboBox(this))
    , m_text(new QPlainTextEdit(this))
{
    setObjectName(QStringLiteral("announceDialog"));
    setWindowTitle(tr("Announcement"));

    m_room->setObjectName(QStringLiteral("room"));
    m_room->addItem(tr("Everyone"), QString());
    for (const QString &room : rooms)
        m_room->addItem(u'#' + room, room);
    m_text->setObjectName(QStringLiteral("text"));
    m_text->setPlaceholderText(tr("Pizza is here!"));
    m_text->setTabChangesFocus(true);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    auto *send = buttons->addButton(tr("Announce"), QDialogButtonBox::AcceptRole);
    send->setDefault(true);
    send->setEnabled(false);
    connect(m_text, &QPlainTextEdit::textChanged, this,
            [this, send] { send->setEnabled(!text().isEmpty()); });
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("To:"), m_room);
    form->addRow(tr("Text:"), m_text);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    resize(460, 220);
}

QString AnnounceDialog::room() const
{
    return m_room->currentData().toString();
}

void AnnounceDialog::setRoom(const QString &room)
{
    const int index = m_room->findData(room);
    if (index >= 0) {
        m_room->setCurrentIndex(index);
    } else {
        m_room->addItem(u'#' + room, room);
        m_room->setCurrentIndex(m_room->count() - 1);
    }
}

QString AnnounceDialog::text() const
{
    return m_text->toPlainText().trimmed();
}

void AnnounceDialog::setText(const QString &text)
{
    m_text->setPlainText(text);
}
