#include "gateway/router/route_table.hpp"

#include "common/regex.hpp"

#include "gateway/router/prefix_trie.hpp"

#include <re2/re2.h>
#include <re2/set.h>
#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <tuple>
#include <unordered_map>

namespace portico::router {

namespace json = boost::json;

namespace {

// ASCII only, whatever the process locale: hosts, header values and %-triplets are ASCII rules.
char lowerAscii(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

char upperAscii(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lowerAscii);
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
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lowerAscii(c);
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
        return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
    }
    if (matcher.wildcard_suffix) {
        std::string_view prefix = std::string_view(matcher.host).substr(0, matcher.host.size() - 1);
        return host.size() > prefix.size() && host.substr(0, prefix.size()) == prefix;
    }
    return host == matcher.host;
}

// What every route looks at, computed once per request.
struct PreparedRequest {
    std::string host;        // lower case, without ":port"
    std::uint16_t port = 0;  // from the Host header, else the listening port
    std::string path;        // normalized
};

// `with_host`: false when no route names a host, so that host and port are never looked at.
PreparedRequest prepare(const MatchRequest& request, bool with_host = true) {
    PreparedRequest prepared;
    prepared.port = request.port;
    if (with_host) {
        prepared.host = lower(request.host);
        std::string& host = prepared.host;
        if (auto colon = host.rfind(':');
            colon != std::string::npos && host.find(']') == std::string::npos) {
            int port = 0;
            const char* digits = host.data() + colon + 1;
            if (std::from_chars(digits, host.data() + host.size(), port).ec == std::errc()) {
                prepared.port = static_cast<std::uint16_t>(port);
            }
            host.resize(colon);
        }
    }
    prepared.path = normalizePath(request.path);
    return prepared;
}

// Whether one entry accepts the request: every configured attribute matches (§3.2). On success
// fills result.route, matched_path and captures. The index and the scan share this check, so
// they can differ only in which entries they try.
bool accepts(const Route& route, const MatchRequest& request, const PreparedRequest& prepared,
             Match& result) {
    if (!route.protocols.empty() &&
        std::find(route.protocols.begin(), route.protocols.end(), request.scheme) ==
            route.protocols.end() &&
        std::find(route.protocols.begin(), route.protocols.end(), "https") ==
            route.protocols.end()) {
        return false;
    }
    if (!route.methods.empty() && std::find(route.methods.begin(), route.methods.end(),
                                            request.method) == route.methods.end()) {
        return false;
    }
    if (!route.hosts.empty() &&
        std::none_of(route.hosts.begin(), route.hosts.end(), [&](const HostMatcher& matcher) {
            return hostMatches(matcher, prepared.host, prepared.port);
        })) {
        return false;
    }
    for (const auto& matcher : route.headers) {
        auto values = request.header_values ? request.header_values(matcher.name)
                                            : std::vector<std::string_view>{};
        bool any = false;
        for (auto value : values) {
            if (matcher.regex) {
                any =
                    RE2::PartialMatch(re2::StringPiece(value.data(), value.size()), *matcher.regex);
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
            return false;
        }
    }
    const std::string& path = prepared.path;
    if (!route.paths.empty()) {
        const auto& matcher = route.paths.front();
        if (matcher.regex) {
            int groups = matcher.regex->NumberOfCapturingGroups();
            std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(groups) + 1);
            if (!matcher.regex->Match(path, 0, path.size(), RE2::ANCHOR_START, pieces.data(),
                                      groups + 1)) {
                return false;
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
                return false;
            }
            result.matched_path = matcher.prefix;
        }
    }
    result.route = &route;
    return true;
}

bool isAsciiPunct(char c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

// The literal text every match of `pattern` begins with, for a path regex as accepts() runs it
// (RE2 default options: case-sensitive; matched from the start of the path): "/api/items/" for
// "/api/items/(\d+)$". Conservative: stops at the first character that is not plainly literal,
// drops a character a quantifier applies to, and gives "" for patterns with an alternation
// anywhere or flags at the start.
std::string literalStart(std::string_view pattern) {
    if (pattern.find('|') != std::string_view::npos) {
        return {};
    }
    std::string out;
    std::size_t i = pattern.size() > 0 && pattern[0] == '^' ? 1 : 0;
    for (; i < pattern.size(); ++i) {
        const auto c = static_cast<unsigned char>(pattern[i]);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            std::string_view("/-_~%=,;:@!&'<>#").find(static_cast<char>(c)) !=
                std::string_view::npos) {
            out += static_cast<char>(c);
        } else if (c == '\\' && i + 1 < pattern.size() && isAsciiPunct(pattern[i + 1])) {
            out += pattern[++i];  // an escaped punctuation character is itself
        } else {
            break;  // a metacharacter, a class or assertion escape, a non-ASCII byte
        }
    }
    if (i < pattern.size() && !out.empty() &&
        std::string_view("*+?{").find(pattern[i]) != std::string_view::npos) {
        out.pop_back();  // "/ab*": the 'b' may be absent
    }
    return out;
}

// Regexes that share a literal start are matched together through an RE2::Set from this many
// on; fewer are tried one by one (a set costs a compiled program of its own).
constexpr std::size_t kMinRegexSet = 4;

// Marks a value of Bucket::regex_starts that names a set rather than an entry.
constexpr std::uint32_t kSetTag = 1u << 31;

// Candidate entry numbers for one request; rarely more than a handful.
using Candidates = boost::container::small_vector<std::uint32_t, 32>;

// Regex paths that share a literal start, matched in one pass.
struct RegexSet {
    std::unique_ptr<RE2::Set> set;       // anchored at the start, like RE2 Match in accepts()
    std::vector<std::uint32_t> entries;  // set index -> entry

    void collect(const std::string& path, Candidates& out) const {
        // First only ask whether any regex matches: RE2 then neither collects indices nor
        // allocates per-call storage sized by the set, and most requests stop there.
        RE2::Set::ErrorInfo error{RE2::Set::kNoError};
        std::vector<int> hits;
        if (set->Match(path, nullptr, &error)) {
            set->Match(path, &hits, &error);
        }
        if (error.kind != RE2::Set::kNoError) {
            // The DFA ran out of memory: try each regex instead.
            out.insert(out.end(), entries.begin(), entries.end());
            return;
        }
        for (int hit : hits) {
            out.push_back(entries[static_cast<std::size_t>(hit)]);
        }
    }
};

std::unique_ptr<RE2::Set> compileSet(const std::vector<Route>& routes,
                                     const std::vector<std::uint32_t>& entries) {
    RE2::Options options;
    options.set_log_errors(false);
    // One automaton for all the regexes: give it room (taken as states are met, not up front).
    options.set_max_mem(std::clamp<std::int64_t>(
        64 * 1024 * static_cast<std::int64_t>(entries.size()), 8 << 20, 256 << 20));
    auto set = std::make_unique<RE2::Set>(options, RE2::ANCHOR_START);
    for (auto entry : entries) {
        // The pattern RE2 compiled for this path, so the set accepts the same language.
        if (set->Add(routes[entry].paths.front().regex->pattern(), nullptr) < 0) {
            return nullptr;
        }
    }
    return set->Compile() ? std::move(set) : nullptr;
}

// The entries that share one host key (an exact host, one wildcard pattern, or "no hosts"),
// indexed by path. Entry numbers are positions in RouteTable::routes_, so lower wins.
struct Bucket {
    std::vector<std::uint32_t> always;  // entries without paths
    PrefixTrie prefixes;                // prefix path -> entry
    PrefixTrie regex_starts;            // literal start of a regex -> entry, or kSetTag | set
    std::vector<RegexSet> sets;

    void compile(const std::vector<Route>& routes, const std::vector<std::uint32_t>& entries) {
        std::map<std::string, std::vector<std::uint32_t>> by_start;
        for (auto entry : entries) {
            const Route& route = routes[entry];
            if (route.paths.empty()) {
                always.push_back(entry);
            } else if (route.paths.front().regex) {
                by_start[literalStart(route.paths.front().regex->pattern())].push_back(entry);
            } else {
                prefixes.insert(route.paths.front().prefix, entry);
            }
        }
        for (auto& [start, group] : by_start) {
            if (group.size() >= kMinRegexSet) {
                if (auto set = compileSet(routes, group)) {
                    regex_starts.insert(start, kSetTag | static_cast<std::uint32_t>(sets.size()));
                    sets.push_back({std::move(set), std::move(group)});
                    continue;
                }
            }
            for (auto entry : group) {
                regex_starts.insert(start, entry);
            }
        }
    }

    // Appends every entry of this bucket whose path may match `path` (a superset: entries are
    // checked in full afterwards).
    void collect(const std::string& path, Candidates& out) const {
        out.insert(out.end(), always.begin(), always.end());
        prefixes.forEachPrefixOf(path, [&out](std::uint32_t entry) { out.push_back(entry); });
        regex_starts.forEachPrefixOf(path, [&](std::uint32_t value) {
            if ((value & kSetTag) != 0) {
                sets[value & ~kSetTag].collect(path, out);
            } else {
                out.push_back(value);
            }
        });
    }
};

}  // namespace

// Candidate entries for a request: the buckets of its host (exact, every wildcard pattern that
// fits it) and the bucket of routes without hosts, each narrowed by path.
struct RouteTable::Index {
    std::vector<Bucket> buckets;
    std::unordered_map<std::string, std::uint32_t> exact;  // host without port -> bucket
    PrefixTrie wildcard_suffixes;  // "*.example.com" stored as reversed ".example.com" -> bucket
    PrefixTrie wildcard_prefixes;  // "example.*" stored as "example." -> bucket
    std::uint32_t hostless = 0;
    bool any_hosts = false;  // some route names a host

    void collect(const PreparedRequest& request, Candidates& out) const {
        auto visit = [&](std::uint32_t bucket) { buckets[bucket].collect(request.path, out); };
        if (!exact.empty()) {  // (no hashing of the host when no route names one)
            if (auto it = exact.find(request.host); it != exact.end()) {
                visit(it->second);
            }
        }
        if (!wildcard_suffixes.empty()) {
            std::string reversed(request.host.rbegin(), request.host.rend());
            wildcard_suffixes.forEachPrefixOf(reversed, visit);
        }
        if (!wildcard_prefixes.empty()) {
            wildcard_prefixes.forEachPrefixOf(request.host, visit);
        }
        visit(hostless);
    }
};


std::string normalizePath(std::string_view path) {
    // Most paths are already normal: nothing to decode, no empty or dot segment to remove
    // (one pass to tell: no '%', no "//", no "/.").
    if (!path.empty() && path.front() == '/') {
        bool normal = true;
        for (std::size_t i = 0; i < path.size() && normal; ++i) {
            normal = path[i] != '%' &&
                     !(path[i] == '/' && i + 1 < path.size() &&
                       (path[i + 1] == '/' || path[i + 1] == '.'));
        }
        if (normal) {
            return std::string(path);
        }
    }
    // 1. percent-decode unreserved characters, upper-case the remaining triplets
    std::string decoded;
    decoded.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '%' && i + 2 < path.size() && hexValue(path[i + 1]) >= 0 &&
            hexValue(path[i + 2]) >= 0) {
            auto byte =
                static_cast<unsigned char>(hexValue(path[i + 1]) * 16 + hexValue(path[i + 2]));
            if (isUnreserved(byte)) {
                decoded += static_cast<char>(byte);
            } else {
                decoded += '%';
                decoded += upperAscii(path[i + 1]);
                decoded += upperAscii(path[i + 2]);
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
        route.plain_http = std::find(route.protocols.begin(), route.protocols.end(), "http") !=
                           route.protocols.end();
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
                matcher.regex = std::make_shared<re2::RE2>(common::toRe2Syntax(matcher.prefix), options);
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
                                std::make_shared<re2::RE2>(common::toRe2Syntax(text.substr(2)), options);
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
            entries.push_back(
                {i,
                 static_cast<int>(p),
                 {weight, plain_hosts, header_count, regex ? 1 : 0,
                  regex ? route.regex_priority : 0, regex ? 0 : route.paths[p].prefix.size()}});
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

    // Bucket every entry under each of its host keys (ports are checked later, with the rest).
    auto index = std::make_shared<Index>();
    std::vector<std::vector<std::uint32_t>> members(1);  // members[0]: routes without hosts
    std::unordered_map<std::string, std::uint32_t> wildcard_buckets;
    auto bucketFor = [&members](std::unordered_map<std::string, std::uint32_t>& keys,
                                const std::string& key, bool& created) {
        auto [it, inserted] = keys.try_emplace(key, static_cast<std::uint32_t>(members.size()));
        if (inserted) {
            members.emplace_back();
        }
        created = inserted;
        return it->second;
    };
    for (std::size_t e = 0; e < table.routes_.size(); ++e) {
        const Route& route = table.routes_[e];
        auto entry = static_cast<std::uint32_t>(e);
        auto add = [&members, entry](std::uint32_t bucket) {
            auto& list = members[bucket];
            if (list.empty() || list.back() != entry) {
                list.push_back(entry);
            }
        };
        if (route.hosts.empty()) {
            add(index->hostless);
            continue;
        }
        for (const auto& matcher : route.hosts) {
            bool created = false;
            if (matcher.wildcard_prefix) {
                auto bucket = bucketFor(wildcard_buckets, matcher.host, created);
                if (created) {
                    std::string suffix = matcher.host.substr(1);
                    index->wildcard_suffixes.insert(std::string(suffix.rbegin(), suffix.rend()),
                                                    bucket);
                }
                add(bucket);
            } else if (matcher.wildcard_suffix) {
                auto bucket = bucketFor(wildcard_buckets, matcher.host, created);
                if (created) {
                    index->wildcard_prefixes.insert(
                        std::string_view(matcher.host).substr(0, matcher.host.size() - 1), bucket);
                }
                add(bucket);
            } else {
                add(bucketFor(index->exact, matcher.host, created));
            }
        }
    }
    index->buckets.resize(members.size());
    for (std::size_t b = 0; b < members.size(); ++b) {
        index->buckets[b].compile(table.routes_, members[b]);
    }
    index->any_hosts = !index->exact.empty() || !index->wildcard_suffixes.empty() ||
                       !index->wildcard_prefixes.empty();
    table.index_ = std::move(index);
    return table;
}

std::optional<Match> RouteTable::match(const MatchRequest& request) const {
    if (!index_) {
        return std::nullopt;
    }
    PreparedRequest prepared = prepare(request, index_->any_hosts);
    Candidates candidates;
    index_->collect(prepared, candidates);
    // An entry may come from two buckets (two of its hosts fit); lower numbers win.
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (auto entry : candidates) {
        Match result;
        if (accepts(routes_[entry], request, prepared, result)) {
            result.normalized_path = std::move(prepared.path);
            return result;
        }
    }
    return std::nullopt;
}

std::optional<Match> RouteTable::matchByScan(const MatchRequest& request) const {
    PreparedRequest prepared = prepare(request);
    for (const auto& route : routes_) {
        Match result;
        if (accepts(route, request, prepared, result)) {
            result.normalized_path = std::move(prepared.path);
            return result;
        }
    }
    return std::nullopt;
}

std::string upstreamPath(const Route& route, const Match& match, std::string_view service_path) {
    // The base is the service path with a trailing '/' (just "/" without one); built as views
    // and one output string.
    std::string_view service = service_path.empty() ? std::string_view("/") : service_path;
    const bool add_slash = service.back() != '/';
    // The base without its trailing '/', or the whole base, followed by `rest`.
    auto join = [&](bool whole_base, std::string_view rest) {
        std::string out;
        out.reserve(service.size() + 1 + rest.size());
        if (whole_base) {
            out.append(service);
            if (add_slash) {
                out.push_back('/');
            }
        } else {
            out.append(add_slash ? service : service.substr(0, service.size() - 1));
        }
        out.append(rest);
        return out;
    };
    std::string_view request_path = match.normalized_path;
    bool strip = route.strip_path && !match.matched_path.empty() && match.matched_path != "/";
    if (!strip) {
        return join(request_path.empty() || request_path.front() != '/', request_path);
    }
    std::string_view postfix = request_path.substr(match.matched_path.size());
    if (postfix.empty()) {
        if (service == "/") {
            return "/";
        }
        return join(!request_path.empty() && request_path.back() == '/', {});
    }
    return join(postfix.front() != '/', postfix);
}

}  // namespace portico::router
