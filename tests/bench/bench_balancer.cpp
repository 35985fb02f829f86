// Balancer pick cost per algorithm at 10 and 1,000 addresses; results and the command line:
// docs/benchmarks.md ("Balancer pick cost").
//
// Every address is available (the availability callback reads one flag per address, as the
// proxy's health lookup does). Consistent hashing hashes one of 1,024 prepared keys per pick;
// least-connections starts with uneven active counts; latency with uneven averages. The
// "request" variants add the feedback a proxied request gives: onStart() and onFinish().

#include "gateway/balancer/balancer.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace portico::balancer;

std::vector<Address> makeAddresses(std::size_t count, bool varied_weights) {
    std::vector<Address> list;
    list.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        Address a;
        a.ip = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
               std::to_string(i % 256);
        a.port = 8080;
        a.target = a.ip + ":8080";
        a.weight = varied_weights ? static_cast<std::uint32_t>(50 + i % 7 * 25) : 100;
        list.push_back(a);
    }
    return list;
}

struct Fixture {
    double now = 0;
    std::unique_ptr<Balancer> balancer;
    std::vector<char> healthy;
    AvailableFn available;
    std::vector<std::string> keys;

    Fixture(const char* algorithm, std::size_t count) : healthy(count, 1) {
        BalancerOptions options;
        options.algorithm = algorithm;
        options.now_ms = [this] { return now; };
        balancer = makeBalancer(options);
        balancer->setAddresses(makeAddresses(count, true));
        available = [this](std::size_t i) { return healthy[i] != 0; };
        std::mt19937_64 rng(1);
        for (int k = 0; k < 1024; ++k) {
            keys.push_back("client-" + std::to_string(rng()));
        }
        for (std::size_t i = 0; i < count; ++i) {
            for (std::size_t j = 0; j < i % 5; ++j) {
                balancer->onStart(i);
            }
            now += 1;
            balancer->onFinish(i, 5.0 + static_cast<double>(rng() % 100));
        }
    }
};

void BM_Pick(benchmark::State& state, const char* algorithm) {
    Fixture fixture(algorithm, static_cast<std::size_t>(state.range(0)));
    std::mt19937_64 rng(2);
    PickRequest request;
    std::size_t k = 0;
    for (auto _ : state) {
        request.hash_key = fixture.keys[k++ & 1023];
        request.random = rng();
        auto picked = fixture.balancer->pick(request, fixture.available);
        benchmark::DoNotOptimize(picked);
    }
}

void BM_Request(benchmark::State& state, const char* algorithm) {
    Fixture fixture(algorithm, static_cast<std::size_t>(state.range(0)));
    std::mt19937_64 rng(3);
    PickRequest request;
    std::size_t k = 0;
    for (auto _ : state) {
        request.hash_key = fixture.keys[k++ & 1023];
        request.random = rng();
        const auto picked = fixture.balancer->pick(request, fixture.available);
        fixture.balancer->onStart(*picked);
        fixture.now += 0.1;
        fixture.balancer->onFinish(*picked, 5.0 + static_cast<double>(request.random % 50));
    }
}

// Building the consistent-hashing continuum (10,000 entries), paid on the control thread when
// targets change.
void BM_HashBuild(benchmark::State& state) {
    const auto list = makeAddresses(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    BalancerOptions options;
    options.algorithm = "consistent-hashing";
    auto balancer = makeBalancer(options);
    for (auto _ : state) {
        balancer->setAddresses(list);
    }
    state.SetLabel(state.range(1) != 0 ? "varied weights" : "equal weights");
}

BENCHMARK_CAPTURE(BM_Pick, round_robin, "round-robin")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, consistent_hashing, "consistent-hashing")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, least_connections, "least-connections")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, latency, "latency")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Request, least_connections, "least-connections")->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(BM_Request, latency, "latency")->Arg(10)->Arg(1000);
BENCHMARK(BM_HashBuild)
    ->Args({10, 0})
    ->Args({10, 1})
    ->Args({1000, 0})
    ->Args({1000, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
