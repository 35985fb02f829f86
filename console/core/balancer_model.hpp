#pragma once
// What one gateway node's balancer for one upstream looks like, as `GET /upstreams/{u}/balancer`
// reports it (docs/health-checks.md), and the ring the console draws from it.
//
// `BalancerView` is the plain parsed answer. `BalancerModel` is a list model with one row per
// address in the balancer's order: its share of the ring (start and span as fractions of a full
// turn), its target, state and weight. The ring view paints from it; the page refreshes it every
// second or two with `setView`, which updates rows in place so a selection survives. GUI thread
// only; no network.

#include <QAbstractListModel>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

namespace portico::console {

// Successes and the three failure counters of one address (Kong's health counters).
struct HealthCounters {
    qint64 success = 0;
    qint64 http_failures = 0;
    qint64 tcp_failures = 0;
    qint64 timeouts = 0;
};

// The limits the counters count against; 0 means that counter is off.
struct HealthThresholds {
    qint64 successes = 0;
    qint64 http_failures = 0;
    qint64 tcp_failures = 0;
    qint64 timeouts = 0;
    bool anyFailureOn() const { return http_failures > 0 || tcp_failures > 0 || timeouts > 0; }
};

// A moment and what happened then (last probe, last failure, last state change).
struct HealthEvent {
    double time = 0;  // Unix seconds
    QString what;     // probe result, failure cause or change cause
    QString source;   // last change only: active | passive | manual
};

struct BalancerAddress {
    QString key;  // the balancer's key for the address, unique in the upstream
    QString ip;
    int port = 0;
    QString target;  // the target as written, e.g. "api.internal:8080"
    QString target_id;
    qint64 weight = 0;
    qint64 slot_count = 0;  // "slots": wheel share, continuum entries, or 1
    QString state;          // healthy | unhealthy | disabled (weight 0)
    HealthCounters counters;
    HealthThresholds active;
    HealthThresholds passive;
    qint64 passive_http_total = 0;
    qint64 passive_tcp_total = 0;
    qint64 passive_timeout_total = 0;
    std::optional<HealthEvent> last_probe;
    std::optional<HealthEvent> last_failure;
    std::optional<HealthEvent> last_change;
    bool half_open = false;
    qint64 active_connections = 0;
    double latency_ewma_ms = 0;

    // "10.0.0.5:8080", "[::1]:8080".
    QString endpoint() const;
    bool unhealthy() const { return state == QLatin1String("unhealthy"); }
    bool disabled() const { return state == QLatin1String("disabled"); }
};

struct BalancerTarget {
    QString id;
    QString target;
    qint64 weight = 0;
    int address_count = 0;
    QString dns_status;  // ip | pending | ok | error
    QString dns_error;
    bool dns_stale = false;
};

struct BalancerView {
    QString id;
    QString name;
    QString algorithm;
    qint64 slot_count = 0;  // "slots" configured
    qint64 slots_total = 0;
    bool healthchecks_in_use = false;
    bool active_checks = false;
    double threshold = 0;
    double passive_recovery_s = 0;
    QString health;  // HEALTHY | UNHEALTHY
    qint64 weight_total = 0;
    qint64 weight_available = 0;
    qint64 weight_unavailable = 0;
    QList<BalancerTarget> targets;
    QList<BalancerAddress> addresses;

    // Reads the answer of GET /upstreams/{u}/balancer; missing members keep their defaults.
    static BalancerView fromJson(const QJsonObject& object);
    bool healthy() const { return health == QLatin1String("HEALTHY"); }
    const BalancerTarget* findTarget(const QString& target_id) const;
    // Index of the target in `targets` (its colour in the ring), -1 when unknown.
    int targetIndex(const QString& target_id) const;
};

// One row per address of the balancer, in the balancer's order.
class BalancerModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        KeyRole = Qt::UserRole + 1,
        TargetRole,  // the target as written
        TargetIdRole,
        TargetIndexRole,  // int: position of the target in the upstream (colour)
        AddressRole,      // "ip:port"
        WeightRole,
        SlotsRole,
        StartFractionRole,  // double in [0, 1): where the address's share of the ring starts
        SpanFractionRole,   // double in [0, 1]: how much of the ring it holds
        StateRole,          // healthy | unhealthy | disabled
        UnhealthyRole,      // bool
        ActiveConnectionsRole,
    };

    explicit BalancerModel(QObject* parent = nullptr);

    // Replaces the content, updating rows with the same key in place (dataChanged), removing
    // rows that left and appending new ones. Shares of the ring are recomputed.
    void setView(const BalancerView& view);
    void clear();
    const BalancerView& view() const { return view_; }

    // The ring share of row `row`; every row covers [start, start + span). Addresses hold the
    // ring in proportion to their slots (round-robin wheel, consistent-hashing continuum), or
    // to their weights under least-connections and latency, where every address has one slot;
    // when nothing has a share (every target with weight 0), every span is 0.
    double startFraction(int row) const;
    double spanFraction(int row) const;
    bool sharesByWeight() const;
    const BalancerAddress& address(int row) const { return rows_.at(row); }
    int rowOfKey(const QString& key) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    void recomputeShares();

    BalancerView view_;
    QList<BalancerAddress> rows_;  // current row order (new addresses appended)
    QList<double> start_;
    QList<double> span_;
};

}  // namespace portico::console
