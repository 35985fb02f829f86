#include "gateway/store/sqlite_store.hpp"

#include "gateway/core/logging.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace portico::store {

// Generated from sql/sqlite/*.sql by cmake/embed_migrations.cmake.
extern const std::vector<std::pair<std::string, std::string>> kSqliteMigrations;

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr std::size_t kStatementCacheLimit = 128;

class SqliteConnection final : public sql::Connection {
public:
    explicit SqliteConnection(sqlite3* db) : db_(db) {}
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    ~SqliteConnection() override {
        clearCache();
        sqlite3_close_v2(db_);
    }

    bool exec(std::string_view statements) override {
        char* message = nullptr;
        const std::string text(statements);
        if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            error_ = message != nullptr ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            return false;
        }
        return true;
    }

    bool query(std::string_view statement, const sql::Params& params,
               std::vector<sql::Row>* rows) override {
        sqlite3_stmt* stmt = prepare(statement);
        if (stmt == nullptr) {
            return false;
        }
        // Reset on every path so the cached statement releases its read snapshot.
        struct Reset {
            sqlite3_stmt* stmt;
            ~Reset() {
                sqlite3_reset(stmt);
                sqlite3_clear_bindings(stmt);
            }
        } reset{stmt};
        const int count = sqlite3_bind_parameter_count(stmt);
        for (int i = 1; i <= count; ++i) {
            // Statements use $1, $2, ... (named parameters to SQLite); map each name to params.
            const char* name = sqlite3_bind_parameter_name(stmt, i);
            std::size_t position = 0;
            if (name == nullptr || name[0] != '$' ||
                std::from_chars(name + 1, name + std::strlen(name), position).ec != std::errc{} ||
                position == 0 || position > params.size()) {
                error_ = "parameter " + std::string(name != nullptr ? name : "?") +
                         " has no value in: " + std::string(statement);
                return false;
            }
            const auto& value = params[position - 1];
            const int rc =
                value ? sqlite3_bind_text(stmt, i, value->data(), static_cast<int>(value->size()),
                                          SQLITE_TRANSIENT)
                      : sqlite3_bind_null(stmt, i);
            if (rc != SQLITE_OK) {
                error_ = sqlite3_errmsg(db_);
                return false;
            }
        }
        for (;;) {
            const int rc = sqlite3_step(stmt);
            if (rc == SQLITE_DONE) {
                return true;
            }
            if (rc != SQLITE_ROW) {
                error_ = sqlite3_errmsg(db_);
                return false;
            }
            if (rows == nullptr) {
                continue;
            }
            const int columns = sqlite3_column_count(stmt);
            sql::Row row;
            row.reserve(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
                    row.emplace_back(std::nullopt);
                    continue;
                }
                const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
                const int size = sqlite3_column_bytes(stmt, c);
                row.emplace_back(
                    std::string(text != nullptr ? text : "", static_cast<std::size_t>(size)));
            }
            rows->push_back(std::move(row));
        }
    }

    bool begin() override { return exec("BEGIN IMMEDIATE"); }
    bool commit() override { return exec("COMMIT"); }
    bool rollback() override {
        // After some errors SQLite has already rolled back; that is not a failure.
        if (sqlite3_get_autocommit(db_) != 0) {
            return true;
        }
        return exec("ROLLBACK");
    }
    std::string lastError() const override { return error_; }

    std::string jsonTextField(std::string_view column, std::string_view field) const override {
        return "json_extract(" + std::string(column) + ", '$." + std::string(field) + "')";
    }
    std::string strategy() const override { return "sqlite"; }

private:
    sqlite3_stmt* prepare(std::string_view statement) {
        std::string key(statement);
        if (auto found = cache_.find(key); found != cache_.end()) {
            return found->second;
        }
        if (cache_.size() >= kStatementCacheLimit) {
            clearCache();  // list queries vary with their filters; keep the cache bounded
        }
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, key.c_str(), static_cast<int>(key.size()), &stmt, nullptr) !=
            SQLITE_OK) {
            error_ = sqlite3_errmsg(db_);
            sqlite3_finalize(stmt);
            return nullptr;
        }
        cache_.emplace(std::move(key), stmt);
        return stmt;
    }

    void clearCache() {
        for (auto& [text, stmt] : cache_) {
            sqlite3_finalize(stmt);
        }
        cache_.clear();
    }

    sqlite3* db_;
    std::string error_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
    throw std::runtime_error("cannot open database '" + path + "': " + reason);
}

}  // namespace

std::unique_ptr<sql::Connection> openSqliteConnection(const std::string& path) {
    const bool in_memory = path == ":memory:";
    if (!in_memory) {
        // Create the file ourselves so that it is private from the start; SQLite gives the
        // -wal and -shm files the same mode.
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            fail(path, std::strerror(errno));
        }
        ::close(fd);
    }
    sqlite3* db = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        const std::string reason = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        fail(path, reason);
    }
    sqlite3_extended_result_codes(db, 1);
    auto connection = std::make_unique<SqliteConnection>(db);
    if (!connection->exec("PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs))) {
        fail(path, connection->lastError());
    }
    std::vector<sql::Row> rows;
    if (!connection->query("PRAGMA journal_mode = WAL", {}, &rows)) {
        fail(path, connection->lastError());
    }
    if (!in_memory && (rows.empty() || rows.front().at(0) != "wal")) {
        fail(path, "cannot enable WAL journal mode");
    }
    // FULL: fsync the WAL on every commit. Referential integrity is enforced by SqlStore (with
    // Kong's error messages), so SQLite's own foreign keys are not used.
    if (!connection->exec("PRAGMA synchronous = FULL")) {
        fail(path, connection->lastError());
    }
    // The integrity check of a damaged file fails here rather than on the first write.
    rows.clear();
    if (!connection->query("PRAGMA quick_check", {}, &rows)) {
        fail(path, connection->lastError());
    }
    if (rows.empty() || rows.front().at(0) != "ok") {
        fail(path, "integrity check failed: " + (rows.empty() ? std::string("no answer")
                                                              : rows.front().at(0).value_or("?")));
    }
    return connection;
}

std::unique_ptr<Store> openSqliteStore(const std::string& path,
                                       std::vector<const EntitySchema*> schemas,
                                       SqlStore::Clock clock) {
    auto connection = openSqliteConnection(path);
    try {
        for (const auto& name : sql::applyMigrations(*connection, kSqliteMigrations)) {
            if (path != ":memory:") {
                core::logger("store")->info("migration applied path={} name={}", path, name);
            }
        }
    } catch (const std::exception& e) {
        fail(path, e.what());
    }
    return std::make_unique<SqlStore>(std::move(connection), std::move(schemas), std::move(clock));
}

std::unique_ptr<Store> openSqliteStore(const std::string& path) {
    return openSqliteStore(path, schema::allSchemas());
}

}  // namespace portico::store
