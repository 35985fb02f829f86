#include "gateway/balancer/least_connections.hpp"

#include <unordered_map>

namespace portico::balancer {

LeastConnections::LeastConnections(std::uint64_t seed) : picks_(seed) {}

void LeastConnections::setAddresses(std::vector<Address> addresses) {
    std::lock_guard lock(mutex_);
    std::unordered_map<std::string, std::uint32_t> kept;
    kept.reserve(addresses_.size());
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        kept.emplace(addresses_[i].key(), active_[i]);
    }
    std::vector<std::uint32_t> active(addresses.size(), 0);
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (const auto it = kept.find(addresses[i].key()); it != kept.end()) {
            active[i] = it->second;
        }
    }
    addresses_ = std::move(addresses);
    active_ = std::move(active);
}

std::vector<Address> LeastConnections::addresses() const {
    std::lock_guard lock(mutex_);
    return addresses_;
}

std::optional<std::size_t> LeastConnections::pick(const PickRequest& request,
                                                  const AvailableFn& available) {
    std::lock_guard lock(mutex_);
    const std::size_t n = addresses_.size();
    if (n == 0) {
        return std::nullopt;
    }
    const std::size_t start = static_cast<std::size_t>((request.random + picks_++) % n);
    std::optional<std::size_t> best;
    std::uint64_t best_load = 0;  // (active + 1) of the best, compared by cross-multiplication
    std::uint64_t best_weight = 1;
    for (std::size_t step = 0; step < n; ++step) {
        std::size_t i = start + step;
        if (i >= n) {
            i -= n;
        }
        const std::uint64_t weight = addresses_[i].weight;
        if (weight == 0) {
            continue;
        }
        const std::uint64_t load = std::uint64_t{active_[i]} + 1;
        // load / weight < best_load / best_weight, exactly, in integers.
        if (best && load * best_weight >= best_load * weight) {
            continue;
        }
        if (wasTried(request, i) || !available(i)) {
            continue;
        }
        best = i;
        best_load = load;
        best_weight = weight;
    }
    return best;
}

void LeastConnections::onStart(std::size_t index) {
    std::lock_guard lock(mutex_);
    if (index < active_.size()) {
        ++active_[index];
    }
}

void LeastConnections::onFinish(std::size_t index, double /*latency_ms*/) {
    std::lock_guard lock(mutex_);
    if (index < active_.size() && active_[index] > 0) {
        --active_[index];
    }
}

std::vector<std::uint32_t> LeastConnections::slots() const {
    std::lock_guard lock(mutex_);
    std::vector<std::uint32_t> out;
    out.reserve(addresses_.size());
    for (const auto& address : addresses_) {
        out.push_back(address.weight > 0 ? 1 : 0);
    }
    return out;
}

std::vector<std::uint32_t> LeastConnections::activeConnections() const {
    std::lock_guard lock(mutex_);
    return active_;
}

std::vector<double> LeastConnections::latencyEwmaMs() const {
    std::lock_guard lock(mutex_);
    return std::vector<double>(addresses_.size(), 0.0);
}

}  // namespace portico::balancer
