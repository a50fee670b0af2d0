#pragma once

#include <QDialog>
#include <QTimer>

#include <memory>

class HistoryModel;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class SqliteStore;

// Searches everything the server has stored and exports it. It reads the database through a
// connection of its own, so it works whether or not the server is running, and never gets in
// the way of the server's writes.
class HistoryDialog : public QDialog
{
    Q_OBJECT

public:
    explicit HistoryDialog(const QString &databasePath, QWidget *parent = nullptr);
    ~HistoryDialog() override;

    // How many messages a search shows at most.
    static constexpr int ResultLimit = 500;

    HistoryModel *model() const { return m_model; }
    QLineEdit *searchField() const { return m_search; }
    QComboBox *scopeBox() const { return m_scope; }
    QString statusText() const;

    // Searches for the words in the field now; an empty field shows the latest messages.
    void search();
    // Writes the scope chosen in the window to fileName, as its extension says.
    bool exportTo(const QString &fileName);

Q_SIGNALS:
    // Every stored message is gone; a running server should forget the ones it remembers.
    void historyCleared();

private:
    bool ensureOpen();
    void refreshScopes();
    void onExportClicked();
    void onClearClicked();
    void showStatus(const QString &text);

    QString m_path;
    std::unique_ptr<SqliteStore> m_store;
    HistoryModel *m_model;
    QLineEdit *m_search;
    QComboBox *m_scope;
    QTableView *m_view;
    QLabel *m_status;
    QPushButton *m_export;
    QPushButton *m_clear;
    QTimer m_searchDelay;
};
