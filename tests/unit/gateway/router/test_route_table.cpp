// Route matching (kong-compat.md §3): attributes, priorities, normalization, and the upstream
// path table of §3.5 (path_handling v0).

#include "gateway/router/route_table.hpp"

#include <boost/json/parse.hpp>

#include <QtTest>

#include <atomic>
#include <random>
#include <thread>

using namespace portico::router;
namespace json = boost::json;

namespace {

json::object route(const std::string& text) { return json::parse(text).as_object(); }

struct Request {
    std::string method = "GET";
    std::string host = "example.com";
    std::string path = "/";
    std::vector<std::pair<std::string, std::string>> headers;
};

std::optional<Match> matchOn(const RouteTable& table, const Request& r) {
    MatchRequest request;
    request.method = r.method;
    request.host = r.host;
    request.port = 8000;
    request.path = r.path;
    request.header_values = [&r](std::string_view name) {
        std::vector<std::string_view> values;
        for (const auto& [key, value] : r.headers) {
            if (key == name) {
                values.push_back(value);
            }
        }
        return values;
    };
    return table.match(request);
}

// Randomized routes and requests for the differential test. std::mt19937's sequence is fixed by
// the standard (its distributions are not), so a seed gives the same table everywhere.
class Rng {
public:
    explicit Rng(std::uint32_t seed) : engine_(seed) {}
    std::size_t below(std::size_t n) { return engine_() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <typename T>
    const T& pick(const std::vector<T>& items) {
        return items[below(items.size())];
    }

private:
    std::mt19937 engine_;
};

// A skewed host number: a few hosts carry many routes (indexed buckets), most carry few.
std::string serviceHost(Rng& rng) {
    return "svc" + std::to_string(rng.below(rng.below(40) + 1)) + ".example.com";
}

json::array someOf(Rng& rng, const std::vector<std::string>& pool, std::size_t most) {
    json::array out;
    std::size_t count = 1 + rng.below(most);
    for (std::size_t i = 0; i < count; ++i) {
        out.emplace_back(rng.pick(pool));
    }
    return out;
}

json::object randomRoute(Rng& rng, std::size_t number) {
    static const std::vector<std::string> exact = {"api.example.com", "www.example.com",
                                                   "shop.example.org", "example.com",
                                                   "API.Example.com", "[::1]"};
    static const std::vector<std::string> ported = {"api.example.com:9000", "svc3.example.com:8000",
                                                    "example.com:8443", "www.example.com:9000"};
    static const std::vector<std::string> wild_prefix = {
        "*.example.com", "*.example.org", "*.svc1.example.com", "*.example.com:9000", "*",
        "*.api.example.com:8000"};
    static const std::vector<std::string> wild_suffix = {"api.*", "www.example.*", "svc2.*:9000",
                                                         "shop.*"};
    static const std::vector<std::string> prefixes = {
        "/", "/api", "/api/", "/api/v1", "/api/v2/users", "/users", "/users/", "/a/b", "/static",
        "/s", "/api/v1/orders", ""};
    static const std::vector<std::string> regexes = {
        "~/users/\\d+$", "~/users/(?<id>\\d+)", "~/api/v[12]/(?<res>[a-z]+)", "~/a/.*/c",
        "~/files/(.+)\\.json$", "~/$", "~/svc\\d+/r[0-4]/(\\d+)", "~/(?i)static/",
        "~/api/v1/orders/(?<order>[0-9a-f]{4})", "~/s(/x)?$", "~/svc7/.*", "~/a|/b",
        // literal starts that end at a quantifier, an escape, an anchor, a non-ASCII byte
        "~/api/v1x?/q", "~/dot\\.json", "~/ab*c", "~/ab+c", "~^/anchored/(\\d+)", "~/w\\b",
        "~/caf\xC3\xA9/x", "~/x{2}y", "~/a\\.\\*b", "~/ab\\Bc", "~/(a)/b"};
    static const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE"};
    static const std::vector<std::string> header_names = {"x-version", "x-client", "X-Tenant"};
    static const std::vector<std::string> header_values = {"v1", "v2", "V3", "alpha"};
    static const std::vector<std::string> header_regexes = {"~*^mobile-", "~*beta$", "~*v[12]"};

    json::object route;
    route["id"] = "r" + std::to_string(number);
    if (rng.chance(65)) {
        json::array hosts;
        std::size_t count = 1 + rng.below(3);
        for (std::size_t i = 0; i < count; ++i) {
            auto kind = rng.below(100);
            if (kind < 35) {
                hosts.emplace_back(serviceHost(rng));
            } else if (kind < 60) {
                hosts.emplace_back(rng.pick(exact));
            } else if (kind < 75) {
                hosts.emplace_back(rng.chance(50) ? rng.pick(ported) : serviceHost(rng) + ":9000");
            } else if (kind < 90) {
                hosts.emplace_back(rng.pick(wild_prefix));
            } else {
                hosts.emplace_back(rng.pick(wild_suffix));
            }
        }
        route["hosts"] = std::move(hosts);
    }
    // A route that fits any host and any path would answer every request; keep some misses.
    bool any_host = !route.contains("hosts") ||
                    std::any_of(route["hosts"].as_array().begin(),
                                route["hosts"].as_array().end(),
                                [](const json::value& host) { return host == "*"; });
    if (any_host || rng.chance(80)) {
        json::array paths;
        std::size_t count = 1 + rng.below(3);
        for (std::size_t i = 0; i < count; ++i) {
            auto kind = rng.below(100);
            if (kind < 40) {
                std::string prefix = rng.pick(prefixes);
                paths.emplace_back(any_host && prefix.size() < 2 ? "/api/v1" : prefix);
            } else if (kind < 75) {
                paths.emplace_back("/svc" + std::to_string(rng.below(40)) + "/r" +
                                   std::to_string(rng.below(5)));
            } else if (kind < 85) {
                // Many regexes sharing a few literal starts: matched through RE2 sets.
                paths.emplace_back("~/svc" + std::to_string(rng.below(10)) + "/items/(\\d+)" +
                                   (rng.chance(50) ? "$" : "/" + std::to_string(rng.below(4))));
            } else {
                paths.emplace_back(rng.pick(regexes));
            }
        }
        route["paths"] = std::move(paths);
    }
    if (rng.chance(40)) {
        route["methods"] = someOf(rng, methods, 2);
    }
    if (rng.chance(20)) {
        json::object headers;
        std::size_t count = 1 + rng.below(2);
        for (std::size_t i = 0; i < count; ++i) {
            json::array values;
            if (rng.chance(30)) {
                values.emplace_back(rng.pick(header_regexes));
            } else {
                values = someOf(rng, header_values, 2);
            }
            headers[rng.pick(header_names)] = std::move(values);
        }
        route["headers"] = std::move(headers);
    }
    if (rng.chance(50)) {
        route["regex_priority"] = static_cast<std::int64_t>(rng.below(5)) - 1;
    }
    auto protocols = rng.below(100);
    route["protocols"] = protocols < 85   ? json::parse("[\"http\",\"https\"]")
                         : protocols < 95 ? json::parse("[\"https\"]")
                                          : json::parse("[\"grpc\",\"grpcs\"]");
    return route;
}

struct RandomRequest {
    std::string method;
    std::string host;
    std::uint16_t port = 8000;
    std::string path;
    std::string scheme;
    std::vector<std::pair<std::string, std::string>> headers;
};

RandomRequest randomRequest(Rng& rng) {
    static const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    static const std::vector<std::string> known = {
        "api.example.com", "www.example.com", "shop.example.org", "example.com",
        "Api.Example.COM", "[::1]", "svc3.example.com", "svc0.example.com"};
    static const std::vector<std::string> wild = {
        "x.example.com", "a.b.example.org", "x.svc1.example.com", "api.test", "www.example.net",
        "svc2.local", "shop.example", "v.api.example.com", "example.org", ".example.com"};
    static const std::vector<std::string> ports = {"", "", ":8000", ":9000", ":80", ":8443", ":"};
    static const std::vector<std::string> paths = {
        "/users/42", "/users/me", "/api/v1/items", "/api/v2/orders", "/a/x/y/c", "/b",
        "/files/report.json", "/svc12/r3/77", "/static/x", "/STATIC/y", "/s/x", "/s",
        "/api/v1/orders/beef", "/api/v2/users/7", "/", "", "/apiv1", "/svc7/r1", "/api/v1x/q",
        "/api/v1/q", "/dot.json", "/dotxjson", "/ac", "/abbc", "/abc", "/anchored/12", "/w/x",
        "/wx", "/caf\xC3\xA9/x", "/xxy", "/a.*b", "/svc3/items/9", "/svc4/items/12/2",
        "/svc4/items/12/"};
    static const std::vector<std::string> segments = {"a", "b", "c", "users", "api", "v1", "..",
                                                      ".", "", "%2E", "%61", "x1", "svc7", "r2"};
    static const std::vector<std::string> values = {"v1", "V2", "v3", "alpha", "Mobile-ios",
                                                    "mobile-", "android-beta", "beta"};
    RandomRequest request;
    request.method = rng.pick(methods);
    auto host = rng.below(100);
    if (host < 35) {
        request.host = rng.pick(known);
    } else if (host < 65) {
        request.host = serviceHost(rng);
    } else if (host < 85) {
        request.host = rng.pick(wild);
    } else {
        request.host = "nothing.invalid";
    }
    request.host += rng.pick(ports);
    request.port = rng.chance(80) ? 8000 : 9000;
    auto path = rng.below(100);
    if (path < 40) {
        request.path = rng.pick(paths);
    } else if (path < 70) {
        request.path = "/svc" + std::to_string(rng.below(40)) + "/r" + std::to_string(rng.below(5));
        if (rng.chance(50)) {
            request.path += "/" + std::to_string(rng.below(100));
        }
    } else if (path < 80) {
        request.path = "/zz/" + std::to_string(rng.below(10));  // no route's path fits it
    } else {
        std::size_t count = rng.below(5);
        for (std::size_t i = 0; i < count; ++i) {
            request.path += "/" + rng.pick(segments);
        }
    }
    request.scheme = rng.chance(85) ? "http" : (rng.chance(50) ? "https" : "grpc");
    for (const char* name : {"x-version", "x-client", "x-tenant"}) {
        std::size_t count = rng.chance(40) ? 1 + rng.below(2) : 0;
        for (std::size_t i = 0; i < count; ++i) {
            request.headers.emplace_back(name, rng.pick(values));
        }
    }
    return request;
}

MatchRequest toMatchRequest(const RandomRequest& r) {
    MatchRequest request;
    request.method = r.method;
    request.host = r.host;
    request.port = r.port;
    request.path = r.path;
    request.scheme = r.scheme;
    request.header_values = [&r](std::string_view name) {
        std::vector<std::string_view> values;
        for (const auto& [key, value] : r.headers) {
            if (key == name) {
                values.push_back(value);
            }
        }
        return values;
    };
    return request;
}

std::string describe(const RouteTable& table, const std::optional<Match>& match) {
    if (!match) {
        return "no match";
    }
    std::string out = "route " + match->route->id + " (entry priority " +
                      std::to_string(match->route->priority) + " of " +
                      std::to_string(table.size()) + ") path=" + match->normalized_path +
                      " matched=" + match->matched_path;
    for (const auto& [name, value] : match->captures) {
        out += " " + name + "=" + value;
    }
    return out;
}

std::string describe(const RandomRequest& r) {
    std::string out = r.scheme + " " + r.method + " " + r.host + " (port " +
                      std::to_string(r.port) + ") " + r.path;
    for (const auto& [name, value] : r.headers) {
        out += " " + name + ":" + value;
    }
    return out;
}

}  // namespace

class RouteTableTest : public QObject {
    Q_OBJECT

private slots:
    void precedence_data() {
        QTest::addColumn<QString>("routes");  // JSON array of routes, each with an id
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("expected");  // route id, or "" for no match

        const QString two_prefixes =
            "[{\"id\":\"short\",\"paths\":[\"/a\"]},{\"id\":\"long\",\"paths\":[\"/a/b\"]}]";
        QTest::newRow("longer prefix wins") << two_prefixes << "GET" << "x" << "/a/b/c" << "long";
        QTest::newRow("shorter prefix") << two_prefixes << "GET" << "x" << "/a/c" << "short";
        QTest::newRow("no segment boundary") << two_prefixes << "GET" << "x" << "/abc" << "short";
        QTest::newRow("no match") << two_prefixes << "GET" << "x" << "/b" << "";

        const QString weight =
            "[{\"id\":\"path\",\"paths\":[\"/a/b/c/d\"]},{\"id\":\"host+path\",\"hosts\":[\"example.com\"],\"paths\":[\"/a\"]}]";
        QTest::newRow("more attributes beat longer path")
            << weight << "GET" << "example.com" << "/a/b/c/d" << "host+path";
        QTest::newRow("host must match") << weight << "GET" << "other.com" << "/a/b/c/d" << "path";

        const QString hosts =
            "[{\"id\":\"wild\",\"hosts\":[\"*.example.com\"]},{\"id\":\"plain\",\"hosts\":[\"api.example.com\"]},{\"id\":\"suffix\",\"hosts\":[\"api.*\"]}]";
        QTest::newRow("plain host beats wildcard")
            << hosts << "GET" << "api.example.com" << "/" << "plain";
        QTest::newRow("wildcard prefix") << hosts << "GET" << "a.b.example.com" << "/" << "wild";
        QTest::newRow("wildcard suffix") << hosts << "GET" << "api.test" << "/" << "suffix";
        QTest::newRow("host case and port") << hosts << "GET" << "API.Example.COM:8000" << "/"
                                            << "plain";
        QTest::newRow("bare domain is not a wildcard match")
            << hosts << "GET" << "example.com" << "/" << "";

        const QString ported =
            "[{\"id\":\"p\",\"hosts\":[\"example.com:9000\"]},{\"id\":\"any\",\"hosts\":[\"example.com\"],\"paths\":[\"/x\"]}]";
        QTest::newRow("host with port needs the port")
            << ported << "GET" << "example.com:9000" << "/" << "p";
        QTest::newRow("other port") << ported << "GET" << "example.com:9001" << "/" << "";

        const QString regex =
            "[{\"id\":\"prefix\",\"paths\":[\"/users\"]},{\"id\":\"low\",\"paths\":[\"~/users/\\\\d+$\"],\"regex_priority\":1},{\"id\":\"high\",\"paths\":[\"~/users/(?<id>\\\\d+)\"],\"regex_priority\":5}]";
        QTest::newRow("regex beats prefix, regex_priority orders regexes")
            << regex << "GET" << "x" << "/users/42" << "high";
        QTest::newRow("regex anchored at start")
            << regex << "GET" << "x" << "/v1/users/42" << "";
        QTest::newRow("prefix when regex fails") << regex << "GET" << "x" << "/users/me" << "prefix";

        const QString methods = "[{\"id\":\"get\",\"methods\":[\"GET\"],\"paths\":[\"/m\"]},{\"id\":\"all\",\"paths\":[\"/m\"]}]";
        QTest::newRow("method counts as an attribute") << methods << "GET" << "x" << "/m" << "get";
        QTest::newRow("other method falls back") << methods << "POST" << "x" << "/m" << "all";

        const QString normalized = "[{\"id\":\"n\",\"paths\":[\"/a/b\"]}]";
        QTest::newRow("dot segments and escapes normalized")
            << normalized << "GET" << "x" << "/x/../a/%62//c" << "n";

        // Weights: plain > any-host (longer path) > mixed; all three have two attributes.
        const QString mixed =
            "[{\"id\":\"mixed\",\"hosts\":[\"api.example.com\",\"*.example.org\"],"
            "\"paths\":[\"/a/b\"]},"
            "{\"id\":\"plain\",\"hosts\":[\"api.example.com\"],\"paths\":[\"/a\"]},"
            "{\"id\":\"any-host\",\"methods\":[\"GET\"],\"paths\":[\"/a/b/c\"]}]";
        QTest::newRow("plain hosts beat a mixed host list")
            << mixed << "GET" << "api.example.com" << "/a/b" << "plain";
        QTest::newRow("mixed host list matches through its wildcard")
            << mixed << "GET" << "x.example.org" << "/a/b" << "mixed";
        QTest::newRow("mixed host list, wildcard needs a label")
            << mixed << "GET" << "example.org" << "/a/b" << "";
        QTest::newRow("host-less route with a longer path beats a mixed list")
            << mixed << "GET" << "x.example.org" << "/a/b/c" << "any-host";
        QTest::newRow("plain hosts still beat a longer path")
            << mixed << "GET" << "api.example.com" << "/a/b/c" << "plain";
        QTest::newRow("mixed list with another method")
            << mixed << "POST" << "x.example.org" << "/a/b/c" << "mixed";

        const QString wild_ports =
            "[{\"id\":\"wild-port\",\"hosts\":[\"*.example.com:9000\"],\"paths\":[\"/p\"]},"
            "{\"id\":\"wild\",\"hosts\":[\"*.example.com\"]},"
            "{\"id\":\"suffix-port\",\"hosts\":[\"api.*:9001\"]},"
            "{\"id\":\"listen-port\",\"hosts\":[\"*.example.net:8000\"]},"
            "{\"id\":\"exact-port\",\"hosts\":[\"api.example.com:9000\"]}]";
        QTest::newRow("wildcard with port on its port")
            << wild_ports << "GET" << "a.example.com:9000" << "/p/x" << "wild-port";
        QTest::newRow("wildcard with port, other port falls back")
            << wild_ports << "GET" << "a.example.com:9001" << "/p/x" << "wild";
        QTest::newRow("exact host with port beats a wildcard")
            << wild_ports << "GET" << "api.example.com:9000" << "/" << "exact-port";
        QTest::newRow("wildcard with port and path outweighs exact host with port")
            << wild_ports << "GET" << "api.example.com:9000" << "/p" << "wild-port";
        QTest::newRow("exact host with port, other port, falls to wildcard")
            << wild_ports << "GET" << "api.example.com:9002" << "/" << "wild";
        QTest::newRow("suffix wildcard with port")
            << wild_ports << "GET" << "api.test:9001" << "/" << "suffix-port";
        QTest::newRow("suffix wildcard with port, other port")
            << wild_ports << "GET" << "api.test:9000" << "/" << "";
        QTest::newRow("wildcard with port uses the listening port")
            << wild_ports << "GET" << "a.example.net" << "/" << "listen-port";
        QTest::newRow("Host port overrides the listening port")
            << wild_ports << "GET" << "a.example.net:9000" << "/" << "";
        QTest::newRow("default port ignored by a port-less wildcard")
            << wild_ports << "GET" << "a.example.com:80" << "/" << "wild";
        QTest::newRow("wildcard with port does not match the bare domain")
            << wild_ports << "GET" << "example.com:9000" << "/p" << "";
    }

    void precedence() {
        QFETCH(QString, routes);
        QFETCH(QString, method);
        QFETCH(QString, host);
        QFETCH(QString, path);
        QFETCH(QString, expected);
        std::vector<json::object> list;
        auto parsed = json::parse(routes.toStdString());
        for (const auto& value : parsed.as_array()) {
            auto object = value.as_object();
            if (!object.contains("protocols")) {
                object["protocols"] = json::parse("[\"http\",\"https\"]");
            }
            list.push_back(object);
        }
        auto table = RouteTable::build(list);
        Request request{method.toStdString(), host.toStdString(), path.toStdString(), {}};
        auto result = matchOn(table, request);
        if (expected.isEmpty()) {
            QVERIFY2(!result, result ? result->route->id.c_str() : "");
        } else {
            QVERIFY(result.has_value());
            QCOMPARE(QString::fromStdString(result->route->id), expected);
        }
    }

    // The index (host buckets, path tries, regex sets) must pick exactly the entry the plain
    // priority-order scan picks, for any table and request.
    void matchesTheScan_data() {
        QTest::addColumn<uint>("seed");
        QTest::addColumn<int>("routes");
        QTest::addColumn<int>("requests");
        QTest::addColumn<bool>("header_hits_expected");
        QTest::newRow("2000 routes") << 20240601u << 2000 << 5000 << true;
        QTest::newRow("300 routes") << 7u << 300 << 3000 << true;
        QTest::newRow("25 routes") << 42u << 25 << 3000 << false;
    }

    void matchesTheScan() {
        QFETCH(uint, seed);
        QFETCH(int, routes);
        QFETCH(int, requests);
        QFETCH(bool, header_hits_expected);
        Rng rng(seed);
        std::vector<json::object> list;
        for (int i = 0; i < routes; ++i) {
            list.push_back(randomRoute(rng, static_cast<std::size_t>(i)));
        }
        std::vector<std::string> errors;
        auto table = RouteTable::build(list, &errors);
        QVERIFY2(errors.empty(), errors.empty() ? "" : errors.front().c_str());
        QVERIFY(table.size() >= static_cast<std::size_t>(routes));

        int hits = 0;
        int regex_hits = 0;
        int host_hits = 0;
        int header_hits = 0;
        for (int i = 0; i < requests; ++i) {
            RandomRequest r = randomRequest(rng);
            MatchRequest request = toMatchRequest(r);
            auto indexed = table.match(request);
            auto scanned = table.matchByScan(request);
            bool same = indexed.has_value() == scanned.has_value() &&
                        (!indexed || (indexed->route == scanned->route &&
                                      indexed->normalized_path == scanned->normalized_path &&
                                      indexed->matched_path == scanned->matched_path &&
                                      indexed->captures == scanned->captures));
            if (!same) {
                std::string message = "request " + std::to_string(i) + ": " + describe(r) +
                                      "\n  index: " + describe(table, indexed) +
                                      "\n  scan:  " + describe(table, scanned);
                QFAIL(message.c_str());
            }
            if (scanned) {
                ++hits;
                const Route& route = *scanned->route;
                regex_hits += !route.paths.empty() && route.paths.front().regex ? 1 : 0;
                host_hits += route.hosts.empty() ? 0 : 1;
                header_hits += route.headers.empty() ? 0 : 1;
            }
        }
        // The generator must keep producing all kinds of outcomes, or the test proves little.
        qInfo("%d of %d requests matched: %d on regex paths, %d on hosts, %d on headers", hits,
              requests, regex_hits, host_hits, header_hits);
        QVERIFY(hits > requests / 10);
        QVERIFY(requests - hits > requests / 50);
        QVERIFY(regex_hits > requests / 100);
        QVERIFY(host_hits > requests / 20);
        QVERIFY(header_hits > 0 || !header_hits_expected);
    }

    // match() is const and shared by every worker: many threads at once get the scan's answers.
    void concurrentMatchesAgree() {
        Rng rng(99);
        std::vector<json::object> list;
        for (std::size_t i = 0; i < 2000; ++i) {
            list.push_back(randomRoute(rng, i));
        }
        const auto table = RouteTable::build(list);
        std::vector<RandomRequest> requests;
        std::vector<const Route*> expected;
        for (int i = 0; i < 2000; ++i) {
            requests.push_back(randomRequest(rng));
        }
        for (const auto& r : requests) {
            auto scanned = table.matchByScan(toMatchRequest(r));
            expected.push_back(scanned ? scanned->route : nullptr);
        }
        std::atomic<int> disagreements{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (int round = 0; round < 5; ++round) {
                    for (std::size_t i = 0; i < requests.size(); ++i) {
                        std::size_t k = (i + static_cast<std::size_t>(t) * 500) % requests.size();
                        auto result = table.match(toMatchRequest(requests[k]));
                        if ((result ? result->route : nullptr) != expected[k]) {
                            ++disagreements;
                        }
                    }
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        QCOMPARE(disagreements.load(), 0);
    }

    void headers() {
        auto table = RouteTable::build(
            {route("{\"id\":\"h\",\"headers\":{\"X-Version\":[\"v1\",\"V2\"]}}"),
             route("{\"id\":\"re\",\"headers\":{\"x-client\":[\"~*^mobile-\"]},\"paths\":[\"/\"]}")});
        Request request;
        request.headers = {{"x-version", "v2"}};
        QCOMPARE(matchOn(table, request)->route->id, std::string("h"));
        request.headers = {{"x-version", "v3"}};
        QVERIFY(!matchOn(table, request));
        request.headers = {{"x-client", "MOBILE-ios"}};
        QCOMPARE(matchOn(table, request)->route->id, std::string("re"));
    }

    void captures() {
        auto table = RouteTable::build({route("{\"id\":\"c\",\"paths\":[\"~/u/(?<user>[a-z]+)/(\\\\d+)\"]}")});
        Request request;
        request.path = "/u/alice/7/rest";
        auto result = matchOn(table, request);
        QVERIFY(result);
        QCOMPARE(result->captures.at("user"), std::string("alice"));
        QCOMPARE(result->captures.at("2"), std::string("7"));
        QCOMPARE(result->matched_path, std::string("/u/alice/7"));
    }

    void invalidRegexIsReported() {
        std::vector<std::string> errors;
        auto table = RouteTable::build({route("{\"id\":\"bad\",\"paths\":[\"~/(unclosed\"]}")}, &errors);
        QCOMPARE(table.size(), std::size_t(0));
        QCOMPARE(errors.size(), std::size_t(1));
        QVERIFY(errors[0].find("invalid regex") != std::string::npos);
    }

    void normalizePath_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << "/a/b" << "/a/b";
        QTest::newRow("double slash") << "//a///b" << "/a/b";
        QTest::newRow("dot") << "/a/./b" << "/a/b";
        QTest::newRow("dotdot") << "/a/../b" << "/b";
        QTest::newRow("above root") << "/../../a" << "/a";
        QTest::newRow("unreserved decoded") << "/%61%2Db" << "/a-b";
        QTest::newRow("reserved kept upper") << "/a%2fb" << "/a%2Fb";
        QTest::newRow("trailing slash kept") << "/a/" << "/a/";
        QTest::newRow("encoded dot segment") << "/route%2E/req" << "/route./req";
        QTest::newRow("empty") << "" << "/";
        QTest::newRow("dot file is not a dot segment") << "/.well-known/x" << "/.well-known/x";
        QTest::newRow("trailing dot") << "/a/b/." << "/a/b/";
        QTest::newRow("trailing dotdot") << "/a/b/.." << "/a/";
        QTest::newRow("no leading slash") << "a/b" << "/a/b";
        QTest::newRow("lower-case triplet upper-cased") << "/a%3fb" << "/a%3Fb";
        QTest::newRow("non-ASCII byte kept encoded") << "/caf%c3%a9" << "/caf%C3%A9";
    }

    void normalizePath() {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        QCOMPARE(QString::fromStdString(portico::router::normalizePath(input.toStdString())),
                 expected);
    }

    // kong-compat.md §3.5, path_handling v0.
    void upstreamPath_data() {
        QTest::addColumn<QString>("service_path");
        QTest::addColumn<QString>("route_path");  // "" = host-only route
        QTest::addColumn<bool>("strip");
        QTest::addColumn<QString>("request");
        QTest::addColumn<QString>("expected");
        QTest::newRow("1") << "/" << "/" << true << "/route/req" << "/route/req";
        QTest::newRow("2") << "/" << "/route" << false << "/routereq" << "/routereq";
        QTest::newRow("3") << "/" << "/route" << true << "/route" << "/";
        QTest::newRow("4") << "/" << "/route" << true << "/routereq" << "/req";
        QTest::newRow("5") << "/" << "/route/" << true << "/route/req" << "/req";
        QTest::newRow("6") << "/srv" << "/rou" << false << "/roureq" << "/srv/roureq";
        QTest::newRow("7") << "/srv" << "/rou" << true << "/roureq" << "/srv/req";
        QTest::newRow("8") << "/srv/" << "/rou" << true << "/rou" << "/srv";
        QTest::newRow("9") << "/service" << "/" << true << "/route" << "/service/route";
        QTest::newRow("10") << "/service" << "/route" << true << "/route" << "/service";
        QTest::newRow("11") << "/service" << "/route" << true << "/route/" << "/service/";
        QTest::newRow("12") << "/service" << "/route" << true << "/routereq" << "/service/req";
        QTest::newRow("13") << "/service" << "/route/" << true << "/route/" << "/service/";
        QTest::newRow("14") << "/service/" << "/" << false << "/" << "/service/";
        QTest::newRow("15") << "/service/" << "/route" << true << "/route" << "/service";
        QTest::newRow("16") << "/service/" << "/route" << false << "/route/" << "/service/route/";
        QTest::newRow("17") << "/service" << "" << true << "/route" << "/service/route";
        QTest::newRow("18") << "/service" << "/route" << true << "/route%2E/req" << "/service/./req";
        QTest::newRow("19") << "/service" << "/route" << false << "/route%2E/req"
                            << "/service/route./req";
        QTest::newRow("null service path") << "" << "/api" << true << "/api/x" << "/x";
    }

    void upstreamPath() {
        QFETCH(QString, service_path);
        QFETCH(QString, route_path);
        QFETCH(bool, strip);
        QFETCH(QString, request);
        QFETCH(QString, expected);
        json::object entity = route("{\"id\":\"r\",\"protocols\":[\"http\"]}");
        entity["strip_path"] = strip;
        if (route_path.isEmpty()) {
            entity["hosts"] = json::parse("[\"example.com\"]");
        } else {
            json::array paths;
            paths.emplace_back(route_path.toStdString());
            entity["paths"] = std::move(paths);
        }
        auto table = RouteTable::build({entity});
        Request r;
        r.path = request.toStdString();
        auto result = matchOn(table, r);
        QVERIFY(result);
        QCOMPARE(QString::fromStdString(
                     portico::router::upstreamPath(*result->route, *result, service_path.toStdString())),
                 expected);
    }
};

QTEST_GUILESS_MAIN(RouteTableTest)
#include "test_route_table.moc"
