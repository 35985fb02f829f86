#pragma once
// What the node remembers about the requests it served: a record per request in a bounded ring
// (the live traffic feed), a structured explanation per gateway-made error (why a 502/503/504
// happened: route, service, every try), and counters/histograms for Prometheus. Written by the
// proxy workers at the end of each request (log phase), read by the Admin API on the control
// thread. Thread-safe; writers never block on readers for long (short critical sections).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace portico::proxy {

struct TrafficRecord {
    std::uint64_t sequence = 0;  // assigned by TrafficRing::push, strictly increasing
    double time = 0;             // Unix seconds when the request was received
    std::string request_id;
    std::string method;
    std::string host;
    std::string path;     // request path (no query)
    std::string route;    // route name or id; empty when none matched
    std::string service;  // service name or id; empty when none
    std::string address;  // upstream ip:port of the last try; empty when none
    int status = 0;
    bool gateway_error = false;     // the status was produced by the gateway, not the upstream
    double latency_ms = 0;          // total, receive to last byte written
    double upstream_latency_ms = 0; // waiting for the upstream's response headers (all tries)
    double proxy_latency_ms = 0;    // receive to the first byte sent upstream
    std::uint64_t bytes_in = 0;     // request body bytes
    std::uint64_t bytes_out = 0;    // response body bytes
};

// One try of a request against one upstream address.
struct TryRecord {
    std::string address;      // ip:port
    std::string error_class;  // "", "connect_refused", "connect_timeout", "write_timeout",
                              // "read_timeout", "reset", "invalid_response", "dns_error", ...
    std::string detail;       // human text (error_code message), never sent to the client
    double duration_ms = 0;
};

// Why the gateway answered a request itself with an error.
struct Explanation {
    std::string request_id;
    double time = 0;
    int status = 0;
    std::string message;     // what the client got ("The upstream server is timing out")
    std::string route_id;
    std::string route_name;
    std::string service_id;
    std::string service_name;
    std::string target;      // service host:port (or upstream name later)
    std::vector<TryRecord> tries;
    std::string summary;     // one sentence in plain words: "all 3 tries failed: ..."
    // One sentence per target or address when no address was available (why each one was not).
    std::vector<std::string> details;
};

// Filter for the feed: every set field must match.
struct TrafficFilter {
    std::optional<int> status_class;  // 2 for 2xx, 5 for 5xx, ...
    std::optional<int> status;        // an exact status code (502)
    std::string route;                // exact route name or id
    std::string service;              // exact service name or id
    std::string text;  // substring of method, host, path, request id or address (ASCII case
                       // insensitive)
    bool gateway_errors_only = false;
    bool matches(const TrafficRecord& record) const;
};

// A bounded ring of T: push() adds at the back and, once full, overwrites the oldest in place
// (no allocation per push, unlike a deque whose nodes hold one record each). at(0) is the oldest.
template <typename T>
class Ring {
public:
    explicit Ring(std::size_t capacity) : capacity_(capacity) {}
    void push(const T& item) { push(T(item)); }
    void push(T&& item) {
        if (capacity_ == 0) {
            return;
        }
        if (slots_.size() < capacity_) {
            slots_.push_back(std::move(item));
            return;
        }
        slots_[start_] = std::move(item);
        start_ = (start_ + 1) % capacity_;
    }
    std::size_t size() const { return slots_.size(); }
    const T& at(std::size_t i) const { return slots_[(start_ + i) % slots_.size()]; }

private:
    std::size_t capacity_;
    std::vector<T> slots_;
    std::size_t start_ = 0;  // index of the oldest once full
};

class TrafficRing {
public:
    explicit TrafficRing(std::size_t capacity = 10000, std::size_t explanation_capacity = 2000);

    // Records a request (assigns its sequence). Called from any worker thread.
    void push(TrafficRecord&& record);
    void push(const TrafficRecord& record) { push(TrafficRecord(record)); }
    // Keeps the explanation of a gateway-made error, by request id.
    void explain(Explanation explanation);
    // Records a request and the explanation of its gateway-made error at once: a reader sees
    // both or neither (lookup()).
    void push(TrafficRecord&& record, Explanation&& explanation);

    // Most recent records matching `filter`, newest first, at most `limit`.
    std::vector<TrafficRecord> recent(const TrafficFilter& filter, std::size_t limit) const;
    // Records with sequence > `after` matching `filter`, oldest first, at most `limit` (the
    // server-sent events stream polls this).
    std::vector<TrafficRecord> since(std::uint64_t after, const TrafficFilter& filter,
                                     std::size_t limit) const;
    std::uint64_t lastSequence() const;

    std::optional<TrafficRecord> find(const std::string& request_id) const;
    std::optional<Explanation> explanation(const std::string& request_id) const;
    // Both of the above, read at one instant.
    struct Lookup {
        std::optional<TrafficRecord> record;
        std::optional<Explanation> explanation;
    };
    Lookup lookup(const std::string& request_id) const;

private:
    // The same lookups, with mutex_ held.
    std::optional<TrafficRecord> findLocked(const std::string& request_id) const;
    std::optional<Explanation> explanationLocked(const std::string& request_id) const;
    mutable std::mutex mutex_;
    Ring<TrafficRecord> records_;
    Ring<Explanation> explanations_;
    std::uint64_t next_sequence_ = 1;
};

// Request counters and latency histograms per route, service and status class, rendered in the
// Prometheus text format. Thread-safe.
class Metrics {
public:
    // Upper bounds of the latency histogram buckets, in milliseconds; the last is +Inf.
    static constexpr std::array<double, 14> kBucketsMs = {
        1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
        std::numeric_limits<double>::infinity()};

    // Counts one finished request under {route, service, status class}. Any thread.
    void observe(const TrafficRecord& record);
    // The text exposition format (version 0.0.4): HELP and TYPE lines, then one line per series
    // sorted by route, service and status class, so the output is deterministic.
    std::string renderPrometheus() const;

private:
    struct Key {
        std::string route;
        std::string service;
        int status_class = 0;
        bool operator<(const Key& other) const;
    };
    struct Series {
        std::uint64_t count = 0;
        double latency_sum_ms = 0;
        // Per bucket, the requests whose latency falls in it (above the previous bound, up to
        // its own): one increment per request; the exposition sums them up.
        std::array<std::uint64_t, 14> buckets{};
        std::uint64_t bytes_out = 0;
    };
    mutable std::mutex mutex_;
    std::vector<std::pair<Key, Series>> series_;  // kept sorted by key
};

}  // namespace portico::proxy
