#include "gateway/health/active_checker.hpp"

#include "gateway/core/logging.hpp"
#include "gateway/http/http_message.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace portico::health {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// The status line is all a probe reads (as Kong); a longer first line is not HTTP.
constexpr std::size_t kStatusLineLimit = 1024;
// active.timeout = 0: OpenResty's socket default, 60 s.
constexpr double kDefaultTimeoutS = 60;
constexpr double kMaxSeconds = 65535;

Clock::duration toDuration(double seconds) {
    seconds = std::clamp(seconds, 0.0, kMaxSeconds);
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool supportedType(const std::string& type) {
    return type == "http" || type == "tcp";
}

std::string lower(std::string text) {
    for (auto& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

std::string describe(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) {
        return "timeout";
    }
    if (ec == asio::error::connection_refused) {
        return "connection refused";
    }
    if (ec == asio::error::connection_reset) {
        return "connection reset";
    }
    if (ec == asio::error::eof) {
        return "connection closed";
    }
    if (ec == asio::error::host_unreachable) {
        return "host unreachable";
    }
    if (ec == asio::error::network_unreachable) {
        return "network unreachable";
    }
    return lower(ec.message());
}

bool headerSafe(const std::string& text) {
    return std::none_of(text.begin(), text.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool pathSafe(const std::string& path) {
    return !path.empty() && path.front() == '/' &&
           std::none_of(path.begin(), path.end(), [](char c) {
               auto u = static_cast<unsigned char>(c);
               return u <= 0x20 || u == 0x7f;
           });
}

// Kong's pattern ^HTTP/\d+\.\d+\s+(\d+), case-insensitive; 0 when the line does not match.
int parseStatus(std::string_view line) {
    auto digits = [&](std::size_t& i) {
        std::size_t start = i;
        while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) {
            ++i;
        }
        return i > start;
    };
    if (line.size() < 5 || lower(std::string(line.substr(0, 5))) != "http/") {
        return 0;
    }
    std::size_t i = 5;
    if (!digits(i) || i >= line.size() || line[i] != '.') {
        return 0;
    }
    ++i;
    if (!digits(i)) {
        return 0;
    }
    std::size_t spaces = i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
        ++i;
    }
    std::size_t start = i;
    if (i == spaces || !digits(i) || i - start > 9) {
        return 0;
    }
    return std::stoi(std::string(line.substr(start, i - start)));
}

std::string hostHeader(const ProbeTarget& target) {
    if (!target.host_header.empty()) {
        return target.host_header;
    }
    if (target.ip.find(':') != std::string::npos) {
        return "[" + target.ip + "]";
    }
    return target.ip;
}

std::string probeRequest(const ProbeTarget& target) {
    const auto& active = target.config.active;
    std::string host = hostHeader(target);
    std::string extra;
    for (const auto& [name, value] : active.headers) {
        if (name.empty() || !headerSafe(name) || !headerSafe(value)) {
            continue;
        }
        if (http::iequals(name, "connection")) {
            continue;  // the probe closes its connection
        }
        if (http::iequals(name, "host")) {
            host = value;  // a configured Host wins over the default
            continue;
        }
        extra += name + ": " + value + "\r\n";
    }
    return "GET " + active.http_path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra +
           "Connection: close\r\n\r\n";
}

// What one probe found: an event to report, or none (a status in neither list, a cancelled
// probe, a configuration the probe cannot use).
struct Outcome {
    std::optional<Event> event;
    std::string detail;
    bool cancelled = false;
};

Outcome failure(Event event, const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) {
        return Outcome{std::nullopt, "cancelled", true};
    }
    if (ec == beast::error::timeout) {
        return Outcome{Event::Timeout, "timeout", false};
    }
    return Outcome{event, describe(ec), false};
}

// One permit pool per upstream (active.concurrency). Waiters queue in order; release() hands
// the permit to the first waiter by cancelling its timer.
struct Waiter {
    explicit Waiter(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    bool granted = false;
};

struct Gate {
    unsigned limit = 10;
    unsigned in_flight = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;
};

struct Slot {
    explicit Slot(asio::io_context& io) : timer(io) {}
    ProbeTarget target;
    asio::steady_timer timer;
    bool removed = false;
    bool rearm = false;  // the settings changed while waiting: compute the wait again
    Clock::time_point last_probe = Clock::now();
    beast::tcp_stream* stream = nullptr;  // the probe in flight, for cancellation
    std::shared_ptr<Waiter> waiter;       // waiting for a permit, for cancellation

    void cancel() {
        timer.cancel();
        if (stream != nullptr) {
            stream->close();
        }
        if (waiter) {
            waiter->timer.cancel();
        }
    }
};

}  // namespace

struct CheckerCore {
    using TransitionHandler = ActiveChecker::TransitionHandler;
    CheckerCore(asio::io_context& i, HealthRegistry& r, TransitionHandler t)
        : io(i), registry(r), on_transition(std::move(t)) {}

    asio::io_context& io;
    HealthRegistry& registry;
    TransitionHandler on_transition;
    bool stopped = false;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Slot>> slots;
    std::map<std::string, std::shared_ptr<Gate>> gates;
    std::map<std::string, unsigned> peaks;
    std::uint64_t finished = 0;

    double intervalFor(const ProbeTarget& target, State state) const {
        return state == State::Healthy ? target.config.active.healthy_interval_s
                                       : target.config.active.unhealthy_interval_s;
    }

    State stateOf(const ProbeTarget& target) const {
        return registry.snapshot(target.upstream_id, target.address).state;
    }

    // How long to sleep before looking again: until the current state's interval has passed
    // since the last probe, but no longer than the shortest non-zero interval, so that an
    // address whose state changes meanwhile is probed at its new interval soon.
    Clock::duration waitFor(const Slot& slot) const {
        const auto& active = slot.target.config.active;
        double tick = 0;
        for (double interval : {active.healthy_interval_s, active.unhealthy_interval_s}) {
            if (interval > 0 && (tick == 0 || interval < tick)) {
                tick = interval;
            }
        }
        double interval = intervalFor(slot.target, stateOf(slot.target));
        Clock::duration wait = toDuration(tick);
        if (interval > 0) {
            auto due = slot.last_probe + toDuration(interval);
            auto now = Clock::now();
            wait = std::min(wait, due > now ? due - now : Clock::duration::zero());
        }
        return wait;
    }

    bool due(const Slot& slot) const {
        double interval = intervalFor(slot.target, stateOf(slot.target));
        return interval > 0 && Clock::now() >= slot.last_probe + toDuration(interval);
    }

    void notePeak(const std::string& upstream, const Gate& gate) {
        auto& peak = peaks[upstream];
        peak = std::max(peak, gate.in_flight);
    }

    void release(const std::shared_ptr<Gate>& gate) {
        if (gate->in_flight <= gate->limit && !gate->waiters.empty()) {
            auto next = gate->waiters.front();
            gate->waiters.pop_front();
            next->granted = true;  // the permit moves on; in_flight stays
            next->timer.cancel();
            return;
        }
        if (gate->in_flight > 0) {
            --gate->in_flight;
        }
    }

    // After a limit was raised: admit waiters while there is room.
    void pump(const std::string& upstream, const std::shared_ptr<Gate>& gate) {
        while (gate->in_flight < gate->limit && !gate->waiters.empty()) {
            auto next = gate->waiters.front();
            gate->waiters.pop_front();
            next->granted = true;
            next->timer.cancel();
            ++gate->in_flight;
        }
        notePeak(upstream, *gate);
    }

    void apply(const ProbeTarget& target, const Outcome& outcome) {
        ++finished;
        auto log = core::logger("health");
        log->debug("probe upstream={} address={} result={}", target.upstream_name, target.address,
                   outcome.detail);
        if (!outcome.event) {
            registry.recordProbe(target.upstream_id, target.address, outcome.detail);
            return;
        }
        auto transition = registry.report(target.upstream_id, target.address, target.config,
                                          Source::Active, *outcome.event, outcome.detail);
        if (transition && on_transition) {
            try {
                on_transition(*transition);
            } catch (const std::exception& e) {
                log->error("transition handler failed upstream={} address={} error={}",
                           target.upstream_name, target.address, e.what());
            }
        }
    }
};

namespace {

using Core = CheckerCore;

void logFailure(std::exception_ptr e) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        core::logger("health")->error("active checker task failed error={}", ex.what());
    } catch (...) {
        core::logger("health")->error("active checker task failed error=unknown");
    }
}

asio::awaitable<bool> acquirePermit(std::shared_ptr<Core> core, std::shared_ptr<Gate> gate,
                                    std::shared_ptr<Slot> slot) {
    const std::string& upstream = slot->target.upstream_id;
    if (gate->in_flight < gate->limit) {
        ++gate->in_flight;
        core->notePeak(upstream, *gate);
        co_return true;
    }
    auto waiter = std::make_shared<Waiter>(core->io);
    waiter->timer.expires_at(Clock::time_point::max());
    gate->waiters.push_back(waiter);
    slot->waiter = waiter;
    auto waited = co_await waiter->timer.async_wait(kUseTuple);
    (void)waited;
    slot->waiter.reset();
    if (waiter->granted) {
        if (slot->removed || core->stopped) {
            core->release(gate);
            co_return false;
        }
        co_return true;
    }
    auto& queue = gate->waiters;
    queue.erase(std::remove(queue.begin(), queue.end(), waiter), queue.end());
    co_return false;
}

asio::awaitable<Outcome> probeTarget(std::shared_ptr<Slot> slot, ProbeTarget target) {
    // Results are built in named variables before co_return: GCC 12 miscompiles some
    // temporaries of non-trivial types inside co_return and co_await expressions.
    const auto& active = target.config.active;
    Outcome outcome;
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(target.ip, ec);
    if (ec) {
        outcome.detail = "invalid address '" + target.ip + "'";
        co_return outcome;
    }
    if (active.type == "http" && !pathSafe(active.http_path)) {
        outcome.detail = "invalid http_path";
        co_return outcome;
    }

    beast::tcp_stream stream(co_await asio::this_coro::executor);
    slot->stream = &stream;
    struct Forget {
        Slot* slot;
        ~Forget() { slot->stream = nullptr; }
    } forget{slot.get()};
    // One deadline for the whole probe: connect, send and the status line.
    stream.expires_after(toDuration(active.timeout_s > 0 ? active.timeout_s : kDefaultTimeoutS));

    tcp::endpoint endpoint(ip, target.port);
    auto connected = co_await stream.async_connect(endpoint, kUseTuple);
    ec = std::get<0>(connected);
    if (ec) {
        outcome = failure(Event::TcpFailure, ec);
        co_return outcome;
    }
    if (active.type == "tcp") {
        stream.close();
        outcome.event = Event::Success;
        outcome.detail = "connected";
        co_return outcome;
    }

    std::string request = probeRequest(target);
    auto written = co_await asio::async_write(stream, asio::buffer(request), kUseTuple);
    ec = std::get<0>(written);
    if (ec) {
        outcome = failure(Event::TcpFailure, ec);
        co_return outcome;
    }

    std::string line;
    auto buffer = asio::dynamic_buffer(line, kStatusLineLimit);
    auto read = co_await asio::async_read_until(stream, buffer, '\n', kUseTuple);
    ec = std::get<0>(read);
    stream.close();
    if (ec == asio::error::not_found) {
        outcome.event = Event::HttpFailure;
        outcome.detail = "invalid status line";
        co_return outcome;
    }
    if (ec) {
        outcome = failure(Event::TcpFailure, ec);
        co_return outcome;
    }
    int status = parseStatus(std::string_view(line).substr(0, std::get<1>(read)));
    outcome.event = eventForStatus(target.config, Source::Active, status);
    outcome.detail = status == 0 ? std::string("invalid status line") : std::to_string(status);
    co_return outcome;
}

asio::awaitable<void> runSlot(std::shared_ptr<Core> core, std::shared_ptr<Slot> slot) {
    while (!slot->removed && !core->stopped) {
        slot->rearm = false;
        slot->timer.expires_after(core->waitFor(*slot));
        auto waited = co_await slot->timer.async_wait(kUseTuple);
        (void)waited;
        if (slot->removed || core->stopped) {
            co_return;
        }
        if (slot->rearm || !core->due(*slot)) {
            continue;
        }
        auto gate_it = core->gates.find(slot->target.upstream_id);
        if (gate_it == core->gates.end()) {
            co_return;  // cannot happen: a slot's upstream always has a gate
        }
        auto gate = gate_it->second;
        bool admitted = co_await acquirePermit(core, gate, slot);
        if (!admitted) {
            continue;
        }
        // A copy: update() may change the slot's settings while the probe runs.
        ProbeTarget target = slot->target;
        Outcome outcome = co_await probeTarget(slot, target);
        core->release(gate);
        slot->last_probe = Clock::now();
        if (slot->removed || core->stopped || outcome.cancelled) {
            continue;
        }
        core->apply(target, outcome);
    }
}

bool sameSchedule(const ProbeTarget& a, const ProbeTarget& b) {
    return a.config.active.healthy_interval_s == b.config.active.healthy_interval_s &&
           a.config.active.unhealthy_interval_s == b.config.active.unhealthy_interval_s;
}

}  // namespace

ActiveChecker::ActiveChecker(asio::io_context& io, HealthRegistry& registry,
                             TransitionHandler on_transition)
    : core_(std::make_shared<CheckerCore>(io, registry, std::move(on_transition))) {}

ActiveChecker::~ActiveChecker() {
    stop();
}

void ActiveChecker::update(std::vector<ProbeTarget> targets) {
    if (core_->stopped) {
        return;
    }
    auto log = core::logger("health");
    std::map<std::pair<std::string, std::string>, ProbeTarget> wanted;
    std::map<std::string, unsigned> limits;
    std::set<std::string> warned;
    for (auto& target : targets) {
        const auto& active = target.config.active;
        if (!target.config.activeInUse()) {
            continue;
        }
        if (!supportedType(active.type)) {
            if (warned.insert(target.upstream_id).second) {
                log->warn(
                    "active checks not run upstream={} type={} reason=\"{} probes are not "
                    "supported yet\"",
                    target.upstream_name, active.type, active.type);
            }
            continue;
        }
        limits[target.upstream_id] = std::max(1u, active.concurrency);
        auto key = std::make_pair(target.upstream_id, target.address);
        wanted.insert_or_assign(std::move(key), std::move(target));
    }

    for (auto it = core_->slots.begin(); it != core_->slots.end();) {
        if (!wanted.contains(it->first)) {
            it->second->removed = true;
            it->second->cancel();
            it = core_->slots.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = core_->gates.begin(); it != core_->gates.end();) {
        if (!limits.contains(it->first)) {
            for (auto& waiter : it->second->waiters) {
                waiter->timer.cancel();
            }
            it = core_->gates.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [upstream, limit] : limits) {
        auto& gate = core_->gates[upstream];
        if (!gate) {
            gate = std::make_shared<Gate>();
        }
        gate->limit = limit;
        core_->pump(upstream, gate);
    }

    for (auto& [key, target] : wanted) {
        auto it = core_->slots.find(key);
        if (it != core_->slots.end()) {
            auto& slot = it->second;
            bool reschedule = !sameSchedule(slot->target, target);
            slot->target = std::move(target);
            if (reschedule) {
                slot->rearm = true;
                slot->timer.cancel();
            }
            continue;
        }
        auto slot = std::make_shared<Slot>(core_->io);
        slot->target = std::move(target);
        core_->slots.emplace(key, slot);
        asio::co_spawn(core_->io, runSlot(core_, slot), logFailure);
    }
}

void ActiveChecker::stop() {
    if (core_->stopped) {
        return;
    }
    core_->stopped = true;
    for (auto& [key, slot] : core_->slots) {
        slot->removed = true;
        slot->cancel();
    }
    core_->slots.clear();
    for (auto& [upstream, gate] : core_->gates) {
        for (auto& waiter : gate->waiters) {
            waiter->timer.cancel();
        }
    }
    core_->gates.clear();
}

std::size_t ActiveChecker::addressCount() const {
    return core_->slots.size();
}

std::uint64_t ActiveChecker::probesFinished() const {
    return core_->finished;
}

unsigned ActiveChecker::peakInFlight(const std::string& upstream_id) const {
    auto it = core_->peaks.find(upstream_id);
    return it == core_->peaks.end() ? 0 : it->second;
}

}  // namespace portico::health
