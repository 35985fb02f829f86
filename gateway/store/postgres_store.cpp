#include "gateway/store/postgres_store.hpp"

#include "gateway/core/logging.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace portico::store {

using common::ApiError;

// Generated from sql/postgres/*.sql by cmake/embed_migrations.cmake.
extern const std::vector<std::pair<std::string, std::string>> kPostgresMigrations;

namespace {

auto logger() {
    return core::logger("store");
}

double systemNow() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

// For backoffs: unaffected by the wall clock being stepped.
double monotonicNow() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// One key for the whole cluster: every write transaction and every migration takes it.
constexpr const char* kWriteLock = "SELECT pg_advisory_xact_lock(7236521047)";

constexpr double kFirstBackoffS = 0.25;
constexpr double kMaxBackoffS = 8;

// Writes `text` to `path` so that a crash or a power loss leaves the old file or the new one,
// never a torn one: a temporary file beside it (created 0600: the configuration may hold
// credentials), fsync'ed, renamed over the target, and the directory fsync'ed. Returns an
// error message, empty on success.
std::string writeFileDurably(const std::string& path, const std::string& text) {
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return temporary + ": " + std::strerror(errno);
    }
    std::size_t written = 0;
    while (written < text.size()) {
        const auto n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const std::string error = temporary + ": " + std::strerror(errno);
            ::close(fd);
            return error;
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const std::string error = temporary + ": fsync: " + std::strerror(errno);
        ::close(fd);
        return error;
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        return path + ": rename: " + std::strerror(errno);
    }
    const auto directory = std::filesystem::path(path).parent_path();
    const int dir = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return {};
}

// libpq keyword/value pairs for a connection.
struct ConnectParams {
    std::vector<std::string> storage;
    std::vector<const char*> keys;
    std::vector<const char*> values;

    explicit ConnectParams(const PgOptions& options) {
        const unsigned timeout_s = std::max(2u, (options.timeout_ms + 999) / 1000);
        add("host", options.host);
        add("port", std::to_string(options.port));
        add("user", options.user);
        if (!options.password.empty()) {
            add("password", options.password);
        }
        add("dbname", options.database);
        add("sslmode", options.ssl ? "require" : "disable");
        add("connect_timeout", std::to_string(timeout_s));
        add("application_name", "portico");
        // A server that vanished without closing the socket is noticed within seconds.
        add("keepalives", "1");
        add("keepalives_idle", "5");
        add("keepalives_interval", "2");
        add("keepalives_count", "2");
        // ... and so is one that stops acknowledging while a query is in flight (keepalives do
        // not run while data is unacknowledged; without this the kernel retries for minutes).
        add("tcp_user_timeout", std::to_string(options.timeout_ms));
        add("options", "-c statement_timeout=" +
                           std::to_string(options.statement_timeout ? options.timeout_ms : 0));
        for (std::size_t i = 0; i < storage.size(); i += 2) {
            keys.push_back(storage[i].c_str());
            values.push_back(storage[i + 1].c_str());
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);
    }

private:
    void add(std::string key, std::string value) {
        storage.push_back(std::move(key));
        storage.push_back(std::move(value));
    }
};

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running..."):
// one line, runs of white space collapsed, for logs and API messages.
std::string trimmed(const char* message) {
    std::string text;
    bool space = false;
    for (const char* c = message != nullptr ? message : ""; *c != '\0'; ++c) {
        if (*c == '\n' || *c == '\t' || *c == ' ' || *c == '\r') {
            space = !text.empty();
            continue;
        }
        if (space) {
            text += ' ';
            space = false;
        }
        text += *c;
    }
    return text;
}

PGconn* connectBlocking(const PgOptions& options, std::string* error) {
    ConnectParams params(options);
    PGconn* conn = PQconnectdbParams(params.keys.data(), params.values.data(), 0);
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
        *error = "cannot connect to " + options.describe() + ": " +
                 (conn != nullptr ? trimmed(PQerrorMessage(conn)) : std::string("out of memory"));
        PQfinish(conn);
        return nullptr;
    }
    // Server notices ("relation already exists, skipping") go to the debug log, not stderr.
    PQsetNoticeProcessor(
        conn, [](void*, const char* message) { logger()->debug("postgres: {}", trimmed(message)); },
        nullptr);
    return conn;
}

class PgConnection final : public sql::Connection {
public:
    explicit PgConnection(PgOptions options) : options_(std::move(options)) {}
    ~PgConnection() override { PQfinish(conn_); }
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    bool exec(std::string_view statements) override {
        if (!ensure()) {
            return false;
        }
        const std::string text(statements);
        return check(PQexec(conn_, text.c_str()), nullptr);
    }

    bool query(std::string_view statement, const sql::Params& params,
               std::vector<sql::Row>* rows) override {
        if (!ensure()) {
            return false;
        }
        const std::string text(statement);
        std::vector<const char*> values;
        values.reserve(params.size());
        for (const auto& param : params) {
            values.push_back(param ? param->c_str() : nullptr);
        }
        PGresult* result = PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()),
                                        nullptr, values.data(), nullptr, nullptr, 0);
        return check(result, rows);
    }

    bool begin() override {
        if (!exec("BEGIN")) {
            return false;
        }
        in_transaction_ = true;
        if (!exec(kWriteLock)) {
            rollback();
            return false;
        }
        return true;
    }

    bool commit() override {
        const bool done = exec("COMMIT");
        in_transaction_ = false;
        return done;
    }

    bool rollback() override {
        if (!in_transaction_) {
            return true;
        }
        in_transaction_ = false;
        if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
            return true;  // the server rolled back when the connection went away
        }
        PQclear(PQexec(conn_, "ROLLBACK"));
        return true;
    }

    std::string lastError() const override { return error_; }

    std::string jsonTextField(std::string_view column, std::string_view field) const override {
        return "(" + std::string(column) + "::jsonb ->> '" + std::string(field) + "')";
    }
    std::string strategy() const override { return "postgres"; }
    bool unavailable() const override { return unavailable_; }

    bool announceRevision(std::int64_t revision) override {
        return query("SELECT pg_notify($1, $2)",
                     {std::string(kRevisionChannel), std::to_string(revision)}, nullptr);
    }

private:
    // Connected, or connects now unless the backoff says to wait.
    bool ensure() {
        if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
            return true;
        }
        if (in_transaction_) {
            error_ = "connection to " + options_.describe() + " lost during a transaction";
            unavailable_ = true;
            return false;
        }
        const double now = monotonicNow();
        if (conn_ == nullptr && now < retry_at_) {
            unavailable_ = true;
            error_ = last_connect_error_ + " (next attempt in " +
                     std::to_string(static_cast<int>((retry_at_ - now) * 1000)) + " ms)";
            return false;
        }
        PQfinish(conn_);
        conn_ = connectBlocking(options_, &last_connect_error_);
        if (conn_ == nullptr) {
            backoff_ = backoff_ == 0 ? kFirstBackoffS : std::min(backoff_ * 2, kMaxBackoffS);
            retry_at_ = now + backoff_;
            unavailable_ = true;
            error_ = last_connect_error_;
            if (!warned_) {
                logger()->warn("database unreachable database={} error=\"{}\"",
                               options_.describe(), last_connect_error_);
                warned_ = true;
            }
            return false;
        }
        if (warned_) {
            logger()->info("database reachable again database={}", options_.describe());
        }
        warned_ = false;
        backoff_ = 0;
        retry_at_ = 0;
        return true;
    }

    bool check(PGresult* result, std::vector<sql::Row>* rows) {
        const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            error_ = result != nullptr ? trimmed(PQresultErrorMessage(result))
                                       : trimmed(PQerrorMessage(conn_));
            PQclear(result);
            if (PQstatus(conn_) != CONNECTION_OK) {
                // Lost: the next call (outside a transaction) reconnects at once; if that fails
                // too, the backoff starts.
                unavailable_ = true;
                if (error_.empty()) {
                    error_ = "connection to " + options_.describe() + " lost";
                }
                PQfinish(conn_);
                conn_ = nullptr;
                retry_at_ = 0;
                last_connect_error_ = error_;
            } else {
                unavailable_ = false;
            }
            return false;
        }
        unavailable_ = false;
        if (rows != nullptr && status == PGRES_TUPLES_OK) {
            const int count = PQntuples(result);
            const int columns = PQnfields(result);
            for (int r = 0; r < count; ++r) {
                sql::Row row;
                row.reserve(static_cast<std::size_t>(columns));
                for (int c = 0; c < columns; ++c) {
                    if (PQgetisnull(result, r, c) != 0) {
                        row.emplace_back(std::nullopt);
                    } else {
                        row.emplace_back(std::string(PQgetvalue(result, r, c),
                                                     static_cast<std::size_t>(
                                                         PQgetlength(result, r, c))));
                    }
                }
                rows->push_back(std::move(row));
            }
        }
        PQclear(result);
        return true;
    }

    PgOptions options_;
    PGconn* conn_ = nullptr;
    std::string error_;
    std::string last_connect_error_;
    bool unavailable_ = false;
    bool in_transaction_ = false;
    bool warned_ = false;
    double backoff_ = 0;
    double retry_at_ = 0;
};

std::string jsonArray(const std::vector<std::string>& items) {
    json::array array;
    for (const auto& item : items) {
        array.emplace_back(json::string(item));
    }
    return json::serialize(array);
}

std::vector<std::string> stringsOf(const std::string& text) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (!ec && value.is_array()) {
        for (const auto& item : value.as_array()) {
            if (item.is_string()) {
                out.emplace_back(item.as_string());
            }
        }
    }
    return out;
}

double toDouble(const sql::Value& value) {
    return value ? std::strtod(value->c_str(), nullptr) : 0;
}

std::int64_t toInt(const sql::Value& value) {
    return value ? std::strtoll(value->c_str(), nullptr, 10) : 0;
}

ApiError failure(const sql::Connection& connection) {
    return connection.unavailable()
               ? ApiError::databaseUnavailable("database unavailable: " + connection.lastError())
               : ApiError::databaseError(connection.lastError());
}

template <class T>
ApiResult<T> ok(T value) {
    return ApiResult<T>(boost::system::in_place_value, std::move(value));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string PgOptions::describe() const {
    return "postgres://" + user + "@" + host + ":" + std::to_string(port) + "/" + database;
}

const sql::Migrations& postgresMigrations() {
    return kPostgresMigrations;
}

std::unique_ptr<sql::Connection> makePgConnection(const PgOptions& options) {
    return std::make_unique<PgConnection>(options);
}

// ---------------------------------------------------------------------------------------------

struct PgListener::Impl {
    PgOptions options;
    PGconn* conn = nullptr;
};

PgListener::PgListener(PgOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
}

PgListener::~PgListener() {
    close();
}

bool PgListener::connect(std::string* error) {
    close();
    impl_->conn = connectBlocking(impl_->options, error);
    if (impl_->conn == nullptr) {
        return false;
    }
    const std::string listen = std::string("LISTEN ") + kRevisionChannel + "; LISTEN " +
                               kHealthChannel;
    PGresult* result = PQexec(impl_->conn, listen.c_str());
    const bool listening = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!listening) {
        *error = "LISTEN failed: " + trimmed(PQresultErrorMessage(result));
    }
    PQclear(result);
    if (!listening) {
        close();
        return false;
    }
    PQsetnonblocking(impl_->conn, 1);
    return true;
}

bool PgListener::connected() const {
    return impl_->conn != nullptr && PQstatus(impl_->conn) == CONNECTION_OK;
}

int PgListener::socket() const {
    return impl_->conn != nullptr ? PQsocket(impl_->conn) : -1;
}

bool PgListener::drain(std::vector<Notification>& out, std::string* error) {
    if (impl_->conn == nullptr) {
        *error = "not connected";
        return false;
    }
    if (PQconsumeInput(impl_->conn) == 0 || PQstatus(impl_->conn) != CONNECTION_OK) {
        *error = trimmed(PQerrorMessage(impl_->conn));
        close();
        return false;
    }
    while (PGnotify* notify = PQnotifies(impl_->conn)) {
        out.push_back({notify->relname, notify->extra != nullptr ? notify->extra : ""});
        PQfreemem(notify);
    }
    return true;
}

void PgListener::close() {
    PQfinish(impl_->conn);
    impl_->conn = nullptr;
}

// ---------------------------------------------------------------------------------------------

PostgresStore::PostgresStore(PgOptions options, std::unique_ptr<sql::Connection> connection,
                             Clock clock)
    : options_(std::move(options)), clock_(std::move(clock)) {
    if (!clock_) {
        clock_ = systemNow;
    }
    primary_ = std::make_unique<SqlStore>(std::move(connection), schema::allSchemas(), clock_);
    replica_ = openSqliteStore(":memory:");
}

PostgresStore::~PostgresStore() = default;

std::string PostgresStore::open(bool allow_cache, bool* from_cache) {
    if (from_cache != nullptr) {
        *from_cache = false;
    }
    auto& connection = primary_->connection();
    std::vector<sql::Row> rows;
    std::string problem;
    if (!connection.query("SELECT 1", {}, &rows)) {
        problem = connection.lastError();
    } else {
        try {
            const auto pending = sql::pendingMigrations(connection, postgresMigrations());
            if (pending.size() == postgresMigrations().size()) {
                return "the database " + options_.describe() +
                       " is not bootstrapped: run 'portico migrations bootstrap' first";
            }
            if (!pending.empty()) {
                return "the database " + options_.describe() + " has " +
                       std::to_string(pending.size()) + " pending migration(s) (" +
                       pending.front() + "...): run 'portico migrations up' first";
            }
            return {};
        } catch (const std::exception& e) {
            problem = e.what();
        }
    }
    if (!connection.unavailable()) {
        return problem;
    }
    if (allow_cache && loadCache()) {
        if (from_cache != nullptr) {
            *from_cache = true;
        }
        logger()->warn(
            "database unreachable, serving the cached configuration revision={} cache={} "
            "error=\"{}\"",
            replica_revision_, options_.cache_path, problem);
        return {};
    }
    return problem + (allow_cache && !options_.cache_path.empty()
                          ? "; no usable cached configuration at " + options_.cache_path +
                                " either. Start PostgreSQL (or correct pg_host, pg_port, pg_user, "
                                "pg_password, pg_database); a node that has run once against it "
                                "keeps a cache and can start without it"
                          : std::string());
}

template <class F>
auto PostgresStore::readThrough(F&& read) -> decltype(read(std::declval<Store&>())) {
    auto result = read(static_cast<Store&>(*primary_));
    if (!result && result.error().http_status == 503 && replica_revision_ >= 0) {
        return read(*replica_);
    }
    return result;
}

ApiResult<json::object> PostgresStore::insert(const EntitySchema& schema, json::object entity) {
    return primary_->insert(schema, std::move(entity));
}

ApiResult<json::object> PostgresStore::upsert(const EntitySchema& schema, json::object entity) {
    return primary_->upsert(schema, std::move(entity));
}

ApiResult<json::object> PostgresStore::update(const EntitySchema& schema, json::object entity) {
    return primary_->update(schema, std::move(entity));
}

ApiResult<bool> PostgresStore::remove(const EntitySchema& schema, std::string_view id) {
    return primary_->remove(schema, id);
}

ApiResult<std::optional<json::object>> PostgresStore::get(const EntitySchema& schema,
                                                          std::string_view id) {
    return readThrough([&](Store& s) { return s.get(schema, id); });
}

ApiResult<std::optional<json::object>> PostgresStore::findBy(
    const EntitySchema& schema, std::string_view field, std::string_view value,
    const std::optional<std::pair<std::string, std::string>>& parent) {
    return readThrough([&](Store& s) { return s.findBy(schema, field, value, parent); });
}

ApiResult<Page> PostgresStore::list(const EntitySchema& schema, const ListQuery& query) {
    return readThrough([&](Store& s) { return s.list(schema, query); });
}

ApiResult<TagPage> PostgresStore::tags(const TagQuery& query) {
    return readThrough([&](Store& s) { return s.tags(query); });
}

ApiResult<declarative::EntitySet> PostgresStore::loadAll() {
    auto configuration = loadConfiguration();
    if (!configuration) {
        return configuration.error();
    }
    return std::move(configuration->entities);
}

ApiResult<void> PostgresStore::replaceAll(const declarative::EntitySet& entities) {
    return primary_->replaceAll(entities);
}

ApiResult<void> PostgresStore::replaceAllAt(const declarative::EntitySet& entities,
                                            std::int64_t expected) {
    return primary_->replaceAllAt(entities, expected);
}

ApiResult<Store::Configuration> PostgresStore::loadConfiguration() {
    auto revision = primary_->revision();
    if (revision) {
        auto entities = primary_->loadAll();
        if (entities) {
            refreshReplica(*entities, *revision);
            return Configuration{*revision, std::move(*entities)};
        }
        if (entities.error().http_status != 503) {
            return entities.error();
        }
    } else if (revision.error().http_status != 503) {
        return revision.error();
    }
    // Unreachable (perhaps between the two reads): the replica, labelled with its own revision,
    // so that the node compares revisions correctly once the database is back.
    if (replica_revision_ < 0) {
        return ApiError::databaseUnavailable("database unavailable and no configuration cached");
    }
    auto entities = replica_->loadAll();
    if (!entities) {
        return entities.error();
    }
    return Configuration{replica_revision_, std::move(*entities)};
}

ApiResult<void> PostgresStore::importAll(const declarative::EntitySet& entities) {
    return primary_->importAll(entities);
}

ApiResult<std::int64_t> PostgresStore::revision() {
    auto revision = primary_->revision();
    if (!revision && revision.error().http_status == 503 && replica_revision_ >= 0) {
        return ok(replica_revision_);
    }
    return revision;
}

ApiResult<std::vector<RevisionEntry>> PostgresStore::revisions(std::int64_t after,
                                                               std::size_t limit) {
    return primary_->revisions(after, limit);
}

ApiResult<std::vector<RevisionEntry>> PostgresStore::revisionRange(std::int64_t first,
                                                                   std::int64_t last,
                                                                   std::size_t limit) {
    return primary_->revisionRange(first, last, limit);
}

ApiResult<std::vector<RevisionEntry>> PostgresStore::revisionSummaries(std::int64_t first,
                                                                       std::int64_t last,
                                                                       std::size_t limit) {
    return primary_->revisionSummaries(first, last, limit);
}

bool PostgresStore::reachable() {
    return primary_->reachable();
}

void PostgresStore::refreshReplica(const declarative::EntitySet& entities, std::int64_t revision) {
    if (revision == replica_revision_) {
        return;
    }
    if (auto replaced = replica_->replaceAll(entities); !replaced) {
        logger()->error("cannot refresh the local replica error=\"{}\"",
                        replaced.error().message);
        return;
    }
    replica_revision_ = revision;
    if (options_.cache_path.empty()) {
        return;
    }
    json::object tables;
    for (const auto& [table, list] : entities) {
        json::array docs;
        for (const auto& doc : list) {
            docs.emplace_back(doc);
        }
        tables[table] = std::move(docs);
    }
    json::object cache{{"revision", revision}, {"saved_at", clock_()},
                       {"entities", std::move(tables)}};
    if (auto error = writeFileDurably(options_.cache_path, json::serialize(cache));
        !error.empty()) {
        logger()->warn("cannot write the configuration cache path={} error=\"{}\"",
                       options_.cache_path, error);
    }
}

bool PostgresStore::loadCache() {
    if (options_.cache_path.empty()) {
        return false;
    }
    std::string error;
    auto cached = readConfigCache(options_.cache_path, &error);
    if (!cached) {
        logger()->warn("cannot use the configuration cache path={} error=\"{}\"",
                       options_.cache_path, error);
        return false;
    }
    if (auto replaced = replica_->replaceAll(cached->entities); !replaced) {
        logger()->warn("cannot load the configuration cache path={} error=\"{}\"",
                       options_.cache_path, replaced.error().message);
        return false;
    }
    replica_revision_ = cached->revision;
    return true;
}

std::optional<CachedConfig> readConfigCache(const std::string& path, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        *error = "no such file";
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto value = json::parse(text.str(), ec);
    const json::object* object = !ec ? value.if_object() : nullptr;
    const json::value* revision = object != nullptr ? object->if_contains("revision") : nullptr;
    const json::value* tables = object != nullptr ? object->if_contains("entities") : nullptr;
    if (object == nullptr || revision == nullptr || !revision->is_int64() || tables == nullptr ||
        !tables->is_object()) {
        *error = "not a configuration cache (expected revision and entities)";
        return std::nullopt;
    }
    CachedConfig cached;
    cached.revision = revision->as_int64();
    for (const auto& [table, list] : tables->as_object()) {
        if (!list.is_array()) {
            *error = "entities." + std::string(table) + " is not an array";
            return std::nullopt;
        }
        auto& out = cached.entities[std::string(table)];
        for (const auto& doc : list.as_array()) {
            if (!doc.is_object()) {
                *error = "entities." + std::string(table) + " holds a non-object";
                return std::nullopt;
            }
            out.push_back(doc.as_object());
        }
    }
    return cached;
}

// ---- cluster ----

ApiResult<void> PostgresStore::heartbeat(const NodeRecord& node) {
    auto& connection = primary_->connection();
    if (!connection.query(
            "INSERT INTO cluster_nodes (id, hostname, version, proxy_listen, admin_listen, "
            "started_at, last_seen, applied_revision, config_hash, health) VALUES ($1, $2, $3, "
            "$4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO UPDATE SET hostname = "
            "EXCLUDED.hostname, version = EXCLUDED.version, proxy_listen = EXCLUDED.proxy_listen, "
            "admin_listen = EXCLUDED.admin_listen, started_at = EXCLUDED.started_at, last_seen = "
            "EXCLUDED.last_seen, applied_revision = EXCLUDED.applied_revision, config_hash = "
            "EXCLUDED.config_hash, health = EXCLUDED.health",
            {node.id, node.hostname, node.version, jsonArray(node.proxy_listen),
             jsonArray(node.admin_listen), std::to_string(node.started_at),
             std::to_string(node.last_seen), std::to_string(node.applied_revision),
             node.config_hash, node.health},
            nullptr)) {
        return failure(connection);
    }
    return {};
}

ApiResult<std::vector<NodeRecord>> PostgresStore::nodes() {
    auto& connection = primary_->connection();
    std::vector<sql::Row> rows;
    if (!connection.query("SELECT id, hostname, version, proxy_listen, admin_listen, started_at, "
                          "last_seen, applied_revision, config_hash, health FROM cluster_nodes "
                          "ORDER BY hostname, id",
                          {}, &rows)) {
        return failure(connection);
    }
    std::vector<NodeRecord> nodes;
    for (const auto& row : rows) {
        NodeRecord node;
        node.id = row.at(0).value_or("");
        node.hostname = row.at(1).value_or("");
        node.version = row.at(2).value_or("");
        node.proxy_listen = stringsOf(row.at(3).value_or("[]"));
        node.admin_listen = stringsOf(row.at(4).value_or("[]"));
        node.started_at = toDouble(row.at(5));
        node.last_seen = toDouble(row.at(6));
        node.applied_revision = toInt(row.at(7));
        node.config_hash = row.at(8).value_or("");
        node.health = row.at(9).value_or("[]");
        nodes.push_back(std::move(node));
    }
    return ok(std::move(nodes));
}

ApiResult<void> PostgresStore::purgeNodes(double older_than_s) {
    auto& connection = primary_->connection();
    if (!connection.query("DELETE FROM cluster_nodes WHERE last_seen < $1",
                          {std::to_string(clock_() - older_than_s)}, nullptr)) {
        return failure(connection);
    }
    return {};
}

ApiResult<void> PostgresStore::publishOverride(const HealthOverride& o) {
    auto& connection = primary_->connection();
    const json::object payload{{"upstream", o.upstream}, {"target", o.target},
                               {"address", o.address},   {"healthy", o.healthy},
                               {"at", o.at},             {"node_id", o.node_id}};
    // One statement, so one transaction: stored and announced, or neither.
    const bool done = connection.query(
        "WITH stored AS (INSERT INTO health_overrides (upstream, target, address, healthy, at, "
        "node_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (upstream, target, address) DO "
        "UPDATE SET healthy = EXCLUDED.healthy, at = EXCLUDED.at, node_id = EXCLUDED.node_id "
        "RETURNING 1) SELECT pg_notify($7, $8) FROM stored",
        {o.upstream, o.target, o.address, std::string(o.healthy ? "true" : "false"),
         std::to_string(o.at), o.node_id, std::string(kHealthChannel), json::serialize(payload)},
        nullptr);
    if (!done) {
        return failure(connection);
    }
    return {};
}

ApiResult<std::vector<HealthOverride>> PostgresStore::overrides() {
    auto& connection = primary_->connection();
    std::vector<sql::Row> rows;
    if (!connection.query("SELECT upstream, target, address, healthy, at, node_id FROM "
                          "health_overrides ORDER BY at",
                          {}, &rows)) {
        return failure(connection);
    }
    std::vector<HealthOverride> list;
    for (const auto& row : rows) {
        list.push_back({row.at(0).value_or(""), row.at(1).value_or(""), row.at(2).value_or(""),
                        row.at(3) == "t", toDouble(row.at(4)), row.at(5).value_or("")});
    }
    return ok(std::move(list));
}

}  // namespace portico::store
