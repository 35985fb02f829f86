// portico: the gateway's command line. Wires the libraries; holds no logic of its own beyond
// argument handling and the start-up sequence.

#include "common/declarative.hpp"
#include "common/formats.hpp"
#include "common/validation.hpp"
#include "gateway/admin/admin_api.hpp"
#include "gateway/admin/cluster_api.hpp"
#include "gateway/admin/traffic_api.hpp"
#include "gateway/admin/upstream_api.hpp"
#include "gateway/store/cluster_agent.hpp"
#include "gateway/config/config_snapshot.hpp"
#include "gateway/core/logging.hpp"
#include "gateway/core/settings.hpp"
#include "gateway/http/http_server.hpp"
#include "gateway/proxy/proxy_server.hpp"
#include "gateway/proxy/upstream_runtime.hpp"
#include "gateway/store/postgres_store.hpp"
#include "gateway/store/store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>

namespace {

// Writes within this window produce one snapshot.
constexpr int kRebuildDebounceMs = 20;
// A node not seen for this long is marked stale in GET /clustering/nodes (heartbeat: 2 s).
constexpr double kStaleAfterS = 15;

using namespace portico;
namespace fs = std::filesystem;

constexpr const char* kVersion = "0.1.0";

const char* kMainHelp = R"(Usage: portico COMMAND [OPTIONS]

An API gateway compatible with Kong's Admin API and declarative files.

Commands:
  start                 start the gateway in the foreground (stops on SIGTERM / SIGINT)
  check FILE            validate a portico.conf and print every error with its line
  config parse FILE     validate a declarative configuration file (Kong format, YAML or JSON)
  config db_import FILE load a declarative file into the database
  config db_export FILE write the database's configuration to a declarative file
  migrations bootstrap  create the database schema
  migrations up         apply pending migrations
  migrations status     list applied and pending migrations
  version               print the version

Options (start, config, migrations):
  -c, --conf FILE       configuration file (default: none, built-in defaults)
  -p, --prefix DIR      override the prefix directory

Every setting can also come from the environment as PORTICO_<KEY>, e.g. PORTICO_LOG_LEVEL=debug.
Run 'portico COMMAND --help' for help on a command.
)";

const char* kStartHelp = R"(Usage: portico start [-c FILE] [-p DIR]

Starts the gateway in the foreground: the proxy on proxy_listen (default 0.0.0.0:8000) and the
Admin API on admin_listen (default 127.0.0.1:8001). With database = sqlite (the default) the
entities live in PREFIX/portico.db; with database = off they come from declarative_config.
With database = postgres (pg_host, pg_port, pg_user, pg_password, pg_database) many nodes share
one database, bootstrapped first with 'portico migrations bootstrap'; each node keeps its last
configuration in PREFIX/config_cache.json and starts from it when the database is unreachable.
SIGTERM or SIGINT stops it cleanly: listeners close, in-flight requests finish (up to 5 s).
)";

const char* kCheckHelp = R"(Usage: portico check FILE

Validates a portico.conf (Kong-style 'key = value' lines) together with PORTICO_* environment
overrides. Prints every error as FILE:LINE: KEY: MESSAGE and exits 1 if there is any, else
prints 'configuration at FILE is valid' and exits 0.
)";

const char* kConfigHelp = R"(Usage: portico config parse FILE
       portico config db_import FILE [-c CONF] [-p DIR]
       portico config db_export FILE [-c CONF] [-p DIR]

parse      validates a declarative file (Kong format 3.0; 1.1 and 2.1 are upgraded). Each error
           names the entity's path in the file. Plugins and entity types Portico does not have
           are reported by name.
db_import  validates FILE and upserts its entities into the database in one transaction.
db_export  writes the database's entities to FILE (YAML, or JSON if FILE ends in .json).
)";

const char* kMigrationsHelp = R"(Usage: portico migrations bootstrap|up|status [-c CONF] [-p DIR]

bootstrap  creates the schema of an empty database (every migration in sql/postgres/ or
           sql/sqlite/); says so and changes nothing when it is already bootstrapped
up         applies the migrations not applied yet; safe to run again, and from several nodes at
           once (they take turns on a database lock)
status     lists the applied and pending migrations and the configuration revision; exits 3
           when the database is not bootstrapped or has pending migrations

With database = postgres, 'portico start' refuses a database that is not bootstrapped or has
pending migrations: run these first. The embedded store (sqlite) is migrated by 'start' itself.
)";

struct Options {
    std::vector<std::string> args;  // positional
    std::string conf;
    std::string prefix;
    bool help = false;
};

Options parseOptions(int argc, char** argv, int first) {
    Options options;
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            options.help = true;
        } else if ((arg == "-c" || arg == "--conf") && i + 1 < argc) {
            options.conf = argv[++i];
        } else if ((arg == "-p" || arg == "--prefix") && i + 1 < argc) {
            options.prefix = argv[++i];
        } else if (!arg.empty() && arg.front() == '-') {
            throw std::runtime_error("unknown option '" + arg + "' (see --help)");
        } else {
            options.args.push_back(arg);
        }
    }
    return options;
}

core::Settings loadOrExit(const Options& options) {
    auto result = core::loadSettings(options.conf);
    if (!options.prefix.empty()) {
        result.settings.prefix = options.prefix;
    }
    if (!result.ok()) {
        for (const auto& error : result.errors) {
            std::cerr << "error: " << error.toString() << "\n";
        }
        std::cerr << "fix the configuration and try again ('portico check FILE' lists every "
                     "error)\n";
        std::exit(1);
    }
    return result.settings;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read '" + path + "': " + std::strerror(errno));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

double nowSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Parses a declarative file and prints its errors and warnings. Returns nullopt on errors.
std::optional<declarative::ParseResult> parseDeclarativeFile(const std::string& path) {
    declarative::ParseOptions options;
    options.now = nowSeconds();
    auto result = declarative::parse(readFile(path), options);
    for (const auto& warning : result.warnings) {
        std::cerr << "warning: " << path << ": " << warning << "\n";
    }
    if (!result.ok()) {
        for (const auto& error : result.errors) {
            std::cerr << "error: " << path;
            if (error.line > 0) {
                std::cerr << ":" << error.line;
            }
            std::cerr << ": " << error.path << (error.path.empty() ? "" : ": ") << error.message
                      << "\n";
        }
        std::cerr << result.errors.size() << " error(s) in " << path << "\n";
        return std::nullopt;
    }
    return result;
}

store::PgOptions pgOptions(const core::Settings& settings) {
    store::PgOptions options;
    options.host = settings.pg_host;
    options.port = settings.pg_port;
    options.user = settings.pg_user;
    options.password = settings.pg_password;
    options.database = settings.pg_database;
    options.ssl = settings.pg_ssl;
    options.timeout_ms = settings.pg_timeout;
    options.cache_path = (fs::path(settings.prefix) / "config_cache.json").string();
    return options;
}

// Opens the configured store. With PostgreSQL, `allow_cache` lets a starting node serve its
// cached configuration while the database is unreachable. Throws std::runtime_error saying what
// is wrong and what to do.
std::unique_ptr<store::Store> openStore(const core::Settings& settings, bool allow_cache = false) {
    if (settings.database == "postgres") {
        fs::create_directories(settings.prefix);
        auto options = pgOptions(settings);
        auto pg = std::make_unique<store::PostgresStore>(options, store::makePgConnection(options));
        bool from_cache = false;
        if (auto problem = pg->open(allow_cache, &from_cache); !problem.empty()) {
            throw std::runtime_error(problem);
        }
        return pg;
    }
    if (settings.database == "off") {
        return store::openSqliteStore(":memory:");
    }
    fs::create_directories(settings.prefix);
    return store::openSqliteStore(settings.sqlitePath());
}

std::string nodeId(const core::Settings& settings) {
    auto path = fs::path(settings.prefix) / "node_id";
    std::ifstream in(path);
    std::string id;
    if (in >> id && schema::isUuid(id)) {
        return id;
    }
    id = schema::randomUuid();
    std::ofstream(path) << id << "\n";
    return id;
}

int commandStart(const Options& options) {
    if (options.help) {
        std::cout << kStartHelp;
        return 0;
    }
    auto settings = loadOrExit(options);
    core::setupLogging(settings.log_level);
    auto log = core::logger("main");
    fs::create_directories(fs::path(settings.prefix) / "logs");
    std::unique_ptr<store::Store> store;
    try {
        store = openStore(settings, /*allow_cache=*/true);
    } catch (const std::exception& e) {
        log->critical("cannot open the {} store: {}", settings.database, e.what());
        return 1;
    }
    // Set only with database = postgres: the cluster side of the store.
    auto* pg = dynamic_cast<store::PostgresStore*>(store.get());
    if (settings.database == "off" && !settings.declarative_config.empty()) {
        auto parsed = parseDeclarativeFile(settings.declarative_config);
        if (!parsed) {
            return 1;
        }
        if (auto loaded = store->replaceAll(parsed->entities); !loaded) {
            log->critical("cannot load declarative_config {}: {}", settings.declarative_config,
                          loaded.error().message);
            return 1;
        }
        log->info("loaded declarative_config file={}", settings.declarative_config);
    }
    log->info("portico {} starting prefix={} database={}", kVersion, settings.prefix,
              settings.database);

    proxy::SnapshotHolder snapshots;
    proxy::ProxyStats stats;
    proxy::TrafficRing traffic;
    proxy::Metrics metrics;
    boost::asio::io_context control;
    // Balancers, target DNS, health state and the active checker: runtime state that survives
    // snapshot rebuilds. Lives on the control thread.
    proxy::UpstreamRuntime upstreams(control, settings);

    std::string served_hash;  // control thread
    auto rebuild = [&]() {
        auto configuration = store->loadConfiguration();
        if (!configuration) {
            log->warn("snapshot rebuild failed error={}", configuration.error().message);
            return;
        }
        const auto* entities = &configuration->entities;
        auto snapshot = config::buildSnapshot(*entities, configuration->revision);
        for (const auto& warning : snapshot->warnings) {
            core::logger("router")->warn("{}", warning);
        }
        log->info("snapshot published revision={} routes={} services={} upstreams={}",
                  snapshot->revision, snapshot->routes.size(), snapshot->services.size(),
                  snapshot->upstreams.size());
        served_hash = declarative::configHash(*entities);
        upstreams.sync(snapshot);
        snapshots.publish(std::move(snapshot));
    };
    rebuild();

    // Rebuilds are gathered: a burst of Admin API writes on this node lands in one snapshot
    // (kRebuildDebounceMs after the first write). A change from another node is compiled at once
    // after a quiet spell; those that follow within kRebuildDebounceMs of a rebuild are gathered
    // into the next one, so a burst elsewhere costs two snapshots here, not one per write.
    boost::asio::steady_timer debounce(control);
    bool rebuild_pending = false;
    auto last_rebuild = std::chrono::steady_clock::time_point{};
    auto rebuild_at = [&](std::chrono::steady_clock::time_point when) {
        if (rebuild_pending) {
            return;
        }
        rebuild_pending = true;
        debounce.expires_at(when);
        debounce.async_wait([&](boost::system::error_code ec) {
            rebuild_pending = false;
            if (!ec) {
                rebuild();
                last_rebuild = std::chrono::steady_clock::now();
            }
        });
    };
    const auto gather = std::chrono::milliseconds(kRebuildDebounceMs);
    auto schedule_rebuild = [&]() { rebuild_at(std::chrono::steady_clock::now() + gather); };
    auto schedule_remote_rebuild = [&]() {
        rebuild_at(std::max(last_rebuild + gather, std::chrono::steady_clock::now()));
    };

    char host_name[256] = {};
    ::gethostname(host_name, sizeof(host_name) - 1);
    admin::NodeInfo node{nodeId(settings), host_name, kVersion, nowSeconds()};
    admin::AdminHooks hooks;
    hooks.on_change = schedule_rebuild;
    hooks.server_status = [&stats]() {
        return boost::json::object{
            {"connections_accepted", stats.connections_accepted.load()},
            {"connections_handled", stats.connections_accepted.load()},
            {"connections_active", stats.connections_active.load()},
            {"connections_waiting", stats.connections_waiting.load()},
            {"connections_reading", stats.requests_in_flight.load()},
            {"total_requests", stats.total_requests.load()},
            {"upstream_connections_opened", stats.upstream_connections_opened.load()},
            {"upstream_connections_reused", stats.upstream_connections_reused.load()}};
    };
    hooks.served_revision = [&snapshots]() { return snapshots.load()->revision; };
    hooks.served_hash = [&served_hash]() { return served_hash; };

    // Many nodes on one PostgreSQL: the change feed, the node registry, shared overrides.
    std::unique_ptr<cluster::ClusterAgent> agent;
    admin::PublishOverride publish_override;
    if (pg != nullptr) {
        auto describe = [&]() {
            store::NodeRecord record;
            record.hostname = node.hostname;
            record.version = node.version;
            for (const auto& address : settings.proxy_listen) {
                record.proxy_listen.push_back(address.toString());
            }
            for (const auto& address : settings.admin_listen) {
                record.admin_listen.push_back(address.toString());
            }
            record.started_at = node.started_at;
            record.applied_revision = snapshots.load()->revision;
            record.config_hash = served_hash;
            record.health = boost::json::serialize(upstreams.clusterHealth());
            return record;
        };
        cluster::AgentCallbacks callbacks;
        // The newest override this node has applied (control thread).
        auto last_override_at = std::make_shared<double>(0);
        callbacks.on_revision = [&]() {
            auto revision = store->revision();
            if (revision && *revision != snapshots.load()->revision) {
                schedule_remote_rebuild();
            }
        };
        callbacks.on_override = [&, last_override_at](const store::HealthOverride& o) {
            *last_override_at = std::max(*last_override_at, o.at);
            auto error = upstreams.setHealth(o.upstream, o.target, o.address, o.healthy);
            core::logger("health")->info(
                "manual override from node={} upstream={} target={} address={} healthy={}{}",
                o.node_id, o.upstream, o.target, o.address.empty() ? "*" : o.address, o.healthy,
                error.empty() ? "" : " (not applied: " + error + ")");
        };
        // Overrides published while this node was not running or not listening (in order; the
        // newest per address wins), then the ones that arrive by notification.
        callbacks.on_connected = [&, last_override_at]() {
            auto overrides = pg->overrides();
            if (!overrides) {
                return;
            }
            for (const auto& o : *overrides) {
                if (o.at > *last_override_at) {
                    upstreams.setHealth(o.upstream, o.target, o.address, o.healthy);
                    *last_override_at = o.at;
                }
            }
        };
        callbacks.describe = describe;
        cluster::AgentOptions agent_options;
        agent_options.poll_interval = std::chrono::milliseconds(
            std::max(100L, static_cast<long>(settings.db_update_frequency * 1000)));
        agent = std::make_unique<cluster::ClusterAgent>(control, *pg, pg->options(), node.node_id,
                                                        agent_options, std::move(callbacks));
        publish_override = [&, last_override_at](const std::string& upstream,
                                                 const std::string& target,
                                                 const std::string& address,
                                                 bool healthy) -> std::string {
            const double at = nowSeconds();
            *last_override_at = std::max(*last_override_at, at);
            auto done = pg->publishOverride({upstream, target, address, healthy, at,
                                             node.node_id});
            return done ? std::string() : done.error().message;
        };
        hooks.database_status = [&]() {
            return boost::json::object{{"listening", agent->listening()},
                                       {"cached_revision", pg->replicaRevision()}};
        };
    }

    hooks.extension = [&traffic, &metrics, &upstreams, &node, &publish_override, pg,
                       strategy = store->strategy()](
                          const http::HttpRequest& request,
                          const std::vector<std::string>& segments,
                          std::string& allow) -> std::optional<http::HttpResponse> {
        if (auto handled = admin::handleUpstreamEndpoint(upstreams, node.node_id, request,
                                                         segments, allow, publish_override)) {
            return handled;
        }
        admin::ClusterView view{pg, strategy, kStaleAfterS, nowSeconds()};
        if (auto handled = admin::handleClusterEndpoint(view, request, segments, allow)) {
            return handled;
        }
        auto handled = admin::handleTrafficEndpoint(traffic, metrics, request, segments, allow);
        if (handled && handled->status == 200 && segments.size() == 1 &&
            segments[0] == "metrics") {
            handled->body += upstreams.renderPrometheus();
        }
        return handled;
    };
    admin::AdminApi api(*store, settings, node, hooks);

    http::ServerLimits limits;
    limits.body_bytes = settings.admin_body_max_size;
    std::vector<std::unique_ptr<http::HttpServer>> admin_servers;
    std::unique_ptr<proxy::ProxyServer> proxy_server;
    try {
        for (const auto& address : settings.admin_listen) {
            admin_servers.push_back(std::make_unique<http::HttpServer>(
                control, address, [&api](const http::HttpRequest& r) { return api.handle(r); },
                limits, "admin_listen"));
        }
        if (!settings.proxy_listen.empty()) {
            proxy_server = std::make_unique<proxy::ProxyServer>(settings, snapshots, stats,
                                                                &traffic, &metrics, &upstreams);
        }
    } catch (const std::system_error& e) {
        log->critical("{}: {}", e.what(), e.code().message());
        return 1;
    }
    for (std::size_t i = 0; i < admin_servers.size(); ++i) {
        admin_servers[i]->start();
        log->info("admin api listening address={}:{}", settings.admin_listen[i].host,
                  admin_servers[i]->port());
    }
    if (proxy_server) {
        proxy_server->start();
        for (const auto& address : settings.proxy_listen) {
            log->info("proxy listening address={} workers={}", address.toString(),
                      settings.effectiveWorkerThreads());
        }
    }

    if (agent) {
        agent->start();
    }

    boost::asio::signal_set signals(control, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (ec) {
            return;
        }
        log->info("received signal={}, stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
        for (auto& server : admin_servers) {
            server->stop();
        }
        upstreams.stop();
        if (agent) {
            agent->stop();
        }
        control.stop();
    });
    control.run();
    if (proxy_server) {
        proxy_server->stop(std::chrono::seconds(5));
    }
    log->info("stopped");
    return 0;
}

int commandCheck(const Options& options) {
    if (options.help || options.args.size() != 1) {
        std::cout << kCheckHelp;
        return options.help ? 0 : 2;
    }
    const auto& path = options.args[0];
    auto result = core::loadSettings(path);
    if (!result.ok()) {
        for (const auto& error : result.errors) {
            std::cout << "error: " << error.toString() << "\n";
        }
        std::cout << result.errors.size() << " error(s) in " << path << "\n";
        return 1;
    }
    std::cout << "configuration at " << path << " is valid\n";
    return 0;
}

int commandConfig(const Options& options) {
    if (options.help || options.args.size() != 2) {
        std::cout << kConfigHelp;
        return options.help ? 0 : 2;
    }
    const auto& action = options.args[0];
    const auto& file = options.args[1];
    if (action == "parse") {
        auto parsed = parseDeclarativeFile(file);
        if (!parsed) {
            return 1;
        }
        std::size_t total = 0;
        for (const auto& [type, entities] : parsed->entities) {
            total += entities.size();
        }
        std::cout << "parse successful: " << file << " (" << total << " entities)\n";
        return 0;
    }
    if (action == "db_import") {
        auto settings = loadOrExit(options);
        if (settings.database == "off") {
            std::cerr << "error: db_import needs a database (database = sqlite or postgres)\n";
            return 1;
        }
        auto parsed = parseDeclarativeFile(file);
        if (!parsed) {
            return 1;
        }
        auto store = openStore(settings);
        std::size_t total = 0;
        for (const auto& [type, entities] : parsed->entities) {
            total += entities.size();
        }
        std::cout << "importing " << total << " entities from " << file << " ...\n";
        if (auto imported = store->importAll(parsed->entities); !imported) {
            std::cerr << "error: import failed, nothing was changed: " << imported.error().message
                      << "\n";
            return 1;
        }
        std::cout << "import successful: " << total << " entities into " << settings.database
                  << " (" << settings.sqlitePath() << ")\n";
        return 0;
    }
    if (action == "db_export") {
        auto settings = loadOrExit(options);
        auto store = openStore(settings);
        auto entities = store->loadAll();
        if (!entities) {
            std::cerr << "error: export failed: " << entities.error().message << "\n";
            return 1;
        }
        bool as_json = file.size() > 5 && file.substr(file.size() - 5) == ".json";
        auto text = declarative::exportConfig(
            *entities, as_json ? declarative::ExportFormat::Json : declarative::ExportFormat::Yaml);
        std::ofstream out(file, std::ios::binary);
        out << text;
        if (!out) {
            std::cerr << "error: cannot write '" << file << "'\n";
            return 1;
        }
        std::cout << "export successful: " << file << "\n";
        return 0;
    }
    std::cerr << "error: unknown config action '" << action << "'\n" << kConfigHelp;
    return 2;
}

int commandMigrations(const Options& options) {
    if (options.help || options.args.size() != 1) {
        std::cout << kMigrationsHelp;
        return options.help ? 0 : 2;
    }
    const auto& action = options.args[0];
    if (action != "bootstrap" && action != "up" && action != "status") {
        std::cerr << "error: unknown migrations action '" << action << "'\n" << kMigrationsHelp;
        return 2;
    }
    auto settings = loadOrExit(options);
    if (settings.database == "off") {
        std::cerr << "error: no migrations with database = off\n";
        return 1;
    }
    if (settings.database == "sqlite") {
        auto store = openStore(settings);  // applies pending migrations
        auto revision = store->revision();
        std::cout << "database " << settings.sqlitePath()
                  << " is up to date (configuration revision "
                  << (revision ? std::to_string(*revision) : "unknown") << ")\n";
        return 0;
    }
    auto pg_options = pgOptions(settings);
    pg_options.statement_timeout = false;
    auto connection = store::makePgConnection(pg_options);
    const auto& migrations = store::postgresMigrations();
    std::vector<std::string> pending;
    try {
        pending = store::sql::pendingMigrations(*connection, migrations);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    if (!connection->lastError().empty() && connection->unavailable()) {
        std::cerr << "error: " << connection->lastError()
                  << "\ncheck pg_host, pg_port, pg_user, pg_password and pg_database, and that "
                     "the server is running\n";
        return 1;
    }
    const bool bootstrapped = pending.size() < migrations.size();
    if (action == "status") {
        std::cout << "database " << pg_options.describe() << ": "
                  << (migrations.size() - pending.size()) << " migration(s) applied, "
                  << pending.size() << " pending\n";
        for (const auto& name : pending) {
            std::cout << "  pending: " << name << "\n";
        }
        if (!bootstrapped) {
            std::cout << "not bootstrapped: run 'portico migrations bootstrap'\n";
            return 3;
        }
        if (!pending.empty()) {
            std::cout << "run 'portico migrations up' to apply them\n";
            return 3;
        }
        return 0;
    }
    if (action == "bootstrap" && bootstrapped) {
        std::cout << "database " << pg_options.describe() << " is already bootstrapped"
                  << (pending.empty() ? "" : "; run 'portico migrations up' for the pending ones")
                  << "\n";
        return 0;
    }
    if (action == "up" && !bootstrapped) {
        std::cerr << "error: database " << pg_options.describe()
                  << " is not bootstrapped: run 'portico migrations bootstrap' first\n";
        return 1;
    }
    if (pending.empty()) {
        std::cout << "database " << pg_options.describe() << " is up to date, nothing to apply\n";
        return 0;
    }
    std::cout << (action == "bootstrap" ? "bootstrapping " : "migrating ") << pg_options.describe()
              << " (" << pending.size() << " migration(s)) ...\n";
    try {
        const auto applied = store::sql::applyMigrations(*connection, migrations);
        for (const auto& name : applied) {
            std::cout << "  applied: " << name << "\n";
        }
        std::cout << (applied.empty() ? "nothing to do: another node applied them\n"
                                      : "database is up to date\n");
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    portico::schema::formats::initCrypto();
    try {
        if (argc < 2) {
            std::cerr << kMainHelp;
            return 2;
        }
        std::string command = argv[1];
        if (command == "-h" || command == "--help" || command == "help") {
            if (argc > 2) {
                std::string topic = argv[2];
                std::cout << (topic == "start"        ? kStartHelp
                              : topic == "check"      ? kCheckHelp
                              : topic == "config"     ? kConfigHelp
                              : topic == "migrations" ? kMigrationsHelp
                                                      : kMainHelp);
                return 0;
            }
            std::cout << kMainHelp;
            return 0;
        }
        if (command == "version" || command == "--version" || command == "-v") {
            std::cout << "portico " << kVersion << "\n";
            return 0;
        }
        auto options = parseOptions(argc, argv, 2);
        if (command == "start") {
            return commandStart(options);
        }
        if (command == "check") {
            return commandCheck(options);
        }
        if (command == "config") {
            return commandConfig(options);
        }
        if (command == "migrations") {
            return commandMigrations(options);
        }
        std::cerr << "error: unknown command '" << command << "'\n\n" << kMainHelp;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
