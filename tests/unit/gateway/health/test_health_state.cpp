// Health state with Kong's counter semantics (kong-compat.md §5.2, lua-resty-healthcheck) and
// Portico's half-open extension, with a fake clock: trips after exactly the threshold, which
// event clears which counter, agreeing reports dropped, disabled counters, active vs passive
// thresholds, manual overrides, the half-open trial, fromJson, inUse, the status mapping and the
// causes written into transitions.

#include "gateway/health/health_state.hpp"

#include <boost/json/parse.hpp>

#include <QtTest>

#include <atomic>
#include <thread>
#include <vector>

using namespace portico::health;

namespace {

struct FakeClock {
    double now = 1000;
    std::function<double()> fn() {
        return [this] { return now; };
    }
};

const std::string kUp = "up-1";
const std::string kAddr = "10.0.0.1:8080";

Event eventOf(char c) {
    switch (c) {
        case 's':
            return Event::Success;
        case 'h':
            return Event::HttpFailure;
        case 't':
            return Event::TcpFailure;
        default:
            return Event::Timeout;
    }
}

// Reports every event of `events` ("s" success, "h" http, "t" tcp, "o" timeout); returns the
// last transition seen.
std::optional<Transition> play(HealthRegistry& registry, const HealthConfig& config, Source source,
                               const std::string& events) {
    std::optional<Transition> last;
    for (char c : events) {
        if (auto t = registry.report(kUp, kAddr, config, source, eventOf(c), "x")) {
            last = t;
        }
    }
    return last;
}

HealthConfig passiveConfig(unsigned successes, unsigned http, unsigned tcp, unsigned timeouts) {
    HealthConfig config;
    config.passive.healthy_successes = successes;
    config.passive.unhealthy_http_failures = http;
    config.passive.unhealthy_tcp_failures = tcp;
    config.passive.unhealthy_timeouts = timeouts;
    return config;
}

QList<int> toList(const std::vector<int>& v) {
    return QList<int>(v.begin(), v.end());
}

}  // namespace

class TestHealthState : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void passiveTripAfterThreshold_data();
    void passiveTripAfterThreshold();
    void whichEventClearsWhich_data();
    void whichEventClearsWhich();
    void zeroThresholdDisablesCounter_data();
    void zeroThresholdDisablesCounter();
    void healthyTrafficWithZeroSuccesses();
    void mostlyHealthyCountsSuccesses();
    void activeAndPassiveThresholds();
    void activeRecoveryCause();
    void counterSaturates();
    void manualOverride();
    void halfOpenTrial();
    void halfOpenTrialFailureRestartsCooldown();
    void halfOpenLostTrial();
    void halfOpenOnlyAfterPassiveTrip_data();
    void halfOpenOnlyAfterPassiveTrip();
    void lastProbeAndFailure();
    void fromJsonDefaults();
    void fromJsonFullTree();
    void fromJsonOddValues();
    void inUse_data();
    void inUse();
    void eventForStatus_data();
    void eventForStatus();
    void retainAndForget();
    void concurrentReports();
};

void TestHealthState::passiveTripAfterThreshold_data() {
    QTest::addColumn<char>("event");
    QTest::addColumn<unsigned>("threshold");
    QTest::addColumn<QString>("cause");
    QTest::newRow("http 1") << 'h' << 1u << "1 passive http failure (threshold 1)";
    QTest::newRow("http 3") << 'h' << 3u << "3 passive http failures (threshold 3)";
    QTest::newRow("tcp 2") << 't' << 2u << "2 passive tcp failures (threshold 2)";
    QTest::newRow("tcp 5") << 't' << 5u << "5 passive tcp failures (threshold 5)";
    QTest::newRow("timeout 1") << 'o' << 1u << "1 passive timeout (threshold 1)";
    QTest::newRow("timeout 4") << 'o' << 4u << "4 passive timeouts (threshold 4)";
    QTest::newRow("http 255") << 'h' << 255u << "255 passive http failures (threshold 255)";
}

void TestHealthState::passiveTripAfterThreshold() {
    QFETCH(char, event);
    QFETCH(unsigned, threshold);
    QFETCH(QString, cause);
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    // Only the counter under test is enabled, the others at a different threshold.
    HealthConfig config =
        passiveConfig(0, event == 'h' ? threshold : 100, event == 't' ? threshold : 100,
                      event == 'o' ? threshold : 100);
    for (unsigned i = 1; i < threshold; ++i) {
        QVERIFY(!registry.report(kUp, kAddr, config, Source::Passive, eventOf(event), "x"));
        QCOMPARE(registry.snapshot(kUp, kAddr).state, State::Healthy);
    }
    clock.now = 1234;
    auto t = registry.report(kUp, kAddr, config, Source::Passive, eventOf(event), "503");
    QVERIFY(t);
    QCOMPARE(t->upstream, kUp);
    QCOMPARE(t->address, kAddr);
    QCOMPARE(t->from, State::Healthy);
    QCOMPARE(t->to, State::Unhealthy);
    QCOMPARE(QString::fromStdString(t->cause), cause);
    auto s = registry.snapshot(kUp, kAddr);
    QCOMPARE(s.state, State::Unhealthy);
    QCOMPARE(s.last_change_source, Source::Passive);
    QCOMPARE(QString::fromStdString(s.last_change_cause), cause);
    QCOMPARE(s.last_change_time, 1234.0);
    // An unhealthy address drops further failures: nothing counts, no new transition.
    QVERIFY(!registry.report(kUp, kAddr, config, Source::Passive, eventOf(event), "x"));
    QCOMPARE(registry.snapshot(kUp, kAddr).state, State::Unhealthy);
}

void TestHealthState::whichEventClearsWhich_data() {
    QTest::addColumn<bool>("start_healthy");
    QTest::addColumn<QString>("events");
    QTest::addColumn<unsigned>("success");
    QTest::addColumn<unsigned>("http");
    QTest::addColumn<unsigned>("tcp");
    QTest::addColumn<unsigned>("timeouts");
    // Thresholds are 10 everywhere: no row trips.
    QTest::newRow("failures accumulate separately") << true << "hhtooo" << 0u << 2u << 1u << 3u;
    QTest::newRow("success clears all failures") << true << "htos" << 1u << 0u << 0u << 0u;
    QTest::newRow("failures after success") << true << "htosh" << 0u << 1u << 0u << 0u;
    QTest::newRow("healthy drops successes") << true << "ss" << 0u << 0u << 0u << 0u;
    QTest::newRow("unhealthy counts successes") << false << "ss" << 2u << 0u << 0u << 0u;
    QTest::newRow("unhealthy drops failures") << false << "hto" << 0u << 0u << 0u << 0u;
    QTest::newRow("http failure clears success") << false << "ssh" << 0u << 1u << 0u << 0u;
    QTest::newRow("tcp failure clears success") << false << "sst" << 0u << 0u << 1u << 0u;
    QTest::newRow("timeout clears success") << false << "sso" << 0u << 0u << 0u << 1u;
    QTest::newRow("mostly unhealthy counts failures") << false << "shht" << 0u << 2u << 1u << 0u;
    QTest::newRow("success then failures then success") << false << "shts" << 1u << 0u << 0u << 0u;
}

void TestHealthState::whichEventClearsWhich() {
    QFETCH(bool, start_healthy);
    QFETCH(QString, events);
    QFETCH(unsigned, success);
    QFETCH(unsigned, http);
    QFETCH(unsigned, tcp);
    QFETCH(unsigned, timeouts);
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(10, 10, 10, 10);
    if (!start_healthy) {
        registry.setManual(kUp, kAddr, State::Unhealthy);
    }
    QVERIFY(!play(registry, config, Source::Passive, events.toStdString()));
    auto c = registry.snapshot(kUp, kAddr).counters;
    QCOMPARE(c.success, success);
    QCOMPARE(c.http_failures, http);
    QCOMPARE(c.tcp_failures, tcp);
    QCOMPARE(c.timeouts, timeouts);
    QCOMPARE(registry.snapshot(kUp, kAddr).state,
             start_healthy ? State::Healthy : State::Unhealthy);
}

void TestHealthState::zeroThresholdDisablesCounter_data() {
    QTest::addColumn<char>("event");
    QTest::newRow("http") << 'h';
    QTest::newRow("tcp") << 't';
    QTest::newRow("timeout") << 'o';
    QTest::newRow("success") << 's';
}

void TestHealthState::zeroThresholdDisablesCounter() {
    QFETCH(char, event);
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(event == 's' ? 0 : 3, event == 'h' ? 0 : 3,
                                        event == 't' ? 0 : 3, event == 'o' ? 0 : 3);
    if (event == 's') {
        registry.setManual(kUp, kAddr, State::Unhealthy);
    }
    QVERIFY(!play(registry, config, Source::Passive, std::string(20, event)));
    auto s = registry.snapshot(kUp, kAddr);
    QCOMPARE(s.state, event == 's' ? State::Unhealthy : State::Healthy);
    QCOMPARE(s.counters.success + s.counters.http_failures + s.counters.tcp_failures +
                 s.counters.timeouts,
             0u);
}

void TestHealthState::healthyTrafficWithZeroSuccesses() {
    // Kong's documented consequence: with passive.healthy.successes = 0 healthy traffic does
    // not clear accumulated failures, so scattered failures trip the address eventually.
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(0, 3, 0, 0);
    QVERIFY(!play(registry, config, Source::Passive, "hsssssshssssss"));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.http_failures, 2u);
    auto t = play(registry, config, Source::Passive, "h");
    QVERIFY(t);
    QCOMPARE(t->to, State::Unhealthy);
}

void TestHealthState::mostlyHealthyCountsSuccesses() {
    // With successes > 0, a healthy address that saw a failure counts successes again
    // (lua-resty-healthcheck's mostly_healthy), which clear the failure counters.
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(2, 3, 0, 0);
    QVERIFY(!play(registry, config, Source::Passive, "hhs"));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.http_failures, 0u);
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 1u);
    QVERIFY(!play(registry, config, Source::Passive, "hhshhs"));
    QCOMPARE(registry.snapshot(kUp, kAddr).state, State::Healthy);
    // Reaching `successes` makes it fully healthy again: the next successes are dropped.
    QVERIFY(!play(registry, config, Source::Passive, "s"));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 2u);
    QVERIFY(!play(registry, config, Source::Passive, "s"));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 2u);
    QVERIFY(play(registry, config, Source::Passive, "hhh"));
}

void TestHealthState::activeAndPassiveThresholds() {
    FakeClock clock;
    HealthConfig config;
    config.active.unhealthy_http_failures = 2;
    config.active.unhealthy_timeouts = 0;
    config.passive.unhealthy_http_failures = 5;
    config.passive.unhealthy_timeouts = 1;
    {
        HealthRegistry registry(clock.fn());
        QVERIFY(!play(registry, config, Source::Active, "h"));
        auto t = play(registry, config, Source::Active, "h");
        QVERIFY(t);
        QCOMPARE(QString::fromStdString(t->cause), QString("2 active http failures (threshold 2)"));
        QCOMPARE(registry.snapshot(kUp, kAddr).last_change_source, Source::Active);
    }
    {
        HealthRegistry registry(clock.fn());
        QVERIFY(!play(registry, config, Source::Passive, "hhhh"));
        QCOMPARE(registry.snapshot(kUp, kAddr).state, State::Healthy);
        QVERIFY(play(registry, config, Source::Passive, "h"));
    }
    {
        // Active timeouts are disabled (0), passive ones trip at 1.
        HealthRegistry registry(clock.fn());
        QVERIFY(!play(registry, config, Source::Active, "oooo"));
        QCOMPARE(registry.snapshot(kUp, kAddr).counters.timeouts, 0u);
        QVERIFY(play(registry, config, Source::Passive, "o"));
    }
    {
        // Both sources count into the same counters, each against its own threshold.
        HealthRegistry registry(clock.fn());
        QVERIFY(!play(registry, config, Source::Passive, "h"));
        auto t = play(registry, config, Source::Active, "h");
        QVERIFY(t);
        QCOMPARE(QString::fromStdString(t->cause), QString("2 active http failures (threshold 2)"));
    }
}

void TestHealthState::activeRecoveryCause() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config;
    config.active.healthy_successes = 2;
    config.passive.unhealthy_tcp_failures = 1;
    auto down = play(registry, config, Source::Passive, "t");
    QVERIFY(down);
    QCOMPARE(QString::fromStdString(down->cause), QString("1 passive tcp failure (threshold 1)"));
    QVERIFY(!play(registry, config, Source::Active, "s"));
    // Passive successes are disabled (0): they do not help.
    QVERIFY(!play(registry, config, Source::Passive, "sss"));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 1u);
    auto up = play(registry, config, Source::Active, "s");
    QVERIFY(up);
    QCOMPARE(up->from, State::Unhealthy);
    QCOMPARE(up->to, State::Healthy);
    QCOMPARE(QString::fromStdString(up->cause), QString("2 active successes (threshold 2)"));
    QCOMPARE(registry.snapshot(kUp, kAddr).last_change_source, Source::Active);
}

void TestHealthState::counterSaturates() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(255, 255, 255, 255);
    registry.setManual(kUp, kAddr, State::Unhealthy);
    QVERIFY(!play(registry, config, Source::Passive, std::string(254, 's')));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 254u);
    QVERIFY(play(registry, config, Source::Passive, "s"));
}

void TestHealthState::manualOverride() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(5, 5, 5, 5);
    QVERIFY(!play(registry, config, Source::Passive, "htoo"));
    clock.now = 2000;
    auto t = registry.setManual(kUp, kAddr, State::Unhealthy);
    QVERIFY(t);
    QCOMPARE(t->to, State::Unhealthy);
    QCOMPARE(QString::fromStdString(t->cause), QString("manual"));
    auto s = registry.snapshot(kUp, kAddr);
    QCOMPARE(s.counters.http_failures + s.counters.tcp_failures + s.counters.timeouts, 0u);
    QCOMPARE(s.last_change_source, Source::Manual);
    QCOMPARE(s.last_change_time, 2000.0);
    QVERIFY(!registry.available(kUp, kAddr, config));

    QVERIFY(!play(registry, config, Source::Passive, "ss"));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 2u);
    // Same state again: no transition, counters zeroed anyway.
    QVERIFY(!registry.setManual(kUp, kAddr, State::Unhealthy));
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.success, 0u);

    auto back = registry.setManual(kUp, kAddr, State::Healthy);
    QVERIFY(back);
    QCOMPARE(back->from, State::Unhealthy);
    QVERIFY(registry.available(kUp, kAddr, config));
    // Manual on an address never reported creates it.
    QVERIFY(registry.setManual(kUp, "10.0.0.9:80", State::Unhealthy));
    QCOMPARE(registry.snapshot(kUp, "10.0.0.9:80").state, State::Unhealthy);
}

void TestHealthState::halfOpenTrial() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(0, 3, 0, 0);
    config.passive_recovery_s = 30;
    QVERIFY(registry.available(kUp, kAddr, config));
    QVERIFY(play(registry, config, Source::Passive, "hhh"));
    QVERIFY(!registry.available(kUp, kAddr, config));
    QVERIFY(!registry.snapshot(kUp, kAddr).half_open);
    clock.now += 29.75;
    QVERIFY(!registry.available(kUp, kAddr, config));
    QVERIFY(!registry.snapshot(kUp, kAddr).half_open);
    clock.now += 0.25;
    QVERIFY(registry.snapshot(kUp, kAddr).half_open);
    // Exactly one caller gets the trial.
    QVERIFY(registry.available(kUp, kAddr, config));
    QVERIFY(!registry.available(kUp, kAddr, config));
    QVERIFY(!registry.available(kUp, kAddr, config));
    QVERIFY(registry.snapshot(kUp, kAddr).half_open);
    // The trial's success is a full recovery, whatever passive.healthy.successes says.
    auto t = registry.report(kUp, kAddr, config, Source::Passive, Event::Success, "200");
    QVERIFY(t);
    QCOMPARE(t->to, State::Healthy);
    QCOMPARE(QString::fromStdString(t->cause),
             QString("passive trial request succeeded after 30 s cool-down"));
    auto s = registry.snapshot(kUp, kAddr);
    QVERIFY(!s.half_open);
    QCOMPARE(s.counters.http_failures, 0u);
    QVERIFY(registry.available(kUp, kAddr, config));
    // And it can trip again from zero.
    QVERIFY(!play(registry, config, Source::Passive, "hh"));
    QVERIFY(play(registry, config, Source::Passive, "h"));
}

void TestHealthState::halfOpenTrialFailureRestartsCooldown() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(0, 1, 0, 0);
    config.passive_recovery_s = 10;
    QVERIFY(play(registry, config, Source::Passive, "h"));
    clock.now += 10;
    QVERIFY(registry.available(kUp, kAddr, config));
    clock.now += 2;
    // The trial fails (any failure, even one whose counter is disabled).
    QVERIFY(!registry.report(kUp, kAddr, config, Source::Passive, Event::Timeout, "timeout"));
    QCOMPARE(registry.snapshot(kUp, kAddr).state, State::Unhealthy);
    QVERIFY(!registry.snapshot(kUp, kAddr).half_open);
    clock.now += 9.5;
    QVERIFY(!registry.available(kUp, kAddr, config));
    clock.now += 0.5;
    QVERIFY(registry.available(kUp, kAddr, config));
    QVERIFY(!registry.available(kUp, kAddr, config));
    QVERIFY(registry.report(kUp, kAddr, config, Source::Passive, Event::Success, "200"));
}

void TestHealthState::halfOpenLostTrial() {
    // A trial whose result never comes (a status in neither list is not reported) does not
    // block the address forever: after another cool-down the next caller is the trial.
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config = passiveConfig(0, 1, 0, 0);
    config.passive_recovery_s = 5;
    QVERIFY(play(registry, config, Source::Passive, "h"));
    clock.now += 5;
    QVERIFY(registry.available(kUp, kAddr, config));
    clock.now += 4.75;
    QVERIFY(!registry.available(kUp, kAddr, config));
    clock.now += 0.25;
    QVERIFY(registry.available(kUp, kAddr, config));
    QVERIFY(!registry.available(kUp, kAddr, config));
}

void TestHealthState::halfOpenOnlyAfterPassiveTrip_data() {
    QTest::addColumn<QString>("how");
    QTest::addColumn<double>("recovery");
    QTest::addColumn<bool>("half_open");
    QTest::newRow("passive, extension on") << "passive" << 30.0 << true;
    QTest::newRow("passive, extension off (Kong)") << "passive" << 0.0 << false;
    QTest::newRow("active trip") << "active" << 30.0 << false;
    QTest::newRow("manual") << "manual" << 30.0 << false;
}

void TestHealthState::halfOpenOnlyAfterPassiveTrip() {
    QFETCH(QString, how);
    QFETCH(double, recovery);
    QFETCH(bool, half_open);
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config;
    config.active.unhealthy_http_failures = 1;
    config.passive.unhealthy_http_failures = 1;
    config.passive_recovery_s = recovery;
    if (how == "manual") {
        registry.setManual(kUp, kAddr, State::Unhealthy);
    } else {
        QVERIFY(play(registry, config, how == "active" ? Source::Active : Source::Passive, "h"));
    }
    clock.now += 1000;
    QCOMPARE(registry.snapshot(kUp, kAddr).half_open, half_open);
    QCOMPARE(registry.available(kUp, kAddr, config), half_open);
}

void TestHealthState::lastProbeAndFailure() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    HealthConfig config;  // every threshold 0: nothing counts, but the views still record
    auto s = registry.snapshot(kUp, kAddr);
    QVERIFY(!s.last_probe_time);
    QVERIFY(!s.last_failure_time);
    clock.now = 10;
    registry.report(kUp, kAddr, config, Source::Active, Event::Success, "200");
    clock.now = 11;
    registry.report(kUp, kAddr, config, Source::Passive, Event::HttpFailure, "503 from upstream");
    s = registry.snapshot(kUp, kAddr);
    QCOMPARE(*s.last_probe_time, 10.0);
    QCOMPARE(QString::fromStdString(s.last_probe_result), QString("200"));
    QCOMPARE(*s.last_failure_time, 11.0);
    QCOMPARE(QString::fromStdString(s.last_failure_cause), QString("passive: 503 from upstream"));
    clock.now = 12;
    registry.report(kUp, kAddr, config, Source::Active, Event::Timeout, "timeout");
    s = registry.snapshot(kUp, kAddr);
    QCOMPARE(*s.last_probe_time, 12.0);
    QCOMPARE(QString::fromStdString(s.last_probe_result), QString("timeout"));
    QCOMPARE(QString::fromStdString(s.last_failure_cause), QString("active: timeout"));
    clock.now = 13;
    registry.recordProbe(kUp, kAddr, "418");
    s = registry.snapshot(kUp, kAddr);
    QCOMPARE(*s.last_probe_time, 13.0);
    QCOMPARE(QString::fromStdString(s.last_probe_result), QString("418"));
    QCOMPARE(*s.last_failure_time, 12.0);
}

void TestHealthState::fromJsonDefaults() {
    HealthConfig def;
    HealthConfig parsed = HealthConfig::fromJson(boost::json::object{});
    QCOMPARE(QString::fromStdString(parsed.active.type), QString("http"));
    QCOMPARE(parsed.active.timeout_s, 1.0);
    QCOMPARE(parsed.active.concurrency, 10u);
    QCOMPARE(QString::fromStdString(parsed.active.http_path), QString("/"));
    QVERIFY(parsed.active.headers.empty());
    QCOMPARE(parsed.active.healthy_interval_s, 0.0);
    QCOMPARE(toList(parsed.active.healthy_statuses), QList<int>({200, 302}));
    QCOMPARE(parsed.active.healthy_successes, 0u);
    QCOMPARE(parsed.active.unhealthy_interval_s, 0.0);
    QCOMPARE(toList(parsed.active.unhealthy_statuses),
             QList<int>({429, 404, 500, 501, 502, 503, 504, 505}));
    QCOMPARE(parsed.active.unhealthy_tcp_failures, 0u);
    QCOMPARE(parsed.active.unhealthy_timeouts, 0u);
    QCOMPARE(parsed.active.unhealthy_http_failures, 0u);
    QCOMPARE(QString::fromStdString(parsed.passive.type), QString("http"));
    QCOMPARE(toList(parsed.passive.healthy_statuses),
             QList<int>({200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
                         305, 306, 307, 308}));
    QCOMPARE(parsed.passive.healthy_successes, 0u);
    QCOMPARE(toList(parsed.passive.unhealthy_statuses), QList<int>({429, 500, 503}));
    QCOMPARE(parsed.passive.unhealthy_tcp_failures, 0u);
    QCOMPARE(parsed.passive.unhealthy_timeouts, 0u);
    QCOMPARE(parsed.passive.unhealthy_http_failures, 0u);
    QCOMPARE(parsed.threshold, 0.0);
    QCOMPARE(parsed.passive_recovery_s, 0.0);
    QVERIFY(!parsed.inUse());
    QCOMPARE(toList(parsed.passive.healthy_statuses), toList(def.passive.healthy_statuses));

    // Kong's own output for an upstream created without healthchecks: the whole tree with
    // nulls where Kong has no value.
    const char* kong =
        "{\"threshold\":0,\"active\":{\"type\":\"http\",\"timeout\":1,\"concurrency\":10,"
        "\"http_path\":\"/\",\"https_sni\":null,\"https_verify_certificate\":true,"
        "\"headers\":null,\"healthy\":{\"interval\":0,\"http_statuses\":[200,302],"
        "\"successes\":0},\"unhealthy\":{\"interval\":0,\"http_statuses\":[429,404,500,501,"
        "502,503,504,505],\"tcp_failures\":0,\"timeouts\":0,\"http_failures\":0}},"
        "\"passive\":{\"type\":\"http\",\"healthy\":{\"http_statuses\":[200,201,202,203,204,"
        "205,206,207,208,226,300,301,302,303,304,305,306,307,308],\"successes\":0},"
        "\"unhealthy\":{\"http_statuses\":[429,500,503],\"tcp_failures\":0,\"timeouts\":0,"
        "\"http_failures\":0}}}";
    HealthConfig full = HealthConfig::fromJson(boost::json::parse(kong).as_object());
    QCOMPARE(toList(full.active.unhealthy_statuses), toList(def.active.unhealthy_statuses));
    QCOMPARE(toList(full.passive.healthy_statuses), toList(def.passive.healthy_statuses));
    QVERIFY(full.active.headers.empty());
    QVERIFY(!full.inUse());
}

void TestHealthState::fromJsonFullTree() {
    const char* text =
        "{\"threshold\":25.5,"
        "\"active\":{\"type\":\"tcp\",\"timeout\":2.5,\"concurrency\":3,"
        "\"http_path\":\"/status\",\"https_sni\":\"api.test\","
        "\"https_verify_certificate\":false,"
        "\"headers\":{\"X-Probe\":[\"a\",\"b\"],\"X-One\":\"c\"},"
        "\"healthy\":{\"interval\":5,\"http_statuses\":[200],\"successes\":2},"
        "\"unhealthy\":{\"interval\":0.5,\"http_statuses\":[500,503],\"tcp_failures\":4,"
        "\"timeouts\":6,\"http_failures\":7}},"
        "\"passive\":{\"type\":\"tcp\","
        "\"healthy\":{\"http_statuses\":[200,204],\"successes\":8},"
        "\"unhealthy\":{\"http_statuses\":[502],\"tcp_failures\":9,\"timeouts\":10,"
        "\"http_failures\":11}}}";
    HealthConfig c = HealthConfig::fromJson(boost::json::parse(text).as_object());
    QCOMPARE(c.threshold, 25.5);
    QCOMPARE(QString::fromStdString(c.active.type), QString("tcp"));
    QCOMPARE(c.active.timeout_s, 2.5);
    QCOMPARE(c.active.concurrency, 3u);
    QCOMPARE(QString::fromStdString(c.active.http_path), QString("/status"));
    QCOMPARE(c.active.headers.size(), std::size_t(3));
    std::vector<std::pair<std::string, std::string>> headers = c.active.headers;
    std::sort(headers.begin(), headers.end());
    QCOMPARE(QString::fromStdString(headers[0].first + "=" + headers[0].second),
             QString("X-One=c"));
    QCOMPARE(QString::fromStdString(headers[1].first + "=" + headers[1].second),
             QString("X-Probe=a"));
    QCOMPARE(QString::fromStdString(headers[2].first + "=" + headers[2].second),
             QString("X-Probe=b"));
    QCOMPARE(c.active.healthy_interval_s, 5.0);
    QCOMPARE(toList(c.active.healthy_statuses), QList<int>({200}));
    QCOMPARE(c.active.healthy_successes, 2u);
    QCOMPARE(c.active.unhealthy_interval_s, 0.5);
    QCOMPARE(toList(c.active.unhealthy_statuses), QList<int>({500, 503}));
    QCOMPARE(c.active.unhealthy_tcp_failures, 4u);
    QCOMPARE(c.active.unhealthy_timeouts, 6u);
    QCOMPARE(c.active.unhealthy_http_failures, 7u);
    QCOMPARE(QString::fromStdString(c.passive.type), QString("tcp"));
    QCOMPARE(toList(c.passive.healthy_statuses), QList<int>({200, 204}));
    QCOMPARE(c.passive.healthy_successes, 8u);
    QCOMPARE(toList(c.passive.unhealthy_statuses), QList<int>({502}));
    QCOMPARE(c.passive.unhealthy_tcp_failures, 9u);
    QCOMPARE(c.passive.unhealthy_timeouts, 10u);
    QCOMPARE(c.passive.unhealthy_http_failures, 11u);
    QVERIFY(c.inUse());
    QVERIFY(c.activeInUse());
}

void TestHealthState::fromJsonOddValues() {
    // Partial trees keep the other defaults; nulls and wrong types keep the default; the
    // library's older header shape is read too; concurrency is at least 1.
    const char* text =
        "{\"active\":{\"timeout\":null,\"concurrency\":0,\"http_path\":7,"
        "\"headers\":[\"X-A: 1\",\"X-B:2\",\"bad\"],"
        "\"unhealthy\":{\"interval\":\"5\",\"http_failures\":3}},"
        "\"passive\":{\"unhealthy\":{\"http_statuses\":null,\"timeouts\":2}}}";
    HealthConfig c = HealthConfig::fromJson(boost::json::parse(text).as_object());
    QCOMPARE(c.active.timeout_s, 1.0);
    QCOMPARE(c.active.concurrency, 1u);
    QCOMPARE(QString::fromStdString(c.active.http_path), QString("/"));
    QCOMPARE(c.active.headers.size(), std::size_t(2));
    QCOMPARE(QString::fromStdString(c.active.headers[0].first), QString("X-A"));
    QCOMPARE(QString::fromStdString(c.active.headers[0].second), QString("1"));
    QCOMPARE(QString::fromStdString(c.active.headers[1].second), QString("2"));
    QCOMPARE(c.active.unhealthy_interval_s, 0.0);
    QCOMPARE(c.active.unhealthy_http_failures, 3u);
    QCOMPARE(toList(c.passive.unhealthy_statuses), QList<int>({429, 500, 503}));
    QCOMPARE(c.passive.unhealthy_timeouts, 2u);
    QVERIFY(c.inUse());
    QVERIFY(!c.activeInUse());
}

void TestHealthState::inUse_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<bool>("in_use");
    QTest::newRow("nothing") << "" << false;
    QTest::newRow("active.healthy.interval") << "ahi" << true;
    QTest::newRow("active.unhealthy.interval") << "aui" << true;
    QTest::newRow("passive.unhealthy.tcp_failures") << "put" << true;
    QTest::newRow("passive.unhealthy.timeouts") << "puo" << true;
    QTest::newRow("passive.unhealthy.http_failures") << "puh" << true;
    QTest::newRow("active thresholds alone") << "at" << false;
    QTest::newRow("passive successes alone") << "ps" << false;
    QTest::newRow("threshold alone") << "th" << false;
    QTest::newRow("recovery alone") << "rec" << false;
}

void TestHealthState::inUse() {
    QFETCH(QString, field);
    QFETCH(bool, in_use);
    HealthConfig c;
    if (field == "ahi") {
        c.active.healthy_interval_s = 1;
    } else if (field == "aui") {
        c.active.unhealthy_interval_s = 1;
    } else if (field == "put") {
        c.passive.unhealthy_tcp_failures = 1;
    } else if (field == "puo") {
        c.passive.unhealthy_timeouts = 1;
    } else if (field == "puh") {
        c.passive.unhealthy_http_failures = 1;
    } else if (field == "at") {
        c.active.unhealthy_http_failures = 3;
        c.active.healthy_successes = 3;
    } else if (field == "ps") {
        c.passive.healthy_successes = 3;
    } else if (field == "th") {
        c.threshold = 50;
    } else if (field == "rec") {
        c.passive_recovery_s = 30;
    }
    QCOMPARE(c.inUse(), in_use);
}

void TestHealthState::eventForStatus_data() {
    QTest::addColumn<bool>("active");
    QTest::addColumn<int>("status");
    QTest::addColumn<int>("expected");  // -1 ignored, else Event
    QTest::newRow("passive 200") << false << 200 << int(Event::Success);
    QTest::newRow("passive 308") << false << 308 << int(Event::Success);
    QTest::newRow("passive 500") << false << 500 << int(Event::HttpFailure);
    QTest::newRow("passive 429") << false << 429 << int(Event::HttpFailure);
    QTest::newRow("passive 404 ignored") << false << 404 << -1;
    QTest::newRow("passive 502 ignored") << false << 502 << -1;
    QTest::newRow("passive invalid") << false << 0 << int(Event::HttpFailure);
    QTest::newRow("active 200") << true << 200 << int(Event::Success);
    QTest::newRow("active 201 ignored") << true << 201 << -1;
    QTest::newRow("active 404") << true << 404 << int(Event::HttpFailure);
    QTest::newRow("active 502") << true << 502 << int(Event::HttpFailure);
    QTest::newRow("active invalid") << true << 0 << int(Event::HttpFailure);
}

void TestHealthState::eventForStatus() {
    QFETCH(bool, active);
    QFETCH(int, status);
    QFETCH(int, expected);
    auto event = portico::health::eventForStatus(HealthConfig{},
                                                 active ? Source::Active : Source::Passive, status);
    QCOMPARE(event ? int(*event) : -1, expected);
}

void TestHealthState::retainAndForget() {
    FakeClock clock;
    HealthRegistry registry(clock.fn());
    registry.setManual("a", "1:1", State::Unhealthy);
    registry.setManual("a", "2:2", State::Unhealthy);
    registry.setManual("b", "1:1", State::Unhealthy);
    registry.retain("a", {"2:2"});
    QCOMPARE(registry.snapshot("a", "1:1").state, State::Healthy);  // forgotten: default
    QCOMPARE(registry.snapshot("a", "2:2").state, State::Unhealthy);
    QCOMPARE(registry.snapshot("b", "1:1").state, State::Unhealthy);
    registry.forgetUpstream("a");
    QCOMPARE(registry.snapshot("a", "2:2").state, State::Healthy);
    QCOMPARE(registry.snapshot("b", "1:1").state, State::Unhealthy);
    QCOMPARE(QString(toString(State::Unhealthy)), QString("UNHEALTHY"));
    QCOMPARE(QString(toString(Source::Passive)), QString("passive"));
}

void TestHealthState::concurrentReports() {
    // Reports from many workers at once: exactly one transition, counters consistent.
    std::atomic<double> now{1};
    HealthRegistry registry([&] { return now.load(); });
    HealthConfig config = passiveConfig(0, 200, 0, 0);
    std::atomic<int> transitions{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (registry.report(kUp, kAddr, config, Source::Passive, Event::HttpFailure,
                                    "500")) {
                    ++transitions;
                }
                registry.available(kUp, kAddr, config);
                registry.snapshot(kUp, kAddr);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    QCOMPARE(transitions.load(), 1);
    QCOMPARE(registry.snapshot(kUp, kAddr).counters.http_failures, 200u);
}

QTEST_APPLESS_MAIN(TestHealthState)
#include "test_health_state.moc"
