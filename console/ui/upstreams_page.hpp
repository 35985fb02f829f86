#pragma once
// UpstreamsPage: the upstreams of the connected gateway and, for the chosen one, its balancer as
// this node runs it: the ring view, the "why 503?" panel and each target's health with counters
// against thresholds, last probe and last failure. Actions: mark an address (or a target without
// address) healthy or unhealthy, change a target's weight, add and remove targets.
//
// Presenter: polls GET /upstreams, GET /services (which services send traffic to the upstream)
// and GET /upstreams/{u}/balancer every 1.5 s while visible (one request of each kind in flight
// at most) or when asked, and feeds the models, which update in place so the selection
// survives. Writes go through AdminClient; their outcome shows in the page's message line. No
// nested event loops: dialogs are opened non-modally with open(). GUI thread.

#include <QHash>
#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <QWidget>

class QAction;
class QLabel;
class QListWidget;
class QTableView;
class QTimer;
class QToolBar;

namespace portico::console {

class AdminClient;
class BalancerModel;
class RingView;
class TargetHealthModel;
class WhyPanel;
struct AdminResult;

class UpstreamsPage : public QWidget {
    Q_OBJECT
public:
    explicit UpstreamsPage(AdminClient* client, QWidget* parent = nullptr);

    // Chooses an upstream by name or id (as listed); false when it is not in the list.
    bool selectUpstream(const QString& name);
    QString currentUpstream() const { return upstream_; }
    // Fetches the list and the current upstream's balancer now.
    void refresh();
    void setRefreshInterval(int ms);

    // Operations, also used by the actions and dialogs. `target` is a target id or host:port;
    // `address` an "ip:port" of that target, or empty for every address of the target.
    void markHealth(const QString& target, const QString& address, bool healthy);
    void changeWeight(const QString& target, int weight);
    void addTarget(const QString& target, int weight);
    void removeTarget(const QString& target);

    QListWidget* upstreamList() const { return list_; }
    RingView* ringView() const { return ring_; }
    WhyPanel* whyPanel() const { return why_; }
    QTableView* healthTable() const { return table_; }
    TargetHealthModel* healthModel() const { return health_model_; }
    BalancerModel* balancerModel() const { return balancer_model_; }
    QAction* markHealthyAction() const { return mark_healthy_; }
    QAction* markUnhealthyAction() const { return mark_unhealthy_; }
    QAction* changeWeightAction() const { return change_weight_; }
    QAction* addTargetAction() const { return add_target_; }
    QAction* removeTargetAction() const { return remove_target_; }
    QString message() const;

signals:
    // A balancer view arrived and the models were updated.
    void refreshed();
    // A write finished (ok or not); `text` is what the message line shows.
    void operationFinished(bool ok, const QString& text);

protected:
    void showEvent(class QShowEvent* event) override;
    void hideEvent(class QHideEvent* event) override;

private:
    void fetchList();
    void fetchServices();
    void fetchBalancer();
    void applyList(const AdminResult& result);
    void applyBalancer(const QString& upstream, const AdminResult& result);
    void upstreamChosen();
    void updateActions();
    void showMessage(bool ok, const QString& text);
    void write(const QByteArray& method, const QString& path, const QJsonValue& body,
               const QString& what);
    // The selected row of the health table, or -1.
    int selectedRow() const;
    void openWeightDialog();
    void openAddTargetDialog();
    void confirmRemove();

    AdminClient* client_;
    BalancerModel* balancer_model_;
    TargetHealthModel* health_model_;
    QListWidget* list_;
    RingView* ring_;
    WhyPanel* why_;
    QTableView* table_;
    QLabel* title_;
    QLabel* message_;
    QToolBar* toolbar_;
    QTimer* timer_;
    QAction* mark_healthy_;
    QAction* mark_unhealthy_;
    QAction* change_weight_;
    QAction* add_target_;
    QAction* remove_target_;
    QAction* refresh_action_;
    QString upstream_;  // name (or id) of the chosen upstream
    bool list_in_flight_ = false;
    bool services_in_flight_ = false;
    bool services_known_ = false;
    QHash<QString, QStringList> services_by_host_;  // lower-case host -> service names
    bool balancer_in_flight_ = false;
    quint64 generation_ = 0;  // bumped when the chosen upstream changes
};

}  // namespace portico::console
