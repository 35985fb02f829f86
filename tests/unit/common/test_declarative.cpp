// Kong declarative configuration codec: the 23 real-world files under shared/fixtures (see their
// SOURCES.md), upgrades, error paths, export round trips and the configuration hash.
#include "common/declarative.hpp"
#include "common/schema.hpp"
#include "common/validation.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <QFile>
#include <QtTest>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace portico;
namespace json = boost::json;

Q_DECLARE_METATYPE(declarative::ExportFormat)

namespace {

constexpr double kNow = 1700000000.0;

std::string readFixture(const QString& name) {
    QFile file(QStringLiteral(PORTICO_FIXTURES_DIR "/") + name);
    if (!file.open(QIODevice::ReadOnly)) {
        qFatal("cannot open fixture %s", qPrintable(file.fileName()));
    }
    const QByteArray bytes = file.readAll();
    return std::string(bytes.constData(), static_cast<std::size_t>(bytes.size()));
}

declarative::ParseResult parseText(std::string_view text) {
    declarative::ParseOptions options;
    options.now = kNow;
    return declarative::parse(text, options);
}

QByteArray describe(const declarative::ParseResult& result) {
    QStringList lines;
    for (const auto& e : result.errors) {
        lines << QStringLiteral("line %1: %2: %3")
                     .arg(e.line)
                     .arg(QString::fromStdString(e.path), QString::fromStdString(e.message));
    }
    return lines.join(QLatin1Char('\n')).toUtf8();
}

QStringList warningsOf(const declarative::ParseResult& result) {
    QStringList out;
    for (const auto& w : result.warnings) {
        out << QString::fromStdString(w);
    }
    return out;
}

// "services=2 routes=3" -> {services: 2, routes: 3}
std::map<std::string, std::size_t> parseCounts(const QString& spec) {
    std::map<std::string, std::size_t> out;
    for (const auto& item : spec.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        const auto parts = item.split(QLatin1Char('='));
        out[parts[0].toStdString()] = parts[1].toULong();
    }
    return out;
}

std::map<std::string, std::size_t> countsOf(const declarative::EntitySet& entities) {
    std::map<std::string, std::size_t> out;
    for (const auto& [type, list] : entities) {
        if (!list.empty()) {
            out[type] = list.size();
        }
    }
    return out;
}

QString countsText(const std::map<std::string, std::size_t>& counts) {
    QStringList out;
    for (const auto& [type, n] : counts) {
        out << QStringLiteral("%1=%2").arg(QString::fromStdString(type)).arg(n);
    }
    return out.join(QLatin1Char(' '));
}

const json::object* findBy(const declarative::EntitySet& entities, const std::string& type,
                           std::string_view field, std::string_view value) {
    const auto it = entities.find(type);
    if (it == entities.end()) {
        return nullptr;
    }
    for (const auto& entity : it->second) {
        const auto f = entity.find(field);
        if (f != entity.end() && f->value().is_string() && f->value().get_string() == value) {
            return &entity;
        }
    }
    return nullptr;
}

std::string str(const json::object& entity, std::string_view field) {
    const auto it = entity.find(field);
    return it != entity.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                         : std::string();
}

// The id inside a reference field ({"id": "..."}), empty when null.
std::string refId(const json::object& entity, std::string_view field) {
    const auto it = entity.find(field);
    if (it == entity.end() || !it->value().is_object()) {
        return {};
    }
    return str(it->value().get_object(), "id");
}

// JSON text with object keys sorted at every level.
std::string canonical(const json::value& value) {
    if (const auto* object = value.if_object()) {
        std::vector<std::pair<std::string, std::string>> fields;
        for (const auto& kv : *object) {
            fields.emplace_back(json::serialize(json::value(kv.key())), canonical(kv.value()));
        }
        std::sort(fields.begin(), fields.end());
        std::string out = "{";
        for (const auto& [k, v] : fields) {
            out += (out.size() > 1 ? "," : "") + k + ":" + v;
        }
        return out + "}";
    }
    if (const auto* array = value.if_array()) {
        std::string out = "[";
        for (const auto& item : *array) {
            out += (out.size() > 1 ? "," : "") + canonical(item);
        }
        return out + "]";
    }
    return json::serialize(value);
}

// Entities of one set keyed by type and id, timestamps left out, for order-independent
// comparison.
std::map<std::string, std::string> byId(const declarative::EntitySet& entities) {
    std::map<std::string, std::string> out;
    for (const auto& [type, list] : entities) {
        for (const auto& entity : list) {
            json::object copy = entity;
            copy.erase("created_at");
            copy.erase("updated_at");
            out[type + "/" + str(entity, "id")] = canonical(copy);
        }
    }
    return out;
}

std::string readData(const char* name) {
    QFile file(QStringLiteral(PORTICO_SOURCE_DIR "/tests/unit/common/data/") + QLatin1String(name));
    if (!file.open(QIODevice::ReadOnly)) {
        qFatal("cannot open test data %s", qPrintable(file.fileName()));
    }
    return file.readAll().toStdString();
}

void replaceAll(std::string& text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

// Replaces the PEM text from the first `begin` marker to the last `end` marker of a YAML block
// scalar by `pem`, indented like the block.
void replacePemBlock(std::string& text, std::string_view begin, std::string_view end,
                     const std::string& pem) {
    const auto first = text.find(begin);
    const auto last = text.rfind(end);
    if (first == std::string::npos || last == std::string::npos) {
        return;
    }
    const auto line_start = text.rfind('\n', first) + 1;
    const std::string indent = text.substr(line_start, first - line_start);
    std::string block;
    std::size_t pos = 0;
    while (pos < pem.size()) {
        auto nl = pem.find('\n', pos);
        if (nl == std::string::npos) {
            nl = pem.size();
        }
        block += (block.empty() ? "" : "\n" + indent) + pem.substr(pos, nl - pos);
        pos = nl + 1;
    }
    text.replace(first, last + end.size() - first, block);
}

std::string trimmed(std::string pem) {
    while (!pem.empty() && pem.back() == '\n') {
        pem.pop_back();
    }
    return pem;
}

// The collected fixtures that Kong rejects as stored (SOURCES.md: redacted private keys,
// placeholder PEMs and ids, an expired CA), with working test values put in their place.
std::string substituteTestKeys(std::string text) {
    const std::string cert = trimmed(readData("test-server.crt"));
    const std::string ca = trimmed(readData("test-ca.crt"));
    if (text.find("REDACTED-PLACEHOLDER-NOT-A-REAL-KEY") != std::string::npos) {
        replacePemBlock(text, "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", cert);
        if (text.find("-----BEGIN RSA PRIVATE KEY-----") != std::string::npos) {
            replacePemBlock(text, "-----BEGIN RSA PRIVATE KEY-----",
                            "-----END RSA PRIVATE KEY-----",
                            trimmed(readData("test-server-pkcs1.key")));
        } else {
            replacePemBlock(text, "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
                            trimmed(readData("test-server-pkcs8.key")));
        }
    }
    // 13: an RS256 jwt secret whose public key is a placeholder
    replaceAll(text, "REPLACE_WITH_OAN_AUTH_JWT_PUBLIC_KEY_PEM",
               json::serialize(json::value(readData("test-server-public.pem"))));
    // 20: a CA certificate that is a placeholder, under an id that is not a UUID
    replaceAll(
        text,
        R"("-----BEGIN CERTIFICATE-----\nREPLACE_ME_WITH_CA_CERT\n-----END CERTIFICATE-----")",
        json::serialize(json::value(ca)));
    replaceAll(text, R"("id": "orders-clients-ca")",
               R"("id": "5d1c4f0e-7c1a-4a53-9e0b-3f2d6c8a9b10")");
    // 16: decK's CA certificate expired in 2022
    if (text.find(
            "cert_digest: b865971cecadd7bac9487901c9269c1fa903b3a3b521a927c5e2513f692ac61e") !=
        std::string::npos) {
        replacePemBlock(text, "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", ca);
        const auto digest = text.find("cert_digest:");
        text.erase(digest, text.find('\n', digest) + 1 - digest);  // no longer that cert's digest
    }
    return text;
}

bool hasError(const declarative::ParseResult& result, const std::string& path,
              const std::string& message_part) {
    return std::any_of(result.errors.begin(), result.errors.end(), [&](const auto& e) {
        return e.path == path && e.message.find(message_part) != std::string::npos;
    });
}

}  // namespace

class TestDeclarative : public QObject {
    Q_OBJECT

private slots:
    void fixtures_data();
    void fixtures();
    void toleratedValuesKeptAsWritten();
    void nonUuidIds();
    void unroutableRegexes();
    void toleratedNextToErrors();
    void fixturesLoadWithRealKeys_data();
    void fixturesLoadWithRealKeys();
    void yamlTypesPreserved();
    void deterministicIds();
    void knownIdsKept();
    void nestedReferencesResolved();
    void topLevelReferencesResolved();
    void basicAuthTransform();
    void deckPluginConfigApplied();
    void formatUpgrade_data();
    void formatUpgrade();
    void errors_data();
    void errors();
    void yamlSyntaxErrorHasLine();
    void yamlOddities();
    void errorBody();
    void duplicates_data();
    void duplicates();
    void roundTrip_data();
    void roundTrip();
    void exportShape();
    void exportAwkwardValues();
    void configHash();
};

// Every fixture loads unchanged, with the entities counted by hand from the file and the
// warnings it must raise (exactly that many, each naming the entity path and the problem). The
// files Kong itself rejects as stored (SOURCES.md: placeholder keys and PEMs, an expired CA, a
// non-UUID id, names from Kong's ingress controller) load with their problems as warnings; the
// Admin API still rejects the same entities (test_validation: declarativeTolerance).
void TestDeclarative::fixtures_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("counts");
    QTest::addColumn<QStringList>("warnings");

    QTest::newRow("01 supabase") << "01-supabase-self-hosted.yml"
                                 << "acls=2 basicauth_credentials=1 consumers=3 "
                                    "keyauth_credentials=4 plugins=41 routes=20 services=20"
                                 << QStringList{};
    QTest::newRow("02 minimal") << "02-docker-kong-minimal.yml"
                                << "" << QStringList{};
    QTest::newRow("03 gsa") << "03-gsa-idva-gateway.yml"
                            << "plugins=2 routes=1 services=1" << QStringList{};
    QTest::newRow("04 blue-green") << "04-blue-green-weighted-upstream.yml"
                                   << "routes=1 services=1 targets=3 upstreams=1" << QStringList{};
    QTest::newRow("05 bookinfo") << "05-klasmart-bookinfo-healthchecks.yml"
                                 << "plugins=1 routes=1 services=1 targets=1 upstreams=1"
                                 << QStringList{};
    QTest::newRow("06 cameras") << "06-healthy-cameras-auth-plugins.yml"
                                << "plugins=7 routes=16 services=16" << QStringList{};
    QTest::newRow("07 pep") << "07-fiware-pep-proxy.yml"
                            << "plugins=1 routes=1 services=1"
                            << QStringList{"plugin 'pep-plugin' is not available in Portico"};
    QTest::newRow("08 kongair") << "08-kongair-prd.yml"
                                << "consumers=3 plugins=2 routes=9 services=5"
                                << QStringList{"_plugin_configs",
                                               "services[3].plugins[0]._config: decK reference "
                                               "'default-jwt' applied",
                                               "consumers[0].groups",
                                               "consumers[1].groups",
                                               "consumers[2].groups",
                                               "consumer_groups: 4 entities not supported",
                                               "vaults: 1 entity not supported",
                                               "plugins[0].config.account_email: vault reference "
                                               "'{vault://aws-us-east-2/KongAir/PRD/kong/acme/"
                                               "account_email}' is not resolved"};
    QTest::newRow("09 kongair ignore")
        << "09-kongair-combined-ignore.yml"
        << "routes=4 services=3" << QStringList{"_ignore: decK metadata"};
    QTest::newRow("10 kic upstream") << "10-kic-upstream-policy.yml"
                                     << "routes=2 services=2 upstreams=2" << QStringList{};
    // A translator golden file: the host and upstream name have an empty label (Kong's
    // check_hostname rejects them), and a tcp route names no sources, destinations or snis.
    QTest::newRow("11 kic tcp")
        << "11-kic-tcproute.yml"
        << "plugins=1 routes=1 services=1 upstreams=1"
        << QStringList{
               "services[0].host: invalid value: tcproute..echo-plaintext.0; kept as "
               "written",
               "services[0].routes[0]: must set one of 'sources', 'destinations', 'snis' "
               "when 'protocols' is 'tcp', 'tls' or 'udp'; kept as written: Portico does "
               "not proxy tcp, tls or udp streams yet",
               "upstreams[0].name: Invalid name ('tcproute..echo-plaintext.0'); must be a "
               "valid hostname; kept as written"};
    QTest::newRow("12 digit") << "12-digit-core-services.yml"
                              << "consumers=2 keyauth_credentials=2 plugins=19 routes=18 "
                                 "services=18"
                              << QStringList{};
    QTest::newRow("13 oan") << "13-oan-auth-service.yml"
                            << "consumers=2 jwt_secrets=1 plugins=18 routes=12 services=1"
                            << QStringList{
                                   "consumers[0].jwt_secrets[0].rsa_public_key: invalid "
                                   "key; kept as written: the jwt plugin does not run"};
    QTest::newRow("14 ai gateway")
        << "14-redis-ai-gateway.yml"
        << "plugins=5 routes=2 services=1"
        << QStringList{"plugin 'ai-proxy-advanced' is not available",
                       "plugin 'ai-semantic-cache' is not available",
                       "plugin 'ai-semantic-prompt-guard' is not available",
                       "plugin 'ai-rate-limiting-advanced' is not available"};
    QTest::newRow("15 graphql opa")
        << "15-graphql-opa-konnect.yml"
        << "plugins=2 routes=1 services=1"
        << QStringList{"_konnect: decK metadata", "plugin 'opa' is not available",
                       "plugin 'openid-connect' is not available"};
    QTest::newRow("16 ca certificates")  // expired in 2022
        << "16-deck-ca-certificates.yml"
        << "ca_certificates=1 services=1"
        << QStringList{
               "ca_certificates[0]: certificate expired, \"Not After\" time is in the "
               "past; kept as written"};
    QTest::newRow("17 consumer groups")
        << "17-deck-consumer-groups.yml"
        << "consumers=3 plugins=1 services=1"
        << QStringList{"consumer_groups: 2 entities not supported", "consumers[0].groups",
                       "consumers[2].groups", "plugin 'rate-limiting-advanced' is not available"};
    QTest::newRow("18 certificate")  // redacted key
        << "18-proxy-docker-certificate.yml"
        << "certificates=1 plugins=1 routes=2 services=2 snis=1"
        << QStringList{"plugin 'tls-metadata-headers'", "certificates[0].key: invalid key: "};
    QTest::newRow("19 json") << "19-kong-api-gateway-test.json"
                             << "consumers=1 keyauth_credentials=1 plugins=4 routes=3 services=3"
                             << QStringList{};
    QTest::newRow("20 json orders")  // a placeholder CA certificate under a non-UUID id
        << "20-kong-stack-orders.json"
        << "acls=1 ca_certificates=1 consumers=2 jwt_secrets=1 plugins=9 routes=3 services=1"
        << QStringList{"plugin 'openid-connect' is not available",
                       "plugin 'rate-limiting-advanced' is not available",
                       "plugin 'mtls-auth' is not available",
                       "ca_certificates[0].id: 'orders-clients-ca' is not a UUID; replaced by ",
                       "ca_certificates[0].cert: invalid certificate: "};
    QTest::newRow("21 json dbless") << "21-dbless-sample.json"
                                    << "routes=1 services=1" << QStringList{};
    QTest::newRow("22 deck tags")  // redacted key
        << "22-deck-entities-with-tags.yml"
        << "acls=1 certificates=1 consumers=2 jwt_secrets=1 keyauth_credentials=1 plugins=2 "
           "routes=3 services=3 snis=3 targets=3 upstreams=1"
        << QStringList{"hmacauth_credentials: 1 entity", "certificates[0].key: invalid key: "};
    QTest::newRow("23 deck credentials")
        << "23-deck-all-credential-types.yml"
        << "acls=1 basicauth_credentials=1 consumers=1 jwt_secrets=1 keyauth_credentials=1"
        << QStringList{"hmacauth_credentials: 1 entity", "mtls_auth_credentials: 1 entity",
                       "oauth2_credentials: 1 entity"};
}

void TestDeclarative::fixtures() {
    QFETCH(QString, file);
    QFETCH(QString, counts);
    QFETCH(QStringList, warnings);

    const auto result = parseText(readFixture(file));
    QVERIFY2(result.ok(), describe(result).constData());
    QCOMPARE(countsText(countsOf(result.entities)), countsText(parseCounts(counts)));
    const QStringList actual = warningsOf(result);
    for (const auto& expected : warnings) {
        QVERIFY2(std::any_of(actual.begin(), actual.end(),
                             [&](const QString& w) { return w.contains(expected); }),
                 qPrintable(expected + QStringLiteral(" not in: ") + actual.join(" | ")));
    }
    QCOMPARE(actual.size(), warnings.size());
}

// What a fixture Kong rejects is loaded as written, not repaired: the values stay, the
// references around them resolve.
void TestDeclarative::toleratedValuesKeptAsWritten() {
    const auto kic = parseText(readFixture("11-kic-tcproute.yml"));
    QVERIFY2(kic.ok(), describe(kic).constData());
    const auto& service = kic.entities.at("services").front();
    QCOMPARE(str(service, "host"), std::string("tcproute..echo-plaintext.0"));
    QCOMPARE(str(service, "protocol"), std::string("tcp"));
    QCOMPARE(str(kic.entities.at("upstreams").front(), "name"),
             std::string("tcproute..echo-plaintext.0"));
    const auto& route = kic.entities.at("routes").front();
    QCOMPARE(refId(route, "service"), str(service, "id"));
    QCOMPARE(json::serialize(route.at("protocols")), std::string("[\"tcp\"]"));
    QVERIFY(route.at("sources").is_null());
    QCOMPARE(refId(kic.entities.at("plugins").front(), "service"), str(service, "id"));

    const auto oan = parseText(readFixture("13-oan-auth-service.yml"));
    QVERIFY2(oan.ok(), describe(oan).constData());
    const auto& secret = oan.entities.at("jwt_secrets").front();
    QCOMPARE(str(secret, "rsa_public_key"),
             std::string("REPLACE_WITH_OAN_AUTH_JWT_PUBLIC_KEY_PEM"));
    QCOMPARE(str(secret, "algorithm"), std::string("RS256"));
    const auto* issuer = findBy(oan.entities, "consumers", "username", "oan-auth-jwt-issuer");
    QVERIFY(issuer);
    QCOMPARE(refId(secret, "consumer"), str(*issuer, "id"));

    const auto deck_ca = parseText(readFixture("16-deck-ca-certificates.yml"));
    QVERIFY2(deck_ca.ok(), describe(deck_ca).constData());
    const auto& ca = deck_ca.entities.at("ca_certificates").front();
    QCOMPARE(str(ca, "id"), std::string("b824e7c0-d116-4c03-9e27-de05c5d30083"));
    QCOMPARE(str(ca, "cert_digest"),
             std::string("b865971cecadd7bac9487901c9269c1fa903b3a3b521a927c5e2513f692ac61e"));

    for (const char* file : {"18-proxy-docker-certificate.yml", "22-deck-entities-with-tags.yml"}) {
        const auto redacted = parseText(readFixture(QString::fromLatin1(file)));
        QVERIFY2(redacted.ok(), describe(redacted).constData());
        const auto& certificate = redacted.entities.at("certificates").front();
        QVERIFY(str(certificate, "key").find("REDACTED-PLACEHOLDER-NOT-A-REAL-KEY") !=
                std::string::npos);
        for (const auto& sni : redacted.entities.at("snis")) {
            QCOMPARE(refId(sni, "certificate"), str(certificate, "id"));
        }
    }

    // 20: the CA certificate's id becomes a UUID derived from the text; the mtls-auth plugin
    // that names it follows; the placeholder PEM is kept and gets no digest.
    const auto orders = parseText(readFixture("20-kong-stack-orders.json"));
    QVERIFY2(orders.ok(), describe(orders).constData());
    const std::string ca_id =
        schema::uuidV5(declarative::kIdNamespace, "ca_certificates:id:orders-clients-ca");
    const auto& placeholder = orders.entities.at("ca_certificates").front();
    QCOMPARE(str(placeholder, "id"), ca_id);
    QVERIFY(str(placeholder, "cert").find("REPLACE_ME_WITH_CA_CERT") != std::string::npos);
    QVERIFY(placeholder.at("cert_digest").is_null());
    const auto* mtls = findBy(orders.entities, "plugins", "name", "mtls-auth");
    QVERIFY(mtls);
    QCOMPARE(json::serialize(mtls->at("config").at("ca_certificates")), "[\"" + ca_id + "\"]");
    QVERIFY(warningsOf(orders).join('\n').contains(QString::fromStdString(ca_id)));
}

// Ids that are not UUIDs: replaced by the UUIDv5 of "<table>:id:<text>", the same in every
// load, distinct per table, and every reference to the text in the file follows.
void TestDeclarative::nonUuidIds() {
    const std::string text =
        "_format_version: \"3.0\"\n"
        "ca_certificates:\n"
        "- id: my-ca\n"
        "  cert: placeholder\n"
        "services:\n"
        "- id: orders\n"
        "  name: orders-service\n"
        "  url: https://orders.internal\n"
        "  ca_certificates: [my-ca]\n"
        "  routes:\n"
        "  - name: nested\n"
        "    paths: [/nested]\n"
        "routes:\n"
        "- id: orders\n"
        "  paths: [/by-id]\n"
        "  service: {id: orders}\n"
        "- name: by-text\n"
        "  paths: [/by-text]\n"
        "  service: orders\n";
    const auto first = parseText(text);
    QVERIFY2(first.ok(), describe(first).constData());
    const auto second = parseText(text);
    QCOMPARE(byId(first.entities), byId(second.entities));

    const std::string service_id = schema::uuidV5(declarative::kIdNamespace, "services:id:orders");
    const std::string route_id = schema::uuidV5(declarative::kIdNamespace, "routes:id:orders");
    const std::string ca_id = schema::uuidV5(declarative::kIdNamespace, "ca_certificates:id:my-ca");
    QVERIFY(service_id != route_id);
    const auto& service = first.entities.at("services").front();
    QCOMPARE(str(service, "id"), service_id);
    QCOMPARE(json::serialize(service.at("ca_certificates")), "[\"" + ca_id + "\"]");
    QVERIFY(findBy(first.entities, "routes", "id", route_id));
    for (const auto& route : first.entities.at("routes")) {
        QCOMPARE(refId(route, "service"), service_id);
    }
    const QStringList warnings = warningsOf(first);
    for (const char* expected : {"ca_certificates[0].id: 'my-ca' is not a UUID; replaced by ",
                                 "services[0].id: 'orders' is not a UUID; replaced by ",
                                 "routes[0].id: 'orders' is not a UUID; replaced by ",
                                 "ca_certificates[0].cert: invalid certificate: "}) {
        QVERIFY2(std::any_of(warnings.begin(), warnings.end(),
                             [&](const QString& w) { return w.startsWith(expected); }),
                 qPrintable(warnings.join(" | ")));
    }
    QCOMPARE(warnings.size(), 4);

    // Two entities of a table under the same text are the same id: a duplicate, as in Kong.
    const auto twice = parseText(
        "_format_version: \"3.0\"\nservices:\n- id: same\n  host: a.internal\n"
        "- id: same\n  host: b.internal\n");
    QVERIFY(!twice.ok());
    QVERIFY2(hasError(twice, "services[1]",
                      "primary key set to '" +
                          schema::uuidV5(declarative::kIdNamespace, "services:id:same") +
                          "' already declared at services[0]"),
             describe(twice).constData());

    // A reference to an id nobody declares still fails; a non-string id is still a type error.
    const auto dangling =
        parseText("_format_version: \"3.0\"\nroutes:\n- paths: [/x]\n  service: {id: nowhere}\n");
    QVERIFY(hasError(dangling, "routes[0].service", "could not be resolved"));
    const auto number = parseText("_format_version: \"3.0\"\nservices:\n- id: 5\n  host: a\n");
    QVERIFY(hasError(number, "services[0].id", "expected a string"));
}

// Regexes RE2 cannot compile: an error on the Admin API, in a file a warning that says the
// route is kept but not routable.
void TestDeclarative::unroutableRegexes() {
    const auto result = parseText(
        "_format_version: \"3.0\"\n"
        "services:\n"
        "- name: s\n"
        "  host: s.internal\n"
        "  routes:\n"
        "  - name: lookbehind\n"
        "    paths: ['/ok', '~/(?<=a)b']\n"
        "  - name: header\n"
        "    paths: [/h]\n"
        "    headers: {x-id: ['~*(a)\\1']}\n"
        "  - name: named-group\n"
        "    paths: ['~/orders/(?<id>\\d+)$']\n");
    QVERIFY2(result.ok(), describe(result).constData());
    QCOMPARE(result.entities.at("routes").size(), std::size_t{3});
    const auto* lookbehind = findBy(result.entities, "routes", "name", "lookbehind");
    QVERIFY(lookbehind);
    QCOMPARE(json::serialize(lookbehind->at("paths")), std::string("[\"/ok\",\"~/(?<=a)b\"]"));
    QCOMPARE(warningsOf(result),
             (QStringList{"services[0].routes[0].paths[1]: invalid regex: '/(?<=a)b' (PCRE "
                          "returned: invalid perl operator: (?<); the route is kept but not "
                          "routable: RE2 cannot compile this regex, so the router never matches "
                          "it",
                          "services[0].routes[1].headers.x-id: invalid regex: '(a)\\1' (PCRE "
                          "returned: invalid escape sequence: \\1); the route is kept but not "
                          "routable: RE2 cannot compile this regex, so the router never matches "
                          "it"}));

    // 1.1 files: a path upgraded to a regex is checked the same way
    const auto old = parseText(
        "_format_version: \"1.1\"\nservices:\n- name: s\n  host: s.internal\n  routes:\n"
        "  - name: r\n    paths: ['/(a)\\1']\n");
    QVERIFY2(old.ok(), describe(old).constData());
    QCOMPARE(warningsOf(old).size(), 1);
    QVERIFY(warningsOf(old).front().startsWith(
        "services[0].routes[0].paths[0]: invalid regex: '/(a)\\1'"));
}

// A tolerated problem never hides a real one: the file fails on the real one, and the
// tolerated one is still reported as a warning.
void TestDeclarative::toleratedNextToErrors() {
    const auto result = parseText(
        "_format_version: \"3.0\"\n"
        "services:\n"
        "- name: s\n"
        "  host: a..b\n"
        "  protocol: tcp\n"
        "  port: 5432\n"
        "  colour: blue\n");
    QVERIFY(!result.ok());
    QVERIFY(result.entities.empty());
    QCOMPARE(result.errors.size(), std::size_t{1});
    QCOMPARE(result.errors.front().path, std::string("services[0].colour"));
    QCOMPARE(result.errors.front().message, std::string("unknown field"));
    QCOMPARE(warningsOf(result).size(), 1);
    QVERIFY(warningsOf(result).front().startsWith("services[0].host: invalid value: a..b; "));
}

// The fixtures Kong rejects as stored, with the redacted or placeholder values replaced in
// memory (the files stay as collected): then nothing needs tolerating.
void TestDeclarative::fixturesLoadWithRealKeys_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("counts");

    QTest::newRow("13 oan") << "13-oan-auth-service.yml"
                            << "consumers=2 jwt_secrets=1 plugins=18 routes=12 services=1";
    QTest::newRow("16 ca certificates") << "16-deck-ca-certificates.yml"
                                        << "ca_certificates=1 services=1";
    QTest::newRow("18 certificate") << "18-proxy-docker-certificate.yml"
                                    << "certificates=1 plugins=1 routes=2 services=2 snis=1";
    QTest::newRow("20 json orders") << "20-kong-stack-orders.json"
                                    << "acls=1 ca_certificates=1 consumers=2 jwt_secrets=1 "
                                       "plugins=9 routes=3 services=1";
    QTest::newRow("22 deck tags") << "22-deck-entities-with-tags.yml"
                                  << "acls=1 certificates=1 consumers=2 jwt_secrets=1 "
                                     "keyauth_credentials=1 plugins=2 routes=3 services=3 snis=3 "
                                     "targets=3 upstreams=1";
}

void TestDeclarative::fixturesLoadWithRealKeys() {
    QFETCH(QString, file);
    QFETCH(QString, counts);
    std::string text = readFixture(file);
    text = substituteTestKeys(text);
    const auto result = parseText(text);
    QVERIFY2(result.ok(), describe(result).constData());
    QCOMPARE(countsText(countsOf(result.entities)), countsText(parseCounts(counts)));
    for (const auto& warning : warningsOf(result)) {
        QVERIFY2(!warning.contains("kept as written") && !warning.contains("not a UUID"),
                 qPrintable(warning));
    }
}

void TestDeclarative::yamlTypesPreserved() {
    const auto result = parseText(R"(_format_version: "3.0"
plugins:
- name: my-own-plugin
  config:
    float_exp: 1.2096e+06
    float: 0.5
    int: 7
    negative: -3
    big: 18446744073709551615
    yes_word: yes
    bool: true
    null_value: null
    tilde: ~
    quoted_int: "7"
    quoted_bool: 'true'
    quoted_null: "null"
    block: |
      line one
      line two
    folded: >-
      one
      two
    flow: [1, "two", {three: 3.0}]
    anchor: &shared {a: 1}
    merged:
      <<: *shared
      b: 2
)");
    QVERIFY2(result.ok(), describe(result).constData());
    const auto& plugin = result.entities.at("plugins").front();
    const auto& config = plugin.at("config").as_object();
    QVERIFY(config.at("float_exp").is_double());
    QCOMPARE(config.at("float_exp").get_double(), 1209600.0);
    QVERIFY(config.at("float").is_double());
    QCOMPARE(config.at("int").as_int64(), std::int64_t{7});
    QCOMPARE(config.at("negative").as_int64(), std::int64_t{-3});
    QVERIFY(config.at("big").is_uint64());
    QCOMPARE(config.at("yes_word").as_string(), "yes");
    QCOMPARE(config.at("bool").as_bool(), true);
    QVERIFY(config.at("null_value").is_null());
    QVERIFY(config.at("tilde").is_null());
    QCOMPARE(config.at("quoted_int").as_string(), "7");
    QCOMPARE(config.at("quoted_bool").as_string(), "true");
    QCOMPARE(config.at("quoted_null").as_string(), "null");
    QCOMPARE(config.at("block").as_string(), "line one\nline two\n");
    QCOMPARE(config.at("folded").as_string(), "one two");
    QCOMPARE(json::serialize(config.at("flow")), std::string(R"([1,"two",{"three":3E0}])"));
    QCOMPARE(json::serialize(config.at("merged")), std::string(R"({"b":2,"a":1})"));
    QCOMPARE(result.warnings.size(), std::size_t{1});  // my-own-plugin is not a Portico plugin
}

void TestDeclarative::deterministicIds() {
    for (const char* file : {"01-supabase-self-hosted.yml", "06-healthy-cameras-auth-plugins.yml",
                             "12-digit-core-services.yml", "23-deck-all-credential-types.yml"}) {
        const std::string text = readFixture(QString::fromLatin1(file));
        const auto first = parseText(text);
        const auto second = parseText(text);
        QVERIFY2(first.ok(), describe(first).constData());
        QCOMPARE(byId(first.entities), byId(second.entities));
        for (const auto& [type, list] : first.entities) {
            for (const auto& entity : list) {
                QVERIFY(schema::isUuid(str(entity, "id")));
            }
        }
    }
    // Ids derive from names and scopes, not positions: reordering keeps them.
    const auto a = parseText(R"(_format_version: "3.0"
services:
- name: a
  host: a.internal
  routes: [{name: ra, paths: [/a]}, {paths: [/unnamed]}]
- name: b
  host: b.internal
consumers:
- username: alice
  keyauth_credentials: [{key: k1}]
)");
    const auto b = parseText(R"(_format_version: "3.0"
consumers:
- username: alice
  keyauth_credentials: [{key: k1}]
services:
- name: b
  host: b.internal
- name: a
  host: a.internal
  routes: [{name: ra, paths: [/a]}, {paths: [/unnamed]}]
)");
    QVERIFY2(a.ok(), describe(a).constData());
    QVERIFY2(b.ok(), describe(b).constData());
    for (const auto& [type, field, value] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"services", "name", "a"},
             {"services", "name", "b"},
             {"routes", "name", "ra"},
             {"consumers", "username", "alice"},
             {"keyauth_credentials", "key", "k1"}}) {
        const auto* ea = findBy(a.entities, type, field, value);
        const auto* eb = findBy(b.entities, type, field, value);
        QVERIFY(ea && eb);
        QCOMPARE(str(*ea, "id"), str(*eb, "id"));
    }
    const auto& service_a = *findBy(a.entities, "services", "name", "a");
    QCOMPARE(str(service_a, "id"), schema::uuidV5(declarative::kIdNamespace, "services:a"));
}

void TestDeclarative::knownIdsKept() {
    const auto kongair = parseText(readFixture("08-kongair-prd.yml"));
    QVERIFY2(kongair.ok(), describe(kongair).constData());
    const auto* flights = findBy(kongair.entities, "services", "name", "flights-service");
    QVERIFY(flights);
    QCOMPARE(str(*flights, "id"), std::string("0cef4d36-9c39-5ac2-9d9f-190d8ea8a252"));
    const auto* route =
        findBy(kongair.entities, "routes", "id", "3210c3ed-9976-500d-ac03-07eaac972ad0");
    QVERIFY(route);
    QCOMPARE(refId(*route, "service"), str(*flights, "id"));

    const auto sample = parseText(readFixture("21-dbless-sample.json"));
    QVERIFY2(sample.ok(), describe(sample).constData());
    QCOMPARE(str(sample.entities.at("routes").front(), "id"),
             std::string("e867baf3-b852-5102-9d4c-21821056be40"));
    QCOMPARE(refId(sample.entities.at("routes").front(), "service"),
             std::string("92c0cc6a-b7e7-5bd4-939b-720b3aada806"));
}

void TestDeclarative::nestedReferencesResolved() {
    const auto supabase = parseText(readFixture("01-supabase-self-hosted.yml"));
    QVERIFY2(supabase.ok(), describe(supabase).constData());
    const auto& e = supabase.entities;
    // `protocol: ws` next to `url`: the url shorthand sets the protocol, as in Kong
    const auto* realtime = findBy(e, "services", "name", "realtime-v1-ws");
    QVERIFY(realtime);
    QCOMPARE(str(*realtime, "protocol"), std::string("http"));
    const auto* service = findBy(e, "services", "name", "auth-v1");
    const auto* route = findBy(e, "routes", "name", "auth-v1-all");
    QVERIFY(service && route);
    QCOMPARE(refId(*route, "service"), str(*service, "id"));
    std::size_t on_service = 0;
    for (const auto& plugin : e.at("plugins")) {
        if (refId(plugin, "service") == str(*service, "id")) {
            ++on_service;
            QVERIFY(refId(plugin, "route").empty());
            QVERIFY(refId(plugin, "consumer").empty());
        }
    }
    QCOMPARE(on_service, std::size_t{4});
    const auto* anon = findBy(e, "consumers", "username", "anon");
    QVERIFY(anon);
    std::size_t anon_keys = 0;
    for (const auto& key : e.at("keyauth_credentials")) {
        anon_keys += refId(key, "consumer") == str(*anon, "id") ? 1 : 0;
    }
    QCOMPARE(anon_keys, std::size_t{2});

    // a route-scoped plugin nested in a route nested in a service: route set, service not
    const auto bookinfo = parseText(readFixture("05-klasmart-bookinfo-healthchecks.yml"));
    QVERIFY2(bookinfo.ok(), describe(bookinfo).constData());
    const auto& limiter = bookinfo.entities.at("plugins").front();
    QCOMPARE(refId(limiter, "route"), str(bookinfo.entities.at("routes").front(), "id"));
    QVERIFY(refId(limiter, "service").empty());
    const auto& target = bookinfo.entities.at("targets").front();
    QCOMPARE(refId(target, "upstream"), str(bookinfo.entities.at("upstreams").front(), "id"));

    // a consumer-scoped plugin nested under its consumer (decK dump)
    const auto deck = parseText(substituteTestKeys(readFixture("22-deck-entities-with-tags.yml")));
    QVERIFY2(deck.ok(), describe(deck).constData());
    const auto* yolo = findBy(deck.entities, "consumers", "username", "yolo");
    const auto* limiting = findBy(deck.entities, "plugins", "name", "rate-limiting");
    QVERIFY(yolo && limiting);
    QCOMPARE(refId(*limiting, "consumer"), str(*yolo, "id"));
    for (const auto& sni : deck.entities.at("snis")) {
        QCOMPARE(refId(sni, "certificate"), std::string("13c562a1-191c-4464-9b18-e5222b46035b"));
    }
}

void TestDeclarative::topLevelReferencesResolved() {
    // acls and basic-auth credentials at the top level, by consumer username
    const auto supabase = parseText(readFixture("01-supabase-self-hosted.yml"));
    QVERIFY2(supabase.ok(), describe(supabase).constData());
    const auto* admin_acl = findBy(supabase.entities, "acls", "group", "admin");
    const auto* service_role = findBy(supabase.entities, "consumers", "username", "service_role");
    QVERIFY(admin_acl && service_role);
    QCOMPARE(refId(*admin_acl, "consumer"), str(*service_role, "id"));

    // plugins scoped to a service by name
    const auto cameras = parseText(readFixture("06-healthy-cameras-auth-plugins.yml"));
    QVERIFY2(cameras.ok(), describe(cameras).constData());
    const auto* statsd = findBy(cameras.entities, "plugins", "name", "statsd");
    const auto* camera1 = findBy(cameras.entities, "services", "name", "camera-1-service");
    QVERIFY(statsd && camera1);
    QCOMPARE(refId(*statsd, "service"), str(*camera1, "id"));
    const auto* prometheus = findBy(cameras.entities, "plugins", "name", "prometheus");
    QVERIFY(prometheus && refId(*prometheus, "service").empty());

    // routes referencing a service as {name: ...}; plugins referencing routes by name
    const auto ai = parseText(readFixture("14-redis-ai-gateway.yml"));
    QVERIFY2(ai.ok(), describe(ai).constData());
    const auto* openai = findBy(ai.entities, "services", "name", "openai-service");
    const auto* chat = findBy(ai.entities, "routes", "name", "openai-chat");
    QVERIFY(openai && chat);
    QCOMPARE(refId(*chat, "service"), str(*openai, "id"));
    std::size_t on_chat = 0;
    for (const auto& plugin : ai.entities.at("plugins")) {
        on_chat += refId(plugin, "route") == str(*chat, "id") ? 1 : 0;
    }
    QCOMPARE(on_chat, std::size_t{4});

    // a plugin scoped to a consumer by username
    const auto groups = parseText(readFixture("17-deck-consumer-groups.yml"));
    QVERIFY2(groups.ok(), describe(groups).constData());
    const auto* bar = findBy(groups.entities, "consumers", "username", "bar");
    QVERIFY(bar);
    QCOMPARE(refId(groups.entities.at("plugins").front(), "consumer"), str(*bar, "id"));
    QVERIFY(!findBy(groups.entities, "consumers", "username", "foo")->contains("groups"));

    // references by id, as strings and as {id: ...}
    const auto by_id = parseText(R"(_format_version: "3.0"
services:
- id: 6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11
  host: a.internal
routes:
- name: r1
  paths: [/r1]
  service: 6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11
- name: r2
  paths: [/r2]
  service: {id: 6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11}
)");
    QVERIFY2(by_id.ok(), describe(by_id).constData());
    for (const auto& route : by_id.entities.at("routes")) {
        QCOMPARE(refId(route, "service"), std::string("6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11"));
    }
}

void TestDeclarative::basicAuthTransform() {
    const auto supabase = parseText(readFixture("01-supabase-self-hosted.yml"));
    QVERIFY2(supabase.ok(), describe(supabase).constData());
    const auto& credential = supabase.entities.at("basicauth_credentials").front();
    const auto* dashboard = findBy(supabase.entities, "consumers", "username", "DASHBOARD");
    QVERIFY(dashboard);
    QCOMPARE(refId(credential, "consumer"), str(*dashboard, "id"));
    QCOMPARE(str(credential, "password"),
             schema::hashBasicAuthPassword("$DASHBOARD_PASSWORD", str(*dashboard, "id")));

    const auto raw = parseText(R"(_format_version: "3.0"
_transform: false
consumers:
- username: c1
  basicauth_credentials:
  - username: c1
    password: 1aa4ed9059d4d97bf4575aad4ea2058d6e5e8f35
)");
    QVERIFY2(raw.ok(), describe(raw).constData());
    QCOMPARE(str(raw.entities.at("basicauth_credentials").front(), "password"),
             std::string("1aa4ed9059d4d97bf4575aad4ea2058d6e5e8f35"));
}

// decK's `_config` reference: the named `_plugin_configs` entry becomes the plugin's config.
void TestDeclarative::deckPluginConfigApplied() {
    const auto result = parseText(readFixture("08-kongair-prd.yml"));
    QVERIFY2(result.ok(), describe(result).constData());
    const auto* jwt = findBy(result.entities, "plugins", "name", "jwt");
    QVERIFY(jwt);
    QVERIFY(!jwt->contains("_config"));
    const auto& config = jwt->at("config").as_object();
    QCOMPARE(config.at("maximum_expiration").to_number<double>(), 86400.0);
    QCOMPARE(config.at("key_claim_name").as_string(), "iss");
}

void TestDeclarative::formatUpgrade_data() {
    QTest::addColumn<QString>("version");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("expected");

    QTest::newRow("1.1 regex") << "1.1"
                               << R"(/users/\d+$)"
                               << R"(~/users/\d+$)";
    QTest::newRow("2.1 regex group") << "2.1"
                                     << "/api/(v1|v2)/items"
                                     << "~/api/(v1|v2)/items";
    QTest::newRow("1.1 plain prefix") << "1.1"
                                      << "/users/me"
                                      << "/users/me";
    QTest::newRow("2.1 allowed chars") << "2.1"
                                       << "/a-b_c.d~e/%20"
                                       << "/a-b_c.d~e/%20";
    QTest::newRow("3.0 regex kept") << "3.0"
                                    << R"(~/users/\d+$)"
                                    << R"(~/users/\d+$)";
    QTest::newRow("3.0 prefix kept") << "3.0"
                                     << "/users"
                                     << "/users";
}

void TestDeclarative::formatUpgrade() {
    QFETCH(QString, version);
    QFETCH(QString, path);
    QFETCH(QString, expected);
    const std::string text = "_format_version: \"" + version.toStdString() +
                             "\"\nservices:\n- name: s\n  host: s.internal\n  routes:\n"
                             "  - name: r\n    paths:\n    - '" +
                             path.toStdString() + "'\n";
    const auto result = parseText(text);
    QVERIFY2(result.ok(), describe(result).constData());
    QCOMPARE(result.format_version, version.toStdString());
    const auto& paths = result.entities.at("routes").front().at("paths").as_array();
    QCOMPARE(QString::fromStdString(std::string(paths.at(0).as_string())), expected);
}

void TestDeclarative::errors_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");
    QTest::addColumn<int>("line");

    QTest::newRow("missing format version") << "services: []\n"
                                            << "_format_version"
                                            << "required field missing" << 0;
    QTest::newRow("format version number") << "_format_version: 3.0\n"
                                           << "_format_version"
                                           << "expected a string" << 1;
    QTest::newRow("format version unknown") << "_format_version: \"4.0\"\n"
                                            << "_format_version"
                                            << "expected one of: 1.1, 2.1, 3.0" << 1;
    QTest::newRow("transform not boolean") << "_format_version: \"3.0\"\n_transform: maybe\n"
                                           << "_transform"
                                           << "expected a boolean" << 2;
    QTest::newRow("not an object") << "- a\n- b\n"
                                   << ""
                                   << "expected an object" << 0;
    QTest::newRow("unknown route field") << R"(_format_version: "3.0"
services:
- name: s
  host: s.internal
  routes:
  - name: r
    paths: [/r]
    foo: bar
)"
                                         << "services[0].routes[0].foo"
                                         << "unknown field" << 8;
    QTest::newRow("bad path element") << R"(_format_version: "3.0"
services:
- name: s
  host: s.internal
- name: t
  host: t.internal
  routes:
  - name: r
    paths:
    - /ok
    - no-slash
)"
                                      << "services[1].routes[0].paths[1]"
                                      << "" << 11;
    QTest::newRow("unresolved service")
        << R"(_format_version: "3.0"
routes:
- name: r
  paths: [/r]
  service: nope
)"
        << "routes[0].service"
        << "invalid reference 'service: nope' could not be resolved" << 5;
    QTest::newRow("unresolved consumer object") << R"(_format_version: "3.0"
plugins:
- name: key-auth
  consumer: {username: ghost}
)"
                                                << "plugins[0].consumer"
                                                << "could not be resolved (no such entry in "
                                                   "'consumers')"
                                                << 4;
    QTest::newRow("unresolved id") << R"(_format_version: "3.0"
upstreams:
- name: up
targets:
- target: 10.0.0.1:80
  upstream: 0b1f5c1e-0000-4000-8000-000000000000
)"
                                   << "targets[0].upstream"
                                   << "could not be resolved" << 6;
    QTest::newRow("entity not a record") << R"(_format_version: "3.0"
services:
- just-a-string
)"
                                         << "services[0]"
                                         << "expected a record" << 3;
    QTest::newRow("list not an array") << R"(_format_version: "3.0"
services:
  name: s
)"
                                       << "services"
                                       << "expected an array" << 2;
    QTest::newRow("service missing host") << R"(_format_version: "3.0"
services:
- name: s
)"
                                          << "services[0].host"
                                          << "required field missing" << 3;
}

void TestDeclarative::errors() {
    QFETCH(QString, text);
    QFETCH(QString, path);
    QFETCH(QString, message);
    QFETCH(int, line);
    const auto result = parseText(text.toStdString());
    QVERIFY(!result.ok());
    QVERIFY(result.entities.empty());
    const auto it = std::find_if(result.errors.begin(), result.errors.end(),
                                 [&](const auto& e) { return e.path == path.toStdString(); });
    QVERIFY2(it != result.errors.end(), describe(result).constData());
    QVERIFY2(QString::fromStdString(it->message).contains(message), it->message.c_str());
    QCOMPARE(it->line, line);
}

void TestDeclarative::yamlSyntaxErrorHasLine() {
    const auto result = parseText(
        "_format_version: \"3.0\"\nservices:\n- name: [unclosed\n"
        "  host: x\n");
    QCOMPARE(result.errors.size(), std::size_t{1});
    const auto& error = result.errors.front();
    QVERIFY(error.line >= 3);
    QVERIFY2(QString::fromStdString(error.message)
                 .startsWith("failed parsing declarative configuration: "),
             error.message.c_str());
    const auto body = result.toApiError().toJson();
    QCOMPARE(body.at("code").as_int64(), std::int64_t{14});
    QVERIFY(body.at("fields").as_object().at("error").as_string().starts_with(
        "failed parsing declarative configuration"));

    const auto tab = parseText("_format_version: \"3.0\"\nservices:\n\t- name: x\n");
    QVERIFY(!tab.ok());
    QVERIFY(tab.errors.front().line > 0);
}

// What Kong's YAML reader tolerates is loaded the same way, with a warning.
void TestDeclarative::yamlOddities() {
    const auto duplicate = parseText(R"(_format_version: "3.0"
services:
- name: s
  host: first.internal
  host: second.internal
)");
    QVERIFY2(duplicate.ok(), describe(duplicate).constData());
    QCOMPARE(str(duplicate.entities.at("services").front(), "host"),
             std::string("second.internal"));
    QCOMPARE(warningsOf(duplicate),
             QStringList{"services[0].host: duplicate key at line 5, the last value is used"});

    const auto documents = parseText(
        "_format_version: \"3.0\"\nservices: [{name: a, host: a}]\n"
        "---\nservices: [{name: b, host: b}]\n");
    QVERIFY2(documents.ok(), describe(documents).constData());
    QCOMPARE(documents.entities.at("services").size(), std::size_t{1});
    QCOMPARE(warningsOf(documents).size(), 1);
    QVERIFY(warningsOf(documents).front().contains("only the first is used"));

    // a leading document marker and comments only before it are fine (fixture 03 has one)
    const auto marker = parseText("# comment\n---\n_format_version: \"3.0\"\n");
    QVERIFY2(marker.ok(), describe(marker).constData());
    QVERIFY(marker.warnings.empty());

    // an empty text is not a configuration
    QVERIFY(!parseText("").ok());
    QVERIFY(!parseText("# only a comment\n").ok());

    // hostile input: deep nesting and alias expansion end in an error, not a crash
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    QVERIFY(!parseText("_format_version: \"3.0\"\nx: " + deep + "\n").ok());
    std::string bomb = "_format_version: \"3.0\"\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 8; ++i) {
        bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j) {
            bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
        }
        bomb += "]\n";
    }
    const auto exploded = parseText(bomb);
    QVERIFY(!exploded.ok());
    QVERIFY2(exploded.errors.front().message.find("too many values") != std::string::npos,
             exploded.errors.front().message.c_str());
}

void TestDeclarative::errorBody() {
    const auto result = parseText(R"(_format_version: "3.0"
services:
- name: ok
  host: ok.internal
- name: s
  host: s.internal
  routes:
  - name: r
    paths: [/r]
    foo: bar
routes:
- name: lost
  paths: [/lost]
  service: nope
)");
    QVERIFY(!result.ok());
    const auto error = result.toApiError();
    QCOMPARE(error.http_status, 400);
    QCOMPARE(static_cast<int>(error.code), 14);
    QCOMPARE(error.name, std::string("invalid declarative configuration"));
    QVERIFY2(error.message.starts_with("declarative config is invalid: {"), error.message.c_str());
    const json::value fields(error.fields);
    // fields mirror the file: services[1].routes[0].foo, routes[0].service
    const auto& services = fields.at("services").as_array();
    QCOMPARE(services.size(), std::size_t{2});
    QVERIFY(services.at(0).is_null());
    QCOMPARE(services.at(1).at("routes").at(0).at("foo").as_string(), "unknown field");
    QVERIFY(fields.at("routes").at(0).at("service").as_string().starts_with(
        "invalid reference 'service: nope'"));
    const auto& flattened = error.extra.at("flattened_errors").as_array();
    QCOMPARE(flattened.size(), std::size_t{2});
    bool route_found = false;
    for (const auto& item : flattened) {
        if (item.at("entity_path").as_string() == "services[1].routes[0]") {
            route_found = true;
            QCOMPARE(item.at("entity_type").as_string(), "route");
            QCOMPARE(item.at("errors").at(0).at("field").as_string(), "foo");
            QCOMPARE(item.at("errors").at(0).at("type").as_string(), "field");
        }
    }
    QVERIFY(route_found);
    const auto body = error.toJson();
    QCOMPARE(body.at("code").as_int64(), std::int64_t{14});
    QVERIFY(body.contains("fields"));
}

void TestDeclarative::duplicates_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");

    QTest::newRow("service names") << R"(_format_version: "3.0"
services:
- name: s
  host: a.internal
- name: s
  host: b.internal
)"
                                   << "services[1]"
                                   << "uniqueness violation: 'services' entity with name set to "
                                      "'s' already declared at services[0]";
    QTest::newRow("route names across nesting") << R"(_format_version: "3.0"
services:
- name: s
  host: a.internal
  routes: [{name: r, paths: [/a]}]
routes:
- name: r
  paths: [/b]
)"
                                                << "routes[0]"
                                                << "'routes' entity with name set to 'r' already "
                                                   "declared at services[0].routes[0]";
    QTest::newRow("same id") << R"(_format_version: "3.0"
services:
- id: 6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11
  host: a.internal
- id: 6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11
  host: b.internal
)"
                             << "services[1]"
                             << "primary key set to '6f3a1c52-4b0e-4c1e-9a57-2c1f0d6b8e11' "
                                "already declared at services[0]";
    QTest::newRow("consumer usernames") << R"(_format_version: "3.0"
consumers:
- username: alice
- username: alice
  custom_id: other
)"
                                        << "consumers[1]"
                                        << "username set to 'alice' already declared at "
                                           "consumers[0]";
    QTest::newRow("plugin twice on one service") << R"(_format_version: "3.0"
services:
- name: s
  host: a.internal
  plugins: [{name: key-auth}]
plugins:
- name: key-auth
  service: s
)"
                                                 << "plugins[0]"
                                                 << "already declared at services[0].plugins[0]";
    QTest::newRow("target twice in upstream") << R"(_format_version: "3.0"
upstreams:
- name: up
  targets:
  - target: 10.0.0.1
  - target: 10.0.0.1:8000
)"
                                              << "upstreams[0].targets[1]"
                                              << "already declared at upstreams[0].targets[0]";
}

void TestDeclarative::duplicates() {
    QFETCH(QString, text);
    QFETCH(QString, path);
    QFETCH(QString, message);
    const auto result = parseText(text.toStdString());
    QVERIFY(!result.ok());
    QVERIFY2(hasError(result, path.toStdString(), message.toStdString()),
             describe(result).constData());
    QCOMPARE(result.errors.size(), std::size_t{1});
}

void TestDeclarative::roundTrip_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<declarative::ExportFormat>("format");
    QTest::addColumn<bool>("as_stored");  // false: test keys substituted (substituteTestKeys)

    const std::vector<const char*> files = {"01-supabase-self-hosted.yml",
                                            "03-gsa-idva-gateway.yml",
                                            "05-klasmart-bookinfo-healthchecks.yml",
                                            "06-healthy-cameras-auth-plugins.yml",
                                            "08-kongair-prd.yml",
                                            "10-kic-upstream-policy.yml",
                                            "14-redis-ai-gateway.yml",
                                            "17-deck-consumer-groups.yml",
                                            "19-kong-api-gateway-test.json",
                                            "22-deck-entities-with-tags.yml",
                                            "23-deck-all-credential-types.yml"};
    for (const char* file : files) {
        QTest::newRow(qPrintable(QStringLiteral("%1 yaml").arg(QLatin1String(file).left(2))))
            << QString::fromLatin1(file) << declarative::ExportFormat::Yaml << false;
        QTest::newRow(qPrintable(QStringLiteral("%1 json").arg(QLatin1String(file).left(2))))
            << QString::fromLatin1(file) << declarative::ExportFormat::Json << false;
    }
    // Tolerated values are exported as loaded and load again the same way.
    for (const char* file : {"11-kic-tcproute.yml", "13-oan-auth-service.yml",
                             "16-deck-ca-certificates.yml", "18-proxy-docker-certificate.yml",
                             "20-kong-stack-orders.json", "22-deck-entities-with-tags.yml"}) {
        const QString name = QLatin1String(file).left(2);
        QTest::newRow(qPrintable(name + QStringLiteral(" as stored yaml")))
            << QString::fromLatin1(file) << declarative::ExportFormat::Yaml << true;
        QTest::newRow(qPrintable(name + QStringLiteral(" as stored json")))
            << QString::fromLatin1(file) << declarative::ExportFormat::Json << true;
    }
}

void TestDeclarative::roundTrip() {
    QFETCH(QString, file);
    QFETCH(declarative::ExportFormat, format);
    QFETCH(bool, as_stored);
    const std::string text = readFixture(file);
    const auto original = parseText(as_stored ? text : substituteTestKeys(text));
    QVERIFY2(original.ok(), describe(original).constData());

    const std::string exported = declarative::exportConfig(original.entities, format);
    const auto reread = parseText(exported);
    QVERIFY2(reread.ok(),
             (describe(reread) + "\n" + QByteArray::fromStdString(exported)).constData());
    QCOMPARE(byId(reread.entities), byId(original.entities));
    QCOMPARE(declarative::configHash(reread.entities), declarative::configHash(original.entities));
    if (as_stored) {
        // the same problems again, minus the id replacements (the export carries the UUIDs)
        QStringList expected;
        for (const auto& warning : warningsOf(original)) {
            if (warning.contains("kept") && !warning.contains("is not available")) {
                expected << warning;
            }
        }
        QStringList again;
        for (const auto& warning : warningsOf(reread)) {
            if (warning.contains("kept") && !warning.contains("is not available")) {
                again << warning;
            }
        }
        QCOMPARE(again, expected);
    }
    // exporting again gives the same text
    QCOMPARE(declarative::exportConfig(reread.entities, format), exported);
}

void TestDeclarative::exportShape() {
    const auto result = parseText(R"(_format_version: "3.0"
services:
- name: orders
  url: http://orders.internal:8080/api
  routes:
  - name: orders-route
    paths: [/orders]
    plugins: [{name: cors}]
  plugins: [{name: key-auth}]
upstreams:
- name: orders.internal
  targets: [{target: 10.0.0.1:8080}]
consumers:
- username: alice
  keyauth_credentials: [{key: alice-key}]
plugins:
- name: rate-limiting
  service: orders
  consumer: alice
  config: {minute: 5}
- name: prometheus
)");
    QVERIFY2(result.ok(), describe(result).constData());
    const std::string yaml =
        declarative::exportConfig(result.entities, declarative::ExportFormat::Yaml);
    QVERIFY2(yaml.starts_with("_format_version: \"3.0\"\n_transform: false\n"), yaml.c_str());
    QVERIFY(yaml.find("created_at") == std::string::npos);
    QVERIFY(yaml.find("updated_at") == std::string::npos);

    // Read the export as plain data to check its nesting.
    const auto doc =
        parseText(declarative::exportConfig(result.entities, declarative::ExportFormat::Json));
    QVERIFY(doc.ok());
    const std::string json_text =
        declarative::exportConfig(result.entities, declarative::ExportFormat::Json);
    const json::value tree = json::parse(json_text);
    const auto& top = tree.as_object();
    QCOMPARE(top.at("_format_version").as_string(), "3.0");
    QVERIFY(!top.contains("routes"));
    QVERIFY(!top.contains("targets"));
    QVERIFY(!top.contains("keyauth_credentials"));
    const auto& service = top.at("services").at(0).as_object();
    QVERIFY(!service.contains("url"));
    for (const auto& kv : service) {
        QVERIFY2(!kv.value().is_null(), kv.key().data());  // nulls left out
    }
    QCOMPARE(service.at("routes").at(0).at("name").as_string(), "orders-route");
    QVERIFY(!service.at("routes").at(0).as_object().contains("service"));
    QCOMPARE(service.at("routes").at(0).at("plugins").at(0).at("name").as_string(), "cors");
    QCOMPARE(service.at("plugins").at(0).at("name").as_string(), "key-auth");
    QCOMPARE(top.at("upstreams").at(0).at("targets").at(0).at("target").as_string(),
             "10.0.0.1:8080");
    QCOMPARE(top.at("consumers").at(0).at("keyauth_credentials").at(0).at("key").as_string(),
             "alice-key");
    // multiply-scoped and global plugins stay at the top, references by name, sorted by name
    const auto& plugins = top.at("plugins").as_array();
    QCOMPARE(plugins.size(), std::size_t{2});
    QCOMPARE(plugins.at(0).at("name").as_string(), "prometheus");
    QCOMPARE(plugins.at(1).at("name").as_string(), "rate-limiting");
    QCOMPARE(plugins.at(1).at("service").as_string(), "orders");
    QCOMPARE(plugins.at(1).at("consumer").as_string(), "alice");
    QVERIFY(!plugins.at(1).as_object().contains("route"));
}

// Values that YAML would misread if written naively come back unchanged from both formats.
void TestDeclarative::exportAwkwardValues() {
    const std::vector<std::string> strings = {"",
                                              " ",
                                              "yes",
                                              "No",
                                              "on",
                                              "null",
                                              "~",
                                              "true",
                                              "1.0",
                                              "0x1F",
                                              "1e3",
                                              ".5",
                                              "+1",
                                              "2001-12-14",
                                              "1:20",
                                              "#not a comment",
                                              "a: b",
                                              "a #b",
                                              "- x",
                                              "[x]",
                                              "{x}",
                                              "!x",
                                              "&x",
                                              "*x",
                                              "'q'",
                                              "\"q\"",
                                              "back\\slash",
                                              "tab\tinside",
                                              "trailing ",
                                              " leading",
                                              "em \xe2\x80\x94 dash",
                                              "ctrl\x01char",
                                              "line1\nline2",
                                              "line1\n",
                                              "line1\n\nline3\n",
                                              "\n\nleading newlines",
                                              "trailing newlines\n\n",
                                              "  indented\nblock",
                                              "crlf\r\nline",
                                              "blank\n   \nline",
                                              "ends with colon:",
                                              "%percent",
                                              "@at",
                                              "`tick",
                                              "|pipe",
                                              ">gt",
                                              "?q",
                                              ",comma",
                                              "$VAR and more",
                                              "k8s-name:value",
                                              "http://example.com:8080/path?x=1#frag"};
    json::object config;
    json::array list;
    for (std::size_t i = 0; i < strings.size(); ++i) {
        config["s" + std::to_string(i)] = strings[i];
        list.push_back(json::value(strings[i]));
    }
    config["list"] = list;
    config["odd keys"] = json::object{{"", 1}, {"yes", 2}, {"a: b", 3}, {"1", 4}, {"- x", 5}};
    config["numbers"] = json::array{
        0, -1, 1.5, 1e300, 1209600.0, -0.25, 9007199254740993LL, 18446744073709551615ULL, 1e-7};
    config["nested"] = json::array{json::array{1, 2}, json::array{}, json::object{},
                                   json::array{json::object{{"a", nullptr}}}};
    config["nothing"] = nullptr;

    declarative::EntitySet entities;
    entities["plugins"].push_back(json::object{{"id", "0c0ffee0-0000-4000-8000-000000000001"},
                                               {"name", "my-own-plugin"},
                                               {"config", config}});
    const auto loaded =
        parseText(declarative::exportConfig(entities, declarative::ExportFormat::Json));
    QVERIFY2(loaded.ok(), describe(loaded).constData());
    const json::object normalized = loaded.entities.at("plugins").front();
    for (const auto format : {declarative::ExportFormat::Yaml, declarative::ExportFormat::Json}) {
        const std::string text = declarative::exportConfig(loaded.entities, format);
        const auto reread = parseText(text);
        QVERIFY2(reread.ok(),
                 (describe(reread) + "\n" + QByteArray::fromStdString(text)).constData());
        const auto& plugin = reread.entities.at("plugins").front();
        QVERIFY2(canonical(plugin.at("config")) == canonical(json::value(config)), text.c_str());
        QCOMPARE(canonical(plugin), canonical(normalized));
    }
}

void TestDeclarative::configHash() {
    const std::string text = readFixture("12-digit-core-services.yml");
    const auto a = parseText(text);
    QVERIFY2(a.ok(), describe(a).constData());
    const std::string hash = declarative::configHash(a.entities);
    QCOMPARE(hash.size(), std::size_t{32});
    QVERIFY(std::all_of(hash.begin(), hash.end(),
                        [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }));
    QVERIFY(hash != std::string(32, '0'));

    // same file, another clock: same configuration, same hash
    declarative::ParseOptions later;
    later.now = kNow + 3600;
    const auto b = declarative::parse(text, later);
    QCOMPARE(declarative::configHash(b.entities), hash);

    // order of entities does not matter
    auto reordered = a.entities;
    for (auto& [type, list] : reordered) {
        std::reverse(list.begin(), list.end());
    }
    QCOMPARE(declarative::configHash(reordered), hash);

    // any change does
    auto changed = a.entities;
    changed.at("services").front()["retries"] = 4;
    QVERIFY(declarative::configHash(changed) != hash);

    // empty configurations hash to zeros
    QCOMPARE(declarative::configHash({}), std::string(32, '0'));
    const auto minimal = parseText(readFixture("02-docker-kong-minimal.yml"));
    QVERIFY(minimal.ok());
    QCOMPARE(declarative::configHash(minimal.entities), std::string(32, '0'));
    declarative::EntitySet empty_lists;
    empty_lists["services"];
    QCOMPARE(declarative::configHash(empty_lists), std::string(32, '0'));
}

QTEST_GUILESS_MAIN(TestDeclarative)
#include "test_declarative.moc"
