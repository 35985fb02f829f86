// MetricsHistory and BusyModel: Prometheus text parsing, rates and error rates between scrapes,
// histogram quantiles (table-driven), restarts, and the busiest routes and services.

#include "console/core/busy_model.hpp"
#include "console/core/metrics_history.hpp"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

#include <limits>

using portico::console::BusyModel;
using portico::console::MetricsHistory;
using portico::console::MetricsPoint;

namespace {

// One scrape with `ok` 2xx requests on route "orders" and `errors` 5xx on route "pay", all
// 2xx in the 5 ms bucket and all 5xx in the 250 ms bucket.
QByteArray scrape(int ok, int errors) {
    QByteArray text;
    text += "# HELP portico_http_requests_total Requests served.\n";
    text += "# TYPE portico_http_requests_total counter\n";
    text +=
        "portico_http_requests_total{route=\"orders\",service=\"orders-svc\",status_class=\"2xx\"}"
        " " +
        QByteArray::number(ok) + "\n";
    text += "portico_http_requests_total{route=\"pay\",service=\"pay-svc\",status_class=\"5xx\"} " +
            QByteArray::number(errors) + "\n";
    const char* bounds[] = {"1", "5", "250", "+Inf"};
    for (const char* le : bounds) {
        QByteArray bound(le);
        int ok_count = bound == "1" ? 0 : ok;
        int error_count = (bound == "250" || bound == "+Inf") ? errors : 0;
        text +=
            "portico_http_request_duration_ms_bucket{route=\"orders\",service=\"orders-svc\","
            "status_class=\"2xx\",le=\"" +
            bound + "\"} " + QByteArray::number(ok_count) + "\n";
        text +=
            "portico_http_request_duration_ms_bucket{route=\"pay\",service=\"pay-svc\","
            "status_class=\"5xx\",le=\"" +
            bound + "\"} " + QByteArray::number(error_count) + "\n";
    }
    return text;
}

}  // namespace

class MetricsHistoryTest : public QObject {
    Q_OBJECT

private slots:
    void parsesPrometheusText() {
        auto samples = portico::console::parsePrometheusText(
            "# comment\nm_total{a=\"x\\\"y\",b=\"\"} 3\nplain 1.5 1700000000\nbad{ x\n"
            "h_bucket{le=\"+Inf\"} +Inf\n");
        QCOMPARE(samples.size(), 3);
        QCOMPARE(samples[0].name, QString("m_total"));
        QCOMPARE(samples[0].labels.value("a"), QString("x\"y"));
        QCOMPARE(samples[0].labels.value("b"), QString());
        QCOMPARE(samples[0].value, 3.0);
        QCOMPARE(samples[1].value, 1.5);
        QVERIFY(std::isinf(samples[2].value));
    }

    void quantiles_data() {
        QTest::addColumn<double>("q");
        QTest::addColumn<QList<double>>("bounds");
        QTest::addColumn<QList<double>>("counts");
        QTest::addColumn<double>("expected");
        const double inf = std::numeric_limits<double>::infinity();
        QTest::newRow("empty") << 0.5 << QList<double>{} << QList<double>{} << -1.0;
        QTest::newRow("no requests") << 0.5 << QList<double>{1, inf} << QList<double>{0, 0} << -1.0;
        QTest::newRow("all in first bucket")
            << 0.5 << QList<double>{10, inf} << QList<double>{4, 4} << 5.0;
        QTest::newRow("interpolated")
            << 0.75 << QList<double>{10, 20, inf} << QList<double>{50, 100, 100} << 15.0;
        QTest::newRow("beyond the last bound")
            << 0.99 << QList<double>{10, 20, inf} << QList<double>{1, 1, 100} << 20.0;
    }

    void quantiles() {
        QFETCH(double, q);
        QFETCH(QList<double>, bounds);
        QFETCH(QList<double>, counts);
        QFETCH(double, expected);
        QMap<double, double> cumulative;
        for (int i = 0; i < bounds.size(); ++i) {
            cumulative.insert(bounds[i], counts[i]);
        }
        QCOMPARE(MetricsHistory::quantile(q, cumulative), expected);
    }

    void ratesBetweenScrapes() {
        MetricsHistory history;
        QSignalSpy points(&history, &MetricsHistory::pointAdded);
        history.addScrape(100, scrape(10, 0));
        QCOMPARE(points.count(), 0);  // a baseline only
        history.addScrape(102, scrape(30, 4));
        QCOMPARE(points.count(), 1);
        MetricsPoint point = history.points().last();
        QCOMPARE(point.request_rate, 12.0);  // (20 + 4) / 2 s
        QCOMPARE(point.error_rate, 2.0);
        QVERIFY(point.p50 > 1 && point.p50 <= 5);
        QVERIFY(point.p99 > 5 && point.p99 <= 250);
        QCOMPARE(history.totalRequests(), 34.0);

        auto routes = history.busiestRoutes();
        QCOMPARE(routes.size(), 2);
        QCOMPARE(routes[0].name, QString("orders"));
        QCOMPARE(routes[0].requests, 30.0);
        QCOMPARE(routes[0].rate, 10.0);
        QCOMPARE(routes[1].errors, 4.0);
        QCOMPARE(history.busiestServices(1).size(), 1);
        QCOMPARE(history.busiestServices(1)[0].name, QString("orders-svc"));

        // The gateway restarted: counters went back, a new baseline, no negative rate.
        history.addScrape(104, scrape(1, 0));
        QCOMPARE(points.count(), 1);
        history.addScrape(106, scrape(3, 0));
        QCOMPARE(points.count(), 2);
        QCOMPARE(history.points().last().request_rate, 1.0);
        QCOMPARE(history.points().last().p50 >= 0, true);
        history.clear();
        QVERIFY(history.points().isEmpty());
    }

    void exactQuantiles_data() {
        QTest::addColumn<double>("q");
        QTest::addColumn<QList<double>>("values");
        QTest::addColumn<double>("expected");
        QTest::newRow("empty") << 0.5 << QList<double>{} << -1.0;
        QTest::newRow("one") << 0.99 << QList<double>{7} << 7.0;
        QTest::newRow("median of four") << 0.5 << QList<double>{4, 1, 3, 2} << 2.0;
        QTest::newRow("p90 of ten") << 0.9 << QList<double>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1} << 9.0;
        QTest::newRow("p99 of ten") << 0.99 << QList<double>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1} << 10.0;
    }

    void exactQuantiles() {
        QFETCH(double, q);
        QFETCH(QList<double>, values);
        QFETCH(double, expected);
        QCOMPARE(MetricsHistory::exactQuantile(q, values), expected);
    }

    void exactLatenciesWinOverTheHistogram() {
        MetricsHistory history;
        history.addScrape(100, scrape(10, 0));
        history.addScrape(101, scrape(20, 0), {0.2, 0.4, 0.3, 0.1});
        QCOMPARE(history.points().last().p50, 0.2);
        QCOMPARE(history.points().last().p99, 0.4);
        history.addScrape(102, scrape(30, 0));  // none known: the histogram (1 < p50 <= 5)
        QVERIFY(history.points().last().p50 > 1);
    }

    void keepsAWindow() {
        MetricsHistory history;
        history.setMaxPoints(3);
        for (int i = 0; i < 10; ++i) {
            history.addScrape(100 + i, scrape(i * 10, 0));
        }
        QCOMPARE(history.points().size(), 3);
        QCOMPARE(history.points().last().time, 109.0);
    }

    void busyModel() {
        MetricsHistory history;
        BusyModel model("Route");
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        history.addScrape(100, scrape(10, 0));
        history.addScrape(101, scrape(20, 1));
        model.setRows(history.busiestRoutes());
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.headerData(0, Qt::Horizontal).toString(), QString("Route"));
        QCOMPARE(model.index(0, BusyModel::Name).data().toString(), QString("orders"));
        QCOMPARE(model.index(0, BusyModel::Requests).data().toString(), QString("20"));
        QCOMPARE(model.index(0, BusyModel::Rate).data().toString(), QString("10.0"));
        QPersistentModelIndex first(model.index(0, 0));
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        history.addScrape(102, scrape(25, 2));
        model.setRows(history.busiestRoutes());  // same ranking: updated in place
        QCOMPARE(reset.count(), 0);
        QVERIFY(first.isValid());
        QCOMPARE(model.index(0, BusyModel::Requests).data().toString(), QString("25"));
        history.addScrape(103, scrape(25, 40));
        model.setRows(history.busiestRoutes());  // "pay" overtook "orders"
        QCOMPARE(reset.count(), 1);
        QCOMPARE(model.index(0, BusyModel::Name).data().toString(), QString("pay"));
    }
};

QTEST_MAIN(MetricsHistoryTest)
#include "test_metrics_history.moc"
