// Unit tests of the schema registry, Kong's error shapes (ErrorTree, ApiError, luaLiteral),
// GET /schemas rendering, the bundled plugin list, format validators and UUID helpers.

#include "common/api_error.hpp"
#include "common/formats.hpp"
#include "common/schema.hpp"
#include "common/validation.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <QtTest>

#include <set>

namespace json = boost::json;
using portico::common::ApiError;
using portico::common::luaLiteral;
using namespace portico::schema;

Q_DECLARE_METATYPE(portico::schema::Format)

namespace {

QString text(const json::value& v) { return QString::fromStdString(json::serialize(v)); }

json::value parse(const QString& s) { return json::parse(s.toStdString()); }

// Compares JSON values (objects regardless of key order) and prints both on failure.
#define COMPARE_JSON(actual, expected)                                                         \
    do {                                                                                       \
        const json::value a_ = (actual);                                                       \
        const json::value e_ = (expected);                                                     \
        if (a_ != e_) {                                                                        \
            QFAIL(qPrintable(QStringLiteral("JSON differs\n  actual:   %1\n  expected: %2")  \
                                 .arg(text(a_), text(e_))));                                   \
        }                                                                                      \
    } while (false)

// "a.b.1|message" adds a field error, "@|message" an entity error.
ErrorTree buildTree(const QStringList& entries) {
    ErrorTree tree;
    for (const auto& entry : entries) {
        const auto sep = entry.indexOf('|');
        const auto where = entry.left(sep);
        const auto message = entry.mid(sep + 1).toStdString();
        if (where == "@") {
            tree.addEntity(message);
            continue;
        }
        std::vector<std::string> path;
        for (const auto& part : where.split('.')) {
            path.push_back(part.toStdString());
        }
        tree.add(path, message);
    }
    return tree;
}

const json::object* fieldSpec(const json::object& schema_json, std::string_view name) {
    for (const auto& entry : schema_json.at("fields").as_array()) {
        if (const auto* spec = entry.as_object().if_contains(name)) {
            return &spec->as_object();
        }
    }
    return nullptr;
}

}  // namespace

class TestSchema : public QObject {
    Q_OBJECT

private slots:
    void registryIsInDependencyOrder() {
        const auto& all = allSchemas();
        QCOMPARE(all.size(), std::size_t{13});
        std::set<std::string> seen;
        for (const auto* s : all) {
            for (const auto* f : s->foreignFields()) {
                QVERIFY2(seen.count(f->reference) == 1,
                         qPrintable(QString::fromStdString(s->name + "." + f->name + " -> " +
                                                           f->reference)));
            }
            seen.insert(s->name);
        }
    }

    void lookups_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("adminPath");
        QTest::addColumn<QString>("nestedPath");
        QTest::addColumn<QString>("endpointKey");
        QTest::newRow("services") << "services" << "services" << "services" << "name";
        QTest::newRow("routes") << "routes" << "routes" << "routes" << "name";
        QTest::newRow("consumers") << "consumers" << "consumers" << "" << "username";
        QTest::newRow("plugins") << "plugins" << "plugins" << "plugins" << "instance_name";
        QTest::newRow("upstreams") << "upstreams" << "upstreams" << "upstreams" << "name";
        QTest::newRow("targets") << "targets" << "targets" << "targets" << "target";
        QTest::newRow("certificates") << "certificates" << "certificates" << "" << "";
        QTest::newRow("snis") << "snis" << "snis" << "snis" << "name";
        QTest::newRow("ca_certificates") << "ca_certificates" << "ca_certificates" << "" << "";
        QTest::newRow("key-auth") << "keyauth_credentials" << "key-auths" << "key-auth" << "key";
        QTest::newRow("basic-auth") << "basicauth_credentials" << "basic-auths" << "basic-auth"
                                    << "username";
        QTest::newRow("jwt") << "jwt_secrets" << "jwts" << "jwt" << "key";
        QTest::newRow("acls") << "acls" << "acls" << "acls" << "group";
    }
    void lookups() {
        QFETCH(QString, name);
        QFETCH(QString, adminPath);
        QFETCH(QString, nestedPath);
        QFETCH(QString, endpointKey);
        const auto* s = findSchema(name.toStdString());
        QVERIFY(s != nullptr);
        QCOMPARE(findSchemaByAdminPath(adminPath.toStdString()), s);
        QCOMPARE(QString::fromStdString(s->nested_path), nestedPath);
        QCOMPARE(QString::fromStdString(s->endpoint_key), endpointKey);
        // Every entity has id and tags.
        QVERIFY(s->field("id") != nullptr);
        QVERIFY(s->field("tags") != nullptr);
        QCOMPARE(s->field("tags")->type, FieldType::Set);
    }

    void unknownLookupsAreNull() {
        QVERIFY(findSchema("apis") == nullptr);
        QVERIFY(findSchemaByAdminPath("keyauth_credentials") == nullptr);
        QVERIFY(findSchema("services")->field("nope") == nullptr);
    }

    void referencesAndOnDelete_data() {
        QTest::addColumn<QString>("entity");
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("reference");
        QTest::addColumn<bool>("cascade");
        QTest::newRow("routes.service") << "routes" << "service" << "services" << false;
        QTest::newRow("plugins.route") << "plugins" << "route" << "routes" << true;
        QTest::newRow("plugins.service") << "plugins" << "service" << "services" << true;
        QTest::newRow("plugins.consumer") << "plugins" << "consumer" << "consumers" << true;
        QTest::newRow("targets.upstream") << "targets" << "upstream" << "upstreams" << true;
        QTest::newRow("snis.certificate") << "snis" << "certificate" << "certificates" << false;
        QTest::newRow("services.client_certificate")
            << "services" << "client_certificate" << "certificates" << false;
        QTest::newRow("upstreams.client_certificate")
            << "upstreams" << "client_certificate" << "certificates" << false;
        QTest::newRow("key-auth.consumer")
            << "keyauth_credentials" << "consumer" << "consumers" << true;
        QTest::newRow("basic-auth.consumer")
            << "basicauth_credentials" << "consumer" << "consumers" << true;
        QTest::newRow("jwt.consumer") << "jwt_secrets" << "consumer" << "consumers" << true;
        QTest::newRow("acls.consumer") << "acls" << "consumer" << "consumers" << true;
    }
    void referencesAndOnDelete() {
        QFETCH(QString, entity);
        QFETCH(QString, field);
        QFETCH(QString, reference);
        QFETCH(bool, cascade);
        const auto* f = findSchema(entity.toStdString())->field(field.toStdString());
        QVERIFY(f != nullptr);
        QCOMPARE(f->type, FieldType::Foreign);
        QCOMPARE(QString::fromStdString(f->reference), reference);
        QCOMPARE(f->on_delete == OnDelete::Cascade, cascade);
    }

    void cacheKeys() {
        using Keys = std::vector<std::string>;
        QCOMPARE(findSchema("plugins")->cache_key, (Keys{"name", "route", "service", "consumer"}));
        QCOMPARE(findSchema("targets")->cache_key, (Keys{"upstream", "target"}));
        QCOMPARE(findSchema("acls")->cache_key, (Keys{"consumer", "group"}));
        QVERIFY(findSchema("services")->cache_key.empty());
        QVERIFY(findSchema("keyauth_credentials")->has_ttl);
        QVERIFY(!findSchema("services")->has_ttl);
    }

    // --- ErrorTree ----------------------------------------------------------------------------

    void errorTreeMessage_data() {
        QTest::addColumn<QStringList>("entries");
        QTest::addColumn<QString>("message");
        QTest::newRow("one field") << QStringList{"host|required field missing"}
                                   << "schema violation (host: required field missing)";
        QTest::newRow("two fields sorted")
            << QStringList{"host|required field missing", "connect_timeout|expected an integer"}
            << "2 schema violations (connect_timeout: expected an integer; host: required field "
               "missing)";
        QTest::newRow("entity first")
            << QStringList{"snis|length must be 0",
                           "@|'snis' can only be set when 'protocols' is 'grpcs', 'https' or 'tls'",
                           "@|must set one of 'methods', 'hosts', 'headers', 'paths' when "
                           "'protocols' is 'http'"}
            << "3 schema violations ('snis' can only be set when 'protocols' is 'grpcs', 'https' "
               "or 'tls'; must set one of 'methods', 'hosts', 'headers', 'paths' when "
               "'protocols' is 'http'; snis: length must be 0)";
        QTest::newRow("nested and positional")
            << QStringList{"protocols.1|expected one of: http", "healthchecks.active.timeout|x"}
            << "2 schema violations (healthchecks.active.timeout: x; protocols.1: expected one "
               "of: http)";
        QTest::newRow("entity only") << QStringList{"@|at least one"}
                                     << "schema violation (at least one)";
    }
    void errorTreeMessage() {
        QFETCH(QStringList, entries);
        QFETCH(QString, message);
        const auto tree = buildTree(entries);
        QCOMPARE(QString::fromStdString(tree.message()), message);
        QCOMPARE(tree.count(), static_cast<std::size_t>(entries.size()));
        QVERIFY(!tree.empty());
    }

    void errorTreeFields_data() {
        QTest::addColumn<QStringList>("entries");
        QTest::addColumn<QString>("fields");
        QTest::newRow("scalar") << QStringList{"host|required field missing"}
                                << R"j({"host":"required field missing"})j";
        QTest::newRow("nested record")
            << QStringList{"healthchecks.active.timeout|bad", "healthchecks.threshold|worse"}
            << R"j({"healthchecks":{"active":{"timeout":"bad"},"threshold":"worse"}})j";
        QTest::newRow("array from 1") << QStringList{"protocols.1|expected one of: http"}
                                      << R"j({"protocols":["expected one of: http"]})j";
        QTest::newRow("array hole becomes null") << QStringList{"hosts.2|bad"}
                                                 << R"j({"hosts":[null,"bad"]})j";
        QTest::newRow("far position stays keyed") << QStringList{"hosts.12|bad"}
                                                   << R"j({"hosts":{"12":"bad"}})j";
        QTest::newRow("foreign") << QStringList{"service.id|missing primary key"}
                                 << R"j({"service":{"id":"missing primary key"}})j";
        QTest::newRow("entity") << QStringList{"@|one", "@|two", "name|bad"}
                                << R"j({"@entity":["one","two"],"name":"bad"})j";
        QTest::newRow("nested entity")
            << QStringList{"sources.1.@entity|need ip or port"}
            << R"j({"sources":[{"@entity":["need ip or port"]}]})j";
        QTest::newRow("first message per field wins") << QStringList{"name|first", "name|second"}
                                                       << R"j({"name":"first"})j";
    }
    void errorTreeFields() {
        QFETCH(QStringList, entries);
        QFETCH(QString, fields);
        COMPARE_JSON(buildTree(entries).toFields(), parse(fields));
    }

    void errorTreeTolerated() {
        ErrorTree tree;
        tree.add({"cert"}, "invalid certificate: x", Tolerance::TlsMaterial);
        tree.add({"name"}, "unknown field");
        tree.addEntity("certificate does not match key", Tolerance::TlsMaterial);
        tree.add({"paths", "2"}, "invalid regex", Tolerance::Regex);
        tree.addEntity("at least one");
        // Tolerated errors are errors like any other until taken out.
        QCOMPARE(tree.count(), std::size_t{5});
        QVERIFY(tree.hasFieldError("cert"));
        QCOMPARE(QString::fromStdString(tree.message()),
                 QString("5 schema violations (certificate does not match key; at least one; "
                         "cert: invalid certificate: x; name: unknown field; paths.2: invalid "
                         "regex)"));

        const auto taken = tree.takeTolerated();
        QCOMPARE(taken.size(), std::size_t{3});  // in the order they were added
        QCOMPARE(taken[0].path, std::vector<std::string>{"cert"});
        QCOMPARE(taken[0].tolerance, Tolerance::TlsMaterial);
        QVERIFY(taken[1].path.empty());
        QCOMPARE(taken[1].message, std::string("certificate does not match key"));
        QCOMPARE(taken[2].path, (std::vector<std::string>{"paths", "2"}));
        QCOMPARE(taken[2].tolerance, Tolerance::Regex);
        QCOMPARE(QString::fromStdString(tree.message()),
                 QString("2 schema violations (at least one; name: unknown field)"));
        QVERIFY(tree.takeTolerated().empty());

        ErrorTree only_tolerated;
        only_tolerated.add({"host"}, "invalid value: a..b", Tolerance::EmptyLabel);
        QCOMPARE(only_tolerated.takeTolerated().size(), std::size_t{1});
        QVERIFY(only_tolerated.empty());
    }

    void errorTreeHasFieldError() {
        ErrorTree tree;
        QVERIFY(tree.empty());
        tree.add({"healthchecks", "active", "timeout"}, "bad");
        QVERIFY(tree.hasFieldError("healthchecks"));
        QVERIFY(!tree.hasFieldError("active"));
        tree.addEntity("entity");
        QVERIFY(!tree.hasFieldError("entity"));
    }

    // --- ApiError -------------------------------------------------------------------------------

    void apiErrors_data() {
        QTest::addColumn<int>("which");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("body");
        QTest::newRow("not found") << 0 << 404 << R"j({"message":"Not found"})j";
        QTest::newRow("method not allowed") << 1 << 405 << R"j({"message":"Method not allowed"})j";
        QTest::newRow("unexpected") << 2 << 500
                                    << R"j({"message":"An unexpected error occurred"})j";
        QTest::newRow("unique violation (§2.5)")
            << 3 << 409
            << R"j({"code":5,"name":"unique constraint violation","message":"UNIQUE violation detected on '{username=\u0022bob\u0022}'","fields":{"username":"bob"}})j";
        QTest::newRow("plugin cache key")
            << 4 << 409
            << R"j({"code":5,"name":"unique constraint violation","message":"UNIQUE violation detected on '{consumer=null,name=\u0022basic-auth\u0022,route=null,service={id=\u00225f6c3a1e-6a44-4a8e-9d3a-4c2b2f1e0a11\u0022}}'","fields":{"name":"basic-auth","route":null,"service":{"id":"5f6c3a1e-6a44-4a8e-9d3a-4c2b2f1e0a11"},"consumer":null}})j";
        QTest::newRow("foreign key unresolved (§2.5)")
            << 5 << 400
            << R"j({"code":13,"name":"foreign keys unresolved","message":"foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\u0022non-existing\u0022}' for an existing 'services' entity)","fields":{"service":{"name":"the foreign key cannot be resolved with '{name=\u0022non-existing\u0022}' for an existing 'services' entity"}}})j";
        QTest::newRow("foreign key violation")
            << 6 << 400
            << R"j({"code":4,"name":"foreign key violation","message":"the foreign key '{id=\u00220b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01\u0022}' does not reference an existing 'services' entity.","fields":{"service":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}}})j";
        QTest::newRow("referenced by")
            << 7 << 400
            << R"j({"code":4,"name":"foreign key violation","message":"an existing 'routes' entity references this 'services' entity","fields":{"@referenced_by":"routes"}})j";
        QTest::newRow("invalid size") << 8 << 400
                                      << R"j({"code":9,"name":"invalid size","message":"size must be a number"})j";
        QTest::newRow("invalid offset")
            << 9 << 400
            << R"j({"code":7,"name":"invalid offset","message":"'x' is not a valid offset: bad base64 encoding"})j";
        QTest::newRow("invalid options")
            << 10 << 400
            << R"j({"code":11,"name":"invalid options","message":"invalid option (tags: cannot be null)","options":{"tags":"cannot be null"}})j";
        QTest::newRow("operation unsupported")
            << 11 << 405
            << R"j({"code":12,"name":"operation unsupported","message":"cannot create 'routes' entities when not using a database"})j";
        QTest::newRow("database error hides detail")
            << 12 << 500 << R"j({"message":"An unexpected error occurred"})j";
        QTest::newRow("schema violation")
            << 13 << 400
            << R"j({"code":2,"name":"schema violation","message":"schema violation (host: required field missing)","fields":{"host":"required field missing"}})j";
        QTest::newRow("primary key violation")
            << 14 << 400
            << R"j({"code":3,"name":"primary key violation","message":"primary key violation on key '{id=\u00220b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01\u0022}'","fields":{"id":"0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01"}})j";
    }
    void apiErrors() {
        QFETCH(int, which);
        QFETCH(int, status);
        QFETCH(QString, body);
        const std::string id = "0b6d6a8e-5b2f-4c5e-9a43-2a4f1a3e7b01";
        ApiError e;
        switch (which) {
        case 0:
            e = ApiError::notFound();
            break;
        case 1:
            e = ApiError::methodNotAllowed();
            break;
        case 2:
            e = ApiError::unexpected();
            break;
        case 3:
            e = ApiError::uniqueViolation(json::object{{"username", "bob"}});
            break;
        case 4:
            e = ApiError::uniqueViolation(
                parse(R"j({"name":"basic-auth","route":null,"service":{"id":"5f6c3a1e-6a44-4a8e-9d3a-4c2b2f1e0a11"},"consumer":null})j")
                    .as_object());
            break;
        case 5:
            e = ApiError::foreignKeyUnresolved("service", json::object{{"name", "non-existing"}},
                                               "services");
            break;
        case 6:
            e = ApiError::foreignKeyViolation("service", "services", id);
            break;
        case 7:
            e = ApiError::referencedBy("routes", "services");
            break;
        case 8:
            e = ApiError::invalidSize("size must be a number");
            break;
        case 9:
            e = ApiError::invalidOffset("x", "bad base64 encoding");
            break;
        case 10:
            e = ApiError::invalidOptions(json::object{{"tags", "cannot be null"}},
                                         "invalid option (tags: cannot be null)");
            break;
        case 11:
            e = ApiError::operationUnsupported(
                "cannot create 'routes' entities when not using a database");
            break;
        case 12:
            e = ApiError::databaseError("connection refused by 10.0.0.5");
            QCOMPARE(QString::fromStdString(e.message), QString("connection refused by 10.0.0.5"));
            break;
        case 13:
            e = ApiError::schemaViolation(buildTree({"host|required field missing"}));
            break;
        case 14:
            e = ApiError::primaryKeyViolation(json::object{{"id", id}});
            break;
        }
        QCOMPARE(e.http_status, status);
        COMPARE_JSON(e.toJson(), parse(body));
    }

    void apiErrorExtraKeys() {
        auto e = ApiError::schemaViolation(buildTree({"name|bad"}));
        e.extra["flattened_errors"] = json::array();
        const auto body = e.toJson();
        QVERIFY(body.contains("flattened_errors"));
        QCOMPARE(body.at("code").as_int64(), 2);
    }

    void luaLiterals_data() {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("lua");
        QTest::newRow("string") << R"j({"username":"bob"})j" << R"j({username="bob"})j";
        QTest::newRow("sorted keys") << R"j({"port":80,"name":"x"})j" << R"j({name="x",port=80})j";
        QTest::newRow("null and bool") << R"j({"b":null,"a":true})j" << R"j({a=true,b=null})j";
        QTest::newRow("nested") << R"j({"service":{"id":"abc"}})j" << R"j({service={id="abc"}})j";
        QTest::newRow("array") << R"j({"hosts":["a","b"]})j" << R"j({hosts={"a","b"}})j";
        QTest::newRow("numbers") << R"j({"w":0.5,"p":8000,"t":1700000000.25})j"
                                 << R"j({p=8000,t=1700000000.25,w=0.5})j";
        QTest::newRow("escapes quotes") << R"j({"k":"a\u0022b"})j" << "{k=\"a\\\"b\"}";
    }
    void luaLiterals() {
        QFETCH(QString, value);
        QFETCH(QString, lua);
        QCOMPARE(QString::fromStdString(luaLiteral(parse(value))), lua);
    }

    // --- GET /schemas ---------------------------------------------------------------------------

    void schemaToJsonServices() {
        const auto out = schemaToJson(*findSchema("services"));
        QVERIFY(out.contains("entity_checks"));
        QVERIFY(out.at("entity_checks").is_array());
        QVERIFY(!out.at("entity_checks").as_array().empty());

        const auto* id = fieldSpec(out, "id");
        QVERIFY(id != nullptr);
        COMPARE_JSON(*id, parse(R"j({"type":"string","uuid":true,"auto":true})j"));

        const auto* created = fieldSpec(out, "created_at");
        QVERIFY(created != nullptr);
        QCOMPARE(created->at("type").as_string(), "integer");
        QCOMPARE(created->at("timestamp").as_bool(), true);

        const auto* name = fieldSpec(out, "name");
        QCOMPARE(name->at("type").as_string(), "string");
        QCOMPARE(name->at("required").as_bool(), false);
        QCOMPARE(name->at("unique").as_bool(), true);

        const auto* protocol = fieldSpec(out, "protocol");
        QCOMPARE(protocol->at("required").as_bool(), true);
        QCOMPARE(protocol->at("default").as_string(), "http");
        COMPARE_JSON(protocol->at("one_of"),
                     parse(R"j(["grpc","grpcs","http","https","tcp","tls","tls_passthrough","udp"])j"));

        const auto* port = fieldSpec(out, "port");
        QCOMPARE(port->at("type").as_string(), "integer");
        QCOMPARE(port->at("default").as_int64(), 80);
        COMPARE_JSON(port->at("between"), parse("[0,65535]"));

        const auto* retries = fieldSpec(out, "retries");
        QCOMPARE(retries->at("default").as_int64(), 5);
        COMPARE_JSON(retries->at("between"), parse("[0,32767]"));

        const auto* timeout = fieldSpec(out, "connect_timeout");
        QCOMPARE(timeout->at("default").as_int64(), 60000);
        COMPARE_JSON(timeout->at("between"), parse("[1,2147483646]"));

        const auto* cert = fieldSpec(out, "client_certificate");
        QCOMPARE(cert->at("type").as_string(), "foreign");
        QCOMPARE(cert->at("reference").as_string(), "certificates");

        const auto* tags = fieldSpec(out, "tags");
        QCOMPARE(tags->at("type").as_string(), "set");
        QCOMPARE(tags->at("elements").at("type").as_string(), "string");

        const auto* cas = fieldSpec(out, "ca_certificates");
        QCOMPARE(cas->at("type").as_string(), "array");
        QCOMPARE(cas->at("elements").at("uuid").as_bool(), true);

        const auto* enabled = fieldSpec(out, "enabled");
        QCOMPARE(enabled->at("type").as_string(), "boolean");
        QCOMPARE(enabled->at("default").as_bool(), true);

        QVERIFY2(fieldSpec(out, "url") == nullptr, "the url shorthand is not a stored field");
        QVERIFY(!fieldSpec(out, "path")->contains("default"));
    }

    void schemaToJsonOtherEntities() {
        const auto routes = schemaToJson(*findSchema("routes"));
        const auto* code = fieldSpec(routes, "https_redirect_status_code");
        COMPARE_JSON(code->at("one_of"), parse("[426,301,302,307,308]"));
        const auto* headers = fieldSpec(routes, "headers");
        QCOMPARE(headers->at("type").as_string(), "map");
        QCOMPARE(headers->at("keys").at("type").as_string(), "string");
        QCOMPARE(headers->at("values").at("type").as_string(), "array");
        const auto* sources = fieldSpec(routes, "sources");
        QCOMPARE(sources->at("elements").at("type").as_string(), "record");
        QVERIFY(sources->at("elements").at("fields").is_array());

        const auto plugins = schemaToJson(*findSchema("plugins"));
        QCOMPARE(fieldSpec(plugins, "route")->at("on_delete").as_string(), "cascade");
        COMPARE_JSON(fieldSpec(plugins, "protocols")->at("default"),
                     parse(R"j(["grpc","grpcs","http","https"])j"));
        COMPARE_JSON(fieldSpec(plugins, "config")->at("default"), parse("{}"));

        const auto upstreams = schemaToJson(*findSchema("upstreams"));
        const auto* hc = fieldSpec(upstreams, "healthchecks");
        QCOMPARE(hc->at("type").as_string(), "record");
        QCOMPARE(hc->at("default").at("active").at("unhealthy").at("http_statuses").as_array().size(),
                 std::size_t{8});
        QCOMPARE(hc->at("default").at("passive").at("type").as_string(), "http");

        const auto consumers = schemaToJson(*findSchema("consumers"));
        COMPARE_JSON(consumers.at("entity_checks"),
                     parse(R"j([{"at_least_one_of":["custom_id","username"]}])j"));
    }

    // --- plugins --------------------------------------------------------------------------------

    void plugins_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("priority");
        QTest::newRow("pre-function") << "pre-function" << 1000000;
        QTest::newRow("jwt") << "jwt" << 1450;
        QTest::newRow("key-auth") << "key-auth" << 1250;
        QTest::newRow("basic-auth") << "basic-auth" << 1100;
        QTest::newRow("acl") << "acl" << 950;
        QTest::newRow("rate-limiting") << "rate-limiting" << 910;
        QTest::newRow("cors") << "cors" << 2000;
        QTest::newRow("prometheus") << "prometheus" << 13;
        QTest::newRow("post-function") << "post-function" << -1000;
    }
    void plugins() {
        QFETCH(QString, name);
        QFETCH(int, priority);
        const auto* p = findPlugin(name.toStdString());
        QVERIFY(p != nullptr);
        QCOMPARE(p->priority, priority);
    }

    void pluginListIsSortedAndComplete() {
        const auto& all = knownPlugins();
        QCOMPARE(all.size(), std::size_t{45});
        for (std::size_t i = 1; i < all.size(); ++i) {
            QVERIFY(all[i - 1].priority > all[i].priority);
        }
        QVERIFY(findPlugin("my-custom-plugin") == nullptr);
    }

    // --- formats --------------------------------------------------------------------------------

    void formatChecks_data() {
        QTest::addColumn<Format>("format");
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("error");       // empty: valid
        QTest::addColumn<QString>("normalized");  // value after the check

        QTest::newRow("host ok") << Format::Host << "example.com" << "" << "example.com";
        QTest::newRow("host ip") << Format::Host << "10.0.0.1" << "" << "10.0.0.1";
        QTest::newRow("host with port") << Format::Host << "example.com:80"
                                        << "must not have a port" << "example.com:80";
        QTest::newRow("host bad") << Format::Host << "exa mple" << "invalid value: exa mple"
                                  << "exa mple";
        QTest::newRow("host trailing dash") << Format::Host << "a-.com" << "invalid value: a-.com"
                                            << "a-.com";
        QTest::newRow("host port too big") << Format::Host << "a.com:70000"
                                           << "must not have a port" << "a.com:70000";
        QTest::newRow("host opt port") << Format::HostWithOptionalPort << "a.com:8080" << ""
                                       << "a.com:8080";
        QTest::newRow("host opt port bad") << Format::HostWithOptionalPort << "a b"
                                           << "invalid hostname: a b" << "a b";
        QTest::newRow("sni ip") << Format::Sni << "10.0.0.1" << "must not be an IP" << "10.0.0.1";
        QTest::newRow("wildcard left") << Format::WildcardHost << "*.example.com" << ""
                                       << "*.example.com";
        QTest::newRow("wildcard right") << Format::WildcardHost << "example.*" << ""
                                        << "example.*";
        QTest::newRow("wildcard middle") << Format::WildcardHost << "a.*.com"
                                         << "wildcard must be leftmost or rightmost character"
                                         << "a.*.com";
        QTest::newRow("wildcard two") << Format::WildcardHost << "*.a.*"
                                      << "only one wildcard must be specified" << "*.a.*";
        QTest::newRow("route host port") << Format::RouteHost << "*.example.com:8443" << ""
                                         << "*.example.com:8443";
        QTest::newRow("route host bad wildcard")
            << Format::RouteHost << "ex*mple.com"
            << "invalid wildcard: must be placed at leftmost or rightmost label" << "ex*mple.com";
        QTest::newRow("route host two wildcards")
            << Format::RouteHost << "*.a.*" << "invalid wildcard: must have at most one wildcard"
            << "*.a.*";
        QTest::newRow("path ok") << Format::Path << "/api/v1%20x" << "" << "/api/v1%20x";
        QTest::newRow("path no slash") << Format::Path << "api" << "should start with: /"
                                       << "api";
        QTest::newRow("path empty segment") << Format::Path << "/a//b"
                                            << "must not have empty segments" << "/a//b";
        QTest::newRow("path bad char")
            << Format::Path << "/a b"
            << "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)"
            << "/a b";
        QTest::newRow("path bad escape") << Format::Path << "/a%zz"
                                         << "invalid url-encoded value: '%zz'" << "/a%zz";
        QTest::newRow("router prefix") << Format::RouterPath << "/orders" << "" << "/orders";
        QTest::newRow("router regex") << Format::RouterPath << "~/orders/(?<id>\\d+)$" << ""
                                      << "~/orders/(?<id>\\d+)$";
        QTest::newRow("router bad start")
            << Format::RouterPath << "orders"
            << "should start with: / (fixed path) or ~/ (regex path)" << "orders";
        QTest::newRow("router non-normalized")
            << Format::RouterPath << "/a/../b%7e"
            << "non-normalized path, consider use '/b~' instead" << "/a/../b%7e";
        // Regexes are compiled with RE2, as the router runs them; the text is RE2's.
        QTest::newRow("router bad regex")
            << Format::RouterPath << "~/a(b"
            << "invalid regex: '/a(b' (PCRE returned: missing ): /a(b)"
            << "~/a(b";
        QTest::newRow("router unmatched close")
            << Format::RouterPath << "~/a)b"
            << "invalid regex: '/a)b' (PCRE returned: unexpected ): /a)b)"
            << "~/a)b";
        QTest::newRow("router lookbehind")
            << Format::RouterPath << "~/(?<=a)b"
            << "invalid regex: '/(?<=a)b' (PCRE returned: invalid perl operator: (?<)"
            << "~/(?<=a)b";
        QTest::newRow("router backreference")
            << Format::RouterPath << "~/(a)\\1"
            << "invalid regex: '/(a)\\1' (PCRE returned: invalid escape sequence: \\1)"
            << "~/(a)\\1";
        QTest::newRow("router named group in a class") << Format::RouterPath << "~/[(?<]x"
                                                       << ""
                                                       << "~/[(?<]x";
        QTest::newRow("header name") << Format::HeaderName << "X-Region_1" << "" << "X-Region_1";
        QTest::newRow("header name bad")
            << Format::HeaderName << "X Region"
            << "bad header name 'X Region', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
            << "X Region";
        QTest::newRow("method") << Format::HttpMethod << "GET" << "" << "GET";
        QTest::newRow("method lowercase") << Format::HttpMethod << "get" << "invalid value: get"
                                          << "get";
        QTest::newRow("tag with space") << Format::Tag << "team a" << "" << "team a";
        QTest::newRow("tag utf8") << Format::Tag << "équipe" << "" << "équipe";
        QTest::newRow("tag comma")
            << Format::Tag << "a,b"
            << "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 "
               "sequences"
            << "a,b";
        QTest::newRow("utf8 name") << Format::Utf8Name << "svc.v1~ünïcode" << ""
                                   << "svc.v1~ünïcode";
        QTest::newRow("utf8 name slash")
            << Format::Utf8Name << "a/b"
            << "invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., "
               "-, _, and ~"
            << "a/b";
        QTest::newRow("cidr v4") << Format::IpOrCidr << "10.0.0.0/8" << "" << "10.0.0.0/8";
        QTest::newRow("cidr v6") << Format::IpOrCidr << "fe80::/10" << "" << "fe80::/10";
        QTest::newRow("cidr bad") << Format::IpOrCidr << "10.0.0.0/33"
                                  << "invalid ip or cidr range: '10.0.0.0/33'" << "10.0.0.0/33";
        QTest::newRow("upstream name") << Format::UpstreamName << "orders.internal" << ""
                                       << "orders.internal";
        QTest::newRow("upstream ip") << Format::UpstreamName << "10.0.0.1"
                                     << "Invalid name ('10.0.0.1'); no ip addresses allowed"
                                     << "10.0.0.1";
        QTest::newRow("upstream port") << Format::UpstreamName << "a.b:80"
                                       << "Invalid name ('a.b:80'); no port allowed" << "a.b:80";
        QTest::newRow("upstream bad") << Format::UpstreamName << "a b"
                                      << "Invalid name ('a b'); must be a valid hostname" << "a b";
        QTest::newRow("cookie") << Format::CookieName << "session" << "" << "session";
    }
    void formatChecks() {
        QFETCH(Format, format);
        QFETCH(QString, input);
        QFETCH(QString, error);
        QFETCH(QString, normalized);
        std::string value = input.toStdString();
        const auto result = formats::check(format, value);
        QCOMPARE(result ? QString::fromStdString(*result) : QString(), error);
        QCOMPARE(QString::fromStdString(value), normalized);
    }

    void hostParsing() {
        std::string error;
        auto hp = formats::parseHostPort("[::1]:8080", &error);
        QVERIFY(hp.has_value());
        QCOMPARE(hp->kind, formats::HostKind::Ipv6);
        QCOMPARE(QString::fromStdString(hp->host),
                 QString("0000:0000:0000:0000:0000:0000:0000:0001"));
        QCOMPARE(hp->port.value_or(-1), 8080);

        hp = formats::parseHostPort("10.1.2.3:80", &error);
        QVERIFY(hp.has_value());
        QCOMPARE(hp->kind, formats::HostKind::Ipv4);
        QCOMPARE(hp->port.value_or(-1), 80);

        QVERIFY(!formats::parseHostPort("300.1.2.3", &error));
        QCOMPARE(QString::fromStdString(error), QString("invalid ipv4 address: 300.1.2.3"));
        QVERIFY(!formats::parseHostPort("example.com:99999", &error));
        QCOMPARE(QString::fromStdString(error), QString("invalid port number"));
        QVERIFY(formats::isIpv6("2001:db8::ff00:42:8329"));
        QVERIFY(formats::isIpv6("::ffff:10.0.0.1"));
        QVERIFY(!formats::isIpv6("2001:db8:::1"));
        QVERIFY(formats::isIpv4("0.0.0.0"));
        QVERIFY(!formats::isIpv4("1.2.3"));
    }

    void emptyLabels_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("empty_label");
        QTest::newRow("kic name") << "tcproute..echo-plaintext.0" << true;
        QTest::newRow("several") << "a...b..c" << true;
        QTest::newRow("valid name") << "a.b" << false;
        QTest::newRow("fqdn dot") << "a.b." << false;
        QTest::newRow("leading dot") << ".a.b" << false;
        QTest::newRow("leading empty label") << "..a" << false;
        QTest::newRow("bad character too") << "a..b c" << false;
        QTest::newRow("label ending with dash") << "a-..b" << false;
    }
    void emptyLabels() {
        QFETCH(QString, name);
        QFETCH(bool, empty_label);
        QCOMPARE(formats::hasEmptyLabel(name.toStdString()), empty_label);
    }

    void pathNormalization_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("normalized");
        QTest::newRow("plain") << "/a/b" << "/a/b";
        QTest::newRow("dot segments") << "/a/./b/../c" << "/a/c";
        QTest::newRow("unreserved escape") << "/%7Euser" << "/~user";
        QTest::newRow("reserved escape upper-cased") << "/a%2fb" << "/a%2Fb";
        QTest::newRow("trailing dotdot") << "/a/b/.." << "/a/";
    }
    void pathNormalization() {
        QFETCH(QString, input);
        QFETCH(QString, normalized);
        QCOMPARE(QString::fromStdString(formats::normalizePath(input.toStdString())), normalized);
    }

    // --- uuids and hashes -----------------------------------------------------------------------

    void uuidV5KnownVectors() {
        QCOMPARE(QString::fromStdString(uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org")),
                 QString("886313e1-3b8a-5372-9b90-0c9aee199e5d"));
        QCOMPARE(QString::fromStdString(uuidV5("fd02801f-0957-4a15-a0ef-f4bc2b9b7e6d",
                                               "services:orders")),
                 QString("ca870832-0331-5411-a6f8-e6e7c0525872"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, uuidV5("not-a-uuid", "x"));
    }

    void uuidChecks() {
        QVERIFY(isUuid("886313e1-3b8a-5372-9b90-0c9aee199e5d"));
        QVERIFY(isUuid("886313E1-3B8A-5372-9B90-0C9AEE199E5D"));  // Kong accepts either case
        QVERIFY(!isUuid("886313e1-3b8a-5372-9b90-0c9aee199e5"));
        QVERIFY(!isUuid("886313e1x3b8a-5372-9b90-0c9aee199e5d"));
        QVERIFY(!isUuid("g86313e1-3b8a-5372-9b90-0c9aee199e5d"));
        const auto a = randomUuid();
        const auto b = randomUuid();
        QVERIFY(isUuid(a));
        QVERIFY(a != b);
        QCOMPARE(a[14], '4');  // version 4
        QVERIFY(std::string("89ab").find(a[19]) != std::string::npos);  // RFC 4122 variant
    }

    void basicAuthHash() {
        // Independently computed: sha1("secret" .. "4e3ad2e4-0bc4-4638-8e34-c84a417ba39b").
        QCOMPARE(QString::fromStdString(
                     hashBasicAuthPassword("secret", "4e3ad2e4-0bc4-4638-8e34-c84a417ba39b")),
                 QString("ba40ce3ebe05891e6bcc63d5b9c9b0fbbf4a33f2"));
        QCOMPARE(QString::fromStdString(formats::sha256Hex("abc")),
                 QString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(formats::randomHex(16).size(), std::size_t{32});
    }
};

QTEST_GUILESS_MAIN(TestSchema)
#include "test_schema.moc"
