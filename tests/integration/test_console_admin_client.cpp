// AdminClient against a real portico: requests and their ApiErrors, the /status heartbeat and
// its states (Connecting, Connected, Lost, reconnect), callbacks dropped with their context, and
// the Server-Sent Events stream of /traffic/stream.

#include "console/core/admin_client.hpp"
#include "console/core/event_stream.hpp"
#include "tests/integration/harness.hpp"

#include <QJsonArray>
#include <QSignalSpy>
#include <QtTest>

using namespace portico::test;
using portico::console::AdminClient;
using portico::console::AdminResult;
using portico::console::EventStream;

namespace {

// Runs one request and waits for its answer (tests only; production code never waits).
AdminResult call(AdminClient& client, const QByteArray& method, const QString& path,
                 const QJsonValue& body = QJsonValue(QJsonValue::Undefined)) {
    AdminResult out;
    bool done = false;
    client.request(method, path, body, nullptr, [&](const AdminResult& result) {
        out = result;
        done = true;
    });
    if (!QTest::qWaitFor([&] { return done; }, 15000)) {
        out.error = portico::console::ApiError{0, QStringLiteral("test: no answer"), {}};
    }
    return out;
}

}  // namespace

class ConsoleAdminClientTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;

    QUrl adminUrl() const {
        return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway_.adminPort()));
    }

private slots:
    void initTestCase() { QVERIFY2(gateway_.start(), qPrintable(gateway_.output())); }

    void connectsAndReportsStatus() {
        AdminClient client;
        QSignalSpy states(&client, &AdminClient::stateChanged);
        QSignalSpy statuses(&client, &AdminClient::statusUpdated);
        client.setBaseUrl(adminUrl());
        QCOMPARE(client.state(), AdminClient::State::Connecting);
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        QVERIFY(statuses.count() >= 1);
        QVERIFY(statuses.first().first().toJsonObject().contains("server"));
        QVERIFY(client.lastStatus().contains("configuration"));
        QCOMPARE(states.first().first().value<AdminClient::State>(),
                 AdminClient::State::Connecting);
        client.setBaseUrl(QUrl());
        QCOMPARE(client.state(), AdminClient::State::Disconnected);
    }

    void createsReadsAndDeletes() {
        AdminClient client;
        client.setBaseUrl(adminUrl());
        auto created = call(client, "POST", "/services",
                            QJsonObject{{"name", "client-svc"}, {"url", "http://127.0.0.1:9/x"}});
        QVERIFY2(created.ok(), qPrintable(created.error ? created.error->toString() : ""));
        QCOMPARE(created.http_status, 201);
        QCOMPARE(created.body.object().value("host").toString(), QString("127.0.0.1"));
        auto read = call(client, "GET", "/services/client-svc");
        QCOMPARE(read.http_status, 200);
        QCOMPARE(read.body.object().value("path").toString(), QString("/x"));
        auto listed = call(client, "GET", "/services?size=10");
        QVERIFY(listed.ok());
        QVERIFY(listed.body.object().value("data").toArray().size() >= 1);
        auto deleted = call(client, "DELETE", "/services/client-svc");
        QCOMPARE(deleted.http_status, 204);
        QVERIFY(deleted.ok());
    }

    void fieldErrorsBecomeApiError() {
        AdminClient client;
        client.setBaseUrl(adminUrl());
        auto invalid =
            call(client, "POST", "/services", QJsonObject{{"name", "bad"}, {"port", 99999}});
        QVERIFY(!invalid.ok());
        QCOMPARE(invalid.http_status, 400);
        QCOMPARE(invalid.error->http_status, 400);
        QVERIFY(!invalid.error->message.isEmpty());
        QVERIFY2(invalid.error->fields.contains("port"), qPrintable(invalid.error->toString()));
        QVERIFY(invalid.error->toString().contains("port"));

        auto missing = call(client, "GET", "/services/does-not-exist");
        QCOMPARE(missing.http_status, 404);
        QCOMPARE(missing.error->message, QString("Not found"));
    }

    void networkErrorHasNoStatus() {
        AdminClient client;
        client.setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(freePort())));
        auto result = call(client, "GET", "/status");
        QVERIFY(!result.ok());
        QCOMPARE(result.error->http_status, 0);
        QVERIFY(!result.error->message.isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Lost, 10000);
        QVERIFY(!client.lastError().isEmpty());
    }

    void notConnectedAnswersWithAnError() {
        AdminClient client;
        auto result = call(client, "GET", "/status");
        QVERIFY(!result.ok());
        QVERIFY(result.error->message.contains("not connected"));
    }

    void droppedContextSkipsTheCallback() {
        AdminClient client;
        client.setBaseUrl(adminUrl());
        bool called = false;
        auto* context = new QObject;
        client.get("/status", context, [&](const AdminResult&) { called = true; });
        delete context;
        bool control = false;
        client.get("/status", nullptr, [&](const AdminResult&) { control = true; });
        QTRY_VERIFY_WITH_TIMEOUT(control, 5000);
        QTest::qWait(100);
        QVERIFY(!called);
    }

    void streamsTrafficEvents() {
        AdminClient client;
        client.setBaseUrl(adminUrl());
        EventStream* stream = client.openStream("/traffic/stream", this);
        QSignalSpy opened(stream, &EventStream::opened);
        QSignalSpy events(stream, &EventStream::eventReceived);
        QVERIFY(opened.wait(5000));
        auto answer = request(gateway_.proxyPort(), "GET", "/no-route-here");
        QCOMPARE(answer.status, 404);
        QTRY_VERIFY_WITH_TIMEOUT(events.count() >= 1, 5000);
        QCOMPARE(events.first().at(0).toString(), QString("request"));
        auto record = QJsonDocument::fromJson(events.first().at(1).toByteArray()).object();
        QCOMPARE(record.value("path").toString(), QString("/no-route-here"));
        QVERIFY(!stream->lastEventId().isEmpty());
        stream->stop();
        QVERIFY(!stream->isOpen());
        delete stream;
    }

    // Last: kills the gateway.
    void losesAndReconnects() {
        AdminClient client;
        client.setHeartbeatInterval(200);
        client.setBaseUrl(adminUrl());
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 5000);
        gateway_.kill();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Lost, 10000);
        QVERIFY(!client.lastError().isEmpty());
        QVERIFY2(gateway_.restart(), qPrintable(gateway_.output()));
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), AdminClient::State::Connected, 10000);
        QVERIFY(client.lastError().isEmpty());
    }
};

QTEST_MAIN(ConsoleAdminClientTest)
#include "test_console_admin_client.moc"
