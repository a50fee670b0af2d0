#include "kickdialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

KickDialog::KickDialog(const QStringList &nicks, QWidget *parent)
    : QDialog(parent)
    , m_nicks(nicks)
    , m_reason(new QLineEdit(this))
{
    setObjectName(QStringLiteral("kickDialog"));
    setWindowTitle(nicks.size() == 1 ? tr("Kick %1").arg(nicks.first())
                                     : tr("Kick %n people", nullptr, int(nicks.size())));

    auto *question = new QLabel(this);
    question->setTextFormat(Qt::PlainText);
    question->setWordWrap(true);
    question->setText(
        nicks.size() == 1
            ? tr("Disconnect %1? They can join again.").arg(nicks.first())
            : tr("Disconnect %1? They can join again.").arg(nicks.join(QStringLiteral(", "))));

    m_reason->setObjectName(QStringLiteral("reason"));
    m_reason->setPlaceholderText(tr("Shown to them, optional"));
    m_reason->setMaxLength(200);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    auto *kick = buttons->addButton(tr("Kick"), QDialogButtonBox::AcceptRole);
    kick->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("Reason:"), m_reason);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(question);
    layout->addLayout(form);
    layout->addWidget(buttons);
    resize(420, sizeHint().height());
}

QString KickDialog::reason() const
{
    return m_reason->text().trimmed();
}

void KickDialog::setReason(const QString &reason)
{
    m_reason->setText(reason);
}
