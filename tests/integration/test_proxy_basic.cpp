// The proxy end to end: a service and a route created through the Admin API reach a real
// upstream; gateway-made errors are JSON with a request id (or text by Accept).

#include "tests/integration/harness.hpp"

#include <QJsonArray>
#include <QRegularExpression>
#include <QSet>
#include <QtTest>

using namespace portico::test;

class ProxyBasicTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    EchoProcess echo_{"demo"};

    // Polls the proxy until the snapshot with the new route is published (bounded).
    HttpResult waitFor(const QByteArray& path, int status) {
        HttpResult result;
        for (int i = 0; i < 100; ++i) {
            result = request(gateway_.proxyPort(), "GET", path);
            if (result.status == status) {
                break;
            }
            QTest::qWait(20);
        }
        return result;
    }

private slots:
    void initTestCase() {
        QVERIFY(echo_.start());
        QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
        auto service = gateway_.admin(
            "POST", "/services",
            "{\"name\":\"echo\",\"url\":\"http://127.0.0.1:" + QByteArray::number(echo_.port()) +
                "/base\"}");
        QCOMPARE(service.status, 201);
        auto route = gateway_.admin("POST", "/services/echo/routes",
                                    "{\"name\":\"echo-route\",\"paths\":[\"/echo\"]}");
        QCOMPARE(route.status, 201);
    }

    void forwardsToTheService() {
        auto result = waitFor("/echo/hello?x=1", 200);
        QCOMPARE(result.status, 200);
        QCOMPARE(result.headers.value("x-upstream"), QByteArray("demo"));
        auto body = result.json();
        QCOMPARE(body.value("target").toString(), QString("/base/hello?x=1"));
        auto headers = body.value("headers").toObject();
        QCOMPARE(headers.value("X-Forwarded-For").toString(), QString("127.0.0.1"));
        QCOMPARE(headers.value("X-Real-IP").toString(), QString("127.0.0.1"));
        QCOMPARE(headers.value("X-Forwarded-Proto").toString(), QString("http"));
        QCOMPARE(headers.value("X-Forwarded-Prefix").toString(), QString("/echo"));
        QCOMPARE(headers.value("Via").toString(), QString("1.1 portico/0.1.0"));
        QCOMPARE(headers.value("Connection").toString(), QString("keep-alive"));
        QVERIFY(headers.value("X-Kong-Request-Id").toString().size() == 32);
        QCOMPARE(headers.value("X-Kong-Request-Id").toString().toUtf8(),
                 result.headers.value("x-kong-request-id"));
        QVERIFY(result.headers.contains("x-kong-upstream-latency"));
        QVERIFY(result.headers.value("via").contains("portico"));
        // Request ids: 32 lower-case hex digits, a new one for every request.
        QSet<QByteArray> ids;
        const QRegularExpression hex32("^[0-9a-f]{32}$");
        for (int i = 0; i < 50; ++i) {
            auto id = request(gateway_.proxyPort(), "GET", "/echo/id")
                          .headers.value("x-kong-request-id");
            QVERIFY2(hex32.match(QString::fromLatin1(id)).hasMatch(), id.constData());
            ids.insert(id);
        }
        QCOMPARE(ids.size(), 50);
    }

    void noRouteIsJson404WithRequestId() {
        auto result = request(gateway_.proxyPort(), "GET", "/nowhere");
        QCOMPARE(result.status, 404);
        QCOMPARE(result.json().value("message").toString(),
                 QString("no Route matched with those values"));
        QCOMPARE(result.json().value("request_id").toString().toUtf8(),
                 result.headers.value("x-kong-request-id"));
        auto text = request(gateway_.proxyPort(), "GET", "/nowhere", {}, {},
                            {{"Accept", "text/plain"}});
        QCOMPARE(text.status, 404);
        QVERIFY(text.body.startsWith("no Route matched with those values\nrequest_id: "));
    }

    void deadUpstreamIs502() {
        quint16 dead = freePort();
        QCOMPARE(gateway_.admin("POST", "/services",
                                "{\"name\":\"dead\",\"retries\":1,\"url\":\"http://127.0.0.1:" +
                                    QByteArray::number(dead) + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("POST", "/services/dead/routes", "{\"paths\":[\"/dead\"]}").status,
                 201);
        auto result = waitFor("/dead", 502);
        QCOMPARE(result.status, 502);
        QCOMPARE(result.json().value("message").toString(),
                 QString("An invalid response was received from the upstream server"));
        QVERIFY(!result.body.contains("127.0.0.1"));  // nothing internal goes to the client
    }

    void disabledServiceRoutesAreGone() {
        QCOMPARE(gateway_.admin("PATCH", "/services/echo", "{\"enabled\":false}").status, 200);
        QCOMPARE(waitFor("/echo/x", 404).status, 404);
        QCOMPARE(gateway_.admin("PATCH", "/services/echo", "{\"enabled\":true}").status, 200);
        QCOMPARE(waitFor("/echo/x", 200).status, 200);
    }

    void malformedRequestIs400() {
        auto result = rawRequest(gateway_.proxyPort(), "GARBAGE\r\n\r\n");
        QCOMPARE(result.status, 400);
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/echo/still-up").status, 200);
    }
};

QTEST_GUILESS_MAIN(ProxyBasicTest)
#include "test_proxy_basic.moc"
