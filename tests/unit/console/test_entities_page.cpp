// Entity pages end to end against a real portico: create a service and a route by clicking
// through the forms generated from GET /schemas (typing into the editors, picking the route's
// service by name), see a field error from the Admin API beside its field, edit and delete,
// filter the table, and verify everything through the Admin API.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves services.png and form-error.png there.

#include "console/core/admin_client.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/entities_page.hpp"
#include "console/ui/entity_form.hpp"
#include "console/ui/entity_form_dialog.hpp"
#include "console/ui/main_window.hpp"
#include "tests/integration/harness.hpp"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QCompleter>
#include <QDialogButtonBox>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTableView>
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

QLineEdit* lineEdit(EntityForm* form, const QString& field) {
    return qobject_cast<QLineEdit*>(form->editor(field));
}

}  // namespace

class EntitiesPageTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    AdminClient client_;
    std::unique_ptr<MainWindow> window_;
    ConsolePages pages_;
    std::vector<std::unique_ptr<QAbstractItemModelTester>> testers_;

    // Opens the page's New form by clicking its button; waits for the schema and the dialog.
    EntityFormDialog* clickNew(EntitiesPage* page) {
        window_->showPage(page);
        QTest::mouseClick(page->newButton(), Qt::LeftButton);
        if (!QTest::qWaitFor([&] { return page->openDialog() != nullptr; }, 5000)) {
            return nullptr;
        }
        return page->openDialog();
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
        window_ = std::make_unique<MainWindow>(&client_);
        pages_ = addConsolePages(window_.get(), &client_);
        for (EntitiesPage* page : {pages_.services, pages_.routes}) {
            testers_.push_back(std::make_unique<QAbstractItemModelTester>(
                page->proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest));
        }
        window_->resize(1280, 800);
        window_->show();
        client_.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway_.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client_.state(), AdminClient::State::Connected, 5000);
    }

    void createServiceByClicking() {
        EntityFormDialog* dialog = clickNew(pages_.services);
        QVERIFY(dialog != nullptr);
        QVERIFY(dialog->creating());
        EntityForm* form = dialog->form();
        QTest::keyClicks(lineEdit(form, "name"), "orders-svc");
        QTest::keyClicks(lineEdit(form, "host"), "127.0.0.1");
        QLineEdit* port = lineEdit(form, "port");
        QCOMPARE(port->text(), QString("80"));  // the schema's default
        port->selectAll();
        QTest::keyClicks(port, "99999");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        // The Admin API refuses the port: its message appears beside the field.
        QTRY_VERIFY_WITH_TIMEOUT(!form->errorLabel("port")->isHidden(), 5000);
        QVERIFY2(form->errorLabel("port")->text().contains("between 0 and 65535"),
                 qPrintable(form->errorLabel("port")->text()));
        QVERIFY(form->errorLabel("name")->isHidden());
        QVERIFY(!form->generalError()->isHidden());
        QVERIFY(dialog->isVisible());
        QCOMPARE(gateway_.admin("GET", "/services/orders-svc").status, 404);
        screenshot(dialog, "form-error.png");

        port->selectAll();
        QTest::keyClicks(port, "8080");
        QTest::keyClicks(lineEdit(form, "path"), "/v1");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(pages_.services->openDialog() == nullptr, 5000);

        auto service = gateway_.admin("GET", "/services/orders-svc");
        QCOMPARE(service.status, 200);
        QCOMPARE(service.json().value("host").toString(), QString("127.0.0.1"));
        QCOMPARE(service.json().value("port").toInt(), 8080);
        QCOMPARE(service.json().value("path").toString(), QString("/v1"));
        QCOMPARE(service.json().value("protocol").toString(), QString("http"));
        // The table shows it, selected, with its JSON beside.
        QTRY_VERIFY_WITH_TIMEOUT(
            pages_.services->model()->rowOfId(service.json().value("id").toString()) >= 0, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(pages_.services->jsonView()->toPlainText().contains("orders-svc"),
                                 5000);
    }

    void createRouteByClicking() {
        QString service_id =
            gateway_.admin("GET", "/services/orders-svc").json().value("id").toString();
        EntityFormDialog* dialog = clickNew(pages_.routes);
        QVERIFY(dialog != nullptr);
        EntityForm* form = dialog->form();
        auto* service = qobject_cast<QComboBox*>(form->editor("service"));
        QVERIFY(service != nullptr);
        QTRY_VERIFY_WITH_TIMEOUT(service->findText("orders-svc") > 0, 5000);
        QTest::keyClicks(lineEdit(form, "name"), "orders-route");
        QTest::keyClicks(service->lineEdit(), "orders-svc");
        QTest::keyClicks(lineEdit(form, "paths"), "/orders, /orders-v2");
        QTest::keyClicks(lineEdit(form, "methods"), "GET,POST");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(pages_.routes->openDialog() == nullptr, 5000);

        auto route = gateway_.admin("GET", "/routes/orders-route");
        QCOMPARE(route.status, 200);
        QCOMPARE(route.json().value("service").toObject().value("id").toString(), service_id);
        QCOMPARE(route.json().value("paths").toArray(), (QJsonArray{"/orders", "/orders-v2"}));
        QCOMPARE(route.json().value("methods").toArray(), (QJsonArray{"GET", "POST"}));
        // The routes table names the service instead of showing its id.
        EntityTableModel* model = pages_.routes->model();
        QTRY_VERIFY_WITH_TIMEOUT(model->rowOfId(route.json().value("id").toString()) >= 0, 5000);
        int row = model->rowOfId(route.json().value("id").toString());
        QTRY_COMPARE_WITH_TIMEOUT(model->index(row, 1).data().toString(), QString("orders-svc"),
                                  5000);
    }

    void consumerAndPluginByClicking() {
        EntityFormDialog* dialog = clickNew(pages_.consumers);
        QVERIFY(dialog != nullptr);
        QTest::keyClicks(lineEdit(dialog->form(), "username"), "alice");
        QTest::keyClicks(lineEdit(dialog->form(), "tags"), "team-a, beta");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(pages_.consumers->openDialog() == nullptr, 5000);
        auto consumer = gateway_.admin("GET", "/consumers/alice");
        QCOMPARE(consumer.status, 200);
        QCOMPARE(consumer.json().value("tags").toArray().size(), 2);

        dialog = clickNew(pages_.plugins);
        QVERIFY(dialog != nullptr);
        EntityForm* form = dialog->form();
        QLineEdit* name = lineEdit(form, "name");
        QTRY_VERIFY_WITH_TIMEOUT(name->completer() != nullptr, 5000);  // plugin names offered
        QTest::keyClicks(name, "rate-limiting");
        auto* service = qobject_cast<QComboBox*>(form->editor("service"));
        QTRY_VERIFY_WITH_TIMEOUT(service->findText("orders-svc") > 0, 5000);
        service->setCurrentIndex(service->findText("orders-svc"));
        auto* config = qobject_cast<QPlainTextEdit*>(form->editor("config"));
        QVERIFY(config != nullptr);
        config->setPlainText("{\"minute\": 5}");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(pages_.plugins->openDialog() == nullptr, 5000);
        auto plugins = gateway_.admin("GET", "/services/orders-svc/plugins").json();
        QCOMPARE(plugins.value("data").toArray().size(), 1);
        QJsonObject plugin = plugins.value("data").toArray().first().toObject();
        QCOMPARE(plugin.value("name").toString(), QString("rate-limiting"));
        QCOMPARE(plugin.value("config").toObject().value("minute").toInt(), 5);
        // The plugins table names its service.
        EntityTableModel* model = pages_.plugins->model();
        QTRY_VERIFY_WITH_TIMEOUT(model->rowOfId(plugin.value("id").toString()) >= 0, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(
            model->index(model->rowOfId(plugin.value("id").toString()), 2).data().toString(),
            QString("orders-svc"), 5000);
    }

    void unknownProtocolIsRefused() {
        EntityFormDialog* dialog = clickNew(pages_.routes);
        QVERIFY(dialog != nullptr);
        QTest::keyClicks(lineEdit(dialog->form(), "name"), "nowhere");
        QLineEdit* protocols = lineEdit(dialog->form(), "protocols");
        protocols->selectAll();
        QTest::keyClicks(protocols, "ftp");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!dialog->form()->errorLabel("protocols")->isHidden(), 5000);
        QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Cancel),
                          Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(pages_.routes->openDialog() == nullptr, 5000);
        QCOMPARE(gateway_.admin("GET", "/routes/nowhere").status, 404);
    }

    void editAndFilter() {
        EntitiesPage* page = pages_.services;
        window_->showPage(page);
        gateway_.admin("POST", "/services", "{\"name\":\"billing-svc\",\"host\":\"billing.test\"}");
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 2, 8000);  // revision changed
        QTest::keyClicks(page->filterEdit(), "BILL");
        QCOMPARE(page->proxy()->rowCount(), 1);
        page->view()->selectRow(0);
        QVERIFY(page->jsonView()->toPlainText().contains("billing.test"));
        screenshot(window_.get(), "services-filtered.png");
        page->filterEdit()->clear();
        QCOMPARE(page->proxy()->rowCount(), 2);

        // Edit: only the changed field is sent (PATCH).
        int row = page->model()->rowOfId(
            gateway_.admin("GET", "/services/billing-svc").json().value("id").toString());
        page->view()->selectRow(page->proxy()->mapFromSource(page->model()->index(row, 0)).row());
        page->editSelected();
        QTRY_VERIFY_WITH_TIMEOUT(page->openDialog() != nullptr, 5000);
        EntityFormDialog* dialog = page->openDialog();
        QVERIFY(!dialog->creating());
        QCOMPARE(lineEdit(dialog->form(), "host")->text(), QString("billing.test"));
        QLineEdit* retries = lineEdit(dialog->form(), "retries");
        retries->selectAll();
        QTest::keyClicks(retries, "2");
        QTest::mouseClick(dialog->saveButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(page->openDialog() == nullptr, 5000);
        QCOMPARE(gateway_.admin("GET", "/services/billing-svc").json().value("retries").toInt(), 2);
    }

    void deleteAfterConfirmation() {
        EntitiesPage* page = pages_.services;
        window_->showPage(page);
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 2, 5000);
        int row = page->model()->rowOfId(
            gateway_.admin("GET", "/services/billing-svc").json().value("id").toString());
        page->view()->selectRow(page->proxy()->mapFromSource(page->model()->index(row, 0)).row());
        // The Delete key asks too.
        window_->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(window_.get()));
        page->view()->setFocus();
        QTest::keyClick(page->view(), Qt::Key_Delete);
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = page->findChild<QMessageBox*>()) != nullptr, 2000);
        QTest::mouseClick(box->button(QMessageBox::Yes), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(gateway_.admin("GET", "/services/billing-svc").status, 404, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 1, 5000);
        // A fuller table for the picture.
        const char* more[] = {
            "{\"name\":\"billing\",\"url\":\"http://billing.internal:8080/"
            "v2\",\"tags\":[\"team-b\"]}",
            "{\"name\":\"catalog\",\"url\":\"https://catalog.internal\",\"tags\":[\"team-a\"]}",
            "{\"name\":\"search\",\"url\":\"http://search.internal:9200\",\"enabled\":false}",
            "{\"name\":\"users\",\"url\":\"http://users.internal:3000/api\",\"retries\":2}"};
        for (const char* body : more) {
            QCOMPARE(gateway_.admin("POST", "/services", body).status, 201);
        }
        page->refresh();
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 5, 5000);
        page->view()->sortByColumn(0, Qt::AscendingOrder);
        page->view()->selectRow(page->proxy()->mapFromSource(page->model()->index(0, 0)).row());
        screenshot(window_.get(), "services.png");
    }
};

QTEST_MAIN(EntitiesPageTest)
#include "test_entities_page.moc"
