#include "console/ui/declarative_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/config_sync.hpp"
#include "console/core/diff_model.hpp"

#include <QCheckBox>
#include <QColor>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace portico::console {

namespace {

// Colours the change column and hides unchanged rows unless asked.
class DiffProxy : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setShowUnchanged(bool show) {
        show_unchanged_ = show;
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override {
        auto kind = static_cast<DiffEntry::Kind>(
            sourceModel()->index(row, 0, parent).data(DiffModel::KindRole).toInt());
        return show_unchanged_ || kind != DiffEntry::Kind::Unchanged;
    }
    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::ForegroundRole && index.column() == DiffModel::Change) {
            switch (static_cast<DiffEntry::Kind>(index.data(DiffModel::KindRole).toInt())) {
                case DiffEntry::Kind::Added:
                    return QColor(46, 125, 50);
                case DiffEntry::Kind::Changed:
                    return QColor(230, 126, 0);
                case DiffEntry::Kind::Removed:
                    return QColor(198, 40, 40);
                case DiffEntry::Kind::Unchanged:
                    return QColor(140, 140, 140);
            }
        }
        return QSortFilterProxyModel::data(index, role);
    }

private:
    bool show_unchanged_ = false;
};

QString pretty(const QJsonObject& object) {
    return object.isEmpty() ? QStringLiteral("(none)")
                            : QString::fromUtf8(QJsonDocument(object).toJson());
}

}  // namespace

DeclarativePage::DeclarativePage(AdminClient* client, QWidget* parent)
    : QWidget(parent),
      client_(client),
      sync_(new ConfigSync(client, this)),
      model_(new DiffModel(this)),
      proxy_(new DiffProxy(this)) {
    setObjectName("DeclarativePage");
    proxy_->setSourceModel(model_);

    auto* layout = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("<h3>Declarative configuration</h3>"), this));
    bar->addStretch(1);
    auto* open = new QPushButton(tr("&Open File..."), this);
    refresh_ = new QPushButton(tr("Re&fresh Diff"), this);
    apply_ = new QPushButton(tr("&Apply to Gateway..."), this);
    apply_->setObjectName("applyButton");
    auto* export_button = new QPushButton(tr("E&xport Running Configuration..."), this);
    show_unchanged_ = new QCheckBox(tr("Show unchanged"), this);
    bar->addWidget(show_unchanged_);
    bar->addWidget(open);
    bar->addWidget(refresh_);
    bar->addWidget(apply_);
    bar->addWidget(export_button);
    layout->addLayout(bar);

    file_label_ = new QLabel(tr("No file open. Open a Kong declarative file (YAML or JSON, "
                                "format 1.1 to 3.0) to compare it with the gateway."),
                             this);
    file_label_->setWordWrap(true);
    layout->addWidget(file_label_);
    mode_label_ = new QLabel(this);
    mode_label_->setStyleSheet("color: gray;");
    layout->addWidget(mode_label_);
    summary_ = new QLabel(this);
    summary_->setObjectName("summary");
    layout->addWidget(summary_);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    auto* top = new QSplitter(Qt::Horizontal, splitter);
    view_ = new QTableView(top);
    view_->setModel(proxy_);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->verticalHeader()->hide();
    view_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->setAlternatingRowColors(true);
    detail_ = new QPlainTextEdit(top);
    detail_->setReadOnly(true);
    detail_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    detail_->setPlaceholderText(
        tr("Select a row to compare the file's entity with the "
           "gateway's."));
    top->addWidget(view_);
    top->addWidget(detail_);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    messages_ = new QPlainTextEdit(splitter);
    messages_->setReadOnly(true);
    messages_->setMaximumHeight(140);
    messages_->setPlaceholderText(tr("Errors and warnings about the file appear here."));
    splitter->addWidget(top);
    splitter->addWidget(messages_);
    splitter->setStretchFactor(0, 4);
    layout->addWidget(splitter, 1);

    apply_->setEnabled(false);
    refresh_->setEnabled(false);
    connect(open, &QPushButton::clicked, this, &DeclarativePage::chooseFile);
    connect(refresh_, &QPushButton::clicked, this, &DeclarativePage::refreshDiff);
    connect(apply_, &QPushButton::clicked, this, &DeclarativePage::applyWithConfirmation);
    connect(export_button, &QPushButton::clicked, this, &DeclarativePage::chooseExport);
    connect(show_unchanged_, &QCheckBox::toggled, this,
            [this](bool on) { static_cast<DiffProxy*>(proxy_)->setShowUnchanged(on); });
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &DeclarativePage::showEntry);

    connect(sync_, &ConfigSync::progress, this, &DeclarativePage::progress);
    connect(sync_, &ConfigSync::runningFetched, this, [this](const EntityLists& running) {
        emit idle();
        if (!export_path_.isEmpty()) {
            QString path = export_path_;
            export_path_.clear();
            QFile file(path);
            bool json = path.endsWith(".json", Qt::CaseInsensitive);
            if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
                file.write(exportDeclarative(running, json)) < 0) {
                emit failed(tr("Could not write %1: %2").arg(path, file.errorString()));
                return;
            }
            emit exported(path);
            return;
        }
        ConfigDiff diff = diffConfigurations(parsed_.entities, running);
        model_->setDiff(diff);
        view_->resizeColumnsToContents();
        summary_->setText(tr("<b>%1 added</b>, <b>%2 changed</b>, %3 only in the gateway, %4 "
                             "unchanged.")
                              .arg(diff.count(DiffEntry::Kind::Added))
                              .arg(diff.count(DiffEntry::Kind::Changed))
                              .arg(diff.count(DiffEntry::Kind::Removed))
                              .arg(diff.count(DiffEntry::Kind::Unchanged)));
        apply_->setEnabled(true);
        refresh_->setEnabled(true);
        emit diffReady();
    });
    connect(sync_, &ConfigSync::applied, this, [this](const QString& summary) {
        emit idle();
        messages_->appendPlainText(summary);
        emit applied(summary);
        refreshDiff();
    });
    connect(sync_, &ConfigSync::failed, this, [this](const QString& error) {
        emit idle();
        export_path_.clear();
        messages_->appendPlainText(tr("Error: %1").arg(error));
        apply_->setEnabled(!path_.isEmpty() && parsed_.ok);
        emit failed(error);
    });
    connect(client_, &AdminClient::statusUpdated, this, [this] {
        mode_label_->setText(
            sync_->dbless()
                ? tr("The gateway runs without a database: Apply replaces its whole "
                     "configuration with the file (POST /config).")
                : tr("The gateway runs on a database: Apply imports the file's added and "
                     "changed entities one by one; entities only in the gateway are kept."));
    });
}

bool DeclarativePage::openFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        file_label_->setText(tr("Could not open %1: %2").arg(path, file.errorString()));
        return false;
    }
    path_ = path;
    text_ = file.readAll();
    parsed_ = parseDeclarative(text_);
    messages_->clear();
    for (const auto& error : parsed_.errors) {
        messages_->appendPlainText(tr("Error: %1").arg(error));
    }
    for (const auto& warning : parsed_.warnings) {
        messages_->appendPlainText(tr("Warning: %1").arg(warning));
    }
    int count = 0;
    for (const auto& list : parsed_.entities) {
        count += static_cast<int>(list.size());
    }
    file_label_->setText(
        parsed_.ok ? tr("<b>%1</b> — format %2, %3 entities, %4 warnings.")
                         .arg(QFileInfo(path).fileName().toHtmlEscaped(), parsed_.format_version)
                         .arg(count)
                         .arg(parsed_.warnings.size())
                   : tr("<b>%1</b> does not load: %2 errors (below). Fix the file and open it "
                        "again.")
                         .arg(QFileInfo(path).fileName().toHtmlEscaped())
                         .arg(parsed_.errors.size()));
    file_label_->setToolTip(path);
    model_->setDiff({});
    summary_->clear();
    apply_->setEnabled(false);
    refresh_->setEnabled(parsed_.ok);
    if (parsed_.ok) {
        refreshDiff();
    }
    return parsed_.ok;
}

void DeclarativePage::refreshDiff() {
    if (path_.isEmpty() || !parsed_.ok || sync_->busy()) {
        return;
    }
    sync_->fetchRunning();
}

void DeclarativePage::applyWithConfirmation() {
    if (!parsed_.ok || sync_->busy()) {
        return;
    }
    const ConfigDiff& diff = model_->diff();
    QString text =
        sync_->dbless()
            ? tr("Replace the gateway's whole configuration with %1? Entities only in the "
                 "gateway (%2) will be removed.")
                  .arg(QFileInfo(path_).fileName())
                  .arg(diff.count(DiffEntry::Kind::Removed))
            : tr("Import %1 new and %2 changed entities from %3 into the gateway?")
                  .arg(diff.count(DiffEntry::Kind::Added))
                  .arg(diff.count(DiffEntry::Kind::Changed))
                  .arg(QFileInfo(path_).fileName());
    auto* box = new QMessageBox(QMessageBox::Question, tr("Apply declarative file"), text,
                                QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this](int result) {
        if (result == QMessageBox::Yes) {
            apply();
        }
    });
    box->open();
}

void DeclarativePage::apply() {
    if (!parsed_.ok || sync_->busy()) {
        return;
    }
    apply_->setEnabled(false);
    sync_->apply(text_, model_->diff());
}

void DeclarativePage::exportTo(const QString& path) {
    if (sync_->busy()) {
        return;
    }
    export_path_ = path;
    sync_->fetchRunning();
}

void DeclarativePage::chooseFile() {
    auto* dialog = new QFileDialog(this, tr("Open Declarative File"), QString(),
                                   tr("Declarative files (*.yml *.yaml *.json);;All files (*)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setFileMode(QFileDialog::ExistingFile);
    connect(dialog, &QFileDialog::fileSelected, this, &DeclarativePage::openFile);
    dialog->open();
}

void DeclarativePage::chooseExport() {
    auto* dialog = new QFileDialog(this, tr("Export Running Configuration"), "kong.yml",
                                   tr("YAML (*.yml *.yaml);;JSON (*.json)"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setAcceptMode(QFileDialog::AcceptSave);
    connect(dialog, &QFileDialog::fileSelected, this, &DeclarativePage::exportTo);
    dialog->open();
}

void DeclarativePage::showEntry() {
    QModelIndexList rows = view_->selectionModel()->selectedRows();
    if (rows.isEmpty()) {
        detail_->clear();
        return;
    }
    DiffEntry entry = model_->entry(proxy_->mapToSource(rows.first()).row());
    QString text = tr("%1 %2: %3\n").arg(entry.table, entry.key, diffKindName(entry.kind));
    if (!entry.changed_fields.isEmpty()) {
        text += tr("Changed fields: %1\n").arg(entry.changed_fields.join(", "));
        for (const auto& field : entry.changed_fields) {
            auto show = [](const QJsonValue& value) {
                return QString::fromUtf8(
                           QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact))
                    .mid(1)
                    .chopped(1);
            };
            text += QStringLiteral("  %1: gateway %2 → file %3\n")
                        .arg(field, show(entry.running_entity.value(field)),
                             show(entry.file_entity.value(field)));
        }
    }
    QJsonObject from_file = entry.file_entity;
    from_file.remove("created_at");  // set when the file is loaded, not written in it
    from_file.remove("updated_at");
    text += tr("\n— In the file —\n") + pretty(from_file);
    text += tr("\n— In the gateway —\n") + pretty(entry.running_entity);
    detail_->setPlainText(text);
}

}  // namespace portico::console
