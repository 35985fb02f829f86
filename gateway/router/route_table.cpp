#include "gateway/router/route_table.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <tuple>

namespace portico::router {

namespace json = boost::json;

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::vector<std::string> stringList(const json::object& entity, std::string_view field) {
    std::vector<std::string> out;
    auto it = entity.find(field);
    if (it == entity.end() || !it->value().is_array()) {
        return out;
    }
    for (const auto& item : it->value().as_array()) {
        if (item.is_string()) {
            out.emplace_back(item.as_string());
        }
    }
    return out;
}

std::string stringField(const json::object& entity, std::string_view field) {
    auto it = entity.find(field);
    if (it != entity.end() && it->value().is_string()) {
        return std::string(it->value().as_string());
    }
    return {};
}

bool boolField(const json::object& entity, std::string_view field, bool fallback) {
    auto it = entity.find(field);
    if (it != entity.end() && it->value().is_bool()) {
        return it->value().as_bool();
    }
    return fallback;
}

std::int64_t intField(const json::object& entity, std::string_view field, std::int64_t fallback) {
    auto it = entity.find(field);
    if (it != entity.end() && it->value().is_int64()) {
        return it->value().as_int64();
    }
    return fallback;
}

bool isUnreserved(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// One entry per (route, path): Kong's traditional_compatible splits multi-path routes into
// sub-routes each with its own priority (§3.3).
struct Entry {
    std::size_t route = 0;
    int path = -1;  // -1: the route has no paths
    std::tuple<int, int, int, int, std::int64_t, std::size_t> key;
};

bool hostMatches(const HostMatcher& matcher, std::string_view host, std::uint16_t port) {
    if (matcher.port && *matcher.port != port) {
        return false;
    }
    if (matcher.wildcard_prefix) {
        // "*.example.com": any non-empty label sequence before ".example.com"
        std::string_view suffix = std::string_view(matcher.host).substr(1);
        return host.size() > suffix.size() &&
               host.substr(host.size() - suffix.size()) == suffix;
    }
    if (matcher.wildcard_suffix) {
        std::string_view prefix =
            std::string_view(matcher.host).substr(0, matcher.host.size() - 1);
        return host.size() > prefix.size() && host.substr(0, prefix.size()) == prefix;
    }
    return host == matcher.host;
}

}  // namespace

std::string toRe2Syntax(std::string_view pattern) {
    std::string out;
    out.reserve(pattern.size() + 4);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\' && i + 1 < pattern.size()) {
            out += pattern[i];
            out += pattern[++i];
            continue;
        }
        if (pattern.compare(i, 3, "(?<") == 0 && i + 3 < pattern.size() && pattern[i + 3] != '=' &&
            pattern[i + 3] != '!') {
            out += "(?P<";
            i += 2;
            continue;
        }
        out += pattern[i];
    }
    return out;
}

std::string normalizePath(std::string_view path) {
    // 1. percent-decode unreserved characters, upper-case the remaining triplets
    std::string decoded;
    decoded.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '%' && i + 2 < path.size() && hexValue(path[i + 1]) >= 0 &&
            hexValue(path[i + 2]) >= 0) {
            auto byte = static_cast<unsigned char>(hexValue(path[i + 1]) * 16 + hexValue(path[i + 2]));
            if (isUnreserved(byte)) {
                decoded += static_cast<char>(byte);
            } else {
                decoded += '%';
                decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
                decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
            }
            i += 2;
        } else {
            decoded += path[i];
        }
    }
    // 2. merge slashes and remove dot segments
    std::vector<std::string_view> segments;
    std::string_view view(decoded);
    bool trailing_slash = !view.empty() && view.back() == '/';
    std::size_t start = 0;
    while (start < view.size()) {
        auto end = view.find('/', start);
        if (end == std::string_view::npos) {
            end = view.size();
        }
        auto segment = view.substr(start, end - start);
        if (segment == "..") {
            if (!segments.empty()) {
                segments.pop_back();
            }
            trailing_slash = true;
        } else if (segment == ".") {
            trailing_slash = true;
        } else if (!segment.empty()) {
            segments.push_back(segment);
            trailing_slash = false;
        }
        start = end + 1;
    }
    if (!decoded.empty() && decoded.back() == '/') {
        trailing_slash = true;
    }
    std::string out;
    for (auto segment : segments) {
        out += '/';
        out += segment;
    }
    if (out.empty() || trailing_slash) {
        out += '/';
    }
    return out;
}

RouteTable RouteTable::build(const std::vector<json::object>& routes,
                             std::vector<std::string>* errors) {
    RouteTable table;
    for (const auto& entity : routes) {
        Route route;
        route.id = stringField(entity, "id");
        route.name = stringField(entity, "name");
        if (auto service = entity.find("service");
            service != entity.end() && service->value().is_object()) {
            route.service_id = stringField(service->value().as_object(), "id");
        }
        route.protocols = stringList(entity, "protocols");
        route.methods = stringList(entity, "methods");
        route.strip_path = boolField(entity, "strip_path", true);
        route.preserve_host = boolField(entity, "preserve_host", false);
        route.https_redirect_status_code =
            static_cast<int>(intField(entity, "https_redirect_status_code", 426));
        route.regex_priority = intField(entity, "regex_priority", 0);
        route.path_handling = stringField(entity, "path_handling");
        bool bad = false;
        for (const auto& host : stringList(entity, "hosts")) {
            HostMatcher matcher;
            std::string value = lower(host);
            auto colon = value.rfind(':');
            if (colon != std::string::npos && value.find(']') == std::string::npos) {
                matcher.port = static_cast<std::uint16_t>(std::stoi(value.substr(colon + 1)));
                value.resize(colon);
            }
            matcher.wildcard_prefix = !value.empty() && value.front() == '*';
            matcher.wildcard_suffix = !value.empty() && value.back() == '*';
            matcher.host = value;
            route.hosts.push_back(matcher);
        }
        for (const auto& path : stringList(entity, "paths")) {
            PathMatcher matcher;
            if (!path.empty() && path.front() == '~') {
                matcher.prefix = path.substr(1);
                RE2::Options options;
                options.set_log_errors(false);
                matcher.regex = std::make_shared<re2::RE2>(toRe2Syntax(matcher.prefix), options);
                if (!matcher.regex->ok()) {
                    if (errors != nullptr) {
                        errors->push_back("route " + route.id + ": invalid regex '" + path +
                                          "': " + matcher.regex->error());
                    }
                    bad = true;
                    break;
                }
            } else {
                matcher.prefix = path;
            }
            route.paths.push_back(std::move(matcher));
        }
        if (auto headers = entity.find("headers");
            headers != entity.end() && headers->value().is_object()) {
            for (const auto& [name, values] : headers->value().as_object()) {
                HeaderMatcher matcher;
                matcher.name = lower(name);
                if (values.is_array()) {
                    for (const auto& value : values.as_array()) {
                        if (!value.is_string()) {
                            continue;
                        }
                        std::string text(value.as_string());
                        if (text.rfind("~*", 0) == 0 && values.as_array().size() == 1) {
                            RE2::Options options;
                            options.set_case_sensitive(false);
                            options.set_log_errors(false);
                            matcher.regex =
                                std::make_shared<re2::RE2>(toRe2Syntax(text.substr(2)), options);
                            if (!matcher.regex->ok()) {
                                bad = true;
                            }
                        } else {
                            matcher.values.push_back(lower(text));
                        }
                    }
                }
                route.headers.push_back(std::move(matcher));
            }
        }
        if (bad) {
            continue;
        }
        table.routes_.push_back(std::move(route));
    }
    // Priority order, computed once: the entries are re-sorted and the routes rebuilt in order.
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < table.routes_.size(); ++i) {
        const Route& route = table.routes_[i];
        int weight = (route.methods.empty() ? 0 : 1) + (route.hosts.empty() ? 0 : 1) +
                     (route.headers.empty() ? 0 : 1) + (route.paths.empty() ? 0 : 1);
        bool plain_hosts = !route.hosts.empty() &&
                           std::none_of(route.hosts.begin(), route.hosts.end(), [](const auto& h) {
                               return h.wildcard_prefix || h.wildcard_suffix;
                           });
        int header_count = static_cast<int>(std::min<std::size_t>(route.headers.size(), 255));
        if (route.paths.empty()) {
            entries.push_back({i, -1, {weight, plain_hosts, header_count, 0, 0, 0}});
            continue;
        }
        for (std::size_t p = 0; p < route.paths.size(); ++p) {
            bool regex = route.paths[p].regex != nullptr;
            entries.push_back({i, static_cast<int>(p),
                               {weight, plain_hosts, header_count, regex ? 1 : 0,
                                regex ? route.regex_priority : 0,
                                regex ? 0 : route.paths[p].prefix.size()}});
        }
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.key > b.key; });
    std::vector<Route> ordered;
    ordered.reserve(entries.size());
    std::uint64_t rank = entries.size();
    for (const auto& entry : entries) {
        Route copy = table.routes_[entry.route];
        if (entry.path >= 0) {
            copy.paths = {table.routes_[entry.route].paths[static_cast<std::size_t>(entry.path)]};
        }
        copy.priority = rank--;
        ordered.push_back(std::move(copy));
    }
    table.routes_ = std::move(ordered);
    return table;
}

std::optional<Match> RouteTable::match(const MatchRequest& request) const {
    std::string host = lower(request.host);
    std::uint16_t port = request.port;
    if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
        try {
            port = static_cast<std::uint16_t>(std::stoi(host.substr(colon + 1)));
        } catch (...) {
        }
        host.resize(colon);
    }
    std::string path = normalizePath(request.path);
    for (const auto& route : routes_) {
        if (!route.protocols.empty() &&
            std::find(route.protocols.begin(), route.protocols.end(), request.scheme) ==
                route.protocols.end() &&
            std::find(route.protocols.begin(), route.protocols.end(), "https") ==
                route.protocols.end()) {
            continue;
        }
        if (!route.methods.empty() &&
            std::find(route.methods.begin(), route.methods.end(), request.method) ==
                route.methods.end()) {
            continue;
        }
        if (!route.hosts.empty()) {
            bool any = false;
            for (const auto& matcher : route.hosts) {
                if (hostMatches(matcher, host, port)) {
                    any = true;
                    break;
                }
            }
            if (!any) {
                continue;
            }
        }
        bool headers_ok = true;
        for (const auto& matcher : route.headers) {
            auto values = request.header_values ? request.header_values(matcher.name)
                                                : std::vector<std::string_view>{};
            bool any = false;
            for (auto value : values) {
                if (matcher.regex) {
                    any = RE2::PartialMatch(re2::StringPiece(value.data(), value.size()),
                                            *matcher.regex);
                } else {
                    auto lowered = lower(value);
                    any = std::find(matcher.values.begin(), matcher.values.end(), lowered) !=
                          matcher.values.end();
                }
                if (any) {
                    break;
                }
            }
            if (!any) {
                headers_ok = false;
                break;
            }
        }
        if (!headers_ok) {
            continue;
        }
        Match result;
        result.route = &route;
        if (!route.paths.empty()) {
            const auto& matcher = route.paths.front();
            if (matcher.regex) {
                int groups = matcher.regex->NumberOfCapturingGroups();
                std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(groups) + 1);
                if (!matcher.regex->Match(path, 0, path.size(), RE2::ANCHOR_START, pieces.data(),
                                          groups + 1)) {
                    continue;
                }
                result.matched_path = std::string(pieces[0].data(), pieces[0].size());
                for (int g = 1; g <= groups; ++g) {
                    const auto& piece = pieces[static_cast<std::size_t>(g)];
                    result.captures[std::to_string(g)] =
                        piece.data() ? std::string(piece.data(), piece.size()) : std::string();
                }
                for (const auto& [name, index] : matcher.regex->NamedCapturingGroups()) {
                    const auto& piece = pieces[static_cast<std::size_t>(index)];
                    result.captures[name] =
                        piece.data() ? std::string(piece.data(), piece.size()) : std::string();
                }
            } else {
                if (path.compare(0, matcher.prefix.size(), matcher.prefix) != 0) {
                    continue;
                }
                result.matched_path = matcher.prefix;
            }
        }
        result.normalized_path = std::move(path);
        return result;
    }
    return std::nullopt;
}

std::string upstreamPath(const Route& route, const Match& match, std::string_view service_path) {
    std::string base(service_path.empty() ? "/" : service_path);
    if (base.back() != '/') {
        base += '/';
    }
    const std::string& request_path = match.normalized_path;
    bool strip = route.strip_path && !match.matched_path.empty() && match.matched_path != "/";
    if (!strip) {
        if (!request_path.empty() && request_path.front() == '/') {
            return base.substr(0, base.size() - 1) + request_path;
        }
        return base + request_path;
    }
    std::string postfix = request_path.substr(match.matched_path.size());
    if (postfix.empty()) {
        if (base == "/") {
            return "/";
        }
        if (!request_path.empty() && request_path.back() == '/') {
            return base;
        }
        return base.substr(0, base.size() - 1);
    }
    if (postfix.front() == '/') {
        return base.substr(0, base.size() - 1) + postfix;
    }
    return base + postfix;
}

}  // namespace portico::router
