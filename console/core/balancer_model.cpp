#include "console/core/balancer_model.hpp"

#include "console/core/row_sync.hpp"

#include <QJsonArray>
#include <QSet>

namespace portico::console {

namespace {

std::optional<HealthEvent> readEvent(const QJsonValue& value, const char* what_member) {
    if (!value.isObject()) {
        return std::nullopt;
    }
    const QJsonObject object = value.toObject();
    HealthEvent event;
    event.time = object.value(QLatin1String("time")).toDouble();
    event.what = object.value(QLatin1String(what_member)).toString();
    event.source = object.value(QLatin1String("source")).toString();
    return event;
}

HealthThresholds readThresholds(const QJsonObject& object) {
    HealthThresholds t;
    t.successes = object.value(QLatin1String("successes")).toInteger();
    t.http_failures = object.value(QLatin1String("http_failures")).toInteger();
    t.tcp_failures = object.value(QLatin1String("tcp_failures")).toInteger();
    t.timeouts = object.value(QLatin1String("timeouts")).toInteger();
    return t;
}

BalancerAddress readAddress(const QJsonObject& o) {
    BalancerAddress a;
    a.key = o.value(QLatin1String("key")).toString();
    a.ip = o.value(QLatin1String("ip")).toString();
    a.port = o.value(QLatin1String("port")).toInt();
    a.target = o.value(QLatin1String("target")).toString();
    a.target_id = o.value(QLatin1String("target_id")).toString();
    a.weight = o.value(QLatin1String("weight")).toInteger();
    a.slot_count = o.value(QLatin1String("slots")).toInteger();
    a.state = o.value(QLatin1String("state")).toString();
    const QJsonObject counters = o.value(QLatin1String("counters")).toObject();
    a.counters.success = counters.value(QLatin1String("success")).toInteger();
    a.counters.http_failures = counters.value(QLatin1String("http_failures")).toInteger();
    a.counters.tcp_failures = counters.value(QLatin1String("tcp_failures")).toInteger();
    a.counters.timeouts = counters.value(QLatin1String("timeouts")).toInteger();
    const QJsonObject thresholds = o.value(QLatin1String("thresholds")).toObject();
    a.active = readThresholds(thresholds.value(QLatin1String("active")).toObject());
    a.passive = readThresholds(thresholds.value(QLatin1String("passive")).toObject());
    const QJsonObject totals = o.value(QLatin1String("passive_failures_total")).toObject();
    a.passive_http_total = totals.value(QLatin1String("http")).toInteger();
    a.passive_tcp_total = totals.value(QLatin1String("tcp")).toInteger();
    a.passive_timeout_total = totals.value(QLatin1String("timeout")).toInteger();
    a.last_probe = readEvent(o.value(QLatin1String("last_probe")), "result");
    a.last_failure = readEvent(o.value(QLatin1String("last_failure")), "cause");
    a.last_change = readEvent(o.value(QLatin1String("last_change")), "cause");
    a.half_open = o.value(QLatin1String("half_open")).toBool();
    a.active_connections = o.value(QLatin1String("active_connections")).toInteger();
    a.latency_ewma_ms = o.value(QLatin1String("latency_ewma_ms")).toDouble();
    if (a.key.isEmpty()) {
        a.key = a.endpoint();
    }
    return a;
}

}  // namespace

QString BalancerAddress::endpoint() const {
    if (ip.contains(QLatin1Char(':'))) {
        return QLatin1Char('[') + ip + QLatin1String("]:") + QString::number(port);
    }
    return ip + QLatin1Char(':') + QString::number(port);
}

BalancerView BalancerView::fromJson(const QJsonObject& o) {
    BalancerView view;
    view.id = o.value(QLatin1String("id")).toString();
    view.name = o.value(QLatin1String("name")).toString();
    view.algorithm = o.value(QLatin1String("algorithm")).toString();
    view.slot_count = o.value(QLatin1String("slots")).toInteger();
    view.slots_total = o.value(QLatin1String("slots_total")).toInteger();
    view.healthchecks_in_use = o.value(QLatin1String("healthchecks_in_use")).toBool();
    view.active_checks = o.value(QLatin1String("active_checks")).toBool();
    view.threshold = o.value(QLatin1String("threshold")).toDouble();
    view.passive_recovery_s = o.value(QLatin1String("passive_recovery_s")).toDouble();
    view.health = o.value(QLatin1String("health")).toString();
    const QJsonObject weight = o.value(QLatin1String("weight")).toObject();
    view.weight_total = weight.value(QLatin1String("total")).toInteger();
    view.weight_available = weight.value(QLatin1String("available")).toInteger();
    view.weight_unavailable = weight.value(QLatin1String("unavailable")).toInteger();
    for (const QJsonValue& value : o.value(QLatin1String("targets")).toArray()) {
        const QJsonObject t = value.toObject();
        BalancerTarget target;
        target.id = t.value(QLatin1String("id")).toString();
        target.target = t.value(QLatin1String("target")).toString();
        target.weight = t.value(QLatin1String("weight")).toInteger();
        target.address_count = t.value(QLatin1String("address_count")).toInt();
        const QJsonObject dns = t.value(QLatin1String("dns")).toObject();
        target.dns_status = dns.value(QLatin1String("status")).toString();
        target.dns_error = dns.value(QLatin1String("error")).toString();
        target.dns_stale = dns.value(QLatin1String("stale")).toBool();
        view.targets.append(target);
    }
    QSet<QString> seen;
    for (const QJsonValue& value : o.value(QLatin1String("addresses")).toArray()) {
        BalancerAddress address = readAddress(value.toObject());
        address.key = uniqueKey(seen, address.key);
        view.addresses.append(address);
    }
    return view;
}

const BalancerTarget* BalancerView::findTarget(const QString& target_id) const {
    for (const BalancerTarget& target : targets) {
        if (target.id == target_id) {
            return &target;
        }
    }
    return nullptr;
}

int BalancerView::targetIndex(const QString& target_id) const {
    for (qsizetype i = 0; i < targets.size(); ++i) {
        if (targets[i].id == target_id) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

BalancerModel::BalancerModel(QObject* parent) : QAbstractListModel(parent) {}

void BalancerModel::setView(const BalancerView& view) {
    view_ = view;
    RowSyncHooks hooks{
        [this](int row) { beginRemoveRows({}, row, row); },
        [this] { endRemoveRows(); },
        [this](int row) { beginInsertRows({}, row, row); },
        [this] { endInsertRows(); },
        [this](int from, int to) { beginMoveRows({}, from, from, {}, to); },
        [this] { endMoveRows(); },
        [this](int first, int last) {
            recomputeShares();
            emit dataChanged(index(first), index(last));
        },
    };
    syncRows(
        rows_, view.addresses, [](const BalancerAddress& a) { return a.key; }, hooks);
    recomputeShares();
}

void BalancerModel::clear() {
    if (!rows_.isEmpty()) {
        beginRemoveRows({}, 0, static_cast<int>(rows_.size() - 1));
        rows_.clear();
        start_.clear();
        span_.clear();
        endRemoveRows();
    }
    view_ = {};
}

bool BalancerModel::sharesByWeight() const {
    // Least-connections and latency hold one slot per address: their picks follow the weights
    // (connections or latency divided by weight), so the weights are the honest picture.
    return view_.algorithm == QLatin1String("least-connections") ||
           view_.algorithm == QLatin1String("latency");
}

void BalancerModel::recomputeShares() {
    const bool by_weight = sharesByWeight();
    auto share = [by_weight](const BalancerAddress& a) {
        return qMax<qint64>(0, by_weight ? a.weight : a.slot_count);
    };
    qint64 total = 0;
    for (const BalancerAddress& a : rows_) {
        total += share(a);
    }
    start_.resize(rows_.size());
    span_.resize(rows_.size());
    double at = 0;
    for (qsizetype i = 0; i < rows_.size(); ++i) {
        double span = total > 0 ? double(share(rows_[i])) / double(total) : 0.0;
        start_[i] = at;
        span_[i] = span;
        at += span;
    }
}

double BalancerModel::startFraction(int row) const {
    return row >= 0 && row < start_.size() ? start_[row] : 0.0;
}

double BalancerModel::spanFraction(int row) const {
    return row >= 0 && row < span_.size() ? span_[row] : 0.0;
}

int BalancerModel::rowOfKey(const QString& key) const {
    for (qsizetype i = 0; i < rows_.size(); ++i) {
        if (rows_[i].key == key) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

int BalancerModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

QVariant BalancerModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const int row = index.row();
    const BalancerAddress& a = rows_.at(row);
    switch (role) {
        case Qt::DisplayRole:
            return a.endpoint();
        case Qt::ToolTipRole:
            return tr("%1 (target %2): %3, weight %4, %5 slots")
                .arg(a.endpoint(), a.target, a.state)
                .arg(a.weight)
                .arg(a.slot_count);
        case KeyRole:
            return a.key;
        case TargetRole:
            return a.target;
        case TargetIdRole:
            return a.target_id;
        case TargetIndexRole:
            return view_.targetIndex(a.target_id);
        case AddressRole:
            return a.endpoint();
        case WeightRole:
            return a.weight;
        case SlotsRole:
            return a.slot_count;
        case StartFractionRole:
            return startFraction(row);
        case SpanFractionRole:
            return spanFraction(row);
        case StateRole:
            return a.state;
        case UnhealthyRole:
            return a.unhealthy();
        case ActiveConnectionsRole:
            return a.active_connections;
        default:
            return {};
    }
}

QHash<int, QByteArray> BalancerModel::roleNames() const {
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(KeyRole, "key");
    names.insert(TargetRole, "target");
    names.insert(TargetIdRole, "targetId");
    names.insert(TargetIndexRole, "targetIndex");
    names.insert(AddressRole, "address");
    names.insert(WeightRole, "weight");
    names.insert(SlotsRole, "slots");
    names.insert(StartFractionRole, "startFraction");
    names.insert(SpanFractionRole, "spanFraction");
    names.insert(StateRole, "state");
    names.insert(UnhealthyRole, "unhealthy");
    names.insert(ActiveConnectionsRole, "activeConnections");
    return names;
}

}  // namespace portico::console
