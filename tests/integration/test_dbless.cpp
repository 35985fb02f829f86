// DB-less mode (database = off): entities from a declarative file, a read-only Admin API,
// GET /config and POST /config (kong-compat.md §6.3).

#include "tests/integration/harness.hpp"

#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QtTest>

using namespace portico::test;

class DblessTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;

private slots:
    void initTestCase() {
        QVERIFY2(gateway_.start({"database = off",
                                 "declarative_config = " + fixturesDir() +
                                     "/04-blue-green-weighted-upstream.yml"}),
                 qPrintable(gateway_.output()));
    }

    void servesTheFileEntities() {
        auto upstreams = gateway_.admin("GET", "/upstreams");
        QCOMPARE(upstreams.status, 200);
        QCOMPARE(upstreams.json().value("data").toArray().size(), 1);
        auto name = upstreams.json().value("data").toArray().first().toObject().value("name");
        auto targets = gateway_.admin("GET", "/upstreams/" + name.toString().toUtf8() + "/targets");
        QCOMPARE(targets.status, 200);
        QCOMPARE(targets.json().value("data").toArray().size(), 3);
    }

    void writesAreRefused() {
        auto post = gateway_.admin("POST", "/services", "{\"name\":\"x\",\"host\":\"a.test\"}");
        QCOMPARE(post.status, 405);
        QCOMPARE(post.json().value("code").toInt(), 12);
        QCOMPARE(post.json().value("name").toString(), QString("operation unsupported"));
        QCOMPARE(post.json().value("message").toString(),
                 QString("cannot create 'services' entities when not using a database"));
        auto put = gateway_.admin("PUT", "/services/x", "{\"host\":\"a.test\"}");
        QCOMPARE(put.status, 405);
        QCOMPARE(put.json().value("message").toString(),
                 QString("cannot create or update 'services' entities when not using a database"));
        auto upstream = gateway_.admin("GET", "/upstreams").json().value("data").toArray().first();
        auto id = upstream.toObject().value("id").toString().toUtf8();
        QCOMPARE(gateway_.admin("DELETE", "/upstreams/" + id).status, 405);
        QCOMPARE(gateway_.admin("GET", "/upstreams/" + id).status, 200);
    }

    void getConfigReturnsYaml() {
        auto config = gateway_.admin("GET", "/config");
        QCOMPARE(config.status, 200);
        auto text = config.json().value("config").toString();
        QVERIFY(text.contains("_format_version"));
        QVERIFY(text.contains("targets"));
    }

    void statusShowsTheConfigurationHash() {
        auto status = gateway_.admin("GET", "/status").json();
        QVERIFY(!status.contains("database"));
        auto hash = status.value("configuration_hash").toString();
        QVERIFY2(QRegularExpression("^[0-9a-f]{32}$").match(hash).hasMatch(), qPrintable(hash));
        QVERIFY(hash != QString(32, '0'));
    }

    void postConfigReplacesEverything() {
        QByteArray yaml =
            "_format_version: \"3.0\"\n"
            "services:\n"
            "  - name: replaced\n"
            "    url: http://127.0.0.1:9\n"
            "    routes:\n"
            "      - name: replaced-route\n"
            "        paths: [/replaced]\n";
        auto before = gateway_.admin("GET", "/status").json().value("configuration_hash");
        auto posted = gateway_.admin("POST", "/config", yaml, "application/x-yaml");
        QCOMPARE(posted.status, 201);
        QVERIFY(posted.json().contains("services"));
        auto services = gateway_.admin("GET", "/services").json().value("data").toArray();
        QCOMPARE(services.size(), 1);
        QCOMPARE(services.first().toObject().value("name").toString(), QString("replaced"));
        QCOMPARE(gateway_.admin("GET", "/upstreams").json().value("data").toArray().size(), 0);
        auto after = gateway_.admin("GET", "/status").json().value("configuration_hash");
        QVERIFY(before != after);
        // Same configuration with check_hash=1: 304, nothing reloaded.
        QCOMPARE(gateway_.admin("POST", "/config?check_hash=1", yaml, "application/x-yaml").status,
                 304);
        // The route is served by the proxy once the new snapshot is published (debounced).
        HttpResult proxied;
        for (int i = 0; i < 100; ++i) {
            proxied = request(gateway_.proxyPort(), "GET", "/replaced");
            if (proxied.status == 502 || proxied.status == 504) {
                break;
            }
            QTest::qWait(20);
        }
        QVERIFY2(proxied.status == 502 || proxied.status == 504, proxied.body);
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/other").status, 404);
    }

    void invalidConfigIsRejectedAndChangesNothing() {
        QByteArray bad = "{\"_format_version\":\"3.0\",\"services\":[{\"name\":\"b\",\"port\":\"x\"}]}";
        auto posted = gateway_.admin("POST", "/config", bad);
        QCOMPARE(posted.status, 400);
        QCOMPARE(posted.json().value("code").toInt(), 14);
        QCOMPARE(posted.json().value("name").toString(),
                 QString("invalid declarative configuration"));
        auto services = gateway_.admin("GET", "/services").json().value("data").toArray();
        QCOMPARE(services.size(), 1);
        QCOMPARE(services.first().toObject().value("name").toString(), QString("replaced"));
        auto garbage = gateway_.admin("POST", "/config", "{not json", "application/json");
        QCOMPARE(garbage.status, 400);
    }

    void brokenDeclarativeFileStopsStartup() {
        QTemporaryDir dir;
        QFile file(dir.path() + "/bad.yml");
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("_format_version: \"3.0\"\nroutes:\n  - name: r\n    paths: [/a]\n    service: missing\n");
        file.close();
        PorticoProcess broken;
        QVERIFY(!broken.start({"database = off", "declarative_config = " + file.fileName()}));
        QVERIFY2(broken.output().contains("routes[0]"), qPrintable(broken.output()));
    }

    void dbOnlyEndpointsOnSqlite() {
        PorticoProcess sqlite;
        QVERIFY2(sqlite.start(), qPrintable(sqlite.output()));
        auto config = sqlite.admin("GET", "/config");
        QCOMPARE(config.status, 400);
        QVERIFY(config.json().value("message").toString().contains("not use a database"));
    }
};

QTEST_GUILESS_MAIN(DblessTest)
#include "test_dbless.moc"
