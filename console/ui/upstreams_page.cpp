#include "console/ui/upstreams_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/balancer_model.hpp"
#include "console/core/target_health_model.hpp"
#include "console/core/upstream_diagnosis.hpp"
#include "console/ui/ring_view.hpp"
#include "console/ui/why_panel.hpp"

#include <QAction>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QIdentityProxyModel>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLoggingCategory>
#include <QMessageBox>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>

Q_LOGGING_CATEGORY(lcUpstreamsPage, "portico.console.upstreams")

namespace portico::console {

namespace {

constexpr int kDefaultRefreshMs = 1500;

QString segment(const QString& text) {
    return QString::fromLatin1(QUrl::toPercentEncoding(text, ":[]"));
}

// Colours the health column from TargetHealthModel::HealthRole.
class HealthColours : public QIdentityProxyModel {
public:
    using QIdentityProxyModel::QIdentityProxyModel;

    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::ForegroundRole || role == Qt::BackgroundRole) {
            const QString health =
                QIdentityProxyModel::data(index, TargetHealthModel::HealthRole).toString();
            const bool health_column = index.column() == TargetHealthModel::HealthColumn;
            if (health == QLatin1String("unhealthy")) {
                if (role == Qt::BackgroundRole && health_column) {
                    return QBrush(QColor(0xd6, 0x27, 0x28));
                }
                if (role == Qt::ForegroundRole) {
                    return health_column ? QBrush(Qt::white) : QBrush(QColor(0xd6, 0x27, 0x28));
                }
            }
            if (health_column && role == Qt::ForegroundRole) {
                if (health == QLatin1String("healthy") || health == QLatin1String("checks_off")) {
                    return QBrush(QColor(0x2e, 0x8b, 0x3e));
                }
                if (health == QLatin1String("dns_error")) {
                    return QBrush(QColor(0xc9, 0x8a, 0x00));
                }
                if (health == QLatin1String("disabled") || health == QLatin1String("pending")) {
                    return QBrush(QColor(0x80, 0x80, 0x80));
                }
            }
        }
        return QIdentityProxyModel::data(index, role);
    }
};

}  // namespace

UpstreamsPage::UpstreamsPage(AdminClient* client, QWidget* parent)
    : QWidget(parent),
      client_(client),
      balancer_model_(new BalancerModel(this)),
      health_model_(new TargetHealthModel(this)),
      list_(new QListWidget(this)),
      ring_(new RingView(this)),
      why_(new WhyPanel(this)),
      table_(new QTableView(this)),
      title_(new QLabel(this)),
      message_(new QLabel(this)),
      toolbar_(new QToolBar(this)),
      timer_(new QTimer(this)) {
    setObjectName(QStringLiteral("upstreamsPage"));
    list_->setObjectName(QStringLiteral("upstreamList"));
    ring_->setObjectName(QStringLiteral("ringView"));
    table_->setObjectName(QStringLiteral("targetHealthTable"));
    ring_->setModel(balancer_model_);

    auto* colours = new HealthColours(this);
    colours->setSourceModel(health_model_);
    table_->setModel(colours);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setAlternatingRowColors(true);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    table_->setWordWrap(false);
    const std::pair<int, int> widths[] = {
        {TargetHealthModel::TargetColumn, 150},      {TargetHealthModel::AddressColumn, 125},
        {TargetHealthModel::WeightColumn, 60},       {TargetHealthModel::HealthColumn, 140},
        {TargetHealthModel::CountersColumn, 240},    {TargetHealthModel::LastProbeColumn, 130},
        {TargetHealthModel::LastFailureColumn, 240},
    };
    for (const auto& [column, width] : widths) {
        table_->setColumnWidth(column, width);
    }

    QFont title_font = title_->font();
    title_font.setBold(true);
    title_font.setPointSizeF(title_font.pointSizeF() * 1.2);
    title_->setFont(title_font);
    message_->setObjectName(QStringLiteral("upstreamsMessage"));
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    mark_healthy_ = toolbar_->addAction(tr("Mark healthy"));
    mark_healthy_->setToolTip(
        tr("PUT …/healthy: the selected address (or every address of a "
           "target) takes traffic again on this node"));
    mark_unhealthy_ = toolbar_->addAction(tr("Mark unhealthy"));
    mark_unhealthy_->setToolTip(
        tr("PUT …/unhealthy: this node stops sending traffic to the "
           "selected address"));
    toolbar_->addSeparator();
    change_weight_ = toolbar_->addAction(tr("Change weight…"));
    add_target_ = toolbar_->addAction(tr("Add target…"));
    remove_target_ = toolbar_->addAction(tr("Remove target"));
    toolbar_->addSeparator();
    refresh_action_ = toolbar_->addAction(tr("Refresh"));

    connect(mark_healthy_, &QAction::triggered, this, [this] {
        const int row = selectedRow();
        if (row >= 0) {
            const auto& r = health_model_->row(row);
            markHealth(r.target.id, r.address ? r.address->endpoint() : QString(), true);
        }
    });
    connect(mark_unhealthy_, &QAction::triggered, this, [this] {
        const int row = selectedRow();
        if (row >= 0) {
            const auto& r = health_model_->row(row);
            markHealth(r.target.id, r.address ? r.address->endpoint() : QString(), false);
        }
    });
    connect(change_weight_, &QAction::triggered, this, &UpstreamsPage::openWeightDialog);
    connect(add_target_, &QAction::triggered, this, &UpstreamsPage::openAddTargetDialog);
    connect(remove_target_, &QAction::triggered, this, &UpstreamsPage::confirmRemove);
    connect(refresh_action_, &QAction::triggered, this, &UpstreamsPage::refresh);

    // Layout: upstream list | (title, toolbar, ring + why, health table, message).
    auto* left = new QWidget(this);
    auto* left_layout = new QVBoxLayout(left);
    left_layout->setContentsMargins(0, 0, 0, 0);
    left_layout->addWidget(new QLabel(tr("Upstreams"), left));
    left_layout->addWidget(list_);

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(ring_);
    top->addWidget(why_);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    top->setSizes({600, 400});

    auto* vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(top);
    vertical->addWidget(table_);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);

    auto* right = new QWidget(this);
    auto* right_layout = new QVBoxLayout(right);
    right_layout->setContentsMargins(0, 0, 0, 0);
    right_layout->addWidget(title_);
    right_layout->addWidget(toolbar_);
    right_layout->addWidget(vertical, 1);
    right_layout->addWidget(message_);

    auto* outer = new QSplitter(Qt::Horizontal, this);
    outer->addWidget(left);
    outer->addWidget(right);
    outer->setStretchFactor(0, 0);
    outer->setStretchFactor(1, 1);
    outer->setSizes({140, 940});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(outer);

    connect(list_, &QListWidget::currentItemChanged, this, &UpstreamsPage::upstreamChosen);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        const int row = selectedRow();
        ring_->setCurrentKey(row >= 0 && health_model_->row(row).address
                                 ? health_model_->row(row).address->key
                                 : QString());
        updateActions();
    });
    connect(ring_, &RingView::addressClicked, this, [this](const QString& key) {
        for (int row = 0; row < health_model_->rowCount(); ++row) {
            if (health_model_->row(row).address && health_model_->row(row).address->key == key) {
                table_->selectRow(row);
                return;
            }
        }
    });

    timer_->setInterval(kDefaultRefreshMs);
    connect(timer_, &QTimer::timeout, this, &UpstreamsPage::refresh);
    if (client_) {
        connect(client_, &AdminClient::stateChanged, this, [this](AdminClient::State state) {
            if (state == AdminClient::State::Connected && isVisible()) {
                refresh();
            }
        });
    }
    why_->clear(tr("Choose an upstream to see why it does or does not serve traffic."));
    updateActions();
}

void UpstreamsPage::setRefreshInterval(int ms) {
    timer_->setInterval(ms);
}

void UpstreamsPage::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    timer_->start();
    refresh();
}

void UpstreamsPage::hideEvent(QHideEvent* event) {
    QWidget::hideEvent(event);
    timer_->stop();
}

void UpstreamsPage::refresh() {
    fetchList();
    fetchServices();
    fetchBalancer();
}

void UpstreamsPage::fetchList() {
    if (!client_ || list_in_flight_) {
        return;
    }
    list_in_flight_ = true;
    client_->get(QStringLiteral("/upstreams?size=1000"), this, [this](const AdminResult& result) {
        list_in_flight_ = false;
        applyList(result);
    });
}

void UpstreamsPage::fetchServices() {
    if (!client_ || services_in_flight_) {
        return;
    }
    services_in_flight_ = true;
    client_->get(QStringLiteral("/services?size=1000"), this, [this](const AdminResult& result) {
        services_in_flight_ = false;
        if (!result.ok()) {
            services_known_ = false;  // the why panel then says nothing about services
            return;
        }
        services_by_host_.clear();
        for (const QJsonValue& value :
             result.body.object().value(QLatin1String("data")).toArray()) {
            const QJsonObject service = value.toObject();
            const QString name = service.value(QLatin1String("name")).toString();
            services_by_host_[service.value(QLatin1String("host")).toString().toLower()]
                << (name.isEmpty() ? service.value(QLatin1String("id")).toString() : name);
        }
        services_known_ = true;
    });
}

void UpstreamsPage::applyList(const AdminResult& result) {
    if (!result.ok()) {
        showMessage(false, tr("Could not list upstreams: %1. The page retries by itself.")
                               .arg(result.error->toString()));
        return;
    }
    if (message_->text().startsWith(tr("Could not"))) {
        showMessage(true, QString());  // the gateway answers again
    }
    QStringList names;
    for (const QJsonValue& value : result.body.object().value(QLatin1String("data")).toArray()) {
        const QJsonObject upstream = value.toObject();
        const QString name = upstream.value(QLatin1String("name")).toString();
        names << (name.isEmpty() ? upstream.value(QLatin1String("id")).toString() : name);
    }
    names.sort();
    // In place: remove what left, insert what is new at its sorted place.
    for (int i = list_->count() - 1; i >= 0; --i) {
        if (!names.contains(list_->item(i)->text())) {
            delete list_->takeItem(i);
        }
    }
    for (qsizetype i = 0; i < names.size(); ++i) {
        if (i >= list_->count() || list_->item(static_cast<int>(i))->text() != names[i]) {
            list_->insertItem(static_cast<int>(i), names[i]);
        }
    }
    if (!list_->currentItem() && list_->count() > 0) {
        list_->setCurrentRow(0);
    }
    if (list_->count() == 0) {
        why_->clear(
            tr("This gateway has no upstreams. Create one under Upstreams in the entity "
               "pages, or with POST /upstreams."));
    }
}

bool UpstreamsPage::selectUpstream(const QString& name) {
    for (int i = 0; i < list_->count(); ++i) {
        if (list_->item(i)->text() == name) {
            list_->setCurrentRow(i);
            return true;
        }
    }
    return false;
}

void UpstreamsPage::upstreamChosen() {
    const QString name = list_->currentItem() ? list_->currentItem()->text() : QString();
    if (name == upstream_) {
        return;
    }
    upstream_ = name;
    ++generation_;
    balancer_in_flight_ = false;
    balancer_model_->clear();
    health_model_->clear();
    title_->setText(name);
    if (name.isEmpty()) {
        why_->clear(tr("Choose an upstream to see why it does or does not serve traffic."));
    } else {
        why_->clear(tr("Loading the balancer of '%1'…").arg(name));
        fetchBalancer();
    }
    updateActions();
}

void UpstreamsPage::fetchBalancer() {
    if (!client_ || upstream_.isEmpty() || balancer_in_flight_) {
        return;
    }
    balancer_in_flight_ = true;
    const quint64 generation = generation_;
    const QString upstream = upstream_;
    client_->get(QStringLiteral("/upstreams/") + segment(upstream) + QStringLiteral("/balancer"),
                 this, [this, generation, upstream](const AdminResult& result) {
                     if (generation != generation_) {
                         return;  // another upstream was chosen meanwhile
                     }
                     balancer_in_flight_ = false;
                     applyBalancer(upstream, result);
                 });
}

void UpstreamsPage::applyBalancer(const QString& upstream, const AdminResult& result) {
    if (!result.ok()) {
        if (result.http_status == 404) {
            balancer_model_->clear();
            health_model_->clear();
            why_->setDiagnosis(UpstreamDiagnosis::notOnNode(upstream));
        } else {
            showMessage(false, tr("Could not read the balancer of '%1': %2")
                                   .arg(upstream, result.error->toString()));
        }
        return;
    }
    const BalancerView view = BalancerView::fromJson(result.body.object());
    balancer_model_->setView(view);
    health_model_->setView(view);
    const QStringList services =
        services_by_host_.value((view.name.isEmpty() ? upstream : view.name).toLower());
    why_->setDiagnosis(UpstreamDiagnosis::diagnose(view, services_known_ ? &services : nullptr));
    title_->setText(tr("%1 — %2, %3 targets, %4 slots%5")
                        .arg(view.name.isEmpty() ? upstream : view.name, view.algorithm)
                        .arg(view.targets.size())
                        .arg(view.slot_count)
                        .arg(view.healthchecks_in_use
                                 ? (view.active_checks ? tr(", active + passive checks")
                                                       : tr(", passive checks"))
                                 : tr(", health checks off")));
    // Columns grow to fit what they show (never shrink under the reader's eyes).
    for (int column = 0; column < TargetHealthModel::ColumnCount; ++column) {
        const QAbstractItemView* view = table_;  // sizeHintForColumn is public there
        if (view->sizeHintForColumn(column) > table_->columnWidth(column)) {
            table_->resizeColumnToContents(column);
        }
    }
    updateActions();
    emit refreshed();
}

int UpstreamsPage::selectedRow() const {
    const QModelIndexList rows = table_->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().row();
}

void UpstreamsPage::updateActions() {
    const int row = selectedRow();
    const bool has_upstream = !upstream_.isEmpty();
    mark_healthy_->setEnabled(row >= 0);
    mark_unhealthy_->setEnabled(row >= 0);
    change_weight_->setEnabled(row >= 0);
    remove_target_->setEnabled(row >= 0);
    add_target_->setEnabled(has_upstream);
}

QString UpstreamsPage::message() const {
    return message_->text();
}

void UpstreamsPage::showMessage(bool ok, const QString& text) {
    message_->setStyleSheet(ok ? QString() : QStringLiteral("color:#d62728;"));
    message_->setText(text);
    if (!ok) {
        qCWarning(lcUpstreamsPage) << text;
    }
}

void UpstreamsPage::write(const QByteArray& method, const QString& path, const QJsonValue& body,
                          const QString& what) {
    if (!client_) {
        return;
    }
    client_->request(method, path, body, this, [this, what](const AdminResult& result) {
        if (result.ok()) {
            showMessage(true, what);
        } else {
            showMessage(false, tr("Failed: %1 — %2. Check the value and try again; the table "
                                  "shows the node's current state.")
                                   .arg(what, result.error->toString()));
        }
        emit operationFinished(result.ok(), message_->text());
        refresh();
    });
}

void UpstreamsPage::markHealth(const QString& target, const QString& address, bool healthy) {
    if (upstream_.isEmpty() || target.isEmpty()) {
        return;
    }
    QString path = QStringLiteral("/upstreams/") + segment(upstream_) +
                   QStringLiteral("/targets/") + segment(target);
    if (!address.isEmpty()) {
        path += QLatin1Char('/') + segment(address);
    }
    path += healthy ? QStringLiteral("/healthy") : QStringLiteral("/unhealthy");
    const QString who = address.isEmpty() ? tr("target %1").arg(target) : address;
    write("PUT", path, QJsonValue(QJsonValue::Undefined),
          healthy ? tr("Marked %1 healthy on this node.").arg(who)
                  : tr("Marked %1 unhealthy on this node.").arg(who));
}

void UpstreamsPage::changeWeight(const QString& target, int weight) {
    if (upstream_.isEmpty() || target.isEmpty()) {
        return;
    }
    write("PATCH",
          QStringLiteral("/upstreams/") + segment(upstream_) + QStringLiteral("/targets/") +
              segment(target),
          QJsonObject{{QStringLiteral("weight"), weight}},
          tr("Weight of target %1 set to %2.").arg(target).arg(weight));
}

void UpstreamsPage::addTarget(const QString& target, int weight) {
    if (upstream_.isEmpty()) {
        return;
    }
    write("POST", QStringLiteral("/upstreams/") + segment(upstream_) + QStringLiteral("/targets"),
          QJsonObject{{QStringLiteral("target"), target}, {QStringLiteral("weight"), weight}},
          tr("Added target %1 (weight %2).").arg(target).arg(weight));
}

void UpstreamsPage::removeTarget(const QString& target) {
    if (upstream_.isEmpty() || target.isEmpty()) {
        return;
    }
    write("DELETE",
          QStringLiteral("/upstreams/") + segment(upstream_) + QStringLiteral("/targets/") +
              segment(target),
          QJsonValue(QJsonValue::Undefined), tr("Removed target %1.").arg(target));
}

void UpstreamsPage::openWeightDialog() {
    const int row = selectedRow();
    if (row < 0) {
        return;
    }
    const BalancerTarget target = health_model_->row(row).target;
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Change weight of %1").arg(target.target));
    auto* form = new QFormLayout(dialog);
    auto* spin = new QSpinBox(dialog);
    spin->setRange(0, 65535);  // Kong's limits for a target weight
    spin->setValue(static_cast<int>(target.weight));
    form->addRow(tr("Weight (0 = no traffic):"), spin);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    const QString id = target.id.isEmpty() ? target.target : target.id;
    connect(dialog, &QDialog::accepted, this,
            [this, id, spin] { changeWeight(id, spin->value()); });
    dialog->open();
}

void UpstreamsPage::openAddTargetDialog() {
    if (upstream_.isEmpty()) {
        return;
    }
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Add a target to %1").arg(upstream_));
    auto* form = new QFormLayout(dialog);
    auto* target = new QLineEdit(dialog);
    target->setPlaceholderText(tr("host:port, e.g. 10.0.0.5:8080"));
    auto* weight = new QSpinBox(dialog);
    weight->setRange(0, 65535);
    weight->setValue(100);
    form->addRow(tr("Target:"), target);
    form->addRow(tr("Weight:"), weight);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    connect(dialog, &QDialog::accepted, this,
            [this, target, weight] { addTarget(target->text().trimmed(), weight->value()); });
    dialog->open();
}

void UpstreamsPage::confirmRemove() {
    const int row = selectedRow();
    if (row < 0) {
        return;
    }
    const BalancerTarget target = health_model_->row(row).target;
    auto* box = new QMessageBox(QMessageBox::Question, tr("Remove target"),
                                tr("Remove target %1 from upstream %2? Its addresses stop "
                                   "receiving traffic on every node.")
                                    .arg(target.target, upstream_),
                                QMessageBox::Yes | QMessageBox::Cancel, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    const QString id = target.id.isEmpty() ? target.target : target.id;
    connect(box, &QMessageBox::finished, this, [this, box, id] {
        if (box->clickedButton() == box->button(QMessageBox::Yes)) {
            removeTarget(id);
        }
    });
    box->open();
}

}  // namespace portico::console
