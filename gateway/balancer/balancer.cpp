#include "gateway/balancer/balancer.hpp"

#include "gateway/balancer/consistent_hashing.hpp"
#include "gateway/balancer/latency.hpp"
#include "gateway/balancer/least_connections.hpp"
#include "gateway/balancer/round_robin.hpp"

#include <stdexcept>

namespace portico::balancer {

std::string Address::key() const {
    std::string out;
    const bool v6 = ip.find(':') != std::string::npos;
    out.reserve(ip.size() + 8);
    if (v6) {
        out += '[';
    }
    out += ip;
    if (v6) {
        out += ']';
    }
    out += ':';
    out += std::to_string(port);
    return out;
}

std::unique_ptr<Balancer> makeBalancer(const BalancerOptions& options) {
    const std::string& name = options.algorithm;
    if (name == "round-robin") {
        return std::make_unique<RoundRobin>(options.seed);
    }
    if (name == "consistent-hashing") {
        return std::make_unique<ConsistentHashing>(options.slots);
    }
    if (name == "least-connections") {
        return std::make_unique<LeastConnections>(options.seed);
    }
    if (name == "latency") {
        if (!options.now_ms) {
            throw std::invalid_argument("balancer algorithm 'latency' needs a clock (now_ms)");
        }
        return std::make_unique<Latency>(options.ewma_decay_ms, options.now_ms, options.seed);
    }
    throw std::invalid_argument("unknown balancer algorithm '" + name + "'");
}

}  // namespace portico::balancer
