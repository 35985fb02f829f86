// UpstreamsPage end to end against a real portico with two portico-echo targets: the page lists
// the upstream, fills the ring and the health table, marks a target unhealthy through its action
// (the ring view's slot and the table show it, the why panel explains it, the selection survives
// the refreshes), changes a weight, adds and removes targets, and shows a refused write.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves upstreams.png there (the whole window).

#include "console/core/admin_client.hpp"
#include "console/core/balancer_model.hpp"
#include "console/core/target_health_model.hpp"
#include "console/core/upstream_diagnosis.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/main_window.hpp"
#include "console/ui/ring_view.hpp"
#include "console/ui/upstreams_page.hpp"
#include "console/ui/why_panel.hpp"
#include "tests/integration/harness.hpp"

#include <QAction>
#include <QImage>
#include <QJsonArray>
#include <QListWidget>
#include <QTableView>
#include <QtTest>

using namespace portico::test;
using portico::console::AdminClient;
using portico::console::TargetHealthModel;
using portico::console::UpstreamDiagnosis;
using portico::console::UpstreamsPage;

namespace {

QByteArray local(quint16 port) {
    return "127.0.0.1:" + QByteArray::number(port);
}

QString health(UpstreamsPage& page, const QString& address) {
    const int row = page.healthModel()->rowOfAddress(address);
    return row < 0
               ? QString("(missing)")
               : page.healthModel()->index(row, 0).data(TargetHealthModel::HealthRole).toString();
}

const portico::console::RingView::Segment* segment(UpstreamsPage& page, const QString& key) {
    for (const auto& s : page.ringView()->segments()) {
        if (s.key == key) {
            return &s;
        }
    }
    return nullptr;
}

}  // namespace

class UpstreamsPageTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    EchoProcess echo_a_{"a"};
    EchoProcess echo_b_{"b"};
    AdminClient client_;

    QByteArray post(const QByteArray& path, const QByteArray& body) {
        auto result = gateway_.admin("POST", path, body);
        return result.status == 201
                   ? QByteArray()
                   : path + " -> " + QByteArray::number(result.status) + " " + result.body;
    }

private slots:
    void initTestCase() {
        QVERIFY(echo_a_.start());
        QVERIFY(echo_b_.start());
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
        QCOMPARE(post("/upstreams",
                      "{\"name\":\"shop\",\"healthchecks\":{\"passive\":"
                      "{\"unhealthy\":{\"http_failures\":3,\"tcp_failures\":2}}}}"),
                 QByteArray());
        QCOMPARE(post("/upstreams/shop/targets",
                      "{\"target\":\"" + local(echo_a_.port()) + "\",\"weight\":100}"),
                 QByteArray());
        QCOMPARE(post("/upstreams/shop/targets",
                      "{\"target\":\"" + local(echo_b_.port()) + "\",\"weight\":50}"),
                 QByteArray());
        QCOMPARE(post("/services", "{\"name\":\"shop\",\"url\":\"http://shop\"}"), QByteArray());
        QCOMPARE(post("/services/shop/routes", "{\"name\":\"shop\",\"paths\":[\"/shop\"]}"),
                 QByteArray());
        int status = 0;
        for (int i = 0; i < 200 && (status == 0 || status == 404); ++i) {
            status = request(gateway_.proxyPort(), "GET", "/shop").status;
            QTest::qWait(20);
        }
        QCOMPARE(status, 200);
        client_.setHeartbeatInterval(500);
        client_.setBaseUrl(QUrl("http://" + local(gateway_.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client_.state(), AdminClient::State::Connected, 10000);
    }

    void markUnhealthyThroughTheAction() {
        UpstreamsPage page(&client_);
        page.setRefreshInterval(300);
        page.resize(1280, 800);
        page.show();
        QTRY_VERIFY_WITH_TIMEOUT(page.selectUpstream("shop"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(page.healthModel()->rowCount(), 2, 10000);
        QCOMPARE(page.ringView()->segments().size(), 2);

        const QString b = QString::fromLatin1(local(echo_b_.port()));
        const QString a = QString::fromLatin1(local(echo_a_.port()));
        QCOMPARE(health(page, b), QString("healthy"));
        QVERIFY(!page.markUnhealthyAction()->isEnabled());  // nothing selected yet
        page.healthTable()->selectRow(page.healthModel()->rowOfAddress(b));
        QVERIFY(page.markUnhealthyAction()->isEnabled());
        QCOMPARE(page.ringView()->currentKey(), b);

        page.markUnhealthyAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(health(page, b), QString("unhealthy"), 10000);
        QVERIFY2(page.message().contains("Marked " + b + " unhealthy"), qPrintable(page.message()));

        // The table says so.
        const int row = page.healthModel()->rowOfAddress(b);
        QVERIFY(page.healthModel()
                    ->index(row, TargetHealthModel::HealthColumn)
                    .data()
                    .toString()
                    .startsWith("UNHEALTHY (manual)"));
        // The ring view's slot says so, and so do its pixels.
        const auto* slot = segment(page, b);
        QVERIFY(slot);
        QVERIFY(slot->unhealthy);
        QVERIFY(!segment(page, a)->unhealthy);
        const auto& segments = page.ringView()->segments();
        const int index = static_cast<int>(slot - segments.data());
        QImage image(page.ringView()->size(), QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::white);
        page.ringView()->render(&image);
        int red = 0;
        const QPointF mid = page.ringView()->segmentMidPoint(index);
        for (int dx = -4; dx <= 4; ++dx) {
            for (int dy = -4; dy <= 4; ++dy) {
                const QColor c = image.pixelColor(mid.toPoint() + QPoint(dx, dy));
                red += c.red() > 170 && c.green() < 90 && c.blue() < 90 ? 1 : 0;
            }
        }
        QVERIFY2(red > 10, qPrintable(QString::number(red)));

        // The why panel explains it.
        QCOMPARE(page.whyPanel()->diagnosis().verdict, UpstreamDiagnosis::Verdict::Degraded);
        QVERIFY2(page.whyPanel()->plainText().contains(
                     "Target " + b + " was marked unhealthy through the Admin API"),
                 qPrintable(page.whyPanel()->plainText()));
        QTRY_VERIFY(page.whyPanel()->plainText().contains("Used by service: shop."));

        // The gateway agrees, and the selection survives refreshes.
        QVERIFY(gateway_.admin("GET", "/upstreams/shop/balancer").body.contains("\"unhealthy\""));
        QSignalSpy refreshed(&page, &UpstreamsPage::refreshed);
        QVERIFY(refreshed.wait(5000));
        QVERIFY(refreshed.wait(5000));
        const QModelIndexList selected = page.healthTable()->selectionModel()->selectedRows();
        QCOMPARE(selected.size(), 1);
        QCOMPARE(selected[0].data(TargetHealthModel::AddressRole).toString(), b);

        // Both down: every request gets 503, and the panel says why.
        page.healthTable()->selectRow(page.healthModel()->rowOfAddress(a));
        page.markUnhealthyAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(page.whyPanel()->diagnosis().verdict,
                                  UpstreamDiagnosis::Verdict::Failing, 10000);
        QVERIFY(page.whyPanel()->plainText().contains("no address is available"));
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/shop").status, 503);

        // And back.
        page.markHealthyAction()->trigger();
        page.healthTable()->selectRow(page.healthModel()->rowOfAddress(b));
        page.markHealthyAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(health(page, a), QString("healthy"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(health(page, b), QString("healthy"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(page.whyPanel()->diagnosis().verdict,
                                  UpstreamDiagnosis::Verdict::Serving, 10000);
    }

    void weightsAndTargets() {
        UpstreamsPage page(&client_);
        page.setRefreshInterval(300);
        page.resize(1280, 800);
        page.show();
        QTRY_VERIFY_WITH_TIMEOUT(page.selectUpstream("shop"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(page.healthModel()->rowCount(), 2, 10000);
        const QString a = QString::fromLatin1(local(echo_a_.port()));
        const QString b = QString::fromLatin1(local(echo_b_.port()));

        // Weight 0: listed, off the ring.
        QSignalSpy finished(&page, &UpstreamsPage::operationFinished);
        page.changeWeight(a, 0);
        QVERIFY(finished.wait(5000));
        QVERIFY2(finished.last()[0].toBool(), qPrintable(finished.last()[1].toString()));
        QTRY_COMPARE_WITH_TIMEOUT(health(page, a), QString("disabled"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(segment(page, a)->span, 0.0, 5000);
        QVERIFY(qFuzzyCompare(segment(page, b)->span, 1.0));
        page.changeWeight(a, 100);
        QTRY_COMPARE_WITH_TIMEOUT(health(page, a), QString("healthy"), 10000);

        // A target that refuses connections, then removed again.
        const QString c = QString::fromLatin1(local(freePort()));
        page.addTarget(c, 10);
        QTRY_COMPARE_WITH_TIMEOUT(page.healthModel()->rowCount(), 3, 10000);
        QCOMPARE(page.ringView()->segments().size(), 3);
        page.healthTable()->selectRow(page.healthModel()->rowOfAddress(c));
        QVERIFY(page.removeTargetAction()->isEnabled());
        page.removeTarget(page.healthModel()->row(page.healthModel()->rowOfAddress(c)).target.id);
        QTRY_COMPARE_WITH_TIMEOUT(page.healthModel()->rowCount(), 2, 10000);

        // A refused write shows the Admin API's error.
        finished.clear();
        page.addTarget("not a target", 10);
        QVERIFY(finished.wait(5000));
        QVERIFY(!finished.last()[0].toBool());
        QVERIFY2(page.message().contains("HTTP 400"), qPrintable(page.message()));
    }

    // The whole window on the Upstreams page (the picture in docs/console/upstreams.png): an
    // upstream with active and passive checks, a dead instance tripped by active probes, a name
    // that does not resolve; the table, the ring and the why panel explain both.
    void activeChecksAndDnsInTheWindow() {
        EchoProcess c("c");
        QVERIFY(c.start());
        const quint16 dead = freePort();
        QCOMPARE(post("/upstreams",
                      "{\"name\":\"orders\",\"healthchecks\":{\"active\":{\"type\":\"http\","
                      "\"http_path\":\"/health\",\"healthy\":{\"interval\":1,\"successes\":2},"
                      "\"unhealthy\":{\"interval\":1,\"tcp_failures\":3,\"http_failures\":3}},"
                      // Passive thresholds out of reach of the 40 requests below: the dead
                      // target must be taken out by the active probes, whatever the timing.
                      "\"passive\":{\"unhealthy\":{\"http_failures\":100,"
                      "\"tcp_failures\":100}}}}"),
                 QByteArray());
        for (const QByteArray& target :
             {"{\"target\":\"" + local(echo_a_.port()) + "\",\"weight\":100}",
              "{\"target\":\"" + local(echo_b_.port()) + "\",\"weight\":100}",
              "{\"target\":\"" + local(c.port()) + "\",\"weight\":50}",
              "{\"target\":\"" + local(dead) + "\",\"weight\":100}",
              QByteArray("{\"target\":\"orders-v2.internal.invalid:8080\",\"weight\":20}")}) {
            QCOMPARE(post("/upstreams/orders/targets", target), QByteArray());
        }
        QCOMPARE(post("/services", "{\"name\":\"orders\",\"url\":\"http://orders\"}"),
                 QByteArray());
        QCOMPARE(post("/services/orders/routes", "{\"name\":\"orders\",\"paths\":[\"/orders\"]}"),
                 QByteArray());
        for (int i = 0; i < 40; ++i) {
            request(gateway_.proxyPort(), "GET", "/orders");
        }
        AdminClient client;
        client.setHeartbeatInterval(500);
        portico::console::MainWindow window(&client);
        const auto pages = portico::console::addConsolePages(&window, &client);
        window.resize(1440, 860);
        // PORTICO_CONSOLE_DARK=1: the same picture on the dark palette (to check colours).
        window.setDarkTheme(qEnvironmentVariableIsSet("PORTICO_CONSOLE_DARK"));
        window.show();
        client.setBaseUrl(QUrl("http://" + local(gateway_.adminPort())));
        window.showPage(pages.upstreams);
        pages.upstreams->setRefreshInterval(300);
        QTRY_VERIFY_WITH_TIMEOUT(pages.upstreams->selectUpstream("orders"), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(
            pages.upstreams->healthModel()->rowOfAddress(QString::fromLatin1(local(dead))) >= 0,
            10000);
        const QString dead_address = QString::fromLatin1(local(dead));
        QTRY_COMPARE_WITH_TIMEOUT(health(*pages.upstreams, dead_address), QString("unhealthy"),
                                  15000);
        // Let the healthy ones collect a probe or two.
        QTest::qWait(1500);
        pages.upstreams->healthTable()->selectRow(
            pages.upstreams->healthModel()->rowOfAddress(dead_address));
        QSignalSpy refreshed(pages.upstreams, &UpstreamsPage::refreshed);
        QVERIFY(refreshed.wait(5000));
        const int row = pages.upstreams->healthModel()->rowOfAddress(dead_address);
        QVERIFY(pages.upstreams->healthModel()
                    ->index(row, TargetHealthModel::LastProbeColumn)
                    .data()
                    .toString()
                    .contains("connection refused"));
        QVERIFY(segment(*pages.upstreams, dead_address)->unhealthy);
        const QString why = pages.upstreams->whyPanel()->plainText();
        QVERIFY2(why.contains("is unhealthy by active health checks"), qPrintable(why));
        QVERIFY(why.contains("orders-v2.internal.invalid:8080 has no address"));
        QCOMPARE(pages.upstreams->healthModel()
                     ->index(pages.upstreams->healthModel()->rowOfTarget(
                                 "orders-v2.internal.invalid:8080"),
                             0)
                     .data(TargetHealthModel::HealthRole)
                     .toString(),
                 QString("dns_error"));
        if (qEnvironmentVariableIsSet("PORTICO_CONSOLE_SCREENSHOTS")) {
            QVERIFY(window.grab().save(qEnvironmentVariable("PORTICO_CONSOLE_SCREENSHOTS") +
                                       "/upstreams.png"));
        }
    }

    void unknownUpstreamExplains() {
        UpstreamsPage page(&client_);
        QCOMPARE(post("/upstreams", "{\"name\":\"lonely\"}"), QByteArray());
        page.setRefreshInterval(300);
        page.show();
        QTRY_VERIFY_WITH_TIMEOUT(page.selectUpstream("lonely"), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(page.whyPanel()->plainText().contains("it has no targets"), 10000);
        QTRY_VERIFY(page.whyPanel()->plainText().contains("No service has host 'lonely'"));
        QCOMPARE(page.ringView()->segments().size(), 0);
    }
};

QTEST_MAIN(UpstreamsPageTest)
#include "test_upstreams_page.moc"
