#include "settingsdialog.h"

#include <QAction>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QNetworkInterface>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace {

QSpinBox *spinBox(QWidget *parent, const QString &name, int minimum, int maximum, int value,
                  const QString &suffix = {})
{
    auto *box = new QSpinBox(parent);
    box->setObjectName(name);
    box->setRange(minimum, maximum);
    box->setValue(value);
    box->setSuffix(suffix);
    box->setGroupSeparatorShown(true);
    return box;
}

} // namespace

SettingsDialog::SettingsDialog(const ServerConfig &config, bool serverRunning, QWidget *parent)
    : QDialog(parent)
    , m_base(config)
    , m_bind(new QComboBox(this))
    , m_name(new QLineEdit(config.name, this))
    , m_motd(new QPlainTextEdit(config.motd, this))
    , m_password(new QLineEdit(config.password, this))
    , m_error(new QLabel(this))
{
    setObjectName(QStringLiteral("settingsDialog"));
    setWindowTitle(tr("Server settings"));

    m_port = spinBox(this, QStringLiteral("port"), 0, 65535, config.port);
    m_port->setGroupSeparatorShown(false);
    m_port->setSpecialValueText(tr("any free port"));
    m_port->setToolTip(tr("People open http://<this computer>:<port>/ in their browser"));

    m_bind->setObjectName(QStringLiteral("bindAddress"));
    m_bind->setEditable(true);
    m_bind->addItem(tr("All interfaces"), QHostAddress(QHostAddress::Any).toString());
    m_bind->addItem(tr("This computer only"), QStringLiteral("127.0.0.1"));
    const auto addresses = QNetworkInterface::allAddresses();
    for (const QHostAddress &address : addresses) {
        if (address.protocol() == QAbstractSocket::IPv4Protocol && !address.isLoopback())
            m_bind->addItem(address.toString(), address.toString());
    }
    setBindAddress(config.bindAddress == QHostAddress(QHostAddress::Any)
                       ? QHostAddress(QHostAddress::Any).toString()
                       : config.bindAddress.toString());

    m_name->setObjectName(QStringLiteral("name"));
    m_name->setMaxLength(64);
    m_motd->setObjectName(QStringLiteral("motd"));
    m_motd->setPlaceholderText(tr("Shown to everyone who joins"));
    m_motd->setTabChangesFocus(true);
    m_motd->setMaximumHeight(80);
    m_password->setObjectName(QStringLiteral("password"));
    m_password->setEchoMode(QLineEdit::Password);
    m_password->setPlaceholderText(tr("None: anyone on the network can join"));
    auto *reveal = m_password->addAction(QIcon(), QLineEdit::TrailingPosition);
    reveal->setText(tr("Show"));
    reveal->setCheckable(true);
    reveal->setToolTip(tr("Show the password"));
    connect(reveal, &QAction::toggled, this, [this](bool on) {
        m_password->setEchoMode(on ? QLineEdit::Normal : QLineEdit::Password);
    });

    m_maxConnections
        = spinBox(this, QStringLiteral("maxConnections"), 1, 100'000, config.maxConnections);
    m_maxPerAddress = spinBox(this, QStringLiteral("maxConnectionsPerAddress"), 1, 100'000,
                              config.maxConnectionsPerAddress);
    m_roomsPerUser = spinBox(this, QStringLiteral("maxRoomsPerUser"), 1, 10'000,
                             config.maxRoomsPerUser, tr(" rooms"));
    m_messagesPerSecond = spinBox(this, QStringLiteral("messagesPerSecond"), 1, 1000,
                                  config.messagesPerSecond, tr(" per second"));
    m_burst = spinBox(this, QStringLiteral("burst"), 1, 10'000, config.burst, tr(" at once"));
    m_textLength = spinBox(this, QStringLiteral("textLength"), 1, 100'000, config.textLength,
                           tr(" characters"));
    m_history = spinBox(this, QStringLiteral("historyLength"), 0, 10'000, config.historyLength,
                        tr(" messages"));

    auto *server = new QGroupBox(tr("Server"), this);
    auto *serverForm = new QFormLayout(server);
    serverForm->addRow(tr("Port:"), m_port);
    serverForm->addRow(tr("Listen on:"), m_bind);
    serverForm->addRow(tr("Name:"), m_name);
    serverForm->addRow(tr("Welcome text:"), m_motd);
    serverForm->addRow(tr("Password:"), m_password);

    auto *limits = new QGroupBox(tr("Limits"), this);
    auto *limitsForm = new QFormLayout(limits);
    limitsForm->addRow(tr("Connections:"), m_maxConnections);
    limitsForm->addRow(tr("From one address:"), m_maxPerAddress);
    limitsForm->addRow(tr("Rooms for each person:"), m_roomsPerUser);
    limitsForm->addRow(tr("Messages:"), m_messagesPerSecond);
    limitsForm->addRow(tr("Burst:"), m_burst);
    limitsForm->addRow(tr("Message length:"), m_textLength);
    limitsForm->addRow(tr("History on join:"), m_history);

    m_error->setTextFormat(Qt::PlainText);
    m_error->setStyleSheet(QStringLiteral("color: #c01c28"));
    m_error->setWordWrap(true);
    m_error->hide();

    auto *note = new QLabel(this);
    note->setTextFormat(Qt::PlainText);
    note->setWordWrap(true);
    note->setText(serverRunning
                      ? tr("Saving restarts the server: everyone is disconnected and their "
                           "browsers reconnect on their own.")
                      : tr("The settings apply when the server starts."));

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    auto *save = buttons->addButton(serverRunning ? tr("Save and restart") : tr("Save"),
                                    QDialogButtonBox::AcceptRole);
    save->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(server);
    layout->addWidget(limits);
    layout->addWidget(m_error);
    layout->addWidget(note);
    layout->addWidget(buttons);
    resize(480, sizeHint().height());
}

ServerConfig SettingsDialog::config() const
{
    ServerConfig c = m_base;
    c.port = quint16(m_port->value());
    parseBindAddress(&c.bindAddress);
    c.name = m_name->text().trimmed().isEmpty() ? m_base.name : m_name->text().trimmed();
    c.motd = m_motd->toPlainText().trimmed();
    c.password = m_password->text();
    c.maxConnections = m_maxConnections->value();
    c.maxConnectionsPerAddress = m_maxPerAddress->value();
    c.maxRoomsPerUser = m_roomsPerUser->value();
    c.messagesPerSecond = m_messagesPerSecond->value();
    c.burst = m_burst->value();
    c.textLength = m_textLength->value();
    c.historyLength = m_history->value();
    return c;
}

void SettingsDialog::setPort(quint16 port)
{
    m_port->setValue(port);
}

void SettingsDialog::setBindAddress(const QString &address)
{
    const int index = m_bind->findData(address);
    if (index >= 0)
        m_bind->setCurrentIndex(index);
    else
        m_bind->setEditText(address);
}

void SettingsDialog::accept()
{
    QHostAddress address;
    if (!parseBindAddress(&address)) {
        m_error->setText(
            tr("“%1” is not an IP address of this computer.").arg(m_bind->currentText()));
        m_error->show();
        m_bind->setFocus();
        return;
    }
    const QString problem = config().validate();
    if (!problem.isEmpty()) {
        m_error->setText(problem);
        m_error->show();
        return;
    }
    QDialog::accept();
}

bool SettingsDialog::parseBindAddress(QHostAddress *address) const
{
    // A listed entry carries its address; a typed one is the address itself.
    const int index = m_bind->findText(m_bind->currentText());
    const QString text
        = index >= 0 ? m_bind->itemData(index).toString() : m_bind->currentText().trimmed();
    if (text == QHostAddress(QHostAddress::Any).toString()) {
        *address = QHostAddress::Any;
        return true;
    }
    QHostAddress parsed;
    if (!parsed.setAddress(text))
        return false;
    *address = parsed;
    return true;
}
