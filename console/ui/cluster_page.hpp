#pragma once
// ClusterPage: for gateways on PostgreSQL, the nodes sharing the database (applied revision
// against the database's, lag, last seen, stale nodes marked) and a targets × nodes matrix of
// each node's view of every target address (nodes decide health on their own and may disagree).
// Polls GET /clustering/nodes and GET /clustering/health every 2 s while visible.
//
// It applies only when /status says database.strategy is "postgres": `applicableChanged` follows
// the client's heartbeat so the window can hide the page elsewhere. A 404 from the clustering
// endpoints (a node without them, or not on PostgreSQL) shows a note instead of an error. GUI
// thread.

#include <QJsonObject>
#include <QWidget>

class QLabel;
class QTableView;
class QTimer;

namespace portico::console {

class AdminClient;
class ClusterNodesModel;
class HealthMatrixModel;

class ClusterPage : public QWidget {
    Q_OBJECT
public:
    explicit ClusterPage(AdminClient* client, QWidget* parent = nullptr);

    bool applicable() const { return applicable_; }
    void refresh();
    void setRefreshInterval(int ms);

    ClusterNodesModel* nodesModel() const { return nodes_; }
    HealthMatrixModel* matrixModel() const { return matrix_; }
    QTableView* nodesTable() const { return nodes_table_; }
    QTableView* matrixTable() const { return matrix_table_; }
    QString note() const;

signals:
    void applicableChanged(bool applicable);
    void refreshed();

protected:
    void showEvent(class QShowEvent* event) override;
    void hideEvent(class QHideEvent* event) override;

private:
    void statusUpdated(const QJsonObject& status);

    AdminClient* client_;
    ClusterNodesModel* nodes_;
    HealthMatrixModel* matrix_;
    QTableView* nodes_table_;
    QTableView* matrix_table_;
    QLabel* note_;
    QTimer* timer_;
    bool applicable_ = false;
    int in_flight_ = 0;
};

}  // namespace portico::console
