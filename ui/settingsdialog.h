#pragma once

#include "serverconfig.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

// The server's settings as the host sees them. Accepting gives a new configuration; the window
// saves it and restarts the server with it.
class SettingsDialog : public QDialog
{
    Q_OBJECT

public:
    explicit SettingsDialog(const ServerConfig &config, bool serverRunning,
                            QWidget *parent = nullptr);

    // The configuration it started from, with the host's changes.
    ServerConfig config() const;

    void setPort(quint16 port);
    void setBindAddress(const QString &address);

    void accept() override;

private:
    bool parseBindAddress(QHostAddress *address) const;

    ServerConfig m_base;
    QSpinBox *m_port;
    QComboBox *m_bind;
    QLineEdit *m_name;
    QPlainTextEdit *m_motd;
    QLineEdit *m_password;
    QSpinBox *m_maxConnections;
    QSpinBox *m_maxPerAddress;
    QSpinBox *m_roomsPerUser;
    QSpinBox *m_messagesPerSecond;
    QSpinBox *m_burst;
    QSpinBox *m_textLength;
    QSpinBox *m_history;
    QLabel *m_error;
};
