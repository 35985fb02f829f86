// The overview against a real portico and a portico-echo upstream: node information, database
// and revision from GET / and /status, and from /metrics scraped at each heartbeat the request
// and error rates and latency percentiles over time (the chart series fill) and the busiest
// routes and services.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves overview.png (and overview-dark.png) there.

#include "console/core/admin_client.hpp"
#include "console/core/busy_model.hpp"
#include "console/core/metrics_history.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/main_window.hpp"
#include "console/ui/overview_page.hpp"
#include "tests/integration/harness.hpp"

#include <QLabel>
#include <QLineSeries>
#include <QStandardPaths>
#include <QtTest>

using namespace portico::test;
using namespace portico::console;

namespace {

void screenshot(QWidget* widget, const QString& name) {
    QString dir = qEnvironmentVariable("PORTICO_CONSOLE_SCREENSHOTS");
    if (!dir.isEmpty()) {
        QVERIFY(widget->grab().save(dir + "/" + name));
    }
}

}  // namespace

class OverviewPageTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    EchoProcess echo_{"orders"};

    void traffic(int rounds) {
        for (int i = 0; i < rounds; ++i) {
            request(gateway_.proxyPort(), "GET", "/orders/" + QByteArray::number(i));
            if (i % 3 == 0) {
                request(gateway_.proxyPort(), "GET", "/billing/x");  // 502: nothing listens
            }
            if (i % 5 == 0) {
                request(gateway_.proxyPort(), "GET", "/nowhere");  // 404: no route
            }
            QTest::qWait(20);
        }
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(echo_.start());
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
        QByteArray echo_url = "http://127.0.0.1:" + QByteArray::number(echo_.port());
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"orders-svc\",\"url\":\"" + echo_url + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_
                     .admin("POST", "/services/orders-svc/routes",
                            "{\"name\":\"orders\",\"paths\":[\"/orders\"]}")
                     .status,
                 201);
        QByteArray dead = "http://127.0.0.1:" + QByteArray::number(freePort());
        QCOMPARE(
            gateway_
                .admin("POST", "/services", "{\"name\":\"billing-svc\",\"url\":\"" + dead + "\"}")
                .status,
            201);
        QCOMPARE(gateway_
                     .admin("POST", "/services/billing-svc/routes",
                            "{\"name\":\"billing\",\"paths\":[\"/billing\"]}")
                     .status,
                 201);
        // Wait for the proxy to serve the routes.
        QTRY_COMPARE_WITH_TIMEOUT(request(gateway_.proxyPort(), "GET", "/orders").status, 200,
                                  10000);
    }

    void chartsAndBusiestTables() {
        AdminClient client;
        client.setHeartbeatInterval(300);
        MainWindow window(&client);
        ConsolePages pages = addConsolePages(&window, &client);
        window.resize(1280, 820);
        window.show();
        OverviewPage* page = pages.overview;
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway_.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(page->infoLabel("database")->text().contains("sqlite"), 5000);
        QVERIFY(page->infoLabel("database")->text().contains("reachable"));
        QTRY_VERIFY_WITH_TIMEOUT(page->infoLabel("version")->text().contains("Portico"), 5000);
        QVERIFY(page->infoLabel("revision")->text().contains("revision"));
        QVERIFY(!page->infoLabel("hostname")->text().isEmpty());

        // About ten seconds of traffic at a changing rate.
        for (int second = 0; second < 10; ++second) {
            traffic(6 + (second % 4) * 5);
            QTest::qWait(400);
        }
        QTRY_VERIFY_WITH_TIMEOUT(page->history()->points().size() >= 5, 10000);
        bool saw_requests = false;
        bool saw_errors = false;
        bool saw_latency = false;
        for (const auto& point : page->history()->points()) {
            saw_requests = saw_requests || point.request_rate > 0;
            saw_errors = saw_errors || point.error_rate > 0;
            saw_latency = saw_latency || point.p99 > 0;
        }
        QVERIFY(saw_requests);
        QVERIFY(saw_errors);
        QVERIFY(saw_latency);
        auto series = page->series();
        QCOMPARE(series.size(), 5);
        for (auto* s : series) {
            QVERIFY2(s->count() > 0, qPrintable(s->name()));
        }

        BusyModel* routes = page->routesModel();
        QTRY_VERIFY_WITH_TIMEOUT(routes->rowCount() >= 3, 5000);
        QCOMPARE(routes->index(0, BusyModel::Name).data().toString(), QString("orders"));
        BusyModel* services = page->servicesModel();
        QCOMPARE(services->index(0, BusyModel::Name).data().toString(), QString("orders-svc"));
        bool billing_errors = false;
        for (int row = 0; row < services->rowCount(); ++row) {
            if (services->index(row, BusyModel::Name).data().toString() == "billing-svc") {
                billing_errors = services->index(row, BusyModel::Errors).data().toInt() > 0;
            }
        }
        QVERIFY(billing_errors);
        QVERIFY(page->infoLabel("requests")->text().toInt() > 0);
        screenshot(&window, "overview.png");
        window.setDarkTheme(true);
        QTest::qWait(50);
        screenshot(&window, "overview-dark.png");
        window.setDarkTheme(false);
    }
};

QTEST_MAIN(OverviewPageTest)
#include "test_overview_page.moc"
