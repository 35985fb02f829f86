#include "console/ui/history_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/revisions_model.hpp"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace portico::console {

namespace {

QString compact(const QJsonValue& value) {
    return QString::fromUtf8(QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact))
        .mid(1)
        .chopped(1);
}

// "  port: 80 → 8080" per field that differs (timestamps left out).
QStringList fieldChanges(const QJsonObject& before, const QJsonObject& after) {
    QStringList lines;
    QStringList keys = before.keys() + after.keys();
    keys.removeDuplicates();
    keys.sort();
    for (const auto& key : keys) {
        if (key == "created_at" || key == "updated_at") {
            continue;
        }
        if (compact(before.value(key)) != compact(after.value(key))) {
            lines << QStringLiteral("    %1: %2 → %3")
                         .arg(key, compact(before.value(key)), compact(after.value(key)));
        }
    }
    return lines;
}

}  // namespace

HistoryPage::HistoryPage(AdminClient* client, QWidget* parent)
    : QWidget(parent), client_(client), model_(new RevisionsModel(this)) {
    setObjectName("HistoryPage");
    auto* layout = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("<h3>Configuration history</h3>"), this));
    bar->addStretch(1);
    auto* refresh_button = new QPushButton(tr("Refresh"), this);
    rollback_ = new QPushButton(tr("&Roll Back to This Revision..."), this);
    rollback_->setObjectName("rollbackButton");
    rollback_->setEnabled(false);
    bar->addWidget(refresh_button);
    bar->addWidget(rollback_);
    layout->addLayout(bar);
    note_ = new QLabel(this);
    note_->setWordWrap(true);
    note_->setStyleSheet("color: gray;");
    note_->setText(
        tr("Every write to the configuration is a revision. Select one to see what "
           "it changed; rolling back writes a new revision that restores it."));
    layout->addWidget(note_);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    view_ = new QTableView(splitter);
    view_->setModel(model_);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->setAlternatingRowColors(true);
    view_->verticalHeader()->hide();
    view_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    view_->horizontalHeader()->setStretchLastSection(true);
    details_ = new QPlainTextEdit(splitter);
    details_->setReadOnly(true);
    details_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    details_->setPlaceholderText(tr("Select a revision to see its changes."));
    splitter->addWidget(view_);
    splitter->addWidget(details_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    layout->addWidget(splitter, 1);

    connect(refresh_button, &QPushButton::clicked, this, &HistoryPage::refresh);
    connect(rollback_, &QPushButton::clicked, this, &HistoryPage::rollBackSelected);
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &HistoryPage::showSelected);
    connect(client_, &AdminClient::statusUpdated, this, [this](const QJsonObject& status) {
        qint64 revision = status.value("configuration").toObject().value("revision").toInteger(-1);
        if (revision != seen_revision_ && isVisible()) {
            refresh();
        }
    });
    connect(client_, &AdminClient::stateChanged, this, [this](AdminClient::State state) {
        if (state == AdminClient::State::Connecting) {
            model_->setRevisions({});
            details_->clear();
        }
    });
}

void HistoryPage::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh();
}

void HistoryPage::refresh() {
    if (loading_ || client_->baseUrl().isEmpty()) {
        return;
    }
    loading_ = true;
    seen_revision_ =
        client_->lastStatus().value("configuration").toObject().value("revision").toInteger(-1);
    client_->get("/config/revisions?size=100", this, [this](const AdminResult& result) {
        loading_ = false;
        if (!result.ok()) {
            model_->setRevisions({});
            note_->setText(
                result.http_status == 404 || result.http_status == 400
                    ? tr("This gateway keeps no configuration history (DB-less mode or an older "
                         "version): %1")
                          .arg(result.error->message)
                    : tr("Could not read GET /config/revisions: %1").arg(result.error->toString()));
            return;
        }
        model_->setRevisions(result.body.object().value("data").toArray());
        view_->resizeColumnToContents(RevisionsModel::Revision);
        view_->resizeColumnToContents(RevisionsModel::Time);
        view_->resizeColumnToContents(RevisionsModel::Count);
        emit refreshed();
    });
}

qint64 HistoryPage::selectedRevision() const {
    QModelIndexList rows = view_->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().data(RevisionsModel::RevisionRole).toLongLong();
}

void HistoryPage::showSelected() {
    qint64 revision = selectedRevision();
    // The newest revision is the current configuration: nothing to roll back to.
    qint64 current = model_->revision(0).value("revision").toInteger(-1);
    rollback_->setEnabled(revision > 0 && revision < current);
    if (revision < 0 || revision == shown_revision_) {
        return;
    }
    shown_revision_ = revision;
    client_->get(QStringLiteral("/config/revisions/%1").arg(revision), this,
                 [this, revision](const AdminResult& result) {
                     if (revision != selectedRevision()) {
                         return;  // the user moved on
                     }
                     if (!result.ok()) {
                         details_->setPlainText(result.error->toString());
                         return;
                     }
                     QJsonObject body = result.body.object();
                     QStringList lines;
                     lines << tr("Revision %1").arg(revision);
                     for (const auto& item : body.value("changes").toArray()) {
                         QJsonObject change = item.toObject();
                         QJsonObject before = change.value("before").toObject();
                         QJsonObject after = change.value("after").toObject();
                         QJsonObject shown = after.isEmpty() ? before : after;
                         QString label = shown.value("name").toString(
                             shown.value("username").toString(change.value("id").toString()));
                         lines << QString();
                         lines << QStringLiteral("%1 %2 %3")
                                      .arg(change.value("operation").toString(),
                                           change.value("entity").toString(), label);
                         if (!before.isEmpty() && !after.isEmpty()) {
                             lines << fieldChanges(before, after);
                         } else {
                             lines << QString::fromUtf8(QJsonDocument(shown).toJson()).trimmed();
                         }
                     }
                     details_->setPlainText(lines.join('\n'));
                 });
}

void HistoryPage::rollBackSelected() {
    qint64 revision = selectedRevision();
    if (revision <= 0) {
        return;
    }
    auto* box = new QMessageBox(
        QMessageBox::Question, tr("Roll back"),
        tr("Restore the configuration as it was at revision %1? Every change made after it is "
           "undone, in one new revision.")
            .arg(revision),
        QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, revision](int answer) {
        if (answer != QMessageBox::Yes) {
            return;
        }
        client_->request(
            "POST", "/config/rollback", QJsonObject{{"revision", revision}}, this,
            [this, revision](const AdminResult& result) {
                if (!result.ok()) {
                    note_->setText(tr("Roll back to revision %1 failed: %2")
                                       .arg(revision)
                                       .arg(result.error->toString()));
                    return;
                }
                qint64 now = result.body.object().value("revision").toInteger();
                emit message(tr("Restored revision %1 as revision %2").arg(revision).arg(now));
                emit rolledBack(revision, now);
                refresh();
            });
    });
    box->open();
}

}  // namespace portico::console
