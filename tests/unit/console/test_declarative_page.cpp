// The declarative page against real gateways, with a file from the shared Kong fixtures:
// on a database gateway it shows what the file adds and changes and what only the gateway has,
// imports it entity by entity (ids of matched entities kept), and then shows no difference; on a
// DB-less gateway it applies the file with POST /config; export writes a file that parses back
// to the same configuration.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves declarative-diff.png there.

#include "console/core/admin_client.hpp"
#include "console/core/config_sync.hpp"
#include "console/core/declarative_diff.hpp"
#include "console/core/diff_model.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/declarative_page.hpp"
#include "console/ui/entities_page.hpp"
#include "console/ui/main_window.hpp"
#include "tests/integration/harness.hpp"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QJsonArray>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
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

const char* const kFixture = "06-healthy-cameras-auth-plugins.yml";

}  // namespace

class DeclarativePageTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
    }

    void diffImportAndExport() {
        // The gateway already has one of the file's services with another port, and one of
        // its own.
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"camera-gui\",\"url\":\"http://nginx:9999/\"}")
                     .status,
                 201);
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"legacy\",\"url\":\"http://legacy.internal/\"}")
                     .status,
                 201);
        QString camera_gui_id =
            gateway_.admin("GET", "/services/camera-gui").json().value("id").toString();

        AdminClient client;
        MainWindow window(&client);
        ConsolePages pages = addConsolePages(&window, &client);
        window.resize(1280, 800);
        window.show();
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway_.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        DeclarativePage* page = pages.declarative;
        window.showPage(page);
        QAbstractItemModelTester proxy_tester(
            page->diffProxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(!page->sync()->dbless());

        QSignalSpy ready(page, &DeclarativePage::diffReady);
        QVERIFY(page->openFile(QStringLiteral(PORTICO_FIXTURES_DIR) + "/" + kFixture));
        QVERIFY(ready.wait(10000));
        const ConfigDiff& diff = page->diffModel()->diff();
        QCOMPARE(diff.count(DiffEntry::Kind::Changed), 1);
        QCOMPARE(diff.count(DiffEntry::Kind::Removed), 1);
        QCOMPARE(diff.count(DiffEntry::Kind::Unchanged), 0);
        int added = diff.count(DiffEntry::Kind::Added);
        QVERIFY(added > 10);
        for (const auto& entry : diff.entries) {
            if (entry.kind == DiffEntry::Kind::Changed) {
                QCOMPARE(entry.key, QString("camera-gui"));
                QCOMPARE(entry.changed_fields, (QStringList{"port"}));
            }
            if (entry.kind == DiffEntry::Kind::Removed) {
                QCOMPARE(entry.key, QString("legacy"));
            }
        }
        // Unchanged rows are hidden; the changed one is explained beside the table.
        QCOMPARE(page->diffProxy()->rowCount(), diff.entries.size());
        QVERIFY(page->summaryLabel()->text().contains("1 changed"));
        for (int row = 0; row < page->diffProxy()->rowCount(); ++row) {
            if (page->diffProxy()->index(row, 0).data().toString() == "changed") {
                page->diffView()->selectRow(row);
            }
        }
        screenshot(&window, "declarative-diff.png");

        // Apply: confirm in the box, then the import runs with progress.
        QSignalSpy applied(page, &DeclarativePage::applied);
        QSignalSpy progress(page, &DeclarativePage::progress);
        QTest::mouseClick(page->applyButton(), Qt::LeftButton);
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = page->findChild<QMessageBox*>()) != nullptr, 2000);
        QVERIFY(box->text().contains("Import"));
        QTest::mouseClick(box->button(QMessageBox::Yes), Qt::LeftButton);
        QVERIFY(applied.wait(20000));
        QVERIFY(progress.count() >= added);
        QVERIFY2(applied.first().first().toString().contains(QString::number(added + 1)),
                 qPrintable(applied.first().first().toString()));

        // The gateway now has the file's entities; the matched service kept its id.
        auto camera_gui = gateway_.admin("GET", "/services/camera-gui").json();
        QCOMPARE(camera_gui.value("id").toString(), camera_gui_id);
        QCOMPARE(camera_gui.value("port").toInt(), 8090);
        auto route = gateway_.admin("GET", "/routes/camera-1-service-route").json();
        QCOMPARE(route.value("paths").toArray(), QJsonArray{"/camera-1-service/api/v1/hc"});
        QCOMPARE(gateway_.admin("GET", "/services/legacy").status, 200);  // an import keeps it

        // The diff refreshes by itself after applying: nothing left but "legacy".
        QVERIFY(ready.wait(10000));
        const ConfigDiff& after = page->diffModel()->diff();
        QCOMPARE(after.count(DiffEntry::Kind::Added), 0);
        QCOMPARE(after.count(DiffEntry::Kind::Changed), 0);
        QCOMPARE(after.count(DiffEntry::Kind::Removed), 1);

        // Export writes the running configuration; it parses back to the same entities.
        QTemporaryDir dir;
        QSignalSpy exported(page, &DeclarativePage::exported);
        page->exportTo(dir.path() + "/running.yml");
        QVERIFY(exported.wait(10000));
        QFile file(dir.path() + "/running.yml");
        QVERIFY(file.open(QIODevice::ReadOnly));
        auto parsed = parseDeclarative(file.readAll());
        QVERIFY2(parsed.ok, qPrintable(parsed.errors.join("; ")));
        auto original = parseDeclarative([] {
            QFile f(QStringLiteral(PORTICO_FIXTURES_DIR) + "/" + kFixture);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        }());
        ConfigDiff round_trip = diffConfigurations(original.entities, parsed.entities);
        QCOMPARE(round_trip.count(DiffEntry::Kind::Added), 0);
        QCOMPARE(round_trip.count(DiffEntry::Kind::Changed), 0);
        QCOMPARE(round_trip.count(DiffEntry::Kind::Removed), 1);  // legacy
    }

    void importsUpstreamsAndTargets() {
        PorticoProcess gateway;
        QVERIFY2(gateway.start(), qPrintable(gateway.output()));
        AdminClient client;
        DeclarativePage page(&client);
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        QSignalSpy ready(&page, &DeclarativePage::diffReady);
        QVERIFY(page.openFile(QStringLiteral(PORTICO_FIXTURES_DIR) +
                              "/04-blue-green-weighted-upstream.yml"));
        QVERIFY(ready.wait(10000));
        int added = page.diffModel()->diff().count(DiffEntry::Kind::Added);
        QVERIFY(added >= 5);  // service, route, upstream, three targets
        QSignalSpy applied(&page, &DeclarativePage::applied);
        QSignalSpy failed(&page, &DeclarativePage::failed);
        page.apply();
        QVERIFY(applied.wait(20000));
        QCOMPARE(failed.count(), 0);
        QVERIFY(ready.wait(10000));
        const ConfigDiff& after = page.diffModel()->diff();
        QCOMPARE(after.count(DiffEntry::Kind::Unchanged), after.entries.size());
        auto upstream = gateway.admin("GET", "/upstreams").json().value("data").toArray();
        QCOMPARE(upstream.size(), 1);
        QByteArray id = upstream.first().toObject().value("id").toString().toUtf8();
        QCOMPARE(gateway.admin("GET", "/upstreams/" + id + "/targets")
                     .json()
                     .value("data")
                     .toArray()
                     .size(),
                 3);
    }

    void refusedFileShowsErrors() {
        AdminClient client;
        DeclarativePage page(&client);
        QTemporaryDir dir;
        QFile file(dir.path() + "/bad.yml");
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            "_format_version: \"3.0\"\nservices:\n  - name: x\n    host: a.test\n"
            "    port: 99999\n");
        file.close();
        QVERIFY(!page.openFile(file.fileName()));
        QVERIFY(!page.applyButton()->isEnabled());
        QCOMPARE(page.diffModel()->rowCount(), 0);
    }

    void dblessAppliesWithPostConfig() {
        PorticoProcess dbless;
        QVERIFY2(dbless.start({"database = off"}), qPrintable(dbless.output()));
        AdminClient client;
        DeclarativePage page(&client);
        MainWindow window(&client);
        ConsolePages pages = addConsolePages(&window, &client);
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(dbless.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        QVERIFY(page.sync()->dbless());
        // The entity pages are read-only there.
        QVERIFY(pages.services->readOnly());
        QVERIFY(!pages.services->newButton()->isEnabled());
        QVERIFY(pages.services->newButton()->toolTip().contains("declarative"));
        QSignalSpy ready(&page, &DeclarativePage::diffReady);
        QVERIFY(page.openFile(QStringLiteral(PORTICO_FIXTURES_DIR) + "/21-dbless-sample.json"));
        QVERIFY(ready.wait(10000));
        QCOMPARE(page.diffModel()->diff().count(DiffEntry::Kind::Added), 2);
        QSignalSpy applied(&page, &DeclarativePage::applied);
        page.apply();
        QVERIFY(applied.wait(10000));
        QVERIFY(applied.first().first().toString().contains("POST /config"));
        auto service = dbless.admin("GET", "/services/TEST_API");
        QCOMPARE(service.status, 200);
        QCOMPARE(service.json().value("id").toString(),
                 QString("92c0cc6a-b7e7-5bd4-939b-720b3aada806"));
        QVERIFY(ready.wait(10000));
        const ConfigDiff& after = page.diffModel()->diff();
        QCOMPARE(after.count(DiffEntry::Kind::Unchanged), after.entries.size());
    }
};

QTEST_MAIN(DeclarativePageTest)
#include "test_declarative_page.moc"
