// The embedded SQLite store against real files: Kong's integrity rules and error messages,
// pagination, tags, the revision log, bulk replacement, durability across reopen and kill -9.

#include "common/validation.hpp"
#include "gateway/store/sqlite_store.hpp"

#include <QtTest>

#include <boost/json/serialize.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <memory>
#include <string>

using namespace portico;
using store::ListQuery;
using store::Operation;
namespace json = boost::json;

namespace {

// No raw string literals in this file: moc 6.4 mis-tokenizes some of them (R"(")") and then
// misses the test class.

// Small schemas shaped like Kong's (only what the store looks at: unique fields, cache keys,
// references and their on-delete rule), so that these tests do not depend on validation.
schema::Field plain(std::string name, bool unique = false) {
    schema::Field field;
    field.name = std::move(name);
    field.unique = unique;
    return field;
}

schema::Field foreign(std::string name, std::string reference, schema::OnDelete on_delete) {
    schema::Field field;
    field.name = std::move(name);
    field.type = schema::FieldType::Foreign;
    field.reference = std::move(reference);
    field.on_delete = on_delete;
    return field;
}

schema::EntitySchema entity(std::string name, std::vector<schema::Field> fields) {
    schema::EntitySchema result;
    result.name = name;
    result.admin_path = std::move(name);
    result.fields.push_back(plain("id"));
    for (auto& field : fields) {
        result.fields.push_back(std::move(field));
    }
    result.fields.push_back(plain("tags"));
    return result;
}

struct Schemas {
    schema::EntitySchema ca_certificates = entity("ca_certificates", {plain("cert")});
    schema::EntitySchema services = [] {
        auto s = entity("services", {plain("name", true), plain("host")});
        schema::Field cas;
        cas.name = "ca_certificates";
        cas.type = schema::FieldType::Array;
        // as common/ spells it: an array of uuids named after the entity, no reference
        auto element = std::make_shared<schema::Field>();
        element->format = schema::Format::Uuid;
        cas.elements = element;
        s.fields.push_back(cas);
        return s;
    }();
    schema::EntitySchema routes =
        entity("routes",
               {plain("name", true), foreign("service", "services", schema::OnDelete::Restrict)});
    schema::EntitySchema upstreams = entity("upstreams", {plain("name", true)});
    schema::EntitySchema targets = [] {
        auto s = entity("targets", {foreign("upstream", "upstreams", schema::OnDelete::Cascade),
                                    plain("target")});
        s.cache_key = {"upstream", "target"};
        return s;
    }();
    schema::EntitySchema consumers =
        entity("consumers", {plain("username", true), plain("custom_id", true)});
    schema::EntitySchema keyauth_credentials =
        entity("keyauth_credentials",
               {foreign("consumer", "consumers", schema::OnDelete::Cascade), plain("key", true)});
    schema::EntitySchema plugins = [] {
        auto s = entity("plugins", {plain("name"), plain("instance_name", true),
                                    foreign("route", "routes", schema::OnDelete::Cascade),
                                    foreign("service", "services", schema::OnDelete::Cascade),
                                    foreign("consumer", "consumers", schema::OnDelete::Cascade)});
        s.cache_key = {"name", "route", "service", "consumer"};
        s.cache_key_name = "cache_key";
        return s;
    }();

    std::vector<const schema::EntitySchema*> all() const {
        return {&ca_certificates,     &services, &routes, &upstreams, &targets, &consumers,
                &keyauth_credentials, &plugins};
    }
};

std::string uuid(int n) {
    char text[40];
    std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", n);
    return text;
}

json::object fk(const std::string& id) {
    return json::object{{"id", id}};
}

QString str(const json::value& value) {
    return QString::fromStdString(json::serialize(value));
}

template <class T>
T expectOk(common::ApiResult<T> result, const char* what) {
    if (!result) {
        qFatal("%s failed: %s", what, result.error().message.c_str());
    }
    return std::move(*result);
}

void expectOk(common::ApiResult<void> result, const char* what) {
    if (!result) {
        qFatal("%s failed: %s", what, result.error().message.c_str());
    }
}

std::vector<std::string> ids(const store::Page& page) {
    std::vector<std::string> result;
    for (const auto& e : page.data) {
        result.emplace_back(e.at("id").as_string());
    }
    return result;
}

}  // namespace

class TestSqliteStore : public QObject {
    Q_OBJECT

private:
    Schemas s_;
    std::unique_ptr<QTemporaryDir> dir_;
    std::unique_ptr<store::Store> store_;
    std::string path_;
    double now_ = 1000.0;

    std::unique_ptr<store::Store> open() {
        return store::openSqliteStore(path_, s_.all(), [this] { return now_; });
    }

    json::object add(const schema::EntitySchema& schema, json::object e) {
        auto result = store_->insert(schema, std::move(e));
        if (!result) {
            qFatal("insert into %s failed: %s", schema.name.c_str(),
                   result.error().message.c_str());
        }
        return *result;
    }

    std::int64_t revision() { return expectOk(store_->revision(), "revision"); }

private slots:
    void init() {
        dir_ = std::make_unique<QTemporaryDir>();
        QVERIFY(dir_->isValid());
        path_ = dir_->filePath("portico.db").toStdString();
        store_ = open();
        QCOMPARE(QString::fromStdString(store_->strategy()), QString("sqlite"));
    }

    void cleanup() {
        store_.reset();
        dir_.reset();
    }

    void crudRoundTrip() {
        QCOMPARE(revision(), 0);
        const auto created = add(s_.services, {{"id", uuid(1)}, {"name", "a"}, {"host", "x"}});
        QCOMPARE(created.at("name").as_string(), "a");

        auto got = expectOk(store_->get(s_.services, uuid(1)), "get");
        QVERIFY(got.has_value());
        QCOMPARE(str(*got), str(created));
        QVERIFY(!expectOk(store_->get(s_.services, uuid(2)), "get").has_value());

        auto by_name = expectOk(store_->findBy(s_.services, "name", "a"), "findBy");
        QVERIFY(by_name.has_value());
        QCOMPARE(by_name->at("id").as_string(), uuid(1));
        QVERIFY(!expectOk(store_->findBy(s_.services, "name", "b"), "findBy").has_value());

        // update: full replacement; the old unique value is released
        expectOk(store_->update(s_.services, {{"id", uuid(1)}, {"name", "b"}, {"host", "y"}}),
                 "update");
        QVERIFY(!expectOk(store_->findBy(s_.services, "name", "a"), "findBy").has_value());
        QCOMPARE(expectOk(store_->get(s_.services, uuid(1)), "get")->at("host").as_string(), "y");
        add(s_.services, {{"id", uuid(2)}, {"name", "a"}});

        auto missing = store_->update(s_.services, {{"id", uuid(9)}, {"name", "z"}});
        QVERIFY(!missing);
        QCOMPARE(missing.error().http_status, 404);
        QCOMPARE(missing.error().code, common::ErrorCode::NotFound);

        // upsert creates, then replaces
        expectOk(store_->upsert(s_.services, {{"id", uuid(3)}, {"name", "c"}}), "upsert");
        expectOk(store_->upsert(s_.services, {{"id", uuid(3)}, {"name", "c2"}}), "upsert");
        QCOMPARE(expectOk(store_->get(s_.services, uuid(3)), "get")->at("name").as_string(), "c2");

        QVERIFY(expectOk(store_->remove(s_.services, uuid(3)), "remove"));
        QVERIFY(!expectOk(store_->remove(s_.services, uuid(3)), "remove"));
        QVERIFY(!expectOk(store_->get(s_.services, uuid(3)), "get").has_value());
        QVERIFY(store_->reachable());
    }

    void primaryKeyViolation() {
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}});
        const auto before = revision();
        auto again = store_->insert(s_.services, {{"id", uuid(1)}, {"name", "b"}});
        QVERIFY(!again);
        QCOMPARE(again.error().code, common::ErrorCode::PrimaryKeyViolation);
        QCOMPARE(revision(), before);
    }

    void uniqueViolation() {
        add(s_.consumers, {{"id", uuid(1)}, {"username", "bob"}, {"custom_id", nullptr}});
        // NULLs never collide
        add(s_.consumers, {{"id", uuid(2)}, {"username", "alice"}, {"custom_id", nullptr}});
        const auto before = revision();

        auto dup = store_->insert(s_.consumers, {{"id", uuid(3)}, {"username", "bob"}});
        QVERIFY(!dup);
        QCOMPARE(dup.error().http_status, 409);
        QCOMPARE(dup.error().code, common::ErrorCode::UniqueViolation);
        QCOMPARE(QString::fromStdString(dup.error().message),
                 QString("UNIQUE violation detected on '{username=\"bob\"}'"));
        QCOMPARE(str(dup.error().fields), str(json::object{{"username", "bob"}}));
        QCOMPARE(revision(), before);
        QVERIFY(!expectOk(store_->get(s_.consumers, uuid(3)), "get").has_value());

        // updating into someone else's value fails, keeping one's own value does not
        auto taken = store_->update(s_.consumers, {{"id", uuid(2)}, {"username", "bob"}});
        QVERIFY(!taken);
        QCOMPARE(taken.error().http_status, 409);
        expectOk(store_->update(s_.consumers,
                                {{"id", uuid(2)}, {"username", "alice"}, {"custom_id", "c2"}}),
                 "update");
        auto upsert_taken = store_->upsert(s_.consumers, {{"id", uuid(4)}, {"custom_id", "c2"}});
        QVERIFY(!upsert_taken);
        QCOMPARE(QString::fromStdString(upsert_taken.error().message),
                 QString("UNIQUE violation detected on '{custom_id=\"c2\"}'"));
    }

    void compositeKeyViolation() {
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}});
        add(s_.services, {{"id", uuid(2)}, {"name", "b"}});
        const auto plugin = [&](int id, int service) {
            return json::object{{"id", uuid(id)},      {"name", "basic-auth"},
                                {"route", nullptr},    {"service", fk(uuid(service))},
                                {"consumer", nullptr}, {"instance_name", nullptr}};
        };
        add(s_.plugins, plugin(10, 1));
        add(s_.plugins, plugin(11, 2));  // same plugin, other service: fine
        // global plugin twice
        add(s_.plugins, {{"id", uuid(12)},
                         {"name", "cors"},
                         {"route", nullptr},
                         {"service", nullptr},
                         {"consumer", nullptr}});
        auto dup = store_->insert(s_.plugins, plugin(13, 1));
        QVERIFY(!dup);
        QCOMPARE(dup.error().http_status, 409);
        QCOMPARE(dup.error().code, common::ErrorCode::UniqueViolation);
        QCOMPARE(QString::fromStdString(dup.error().message),
                 QString::fromStdString("UNIQUE violation detected on '{consumer=null,"
                                        "name=\"basic-auth\",route=null,service={id=\"" +
                                        uuid(1) + "\"}}'"));
        auto global = store_->insert(s_.plugins, {{"id", uuid(14)}, {"name", "cors"}});
        QVERIFY(!global);
        QCOMPARE(global.error().http_status, 409);

        // targets: (upstream, target) is unique, the same target in another upstream is not
        add(s_.upstreams, {{"id", uuid(20)}, {"name", "u1"}});
        add(s_.upstreams, {{"id", uuid(21)}, {"name", "u2"}});
        add(s_.targets, {{"id", uuid(30)}, {"upstream", fk(uuid(20))}, {"target", "a:80"}});
        add(s_.targets, {{"id", uuid(31)}, {"upstream", fk(uuid(21))}, {"target", "a:80"}});
        auto target = store_->insert(
            s_.targets, {{"id", uuid(32)}, {"upstream", fk(uuid(20))}, {"target", "a:80"}});
        QVERIFY(!target);
        QCOMPARE(target.error().http_status, 409);
        QCOMPARE(QString::fromStdString(target.error().message),
                 QString::fromStdString(
                     "UNIQUE violation detected on '{target=\"a:80\",upstream={id=\"" + uuid(20) +
                     "\"}}'"));

        // a target is found by its address within its upstream
        auto found = expectOk(
            store_->findBy(s_.targets, "target", "a:80", std::make_pair("upstream", uuid(21))),
            "findBy");
        QVERIFY(found.has_value());
        QCOMPARE(found->at("id").as_string(), uuid(31));
        QVERIFY(!expectOk(store_->findBy(s_.targets, "target", "b:80",
                                         std::make_pair("upstream", uuid(21))),
                          "findBy")
                     .has_value());
    }

    void foreignKeyViolation() {
        const auto before = revision();
        auto orphan =
            store_->insert(s_.routes, {{"id", uuid(1)}, {"name", "r"}, {"service", fk(uuid(7))}});
        QVERIFY(!orphan);
        QCOMPARE(orphan.error().http_status, 400);
        QCOMPARE(orphan.error().code, common::ErrorCode::ForeignKeyViolation);
        QCOMPARE(QString::fromStdString(orphan.error().message),
                 QString::fromStdString("the foreign key '{id=\"" + uuid(7) +
                                        "\"}' does not reference an existing 'services' entity."));
        QCOMPARE(revision(), before);
        QVERIFY(!expectOk(store_->get(s_.routes, uuid(1)), "get").has_value());

        // the same through update
        add(s_.services, {{"id", uuid(2)}, {"name", "s"}});
        add(s_.routes, {{"id", uuid(1)}, {"name", "r"}, {"service", fk(uuid(2))}});
        auto moved =
            store_->update(s_.routes, {{"id", uuid(1)}, {"name", "r"}, {"service", fk(uuid(8))}});
        QVERIFY(!moved);
        QCOMPARE(moved.error().code, common::ErrorCode::ForeignKeyViolation);
    }

    void restrictOnDelete() {
        add(s_.services, {{"id", uuid(1)}, {"name", "s"}});
        add(s_.routes, {{"id", uuid(2)}, {"name", "r"}, {"service", fk(uuid(1))}});
        add(s_.plugins, {{"id", uuid(3)}, {"name", "cors"}, {"service", fk(uuid(1))}});
        const auto before = revision();

        auto refused = store_->remove(s_.services, uuid(1));
        QVERIFY(!refused);
        QCOMPARE(refused.error().http_status, 400);
        QCOMPARE(refused.error().code, common::ErrorCode::ForeignKeyViolation);
        QCOMPARE(QString::fromStdString(refused.error().message),
                 QString("an existing 'routes' entity references this 'services' entity"));
        QCOMPARE(str(refused.error().fields), str(json::object{{"@referenced_by", "routes"}}));
        // nothing happened, not even to the plugin that would have cascaded
        QCOMPARE(revision(), before);
        QVERIFY(expectOk(store_->get(s_.services, uuid(1)), "get").has_value());
        QVERIFY(expectOk(store_->get(s_.plugins, uuid(3)), "get").has_value());

        // once the route is gone, the service goes (with its plugin)
        QVERIFY(expectOk(store_->remove(s_.routes, uuid(2)), "remove"));
        QVERIFY(expectOk(store_->remove(s_.services, uuid(1)), "remove"));
        QVERIFY(!expectOk(store_->get(s_.plugins, uuid(3)), "get").has_value());
    }

    void referencedByOthers() {
        add(s_.ca_certificates, {{"id", uuid(1)}, {"cert", "pem"}});
        add(s_.services,
            {{"id", uuid(2)}, {"name", "s"}, {"ca_certificates", json::array{uuid(1).c_str()}}});
        auto refused = store_->remove(s_.ca_certificates, uuid(1));
        QVERIFY(!refused);
        QCOMPARE(refused.error().code, common::ErrorCode::ReferencedByOthers);
        QCOMPARE(refused.error().http_status, 400);
        QCOMPARE(QString::fromStdString(refused.error().message),
                 QString::fromStdString("ca certificate " + uuid(1) +
                                        " is still referenced by services (id = " + uuid(2) + ")"));
        expectOk(store_->update(s_.services, {{"id", uuid(2)}, {"name", "s"}}), "update");
        QVERIFY(expectOk(store_->remove(s_.ca_certificates, uuid(1)), "remove"));
    }

    void cascadeOnDelete() {
        // upstream -> targets
        add(s_.upstreams, {{"id", uuid(1)}, {"name", "u"}});
        add(s_.targets, {{"id", uuid(2)}, {"upstream", fk(uuid(1))}, {"target", "a:80"}});
        add(s_.targets, {{"id", uuid(3)}, {"upstream", fk(uuid(1))}, {"target", "b:80"}});
        // consumer -> credentials and plugins
        add(s_.consumers, {{"id", uuid(10)}, {"username", "bob"}});
        add(s_.keyauth_credentials, {{"id", uuid(11)}, {"consumer", fk(uuid(10))}, {"key", "k1"}});
        add(s_.plugins, {{"id", uuid(12)}, {"name", "rate-limiting"}, {"consumer", fk(uuid(10))}});
        // service -> plugins
        add(s_.services, {{"id", uuid(20)}, {"name", "s"}});
        add(s_.plugins, {{"id", uuid(21)}, {"name", "cors"}, {"service", fk(uuid(20))}});
        add(s_.plugins, {{"id", uuid(22)},
                         {"name", "acl"},
                         {"service", fk(uuid(20))},
                         {"consumer", fk(uuid(10))}});

        auto rev = revision();
        QVERIFY(expectOk(store_->remove(s_.upstreams, uuid(1)), "remove"));
        QCOMPARE(revision(), rev + 1);
        QVERIFY(!expectOk(store_->get(s_.targets, uuid(2)), "get").has_value());
        QVERIFY(!expectOk(store_->get(s_.targets, uuid(3)), "get").has_value());
        // one revision, one log row per deleted entity, children first
        auto log = expectOk(store_->revisions(rev, 100), "revisions");
        QCOMPARE(log.size(), std::size_t{3});
        for (const auto& row : log) {
            QCOMPARE(row.revision, rev + 1);
            QCOMPARE(row.operation, Operation::Delete);
            QVERIFY(row.before.has_value());
            QVERIFY(!row.after.has_value());
        }
        QCOMPARE(log[0].entity, std::string("targets"));
        QCOMPARE(log[1].entity, std::string("targets"));
        QCOMPARE(log[2].entity, std::string("upstreams"));
        QCOMPARE(log[2].entity_id, uuid(1));
        // the freed unique key can be used again
        add(s_.upstreams, {{"id", uuid(4)}, {"name", "u"}});

        rev = revision();
        QVERIFY(expectOk(store_->remove(s_.consumers, uuid(10)), "remove"));
        QVERIFY(!expectOk(store_->get(s_.keyauth_credentials, uuid(11)), "get").has_value());
        QVERIFY(!expectOk(store_->get(s_.plugins, uuid(12)), "get").has_value());
        QVERIFY(!expectOk(store_->get(s_.plugins, uuid(22)), "get").has_value());
        QVERIFY(expectOk(store_->get(s_.plugins, uuid(21)), "get").has_value());
        QCOMPARE(expectOk(store_->revisions(rev, 100), "revisions").size(), std::size_t{4});

        QVERIFY(expectOk(store_->remove(s_.services, uuid(20)), "remove"));
        QVERIFY(!expectOk(store_->get(s_.plugins, uuid(21)), "get").has_value());
        QVERIFY(expectOk(store_->loadAll(), "loadAll").count("plugins") == 0);
    }

    void pagination() {
        for (int i = 5; i >= 1; --i) {  // insertion order must not matter
            add(s_.services, {{"id", uuid(i)}, {"name", "s" + std::to_string(i)}});
        }
        ListQuery query;
        query.size = 2;
        auto page1 = expectOk(store_->list(s_.services, query), "list");
        QCOMPARE(ids(page1), (std::vector<std::string>{uuid(1), uuid(2)}));
        QCOMPARE(QString::fromStdString(page1.offset),
                 QString("WyIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDIiXQ=="));
        query.offset = page1.offset;
        auto page2 = expectOk(store_->list(s_.services, query), "list");
        QCOMPARE(ids(page2), (std::vector<std::string>{uuid(3), uuid(4)}));
        QCOMPARE(QString::fromStdString(page2.offset),
                 QString("WyIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDQiXQ=="));
        query.offset = page2.offset;
        auto page3 = expectOk(store_->list(s_.services, query), "list");
        QCOMPARE(ids(page3), (std::vector<std::string>{uuid(5)}));
        QVERIFY(page3.offset.empty());

        // exactly one full page: no offset either
        query = {};
        query.size = 5;
        auto whole = expectOk(store_->list(s_.services, query), "list");
        QCOMPARE(whole.data.size(), std::size_t{5});
        QVERIFY(whole.offset.empty());
        // an empty collection
        auto none = expectOk(store_->list(s_.routes, ListQuery{}), "list");
        QVERIFY(none.data.empty());
        QVERIFY(none.offset.empty());
    }

    void badOffset() {
        ListQuery query;
        query.offset = "x";
        auto bad = store_->list(s_.services, query);
        QVERIFY(!bad);
        QCOMPARE(bad.error().http_status, 400);
        QCOMPARE(bad.error().code, common::ErrorCode::InvalidOffset);
        QCOMPARE(QString::fromStdString(bad.error().message),
                 QString("'x' is not a valid offset: bad base64 encoding"));
        query.offset = "!!!!";
        QVERIFY(!store_->list(s_.services, query));
        query.offset = "bm90IGpzb24=";  // "not json"
        auto not_json = store_->list(s_.services, query);
        QVERIFY(!not_json);
        QCOMPARE(not_json.error().code, common::ErrorCode::InvalidOffset);

        store::TagQuery tags;
        tags.offset = "x";
        QVERIFY(!store_->tags(tags));
    }

    void tagFilters() {
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}, {"tags", json::array{"x", "y"}}});
        add(s_.services, {{"id", uuid(2)}, {"name", "b"}, {"tags", json::array{"x"}}});
        add(s_.services, {{"id", uuid(3)}, {"name", "c"}, {"tags", json::array{"y", "z"}}});
        add(s_.services, {{"id", uuid(4)}, {"name", "d"}, {"tags", nullptr}});
        add(s_.routes, {{"id", uuid(5)}, {"name", "r"}, {"tags", json::array{"x"}}});

        ListQuery query;
        query.tags = {"x"};
        QCOMPARE(ids(expectOk(store_->list(s_.services, query), "list")),
                 (std::vector<std::string>{uuid(1), uuid(2)}));
        query.tags = {"x", "y"};  // AND
        QCOMPARE(ids(expectOk(store_->list(s_.services, query), "list")),
                 (std::vector<std::string>{uuid(1)}));
        query.tags_any = true;  // OR
        QCOMPARE(ids(expectOk(store_->list(s_.services, query), "list")),
                 (std::vector<std::string>{uuid(1), uuid(2), uuid(3)}));
        query.tags = {"nope"};
        QVERIFY(expectOk(store_->list(s_.services, query), "list").data.empty());
        // AND with pagination
        query = {};
        query.tags = {"y"};
        query.size = 1;
        auto first = expectOk(store_->list(s_.services, query), "list");
        QCOMPARE(ids(first), (std::vector<std::string>{uuid(1)}));
        QVERIFY(!first.offset.empty());
        query.offset = first.offset;
        auto second = expectOk(store_->list(s_.services, query), "list");
        QCOMPARE(ids(second), (std::vector<std::string>{uuid(3)}));
        QVERIFY(second.offset.empty());

        // GET /tags and /tags/{tag}
        auto all = expectOk(store_->tags({}), "tags");
        QCOMPARE(all.data.size(), std::size_t{6});
        QCOMPARE(all.data[0].tag, std::string("x"));
        QCOMPARE(all.data[0].entity_name, std::string("routes"));
        QVERIFY(all.offset.empty());
        store::TagQuery tag_query;
        tag_query.tag = "x";
        tag_query.size = 2;
        auto x1 = expectOk(store_->tags(tag_query), "tags");
        QCOMPARE(x1.data.size(), std::size_t{2});
        QVERIFY(!x1.offset.empty());
        tag_query.offset = x1.offset;
        auto x2 = expectOk(store_->tags(tag_query), "tags");
        QCOMPARE(x2.data.size(), std::size_t{1});
        QCOMPARE(x2.data[0].entity_id, uuid(2));
        QVERIFY(x2.offset.empty());

        // tags follow updates and deletes
        expectOk(store_->update(s_.services, {{"id", uuid(2)}, {"name", "b"}}), "update");
        QVERIFY(expectOk(store_->remove(s_.services, uuid(1)), "remove"));
        query = {};
        query.tags = {"x"};
        QVERIFY(expectOk(store_->list(s_.services, query), "list").data.empty());
    }

    void parentAndEqualsFilters() {
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}});
        add(s_.services, {{"id", uuid(2)}, {"name", "b"}});
        add(s_.routes, {{"id", uuid(10)}, {"name", "r10"}, {"service", fk(uuid(1))}});
        add(s_.routes, {{"id", uuid(11)}, {"name", "r11"}, {"service", fk(uuid(2))}});
        add(s_.routes, {{"id", uuid(12)}, {"name", "r12"}, {"service", fk(uuid(1))}});
        add(s_.routes, {{"id", uuid(13)}, {"name", "r13"}, {"service", nullptr}});

        ListQuery query;
        query.parent = std::make_pair("service", uuid(1));
        QCOMPARE(ids(expectOk(store_->list(s_.routes, query), "list")),
                 (std::vector<std::string>{uuid(10), uuid(12)}));
        query.parent = std::make_pair("service", uuid(3));
        QVERIFY(expectOk(store_->list(s_.routes, query), "list").data.empty());

        // findBy scoped to a parent
        QVERIFY(
            expectOk(store_->findBy(s_.routes, "name", "r11", std::make_pair("service", uuid(2))),
                     "findBy")
                .has_value());
        QVERIFY(
            !expectOk(store_->findBy(s_.routes, "name", "r11", std::make_pair("service", uuid(1))),
                      "findBy")
                 .has_value());

        add(s_.consumers, {{"id", uuid(20)}, {"username", "u1"}, {"custom_id", "c1"}});
        add(s_.consumers, {{"id", uuid(21)}, {"username", "u2"}, {"custom_id", "c2"}});
        ListQuery equals;
        equals.equals = std::make_pair("custom_id", "c2");
        QCOMPARE(ids(expectOk(store_->list(s_.consumers, equals), "list")),
                 (std::vector<std::string>{uuid(21)}));
        equals.equals = std::make_pair("custom_id", "nope");
        QVERIFY(expectOk(store_->list(s_.consumers, equals), "list").data.empty());
    }

    void revisionLog() {
        QCOMPARE(revision(), 0);
        now_ = 1234.5;
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}});
        QCOMPARE(revision(), 1);
        expectOk(store_->update(s_.services, {{"id", uuid(1)}, {"name", "b"}}), "update");
        QCOMPARE(revision(), 2);
        QVERIFY(expectOk(store_->remove(s_.services, uuid(1)), "remove"));
        QCOMPARE(revision(), 3);
        // failed writes and reads do not count
        QVERIFY(!store_->update(s_.services, {{"id", uuid(1)}, {"name", "c"}}));
        QVERIFY(!expectOk(store_->remove(s_.services, uuid(1)), "remove"));
        expectOk(store_->list(s_.services, {}), "list");
        QCOMPARE(revision(), 3);

        auto log = expectOk(store_->revisions(0, 100), "revisions");
        QCOMPARE(log.size(), std::size_t{3});
        QCOMPARE(log[0].revision, 1);
        QCOMPARE(log[0].operation, Operation::Create);
        QCOMPARE(log[0].entity, std::string("services"));
        QCOMPARE(log[0].entity_id, uuid(1));
        QCOMPARE(log[0].at, 1234.5);
        QVERIFY(!log[0].before);
        QCOMPARE(str(*log[0].after), str(json::object{{"id", uuid(1)}, {"name", "a"}}));
        QCOMPARE(log[1].operation, Operation::Update);
        QCOMPARE(log[1].before->at("name").as_string(), "a");
        QCOMPARE(log[1].after->at("name").as_string(), "b");
        QCOMPARE(log[2].operation, Operation::Delete);
        QCOMPARE(log[2].before->at("name").as_string(), "b");
        QVERIFY(!log[2].after);

        auto tail = expectOk(store_->revisions(2, 100), "revisions");
        QCOMPARE(tail.size(), std::size_t{1});
        QCOMPARE(tail[0].revision, 3);
        QCOMPARE(expectOk(store_->revisions(0, 2), "revisions").size(), std::size_t{2});
        QVERIFY(expectOk(store_->revisions(3, 100), "revisions").empty());
        QCOMPARE(QString(store::toString(Operation::Update)), QString("update"));
    }

    void revisionsAreNeverSplit() {
        add(s_.upstreams, {{"id", uuid(1)}, {"name", "u"}});                               // r1
        add(s_.targets, {{"id", uuid(2)}, {"upstream", fk(uuid(1))}, {"target", "a:1"}});  // r2
        add(s_.targets, {{"id", uuid(3)}, {"upstream", fk(uuid(1))}, {"target", "b:1"}});  // r3
        QVERIFY(expectOk(store_->remove(s_.upstreams, uuid(1)), "remove"));  // r4: 3 rows
        add(s_.upstreams, {{"id", uuid(4)}, {"name", "v"}});                 // r5

        // limit 4 from 0: r1, r2, r3 fit, r4 would be cut: it is left out
        auto head = expectOk(store_->revisions(0, 4), "revisions");
        QCOMPARE(head.size(), std::size_t{3});
        QCOMPARE(head.back().revision, 3);
        // limit 2 from 3: r4 alone is larger than the limit: it comes whole
        auto big = expectOk(store_->revisions(3, 2), "revisions");
        QCOMPARE(big.size(), std::size_t{3});
        for (const auto& row : big) {
            QCOMPARE(row.revision, 4);
        }
        auto rest = expectOk(store_->revisions(4, 2), "revisions");
        QCOMPARE(rest.size(), std::size_t{1});
        QCOMPARE(rest[0].revision, 5);
    }

    void replaceAll() {
        add(s_.services, {{"id", uuid(1)}, {"name", "old"}});
        add(s_.services, {{"id", uuid(2)}, {"name", "kept"}});
        add(s_.routes, {{"id", uuid(3)}, {"name", "r"}, {"service", fk(uuid(1))}});
        const auto rev = revision();

        declarative::EntitySet set;
        set["services"].push_back({{"id", uuid(2)}, {"name", "kept"}});
        set["services"].push_back({{"id", uuid(4)}, {"name", "old"}});  // name reused
        set["routes"].push_back({{"id", uuid(5)}, {"name", "r"}, {"service", fk(uuid(4))}});
        expectOk(store_->replaceAll(set), "replaceAll");
        QCOMPARE(revision(), rev + 1);

        auto all = expectOk(store_->loadAll(), "loadAll");
        QCOMPARE(all["services"].size(), std::size_t{2});
        QCOMPARE(all["routes"].size(), std::size_t{1});
        QCOMPARE(all["routes"][0].at("id").as_string(), uuid(5));
        QCOMPARE(
            expectOk(store_->findBy(s_.services, "name", "old"), "findBy")->at("id").as_string(),
            uuid(4));

        // one revision; the log holds what changed: deletes (children first), then creates
        auto log = expectOk(store_->revisions(rev, 100), "revisions");
        QCOMPARE(log.size(), std::size_t{4});
        QCOMPARE(log[0].operation, Operation::Delete);
        QCOMPARE(log[0].entity_id, uuid(3));
        QCOMPARE(log[1].operation, Operation::Delete);
        QCOMPARE(log[1].entity_id, uuid(1));
        QCOMPARE(log[2].operation, Operation::Create);
        QCOMPARE(log[2].entity_id, uuid(4));
        QCOMPARE(log[3].operation, Operation::Create);
        QCOMPARE(log[3].entity_id, uuid(5));

        // an invalid set changes nothing
        declarative::EntitySet broken;
        broken["routes"].push_back({{"id", uuid(6)}, {"name", "x"}, {"service", fk(uuid(9))}});
        auto refused = store_->replaceAll(broken);
        QVERIFY(!refused);
        QCOMPARE(refused.error().code, common::ErrorCode::ForeignKeyViolation);
        QCOMPARE(revision(), rev + 1);
        QCOMPARE(expectOk(store_->loadAll(), "loadAll")["services"].size(), std::size_t{2});

        declarative::EntitySet unknown;
        unknown["vaults"].push_back({{"id", uuid(7)}});
        QVERIFY(!store_->replaceAll(unknown));

        // replacing with nothing empties the store
        expectOk(store_->replaceAll({}), "replaceAll");
        QVERIFY(expectOk(store_->loadAll(), "loadAll").empty());
        QVERIFY(expectOk(store_->tags({}), "tags").data.empty());
    }

    // replaceAllAt (POST /config/rollback): replaces only while the revision is the expected
    // one; otherwise 409 and nothing changes.
    void replaceAllAtChecksTheRevisionUnderTheLock() {
        add(s_.services, {{"id", uuid(1)}, {"name", "first"}});
        const auto rev = revision();
        declarative::EntitySet set;
        set["services"].push_back({{"id", uuid(2)}, {"name", "second"}});

        auto stale = store_->replaceAllAt(set, rev - 1);
        QVERIFY(!stale);
        QCOMPARE(stale.error().http_status, 409);
        QVERIFY2(stale.error().message.find("changed meanwhile") != std::string::npos,
                 stale.error().message.c_str());
        QCOMPARE(revision(), rev);
        QVERIFY(expectOk(store_->get(s_.services, uuid(1)), "get").has_value());

        expectOk(store_->replaceAllAt(set, rev), "replaceAllAt");
        QCOMPARE(revision(), rev + 1);
        QVERIFY(!expectOk(store_->get(s_.services, uuid(1)), "get").has_value());
        QVERIFY(expectOk(store_->get(s_.services, uuid(2)), "get").has_value());
    }

    // Listings read summaries: no documents, the entity's label from after (or before).
    void revisionSummariesCarryLabelsNotDocuments() {
        add(s_.services, {{"id", uuid(1)}, {"name", "labelled"}});
        const auto created = revision();
        expectOk(store_->remove(s_.services, uuid(1)), "remove");
        const auto removed = revision();
        auto rows = expectOk(store_->revisionSummaries(created, removed, 100), "summaries");
        QCOMPARE(rows.size(), std::size_t{2});
        QCOMPARE(rows[0].revision, created);
        QCOMPARE(rows[0].operation, Operation::Create);
        QCOMPARE(rows[0].label, std::string("labelled"));
        QVERIFY(!rows[0].before && !rows[0].after);
        QCOMPARE(rows[1].operation, Operation::Delete);
        QCOMPARE(rows[1].label, std::string("labelled"));  // from `before`
        auto full = expectOk(store_->revisionRange(created, created, 100), "range");
        QCOMPARE(full.size(), std::size_t{1});
        QVERIFY(full[0].after.has_value());
    }

    void importAll() {
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}, {"host", "old"}});
        const auto rev = revision();
        declarative::EntitySet set;
        // children listed first in the map: the store inserts in schema order anyway
        set["routes"].push_back({{"id", uuid(3)}, {"name", "r"}, {"service", fk(uuid(2))}});
        set["services"].push_back({{"id", uuid(1)}, {"name", "a"}, {"host", "new"}});
        set["services"].push_back({{"id", uuid(2)}, {"name", "b"}});
        expectOk(store_->importAll(set), "importAll");
        QCOMPARE(revision(), rev + 1);
        QCOMPARE(expectOk(store_->get(s_.services, uuid(1)), "get")->at("host").as_string(), "new");
        QVERIFY(expectOk(store_->get(s_.routes, uuid(3)), "get").has_value());
        auto log = expectOk(store_->revisions(rev, 100), "revisions");
        QCOMPARE(log.size(), std::size_t{3});
        QCOMPARE(log[0].operation, Operation::Update);
    }

    void persistsAcrossReopen() {
        add(s_.services, {{"id", uuid(1)}, {"name", "a"}, {"tags", json::array{"t"}}});
        add(s_.routes, {{"id", uuid(2)}, {"name", "r"}, {"service", fk(uuid(1))}});
        store_.reset();

        store_ = open();
        QCOMPARE(revision(), 2);
        QVERIFY(expectOk(store_->get(s_.services, uuid(1)), "get").has_value());
        QCOMPARE(expectOk(store_->tags({}), "tags").data.size(), std::size_t{1});
        // the indexes came back too
        QVERIFY(!store_->insert(s_.services, {{"id", uuid(3)}, {"name", "a"}}));
        QVERIFY(!store_->remove(s_.services, uuid(1)));

        // the migration ran once and is recorded once
        auto* sql_store = dynamic_cast<store::SqlStore*>(store_.get());
        QVERIFY(sql_store != nullptr);
        const auto applied = store::sql::appliedMigrations(sql_store->connection());
        QCOMPARE(applied, (std::vector<std::string>{"0001_init.sql"}));
        store_.reset();
        store_ = open();
        sql_store = dynamic_cast<store::SqlStore*>(store_.get());
        QCOMPARE(store::sql::appliedMigrations(sql_store->connection()).size(), std::size_t{1});
        std::vector<store::sql::Row> rows;
        QVERIFY(sql_store->connection().query("PRAGMA journal_mode", {}, &rows));
        QCOMPARE(QString::fromStdString(rows.at(0).at(0).value_or("")), QString("wal"));
        rows.clear();
        QVERIFY(sql_store->connection().query("PRAGMA synchronous", {}, &rows));
        QCOMPARE(QString::fromStdString(rows.at(0).at(0).value_or("")), QString("2"));  // FULL
    }

    void cannotOpen() {
        QVERIFY_THROWS_EXCEPTION(
            std::runtime_error,
            store::openSqliteStore(dir_->filePath("no/such/dir/x.db").toStdString(), s_.all()));
        // not a database
        const auto junk = dir_->filePath("junk.db");
        QFile file(junk);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(8192, 'j'));
        file.close();
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                                 store::openSqliteStore(junk.toStdString(), s_.all()));
    }

    void inMemory() {
        auto memory = store::openSqliteStore(":memory:", s_.all());
        expectOk(memory->insert(s_.services, {{"id", uuid(1)}, {"name", "a"}}), "insert");
        QCOMPARE(expectOk(memory->revision(), "revision"), 1);
    }

    // The same rules with the real schema registry and validated entities, through the
    // production entry point openSqliteStore(path).
    void realSchemas() {
        const auto* services = schema::findSchema("services");
        const auto* routes = schema::findSchema("routes");
        const auto* upstreams = schema::findSchema("upstreams");
        const auto* targets = schema::findSchema("targets");
        const auto* consumers = schema::findSchema("consumers");
        const auto* plugins = schema::findSchema("plugins");
        if (!services || !routes || !upstreams || !targets || !consumers || !plugins) {
            QFAIL("the schema registry lacks an entity this test needs");
        }
        store_.reset();
        store_ = store::openSqliteStore(dir_->filePath("real.db").toStdString());
        int next_id = 100;
        schema::ValidateOptions options;
        options.now = [] { return 1700000000.0; };
        options.new_id = [&next_id] { return uuid(next_id++); };
        auto insert = [&](const schema::EntitySchema& schema, json::object body) {
            auto valid = schema::validateEntity(schema, std::move(body), options);
            if (!valid) {
                qFatal("%s invalid: %s", schema.name.c_str(), valid.error().message.c_str());
            }
            return store_->insert(schema, std::move(*valid));
        };

        const auto service =
            expectOk(insert(*services, {{"name", "svc"}, {"host", "example.com"}}), "service");
        const auto service_id = std::string(service.at("id").as_string());
        expectOk(insert(*routes,
                        {{"name", "r"}, {"paths", json::array{"/"}}, {"service", fk(service_id)}}),
                 "route");
        const auto plugin_body = json::object{{"name", "basic-auth"}, {"service", fk(service_id)}};
        expectOk(insert(*plugins, plugin_body), "plugin");
        auto dup = insert(*plugins, plugin_body);
        QVERIFY(!dup);
        QCOMPARE(dup.error().http_status, 409);
        QCOMPARE(QString::fromStdString(dup.error().message),
                 QString::fromStdString("UNIQUE violation detected on '{consumer=null,"
                                        "name=\"basic-auth\",route=null,service={id=\"" +
                                        service_id + "\"}}'"));
        auto same_name = insert(*services, {{"name", "svc"}, {"host", "other.com"}});
        QVERIFY(!same_name);
        QCOMPARE(QString::fromStdString(same_name.error().message),
                 QString("UNIQUE violation detected on '{name=\"svc\"}'"));

        auto refused = store_->remove(*services, service_id);
        QVERIFY(!refused);
        QCOMPARE(QString::fromStdString(refused.error().message),
                 QString("an existing 'routes' entity references this 'services' entity"));

        const auto upstream = expectOk(insert(*upstreams, {{"name", "up"}}), "upstream");
        const auto upstream_id = std::string(upstream.at("id").as_string());
        expectOk(insert(*targets, {{"target", "10.0.0.1:80"}, {"upstream", fk(upstream_id)}}),
                 "target");
        auto dup_target =
            insert(*targets, {{"target", "10.0.0.1:80"}, {"upstream", fk(upstream_id)}});
        QVERIFY(!dup_target);
        QCOMPARE(dup_target.error().http_status, 409);
        QVERIFY(expectOk(store_->findBy(*targets, "target", "10.0.0.1:80",
                                        std::make_pair("upstream", upstream_id)),
                         "findBy")
                    .has_value());
        QVERIFY(expectOk(store_->remove(*upstreams, upstream_id), "remove"));
        QVERIFY(expectOk(store_->list(*targets, {}), "list").data.empty());

        const auto consumer =
            expectOk(insert(*consumers, {{"username", "bob"}, {"custom_id", "b1"}}), "consumer");
        ListQuery by_custom_id;
        by_custom_id.equals = std::make_pair("custom_id", "b1");
        QCOMPARE(ids(expectOk(store_->list(*consumers, by_custom_id), "list")),
                 (std::vector<std::string>{std::string(consumer.at("id").as_string())}));

        // everything loads back, and goes in again as one replacement
        auto all = expectOk(store_->loadAll(), "loadAll");
        QCOMPARE(all["services"].size(), std::size_t{1});
        QCOMPARE(all["plugins"].size(), std::size_t{1});
        const auto before = revision();
        expectOk(store_->replaceAll(all), "replaceAll");
        QCOMPARE(revision(), before + 1);
        QCOMPARE(expectOk(store_->revisions(before, 100), "revisions").size(), std::size_t{0});
    }

    void survivesKill() {
        store_.reset();
        int fds[2];
        QCOMPARE(::pipe(fds), 0);
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            ::close(fds[0]);
            // No Qt in the child: open, write, acknowledge, then wait to be killed.
            auto s = store::openSqliteStore(path_, s_.all());
            auto inserted = s->insert(s_.services, {{"id", uuid(42)}, {"name", "durable"}});
            const char ack = inserted ? 'y' : 'n';
            if (::write(fds[1], &ack, 1) != 1) {
                ::_exit(2);
            }
            for (;;) {
                ::pause();
            }
        }
        ::close(fds[1]);
        // Whatever fails below, the child does not outlive the test.
        struct Reaper {
            pid_t pid;
            ~Reaper() {
                if (pid > 0) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, nullptr, 0);
                }
            }
        } reaper{child};
        char ack = 0;
        QCOMPARE(::read(fds[0], &ack, 1), ssize_t{1});
        ::close(fds[0]);
        QCOMPARE(ack, 'y');
        QCOMPARE(::kill(child, SIGKILL), 0);
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        reaper.pid = 0;
        QVERIFY(WIFSIGNALED(status));
        QCOMPARE(WTERMSIG(status), SIGKILL);

        store_ = open();
        auto got = expectOk(store_->get(s_.services, uuid(42)), "get");
        QVERIFY(got.has_value());
        QCOMPARE(got->at("name").as_string(), "durable");
        QCOMPARE(revision(), 1);
    }
};

QTEST_GUILESS_MAIN(TestSqliteStore)
#include "test_sqlite_store.moc"
