// BalancerModel and BalancerView against answers of a real gateway's GET /upstreams/{u}/balancer:
// parsing, ring shares in proportion to slots, and refreshes that update rows in place (a
// persistent index follows its address through removals, moves and insertions).

#include "console/core/balancer_model.hpp"
#include "tests/unit/console/fixtures.hpp"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using portico::console::BalancerModel;
using portico::console::BalancerView;
using portico::test::loadFixture;

class BalancerModelTest : public QObject {
    Q_OBJECT

private slots:
    void parsesTheBalancerView() {
        const BalancerView view = BalancerView::fromJson(loadFixture("balancer_degraded.json"));
        QCOMPARE(view.name, QString("pay"));
        QCOMPARE(view.algorithm, QString("round-robin"));
        QCOMPARE(view.slot_count, 10000);
        QVERIFY(view.healthchecks_in_use);
        QVERIFY(!view.active_checks);
        QCOMPARE(view.weight_total, 300);
        QCOMPARE(view.weight_available, 100);
        QCOMPARE(view.targets.size(), 5);
        QCOMPARE(view.addresses.size(), 4);

        const auto& refused = view.addresses[0];
        QCOMPARE(refused.endpoint(), QString("127.0.0.1:1"));
        QVERIFY(refused.unhealthy());
        QCOMPARE(refused.passive.tcp_failures, 1);
        QVERIFY(refused.last_change.has_value());
        QCOMPARE(refused.last_change->source, QString("passive"));
        QCOMPARE(refused.last_change->what, QString("1 passive tcp failure (threshold 1)"));
        QCOMPARE(refused.last_failure->what, QString("passive: Connection refused"));
        QVERIFY(!refused.last_probe.has_value());

        QVERIFY(view.addresses[1].disabled());
        QCOMPARE(view.addresses[2].last_change->source, QString("manual"));

        const auto* dns = view.findTarget(view.targets[4].id);
        QVERIFY(dns);
        QCOMPARE(dns->dns_status, QString("error"));
        QCOMPARE(dns->dns_error, QString("domain name not found"));
        QCOMPARE(dns->address_count, 0);
    }

    void ringSharesFollowSlots() {
        BalancerModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(loadFixture("balancer_healthy.json")));
        QCOMPARE(model.rowCount(), 2);
        // Round-robin wheel shares 1 and 2 (weights 50 and 100).
        QCOMPARE(model.address(0).slot_count, 1);
        QCOMPARE(model.address(1).slot_count, 2);
        QCOMPARE(model.startFraction(0), 0.0);
        QVERIFY(qFuzzyCompare(model.spanFraction(0), 1.0 / 3.0));
        QVERIFY(qFuzzyCompare(model.startFraction(1), 1.0 / 3.0));
        QVERIFY(qFuzzyCompare(model.spanFraction(1), 2.0 / 3.0));
        const QModelIndex second = model.index(1);
        QCOMPARE(second.data(BalancerModel::AddressRole).toString(), model.address(1).endpoint());
        QCOMPARE(second.data(BalancerModel::WeightRole).toLongLong(), 100);
        QCOMPARE(second.data(BalancerModel::UnhealthyRole).toBool(), false);
        QVERIFY(second.data(BalancerModel::TargetIndexRole).toInt() >= 0);
    }

    void leastConnectionsSharesByWeight() {
        QJsonObject json = loadFixture("balancer_healthy.json");
        json.insert("algorithm", "least-connections");
        QJsonArray addresses = json.value("addresses").toArray();
        for (qsizetype i = 0; i < addresses.size(); ++i) {
            QJsonObject a = addresses[i].toObject();
            a.insert("slots", 1);
            a.insert("active_connections", 3 + i);
            addresses[i] = a;
        }
        json.insert("addresses", addresses);
        BalancerModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(json));
        QVERIFY(model.sharesByWeight());
        // Weights 50 and 100, one slot each: the ring follows the weights.
        QVERIFY(qFuzzyCompare(model.spanFraction(0), 1.0 / 3.0));
        QVERIFY(qFuzzyCompare(model.spanFraction(1), 2.0 / 3.0));
        QCOMPARE(model.index(1).data(BalancerModel::ActiveConnectionsRole).toLongLong(), 4);
    }

    void weightZeroHoldsNoShare() {
        BalancerModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.spanFraction(1), 0.0);  // weight 0: disabled, no slots
        double total = 0;
        for (int row = 0; row < model.rowCount(); ++row) {
            total += model.spanFraction(row);
        }
        QVERIFY(qFuzzyCompare(total, 1.0));
        QVERIFY(model.index(0).data(BalancerModel::UnhealthyRole).toBool());
    }

    void noTargetsMeansNoRows() {
        BalancerModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(loadFixture("balancer_no_targets.json")));
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.view().health, QString("UNHEALTHY"));
        QCOMPARE(model.spanFraction(0), 0.0);
    }

    void refreshUpdatesInPlace() {
        BalancerModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QJsonObject json = loadFixture("balancer_degraded.json");
        model.setView(BalancerView::fromJson(json));
        QPersistentModelIndex healthy = model.index(model.rowOfKey("127.0.0.1:41603"));
        QVERIFY(healthy.isValid());

        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

        // The same answer again: only dataChanged.
        model.setView(BalancerView::fromJson(json));
        QCOMPARE(reset.count(), 0);
        QCOMPARE(inserted.count(), 0);
        QCOMPARE(removed.count(), 0);
        QCOMPARE(changed.count(), 1);

        // The refused address leaves, the healthy one trips, a new one arrives first.
        QJsonArray addresses = json.value("addresses").toArray();
        addresses.removeAt(0);
        for (qsizetype i = 0; i < addresses.size(); ++i) {
            QJsonObject a = addresses[i].toObject();
            if (a.value("key").toString() == "127.0.0.1:41603") {
                a.insert("state", "unhealthy");
                addresses[i] = a;
            }
        }
        QJsonObject fresh = addresses[0].toObject();
        fresh.insert("key", "127.0.0.1:3");
        fresh.insert("ip", "127.0.0.1");
        fresh.insert("port", 3);
        addresses.prepend(fresh);
        json.insert("addresses", addresses);
        model.setView(BalancerView::fromJson(json));

        QCOMPARE(reset.count(), 0);
        QCOMPARE(removed.count(), 1);
        QCOMPARE(inserted.count(), 1);
        QVERIFY(healthy.isValid());
        QCOMPARE(healthy.data(BalancerModel::KeyRole).toString(), QString("127.0.0.1:41603"));
        QCOMPARE(healthy.data(BalancerModel::UnhealthyRole).toBool(), true);
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.address(0).key, QString("127.0.0.1:3"));

        // Reordered: rows move, the persistent index follows.
        addresses = json.value("addresses").toArray();
        QJsonArray reversed;
        for (qsizetype i = addresses.size() - 1; i >= 0; --i) {
            reversed.append(addresses[i]);
        }
        json.insert("addresses", reversed);
        model.setView(BalancerView::fromJson(json));
        QCOMPARE(healthy.data(BalancerModel::KeyRole).toString(), QString("127.0.0.1:41603"));
        for (int row = 0; row < model.rowCount(); ++row) {
            QCOMPARE(model.address(row).key, reversed[row].toObject().value("key").toString());
        }

        model.clear();
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(!healthy.isValid());
    }

    void duplicateKeysStayDistinct() {
        QJsonObject json = loadFixture("balancer_healthy.json");
        QJsonArray addresses = json.value("addresses").toArray();
        addresses.append(addresses[0]);
        json.insert("addresses", addresses);
        BalancerModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setView(BalancerView::fromJson(json));
        QCOMPARE(model.rowCount(), 3);
        QVERIFY(model.address(0).key != model.address(2).key);
    }
};

QTEST_GUILESS_MAIN(BalancerModelTest)
#include "test_balancer_model.moc"
