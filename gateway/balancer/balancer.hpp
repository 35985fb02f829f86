#pragma once
// Balancer: chooses one address of an upstream for a request (kong-compat.md §1.4.2). Pure: no
// sockets, no Asio, no clocks or randomness it did not receive, so every algorithm is tested
// exactly. One Balancer per upstream lives in the node's runtime state (outside the immutable
// configuration snapshot): setAddresses() on a target change keeps what can be kept (ring
// positions of the addresses that stay, connection counts, latency averages).
//
// Threading: pick(), onStart() and onFinish() are called from every proxy worker concurrently;
// setAddresses() and the read-only views from the control thread. Implementations synchronise
// internally (short critical sections or atomics).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::balancer {

// One unit of balancing: a resolved address of a target.
struct Address {
    std::string target;     // the target as configured: "api.internal:8080", "10.0.0.1:80"
    std::string target_id;  // the target entity's id
    std::string ip;         // resolved IPv4 or IPv6 text (no brackets)
    std::uint16_t port = 0;
    std::uint32_t weight = 100;  // 0: present but receives no traffic

    // "10.0.0.1:8080" or "[::1]:8080": the key health state and pools use.
    std::string key() const;
};

struct PickRequest {
    // consistent-hashing: the hash input computed by the caller from hash_on / hash_fallback;
    // empty means "no value" (Kong then hashes the empty string).
    std::string_view hash_key;
    // Addresses (indices into the current list) already tried by this request: skipped, and
    // consistent-hashing continues from where it stopped.
    const std::vector<std::size_t>* tried = nullptr;
    // Randomness from the caller (a seeded generator in tests).
    std::uint64_t random = 0;
};

// True when `index` is listed in request.tried (a linear scan: a request tries a handful).
inline bool wasTried(const PickRequest& request, std::size_t index) {
    if (request.tried == nullptr) {
        return false;
    }
    for (const std::size_t tried : *request.tried) {
        if (tried == index) {
            return true;
        }
    }
    return false;
}

// `available(index)` tells whether an address may take traffic now (health, manual overrides).
// Balancers call it while holding their own lock: it must not call back into the balancer.
using AvailableFn = std::function<bool(std::size_t index)>;

class Balancer {
public:
    virtual ~Balancer() = default;

    virtual std::string algorithm() const = 0;

    // Replaces the addresses, in a deterministic order chosen by the caller (sorted by key).
    virtual void setAddresses(std::vector<Address> addresses) = 0;
    virtual std::vector<Address> addresses() const = 0;

    // An available address with weight > 0, or nullopt when there is none.
    virtual std::optional<std::size_t> pick(const PickRequest& request,
                                            const AvailableFn& available) = 0;

    // Feedback from the proxy: a request started on / finished with an address. Indices refer
    // to the current list (an index out of range is ignored); a finish without a matching start
    // never takes a count below zero.
    virtual void onStart(std::size_t /*index*/) {}
    virtual void onFinish(std::size_t /*index*/, double /*latency_ms*/) {}

    // For GET /upstreams/{u}/balancer and the console's ring view: how many slots of the
    // balancer's structure (wheel or continuum) each address holds, in address order.
    virtual std::vector<std::uint32_t> slots() const = 0;
    // Active requests per address (least-connections; others may report 0) and the latency
    // average per address (latency; others report 0).
    virtual std::vector<std::uint32_t> activeConnections() const = 0;
    virtual std::vector<double> latencyEwmaMs() const = 0;
};

struct BalancerOptions {
    std::string algorithm = "round-robin";  // round-robin | consistent-hashing |
                                            // least-connections | latency
    std::uint32_t slots = 10000;            // consistent-hashing continuum size (Kong's rule)
    std::uint64_t seed = 0;                 // wheel shuffle and random tie breaks
    // latency: the decay time of the moving average, and a clock in milliseconds.
    double ewma_decay_ms = 10000;
    std::function<double()> now_ms;
};

// Throws std::invalid_argument naming an unknown algorithm, or for "latency" without now_ms
// (the balancer reads no clock of its own).
std::unique_ptr<Balancer> makeBalancer(const BalancerOptions& options);

}  // namespace portico::balancer
