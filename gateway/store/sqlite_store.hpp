#pragma once
// The embedded SQLite store: a sql::Connection over one SQLite file (or ":memory:") and the
// factories that open it. The Store logic itself is SqlStore (sql_store.hpp).
//
// The file is opened with journal_mode=WAL and synchronous=FULL: a write whose call returned
// has been fsync'ed to the WAL and survives kill -9 and power loss. busy_timeout lets a second
// process (`portico config db_export` next to a running node) wait for the lock instead of
// failing. A new file is created with mode 0600: it holds credentials.

#include "gateway/store/sql_store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace portico::store {

// Opens (creating if needed) the database at `path` and applies `migrations` (the embedded
// sql/sqlite/ files by default). Throws std::runtime_error naming the file and the reason.
std::unique_ptr<sql::Connection> openSqliteConnection(const std::string& path);

// openSqliteStore(path) with the entity schemas given instead of schema::allSchemas() (tests).
std::unique_ptr<Store> openSqliteStore(const std::string& path,
                                       std::vector<const EntitySchema*> schemas,
                                       SqlStore::Clock clock = {});

}  // namespace portico::store
