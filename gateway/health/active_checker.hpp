#pragma once
// Active health checks (kong-compat.md §5.3): every address of an upstream with active checks
// is probed on its own timer, at `active.healthy.interval` while healthy and
// `active.unhealthy.interval` while unhealthy (0 = not probed in that state), at most
// `active.concurrency` probes of one upstream at a time, each bounded by `active.timeout`.
// A probe of type `tcp` is a connect; `http` connects, sends `GET <http_path> HTTP/1.1` with the
// Host header and the configured headers, and reads the status line. Results go to
// HealthRegistry::report(Source::Active, ...) with a detail ("200", "timeout",
// "connection refused"); a status in neither list only records the probe.
//
// Not probed (logged once per update at warn): `https`, `grpc` and `grpcs` checks, which need
// TLS or gRPC support Portico's checker does not have yet. Their addresses keep the state that
// passive checks and the Admin API give them; counting them as failures would take healthy
// targets down for a missing feature.
//
// Threading: construct, update(), stop() and the views on the io_context's thread (the control
// thread); probes run there too, and `on_transition` is called there. The registry and the
// callback must outlive the checker; after stop() (or destruction) neither is touched again,
// even by probes still unwinding on the io_context.

#include "gateway/health/health_state.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace portico::health {

struct CheckerCore;  // active_checker.cpp

// One address to probe.
struct ProbeTarget {
    std::string upstream_id;    // registry key of the upstream
    std::string upstream_name;  // for logs
    HealthConfig config;        // the upstream's healthchecks
    std::string address;        // registry key of the address: "10.0.0.1:8080", "[::1]:8080"
    std::string ip;             // "10.0.0.1", "::1" (no brackets)
    std::uint16_t port = 0;
    // Host header of http probes: the upstream's host_header, else the target's hostname; empty
    // means the ip (bracketed for IPv6), as Kong.
    std::string host_header;
};

class ActiveChecker {
public:
    using TransitionHandler = std::function<void(const Transition&)>;

    ActiveChecker(boost::asio::io_context& io, HealthRegistry& registry,
                  TransitionHandler on_transition);
    ~ActiveChecker();  // stop()
    ActiveChecker(const ActiveChecker&) = delete;
    ActiveChecker& operator=(const ActiveChecker&) = delete;

    // The complete set of addresses to probe, for every upstream. Addresses whose upstream has
    // no active interval (HealthConfig::activeInUse() false) or an unsupported type are left
    // out. An address that stays (same upstream id and address key) keeps its timer and picks
    // up the new settings at its next probe (a changed interval re-arms the timer now); others
    // start (first probe one interval from now); the rest stop, their probe in flight cancelled.
    void update(std::vector<ProbeTarget> targets);
    // Cancels every timer and probe; update() after stop() is ignored.
    void stop();

    // Views, for metrics and tests.
    std::size_t addressCount() const;      // addresses with a probe timer
    std::uint64_t probesFinished() const;  // probes that produced a result, since construction
    // Most probes of one upstream seen in flight at once since construction (0 if unknown).
    unsigned peakInFlight(const std::string& upstream_id) const;

private:
    // Shared with the probe coroutines, which may outlive the checker by a few handler runs.
    std::shared_ptr<CheckerCore> core_;
};

}  // namespace portico::health
