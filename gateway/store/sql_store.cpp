#include "gateway/store/sql_store.hpp"

#include "gateway/core/logging.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>

namespace portico::store {

using common::ApiError;
using common::ErrorCode;
using schema::Field;
using schema::FieldType;
using schema::OnDelete;

namespace {

std::shared_ptr<spdlog::logger> logger() {
    return core::logger("store");
}

// ---- base64 (standard alphabet, padded), for Kong's opaque offsets ----

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += kBase64[(v >> 18) & 63];
        out += kBase64[(v >> 12) & 63];
        out += kBase64[(v >> 6) & 63];
        out += kBase64[v & 63];
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += kBase64[(v >> 18) & 63];
        out += kBase64[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8);
        out += kBase64[(v >> 18) & 63];
        out += kBase64[(v >> 12) & 63];
        out += kBase64[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

// Strict decoding; padding may be left out (clients sometimes strip it), nothing else may be.
std::optional<std::string> base64Decode(std::string_view in) {
    while (!in.empty() && in.back() == '=') {
        in.remove_suffix(1);
    }
    if (in.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : in) {
        const auto pos = kBase64.find(c);
        if (pos == std::string_view::npos) {
            return std::nullopt;
        }
        buffer = (buffer << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

// ---- entity helpers ----

std::optional<std::string> stringAt(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    if (value == nullptr || !value->is_string()) {
        return std::nullopt;
    }
    return std::string(value->get_string());
}

const Field* fieldOf(const EntitySchema& schema, std::string_view name) {
    for (const auto& field : schema.fields) {
        if (field.name == name) {
            return &field;
        }
    }
    return nullptr;
}

// The entity a field refers to: Foreign fields, and arrays/sets of ids such as
// services.ca_certificates (reference on the field or on its elements).
// An array of uuids named after an entity type (services.ca_certificates) refers to it too:
// that is how the schemas spell it when they set no reference.
std::string arrayReference(const Field& field,
                           const std::function<bool(std::string_view)>& is_entity) {
    if (field.type != FieldType::Array && field.type != FieldType::Set) {
        return {};
    }
    if (!field.reference.empty()) {
        return field.reference;
    }
    if (!field.elements) {
        return {};
    }
    if (!field.elements->reference.empty()) {
        return field.elements->reference;
    }
    if (field.elements->format == schema::Format::Uuid && is_entity(field.name)) {
        return field.name;
    }
    return {};
}

// A foreign value as the store compares it: {"id": "..."} without anything else.
json::value normalizedForeign(const json::value& value) {
    if (value.is_object()) {
        if (const auto* id = value.as_object().if_contains("id")) {
            return json::object{{"id", *id}};
        }
    }
    return value;
}

struct Ref {
    std::string field;
    std::string parent_entity;
    std::string parent_id;
    bool foreign = true;  // false: one element of an array of ids
};

std::vector<Ref> refsOf(const EntitySchema& schema, const json::object& entity,
                        const std::function<bool(std::string_view)>& is_entity) {
    std::vector<Ref> refs;
    for (const auto& field : schema.fields) {
        const auto* value = entity.if_contains(field.name);
        if (value == nullptr || value->is_null()) {
            continue;
        }
        if (field.type == FieldType::Foreign && value->is_object()) {
            if (auto id = stringAt(value->as_object(), "id")) {
                refs.push_back({field.name, field.reference, *id, true});
            }
            continue;
        }
        const auto reference = arrayReference(field, is_entity);
        if (!reference.empty() && value->is_array()) {
            std::set<std::string> seen;
            for (const auto& element : value->as_array()) {
                if (element.is_string() && seen.insert(std::string(element.get_string())).second) {
                    refs.push_back(
                        {field.name, reference, std::string(element.get_string()), false});
                }
            }
        }
    }
    return refs;
}

struct UniqueKey {
    std::string key;
    std::string value;   // JSON text
    json::object shown;  // what the 409 message and fields show
};

std::vector<UniqueKey> uniqueKeysOf(const EntitySchema& schema, const json::object& entity) {
    std::vector<UniqueKey> keys;
    for (const auto& field : schema.fields) {
        if (!field.unique || field.name == "id") {
            continue;
        }
        const auto* value = entity.if_contains(field.name);
        if (value == nullptr || value->is_null()) {
            continue;  // NULLs never collide, as in SQL
        }
        const auto normalized =
            field.type == FieldType::Foreign ? normalizedForeign(*value) : *value;
        keys.push_back({field.name, json::serialize(normalized), {{field.name, normalized}}});
    }
    if (!schema.cache_key.empty()) {
        // Kong prints the whole cache key, nulls included, keys sorted.
        std::vector<std::string> names = schema.cache_key;
        json::array values;
        for (const auto& name : schema.cache_key) {
            const auto* value = entity.if_contains(name);
            const auto* field = fieldOf(schema, name);
            if (value == nullptr) {
                values.emplace_back(nullptr);
            } else if (field != nullptr && field->type == FieldType::Foreign) {
                values.push_back(normalizedForeign(*value));
            } else {
                values.push_back(*value);
            }
        }
        std::sort(names.begin(), names.end());
        json::object shown;
        for (const auto& name : names) {
            const auto index = static_cast<std::size_t>(
                std::find(schema.cache_key.begin(), schema.cache_key.end(), name) -
                schema.cache_key.begin());
            shown[name] = values[index];
        }
        keys.push_back({"@" + (schema.cache_key_name.empty() ? std::string("cache_key")
                                                             : schema.cache_key_name),
                        json::serialize(values), std::move(shown)});
    }
    return keys;
}

std::vector<std::string> tagsOf(const json::object& entity) {
    std::vector<std::string> tags;
    const auto* value = entity.if_contains("tags");
    if (value == nullptr || !value->is_array()) {
        return tags;
    }
    for (const auto& tag : value->as_array()) {
        if (tag.is_string()) {
            tags.emplace_back(tag.get_string());
        }
    }
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    return tags;
}

bool isIdentifier(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

json::object parseObject(const std::string& text) {
    auto value = json::parse(text);
    if (!value.is_object()) {
        throw std::runtime_error("stored document is not a JSON object");
    }
    return std::move(value.as_object());
}

double systemNow() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

// "ca_certificates" -> "ca certificate", for Kong's code 19 message.
std::string singular(std::string_view entity) {
    std::string text(entity);
    std::replace(text.begin(), text.end(), '_', ' ');
    if (!text.empty() && text.back() == 's') {
        text.pop_back();
    }
    return text;
}

ApiError notFoundByKey(std::string_view id) {
    ApiError error;
    error.http_status = 404;
    error.code = ErrorCode::NotFound;
    error.name = "not found";
    json::object key{{"id", id}};
    error.message =
        "could not find the entity with primary key '" + common::luaLiteral(json::value(key)) + "'";
    error.fields = std::move(key);
    return error;
}

ApiError referencedByOthers(std::string_view parent_entity, std::string_view parent_id,
                            std::string_view child_entity, std::string_view child_id) {
    ApiError error;
    error.http_status = 400;
    error.code = ErrorCode::ReferencedByOthers;
    error.name = "referenced by others";
    error.message = singular(parent_entity) + " " + std::string(parent_id) +
                    " is still referenced by " + std::string(child_entity) +
                    " (id = " + std::string(child_id) + ")";
    return error;
}

ApiError invalidEntity(std::string message) {
    return ApiError::plain(400, std::move(message));
}

// ApiError is an aggregate, so C++20 could build one from a bool or an integer: results of
// those types are built explicitly.
template <class T>
ApiResult<T> ok(T value) {
    return ApiResult<T>(boost::system::in_place_value, std::move(value));
}

// One row of the revision log, before it gets its revision number.
struct LogRow {
    std::string entity;
    std::string id;
    Operation operation;
    std::optional<json::object> before;
    std::optional<json::object> after;
};

sql::Value jsonOrNull(const std::optional<json::object>& object) {
    if (!object) {
        return std::nullopt;
    }
    return json::serialize(*object);
}

}  // namespace

std::string encodeOffset(const json::array& keys) {
    return base64Encode(json::serialize(keys));
}

std::optional<json::array> decodeOffset(std::string_view offset, std::string* reason) {
    auto text = base64Decode(offset);
    if (!text) {
        if (reason != nullptr) {
            *reason = "bad base64 encoding";
        }
        return std::nullopt;
    }
    boost::system::error_code ec;
    auto value = json::parse(*text, ec);
    if (ec || !value.is_array()) {
        if (reason != nullptr) {
            *reason = "bad json encoding";
        }
        return std::nullopt;
    }
    return std::move(value.as_array());
}

// ---------------------------------------------------------------------------------------------

namespace sql {

std::vector<std::string> appliedMigrations(Connection& connection) {
    std::vector<Row> rows;
    if (!connection.query("SELECT name FROM schema_migrations ORDER BY name", {}, &rows)) {
        throw std::runtime_error("cannot read schema_migrations: " + connection.lastError());
    }
    std::vector<std::string> names;
    for (const auto& row : rows) {
        names.push_back(row.at(0).value_or(""));
    }
    return names;
}

namespace {

bool hasMigrationsTable(Connection& connection) {
    // Both dialects answer this; SQLite through its schema table, PostgreSQL through to_regclass.
    std::vector<Row> rows;
    if (connection.strategy() == "postgres") {
        return connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", {},
                                &rows) &&
               !rows.empty() && rows.front().at(0) == "t";
    }
    return connection.query(
               "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
               {}, &rows) &&
           !rows.empty();
}

}  // namespace

std::vector<std::string> pendingMigrations(Connection& connection, const Migrations& migrations) {
    std::set<std::string> applied;
    if (hasMigrationsTable(connection)) {
        const auto list = appliedMigrations(connection);
        applied.insert(list.begin(), list.end());
    }
    std::vector<std::string> pending;
    for (const auto& [name, text] : migrations) {
        if (applied.count(name) == 0) {
            pending.push_back(name);
        }
    }
    return pending;
}

std::vector<std::string> applyMigrations(Connection& connection, const Migrations& migrations) {
    // The table is created under the write lock too: two nodes creating it at once would
    // otherwise race on PostgreSQL's catalog.
    if (!connection.begin()) {
        throw std::runtime_error("cannot lock the database for migrations: " +
                                 connection.lastError());
    }
    if (!connection.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         "name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)") ||
        !connection.commit()) {
        const auto message = connection.lastError();
        connection.rollback();
        throw std::runtime_error("cannot create schema_migrations: " + message);
    }
    std::vector<std::string> done;
    for (const auto& [name, text] : migrations) {
        auto fail = [&](const char* what) {
            const auto message = connection.lastError();
            connection.rollback();
            throw std::runtime_error("migration " + name + ": " + what + ": " + message);
        };
        if (!connection.begin()) {
            throw std::runtime_error("migration " + name + ": begin: " + connection.lastError());
        }
        // Another process may have applied it while we waited for the lock.
        std::vector<Row> rows;
        if (!connection.query("SELECT 1 FROM schema_migrations WHERE name = $1", {name}, &rows)) {
            fail("check");
        }
        if (!rows.empty()) {
            connection.rollback();
            continue;
        }
        if (!connection.exec(text)) {
            fail("apply");
        }
        if (!connection.query("INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                              {name, std::to_string(systemNow())}, nullptr)) {
            fail("record");
        }
        if (!connection.commit()) {
            fail("commit");
        }
        // Debug: the caller says where (an in-memory replica's migrations are not news).
        logger()->debug("migration applied store={} name={}", connection.strategy(), name);
        done.push_back(name);
    }
    return done;
}

}  // namespace sql

// ---------------------------------------------------------------------------------------------

class SqlStore::Impl {
public:
    Impl(sql::Connection& connection, std::vector<const EntitySchema*> schemas, Clock clock)
        : db_(connection), schemas_(std::move(schemas)), clock_(std::move(clock)) {
        if (!clock_) {
            clock_ = systemNow;
        }
    }

    // ---- low-level ----

    ApiError dbError(std::string_view what) {
        auto message = db_.lastError();
        if (db_.unavailable()) {
            logger()->warn("database unavailable op={} error=\"{}\"", what, message);
            return ApiError::databaseUnavailable(
                "database unavailable: " + message +
                "; the configuration in use is still served, retry when the database is back");
        }
        logger()->error("database error op={} error=\"{}\"", what, message);
        return ApiError::databaseError(std::move(message));
    }

    ApiResult<std::vector<sql::Row>> query(std::string_view statement, const sql::Params& params) {
        std::vector<sql::Row> rows;
        if (!db_.query(statement, params, &rows)) {
            return dbError(statement);
        }
        return rows;
    }

    ApiResult<void> run(std::string_view statement, const sql::Params& params) {
        if (!db_.query(statement, params, nullptr)) {
            return dbError(statement);
        }
        return {};
    }

    // Rolls back unless committed; every write goes through one of these.
    class Transaction {
    public:
        explicit Transaction(Impl& impl) : impl_(impl) {}
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;
        ~Transaction() {
            if (active_ && !impl_.db_.rollback()) {
                logger()->error("rollback failed error=\"{}\"", impl_.db_.lastError());
            }
        }
        ApiResult<void> begin() {
            if (!impl_.db_.begin()) {
                return impl_.dbError("begin");
            }
            active_ = true;
            return {};
        }
        // Bumps the revision, writes the log rows under it and commits.
        ApiResult<std::int64_t> commit(const std::vector<LogRow>& log) {
            auto bumped = impl_.query(
                "UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value", {});
            if (!bumped) {
                return bumped.error();
            }
            if (bumped->empty() || !bumped->front().at(0)) {
                return ApiError::databaseError("meta table has no revision row");
            }
            const auto revision = std::stoll(*bumped->front().at(0));
            const auto at = std::to_string(impl_.clock_());
            std::int64_t seq = 0;
            for (const auto& row : log) {
                auto inserted = impl_.run(
                    "INSERT INTO revisions (revision, seq, at, entity, entity_id, operation, "
                    "before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    {std::to_string(revision), std::to_string(seq++), at, row.entity, row.id,
                     std::string(toString(row.operation)), jsonOrNull(row.before),
                     jsonOrNull(row.after)});
                if (!inserted) {
                    return inserted.error();
                }
            }
            if (!impl_.db_.announceRevision(revision)) {
                return impl_.dbError("announce");
            }
            if (revision > kRevisionsKept) {
                auto pruned = impl_.run("DELETE FROM revisions WHERE revision <= $1",
                                        {std::to_string(revision - kRevisionsKept)});
                if (!pruned) {
                    return pruned.error();
                }
            }
            if (!impl_.db_.commit()) {
                if (impl_.db_.unavailable()) {
                    active_ = false;  // the connection is gone, and the transaction with it
                    // The COMMIT was sent, its answer never came: it may have landed.
                    const auto message = impl_.db_.lastError();
                    logger()->warn("database lost during commit revision={} error=\"{}\"",
                                   revision, message);
                    return ApiError::databaseUnavailable(
                        "database unavailable during commit: " + message +
                        "; the change may or may not have been saved: once the database is "
                        "back, check the entity (or GET /config/revisions) before retrying");
                }
                return impl_.dbError("commit");
            }
            active_ = false;
            return ok(revision);
        }

    private:
        Impl& impl_;
        bool active_ = false;
    };

    const EntitySchema* schemaNamed(std::string_view name) const {
        for (const auto* schema : schemas_) {
            if (schema->name == name) {
                return schema;
            }
        }
        return nullptr;
    }

    ApiResult<std::optional<json::object>> load(std::string_view entity, std::string_view id) {
        auto rows = query("SELECT doc FROM entities WHERE entity = $1 AND id = $2",
                          {std::string(entity), std::string(id)});
        if (!rows) {
            return rows.error();
        }
        if (rows->empty() || !rows->front().at(0)) {
            return std::optional<json::object>{};
        }
        return std::optional<json::object>(parseObject(*rows->front().at(0)));
    }

    // ---- checks ----

    ApiResult<void> checkForeign(const std::vector<Ref>& refs) {
        for (const auto& ref : refs) {
            if (!ref.foreign) {
                continue;  // arrays of ids are not checked on write, as in Kong
            }
            auto rows = query("SELECT 1 FROM entities WHERE entity = $1 AND id = $2",
                              {ref.parent_entity, ref.parent_id});
            if (!rows) {
                return rows.error();
            }
            if (rows->empty()) {
                return ApiError::foreignKeyViolation(ref.field, ref.parent_entity, ref.parent_id);
            }
        }
        return {};
    }

    ApiResult<void> checkUnique(const EntitySchema& schema, const std::vector<UniqueKey>& keys,
                                const std::string& id) {
        for (const auto& key : keys) {
            auto rows =
                query("SELECT id FROM unique_keys WHERE entity = $1 AND key = $2 AND value = $3",
                      {schema.name, key.key, key.value});
            if (!rows) {
                return rows.error();
            }
            if (!rows->empty() && rows->front().at(0).value_or("") != id) {
                return ApiError::uniqueViolation(key.shown);
            }
        }
        return {};
    }

    // ---- index rows ----

    ApiResult<void> dropIndexes(const std::string& entity, const std::string& id) {
        for (const char* statement : {"DELETE FROM unique_keys WHERE entity = $1 AND id = $2",
                                      "DELETE FROM refs WHERE entity = $1 AND id = $2",
                                      "DELETE FROM tags WHERE entity = $1 AND id = $2"}) {
            auto done = run(statement, {entity, id});
            if (!done) {
                return done;
            }
        }
        return {};
    }

    ApiResult<void> writeIndexes(const EntitySchema& schema, const std::string& id,
                                 const json::object& entity, const std::vector<UniqueKey>& keys,
                                 const std::vector<Ref>& refs) {
        for (const auto& key : keys) {
            auto done =
                run("INSERT INTO unique_keys (entity, key, value, id) VALUES ($1, $2, $3, $4)",
                    {schema.name, key.key, key.value, id});
            if (!done) {
                return done;
            }
        }
        for (const auto& ref : refs) {
            auto done =
                run("INSERT INTO refs (entity, id, field, parent_entity, parent_id) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    {schema.name, id, ref.field, ref.parent_entity, ref.parent_id});
            if (!done) {
                return done;
            }
        }
        for (const auto& tag : tagsOf(entity)) {
            auto done = run("INSERT INTO tags (tag, entity, id) VALUES ($1, $2, $3)",
                            {tag, schema.name, id});
            if (!done) {
                return done;
            }
        }
        return {};
    }

    // ---- writes (inside a transaction) ----

    enum class Mode { Insert, Upsert, Update };

    ApiResult<json::object> write(const EntitySchema& schema, json::object entity, Mode mode,
                                  std::vector<LogRow>& log) {
        const auto id = stringAt(entity, "id");
        if (!id || id->empty()) {
            return ApiError::invalidPrimaryKey("missing primary key",
                                               json::object{{"id", "missing primary key"}});
        }
        auto existing = load(schema.name, *id);
        if (!existing) {
            return existing.error();
        }
        if (mode == Mode::Insert && *existing) {
            return ApiError::primaryKeyViolation(json::object{{"id", *id}});
        }
        if (mode == Mode::Update && !*existing) {
            return notFoundByKey(*id);
        }
        const auto refs = refsOf(schema, entity, [this](std::string_view name) {
            return schemaNamed(name) != nullptr;
        });
        if (auto checked = checkForeign(refs); !checked) {
            return checked.error();
        }
        const auto keys = uniqueKeysOf(schema, entity);
        if (auto checked = checkUnique(schema, keys, *id); !checked) {
            return checked.error();
        }
        const auto doc = json::serialize(entity);
        if (*existing) {
            if (auto dropped = dropIndexes(schema.name, *id); !dropped) {
                return dropped.error();
            }
            if (auto updated = run("UPDATE entities SET doc = $3 WHERE entity = $1 AND id = $2",
                                   {schema.name, *id, doc});
                !updated) {
                return updated.error();
            }
        } else if (auto inserted = run("INSERT INTO entities (entity, id, doc) VALUES ($1, $2, $3)",
                                       {schema.name, *id, doc});
                   !inserted) {
            return inserted.error();
        }
        if (auto indexed = writeIndexes(schema, *id, entity, keys, refs); !indexed) {
            return indexed.error();
        }
        if (!*existing || **existing != entity) {
            log.push_back({schema.name, *id, *existing ? Operation::Update : Operation::Create,
                           std::move(*existing), entity});
        }
        return entity;
    }

    ApiResult<json::object> writeOne(const EntitySchema& schema, json::object entity, Mode mode) {
        Transaction transaction(*this);
        if (auto begun = transaction.begin(); !begun) {
            return begun.error();
        }
        std::vector<LogRow> log;
        auto written = write(schema, std::move(entity), mode, log);
        if (!written) {
            return written;
        }
        if (auto committed = transaction.commit(log); !committed) {
            return committed.error();
        }
        return written;
    }

    // Deletes `id` and, depth first, every child that cascades; fails on the first child that
    // restricts. Children are deleted (and logged) before their parent.
    ApiResult<bool> removeTree(const EntitySchema& schema, const std::string& id,
                               std::set<std::pair<std::string, std::string>>& visited,
                               std::vector<LogRow>& log) {
        if (!visited.insert({schema.name, id}).second) {
            return ok(false);
        }
        auto existing = load(schema.name, id);
        if (!existing) {
            return existing.error();
        }
        if (!*existing) {
            return ok(false);
        }
        auto children = query(
            "SELECT entity, id, field FROM refs WHERE parent_entity = $1 AND parent_id = $2 "
            "ORDER BY entity, id, field",
            {schema.name, id});
        if (!children) {
            return children.error();
        }
        for (const auto& child : *children) {
            const auto child_entity = child.at(0).value_or("");
            const auto child_id = child.at(1).value_or("");
            const auto* child_schema = schemaNamed(child_entity);
            const auto* field = child_schema != nullptr
                                    ? fieldOf(*child_schema, child.at(2).value_or(""))
                                    : nullptr;
            if (field != nullptr && field->type != FieldType::Foreign) {
                return referencedByOthers(schema.name, id, child_entity, child_id);
            }
            if (field == nullptr || field->on_delete != OnDelete::Cascade) {
                return ApiError::referencedBy(child_entity, schema.name);
            }
            auto removed = removeTree(*child_schema, child_id, visited, log);
            if (!removed) {
                return removed.error();
            }
        }
        if (auto dropped = dropIndexes(schema.name, id); !dropped) {
            return dropped.error();
        }
        if (auto deleted =
                run("DELETE FROM entities WHERE entity = $1 AND id = $2", {schema.name, id});
            !deleted) {
            return deleted.error();
        }
        log.push_back({schema.name, id, Operation::Delete, std::move(*existing), std::nullopt});
        return ok(true);
    }

    ApiResult<bool> remove(const EntitySchema& schema, std::string_view id) {
        Transaction transaction(*this);
        if (auto begun = transaction.begin(); !begun) {
            return begun.error();
        }
        std::set<std::pair<std::string, std::string>> visited;
        std::vector<LogRow> log;
        auto removed = removeTree(schema, std::string(id), visited, log);
        if (!removed || !*removed) {
            return removed;  // nothing written: the transaction rolls back
        }
        if (auto committed = transaction.commit(log); !committed) {
            return committed.error();
        }
        return ok(true);
    }

    // ---- bulk ----

    ApiResult<void> checkKnown(const declarative::EntitySet& entities) {
        for (const auto& [name, list] : entities) {
            if (!list.empty() && schemaNamed(name) == nullptr) {
                return invalidEntity("unknown entity type '" + name + "'");
            }
        }
        return {};
    }

    ApiResult<void> replaceAll(const declarative::EntitySet& entities,
                               std::optional<std::int64_t> expected = std::nullopt) {
        if (auto known = checkKnown(entities); !known) {
            return known;
        }
        Transaction transaction(*this);
        if (auto begun = transaction.begin(); !begun) {
            return begun;
        }
        if (expected) {
            // Under the write lock: nobody can commit between this check and ours.
            auto current = revision();
            if (!current) {
                return current.error();
            }
            if (*current != *expected) {
                return ApiError::plain(
                    409, "the configuration changed meanwhile (revision " +
                             std::to_string(*expected) + " became " + std::to_string(*current) +
                             "): retry");
            }
        }
        auto rows = query("SELECT entity, id, doc FROM entities", {});
        if (!rows) {
            return rows.error();
        }
        std::map<std::pair<std::string, std::string>, json::object> before;
        for (auto& row : *rows) {
            before.emplace(std::make_pair(row.at(0).value_or(""), row.at(1).value_or("")),
                           parseObject(row.at(2).value_or("{}")));
        }
        for (const char* table : {"entities", "unique_keys", "refs", "tags"}) {
            if (auto cleared = run(std::string("DELETE FROM ") + table, {}); !cleared) {
                return cleared;
            }
        }
        std::vector<LogRow> inserted;
        for (const auto* schema : schemas_) {
            const auto found = entities.find(schema->name);
            if (found == entities.end()) {
                continue;
            }
            for (const auto& entity : found->second) {
                auto written = write(*schema, entity, Mode::Insert, inserted);
                if (!written) {
                    return written.error();
                }
            }
        }
        // The log says what changed, not how: deletions of what is gone (children first),
        // then creations and updates.
        std::set<std::pair<std::string, std::string>> kept;
        for (const auto& row : inserted) {
            kept.emplace(row.entity, row.id);
        }
        std::vector<LogRow> log;
        for (auto it = schemas_.rbegin(); it != schemas_.rend(); ++it) {
            for (auto& [key, doc] : before) {
                if (key.first != (*it)->name) {
                    continue;
                }
                if (kept.count(key) == 0) {
                    log.push_back({key.first, key.second, Operation::Delete, doc, std::nullopt});
                }
            }
        }
        for (auto& row : inserted) {
            const auto old = before.find({row.entity, row.id});
            if (old == before.end()) {
                log.push_back(std::move(row));
            } else if (old->second != *row.after) {
                log.push_back(
                    {row.entity, row.id, Operation::Update, old->second, std::move(row.after)});
            }
        }
        if (auto committed = transaction.commit(log); !committed) {
            return committed.error();
        }
        return {};
    }

    ApiResult<void> importAll(const declarative::EntitySet& entities) {
        if (auto known = checkKnown(entities); !known) {
            return known;
        }
        Transaction transaction(*this);
        if (auto begun = transaction.begin(); !begun) {
            return begun;
        }
        std::vector<LogRow> log;
        for (const auto* schema : schemas_) {
            const auto found = entities.find(schema->name);
            if (found == entities.end()) {
                continue;
            }
            for (const auto& entity : found->second) {
                auto written = write(*schema, entity, Mode::Upsert, log);
                if (!written) {
                    return written.error();
                }
            }
        }
        if (auto committed = transaction.commit(log); !committed) {
            return committed.error();
        }
        return {};
    }

    // ---- reads ----

    ApiResult<std::optional<json::object>> findBy(
        const EntitySchema& schema, std::string_view field_name, std::string_view value,
        const std::optional<std::pair<std::string, std::string>>& parent) {
        if (field_name == "id") {
            return load(schema.name, value);
        }
        const auto* field = fieldOf(schema, field_name);
        if (field == nullptr || !isIdentifier(field_name)) {
            return std::optional<json::object>{};
        }
        if (parent && !isIdentifier(parent->first)) {
            return std::optional<json::object>{};
        }
        std::vector<sql::Row> rows;
        if (field->unique) {
            auto found = query(
                "SELECT e.doc FROM unique_keys u JOIN entities e ON e.entity = u.entity AND "
                "e.id = u.id WHERE u.entity = $1 AND u.key = $2 AND u.value = $3",
                {schema.name, field->name, json::serialize(json::string(value))});
            if (!found) {
                return found.error();
            }
            rows = std::move(*found);
        } else {
            std::string statement = "SELECT e.doc FROM entities e WHERE e.entity = $1 AND " +
                                    db_.jsonTextField("e.doc", field->name) + " = $2";
            sql::Params params{schema.name, std::string(value)};
            if (parent) {
                statement +=
                    " AND EXISTS (SELECT 1 FROM refs r WHERE r.entity = e.entity AND "
                    "r.id = e.id AND r.field = $3 AND r.parent_id = $4)";
                params.emplace_back(parent->first);
                params.emplace_back(parent->second);
            }
            statement += " ORDER BY e.id LIMIT 1";
            auto found = query(statement, params);
            if (!found) {
                return found.error();
            }
            rows = std::move(*found);
        }
        if (rows.empty() || !rows.front().at(0)) {
            return std::optional<json::object>{};
        }
        auto doc = parseObject(*rows.front().at(0));
        if (parent) {
            const auto* ref = doc.if_contains(parent->first);
            if (ref == nullptr || !ref->is_object() ||
                stringAt(ref->as_object(), "id") != parent->second) {
                return std::optional<json::object>{};
            }
        }
        return std::optional<json::object>(std::move(doc));
    }

    ApiResult<Page> list(const EntitySchema& schema, const ListQuery& request) {
        std::string after;
        if (!request.offset.empty()) {
            std::string reason;
            auto keys = decodeOffset(request.offset, &reason);
            if (!keys) {
                return ApiError::invalidOffset(request.offset, reason);
            }
            if (keys->size() != 1 || !keys->front().is_string()) {
                return ApiError::invalidOffset(request.offset, "bad json encoding");
            }
            after = std::string(keys->front().get_string());
        }
        const std::size_t size = request.size == 0 ? 100 : request.size;
        sql::Params params{schema.name, after};
        auto next = [&params](std::string value) {
            params.emplace_back(std::move(value));
            return "$" + std::to_string(params.size());
        };
        std::string statement =
            "SELECT e.id, e.doc FROM entities e WHERE e.entity = $1 AND e.id > $2";
        if (!request.tags.empty()) {
            std::vector<std::string> tags = request.tags;
            std::sort(tags.begin(), tags.end());
            tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
            std::string in;
            for (const auto& tag : tags) {
                in += (in.empty() ? "" : ", ") + next(tag);
            }
            const std::string match =
                "FROM tags t WHERE t.entity = e.entity AND t.id = e.id AND t.tag IN (" + in + ")";
            if (request.tags_any || tags.size() == 1) {
                statement += " AND EXISTS (SELECT 1 " + match + ")";
            } else {
                // The count is ours, not the client's: a literal (a bound text would compare
                // as text in SQLite).
                statement +=
                    " AND (SELECT COUNT(*) " + match + ") = " + std::to_string(tags.size());
            }
        }
        if (request.parent) {
            const auto field = next(request.parent->first);
            const auto parent_id = next(request.parent->second);
            statement +=
                " AND EXISTS (SELECT 1 FROM refs r WHERE r.entity = e.entity AND r.id = e.id "
                "AND r.field = " +
                field + " AND r.parent_id = " + parent_id + ")";
        }
        if (request.equals) {
            if (!isIdentifier(request.equals->first)) {
                return Page{};
            }
            statement += " AND " + db_.jsonTextField("e.doc", request.equals->first) + " = " +
                         next(request.equals->second);
        }
        statement += " ORDER BY e.id LIMIT " + next(std::to_string(size + 1));
        auto rows = query(statement, params);
        if (!rows) {
            return rows.error();
        }
        Page page;
        const bool more = rows->size() > size;
        if (more) {
            rows->resize(size);
        }
        for (const auto& row : *rows) {
            page.data.push_back(parseObject(row.at(1).value_or("{}")));
        }
        if (more && !rows->empty()) {
            page.offset = encodeOffset(json::array{json::string(rows->back().at(0).value_or(""))});
        }
        return page;
    }

    ApiResult<declarative::EntitySet> loadAll() {
        auto rows = query("SELECT entity, doc FROM entities ORDER BY entity, id", {});
        if (!rows) {
            return rows.error();
        }
        declarative::EntitySet set;
        for (const auto& row : *rows) {
            set[row.at(0).value_or("")].push_back(parseObject(row.at(1).value_or("{}")));
        }
        return set;
    }

    ApiResult<TagPage> tags(const TagQuery& request) {
        sql::Params params;
        auto next = [&params](std::string value) {
            params.emplace_back(std::move(value));
            return "$" + std::to_string(params.size());
        };
        std::string statement = "SELECT tag, entity, id FROM tags WHERE 1 = 1";
        if (request.tag) {
            statement += " AND tag = " + next(*request.tag);
        }
        if (!request.offset.empty()) {
            std::string reason;
            auto keys = decodeOffset(request.offset, &reason);
            if (!keys) {
                return ApiError::invalidOffset(request.offset, reason);
            }
            if (keys->size() != 3 ||
                !std::all_of(keys->begin(), keys->end(), [](auto& v) { return v.is_string(); })) {
                return ApiError::invalidOffset(request.offset, "bad json encoding");
            }
            const auto tag = next(std::string((*keys)[0].get_string()));
            const auto entity = next(std::string((*keys)[1].get_string()));
            const auto id = next(std::string((*keys)[2].get_string()));
            statement += " AND (tag > " + tag + " OR (tag = " + tag + " AND (entity > " + entity +
                         " OR (entity = " + entity + " AND id > " + id + "))))";
        }
        const std::size_t size = request.size == 0 ? 100 : request.size;
        statement += " ORDER BY tag, entity, id LIMIT " + next(std::to_string(size + 1));
        auto rows = query(statement, params);
        if (!rows) {
            return rows.error();
        }
        TagPage page;
        const bool more = rows->size() > size;
        if (more) {
            rows->resize(size);
        }
        for (const auto& row : *rows) {
            page.data.push_back(
                {row.at(0).value_or(""), row.at(1).value_or(""), row.at(2).value_or("")});
        }
        if (more && !page.data.empty()) {
            const auto& last = page.data.back();
            page.offset =
                encodeOffset(json::array{json::string(last.tag), json::string(last.entity_name),
                                         json::string(last.entity_id)});
        }
        return page;
    }

    ApiResult<std::int64_t> revision() {
        auto rows = query("SELECT value FROM meta WHERE key = 'revision'", {});
        if (!rows) {
            return rows.error();
        }
        if (rows->empty() || !rows->front().at(0)) {
            return ok(std::int64_t{0});
        }
        return ok(static_cast<std::int64_t>(std::stoll(*rows->front().at(0))));
    }

    ApiResult<std::vector<RevisionEntry>> revisions(std::int64_t after, std::size_t limit) {
        static constexpr const char* kColumns =
            "SELECT revision, at, entity, entity_id, operation, before, after FROM revisions ";
        if (limit == 0) {
            return std::vector<RevisionEntry>{};
        }
        auto rows =
            query(std::string(kColumns) + "WHERE revision > $1 ORDER BY revision, seq LIMIT $2",
                  {std::to_string(after), std::to_string(limit + 1)});
        if (!rows) {
            return rows.error();
        }
        if (rows->size() > limit) {
            // The last revision fetched may continue past the limit: leave it for next time.
            const auto cut = rows->back().at(0);
            while (!rows->empty() && rows->back().at(0) == cut) {
                rows->pop_back();
            }
            if (rows->empty()) {
                auto whole =
                    query(std::string(kColumns) + "WHERE revision = $1 ORDER BY seq", {cut});
                if (!whole) {
                    return whole.error();
                }
                rows = std::move(whole);
            }
        }
        return toEntries(*rows);
    }

    ApiResult<std::vector<RevisionEntry>> revisionRange(std::int64_t first, std::int64_t last,
                                                        std::size_t limit) {
        auto rows = query(
            "SELECT revision, at, entity, entity_id, operation, before, after FROM revisions "
            "WHERE revision >= $1 AND revision <= $2 ORDER BY revision, seq LIMIT $3",
            {std::to_string(first), std::to_string(last), std::to_string(limit)});
        if (!rows) {
            return rows.error();
        }
        return toEntries(*rows);
    }

    ApiResult<std::vector<RevisionEntry>> revisionSummaries(std::int64_t first,
                                                            std::int64_t last,
                                                            std::size_t limit) {
        std::string label = "COALESCE(";
        for (const char* column : {"after", "before"}) {
            for (const char* field : {"name", "username", "target", "key", "tag"}) {
                label += db_.jsonTextField(column, field) + ", ";
            }
        }
        label += "'')";
        auto rows = query("SELECT revision, at, entity, entity_id, operation, NULL, NULL, " +
                              label +
                              " FROM revisions WHERE revision >= $1 AND revision <= $2 "
                              "ORDER BY revision, seq LIMIT $3",
                          {std::to_string(first), std::to_string(last), std::to_string(limit)});
        if (!rows) {
            return rows.error();
        }
        auto entries = toEntries(*rows);
        for (std::size_t i = 0; i < entries.size(); ++i) {
            entries[i].label = (*rows)[i].at(7).value_or("");
        }
        return entries;
    }

    static std::vector<RevisionEntry> toEntries(const std::vector<sql::Row>& rows) {
        std::vector<RevisionEntry> entries;
        for (const auto& row : rows) {
            RevisionEntry entry;
            entry.revision = std::stoll(row.at(0).value_or("0"));
            entry.at = std::strtod(row.at(1).value_or("0").c_str(), nullptr);
            entry.entity = row.at(2).value_or("");
            entry.entity_id = row.at(3).value_or("");
            const auto operation = row.at(4).value_or("");
            entry.operation = operation == "delete"   ? Operation::Delete
                              : operation == "update" ? Operation::Update
                                                      : Operation::Create;
            if (row.at(5)) {
                entry.before = parseObject(*row.at(5));
            }
            if (row.at(6)) {
                entry.after = parseObject(*row.at(6));
            }
            entries.push_back(std::move(entry));
        }
        return entries;
    }

    sql::Connection& db_;
    std::vector<const EntitySchema*> schemas_;
    Clock clock_;
};

// ---------------------------------------------------------------------------------------------

namespace {

// Nothing thrown below (a corrupt document, an allocation failure) may escape as an exception:
// the transaction guard has already rolled back, the caller gets a database error.
template <class F>
auto guarded(std::string_view what, F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const std::exception& e) {
        logger()->error("store failure op={} error=\"{}\"", what, e.what());
        return ApiError::databaseError(e.what());
    }
}

}  // namespace

SqlStore::SqlStore(std::unique_ptr<sql::Connection> connection,
                   std::vector<const EntitySchema*> schemas, Clock clock)
    : connection_(std::move(connection)),
      impl_(std::make_unique<Impl>(*connection_, std::move(schemas), std::move(clock))) {}

SqlStore::~SqlStore() = default;

std::string SqlStore::strategy() const {
    return connection_->strategy();
}

ApiResult<json::object> SqlStore::insert(const EntitySchema& schema, json::object entity) {
    return guarded("insert",
                   [&] { return impl_->writeOne(schema, std::move(entity), Impl::Mode::Insert); });
}

ApiResult<json::object> SqlStore::upsert(const EntitySchema& schema, json::object entity) {
    return guarded("upsert",
                   [&] { return impl_->writeOne(schema, std::move(entity), Impl::Mode::Upsert); });
}

ApiResult<json::object> SqlStore::update(const EntitySchema& schema, json::object entity) {
    return guarded("update",
                   [&] { return impl_->writeOne(schema, std::move(entity), Impl::Mode::Update); });
}

ApiResult<bool> SqlStore::remove(const EntitySchema& schema, std::string_view id) {
    return guarded("remove", [&] { return impl_->remove(schema, id); });
}

ApiResult<std::optional<json::object>> SqlStore::get(const EntitySchema& schema,
                                                     std::string_view id) {
    return guarded("get", [&] { return impl_->load(schema.name, id); });
}

ApiResult<std::optional<json::object>> SqlStore::findBy(
    const EntitySchema& schema, std::string_view field, std::string_view value,
    const std::optional<std::pair<std::string, std::string>>& parent) {
    return guarded("find", [&] { return impl_->findBy(schema, field, value, parent); });
}

ApiResult<Page> SqlStore::list(const EntitySchema& schema, const ListQuery& query) {
    return guarded("list", [&] { return impl_->list(schema, query); });
}

ApiResult<declarative::EntitySet> SqlStore::loadAll() {
    return guarded("load_all", [&] { return impl_->loadAll(); });
}

ApiResult<TagPage> SqlStore::tags(const TagQuery& query) {
    return guarded("tags", [&] { return impl_->tags(query); });
}

ApiResult<void> SqlStore::replaceAll(const declarative::EntitySet& entities) {
    return guarded("replace_all", [&] { return impl_->replaceAll(entities); });
}

ApiResult<void> SqlStore::replaceAllAt(const declarative::EntitySet& entities,
                                       std::int64_t expected) {
    return guarded("replace_all", [&] { return impl_->replaceAll(entities, expected); });
}

ApiResult<void> SqlStore::importAll(const declarative::EntitySet& entities) {
    return guarded("import_all", [&] { return impl_->importAll(entities); });
}

ApiResult<std::int64_t> SqlStore::revision() {
    return guarded("revision", [&] { return impl_->revision(); });
}

ApiResult<std::vector<RevisionEntry>> SqlStore::revisions(std::int64_t after, std::size_t limit) {
    return guarded("revisions", [&] { return impl_->revisions(after, limit); });
}

ApiResult<std::vector<RevisionEntry>> SqlStore::revisionRange(std::int64_t first,
                                                              std::int64_t last,
                                                              std::size_t limit) {
    return guarded("revision_range", [&] { return impl_->revisionRange(first, last, limit); });
}

ApiResult<std::vector<RevisionEntry>> SqlStore::revisionSummaries(std::int64_t first,
                                                                  std::int64_t last,
                                                                  std::size_t limit) {
    return guarded("revision_summaries",
                   [&] { return impl_->revisionSummaries(first, last, limit); });
}

bool SqlStore::reachable() {
    try {
        std::vector<sql::Row> rows;
        return connection_->query("SELECT 1", {}, &rows) && rows.size() == 1;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace portico::store
