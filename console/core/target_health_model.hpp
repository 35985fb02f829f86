#pragma once
// The health of every target and address of one upstream, as one node sees it: one row per
// address of the balancer, plus one row for each target that has no address (its name did not
// resolve yet, or failed to). Columns: target, address, weight, health, counters against their
// thresholds, last probe, last failure with its cause, active connections.
//
// Fed from `GET /upstreams/{u}/balancer` (BalancerView). `setView` updates rows in place, so the
// selection survives the page's periodic refresh. GUI thread only; no network. Colours are the
// view's business: `HealthRole` gives the state as a word the UI maps to a colour.

#include "console/core/balancer_model.hpp"

#include <QAbstractTableModel>

namespace portico::console {

class TargetHealthModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        TargetColumn,
        AddressColumn,
        WeightColumn,
        HealthColumn,
        CountersColumn,
        LastProbeColumn,
        LastFailureColumn,
        ConnectionsColumn,
        ColumnCount
    };
    enum Role {
        HealthRole = Qt::UserRole + 1,  // healthy | unhealthy | disabled | checks_off |
                                        // dns_error | pending
        TargetIdRole,
        TargetRole,     // the target as written ("host:port")
        AddressRole,    // "ip:port", empty for a target without address
        KeyRole,        // the row's identity
        UnhealthyRole,  // bool
    };

    struct Row {
        QString key;
        BalancerTarget target;
        std::optional<BalancerAddress> address;  // empty: the target has no address
    };

    explicit TargetHealthModel(QObject* parent = nullptr);

    void setView(const BalancerView& view);
    void clear();
    const BalancerView& view() const { return view_; }
    const Row& row(int row) const { return rows_.at(row); }
    int rowOfAddress(const QString& endpoint) const;
    int rowOfTarget(const QString& target) const;

    // One state word for a row (see HealthRole).
    static QString healthOf(const BalancerView& view, const Row& row);
    // "http 2/3 · tcp 0/2 · successes 0/2": the counters against the thresholds of the checks
    // that count them (passive when only passive checks run, active when only active checks
    // run, "a3,p5" for both); counters that no check counts are left out while they are 0.
    static QString countersText(const BalancerView& view, const BalancerAddress& address);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QVariant display(const Row& row, int column) const;
    QString tooltip(const Row& row) const;

    BalancerView view_;
    QList<Row> rows_;
};

}  // namespace portico::console
