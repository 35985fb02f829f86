#pragma once
// The Store: where entities live. Implemented by the embedded SQLite store (default), the
// PostgreSQL store (many nodes) and, for DB-less mode, an in-memory SQLite store loaded from a
// declarative file. Callers (Admin API, snapshot builder, CLI) run on the control thread; a
// Store is not used concurrently from several threads. The database is never on the request path.
//
// Entities are normalized JSON objects (see schema::validateEntity). The store enforces what the
// database enforces in Kong: primary and unique keys, composite keys (plugins, targets),
// referential integrity (restrict / cascade per Field::on_delete), tags. Every successful write
// bumps the configuration revision and appends to the revision log in the same transaction.

#include "common/api_error.hpp"
#include "common/declarative.hpp"
#include "common/schema.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portico::store {

namespace json = boost::json;
using common::ApiResult;
using schema::EntitySchema;

struct ListQuery {
    std::size_t size = 100;
    std::string offset;  // opaque token from a previous Page::offset; empty = first page
    std::vector<std::string> tags;
    bool tags_any = false;  // false: entity has all tags (a,b); true: any of them (a/b)
    // Restrict to children of one parent: field name ("service") and the parent's id.
    std::optional<std::pair<std::string, std::string>> parent;
    // Exact match on a top-level string field (consumers ?custom_id=).
    std::optional<std::pair<std::string, std::string>> equals;
};

struct Page {
    std::vector<json::object> data;
    std::string offset;  // empty when this is the last page
};

struct TagRow {
    std::string tag;
    std::string entity_name;
    std::string entity_id;
};

struct TagQuery {
    std::size_t size = 100;
    std::string offset;
    std::optional<std::string> tag;  // GET /tags/{tag}
};

struct TagPage {
    std::vector<TagRow> data;
    std::string offset;
};

enum class Operation { Create, Update, Delete };

// The revision log keeps the rows of the last kRevisionsKept revisions; a reader further behind
// reloads everything instead of replaying, and older revisions cannot be rolled back to.
inline constexpr std::int64_t kRevisionsKept = 10000;

struct RevisionEntry {
    std::int64_t revision = 0;
    double at = 0;  // Unix seconds
    std::string entity;
    std::string entity_id;
    Operation operation = Operation::Create;
    std::optional<json::object> before;
    std::optional<json::object> after;
    // revisionSummaries only (documents left out): the entity's name, username, target, key or
    // tag, from `after` or else `before`.
    std::string label;
};

const char* toString(Operation operation);

class Store {
public:
    virtual ~Store() = default;

    // "sqlite", "postgres", "off".
    virtual std::string strategy() const = 0;

    // Inserts a new entity. Errors: primary key violation (code 3), unique violation (409),
    // foreign key violation (code 4).
    virtual ApiResult<json::object> insert(const EntitySchema& schema, json::object entity) = 0;
    // Inserts or fully replaces the entity with entity["id"].
    virtual ApiResult<json::object> upsert(const EntitySchema& schema, json::object entity) = 0;
    // Fully replaces an existing entity (PATCH after merge). Not found: code 6, 404.
    virtual ApiResult<json::object> update(const EntitySchema& schema, json::object entity) = 0;
    // Deletes by id, cascading to children with OnDelete::Cascade and refusing (code 4 or 19)
    // while restricting children exist. Returns false when there was nothing to delete.
    virtual ApiResult<bool> remove(const EntitySchema& schema, std::string_view id) = 0;

    virtual ApiResult<std::optional<json::object>> get(const EntitySchema& schema,
                                                       std::string_view id) = 0;
    // Lookup by a unique field (endpoint key): services by name, consumers by username. When
    // `parent` is given the key is unique within that parent (targets by target in upstream).
    virtual ApiResult<std::optional<json::object>> findBy(
        const EntitySchema& schema, std::string_view field, std::string_view value,
        const std::optional<std::pair<std::string, std::string>>& parent = std::nullopt) = 0;
    // Keyset pagination ordered by id. Bad offset: code 7.
    virtual ApiResult<Page> list(const EntitySchema& schema, const ListQuery& query) = 0;
    // Every entity of every type, for the snapshot builder and export.
    virtual ApiResult<declarative::EntitySet> loadAll() = 0;
    // The entities with the revision they belong to, for the snapshot builder. By default the
    // revision is read first, so the entities are at least that new; a store that can answer
    // from a replica labels them with the replica's revision.
    struct Configuration {
        std::int64_t revision = 0;
        declarative::EntitySet entities;
    };
    virtual ApiResult<Configuration> loadConfiguration() {
        auto revision = this->revision();
        if (!revision) {
            return revision.error();
        }
        auto entities = loadAll();
        if (!entities) {
            return entities.error();
        }
        return Configuration{*revision, std::move(*entities)};
    }

    virtual ApiResult<TagPage> tags(const TagQuery& query) = 0;

    // Replaces the whole configuration with `entities` in one transaction (POST /config,
    // db_import with replace) and records one revision.
    virtual ApiResult<void> replaceAll(const declarative::EntitySet& entities) = 0;
    // The same, only if the revision is still `expected` once the write lock is held (409
    // otherwise): POST /config/rollback computes the state to restore from that revision.
    virtual ApiResult<void> replaceAllAt(const declarative::EntitySet& entities,
                                         std::int64_t expected) = 0;
    // Upserts `entities` in dependency order in one transaction (config db_import).
    virtual ApiResult<void> importAll(const declarative::EntitySet& entities) = 0;

    // The current configuration revision (0 for an empty store).
    virtual ApiResult<std::int64_t> revision() = 0;
    // Revision log entries with revision > `after`, oldest first, at most `limit`.
    virtual ApiResult<std::vector<RevisionEntry>> revisions(std::int64_t after,
                                                            std::size_t limit) = 0;

    // Every log row with first <= revision <= last, ordered by revision then by the order of the
    // changes within it, at most `limit` rows (GET /config/revisions, rollback).
    virtual ApiResult<std::vector<RevisionEntry>> revisionRange(std::int64_t first,
                                                                std::int64_t last,
                                                                std::size_t limit) = 0;
    // The same rows without `before` and `after`, each with its `label`: listing a revision
    // made by a large import stays cheap.
    virtual ApiResult<std::vector<RevisionEntry>> revisionSummaries(std::int64_t first,
                                                                    std::int64_t last,
                                                                    std::size_t limit) = 0;

    // Whether the database answers right now (GET /status).
    virtual bool reachable() = 0;
};

// Opens (creating if needed) the SQLite file at `path`, applies migrations from sql/sqlite/,
// enables WAL with synchronous=FULL so that an acknowledged write survives a crash. `path` of
// ":memory:" gives a private in-memory database (DB-less mode). Throws std::runtime_error naming
// the file and the reason when the database cannot be opened or migrated.
std::unique_ptr<Store> openSqliteStore(const std::string& path);

}  // namespace portico::store
