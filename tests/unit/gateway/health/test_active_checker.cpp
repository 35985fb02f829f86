// Active health checks against real sockets on 127.0.0.1 (kong-compat.md §5.3): an HttpServer
// on port 0 answering 200 or 500 by a toggle, a closed port, and a listening socket that never
// accepts. Everything runs on one io_context on the test thread with 50 ms intervals and
// bounded waits.

#include "gateway/health/active_checker.hpp"
#include "gateway/http/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <QtTest>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace portico::health;
using portico::http::HttpRequest;
using portico::http::HttpResponse;
using portico::http::HttpServer;

namespace {

using namespace std::chrono_literals;

double steadySeconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Runs `io` until `done()` or `limit` has passed; returns done().
bool runUntil(asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        if (io.stopped()) {
            io.restart();
        }
        io.run_one_for(10ms);
    }
    return true;
}

// Runs `io` for `duration`, whatever happens.
void runFor(asio::io_context& io, std::chrono::milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    runUntil(
        io, [&] { return std::chrono::steady_clock::now() >= deadline; }, duration + 1000ms);
}

portico::core::ListenAddress loopback() {
    portico::core::ListenAddress address;
    address.host = "127.0.0.1";
    address.port = 0;
    return address;
}

// A port nothing listens on: bound, then closed.
std::uint16_t closedPort(asio::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = acceptor.local_endpoint().port();
    acceptor.close();
    return port;
}

// The upstream under test: answers `status`, remembers what the probes sent.
struct Upstream {
    explicit Upstream(asio::io_context& io)
        : server(
              io, loopback(),
              [this](const HttpRequest& request) {
                  ++requests;
                  method = request.method;
                  target = request.target;
                  host = std::string(request.header("Host").value_or(""));
                  probe_header = std::string(request.header("X-Probe").value_or(""));
                  HttpResponse response;
                  response.status = status;
                  response.body = "ok";
                  return response;
              },
              portico::http::ServerLimits{}, "upstream") {
        server.start();
    }
    ~Upstream() { server.stop(); }
    HttpServer server;
    int status = 200;
    int requests = 0;
    std::string method, target, host, probe_header;
};

HealthConfig probing(std::string type = "http") {
    HealthConfig config;
    config.active.type = std::move(type);
    config.active.timeout_s = 1;
    config.active.healthy_interval_s = 0.05;
    config.active.unhealthy_interval_s = 0.05;
    config.active.healthy_successes = 2;
    config.active.unhealthy_http_failures = 2;
    config.active.unhealthy_tcp_failures = 1;
    config.active.unhealthy_timeouts = 1;
    return config;
}

ProbeTarget target(const HealthConfig& config, std::uint16_t port, std::string key = {},
                   std::string upstream = "up-1") {
    ProbeTarget t;
    t.upstream_id = upstream;
    t.upstream_name = upstream + "-name";
    t.config = config;
    t.ip = "127.0.0.1";
    t.port = port;
    t.address = key.empty() ? "127.0.0.1:" + std::to_string(port) : std::move(key);
    return t;
}

}  // namespace

class TestActiveChecker : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void httpProbeFlipsBothWays();
    void httpProbeSendsHostAndHeaders();
    void statusInNeitherListOnlyRecorded();
    void tcpProbe();
    void connectionRefused();
    void timeoutOnSilentListener();
    void recoveryAfterSuccessesThenNoHealthyProbes();
    void concurrencyLimit();
    void updateKeepsAndRemoves();
    void unsupportedTypesSkipped();
    void stopCancelsEverything();
};

void TestActiveChecker::httpProbeFlipsBothWays() {
    asio::io_context io;
    Upstream upstream(io);
    HealthRegistry registry(steadySeconds);
    std::vector<Transition> transitions;
    ActiveChecker checker(io, registry, [&](const Transition& t) { transitions.push_back(t); });
    auto t = target(probing(), upstream.server.port());
    checker.update({t});
    QCOMPARE(checker.addressCount(), std::size_t(1));

    QVERIFY(runUntil(io, [&] { return upstream.requests >= 2; }));
    auto s = registry.snapshot(t.upstream_id, t.address);
    QCOMPARE(s.state, State::Healthy);
    QCOMPARE(QString::fromStdString(s.last_probe_result), QString("200"));
    QVERIFY(s.last_probe_time);
    QVERIFY(transitions.empty());

    upstream.status = 500;
    QVERIFY(runUntil(io, [&] { return !transitions.empty(); }));
    QCOMPARE(transitions.back().to, State::Unhealthy);
    QCOMPARE(QString::fromStdString(transitions.back().cause),
             QString("2 active http failures (threshold 2)"));
    QCOMPARE(QString::fromStdString(transitions.back().upstream), QString("up-1"));
    QCOMPARE(QString::fromStdString(transitions.back().address), QString::fromStdString(t.address));
    s = registry.snapshot(t.upstream_id, t.address);
    QCOMPARE(QString::fromStdString(s.last_probe_result), QString("500"));
    QCOMPARE(QString::fromStdString(s.last_failure_cause), QString("active: 500"));

    upstream.status = 200;
    QVERIFY(runUntil(io, [&] { return transitions.size() == 2; }));
    QCOMPARE(transitions.back().to, State::Healthy);
    QCOMPARE(QString::fromStdString(transitions.back().cause),
             QString("2 active successes (threshold 2)"));
    checker.stop();
}

void TestActiveChecker::httpProbeSendsHostAndHeaders() {
    asio::io_context io;
    Upstream upstream(io);
    HealthRegistry registry(steadySeconds);
    ActiveChecker checker(io, registry, {});
    HealthConfig config = probing();
    config.active.http_path = "/status?deep=1";
    config.active.headers = {{"X-Probe", "yes"}, {"Bad", "a\r\nInjected: 1"}};
    auto t = target(config, upstream.server.port());
    t.host_header = "api.internal";
    checker.update({t});
    QVERIFY(runUntil(io, [&] { return upstream.requests >= 1; }));
    QCOMPARE(QString::fromStdString(upstream.method), QString("GET"));
    QCOMPARE(QString::fromStdString(upstream.target), QString("/status?deep=1"));
    QCOMPARE(QString::fromStdString(upstream.host), QString("api.internal"));
    QCOMPARE(QString::fromStdString(upstream.probe_header), QString("yes"));

    // Without a host header the ip is the Host, as Kong.
    t.host_header.clear();
    checker.update({t});
    QVERIFY(runUntil(io, [&] { return upstream.host == "127.0.0.1"; }));
}

void TestActiveChecker::statusInNeitherListOnlyRecorded() {
    asio::io_context io;
    Upstream upstream(io);
    upstream.status = 418;
    HealthRegistry registry(steadySeconds);
    ActiveChecker checker(io, registry, {});
    HealthConfig config = probing();
    config.active.unhealthy_http_failures = 1;
    auto t = target(config, upstream.server.port());
    checker.update({t});
    QVERIFY(runUntil(io, [&] { return checker.probesFinished() >= 3; }));
    auto s = registry.snapshot(t.upstream_id, t.address);
    QCOMPARE(s.state, State::Healthy);
    QCOMPARE(QString::fromStdString(s.last_probe_result), QString("418"));
    QCOMPARE(s.counters.http_failures, 0u);
    QVERIFY(!s.last_failure_time);
}

void TestActiveChecker::tcpProbe() {
    asio::io_context io;
    Upstream upstream(io);
    HealthRegistry registry(steadySeconds);
    ActiveChecker checker(io, registry, {});
    auto t = target(probing("tcp"), upstream.server.port());
    registry.setManual(t.upstream_id, t.address, State::Unhealthy);
    checker.update({t});
    QVERIFY(runUntil(
        io, [&] { return registry.snapshot(t.upstream_id, t.address).state == State::Healthy; }));
    QCOMPARE(QString::fromStdString(registry.snapshot(t.upstream_id, t.address).last_probe_result),
             QString("connected"));
    QCOMPARE(upstream.requests, 0);  // connect only, no request
}

void TestActiveChecker::connectionRefused() {
    asio::io_context io;
    HealthRegistry registry(steadySeconds);
    std::vector<Transition> transitions;
    ActiveChecker checker(io, registry, [&](const Transition& t) { transitions.push_back(t); });
    for (std::string type : {"http", "tcp"}) {
        transitions.clear();
        auto t = target(probing(type), closedPort(io), {}, "up-" + type);
        checker.update({t});
        QVERIFY(runUntil(io, [&] { return !transitions.empty(); }));
        QCOMPARE(QString::fromStdString(transitions[0].cause),
                 QString("1 active tcp failure (threshold 1)"));
        auto s = registry.snapshot(t.upstream_id, t.address);
        QCOMPARE(QString::fromStdString(s.last_probe_result), QString("connection refused"));
        QCOMPARE(QString::fromStdString(s.last_failure_cause),
                 QString("active: connection refused"));
    }
}

void TestActiveChecker::timeoutOnSilentListener() {
    asio::io_context io;
    // Listens (the kernel completes connects) but never accepts, never answers.
    tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    HealthRegistry registry(steadySeconds);
    std::vector<Transition> transitions;
    ActiveChecker checker(io, registry, [&](const Transition& t) { transitions.push_back(t); });
    HealthConfig config = probing();
    config.active.timeout_s = 0.2;
    auto t = target(config, silent.local_endpoint().port());
    auto started = std::chrono::steady_clock::now();
    checker.update({t});
    QVERIFY(runUntil(io, [&] { return !transitions.empty(); }));
    auto took = std::chrono::steady_clock::now() - started;
    QVERIFY(took >= 200ms);  // 50 ms interval + 200 ms timeout
    QVERIFY(took < 3000ms);
    QCOMPARE(QString::fromStdString(transitions[0].cause),
             QString("1 active timeout (threshold 1)"));
    QCOMPARE(QString::fromStdString(registry.snapshot(t.upstream_id, t.address).last_probe_result),
             QString("timeout"));
}

void TestActiveChecker::recoveryAfterSuccessesThenNoHealthyProbes() {
    asio::io_context io;
    Upstream upstream(io);
    HealthRegistry registry(steadySeconds);
    std::vector<Transition> transitions;
    ActiveChecker checker(io, registry, [&](const Transition& t) { transitions.push_back(t); });
    HealthConfig config = probing();
    config.active.healthy_interval_s = 0;  // healthy addresses are not probed
    config.active.healthy_successes = 3;
    auto t = target(config, upstream.server.port());
    registry.setManual(t.upstream_id, t.address, State::Unhealthy);
    checker.update({t});
    QVERIFY(runUntil(io, [&] { return !transitions.empty(); }));
    QCOMPARE(transitions[0].to, State::Healthy);
    QCOMPARE(QString::fromStdString(transitions[0].cause),
             QString("3 active successes (threshold 3)"));
    QCOMPARE(upstream.requests, 3);
    runFor(io, 300ms);
    QCOMPARE(upstream.requests, 3);

    // A passive trip while the checker runs: probed again at the unhealthy interval.
    registry.setManual(t.upstream_id, t.address, State::Unhealthy);
    QVERIFY(runUntil(io, [&] { return transitions.size() == 2; }));
    QCOMPARE(upstream.requests, 6);
}

void TestActiveChecker::concurrencyLimit() {
    asio::io_context io;
    tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    HealthRegistry registry(steadySeconds);
    ActiveChecker checker(io, registry, {});
    HealthConfig config = probing();
    config.active.timeout_s = 0.2;
    config.active.concurrency = 2;
    config.active.unhealthy_timeouts = 0;  // stay healthy: keep probing at the same interval
    std::vector<ProbeTarget> targets;
    for (int i = 0; i < 6; ++i) {
        targets.push_back(
            target(config, silent.local_endpoint().port(), "silent-" + std::to_string(i)));
    }
    // Another upstream has its own limit.
    HealthConfig other = config;
    other.active.concurrency = 1;
    targets.push_back(target(other, silent.local_endpoint().port(), "other-0", "up-2"));
    targets.push_back(target(other, silent.local_endpoint().port(), "other-1", "up-2"));
    checker.update(targets);
    QCOMPARE(checker.addressCount(), std::size_t(8));
    QVERIFY(runUntil(io, [&] { return checker.probesFinished() >= 12; }));
    QCOMPARE(checker.peakInFlight("up-1"), 2u);
    QCOMPARE(checker.peakInFlight("up-2"), 1u);
    // Six probes of 200 ms two at a time cannot all have finished in less than 600 ms: every
    // address got its turn (no starvation).
    for (int i = 0; i < 6; ++i) {
        auto s = registry.snapshot("up-1", "silent-" + std::to_string(i));
        QVERIFY2(s.last_probe_time.has_value(), std::to_string(i).c_str());
        QCOMPARE(QString::fromStdString(s.last_probe_result), QString("timeout"));
    }

    // Raising the limit admits more at once.
    for (auto& t : targets) {
        if (t.upstream_id == "up-1") {
            t.config.active.concurrency = 6;
        }
    }
    checker.update(targets);
    QVERIFY(runUntil(io, [&] { return checker.peakInFlight("up-1") >= 4; }));
    QVERIFY(checker.peakInFlight("up-1") <= 6);
}

void TestActiveChecker::updateKeepsAndRemoves() {
    asio::io_context io;
    Upstream upstream(io);
    HealthRegistry registry(steadySeconds);
    ActiveChecker checker(io, registry, {});
    auto a = target(probing(), upstream.server.port(), "a");
    auto b = target(probing(), upstream.server.port(), "b");
    checker.update({a, b});
    QCOMPARE(checker.addressCount(), std::size_t(2));
    QVERIFY(runUntil(io, [&] {
        return registry.snapshot("up-1", "a").last_probe_time &&
               registry.snapshot("up-1", "b").last_probe_time;
    }));
    checker.update({a});
    QCOMPARE(checker.addressCount(), std::size_t(1));
    double b_last = *registry.snapshot("up-1", "b").last_probe_time;
    double a_last = *registry.snapshot("up-1", "a").last_probe_time;
    runFor(io, 300ms);
    QCOMPARE(*registry.snapshot("up-1", "b").last_probe_time, b_last);
    QVERIFY(*registry.snapshot("up-1", "a").last_probe_time > a_last);

    // Turning the intervals off removes the address; passive-only settings are not probed.
    a.config.active.healthy_interval_s = 0;
    a.config.active.unhealthy_interval_s = 0;
    a.config.passive.unhealthy_http_failures = 3;
    checker.update({a});
    QCOMPARE(checker.addressCount(), std::size_t(0));
    checker.update({});
    QCOMPARE(checker.addressCount(), std::size_t(0));
}

void TestActiveChecker::unsupportedTypesSkipped() {
    asio::io_context io;
    HealthRegistry registry(steadySeconds);
    ActiveChecker checker(io, registry, {});
    checker.update({target(probing("https"), 1, "h"), target(probing("grpc"), 1, "g"),
                    target(probing("grpcs"), 1, "gs"), target(probing("tcp"), 1, "t")});
    QCOMPARE(checker.addressCount(), std::size_t(1));
}

void TestActiveChecker::stopCancelsEverything() {
    asio::io_context io;
    tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    HealthRegistry registry(steadySeconds);
    int transitions = 0;
    auto checker =
        std::make_unique<ActiveChecker>(io, registry, [&](const Transition&) { ++transitions; });
    HealthConfig config = probing();
    config.active.timeout_s = 30;
    config.active.concurrency = 1;
    checker->update({target(config, silent.local_endpoint().port(), "x"),
                     target(config, silent.local_endpoint().port(), "y")});
    // One probe hangs on the silent listener, the other waits for the permit.
    QVERIFY(runUntil(io, [&] { return checker->peakInFlight("up-1") == 1; }));
    runFor(io, 100ms);
    checker.reset();  // stop() and destruction with work in flight
    // Everything unwinds quickly: the io_context runs out of work.
    QVERIFY(runUntil(
        io, [&] { return io.stopped(); }, 2000ms));
    QCOMPARE(transitions, 0);
    QVERIFY(!registry.snapshot("up-1", "x").last_probe_time);
}

QTEST_APPLESS_MAIN(TestActiveChecker)
#include "test_active_checker.moc"
