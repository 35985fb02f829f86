// The configuration history against a real portico: RevisionsModel (under
// QAbstractItemModelTester) lists the revisions newest first and keeps the selection when new
// ones arrive; the page shows a revision's changes field by field and rolls back to it after a
// confirmation; a DB-less gateway gets a note.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves history.png there.

#include "console/core/admin_client.hpp"
#include "console/core/revisions_model.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/history_page.hpp"
#include "console/ui/main_window.hpp"
#include "tests/integration/harness.hpp"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
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

QJsonObject revision(qint64 number, const QString& operation, const QString& name) {
    return QJsonObject{
        {"revision", number},
        {"created_at", 1700000000.0 + static_cast<double>(number)},
        {"changes_total", 1},
        {"changes", QJsonArray{QJsonObject{
                        {"operation", operation}, {"entity", "services"}, {"name", name}}}}};
}

}  // namespace

class HistoryPageTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
    }

    void modelKeepsRowsInPlace() {
        RevisionsModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRevisions({revision(2, "update", "a"), revision(1, "create", "a")});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.index(0, RevisionsModel::Revision).data().toString(), QString("2"));
        QCOMPARE(model.index(1, RevisionsModel::Summary).data().toString(),
                 QString("create services a"));
        QPersistentModelIndex first(model.index(1, 0));
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        model.setRevisions(
            {revision(4, "delete", "b"), revision(3, "create", "b"), revision(2, "update", "a")});
        QCOMPARE(reset.count(), 0);
        QCOMPARE(model.rowCount(), 3);
        QVERIFY(!first.isValid());  // revision 1 left the history
        QCOMPARE(model.rowOfRevision(2), 2);
        QCOMPARE(model.index(0, 0).data(RevisionsModel::RevisionRole).toLongLong(), 4);
        QJsonObject many = revision(5, "create", "x");
        QJsonArray changes;
        for (int i = 0; i < 5; ++i) {
            changes.append(QJsonObject{
                {"operation", "create"}, {"entity", "routes"}, {"name", QString("r%1").arg(i)}});
        }
        many["changes"] = changes;
        many["changes_total"] = 120;
        QCOMPARE(RevisionsModel::summarize(many, 2),
                 QString("create routes r0; create routes r1 (and 118 more)"));
        model.setRevisions({});
        QCOMPARE(model.rowCount(), 0);
    }

    void showsChangesAndRollsBack() {
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"orders-svc\",\"url\":\"http://orders.internal:80\"}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("PATCH", "/services/orders-svc", "{\"port\":8080}").status, 200);
        QCOMPARE(gateway_
                     .admin("POST", "/services/orders-svc/routes",
                            "{\"name\":\"orders\",\"paths\":[\"/orders\"]}")
                     .status,
                 201);

        AdminClient client;
        client.setHeartbeatInterval(300);
        MainWindow window(&client);
        ConsolePages pages = addConsolePages(&window, &client);
        HistoryPage* page = pages.history;
        QVERIFY(page != nullptr);
        QAbstractItemModelTester tester(page->model(),
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        window.resize(1280, 800);
        window.show();
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway_.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        window.showPage(page);
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 3, 5000);
        QCOMPARE(page->model()->index(0, RevisionsModel::Summary).data().toString(),
                 QString("create routes orders"));

        // Revision 2 changed the port.
        page->view()->selectRow(page->model()->rowOfRevision(2));
        QTRY_VERIFY_WITH_TIMEOUT(page->details()->toPlainText().contains("port: 80 → 8080"), 5000);
        QVERIFY(page->details()->toPlainText().contains("update services orders-svc"));
        // The newest revision is the current configuration: nothing to roll back to.
        page->view()->selectRow(0);
        QVERIFY(!page->rollbackButton()->isEnabled());

        // Roll back to revision 1: the port is 80 again and the route is gone.
        page->view()->selectRow(page->model()->rowOfRevision(1));
        QTRY_VERIFY_WITH_TIMEOUT(page->details()->toPlainText().contains("create services"), 5000);
        screenshot(&window, "history.png");
        QVERIFY(page->rollbackButton()->isEnabled());
        QSignalSpy rolled(page, &HistoryPage::rolledBack);
        QTest::mouseClick(page->rollbackButton(), Qt::LeftButton);
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = page->findChild<QMessageBox*>()) != nullptr, 2000);
        QTest::mouseClick(box->button(QMessageBox::Yes), Qt::LeftButton);
        QVERIFY(rolled.wait(5000));
        QCOMPARE(rolled.first().at(0).toLongLong(), 1);
        QCOMPARE(rolled.first().at(1).toLongLong(), 4);
        QCOMPARE(gateway_.admin("GET", "/services/orders-svc").json().value("port").toInt(), 80);
        QCOMPARE(gateway_.admin("GET", "/routes/orders").status, 404);
        // The new revision appears on top; revision 1 stays selected.
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->rowCount(), 4, 5000);
        QModelIndexList selected = page->view()->selectionModel()->selectedRows();
        QCOMPARE(selected.size(), 1);
        QCOMPARE(selected.first().data(RevisionsModel::RevisionRole).toLongLong(), 1);
    }

    void dblessHasANote() {
        PorticoProcess dbless;
        QVERIFY2(dbless.start({"database = off"}), qPrintable(dbless.output()));
        AdminClient client;
        HistoryPage page(&client);
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(dbless.adminPort())));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        page.refresh();
        QTRY_VERIFY_WITH_TIMEOUT(
            page.note()->text().contains("history") || page.model()->rowCount() == 0, 5000);
        QCOMPARE(page.model()->rowCount(), 0);
    }
};

QTEST_MAIN(HistoryPageTest)
#include "test_history_page.moc"
