#pragma once
// Weighted round-robin, smooth (nginx's algorithm): every pick adds each candidate's weight to
// its running value, takes the candidate with the highest value and subtracts the candidates'
// total weight from it. Over any window the picks follow the weights and equal weights
// interleave (a, b, c, a, b, c). Candidates are the addresses with weight > 0 that are available
// and not yet tried by the request; the others are left out of that pick entirely, so skipping
// one does not shift the shares among the rest.
//
// Kong builds a shuffled wheel instead (kong-compat.md §1.4.2); the shares are the same, smooth
// order avoids bursts to one address. A pick costs O(addresses). Thread-safe (one mutex).

#include "gateway/balancer/balancer.hpp"

#include <mutex>

namespace portico::balancer {

class RoundRobin final : public Balancer {
public:
    // `seed` rotates which address wins ties (all running values equal at the start), so that
    // nodes started together do not all send their first request to the same address.
    explicit RoundRobin(std::uint64_t seed = 0);

    std::string algorithm() const override { return "round-robin"; }
    // Keeps the running value of every address whose key stays; new ones start at 0.
    void setAddresses(std::vector<Address> addresses) override;
    std::vector<Address> addresses() const override;
    std::optional<std::size_t> pick(const PickRequest& request,
                                    const AvailableFn& available) override;
    // weight / gcd(all non-zero weights): the size of each address's share of Kong's wheel.
    std::vector<std::uint32_t> slots() const override;
    std::vector<std::uint32_t> activeConnections() const override;
    std::vector<double> latencyEwmaMs() const override;

private:
    std::uint64_t seed_;
    mutable std::mutex mutex_;
    std::vector<Address> addresses_;
    std::vector<std::int64_t> current_;  // smooth running values, one per address
    std::size_t tie_start_ = 0;          // seed % size: where the tie-breaking order begins
};

}  // namespace portico::balancer
