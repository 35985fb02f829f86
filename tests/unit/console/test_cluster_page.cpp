// ClusterPage against real gateways. On the embedded store the page does not apply (the window
// hides it) and the clustering endpoints' 404 shows as a note, not an error. On PostgreSQL (a
// throw-away server the test starts, tests/integration/postgres_server.hpp) two nodes share a
// database: the page lists both with their applied revision, and the targets × nodes matrix
// shows where they disagree (passive checks trip a dead target on one node only). With
// PORTICO_CONSOLE_SCREENSHOTS=<dir> the PostgreSQL case saves cluster.png there.

#include "console/core/admin_client.hpp"
#include "console/core/cluster_model.hpp"
#include "console/ui/cluster_page.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/main_window.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/postgres_server.hpp"

#include <QTableView>
#include <QtTest>

using namespace portico::test;
using portico::console::AdminClient;
using portico::console::ClusterNodesModel;
using portico::console::ClusterPage;
using portico::console::HealthMatrixModel;

namespace {

QByteArray local(quint16 port) {
    return "127.0.0.1:" + QByteArray::number(port);
}

}  // namespace

class ClusterPageTest : public QObject {
    Q_OBJECT

private slots:
    void hiddenOnTheEmbeddedStore() {
        PorticoProcess gateway;
        QVERIFY2(gateway.start(), qPrintable(gateway.output()));
        AdminClient client;
        client.setHeartbeatInterval(300);
        portico::console::MainWindow window(&client);
        const auto pages = portico::console::addConsolePages(&window, &client);
        QVERIFY(pages.cluster);
        QSignalSpy status(&client, &AdminClient::statusUpdated);
        QSignalSpy applicable(pages.cluster, &ClusterPage::applicableChanged);
        client.setBaseUrl(QUrl("http://" + local(gateway.adminPort())));
        QVERIFY(status.wait(10000));
        // "sqlite" (or no strategy at all from a gateway older than database.strategy).
        const QString strategy = status.last()[0]
                                     .toJsonObject()
                                     .value("database")
                                     .toObject()
                                     .value("strategy")
                                     .toString();
        QVERIFY2(strategy != "postgres", qPrintable(strategy));
        QVERIFY(!pages.cluster->applicable());
        QCOMPARE(applicable.count(), 0);
        QVERIFY(pages.cluster->note().contains("does not run on PostgreSQL"));

        // Asked anyway, the 404 of the clustering endpoints is a note, not an error.
        QSignalSpy refreshed(pages.cluster, &ClusterPage::refreshed);
        pages.cluster->refresh();
        QVERIFY(refreshed.wait(10000));
        QVERIFY2(pages.cluster->note().contains("404"), qPrintable(pages.cluster->note()));
        QCOMPARE(pages.cluster->nodesModel()->rowCount(), 0);
        QCOMPARE(pages.cluster->matrixModel()->rowCount(), 0);
    }

    void nodesAndMatrixOnPostgres() {
        PostgresServer pg;
        QVERIFY2(pg.start(), qPrintable(pg.error()));
        QVERIFY2(pg.createDatabase("console"), qPrintable(pg.error()));
        EchoProcess echo("a");
        QVERIFY(echo.start());
        // Bootstrap the schema once, then two nodes share it.
        auto bootstrap = runCommand(porticoBinary(), {"migrations", "bootstrap"},
                                    pg.porticoEnvironment("console"));
        QVERIFY2(bootstrap.exit_code == 0, bootstrap.out + bootstrap.err);
        PorticoProcess one;
        PorticoProcess two;
        QVERIFY2(one.start(pg.porticoLines("console")), qPrintable(one.output()));
        QVERIFY2(two.start(pg.porticoLines("console")), qPrintable(two.output()));

        const quint16 dead = freePort();
        QCOMPARE(one.admin("POST", "/upstreams",
                           "{\"name\":\"orders\",\"healthchecks\":{\"passive\":{\"unhealthy\":"
                           "{\"tcp_failures\":1}}}}")
                     .status,
                 201);
        QCOMPARE(one.admin("POST", "/upstreams/orders/targets",
                           "{\"target\":\"" + local(echo.port()) + "\",\"weight\":100}")
                     .status,
                 201);
        QCOMPARE(one.admin("POST", "/upstreams/orders/targets",
                           "{\"target\":\"" + local(dead) + "\",\"weight\":100}")
                     .status,
                 201);
        QCOMPARE(one.admin("POST", "/services", "{\"name\":\"orders\",\"url\":\"http://orders\"}")
                     .status,
                 201);
        QCOMPARE(one.admin("POST", "/services/orders/routes",
                           "{\"name\":\"orders\",\"paths\":[\"/orders\"]}")
                     .status,
                 201);
        // Traffic through node one only: it trips the dead target, node two never sees it fail.
        int ok = 0;
        for (int i = 0; i < 300 && ok < 6; ++i) {
            ok += request(one.proxyPort(), "GET", "/orders").status == 200 ? 1 : 0;
            QTest::qWait(10);
        }
        QVERIFY(ok >= 6);
        QTRY_VERIFY_WITH_TIMEOUT(
            one.admin("GET", "/upstreams/orders/balancer").body.contains("\"unhealthy\""), 10000);

        AdminClient client;
        client.setHeartbeatInterval(300);
        ClusterPage page(&client);
        page.setRefreshInterval(300);
        page.resize(1100, 640);
        QSignalSpy applicable(&page, &ClusterPage::applicableChanged);
        client.setBaseUrl(QUrl("http://" + local(one.adminPort())));
        QVERIFY(applicable.wait(10000));
        QVERIFY(page.applicable());
        page.show();
        QTRY_COMPARE_WITH_TIMEOUT(page.nodesModel()->rowCount(), 2, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(page.matrixModel()->columnCount(), 2, 15000);
        // Both nodes report both addresses once their registry rows carry the new upstream.
        auto disagreement = [&page] {
            const auto* m = page.matrixModel();
            for (int row = 0; row < m->rowCount(); ++row) {
                if (m->index(row, 0).data(HealthMatrixModel::DisagreementRole).toBool() &&
                    m->index(row, 0).data(HealthMatrixModel::HealthRole).toString() != "unknown" &&
                    m->index(row, 1).data(HealthMatrixModel::HealthRole).toString() != "unknown") {
                    return m->row(row).address;
                }
            }
            return QString();
        };
        QTRY_COMPARE_WITH_TIMEOUT(disagreement(), QString::fromLatin1(local(dead)), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(
            page.nodesModel()->index(0, 0).data(ClusterNodesModel::BehindRole).toBool() == false,
            10000);
        QCOMPARE(page.nodesModel()->staleCount(), 0);
        if (qEnvironmentVariableIsSet("PORTICO_CONSOLE_SCREENSHOTS")) {
            QVERIFY(page.grab().save(qEnvironmentVariable("PORTICO_CONSOLE_SCREENSHOTS") +
                                     "/cluster.png"));
        }
    }
};

QTEST_MAIN(ClusterPageTest)
#include "test_cluster_page.moc"
