#include "console/ui/cluster_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/cluster_model.hpp"

#include <QHeaderView>
#include <QIdentityProxyModel>
#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace portico::console {

namespace {

constexpr int kDefaultRefreshMs = 2000;

class NodeColours : public QIdentityProxyModel {
public:
    using QIdentityProxyModel::QIdentityProxyModel;
    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::ForegroundRole) {
            if (QIdentityProxyModel::data(index, ClusterNodesModel::StaleRole).toBool()) {
                return QBrush(QColor(0xd6, 0x27, 0x28));
            }
            if (QIdentityProxyModel::data(index, ClusterNodesModel::BehindRole).toBool()) {
                return QBrush(QColor(0xb3, 0x6b, 0x00));
            }
        }
        return QIdentityProxyModel::data(index, role);
    }
};

class MatrixColours : public QIdentityProxyModel {
public:
    using QIdentityProxyModel::QIdentityProxyModel;
    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::BackgroundRole || role == Qt::ForegroundRole) {
            const QString health =
                QIdentityProxyModel::data(index, HealthMatrixModel::HealthRole).toString();
            QColor background;
            if (health == QLatin1String("healthy") || health == QLatin1String("checks_off")) {
                background = QColor(0x2e, 0x8b, 0x3e);
            } else if (health == QLatin1String("unhealthy")) {
                background = QColor(0xd6, 0x27, 0x28);
            } else if (health == QLatin1String("dns_error")) {
                background = QColor(0xc9, 0x8a, 0x00);
            } else {
                return QIdentityProxyModel::data(index, role);
            }
            return role == Qt::BackgroundRole ? QBrush(background) : QBrush(Qt::white);
        }
        if (role == Qt::FontRole &&
            QIdentityProxyModel::data(index, HealthMatrixModel::DisagreementRole).toBool()) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return QIdentityProxyModel::data(index, role);
    }
};

}  // namespace

ClusterPage::ClusterPage(AdminClient* client, QWidget* parent)
    : QWidget(parent),
      client_(client),
      nodes_(new ClusterNodesModel(this)),
      matrix_(new HealthMatrixModel(this)),
      nodes_table_(new QTableView(this)),
      matrix_table_(new QTableView(this)),
      note_(new QLabel(this)),
      timer_(new QTimer(this)) {
    setObjectName(QStringLiteral("clusterPage"));
    auto* node_colours = new NodeColours(this);
    node_colours->setSourceModel(nodes_);
    nodes_table_->setModel(node_colours);
    nodes_table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    nodes_table_->verticalHeader()->hide();
    nodes_table_->horizontalHeader()->setStretchLastSection(true);
    auto* matrix_colours = new MatrixColours(this);
    matrix_colours->setSourceModel(matrix_);
    matrix_table_->setModel(matrix_colours);
    matrix_table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    note_->setWordWrap(true);

    auto* split = new QSplitter(Qt::Vertical, this);
    auto* nodes_box = new QWidget(split);
    auto* nodes_layout = new QVBoxLayout(nodes_box);
    nodes_layout->setContentsMargins(0, 0, 0, 0);
    nodes_layout->addWidget(new QLabel(tr("<b>Nodes</b> sharing this database"), nodes_box));
    nodes_layout->addWidget(nodes_table_);
    auto* matrix_box = new QWidget(split);
    auto* matrix_layout = new QVBoxLayout(matrix_box);
    matrix_layout->setContentsMargins(0, 0, 0, 0);
    matrix_layout->addWidget(new QLabel(
        tr("<b>Target health by node</b> (each node decides on its own; bold rows: nodes "
           "disagree)"),
        matrix_box));
    matrix_layout->addWidget(matrix_table_);
    split->addWidget(nodes_box);
    split->addWidget(matrix_box);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(note_);
    layout->addWidget(split, 1);

    timer_->setInterval(kDefaultRefreshMs);
    connect(timer_, &QTimer::timeout, this, &ClusterPage::refresh);
    if (client_) {
        connect(client_, &AdminClient::statusUpdated, this, &ClusterPage::statusUpdated);
        statusUpdated(client_->lastStatus());
    }
}

void ClusterPage::setRefreshInterval(int ms) {
    timer_->setInterval(ms);
}

QString ClusterPage::note() const {
    return note_->text();
}

void ClusterPage::statusUpdated(const QJsonObject& status) {
    const bool applicable = isClustered(status);
    if (applicable != applicable_) {
        applicable_ = applicable;
        if (!applicable_) {
            nodes_->clear();
            matrix_->clear();
        }
        emit applicableChanged(applicable_);
    }
    note_->setText(applicable_ ? QString()
                               : tr("This gateway does not run on PostgreSQL: it is a single "
                                    "node, so there is no cluster to show."));
    note_->setVisible(!note_->text().isEmpty());
}

void ClusterPage::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    timer_->start();
    refresh();
}

void ClusterPage::hideEvent(QHideEvent* event) {
    QWidget::hideEvent(event);
    timer_->stop();
}

void ClusterPage::refresh() {
    if (!client_ || in_flight_ > 0) {
        return;
    }
    in_flight_ = 2;
    auto finished = [this] {
        if (--in_flight_ == 0) {
            emit refreshed();
        }
    };
    client_->get(
        QStringLiteral("/clustering/nodes"), this, [this, finished](const AdminResult& result) {
            if (result.ok()) {
                nodes_->setJson(result.body.object());
                const int stale = nodes_->staleCount();
                note_->setText(stale > 0 ? tr("%n node(s) stopped reporting: marked "
                                              "STALE below.",
                                              nullptr, stale)
                                         : QString());
            } else if (result.http_status == 404) {
                nodes_->clear();
                note_->setText(
                    tr("This node has no cluster view (GET /clustering/nodes "
                       "answered 404): it does not run on PostgreSQL, or is "
                       "older than the console."));
            } else {
                note_->setText(
                    tr("Could not read the cluster nodes: %1").arg(result.error->toString()));
            }
            note_->setVisible(!note_->text().isEmpty());
            finished();
        });
    client_->get(QStringLiteral("/clustering/health"), this,
                 [this, finished](const AdminResult& result) {
                     if (result.ok()) {
                         matrix_->setJson(result.body.object());
                         matrix_table_->resizeColumnsToContents();
                     } else if (result.http_status == 404) {
                         matrix_->clear();
                     }
                     finished();
                 });
}

}  // namespace portico::console
