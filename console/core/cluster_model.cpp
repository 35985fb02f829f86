#include "console/core/cluster_model.hpp"

#include "console/core/row_sync.hpp"

#include <QDateTime>
#include <QJsonArray>
#include <QMap>

namespace portico::console {

namespace {

QStringList strings(const QJsonValue& value) {
    QStringList list;
    for (const QJsonValue& item : value.toArray()) {
        list << item.toString();
    }
    return list;
}

QString clockTime(double unix_seconds) {
    if (unix_seconds <= 0) {
        return QStringLiteral("–");
    }
    const QDateTime at =
        QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(unix_seconds * 1000.0)).toLocalTime();
    // Today's times fit a narrow column; older ones need their date.
    return at.date() == QDate::currentDate() ? at.toString(QStringLiteral("HH:mm:ss"))
                                             : at.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

}  // namespace

bool isClustered(const QJsonObject& status) {
    return status.value(QLatin1String("database"))
               .toObject()
               .value(QLatin1String("strategy"))
               .toString() == QLatin1String("postgres");
}

ClusterNode ClusterNode::fromJson(const QJsonObject& o) {
    ClusterNode n;
    n.id = o.value(QLatin1String("id")).toString();
    n.hostname = o.value(QLatin1String("hostname")).toString();
    n.version = o.value(QLatin1String("version")).toString();
    n.proxy_listen = strings(o.value(QLatin1String("proxy_listen")));
    n.admin_listen = strings(o.value(QLatin1String("admin_listen")));
    n.started_at = o.value(QLatin1String("started_at")).toDouble();
    n.last_seen = o.value(QLatin1String("last_seen")).toDouble();
    n.applied_revision = o.value(QLatin1String("applied_revision")).toInteger();
    n.config_hash = o.value(QLatin1String("config_hash")).toString();
    n.lag = o.value(QLatin1String("lag")).toDouble();
    n.stale = o.value(QLatin1String("stale")).toBool();
    return n;
}

ClusterNodesModel::ClusterNodesModel(QObject* parent) : QAbstractTableModel(parent) {}

void ClusterNodesModel::setJson(const QJsonObject& body) {
    QList<ClusterNode> nodes;
    for (const QJsonValue& value : body.value(QLatin1String("data")).toArray()) {
        nodes << ClusterNode::fromJson(value.toObject());
    }
    setNodes(nodes, body.value(QLatin1String("revision")).toInteger());
}

void ClusterNodesModel::setNodes(const QList<ClusterNode>& nodes, qint64 revision) {
    revision_ = revision;
    QList<ClusterNode> next;
    QSet<QString> seen;
    for (ClusterNode node : nodes) {
        node.id = uniqueKey(seen, node.id);
        next << node;
    }
    RowSyncHooks hooks{
        [this](int row) { beginRemoveRows({}, row, row); },
        [this] { endRemoveRows(); },
        [this](int row) { beginInsertRows({}, row, row); },
        [this] { endInsertRows(); },
        [this](int from, int to) { beginMoveRows({}, from, from, {}, to); },
        [this] { endMoveRows(); },
        [this](int first, int last) {
            emit dataChanged(index(first, 0), index(last, ColumnCount - 1));
        },
    };
    syncRows(
        rows_, next, [](const ClusterNode& n) { return n.id; }, hooks);
}

void ClusterNodesModel::clear() {
    if (!rows_.isEmpty()) {
        beginRemoveRows({}, 0, static_cast<int>(rows_.size() - 1));
        rows_.clear();
        endRemoveRows();
    }
    revision_ = 0;
}

int ClusterNodesModel::staleCount() const {
    int count = 0;
    for (const ClusterNode& node : rows_) {
        count += node.stale ? 1 : 0;
    }
    return count;
}

int ClusterNodesModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ClusterNodesModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClusterNodesModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const ClusterNode& n = rows_.at(index.row());
    const bool behind = revision_ > 0 && n.applied_revision < revision_;
    switch (role) {
        case Qt::DisplayRole:
            switch (index.column()) {
                case HostnameColumn:
                    return n.hostname;
                case IdColumn:
                    return n.id.left(8);
                case VersionColumn:
                    return n.version;
                case RevisionColumn:
                    return behind ? tr("%1 of %2").arg(n.applied_revision).arg(revision_)
                                  : QString::number(n.applied_revision);
                case LagColumn:
                    return QString::number(n.lag, 'g', 4);
                case LastSeenColumn:
                    return clockTime(n.last_seen);
                case StateColumn:
                    if (n.stale) {
                        return tr("STALE");
                    }
                    return behind ? tr("catching up") : tr("up to date");
                case ProxyListenColumn:
                    return n.proxy_listen.join(QStringLiteral(", "));
                case AdminListenColumn:
                    return n.admin_listen.join(QStringLiteral(", "));
                default:
                    return {};
            }
        case Qt::ToolTipRole:
            if (n.stale) {
                return tr("Node %1 has not reported since %2: it may be down or cut off from the "
                          "database.")
                    .arg(n.hostname, clockTime(n.last_seen));
            }
            return tr("Node %1 (%2), started %3, configuration hash %4")
                .arg(n.hostname, n.id, clockTime(n.started_at), n.config_hash);
        case NodeIdRole:
            return n.id;
        case StaleRole:
            return n.stale;
        case BehindRole:
            return behind;
        default:
            return {};
    }
}

QVariant ClusterNodesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case HostnameColumn:
            return tr("Node");
        case IdColumn:
            return tr("Id");
        case VersionColumn:
            return tr("Version");
        case RevisionColumn:
            return tr("Applied revision");
        case LagColumn:
            return tr("Lag (revisions)");
        case LastSeenColumn:
            return tr("Last seen");
        case StateColumn:
            return tr("State");
        case ProxyListenColumn:
            return tr("Proxy listen");
        case AdminListenColumn:
            return tr("Admin listen");
        default:
            return {};
    }
}

HealthMatrixModel::HealthMatrixModel(QObject* parent) : QAbstractTableModel(parent) {}

QString HealthMatrixModel::healthWord(const QString& reported) {
    const QString word = reported.toLower();
    if (word.isEmpty()) {
        return QStringLiteral("unknown");
    }
    if (word == QLatin1String("healthchecks_off")) {
        return QStringLiteral("checks_off");
    }
    return word;
}

void HealthMatrixModel::setJson(const QJsonObject& body) {
    QList<Column> columns;
    QMap<QString, Row> by_key;  // sorted by upstream, target, address
    const QJsonArray nodes = body.value(QLatin1String("data")).toArray();
    for (const QJsonValue& value : nodes) {
        const QJsonObject node = value.toObject();
        columns << Column{node.value(QLatin1String("node_id")).toString(),
                          node.value(QLatin1String("hostname")).toString()};
    }
    for (qsizetype c = 0; c < nodes.size(); ++c) {
        const QJsonObject node = nodes[c].toObject();
        for (const QJsonValue& t : node.value(QLatin1String("targets")).toArray()) {
            const QJsonObject target = t.toObject();
            Row probe;
            probe.upstream = target.value(QLatin1String("upstream")).toString();
            probe.target = target.value(QLatin1String("target")).toString();
            probe.address = target.value(QLatin1String("address")).toString();
            probe.key = probe.upstream + QLatin1Char('\x1f') + probe.target + QLatin1Char('\x1f') +
                        probe.address;
            Row& row = by_key[probe.key];
            if (row.key.isEmpty()) {
                row = probe;
                row.cells.resize(columns.size());
            }
            row.cells[c] = Cell{target.value(QLatin1String("health")).toString(),
                                target.value(QLatin1String("cause")).toString()};
        }
    }
    bool same_columns = columns.size() == columns_.size();
    for (qsizetype i = 0; same_columns && i < columns.size(); ++i) {
        same_columns = columns[i].node_id == columns_[i].node_id &&
                       columns[i].hostname == columns_[i].hostname;
    }
    QList<Row> next = by_key.values();
    if (!same_columns) {
        beginResetModel();
        columns_ = columns;
        rows_ = next;
        endResetModel();
        return;
    }
    const int last_column = static_cast<int>(columns_.size()) - 1;
    RowSyncHooks hooks{
        [this](int row) { beginRemoveRows({}, row, row); },
        [this] { endRemoveRows(); },
        [this](int row) { beginInsertRows({}, row, row); },
        [this] { endInsertRows(); },
        [this](int from, int to) { beginMoveRows({}, from, from, {}, to); },
        [this] { endMoveRows(); },
        [this, last_column](int first, int last) {
            if (last_column >= 0) {
                emit dataChanged(index(first, 0), index(last, last_column));
            }
        },
    };
    syncRows(
        rows_, next, [](const Row& row) { return row.key; }, hooks);
}

void HealthMatrixModel::clear() {
    beginResetModel();
    rows_.clear();
    columns_.clear();
    endResetModel();
}

bool HealthMatrixModel::disagrees(const Row& row) const {
    QString first;
    for (const Cell& cell : row.cells) {
        const QString word = healthWord(cell.health);
        if (first.isEmpty()) {
            first = word;
        } else if (word != first) {
            return true;
        }
    }
    return false;
}

int HealthMatrixModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int HealthMatrixModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(columns_.size());
}

QVariant HealthMatrixModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Row& row = rows_.at(index.row());
    const Cell cell = index.column() < row.cells.size() ? row.cells.at(index.column()) : Cell{};
    switch (role) {
        case Qt::DisplayRole:
            return cell.health.isEmpty() ? QStringLiteral("–") : cell.health;
        case Qt::ToolTipRole: {
            const QString node = columns_.at(index.column()).hostname;
            if (cell.health.isEmpty()) {
                return tr("%1 did not report %2").arg(node, row.address);
            }
            QString text = tr("%1 sees %2 (target %3 of %4) as %5")
                               .arg(node, row.address, row.target, row.upstream, cell.health);
            if (!cell.cause.isEmpty()) {
                text += QStringLiteral(": ") + cell.cause;
            }
            return text;
        }
        case Qt::TextAlignmentRole:
            return int(Qt::AlignCenter);
        case HealthRole:
            return healthWord(cell.health);
        case CauseRole:
            return cell.cause;
        case DisagreementRole:
            return disagrees(row);
        default:
            return {};
    }
}

QVariant HealthMatrixModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    if (orientation == Qt::Horizontal) {
        if (section < 0 || section >= columns_.size()) {
            return {};
        }
        const Column& c = columns_.at(section);
        if (role == Qt::ToolTipRole) {
            return c.node_id;
        }
        if (c.hostname.isEmpty()) {
            return c.node_id.left(8);
        }
        // Nodes on one host (containers, tests) share a hostname: add the id to tell them apart.
        for (qsizetype i = 0; i < columns_.size(); ++i) {
            if (i != section && columns_[i].hostname == c.hostname) {
                return c.hostname + QStringLiteral(" (") + c.node_id.left(8) + QLatin1Char(')');
            }
        }
        return c.hostname;
    }
    if (section < 0 || section >= rows_.size()) {
        return {};
    }
    const Row& r = rows_.at(section);
    if (role == Qt::ToolTipRole) {
        return tr("upstream %1, target %2, address %3").arg(r.upstream, r.target, r.address);
    }
    QString label = r.upstream + QStringLiteral(" / ") + r.target;
    if (!r.address.isEmpty() && r.address != r.target) {
        label += QStringLiteral(" (") + r.address + QLatin1Char(')');
    }
    return label;
}

}  // namespace portico::console
