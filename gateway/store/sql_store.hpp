#pragma once
// The Store implemented once over SQL, shared by the SQLite store and (later) the PostgreSQL
// store. Everything Kong's database enforces is enforced here, in the same transaction as the
// write: primary and unique keys, composite cache keys, references (restrict / cascade), tags,
// the revision counter and the revision log. A database only has to provide a `sql::Connection`.
//
// Tables (sql/sqlite/0001_init.sql; the PostgreSQL migration must create the same shapes):
//   entities(entity, id, doc)                        one row per entity, doc = JSON text
//   unique_keys(entity, key, value, id)              unique fields and composite cache keys
//   refs(entity, id, field, parent_entity, parent_id) every reference, indexed by parent
//   tags(tag, entity, id)                            GET /tags and ?tags= filters
//   revisions(revision, seq, at, entity, entity_id, operation, before, after)
//   meta(key, value)                                 key 'revision': the current revision
//
// Revisions: one revision number per API write (per transaction). Every row the write touched
// (the entity itself and each cascaded child) gets its own log row under that number, ordered
// by `seq`. The log keeps the last 10,000 revisions; a reader further behind than that reloads
// everything. Thread: the control thread only; a SqlStore is not used concurrently.

#include "gateway/store/store.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::store {

namespace sql {

// One value of a row or a parameter: text, or SQL NULL.
using Value = std::optional<std::string>;
using Row = std::vector<Value>;
using Params = std::vector<Value>;

// The few things the generic layer needs from a database connection. Statements are written
// with PostgreSQL-style positional parameters ($1, $2, ...), which SQLite accepts as named
// parameters; every parameter is bound as text (or NULL). Results come back as text.
// Methods return false on failure; lastError() then says why, in the database's own words.
class Connection {
public:
    virtual ~Connection() = default;

    // Runs one or more statements without parameters (migrations, pragmas).
    virtual bool exec(std::string_view statements) = 0;
    // Runs one statement; appends result rows to `rows` when it is not null.
    virtual bool query(std::string_view statement, const Params& params,
                       std::vector<Row>* rows) = 0;
    // A write transaction (SQLite: BEGIN IMMEDIATE, so the write lock is taken up front).
    virtual bool begin() = 0;
    virtual bool commit() = 0;
    virtual bool rollback() = 0;
    virtual std::string lastError() const = 0;

    // The SQL expression reading top-level field `field` of the JSON text column `column` as
    // text (SQLite: json_extract; PostgreSQL: ->>). `field` is a schema field name
    // ([a-z0-9_]+); callers never pass user input here.
    virtual std::string jsonTextField(std::string_view column, std::string_view field) const = 0;
    // "sqlite", "postgres", "off" (Store::strategy()).
    virtual std::string strategy() const = 0;

    // True when the last failure was the database being unreachable (connection refused or
    // lost) rather than an error in a statement: the store then answers 503, not 500.
    virtual bool unavailable() const { return false; }
    // Called inside every write transaction, just before COMMIT, with the new revision: the
    // PostgreSQL connection NOTIFYs the other nodes (delivered only if the commit succeeds).
    virtual bool announceRevision(std::int64_t /*revision*/) { return true; }
};

// (file name, SQL text), applied in order.
using Migrations = std::vector<std::pair<std::string, std::string>>;

// Applies every migration not yet recorded in the schema_migrations table, each one in its own
// transaction together with its record. Safe when several processes run it at once against one
// database: each migration is re-checked inside its transaction, after begin() has taken the
// write lock. Throws std::runtime_error naming the migration and the database's message on
// failure. Returns the names it applied.
std::vector<std::string> applyMigrations(Connection& connection, const Migrations& migrations);

// Names of `migrations` not recorded in schema_migrations (all of them on an empty database).
std::vector<std::string> pendingMigrations(Connection& connection, const Migrations& migrations);

// Names of migrations already applied, in the order they were applied.
std::vector<std::string> appliedMigrations(Connection& connection);

}  // namespace sql

class SqlStore final : public Store {
public:
    using Clock = std::function<double()>;  // Unix seconds, for the revision log

    // `schemas` in dependency order (parents first); schema::allSchemas() in production, small
    // hand-made schemas in tests. The pointers must outlive the store. `clock` defaults to the
    // system clock.
    SqlStore(std::unique_ptr<sql::Connection> connection, std::vector<const EntitySchema*> schemas,
             Clock clock = {});
    ~SqlStore() override;

    std::string strategy() const override;

    ApiResult<json::object> insert(const EntitySchema& schema, json::object entity) override;
    ApiResult<json::object> upsert(const EntitySchema& schema, json::object entity) override;
    ApiResult<json::object> update(const EntitySchema& schema, json::object entity) override;
    ApiResult<bool> remove(const EntitySchema& schema, std::string_view id) override;

    ApiResult<std::optional<json::object>> get(const EntitySchema& schema,
                                               std::string_view id) override;
    ApiResult<std::optional<json::object>> findBy(
        const EntitySchema& schema, std::string_view field, std::string_view value,
        const std::optional<std::pair<std::string, std::string>>& parent) override;
    ApiResult<Page> list(const EntitySchema& schema, const ListQuery& query) override;
    ApiResult<declarative::EntitySet> loadAll() override;

    ApiResult<TagPage> tags(const TagQuery& query) override;

    ApiResult<void> replaceAll(const declarative::EntitySet& entities) override;
    ApiResult<void> replaceAllAt(const declarative::EntitySet& entities,
                                 std::int64_t expected) override;
    ApiResult<void> importAll(const declarative::EntitySet& entities) override;

    ApiResult<std::int64_t> revision() override;
    // A revision is never split across calls: when the next revision's rows do not all fit in
    // `limit`, the result stops before it, unless it is the first one, which is then returned
    // whole (so that a reader always makes progress).
    ApiResult<std::vector<RevisionEntry>> revisions(std::int64_t after, std::size_t limit) override;
    ApiResult<std::vector<RevisionEntry>> revisionRange(std::int64_t first, std::int64_t last,
                                                        std::size_t limit) override;
    ApiResult<std::vector<RevisionEntry>> revisionSummaries(std::int64_t first, std::int64_t last,
                                                            std::size_t limit) override;

    bool reachable() override;

    // The connection, for tests and for the strategies' own maintenance.
    sql::Connection& connection() { return *connection_; }

private:
    class Impl;
    std::unique_ptr<sql::Connection> connection_;
    std::unique_ptr<Impl> impl_;
};

// Kong's opaque list offsets: base64 (standard alphabet, padded) of a JSON array of the last
// primary-key values. Exposed for tests and for the PostgreSQL store.
std::string encodeOffset(const json::array& keys);
// nullopt with `reason` set ("bad base64 encoding", "bad json encoding") when invalid.
std::optional<json::array> decodeOffset(std::string_view offset, std::string* reason);

}  // namespace portico::store
