#pragma once
// portico.conf: Kong-style `key = value` settings, each overridable by PORTICO_<KEY> environment
// variables (upper case). Parsing collects every error with its line instead of stopping at the
// first one, so `portico check` can print them all.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portico::core {

struct ListenAddress {
    std::string host;  // "0.0.0.0", "127.0.0.1", "::1" (without brackets)
    std::uint16_t port = 0;
    bool ssl = false;
    bool reuseport = false;
    std::string toString() const;  // "127.0.0.1:8001", "[::1]:8001"
};

struct Settings {
    std::string prefix = "/usr/local/portico";
    std::string database = "sqlite";  // sqlite | postgres | off
    std::string declarative_config;
    std::vector<ListenAddress> proxy_listen;  // empty: proxy off
    std::vector<ListenAddress> admin_listen;  // empty: admin API off
    unsigned worker_threads = 0;              // 0 = auto (number of cores)
    std::string pg_host = "127.0.0.1";
    std::uint16_t pg_port = 5432;
    std::string pg_user = "portico";
    std::string pg_password;
    std::string pg_database = "portico";
    bool pg_ssl = false;
    unsigned pg_timeout = 5000;  // ms
    unsigned pg_max_connections = 8;
    double db_update_frequency = 5;  // seconds
    std::string log_level = "notice";
    std::string proxy_access_log = "logs/access.log";  // relative to prefix; "off" disables
    std::string admin_access_log = "off";
    std::vector<std::string> trusted_ips;
    std::string real_ip_header = "X-Real-IP";
    std::size_t admin_body_max_size = 1024 * 1024;  // bytes; larger bodies get 413
    std::string proxy_access_log_format = "combined";  // combined | json

    // Client side of the proxy (nginx's names in spirit).
    std::size_t client_max_body_size = 0;            // bytes; 0 = unlimited; larger: 413
    std::size_t client_header_max_size = 32 * 1024;  // request line + headers; larger: 431
    std::size_t client_uri_max_length = 8 * 1024;    // larger: 414
    unsigned client_header_timeout = 60;             // seconds to receive the header block
    unsigned client_body_timeout = 60;               // seconds between body reads
    unsigned keepalive_timeout = 75;                 // seconds a client connection may idle
    unsigned keepalive_requests = 10000;             // requests per client connection
    std::size_t buffered_body_max_size = 1024 * 1024;  // bodies up to this are buffered (and
                                                       // may be retried); larger ones stream

    // Upstream connection pools, per worker and per address (Kong's upstream_keepalive_*).
    unsigned upstream_keepalive_pool_size = 512;
    unsigned upstream_keepalive_max_requests = 10000;
    unsigned upstream_keepalive_idle_timeout = 60;  // seconds
    unsigned dns_cache_ttl = 30;                    // seconds a resolved service host is reused
    // Portico extension (docs/health-checks.md): seconds after which an address tripped by
    // passive checks alone gets one trial request (half-open); 0 = never, as in Kong.
    unsigned upstream_passive_recovery = 0;

    // Where each value came from, for `portico check` and GET / "configuration".
    std::map<std::string, std::string> sources;

    unsigned effectiveWorkerThreads() const;
    // The SQLite file of the embedded store.
    std::string sqlitePath() const;
    // `path` made absolute against the prefix when relative.
    std::string underPrefix(const std::string& path) const;
};

struct SettingsError {
    std::string file;  // empty for environment variables
    int line = 0;      // 0 when not from a file line
    std::string key;
    std::string message;
    std::string toString() const;  // "portico.conf:12: log_level: expected one of: ..."
};

struct SettingsResult {
    Settings settings;
    std::vector<SettingsError> errors;
    bool ok() const { return errors.empty(); }
};

// Parses the text of a portico.conf, then applies environment overrides from `environment`
// (pass the process environment, or a fake one in tests). `file_name` labels errors.
SettingsResult parseSettings(const std::string& text, const std::string& file_name,
                             const std::map<std::string, std::string>& environment);

// Reads `path` (empty: defaults only) and the process environment.
SettingsResult loadSettings(const std::string& path);

std::map<std::string, std::string> processEnvironment();

// Every known key with its default value, in documentation order, for --help and GET /.
std::vector<std::pair<std::string, std::string>> settingsDefaults();

// The sanitized configuration (pg_password hidden) for GET /.
std::map<std::string, std::string> sanitizedSettings(const Settings& settings);

}  // namespace portico::core
