// The Admin API against the real `portico` binary on the embedded SQLite store (kong-compat.md
// §1, §2): entity CRUD with Kong's shapes and status codes, nested and foreign-key endpoints,
// targets as service instances register themselves, credentials, pagination, tags, form and
// multipart bodies, node endpoints, CORS, and one test per kind of bad input. The last test
// checks that the process survived all of it and that nothing written earlier was lost.
//
// Expected bodies are JSON text in raw strings delimited by js( )js, because Kong's messages
// contain ")" followed by a quote. The slots are defined after the class: moc (Qt 6.4) misreads
// raw strings holding an apostrophe or "//" and would not see slots that follow one.

#include "tests/integration/harness.hpp"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSet>
#include <QUrl>
#include <QUuid>
#include <QtTest>

using namespace portico::test;

namespace {

QJsonObject parseObject(const QByteArray& text) {
    QJsonParseError error{};
    auto document = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        qWarning("not a JSON object: %s", text.constData());
    }
    return document.object();
}

QByteArray compact(const QJsonObject& object) {
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QByteArray compact(const QJsonArray& array) {
    return QJsonDocument(array).toJson(QJsonDocument::Compact);
}

bool isCanonicalUuid(const QString& text) {
    static const QRegularExpression pattern(
        "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    return pattern.match(text).hasMatch();
}

QByteArray newUuid() {
    return QUuid::createUuid().toString(QUuid::WithoutBraces).toUtf8();
}

// Header value of a raw response ("Name: value" lines before the blank line), case-insensitive.
QByteArray rawHeader(const QByteArray& response, const QByteArray& name) {
    auto head = response.left(response.indexOf("\r\n\r\n"));
    for (const auto& line : head.split('\n')) {
        auto colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().toLower() == name.toLower()) {
            return line.mid(colon + 1).trimmed();
        }
    }
    return {};
}

QSet<QString> toSet(const QStringList& list) {
    return QSet<QString>(list.begin(), list.end());
}

}  // namespace

// Compares two JSON objects exactly and prints both on failure.
#define COMPARE_JSON(actual, expected)                                    \
    do {                                                                  \
        const QJsonObject actual_json_ = (actual);                        \
        const QJsonObject expected_json_ = (expected);                    \
        QVERIFY2(actual_json_ == expected_json_,                          \
                 qPrintable("\n  actual:   " + compact(actual_json_) +    \
                            "\n  expected: " + compact(expected_json_))); \
    } while (false)

#define COMPARE_STATUS(response, expected_status)                                 \
    do {                                                                          \
        const auto& status_response_ = (response);                                \
        QVERIFY2(status_response_.status == (expected_status),                    \
                 qPrintable(QString("status %1, body %2")                         \
                                .arg(status_response_.status)                     \
                                .arg(QString::fromUtf8(status_response_.body)))); \
    } while (false)

// Status and exact JSON body of a response.
#define COMPARE_RESPONSE(response, expected_status, expected_body)                  \
    do {                                                                            \
        const auto& body_response_ = (response);                                    \
        COMPARE_STATUS(body_response_, expected_status);                            \
        COMPARE_JSON(parseObject(body_response_.body), parseObject(expected_body)); \
    } while (false)

// One portico for the whole class. Slots run in declaration order and build on each other:
// svc-a, svc-r with route r1, alice, billing.internal and the like are created early and used
// by later tests; the bad-input tests come after the happy paths, and the last slot reads back
// everything recorded in kept_.
class AdminApiTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    // Entities that must still read back exactly like this at the end (path, body).
    QList<QPair<QByteArray, QJsonObject>> kept_;

    HttpResult call(const QByteArray& method, const QByteArray& target, const QByteArray& body = {},
                    const QByteArray& content_type = "application/json") {
        return gateway_.admin(method, target, body, content_type);
    }

    HttpResult callWith(const QByteArray& method, const QByteArray& target,
                        const QList<QPair<QByteArray, QByteArray>>& headers) {
        return request(gateway_.adminPort(), method, target, {}, "application/json", headers);
    }

    qint64 revision() {
        auto status = call("GET", "/status");
        return status.json().value("configuration").toObject().value("revision").toInteger(-1);
    }

    // id, created_at and updated_at are system-generated: copy them from `actual` into
    // `expected` so that everything else can be compared exactly.
    static QJsonObject withSystemFields(QJsonObject expected, const QJsonObject& actual) {
        for (const char* key : {"id", "created_at", "updated_at"}) {
            if (actual.contains(key)) {
                expected.insert(key, actual.value(key));
            }
        }
        return expected;
    }

    static bool hasSystemFields(const QJsonObject& entity) {
        return isCanonicalUuid(entity.value("id").toString()) &&
               entity.value("created_at").isDouble() && entity.value("created_at").toDouble() > 0;
    }

    static QSet<QString> idsOf(const QJsonArray& data) {
        QSet<QString> ids;
        for (const auto& item : data) {
            ids.insert(item.toObject().value("id").toString());
        }
        return ids;
    }

    QString createService(const QByteArray& name, const QByteArray& extra = {}) {
        auto created = call("POST", "/services",
                            "{\"name\":\"" + name + "\",\"host\":\"" + name + ".example.com\"" +
                                (extra.isEmpty() ? QByteArray() : "," + extra) + "}");
        if (created.status != 201) {
            qWarning("creating service %s: %d %s", name.constData(), created.status,
                     created.body.constData());
            return {};
        }
        return created.json().value("id").toString();
    }

private slots:
    void initTestCase();
    void cleanupTestCase();
    void serviceCreateReturnsEveryFieldWithDefaults();
    void serviceUrlShorthand();
    void serviceGetByIdAndByName();
    void servicePatchMergesFields();
    void servicePutUpsertsByName();
    void serviceDelete();
    void routesNestedUnderService();
    void serviceLessRouteHasNoService();
    void upstreamDefaults();
    void targetsRegisterAndDeregister();
    void consumersAndCustomIdLookup();
    void keyAuthCredentialGetsAGeneratedKey();
    void basicAuthPasswordIsStoredHashed();
    void certificateWithSnis();
    void paginationFollowsNextUntilNull();
    void paginationRejectsBadSizeAndOffset();
    void tagsFilterAndListing();
    void formUrlEncodedBodies();
    void multipartBody();
    void rootEndpoint();
    void statusReportsDatabaseAndRevision();
    void schemasEndpoints();
    void optionsAnswersAllowedMethods();
    void corsEchoesOrigin();
    void headIsGetWithoutBody();
    void trailingSlashIsTolerated();
    void escapedNamesInUrls();
    void nestedPutAndPagination();
    void deletesCascadeToChildren();
    void upstreamAndTargetValidation();
    void ipv6TargetsByAnySpelling();
    void pluginsOnAService();
    void tagsPaginationAndErrors();
    void keepAliveServesSeveralRequests();
    void kongWorkedExamplesOfErrors();
    void duplicateIdOnCreateIs400();
    void contentTypeVariants();
    void nodeListings();
    void unparsableJsonIs400();
    void unknownFieldIs400();
    void wrongTypeAndOutOfRangeAreEachNamed();
    void bodyOverOneMebibyteIs413();
    void unsupportedContentTypeIs415();
    void twoContentTypeHeadersAre400();
    void unknownPathIs404();
    void wrongMethodIs405();
    void duplicateUniqueNameIs409();
    void deletingAReferencedServiceIs400();
    void routeWithMissingServiceIs400();
    void malformedHttpIs400AndTheProcessKeepsServing();
    void chunkedBodyOverOneMebibyteIs413();
    void changingTheIdIs400();
    void configHistoryAndRollback();
    void processSurvivedAndNothingWasLost();
};

void AdminApiTest::initTestCase() {
    QVERIFY2(gateway_.start(), qPrintable(gateway_.output()));
}

void AdminApiTest::cleanupTestCase() {
    // Only a process that runs: stop() signals processId(), which is 0 for one that never
    // started, and kill(0, ...) would signal this test's whole process group.
    if (gateway_.running()) {
        QCOMPARE(gateway_.stop(), 0);
    }
}

// ---------------------------------------------------------------------------------------
// Services

void AdminApiTest::serviceCreateReturnsEveryFieldWithDefaults() {
    auto created = call("POST", "/services", R"js({"name":"svc-a","host":"a.example.com"})js");
    COMPARE_STATUS(created, 201);
    QCOMPARE(created.headers.value("content-type"), QByteArray("application/json; charset=utf-8"));
    auto entity = created.json();
    QVERIFY2(hasSystemFields(entity), created.body);
    QVERIFY(entity.value("updated_at").isDouble());
    auto expected =
        parseObject(R"js({"name":"svc-a","host":"a.example.com","protocol":"http","port":80,)js"
                    R"js("path":null,"retries":5,"connect_timeout":60000,"write_timeout":60000,)js"
                    R"js("read_timeout":60000,"tags":null,"client_certificate":null,)js"
                    R"js("tls_verify":null,"tls_verify_depth":null,"ca_certificates":null,)js"
                    R"js("enabled":true})js");
    COMPARE_JSON(entity, withSystemFields(expected, entity));
    kept_.append({"/services/svc-a", entity});
}

void AdminApiTest::serviceUrlShorthand() {
    auto https = call("POST", "/services",
                      R"js({"name":"svc-url","url":"https://api.example.com:8443/v1/o"})js");
    COMPARE_STATUS(https, 201);
    auto entity = https.json();
    QCOMPARE(entity.value("protocol").toString(), QString("https"));
    QCOMPARE(entity.value("host").toString(), QString("api.example.com"));
    QCOMPARE(entity.value("port").toInteger(), 8443);
    QCOMPARE(entity.value("path").toString(), QString("/v1/o"));
    QVERIFY2(!entity.contains("url"), https.body);  // a shorthand, never stored or returned

    auto defaults =
        call("POST", "/services", R"js({"name":"svc-url2","url":"https://b.example.com"})js");
    COMPARE_STATUS(defaults, 201);
    QCOMPARE(defaults.json().value("port").toInteger(), 443);
    QVERIFY(defaults.json().value("path").isNull());
    auto plain =
        call("POST", "/services", R"js({"name":"svc-url3","url":"http://c.example.com"})js");
    COMPARE_STATUS(plain, 201);
    QCOMPARE(plain.json().value("protocol").toString(), QString("http"));
    QCOMPARE(plain.json().value("port").toInteger(), 80);
}

void AdminApiTest::serviceGetByIdAndByName() {
    auto created = call("POST", "/services", R"js({"name":"svc-get","host":"get.example.com"})js");
    COMPARE_STATUS(created, 201);
    auto id = created.json().value("id").toString().toUtf8();
    auto by_id = call("GET", "/services/" + id);
    COMPARE_STATUS(by_id, 200);
    COMPARE_JSON(by_id.json(), created.json());
    auto by_name = call("GET", "/services/svc-get");
    COMPARE_STATUS(by_name, 200);
    COMPARE_JSON(by_name.json(), created.json());
    COMPARE_RESPONSE(call("GET", "/services/no-such-service"), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("GET", "/services/" + newUuid()), 404, R"js({"message":"Not found"})js");
}

void AdminApiTest::servicePatchMergesFields() {
    auto created = call("POST", "/services",
                        R"js({"name":"svc-patch","host":"patch.example.com","tags":["t1"]})js");
    COMPARE_STATUS(created, 201);
    auto patched = call("PATCH", "/services/svc-patch", R"js({"retries":3,"path":"/v2"})js");
    COMPARE_STATUS(patched, 200);
    auto expected = created.json();
    expected.insert("retries", 3);
    expected.insert("path", "/v2");
    expected.insert("updated_at", patched.json().value("updated_at"));
    COMPARE_JSON(patched.json(), expected);
    QVERIFY(patched.json().value("updated_at").toDouble() >=
            created.json().value("updated_at").toDouble());
    COMPARE_JSON(call("GET", "/services/svc-patch").json(), expected);
    COMPARE_RESPONSE(call("PATCH", "/services/no-such-service", R"js({"retries":1})js"), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_STATUS(call("GET", "/services/no-such-service"), 404);  // PATCH did not create
    kept_.append({"/services/svc-patch", expected});
}

void AdminApiTest::servicePutUpsertsByName() {
    auto first = call("PUT", "/services/svc-put", R"js({"host":"put1.example.com","retries":2})js");
    COMPARE_STATUS(first, 200);  // created, and still 200 (never 201)
    QCOMPARE(first.json().value("name").toString(), QString("svc-put"));
    QCOMPARE(first.json().value("retries").toInteger(), 2);
    QVERIFY(hasSystemFields(first.json()));

    auto second = call("PUT", "/services/svc-put", R"js({"host":"put2.example.com"})js");
    COMPARE_STATUS(second, 200);
    auto entity = second.json();
    QCOMPARE(entity.value("id"), first.json().value("id"));
    QCOMPARE(entity.value("name").toString(), QString("svc-put"));
    QCOMPARE(entity.value("host").toString(), QString("put2.example.com"));
    QCOMPARE(entity.value("retries").toInteger(), 5);  // full replacement: default again
    COMPARE_JSON(call("GET", "/services/svc-put").json(), entity);

    // By id: created with that id.
    auto id = newUuid();
    auto by_id =
        call("PUT", "/services/" + id, R"js({"name":"svc-put-id","host":"p.example.com"})js");
    COMPARE_STATUS(by_id, 200);
    QCOMPARE(by_id.json().value("id").toString().toUtf8(), id);
    COMPARE_STATUS(call("GET", "/services/svc-put-id"), 200);
    kept_.append({"/services/svc-put", entity});
}

void AdminApiTest::serviceDelete() {
    auto created = call("POST", "/services", R"js({"name":"svc-del","host":"del.example.com"})js");
    COMPARE_STATUS(created, 201);
    auto deleted = call("DELETE", "/services/svc-del");
    COMPARE_STATUS(deleted, 204);
    QVERIFY(deleted.body.isEmpty());
    COMPARE_STATUS(call("GET", "/services/svc-del"), 404);
    COMPARE_STATUS(call("DELETE", "/services/svc-del"), 204);  // missing: 204 again
    COMPARE_STATUS(call("DELETE", "/services/" + created.json().value("id").toString().toUtf8()),
                   204);
}

// ---------------------------------------------------------------------------------------
// Routes

void AdminApiTest::routesNestedUnderService() {
    auto service_id = createService("svc-r");
    auto other_id = createService("svc-r2");
    QVERIFY(!service_id.isEmpty() && !other_id.isEmpty());

    auto created = call("POST", "/services/svc-r/routes", R"js({"name":"r1","paths":["/r1"]})js");
    COMPARE_STATUS(created, 201);
    auto route = created.json();
    QVERIFY(hasSystemFields(route));
    auto expected = parseObject(
        R"js({"name":"r1","protocols":["http","https"],"methods":null,"hosts":null,)js"
        R"js("paths":["/r1"],"headers":null,"https_redirect_status_code":426,)js"
        R"js("regex_priority":0,"strip_path":true,"path_handling":"v0",)js"
        R"js("preserve_host":false,"request_buffering":true,"response_buffering":true,)js"
        R"js("snis":null,"sources":null,"destinations":null,"tags":null})js");
    expected.insert("service", QJsonObject{{"id", service_id}});
    COMPARE_JSON(route, withSystemFields(expected, route));

    auto service = call("GET", "/routes/r1/service");
    COMPARE_STATUS(service, 200);
    QCOMPARE(service.json().value("id").toString(), service_id);
    QCOMPARE(service.json().value("name").toString(), QString("svc-r"));
    COMPARE_RESPONSE(call("DELETE", "/routes/r1/service"), 405,
                     R"js({"message":"Method not allowed"})js");

    auto listing = call("GET", "/services/svc-r/routes");
    COMPARE_STATUS(listing, 200);
    COMPARE_JSON(listing.json(),
                 (QJsonObject{{"data", QJsonArray{route}}, {"next", QJsonValue::Null}}));
    COMPARE_RESPONSE(call("GET", "/services/svc-r2/routes"), 200, R"js({"data":[],"next":null})js");

    COMPARE_JSON(call("GET", "/services/svc-r/routes/r1").json(), route);
    auto route_id = route.value("id").toString().toUtf8();
    COMPARE_STATUS(call("GET", "/services/" + service_id.toUtf8() + "/routes/" + route_id), 200);
    // A child that belongs to another parent is not found there, whatever the verb.
    COMPARE_RESPONSE(call("GET", "/services/svc-r2/routes/r1"), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("GET", "/services/svc-r2/routes/" + route_id), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_STATUS(call("PATCH", "/services/svc-r2/routes/r1", R"js({"paths":["/x"]})js"), 404);
    COMPARE_STATUS(call("DELETE", "/services/svc-r2/routes/r1"), 404);
    COMPARE_JSON(call("GET", "/routes/r1").json(), route);
    COMPARE_STATUS(call("GET", "/services/no-such-service/routes"), 404);

    // Under the right parent PATCH works and keeps the parent.
    auto patched = call("PATCH", "/services/svc-r/routes/r1", R"js({"methods":["GET"]})js");
    COMPARE_STATUS(patched, 200);
    QCOMPARE(compact(patched.json().value("methods").toArray()), QByteArray(R"js(["GET"])js"));
    QCOMPARE(patched.json().value("service").toObject().value("id").toString(), service_id);
    kept_.append({"/routes/r1", patched.json()});
}

void AdminApiTest::serviceLessRouteHasNoService() {
    auto created = call("POST", "/routes", R"js({"name":"r-free","hosts":["free.example.com"]})js");
    COMPARE_STATUS(created, 201);
    QVERIFY(created.json().value("service").isNull());
    COMPARE_RESPONSE(call("GET", "/routes/r-free/service"), 404, R"js({"message":"Not found"})js");
}

// ---------------------------------------------------------------------------------------
// Upstreams and targets: service instances register and deregister themselves.

void AdminApiTest::upstreamDefaults() {
    auto created = call("POST", "/upstreams", R"js({"name":"orders.internal"})js");
    COMPARE_STATUS(created, 201);
    auto upstream = created.json();
    QVERIFY(hasSystemFields(upstream));
    QCOMPARE(upstream.value("algorithm").toString(), QString("round-robin"));
    QCOMPARE(upstream.value("hash_on").toString(), QString("none"));
    QCOMPARE(upstream.value("hash_fallback").toString(), QString("none"));
    QCOMPARE(upstream.value("hash_on_cookie_path").toString(), QString("/"));
    QCOMPARE(upstream.value("slots").toInteger(), 10000);
    QCOMPARE(upstream.value("use_srv_name"), QJsonValue(false));
    QVERIFY(upstream.value("host_header").isNull());
    auto healthchecks = upstream.value("healthchecks").toObject();
    QCOMPARE(healthchecks.value("threshold").toDouble(-1), 0.0);
    auto active = healthchecks.value("active").toObject();
    QCOMPARE(active.value("type").toString(), QString("http"));
    QCOMPARE(active.value("http_path").toString(), QString("/"));
    QCOMPARE(compact(active.value("healthy").toObject().value("http_statuses").toArray()),
             QByteArray("[200,302]"));
    auto passive_unhealthy = healthchecks.value("passive").toObject().value("unhealthy").toObject();
    QCOMPARE(compact(passive_unhealthy.value("http_statuses").toArray()),
             QByteArray("[429,500,503]"));
    kept_.append({"/upstreams/orders.internal", upstream});
}

void AdminApiTest::targetsRegisterAndDeregister() {
    auto upstream = call("POST", "/upstreams", R"js({"name":"billing.internal"})js");
    COMPARE_STATUS(upstream, 201);
    auto upstream_id = upstream.json().value("id").toString();

    auto registered =
        call("POST", "/upstreams/billing.internal/targets", R"js({"target":"10.0.0.1:8080"})js");
    COMPARE_STATUS(registered, 201);
    auto target = registered.json();
    QVERIFY(isCanonicalUuid(target.value("id").toString()));
    QCOMPARE(target.value("target").toString(), QString("10.0.0.1:8080"));
    QCOMPARE(target.value("weight").toInteger(), 100);
    QVERIFY(target.value("tags").isNull());
    COMPARE_JSON(target.value("upstream").toObject(), (QJsonObject{{"id", upstream_id}}));
    QVERIFY(target.value("created_at").toDouble() > 1e12);  // milliseconds

    // The same instance registering again.
    auto duplicate =
        call("POST", "/upstreams/billing.internal/targets", R"js({"target":"10.0.0.1:8080"})js");
    COMPARE_STATUS(duplicate, 409);
    QCOMPARE(duplicate.json().value("code").toInt(), 5);
    QCOMPARE(duplicate.json().value("name").toString(), QString("unique constraint violation"));

    auto default_port = call("POST", "/upstreams/" + upstream_id.toUtf8() + "/targets",
                             R"js({"target":"10.0.0.2","weight":50})js");
    COMPARE_STATUS(default_port, 201);
    QCOMPARE(default_port.json().value("target").toString(), QString("10.0.0.2:8000"));
    QCOMPARE(default_port.json().value("weight").toInteger(), 50);
    COMPARE_STATUS(
        call("POST", "/upstreams/billing.internal/targets", R"js({"target":"10.0.0.2:8000"})js"),
        409);

    auto listing = call("GET", "/upstreams/billing.internal/targets");
    COMPARE_STATUS(listing, 200);
    QCOMPARE(
        idsOf(listing.json().value("data").toArray()),
        (QSet<QString>{target.value("id").toString(), default_port.json().value("id").toString()}));
    QVERIFY(listing.json().value("next").isNull());

    COMPARE_JSON(call("GET", "/upstreams/billing.internal/targets/10.0.0.1:8080").json(), target);
    COMPARE_STATUS(call("GET", "/upstreams/billing.internal/targets/10.0.0.2"), 200);
    COMPARE_STATUS(call("GET", "/upstreams/orders.internal/targets/10.0.0.1:8080"), 404);

    // Deregistration.
    auto removed = call("DELETE", "/upstreams/billing.internal/targets/10.0.0.1:8080");
    COMPARE_STATUS(removed, 204);
    QVERIFY(removed.body.isEmpty());
    auto after = call("GET", "/upstreams/billing.internal/targets");
    QCOMPARE(idsOf(after.json().value("data").toArray()),
             (QSet<QString>{default_port.json().value("id").toString()}));
    COMPARE_STATUS(call("DELETE", "/upstreams/billing.internal/targets/10.0.0.1:8080"), 404);
    // And may register again.
    COMPARE_STATUS(
        call("POST", "/upstreams/billing.internal/targets", R"js({"target":"10.0.0.1:8080"})js"),
        201);

    // There is no top-level /targets.
    COMPARE_RESPONSE(call("GET", "/targets"), 404, R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("POST", "/targets", R"js({"target":"10.0.0.9:80"})js"), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("GET", "/targets/" + target.value("id").toString().toUtf8()), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_STATUS(call("GET", "/upstreams/no-such.internal/targets"), 404);
    kept_.append({"/upstreams/billing.internal/targets/10.0.0.2:8000", default_port.json()});
}

// ---------------------------------------------------------------------------------------
// Consumers and credentials

void AdminApiTest::consumersAndCustomIdLookup() {
    auto alice = call("POST", "/consumers", R"js({"username":"alice","custom_id":"c-1"})js");
    COMPARE_STATUS(alice, 201);
    auto expected = parseObject(R"js({"username":"alice","custom_id":"c-1","tags":null})js");
    COMPARE_JSON(alice.json(), withSystemFields(expected, alice.json()));
    COMPARE_STATUS(call("POST", "/consumers", R"js({"username":"bob"})js"), 201);

    auto found = call("GET", "/consumers?custom_id=c-1");
    COMPARE_STATUS(found, 200);
    COMPARE_JSON(found.json(),
                 (QJsonObject{{"data", QJsonArray{alice.json()}}, {"next", QJsonValue::Null}}));
    COMPARE_RESPONSE(call("GET", "/consumers?custom_id=nope"), 200,
                     R"js({"data":[],"next":null})js");
    COMPARE_RESPONSE(call("GET", "/consumers?custom_id="), 400,
                     R"js({"message":"custom_id must be an unempty string"})js");
    auto neither = call("POST", "/consumers", R"js({"tags":["x"]})js");
    COMPARE_STATUS(neither, 400);
    QCOMPARE(neither.json().value("code").toInt(), 2);
    kept_.append({"/consumers/alice", alice.json()});
}

void AdminApiTest::keyAuthCredentialGetsAGeneratedKey() {
    auto consumer = call("POST", "/consumers", R"js({"username":"carol"})js");
    COMPARE_STATUS(consumer, 201);
    auto consumer_id = consumer.json().value("id").toString();

    auto generated = call("POST", "/consumers/carol/key-auth");  // no body at all
    COMPARE_STATUS(generated, 201);
    auto key = generated.json().value("key").toString();
    QVERIFY2(key.size() >= 16, generated.body);
    COMPARE_JSON(generated.json().value("consumer").toObject(), (QJsonObject{{"id", consumer_id}}));
    QVERIFY(isCanonicalUuid(generated.json().value("id").toString()));

    auto another = call("POST", "/consumers/carol/key-auth", "{}");
    COMPARE_STATUS(another, 201);
    QVERIFY(another.json().value("key").toString() != key);

    auto chosen = call("POST", "/consumers/carol/key-auth", R"js({"key":"carol-key-1"})js");
    COMPARE_STATUS(chosen, 201);
    QCOMPARE(chosen.json().value("key").toString(), QString("carol-key-1"));
    auto duplicate = call("POST", "/consumers/carol/key-auth", R"js({"key":"carol-key-1"})js");
    COMPARE_STATUS(duplicate, 409);
    QCOMPARE(duplicate.json().value("code").toInt(), 5);

    auto listing = call("GET", "/consumers/carol/key-auth");
    COMPARE_STATUS(listing, 200);
    QCOMPARE(listing.json().value("data").toArray().size(), 3);
    auto by_key = call("GET", "/key-auths/carol-key-1");
    COMPARE_STATUS(by_key, 200);
    COMPARE_JSON(by_key.json(), chosen.json());
    auto owner = call("GET", "/key-auths/carol-key-1/consumer");
    COMPARE_STATUS(owner, 200);
    QCOMPARE(owner.json().value("username").toString(), QString("carol"));
    COMPARE_STATUS(call("GET", "/consumers/alice/key-auth/carol-key-1"), 404);
    kept_.append({"/key-auths/carol-key-1", chosen.json()});
}

void AdminApiTest::basicAuthPasswordIsStoredHashed() {
    auto consumer = call("POST", "/consumers", R"js({"username":"dave"})js");
    COMPARE_STATUS(consumer, 201);
    auto consumer_id = consumer.json().value("id").toString().toUtf8();
    auto created = call("POST", "/consumers/dave/basic-auth",
                        R"js({"username":"dave-login","password":"s3cret-pass"})js");
    COMPARE_STATUS(created, 201);
    auto expected_hash =
        QCryptographicHash::hash("s3cret-pass" + consumer_id, QCryptographicHash::Sha1).toHex();
    QCOMPARE(created.json().value("password").toString().toUtf8(), expected_hash);
    QVERIFY(!created.body.contains("s3cret-pass"));
    auto read = call("GET", "/basic-auths/dave-login");
    COMPARE_STATUS(read, 200);
    QCOMPARE(read.json().value("password").toString().toUtf8(), expected_hash);

    // A PATCH that leaves the password alone must not hash the hash again.
    auto tagged = call("PATCH", "/consumers/dave/basic-auth/dave-login", R"js({"tags":["p"]})js");
    COMPARE_STATUS(tagged, 200);
    QCOMPARE(tagged.json().value("password").toString().toUtf8(), expected_hash);
    // A PATCH with a new password hashes that one.
    auto changed = call("PATCH", "/basic-auths/dave-login", R"js({"password":"other"})js");
    COMPARE_STATUS(changed, 200);
    QCOMPARE(changed.json().value("password").toString().toUtf8(),
             QCryptographicHash::hash("other" + consumer_id, QCryptographicHash::Sha1).toHex());
    kept_.append({"/basic-auths/dave-login", changed.json()});
}

void AdminApiTest::certificateWithSnis() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto openssl = runCommand(
        "openssl", {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", dir.filePath("key.pem"), "-out", dir.filePath("cert.pem"),
                    "-days", "2", "-subj", "/CN=api.example.com"});
    if (openssl.exit_code != 0) {
        // scripts/install-deps.sh installs openssl: its absence is a broken set-up, not a skip.
        QFAIL(qPrintable("openssl failed: " + QString::fromUtf8(openssl.err)));
    }
    QFile cert_file(dir.filePath("cert.pem"));
    QFile key_file(dir.filePath("key.pem"));
    QVERIFY(cert_file.open(QIODevice::ReadOnly) && key_file.open(QIODevice::ReadOnly));
    QJsonObject input{{"cert", QString::fromUtf8(cert_file.readAll())},
                      {"key", QString::fromUtf8(key_file.readAll())},
                      {"snis", QJsonArray{"www.example.com", "api.example.com"}}};
    auto created = call("POST", "/certificates", compact(input));
    COMPARE_STATUS(created, 201);
    auto certificate = created.json();
    QCOMPARE(compact(certificate.value("snis").toArray()),
             QByteArray(R"js(["api.example.com","www.example.com"])js"));
    auto by_sni = call("GET", "/certificates/api.example.com");
    COMPARE_STATUS(by_sni, 200);
    COMPARE_JSON(by_sni.json(), certificate);
    auto sni = call("GET", "/snis/www.example.com");
    COMPARE_STATUS(sni, 200);
    COMPARE_JSON(sni.json().value("certificate").toObject(),
                 (QJsonObject{{"id", certificate.value("id")}}));
    COMPARE_RESPONSE(call("GET", "/certificates/nope.example.com"), 404,
                     R"js({"message":"SNI not found"})js");
    auto bad = call("POST", "/certificates", R"js({"cert":"not a pem","key":"nope"})js");
    COMPARE_STATUS(bad, 400);
    QCOMPARE(bad.json().value("code").toInt(), 2);
    QVERIFY2(bad.json().value("fields").toObject().contains("cert"), bad.body);
    // The SNI is taken: a second certificate cannot claim it.
    input.insert("snis", QJsonArray{"api.example.com"});
    COMPARE_STATUS(call("POST", "/certificates", compact(input)), 409);
    kept_.append({"/certificates/" + certificate.value("id").toString().toUtf8(), certificate});
}

// ---------------------------------------------------------------------------------------
// Pagination and tags

void AdminApiTest::paginationFollowsNextUntilNull() {
    QSet<QString> created;
    for (int i = 0; i < 5; ++i) {
        auto id = createService("svc-page-" + QByteArray::number(i));
        QVERIFY(!id.isEmpty());
        created.insert(id);
    }
    auto everything = call("GET", "/services?size=1000");
    COMPARE_STATUS(everything, 200);
    QVERIFY(!everything.json().contains("offset"));
    QVERIFY(everything.json().value("next").isNull());
    auto all_ids = idsOf(everything.json().value("data").toArray());
    QVERIFY(all_ids.contains(created));

    auto first = call("GET", "/services?size=2");
    COMPARE_STATUS(first, 200);
    QCOMPARE(first.json().value("data").toArray().size(), 2);
    auto offset = first.json().value("offset").toString();
    QVERIFY(!offset.isEmpty());
    auto next = first.json().value("next").toString();
    static const QRegularExpression next_pattern("^/services\\?offset=([^&]+)&size=2$");
    auto match = next_pattern.match(next);
    QVERIFY2(match.hasMatch(), qPrintable(next));
    QCOMPARE(QUrl::fromPercentEncoding(match.captured(1).toUtf8()), offset);

    QStringList seen;
    for (const auto& item : first.json().value("data").toArray()) {
        seen.append(item.toObject().value("id").toString());
    }
    int pages = 1;
    while (!next.isEmpty()) {
        auto page = call("GET", next.toUtf8());
        COMPARE_STATUS(page, 200);
        auto data = page.json().value("data").toArray();
        QVERIFY2(!data.isEmpty() && data.size() <= 2, page.body);
        for (const auto& item : data) {
            seen.append(item.toObject().value("id").toString());
        }
        auto next_value = page.json().value("next");
        if (next_value.isNull()) {
            QVERIFY(!page.json().contains("offset"));
            next.clear();
        } else {
            QVERIFY(page.json().value("offset").isString());
            next = next_value.toString();
            QVERIFY2(next_pattern.match(next).hasMatch(), qPrintable(next));
        }
        ++pages;
        QVERIFY(pages < 1000);
    }
    QCOMPARE(seen.size(), all_ids.size());  // every id exactly once
    QCOMPARE(toSet(seen), all_ids);
    // No empty trailing page: the page that reaches the end says so.
    QCOMPARE(pages, static_cast<int>((all_ids.size() + 1) / 2));
}

void AdminApiTest::paginationRejectsBadSizeAndOffset() {
    COMPARE_RESPONSE(call("GET", "/services?size=0"), 400,
                     R"js({"code":9,"name":"invalid size",)js"
                     R"js("message":"size must be an integer between 1 and 1000"})js");
    COMPARE_RESPONSE(call("GET", "/services?size=1001"), 400,
                     R"js({"code":9,"name":"invalid size",)js"
                     R"js("message":"size must be an integer between 1 and 1000"})js");
    COMPARE_RESPONSE(call("GET", "/services?size=abc"), 400,
                     R"js({"code":9,"name":"invalid size","message":"size must be a number"})js");
    auto bad_offset = call("GET", "/services?offset=!!not-an-offset!!");
    COMPARE_STATUS(bad_offset, 400);
    QCOMPARE(bad_offset.json().value("code").toInt(), 7);
    QCOMPARE(bad_offset.json().value("name").toString(), QString("invalid offset"));
    QVERIFY2(bad_offset.json().value("message").toString().startsWith(
                 "'!!not-an-offset!!' is not a valid offset: "),
             bad_offset.body);
    // Nested collections check the same way.
    auto nested_size = call("GET", "/services/svc-r/routes?size=abc");
    COMPARE_STATUS(nested_size, 400);
    QCOMPARE(nested_size.json().value("code").toInt(), 9);
    auto nested_offset = call("GET", "/services/svc-r/routes?offset=bogus");
    COMPARE_STATUS(nested_offset, 400);
    QCOMPARE(nested_offset.json().value("code").toInt(), 7);
}

void AdminApiTest::tagsFilterAndListing() {
    auto both = createService("svc-tag-ab", R"js("tags":["tag-a","tag-b"])js");
    auto only_a = createService("svc-tag-a", R"js("tags":["tag-a"])js");
    auto only_b = createService("svc-tag-b", R"js("tags":["tag-b"])js");
    auto only_c = createService("svc-tag-c", R"js("tags":["tag-c"])js");
    QVERIFY(!both.isEmpty() && !only_a.isEmpty() && !only_b.isEmpty() && !only_c.isEmpty());

    auto all_of = call("GET", "/services?tags=tag-a,tag-b");
    COMPARE_STATUS(all_of, 200);
    QCOMPARE(idsOf(all_of.json().value("data").toArray()), (QSet<QString>{both}));
    auto any_of = call("GET", "/services?tags=tag-a/tag-b");
    COMPARE_STATUS(any_of, 200);
    QCOMPARE(idsOf(any_of.json().value("data").toArray()), (QSet<QString>{both, only_a, only_b}));
    auto single = call("GET", "/services?tags=tag-c");
    QCOMPARE(idsOf(single.json().value("data").toArray()), (QSet<QString>{only_c}));

    // Paging keeps the filter.
    auto paged = call("GET", "/services?tags=tag-a/tag-b&size=2");
    COMPARE_STATUS(paged, 200);
    QCOMPARE(paged.json().value("data").toArray().size(), 2);
    auto next = paged.json().value("next").toString();
    QVERIFY2(next.startsWith("/services?offset=") && next.endsWith("&size=2&tags=tag-a%2Ftag-b"),
             qPrintable(next));
    auto rest = call("GET", next.toUtf8());
    COMPARE_STATUS(rest, 200);
    QCOMPARE(rest.json().value("data").toArray().size(), 1);
    QVERIFY(rest.json().value("next").isNull());
    auto paged_ids = idsOf(paged.json().value("data").toArray());
    paged_ids.unite(idsOf(rest.json().value("data").toArray()));
    QCOMPARE(paged_ids, (QSet<QString>{both, only_a, only_b}));

    COMPARE_RESPONSE(call("GET", "/services?tags=tag-a,tag-b/tag-c"), 400,
                     R"js({"code":11,"name":"invalid options",)js"
                     R"js("message":"invalid option (tags: invalid filter syntax)",)js"
                     R"js("options":{"tags":"invalid filter syntax"}})js");
    COMPARE_RESPONSE(call("GET", "/services?tags=a,b,c,d,e,f"), 400,
                     R"js({"code":11,"name":"invalid options",)js"
                     R"js("message":"invalid option (tags: cannot query more than 5 tags)",)js"
                     R"js("options":{"tags":"cannot query more than 5 tags"}})js");
    auto five = call("GET", "/services?tags=a/b/c/d/tag-c");
    COMPARE_STATUS(five, 200);
    QCOMPARE(idsOf(five.json().value("data").toArray()), (QSet<QString>{only_c}));

    auto tags = call("GET", "/tags?size=1000");
    COMPARE_STATUS(tags, 200);
    QVERIFY(tags.json().value("next").isNull());
    bool row_found = false;
    for (const auto& row : tags.json().value("data").toArray()) {
        if (row.toObject() ==
            QJsonObject{{"tag", "tag-c"}, {"entity_name", "services"}, {"entity_id", only_c}}) {
            row_found = true;
        }
    }
    QVERIFY2(row_found, tags.body);
    auto tag_a = call("GET", "/tags/tag-a");
    COMPARE_STATUS(tag_a, 200);
    QSet<QString> tagged;
    for (const auto& row : tag_a.json().value("data").toArray()) {
        QCOMPARE(row.toObject().value("tag").toString(), QString("tag-a"));
        QCOMPARE(row.toObject().value("entity_name").toString(), QString("services"));
        tagged.insert(row.toObject().value("entity_id").toString());
    }
    QCOMPARE(tagged, (QSet<QString>{both, only_a}));
}

// ---------------------------------------------------------------------------------------
// Body encodings

void AdminApiTest::formUrlEncodedBodies() {
    auto service =
        call("POST", "/services", "name=svc-form&host=form.example.com&port=8080&retries=2&path=",
             "application/x-www-form-urlencoded");
    COMPARE_STATUS(service, 201);
    QCOMPARE(service.json().value("port"), QJsonValue(8080));  // a number, not "8080"
    QCOMPARE(service.json().value("retries"), QJsonValue(2));
    QVERIFY(service.json().value("path").isNull());  // an empty value is null
    auto service_id = service.json().value("id").toString().toUtf8();

    auto route = call("POST", "/routes",
                      "name=r-form&hosts[]=a.example.com&hosts[]=b.example.com"
                      "&paths[]=%2Fform&methods=GET&strip_path=false&regex_priority=3"
                      "&headers.x-region=north&service.id=" +
                          service_id,
                      "application/x-www-form-urlencoded");
    COMPARE_STATUS(route, 201);
    auto entity = route.json();
    QCOMPARE(compact(entity.value("hosts").toArray()),
             QByteArray(R"js(["a.example.com","b.example.com"])js"));
    QCOMPARE(compact(entity.value("paths").toArray()), QByteArray(R"js(["/form"])js"));
    QCOMPARE(compact(entity.value("methods").toArray()), QByteArray(R"js(["GET"])js"));
    QCOMPARE(entity.value("strip_path"), QJsonValue(false));
    QCOMPARE(entity.value("regex_priority"), QJsonValue(3));
    COMPARE_JSON(entity.value("headers").toObject(),
                 (QJsonObject{{"x-region", QJsonArray{"north"}}}));
    COMPARE_JSON(entity.value("service").toObject(),
                 (QJsonObject{{"id", QString::fromUtf8(service_id)}}));

    // service.name is resolved as well; a form PATCH.
    auto by_name = call("POST", "/routes", "name=r-form2&paths=/form2&service.name=svc-form",
                        "application/x-www-form-urlencoded");
    COMPARE_STATUS(by_name, 201);
    QCOMPARE(by_name.json().value("service").toObject().value("id").toString().toUtf8(),
             service_id);
    QCOMPARE(compact(by_name.json().value("paths").toArray()), QByteArray(R"js(["/form2"])js"));
    auto patched = call("PATCH", "/services/svc-form", "connect_timeout=1500",
                        "application/x-www-form-urlencoded; charset=utf-8");
    COMPARE_STATUS(patched, 200);
    QCOMPARE(patched.json().value("connect_timeout"), QJsonValue(1500));
    QCOMPARE(patched.json().value("port"), QJsonValue(8080));
}

void AdminApiTest::multipartBody() {
    const QByteArray boundary = "----porticoBoundary7MA4YWxk";
    QByteArray body;
    auto part = [&](const QByteArray& name, const QByteArray& value) {
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
                "\"\r\n\r\n" + value + "\r\n";
    };
    part("name", "svc-multipart");
    part("host", "mp.example.com");
    part("port", "8081");
    part("tags[]", "mp1");
    part("tags[]", "mp2");
    body += "--" + boundary + "--\r\n";
    auto created = call("POST", "/services", body, "multipart/form-data; boundary=" + boundary);
    COMPARE_STATUS(created, 201);
    QCOMPARE(created.json().value("name").toString(), QString("svc-multipart"));
    QCOMPARE(created.json().value("host").toString(), QString("mp.example.com"));
    QCOMPARE(created.json().value("port"), QJsonValue(8081));
    QCOMPARE(compact(created.json().value("tags").toArray()), QByteArray(R"js(["mp1","mp2"])js"));
    kept_.append({"/services/svc-multipart", created.json()});
}

// ---------------------------------------------------------------------------------------
// Node endpoints

void AdminApiTest::rootEndpoint() {
    auto root = call("GET", "/");
    COMPARE_STATUS(root, 200);
    auto body = root.json();
    QVERIFY(!body.value("tagline").toString().isEmpty());
    QVERIFY(!body.value("version").toString().isEmpty());
    QCOMPARE(body.value("edition").toString(), QString("community"));
    QVERIFY(isCanonicalUuid(body.value("node_id").toString()));
    QVERIFY(body.value("configuration").isObject());
    auto plugins = body.value("plugins").toObject();
    QVERIFY(plugins.value("available_on_server").toObject().contains("key-auth"));
    QVERIFY(plugins.value("enabled_in_cluster").isArray());
}

void AdminApiTest::statusReportsDatabaseAndRevision() {
    auto status = call("GET", "/status");
    COMPARE_STATUS(status, 200);
    auto body = status.json();
    // Kong's {reachable}, plus the strategy in use.
    auto database = body.value("database").toObject();
    QCOMPARE(database.value("reachable"), QJsonValue(true));
    QCOMPARE(database.value("strategy").toString(), QString("sqlite"));
    QVERIFY(body.value("server").toObject().contains("total_requests"));
    auto before = body.value("configuration").toObject().value("revision").toInteger(-1);
    QVERIFY2(before > 0, status.body);  // earlier tests wrote
    COMPARE_STATUS(call("POST", "/consumers", R"js({"username":"rev-1"})js"), 201);
    auto after_create = revision();
    QVERIFY2(after_create > before, qPrintable(QString("%1 -> %2").arg(before).arg(after_create)));
    COMPARE_STATUS(call("PATCH", "/consumers/rev-1", R"js({"custom_id":"rev"})js"), 200);
    auto after_patch = revision();
    QVERIFY(after_patch > after_create);
    COMPARE_STATUS(call("DELETE", "/consumers/rev-1"), 204);
    auto after_delete = revision();
    QVERIFY(after_delete > after_patch);
    // Reads and refused writes leave the configuration alone.
    COMPARE_STATUS(call("GET", "/consumers"), 200);
    COMPARE_STATUS(call("POST", "/consumers", R"js({"nope":1})js"), 400);
    COMPARE_STATUS(call("DELETE", "/consumers/rev-1"), 204);  // already gone
    QCOMPARE(revision(), after_delete);
}

// The revision log on the embedded store: GET /config/revisions (newest first, paginated by
// revision), GET /config/revisions/{n} (before and after), POST /config/rollback.
void AdminApiTest::configHistoryAndRollback() {
    COMPARE_STATUS(call("POST", "/consumers", R"js({"username":"hist-1","custom_id":"a"})js"),
                   201);
    const auto created = revision();
    COMPARE_STATUS(call("PATCH", "/consumers/hist-1", R"js({"custom_id":"b"})js"), 200);
    const auto patched = revision();
    COMPARE_STATUS(call("DELETE", "/consumers/hist-1"), 204);
    const auto deleted = revision();

    auto page = call("GET", "/config/revisions?size=2");
    COMPARE_STATUS(page, 200);
    auto body = page.json();
    QCOMPARE(body.value("revision").toInteger(), deleted);
    auto data = body.value("data").toArray();
    QCOMPARE(data.size(), 2);
    auto newest = data[0].toObject();
    QCOMPARE(newest.value("revision").toInteger(), deleted);
    QVERIFY(newest.value("created_at").toDouble() > 0);
    auto change = newest.value("changes").toArray().first().toObject();
    QCOMPARE(change.value("operation").toString(), QString("delete"));
    QCOMPARE(change.value("entity").toString(), QString("consumers"));
    QCOMPARE(change.value("name").toString(), QString("hist-1"));
    QCOMPARE(data[1].toObject().value("revision").toInteger(), patched);
    // The next page starts below: the creation.
    QCOMPARE(body.value("offset").toString(), QString::number(patched - 1));
    auto next = call("GET", body.value("next").toString().toUtf8());
    COMPARE_STATUS(next, 200);
    QCOMPARE(next.json().value("data").toArray().first().toObject().value("revision").toInteger(),
             created);

    auto detail = call("GET", "/config/revisions/" + QByteArray::number(patched));
    COMPARE_STATUS(detail, 200);
    auto patch_change = detail.json().value("changes").toArray().first().toObject();
    QCOMPARE(patch_change.value("operation").toString(), QString("update"));
    QCOMPARE(patch_change.value("before").toObject().value("custom_id").toString(), QString("a"));
    QCOMPARE(patch_change.value("after").toObject().value("custom_id").toString(), QString("b"));
    COMPARE_STATUS(call("GET", "/config/revisions/" + QByteArray::number(deleted + 100)), 404);
    COMPARE_STATUS(call("GET", "/config/revisions/zero"), 404);
    COMPARE_STATUS(call("GET", "/config/revisions?offset=abc"), 400);

    // Back to the state after `patched`: the consumer returns with custom_id b.
    auto rolled = call("POST", "/config/rollback",
                       "{\"revision\":" + QByteArray::number(patched) + "}");
    COMPARE_STATUS(rolled, 201);
    QCOMPARE(rolled.json().value("restored").toInteger(), patched);
    QCOMPARE(rolled.json().value("revision").toInteger(), revision());
    QVERIFY(revision() > deleted);
    auto restored = call("GET", "/consumers/hist-1");
    COMPARE_STATUS(restored, 200);
    QCOMPARE(restored.json().value("custom_id").toString(), QString("b"));
    // The rollback is itself a revision that can be inspected and undone.
    auto undo = call("POST", "/config/rollback",
                     "{\"revision\":" + QByteArray::number(deleted) + "}");
    COMPARE_STATUS(undo, 201);
    COMPARE_STATUS(call("GET", "/consumers/hist-1"), 404);

    // Refused: a revision from the future, a non-number, no body; the configuration stays.
    const auto before_refusals = revision();
    COMPARE_STATUS(call("POST", "/config/rollback", "{\"revision\":999999999}"), 400);
    COMPARE_STATUS(call("POST", "/config/rollback", R"js({"revision":"two"})js"), 400);
    COMPARE_STATUS(call("POST", "/config/rollback", R"js({})js"), 400);
    auto unknown = call("POST", "/config/rollback", R"js({"revision":1,"dry_run":true})js");
    COMPARE_STATUS(unknown, 400);
    QVERIFY2(unknown.json().value("message").toString().contains("dry_run"), unknown.body);
    COMPARE_STATUS(call("GET", "/config/rollback"), 405);
    QCOMPARE(revision(), before_refusals);
}

void AdminApiTest::schemasEndpoints() {
    auto services = call("GET", "/schemas/services");
    COMPARE_STATUS(services, 200);
    auto fields = services.json().value("fields").toArray();
    QVERIFY(!fields.isEmpty());
    QJsonObject host;
    QJsonObject port;
    for (const auto& field : fields) {
        auto object = field.toObject();
        if (object.contains("host")) {
            host = object.value("host").toObject();
        }
        if (object.contains("port")) {
            port = object.value("port").toObject();
        }
    }
    QCOMPARE(host.value("type").toString(), QString("string"));
    QCOMPARE(host.value("required"), QJsonValue(true));
    QCOMPARE(port.value("type").toString(), QString("integer"));
    QCOMPARE(port.value("default"), QJsonValue(80));

    COMPARE_RESPONSE(call("GET", "/schemas/nope"), 404,
                     R"js({"message":"No entity named 'nope'"})js");
    COMPARE_RESPONSE(call("POST", "/schemas/services/validate",
                          R"js({"name":"svc-validated","host":"v.example.com"})js"),
                     200, R"js({"message":"schema validation successful"})js");
    COMPARE_STATUS(call("GET", "/services/svc-validated"), 404);  // nothing was written
    COMPARE_RESPONSE(
        call("POST", "/schemas/services/validate", R"js({"host":"v.example.com","port":"x"})js"),
        400,
        R"js({"code":2,"name":"schema violation",)js"
        R"js("message":"schema violation (port: expected an integer)",)js"
        R"js("fields":{"port":"expected an integer"}})js");
}

// ---------------------------------------------------------------------------------------
// HTTP conveniences: OPTIONS, CORS, HEAD, trailing slash

void AdminApiTest::optionsAnswersAllowedMethods() {
    auto collection = call("OPTIONS", "/services");
    COMPARE_STATUS(collection, 204);
    QVERIFY(collection.body.isEmpty());
    auto allow = collection.headers.value("allow");
    QCOMPARE(toSet(QString::fromUtf8(allow).split(", ")),
             (QSet<QString>{"GET", "HEAD", "OPTIONS", "POST"}));
    QCOMPARE(collection.headers.value("access-control-allow-methods"), allow);
    QVERIFY(collection.headers.contains("access-control-allow-headers"));

    auto item = call("OPTIONS", "/services/svc-a");
    COMPARE_STATUS(item, 204);
    QCOMPARE(toSet(QString::fromUtf8(item.headers.value("allow")).split(", ")),
             (QSet<QString>{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"}));
    COMPARE_STATUS(call("OPTIONS", "/no/such/path"), 404);
}

void AdminApiTest::corsEchoesOrigin() {
    const QByteArray origin = "http://console.example.com";
    auto response = callWith("GET", "/services", {{"Origin", origin}});
    COMPARE_STATUS(response, 200);
    QCOMPARE(response.headers.value("access-control-allow-origin"), origin);
    QCOMPARE(response.headers.value("access-control-allow-credentials"), QByteArray("true"));
    auto preflight = callWith("OPTIONS", "/services",
                              {{"Origin", origin},
                               {"Access-Control-Request-Method", "POST"},
                               {"Access-Control-Request-Headers", "content-type"}});
    COMPARE_STATUS(preflight, 204);
    QCOMPARE(preflight.headers.value("access-control-allow-origin"), origin);
    QCOMPARE(preflight.headers.value("access-control-allow-credentials"), QByteArray("true"));
    QVERIFY(
        preflight.headers.value("access-control-allow-headers").toLower().contains("content-type"));
    // Errors carry the CORS headers too, so that a browser console can read them.
    auto error = callWith("GET", "/services/no-such-service", {{"Origin", origin}});
    COMPARE_STATUS(error, 404);
    QCOMPARE(error.headers.value("access-control-allow-origin"), origin);
}

void AdminApiTest::headIsGetWithoutBody() {
    auto get = call("GET", "/services/svc-a");
    COMPARE_STATUS(get, 200);
    auto raw = rawExchange(gateway_.adminPort(),
                           "HEAD /services/svc-a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: close\r\n\r\n");
    QVERIFY2(raw.startsWith("HTTP/1.1 200"), raw);
    auto header_end = raw.indexOf("\r\n\r\n");
    QVERIFY(header_end > 0);
    QCOMPARE(raw.size(), header_end + 4);  // no body
    QCOMPARE(rawHeader(raw, "Content-Length").toInt(), get.body.size());
    QCOMPARE(rawHeader(raw, "Content-Type"), QByteArray("application/json; charset=utf-8"));
    auto missing = rawExchange(gateway_.adminPort(),
                               "HEAD /services/no-such-service HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Connection: close\r\n\r\n");
    QVERIFY2(missing.startsWith("HTTP/1.1 404"), missing);
}

void AdminApiTest::trailingSlashIsTolerated() {
    auto list = call("GET", "/services/");
    COMPARE_STATUS(list, 200);
    QVERIFY(list.json().value("data").isArray());
    auto item = call("GET", "/services/svc-a/");
    COMPARE_STATUS(item, 200);
    QCOMPARE(item.json().value("name").toString(), QString("svc-a"));
    COMPARE_STATUS(call("POST", "/consumers/", R"js({"username":"slash"})js"), 201);
    COMPARE_STATUS(call("GET", "/consumers/slash/"), 200);
    COMPARE_STATUS(call("GET", "/services/svc-r/routes/"), 200);
}

// ---------------------------------------------------------------------------------------
// More entity behaviour: names in URLs, nested upsert, cascades, plugins, validation texts

void AdminApiTest::escapedNamesInUrls() {
    auto utf8 =
        call("POST", "/services", "{\"name\":\"caf\xc3\xa9-svc\",\"host\":\"cafe.example.com\"}");
    COMPARE_STATUS(utf8, 201);
    auto by_name = call("GET", "/services/caf%C3%A9-svc");
    COMPARE_STATUS(by_name, 200);
    COMPARE_JSON(by_name.json(), utf8.json());

    auto slash = call("POST", "/consumers", R"js({"username":"team/ops","custom_id":"a b"})js");
    COMPARE_STATUS(slash, 201);
    auto by_username = call("GET", "/consumers/team%2Fops");
    COMPARE_STATUS(by_username, 200);
    COMPARE_JSON(by_username.json(), slash.json());
    auto by_custom_id = call("GET", "/consumers?custom_id=a%20b");
    COMPARE_STATUS(by_custom_id, 200);
    QCOMPARE(idsOf(by_custom_id.json().value("data").toArray()),
             (QSet<QString>{slash.json().value("id").toString()}));
    COMPARE_STATUS(call("DELETE", "/consumers/team%2Fops"), 204);
    COMPARE_STATUS(call("GET", "/consumers/" + slash.json().value("id").toString().toUtf8()), 404);
}

void AdminApiTest::nestedPutAndPagination() {
    auto service_id = createService("svc-nest");
    QVERIFY(!service_id.isEmpty());
    auto put = call("PUT", "/services/svc-nest/routes/r-nest-0", R"js({"paths":["/n0"]})js");
    COMPARE_STATUS(put, 200);
    QCOMPARE(put.json().value("name").toString(), QString("r-nest-0"));
    COMPARE_JSON(put.json().value("service").toObject(), (QJsonObject{{"id", service_id}}));
    // The parent in the path wins over one in the body.
    auto other_id = createService("svc-nest-other");
    auto posted = call("POST", "/services/svc-nest/routes",
                       "{\"name\":\"r-nest-1\",\"paths\":[\"/n1\"],\"service\":{\"id\":\"" +
                           other_id.toUtf8() + "\"}}");
    COMPARE_STATUS(posted, 201);
    COMPARE_JSON(posted.json().value("service").toObject(), (QJsonObject{{"id", service_id}}));
    COMPARE_STATUS(
        call("POST", "/services/svc-nest/routes", R"js({"name":"r-nest-2","paths":["/n2"]})js"),
        201);

    auto first = call("GET", "/services/svc-nest/routes?size=2");
    COMPARE_STATUS(first, 200);
    QCOMPARE(first.json().value("data").toArray().size(), 2);
    auto next = first.json().value("next").toString();
    QVERIFY2(next.startsWith("/services/svc-nest/routes?offset=") ||
                 next.startsWith("/services/" + service_id + "/routes?offset="),
             qPrintable(next));
    auto rest = call("GET", next.toUtf8());
    COMPARE_STATUS(rest, 200);
    auto seen = idsOf(first.json().value("data").toArray());
    seen.unite(idsOf(rest.json().value("data").toArray()));
    QCOMPARE(seen.size(), 3);
    QVERIFY(rest.json().value("next").isNull());

    // A parent whose name needs escaping still yields a usable next link.
    auto odd =
        call("POST", "/services", "{\"name\":\"n\xc3\xa9st~svc\",\"host\":\"odd.example.com\"}");
    COMPARE_STATUS(odd, 201);
    for (int i = 0; i < 3; ++i) {
        COMPARE_STATUS(call("POST", "/services/n%C3%A9st~svc/routes",
                            "{\"paths\":[\"/odd" + QByteArray::number(i) + "\"]}"),
                       201);
    }
    auto odd_page = call("GET", "/services/n%C3%A9st~svc/routes?size=2");
    COMPARE_STATUS(odd_page, 200);
    auto odd_next = odd_page.json().value("next").toString().toUtf8();
    for (char c : odd_next) {
        QVERIFY2(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f,
                 odd_next.constData());
    }
    auto odd_rest = call("GET", odd_next);
    COMPARE_STATUS(odd_rest, 200);
    QCOMPARE(odd_rest.json().value("data").toArray().size(), 1);
}

void AdminApiTest::deletesCascadeToChildren() {
    COMPARE_STATUS(call("POST", "/consumers", R"js({"username":"erin"})js"), 201);
    auto credential = call("POST", "/consumers/erin/key-auth", R"js({"key":"erin-key"})js");
    COMPARE_STATUS(credential, 201);
    COMPARE_STATUS(call("DELETE", "/consumers/erin/key-auth/erin-key"), 204);
    COMPARE_STATUS(call("GET", "/key-auths/erin-key"), 404);
    COMPARE_STATUS(call("POST", "/consumers/erin/key-auth", R"js({"key":"erin-key-2"})js"), 201);
    COMPARE_STATUS(call("DELETE", "/consumers/erin"), 204);
    COMPARE_STATUS(call("GET", "/key-auths/erin-key-2"), 404);

    COMPARE_STATUS(call("POST", "/upstreams", R"js({"name":"gone.internal"})js"), 201);
    auto target =
        call("POST", "/upstreams/gone.internal/targets", R"js({"target":"10.9.9.9:80"})js");
    COMPARE_STATUS(target, 201);
    COMPARE_STATUS(call("DELETE", "/upstreams/gone.internal"), 204);
    COMPARE_STATUS(call("GET", "/upstreams/gone.internal"), 404);
    // Re-created with the same name, it starts without targets.
    COMPARE_STATUS(call("POST", "/upstreams", R"js({"name":"gone.internal"})js"), 201);
    COMPARE_RESPONSE(call("GET", "/upstreams/gone.internal/targets"), 200,
                     R"js({"data":[],"next":null})js");
}

void AdminApiTest::upstreamAndTargetValidation() {
    COMPARE_RESPONSE(call("POST", "/upstreams", R"js({"name":"10.0.0.1"})js"), 400,
                     "{\"code\":2,\"name\":\"schema violation\",\"message\":\"schema violation "
                     "(name: Invalid name ('10.0.0.1'); no ip addresses allowed)\",\"fields\":"
                     "{\"name\":\"Invalid name ('10.0.0.1'); no ip addresses allowed\"}}");
    COMPARE_STATUS(call("POST", "/upstreams", R"js({"name":"x.internal","slots":5})js"), 400);
    COMPARE_STATUS(call("POST", "/upstreams", R"js({"name":"x.internal"})js"), 201);
    auto bad_target =
        call("POST", "/upstreams/x.internal/targets", R"js({"target":"not a host!"})js");
    COMPARE_RESPONSE(bad_target, 400,
                     "{\"code\":2,\"name\":\"schema violation\",\"message\":\"schema violation "
                     "(target: Invalid target ('not a host!'); not a valid hostname or ip "
                     "address)\",\"fields\":{\"target\":\"Invalid target ('not a host!'); not a "
                     "valid hostname or ip address\"}}");
    auto heavy = call("POST", "/upstreams/x.internal/targets",
                      R"js({"target":"10.1.1.1","weight":70000})js");
    COMPARE_RESPONSE(heavy, 400,
                     R"js({"code":2,"name":"schema violation",)js"
                     R"js("message":"schema violation (weight: value should be between 0 and )js"
                     R"js(65535)","fields":{"weight":"value should be between 0 and 65535"}})js");
    COMPARE_RESPONSE(call("GET", "/upstreams/x.internal/targets"), 200,
                     R"js({"data":[],"next":null})js");
}

void AdminApiTest::ipv6TargetsByAnySpelling() {
    COMPARE_STATUS(call("POST", "/upstreams", R"js({"name":"v6.internal"})js"), 201);
    auto bare = call("POST", "/upstreams/v6.internal/targets", R"js({"target":"::1"})js");
    COMPARE_STATUS(bare, 201);
    const QString expanded = "[0000:0000:0000:0000:0000:0000:0000:0001]";
    QCOMPARE(bare.json().value("target").toString(), expanded + ":8000");
    auto with_port =
        call("POST", "/upstreams/v6.internal/targets", R"js({"target":"[::1]:8080"})js");
    COMPARE_STATUS(with_port, 201);
    QCOMPARE(with_port.json().value("target").toString(), expanded + ":8080");
    // The same instance spelled differently is still the same target.
    COMPARE_STATUS(call("POST", "/upstreams/v6.internal/targets",
                        R"js({"target":"[0:0:0:0:0:0:0:1]:8080"})js"),
                   409);

    // Looked up by the short spelling, escaped or with raw brackets as curl sends them.
    auto escaped = call("GET", "/upstreams/v6.internal/targets/%5B::1%5D:8080");
    COMPARE_STATUS(escaped, 200);
    COMPARE_JSON(escaped.json(), with_port.json());
    COMPARE_STATUS(call("GET", "/upstreams/v6.internal/targets/::1"), 200);
    COMPARE_STATUS(call("DELETE", "/upstreams/v6.internal/targets/[::1]:8080"), 204);
    COMPARE_STATUS(call("DELETE", "/upstreams/v6.internal/targets/[::1]"), 204);
    COMPARE_RESPONSE(call("GET", "/upstreams/v6.internal/targets"), 200,
                     R"js({"data":[],"next":null})js");
    // A raw UTF-8 name in the path is accepted as well; a broken escape is not.
    COMPARE_STATUS(call("GET", "/services/caf\xc3\xa9-svc"), 200);
    COMPARE_STATUS(call("GET", "/services/%ZZ"), 400);
}

void AdminApiTest::pluginsOnAService() {
    auto service_id = createService("svc-plug");
    QVERIFY(!service_id.isEmpty());
    auto created = call("POST", "/services/svc-plug/plugins",
                        R"js({"name":"key-auth","config":{"key_names":["x-api-key"]}})js");
    COMPARE_STATUS(created, 201);
    auto plugin = created.json();
    QVERIFY(hasSystemFields(plugin));
    COMPARE_JSON(plugin.value("service").toObject(), (QJsonObject{{"id", service_id}}));
    QVERIFY(plugin.value("route").isNull());
    QVERIFY(plugin.value("consumer").isNull());
    QCOMPARE(plugin.value("enabled"), QJsonValue(true));
    QCOMPARE(compact(plugin.value("protocols").toArray()),
             QByteArray(R"js(["grpc","grpcs","http","https"])js"));
    QCOMPARE(compact(plugin.value("config").toObject().value("key_names").toArray()),
             QByteArray(R"js(["x-api-key"])js"));

    auto duplicate = call("POST", "/services/svc-plug/plugins", R"js({"name":"key-auth"})js");
    COMPARE_STATUS(duplicate, 409);
    QCOMPARE(duplicate.json().value("code").toInt(), 5);
    QCOMPARE(duplicate.json().value("message").toString(),
             "UNIQUE violation detected on '{consumer=null,name=\"key-auth\",route=null,"
             "service={id=\"" +
                 service_id + "\"}}'");

    COMPARE_RESPONSE(call("POST", "/plugins", R"js({"name":"no-such-plugin"})js"), 400,
                     "{\"code\":2,\"name\":\"schema violation\",\"message\":\"schema violation "
                     "(name: plugin 'no-such-plugin' not enabled; add it to the 'plugins' "
                     "configuration property)\",\"fields\":{\"name\":\"plugin 'no-such-plugin' "
                     "not enabled; add it to the 'plugins' configuration property\"}}");
    auto listing = call("GET", "/services/svc-plug/plugins");
    COMPARE_STATUS(listing, 200);
    QCOMPARE(idsOf(listing.json().value("data").toArray()),
             (QSet<QString>{plugin.value("id").toString()}));
    auto by_id = call("GET", "/plugins/" + plugin.value("id").toString().toUtf8());
    COMPARE_STATUS(by_id, 200);
    COMPARE_JSON(by_id.json(), plugin);
    // Deleting the service takes its plugins along.
    COMPARE_STATUS(call("DELETE", "/services/svc-plug"), 204);
    COMPARE_STATUS(call("GET", "/plugins/" + plugin.value("id").toString().toUtf8()), 404);
}

void AdminApiTest::tagsPaginationAndErrors() {
    auto tags = call("GET", "/tags?size=1");
    COMPARE_STATUS(tags, 200);
    QCOMPARE(tags.json().value("data").toArray().size(), 1);
    auto next = tags.json().value("next").toString();
    static const QRegularExpression tags_next("^/tags\\?offset=[^&]+&size=1$");
    QVERIFY2(tags_next.match(next).hasMatch(), qPrintable(next));
    auto second = call("GET", next.toUtf8());
    COMPARE_STATUS(second, 200);
    QCOMPARE(second.json().value("data").toArray().size(), 1);
    QVERIFY(second.json().value("data").toArray().first() !=
            tags.json().value("data").toArray().first());
    COMPARE_STATUS(call("GET", "/tags?offset=bogus"), 400);
    COMPARE_RESPONSE(call("GET", "/tags?size=abc"), 400,
                     R"js({"code":9,"name":"invalid size","message":"size must be a number"})js");
    COMPARE_RESPONSE(call("GET", "/tags/no-such-tag"), 200, R"js({"data":[],"next":null})js");
    COMPARE_RESPONSE(call("GET", "/services?tags="), 400,
                     R"js({"code":11,"name":"invalid options",)js"
                     R"js("message":"invalid option (tags: cannot be null)",)js"
                     R"js("options":{"tags":"cannot be null"}})js");
    // Unknown query parameters are ignored.
    COMPARE_STATUS(call("GET", "/services?colour=red"), 200);
}

void AdminApiTest::keepAliveServesSeveralRequests() {
    auto raw = rawExchange(gateway_.adminPort(),
                           "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                           "GET /services/svc-a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                           "GET /services/no-such-service HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: close\r\n\r\n");
    QCOMPARE(raw.count("HTTP/1.1 200 "), 2);
    QCOMPARE(raw.count("HTTP/1.1 404 "), 1);
    QVERIFY(raw.contains("\"name\":\"svc-a\""));
    auto http10 = rawExchange(gateway_.adminPort(), "GET /services/svc-a HTTP/1.0\r\n\r\n");
    QVERIFY2(http10.startsWith("HTTP/1.0 200"), http10);
}

void AdminApiTest::kongWorkedExamplesOfErrors() {
    // kong-compat.md §2.5, byte for byte.
    const QByteArray must_set =
        "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is "
        "'https'";
    COMPARE_RESPONSE(call("POST", "/routes", "{}"), 400,
                     "{\"code\":2,\"name\":\"schema violation\",\"message\":\"schema violation (" +
                         must_set + ")\",\"fields\":{\"@entity\":[\"" + must_set + "\"]}}");
    const QByteArray one_of =
        "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp";
    auto protocols = call("POST", "/routes", R"js({"protocols":["foo","http"],"paths":["/p"]})js");
    COMPARE_STATUS(protocols, 400);
    QCOMPARE(protocols.json().value("message").toString().toUtf8(),
             "schema violation (protocols.1: " + one_of + ")");
    COMPARE_JSON(protocols.json().value("fields").toObject(),
                 (QJsonObject{{"protocols", QJsonArray{QString::fromUtf8(one_of)}}}));
    COMPARE_RESPONSE(
        call("POST", "/routes", R"js({"paths":["/p"],"service":{"protocol":"http"}})js"), 400,
        R"js({"code":2,"name":"schema violation",)js"
        R"js("message":"schema violation (service.id: missing primary key)",)js"
        R"js("fields":{"service":{"id":"missing primary key"}}})js");
    const QByteArray at_least =
        "at least one of these fields must be non-empty: 'custom_id', 'username'";
    COMPARE_RESPONSE(call("POST", "/consumers", R"js({"tags":["x"]})js"), 400,
                     "{\"code\":2,\"name\":\"schema violation\",\"message\":\"schema violation (" +
                         at_least + ")\",\"fields\":{\"@entity\":[\"" + at_least + "\"]}}");
    COMPARE_RESPONSE(call("POST", "/routes", R"js({"paths":["nope"]})js"), 400,
                     R"js({"code":2,"name":"schema violation",)js"
                     R"js("message":"schema violation (paths.1: should start with: / (fixed )js"
                     R"js(path) or ~/ (regex path))",)js"
                     R"js("fields":{"paths":["should start with: / (fixed path) or ~/ )js"
                     R"js((regex path)"]}})js");
}

void AdminApiTest::duplicateIdOnCreateIs400() {
    auto id = call("GET", "/services/svc-a").json().value("id").toString().toUtf8();
    QVERIFY(!id.isEmpty());
    auto response =
        call("POST", "/services", "{\"id\":\"" + id + "\",\"host\":\"dup-id.example.com\"}");
    COMPARE_STATUS(response, 400);
    QCOMPARE(response.json().value("code").toInt(), 3);
    QCOMPARE(response.json().value("name").toString(), QString("primary key violation"));
    QCOMPARE(call("GET", "/services/svc-a").json().value("host").toString(),
             QString("a.example.com"));
}

void AdminApiTest::contentTypeVariants() {
    auto with_charset =
        call("POST", "/consumers", R"js({"username":"ct-1"})js", "application/json; charset=utf-8");
    COMPARE_STATUS(with_charset, 201);
    auto upper = call("POST", "/consumers", R"js({"username":"ct-2"})js", "Application/JSON");
    COMPARE_STATUS(upper, 201);
    // An empty JSON body is an empty object.
    COMPARE_STATUS(call("PATCH", "/consumers/ct-1", ""), 200);
    // PUT by username and PATCH of a route's service by name.
    auto put = call("PUT", "/consumers/ct-3", R"js({"custom_id":"ct-3-id"})js");
    COMPARE_STATUS(put, 200);
    QCOMPARE(put.json().value("username").toString(), QString("ct-3"));
    auto route = call("PATCH", "/routes/r-free", R"js({"service":{"name":"svc-a"}})js");
    COMPARE_STATUS(route, 200);
    QCOMPARE(route.json().value("service").toObject().value("id"),
             call("GET", "/services/svc-a").json().value("id"));
    auto cleared = call("PATCH", "/routes/r-free", R"js({"service":null})js");
    COMPARE_STATUS(cleared, 200);
    QVERIFY(cleared.json().value("service").isNull());
}

void AdminApiTest::nodeListings() {
    auto endpoints = call("GET", "/endpoints");
    COMPARE_STATUS(endpoints, 200);
    QStringList paths;
    for (const auto& path : endpoints.json().value("data").toArray()) {
        paths.append(path.toString());
    }
    for (const char* expected : {"/services", "/services/{services}/routes", "/upstreams",
                                 "/upstreams/{upstreams}/targets", "/tags", "/status"}) {
        QVERIFY2(paths.contains(expected), expected);
    }
    QVERIFY(!paths.contains("/targets"));
    auto all_targets = call("GET", "/upstreams/billing.internal/targets/all");
    COMPARE_STATUS(all_targets, 200);
    QCOMPARE(all_targets.json().value("data").toArray().size(), 2);
}

// ---------------------------------------------------------------------------------------
// Bad input, one kind per test

void AdminApiTest::unparsableJsonIs400() {
    COMPARE_RESPONSE(call("POST", "/services", R"js({"name":"svc-bad-json","host":)js"), 400,
                     R"js({"message":"Cannot parse JSON body"})js");
    COMPARE_RESPONSE(call("PATCH", "/services/svc-a", "not json at all"), 400,
                     R"js({"message":"Cannot parse JSON body"})js");
    COMPARE_STATUS(call("GET", "/services/svc-bad-json"), 404);
}

void AdminApiTest::unknownFieldIs400() {
    COMPARE_RESPONSE(call("POST", "/services",
                          R"js({"name":"svc-unknown","host":"u.example.com","colour":"red"})js"),
                     400,
                     R"js({"code":2,"name":"schema violation",)js"
                     R"js("message":"schema violation (colour: unknown field)",)js"
                     R"js("fields":{"colour":"unknown field"}})js");
    COMPARE_STATUS(call("GET", "/services/svc-unknown"), 404);
}

void AdminApiTest::wrongTypeAndOutOfRangeAreEachNamed() {
    COMPARE_RESPONSE(
        call("POST", "/services",
             R"js({"name":"svc-types","host":"t.example.com","port":"80a","retries":40000})js"),
        400,
        R"js({"code":2,"name":"schema violation",)js"
        R"js("message":"2 schema violations (port: expected an integer; )js"
        R"js(retries: value should be between 0 and 32767)",)js"
        R"js("fields":{"port":"expected an integer",)js"
        R"js("retries":"value should be between 0 and 32767"}})js");
    COMPARE_RESPONSE(call("POST", "/services", R"js({"connect_timeout":"soon"})js"), 400,
                     R"js({"code":2,"name":"schema violation",)js"
                     R"js("message":"2 schema violations (connect_timeout: expected an )js"
                     R"js(integer; host: required field missing)",)js"
                     R"js("fields":{"connect_timeout":"expected an integer",)js"
                     R"js("host":"required field missing"}})js");
    COMPARE_RESPONSE(call("PATCH", "/services/svc-a", R"js({"port":70000})js"), 400,
                     R"js({"code":2,"name":"schema violation",)js"
                     R"js("message":"schema violation (port: value should be between 0 )js"
                     R"js(and 65535)","fields":{"port":"value should be between 0 and )js"
                     R"js(65535"}})js");
    COMPARE_STATUS(call("GET", "/services/svc-types"), 404);
    QCOMPARE(call("GET", "/services/svc-a").json().value("port").toInteger(), 80);
}

void AdminApiTest::bodyOverOneMebibyteIs413() {
    const int size = 1024 * 1024 + 4096;
    // Announced with Expect: 100-continue: refused before the body is sent.
    auto announced = rawRequest(gateway_.adminPort(),
                                "POST /services HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Type: application/json\r\nContent-Length: " +
                                    QByteArray::number(size) +
                                    "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    COMPARE_STATUS(announced, 413);
    QVERIFY(announced.headers.value("server").startsWith("portico/"));
    QCOMPARE(announced.headers.value("access-control-allow-origin"), QByteArray("*"));
    // Sent in full.
    QByteArray big = R"js({"name":"svc-big","host":"big.example.com","tags":[")js" +
                     QByteArray(size, 'x') + "\"]}";
    auto sent = call("POST", "/services", big);
    COMPARE_STATUS(sent, 413);
    QVERIFY(!sent.json().value("message").toString().isEmpty());
    COMPARE_STATUS(call("GET", "/services/svc-big"), 404);
}

void AdminApiTest::unsupportedContentTypeIs415() {
    auto response = call("POST", "/services", "name=svc-text&host=x.example.com", "text/plain");
    COMPARE_STATUS(response, 415);
    QVERIFY(!response.json().value("message").toString().isEmpty());
    COMPARE_STATUS(call("GET", "/services/svc-text"), 404);
}

void AdminApiTest::twoContentTypeHeadersAre400() {
    QByteArray body = R"js({"name":"svc-two-ct","host":"x.example.com"})js";
    auto response =
        rawRequest(gateway_.adminPort(),
                   "POST /services HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n"
                   "Content-Length: " +
                       QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    COMPARE_STATUS(response, 400);
    QCOMPARE(response.body, QByteArray("Multiple Content-Type headers not allowed"));
    COMPARE_STATUS(call("GET", "/services/svc-two-ct"), 404);
}

void AdminApiTest::unknownPathIs404() {
    COMPARE_RESPONSE(call("GET", "/no-such-thing"), 404, R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("POST", "/no-such-thing", "{}"), 404, R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("GET", "/services/svc-a/no-such-child"), 404,
                     R"js({"message":"Not found"})js");
    COMPARE_RESPONSE(call("GET", "/services/svc-r/routes/r1/service/extra"), 404,
                     R"js({"message":"Not found"})js");
}

void AdminApiTest::wrongMethodIs405() {
    COMPARE_RESPONSE(call("DELETE", "/services"), 405, R"js({"message":"Method not allowed"})js");
    COMPARE_RESPONSE(call("PUT", "/services", "{}"), 405,
                     R"js({"message":"Method not allowed"})js");
    COMPARE_RESPONSE(call("POST", "/services/svc-a", "{}"), 405,
                     R"js({"message":"Method not allowed"})js");
    COMPARE_RESPONSE(call("POST", "/status"), 405, R"js({"message":"Method not allowed"})js");
    COMPARE_STATUS(call("GET", "/services/svc-a"), 200);
}

void AdminApiTest::duplicateUniqueNameIs409() {
    COMPARE_RESPONSE(call("POST", "/services", R"js({"name":"svc-a","host":"dup.example.com"})js"),
                     409,
                     R"js({"code":5,"name":"unique constraint violation",)js"
                     R"js("message":"UNIQUE violation detected on '{name=\"svc-a\"}'",)js"
                     R"js("fields":{"name":"svc-a"}})js");
    COMPARE_RESPONSE(call("POST", "/consumers", R"js({"username":"alice"})js"), 409,
                     R"js({"code":5,"name":"unique constraint violation",)js"
                     R"js("message":"UNIQUE violation detected on '{username=\"alice\"}'",)js"
                     R"js("fields":{"username":"alice"}})js");
    // Renaming onto a taken name is the same violation, and changes nothing.
    COMPARE_STATUS(call("PATCH", "/services/svc-patch", R"js({"name":"svc-a"})js"), 409);
    QCOMPARE(call("GET", "/services/svc-a").json().value("host").toString(),
             QString("a.example.com"));
}

void AdminApiTest::deletingAReferencedServiceIs400() {
    COMPARE_RESPONSE(call("DELETE", "/services/svc-r"), 400,
                     R"js({"code":4,"name":"foreign key violation",)js"
                     R"js("message":"an existing 'routes' entity references this )js"
                     R"js('services' entity","fields":{"@referenced_by":"routes"}})js");
    COMPARE_STATUS(call("GET", "/services/svc-r"), 200);
    COMPARE_STATUS(call("GET", "/routes/r1"), 200);
}

void AdminApiTest::routeWithMissingServiceIs400() {
    COMPARE_RESPONSE(
        call("POST", "/routes",
             R"js({"name":"r-orphan","paths":["/o"],"service":{"name":"non-existing"}})js"),
        400,
        R"js({"code":13,"name":"foreign keys unresolved",)js"
        R"js("message":"foreign key unresolved (service.name: the foreign key cannot be )js"
        R"js(resolved with '{name=\"non-existing\"}' for an existing 'services' entity)",)js"
        R"js("fields":{"service":{"name":"the foreign key cannot be resolved with )js"
        R"js('{name=\"non-existing\"}' for an existing 'services' entity"}}})js");
    const QByteArray missing_id = "4b2b3b7c-8a4e-4c5f-9d7e-1a2b3c4d5e6f";
    COMPARE_RESPONSE(call("POST", "/routes",
                          R"js({"name":"r-orphan","paths":["/o"],"service":{"id":")js" +
                              missing_id + R"js("}})js"),
                     400,
                     R"js({"code":4,"name":"foreign key violation",)js"
                     R"js("message":"the foreign key '{id=\")js" +
                         missing_id +
                         R"js(\"}' does not reference an existing 'services' entity.",)js"
                         R"js("fields":{"service":{"id":")js" +
                         missing_id + R"js("}}})js");
    COMPARE_STATUS(call("GET", "/routes/r-orphan"), 404);
}

void AdminApiTest::malformedHttpIs400AndTheProcessKeepsServing() {
    auto garbage = rawExchange(gateway_.adminPort(), "THIS IS NOT HTTP\r\n\r\n");
    QVERIFY2(garbage.startsWith("HTTP/1.1 400"), garbage);
    auto bad_length = rawExchange(gateway_.adminPort(),
                                  "POST /services HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: twelve\r\n\r\n{}");
    QVERIFY2(bad_length.startsWith("HTTP/1.1 400"), bad_length);
    auto binary = rawExchange(gateway_.adminPort(), QByteArray("\x16\x03\x01\x00\xff\x01\x00", 7) +
                                                        QByteArray(64, '\0') + "\r\n\r\n");
    QVERIFY2(binary.isEmpty() || binary.startsWith("HTTP/1.1 400"), binary);
    QVERIFY(gateway_.running());
    COMPARE_STATUS(call("GET", "/status"), 200);
}

void AdminApiTest::chunkedBodyOverOneMebibyteIs413() {
    QByteArray raw =
        "POST /services HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    const QByteArray chunk(64 * 1024, ' ');
    for (int i = 0; i < 17; ++i) {
        raw += QByteArray::number(chunk.size(), 16) + "\r\n" + chunk + "\r\n";
    }
    raw += "0\r\n\r\n";
    COMPARE_STATUS(rawRequest(gateway_.adminPort(), raw), 413);
    QVERIFY(gateway_.running());
}

void AdminApiTest::changingTheIdIs400() {
    auto response = call("PATCH", "/services/svc-a", "{\"id\":\"" + newUuid() + "\"}");
    COMPARE_STATUS(response, 400);
    QCOMPARE(response.json().value("code").toInt(), 2);
    QVERIFY2(response.json().value("fields").toObject().contains("id"), response.body);
    COMPARE_STATUS(call("GET", "/services/svc-a"), 200);
}

// Must stay last: all of the above left the process and the store intact.
void AdminApiTest::processSurvivedAndNothingWasLost() {
    QVERIFY2(gateway_.running(), qPrintable(gateway_.output()));
    QVERIFY(kept_.size() >= 10);
    for (const auto& [path, expected] : kept_) {
        auto read = call("GET", path);
        QVERIFY2(read.status == 200, path.constData());
        COMPARE_JSON(read.json(), expected);
    }
    auto status = call("GET", "/status");
    COMPARE_STATUS(status, 200);
    QCOMPARE(status.json().value("database").toObject().value("reachable"), QJsonValue(true));
}

QTEST_GUILESS_MAIN(AdminApiTest)
#include "test_admin_api.moc"
