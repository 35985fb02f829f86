// TargetHealthModel against real balancer views: one row per address plus one per address-less
// target, health words, counters against thresholds, last probe and failure, and refreshes that
// keep the selection.

#include "console/core/target_health_model.hpp"
#include "tests/unit/console/fixtures.hpp"

#include <QAbstractItemModelTester>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using portico::console::BalancerView;
using portico::console::TargetHealthModel;
using portico::test::loadFixture;

namespace {

QString cell(const TargetHealthModel& model, int row, int column) {
    return model.index(row, column).data().toString();
}

}  // namespace

class TargetHealthModelTest : public QObject {
    Q_OBJECT

private slots:
    void rowsForAddressesAndAddresslessTargets() {
        TargetHealthModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        QCOMPARE(model.columnCount(), int(TargetHealthModel::ColumnCount));
        QCOMPARE(model.rowCount(), 5);  // 4 addresses + the target whose name did not resolve

        const int refused = model.rowOfAddress("127.0.0.1:1");
        QVERIFY(refused >= 0);
        QCOMPARE(model.index(refused, 0).data(TargetHealthModel::HealthRole).toString(),
                 QString("unhealthy"));
        QCOMPARE(cell(model, refused, TargetHealthModel::HealthColumn),
                 QString("UNHEALTHY (passive)"));
        QCOMPARE(cell(model, refused, TargetHealthModel::CountersColumn),
                 QString("http 0/3 · tcp 1/1"));
        QVERIFY(cell(model, refused, TargetHealthModel::LastFailureColumn)
                    .endsWith("passive: Connection refused"));
        QCOMPARE(cell(model, refused, TargetHealthModel::LastProbeColumn), QString("–"));
        QVERIFY(model.index(refused, 0).data(Qt::ToolTipRole).toString().contains("Last change"));

        const int manual = model.rowOfAddress("127.0.0.1:38869");
        QCOMPARE(cell(model, manual, TargetHealthModel::HealthColumn),
                 QString("UNHEALTHY (manual)"));
        QVERIFY(model.index(manual, 0).data(TargetHealthModel::UnhealthyRole).toBool());

        const int disabled = model.rowOfAddress("127.0.0.1:2");
        QCOMPARE(model.index(disabled, 0).data(TargetHealthModel::HealthRole).toString(),
                 QString("disabled"));
        QCOMPARE(cell(model, disabled, TargetHealthModel::WeightColumn), QString("0"));

        const int healthy = model.rowOfAddress("127.0.0.1:41603");
        QCOMPARE(cell(model, healthy, TargetHealthModel::HealthColumn), QString("healthy"));
        QCOMPARE(model.index(healthy, 0).data(TargetHealthModel::TargetRole).toString(),
                 QString("127.0.0.1:41603"));

        const int dns = model.rowOfTarget("nonexistent.invalid:80");
        QVERIFY(dns >= 0);
        QVERIFY(!model.row(dns).address);
        QCOMPARE(model.index(dns, 0).data(TargetHealthModel::HealthRole).toString(),
                 QString("dns_error"));
        QCOMPARE(cell(model, dns, TargetHealthModel::HealthColumn),
                 QString("DNS error: domain name not found"));
        QCOMPARE(cell(model, dns, TargetHealthModel::AddressColumn), QString("(none)"));
        QCOMPARE(model.index(dns, 0).data(TargetHealthModel::AddressRole).toString(), QString());

        QCOMPARE(model.headerData(TargetHealthModel::CountersColumn, Qt::Horizontal).toString(),
                 QString("Counters / thresholds"));
    }

    void activeAndPassiveThresholds() {
        TargetHealthModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(loadFixture("balancer_healthy.json")));
        QCOMPARE(model.rowCount(), 3);
        const int row = model.rowOfAddress("127.0.0.1:41603");
        QCOMPARE(cell(model, row, TargetHealthModel::CountersColumn),
                 QString("http 0/a2,p3 · tcp 0/a2,p2 · successes 2/a2,poff"));
        QVERIFY(cell(model, row, TargetHealthModel::LastProbeColumn).endsWith(" 200"));
        QCOMPARE(cell(model, row, TargetHealthModel::ConnectionsColumn), QString("0"));
    }

    void checksOff() {
        QJsonObject json = loadFixture("balancer_threshold.json");
        json.insert("healthchecks_in_use", false);
        QJsonArray addresses = json.value("addresses").toArray();
        for (qsizetype i = 0; i < addresses.size(); ++i) {
            QJsonObject a = addresses[i].toObject();
            a.insert("thresholds", QJsonObject{});
            addresses[i] = a;
        }
        json.insert("addresses", addresses);
        TargetHealthModel model;
        model.setView(BalancerView::fromJson(json));
        const int row = model.rowOfAddress("127.0.0.1:41603");
        QCOMPARE(model.index(row, 0).data(TargetHealthModel::HealthRole).toString(),
                 QString("checks_off"));
        QCOMPARE(cell(model, row, TargetHealthModel::CountersColumn), QString("checks off"));
    }

    void selectionSurvivesRefresh() {
        TargetHealthModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QJsonObject json = loadFixture("balancer_degraded.json");
        model.setView(BalancerView::fromJson(json));
        QItemSelectionModel selection(&model);
        const int healthy = model.rowOfAddress("127.0.0.1:41603");
        selection.select(model.index(healthy, 0),
                         QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        selection.setCurrentIndex(model.index(healthy, 0), QItemSelectionModel::NoUpdate);

        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

        // Refresh: the address trips and the refused one leaves.
        QJsonArray addresses = json.value("addresses").toArray();
        addresses.removeAt(0);
        for (qsizetype i = 0; i < addresses.size(); ++i) {
            QJsonObject a = addresses[i].toObject();
            if (a.value("key").toString() == "127.0.0.1:41603") {
                a.insert("state", "unhealthy");
                a.insert("last_change", QJsonObject{{"time", 1795721900.0},
                                                    {"source", "passive"},
                                                    {"cause",
                                                     "3 passive http failures "
                                                     "(threshold 3)"}});
                addresses[i] = a;
            }
        }
        json.insert("addresses", addresses);
        model.setView(BalancerView::fromJson(json));

        QCOMPARE(reset.count(), 0);
        // The target of the address that left stays listed, as a target without address.
        QCOMPARE(model.rowCount(), 5);
        const int gone = model.rowOfTarget("127.0.0.1:1");
        QVERIFY(gone >= 0);
        QVERIFY(!model.row(gone).address);
        const QModelIndexList rows = selection.selectedRows();
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows[0].data(TargetHealthModel::AddressRole).toString(),
                 QString("127.0.0.1:41603"));
        QCOMPARE(rows[0].data(TargetHealthModel::HealthRole).toString(), QString("unhealthy"));
        QCOMPARE(selection.currentIndex().row(), rows[0].row());
    }

    void emptyUpstream() {
        TargetHealthModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        model.setView(BalancerView::fromJson(loadFixture("balancer_no_targets.json")));
        QCOMPARE(model.rowCount(), 0);
        model.setView(BalancerView::fromJson(loadFixture("balancer_healthy.json")));
        QCOMPARE(model.rowCount(), 3);
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TargetHealthModelTest)
#include "test_target_health_model.moc"
