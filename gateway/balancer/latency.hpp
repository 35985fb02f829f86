#pragma once
// Latency (kong-compat.md §1.4.2, Kong 3.2+): the candidate with the lowest EWMA / weight wins,
// where EWMA is a peak-sensitive, time-decayed average of the latencies the proxy reported with
// onFinish(). Candidates are the addresses with weight > 0 that are available and not yet tried
// by the request (a retry never goes back to an address that just failed).
//
// The average, with decay time tau = ewma_decay_ms and w = exp(-(now - last sample) / tau):
//   - read at `now` it is ewma × w: it fades towards 0 while an address gets no traffic, so an
//     address that was slow is tried again after a while instead of being starved forever;
//   - a sample above the faded value replaces it at once (peak: a slowdown shows immediately);
//   - a sample below is blended: ewma × w + sample × (1 − w) (recovery is gradual).
// An address without a sample scores 0 and is preferred, so each one is measured. An address
// added by setAddresses() while others have averages starts at their mean ("slow start"), so
// it neither takes all the traffic nor waits for its turn.
//
// Scores are compared as ln(ewma / weight) + (last − epoch) / tau, which orders addresses like
// ewma × w / weight at any common `now` without an exp() per address per pick; pick() reads no
// clock. Ties (all unmeasured) are broken as least-connections does: a rotating start at
// request.random + picks so far. The clock (options.now_ms) is read by onFinish(),
// setAddresses() and latencyEwmaMs(), outside the lock. Thread-safe (one mutex).

#include "gateway/balancer/balancer.hpp"

#include <mutex>

namespace portico::balancer {

class Latency final : public Balancer {
public:
    // `decay_ms` below 1 is taken as 1. `now_ms` must be set (milliseconds, any epoch).
    Latency(double decay_ms, std::function<double()> now_ms, std::uint64_t seed = 0);

    std::string algorithm() const override { return "latency"; }
    // Keeps the average of every address whose key stays; new ones start at the mean of the
    // others' current averages (or unmeasured when none has one).
    void setAddresses(std::vector<Address> addresses) override;
    std::vector<Address> addresses() const override;
    std::optional<std::size_t> pick(const PickRequest& request,
                                    const AvailableFn& available) override;
    void onFinish(std::size_t index, double latency_ms) override;
    // One slot per address with weight > 0.
    std::vector<std::uint32_t> slots() const override;
    std::vector<std::uint32_t> activeConnections() const override;
    // The averages as read now (faded since each one's last sample); 0 when unmeasured.
    std::vector<double> latencyEwmaMs() const override;

private:
    struct State {
        double ewma = 0;        // value at `last`
        double last = 0;        // clock of the last sample
        bool measured = false;  // has a sample or a slow-start value
        double score = 0;       // ln(ewma / weight) + (last - epoch) / tau; -inf when ewma is 0
    };
    void rescore(State& state, std::uint32_t weight) const;
    double faded(const State& state, double now) const;

    double decay_ms_;
    std::function<double()> now_ms_;
    double epoch_;
    mutable std::mutex mutex_;
    std::vector<Address> addresses_;
    std::vector<State> state_;
    std::uint64_t picks_;
};

}  // namespace portico::balancer
