// "Start local gateway": LocalGateway runs the bundled portico (found through PORTICO_BINARY)
// with its own portico.conf on free 127.0.0.1 ports in its data directory, shows its log,
// AdminClient connects to it, and stop() ends it.

#include "console/core/admin_client.hpp"
#include "console/core/local_gateway.hpp"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using portico::console::AdminClient;
using portico::console::LocalGateway;

class LocalGatewayTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { qputenv("PORTICO_BINARY", PORTICO_BINARY); }

    void findsTheBinary() { QCOMPARE(LocalGateway::findBinary(), QString(PORTICO_BINARY)); }

    void startsConnectsAndStops() {
        QTemporaryDir dir;
        LocalGateway local;
        local.setDataDir(dir.path() + "/data");
        QSignalSpy started(&local, &LocalGateway::started);
        QSignalSpy stopped(&local, &LocalGateway::stopped);
        QSignalSpy lines(&local, &LocalGateway::logLine);
        QVERIFY2(local.start(), qPrintable(local.error()));
        QVERIFY(started.wait(5000));
        QVERIFY(local.running());
        QCOMPARE(local.adminUrl().host(), QString("127.0.0.1"));
        QVERIFY(local.adminUrl().port() > 0);
        QVERIFY(local.adminUrl().port() != local.proxyUrl().port());

        QFile conf(local.confPath());
        QVERIFY(conf.open(QIODevice::ReadOnly));
        QByteArray text = conf.readAll();
        QVERIFY(text.contains("prefix = " + (dir.path() + "/data").toUtf8()));
        QVERIFY(text.contains("admin_listen = 127.0.0.1:" +
                              QByteArray::number(local.adminUrl().port())));

        AdminClient client;
        client.setBaseUrl(local.adminUrl());
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 10000);
        QCOMPARE(client.lastStatus().value("database").toObject().value("strategy").toString(),
                 QString("sqlite"));
        QTRY_VERIFY_WITH_TIMEOUT(local.log().join("\n").contains("admin api listening"), 5000);
        QVERIFY(lines.count() >= 2);

        local.stop();
        QVERIFY(stopped.wait(10000));
        QVERIFY(!local.running());
        QTRY_VERIFY_WITH_TIMEOUT(client.state() == AdminClient::State::Lost, 10000);
    }

    void missingBinaryIsExplained() {
        qputenv("PORTICO_BINARY", "/nonexistent/portico");
        qputenv("PATH", "/nonexistent");
        LocalGateway local;
        QTemporaryDir dir;
        local.setDataDir(dir.path());
        // The build tree's portico next to the test binary is not there: nothing is found.
        if (!LocalGateway::findBinary().isEmpty()) {
            QSKIP("a portico binary lies next to the test executable");
        }
        QVERIFY(!local.start());
        QVERIFY(local.error().contains("PORTICO_BINARY"));
        qputenv("PORTICO_BINARY", PORTICO_BINARY);
    }
};

QTEST_MAIN(LocalGatewayTest)
#include "test_local_gateway.moc"
