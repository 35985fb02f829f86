#include "console/core/traffic_model.hpp"

#include <QDateTime>

#include <algorithm>

namespace portico::console {

TrafficRecord TrafficRecord::fromJson(const QJsonObject& o) {
    TrafficRecord r;
    r.sequence = o.value(QLatin1String("sequence")).toInteger();
    r.time = o.value(QLatin1String("time")).toDouble();
    r.request_id = o.value(QLatin1String("request_id")).toString();
    r.method = o.value(QLatin1String("method")).toString();
    r.host = o.value(QLatin1String("host")).toString();
    r.path = o.value(QLatin1String("path")).toString();
    r.route = o.value(QLatin1String("route")).toString();
    r.service = o.value(QLatin1String("service")).toString();
    r.address = o.value(QLatin1String("address")).toString();
    r.status = o.value(QLatin1String("status")).toInt();
    r.gateway_error = o.value(QLatin1String("gateway_error")).toBool();
    r.latency_ms = o.value(QLatin1String("latency_ms")).toDouble();
    r.upstream_latency_ms = o.value(QLatin1String("upstream_latency_ms")).toDouble();
    r.proxy_latency_ms = o.value(QLatin1String("proxy_latency_ms")).toDouble();
    r.bytes_in = o.value(QLatin1String("bytes_in")).toInteger();
    r.bytes_out = o.value(QLatin1String("bytes_out")).toInteger();
    if (r.request_id.isEmpty()) {
        // Every record has an id; a record without one still needs an identity to be deduplicated.
        r.request_id = QStringLiteral("#") + QString::number(r.sequence);
    }
    return r;
}

TrafficModel::TrafficModel(int capacity, QObject* parent)
    : QAbstractTableModel(parent), capacity_(std::max(1, capacity)) {}

void TrafficModel::addRecords(const QList<TrafficRecord>& records) {
    QList<TrafficRecord> fresh;
    bool names_changed = false;
    for (const TrafficRecord& record : records) {
        if (ids_.contains(record.request_id)) {
            continue;
        }
        ids_.insert(record.request_id);
        last_sequence_ = std::max(last_sequence_, record.sequence);
        if (!record.route.isEmpty() && !routes_.contains(record.route)) {
            routes_.insert(record.route);
            names_changed = true;
        }
        if (!record.service.isEmpty() && !services_.contains(record.service)) {
            services_.insert(record.service);
            names_changed = true;
        }
        fresh.append(record);
    }
    if (names_changed) {
        emit knownNamesChanged();
    }
    if (fresh.isEmpty()) {
        return;
    }
    if (!paused_) {
        show(std::move(fresh));
        return;
    }
    buffer_.append(fresh);
    while (buffer_.size() > capacity_) {
        forget(buffer_.takeFirst());
        ++dropped_;
    }
    emit bufferedCountChanged(bufferedCount());
}

void TrafficModel::show(QList<TrafficRecord> records) {
    // Newest first: by sequence, descending. Records from a restarted node restart their
    // sequence; they still arrive after the older ones, so keep arrival order for ties.
    std::stable_sort(
        records.begin(), records.end(),
        [](const TrafficRecord& a, const TrafficRecord& b) { return a.sequence > b.sequence; });
    if (records.size() > capacity_) {
        for (qsizetype i = capacity_; i < records.size(); ++i) {
            forget(records[i]);
        }
        records.resize(capacity_);
    }
    const int count = static_cast<int>(records.size());
    beginInsertRows({}, 0, count - 1);
    rows_ = records + rows_;
    endInsertRows();
    if (rows_.size() > capacity_) {
        beginRemoveRows({}, capacity_, static_cast<int>(rows_.size() - 1));
        for (qsizetype i = capacity_; i < rows_.size(); ++i) {
            forget(rows_[i]);
        }
        rows_.resize(capacity_);
        endRemoveRows();
    }
}

void TrafficModel::forget(const TrafficRecord& record) {
    ids_.remove(record.request_id);
}

void TrafficModel::setPaused(bool paused) {
    if (paused == paused_) {
        return;
    }
    paused_ = paused;
    if (!paused_ && !buffer_.isEmpty()) {
        QList<TrafficRecord> pending;
        pending.swap(buffer_);
        show(std::move(pending));
    }
    if (!paused_) {
        dropped_ = 0;
    }
    emit pausedChanged(paused_);
    emit bufferedCountChanged(bufferedCount());
}

void TrafficModel::clear() {
    beginResetModel();
    rows_.clear();
    buffer_.clear();
    ids_.clear();
    dropped_ = 0;
    endResetModel();
    emit bufferedCountChanged(0);
}

int TrafficModel::rowOfRequest(const QString& request_id) const {
    for (qsizetype i = 0; i < rows_.size(); ++i) {
        if (rows_[i].request_id == request_id) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

QStringList TrafficModel::knownRoutes() const {
    QStringList list(routes_.begin(), routes_.end());
    list.sort();
    return list;
}

QStringList TrafficModel::knownServices() const {
    QStringList list(services_.begin(), services_.end());
    list.sort();
    return list;
}

int TrafficModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int TrafficModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TrafficModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const TrafficRecord& r = rows_.at(index.row());
    switch (role) {
        case Qt::DisplayRole:
            switch (index.column()) {
                case TimeColumn:
                    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(r.time * 1000.0))
                        .toLocalTime()
                        .toString(QStringLiteral("HH:mm:ss.zzz"));
                case MethodColumn:
                    return r.method;
                case HostColumn:
                    return r.host;
                case PathColumn:
                    return r.path;
                case RouteColumn:
                    return r.route;
                case ServiceColumn:
                    return r.service;
                case AddressColumn:
                    return r.address;
                case StatusColumn:
                    return r.status == 0 ? QStringLiteral("–") : QString::number(r.status);
                case LatencyColumn:
                    return QString::number(r.latency_ms, 'f', 1) + QStringLiteral(" ms");
                default:
                    return {};
            }
        case Qt::ToolTipRole:
            if (index.column() == StatusColumn && r.gateway_error) {
                return tr("Made by the gateway itself: select the row for the explanation.");
            }
            if (index.column() == LatencyColumn) {
                return tr("total %1 ms, upstream %2 ms, gateway %3 ms")
                    .arg(r.latency_ms, 0, 'f', 2)
                    .arg(r.upstream_latency_ms, 0, 'f', 2)
                    .arg(r.proxy_latency_ms, 0, 'f', 2);
            }
            return tr("Request %1").arg(r.request_id);
        case Qt::TextAlignmentRole:
            if (index.column() == StatusColumn || index.column() == LatencyColumn) {
                return int(Qt::AlignRight | Qt::AlignVCenter);
            }
            return {};
        case RequestIdRole:
            return r.request_id;
        case SequenceRole:
            return r.sequence;
        case StatusRole:
            return r.status;
        case StatusClassRole:
            return r.statusClass();
        case GatewayErrorRole:
            return r.gateway_error;
        case RouteRole:
            return r.route;
        case ServiceRole:
            return r.service;
        case SearchTextRole:
            return QStringList{r.method, r.host, r.path, r.request_id, r.address}.join(
                QLatin1Char(' '));
        default:
            return {};
    }
}

QVariant TrafficModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case TimeColumn:
            return tr("Time");
        case MethodColumn:
            return tr("Method");
        case HostColumn:
            return tr("Host");
        case PathColumn:
            return tr("Path");
        case RouteColumn:
            return tr("Route");
        case ServiceColumn:
            return tr("Service");
        case AddressColumn:
            return tr("Address");
        case StatusColumn:
            return tr("Status");
        case LatencyColumn:
            return tr("Latency");
        default:
            return {};
    }
}

TrafficFilterProxy::TrafficFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {}

void TrafficFilterProxy::refilter() {
    // Qt 6.4 has no begin/endFilterChange; invalidateFilter re-runs filterAcceptsRow.
    invalidateFilter();
}

void TrafficFilterProxy::setStatusClass(int status_class) {
    if (status_class_ != status_class) {
        status_class_ = status_class;
        refilter();
    }
}

void TrafficFilterProxy::setRoute(const QString& route) {
    if (route_ != route) {
        route_ = route;
        refilter();
    }
}

void TrafficFilterProxy::setService(const QString& service) {
    if (service_ != service) {
        service_ = service;
        refilter();
    }
}

void TrafficFilterProxy::setText(const QString& text) {
    if (text_ != text) {
        text_ = text;
        refilter();
    }
}

void TrafficFilterProxy::setGatewayErrorsOnly(bool only) {
    if (errors_only_ != only) {
        errors_only_ = only;
        refilter();
    }
}

bool TrafficFilterProxy::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
    const QModelIndex index = sourceModel()->index(source_row, 0, source_parent);
    if (status_class_ != 0 && index.data(TrafficModel::StatusClassRole).toInt() != status_class_) {
        return false;
    }
    if (errors_only_ && !index.data(TrafficModel::GatewayErrorRole).toBool()) {
        return false;
    }
    if (!route_.isEmpty() && index.data(TrafficModel::RouteRole).toString() != route_) {
        return false;
    }
    if (!service_.isEmpty() && index.data(TrafficModel::ServiceRole).toString() != service_) {
        return false;
    }
    if (!text_.isEmpty() &&
        !index.data(TrafficModel::SearchTextRole).toString().contains(text_, Qt::CaseInsensitive)) {
        return false;
    }
    return true;
}

}  // namespace portico::console
