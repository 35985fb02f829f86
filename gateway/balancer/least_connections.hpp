#pragma once
// Least connections (kong-compat.md §1.4.2): the candidate with the lowest
// (active requests + 1) / weight wins. Candidates are the addresses with weight > 0 that are
// available and not yet tried by the request. onStart() / onFinish() keep the active counts;
// pick() itself counts nothing, so the caller reports the start of every try it makes.
//
// Ties are broken by a rotating start: the scan begins at (request.random + picks so far) modulo
// the number of addresses and keeps the first lowest score. Without that, an idle upstream whose
// requests finish before the next arrives (every count 0) would send everything to the first
// address; with it, ties spread evenly, and the order is still exact for a given random value.
// A pick costs O(addresses) (Kong keeps a heap; scoring a few hundred integers is as quick and
// needs no re-heaping on every start and finish). Thread-safe (one mutex).

#include "gateway/balancer/balancer.hpp"

#include <mutex>

namespace portico::balancer {

class LeastConnections final : public Balancer {
public:
    explicit LeastConnections(std::uint64_t seed = 0);

    std::string algorithm() const override { return "least-connections"; }
    // Keeps the active count of every address whose key stays; new ones start at 0.
    void setAddresses(std::vector<Address> addresses) override;
    std::vector<Address> addresses() const override;
    std::optional<std::size_t> pick(const PickRequest& request,
                                    const AvailableFn& available) override;
    void onStart(std::size_t index) override;
    void onFinish(std::size_t index, double latency_ms) override;
    // One slot per address with weight > 0 (there is no wheel or ring).
    std::vector<std::uint32_t> slots() const override;
    std::vector<std::uint32_t> activeConnections() const override;
    std::vector<double> latencyEwmaMs() const override;

private:
    mutable std::mutex mutex_;
    std::vector<Address> addresses_;
    std::vector<std::uint32_t> active_;
    std::uint64_t picks_;  // starts at the seed
};

}  // namespace portico::balancer
