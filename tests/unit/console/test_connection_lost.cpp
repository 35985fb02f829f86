// The connection state is always visible: the status bar names the state and the URL; when the
// gateway dies a banner says so and the console reconnects by itself once it is back.
// With PORTICO_CONSOLE_SCREENSHOTS=<dir> it saves connection-lost.png and
// connection-dialog.png there.

#include "console/core/admin_client.hpp"
#include "console/core/recent_connections.hpp"
#include "console/ui/connection_dialog.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/main_window.hpp"
#include "tests/integration/harness.hpp"

#include <QComboBox>
#include <QFrame>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
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

class ConnectionLostTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
    }

    void bannerAppearsAndReconnects() {
        AdminClient client;
        client.setHeartbeatInterval(200);
        MainWindow window(&client);
        addConsolePages(&window, &client);
        window.resize(1200, 760);
        window.show();
        QVERIFY(window.lostBanner()->isHidden());
        QVERIFY(window.connectionLabel()->text().contains("Disconnected"));

        QUrl url(QStringLiteral("http://127.0.0.1:%1").arg(gateway_.adminPort()));
        client.setBaseUrl(url);
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionLabel()->text().contains("Connected"), 5000);
        QVERIFY(window.connectionLabel()->text().contains(url.toString()));
        QVERIFY(window.lostBanner()->isHidden());

        gateway_.kill();
        QTRY_VERIFY_WITH_TIMEOUT(window.lostBanner()->isVisible(), 10000);
        QCOMPARE(client.state(), AdminClient::State::Lost);
        QVERIFY(window.connectionLabel()->text().contains("Connection lost"));
        auto* text = window.lostBanner()->findChild<QLabel*>();
        QVERIFY(text->text().contains(url.toString()));
        QVERIFY(text->text().contains("reconnecting"));
        screenshot(&window, "connection-lost.png");

        QVERIFY2(gateway_.restart(), qPrintable(gateway_.output()));
        QTRY_VERIFY_WITH_TIMEOUT(window.lostBanner()->isHidden(), 10000);
        QCOMPARE(client.state(), AdminClient::State::Connected);
        QVERIFY(window.connectionLabel()->text().contains("Connected"));
    }

    void dialogOffersRecentConnections() {
        QSettings().remove("connections/recent");
        rememberConnection(QUrl("http://gateway-a.internal:8001"));
        rememberConnection(QUrl("http://127.0.0.1:8001/"));
        rememberConnection(QUrl("http://gateway-a.internal:8001"));  // moves to the front
        QCOMPARE(recentConnections(),
                 (QStringList{"http://gateway-a.internal:8001", "http://127.0.0.1:8001"}));
        qputenv("PORTICO_BINARY", PORTICO_BINARY);  // "Start local gateway" finds it
        ConnectionDialog dialog(QUrl{});
        dialog.show();
        QVERIFY(dialog.startLocalButton()->isEnabled());
        QVERIFY(dialog.startLocalButton()->toolTip().contains(PORTICO_BINARY));
        QCOMPARE(dialog.urlBox()->count(), 2);
        QCOMPARE(dialog.url(), QUrl("http://gateway-a.internal:8001"));
        QVERIFY(dialog.connectButton()->isEnabled());
        dialog.urlBox()->setEditText("localhost:9001");
        QCOMPARE(dialog.url(), QUrl("http://localhost:9001"));
        dialog.urlBox()->setEditText("ftp://x");
        QVERIFY(!dialog.connectButton()->isEnabled());
        QVERIFY(ConnectionDialog::parseUrl("ftp:/x").isEmpty());
        QVERIFY(ConnectionDialog::parseUrl("http://").isEmpty());
        QCOMPARE(ConnectionDialog::parseUrl(" https://gw.example:8444 "),
                 QUrl("https://gw.example:8444"));
        dialog.urlBox()->setEditText("http://127.0.0.1:8001");
        screenshot(&dialog, "connection-dialog.png");
        QSignalSpy accepted(&dialog, &QDialog::accepted);
        QTest::mouseClick(dialog.connectButton(), Qt::LeftButton);
        QCOMPARE(accepted.count(), 1);
        QVERIFY(!dialog.startLocalChosen());
        forgetConnection(QUrl("http://gateway-a.internal:8001"));
        forgetConnection(QUrl("http://127.0.0.1:8001"));
        QVERIFY(recentConnections().isEmpty());
    }
};

QTEST_MAIN(ConnectionLostTest)
#include "test_connection_lost.moc"
