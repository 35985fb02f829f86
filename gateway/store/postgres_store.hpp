#pragma once
// The PostgreSQL store: many gateway nodes sharing one database.
//
// Writes and reads go to PostgreSQL through the same SqlStore logic as the embedded store (a
// libpq `sql::Connection`). Every write takes one cluster-wide advisory lock inside its
// transaction, so concurrent writers through different nodes are serialized: the second one sees
// the first one's commit and gets Kong's clean error (409 unique violation, 404 not found), never
// a mix. The commit NOTIFYs channel `portico_revisions` with the new revision.
//
// When the database cannot be reached, the store keeps answering reads from a local replica of
// the last configuration it loaded (an in-memory SQLite store), and writes answer 503 with a
// message saying the database is unavailable. The replica is also saved under the prefix
// (`config_cache.json`) so that a node can start, and serve, while the database is down.
// Reconnection is lazy with exponential backoff (0.25 s doubling to 8 s): calls made while
// waiting fail at once instead of blocking the control thread.
//
// Thread: the control thread only, like every Store.

#include "gateway/store/sql_store.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace portico::store {

struct PgOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5432;
    std::string user = "portico";
    std::string password;
    std::string database = "portico";
    bool ssl = false;                 // sslmode=require when true, disable otherwise
    unsigned timeout_ms = 5000;       // connect timeout and statement timeout
    // Off for `portico migrations`: a migration may take long, and a second node running them
    // waits for the first on the migration lock.
    bool statement_timeout = true;
    // Where the last configuration loaded is cached (empty: no cache file).
    std::string cache_path;

    std::string describe() const;     // "postgres://user@host:port/database" (no password)
};

// The migrations in sql/postgres/, embedded at build time.
const sql::Migrations& postgresMigrations();

// A libpq connection implementing sql::Connection. Does not connect until first used.
std::unique_ptr<sql::Connection> makePgConnection(const PgOptions& options);

// One node as registered in cluster_nodes.
struct NodeRecord {
    std::string id;
    std::string hostname;
    std::string version;
    std::vector<std::string> proxy_listen;
    std::vector<std::string> admin_listen;
    double started_at = 0;
    double last_seen = 0;
    std::int64_t applied_revision = 0;
    std::string config_hash;
    std::string health = "[]";  // JSON array: this node's view of target health
};

// A manual health override, to be applied by every node.
struct HealthOverride {
    std::string upstream;
    std::string target;
    std::string address;  // empty: every address of the target
    bool healthy = true;
    double at = 0;
    std::string node_id;
};

// A notification received on a LISTEN connection.
struct Notification {
    std::string channel;
    std::string payload;
};

inline constexpr const char* kRevisionChannel = "portico_revisions";
inline constexpr const char* kHealthChannel = "portico_health";

// A dedicated connection that LISTENs on the revision and health channels. No Asio here: the
// owner waits for socket() to become readable and then calls drain().
class PgListener {
public:
    explicit PgListener(PgOptions options);
    ~PgListener();
    PgListener(const PgListener&) = delete;
    PgListener& operator=(const PgListener&) = delete;

    // Connects (blocking, bounded by the connect timeout) and LISTENs. False with `error` set.
    bool connect(std::string* error);
    bool connected() const;
    // The socket to wait on while connected; -1 otherwise.
    int socket() const;
    // Reads what arrived; false when the connection was lost (then connect() again).
    bool drain(std::vector<Notification>& out, std::string* error);
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class PostgresStore final : public Store {
public:
    using Clock = std::function<double()>;

    // `connection` is normally makePgConnection(options). Does not touch the database; call
    // open() next.
    PostgresStore(PgOptions options, std::unique_ptr<sql::Connection> connection,
                  Clock clock = {});
    ~PostgresStore() override;

    // Checks that the database is reachable and migrated. Returns an empty string when it is.
    // Otherwise returns why (unreachable, not bootstrapped, pending migrations) and, when the
    // database is unreachable and `allow_cache` is set, loads the cached configuration so the
    // node can serve it; `*from_cache` then says whether that worked.
    std::string open(bool allow_cache, bool* from_cache);

    std::string strategy() const override { return "postgres"; }

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
    // From PostgreSQL when it answers (refreshing the replica and the cache file), otherwise
    // from the replica.
    ApiResult<declarative::EntitySet> loadAll() override;
    ApiResult<TagPage> tags(const TagQuery& query) override;
    ApiResult<void> replaceAll(const declarative::EntitySet& entities) override;
    ApiResult<void> replaceAllAt(const declarative::EntitySet& entities,
                                 std::int64_t expected) override;
    // From PostgreSQL, or from the replica with the replica's revision while it is unreachable.
    ApiResult<Configuration> loadConfiguration() override;
    ApiResult<void> importAll(const declarative::EntitySet& entities) override;
    // The database's revision, or the replica's while the database is unreachable.
    ApiResult<std::int64_t> revision() override;
    ApiResult<std::vector<RevisionEntry>> revisions(std::int64_t after,
                                                    std::size_t limit) override;
    ApiResult<std::vector<RevisionEntry>> revisionRange(std::int64_t first, std::int64_t last,
                                                        std::size_t limit) override;
    ApiResult<std::vector<RevisionEntry>> revisionSummaries(std::int64_t first, std::int64_t last,
                                                            std::size_t limit) override;
    bool reachable() override;

    // ---- cluster (cluster_nodes, health_overrides) ----
    ApiResult<void> heartbeat(const NodeRecord& node);
    ApiResult<std::vector<NodeRecord>> nodes();
    // Deletes nodes not seen for `older_than_s` seconds (scaled-down nodes).
    ApiResult<void> purgeNodes(double older_than_s);
    // Records the override and NOTIFYs it to every node (payload: JSON object).
    ApiResult<void> publishOverride(const HealthOverride& override_);
    ApiResult<std::vector<HealthOverride>> overrides();

    // The revision and hash the replica holds (what this node serves while the database is down).
    std::int64_t replicaRevision() const { return replica_revision_; }
    const PgOptions& options() const { return options_; }

private:
    template <class F>
    auto readThrough(F&& read) -> decltype(read(std::declval<Store&>()));
    void refreshReplica(const declarative::EntitySet& entities, std::int64_t revision);
    bool loadCache();

    PgOptions options_;
    std::unique_ptr<SqlStore> primary_;
    std::unique_ptr<Store> replica_;
    std::int64_t replica_revision_ = -1;
    Clock clock_;
};

// Parses a cache file written by PostgresStore (exposed for tests).
struct CachedConfig {
    std::int64_t revision = 0;
    declarative::EntitySet entities;
};
std::optional<CachedConfig> readConfigCache(const std::string& path, std::string* error);

}  // namespace portico::store
