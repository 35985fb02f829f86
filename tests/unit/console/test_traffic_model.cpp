// TrafficModel and TrafficFilterProxy with records from a real gateway's GET /traffic: newest
// first, duplicates ignored, bounded, pause buffering, and the filters (status class, route,
// service, gateway errors, free text).

#include "console/core/traffic_model.hpp"
#include "tests/unit/console/fixtures.hpp"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using portico::console::TrafficFilterProxy;
using portico::console::TrafficModel;
using portico::console::TrafficRecord;
using portico::test::loadFixture;

namespace {

QList<TrafficRecord> fixtureRecords() {
    QList<TrafficRecord> records;
    for (const QJsonValue& value : loadFixture("traffic_list.json").value("data").toArray()) {
        records << TrafficRecord::fromJson(value.toObject());
    }
    return records;
}

TrafficRecord made(qint64 sequence, int status = 200, const QString& route = "r") {
    TrafficRecord r;
    r.sequence = sequence;
    r.request_id = QString("req-%1").arg(sequence);
    r.method = "GET";
    r.path = QString("/p/%1").arg(sequence);
    r.route = route;
    r.status = status;
    return r;
}

}  // namespace

class TrafficModelTest : public QObject {
    Q_OBJECT

private slots:
    void parsesRecords() {
        const auto records = fixtureRecords();
        QCOMPARE(records.size(), 13);
        const TrafficRecord& first = records.first();
        QCOMPARE(first.status, 503);
        QVERIFY(first.gateway_error);
        QCOMPARE(first.route, QString("down"));
        QCOMPARE(first.request_id, QString("7ab46c7245fbcc2e13f3f487b4272ed9"));
        QCOMPARE(first.statusClass(), 5);
        QVERIFY(first.latency_ms > 0);
        const TrafficRecord& proxied = records[1];
        QCOMPARE(proxied.status, 200);
        QVERIFY(!proxied.gateway_error);
        QVERIFY(proxied.address.startsWith("127.0.0.1:"));
        QVERIFY(proxied.bytes_out > 0);
    }

    void newestFirstWithoutDuplicates() {
        TrafficModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        auto records = fixtureRecords();
        std::reverse(records.begin(), records.end());  // oldest first, as a stream delivers
        model.addRecords(records.mid(0, 5));
        model.addRecords(records.mid(3));  // overlaps by two
        QCOMPARE(model.rowCount(), 13);
        for (int row = 1; row < model.rowCount(); ++row) {
            QVERIFY(model.record(row - 1).sequence > model.record(row).sequence);
        }
        QCOMPARE(model.lastSequence(), model.record(0).sequence);
        QCOMPARE(model.index(0, TrafficModel::StatusColumn).data().toString(), QString("503"));
        QCOMPARE(model.index(0, TrafficModel::PathColumn).data().toString(), QString("/down"));
        QVERIFY(model.index(0, 0).data(TrafficModel::GatewayErrorRole).toBool());
        QVERIFY(model.index(0, TrafficModel::LatencyColumn).data().toString().endsWith(" ms"));
        QCOMPARE(model.rowOfRequest("02141844738b353948734a93e6149f46"),
                 model.rowCount() - 4);  // the 404, sequence 4 of 1..13 minus the gap
        QVERIFY(model.knownRoutes().contains("pay"));
        QVERIFY(model.knownServices().contains("orders"));
        QVERIFY(!model.knownRoutes().contains(""));
    }

    void bounded() {
        TrafficModel model(10);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        for (int i = 1; i <= 25; ++i) {
            model.addRecord(made(i));
        }
        QCOMPARE(model.rowCount(), 10);
        QCOMPARE(model.record(0).sequence, 25);
        QCOMPARE(model.record(9).sequence, 16);
        // A big batch at once keeps only the newest.
        QList<TrafficRecord> batch;
        for (int i = 26; i <= 60; ++i) {
            batch << made(i);
        }
        model.addRecords(batch);
        QCOMPARE(model.rowCount(), 10);
        QCOMPARE(model.record(0).sequence, 60);
        QCOMPARE(model.record(9).sequence, 51);
        // Evicted ids are forgotten: the feed can deliver them again after a reconnect, and
        // they show as they arrive.
        model.addRecord(made(5));
        QCOMPARE(model.record(0).sequence, 5);
        QCOMPARE(model.record(9).sequence, 52);
    }

    void pauseBuffersAndResumeShows() {
        TrafficModel model(5);
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy buffered(&model, &TrafficModel::bufferedCountChanged);
        QSignalSpy paused(&model, &TrafficModel::pausedChanged);
        model.addRecord(made(1));
        model.setPaused(true);
        QCOMPARE(paused.count(), 1);
        for (int i = 2; i <= 8; ++i) {
            model.addRecord(made(i));
        }
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.bufferedCount(), 5);
        QCOMPARE(model.droppedCount(), 2);
        QVERIFY(buffered.count() >= 7);
        model.addRecord(made(8));  // already buffered
        QCOMPARE(model.bufferedCount(), 5);
        model.setPaused(false);
        QCOMPARE(model.bufferedCount(), 0);
        QCOMPARE(model.droppedCount(), 0);
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.record(0).sequence, 8);
        QCOMPARE(model.record(4).sequence, 4);
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void filters() {
        TrafficModel model;
        QAbstractItemModelTester source_tester(
            &model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        TrafficFilterProxy proxy;
        proxy.setSourceModel(&model);
        QAbstractItemModelTester proxy_tester(
            &proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.addRecords(fixtureRecords());
        QCOMPARE(proxy.rowCount(), 13);

        proxy.setStatusClass(5);
        QCOMPARE(proxy.rowCount(), 2);
        proxy.setStatusClass(4);
        QCOMPARE(proxy.rowCount(), 1);
        QCOMPARE(proxy.index(0, TrafficModel::PathColumn).data().toString(), QString("/nothing"));
        proxy.setStatusClass(0);

        proxy.setGatewayErrorsOnly(true);
        QCOMPARE(proxy.rowCount(), 3);
        proxy.setGatewayErrorsOnly(false);

        proxy.setRoute("pay");
        QCOMPARE(proxy.rowCount(), 6);
        proxy.setService("orders");
        QCOMPARE(proxy.rowCount(), 0);
        proxy.setRoute("");
        QCOMPARE(proxy.rowCount(), 4);
        proxy.setService("");

        proxy.setText("NOTHING");  // case-insensitive, in the path
        QCOMPARE(proxy.rowCount(), 1);
        proxy.setText("e19ee018");  // a request id
        QCOMPARE(proxy.rowCount(), 1);
        QCOMPARE(proxy.index(0, TrafficModel::StatusColumn).data().toString(), QString("503"));
        proxy.setText("");
        QCOMPARE(proxy.rowCount(), 13);

        // New rows arriving under a filter are filtered too.
        proxy.setStatusClass(5);
        model.addRecord(made(100, 502));
        model.addRecord(made(101, 200));
        QCOMPARE(proxy.rowCount(), 3);
    }
};

QTEST_GUILESS_MAIN(TrafficModelTest)
#include "test_traffic_model.moc"
