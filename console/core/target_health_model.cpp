#include "console/core/target_health_model.hpp"

#include "console/core/row_sync.hpp"

#include <QDateTime>

namespace portico::console {

namespace {

QString clockTime(double unix_seconds) {
    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(unix_seconds * 1000.0))
        .toLocalTime()
        .toString(QStringLiteral("HH:mm:ss"));
}

QString fullTime(double unix_seconds) {
    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(unix_seconds * 1000.0))
        .toLocalTime()
        .toString(Qt::ISODate);
}

bool passiveOn(const BalancerAddress& a) {
    return a.passive.anyFailureOn() || a.passive.successes > 0;
}

QString limit(qint64 value) {
    return value > 0 ? QString::number(value) : QStringLiteral("off");
}

}  // namespace

TargetHealthModel::TargetHealthModel(QObject* parent) : QAbstractTableModel(parent) {}

void TargetHealthModel::setView(const BalancerView& view) {
    view_ = view;
    QList<Row> next;
    QSet<QString> seen;
    for (const BalancerAddress& address : view.addresses) {
        Row row;
        row.key = uniqueKey(seen, QStringLiteral("a:") + address.key);
        if (const BalancerTarget* target = view.findTarget(address.target_id)) {
            row.target = *target;
        } else {
            row.target.id = address.target_id;
            row.target.target = address.target;
            row.target.weight = address.weight;
        }
        row.address = address;
        next.append(row);
    }
    for (const BalancerTarget& target : view.targets) {
        bool has_address = false;
        for (const BalancerAddress& address : view.addresses) {
            has_address = has_address || address.target_id == target.id;
        }
        if (!has_address) {
            Row row;
            row.key = uniqueKey(seen, QStringLiteral("t:") + target.id);
            row.target = target;
            next.append(row);
        }
    }
    const int last_column = ColumnCount - 1;
    RowSyncHooks hooks{
        [this](int row) { beginRemoveRows({}, row, row); },
        [this] { endRemoveRows(); },
        [this](int row) { beginInsertRows({}, row, row); },
        [this] { endInsertRows(); },
        [this](int from, int to) { beginMoveRows({}, from, from, {}, to); },
        [this] { endMoveRows(); },
        [this, last_column](int first, int last) {
            emit dataChanged(index(first, 0), index(last, last_column));
        },
    };
    syncRows(
        rows_, next, [](const Row& row) { return row.key; }, hooks);
}

void TargetHealthModel::clear() {
    if (!rows_.isEmpty()) {
        beginRemoveRows({}, 0, static_cast<int>(rows_.size() - 1));
        rows_.clear();
        endRemoveRows();
    }
    view_ = {};
}

int TargetHealthModel::rowOfAddress(const QString& endpoint) const {
    for (qsizetype i = 0; i < rows_.size(); ++i) {
        if (rows_[i].address && rows_[i].address->endpoint() == endpoint) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

int TargetHealthModel::rowOfTarget(const QString& target) const {
    for (qsizetype i = 0; i < rows_.size(); ++i) {
        if (rows_[i].target.target == target) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

QString TargetHealthModel::healthOf(const BalancerView& view, const Row& row) {
    if (!row.address) {
        if (row.target.dns_status == QLatin1String("error")) {
            return QStringLiteral("dns_error");
        }
        if (row.target.weight == 0) {
            return QStringLiteral("disabled");
        }
        return QStringLiteral("pending");
    }
    const BalancerAddress& a = *row.address;
    if (a.disabled() || a.weight == 0) {
        return QStringLiteral("disabled");
    }
    if (a.unhealthy()) {
        return QStringLiteral("unhealthy");
    }
    return view.healthchecks_in_use ? QStringLiteral("healthy") : QStringLiteral("checks_off");
}

QString TargetHealthModel::countersText(const BalancerView& view, const BalancerAddress& a) {
    const bool active = view.active_checks;
    const bool passive = passiveOn(a);
    if (!active && !passive) {
        return tr("checks off");
    }
    auto one = [&](const char* name, qint64 value, qint64 active_limit, qint64 passive_limit) {
        QString text =
            QLatin1String(name) + QLatin1Char(' ') + QString::number(value) + QLatin1Char('/');
        if (active && passive) {
            text +=
                QLatin1Char('a') + limit(active_limit) + QLatin1String(",p") + limit(passive_limit);
        } else {
            text += limit(active ? active_limit : passive_limit);
        }
        return text;
    };
    // Counters no check counts (both thresholds off) are left out unless they hold something.
    QStringList parts;
    auto add = [&](const char* name, qint64 value, qint64 active_limit, qint64 passive_limit) {
        const bool counted = (active && active_limit > 0) || (passive && passive_limit > 0);
        if (counted || value > 0) {
            parts << one(name, value, active_limit, passive_limit);
        }
    };
    add("http", a.counters.http_failures, a.active.http_failures, a.passive.http_failures);
    add("tcp", a.counters.tcp_failures, a.active.tcp_failures, a.passive.tcp_failures);
    add("timeouts", a.counters.timeouts, a.active.timeouts, a.passive.timeouts);
    add("successes", a.counters.success, a.active.successes, a.passive.successes);
    return parts.join(QStringLiteral(" · "));
}

QVariant TargetHealthModel::display(const Row& row, int column) const {
    const std::optional<BalancerAddress>& a = row.address;
    switch (column) {
        case TargetColumn:
            return row.target.target;
        case AddressColumn:
            return a ? a->endpoint() : tr("(none)");
        case WeightColumn:
            return a ? a->weight : row.target.weight;
        case HealthColumn: {
            const QString health = healthOf(view_, row);
            if (health == QLatin1String("healthy")) {
                return tr("healthy");
            }
            if (health == QLatin1String("checks_off")) {
                return tr("healthy (checks off)");
            }
            if (health == QLatin1String("disabled")) {
                return tr("weight 0: no traffic");
            }
            if (health == QLatin1String("dns_error")) {
                return tr("DNS error: %1").arg(row.target.dns_error);
            }
            if (health == QLatin1String("pending")) {
                return tr("resolving name…");
            }
            QString text = tr("UNHEALTHY");
            if (a->last_change && !a->last_change->source.isEmpty()) {
                text += tr(" (%1)").arg(a->last_change->source);
            }
            if (a->half_open) {
                text += tr(", trial request due");
            }
            return text;
        }
        case CountersColumn:
            return a ? countersText(view_, *a) : QString();
        case LastProbeColumn:
            if (a && a->last_probe) {
                return clockTime(a->last_probe->time) + QLatin1Char(' ') + a->last_probe->what;
            }
            return a && view_.active_checks ? tr("not yet") : QStringLiteral("–");
        case LastFailureColumn:
            if (a && a->last_failure) {
                return clockTime(a->last_failure->time) + QLatin1Char(' ') + a->last_failure->what;
            }
            if (!a && row.target.dns_status == QLatin1String("error")) {
                return row.target.dns_error;
            }
            return QStringLiteral("–");
        case ConnectionsColumn:
            return a ? a->active_connections : 0;
        default:
            return {};
    }
}

QString TargetHealthModel::tooltip(const Row& row) const {
    QStringList lines;
    lines << tr("Target %1 (weight %2)").arg(row.target.target).arg(row.target.weight);
    if (!row.address) {
        if (row.target.dns_status == QLatin1String("error")) {
            lines << tr("DNS resolution failed: %1").arg(row.target.dns_error);
        } else {
            lines << tr("No address yet: the name is still being resolved.");
        }
        return lines.join(QLatin1Char('\n'));
    }
    const BalancerAddress& a = *row.address;
    lines << tr("Address %1: %2, %3 slots").arg(a.endpoint(), a.state).arg(a.slot_count);
    lines << tr("Counters: %1").arg(countersText(view_, a));
    lines << tr("Passive failures seen: http %1, tcp %2, timeouts %3")
                 .arg(a.passive_http_total)
                 .arg(a.passive_tcp_total)
                 .arg(a.passive_timeout_total);
    if (a.last_probe) {
        lines << tr("Last probe %1: %2").arg(fullTime(a.last_probe->time), a.last_probe->what);
    }
    if (a.last_failure) {
        lines
            << tr("Last failure %1: %2").arg(fullTime(a.last_failure->time), a.last_failure->what);
    }
    if (a.last_change) {
        lines << tr("Last change %1 (%2): %3")
                     .arg(fullTime(a.last_change->time), a.last_change->source,
                          a.last_change->what);
    }
    if (a.latency_ewma_ms > 0) {
        lines << tr("Latency average: %1 ms").arg(a.latency_ewma_ms, 0, 'f', 1);
    }
    return lines.join(QLatin1Char('\n'));
}

int TargetHealthModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int TargetHealthModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TargetHealthModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Row& row = rows_.at(index.row());
    switch (role) {
        case Qt::DisplayRole:
            return display(row, index.column());
        case Qt::ToolTipRole:
            return tooltip(row);
        case Qt::TextAlignmentRole:
            if (index.column() == WeightColumn || index.column() == ConnectionsColumn) {
                return int(Qt::AlignRight | Qt::AlignVCenter);
            }
            return {};
        case HealthRole:
            return healthOf(view_, row);
        case TargetIdRole:
            return row.target.id;
        case TargetRole:
            return row.target.target;
        case AddressRole:
            return row.address ? row.address->endpoint() : QString();
        case KeyRole:
            return row.key;
        case UnhealthyRole:
            return row.address && row.address->unhealthy();
        default:
            return {};
    }
}

QVariant TargetHealthModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case TargetColumn:
            return tr("Target");
        case AddressColumn:
            return tr("Address");
        case WeightColumn:
            return tr("Weight");
        case HealthColumn:
            return tr("Health");
        case CountersColumn:
            return tr("Counters / thresholds");
        case LastProbeColumn:
            return tr("Last probe");
        case LastFailureColumn:
            return tr("Last failure");
        case ConnectionsColumn:
            return tr("Connections");
        default:
            return {};
    }
}

}  // namespace portico::console
