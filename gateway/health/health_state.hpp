#pragma once
// Health of upstream addresses with Kong's semantics (kong-compat.md §5; lua-resty-healthcheck):
// four counters per address (success, http failures, tcp failures, timeouts) against the
// thresholds of the upstream's `healthchecks`, which event clears which counter, manual
// overrides, and a documented Portico extension: after `passive_recovery_s` an address made
// unhealthy by passive checks alone is re-admitted for one trial request (half-open).
// Pure: the clock is injected; thread-safe (reports come from every proxy worker).

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace portico::health {

// The parsed `healthchecks` record of an upstream.
struct HealthConfig {
    struct Active {
        std::string type = "http";  // http, https, tcp, grpc, grpcs
        double timeout_s = 1;
        unsigned concurrency = 10;
        std::string http_path = "/";
        std::vector<std::pair<std::string, std::string>> headers;
        double healthy_interval_s = 0;
        std::vector<int> healthy_statuses{200, 302};
        unsigned healthy_successes = 0;
        double unhealthy_interval_s = 0;
        std::vector<int> unhealthy_statuses{429, 404, 500, 501, 502, 503, 504, 505};
        unsigned unhealthy_tcp_failures = 0;
        unsigned unhealthy_timeouts = 0;
        unsigned unhealthy_http_failures = 0;
    } active;
    struct Passive {
        std::string type = "http";
        std::vector<int> healthy_statuses{200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                          300, 301, 302, 303, 304, 305, 306, 307, 308};
        unsigned healthy_successes = 0;
        std::vector<int> unhealthy_statuses{429, 500, 503};
        unsigned unhealthy_tcp_failures = 0;
        unsigned unhealthy_timeouts = 0;
        unsigned unhealthy_http_failures = 0;
    } passive;
    double threshold = 0;  // % of total weight that must be available
    // Portico extension (off by default, as Kong): seconds after which a passively tripped
    // address gets one trial request; 0 = never (Kong's behaviour: only an operator or an
    // active probe brings it back).
    double passive_recovery_s = 0;

    // Kong's "health checking in use" rule (§1.4.1): an active interval or a passive failure
    // threshold is non-zero. `passive_recovery_s` alone does not turn checks on.
    bool inUse() const;
    bool activeInUse() const {
        return active.healthy_interval_s > 0 || active.unhealthy_interval_s > 0;
    }

    // From an upstream entity's `healthchecks` object (defaults for what is missing). Every key
    // is optional; JSON null and values of the wrong type keep the default (the entity was
    // validated by common/ before it got here). `active.headers` is read in Kong 3.x's shape
    // ({"name": ["v1", "v2"]}, a plain string value also accepted) and in the library's older
    // shape (["Name: value", ...]). Keys Portico does not use (https_sni,
    // https_verify_certificate) are ignored. Never throws.
    static HealthConfig fromJson(const boost::json::object& healthchecks);
};

enum class State { Healthy, Unhealthy };

enum class Source { Active, Passive, Manual };

enum class Event {
    Success,      // a status in the healthy list, or a TCP probe that connected
    HttpFailure,  // a status in the unhealthy list, or an invalid response
    TcpFailure,   // connection or TLS failure
    Timeout,
};

struct Counters {
    unsigned success = 0;
    unsigned http_failures = 0;
    unsigned tcp_failures = 0;
    unsigned timeouts = 0;
};

struct Snapshot {
    State state = State::Healthy;
    Counters counters;
    Source last_change_source = Source::Active;
    std::string last_change_cause;  // "3 passive http failures (threshold 3)", "manual"
    double last_change_time = 0;
    std::optional<double> last_probe_time;
    std::string last_probe_result;  // "200", "timeout", "connection refused"
    std::optional<double> last_failure_time;
    std::string last_failure_cause;  // "passive: 503 from upstream", "active: timeout"
    bool half_open = false;          // extension: one trial request allowed now
};

// Kong's mapping of an HTTP status to an event (§5.2), with the active lists for
// Source::Active and the passive lists otherwise: a status in the healthy list is a Success, one
// in the unhealthy list is an HttpFailure, 0 (no or an invalid status line) is an HttpFailure,
// anything else is ignored (nullopt).
std::optional<Event> eventForStatus(const HealthConfig& config, Source source, int status);

// A state change, for the log and metrics.
struct Transition {
    std::string upstream;
    std::string address;
    State from = State::Healthy;
    State to = State::Healthy;
    std::string cause;
};

// Health of every (upstream id, address key) on this node. Addresses start healthy.
class HealthRegistry {
public:
    explicit HealthRegistry(std::function<double()> now_s);

    // Counts one event against the thresholds of `config` (active or passive set by `source`);
    // returns the transition when the state flips. `detail` describes the event for the views
    // ("200", "timeout", "connection refused", "503 from upstream"): active reports set the last
    // probe, failures the last failure ("active: timeout"), even when the counter is disabled or
    // the report agrees with the state and is dropped. A passive report while a half-open trial
    // is in flight is that trial's result: a success makes the address healthy (counters
    // zeroed), a failure restarts the cool-down.
    std::optional<Transition> report(const std::string& upstream, const std::string& address,
                                     const HealthConfig& config, Source source, Event event,
                                     const std::string& detail);
    // An active probe whose result counts as no event (a status in neither list): records the
    // last probe only.
    void recordProbe(const std::string& upstream, const std::string& address,
                     const std::string& result);
    // Manual override (PUT .../healthy|unhealthy): sets the state, zeroes the counters. Returns
    // the transition when the state changed (the cause is "manual" either way).
    std::optional<Transition> setManual(const std::string& upstream, const std::string& address,
                                        State state);
    // Whether the address may take traffic now; with the half-open extension this may admit one
    // trial request for a passively tripped address (and then wait for its result). An address
    // never reported is healthy. A trial that got no result (no passive report) within another
    // `passive_recovery_s` counts as lost and the next caller is admitted instead.
    bool available(const std::string& upstream, const std::string& address,
                   const HealthConfig& config);
    // The address's state; a default (healthy) snapshot for an address never reported.
    Snapshot snapshot(const std::string& upstream, const std::string& address) const;
    // Drops addresses no longer present in `upstream` (keep `keep`), and whole upstreams.
    void retain(const std::string& upstream, const std::vector<std::string>& keep);
    void forgetUpstream(const std::string& upstream);

private:
    struct Entry {
        Snapshot snapshot;
        bool trial_in_flight = false;
        // lua-resty-healthcheck's "mostly_healthy" / "mostly_unhealthy": the public state with
        // reports against it counted. Only a fully healthy address drops successes and only a
        // fully unhealthy one drops failures.
        bool mostly = false;
        double cooldown_start = 0;  // half-open: when the trip or the last failed trial happened
        double trial_started = 0;
        double recovery_s = 0;  // passive_recovery_s of the last config seen
    };
    bool halfOpen(const Entry& entry, double now) const;
    std::function<double()> now_s_;
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, Entry> entries_;
};

const char* toString(State state);    // "HEALTHY", "UNHEALTHY" (Kong's words)
const char* toString(Source source);  // "active", "passive", "manual"
const char* toString(Event event);    // "success", "http failure", "tcp failure", "timeout"

}  // namespace portico::health
