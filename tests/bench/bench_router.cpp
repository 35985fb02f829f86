// Route match cost against the number of routes (DESIGN.md: "route match stays flat from 10 to
// 10,000 routes"). Results and the command line: docs/benchmarks.md.
//
// The route mix, repeated every ten routes (route i belongs to group i / 10):
//   i % 10 in 0..6  prefix route, host + "/api/v1/res<i>" (every other one GET only)
//   i % 10 == 7     regex route, host + "~/api/items<i>/(?<id>\d+)$", regex_priority
//   i % 10 == 8     header route, host + "/api/v1/res<i>" + x-version
//   i % 10 == 9     a wildcard-host route (odd groups) or a host-less route (even groups)
// Even groups share one host, api.example.com (a big bucket: one public API name in front of
// many services); odd groups each have their own svc<group>.example.com. The requests go to
// api.example.com, to routes in the middle of the table.

#include "gateway/router/route_table.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
using portico::router::Match;
using portico::router::MatchRequest;
using portico::router::RouteTable;

json::array strings(std::initializer_list<std::string> items) {
    json::array out;
    for (const auto& item : items) {
        out.emplace_back(item);
    }
    return out;
}

std::string groupHost(std::size_t group) {
    return group % 2 == 0 ? std::string("api.example.com")
                          : "svc" + std::to_string(group) + ".example.com";
}

json::object makeRoute(std::size_t i) {
    const std::size_t group = i / 10;
    const std::size_t kind = i % 10;
    const std::string n = std::to_string(i);
    json::object route;
    route["id"] = "r" + n;
    route["protocols"] = strings({"http", "https"});
    if (kind <= 6) {
        route["hosts"] = strings({groupHost(group)});
        route["paths"] = strings({"/api/v1/res" + n});
        if (kind % 2 == 1) {
            route["methods"] = strings({"GET"});
        }
    } else if (kind == 7) {
        route["hosts"] = strings({groupHost(group)});
        route["paths"] = strings({"~/api/items" + n + "/(?<id>\\d+)$"});
        route["regex_priority"] = static_cast<std::int64_t>(i % 3);
    } else if (kind == 8) {
        route["hosts"] = strings({groupHost(group)});
        route["paths"] = strings({"/api/v1/res" + n});
        json::object headers;
        headers["x-version"] = strings({"v" + std::to_string(i % 3)});
        route["headers"] = std::move(headers);
    } else if (group % 2 == 1) {
        route["hosts"] = strings({"*.tenant" + std::to_string(group) + ".example.net"});
        route["paths"] = strings({"/t" + n});
    } else {
        route["paths"] = strings({"/public/p" + n});
    }
    return route;
}

// Built once per size and shared by every benchmark of that size.
const RouteTable& table(std::size_t routes) {
    static std::map<std::size_t, RouteTable> tables;
    auto it = tables.find(routes);
    if (it == tables.end()) {
        std::vector<json::object> list;
        list.reserve(routes);
        for (std::size_t i = 0; i < routes; ++i) {
            list.push_back(makeRoute(i));
        }
        it = tables.emplace(routes, RouteTable::build(list)).first;
    }
    return it->second;
}

// A route of the given kind in an even (api.example.com) group near the middle of the table.
std::size_t middleRoute(std::size_t routes, std::size_t kind) {
    std::size_t group = routes / 2 / 10;
    if (group % 2 == 1) {
        --group;
    }
    return group * 10 + kind;
}

enum class Target { PrefixHit, RegexHit, Miss };

template <bool kScan>
void matchRoute(benchmark::State& state, Target target) {
    const auto routes = static_cast<std::size_t>(state.range(0));
    const RouteTable& routing = table(routes);
    std::string path;
    std::string expected;
    if (target == Target::PrefixHit) {
        std::size_t i = middleRoute(routes, 3);  // a GET-only prefix route
        path = "/api/v1/res" + std::to_string(i) + "/orders/42";
        expected = "r" + std::to_string(i);
    } else if (target == Target::RegexHit) {
        std::size_t i = middleRoute(routes, 7);
        path = "/api/items" + std::to_string(i) + "/12345";
        expected = "r" + std::to_string(i);
    } else {
        path = "/api/v9/unknown/42";
    }
    const std::vector<std::string_view> version = {"v1"};
    MatchRequest request;
    request.method = "GET";
    request.host = "api.example.com";
    request.port = 8000;
    request.path = path;
    request.header_values = [&version](std::string_view name) {
        return name == "x-version" ? version : std::vector<std::string_view>{};
    };

    auto run = [&] { return kScan ? routing.matchByScan(request) : routing.match(request); };
    auto first = run();
    std::string got = first ? first->route->id : std::string();
    if (got != expected) {
        state.SkipWithError(("matched '" + got + "', expected '" + expected + "'").c_str());
        return;
    }
    for (auto _ : state) {
        auto result = run();
        benchmark::DoNotOptimize(result);
    }
    state.counters["entries"] = static_cast<double>(routing.size());
}

void indexMatch(benchmark::State& state, Target target) {
    matchRoute<false>(state, target);
}

void scanMatch(benchmark::State& state, Target target) {
    matchRoute<true>(state, target);
}

// Compiling a table (priority sort, RE2 programs, index): paid by the snapshot builder on the
// control thread at each configuration change, never by a request.
void buildTable(benchmark::State& state) {
    std::vector<json::object> list;
    for (std::size_t i = 0; i < static_cast<std::size_t>(state.range(0)); ++i) {
        list.push_back(makeRoute(i));
    }
    for (auto _ : state) {
        auto built = RouteTable::build(list);
        benchmark::DoNotOptimize(built);
    }
}

void configure(benchmark::internal::Benchmark* bench) {
    bench->Arg(10)->Arg(1000)->Arg(10000)->Unit(benchmark::kNanosecond);
}

}  // namespace

BENCHMARK_CAPTURE(indexMatch, prefix_hit, Target::PrefixHit)->Apply(configure);
BENCHMARK_CAPTURE(indexMatch, regex_hit, Target::RegexHit)->Apply(configure);
BENCHMARK_CAPTURE(indexMatch, miss, Target::Miss)->Apply(configure);
// The reference scan (RouteTable::matchByScan), for comparison: what the index saves.
BENCHMARK_CAPTURE(scanMatch, prefix_hit, Target::PrefixHit)->Apply(configure);
BENCHMARK_CAPTURE(scanMatch, regex_hit, Target::RegexHit)->Apply(configure);
BENCHMARK_CAPTURE(scanMatch, miss, Target::Miss)->Apply(configure);

BENCHMARK(buildTable)->Arg(10)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
