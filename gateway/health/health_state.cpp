#include "gateway/health/health_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace portico::health {

namespace json = boost::json;

namespace {

// Kong keeps four 8-bit counters in one shared-memory integer; ours saturate instead of
// spilling into the next counter.
constexpr unsigned kCounterMax = 255;

std::optional<double> number(const json::value& value) {
    if (value.is_int64()) {
        return static_cast<double>(value.get_int64());
    }
    if (value.is_uint64()) {
        return static_cast<double>(value.get_uint64());
    }
    if (value.is_double()) {
        return value.get_double();
    }
    return std::nullopt;
}

const json::object* child(const json::object* parent, std::string_view key) {
    if (parent == nullptr) {
        return nullptr;
    }
    auto it = parent->find(key);
    if (it == parent->end() || !it->value().is_object()) {
        return nullptr;
    }
    return &it->value().get_object();
}

const json::value* field(const json::object* parent, std::string_view key) {
    if (parent == nullptr) {
        return nullptr;
    }
    auto it = parent->find(key);
    if (it == parent->end() || it->value().is_null()) {
        return nullptr;
    }
    return &it->value();
}

void readDouble(const json::object* parent, std::string_view key, double& out) {
    if (const auto* value = field(parent, key)) {
        if (auto n = number(*value); n && std::isfinite(*n) && *n >= 0) {
            out = *n;
        }
    }
}

void readCount(const json::object* parent, std::string_view key, unsigned& out,
               unsigned max = kCounterMax) {
    if (const auto* value = field(parent, key)) {
        if (auto n = number(*value); n && std::isfinite(*n) && *n >= 0) {
            out = static_cast<unsigned>(std::min(std::floor(*n), static_cast<double>(max)));
        }
    }
}

void readString(const json::object* parent, std::string_view key, std::string& out) {
    if (const auto* value = field(parent, key); value && value->is_string()) {
        out = std::string(value->get_string());
    }
}

void readStatuses(const json::object* parent, std::string_view key, std::vector<int>& out) {
    const auto* value = field(parent, key);
    if (value == nullptr || !value->is_array()) {
        return;
    }
    std::vector<int> statuses;
    for (const auto& item : value->get_array()) {
        if (auto n = number(item); n && *n >= 100 && *n <= 999) {
            statuses.push_back(static_cast<int>(*n));
        }
    }
    out = std::move(statuses);
}

void readHeaders(const json::object* parent,
                 std::vector<std::pair<std::string, std::string>>& out) {
    const auto* value = field(parent, "headers");
    if (value == nullptr) {
        return;
    }
    out.clear();
    if (value->is_object()) {
        // Kong 3.x: {"name": ["v1", "v2"]}; one header line per value.
        for (const auto& [name, values] : value->get_object()) {
            if (values.is_string()) {
                out.emplace_back(std::string(name), std::string(values.get_string()));
            } else if (values.is_array()) {
                for (const auto& item : values.get_array()) {
                    if (item.is_string()) {
                        out.emplace_back(std::string(name), std::string(item.get_string()));
                    }
                }
            }
        }
    } else if (value->is_array()) {
        // lua-resty-healthcheck's own shape: ["Name: value", ...].
        for (const auto& item : value->get_array()) {
            if (!item.is_string()) {
                continue;
            }
            std::string line(item.get_string());
            auto colon = line.find(':');
            if (colon == std::string::npos || colon == 0) {
                continue;
            }
            auto start = line.find_first_not_of(' ', colon + 1);
            out.emplace_back(line.substr(0, colon),
                             start == std::string::npos ? std::string() : line.substr(start));
        }
    }
}

bool contains(const std::vector<int>& list, int status) {
    return std::find(list.begin(), list.end(), status) != list.end();
}

// "3 passive http failures (threshold 3)".
std::string countCause(unsigned count, Source source, Event event, unsigned threshold) {
    std::string what;
    switch (event) {
        case Event::Success:
            what = count == 1 ? "success" : "successes";
            break;
        case Event::HttpFailure:
            what = count == 1 ? "http failure" : "http failures";
            break;
        case Event::TcpFailure:
            what = count == 1 ? "tcp failure" : "tcp failures";
            break;
        case Event::Timeout:
            what = count == 1 ? "timeout" : "timeouts";
            break;
    }
    return std::to_string(count) + " " + toString(source) + " " + what + " (threshold " +
           std::to_string(threshold) + ")";
}

std::string seconds(double s) {
    // Whole seconds print without a fraction ("30 s"), others with up to three decimals.
    if (s == std::floor(s) && s < 1e9) {
        return std::to_string(static_cast<long long>(s)) + " s";
    }
    std::string text = std::to_string(s);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') {
        text.pop_back();
    }
    return text + " s";
}

}  // namespace

bool HealthConfig::inUse() const {
    return active.healthy_interval_s > 0 || active.unhealthy_interval_s > 0 ||
           passive.unhealthy_tcp_failures > 0 || passive.unhealthy_timeouts > 0 ||
           passive.unhealthy_http_failures > 0;
}

HealthConfig HealthConfig::fromJson(const json::object& healthchecks) {
    HealthConfig config;
    readDouble(&healthchecks, "threshold", config.threshold);

    const json::object* active = child(&healthchecks, "active");
    readString(active, "type", config.active.type);
    readDouble(active, "timeout", config.active.timeout_s);
    readCount(active, "concurrency", config.active.concurrency,
              static_cast<unsigned>(std::numeric_limits<int>::max()));
    config.active.concurrency = std::max(1u, config.active.concurrency);
    readString(active, "http_path", config.active.http_path);
    readHeaders(active, config.active.headers);
    const json::object* active_healthy = child(active, "healthy");
    readDouble(active_healthy, "interval", config.active.healthy_interval_s);
    readStatuses(active_healthy, "http_statuses", config.active.healthy_statuses);
    readCount(active_healthy, "successes", config.active.healthy_successes);
    const json::object* active_unhealthy = child(active, "unhealthy");
    readDouble(active_unhealthy, "interval", config.active.unhealthy_interval_s);
    readStatuses(active_unhealthy, "http_statuses", config.active.unhealthy_statuses);
    readCount(active_unhealthy, "tcp_failures", config.active.unhealthy_tcp_failures);
    readCount(active_unhealthy, "timeouts", config.active.unhealthy_timeouts);
    readCount(active_unhealthy, "http_failures", config.active.unhealthy_http_failures);

    const json::object* passive = child(&healthchecks, "passive");
    readString(passive, "type", config.passive.type);
    const json::object* passive_healthy = child(passive, "healthy");
    readStatuses(passive_healthy, "http_statuses", config.passive.healthy_statuses);
    readCount(passive_healthy, "successes", config.passive.healthy_successes);
    const json::object* passive_unhealthy = child(passive, "unhealthy");
    readStatuses(passive_unhealthy, "http_statuses", config.passive.unhealthy_statuses);
    readCount(passive_unhealthy, "tcp_failures", config.passive.unhealthy_tcp_failures);
    readCount(passive_unhealthy, "timeouts", config.passive.unhealthy_timeouts);
    readCount(passive_unhealthy, "http_failures", config.passive.unhealthy_http_failures);
    return config;
}

std::optional<Event> eventForStatus(const HealthConfig& config, Source source, int status) {
    bool active = source == Source::Active;
    const auto& healthy = active ? config.active.healthy_statuses : config.passive.healthy_statuses;
    const auto& unhealthy =
        active ? config.active.unhealthy_statuses : config.passive.unhealthy_statuses;
    if (contains(healthy, status)) {
        return Event::Success;
    }
    if (status == 0 || contains(unhealthy, status)) {
        return Event::HttpFailure;
    }
    return std::nullopt;
}

HealthRegistry::HealthRegistry(std::function<double()> now_s) : now_s_(std::move(now_s)) {}

bool HealthRegistry::halfOpen(const Entry& entry, double now) const {
    const Snapshot& s = entry.snapshot;
    if (s.state != State::Unhealthy || s.last_change_source != Source::Passive ||
        entry.recovery_s <= 0) {
        return false;
    }
    return entry.trial_in_flight || now - entry.cooldown_start >= entry.recovery_s;
}

std::optional<Transition> HealthRegistry::report(const std::string& upstream,
                                                 const std::string& address,
                                                 const HealthConfig& config, Source source,
                                                 Event event, const std::string& detail) {
    double now = now_s_();
    std::lock_guard lock(mutex_);
    Entry& entry = entries_[{upstream, address}];
    Snapshot& s = entry.snapshot;
    entry.recovery_s = config.passive_recovery_s;
    if (source == Source::Active) {
        s.last_probe_time = now;
        s.last_probe_result = detail;
    }
    if (event != Event::Success) {
        s.last_failure_time = now;
        s.last_failure_cause = std::string(toString(source)) + ": " + detail;
    }

    auto flip = [&](State to, std::string cause) {
        Transition transition{upstream, address, s.state, to, cause};
        s.state = to;
        s.last_change_source = source;
        s.last_change_cause = std::move(cause);
        s.last_change_time = now;
        entry.mostly = false;
        entry.trial_in_flight = false;
        entry.cooldown_start = now;
        return transition;
    };

    // Portico's half-open extension: the passive report that follows an admitted trial decides.
    if (source == Source::Passive && s.state == State::Unhealthy && entry.trial_in_flight) {
        entry.trial_in_flight = false;
        if (event == Event::Success) {
            s.counters = {};
            return flip(State::Healthy, "passive trial request succeeded after " +
                                            seconds(entry.recovery_s) + " cool-down");
        }
        entry.cooldown_start = now;
        return std::nullopt;
    }

    bool active = source == Source::Active;
    unsigned limit = 0;
    unsigned* counter = nullptr;
    switch (event) {
        case Event::Success:
            limit = active ? config.active.healthy_successes : config.passive.healthy_successes;
            counter = &s.counters.success;
            break;
        case Event::HttpFailure:
            limit = active ? config.active.unhealthy_http_failures
                           : config.passive.unhealthy_http_failures;
            counter = &s.counters.http_failures;
            break;
        case Event::TcpFailure:
            limit = active ? config.active.unhealthy_tcp_failures
                           : config.passive.unhealthy_tcp_failures;
            counter = &s.counters.tcp_failures;
            break;
        case Event::Timeout:
            limit = active ? config.active.unhealthy_timeouts : config.passive.unhealthy_timeouts;
            counter = &s.counters.timeouts;
            break;
    }
    if (limit == 0) {
        return std::nullopt;  // that counter is disabled
    }
    bool healthy_report = event == Event::Success;
    State reported = healthy_report ? State::Healthy : State::Unhealthy;
    if (s.state == reported && !entry.mostly) {
        return std::nullopt;  // agrees with the full state
    }

    *counter = std::min(*counter + 1, kCounterMax);
    if (healthy_report) {
        s.counters.http_failures = 0;
        s.counters.tcp_failures = 0;
        s.counters.timeouts = 0;
    } else {
        s.counters.success = 0;
    }

    if (*counter >= limit) {
        entry.mostly = false;
        if (s.state != reported) {
            return flip(reported, countCause(*counter, source, event, limit));
        }
        return std::nullopt;
    }
    bool any_failure =
        s.counters.http_failures > 0 || s.counters.tcp_failures > 0 || s.counters.timeouts > 0;
    if ((s.state == State::Healthy && any_failure) ||
        (s.state == State::Unhealthy && s.counters.success > 0)) {
        entry.mostly = true;
    }
    return std::nullopt;
}

void HealthRegistry::recordProbe(const std::string& upstream, const std::string& address,
                                 const std::string& result) {
    double now = now_s_();
    std::lock_guard lock(mutex_);
    Snapshot& s = entries_[{upstream, address}].snapshot;
    s.last_probe_time = now;
    s.last_probe_result = result;
}

std::optional<Transition> HealthRegistry::setManual(const std::string& upstream,
                                                    const std::string& address, State state) {
    double now = now_s_();
    std::lock_guard lock(mutex_);
    Entry& entry = entries_[{upstream, address}];
    Snapshot& s = entry.snapshot;
    State from = s.state;
    s.state = state;
    s.counters = {};
    s.last_change_source = Source::Manual;
    s.last_change_cause = "manual";
    s.last_change_time = now;
    entry.mostly = false;
    entry.trial_in_flight = false;
    entry.cooldown_start = now;
    if (from == state) {
        return std::nullopt;
    }
    return Transition{upstream, address, from, state, "manual"};
}

bool HealthRegistry::available(const std::string& upstream, const std::string& address,
                               const HealthConfig& config) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find({upstream, address});
    if (it == entries_.end()) {
        return true;
    }
    Entry& entry = it->second;
    if (entry.snapshot.state == State::Healthy) {
        return true;
    }
    entry.recovery_s = config.passive_recovery_s;
    if (entry.recovery_s <= 0 || entry.snapshot.last_change_source != Source::Passive) {
        return false;
    }
    lock.unlock();
    // The clock is the caller's function: never call it under our lock.
    double now = now_s_();
    lock.lock();
    it = entries_.find({upstream, address});
    if (it == entries_.end()) {
        return true;
    }
    Entry& e = it->second;
    if (e.snapshot.state == State::Healthy) {
        return true;
    }
    if (e.recovery_s <= 0 || e.snapshot.last_change_source != Source::Passive) {
        return false;
    }
    if (e.trial_in_flight && now - e.trial_started < e.recovery_s) {
        return false;  // one trial at a time
    }
    if (!e.trial_in_flight && now - e.cooldown_start < e.recovery_s) {
        return false;  // still cooling down
    }
    e.trial_in_flight = true;
    e.trial_started = now;
    return true;
}

Snapshot HealthRegistry::snapshot(const std::string& upstream, const std::string& address) const {
    double now = now_s_();
    std::lock_guard lock(mutex_);
    auto it = entries_.find({upstream, address});
    if (it == entries_.end()) {
        return {};
    }
    Snapshot s = it->second.snapshot;
    s.half_open = halfOpen(it->second, now);
    return s;
}

void HealthRegistry::retain(const std::string& upstream, const std::vector<std::string>& keep) {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.lower_bound({upstream, std::string()});
         it != entries_.end() && it->first.first == upstream;) {
        if (std::find(keep.begin(), keep.end(), it->first.second) == keep.end()) {
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

void HealthRegistry::forgetUpstream(const std::string& upstream) {
    std::lock_guard lock(mutex_);
    auto first = entries_.lower_bound({upstream, std::string()});
    auto last = first;
    while (last != entries_.end() && last->first.first == upstream) {
        ++last;
    }
    entries_.erase(first, last);
}

const char* toString(State state) {
    return state == State::Healthy ? "HEALTHY" : "UNHEALTHY";
}

const char* toString(Source source) {
    switch (source) {
        case Source::Active:
            return "active";
        case Source::Passive:
            return "passive";
        case Source::Manual:
            return "manual";
    }
    return "unknown";
}

const char* toString(Event event) {
    switch (event) {
        case Event::Success:
            return "success";
        case Event::HttpFailure:
            return "http failure";
        case Event::TcpFailure:
            return "tcp failure";
        case Event::Timeout:
            return "timeout";
    }
    return "unknown";
}

}  // namespace portico::health
