#pragma once
// The DNS answers of the node's target hostnames, kept fresh by their TTLs (kong-compat.md
// §1.4.2, §5.5): each name is looked up when it appears and again when its answer expires
// (TTL, at least `min_ttl_s`; a TTL of 0 every `ttl0_refresh_s`, Kong's 60 s); a failed lookup
// is retried every `retry_s` (Kong's 30 s) and the last good answer is kept meanwhile for
// `keep_stale_s` after the first failure, then dropped. A name with no answer is DNS_ERROR.
// IP literals are never looked up: they resolve to themselves at once.
//
// Pure: lookups go through an injected function (DnsResolver in production, a fake in tests)
// and time through an injected clock. Not thread-safe: use it on one thread (the control
// thread); the resolve function must deliver its results on that thread, and may do so before
// it returns.

#include "gateway/health/dns_resolver.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace portico::health {

struct NameState {
    enum class Status {
        Pending,   // first lookup in flight, no answer yet
        Resolved,  // the last lookup answered
        Stale,     // lookups fail; the last good answer is still used
        DnsError,  // no answer: never resolved, or the stale answer was dropped
    };
    Status status = Status::Pending;
    std::vector<std::string> addresses;  // sorted, no duplicates; empty when Pending or DnsError
    double ttl_s = 0;                    // of the answer in `addresses`
    double resolved_at = 0;              // when that answer arrived
    double next_lookup = 0;              // when the next lookup is due
    std::string error;                   // the last lookup's error; "" after a success
    double failing_since = 0;            // first failure since the last success (Stale, DnsError)
    bool literal = false;                // an IP literal: never looked up
};

const char* toString(NameState::Status status);  // "pending", "resolved", "stale", "DNS_ERROR"

class TargetDns {
public:
    using Done = std::function<void(ResolveResult)>;
    using ResolveFn = std::function<void(const std::string& name, Done done)>;
    // A name's status or addresses changed after a lookup or when a stale answer was dropped.
    using ChangeFn = std::function<void(const std::string& name, const NameState& state)>;

    struct Options {
        double min_ttl_s = 1;
        double max_ttl_s = 86400;
        double ttl0_refresh_s = 60;
        double retry_s = 30;
        double keep_stale_s = 300;
        double lookup_timeout_s = 60;  // a lookup with no result by then counts as failed
    };

    TargetDns(ResolveFn resolve, std::function<double()> now_s, Options options,
              ChangeFn on_change = {});
    TargetDns(ResolveFn resolve, std::function<double()> now_s);
    ~TargetDns();
    TargetDns(const TargetDns&) = delete;
    TargetDns& operator=(const TargetDns&) = delete;

    // Lookups through `resolver` (which must outlive the TargetDns).
    static ResolveFn through(DnsResolver& resolver);

    // The names to keep resolved ("api.internal", "10.0.0.1", "[::1]"); names not listed are
    // forgotten (a late result for them is ignored), new ones are looked up now. Names already
    // known keep their answers.
    void setNames(const std::vector<std::string>& names);
    // Starts the lookups that are due and drops stale answers past `keep_stale_s`. Call it when
    // nextDue() has passed, or let start() do it.
    void refresh();
    // When refresh() next has something to do; nullopt when nothing is pending.
    std::optional<double> nextDue() const;

    // Runs refresh() on a timer of `io` at nextDue(), looking at least every `max_wait`.
    // Needs a clock in seconds that advances with real time.
    void start(boost::asio::io_context& io,
               std::chrono::milliseconds max_wait = std::chrono::seconds(1));
    void stop();

    std::optional<NameState> state(const std::string& name) const;
    std::vector<std::string> names() const;

private:
    struct Entry {
        NameState state;
        bool in_flight = false;
        double lookup_started = 0;
        std::uint64_t generation = 0;
    };
    struct Timer;

    void lookup(const std::string& name);
    void onResult(const std::string& name, std::uint64_t generation, ResolveResult result);
    // Records a failed lookup; returns whether status or addresses changed.
    bool fail(Entry& entry, const std::string& error, double now);
    void arm();

    ResolveFn resolve_;
    std::function<double()> now_s_;
    Options options_;
    ChangeFn on_change_;
    std::map<std::string, Entry> entries_;
    std::uint64_t next_generation_ = 0;
    std::shared_ptr<int> alive_;  // results arriving after destruction see it expired
    std::unique_ptr<Timer> timer_;
};

}  // namespace portico::health
