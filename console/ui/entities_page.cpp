#include "console/ui/entities_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/config_sync.hpp"
#include "console/ui/entity_form_dialog.hpp"

#include <QAction>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShowEvent>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace portico::console {

EntitiesPage::EntitiesPage(AdminClient* client, const EntityPageSpec& spec, QWidget* parent)
    : QWidget(parent),
      client_(client),
      spec_(spec),
      model_(new EntityTableModel(spec.columns, this)),
      proxy_(new QSortFilterProxyModel(this)) {
    setObjectName(spec.collection + "Page");
    proxy_->setSourceModel(model_);
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
    proxy_->setFilterKeyColumn(-1);
    proxy_->setSortRole(EntityTableModel::SortRole);
    proxy_->setSortCaseSensitivity(Qt::CaseInsensitive);

    auto* layout = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    auto* title = new QLabel(QStringLiteral("<h3>%1</h3>").arg(spec.title.toHtmlEscaped()), this);
    bar->addWidget(title);
    filter_ = new QLineEdit(this);
    filter_->setObjectName("filter");
    filter_->setPlaceholderText(tr("Filter %1 (any column)").arg(spec.title.toLower()));
    filter_->setClearButtonEnabled(true);
    bar->addWidget(filter_, 1);
    count_ = new QLabel(this);
    bar->addWidget(count_);
    new_button_ = new QPushButton(tr("&New %1...").arg(spec.singular), this);
    new_button_->setObjectName("newButton");
    edit_button_ = new QPushButton(tr("&Edit..."), this);
    delete_button_ = new QPushButton(tr("&Delete"), this);
    auto* refresh_button = new QPushButton(tr("Refresh"), this);
    bar->addWidget(new_button_);
    bar->addWidget(edit_button_);
    bar->addWidget(delete_button_);
    bar->addWidget(refresh_button);
    layout->addLayout(bar);
    error_ = new QLabel(this);
    error_->setStyleSheet("color: #c62828;");
    error_->setWordWrap(true);
    error_->hide();
    layout->addWidget(error_);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    view_ = new QTableView(splitter);
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(0, Qt::AscendingOrder);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->setAlternatingRowColors(true);
    view_->verticalHeader()->hide();
    view_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    json_ = new QPlainTextEdit(splitter);
    json_->setObjectName("jsonView");
    json_->setReadOnly(true);
    json_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    json_->setPlaceholderText(tr("Select a row to see its JSON."));
    splitter->addWidget(view_);
    splitter->addWidget(json_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    layout->addWidget(splitter, 1);

    connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
    connect(filter_, &QLineEdit::textChanged, this, [this] {
        count_->setText(tr("%1 of %2").arg(proxy_->rowCount()).arg(model_->rowCount()));
    });
    connect(new_button_, &QPushButton::clicked, this, &EntitiesPage::createEntity);
    connect(edit_button_, &QPushButton::clicked, this, &EntitiesPage::editSelected);
    connect(delete_button_, &QPushButton::clicked, this, &EntitiesPage::deleteSelected);
    connect(refresh_button, &QPushButton::clicked, this, &EntitiesPage::refresh);
    connect(view_, &QTableView::doubleClicked, this, &EntitiesPage::editSelected);
    // Page-local shortcuts: Ctrl+N new, Enter edit, Delete delete, Ctrl+F filter.
    auto addShortcut = [this](const QKeySequence& keys, auto slot) {
        auto* action = new QAction(this);
        action->setShortcut(keys);
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(action, &QAction::triggered, this, slot);
        addAction(action);
    };
    addShortcut(QKeySequence::New, &EntitiesPage::createEntity);
    addShortcut(QKeySequence(Qt::Key_Return), &EntitiesPage::editSelected);
    addShortcut(QKeySequence::Delete, &EntitiesPage::deleteSelected);
    addShortcut(QKeySequence::Find, [this] {
        filter_->setFocus();
        filter_->selectAll();
    });
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &EntitiesPage::showSelection);
    connect(model_, &QAbstractItemModel::dataChanged, this, &EntitiesPage::showSelection);
    connect(client_, &AdminClient::statusUpdated, this, [this](const QJsonObject& status) {
        setReadOnly(statusSaysDbless(status));
        qint64 revision = status.value("configuration").toObject().value("revision").toInteger(-1);
        if (revision != seen_revision_ && isVisible()) {
            refresh();  // something changed in the configuration
        }
    });
    connect(client_, &AdminClient::stateChanged, this, [this](AdminClient::State state) {
        if (state == AdminClient::State::Connecting) {
            schema_.clear();  // another gateway may have another schema
            model_->setEntities({});
        }
        if (state == AdminClient::State::Connected && isVisible()) {
            refresh();
        }
    });
    showSelection();
}

EntityFormDialog* EntitiesPage::openDialog() const {
    return dialog_;
}

void EntitiesPage::setReadOnly(bool read_only) {
    if (read_only == read_only_) {
        return;
    }
    read_only_ = read_only;
    new_button_->setEnabled(!read_only);
    new_button_->setToolTip(read_only ? tr("The gateway runs without a database: its Admin API is "
                                           "read-only. Change it with a declarative file "
                                           "(Declarative page).")
                                      : QString());
    showSelection();
}

void EntitiesPage::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh();
}

void EntitiesPage::refresh() {
    if (loading_ || client_->baseUrl().isEmpty()) {
        return;
    }
    loading_ = true;
    pending_.clear();
    seen_revision_ =
        client_->lastStatus().value("configuration").toObject().value("revision").toInteger(-1);
    loadPage("/" + spec_.collection + "?size=1000");
    loadReferenceNames();
}

void EntitiesPage::loadPage(const QString& path) {
    client_->get(path, this, [this](const AdminResult& result) {
        if (!result.ok()) {
            loading_ = false;
            error_->setText(
                tr("Could not list %1: %2").arg(spec_.collection, result.error->toString()));
            error_->show();
            return;
        }
        QJsonObject body = result.body.object();
        for (const auto& item : body.value("data").toArray()) {
            pending_ << item.toObject();
        }
        QString next = body.value("next").toString();
        if (!next.isEmpty()) {
            loadPage(next);  // the collection continues on another page
            return;
        }
        loading_ = false;
        error_->hide();
        int before = model_->rowCount();
        model_->setEntities(pending_);
        if (model_->rowCount() > before) {
            // New rows may need wider columns; refreshes that only update keep the widths.
            view_->resizeColumnsToContents();
        }
        count_->setText(tr("%1 of %2").arg(proxy_->rowCount()).arg(model_->rowCount()));
        emit refreshed(model_->rowCount());
    });
}

void EntitiesPage::loadReferenceNames() {
    auto names = std::make_shared<QHash<QString, QString>>();
    auto remaining = std::make_shared<int>(static_cast<int>(spec_.reference_collections.size()));
    for (const auto& collection : spec_.reference_collections) {
        client_->get("/" + collection + "?size=1000", this,
                     [this, names, remaining](const AdminResult& result) {
                         for (const auto& item : result.body.object().value("data").toArray()) {
                             QJsonObject object = item.toObject();
                             QString name =
                                 object.value("name").toString(object.value("username").toString());
                             if (!name.isEmpty()) {
                                 names->insert(object.value("id").toString(), name);
                             }
                         }
                         if (--*remaining == 0) {
                             model_->setReferenceNames(*names);
                         }
                     });
    }
}

QJsonObject EntitiesPage::selectedEntity() const {
    QModelIndexList rows = view_->selectionModel()->selectedRows();
    if (rows.isEmpty()) {
        return {};
    }
    return proxy_->data(rows.first(), EntityTableModel::EntityRole).toJsonObject();
}

void EntitiesPage::showSelection() {
    QJsonObject entity = selectedEntity();
    edit_button_->setEnabled(!entity.isEmpty() && !read_only_);
    delete_button_->setEnabled(!entity.isEmpty() && !read_only_);
    QString text = entity.isEmpty() ? QString() : QString::fromUtf8(QJsonDocument(entity).toJson());
    if (json_->toPlainText() != text) {
        json_->setPlainText(text);
    }
}

void EntitiesPage::withSchema(std::function<void()> then) {
    if (!schema_.isEmpty()) {
        then();
        return;
    }
    client_->get("/schemas/" + spec_.schema, this, [this, then](const AdminResult& result) {
        if (!result.ok()) {
            emit message(tr("Could not load the %1 schema: %2")
                             .arg(spec_.singular, result.error->toString()));
            error_->setText(tr("Could not load GET /schemas/%1: %2")
                                .arg(spec_.schema, result.error->toString()));
            error_->show();
            return;
        }
        schema_ = parseSchemaFields(result.body.object());
        then();
    });
}

void EntitiesPage::createEntity() {
    if (read_only_) {
        return;
    }
    withSchema([this] { openForm({}); });
}

void EntitiesPage::editSelected() {
    QJsonObject entity = selectedEntity();
    if (entity.isEmpty()) {
        return;
    }
    withSchema([this, entity] { openForm(entity); });
}

void EntitiesPage::openForm(const QJsonObject& entity) {
    if (dialog_ != nullptr) {
        dialog_->raise();
        return;
    }
    dialog_ =
        new EntityFormDialog(client_, spec_.collection, spec_.singular, schema_, entity, this);
    dialog_->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog_, &EntityFormDialog::saved, this, [this](const QJsonObject& saved) {
        QString id = saved.value("id").toString();
        emit message(tr("Saved %1 %2")
                         .arg(spec_.singular,
                              saved.value("name").toString(saved.value("username").toString(id))));
        connect(
            this, &EntitiesPage::refreshed, this,
            [this, id] {
                int row = model_->rowOfId(id);
                if (row >= 0) {
                    view_->selectRow(proxy_->mapFromSource(model_->index(row, 0)).row());
                }
            },
            Qt::SingleShotConnection);
        refresh();
    });
    dialog_->open();
}

void EntitiesPage::deleteSelected() {
    QJsonObject entity = selectedEntity();
    if (entity.isEmpty()) {
        return;
    }
    QString id = entity.value("id").toString();
    QString label = entity.value("name").toString(entity.value("username").toString(id));
    auto* box =
        new QMessageBox(QMessageBox::Question, tr("Delete %1").arg(spec_.singular),
                        tr("Delete %1 '%2'? This cannot be undone.").arg(spec_.singular, label),
                        QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, id, label](int result) {
        if (result != QMessageBox::Yes) {
            return;
        }
        client_->request(
            "DELETE", "/" + spec_.collection + "/" + id, QJsonValue(), this,
            [this, label](const AdminResult& answer) {
                if (!answer.ok()) {
                    error_->setText(tr("Could not delete %1 '%2': %3")
                                        .arg(spec_.singular, label, answer.error->toString()));
                    error_->show();
                    return;
                }
                emit message(tr("Deleted %1 '%2'").arg(spec_.singular, label));
                refresh();
            });
    });
    box->open();
}

}  // namespace portico::console
