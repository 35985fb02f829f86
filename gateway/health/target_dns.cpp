#include "gateway/health/target_dns.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace portico::health {

namespace asio = boost::asio;

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

bool sameView(const NameState& a, const NameState& b) {
    return a.status == b.status && a.addresses == b.addresses;
}

}  // namespace

const char* toString(NameState::Status status) {
    switch (status) {
        case NameState::Status::Pending:
            return "pending";
        case NameState::Status::Resolved:
            return "resolved";
        case NameState::Status::Stale:
            return "stale";
        case NameState::Status::DnsError:
            return "DNS_ERROR";
    }
    return "unknown";
}

struct TargetDns::Timer {
    Timer(asio::io_context& io, std::chrono::milliseconds w) : timer(io), max_wait(w) {}
    asio::steady_timer timer;
    std::chrono::milliseconds max_wait;
};

TargetDns::TargetDns(ResolveFn resolve, std::function<double()> now_s)
    : TargetDns(std::move(resolve), std::move(now_s), Options{}) {}

TargetDns::TargetDns(ResolveFn resolve, std::function<double()> now_s, Options options,
                     ChangeFn on_change)
    : resolve_(std::move(resolve)),
      now_s_(std::move(now_s)),
      options_(options),
      on_change_(std::move(on_change)),
      alive_(std::make_shared<int>(0)) {}

TargetDns::~TargetDns() {
    stop();
}

TargetDns::ResolveFn TargetDns::through(DnsResolver& resolver) {
    return [&resolver](const std::string& name, Done done) {
        resolver.resolve(name, std::move(done));
    };
}

void TargetDns::setNames(const std::vector<std::string>& names) {
    std::set<std::string> wanted(names.begin(), names.end());
    for (auto it = entries_.begin(); it != entries_.end();) {
        it = wanted.contains(it->first) ? std::next(it) : entries_.erase(it);
    }
    std::vector<std::string> fresh;
    double now = now_s_();
    for (const auto& name : wanted) {
        if (entries_.contains(name)) {
            continue;
        }
        Entry& entry = entries_[name];
        if (auto literal = ipLiteral(name)) {
            entry.state.status = NameState::Status::Resolved;
            entry.state.addresses = {*literal};
            entry.state.literal = true;
            entry.state.resolved_at = now;
            entry.state.next_lookup = kNever;
        } else {
            fresh.push_back(name);
        }
    }
    // By name, not by reference: a resolve function may answer (and change entries_) at once.
    for (const auto& name : fresh) {
        lookup(name);
    }
    arm();
}

void TargetDns::lookup(const std::string& name) {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        return;
    }
    Entry& entry = it->second;
    entry.in_flight = true;
    entry.lookup_started = now_s_();
    entry.generation = ++next_generation_;
    std::uint64_t generation = entry.generation;
    std::weak_ptr<int> alive = alive_;
    resolve_(name, [this, alive, name, generation](ResolveResult result) {
        if (alive.expired()) {
            return;
        }
        onResult(name, generation, std::move(result));
    });
}

bool TargetDns::fail(Entry& entry, const std::string& error, double now) {
    NameState before = entry.state;
    NameState& s = entry.state;
    s.error = error;
    s.next_lookup = now + options_.retry_s;
    if (s.status == NameState::Status::Resolved || s.status == NameState::Status::Pending) {
        s.failing_since = now;
    }
    if (!s.addresses.empty() && now - s.failing_since < options_.keep_stale_s) {
        s.status = NameState::Status::Stale;
    } else {
        s.status = NameState::Status::DnsError;
        s.addresses.clear();
    }
    return !sameView(before, s);
}

void TargetDns::onResult(const std::string& name, std::uint64_t generation, ResolveResult result) {
    auto it = entries_.find(name);
    if (it == entries_.end() || !it->second.in_flight || it->second.generation != generation) {
        return;  // forgotten, timed out or superseded meanwhile
    }
    Entry& entry = it->second;
    entry.in_flight = false;
    double now = now_s_();
    bool changed = false;
    if (result.ok() && !result.addresses.empty()) {
        NameState before = entry.state;
        NameState& s = entry.state;
        std::sort(result.addresses.begin(), result.addresses.end());
        result.addresses.erase(std::unique(result.addresses.begin(), result.addresses.end()),
                               result.addresses.end());
        s.status = NameState::Status::Resolved;
        s.addresses = std::move(result.addresses);
        s.ttl_s = result.ttl_s;
        s.resolved_at = now;
        s.error.clear();
        s.failing_since = 0;
        double refresh = result.ttl_s <= 0
                             ? options_.ttl0_refresh_s
                             : std::clamp(result.ttl_s, options_.min_ttl_s, options_.max_ttl_s);
        s.next_lookup = now + refresh;
        changed = !sameView(before, s);
    } else {
        changed = fail(entry, result.ok() ? std::string("no addresses") : result.error, now);
    }
    if (changed && on_change_) {
        NameState copy = entry.state;  // the callback may change entries_
        on_change_(name, copy);
    }
    arm();
}

void TargetDns::refresh() {
    double now = now_s_();
    std::vector<std::string> due;
    std::vector<std::pair<std::string, NameState>> changes;
    for (auto& [name, entry] : entries_) {
        NameState& s = entry.state;
        if (s.literal) {
            continue;
        }
        if (entry.in_flight) {
            if (now - entry.lookup_started < options_.lookup_timeout_s) {
                continue;
            }
            entry.in_flight = false;  // a late result is ignored (generation)
            if (fail(entry, "lookup timed out", now)) {
                changes.emplace_back(name, s);
            }
            continue;
        }
        if (s.status == NameState::Status::Stale &&
            now - s.failing_since >= options_.keep_stale_s) {
            s.status = NameState::Status::DnsError;
            s.addresses.clear();
            changes.emplace_back(name, s);
        }
        if (now >= s.next_lookup) {
            due.push_back(name);
        }
    }
    for (const auto& name : due) {
        lookup(name);
    }
    if (on_change_) {
        for (const auto& [name, state] : changes) {
            on_change_(name, state);
        }
    }
    arm();
}

std::optional<double> TargetDns::nextDue() const {
    std::optional<double> next;
    auto consider = [&](double t) {
        if (std::isfinite(t) && (!next || t < *next)) {
            next = t;
        }
    };
    for (const auto& [name, entry] : entries_) {
        const NameState& s = entry.state;
        if (s.literal) {
            continue;
        }
        if (entry.in_flight) {
            consider(entry.lookup_started + options_.lookup_timeout_s);
            continue;
        }
        consider(s.next_lookup);
        if (s.status == NameState::Status::Stale) {
            consider(s.failing_since + options_.keep_stale_s);
        }
    }
    return next;
}

void TargetDns::start(asio::io_context& io, std::chrono::milliseconds max_wait) {
    timer_ = std::make_unique<Timer>(io, std::max(max_wait, std::chrono::milliseconds(10)));
    arm();
}

void TargetDns::stop() {
    if (timer_) {
        timer_->timer.cancel();
        timer_.reset();
    }
}

void TargetDns::arm() {
    if (!timer_) {
        return;
    }
    auto wait = timer_->max_wait;
    if (auto due = nextDue()) {
        double seconds = std::max(0.0, *due - now_s_());
        auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::duration<double>(seconds)) +
                     std::chrono::milliseconds(1);
        wait = std::min(wait, until);
    }
    timer_->timer.expires_after(wait);
    std::weak_ptr<int> alive = alive_;
    timer_->timer.async_wait([this, alive](const boost::system::error_code& ec) {
        if (ec || alive.expired() || !timer_) {
            return;
        }
        refresh();
    });
}

std::optional<NameState> TargetDns::state(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        return std::nullopt;
    }
    return it->second.state;
}

std::vector<std::string> TargetDns::names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) {
        out.push_back(name);
    }
    return out;
}

}  // namespace portico::health
