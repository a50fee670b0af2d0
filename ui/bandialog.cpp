#include "bandialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

BanDialog::BanDialog(const QList<Target> &targets, QWidget *parent)
    : QDialog(parent)
    , m_targets(targets)
    , m_nick(new QCheckBox(this))
    , m_address(new QCheckBox(this))
    , m_duration(new QComboBox(this))
    , m_reason(new QLineEdit(this))
{
    setObjectName(QStringLiteral("banDialog"));
    setWindowTitle(tr("Ban"));

    QStringList nicks;
    QStringList addresses;
    for (const Target &t : targets) {
        if (!t.nick.isEmpty())
            nicks.append(t.nick);
        if (!t.address.isEmpty() && !addresses.contains(t.address))
            addresses.append(t.address);
    }

    auto *question = new QLabel(this);
    question->setTextFormat(Qt::PlainText);
    question->setWordWrap(true);
    question->setText(tr("Disconnect and keep out %1?")
                          .arg(nicks.isEmpty() ? addresses.join(QStringLiteral(", "))
                                               : nicks.join(QStringLiteral(", "))));

    m_nick->setObjectName(QStringLiteral("banNick"));
    m_nick->setText(tr("Nickname: %1").arg(nicks.join(QStringLiteral(", "))));
    m_nick->setChecked(!nicks.isEmpty());
    m_nick->setEnabled(!nicks.isEmpty());
    m_address->setObjectName(QStringLiteral("banAddress"));
    m_address->setText(tr("Address: %1").arg(addresses.join(QStringLiteral(", "))));
    m_address->setChecked(nicks.isEmpty() && !addresses.isEmpty());
    m_address->setEnabled(!addresses.isEmpty());
    m_address->setToolTip(tr("Everyone connecting from this address, whatever their nickname"));

    m_duration->setObjectName(QStringLiteral("duration"));
    m_duration->addItem(tr("10 minutes"), 600);
    m_duration->addItem(tr("1 hour"), 3600);
    m_duration->addItem(tr("1 day"), 86400);
    m_duration->addItem(tr("Forever"), 0);
    m_duration->setCurrentIndex(1);

    m_reason->setObjectName(QStringLiteral("reason"));
    m_reason->setPlaceholderText(tr("Shown to them, optional"));
    m_reason->setMaxLength(200);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_ban = buttons->addButton(tr("Ban"), QDialogButtonBox::AcceptRole);
    m_ban->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_nick, &QCheckBox::toggled, this, &BanDialog::updateBanButton);
    connect(m_address, &QCheckBox::toggled, this, &BanDialog::updateBanButton);

    auto *form = new QFormLayout;
    form->addRow(tr("Ban:"), m_nick);
    form->addRow(QString(), m_address);
    form->addRow(tr("For:"), m_duration);
    form->addRow(tr("Reason:"), m_reason);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(question);
    layout->addLayout(form);
    layout->addWidget(buttons);
    updateBanButton();
    resize(440, sizeHint().height());
}

bool BanDialog::banNick() const
{
    return m_nick->isEnabled() && m_nick->isChecked();
}

bool BanDialog::banAddress() const
{
    return m_address->isEnabled() && m_address->isChecked();
}

void BanDialog::setBanNick(bool on)
{
    m_nick->setChecked(on);
}

void BanDialog::setBanAddress(bool on)
{
    m_address->setChecked(on);
}

int BanDialog::durationSeconds() const
{
    return m_duration->currentData().toInt();
}

void BanDialog::setDurationSeconds(int seconds)
{
    const int index = m_duration->findData(seconds);
    if (index >= 0)
        m_duration->setCurrentIndex(index);
}

QString BanDialog::reason() const
{
    return m_reason->text().trimmed();
}

void BanDialog::setReason(const QString &reason)
{
    m_reason->setText(reason);
}

void BanDialog::updateBanButton()
{
    if (m_ban)
        m_ban->setEnabled(banNick() || banAddress());
}
