// ClusterNodesModel and HealthMatrixModel with the shapes of GET /clustering/nodes and
// GET /clustering/health: applied revision against the database's, stale nodes, the targets x
// nodes matrix with disagreements, and refreshes in place.

#include "console/core/cluster_model.hpp"
#include "tests/unit/console/fixtures.hpp"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using portico::console::ClusterNodesModel;
using portico::console::HealthMatrixModel;
using portico::console::isClustered;
using portico::test::loadFixture;

class ClusterModelTest : public QObject {
    Q_OBJECT

private slots:
    void clusteredOnlyOnPostgres() {
        QJsonObject status;
        QVERIFY(!isClustered(status));
        status.insert("database", QJsonObject{{"reachable", true}});
        QVERIFY(!isClustered(status));
        status.insert("database", QJsonObject{{"strategy", "sqlite"}, {"reachable", true}});
        QVERIFY(!isClustered(status));
        status.insert("database", QJsonObject{{"strategy", "postgres"}, {"reachable", true}});
        QVERIFY(isClustered(status));
    }

    void nodes() {
        ClusterNodesModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setJson(loadFixture("clustering_nodes.json"));
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.revision(), 42);
        QCOMPARE(model.staleCount(), 1);
        auto text = [&](int row, int column) { return model.index(row, column).data().toString(); };
        QCOMPARE(text(0, ClusterNodesModel::HostnameColumn), QString("gw-a"));
        QCOMPARE(text(0, ClusterNodesModel::RevisionColumn), QString("42"));
        QCOMPARE(text(0, ClusterNodesModel::StateColumn), QString("up to date"));
        QCOMPARE(text(1, ClusterNodesModel::RevisionColumn), QString("41 of 42"));
        QCOMPARE(text(1, ClusterNodesModel::StateColumn), QString("catching up"));
        QCOMPARE(text(1, ClusterNodesModel::LagColumn), QString("1"));
        QVERIFY(model.index(1, 0).data(ClusterNodesModel::BehindRole).toBool());
        QCOMPARE(text(2, ClusterNodesModel::StateColumn), QString("STALE"));
        QVERIFY(model.index(2, 0).data(ClusterNodesModel::StaleRole).toBool());
        QVERIFY(model.index(2, 0).data(Qt::ToolTipRole).toString().contains("has not reported"));
        QCOMPARE(text(0, ClusterNodesModel::ProxyListenColumn), QString("0.0.0.0:8000"));
        QCOMPARE(text(0, ClusterNodesModel::IdColumn), QString("5d1c1a34"));
    }

    void nodesRefreshInPlace() {
        ClusterNodesModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QJsonObject json = loadFixture("clustering_nodes.json");
        model.setJson(json);
        QPersistentModelIndex b = model.index(1, 0);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QJsonArray nodes = json.value("data").toArray();
        QJsonObject node_b = nodes[1].toObject();
        node_b.insert("applied_revision", 42);
        node_b.insert("lag", 0);
        nodes[1] = node_b;
        nodes.removeAt(2);  // the stale node was pruned
        json.insert("data", nodes);
        model.setJson(json);
        QCOMPARE(reset.count(), 0);
        QCOMPARE(model.rowCount(), 2);
        QVERIFY(b.isValid());
        QCOMPARE(b.row(), 1);
        QCOMPARE(model.index(1, ClusterNodesModel::StateColumn).data().toString(),
                 QString("up to date"));
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void healthMatrix() {
        HealthMatrixModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setJson(loadFixture("clustering_health.json"));
        QCOMPARE(model.columnCount(), 2);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.headerData(0, Qt::Horizontal).toString(), QString("gw-a"));
        QCOMPARE(model.headerData(1, Qt::Horizontal).toString(), QString("gw-b"));
        // Rows sorted by upstream, target, address.
        QCOMPARE(model.row(0).target, QString("10.0.0.5:8080"));
        QCOMPARE(model.row(1).target, QString("10.0.0.6:8080"));
        QCOMPARE(model.row(2).target, QString("api.internal:8080"));
        QCOMPARE(model.headerData(0, Qt::Vertical).toString(), QString("orders / 10.0.0.5:8080"));

        QCOMPARE(model.index(0, 0).data(HealthMatrixModel::HealthRole).toString(),
                 QString("healthy"));
        QVERIFY(!model.index(0, 0).data(HealthMatrixModel::DisagreementRole).toBool());

        // gw-a sees .6 unhealthy, gw-b healthy: they disagree.
        QCOMPARE(model.index(1, 0).data().toString(), QString("UNHEALTHY"));
        QCOMPARE(model.index(1, 1).data().toString(), QString("HEALTHY"));
        QVERIFY(model.index(1, 1).data(HealthMatrixModel::DisagreementRole).toBool());
        QCOMPARE(model.index(1, 0).data(HealthMatrixModel::CauseRole).toString(),
                 QString("3 passive tcp failures (threshold 3)"));
        QVERIFY(model.index(1, 0).data(Qt::ToolTipRole).toString().contains("gw-a sees"));

        // gw-b did not report the DNS target.
        QCOMPARE(model.index(2, 0).data(HealthMatrixModel::HealthRole).toString(),
                 QString("dns_error"));
        QCOMPARE(model.index(2, 1).data(HealthMatrixModel::HealthRole).toString(),
                 QString("unknown"));
        QCOMPARE(model.index(2, 1).data().toString(), QString("–"));
    }

    void healthMatrixRefresh() {
        HealthMatrixModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QJsonObject json = loadFixture("clustering_health.json");
        model.setJson(json);
        QPersistentModelIndex second = model.index(1, 1);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

        // Same nodes, gw-b now agrees .6 is unhealthy: updated in place.
        QJsonArray nodes = json.value("data").toArray();
        QJsonObject b = nodes[1].toObject();
        QJsonArray targets = b.value("targets").toArray();
        QJsonObject six = targets[1].toObject();
        six.insert("health", "UNHEALTHY");
        targets[1] = six;
        b.insert("targets", targets);
        nodes[1] = b;
        json.insert("data", nodes);
        model.setJson(json);
        QCOMPARE(reset.count(), 0);
        QVERIFY(changed.count() >= 1);
        QVERIFY(second.isValid());
        QCOMPARE(second.data().toString(), QString("UNHEALTHY"));
        QVERIFY(!second.data(HealthMatrixModel::DisagreementRole).toBool());

        // A node joins: columns change, the model resets.
        QJsonObject c{{"node_id", "c3e4"}, {"hostname", "gw-c"}, {"targets", QJsonArray{}}};
        nodes.append(c);
        json.insert("data", nodes);
        model.setJson(json);
        QCOMPARE(reset.count(), 1);
        QCOMPARE(model.columnCount(), 3);
        QCOMPARE(model.index(0, 2).data(HealthMatrixModel::HealthRole).toString(),
                 QString("unknown"));

        model.clear();
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.columnCount(), 0);
    }
};

QTEST_GUILESS_MAIN(ClusterModelTest)
#include "test_cluster_model.moc"
