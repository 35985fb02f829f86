#pragma once
// Route matching with Kong's traditional_compatible semantics (kong-compat.md §3): protocols,
// methods, hosts (exact, wildcard, with port), paths (prefix and `~` regex with captures, on the
// normalized path), headers (values case-insensitive, `~*` regex), and the priority order of
// §3.3. Pure: no sockets, no Asio, no clocks. Built once per configuration snapshot, then
// matched concurrently from every worker (match() is const and thread-safe).

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace portico::router {

struct HostMatcher {
    std::string host;  // lower case; may start or end with '*'
    std::optional<std::uint16_t> port;
    bool wildcard_prefix = false;  // "*.example.com"
    bool wildcard_suffix = false;  // "example.*"
};

struct PathMatcher {
    std::string prefix;               // prefix path, or the regex source without '~'
    std::shared_ptr<re2::RE2> regex;  // set for '~' paths
};

struct HeaderMatcher {
    std::string name;                 // lower case
    std::vector<std::string> values;  // lower case, plain values
    std::shared_ptr<re2::RE2> regex;  // single `~*` value
};

struct Route {
    std::string id;
    std::string name;
    std::string service_id;  // empty for a serviceless route
    std::vector<std::string> protocols;
    bool plain_http = false;  // "http" is among the protocols (else it wants https)
    std::vector<std::string> methods;
    std::vector<HostMatcher> hosts;
    std::vector<PathMatcher> paths;
    std::vector<HeaderMatcher> headers;
    bool strip_path = true;
    bool preserve_host = false;
    int https_redirect_status_code = 426;
    std::int64_t regex_priority = 0;
    std::string path_handling = "v0";
    std::uint64_t priority = 0;  // computed, higher wins
};

struct MatchRequest {
    std::string_view method;
    std::string_view host;   // Host header, may carry ":port"
    std::uint16_t port = 0;  // listening port
    std::string_view path;   // raw path without the query string
    std::string_view scheme = "http";
    // Returns every value of a header (name lower case).
    std::function<std::vector<std::string_view>(std::string_view)> header_values;
};

struct Match {
    const Route* route = nullptr;
    std::string normalized_path;
    std::string matched_path;  // the part of the path the route's path matched
    std::map<std::string, std::string> captures;
};

// The compiled routes of one configuration. Matching costs about the same for 10 routes as for
// 10,000: candidates come from an index (a hash of exact hosts, tries over wildcard hosts, and
// per host bucket a trie over prefix paths and one over the literal starts of regex paths, with
// an RE2::Set for regexes that share a start), and only those few are checked against every
// attribute, highest priority first. Immutable once built; copies share the index.
class RouteTable {
public:
    // Compiles routes given as normalized entities (see schema). Routes whose regex fails to
    // compile are skipped and reported in `errors`. Throws only on malformed entities (a host
    // port that is not a number), which schema validation rejects first.
    static RouteTable build(const std::vector<boost::json::object>& routes,
                            std::vector<std::string>* errors = nullptr);

    // The highest-priority route that accepts the request (kong-compat.md §3.2, §3.3), or none.
    // Const and thread-safe: call it from every worker at once. `header_values` is called only
    // for the few candidate routes that have headers.
    std::optional<Match> match(const MatchRequest& request) const;

    // The same answer as match(), found by trying every route in priority order: the plain
    // specification that the index is tested against. For tests and benchmarks, never the
    // request path (its cost grows with the number of routes).
    std::optional<Match> matchByScan(const MatchRequest& request) const;

    // Number of entries: one per path of each route (a route without paths counts once).
    std::size_t size() const { return routes_.size(); }

private:
    struct Index;

    std::vector<Route> routes_;           // one per entry, sorted by priority, highest first
    std::shared_ptr<const Index> index_;  // entry numbers are positions in routes_
};

// Normalizes a request path as Kong does before matching: percent-encodings of unreserved
// characters decoded, other triplets upper-cased, dot segments removed, repeated slashes merged.
std::string normalizePath(std::string_view path);

// The upstream path for a matched route (strip_path, path_handling v0 with the service path).
std::string upstreamPath(const Route& route, const Match& match, std::string_view service_path);

}  // namespace portico::router
