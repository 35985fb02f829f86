// TrafficPage end to end against a real portico: a request sent through the proxy appears in
// the live table from the /traffic/stream feed; a 404 (no route) and a 503 (an upstream without
// targets) show their explanations beside the table; a burst arrives whole and batched; pause
// buffers and resume shows; the filters narrow the table. With PORTICO_CONSOLE_SCREENSHOTS=<dir>
// it saves traffic.png there.

#include "console/core/admin_client.hpp"
#include "console/core/event_stream.hpp"
#include "console/core/traffic_model.hpp"
#include "console/ui/traffic_page.hpp"
#include "tests/integration/harness.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QTextBrowser>
#include <QtTest>

using namespace portico::test;
using portico::console::AdminClient;
using portico::console::TrafficModel;
using portico::console::TrafficPage;

namespace {

QByteArray local(quint16 port) {
    return "127.0.0.1:" + QByteArray::number(port);
}

int rowOfPath(const TrafficModel& model, const QString& path) {
    for (int row = 0; row < model.rowCount(); ++row) {
        if (model.record(row).path == path) {
            return row;
        }
    }
    return -1;
}

// Selects the table row (through the filter proxy) of the request with this path.
bool selectPath(TrafficPage& page, const QString& path) {
    auto* view_model = page.table()->model();
    for (int row = 0; row < view_model->rowCount(); ++row) {
        if (view_model->index(row, TrafficModel::PathColumn).data().toString() == path) {
            page.table()->selectRow(row);
            return true;
        }
    }
    return false;
}

}  // namespace

class TrafficPageTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    EchoProcess echo_{"a"};
    AdminClient client_;

    QByteArray post(const QByteArray& path, const QByteArray& body) {
        auto result = gateway_.admin("POST", path, body);
        return result.status == 201
                   ? QByteArray()
                   : path + " -> " + QByteArray::number(result.status) + " " + result.body;
    }

private slots:
    void initTestCase() {
        QVERIFY(echo_.start());
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
        QCOMPARE(
            post("/services", "{\"name\":\"echo\",\"url\":\"http://" + local(echo_.port()) + "\"}"),
            QByteArray());
        QCOMPARE(post("/services/echo/routes", "{\"name\":\"echo\",\"paths\":[\"/echo\"]}"),
                 QByteArray());
        QCOMPARE(post("/upstreams", "{\"name\":\"nowhere\"}"), QByteArray());
        QCOMPARE(post("/services", "{\"name\":\"nowhere\",\"url\":\"http://nowhere\"}"),
                 QByteArray());
        QCOMPARE(
            post("/services/nowhere/routes", "{\"name\":\"nowhere\",\"paths\":[\"/nowhere\"]}"),
            QByteArray());
        int status = 0;
        for (int i = 0; i < 200 && status != 503; ++i) {
            status = request(gateway_.proxyPort(), "GET", "/nowhere/warmup").status;
            QTest::qWait(20);
        }
        QCOMPARE(status, 503);
        client_.setHeartbeatInterval(500);
        client_.setBaseUrl(QUrl("http://" + local(gateway_.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client_.state(), AdminClient::State::Connected, 10000);
    }

    void requestAppearsLive() {
        TrafficPage page(&client_);
        QSignalSpy opened(&page, &TrafficPage::streamOpened);
        page.resize(1280, 720);
        page.show();
        QVERIFY(opened.wait(10000));
        // The warm-up requests came from GET /traffic.
        QVERIFY(rowOfPath(*page.model(), "/nowhere/warmup") >= 0);

        QCOMPARE(request(gateway_.proxyPort(), "GET", "/echo/live-1").status, 200);
        QTRY_VERIFY_WITH_TIMEOUT(rowOfPath(*page.model(), "/echo/live-1") >= 0, 10000);
        const int row = rowOfPath(*page.model(), "/echo/live-1");
        QCOMPARE(row, 0);  // newest first
        auto cell = [&](int column) { return page.model()->index(row, column).data().toString(); };
        QCOMPARE(cell(TrafficModel::MethodColumn), QString("GET"));
        QCOMPARE(cell(TrafficModel::RouteColumn), QString("echo"));
        QCOMPARE(cell(TrafficModel::ServiceColumn), QString("echo"));
        QCOMPARE(cell(TrafficModel::StatusColumn), QString("200"));
        QCOMPARE(cell(TrafficModel::AddressColumn), QString::fromLatin1(local(echo_.port())));
        QVERIFY(selectPath(page, "/echo/live-1"));
        QTRY_VERIFY(page.details()->toPlainText().contains("the upstream"));
        QCOMPARE(page.routeFilter()->findData("echo") >= 0, true);
    }

    void gatewayErrorsExplainThemselves() {
        TrafficPage page(&client_);
        QSignalSpy opened(&page, &TrafficPage::streamOpened);
        page.resize(1280, 720);
        page.show();
        QVERIFY(opened.wait(10000));
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/no/such/route").status, 404);
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/nowhere/orders").status, 503);
        QTRY_VERIFY_WITH_TIMEOUT(rowOfPath(*page.model(), "/nowhere/orders") >= 0, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(rowOfPath(*page.model(), "/no/such/route") >= 0, 10000);

        QSignalSpy shown(&page, &TrafficPage::requestShown);
        QVERIFY(selectPath(page, "/no/such/route"));
        QTRY_VERIFY(shown.count() >= 1);
        QTRY_VERIFY2(page.details()->toPlainText().contains("No route matched GET /no/such/route"),
                     qPrintable(page.details()->toPlainText()));

        shown.clear();
        QVERIFY(selectPath(page, "/nowhere/orders"));
        QTRY_VERIFY2(page.details()->toPlainText().contains("upstream 'nowhere' has no targets"),
                     qPrintable(page.details()->toPlainText()));
        QVERIFY(
            page.details()->toPlainText().contains("failure to get a peer from the ring-balancer"));

        // Filters: 5xx, then free text.
        page.statusFilter()->setCurrentIndex(page.statusFilter()->findData(5));
        QVERIFY(page.table()->model()->rowCount() >= 2);
        for (int row = 0; row < page.table()->model()->rowCount(); ++row) {
            QCOMPARE(
                page.table()->model()->index(row, TrafficModel::StatusColumn).data().toString(),
                QString("503"));
        }
        page.textFilter()->setText("ORDERS");
        QCOMPARE(page.table()->model()->rowCount(), 1);
        if (qEnvironmentVariableIsSet("PORTICO_CONSOLE_SCREENSHOTS")) {
            page.statusFilter()->setCurrentIndex(0);
            page.textFilter()->clear();
            for (int i = 0; i < 6; ++i) {
                request(gateway_.proxyPort(), "GET", "/echo/orders/" + QByteArray::number(i));
            }
            request(gateway_.proxyPort(), "POST", "/echo/orders", "{\"id\":7}");
            request(gateway_.proxyPort(), "GET", "/nowhere/orders");
            QTRY_VERIFY_WITH_TIMEOUT(rowOfPath(*page.model(), "/echo/orders") >= 0, 10000);
            QTRY_COMPARE_WITH_TIMEOUT(page.model()->record(0).path, QString("/nowhere/orders"),
                                      10000);
            page.table()->clearSelection();
            page.table()->selectRow(0);
            QTRY_VERIFY(page.details()->toPlainText().contains("has no targets"));
            QVERIFY(page.grab().save(qEnvironmentVariable("PORTICO_CONSOLE_SCREENSHOTS") +
                                     "/traffic.png"));
        }
        page.errorsOnly()->setChecked(true);
        page.textFilter()->clear();
        page.statusFilter()->setCurrentIndex(0);
        for (int row = 0; row < page.table()->model()->rowCount(); ++row) {
            QVERIFY(
                page.table()->model()->index(row, 0).data(TrafficModel::GatewayErrorRole).toBool());
        }
    }

    void aBurstArrivesWhole() {
        TrafficPage page(&client_);
        QSignalSpy opened(&page, &TrafficPage::streamOpened);
        page.show();
        QVERIFY(opened.wait(10000));
        const int before = page.model()->rowCount();
        QSignalSpy inserted(page.model(), &QAbstractItemModel::rowsInserted);
        for (int i = 0; i < 300; ++i) {
            QCOMPARE(
                request(gateway_.proxyPort(), "GET", "/echo/burst/" + QByteArray::number(i)).status,
                200);
        }
        QTRY_COMPARE_WITH_TIMEOUT(page.model()->rowCount(), before + 300, 10000);
        // Batched: far fewer insertions than requests.
        QVERIFY2(inserted.count() < 300, qPrintable(QString::number(inserted.count())));
        QCOMPARE(page.model()->record(0).path, QString("/echo/burst/299"));
        QCOMPARE(page.model()->record(299).path, QString("/echo/burst/0"));
    }

    void pauseAndResume() {
        TrafficPage page(&client_);
        QSignalSpy opened(&page, &TrafficPage::streamOpened);
        page.show();
        QVERIFY(opened.wait(10000));
        page.pauseButton()->click();
        QVERIFY(page.model()->paused());
        QCOMPARE(page.pauseButton()->text(), QString("Resume"));
        const int rows = page.model()->rowCount();
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/echo/while-paused").status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(page.model()->bufferedCount(), 1, 10000);
        QCOMPARE(page.model()->rowCount(), rows);
        QCOMPARE(rowOfPath(*page.model(), "/echo/while-paused"), -1);
        page.pauseButton()->click();
        QVERIFY(!page.model()->paused());
        QCOMPARE(rowOfPath(*page.model(), "/echo/while-paused"), 0);
        QCOMPARE(page.model()->bufferedCount(), 0);
    }
};

QTEST_MAIN(TrafficPageTest)
#include "test_traffic_page.moc"
