#include "gateway/balancer/round_robin.hpp"

#include <numeric>
#include <unordered_map>

namespace portico::balancer {

RoundRobin::RoundRobin(std::uint64_t seed) : seed_(seed) {}

void RoundRobin::setAddresses(std::vector<Address> addresses) {
    std::lock_guard lock(mutex_);
    std::unordered_map<std::string, std::int64_t> kept;
    kept.reserve(addresses_.size());
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        kept.emplace(addresses_[i].key(), current_[i]);
    }
    std::vector<std::int64_t> current(addresses.size(), 0);
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (const auto it = kept.find(addresses[i].key()); it != kept.end()) {
            current[i] = it->second;
        }
    }
    addresses_ = std::move(addresses);
    current_ = std::move(current);
    tie_start_ = addresses_.empty() ? 0 : static_cast<std::size_t>(seed_ % addresses_.size());
}

std::vector<Address> RoundRobin::addresses() const {
    std::lock_guard lock(mutex_);
    return addresses_;
}

std::optional<std::size_t> RoundRobin::pick(const PickRequest& request,
                                            const AvailableFn& available) {
    std::lock_guard lock(mutex_);
    const std::size_t n = addresses_.size();
    std::int64_t total = 0;
    std::optional<std::size_t> best;
    // Walking from tie_start_ and keeping the first maximum breaks ties in that rotated order.
    for (std::size_t step = 0; step < n; ++step) {
        std::size_t i = tie_start_ + step;
        if (i >= n) {
            i -= n;
        }
        const std::uint32_t weight = addresses_[i].weight;
        if (weight == 0 || wasTried(request, i) || !available(i)) {
            continue;
        }
        current_[i] += weight;
        total += weight;
        if (!best || current_[i] > current_[*best]) {
            best = i;
        }
    }
    if (best) {
        current_[*best] -= total;
    }
    return best;
}

std::vector<std::uint32_t> RoundRobin::slots() const {
    std::lock_guard lock(mutex_);
    std::uint32_t divisor = 0;
    for (const auto& address : addresses_) {
        divisor = std::gcd(divisor, address.weight);
    }
    std::vector<std::uint32_t> out;
    out.reserve(addresses_.size());
    for (const auto& address : addresses_) {
        out.push_back(divisor == 0 ? 0 : address.weight / divisor);
    }
    return out;
}

std::vector<std::uint32_t> RoundRobin::activeConnections() const {
    std::lock_guard lock(mutex_);
    return std::vector<std::uint32_t>(addresses_.size(), 0);
}

std::vector<double> RoundRobin::latencyEwmaMs() const {
    std::lock_guard lock(mutex_);
    return std::vector<double>(addresses_.size(), 0.0);
}

}  // namespace portico::balancer
