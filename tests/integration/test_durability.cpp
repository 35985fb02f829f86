// A write acknowledged with 2xx survives kill -9 of the process a moment later.

#include "tests/integration/harness.hpp"

#include <QJsonArray>
#include <QtTest>

using namespace portico::test;

class DurabilityTest : public QObject {
    Q_OBJECT

private slots:
    void acknowledgedWritesSurviveKill9() {
        PorticoProcess gateway;
        QVERIFY2(gateway.start(), qPrintable(gateway.output()));
        QStringList ids;
        for (int i = 0; i < 20; ++i) {
            auto created = gateway.admin(
                "POST", "/services",
                "{\"name\":\"svc-" + QByteArray::number(i) + "\",\"url\":\"http://127.0.0.1:9/\"}");
            QCOMPARE(created.status, 201);
            ids << created.json().value("id").toString();
        }
        // The last acknowledged write is followed immediately by SIGKILL.
        auto last = gateway.admin("POST", "/upstreams", "{\"name\":\"last-one\"}");
        QCOMPARE(last.status, 201);
        gateway.kill();
        QVERIFY(!gateway.running());

        QVERIFY2(gateway.restart(), qPrintable(gateway.output()));
        for (const auto& id : ids) {
            QCOMPARE(gateway.admin("GET", "/services/" + id.toUtf8()).status, 200);
        }
        QCOMPARE(gateway.admin("GET", "/upstreams/last-one").status, 200);
        auto list = gateway.admin("GET", "/services?size=1000");
        QCOMPARE(list.json().value("data").toArray().size(), 20);
        // The configuration revision survived too and keeps increasing.
        auto revision = gateway.admin("GET", "/status").json().value("configuration").toObject()
                            .value("revision").toInteger();
        QVERIFY(revision >= 21);
        QCOMPARE(gateway.admin("POST", "/consumers", "{\"username\":\"after\"}").status, 201);
        auto after = gateway.admin("GET", "/status").json().value("configuration").toObject()
                         .value("revision").toInteger();
        QVERIFY(after > revision);
    }
};

QTEST_GUILESS_MAIN(DurabilityTest)
#include "test_durability.moc"
