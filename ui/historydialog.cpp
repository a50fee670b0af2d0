#include "historydialog.h"

#include "historyexport.h"
#include "historymodel.h"
#include "sqlitestore.h"
#include "uilogging.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableView>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace {
// Typing pauses shorter than this do not start a search.
constexpr int SearchDelayMs = 250;
} // namespace

HistoryDialog::HistoryDialog(const QString &databasePath, QWidget *parent)
    : QDialog(parent)
    , m_path(databasePath)
    , m_model(new HistoryModel(this))
    , m_search(new QLineEdit(this))
    , m_scope(new QComboBox(this))
    , m_view(new QTableView(this))
    , m_status(new QLabel(this))
    , m_export(new QPushButton(tr("&Export…"), this))
    , m_clear(new QPushButton(tr("&Clear History…"), this))
{
    setWindowTitle(tr("History"));
    resize(900, 560);

    m_search->setPlaceholderText(tr("Search every stored message"));
    m_search->setClearButtonEnabled(true);
    m_scope->setToolTip(tr("What Export writes"));

    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionResizeMode(HistoryModel::TimeColumn,
                                                     QHeaderView::ResizeToContents);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setWordWrap(true);

    auto *findLabel = new QLabel(tr("&Find:"), this);
    findLabel->setBuddy(m_search);
    auto *searchRow = new QHBoxLayout;
    searchRow->addWidget(findLabel);
    searchRow->addWidget(m_search, 1);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_export, QDialogButtonBox::ActionRole);
    buttons->addButton(m_clear, QDialogButtonBox::DestructiveRole);

    auto *bottomRow = new QHBoxLayout;
    bottomRow->addWidget(new QLabel(tr("Export:"), this));
    bottomRow->addWidget(m_scope);
    bottomRow->addStretch(1);
    bottomRow->addWidget(buttons);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(searchRow);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_status);
    layout->addLayout(bottomRow);

    m_searchDelay.setSingleShot(true);
    m_searchDelay.setInterval(SearchDelayMs);
    connect(&m_searchDelay, &QTimer::timeout, this, &HistoryDialog::search);
    connect(m_search, &QLineEdit::textChanged, &m_searchDelay, qOverload<>(&QTimer::start));
    connect(m_search, &QLineEdit::returnPressed, this, &HistoryDialog::search);
    connect(m_export, &QPushButton::clicked, this, &HistoryDialog::onExportClicked);
    connect(m_clear, &QPushButton::clicked, this, &HistoryDialog::onClearClicked);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    search();
}

HistoryDialog::~HistoryDialog() = default;

QString HistoryDialog::statusText() const
{
    return m_status->text();
}

void HistoryDialog::showStatus(const QString &text)
{
    m_status->setText(text);
}

bool HistoryDialog::ensureOpen()
{
    if (m_store && m_store->isOpen())
        return true;
    // The server may create the file after this window opened, so each try opens afresh.
    auto store = std::make_unique<SqliteStore>();
    if (!store->open(m_path, SqliteStore::Mode::ReadOnly)) {
        showStatus(store->errorString());
        m_export->setEnabled(false);
        m_clear->setEnabled(false);
        return false;
    }
    m_store = std::move(store);
    m_export->setEnabled(true);
    m_clear->setEnabled(true);
    return true;
}

void HistoryDialog::refreshScopes()
{
    const QString current = m_scope->currentData().toString();
    m_scope->clear();
    m_scope->addItem(tr("Every room and direct message"), QString());
    const QStringList rooms = m_store->rooms();
    for (const QString &room : rooms)
        m_scope->addItem(u'#' + room, room);
    const int index = m_scope->findData(current);
    m_scope->setCurrentIndex(index < 0 ? 0 : index);
}

void HistoryDialog::search()
{
    m_searchDelay.stop();
    if (!ensureOpen()) {
        m_model->setMessages({});
        return;
    }
    refreshScopes();

    const QString query = m_search->text().trimmed();
    const QList<ChatMessage> found = query.isEmpty() ? m_store->latestMessages(ResultLimit)
                                                     : m_store->search(query, ResultLimit);
    m_model->setMessages(found);

    const qint64 total = m_store->messageCount();
    if (query.isEmpty()) {
        showStatus(total == 0
                       ? tr("No messages are stored.")
                       : tr("The latest %1 of %2 stored messages.").arg(found.size()).arg(total));
    } else if (found.size() >= ResultLimit) {
        showStatus(tr("The newest %1 matches; add words to narrow the search.").arg(ResultLimit));
    } else {
        showStatus(found.size() == 1
                       ? tr("1 message found among %1 stored.").arg(total)
                       : tr("%1 messages found among %2 stored.").arg(found.size()).arg(total));
    }
}

bool HistoryDialog::exportTo(const QString &fileName)
{
    if (!ensureOpen())
        return false;
    HistoryExport::Format format;
    if (!HistoryExport::formatForFile(fileName, &format)) {
        showStatus(tr("Name the file .csv or .json."));
        return false;
    }
    QString error;
    qint64 count = 0;
    const QString room = m_scope->currentData().toString();
    if (!HistoryExport::write(*m_store, fileName, format, room, &error, &count)) {
        showStatus(error);
        qCWarning(lcUi).noquote() << error;
        return false;
    }
    const QString file = QDir::toNativeSeparators(fileName);
    showStatus(count == 1 ? tr("Exported 1 message to %1.").arg(file)
                          : tr("Exported %1 messages to %2.").arg(count).arg(file));
    return true;
}

void HistoryDialog::onExportClicked()
{
    const QString csvFilter = tr("CSV (*.csv)");
    const QString jsonFilter = tr("JSON (*.json)");
    const QString room = m_scope->currentData().toString();
    const QString suggested
        = QDir(QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation))
              .filePath(room.isEmpty() ? u"lanchat-history.csv"_s : u"lanchat-%1.csv"_s.arg(room));
    QString filter = csvFilter;
    QString fileName = QFileDialog::getSaveFileName(this, tr("Export History"), suggested,
                                                    csvFilter + u";;"_s + jsonFilter, &filter);
    if (fileName.isEmpty())
        return;
    HistoryExport::Format format;
    if (!HistoryExport::formatForFile(fileName, &format))
        fileName += filter == jsonFilter ? u".json"_s : u".csv"_s;
    if (!exportTo(fileName))
        QMessageBox::warning(this, tr("Export History"), statusText());
}

void HistoryDialog::onClearClicked()
{
    const auto answer = QMessageBox::question(
        this, tr("Clear History"),
        tr("Remove every stored message, in every room and every direct conversation? "
           "Bans and the record of host actions stay."),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer != QMessageBox::Yes)
        return;
    QString error;
    if (!SqliteStore::clearHistory(m_path, &error)) {
        QMessageBox::warning(this, tr("Clear History"), error);
        return;
    }
    qCInfo(lcUi) << "The host cleared the stored history";
    Q_EMIT historyCleared();
    search();
}
