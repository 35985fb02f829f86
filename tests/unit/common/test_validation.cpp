// Unit tests of validateEntity (Kong's messages, defaults, shorthands, entity checks),
// mergePatch and formToJson. Time and ids are injected so outputs are exact.

#include "common/formats.hpp"
#include "common/validation.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <QFile>
#include <QtTest>

#include <algorithm>

namespace json = boost::json;
using namespace portico::schema;

namespace {

constexpr double kNow = 1700000000.5;
const char* const kId = "11111111-1111-4111-8111-111111111111";

// Test PEMs generated for Portico's tests with the openssl CLI (P-256 keys, 100-year validity).
// kCaCert (CA:TRUE) belongs to kCaKey; kLeafCert (CA:FALSE) belongs to kLeafKey.
const char* const kCaKey = R"j(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfe/0kuXHvT9N5RVy
mn90yh7XpSzLVH1PO4EKR1s5xXehRANCAATONI6k5qnDl/cRga4DK3Mtg306hTzH
vzfUgFg4Rs0b0/W1ReVHw4MzduQBT4HUr3ufEIJqtE06ROBjFX7IDzgV
-----END PRIVATE KEY-----
)j";
const char* const kCaCert = R"j(-----BEGIN CERTIFICATE-----
MIIBjDCCATGgAwIBAgIUW97Q8Qj1mAgX5U1m6TZk2WLT5fowCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPcG9ydGljby10ZXN0LWNhMCAXDTI2MTEyNjE3MDIzM1oYDzIx
MjYxMTAyMTcwMjMzWjAaMRgwFgYDVQQDDA9wb3J0aWNvLXRlc3QtY2EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATONI6k5qnDl/cRga4DK3Mtg306hTzHvzfUgFg4
Rs0b0/W1ReVHw4MzduQBT4HUr3ufEIJqtE06ROBjFX7IDzgVo1MwUTAdBgNVHQ4E
FgQUPO7ktwW12W2llHAcHgxaM8BUDvEwHwYDVR0jBBgwFoAUPO7ktwW12W2llHAc
HgxaM8BUDvEwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA53VU
iDf6MwIZBIcZ1rnJk4sX/pEK1Bc8bQgtvi/QNOYCIQCeVP1P/9fhI6DyL4nnLIVY
SOIY7b7PjzYnZOC2n6Zn9g==
-----END CERTIFICATE-----
)j";
// sha256 of kCaCert's DER encoding (openssl x509 -outform DER | sha256sum).
const char* const kCaCertDigest =
    "d9bfc6547baeb06db41fe03627ad2cf1ee2d74820b84c1dc5ba2705ad213cb3d";
const char* const kLeafKey = R"j(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8OESLMaNXQDp51tH
nxpt8S+Qme0AhwUtnVlsmdeQ7jOhRANCAAQRFmL+x6PCkdviayuBmCnKhmVGQCFH
qxmQh54YTOg/VCasx+za28VMVkl9BdXZRFQeJQXfaOcQtr6/C569U7XU
-----END PRIVATE KEY-----
)j";
const char* const kLeafCert = R"j(-----BEGIN CERTIFICATE-----
MIIBezCCASKgAwIBAgIUHdZgzMb713XfpBMpnxEV2Lnnm7wwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbGVhZi50ZXN0MCAXDTI2MTEyNjE3MDIzM1oYDzIxMjYxMTAy
MTcwMjMzWjAUMRIwEAYDVQQDDAlsZWFmLnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQRFmL+x6PCkdviayuBmCnKhmVGQCFHqxmQh54YTOg/VCasx+za28VM
Vkl9BdXZRFQeJQXfaOcQtr6/C569U7XUo1AwTjAdBgNVHQ4EFgQUeOI3UQYsMif8
xaZBW6R2O+CThgEwHwYDVR0jBBgwFoAUeOI3UQYsMif8xaZBW6R2O+CThgEwDAYD
VR0TAQH/BAIwADAKBggqhkjOPQQDAgNHADBEAiAEUHDaiLuSBeY5TymE2gU9cpO2
WzMHBwyt8J1Kd0DmKAIgDvoe4zuYAyoKhEInw8vOGO5PxOwEhrdrL+UvjdFG0bw=
-----END CERTIFICATE-----
)j";

const char* const kConsumerRef = R"j({"id":"4e3ad2e4-0bc4-4638-8e34-c84a417ba39b"})j";

QString text(const json::value& v) { return QString::fromStdString(json::serialize(v)); }
json::value parse(const QString& s) { return json::parse(s.toStdString()); }

#define COMPARE_JSON(actual, expected)                                                         \
    do {                                                                                       \
        const json::value a_ = (actual);                                                       \
        const json::value e_ = (expected);                                                     \
        if (a_ != e_) {                                                                        \
            QFAIL(qPrintable(QStringLiteral("JSON differs\n  actual:   %1\n  expected: %2")  \
                                 .arg(text(a_), text(e_))));                                   \
        }                                                                                      \
    } while (false)

ValidateOptions fixed(double now = kNow) {
    ValidateOptions o;
    o.now = [now] { return now; };
    o.new_id = [] { return std::string(kId); };
    return o;
}

portico::common::ApiResult<json::object> run(const QString& entity, const QString& input,
                                             const ValidateOptions& options = fixed()) {
    const auto* schema = findSchema(entity.toStdString());
    if (schema == nullptr) {
        qFatal("unknown entity %s", qPrintable(entity));
    }
    return validateEntity(*schema, parse(input).as_object(), options);
}

// "" when valid, else the error's message.
QString messageOf(const portico::common::ApiResult<json::object>& r) {
    return r ? QString() : QString::fromStdString(r.error().message);
}

// Text of a collected Kong fixture (shared/fixtures/kong-declarative, never edited).
std::string fixtureText(const char* name) {
    QFile file(QStringLiteral(PORTICO_FIXTURES_DIR "/") + QLatin1String(name));
    if (!file.open(QIODevice::ReadOnly)) {
        qFatal("cannot open fixture %s", qPrintable(file.fileName()));
    }
    return file.readAll().toStdString();
}

// The PEM text of a YAML block scalar in `text`, from the first `begin` marker to the last `end`
// marker, each line unindented.
std::string pemIn(const std::string& text, std::string_view begin, std::string_view end) {
    const auto first = text.find(begin);
    const auto last = text.rfind(end);
    if (first == std::string::npos || last == std::string::npos || last < first) {
        qFatal("PEM markers not found");
    }
    std::string pem;
    std::size_t pos = first;
    while (pos < last + end.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            nl = text.size();
        }
        const auto line = text.substr(pos, nl - pos);
        pem += line.substr(std::min(line.find_first_not_of(' '), line.size())) + "\n";
        pos = nl + 1;
    }
    return pem;
}

QString jsonText(const json::object& object) {
    return QString::fromStdString(json::serialize(object));
}

// "paths.2" from {"paths", "2"}; "" for the entity itself.
QString dotted(const std::vector<std::string>& path) {
    QStringList parts;
    for (const auto& segment : path) {
        parts << QString::fromStdString(segment);
    }
    return parts.join('.');
}

QString jsonWith(QString base, const QString& key, const QString& value) {
    base.chop(1);
    return base + (base.size() > 1 ? "," : "") + "\"" + key + "\":" + value + "}";
}

}  // namespace

class TestValidation : public QObject {
    Q_OBJECT

private slots:
    // Every worked example of kong-compat.md §2.5 that validation produces, byte for byte.
    void kongWorkedExamples_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("body");
        QTest::newRow("POST /routes empty body")
            << "routes" << "{}"
            << R"j({"code":2,"name":"schema violation","message":"schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')","fields":{"@entity":["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"]}})j";
        QTest::newRow("POST /routes protocols foo")
            << "routes" << R"j({"protocols":["foo","http"]})j"
            << R"j({"code":2,"name":"schema violation","message":"schema violation (protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)","fields":{"protocols":["expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"]}})j";
        QTest::newRow("POST /services missing host, bad timeout")
            << "services" << R"j({"name":"svc","connect_timeout":"abc"})j"
            << R"j({"code":2,"name":"schema violation","message":"2 schema violations (connect_timeout: expected an integer; host: required field missing)","fields":{"connect_timeout":"expected an integer","host":"required field missing"}})j";
        QTest::newRow("POST /routes service without primary key")
            << "routes" << R"j({"paths":["/"],"service":{"protocol":"http"}})j"
            << R"j({"code":2,"name":"schema violation","message":"schema violation (service.id: missing primary key)","fields":{"service":{"id":"missing primary key"}}})j";
        QTest::newRow("route snis on http (Kong's DAO test)")
            << "routes" << R"j({"protocols":["http"],"snis":["example.com"]})j"
            << R"j({"code":2,"name":"schema violation","message":"3 schema violations ('snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'; must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'; snis: length must be 0)","fields":{"@entity":["'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'","must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"],"snis":"length must be 0"}})j";
        QTest::newRow("jwt RS256 without key (Kong's API test)")
            << "jwt_secrets"
            << QString(R"j({"key":"bob5","algorithm":"RS256","consumer":%1})j").arg(kConsumerRef)
            << R"j({"code":2,"name":"schema violation","message":"2 schema violations (failed conditional validation given value of field 'algorithm'; rsa_public_key: required field missing)","fields":{"rsa_public_key":"required field missing","@entity":["failed conditional validation given value of field 'algorithm'"]}})j";
        QTest::newRow("tcp service with a path")
            << "services" << R"j({"protocol":"tcp","host":"db","port":5432,"path":"/x"})j"
            << R"j({"code":2,"name":"schema violation","message":"2 schema violations (failed conditional validation given value of field 'protocol'; path: value must be null)","fields":{"path":"value must be null","@entity":["failed conditional validation given value of field 'protocol'"]}})j";
        QTest::newRow("consumer without username or custom_id")
            << "consumers" << R"j({"tags":["a"]})j"
            << R"j({"code":2,"name":"schema violation","message":"schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')","fields":{"@entity":["at least one of these fields must be non-empty: 'custom_id', 'username'"]}})j";
    }
    void kongWorkedExamples() {
        QFETCH(QString, entity);
        QFETCH(QString, input);
        QFETCH(QString, body);
        const auto result = run(entity, input);
        QVERIFY(!result);
        QCOMPARE(result.error().http_status, 400);
        COMPARE_JSON(result.error().toJson(), parse(body));
    }

    // --- defaults -------------------------------------------------------------------------------

    void minimalEntityDefaults_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("output");
        QTest::newRow("service")
            << "services" << R"j({"host":"example.com"})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000,"updated_at":1700000000,"name":null,"retries":5,"protocol":"http","host":"example.com","port":80,"path":null,"connect_timeout":60000,"write_timeout":60000,"read_timeout":60000,"tags":null,"client_certificate":null,"tls_verify":null,"tls_verify_depth":null,"ca_certificates":null,"enabled":true})j";
        QTest::newRow("route")
            << "routes" << R"j({"paths":["/orders"]})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000,"updated_at":1700000000,"name":null,"protocols":["http","https"],"methods":null,"hosts":null,"paths":["/orders"],"headers":null,"https_redirect_status_code":426,"regex_priority":0,"strip_path":true,"path_handling":"v0","preserve_host":false,"request_buffering":true,"response_buffering":true,"snis":null,"sources":null,"destinations":null,"tags":null,"service":null})j";
        QTest::newRow("consumer")
            << "consumers" << R"j({"username":"alice"})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000,"updated_at":1700000000,"username":"alice","custom_id":null,"tags":null})j";
        QTest::newRow("plugin")
            << "plugins" << R"j({"name":"key-auth"})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","name":"key-auth","instance_name":null,"created_at":1700000000,"updated_at":1700000000,"route":null,"service":null,"consumer":null,"config":{},"protocols":["grpc","grpcs","http","https"],"enabled":true,"tags":null})j";
        QTest::newRow("target (milliseconds)")
            << "targets" << R"j({"target":"10.0.0.11","upstream":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000500,"updated_at":1700000000500,"upstream":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"},"target":"10.0.0.11:8000","weight":100,"tags":null})j";
        QTest::newRow("upstream with the full healthchecks tree")
            << "upstreams" << R"j({"name":"orders-upstream"})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000,"updated_at":1700000000,"name":"orders-upstream","algorithm":"round-robin","hash_on":"none","hash_fallback":"none","hash_on_header":null,"hash_fallback_header":null,"hash_on_cookie":null,"hash_on_cookie_path":"/","hash_on_query_arg":null,"hash_fallback_query_arg":null,"hash_on_uri_capture":null,"hash_fallback_uri_capture":null,"slots":10000,
               "healthchecks":{"threshold":0,
                 "active":{"type":"http","timeout":1,"concurrency":10,"http_path":"/","https_sni":null,"https_verify_certificate":true,"headers":null,
                   "healthy":{"interval":0,"http_statuses":[200,302],"successes":0},
                   "unhealthy":{"interval":0,"http_statuses":[429,404,500,501,502,503,504,505],"tcp_failures":0,"timeouts":0,"http_failures":0}},
                 "passive":{"type":"http",
                   "healthy":{"http_statuses":[200,201,202,203,204,205,206,207,208,226,300,301,302,303,304,305,306,307,308],"successes":0},
                   "unhealthy":{"http_statuses":[429,500,503],"tcp_failures":0,"timeouts":0,"http_failures":0}}},
               "tags":null,"host_header":null,"client_certificate":null,"use_srv_name":false})j";
        QTest::newRow("partial healthchecks keep the other defaults")
            << "upstreams"
            << R"j({"name":"u","healthchecks":{"passive":{"unhealthy":{"http_failures":3}},"threshold":25}})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000,"updated_at":1700000000,"name":"u","algorithm":"round-robin","hash_on":"none","hash_fallback":"none","hash_on_header":null,"hash_fallback_header":null,"hash_on_cookie":null,"hash_on_cookie_path":"/","hash_on_query_arg":null,"hash_fallback_query_arg":null,"hash_on_uri_capture":null,"hash_fallback_uri_capture":null,"slots":10000,
               "healthchecks":{"threshold":25,
                 "active":{"type":"http","timeout":1,"concurrency":10,"http_path":"/","https_sni":null,"https_verify_certificate":true,"headers":null,
                   "healthy":{"interval":0,"http_statuses":[200,302],"successes":0},
                   "unhealthy":{"interval":0,"http_statuses":[429,404,500,501,502,503,504,505],"tcp_failures":0,"timeouts":0,"http_failures":0}},
                 "passive":{"type":"http",
                   "healthy":{"http_statuses":[200,201,202,203,204,205,206,207,208,226,300,301,302,303,304,305,306,307,308],"successes":0},
                   "unhealthy":{"http_statuses":[429,500,503],"tcp_failures":0,"timeouts":0,"http_failures":3}}},
               "tags":null,"host_header":null,"client_certificate":null,"use_srv_name":false})j";
        QTest::newRow("snis")
            << "snis" << R"j({"name":"*.example.com","certificate":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j"
            << R"j({"id":"11111111-1111-4111-8111-111111111111","name":"*.example.com","created_at":1700000000,"updated_at":1700000000,"tags":null,"certificate":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j";
        QTest::newRow("acl")
            << "acls" << QString(R"j({"group":"admins","consumer":%1})j").arg(kConsumerRef)
            << QString(R"j({"id":"11111111-1111-4111-8111-111111111111","created_at":1700000000,"consumer":%1,"group":"admins","tags":null})j")
                   .arg(kConsumerRef);
    }
    void minimalEntityDefaults() {
        QFETCH(QString, entity);
        QFETCH(QString, input);
        QFETCH(QString, output);
        const auto result = run(entity, input);
        QVERIFY2(result.has_value(), qPrintable(messageOf(result)));
        COMPARE_JSON(*result, parse(output));
        // Every schema field is present, in schema order (transient inputs aside).
        const auto* schema = findSchema(entity.toStdString());
        std::size_t i = 0;
        for (const auto& kv : *result) {
            while (i < schema->fields.size() && schema->fields[i].transient) {
                ++i;
            }
            QVERIFY(i < schema->fields.size());
            QCOMPARE(QString::fromStdString(std::string(kv.key())),
                     QString::fromStdString(schema->fields[i].name));
            ++i;
        }
    }

    // --- service url shorthand ------------------------------------------------------------------

    void serviceUrl_data() {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("protocol");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QString>("path");  // "null" for null
        QTest::newRow("http") << "http://example.com" << "http" << "example.com" << 80 << "null";
        QTest::newRow("https default port") << "https://example.com/api" << "https"
                                            << "example.com" << 443 << "/api";
        QTest::newRow("explicit port and query") << "http://example.com:8080/a/b?x=1#f" << "http"
                                                 << "example.com" << 8080 << "/a/b";
        QTest::newRow("no scheme, port 443") << "example.com:443" << "https" << "example.com"
                                             << 443 << "null";
        QTest::newRow("no scheme, other port") << "example.com:8443" << "http" << "example.com"
                                               << 8443 << "null";
        QTest::newRow("scheme wins over port") << "http://example.com:443" << "http"
                                               << "example.com" << 443 << "null";
        QTest::newRow("grpc") << "grpc://svc.internal:50051" << "grpc" << "svc.internal" << 50051
                              << "null";
        QTest::newRow("tcp defaults to 80") << "tcp://db.internal" << "tcp" << "db.internal" << 80
                                            << "null";
        QTest::newRow("userinfo dropped") << "https://u:p@example.com/x" << "https"
                                          << "example.com" << 443 << "/x";
        QTest::newRow("upper-case scheme") << "HTTPS://example.com" << "https" << "example.com"
                                           << 443 << "null";
    }
    void serviceUrl() {
        QFETCH(QString, url);
        QFETCH(QString, protocol);
        QFETCH(QString, host);
        QFETCH(int, port);
        QFETCH(QString, path);
        const auto result = run("services", QString(R"j({"url":"%1"})j").arg(url));
        QVERIFY2(result.has_value(), qPrintable(messageOf(result)));
        QCOMPARE(QString::fromStdString(std::string(result->at("protocol").as_string())), protocol);
        QCOMPARE(QString::fromStdString(std::string(result->at("host").as_string())), host);
        QCOMPARE(result->at("port").as_int64(), port);
        QCOMPARE(text(result->at("path")), path == "null" ? path : "\"" + path + "\"");
        QVERIFY2(!result->contains("url"), "the shorthand is not stored");
    }

    void serviceUrlErrors_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("message");
        QTest::newRow("no host") << R"j({"url":"http:///path"})j"
                                 << "schema violation (host: required field missing)";
        QTest::newRow("bad host") << R"j({"url":"http://exa_mple com"})j"
                                  << "schema violation (host: invalid value: exa_mple com)";
        QTest::newRow("bad port") << R"j({"url":"http://example.com:abc"})j"
                                  << "2 schema violations (host: required field missing; url: could not parse "
                                     "url. invalid port)";
        QTest::newRow("not a string") << R"j({"url":42,"host":"a"})j"
                                      << "schema violation (url: expected a string)";
        QTest::newRow("tcp with path") << R"j({"url":"tcp://db:5432/x"})j"
                                       << "2 schema violations (failed conditional validation "
                                          "given value of field 'protocol'; path: value must be "
                                          "null)";
        QTest::newRow("unknown scheme") << R"j({"url":"ftp://example.com"})j"
                                        << "schema violation (protocol: expected one of: grpc, "
                                           "grpcs, http, https, tcp, tls, tls_passthrough, udp)";
    }
    void serviceUrlErrors() {
        QFETCH(QString, input);
        QFETCH(QString, message);
        QCOMPARE(messageOf(run("services", input)), message);
    }

    // --- targets --------------------------------------------------------------------------------

    void targetNormalization_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("expected");  // normalized target or the error message
        QTest::newRow("host") << "example.com" << "example.com:8000";
        QTest::newRow("host:port") << "example.com:8080" << "example.com:8080";
        QTest::newRow("ipv4") << "10.0.0.1" << "10.0.0.1:8000";
        QTest::newRow("ipv4:port") << "10.0.0.1:81" << "10.0.0.1:81";
        QTest::newRow("[ipv6]:port") << "[::1]:8080" << "[0000:0000:0000:0000:0000:0000:0000:0001]:8080";
        QTest::newRow("bare ipv6") << "fe80::1" << "[fe80:0000:0000:0000:0000:0000:0000:0001]:8000";
        QTest::newRow("[ipv6]") << "[2001:db8::1]" << "[2001:0db8:0000:0000:0000:0000:0000:0001]:8000";
        QTest::newRow("invalid host")
            << "exa mple" << "schema violation (target: Invalid target ('exa mple'); not a valid "
                             "hostname or ip address)";
        QTest::newRow("invalid ipv4")
            << "256.1.1.1" << "schema violation (target: Invalid target ('256.1.1.1'); not a "
                              "valid hostname or ip address)";
        QTest::newRow("port too big")
            << "example.com:70000" << "schema violation (target: Invalid target "
                                      "('example.com:70000'); not a valid hostname or ip address)";
        QTest::newRow("bad ipv6")
            << "[::1::2]:80" << "schema violation (target: Invalid target ('[::1::2]:80'); not a "
                                "valid hostname or ip address)";
    }
    void targetNormalization() {
        QFETCH(QString, target);
        QFETCH(QString, expected);
        const auto result = run(
            "targets",
            QString(R"j({"target":"%1","upstream":{"name":"u"}})j").arg(target));
        if (result) {
            QCOMPARE(QString::fromStdString(std::string(result->at("target").as_string())),
                     expected);
        } else {
            QCOMPARE(messageOf(result), expected);
        }
    }

    // --- generic field errors -------------------------------------------------------------------

    void fieldErrors_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("message");
        const QString svc = R"j({"host":"example.com"})j";
        QTest::newRow("unknown field") << "services" << jsonWith(svc, "foo", "1")
                                       << "schema violation (foo: unknown field)";
        QTest::newRow("two unknown fields") << "services" << R"j({"host":"a","b":1,"a":2})j"
                                            << "2 schema violations (a: unknown field; b: unknown "
                                               "field)";
        QTest::newRow("string for integer") << "services" << jsonWith(svc, "retries", "\"5\"")
                                            << "schema violation (retries: expected an integer)";
        QTest::newRow("fraction for integer") << "services" << jsonWith(svc, "retries", "1.5")
                                              << "schema violation (retries: expected an integer)";
        QTest::newRow("port range") << "services" << jsonWith(svc, "port", "70000")
                                    << "schema violation (port: value should be between 0 and "
                                       "65535)";
        QTest::newRow("timeout range") << "services" << jsonWith(svc, "connect_timeout", "0")
                                       << "schema violation (connect_timeout: value should be "
                                          "between 1 and 2147483646)";
        QTest::newRow("retries range") << "services" << jsonWith(svc, "retries", "32768")
                                       << "schema violation (retries: value should be between 0 "
                                          "and 32767)";
        QTest::newRow("boolean") << "services" << jsonWith(svc, "enabled", "\"yes\"")
                                 << "schema violation (enabled: expected a boolean)";
        QTest::newRow("empty string") << "services" << jsonWith(svc, "name", "\"\"")
                                      << "schema violation (name: length must be at least 1)";
        QTest::newRow("bad name") << "services" << jsonWith(svc, "name", "\"my service\"")
                                  << "schema violation (name: invalid value 'my service': the "
                                     "only accepted ascii characters are alphanumerics or ., -, "
                                     "_, and ~)";
        QTest::newRow("one_of") << "services" << jsonWith(svc, "protocol", "\"ftp\"")
                                << "schema violation (protocol: expected one of: grpc, grpcs, "
                                   "http, https, tcp, tls, tls_passthrough, udp)";
        QTest::newRow("set expected") << "services" << jsonWith(svc, "tags", "\"a\"")
                                      << "schema violation (tags: expected a set)";
        QTest::newRow("set element") << "services" << jsonWith(svc, "tags", R"j(["ok",1])j")
                                     << "schema violation (tags.2: expected a string)";
        QTest::newRow("bad tag") << "services" << jsonWith(svc, "tags", R"j(["a/b"])j")
                                 << "schema violation (tags.1: invalid tag 'a/b': expected "
                                    "printable ascii (except `,` and `/`) or valid utf-8 "
                                    "sequences)";
        QTest::newRow("bad id") << "services" << jsonWith(svc, "id", "\"abc\"")
                                << "schema violation (id: expected a valid UUID)";
        QTest::newRow("bad ca uuid") << "services"
                                     << R"j({"host":"a","protocol":"https","ca_certificates":["x"]})j"
                                     << "schema violation (ca_certificates.1: expected a valid "
                                        "UUID)";
        QTest::newRow("null for required with default") << "services" << jsonWith(svc, "port", "null")
                                                        << "schema violation (port: required "
                                                           "field missing)";
        QTest::newRow("host with port") << "services" << R"j({"host":"a.com:80"})j"
                                        << "schema violation (host: must not have a port)";
        QTest::newRow("bad path") << "services" << jsonWith(svc, "path", "\"api\"")
                                  << "schema violation (path: should start with: /)";
        QTest::newRow("tls_verify on http")
            << "services" << jsonWith(svc, "tls_verify", "true")
            << "2 schema violations (failed conditional validation given value of field "
               "'protocol'; tls_verify: value must be null)";
        QTest::newRow("foreign id not uuid")
            << "routes" << R"j({"paths":["/"],"service":{"id":"x"}})j"
            << "schema violation (service.id: expected a valid UUID)";
        QTest::newRow("foreign not an object") << "routes" << R"j({"paths":["/"],"service":"x"})j"
                                               << "schema violation (service: expected a record)";
        QTest::newRow("redirect code") << "routes"
                                       << R"j({"paths":["/"],"https_redirect_status_code":300})j"
                                       << "schema violation (https_redirect_status_code: expected "
                                          "one of: 426, 301, 302, 307, 308)";
        QTest::newRow("header values") << "routes" << R"j({"headers":{"x-a":"b"}})j"
                                       << "schema violation (headers.x-a: expected an array)";
        QTest::newRow("bad header name") << "routes" << R"j({"headers":{"x a":["b"]}})j"
                                         << "schema violation (headers: bad header name 'x a', "
                                            "allowed characters are A-Z, a-z, 0-9, '_', and '-')";
        QTest::newRow("hosts not array") << "routes" << R"j({"hosts":"a.com"})j"
                                         << "schema violation (hosts: expected an array)";
        QTest::newRow("empty protocols") << "routes" << R"j({"protocols":[],"paths":["/"]})j"
                                         << "schema violation (protocols: length must be at "
                                            "least 1)";
        QTest::newRow("bad method") << "routes" << R"j({"methods":["get"]})j"
                                    << "schema violation (methods.1: invalid value: get)";
        QTest::newRow("path element") << "routes" << R"j({"paths":["/ok","/a//b"]})j"
                                      << "schema violation (paths.2: must not have empty "
                                         "segments)";
        QTest::newRow("null element") << "routes" << R"j({"paths":[null]})j"
                                      << "schema violation (paths.1: required field missing)";
        QTest::newRow("nested range")
            << "upstreams" << R"j({"name":"u","healthchecks":{"active":{"timeout":-1}}})j"
            << "schema violation (healthchecks.active.timeout: value should be between 0 and "
               "65535)";
        QTest::newRow("nested array element")
            << "upstreams"
            << R"j({"name":"u","healthchecks":{"active":{"healthy":{"http_statuses":[200,99]}}}})j"
            << "schema violation (healthchecks.active.healthy.http_statuses.2: value should be "
               "between 100 and 999)";
        QTest::newRow("nested unknown field")
            << "upstreams" << R"j({"name":"u","healthchecks":{"bogus":1}})j"
            << "schema violation (healthchecks.bogus: unknown field)";
        QTest::newRow("record expected") << "upstreams" << R"j({"name":"u","healthchecks":[]})j"
                                         << "schema violation (healthchecks: expected a record)";
        QTest::newRow("slots") << "upstreams" << R"j({"name":"u","slots":5})j"
                               << "schema violation (slots: value should be between 10 and "
                                  "65536)";
        QTest::newRow("upstream name ip") << "upstreams" << R"j({"name":"10.0.0.1"})j"
                                          << "schema violation (name: Invalid name ('10.0.0.1'); "
                                             "no ip addresses allowed)";
        QTest::newRow("upstream name missing") << "upstreams" << "{}"
                                               << "schema violation (name: required field "
                                                  "missing)";
        QTest::newRow("weight") << "targets" << R"j({"target":"a","upstream":{"name":"u"},"weight":70000})j"
                                << "schema violation (weight: value should be between 0 and "
                                   "65535)";
        QTest::newRow("target upstream missing") << "targets" << R"j({"target":"a"})j"
                                                 << "schema violation (upstream: required field "
                                                    "missing)";
        QTest::newRow("sni name ip") << "snis" << R"j({"name":"10.0.0.1","certificate":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j"
                                     << "schema violation (name: must not be an IP)";
    }
    void fieldErrors() {
        QFETCH(QString, entity);
        QFETCH(QString, input);
        QFETCH(QString, message);
        QCOMPARE(messageOf(run(entity, input)), message);
    }

    void normalizations() {
        // Sets drop duplicates; {} is accepted as an empty list (cjson decodes both alike);
        // integral doubles become integers.
        const auto r = run("routes",
                           R"j({"methods":["GET","POST","GET"],"hosts":{},"regex_priority":2.0})j");
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        COMPARE_JSON(r->at("methods"), parse(R"j(["GET","POST"])j"));
        COMPARE_JSON(r->at("hosts"), parse("[]"));
        QVERIFY(r->at("regex_priority").is_int64());
        QCOMPARE(r->at("regex_priority").as_int64(), 2);
    }

    // --- routes ---------------------------------------------------------------------------------

    void routeProtocolChecks_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("message");  // "" when valid
        QTest::newRow("http needs a matcher")
            << R"j({"protocols":["http"]})j"
            << "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths' when "
               "'protocols' is 'http')";
        QTest::newRow("https may use snis") << R"j({"protocols":["https"],"snis":["a.com"]})j"
                                            << "";
        QTest::newRow("http with methods only") << R"j({"methods":["GET"]})j" << "";
        QTest::newRow("mixed groups")
            << R"j({"protocols":["http","tcp"],"paths":["/"]})j"
            << "schema violation (protocols: these sets are mutually exclusive: ('http', "
               "'https'), ('tcp', 'tls', 'udp'), ('tls_passthrough'), ('grpc', 'grpcs'))";
        QTest::newRow("http with sources")
            << R"j({"paths":["/"],"sources":[{"ip":"10.0.0.1"}]})j"
            << "schema violation (sources: cannot set 'sources' when 'protocols' is 'http' or "
               "'https')";
        QTest::newRow("host header")
            << R"j({"paths":["/"],"headers":{"Host":["a.com"]}})j"
            << "schema violation (headers: cannot contain 'host' header, which must be specified "
               "in the 'hosts' attribute)";
        QTest::newRow("tcp needs sources, destinations or snis")
            << R"j({"protocols":["tcp"]})j"
            << "schema violation (must set one of 'sources', 'destinations', 'snis' when "
               "'protocols' is 'tcp', 'tls' or 'udp')";
        QTest::newRow("tcp with paths")
            << R"j({"protocols":["tcp"],"paths":["/"],"destinations":[{"port":80}]})j"
            << "schema violation (paths: cannot set 'paths' when 'protocols' is 'tcp', 'tls' or "
               "'udp')";
        QTest::newRow("tcp ok") << R"j({"protocols":["tcp","tls"],"destinations":[{"ip":"10.0.0.0/8","port":5432}]})j"
                                << "";
        QTest::newRow("source needs ip or port")
            << R"j({"protocols":["tcp"],"sources":[{}]})j"
            << "schema violation (sources.1: at least one of these fields must be non-empty: "
               "'ip', 'port')";
        QTest::newRow("bad source ip")
            << R"j({"protocols":["tcp"],"sources":[{"ip":"10.0.0.300"}]})j"
            << "schema violation (sources.1.ip: invalid ip or cidr range: '10.0.0.300')";
        QTest::newRow("tls_passthrough needs snis")
            << R"j({"protocols":["tls_passthrough"]})j"
            << "schema violation (must set snis when 'protocols' is 'tls_passthrough')";
        QTest::newRow("grpc strip_path")
            << R"j({"protocols":["grpc"],"paths":["/"],"strip_path":true})j"
            << "schema violation (strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' "
               "or 'grpcs')";
        QTest::newRow("grpc methods")
            << R"j({"protocols":["grpc"],"paths":["/"],"methods":["GET"]})j"
            << "schema violation (methods: cannot set 'methods' when 'protocols' is 'grpc' or "
               "'grpcs')";
        QTest::newRow("grpcs needs a matcher")
            << R"j({"protocols":["grpcs"]})j"
            << "schema violation (must set one of 'hosts', 'headers', 'paths', 'snis' when "
               "'protocols' is 'grpcs')";
        QTest::newRow("grpc ok") << R"j({"protocols":["grpc"],"hosts":["a.com"]})j" << "";
        QTest::newRow("wildcard host") << R"j({"hosts":["*.example.com","example.*:8080"]})j"
                                       << "";
        QTest::newRow("bad wildcard host")
            << R"j({"hosts":["ex*ample.com"]})j"
            << "schema violation (hosts.1: invalid wildcard: must be placed at leftmost or "
               "rightmost label)";
        QTest::newRow("bad regex path")  // compiled with RE2, as the router runs it
            << "{\"paths\":[\"~/a[b\"]}"
            << "schema violation (paths.1: invalid regex: '/a[b' (PCRE returned: missing ]: [b))";
        QTest::newRow("lookahead path: RE2 cannot run it")
            << "{\"paths\":[\"~/a(?=b)\"]}"
            << "schema violation (paths.1: invalid regex: '/a(?=b)' (PCRE returned: invalid perl "
               "operator: (?=))";
        QTest::newRow("named group path") << "{\"paths\":[\"~/orders/(?<id>\\\\d+)$\"]}"
                                          << "";
        QTest::newRow("bad header regex")
            << "{\"paths\":[\"/\"],\"headers\":{\"X-Id\":[\"~*(?<!a)b\"]}}"
            << "schema violation (headers.X-Id: invalid regex: '(?<!a)b' (PCRE returned: invalid "
               "perl operator: (?<))";
        QTest::newRow("header regex among several values is text")
            << "{\"paths\":[\"/\"],\"headers\":{\"X-Id\":[\"~*(?<!a)b\",\"c\"]}}"
            << "";
        QTest::newRow("header regex ok")
            << "{\"paths\":[\"/\"],\"headers\":{\"Authorization\":[\"~*^bearer .+$\"]}}"
            << "";
        QTest::newRow("failed field skips matcher check")
            << R"j({"protocols":["http"],"paths":["x"]})j"
            << "schema violation (paths.1: should start with: / (fixed path) or ~/ (regex path))";
    }
    void routeProtocolChecks() {
        QFETCH(QString, input);
        QFETCH(QString, message);
        QCOMPARE(messageOf(run("routes", input)), message);
    }

    void grpcRouteDefaultsStripPathFalse() {
        const auto r = run("routes", R"j({"protocols":["grpc"],"paths":["/"]})j");
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("strip_path").as_bool(), false);
        const auto http = run("routes", R"j({"paths":["/"]})j");
        QCOMPARE(http->at("strip_path").as_bool(), true);
    }

    // --- upstreams ------------------------------------------------------------------------------

    void upstreamHashChecks_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("message");
        QTest::newRow("header needs hash_on_header")
            << R"j({"name":"u","hash_on":"header"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_on'; hash_on_header: required field missing)";
        QTest::newRow("fallback header needs hash_fallback_header")
            << R"j({"name":"u","hash_on":"ip","hash_fallback":"header"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_fallback'; hash_fallback_header: required field missing)";
        QTest::newRow("cookie needs hash_on_cookie")
            << R"j({"name":"u","hash_on":"cookie"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_on'; hash_on_cookie: required field missing)";
        QTest::newRow("query_arg needs hash_on_query_arg")
            << R"j({"name":"u","hash_on":"query_arg"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_on'; hash_on_query_arg: required field missing)";
        QTest::newRow("uri_capture fallback")
            << R"j({"name":"u","hash_on":"consumer","hash_fallback":"uri_capture"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_fallback'; hash_fallback_uri_capture: required field missing)";
        QTest::newRow("none then fallback")
            << R"j({"name":"u","hash_on":"none","hash_fallback":"ip"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_on'; hash_fallback: expected one of: none)";
        QTest::newRow("cookie then fallback")
            << R"j({"name":"u","hash_on":"cookie","hash_on_cookie":"sid","hash_fallback":"ip"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_on'; hash_fallback: expected one of: none)";
        QTest::newRow("ip twice")
            << R"j({"name":"u","hash_on":"ip","hash_fallback":"ip"})j"
            << "2 schema violations (failed conditional validation given value of field "
               "'hash_on'; hash_fallback: expected one of: none, consumer, header, cookie, path, "
               "query_arg, uri_capture)";
        QTest::newRow("same header twice")
            << R"j({"name":"u","hash_on":"header","hash_on_header":"X-A","hash_fallback":"header","hash_fallback_header":"X-A"})j"
            << "schema violation (values of these fields must be distinct: 'hash_on_header', "
               "'hash_fallback_header')";
        QTest::newRow("two headers ok")
            << R"j({"name":"u","hash_on":"header","hash_on_header":"X-A","hash_fallback":"header","hash_fallback_header":"X-B"})j"
            << "";
        QTest::newRow("consumer then ip ok")
            << R"j({"name":"u","hash_on":"consumer","hash_fallback":"ip"})j" << "";
        QTest::newRow("bad header name")
            << R"j({"name":"u","hash_on":"header","hash_on_header":"X A"})j"
            << "schema violation (hash_on_header: bad header name 'X A', allowed characters are "
               "A-Z, a-z, 0-9, '_', and '-')";
        QTest::newRow("bad algorithm")
            << R"j({"name":"u","algorithm":"random"})j"
            << "schema violation (algorithm: expected one of: consistent-hashing, "
               "least-connections, round-robin, latency)";
    }
    void upstreamHashChecks() {
        QFETCH(QString, input);
        QFETCH(QString, message);
        QCOMPARE(messageOf(run("upstreams", input)), message);
    }

    void upstreamAlgorithmCoupling_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("algorithm");
        QTest::addColumn<QString>("hashOn");
        QTest::newRow("hash_on forces consistent-hashing")
            << R"j({"name":"u","hash_on":"ip"})j" << "consistent-hashing" << "ip";
        QTest::newRow("least-connections forces hash_on none")
            << R"j({"name":"u","algorithm":"least-connections","hash_on":"ip"})j"
            << "least-connections" << "none";
        QTest::newRow("latency forces hash_on none")
            << R"j({"name":"u","algorithm":"latency"})j" << "latency" << "none";
        QTest::newRow("hash_on none keeps round-robin")
            << R"j({"name":"u","hash_on":"none"})j" << "round-robin" << "none";
        QTest::newRow("explicit consistent-hashing")
            << R"j({"name":"u","algorithm":"consistent-hashing"})j" << "consistent-hashing"
            << "none";
    }
    void upstreamAlgorithmCoupling() {
        QFETCH(QString, input);
        QFETCH(QString, algorithm);
        QFETCH(QString, hashOn);
        const auto r = run("upstreams", input);
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(QString::fromStdString(std::string(r->at("algorithm").as_string())), algorithm);
        QCOMPARE(QString::fromStdString(std::string(r->at("hash_on").as_string())), hashOn);
    }

    // --- consumers and plugins ------------------------------------------------------------------

    void consumers_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("message");
        QTest::newRow("username") << R"j({"username":"bob"})j" << "";
        QTest::newRow("custom_id") << R"j({"custom_id":"ext-1"})j" << "";
        QTest::newRow("neither")
            << "{}"
            << "schema violation (at least one of these fields must be non-empty: 'custom_id', "
               "'username')";
        QTest::newRow("nulls") << R"j({"username":null,"custom_id":null})j"
                               << "schema violation (at least one of these fields must be "
                                  "non-empty: 'custom_id', 'username')";
        QTest::newRow("empty username") << R"j({"username":""})j"
                                        << "schema violation (username: length must be at least "
                                           "1)";
    }
    void consumers() {
        QFETCH(QString, input);
        QFETCH(QString, message);
        QCOMPARE(messageOf(run("consumers", input)), message);
    }

    void plugins() {
        QCOMPARE(messageOf(run("plugins", R"j({"name":"my-plugin"})j")),
                 QString("schema violation (name: plugin 'my-plugin' not enabled; add it to the "
                         "'plugins' configuration property)"));
        auto lenient = fixed();
        lenient.allow_unknown_plugins = true;
        QVERIFY(run("plugins", R"j({"name":"my-plugin"})j", lenient).has_value());
        QCOMPARE(messageOf(run("plugins", R"j({"name":"cors","config":"x"})j")),
                 QString("schema violation (config: expected a record)"));
        QCOMPARE(messageOf(run("plugins", R"j({})j")),
                 QString("schema violation (name: required field missing)"));
        QCOMPARE(messageOf(run("plugins", R"j({"name":"cors","protocols":["http","ws"]})j")),
                 QString("schema violation (protocols.2: expected one of: grpc, grpcs, http, "
                         "https, tcp, tls, tls_passthrough, udp)"));
        // References by endpoint key are left for the caller to resolve.
        const auto scoped = run(
            "plugins",
            R"j({"name":"rate-limiting","service":{"name":"orders"},"config":{"minute":5}})j");
        QVERIFY2(scoped.has_value(), qPrintable(messageOf(scoped)));
        COMPARE_JSON(scoped->at("service"), parse(R"j({"name":"orders"})j"));
        COMPARE_JSON(scoped->at("config"), parse(R"j({"minute":5})j"));
        QCOMPARE(messageOf(run("plugins", R"j({"name":"acl","consumer":{}})j")),
                 QString("schema violation (consumer.id: missing primary key)"));
    }

    // --- credentials ----------------------------------------------------------------------------

    void keyAuthCredentials() {
        const auto generated =
            run("keyauth_credentials", QString(R"j({"consumer":%1})j").arg(kConsumerRef));
        QVERIFY2(generated.has_value(), qPrintable(messageOf(generated)));
        const QString key = QString::fromStdString(std::string(generated->at("key").as_string()));
        QCOMPARE(key.size(), 32);
        QVERIFY(QRegularExpression("^[0-9a-f]{32}$").match(key).hasMatch());
        QVERIFY(!generated->contains("updated_at"));

        const auto given = run("keyauth_credentials",
                               QString(R"j({"consumer":%1,"key":"alice-key","ttl":3600})j")
                                   .arg(kConsumerRef));
        QVERIFY2(given.has_value(), qPrintable(messageOf(given)));
        QCOMPARE(given->at("key").as_string(), "alice-key");
        QVERIFY2(!given->contains("ttl"), "ttl is accepted but not a stored field");

        QCOMPARE(messageOf(run("keyauth_credentials",
                               QString(R"j({"consumer":%1,"ttl":"x"})j").arg(kConsumerRef))),
                 QString("schema violation (ttl: expected a number)"));
        QCOMPARE(messageOf(run("keyauth_credentials", R"j({"key":"k"})j")),
                 QString("schema violation (consumer: required field missing)"));
        QCOMPARE(messageOf(run("basicauth_credentials",
                               QString(R"j({"consumer":%1,"username":"u","ttl":5})j")
                                   .arg(kConsumerRef))),
                 QString("2 schema violations (password: required field missing; ttl: unknown "
                         "field)"));
    }

    void jwtSecrets() {
        const auto r = run("jwt_secrets", QString(R"j({"consumer":%1})j").arg(kConsumerRef));
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("algorithm").as_string(), "HS256");
        QCOMPARE(r->at("key").as_string().size(), std::size_t{32});
        QCOMPARE(r->at("secret").as_string().size(), std::size_t{32});
        QVERIFY(r->at("key") != r->at("secret"));
        QVERIFY(r->at("rsa_public_key").is_null());

        QCOMPARE(messageOf(run("jwt_secrets",
                               QString(R"j({"consumer":%1,"algorithm":"RS256","rsa_public_key":"x"})j")
                                   .arg(kConsumerRef))),
                 QString("schema violation (rsa_public_key: invalid key)"));
        QCOMPARE(messageOf(run("jwt_secrets",
                               QString(R"j({"consumer":%1,"algorithm":"XX1"})j").arg(kConsumerRef))),
                 QString("schema violation (algorithm: expected one of: HS256, HS384, HS512, "
                         "RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA)"));
    }

    void basicAuthPasswordIsNotHashedByValidation() {
        // Hashing needs the resolved consumer id, so the caller does it (validation.hpp).
        const auto r = run("basicauth_credentials",
                           QString(R"j({"consumer":%1,"username":"u","password":"secret"})j")
                               .arg(kConsumerRef));
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("password").as_string(), "secret");
    }

    // --- certificates ---------------------------------------------------------------------------

    void certificates() {
        json::object input{{"cert", kLeafCert}, {"key", kLeafKey}, {"snis", json::array{"a.test"}}};
        auto r = validateEntity(*findSchema("certificates"), input, fixed());
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        COMPARE_JSON(r->at("snis"), parse(R"j(["a.test"])j"));
        QVERIFY(r->at("cert_alt").is_null());

        input.erase("snis");
        r = validateEntity(*findSchema("certificates"), input, fixed());
        QVERIFY(r.has_value());
        QVERIFY2(!r->contains("snis"), "snis only passes through when given");

        input["key"] = kCaKey;
        r = validateEntity(*findSchema("certificates"), input, fixed());
        QCOMPARE(messageOf(r), QString("schema violation (certificate does not match key)"));

        input["key"] = "not a key";
        r = validateEntity(*findSchema("certificates"), input, fixed());
        QVERIFY(messageOf(r).startsWith("schema violation (key: invalid key: "));

        json::object bad_cert{{"cert", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
                              {"key", kLeafKey}};
        r = validateEntity(*findSchema("certificates"), bad_cert, fixed());
        QVERIFY2(messageOf(r).startsWith("schema violation (cert: invalid certificate: "),
                 qPrintable(messageOf(r)));

        json::object half_alt{{"cert", kLeafCert}, {"key", kLeafKey}, {"cert_alt", kCaCert}};
        r = validateEntity(*findSchema("certificates"), half_alt, fixed());
        QCOMPARE(messageOf(r), QString("schema violation (all or none of these fields must be "
                                       "set: 'cert_alt', 'key_alt')"));

        json::object same_type{
            {"cert", kLeafCert}, {"key", kLeafKey}, {"cert_alt", kCaCert}, {"key_alt", kCaKey}};
        r = validateEntity(*findSchema("certificates"), same_type, fixed());
        QCOMPARE(messageOf(r),
                 QString("schema violation (certificate and alternative certificate need to have "
                         "different type (e.g. RSA and ECDSA), the provided certificates were "
                         "both of the same type)"));

        json::object bad_snis{{"cert", kLeafCert}, {"key", kLeafKey}, {"snis", json::array{"10.0.0.1"}}};
        r = validateEntity(*findSchema("certificates"), bad_snis, fixed());
        QCOMPARE(messageOf(r), QString("schema violation (snis.1: must not be an IP)"));
    }

    void caCertificates() {
        auto r = validateEntity(*findSchema("ca_certificates"), json::object{{"cert", kCaCert}},
                                fixed());
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("cert_digest").as_string(), kCaCertDigest);
        QCOMPARE(formats::certificateDigest(kCaCert), std::string(kCaCertDigest));

        r = validateEntity(*findSchema("ca_certificates"), json::object{{"cert", kLeafCert}},
                           fixed());
        QCOMPARE(messageOf(r), QString("schema violation (certificate does not appear to be a CA "
                                       "because it is missing the \"CA\" basic constraint)"));

        r = validateEntity(*findSchema("ca_certificates"),
                           json::object{{"cert", std::string(kCaCert) + kLeafCert}}, fixed());
        QCOMPARE(messageOf(r),
                 QString("schema violation (please submit only one certificate at a time)"));

        // Expiry is checked against the time given (our test CA expires in 2126).
        QCOMPARE(QString::fromStdString(
                     formats::checkCaCertificate(kCaCert, 5000000000.0).value_or("")),
                 QString("certificate expired, \"Not After\" time is in the past"));
        QVERIFY(!formats::checkCaCertificate(kCaCert, kNow));
        QVERIFY(formats::certificateMatchesKey(kCaCert, kCaKey));
        QVERIFY(!formats::certificateMatchesKey(kCaCert, kLeafKey));
    }

    // --- declarative files: tolerated problems ---------------------------------------------------

    // Entities as real Kong files write them (the collected fixtures named in each row, and
    // pairs Kong's own checks reject): the Admin API (ValidateOptions::declarative off) still
    // rejects each with Kong's message; a declarative file keeps the entity as written and gets
    // the same problem back as a warning ("<path>|<message>", "" for the entity itself).
    void declarativeTolerance_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("strict");
        QTest::addColumn<QStringList>("warnings");
        QTest::addColumn<QString>("kept");  // a field whose value must stay as written

        const json::object consumer = parse(kConsumerRef).as_object();
        QTest::newRow("13 jwt placeholder public key")
            << "jwt_secrets"
            << jsonText({{"consumer", consumer},
                         {"algorithm", "RS256"},
                         {"key", "oan-auth"},
                         {"rsa_public_key", "REPLACE_WITH_OAN_AUTH_JWT_PUBLIC_KEY_PEM"}})
            << "schema violation (rsa_public_key: invalid key)"
            << QStringList{"rsa_public_key|invalid key"} << "rsa_public_key";

        const std::string deck_ca =
            pemIn(fixtureText("16-deck-ca-certificates.yml"), "-----BEGIN CERTIFICATE-----",
                  "-----END CERTIFICATE-----");
        const QString expired = "certificate expired, \"Not After\" time is in the past";
        QTest::newRow("16 expired CA certificate")
            << "ca_certificates" << jsonText({{"cert", deck_ca}})
            << "schema violation (" + expired + ")" << QStringList{"|" + expired} << "cert";

        const std::string placeholder_ca =
            "-----BEGIN CERTIFICATE-----\nREPLACE_ME_WITH_CA_CERT\n-----END CERTIFICATE-----";
        const QString bad_ca =
            QString::fromStdString(formats::checkCertificate(placeholder_ca).value_or(""));
        QVERIFY(bad_ca.startsWith("invalid certificate: "));
        QTest::newRow("20 placeholder CA certificate")
            << "ca_certificates" << jsonText({{"cert", placeholder_ca}})
            << "schema violation (cert: " + bad_ca + ")" << QStringList{"cert|" + bad_ca} << "cert";

        for (const auto& [name, file, key_begin, key_end] :
             std::vector<std::tuple<const char*, const char*, const char*, const char*>>{
                 {"18 redacted RSA key", "18-proxy-docker-certificate.yml",
                  "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"},
                 {"22 redacted PKCS#8 key", "22-deck-entities-with-tags.yml",
                  "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"}}) {
            const std::string text = fixtureText(file);
            const std::string key = pemIn(text, key_begin, key_end);
            const QString bad_key = QString::fromStdString(formats::checkKey(key).value_or(""));
            QVERIFY(bad_key.startsWith("invalid key: "));
            QTest::newRow(name) << "certificates"
                                << jsonText({{"cert", pemIn(text, "-----BEGIN CERTIFICATE-----",
                                                            "-----END CERTIFICATE-----")},
                                             {"key", key}})
                                << "schema violation (key: " + bad_key + ")"
                                << QStringList{"key|" + bad_key} << "key";
        }

        QTest::newRow("certificate and key of different pairs")
            << "certificates" << jsonText({{"cert", kLeafCert}, {"key", kCaKey}})
            << "schema violation (certificate does not match key)"
            << QStringList{"|certificate does not match key"} << "key";
        QTest::newRow("alternative pair mismatch")
            << "certificates"
            << jsonText({{"cert", kLeafCert},
                         {"key", kLeafKey},
                         {"cert_alt", kCaCert},
                         {"key_alt", kLeafKey}})
            << "schema violation (alternative certificate does not match key)"
            << QStringList{"|alternative certificate does not match key"} << "key_alt";
        const QString same_type =
            "certificate and alternative certificate need to have different type (e.g. RSA and "
            "ECDSA), the provided certificates were both of the same type";
        QTest::newRow("alternative pair of the same type")
            << "certificates"
            << jsonText({{"cert", kLeafCert},
                         {"key", kLeafKey},
                         {"cert_alt", kCaCert},
                         {"key_alt", kCaKey}})
            << "schema violation (" + same_type + ")" << QStringList{"|" + same_type} << "cert_alt";
        const QString not_ca =
            "certificate does not appear to be a CA because it is missing the \"CA\" basic "
            "constraint";
        QTest::newRow("CA certificate without the CA constraint")
            << "ca_certificates" << jsonText({{"cert", kLeafCert}})
            << "schema violation (" + not_ca + ")" << QStringList{"|" + not_ca} << "cert";
        QTest::newRow("two certificates as one CA")
            << "ca_certificates" << jsonText({{"cert", std::string(kCaCert) + kLeafCert}})
            << "schema violation (please submit only one certificate at a time)"
            << QStringList{"|please submit only one certificate at a time"} << "cert";

        const char* const kic_name = "tcproute..echo-plaintext.0";
        QTest::newRow("11 service host with an empty label")
            << "services" << jsonText({{"name", kic_name}, {"host", kic_name}, {"protocol", "tcp"}})
            << "schema violation (host: invalid value: tcproute..echo-plaintext.0)"
            << QStringList{"host|invalid value: tcproute..echo-plaintext.0"} << "host";
        QTest::newRow("11 upstream name with an empty label")
            << "upstreams" << jsonText({{"name", kic_name}})
            << "schema violation (name: Invalid name ('tcproute..echo-plaintext.0'); must be a "
               "valid hostname)"
            << QStringList{"name|Invalid name ('tcproute..echo-plaintext.0'); must be a valid "
                           "hostname"}
            << "name";
        const QString tcp_needs =
            "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' "
            "or 'udp'";
        QTest::newRow("11 tcp route without sources, destinations or snis")
            << "routes"
            << jsonText(
                   {{"name", "tcproute..echo-plaintext.0.0"}, {"protocols", json::array{"tcp"}}})
            << "schema violation (" + tcp_needs + ")" << QStringList{"|" + tcp_needs}
            << "protocols";
        QTest::newRow("tls_passthrough route without snis")
            << "routes" << jsonText({{"protocols", json::array{"tls_passthrough"}}})
            << "schema violation (must set snis when 'protocols' is 'tls_passthrough')"
            << QStringList{"|must set snis when 'protocols' is 'tls_passthrough'"} << "protocols";

        const QString lookbehind =
            "invalid regex: '/(?<=a)b' (PCRE returned: invalid perl operator: (?<)";
        QTest::newRow("regex path RE2 cannot run")
            << "routes" << jsonText({{"paths", json::array{"/ok", "~/(?<=a)b"}}})
            << "schema violation (paths.2: " + lookbehind + ")"
            << QStringList{"paths.2|" + lookbehind} << "paths";
        const QString backreference =
            "invalid regex: '(a)\\1' (PCRE returned: invalid escape sequence: \\1)";
        QTest::newRow("header regex RE2 cannot run")
            << "routes"
            << jsonText({{"paths", json::array{"/"}},
                         {"headers", json::object{{"X-Id", json::array{"~*(a)\\1"}}}}})
            << "schema violation (headers.X-Id: " + backreference + ")"
            << QStringList{"headers.X-Id|" + backreference} << "headers";
    }
    void declarativeTolerance() {
        QFETCH(QString, entity);
        QFETCH(QString, input);
        QFETCH(QString, strict);
        QFETCH(QStringList, warnings);
        QFETCH(QString, kept);

        std::vector<ErrorTree::Tolerated> collected;
        auto admin = fixed();
        admin.warnings = &collected;
        QCOMPARE(messageOf(run(entity, input, admin)), strict);
        QVERIFY(collected.empty());

        auto file = fixed();
        file.declarative = true;
        file.warnings = &collected;
        const auto r = run(entity, input, file);
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QStringList actual;
        for (const auto& problem : collected) {
            QVERIFY(problem.tolerance != Tolerance::None);
            actual << dotted(problem.path) + "|" + QString::fromStdString(problem.message);
        }
        QCOMPARE(actual, warnings);
        COMPARE_JSON(r->at(kept.toStdString()), parse(input).at(kept.toStdString()));
    }

    // Everything a declarative file may not tolerate fails as in the Admin API, tolerated
    // problems next to it still coming back as warnings.
    void declarativeStillRejects_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("warnings");

        const json::object consumer = parse(kConsumerRef).as_object();
        QTest::newRow("unknown field next to a placeholder key")
            << "jwt_secrets"
            << jsonText({{"consumer", consumer},
                         {"algorithm", "RS256"},
                         {"rsa_public_key", "placeholder"},
                         {"foo", "bar"}})
            << "schema violation (foo: unknown field)" << 1;
        QTest::newRow("missing public key")
            << "jwt_secrets" << jsonText({{"consumer", consumer}, {"algorithm", "RS256"}})
            << "2 schema violations (failed conditional validation given value of field "
               "'algorithm'; rsa_public_key: required field missing)"
            << 0;
        QTest::newRow("id that is not a UUID (the loader replaces those)")
            << "ca_certificates" << jsonText({{"id", "orders-clients-ca"}, {"cert", kCaCert}})
            << "schema violation (id: expected a valid UUID)" << 0;
        QTest::newRow("missing key") << "certificates" << jsonText({{"cert", kLeafCert}})
                                     << "schema violation (key: required field missing)" << 0;
        QTest::newRow("half an alternative pair")
            << "certificates"
            << jsonText({{"cert", kLeafCert}, {"key", kLeafKey}, {"cert_alt", kCaCert}})
            << "schema violation (all or none of these fields must be set: 'cert_alt', "
               "'key_alt')"
            << 0;
        QTest::newRow("host with a space") << "services" << jsonText({{"host", "a..b c"}})
                                           << "schema violation (host: invalid value: a..b c)" << 0;
        QTest::newRow("host with a leading dot")
            << "services" << jsonText({{"host", ".a.b"}})
            << "schema violation (host: invalid value: .a.b)" << 0;
        QTest::newRow("empty label and a port")
            << "upstreams" << jsonText({{"name", "a..b:80"}})
            << "schema violation (name: Invalid name ('a..b:80'); must be a valid hostname)" << 0;
        QTest::newRow("tcp route with paths")
            << "routes"
            << jsonText({{"protocols", json::array{"tcp"}}, {"paths", json::array{"/"}}})
            << "schema violation (paths: cannot set 'paths' when 'protocols' is 'tcp', 'tls' or "
               "'udp')"
            << 1;  // no sources, destinations or snis either: tolerated
        QTest::newRow("path that is not a path next to a bad regex")
            << "routes" << jsonText({{"paths", json::array{"~/(?=a)", "x"}}})
            << "schema violation (paths.2: should start with: / (fixed path) or ~/ (regex path))"
            << 1;
        QTest::newRow("wrong type")
            << "routes" << jsonText({{"paths", json::array{"/"}}, {"strip_path", "no"}})
            << "schema violation (strip_path: expected a boolean)" << 0;
    }
    void declarativeStillRejects() {
        QFETCH(QString, entity);
        QFETCH(QString, input);
        QFETCH(QString, message);
        QFETCH(int, warnings);
        std::vector<ErrorTree::Tolerated> collected;
        auto file = fixed();
        file.declarative = true;
        file.warnings = &collected;
        QCOMPARE(messageOf(run(entity, input, file)), message);
        QCOMPARE(static_cast<int>(collected.size()), warnings);
    }

    // cert_digest is computed when the certificate parses (an expired one does), and left as
    // written when it does not.
    void declarativeCaDigest() {
        auto file = fixed();
        file.declarative = true;
        const std::string deck_ca =
            pemIn(fixtureText("16-deck-ca-certificates.yml"), "-----BEGIN CERTIFICATE-----",
                  "-----END CERTIFICATE-----");
        auto r =
            validateEntity(*findSchema("ca_certificates"), json::object{{"cert", deck_ca}}, file);
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        // the digest decK wrote next to it in the file
        QCOMPARE(r->at("cert_digest").as_string(),
                 "b865971cecadd7bac9487901c9269c1fa903b3a3b521a927c5e2513f692ac61e");

        const json::object placeholder{{"cert",
                                        "-----BEGIN CERTIFICATE-----\nX\n-----END "
                                        "CERTIFICATE-----"},
                                       {"cert_digest", "given"}};
        r = validateEntity(*findSchema("ca_certificates"), placeholder, file);
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("cert_digest").as_string(), "given");
        r = validateEntity(*findSchema("ca_certificates"),
                           json::object{{"cert", placeholder.at("cert")}}, file);
        QVERIFY(r->at("cert_digest").is_null());
    }

    // --- ids and timestamps ---------------------------------------------------------------------

    void idsAndTimestamps() {
        // Given id and created_at are kept; updated_at is always refreshed.
        const auto r = run("services",
                           R"j({"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01","host":"a","created_at":1600000000,"updated_at":1600000001})j");
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("id").as_string(), "0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01");
        QCOMPARE(r->at("created_at").as_int64(), 1600000000);
        QCOMPARE(r->at("updated_at").as_int64(), 1700000000);

        // PATCH: the caller merges, validation refreshes updated_at only.
        auto update = fixed(kNow + 60);
        update.operation = Operation::Update;
        auto patched = mergePatch(*findSchema("services"), *r, json::object{{"retries", 1}});
        const auto r2 = validateEntity(*findSchema("services"), patched, update);
        QVERIFY2(r2.has_value(), qPrintable(messageOf(r2)));
        QCOMPARE(r2->at("created_at").as_int64(), 1600000000);
        QCOMPARE(r2->at("updated_at").as_int64(), 1700000060);
        QCOMPARE(r2->at("retries").as_int64(), 1);

        // Without injected sources: a fresh v4 id and the system clock.
        const auto r3 = validateEntity(*findSchema("consumers"),
                                       json::object{{"username", "x"}}, ValidateOptions{});
        QVERIFY(r3.has_value());
        QVERIFY(isUuid(r3->at("id").as_string()));
        QVERIFY(r3->at("created_at").as_int64() > 1700000000);
    }

    // --- mergePatch -----------------------------------------------------------------------------

    void mergePatchSchemaless() {
        const auto stored = parse(R"j({"a":1,"rec":{"x":1,"y":{"z":1}},"list":[1,2],"gone":1})j");
        const auto patch = parse(R"j({"rec":{"y":{"w":2}},"list":[3],"gone":null,"new":true})j");
        COMPARE_JSON(mergePatch(stored.as_object(), patch.as_object()),
                     parse(R"j({"a":1,"rec":{"x":1,"y":{"z":1,"w":2}},"list":[3],"gone":null,"new":true})j"));
    }

    void mergePatchWithSchema() {
        const auto stored = parse(
            R"j({"name":"p","service":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"},"config":{"minute":5,"nested":{"a":1}},"protocols":["http","https"]})j");
        const auto patch = parse(
            R"j({"service":{"name":"other"},"config":{"hour":10,"nested":{"b":2}},"protocols":["grpc"]})j");
        COMPARE_JSON(
            mergePatch(*findSchema("plugins"), stored.as_object(), patch.as_object()),
            parse(R"j({"name":"p","service":{"name":"other"},"config":{"minute":5,"nested":{"a":1,"b":2},"hour":10},"protocols":["grpc"]})j"));

        // Records merge (healthchecks), maps replace (route headers).
        const auto up = mergePatch(*findSchema("upstreams"),
                                   parse(R"j({"healthchecks":{"threshold":1,"active":{"timeout":2}}})j").as_object(),
                                   parse(R"j({"healthchecks":{"active":{"concurrency":3}}})j").as_object());
        COMPARE_JSON(up, parse(R"j({"healthchecks":{"threshold":1,"active":{"timeout":2,"concurrency":3}}})j"));
        const auto route = mergePatch(*findSchema("routes"),
                                      parse(R"j({"headers":{"a":["1"]}})j").as_object(),
                                      parse(R"j({"headers":{"b":["2"]}})j").as_object());
        COMPARE_JSON(route, parse(R"j({"headers":{"b":["2"]}})j"));
    }

    // --- forms ----------------------------------------------------------------------------------

    void formToJson_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QStringList>("pairs");  // "key=value"
        QTest::addColumn<QString>("json");
        QTest::newRow("array with []") << "routes" << QStringList{"hosts[]=a.com", "hosts[]=b.com"}
                                       << R"j({"hosts":["a.com","b.com"]})j";
        QTest::newRow("single value becomes an array") << "routes" << QStringList{"hosts=a.com"}
                                                       << R"j({"hosts":["a.com"]})j";
        QTest::newRow("repeated key appends")
            << "routes" << QStringList{"protocols=http", "protocols=https"}
            << R"j({"protocols":["http","https"]})j";
        QTest::newRow("indexed") << "routes" << QStringList{"paths[2]=/b", "paths[1]=/a"}
                                 << R"j({"paths":["/a","/b"]})j";
        QTest::newRow("foreign id") << "routes"
                                    << QStringList{"service.id=0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}
                                    << R"j({"service":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j";
        QTest::newRow("foreign name") << "routes" << QStringList{"service.name=orders"}
                                      << R"j({"service":{"name":"orders"}})j";
        QTest::newRow("foreign short form") << "services"
                                            << QStringList{"client_certificate=0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}
                                            << R"j({"client_certificate":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j";
        QTest::newRow("map of arrays") << "routes" << QStringList{"headers.region=north", "headers.region=south"}
                                       << R"j({"headers":{"region":["north","south"]}})j";
        QTest::newRow("plugin config inferred")
            << "plugins" << QStringList{"name=rate-limiting", "config.minute=5", "config.policy=local", "config.fault_tolerant=true", "config.limit=0.5"}
            << R"j({"name":"rate-limiting","config":{"minute":5,"policy":"local","fault_tolerant":true,"limit":0.5}})j";
        QTest::newRow("nested record")
            << "upstreams" << QStringList{"name=u", "healthchecks.active.healthy.interval=5", "healthchecks.active.healthy.http_statuses=200"}
            << R"j({"name":"u","healthchecks":{"active":{"healthy":{"interval":5,"http_statuses":[200]}}}})j";
        QTest::newRow("types from the schema")
            << "services" << QStringList{"port=8080", "retries=x", "enabled=false", "path=", "name=007"}
            << R"j({"port":8080,"retries":"x","enabled":false,"path":null,"name":"007"})j";
        QTest::newRow("array of records")
            << "routes" << QStringList{"sources[1].ip=10.0.0.1", "sources[1].port=80", "sources[2].port=81"}
            << R"j({"sources":[{"ip":"10.0.0.1","port":80},{"port":81}]})j";
        QTest::newRow("unknown kept as text") << "services" << QStringList{"foo=1"}
                                              << R"j({"foo":"1"})j";
        QTest::newRow("empty array value") << "routes" << QStringList{"hosts="}
                                           << R"j({"hosts":null})j";
    }
    void formToJson() {
        QFETCH(QString, entity);
        QFETCH(QStringList, pairs);
        QFETCH(QString, json);
        std::vector<std::pair<std::string, std::string>> kv;
        for (const auto& p : pairs) {
            const auto eq = p.indexOf('=');
            kv.emplace_back(p.left(eq).toStdString(), p.mid(eq + 1).toStdString());
        }
        COMPARE_JSON(portico::schema::formToJson(*findSchema(entity.toStdString()), kv), parse(json));
    }

    void formBodyValidates() {
        const auto body = portico::schema::formToJson(
            *findSchema("services"), {{"name", "orders"}, {"url", "http://orders:8080/api"}, {"retries", "3"}});
        const auto r = validateEntity(*findSchema("services"), body, fixed());
        QVERIFY2(r.has_value(), qPrintable(messageOf(r)));
        QCOMPARE(r->at("port").as_int64(), 8080);
        QCOMPARE(r->at("retries").as_int64(), 3);
        QCOMPARE(r->at("path").as_string(), "/api");
    }
};

QTEST_GUILESS_MAIN(TestValidation)
#include "test_validation.moc"
