#include "gateway/proxy/upstream_runtime.hpp"

#include "common/formats.hpp"
#include "gateway/core/logging.hpp"
#include "gateway/health/active_checker.hpp"
#include "gateway/health/dns_resolver.hpp"
#include "gateway/health/target_dns.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

namespace portico::proxy {

namespace asio = boost::asio;
namespace json = boost::json;
using balancer::Address;

namespace {

double unixNow() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

double steadyMs() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// "2025-11-26T18:20:01Z": times in explanations, read by people.
std::string isoTime(double seconds) {
    if (!(seconds > 0)) {
        return "an unknown time";
    }
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

// 50 -> "50", 12.5 -> "12.5".
std::string number(double value) {
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        return std::to_string(static_cast<long long>(value));
    }
    std::string text = std::to_string(value);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') {
        text.pop_back();
    }
    return text;
}

// A version 4 UUID: the caller's random value mixed with a per-thread generator, so that two
// workers given the same value still differ.
std::string uuid4(std::uint64_t random) {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uint64_t hi = generator() ^ random;
    std::uint64_t lo = generator() ^ (random * 0x9E3779B97F4A7C15ULL);
    hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
    char text[37];
    static constexpr char kHex[] = "0123456789abcdef";
    int pos = 0;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            text[pos++] = '-';
        }
        std::uint64_t word = i < 16 ? hi : lo;
        int shift = 60 - 4 * (i % 16);
        text[pos++] = kHex[(word >> shift) & 0xF];
    }
    text[pos] = '\0';
    return text;
}

// Kong sorts multiple values of a query argument and joins them with ','.
std::string sortedValues(std::string value) {
    if (value.find(',') == std::string::npos) {
        return value;
    }
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        auto comma = value.find(',', start);
        parts.push_back(value.substr(start, comma - start));
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    std::sort(parts.begin(), parts.end());
    std::string joined;
    for (const auto& part : parts) {
        joined += (joined.empty() ? "" : ",") + part;
    }
    return joined;
}

// Prometheus label values: backslash, double quote and newline escaped.
std::string label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// A host and port for comparisons: IPv6 expanded as Kong stores it.
std::optional<std::pair<std::string, int>> hostPort(std::string_view text, int default_port) {
    auto parsed = schema::formats::parseHostPort(text);
    if (!parsed) {
        return std::nullopt;
    }
    return std::make_pair(parsed->host, parsed->port.value_or(default_port));
}

// What the name of an address record type is in Kong's `dns` field.
std::string recordType(const std::vector<std::string>& ips) {
    bool v4 = false;
    bool v6 = false;
    for (const auto& ip : ips) {
        (ip.find(':') != std::string::npos ? v6 : v4) = true;
    }
    return v6 && !v4 ? "AAAA" : "A";
}

const char* probeResultLabel(const health::HealthConfig& config, const std::string& result) {
    // The checker's details: "connected" (tcp), a status, "invalid status line", "timeout",
    // "invalid address '...'" / "invalid http_path" (not probed), else the connection error.
    if (result == "timeout") {
        return "timeout";
    }
    if (result == "connected") {
        return "success";
    }
    if (result == "invalid status line") {
        return "http_failure";
    }
    if (result.rfind("invalid ", 0) == 0) {
        return "ignored";
    }
    int status = 0;
    bool numeric = !result.empty() && result.size() <= 3;
    for (char c : result) {
        if (c < '0' || c > '9') {
            numeric = false;
            break;
        }
        status = status * 10 + (c - '0');
    }
    if (numeric) {
        auto event = health::eventForStatus(config, health::Source::Active, status);
        if (!event) {
            return "ignored";
        }
        return *event == health::Event::Success ? "success" : "http_failure";
    }
    return "tcp_failure";
}

constexpr const char* kProbeResults[] = {"success", "http_failure", "tcp_failure", "timeout",
                                         "ignored"};

}  // namespace

// A reader-writer lock that lets a waiting writer in before new readers. With glibc's default
// (readers first) the picks of busy workers keep sync() out for seconds; here a sync waits only
// for the picks already inside. Not recursive: a reader must not take it again.
class WriterFirstLock {
public:
    WriterFirstLock() {
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&lock_, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    ~WriterFirstLock() { pthread_rwlock_destroy(&lock_); }
    WriterFirstLock(const WriterFirstLock&) = delete;
    WriterFirstLock& operator=(const WriterFirstLock&) = delete;

    void lock() { pthread_rwlock_wrlock(&lock_); }
    void unlock() { pthread_rwlock_unlock(&lock_); }
    void lock_shared() { pthread_rwlock_rdlock(&lock_); }
    void unlock_shared() { pthread_rwlock_unlock(&lock_); }

private:
    pthread_rwlock_t lock_;
};

// Per address, kept across address list updates while the address stays.
struct AddressRuntime {
    // Mirrors the registry's state so that pick() reads one atomic per address instead of the
    // registry's map; updated under UpstreamState::flag_mutex after every transition.
    std::atomic<bool> unhealthy{false};
    std::atomic<std::uint64_t> http_failures{0};
    std::atomic<std::uint64_t> tcp_failures{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::optional<double> last_probe_seen;  // control thread: probe counting
};

// The addresses of an upstream, sorted by key, with what belongs to each.
struct AddressSet {
    std::vector<Address> list;
    std::vector<std::string> keys;
    std::vector<std::shared_ptr<AddressRuntime>> runtime;
};

// What the DNS of one target gave, as of the last address update.
struct TargetDnsInfo {
    enum class Kind { Ip, Pending, Ok, Stale, Error };
    Kind kind = Kind::Pending;
    std::string error;  // Error, and Stale (the failure while the last answer is kept)
    std::vector<std::string> ips;
    double ttl_s = 0;
    double resolved_at = 0;
};

struct UpstreamState {
    std::string id;
    // spec, health, balancer and the published address set change together under the exclusive
    // lock (control thread); pick() and the reports hold the shared lock, so the balancer's
    // indices always refer to the published list.
    mutable WriterFirstLock mutex;
    config::Upstream spec;
    health::HealthConfig health;
    std::unique_ptr<balancer::Balancer> balancer;
    std::atomic<std::shared_ptr<const AddressSet>> addresses{std::make_shared<const AddressSet>()};
    std::map<std::string, TargetDnsInfo> dns;  // by target id; read by pick() explanations
    std::atomic<bool> removed{false};          // no longer configured: late reports are dropped
    std::mutex flag_mutex;
    // Control thread only.
    std::map<std::string, std::shared_ptr<AddressRuntime>> runtime;  // by address key
    std::map<std::string, std::uint64_t> probes;                     // by result label
};

struct UpstreamRuntime::Impl {
    using ByName = std::unordered_map<std::string, std::shared_ptr<UpstreamState>>;

    Impl(asio::io_context& io, const core::Settings& settings, std::function<double()> clock,
         bool injected)
        : control(io),
          passive_recovery_s(static_cast<double>(settings.upstream_passive_recovery)),
          now_s(clock),
          registry(clock),
          log(core::logger("health")),
          sampler(io) {
        if (injected) {
            now_ms = [clock] { return clock() * 1000.0; };
        } else {
            now_ms = steadyMs;
        }
        health::TargetDns::ResolveFn resolve;
        try {
            resolver = std::make_unique<health::DnsResolver>(io);
            resolve = health::TargetDns::through(*resolver);
        } catch (const std::exception& e) {
            log->error("dns resolver unavailable, target names will not resolve error=\"{}\"",
                       e.what());
            std::string error = std::string("no DNS resolver: ") + e.what();
            resolve = [error](const std::string&, health::TargetDns::Done done) {
                health::ResolveResult result;
                result.error = error;
                done(std::move(result));
            };
        }
        // TargetDns times TTLs with real time whatever clock health state uses.
        dns = std::make_unique<health::TargetDns>(
            std::move(resolve), unixNow, health::TargetDns::Options{},
            [this](const std::string& name, const health::NameState&) { onDnsChange(name); });
        dns->start(io);
        checker = std::make_unique<health::ActiveChecker>(
            io, registry, [this](const health::Transition& t) { onActiveTransition(t); });
    }

    asio::io_context& control;
    double passive_recovery_s;
    std::function<double()> now_s;
    std::function<double()> now_ms;
    health::HealthRegistry registry;
    std::shared_ptr<spdlog::logger> log;
    std::unique_ptr<health::DnsResolver> resolver;
    std::unique_ptr<health::TargetDns> dns;
    std::unique_ptr<health::ActiveChecker> checker;
    asio::steady_timer sampler;
    std::shared_ptr<int> alive = std::make_shared<int>(0);
    double sampler_period_s = 0;
    bool sampler_armed = false;
    bool stopped = false;
    std::atomic<std::shared_ptr<const ByName>> by_name{std::make_shared<const ByName>()};
    std::map<std::string, std::shared_ptr<UpstreamState>> by_id;  // control thread

    std::unique_ptr<balancer::Balancer> newBalancer(const config::Upstream& spec) const {
        balancer::BalancerOptions options;
        options.algorithm = spec.algorithm;
        options.slots = spec.slots;
        options.seed = std::hash<std::string>{}(spec.id);
        options.now_ms = now_ms;
        try {
            return balancer::makeBalancer(options);
        } catch (const std::invalid_argument& e) {
            log->error("upstream={} unusable algorithm, using round-robin error=\"{}\"", spec.name,
                       e.what());
            options.algorithm = "round-robin";
            return balancer::makeBalancer(options);
        }
    }

    // The addresses the targets of `spec` have now: IP literals directly, names through the DNS
    // cache; every resolved address its own unit, sorted by key.
    std::shared_ptr<AddressSet> buildSet(UpstreamState& state, const config::Upstream& spec,
                                         std::map<std::string, TargetDnsInfo>& dns_info) {
        std::vector<Address> list;
        for (const auto& target : spec.targets) {
            TargetDnsInfo info;
            if (auto literal = health::ipLiteral(target.host)) {
                info.kind = TargetDnsInfo::Kind::Ip;
                info.ips.push_back(*literal);
            } else if (auto name = dns ? dns->state(target.host) : std::nullopt) {
                using Status = health::NameState::Status;
                info.kind = name->status == Status::Pending    ? TargetDnsInfo::Kind::Pending
                            : name->status == Status::Resolved ? TargetDnsInfo::Kind::Ok
                            : name->status == Status::Stale    ? TargetDnsInfo::Kind::Stale
                                                               : TargetDnsInfo::Kind::Error;
                info.error = name->error;
                info.ips = name->addresses;
                info.ttl_s = name->ttl_s;
                info.resolved_at = name->resolved_at;
            }
            std::vector<std::string> ips = info.ips;
            dns_info[target.id] = std::move(info);
            for (auto& ip : ips) {
                Address address;
                address.target = target.target;
                address.target_id = target.id;
                address.ip = std::move(ip);
                address.port = target.port;
                address.weight = target.weight;
                list.push_back(std::move(address));
            }
        }
        auto set = std::make_shared<AddressSet>();
        std::vector<std::pair<std::string, std::size_t>> order;
        order.reserve(list.size());
        for (std::size_t i = 0; i < list.size(); ++i) {
            order.emplace_back(list[i].key(), i);
        }
        std::sort(order.begin(), order.end(), [&list](const auto& a, const auto& b) {
            return a.first != b.first ? a.first < b.first
                                      : list[a.second].target < list[b.second].target;
        });
        for (auto& [key, index] : order) {
            auto& runtime = state.runtime[key];
            if (!runtime) {
                runtime = std::make_shared<AddressRuntime>();
                runtime->unhealthy =
                    registry.snapshot(state.id, key).state == health::State::Unhealthy;
            }
            set->list.push_back(std::move(list[index]));
            set->keys.push_back(key);
            set->runtime.push_back(runtime);
        }
        return set;
    }

    static bool sameAddresses(const AddressSet& a, const AddressSet& b) {
        if (a.list.size() != b.list.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.list.size(); ++i) {
            const Address& x = a.list[i];
            const Address& y = b.list[i];
            if (a.keys[i] != b.keys[i] || x.weight != y.weight || x.target != y.target ||
                x.target_id != y.target_id) {
                return false;
            }
        }
        return true;
    }

    // Takes `spec` (a copy: it may be the state's own) for `state`: health settings, balancer
    // (re-created only when the algorithm or the slots change), addresses.
    void adopt(UpstreamState& state, config::Upstream spec) {
        health::HealthConfig health = health::HealthConfig::fromJson(spec.healthchecks);
        health.passive_recovery_s = passive_recovery_s;
        std::map<std::string, TargetDnsInfo> dns_info;
        auto set = buildSet(state, spec, dns_info);
        auto current = state.addresses.load();
        const bool rebuild = !state.balancer || state.spec.algorithm != spec.algorithm ||
                             state.spec.slots != spec.slots;
        const bool same = !rebuild && sameAddresses(*current, *set);
        std::unique_ptr<balancer::Balancer> fresh;
        // Consistent hashing builds its continuum in setAddresses (milliseconds for large
        // upstreams) and keeps nothing else, so a new instance built outside the lock has the
        // same layout without holding up picks.
        if (rebuild || (!same && spec.algorithm == "consistent-hashing")) {
            fresh = newBalancer(spec);
            fresh->setAddresses(set->list);
        }
        {
            std::unique_lock lock(state.mutex);
            state.spec = std::move(spec);
            state.health = health;
            state.dns = std::move(dns_info);
            if (fresh) {
                state.balancer = std::move(fresh);
            } else if (!same) {
                state.balancer->setAddresses(set->list);
            }
            if (!same) {
                state.addresses.store(set);
            }
        }
        // Forget what left.
        std::vector<std::string> keep = set->keys;
        for (auto it = state.runtime.begin(); it != state.runtime.end();) {
            it = std::binary_search(set->keys.begin(), set->keys.end(), it->first)
                     ? std::next(it)
                     : state.runtime.erase(it);
        }
        registry.retain(state.id, keep);
    }

    void onDnsChange(const std::string& name) {
        if (stopped) {
            return;
        }
        bool changed = false;
        for (auto& [id, state] : by_id) {
            bool uses = false;
            for (const auto& target : state->spec.targets) {
                uses = uses || target.host == name;
            }
            if (uses) {
                adopt(*state, state->spec);
                changed = true;
            }
        }
        if (changed) {
            updateChecker();
        }
    }

    void updateChecker() {
        if (!checker || stopped) {
            return;
        }
        std::vector<health::ProbeTarget> targets;
        for (auto& [id, state] : by_id) {
            if (!state->health.activeInUse()) {
                continue;
            }
            auto set = state->addresses.load();
            for (std::size_t i = 0; i < set->list.size(); ++i) {
                const Address& address = set->list[i];
                if (address.weight == 0) {
                    continue;  // takes no traffic: nothing to decide
                }
                health::ProbeTarget probe;
                probe.upstream_id = state->id;
                probe.upstream_name = state->spec.name;
                probe.config = state->health;
                probe.address = set->keys[i];
                probe.ip = address.ip;
                probe.port = address.port;
                if (!state->spec.host_header.empty()) {
                    probe.host_header = state->spec.host_header;
                } else {
                    for (const auto& target : state->spec.targets) {
                        if (target.id == address.target_id && !health::ipLiteral(target.host)) {
                            probe.host_header = target.host;
                        }
                    }
                }
                targets.push_back(std::move(probe));
            }
        }
        checker->update(std::move(targets));
    }

    // After the registry reported a transition for `address`: the mirror follows the registry
    // (read again under the flag lock, so that concurrent transitions settle on the last state)
    // and the change is logged.
    void applyTransition(UpstreamState& state, const std::string& upstream_name,
                         AddressRuntime* runtime, const health::Transition& transition) {
        health::Snapshot snapshot;
        {
            std::lock_guard lock(state.flag_mutex);
            snapshot = registry.snapshot(state.id, transition.address);
            if (runtime != nullptr) {
                runtime->unhealthy.store(snapshot.state == health::State::Unhealthy);
            }
        }
        const char* source = health::toString(snapshot.last_change_source);
        if (transition.to == health::State::Unhealthy) {
            log->warn("address unhealthy upstream={} address={} source={} cause=\"{}\"",
                      upstream_name, transition.address, source, transition.cause);
        } else {
            log->info("address healthy upstream={} address={} source={} cause=\"{}\"",
                      upstream_name, transition.address, source, transition.cause);
        }
    }

    void onActiveTransition(const health::Transition& transition) {
        auto it = by_id.find(transition.upstream);
        if (it == by_id.end()) {
            return;
        }
        UpstreamState& state = *it->second;
        auto runtime = state.runtime.find(transition.address);
        applyTransition(state, state.spec.name,
                        runtime == state.runtime.end() ? nullptr : runtime->second.get(),
                        transition);
    }

    // Probes are counted by watching each address's last probe time: the checker probes one
    // address at most once per interval, and this looks twice per shortest interval.
    void armSampler() {
        double shortest = 0;
        for (auto& [id, state] : by_id) {
            if (!state->health.activeInUse()) {
                continue;
            }
            for (double interval : {state->health.active.healthy_interval_s,
                                    state->health.active.unhealthy_interval_s}) {
                if (interval > 0 && (shortest == 0 || interval < shortest)) {
                    shortest = interval;
                }
            }
        }
        sampler_period_s = shortest > 0 ? std::clamp(shortest / 2, 0.05, 1.0) : 0;
        if (sampler_period_s > 0 && !sampler_armed && !stopped) {
            sampler_armed = true;
            scheduleSample();
        }
    }

    void scheduleSample() {
        sampler.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(sampler_period_s)));
        std::weak_ptr<int> token = alive;
        sampler.async_wait([this, token](const boost::system::error_code& ec) {
            if (ec || token.expired()) {
                return;  // cancelled, or the runtime is gone
            }
            sample();
            if (sampler_period_s > 0 && !stopped) {
                scheduleSample();
            } else {
                sampler_armed = false;
            }
        });
    }

    void sample() {
        for (auto& [id, state] : by_id) {
            if (!state->health.activeInUse()) {
                continue;
            }
            for (auto& [key, runtime] : state->runtime) {
                auto snapshot = registry.snapshot(state->id, key);
                if (!snapshot.last_probe_time || snapshot.last_probe_result == "cancelled" ||
                    runtime->last_probe_seen == snapshot.last_probe_time) {
                    continue;
                }
                runtime->last_probe_seen = snapshot.last_probe_time;
                ++state->probes[probeResultLabel(state->health, snapshot.last_probe_result)];
            }
        }
    }

    std::shared_ptr<UpstreamState> find(const std::string& upstream) const {
        if (auto it = by_id.find(upstream); it != by_id.end()) {
            return it->second;
        }
        for (const auto& [id, state] : by_id) {
            if (state->spec.name == upstream) {
                return state;
            }
        }
        return nullptr;
    }

    // The index of a picked address in the current list (the list may have changed since the
    // pick); nullopt when the address is gone. Caller holds the shared lock.
    static std::optional<std::size_t> currentIndex(const UpstreamState& state, const Pick& pick,
                                                   std::shared_ptr<const AddressSet>& set) {
        set = state.addresses.load();
        if (!pick.index || !pick.addresses) {
            return std::nullopt;
        }
        if (pick.addresses.get() == &set->list) {
            return *pick.index < set->list.size() ? pick.index : std::nullopt;
        }
        const Address* address = pick.address();
        if (address == nullptr) {
            return std::nullopt;
        }
        std::string key = address->key();
        auto it = std::lower_bound(set->keys.begin(), set->keys.end(), key);
        for (; it != set->keys.end() && *it == key; ++it) {
            auto i = static_cast<std::size_t>(it - set->keys.begin());
            if (set->list[i].target_id == address->target_id) {
                return i;
            }
        }
        return std::nullopt;
    }

    // One passive report for the address of `pick`.
    void passive(const Pick& pick, std::optional<health::Event> event, const std::string& detail,
                 double latency_ms) {
        if (!pick.upstream) {
            return;
        }
        UpstreamState& state = *pick.upstream;
        std::shared_lock lock(state.mutex);
        std::shared_ptr<const AddressSet> set;
        auto index = currentIndex(state, pick, set);
        if (!index) {
            return;
        }
        if (state.balancer) {
            state.balancer->onFinish(*index, latency_ms);
        }
        if (!event || state.removed.load(std::memory_order_relaxed)) {
            return;
        }
        AddressRuntime& runtime = *set->runtime[*index];
        switch (*event) {
            case health::Event::Success:
                // With passive.healthy.successes 0 a success changes nothing for a healthy
                // address: skip the registry (one mutex shared by every worker).
                if (state.health.passive.healthy_successes == 0 &&
                    !runtime.unhealthy.load(std::memory_order_relaxed)) {
                    return;
                }
                break;
            case health::Event::HttpFailure:
                runtime.http_failures.fetch_add(1, std::memory_order_relaxed);
                break;
            case health::Event::TcpFailure:
                runtime.tcp_failures.fetch_add(1, std::memory_order_relaxed);
                break;
            case health::Event::Timeout:
                runtime.timeouts.fetch_add(1, std::memory_order_relaxed);
                break;
        }
        auto transition = registry.report(state.id, set->keys[*index], state.health,
                                          health::Source::Passive, *event, detail);
        if (transition) {
            applyTransition(state, state.spec.name, &runtime, *transition);
        }
    }

    // Why the address at `i` takes no traffic now, in one sentence; empty when it could.
    std::string whyUnavailable(const UpstreamState& state, const AddressSet& set, std::size_t i,
                               const std::vector<std::size_t>& tried) const {
        const Address& address = set.list[i];
        const std::string& key = set.keys[i];
        std::string who = key == address.target ? "target " + address.target
                                                : "address " + key + " of target " + address.target;
        if (address.weight == 0) {
            return who + " has weight 0: it is kept in the balancer but receives no traffic";
        }
        if (set.runtime[i]->unhealthy.load()) {
            auto s = registry.snapshot(state.id, key);
            if (s.state == health::State::Unhealthy) {
                switch (s.last_change_source) {
                    case health::Source::Manual:
                        return who + " was marked unhealthy through the Admin API at " +
                               isoTime(s.last_change_time);
                    case health::Source::Active: {
                        std::string text = who + " is unhealthy by active health checks since " +
                                           isoTime(s.last_change_time) + ": " + s.last_change_cause;
                        if (!s.last_probe_result.empty()) {
                            text += "; last probe: " + s.last_probe_result;
                        }
                        return text;
                    }
                    case health::Source::Passive: {
                        std::string text = who + " is unhealthy by passive health checks since " +
                                           isoTime(s.last_change_time) + ": " + s.last_change_cause;
                        if (!s.last_failure_cause.empty()) {
                            text += "; last failure: " + s.last_failure_cause;
                        }
                        if (state.health.passive_recovery_s > 0) {
                            text += s.half_open
                                        ? "; a half-open trial request is allowed or in flight"
                                        : "; it gets a trial request " +
                                              number(state.health.passive_recovery_s) +
                                              " s after it failed (upstream_passive_recovery)";
                        } else if (state.health.activeInUse()) {
                            text += "; active probes can bring it back";
                        } else {
                            text += "; without active checks only PUT .../healthy brings it back";
                        }
                        return text;
                    }
                }
            }
        }
        if (balancer::wasTried(balancer::PickRequest{{}, &tried, 0}, i)) {
            return who + " failed earlier in this request";
        }
        return {};
    }

    // Fills `pick.reasons` with one sentence per target and address that could not take the
    // request, and returns counts for the summary.
    struct Counts {
        std::size_t unhealthy = 0;
        std::size_t tried = 0;
        std::size_t weight0 = 0;
        std::size_t dns_error = 0;
        std::size_t pending = 0;
    };

    Counts explain(const UpstreamState& state, const AddressSet& set,
                   const std::vector<std::size_t>& tried, bool upstream_unhealthy,
                   std::vector<std::string>& reasons) const {
        Counts counts;
        for (const auto& target : state.spec.targets) {
            bool any = false;
            for (std::size_t i = 0; i < set.list.size(); ++i) {
                if (set.list[i].target_id != target.id) {
                    continue;
                }
                any = true;
                if (target.weight == 0) {
                    continue;  // one sentence for the target below
                }
                auto why = whyUnavailable(state, set, i, tried);
                if (why.empty()) {
                    if (upstream_unhealthy) {
                        std::string who =
                            set.keys[i] == target.target
                                ? "target " + target.target
                                : "address " + set.keys[i] + " of target " + target.target;
                        reasons.push_back(who + " is healthy, but the upstream as a whole is not");
                    }
                    continue;
                }
                if (set.runtime[i]->unhealthy.load()) {
                    ++counts.unhealthy;
                } else {
                    ++counts.tried;
                }
                reasons.push_back(std::move(why));
            }
            if (target.weight == 0) {
                ++counts.weight0;
                reasons.push_back("target " + target.target +
                                  " has weight 0: it is kept but receives no traffic");
                continue;
            }
            if (any) {
                continue;
            }
            auto info = state.dns.find(target.id);
            if (info == state.dns.end() || info->second.kind == TargetDnsInfo::Kind::Pending) {
                ++counts.pending;
                reasons.push_back("target " + target.target +
                                  " has no address yet: its name is still being resolved");
            } else {
                ++counts.dns_error;
                reasons.push_back(
                    "target " + target.target + " has no address: DNS resolution of '" +
                    target.host + "' failed: " +
                    (info->second.error.empty() ? std::string("no address in the answer")
                                                : info->second.error));
            }
        }
        return counts;
    }

    static std::string countsText(const Counts& c) {
        std::vector<std::string> parts;
        auto add = [&parts](std::size_t n, const char* one, const char* many) {
            if (n > 0) {
                parts.push_back(std::to_string(n) + " " + (n == 1 ? one : many));
            }
        };
        add(c.unhealthy, "address unhealthy", "addresses unhealthy");
        add(c.tried, "address failed earlier in this request",
            "addresses failed earlier in this request");
        add(c.weight0, "target with weight 0", "targets with weight 0");
        add(c.dns_error, "target whose name did not resolve",
            "targets whose names did not resolve");
        add(c.pending, "target still being resolved", "targets still being resolved");
        std::string text;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            text += (i == 0 ? "" : ", ") + parts[i];
        }
        return text;
    }

    // Kong's weights (§5.4): total of every address, unavailable = unhealthy ones with weight.
    struct Weights {
        std::uint64_t total = 0;
        std::uint64_t unavailable = 0;
        std::uint64_t available() const { return total - unavailable; }
    };

    static bool healthyBy(const Weights& w, double threshold) {
        return w.total > 0 &&
               static_cast<double>(w.available()) * 100.0 / static_cast<double>(w.total) >
                   threshold;
    }

    // From the registry (views, control thread).
    Weights weightsOf(const UpstreamState& state, const AddressSet& set) const {
        Weights w;
        for (std::size_t i = 0; i < set.list.size(); ++i) {
            w.total += set.list[i].weight;
            if (set.list[i].weight > 0 &&
                registry.snapshot(state.id, set.keys[i]).state == health::State::Unhealthy) {
                w.unavailable += set.list[i].weight;
            }
        }
        return w;
    }
};

UpstreamRuntime::UpstreamRuntime(asio::io_context& control, const core::Settings& settings)
    : impl_(std::make_unique<Impl>(control, settings, unixNow, false)) {}

UpstreamRuntime::UpstreamRuntime(asio::io_context& control, const core::Settings& settings,
                                 std::function<double()> now_s)
    : impl_(std::make_unique<Impl>(control, settings, std::move(now_s), true)) {}

UpstreamRuntime::~UpstreamRuntime() {
    stop();
}

void UpstreamRuntime::stop() {
    auto& d = *impl_;
    if (d.stopped) {
        return;
    }
    d.stopped = true;
    d.sampler_period_s = 0;
    d.sampler.cancel();
    if (d.checker) {
        d.checker->stop();
    }
    if (d.dns) {
        d.dns->stop();
    }
    if (d.resolver) {
        d.resolver->stop();
    }
}

void UpstreamRuntime::sync(const std::shared_ptr<const config::ConfigSnapshot>& snapshot) {
    auto& d = *impl_;
    if (d.stopped || !snapshot) {
        return;
    }
    // Names first, so that a name already known has its answer when the addresses are built.
    std::vector<std::string> names;
    for (const auto& [name, spec] : snapshot->upstreams) {
        for (const auto& target : spec.targets) {
            if (!health::ipLiteral(target.host)) {
                names.push_back(target.host);
            }
        }
    }
    std::map<std::string, std::shared_ptr<UpstreamState>> next;
    auto by_name = std::make_shared<Impl::ByName>();
    for (const auto& [name, spec] : snapshot->upstreams) {
        auto it = d.by_id.find(spec.id);
        auto state = it != d.by_id.end() ? it->second : std::make_shared<UpstreamState>();
        state->id = spec.id;
        d.adopt(*state, spec);
        next[spec.id] = state;
        (*by_name)[spec.name] = state;
    }
    for (auto& [id, state] : d.by_id) {
        if (next.find(id) == next.end()) {
            state->removed = true;
            d.registry.forgetUpstream(id);
        }
    }
    d.by_id = std::move(next);
    d.by_name.store(std::move(by_name));
    // New names are looked up now; answers arrive later through onDnsChange.
    if (d.dns) {
        d.dns->setNames(names);
    }
    d.updateChecker();
    d.armSampler();
}

Pick UpstreamRuntime::pick(const config::Upstream& upstream, const HashInputs& inputs,
                           const std::vector<std::size_t>& tried, std::uint64_t random) {
    auto& d = *impl_;
    Pick result;
    auto map = d.by_name.load();
    auto found = map->find(upstream.name);
    if (found == map->end()) {
        result.summary = "upstream '" + upstream.name +
                         "' is not set up on this node yet: its configuration is still being "
                         "applied";
        result.reasons.push_back(result.summary);
        return result;
    }
    result.upstream = found->second;
    UpstreamState& state = *found->second;
    std::shared_lock lock(state.mutex);
    auto set = state.addresses.load();
    result.addresses = std::shared_ptr<const std::vector<Address>>(set, &set->list);
    const std::size_t n = set->list.size();
    const auto& health = state.health;
    const config::Upstream& spec = state.spec;
    balancer::PickRequest request;
    request.tried = &tried;
    request.random = random;

    // Portico's half-open extension: a passively tripped address past its cool-down gets one
    // trial request before anything else, even when the upstream as a whole is unhealthy (else
    // an upstream whose addresses all tripped could never recover by itself).
    if (health.passive_recovery_s > 0) {
        for (std::size_t i = 0; i < n; ++i) {
            if (set->list[i].weight > 0 && set->runtime[i]->unhealthy.load() &&
                !balancer::wasTried(request, i) &&
                d.registry.available(state.id, set->keys[i], health)) {
                result.index = i;
                return result;
            }
        }
    }

    Impl::Weights weights;
    for (std::size_t i = 0; i < n; ++i) {
        weights.total += set->list[i].weight;
        if (set->list[i].weight > 0 && set->runtime[i]->unhealthy.load(std::memory_order_relaxed)) {
            weights.unavailable += set->list[i].weight;
        }
    }
    if (!Impl::healthyBy(weights, health.threshold)) {
        bool threshold_rule = weights.total > 0 && weights.available() > 0;
        auto counts = d.explain(state, *set, tried, threshold_rule, result.reasons);
        if (spec.targets.empty()) {
            result.summary = "upstream '" + spec.name + "' has no targets";
        } else if (weights.total == 0) {
            result.summary = "upstream '" + spec.name +
                             "' has no address that can take traffic: " + Impl::countsText(counts);
        } else if (!threshold_rule) {
            result.summary = "no address of upstream '" + spec.name +
                             "' is available: " + Impl::countsText(counts);
        } else {
            auto percent =
                static_cast<std::uint64_t>(std::floor(static_cast<double>(weights.available()) *
                                                      100.0 / static_cast<double>(weights.total)));
            result.summary =
                "upstream '" + spec.name + "' is unhealthy: " + std::to_string(percent) +
                "% of its weight is available, threshold " + number(health.threshold) + "%";
        }
        return result;
    }

    std::string key;
    if (spec.algorithm == "consistent-hashing") {
        auto value = [&](const std::string& kind, const std::string& header,
                         const std::string& query_arg, const std::string& capture) -> std::string {
            if (kind == "consumer") {
                return inputs.consumer_id;
            }
            if (kind == "ip") {
                return inputs.client_ip;
            }
            if (kind == "header") {
                return inputs.header ? inputs.header(header) : std::string();
            }
            if (kind == "cookie") {
                std::string cookie = inputs.cookie ? inputs.cookie(spec.hash_on_cookie) : "";
                if (cookie.empty()) {
                    // Kong: a client without the cookie gets one, so its next requests stick.
                    cookie = uuid4(random);
                    result.set_cookie =
                        spec.hash_on_cookie + "=" + cookie + "; Path=" +
                        (spec.hash_on_cookie_path.empty() ? std::string("/")
                                                          : spec.hash_on_cookie_path) +
                        "; SameSite=Lax; HttpOnly";
                }
                return cookie;
            }
            if (kind == "path") {
                return inputs.path;
            }
            if (kind == "query_arg") {
                return inputs.query_arg ? sortedValues(inputs.query_arg(query_arg)) : std::string();
            }
            if (kind == "uri_capture") {
                if (inputs.uri_captures != nullptr) {
                    auto it = inputs.uri_captures->find(capture);
                    if (it != inputs.uri_captures->end()) {
                        return it->second;
                    }
                }
                return {};
            }
            return {};
        };
        key = value(spec.hash_on, spec.hash_on_header, spec.hash_on_query_arg,
                    spec.hash_on_uri_capture);
        if (key.empty() && spec.hash_fallback != "none") {
            key = value(spec.hash_fallback, spec.hash_fallback_header, spec.hash_fallback_query_arg,
                        spec.hash_fallback_uri_capture);
        }
        request.hash_key = key;
    }

    std::optional<std::size_t> index;
    if (state.balancer) {
        index = state.balancer->pick(request, [&set, n](std::size_t i) {
            return i < n && !set->runtime[i]->unhealthy.load(std::memory_order_relaxed);
        });
    }
    if (index && *index < n) {
        result.index = index;
        return result;
    }
    auto counts = d.explain(state, *set, tried, false, result.reasons);
    if (spec.targets.empty()) {
        result.summary = "upstream '" + spec.name + "' has no targets";
    } else {
        result.summary =
            "no address of upstream '" + spec.name + "' is available: " + Impl::countsText(counts);
    }
    result.set_cookie.clear();
    return result;
}

void UpstreamRuntime::reportStart(const Pick& pick) {
    if (!pick.upstream) {
        return;
    }
    UpstreamState& state = *pick.upstream;
    std::shared_lock lock(state.mutex);
    std::shared_ptr<const AddressSet> set;
    if (auto index = Impl::currentIndex(state, pick, set); index && state.balancer) {
        state.balancer->onStart(*index);
    }
}

void UpstreamRuntime::reportConnectFailure(const Pick& pick, bool timeout,
                                           const std::string& detail) {
    // §5.3: a try that failed to connect (or timed out) counts as a TCP failure or a timeout.
    impl_->passive(pick, timeout ? health::Event::Timeout : health::Event::TcpFailure,
                   detail.empty()
                       ? (timeout ? std::string("timeout") : std::string("connection failed"))
                       : detail,
                   -1);
}

void UpstreamRuntime::reportAbandoned(const Pick& pick) {
    impl_->passive(pick, std::nullopt, {}, -1);
}

void UpstreamRuntime::reportStatus(const Pick& pick, int status, double latency_ms) {
    std::optional<health::Event> event;
    std::string detail;
    if (pick.upstream) {
        if (status == 504) {
            // §5.3: Kong reports an upstream 504 as a timeout.
            event = health::Event::Timeout;
            detail = "504 from upstream (counted as a timeout)";
        } else {
            std::shared_lock lock(pick.upstream->mutex);
            event = health::eventForStatus(pick.upstream->health, health::Source::Passive, status);
            detail = std::to_string(status) + " from upstream";
        }
    }
    impl_->passive(pick, event, detail, latency_ms);
}

std::optional<json::object> UpstreamRuntime::healthView(const std::string& upstream,
                                                        bool balancer_health,
                                                        const std::string& node_id) const {
    auto& d = *impl_;
    auto state = d.find(upstream);
    if (!state) {
        return std::nullopt;
    }
    auto set = state->addresses.load();
    const bool in_use = state->health.inUse();
    json::array hosts;  // balancer_health details: per target, Kong's getTargetStatus shape
    json::array items;  // target level
    for (const auto& target : state->spec.targets) {
        // Kong's `dns`: the record type of the answer, or the error.
        std::string dns_field = "unknown";
        if (auto info = state->dns.find(target.id); info != state->dns.end()) {
            switch (info->second.kind) {
                case TargetDnsInfo::Kind::Ip:
                case TargetDnsInfo::Kind::Ok:
                case TargetDnsInfo::Kind::Stale:
                    dns_field = recordType(info->second.ips);
                    break;
                case TargetDnsInfo::Kind::Error:
                    dns_field =
                        info->second.error.empty() ? "dns server error" : info->second.error;
                    break;
                case TargetDnsInfo::Kind::Pending:
                    break;
            }
        }
        json::array addresses;
        json::array detail_addresses;
        std::uint64_t total = 0;
        std::uint64_t unavailable = 0;
        std::string target_health;
        for (std::size_t i = 0; i < set->list.size(); ++i) {
            const Address& address = set->list[i];
            if (address.target_id != target.id) {
                continue;
            }
            bool unhealthy =
                d.registry.snapshot(state->id, set->keys[i]).state == health::State::Unhealthy;
            total += address.weight;
            if (unhealthy && address.weight > 0) {
                unavailable += address.weight;
            }
            // Manual overrides apply even when checks are not in use (each Kong 3.x balancer
            // has a checker): an address set unhealthy shows UNHEALTHY then.
            const char* text = address.weight == 0 ? "HEALTHCHECKS_OFF"
                               : unhealthy         ? "UNHEALTHY"
                               : in_use            ? "HEALTHY"
                                                   : "HEALTHCHECKS_OFF";
            if (std::string_view(text) == "HEALTHY") {
                target_health = "HEALTHY";
            } else if (std::string_view(text) == "UNHEALTHY" && target_health != "HEALTHY") {
                target_health = "UNHEALTHY";
            }
            addresses.push_back(json::object{{"ip", address.ip},
                                             {"port", address.port},
                                             {"weight", address.weight},
                                             {"health", text}});
            detail_addresses.push_back(json::object{{"ip", address.ip},
                                                    {"port", address.port},
                                                    {"weight", address.weight},
                                                    {"healthy", !unhealthy}});
        }
        if (addresses.empty()) {
            target_health = "DNS_ERROR";
        } else if (target_health.empty()) {
            target_health = "HEALTHCHECKS_OFF";
        }
        json::object weight{
            {"total", total}, {"available", total - unavailable}, {"unavailable", unavailable}};
        json::object data{{"host", target.host}, {"port", target.port},
                          {"dns", dns_field},    {"nodeWeight", target.weight},
                          {"weight", weight},    {"addresses", std::move(addresses)}};
        hosts.push_back(json::object{{"host", target.host},
                                     {"port", target.port},
                                     {"dns", dns_field},
                                     {"nodeWeight", target.weight},
                                     {"weight", weight},
                                     {"addresses", std::move(detail_addresses)}});
        items.push_back(json::object{{"id", target.id},
                                     {"target", target.target},
                                     {"weight", target.weight},
                                     {"upstream", json::object{{"id", state->id}}},
                                     {"health", target_health},
                                     {"data", std::move(data)}});
    }
    if (!balancer_health) {
        return json::object{{"data", std::move(items)}, {"next", nullptr}, {"node_id", node_id}};
    }
    auto weights = d.weightsOf(*state, *set);
    const bool healthy = Impl::healthyBy(weights, state->health.threshold);
    json::object details{{"healthy", healthy},
                         {"weight", json::object{{"total", weights.total},
                                                 {"available", weights.available()},
                                                 {"unavailable", weights.unavailable}}},
                         {"hosts", std::move(hosts)}};
    json::object data{{"id", state->id},
                      {"health", !in_use   ? "HEALTHCHECKS_OFF"
                                 : healthy ? "HEALTHY"
                                           : "UNHEALTHY"},
                      {"balancer_health", healthy ? "HEALTHY" : "UNHEALTHY"},
                      {"details", std::move(details)}};
    return json::object{{"data", std::move(data)}, {"next", nullptr}, {"node_id", node_id}};
}

std::optional<json::object> UpstreamRuntime::balancerView(const std::string& upstream) const {
    auto& d = *impl_;
    auto state = d.find(upstream);
    if (!state) {
        return std::nullopt;
    }
    std::vector<std::uint32_t> slots;
    std::vector<std::uint32_t> connections;
    std::vector<double> latency;
    std::shared_ptr<const AddressSet> set;
    std::string algorithm;
    {
        std::shared_lock lock(state->mutex);
        set = state->addresses.load();
        if (state->balancer) {
            algorithm = state->balancer->algorithm();
            slots = state->balancer->slots();
            connections = state->balancer->activeConnections();
            latency = state->balancer->latencyEwmaMs();
        }
    }
    const auto& hc = state->health;
    auto weights = d.weightsOf(*state, *set);
    std::uint64_t slots_total = 0;

    json::array addresses;
    for (std::size_t i = 0; i < set->list.size(); ++i) {
        const Address& address = set->list[i];
        auto s = d.registry.snapshot(state->id, set->keys[i]);
        const AddressRuntime& runtime = *set->runtime[i];
        std::uint32_t address_slots = i < slots.size() ? slots[i] : 0;
        slots_total += address_slots;
        const char* st = address.weight == 0                   ? "disabled"
                         : s.state == health::State::Unhealthy ? "unhealthy"
                                                               : "healthy";
        json::value last_probe = nullptr;
        if (s.last_probe_time) {
            last_probe =
                json::object{{"time", *s.last_probe_time}, {"result", s.last_probe_result}};
        }
        json::value last_failure = nullptr;
        if (s.last_failure_time) {
            last_failure =
                json::object{{"time", *s.last_failure_time}, {"cause", s.last_failure_cause}};
        }
        json::value last_change = nullptr;
        if (s.last_change_time > 0) {
            last_change = json::object{{"time", s.last_change_time},
                                       {"source", health::toString(s.last_change_source)},
                                       {"cause", s.last_change_cause}};
        }
        addresses.push_back(json::object{
            {"key", set->keys[i]},
            {"ip", address.ip},
            {"port", address.port},
            {"target", address.target},
            {"target_id", address.target_id},
            {"weight", address.weight},
            {"slots", address_slots},
            {"state", st},
            {"counters", json::object{{"success", s.counters.success},
                                      {"http_failures", s.counters.http_failures},
                                      {"tcp_failures", s.counters.tcp_failures},
                                      {"timeouts", s.counters.timeouts}}},
            {"thresholds",
             json::object{
                 {"active", json::object{{"successes", hc.active.healthy_successes},
                                         {"http_failures", hc.active.unhealthy_http_failures},
                                         {"tcp_failures", hc.active.unhealthy_tcp_failures},
                                         {"timeouts", hc.active.unhealthy_timeouts}}},
                 {"passive", json::object{{"successes", hc.passive.healthy_successes},
                                          {"http_failures", hc.passive.unhealthy_http_failures},
                                          {"tcp_failures", hc.passive.unhealthy_tcp_failures},
                                          {"timeouts", hc.passive.unhealthy_timeouts}}}}},
            {"passive_failures_total", json::object{{"http", runtime.http_failures.load()},
                                                    {"tcp", runtime.tcp_failures.load()},
                                                    {"timeout", runtime.timeouts.load()}}},
            {"last_probe", last_probe},
            {"last_failure", last_failure},
            {"last_change", last_change},
            {"half_open", s.half_open},
            {"active_connections", i < connections.size() ? connections[i] : 0},
            {"latency_ewma_ms", i < latency.size() ? latency[i] : 0.0},
        });
    }

    json::array targets;
    for (const auto& target : state->spec.targets) {
        std::size_t count = 0;
        for (const auto& address : set->list) {
            count += address.target_id == target.id ? 1 : 0;
        }
        json::object dns{{"status", "pending"}};
        if (auto info = state->dns.find(target.id); info != state->dns.end()) {
            const TargetDnsInfo& t = info->second;
            switch (t.kind) {
                case TargetDnsInfo::Kind::Ip:
                    dns = json::object{{"status", "ip"}};
                    break;
                case TargetDnsInfo::Kind::Pending:
                    break;
                case TargetDnsInfo::Kind::Error:
                    dns = json::object{{"status", "error"}, {"error", t.error}};
                    break;
                case TargetDnsInfo::Kind::Ok:
                case TargetDnsInfo::Kind::Stale:
                    dns = json::object{{"status", "ok"},
                                       {"stale", t.kind == TargetDnsInfo::Kind::Stale},
                                       {"ttl_s", t.ttl_s},
                                       {"resolved_at", t.resolved_at}};
                    if (!t.error.empty()) {
                        dns["error"] = t.error;
                    }
                    break;
            }
        }
        targets.push_back(json::object{{"id", target.id},
                                       {"target", target.target},
                                       {"weight", target.weight},
                                       {"address_count", count},
                                       {"dns", std::move(dns)}});
    }

    const bool healthy = Impl::healthyBy(weights, hc.threshold);
    return json::object{
        {"id", state->id},
        {"name", state->spec.name},
        {"algorithm", algorithm.empty() ? state->spec.algorithm : algorithm},
        {"slots", state->spec.slots},
        {"slots_total", slots_total},
        {"healthchecks_in_use", hc.inUse()},
        {"active_checks", hc.activeInUse()},
        {"threshold", hc.threshold},
        {"passive_recovery_s", hc.passive_recovery_s},
        {"health", healthy ? "HEALTHY" : "UNHEALTHY"},
        {"weight", json::object{{"total", weights.total},
                                {"available", weights.available()},
                                {"unavailable", weights.unavailable}}},
        {"targets", std::move(targets)},
        {"addresses", std::move(addresses)},
    };
}

std::string UpstreamRuntime::setHealth(const std::string& upstream, const std::string& target,
                                       const std::string& address, bool healthy) {
    auto& d = *impl_;
    static const std::string kNotFound = "Not found";
    auto state = d.find(upstream);
    if (!state) {
        return kNotFound;
    }
    const config::Target* found = nullptr;
    auto wanted = schema::formats::normalizeTarget(target);
    for (const auto& t : state->spec.targets) {
        if (t.id == target) {
            found = &t;
            break;
        }
        if (wanted &&
            (t.target == *wanted || schema::formats::normalizeTarget(t.target) == wanted)) {
            found = &t;
        }
    }
    if (found == nullptr) {
        return kNotFound;
    }
    auto set = state->addresses.load();
    std::vector<std::size_t> chosen;
    std::optional<std::pair<std::string, int>> want_address;
    if (!address.empty()) {
        want_address = hostPort(address, found->port);
        if (!want_address) {
            return kNotFound;
        }
    }
    for (std::size_t i = 0; i < set->list.size(); ++i) {
        if (set->list[i].target_id != found->id) {
            continue;
        }
        if (want_address && hostPort(set->keys[i], 0) != want_address) {
            continue;
        }
        chosen.push_back(i);
    }
    if (want_address && chosen.empty()) {
        return kNotFound;
    }
    const auto to = healthy ? health::State::Healthy : health::State::Unhealthy;
    for (std::size_t i : chosen) {
        auto transition = d.registry.setManual(state->id, set->keys[i], to);
        AddressRuntime& runtime = *set->runtime[i];
        if (transition) {
            d.applyTransition(*state, state->spec.name, &runtime, *transition);
        } else {
            std::lock_guard lock(state->flag_mutex);
            runtime.unhealthy.store(!healthy);
        }
    }
    return {};
}

std::string UpstreamRuntime::renderPrometheus() const {
    auto& d = *impl_;
    std::vector<std::shared_ptr<UpstreamState>> states;
    for (const auto& [id, state] : d.by_id) {
        states.push_back(state);
    }
    std::sort(states.begin(), states.end(),
              [](const auto& a, const auto& b) { return a->spec.name < b->spec.name; });

    static constexpr const char* kStates[] = {"healthy", "unhealthy", "dns_error", "disabled"};
    std::string health_lines;
    std::string probe_lines;
    std::string passive_lines;
    for (const auto& state : states) {
        const std::string upstream = label(state->spec.name);
        auto set = state->addresses.load();
        auto gauge = [&](const std::string& target, const std::string& address,
                         const char* current) {
            for (const char* s : kStates) {
                health_lines += "portico_upstream_target_health{upstream=\"" + upstream +
                                "\",target=\"" + label(target) + "\",address=\"" + label(address) +
                                "\",state=\"" + s + "\"} " +
                                (std::string_view(s) == current ? "1" : "0") + "\n";
            }
        };
        for (const auto& target : state->spec.targets) {
            bool any = false;
            for (std::size_t i = 0; i < set->list.size(); ++i) {
                const Address& address = set->list[i];
                if (address.target_id != target.id) {
                    continue;
                }
                any = true;
                bool unhealthy =
                    d.registry.snapshot(state->id, set->keys[i]).state == health::State::Unhealthy;
                gauge(target.target, set->keys[i],
                      address.weight == 0 ? "disabled"
                      : unhealthy         ? "unhealthy"
                                          : "healthy");
                const AddressRuntime& runtime = *set->runtime[i];
                std::pair<const char*, std::uint64_t> kinds[] = {
                    {"http", runtime.http_failures.load()},
                    {"tcp", runtime.tcp_failures.load()},
                    {"timeout", runtime.timeouts.load()}};
                for (const auto& [kind, count] : kinds) {
                    passive_lines += "portico_upstream_passive_failures_total{upstream=\"" +
                                     upstream + "\",address=\"" + label(set->keys[i]) +
                                     "\",kind=\"" + kind + "\"} " + std::to_string(count) + "\n";
                }
            }
            if (!any) {
                gauge(target.target, "", "dns_error");
            }
        }
        if (state->health.activeInUse()) {
            for (const char* result : kProbeResults) {
                auto it = state->probes.find(result);
                probe_lines += "portico_upstream_probes_total{upstream=\"" + upstream +
                               "\",result=\"" + result + "\"} " +
                               std::to_string(it == state->probes.end() ? 0 : it->second) + "\n";
            }
        }
    }
    std::string out;
    out +=
        "# HELP portico_upstream_target_health Health of each upstream address on this node: 1 "
        "for its current state, 0 for the others (healthy, unhealthy, dns_error, disabled).\n"
        "# TYPE portico_upstream_target_health gauge\n";
    out += health_lines;
    out +=
        "# HELP portico_upstream_probes_total Active health probes by result (success, "
        "http_failure, tcp_failure, timeout, ignored: a status in neither list).\n"
        "# TYPE portico_upstream_probes_total counter\n";
    out += probe_lines;
    out +=
        "# HELP portico_upstream_passive_failures_total Failures seen in proxied traffic, per "
        "address and kind (http, tcp, timeout).\n"
        "# TYPE portico_upstream_passive_failures_total counter\n";
    out += passive_lines;
    return out;
}

json::array UpstreamRuntime::clusterHealth() const {
    json::array out;
    for (const auto& [id, state] : impl_->by_id) {
        auto view = balancerView(id);
        if (!view) {
            continue;
        }
        const auto* addresses = view->if_contains("addresses");
        if (addresses == nullptr || !addresses->is_array()) {
            continue;
        }
        for (const auto& item : addresses->as_array()) {
            const auto& address = item.as_object();
            std::string cause;
            for (const char* key : {"last_change", "last_failure"}) {
                const auto* event = address.if_contains(key);
                if (cause.empty() && event != nullptr && event->is_object()) {
                    if (const auto* text = event->as_object().if_contains("cause");
                        text != nullptr && text->is_string()) {
                        cause = std::string(text->as_string());
                    }
                }
            }
            // Upper case, as GET /upstreams/{u}/health spells it (HEALTHY, UNHEALTHY, ...).
            std::string health = address.at("state").is_string()
                                     ? std::string(address.at("state").as_string())
                                     : std::string("unknown");
            std::transform(health.begin(), health.end(), health.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            out.push_back(json::object{{"upstream", state->spec.name},
                                       {"target", address.at("target")},
                                       {"address", address.at("key")},
                                       {"health", health},
                                       {"cause", cause}});
        }
    }
    return out;
}

}  // namespace portico::proxy
