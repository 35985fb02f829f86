#include "gateway/balancer/latency.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace portico::balancer {

Latency::Latency(double decay_ms, std::function<double()> now_ms, std::uint64_t seed)
    : decay_ms_(std::max(decay_ms, 1.0)), now_ms_(std::move(now_ms)), picks_(seed) {
    // Scores grow with (last - epoch) / tau; measuring from the start keeps them small enough
    // that doubles still order them finely after years of uptime.
    epoch_ = now_ms_();
}

double Latency::faded(const State& state, double now) const {
    if (!state.measured) {
        return 0;
    }
    return state.ewma * std::exp(-std::max(0.0, now - state.last) / decay_ms_);
}

void Latency::rescore(State& state, std::uint32_t weight) const {
    if (state.ewma <= 0 || weight == 0) {
        state.score = -std::numeric_limits<double>::infinity();
        return;
    }
    state.score = std::log(state.ewma / weight) + (state.last - epoch_) / decay_ms_;
}

void Latency::setAddresses(std::vector<Address> addresses) {
    const double now = now_ms_();
    std::lock_guard lock(mutex_);
    std::unordered_map<std::string, State> kept;
    kept.reserve(addresses_.size());
    double sum = 0;
    std::size_t measured = 0;
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        kept.emplace(addresses_[i].key(), state_[i]);
    }
    std::vector<State> state(addresses.size());
    std::vector<bool> fresh(addresses.size(), true);
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (const auto it = kept.find(addresses[i].key()); it != kept.end()) {
            state[i] = it->second;
            fresh[i] = false;
            if (state[i].measured) {
                sum += faded(state[i], now);
                ++measured;
            }
        }
    }
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        if (fresh[i] && measured > 0) {
            state[i].ewma = sum / static_cast<double>(measured);
            state[i].last = now;
            state[i].measured = true;
        }
        rescore(state[i], addresses[i].weight);
    }
    addresses_ = std::move(addresses);
    state_ = std::move(state);
}

std::vector<Address> Latency::addresses() const {
    std::lock_guard lock(mutex_);
    return addresses_;
}

std::optional<std::size_t> Latency::pick(const PickRequest& request, const AvailableFn& available) {
    std::lock_guard lock(mutex_);
    const std::size_t n = addresses_.size();
    if (n == 0) {
        return std::nullopt;
    }
    const std::size_t start = static_cast<std::size_t>((request.random + picks_++) % n);
    std::optional<std::size_t> best;
    double best_score = 0;
    for (std::size_t step = 0; step < n; ++step) {
        std::size_t i = start + step;
        if (i >= n) {
            i -= n;
        }
        if (addresses_[i].weight == 0) {
            continue;
        }
        const double score = state_[i].score;
        if (best && !(score < best_score)) {
            continue;
        }
        if (wasTried(request, i) || !available(i)) {
            continue;
        }
        best = i;
        best_score = score;
    }
    return best;
}

void Latency::onFinish(std::size_t index, double latency_ms) {
    if (!(latency_ms >= 0)) {  // negative or NaN: nothing was measured
        return;
    }
    const double now = now_ms_();
    std::lock_guard lock(mutex_);
    if (index >= state_.size()) {
        return;
    }
    State& s = state_[index];
    if (!s.measured) {
        s.ewma = latency_ms;
    } else {
        const double w = std::exp(-std::max(0.0, now - s.last) / decay_ms_);
        const double previous = s.ewma * w;
        s.ewma = latency_ms > previous ? latency_ms : previous + latency_ms * (1 - w);
    }
    s.last = std::max(s.last, now);
    s.measured = true;
    rescore(s, addresses_[index].weight);
}

std::vector<std::uint32_t> Latency::slots() const {
    std::lock_guard lock(mutex_);
    std::vector<std::uint32_t> out;
    out.reserve(addresses_.size());
    for (const auto& address : addresses_) {
        out.push_back(address.weight > 0 ? 1 : 0);
    }
    return out;
}

std::vector<std::uint32_t> Latency::activeConnections() const {
    std::lock_guard lock(mutex_);
    return std::vector<std::uint32_t>(addresses_.size(), 0);
}

std::vector<double> Latency::latencyEwmaMs() const {
    const double now = now_ms_();
    std::lock_guard lock(mutex_);
    std::vector<double> out;
    out.reserve(state_.size());
    for (const auto& s : state_) {
        out.push_back(faded(s, now));
    }
    return out;
}

}  // namespace portico::balancer
