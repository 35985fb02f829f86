#include "gateway/core/settings.hpp"

#include "gateway/core/ip_matcher.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

extern char** environ;

namespace portico::core {

namespace {

std::string trim(std::string_view text) {
    auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) {
        return {};
    }
    auto end = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(begin, end - begin + 1));
}

std::vector<std::string> splitList(const std::string& value) {
    std::vector<std::string> items;
    std::string current;
    std::istringstream in(value);
    while (std::getline(in, current, ',')) {
        auto item = trim(current);
        if (!item.empty()) {
            items.push_back(item);
        }
    }
    return items;
}

std::optional<unsigned long> parseUnsigned(const std::string& value, unsigned long max) {
    unsigned long result = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), result);
    if (ec != std::errc() || end != value.data() + value.size() || result > max) {
        return std::nullopt;
    }
    return result;
}

std::optional<bool> parseBool(const std::string& value) {
    if (value == "on" || value == "true" || value == "yes" || value == "1") {
        return true;
    }
    if (value == "off" || value == "false" || value == "no" || value == "0") {
        return false;
    }
    return std::nullopt;
}

// "0.0.0.0:8000 reuseport backlog=16384, [::1]:8000 ssl" -> addresses; "off" -> empty.
std::string parseListen(const std::string& value, std::vector<ListenAddress>& out) {
    out.clear();
    if (value == "off") {
        return {};
    }
    for (const auto& entry : splitList(value)) {
        std::istringstream words(entry);
        std::string address;
        words >> address;
        ListenAddress listen;
        std::string port_text;
        if (!address.empty() && address.front() == '[') {
            auto close = address.find(']');
            if (close == std::string::npos || close + 1 >= address.size() ||
                address[close + 1] != ':') {
                return "invalid address '" + address + "': expected [ipv6]:port";
            }
            listen.host = address.substr(1, close - 1);
            port_text = address.substr(close + 2);
        } else {
            auto colon = address.rfind(':');
            if (colon == std::string::npos) {
                return "invalid address '" + address + "': expected host:port";
            }
            listen.host = address.substr(0, colon);
            port_text = address.substr(colon + 1);
        }
        auto port = parseUnsigned(port_text, 65535);
        if (!port || listen.host.empty()) {
            return "invalid address '" + address + "': expected host:port with a port 0-65535";
        }
        listen.port = static_cast<std::uint16_t>(*port);
        std::string flag;
        while (words >> flag) {
            if (flag == "ssl") {
                listen.ssl = true;
            } else if (flag == "reuseport") {
                listen.reuseport = true;
            } else if (flag == "http2" || flag == "deferred" || flag == "bind" ||
                       flag == "ipv6only=on" || flag == "ipv6only=off" ||
                       flag.rfind("backlog=", 0) == 0 || flag.rfind("so_keepalive", 0) == 0) {
                // Accepted for kong.conf compatibility; they do not change behaviour here.
            } else {
                return "invalid flag '" + flag + "' in '" + entry + "'";
            }
        }
        if (listen.ssl) {
            return "'" + entry + "': ssl listeners are not supported yet";
        }
        out.push_back(listen);
    }
    return {};
}

using Setter = std::function<std::string(Settings&, const std::string&)>;

struct KeyInfo {
    const char* key;
    const char* default_value;
    Setter set;
};

Setter stringSetter(std::string Settings::*member) {
    return [member](Settings& s, const std::string& v) {
        s.*member = v;
        return std::string();
    };
}

Setter oneOfSetter(std::string Settings::*member, std::vector<std::string> allowed) {
    return [member, allowed](Settings& s, const std::string& v) {
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
            std::string list;
            for (const auto& a : allowed) {
                list += (list.empty() ? "" : ", ") + a;
            }
            return "expected one of: " + list + " (got '" + v + "')";
        }
        s.*member = v;
        return std::string();
    };
}

template <class T>
Setter unsignedSetter(T Settings::*member, unsigned long min, unsigned long max) {
    return [member, min, max](Settings& s, const std::string& v) {
        auto n = parseUnsigned(v, max);
        if (!n || *n < min) {
            return "expected an integer between " + std::to_string(min) + " and " +
                   std::to_string(max) + " (got '" + v + "')";
        }
        s.*member = static_cast<T>(*n);
        return std::string();
    };
}

Setter boolSetter(bool Settings::*member) {
    return [member](Settings& s, const std::string& v) {
        auto b = parseBool(v);
        if (!b) {
            return "expected on or off (got '" + v + "')";
        }
        s.*member = *b;
        return std::string();
    };
}

const std::vector<KeyInfo>& keyTable() {
    static const std::vector<KeyInfo> table = {
        {"prefix", "/usr/local/portico", stringSetter(&Settings::prefix)},
        {"database", "sqlite", oneOfSetter(&Settings::database, {"sqlite", "postgres", "off"})},
        {"declarative_config", "", stringSetter(&Settings::declarative_config)},
        {"proxy_listen", "0.0.0.0:8000 reuseport backlog=16384",
         [](Settings& s, const std::string& v) { return parseListen(v, s.proxy_listen); }},
        {"admin_listen", "127.0.0.1:8001 reuseport backlog=16384",
         [](Settings& s, const std::string& v) { return parseListen(v, s.admin_listen); }},
        {"worker_threads", "auto",
         [](Settings& s, const std::string& v) {
             if (v == "auto") {
                 s.worker_threads = 0;
                 return std::string();
             }
             auto n = parseUnsigned(v, 1024);
             if (!n || *n == 0) {
                 return "expected 'auto' or an integer between 1 and 1024 (got '" + v + "')";
             }
             s.worker_threads = static_cast<unsigned>(*n);
             return std::string();
         }},
        {"pg_host", "127.0.0.1", stringSetter(&Settings::pg_host)},
        {"pg_port", "5432", unsignedSetter(&Settings::pg_port, 1, 65535)},
        {"pg_user", "portico", stringSetter(&Settings::pg_user)},
        {"pg_password", "", stringSetter(&Settings::pg_password)},
        {"pg_database", "portico", stringSetter(&Settings::pg_database)},
        {"pg_ssl", "off", boolSetter(&Settings::pg_ssl)},
        {"pg_timeout", "5000", unsignedSetter(&Settings::pg_timeout, 1, 3600000)},
        {"pg_max_connections", "8", unsignedSetter(&Settings::pg_max_connections, 2, 1000)},
        {"db_update_frequency", "5",
         [](Settings& s, const std::string& v) {
             char* end = nullptr;
             double d = std::strtod(v.c_str(), &end);
             if (v.empty() || end != v.c_str() + v.size() || !(d > 0) || d > 3600) {
                 return "expected a number of seconds greater than 0 (got '" + v + "')";
             }
             s.db_update_frequency = d;
             return std::string();
         }},
        {"log_level", "notice",
         oneOfSetter(&Settings::log_level,
                     {"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"})},
        {"proxy_access_log", "logs/access.log", stringSetter(&Settings::proxy_access_log)},
        {"admin_access_log", "off", stringSetter(&Settings::admin_access_log)},
        {"trusted_ips", "",
         [](Settings& s, const std::string& v) {
             auto list = splitList(v);
             IpMatcher matcher;
             std::string error;
             if (!matcher.parse(list, &error)) {
                 return error;
             }
             s.trusted_ips = std::move(list);
             return std::string();
         }},
        {"real_ip_header", "X-Real-IP", stringSetter(&Settings::real_ip_header)},
        {"admin_body_max_size", "1048576",
         unsignedSetter(&Settings::admin_body_max_size, 1, 1024UL * 1024 * 1024)},
        {"proxy_access_log_format", "combined",
         oneOfSetter(&Settings::proxy_access_log_format, {"combined", "json"})},
        {"client_max_body_size", "0",
         unsignedSetter(&Settings::client_max_body_size, 0, 1UL << 50)},
        {"client_header_max_size", "32768",
         unsignedSetter(&Settings::client_header_max_size, 1024, 1024UL * 1024)},
        {"client_uri_max_length", "8192",
         unsignedSetter(&Settings::client_uri_max_length, 64, 1024UL * 1024)},
        {"client_header_timeout", "60", unsignedSetter(&Settings::client_header_timeout, 1, 3600)},
        {"client_body_timeout", "60", unsignedSetter(&Settings::client_body_timeout, 1, 3600)},
        {"keepalive_timeout", "75", unsignedSetter(&Settings::keepalive_timeout, 1, 3600)},
        {"keepalive_requests", "10000",
         unsignedSetter(&Settings::keepalive_requests, 1, 1000000000)},
        {"buffered_body_max_size", "1048576",
         unsignedSetter(&Settings::buffered_body_max_size, 0, 1024UL * 1024 * 1024)},
        {"upstream_keepalive_pool_size", "512",
         unsignedSetter(&Settings::upstream_keepalive_pool_size, 0, 100000)},
        {"upstream_keepalive_max_requests", "10000",
         unsignedSetter(&Settings::upstream_keepalive_max_requests, 1, 1000000000)},
        {"upstream_keepalive_idle_timeout", "60",
         unsignedSetter(&Settings::upstream_keepalive_idle_timeout, 1, 86400)},
        {"dns_cache_ttl", "30", unsignedSetter(&Settings::dns_cache_ttl, 0, 86400)},
        {"upstream_passive_recovery", "0",
         unsignedSetter(&Settings::upstream_passive_recovery, 0, 86400)},
    };
    return table;
}

const KeyInfo* findKey(const std::string& key) {
    for (const auto& info : keyTable()) {
        if (key == info.key) {
            return &info;
        }
    }
    return nullptr;
}

// Kong's conf files allow `#` comments; `\#` is a literal hash.
std::string stripComment(const std::string& line) {
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '#') {
            out += '#';
            ++i;
        } else if (line[i] == '#') {
            break;
        } else {
            out += line[i];
        }
    }
    return out;
}

}  // namespace

std::string ListenAddress::toString() const {
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

unsigned Settings::effectiveWorkerThreads() const {
    if (worker_threads != 0) {
        return worker_threads;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

std::string Settings::underPrefix(const std::string& path) const {
    if (path.empty() || path.front() == '/') {
        return path;
    }
    return prefix + "/" + path;
}

std::string Settings::sqlitePath() const { return underPrefix("portico.db"); }

std::string SettingsError::toString() const {
    std::string out;
    if (!file.empty()) {
        out += file;
        if (line > 0) {
            out += ":" + std::to_string(line);
        }
        out += ": ";
    }
    if (!key.empty()) {
        out += key + ": ";
    }
    return out + message;
}

SettingsResult parseSettings(const std::string& text, const std::string& file_name,
                             const std::map<std::string, std::string>& environment) {
    SettingsResult result;
    for (const auto& info : keyTable()) {
        auto error = info.set(result.settings, info.default_value);
        result.settings.sources[info.key] = "default";
        (void)error;  // defaults are valid by construction
    }
    std::map<std::string, int> seen;
    std::istringstream in(text);
    std::string raw;
    int line_number = 0;
    while (std::getline(in, raw)) {
        ++line_number;
        auto line = trim(stripComment(raw));
        if (line.empty()) {
            continue;
        }
        auto equals = line.find('=');
        if (equals == std::string::npos) {
            result.errors.push_back(
                {file_name, line_number, "", "expected 'key = value', got '" + line + "'"});
            continue;
        }
        auto key = trim(line.substr(0, equals));
        auto value = trim(line.substr(equals + 1));
        const KeyInfo* info = findKey(key);
        if (info == nullptr) {
            result.errors.push_back({file_name, line_number, key, "unknown key"});
            continue;
        }
        if (auto previous = seen.find(key); previous != seen.end()) {
            result.errors.push_back({file_name, line_number, key,
                                     "set twice (first on line " +
                                         std::to_string(previous->second) + ")"});
            continue;
        }
        seen[key] = line_number;
        if (auto error = info->set(result.settings, value); !error.empty()) {
            result.errors.push_back({file_name, line_number, key, error});
            continue;
        }
        result.settings.sources[key] = file_name + ":" + std::to_string(line_number);
    }
    for (const auto& [name, value] : environment) {
        if (name.rfind("PORTICO_", 0) != 0) {
            continue;
        }
        std::string key = name.substr(8);
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const KeyInfo* info = findKey(key);
        if (info == nullptr) {
            // Variables that are not settings (PORTICO_FOO used by scripts) are left alone.
            continue;
        }
        if (auto error = info->set(result.settings, trim(value)); !error.empty()) {
            result.errors.push_back({"", 0, name, error});
            continue;
        }
        result.settings.sources[key] = "environment " + name;
    }
    const auto& s = result.settings;
    if (s.database == "off" && s.declarative_config.empty()) {
        // DB-less without a file starts empty, as Kong does; POST /config loads one later.
    }
    if (s.database != "off" && !s.declarative_config.empty()) {
        result.errors.push_back({"", 0, "declarative_config",
                                 "only used with database = off; use 'portico config db_import' "
                                 "to load a file into the database"});
    }
    return result;
}

std::map<std::string, std::string> processEnvironment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string entry(*e);
        auto equals = entry.find('=');
        if (equals != std::string::npos) {
            env[entry.substr(0, equals)] = entry.substr(equals + 1);
        }
    }
    return env;
}

SettingsResult loadSettings(const std::string& path) {
    std::string text;
    if (!path.empty()) {
        std::ifstream in(path);
        if (!in) {
            SettingsResult result;
            result.errors.push_back(
                {path, 0, "", "cannot read the file (does it exist and is it readable?)"});
            return result;
        }
        std::ostringstream buffer;
        buffer << in.rdbuf();
        text = buffer.str();
    }
    return parseSettings(text, path, processEnvironment());
}

std::vector<std::pair<std::string, std::string>> settingsDefaults() {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& info : keyTable()) {
        out.emplace_back(info.key, info.default_value);
    }
    return out;
}

std::map<std::string, std::string> sanitizedSettings(const Settings& s) {
    auto listens = [](const std::vector<ListenAddress>& list) {
        std::string out;
        for (const auto& l : list) {
            out += (out.empty() ? "" : ", ") + l.toString();
        }
        return out.empty() ? std::string("off") : out;
    };
    std::string trusted;
    for (const auto& t : s.trusted_ips) {
        trusted += (trusted.empty() ? "" : ",") + t;
    }
    return {
        {"prefix", s.prefix},
        {"database", s.database},
        {"declarative_config", s.declarative_config},
        {"proxy_listen", listens(s.proxy_listen)},
        {"admin_listen", listens(s.admin_listen)},
        {"worker_threads", std::to_string(s.effectiveWorkerThreads())},
        {"pg_host", s.pg_host},
        {"pg_port", std::to_string(s.pg_port)},
        {"pg_user", s.pg_user},
        {"pg_password", s.pg_password.empty() ? "" : "******"},
        {"pg_database", s.pg_database},
        {"pg_ssl", s.pg_ssl ? "on" : "off"},
        {"pg_timeout", std::to_string(s.pg_timeout)},
        {"pg_max_connections", std::to_string(s.pg_max_connections)},
        {"db_update_frequency", std::to_string(s.db_update_frequency)},
        {"log_level", s.log_level},
        {"proxy_access_log", s.proxy_access_log},
        {"admin_access_log", s.admin_access_log},
        {"trusted_ips", trusted},
        {"real_ip_header", s.real_ip_header},
        {"admin_body_max_size", std::to_string(s.admin_body_max_size)},
        {"proxy_access_log_format", s.proxy_access_log_format},
        {"client_max_body_size", std::to_string(s.client_max_body_size)},
        {"client_header_max_size", std::to_string(s.client_header_max_size)},
        {"client_uri_max_length", std::to_string(s.client_uri_max_length)},
        {"client_header_timeout", std::to_string(s.client_header_timeout)},
        {"client_body_timeout", std::to_string(s.client_body_timeout)},
        {"keepalive_timeout", std::to_string(s.keepalive_timeout)},
        {"keepalive_requests", std::to_string(s.keepalive_requests)},
        {"buffered_body_max_size", std::to_string(s.buffered_body_max_size)},
        {"upstream_keepalive_pool_size", std::to_string(s.upstream_keepalive_pool_size)},
        {"upstream_keepalive_max_requests", std::to_string(s.upstream_keepalive_max_requests)},
        {"upstream_keepalive_idle_timeout", std::to_string(s.upstream_keepalive_idle_timeout)},
        {"dns_cache_ttl", std::to_string(s.dns_cache_ttl)},
        {"upstream_passive_recovery", std::to_string(s.upstream_passive_recovery)},
    };
}

}  // namespace portico::core
