#include "banlistdialog.h"

#include "banmodel.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

BanListDialog::BanListDialog(BanModel *model, QWidget *parent)
    : QDialog(parent)
    , m_model(model)
    , m_view(new QTableView(this))
    , m_unban(new QPushButton(tr("Unban"), this))
{
    setObjectName(QStringLiteral("banListDialog"));
    setWindowTitle(tr("Bans"));

    m_view->setObjectName(QStringLiteral("bansView"));
    m_view->setModel(model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);

    auto *empty = new QLabel(tr("Nobody is banned."), this);
    empty->setTextFormat(Qt::PlainText);

    m_unban->setObjectName(QStringLiteral("unbanButton"));
    m_unban->setToolTip(tr("Lift the selected bans"));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(m_unban, QDialogButtonBox::ActionRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_unban, &QPushButton::clicked, this, &BanListDialog::unbanSelected);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &BanListDialog::updateButtons);

    const auto updateEmpty = [this, empty] {
        empty->setVisible(m_model->rowCount() == 0);
        updateButtons();
    };
    connect(model, &QAbstractItemModel::modelReset, this, updateEmpty);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(empty);
    layout->addWidget(m_view);
    layout->addWidget(buttons);
    updateEmpty();
    resize(640, 320);
}

void BanListDialog::unbanSelected()
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    for (const QModelIndex &index : rows)
        Q_EMIT unbanRequested(index.data(BanModel::IdRole).toULongLong());
}

void BanListDialog::updateButtons()
{
    m_unban->setEnabled(m_view->selectionModel()->hasSelection());
}
