// The application's wiring: from the connection dialog, "Start Local Gateway" runs the bundled
// portico (PORTICO_BINARY) in its own data directory, shows its log in the dock and connects;
// a URL typed in the dialog connects and becomes a recent connection; stopping the local
// gateway shows the lost banner.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves local-gateway.png there.

#include "console/core/admin_client.hpp"
#include "console/core/local_gateway.hpp"
#include "console/core/recent_connections.hpp"
#include "console/ui/connection_dialog.hpp"
#include "console/ui/console_controller.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/local_gateway_dock.hpp"
#include "console/ui/main_window.hpp"
#include "console/ui/overview_page.hpp"

#include <QComboBox>
#include <QFrame>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace portico::console;

namespace {

void screenshot(QWidget* widget, const QString& name) {
    QString dir = qEnvironmentVariable("PORTICO_CONSOLE_SCREENSHOTS");
    if (!dir.isEmpty()) {
        QVERIFY(widget->grab().save(dir + "/" + name));
    }
}

}  // namespace

class ConsoleControllerTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().remove("connections/recent");
        qputenv("PORTICO_BINARY", PORTICO_BINARY);
    }

    void startLocalGatewayFromTheDialog() {
        QTemporaryDir data;
        AdminClient client;
        client.setHeartbeatInterval(300);
        LocalGateway local;
        local.setDataDir(data.path() + "/local-gateway");
        MainWindow window(&client);
        ConsolePages pages = addConsolePages(&window, &client);
        ConsoleController controller(&window, &client, &local);
        window.resize(1280, 820);
        window.show();

        controller.openConnectionDialog();
        ConnectionDialog* dialog = controller.connectionDialog();
        QVERIFY(dialog != nullptr);
        QVERIFY(dialog->isVisible());
        QVERIFY(dialog->startLocalButton()->isEnabled());
        QTest::mouseClick(dialog->startLocalButton(), Qt::LeftButton);

        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 15000);
        QCOMPARE(client.baseUrl(), local.adminUrl());
        QVERIFY(local.running());
        QVERIFY(QFile::exists(data.path() + "/local-gateway/portico.conf"));
        QVERIFY(controller.dock()->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(
            controller.dock()->logView()->toPlainText().contains("admin api listening"), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(pages.overview->infoLabel("database")->text().contains("sqlite"),
                                 5000);
        screenshot(&window, "local-gateway.png");

        // A URL typed in the dialog connects and is remembered.
        controller.openConnectionDialog();
        dialog = controller.connectionDialog();
        QVERIFY(dialog != nullptr);
        dialog->urlBox()->setEditText(QString());
        QTest::keyClicks(dialog->urlBox()->lineEdit(),
                         QStringLiteral("127.0.0.1:%1").arg(local.adminUrl().port()));
        QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(recentConnections().value(0), local.adminUrl().toString(), 2000);
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);

        // The local gateway stops: the banner says the connection is lost.
        local.stop();
        QTRY_VERIFY_WITH_TIMEOUT(!local.running(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(window.lostBanner()->isVisible(), 10000);
        QVERIFY(controller.dock()->findChild<QLabel*>()->text().contains("Stopped"));
        QSettings().remove("connections/recent");
    }

    void missingBinaryIsReported() {
        qputenv("PORTICO_BINARY", "/nonexistent/portico");
        qputenv("PATH", "/nonexistent");
        if (!LocalGateway::findBinary().isEmpty()) {
            QSKIP("a portico binary lies next to the test executable");
        }
        AdminClient client;
        LocalGateway local;
        MainWindow window(&client);
        ConsoleController controller(&window, &client, &local);
        window.show();
        controller.startLocalGateway();
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = window.findChild<QMessageBox*>()) != nullptr, 2000);
        QVERIFY(box->text().contains("PORTICO_BINARY"));
        QCOMPARE(client.state(), AdminClient::State::Disconnected);
        qputenv("PORTICO_BINARY", PORTICO_BINARY);
    }
};

QTEST_MAIN(ConsoleControllerTest)
#include "test_console_controller.moc"
