// UpstreamRuntime (kong-compat.md §1.4, §5): picks over the targets of a snapshot, passive
// health from reports, the upstream-level threshold, the explanations of "failure to get a peer
// from the ring-balancer", manual overrides through the Admin API handler, state kept across
// sync(), consistent hashing inputs, Kong's /health shapes, the balancer view, metrics and the
// half-open extension. Targets are IP literals on 127.0.0.1 where nothing listens; only the
// active-check test probes two ports of its own and the hostname test resolves "localhost"
// from the hosts file. Health state runs on a fake clock, picks on a seeded generator.

#include "gateway/admin/upstream_api.hpp"
#include "gateway/config/config_snapshot.hpp"
#include "gateway/core/settings.hpp"
#include "gateway/proxy/upstream_runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <QtTest>
// Qt's `slots` keyword is a macro; Balancer::slots() needs the name (the class uses Q_SLOTS).
#undef slots

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using portico::admin::handleUpstreamEndpoint;
using portico::config::ConfigSnapshot;
using portico::config::Upstream;
using portico::core::Settings;
using portico::declarative::EntitySet;
using portico::http::HttpRequest;
using portico::proxy::HashInputs;
using portico::proxy::Pick;
using portico::proxy::UpstreamRuntime;

namespace {

json::object upstreamEntity(const std::string& id, const std::string& name,
                            const json::object& extra = {}) {
    json::object u{{"id", id},
                   {"name", name},
                   {"algorithm", "round-robin"},
                   {"hash_on", "none"},
                   {"hash_fallback", "none"},
                   {"hash_on_cookie_path", "/"},
                   {"slots", 10000}};
    for (auto it = extra.begin(); it != extra.end(); ++it) {
        u[it->key()] = it->value();
    }
    return u;
}

json::object targetEntity(const std::string& id, const std::string& upstream_id,
                          const std::string& target, int weight = 100) {
    return json::object{{"id", id},
                        {"target", target},
                        {"weight", weight},
                        {"upstream", json::object{{"id", upstream_id}}}};
}

// {"passive": {"unhealthy": {"http_failures": n, "tcp_failures": n, "timeouts": n}}}
json::object passiveChecks(int http_failures, int tcp_failures = 0, int timeouts = 0,
                           int successes = 0) {
    return json::object{
        {"passive", json::object{{"unhealthy", json::object{{"http_failures", http_failures},
                                                            {"tcp_failures", tcp_failures},
                                                            {"timeouts", timeouts}}},
                                 {"healthy", json::object{{"successes", successes}}}}}};
}

std::vector<std::string> pathSegments(const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    std::vector<std::string> segments;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        if (end > start) {
            segments.push_back(path.substr(start, end - start));
        }
        start = end + 1;
    }
    return segments;
}

bool contains(const std::vector<std::string>& sentences, const std::string& a,
              const std::string& b = {}) {
    for (const auto& s : sentences) {
        if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) {
            return true;
        }
    }
    return false;
}

QString joined(const std::vector<std::string>& sentences) {
    QStringList list;
    for (const auto& s : sentences) {
        list << QString::fromStdString(s);
    }
    return list.join(" | ");
}

// A runtime over entities, with a fake clock.
struct Fixture {
    explicit Fixture(unsigned passive_recovery = 0) {
        settings.upstream_passive_recovery = passive_recovery;
        runtime = std::make_unique<UpstreamRuntime>(io, settings, [this] { return now; });
    }
    ~Fixture() { runtime->stop(); }

    void load(std::vector<json::object> upstreams, std::vector<json::object> targets) {
        EntitySet entities;
        entities["upstreams"] = std::move(upstreams);
        entities["targets"] = std::move(targets);
        snapshot = portico::config::buildSnapshot(entities, ++revision);
        runtime->sync(snapshot);
        io.restart();
        io.poll();
    }

    const Upstream& upstream(const std::string& name) const { return *snapshot->upstream(name); }

    Pick pick(const std::string& name, const std::vector<std::size_t>& tried = {},
              const HashInputs& inputs = {}) {
        return runtime->pick(upstream(name), inputs, tried, random());
    }

    // Picks until `key` comes up (at most 1,000 tries); the pick, or one without an address.
    Pick pickKey(const std::string& name, const std::string& key) {
        for (int i = 0; i < 1000; ++i) {
            Pick p = pick(name);
            if (p.address() != nullptr && p.address()->key() == key) {
                return p;
            }
        }
        return Pick{};
    }

    // One proxied try answered with `status`.
    void serve(const std::string& name, const std::string& key, int status) {
        Pick p = pickKey(name, key);
        QVERIFY2(p.address() != nullptr, key.c_str());
        runtime->reportStart(p);
        runtime->reportStatus(p, status, 5);
    }

    std::map<std::string, int> tally(const std::string& name, int picks) {
        std::map<std::string, int> counts;
        for (int i = 0; i < picks; ++i) {
            Pick p = pick(name);
            counts[p.address() != nullptr ? p.address()->key() : std::string("none")]++;
        }
        return counts;
    }

    json::object health(const std::string& name, bool balancer = false) {
        return runtime->healthView(name, balancer, "node-1").value();
    }

    // The `health` of `target` in GET /upstreams/{name}/health.
    std::string targetHealth(const std::string& name, const std::string& target) {
        auto view = health(name);
        for (const auto& item : view.at("data").as_array()) {
            if (item.at("target").as_string() == target) {
                return std::string(item.at("health").as_string());
            }
        }
        return "absent";
    }

    std::optional<portico::http::HttpResponse> admin(const std::string& method,
                                                     const std::string& target) {
        HttpRequest request;
        request.method = method;
        request.target = target;
        std::string allow;
        return handleUpstreamEndpoint(*runtime, "node-1", request, pathSegments(target), allow);
    }

    boost::asio::io_context io;
    Settings settings;
    double now = 1'700'000'000;
    std::mt19937_64 random{42};  // seeded: runs are identical
    std::int64_t revision = 0;
    std::shared_ptr<const ConfigSnapshot> snapshot;
    std::unique_ptr<UpstreamRuntime> runtime;
};

const std::string kA = "127.0.0.1:9001";
const std::string kB = "127.0.0.1:9002";
const std::string kC = "127.0.0.1:9003";

}  // namespace

class UpstreamRuntimeTest : public QObject {
    Q_OBJECT

    boost::asio::io_context io_;  // for sockets the tests themselves open

private Q_SLOTS:
    void picksFollowWeights() {
        Fixture f;
        f.load({upstreamEntity("u1", "orders")},
               {targetEntity("t1", "u1", kA, 100), targetEntity("t2", "u1", kB, 300)});
        auto counts = f.tally("orders", 4000);
        QCOMPARE(counts[kA], 1000);
        QCOMPARE(counts[kB], 3000);
        QCOMPARE(counts.count("none"), std::size_t(0));
    }

    void passiveReportsTripAtTheThreshold() {
        Fixture f;
        f.load({upstreamEntity("u1", "orders", {{"healthchecks", passiveChecks(3)}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        f.serve("orders", kA, 500);
        f.serve("orders", kA, 500);
        QCOMPARE(f.targetHealth("orders", kA), std::string("HEALTHY"));
        QVERIFY(f.tally("orders", 10)[kA] > 0);
        f.serve("orders", kA, 500);
        QCOMPARE(f.targetHealth("orders", kA), std::string("UNHEALTHY"));
        auto counts = f.tally("orders", 50);
        QCOMPARE(counts[kA], 0);
        QCOMPARE(counts[kB], 50);

        // A status in neither list is ignored; 504 counts as a timeout (§5.3).
        f.load({upstreamEntity("u2", "edge", {{"healthchecks", passiveChecks(1, 0, 1)}})},
               {targetEntity("t3", "u2", kA), targetEntity("t4", "u2", kB)});
        f.serve("edge", kA, 404);
        QCOMPARE(f.targetHealth("edge", kA), std::string("HEALTHY"));
        f.serve("edge", kA, 504);
        QCOMPARE(f.targetHealth("edge", kA), std::string("UNHEALTHY"));
        auto view = f.runtime->balancerView("edge").value();
        const auto& first = view.at("addresses").as_array()[0].as_object();
        QCOMPARE(first.at("key").as_string(), json::string(kA));
        QCOMPARE(first.at("state").as_string(), json::string("unhealthy"));
        QCOMPARE(first.at("passive_failures_total").at("timeout").to_number<int>(), 1);
        QCOMPARE(first.at("passive_failures_total").at("http").to_number<int>(), 0);
        QCOMPARE(first.at("last_change").at("source").as_string(), json::string("passive"));
    }

    void connectFailuresCountAsTcpFailuresAndTimeouts() {
        Fixture f;
        f.load({upstreamEntity("u1", "orders", {{"healthchecks", passiveChecks(0, 2, 1)}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        Pick p = f.pickKey("orders", kA);
        f.runtime->reportStart(p);
        f.runtime->reportConnectFailure(p, false, "connection refused");
        QCOMPARE(f.targetHealth("orders", kA), std::string("HEALTHY"));
        p = f.pickKey("orders", kA);
        f.runtime->reportStart(p);
        f.runtime->reportConnectFailure(p, false, "connection refused");
        QCOMPARE(f.targetHealth("orders", kA), std::string("UNHEALTHY"));
        p = f.pickKey("orders", kB);
        f.runtime->reportStart(p);
        f.runtime->reportConnectFailure(p, true, "connect timeout");
        QCOMPARE(f.targetHealth("orders", kB), std::string("UNHEALTHY"));

        auto metrics = f.runtime->renderPrometheus();
        QVERIFY2(metrics.find("portico_upstream_passive_failures_total{upstream=\"orders\","
                              "address=\"127.0.0.1:9001\",kind=\"tcp\"} 2") != std::string::npos,
                 metrics.c_str());
        QVERIFY2(
            metrics.find("portico_upstream_passive_failures_total{upstream=\"orders\","
                         "address=\"127.0.0.1:9002\",kind=\"timeout\"} 1") != std::string::npos,
            metrics.c_str());
        QVERIFY2(
            metrics.find("portico_upstream_target_health{upstream=\"orders\",target=\"" + kA +
                         "\",address=\"" + kA + "\",state=\"unhealthy\"} 1") != std::string::npos,
            metrics.c_str());
        QVERIFY2(
            metrics.find("portico_upstream_target_health{upstream=\"orders\",target=\"" + kA +
                         "\",address=\"" + kA + "\",state=\"healthy\"} 0") != std::string::npos,
            metrics.c_str());
    }

    void allUnhealthyExplainsEveryAddress() {
        Fixture f;
        f.load({upstreamEntity("u1", "doomed", {{"healthchecks", passiveChecks(1)}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        f.serve("doomed", kA, 500);
        f.serve("doomed", kB, 503);
        Pick p = f.pick("doomed");
        QVERIFY(p.address() == nullptr);
        QVERIFY(!p.index);
        QCOMPARE(p.reasons.size(), std::size_t(2));
        QVERIFY2(contains(p.reasons, "target " + kA, "unhealthy by passive health checks"),
                 qPrintable(joined(p.reasons)));
        QVERIFY2(contains(p.reasons, "target " + kB, "unhealthy by passive health checks"),
                 qPrintable(joined(p.reasons)));
        QVERIFY2(contains(p.reasons, kA, "500 from upstream"), qPrintable(joined(p.reasons)));
        QVERIFY2(contains(p.reasons, kB, "503 from upstream"), qPrintable(joined(p.reasons)));
        QVERIFY2(contains(p.reasons, kA, "2023-11-14T22:13:20Z"), qPrintable(joined(p.reasons)));
        QCOMPARE(
            p.summary,
            std::string("no address of upstream 'doomed' is available: 2 addresses unhealthy"));
        auto balancer = f.health("doomed", true);
        QCOMPARE(balancer.at("data").at("balancer_health").as_string(), json::string("UNHEALTHY"));

        // An upstream without targets.
        f.load({upstreamEntity("u2", "hollow")}, {});
        p = f.pick("hollow");
        QVERIFY(p.address() == nullptr);
        QCOMPARE(p.summary, std::string("upstream 'hollow' has no targets"));
    }

    void triedAndManualReasons() {
        Fixture f;
        f.load({upstreamEntity("u1", "orders")},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        QCOMPARE(f.runtime->setHealth("orders", kB, "", false), std::string());
        Pick first = f.pick("orders");
        QVERIFY(first.address() != nullptr);
        QCOMPARE(first.address()->key(), kA);
        Pick retry = f.pick("orders", {*first.index});
        QVERIFY(retry.address() == nullptr);
        QVERIFY2(contains(retry.reasons, "target " + kA, "failed earlier in this request"),
                 qPrintable(joined(retry.reasons)));
        QVERIFY2(
            contains(retry.reasons, "target " + kB, "was marked unhealthy through the Admin API"),
            qPrintable(joined(retry.reasons)));
        QCOMPARE(retry.summary, std::string("no address of upstream 'orders' is available: 1 "
                                            "address unhealthy, 1 address failed earlier in "
                                            "this request"));
    }

    void thresholdMakesTheUpstreamUnhealthy() {
        Fixture f;
        json::object checks = passiveChecks(5);
        checks["threshold"] = 50;
        f.load({upstreamEntity("u1", "guarded", {{"healthchecks", checks}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        QCOMPARE(f.health("guarded", true).at("data").at("balancer_health").as_string(),
                 json::string("HEALTHY"));
        QCOMPARE(f.runtime->setHealth("guarded", kA, "", false), std::string());
        QCOMPARE(f.targetHealth("guarded", kB), std::string("HEALTHY"));
        Pick p = f.pick("guarded");
        QVERIFY(p.address() == nullptr);
        QCOMPARE(p.summary, std::string("upstream 'guarded' is unhealthy: 50% of its weight is "
                                        "available, threshold 50%"));
        QVERIFY2(
            contains(p.reasons, "target " + kB, "is healthy, but the upstream as a whole is not"),
            qPrintable(joined(p.reasons)));
        QVERIFY2(contains(p.reasons, "target " + kA, "marked unhealthy"),
                 qPrintable(joined(p.reasons)));
        auto data = f.health("guarded", true).at("data").as_object();
        QCOMPARE(data.at("balancer_health").as_string(), json::string("UNHEALTHY"));
        QCOMPARE(data.at("health").as_string(), json::string("UNHEALTHY"));
        QCOMPARE(f.runtime->setHealth("guarded", kA, "", true), std::string());
        QVERIFY(f.pick("guarded").address() != nullptr);

        // Three targets, one down: 66% > 50%.
        f.load({upstreamEntity("u1", "guarded", {{"healthchecks", checks}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB),
                targetEntity("t3", "u1", kC)});
        QCOMPARE(f.runtime->setHealth("guarded", kA, "", false), std::string());
        QVERIFY(f.pick("guarded").address() != nullptr);
    }

    void weightZeroReason() {
        Fixture f;
        f.load({upstreamEntity("u1", "idle")},
               {targetEntity("t1", "u1", kA, 0), targetEntity("t2", "u1", kB, 100)});
        auto counts = f.tally("idle", 20);
        QCOMPARE(counts[kB], 20);
        QCOMPARE(f.runtime->setHealth("idle", kB, "", false), std::string());
        Pick p = f.pick("idle");
        QVERIFY(p.address() == nullptr);
        QVERIFY2(contains(p.reasons, "target " + kA, "has weight 0"),
                 qPrintable(joined(p.reasons)));
        QVERIFY2(contains(p.reasons, "target " + kB, "marked unhealthy"),
                 qPrintable(joined(p.reasons)));
        QCOMPARE(f.targetHealth("idle", kA), std::string("HEALTHCHECKS_OFF"));

        f.load({upstreamEntity("u2", "asleep")}, {targetEntity("t3", "u2", kA, 0)});
        p = f.pick("asleep");
        QVERIFY(p.address() == nullptr);
        QCOMPARE(p.summary, std::string("upstream 'asleep' has no address that can take traffic: "
                                        "1 target with weight 0"));
    }

    void nameTargetNotResolvedYet() {
        Fixture f;
        f.load({upstreamEntity("u1", "named")}, {targetEntity("t1", "u1", "backend.invalid:80")});
        // No io_context turn has delivered an answer yet.
        Pick p = f.pick("named");
        QVERIFY(p.address() == nullptr);
        QVERIFY2(contains(p.reasons, "target backend.invalid:80", "still being resolved"),
                 qPrintable(joined(p.reasons)));
        QCOMPARE(f.targetHealth("named", "backend.invalid:80"), std::string("DNS_ERROR"));
        auto view = f.runtime->balancerView("named").value();
        QCOMPARE(view.at("targets").as_array()[0].at("dns").at("status").as_string(),
                 json::string("pending"));
    }

    void hostnameTargetResolves() {
        Fixture f;
        f.load({upstreamEntity("u1", "named")}, {targetEntity("t1", "u1", "localhost:9001")});
        // The hosts file answers; the answer arrives on the control io_context.
        Pick p;
        for (int i = 0; i < 300 && p.address() == nullptr; ++i) {
            f.io.restart();
            f.io.run_for(std::chrono::milliseconds(10));
            p = f.pick("named");
        }
        QVERIFY2(p.address() != nullptr, p.summary.c_str());
        QVERIFY2(p.address()->ip == "127.0.0.1" || p.address()->ip == "::1",
                 p.address()->ip.c_str());
        QCOMPARE(p.address()->port, std::uint16_t(9001));
        QCOMPARE(p.address()->target, std::string("localhost:9001"));
        QCOMPARE(f.targetHealth("named", "localhost:9001"), std::string("HEALTHCHECKS_OFF"));
        auto view = f.runtime->balancerView("named").value();
        QCOMPARE(view.at("targets").as_array()[0].at("dns").at("status").as_string(),
                 json::string("ok"));
    }

    void activeProbesTripAnAddress() {
        namespace ip = boost::asio::ip;
        // A port nothing listens on (probes get "connection refused") and one that listens
        // (a TCP probe's connect completes in the backlog; nothing is ever accepted).
        ip::tcp::acceptor gone(io_);
        gone.open(ip::tcp::v4());
        gone.bind({ip::make_address("127.0.0.1"), 0});
        const std::string dead = "127.0.0.1:" + std::to_string(gone.local_endpoint().port());
        gone.close();
        ip::tcp::acceptor listening(io_, {ip::make_address("127.0.0.1"), 0});
        const std::string live = "127.0.0.1:" + std::to_string(listening.local_endpoint().port());

        Fixture f;
        json::object checks{
            {"active",
             json::object{{"type", "tcp"},
                          {"timeout", 1},
                          {"healthy", json::object{{"interval", 0.05}}},
                          {"unhealthy", json::object{{"interval", 0.05}, {"tcp_failures", 1}}}}}};
        f.load({upstreamEntity("u1", "probed", {{"healthchecks", checks}})},
               {targetEntity("t1", "u1", dead), targetEntity("t2", "u1", live)});
        for (int i = 0; i < 300 && f.targetHealth("probed", dead) != "UNHEALTHY"; ++i) {
            f.io.restart();
            f.io.run_for(std::chrono::milliseconds(10));
        }
        QCOMPARE(f.targetHealth("probed", dead), std::string("UNHEALTHY"));
        // A few more rounds: the live one stays healthy, and the probe counter catches up.
        f.io.restart();
        f.io.run_for(std::chrono::milliseconds(200));
        QCOMPARE(f.targetHealth("probed", live), std::string("HEALTHY"));
        QCOMPARE(f.tally("probed", 10)[live], 10);
        Pick first = f.pick("probed");
        Pick none = f.pick("probed", {*first.index});
        QVERIFY(none.address() == nullptr);
        QVERIFY2(
            contains(none.reasons, "target " + dead, "unhealthy by active health checks since"),
            qPrintable(joined(none.reasons)));
        QVERIFY2(contains(none.reasons, "target " + dead, "last probe: connection refused"),
                 qPrintable(joined(none.reasons)));
        auto metrics = f.runtime->renderPrometheus();
        for (const char* result : {"tcp_failure", "success"}) {
            const std::string series =
                "portico_upstream_probes_total{upstream=\"probed\",result=\"" +
                std::string(result) + "\"} ";
            auto at = metrics.find(series);
            QVERIFY2(at != std::string::npos && metrics.compare(at + series.size(), 2, "0\n") != 0,
                     metrics.c_str());
        }
    }

    void manualOverridesThroughTheAdminApi() {
        Fixture f;
        f.load({upstreamEntity("u1", "manual", {{"healthchecks", passiveChecks(5)}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        auto put = [&](const std::string& path) {
            auto response = f.admin("PUT", path);
            return response ? response->status : 0;
        };
        QCOMPARE(put("/upstreams/manual/targets/" + kA + "/unhealthy"), 204);
        QCOMPARE(f.targetHealth("manual", kA), std::string("UNHEALTHY"));
        QCOMPARE(f.tally("manual", 10)[kB], 10);
        QCOMPARE(put("/upstreams/manual/targets/" + kA + "/healthy"), 204);
        QCOMPARE(f.targetHealth("manual", kA), std::string("HEALTHY"));
        QVERIFY(f.tally("manual", 10)[kA] > 0);

        // One address; the target by id; the upstream by id; default port 8000 for a bare host.
        QCOMPARE(put("/upstreams/manual/targets/" + kA + "/" + kA + "/unhealthy"), 204);
        QCOMPARE(f.targetHealth("manual", kA), std::string("UNHEALTHY"));
        QCOMPARE(put("/upstreams/u1/targets/t1/127.0.0.1/healthy"), 204);  // the target's port
        QCOMPARE(f.targetHealth("manual", kA), std::string("HEALTHY"));
        QCOMPARE(put("/upstreams/u1/targets/t2/unhealthy"), 204);
        QCOMPARE(f.targetHealth("manual", kB), std::string("UNHEALTHY"));
        QCOMPARE(put("/upstreams/manual/targets/t2/healthy"), 204);

        // Unknown upstream, target, address.
        auto missing = f.admin("PUT", "/upstreams/manual/targets/127.0.0.1:1/unhealthy");
        QVERIFY(missing);
        QCOMPARE(missing->status, 404);
        QCOMPARE(json::parse(missing->body), json::value(json::object{{"message", "Not found"}}));
        QCOMPARE(put("/upstreams/nowhere/targets/" + kA + "/unhealthy"), 404);
        QCOMPARE(put("/upstreams/manual/targets/" + kA + "/127.0.0.1:1/unhealthy"), 404);
        QCOMPARE(put("/upstreams/manual/targets/127.0.0.1/unhealthy"), 404);  // :8000
        QCOMPARE(f.targetHealth("manual", kA), std::string("HEALTHY"));

        // Methods, views, fall-through.
        auto wrong = f.admin("POST", "/upstreams/manual/targets/" + kA + "/healthy");
        QVERIFY(wrong);
        QCOMPARE(wrong->status, 405);
        auto health = f.admin("GET", "/upstreams/manual/health");
        QVERIFY(health);
        QCOMPARE(health->status, 200);
        QCOMPARE(json::parse(health->body).at("node_id").as_string(), json::string("node-1"));
        auto balancer_health = f.admin("GET", "/upstreams/u1/health?balancer_health=true");
        QVERIFY(balancer_health);
        QCOMPARE(json::parse(balancer_health->body).at("data").at("id").as_string(),
                 json::string("u1"));
        QCOMPARE(f.admin("GET", "/upstreams/nowhere/health")->status, 404);
        QCOMPARE(f.admin("GET", "/upstreams/manual/balancer")->status, 200);
        QCOMPARE(f.admin("GET", "/upstreams/nowhere/balancer")->status, 404);
        QCOMPARE(f.admin("PUT", "/upstreams/manual/health")->status, 405);
        QVERIFY(!f.admin("GET", "/upstreams/manual/targets"));
        QVERIFY(!f.admin("PUT", "/upstreams/manual/targets/" + kA));
        QVERIFY(!f.admin("GET", "/upstreams/manual"));
        QVERIFY(!f.admin("GET", "/services/manual/health"));

        // Without health checks in use the overrides still apply (documented decision).
        f.load({upstreamEntity("u3", "plain")},
               {targetEntity("t5", "u3", kA), targetEntity("t6", "u3", kB)});
        QCOMPARE(f.targetHealth("plain", kA), std::string("HEALTHCHECKS_OFF"));
        QCOMPARE(put("/upstreams/plain/targets/" + kA + "/unhealthy"), 204);
        QCOMPARE(f.targetHealth("plain", kA), std::string("UNHEALTHY"));
        QCOMPARE(f.tally("plain", 10)[kB], 10);
        QCOMPARE(put("/upstreams/plain/targets/" + kA + "/healthy"), 204);
        QCOMPARE(f.targetHealth("plain", kA), std::string("HEALTHCHECKS_OFF"));
    }

    void syncKeepsHealthAndCounts() {
        Fixture f;
        auto spec = upstreamEntity(
            "u1", "kept", {{"algorithm", "least-connections"}, {"healthchecks", passiveChecks(1)}});
        f.load({spec}, {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        f.serve("kept", kA, 500);
        QCOMPARE(f.targetHealth("kept", kA), std::string("UNHEALTHY"));
        Pick busy = f.pickKey("kept", kB);
        f.runtime->reportStart(busy);
        f.runtime->reportStart(busy);

        f.load({spec}, {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB),
                        targetEntity("t3", "u1", kC)});
        QCOMPARE(f.targetHealth("kept", kA), std::string("UNHEALTHY"));
        QCOMPARE(f.targetHealth("kept", kC), std::string("HEALTHY"));
        auto view = f.runtime->balancerView("kept").value();
        std::map<std::string, std::int64_t> active;
        for (const auto& address : view.at("addresses").as_array()) {
            active[std::string(address.at("key").as_string())] =
                address.at("active_connections").to_number<std::int64_t>();
        }
        QCOMPARE(active[kB], std::int64_t(2));
        QCOMPARE(active[kC], std::int64_t(0));
        // The finish of a try started before the update still lands on its address.
        f.runtime->reportStatus(busy, 200, 3);
        view = f.runtime->balancerView("kept").value();
        QCOMPARE(view.at("addresses").as_array()[1].at("active_connections").to_number<int>(), 1);
        // Least connections now prefers the new, idle address over the busy one.
        QCOMPARE(f.pick("kept").address()->key(), kC);

        // A removed target's state is forgotten: added back, it starts healthy.
        f.load({spec}, {targetEntity("t2", "u1", kB), targetEntity("t3", "u1", kC)});
        f.load({spec}, {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB),
                        targetEntity("t3", "u1", kC)});
        QCOMPARE(f.targetHealth("kept", kA), std::string("HEALTHY"));
    }

    void hashOnHeader() {
        Fixture f;
        f.load({upstreamEntity("u1", "sticky",
                               {{"algorithm", "consistent-hashing"},
                                {"hash_on", "header"},
                                {"hash_on_header", "X-User"}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB),
                targetEntity("t3", "u1", kC)});
        std::set<std::string> used;
        for (int user = 0; user < 60; ++user) {
            HashInputs inputs;
            std::string value = "user-" + std::to_string(user);
            inputs.header = [value](std::string_view name) {
                return name == "X-User" ? value : std::string();
            };
            std::string first = f.pick("sticky", {}, inputs).address()->key();
            for (int again = 0; again < 5; ++again) {
                QCOMPARE(f.pick("sticky", {}, inputs).address()->key(), first);
            }
            used.insert(first);
        }
        QCOMPARE(used.size(), std::size_t(3));
    }

    void hashOnCookie() {
        Fixture f;
        f.load({upstreamEntity("u1", "cookies",
                               {{"algorithm", "consistent-hashing"},
                                {"hash_on", "cookie"},
                                {"hash_on_cookie", "session"},
                                {"hash_on_cookie_path", "/app"}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB),
                targetEntity("t3", "u1", kC)});
        HashInputs without;
        without.cookie = [](std::string_view) { return std::string(); };
        Pick generated = f.pick("cookies", {}, without);
        QVERIFY(generated.address() != nullptr);
        std::smatch match;
        const std::regex shape(
            "session=([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}); "
            "Path=/app; SameSite=Lax; HttpOnly");
        QVERIFY2(std::regex_match(generated.set_cookie, match, shape),
                 generated.set_cookie.c_str());
        const std::string uuid = match[1];
        QVERIFY(f.pick("cookies", {}, without).set_cookie != generated.set_cookie);

        // With the cookie: no Set-Cookie, and the address the generated value hashed to.
        HashInputs with;
        with.cookie = [uuid](std::string_view name) {
            return name == "session" ? uuid : std::string();
        };
        for (int i = 0; i < 5; ++i) {
            Pick p = f.pick("cookies", {}, with);
            QVERIFY(p.set_cookie.empty());
            QCOMPARE(p.address()->key(), generated.address()->key());
        }
    }

    void healthViewShapes() {
        Fixture f;
        f.load({upstreamEntity("u1", "shape", {{"healthchecks", passiveChecks(1)}})},
               {targetEntity("t1", "u1", kA, 100), targetEntity("t2", "u1", kB, 0)});
        auto address = [](int port, int weight, const char* health) {
            return json::object{
                {"ip", "127.0.0.1"}, {"port", port}, {"weight", weight}, {"health", health}};
        };
        auto weights = [](int total, int available, int unavailable) {
            return json::object{
                {"total", total}, {"available", available}, {"unavailable", unavailable}};
        };
        auto item = [&](const char* id, const std::string& target, int port, int weight,
                        const char* health, const char* address_health, int available) {
            return json::object{
                {"id", id},
                {"target", target},
                {"weight", weight},
                {"upstream", json::object{{"id", "u1"}}},
                {"health", health},
                {"data",
                 json::object{{"host", "127.0.0.1"},
                              {"port", port},
                              {"dns", "A"},
                              {"nodeWeight", weight},
                              {"weight", weights(weight, available, weight - available)},
                              {"addresses", json::array{address(port, weight, address_health)}}}}};
        };
        json::value expected = json::object{
            {"data",
             json::array{item("t1", kA, 9001, 100, "HEALTHY", "HEALTHY", 100),
                         item("t2", kB, 9002, 0, "HEALTHCHECKS_OFF", "HEALTHCHECKS_OFF", 0)}},
            {"next", nullptr},
            {"node_id", "node-1"}};
        json::value actual = f.health("shape");
        QVERIFY2(actual == expected, json::serialize(actual).c_str());

        f.serve("shape", kA, 500);
        auto host = [&](int port, int weight, bool healthy, int available) {
            return json::object{{"host", "127.0.0.1"},
                                {"port", port},
                                {"dns", "A"},
                                {"nodeWeight", weight},
                                {"weight", weights(weight, available, weight - available)},
                                {"addresses", json::array{json::object{{"ip", "127.0.0.1"},
                                                                       {"port", port},
                                                                       {"weight", weight},
                                                                       {"healthy", healthy}}}}};
        };
        json::value expected_balancer = json::object{
            {"data", json::object{{"id", "u1"},
                                  {"health", "UNHEALTHY"},
                                  {"balancer_health", "UNHEALTHY"},
                                  {"details",
                                   json::object{{"healthy", false},
                                                {"weight", weights(100, 0, 100)},
                                                {"hosts", json::array{host(9001, 100, false, 0),
                                                                      host(9002, 0, true, 0)}}}}}},
            {"next", nullptr},
            {"node_id", "node-1"}};
        actual = f.health("shape", true);
        QVERIFY2(actual == expected_balancer, json::serialize(actual).c_str());

        // Health checks not in use: HEALTHCHECKS_OFF, balancer_health still by the weights.
        f.load({upstreamEntity("u2", "off")}, {targetEntity("t3", "u2", kA)});
        auto off = f.health("off", true).at("data").as_object();
        QCOMPARE(off.at("health").as_string(), json::string("HEALTHCHECKS_OFF"));
        QCOMPARE(off.at("balancer_health").as_string(), json::string("HEALTHY"));
        QCOMPARE(f.targetHealth("off", kA), std::string("HEALTHCHECKS_OFF"));
        QVERIFY(!f.runtime->healthView("nowhere", false, "node-1"));
    }

    void balancerViewSlotsAddUp() {
        Fixture f;
        f.load({upstreamEntity(
                   "u1", "ring",
                   {{"algorithm", "consistent-hashing"}, {"hash_on", "ip"}, {"slots", 1000}})},
               {targetEntity("t1", "u1", kA, 100), targetEntity("t2", "u1", kB, 50),
                targetEntity("t3", "u1", kC, 10)});
        auto view = f.runtime->balancerView("ring").value();
        QCOMPARE(view.at("algorithm").as_string(), json::string("consistent-hashing"));
        std::int64_t sum = 0;
        std::vector<std::int64_t> slots;
        for (const auto& address : view.at("addresses").as_array()) {
            slots.push_back(address.at("slots").to_number<std::int64_t>());
            sum += slots.back();
            QCOMPARE(address.at("state").as_string(), json::string("healthy"));
            QVERIFY(address.as_object().contains("counters"));
            QVERIFY(address.as_object().contains("thresholds"));
            QVERIFY(address.as_object().contains("last_change"));
        }
        QCOMPARE(slots.size(), std::size_t(3));
        QCOMPARE(sum, std::int64_t(1000));
        QCOMPARE(view.at("slots_total").to_number<std::int64_t>(), std::int64_t(1000));
        QVERIFY2(slots[0] > slots[1] && slots[1] > slots[2], json::serialize(view).c_str());

        // Round-robin: weight / gcd.
        f.load({upstreamEntity("u2", "wheel")},
               {targetEntity("t4", "u2", kA, 100), targetEntity("t5", "u2", kB, 50),
                targetEntity("t6", "u2", kC, 0)});
        view = f.runtime->balancerView("wheel").value();
        const auto& addresses = view.at("addresses").as_array();
        QCOMPARE(addresses[0].at("slots").to_number<int>(), 2);
        QCOMPARE(addresses[1].at("slots").to_number<int>(), 1);
        QCOMPARE(addresses[2].at("slots").to_number<int>(), 0);
        QCOMPARE(addresses[2].at("state").as_string(), json::string("disabled"));
        QCOMPARE(view.at("slots_total").to_number<int>(), 3);
    }

    // Workers pick and report while the control thread swaps targets and overrides health.
    void concurrentPicksDuringUpdates() {
        Fixture f;
        auto spec = upstreamEntity(
            "u1", "busy",
            {{"algorithm", "least-connections"}, {"healthchecks", passiveChecks(50)}});
        const std::vector<json::object> small{targetEntity("t1", "u1", kA),
                                              targetEntity("t2", "u1", kB)};
        const std::vector<json::object> large{targetEntity("t1", "u1", kA),
                                              targetEntity("t2", "u1", kB),
                                              targetEntity("t3", "u1", kC)};
        f.load({spec}, small);
        auto snapshot = f.snapshot;  // workers keep the first snapshot, as a request would
        std::atomic<bool> done{false};
        std::atomic<int> bad{0};
        std::atomic<long> picked{0};
        std::vector<std::thread> workers;
        for (int w = 0; w < 4; ++w) {
            workers.emplace_back([&, w] {
                std::mt19937_64 random(static_cast<std::uint64_t>(w));
                const Upstream& upstream = *snapshot->upstream("busy");
                while (!done) {
                    Pick p = f.runtime->pick(upstream, {}, {}, random());
                    if (const auto* address = p.address()) {
                        if (address->key() != kA && address->key() != kB && address->key() != kC) {
                            ++bad;
                        }
                        f.runtime->reportStart(p);
                        f.runtime->reportStatus(p, random() % 2 ? 200 : 500, 1);
                        ++picked;
                    }
                }
            });
        }
        for (int round = 0; round < 40; ++round) {
            f.load({spec}, round % 2 ? small : large);
            f.runtime->setHealth("busy", kB, "", round % 3 != 0);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        done = true;
        for (auto& worker : workers) {
            worker.join();
        }
        QCOMPARE(bad.load(), 0);
        QVERIFY(picked.load() > 0);
        // Every start was finished: no connection is left counted.
        auto view = f.runtime->balancerView("busy").value();
        for (const auto& address : view.at("addresses").as_array()) {
            QCOMPARE(address.at("active_connections").to_number<int>(), 0);
        }
    }

    void halfOpenReadmitsOneTrial() {
        Fixture f(5);
        f.load({upstreamEntity("u1", "halfopen", {{"healthchecks", passiveChecks(1)}})},
               {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        f.serve("halfopen", kA, 500);
        QCOMPARE(f.targetHealth("halfopen", kA), std::string("UNHEALTHY"));
        QCOMPARE(f.tally("halfopen", 20)[kA], 0);
        f.now += 4;
        QCOMPARE(f.tally("halfopen", 20)[kA], 0);
        f.now += 1.5;
        Pick trial = f.pick("halfopen");
        QVERIFY(trial.address() != nullptr);
        QCOMPARE(trial.address()->key(), kA);
        // One trial at a time.
        QCOMPARE(f.tally("halfopen", 20)[kA], 0);
        auto view = f.runtime->balancerView("halfopen").value();
        QVERIFY(view.at("addresses").as_array()[0].at("half_open").as_bool());
        // It fails: the cool-down starts again.
        f.runtime->reportStart(trial);
        f.runtime->reportStatus(trial, 503, 2);
        QCOMPARE(f.targetHealth("halfopen", kA), std::string("UNHEALTHY"));
        f.now += 4;
        QCOMPARE(f.tally("halfopen", 20)[kA], 0);
        f.now += 1.5;
        trial = f.pick("halfopen");
        QCOMPARE(trial.address()->key(), kA);
        // It succeeds: healthy again, picked in turn.
        f.runtime->reportStart(trial);
        f.runtime->reportStatus(trial, 200, 2);
        QCOMPARE(f.targetHealth("halfopen", kA), std::string("HEALTHY"));
        QVERIFY(f.tally("halfopen", 20)[kA] > 0);

        // Off (Kong's behaviour): never re-admitted by time alone.
        Fixture kong;
        kong.load({upstreamEntity("u1", "halfopen", {{"healthchecks", passiveChecks(1)}})},
                  {targetEntity("t1", "u1", kA), targetEntity("t2", "u1", kB)});
        kong.serve("halfopen", kA, 500);
        kong.now += 3600;
        QCOMPARE(kong.tally("halfopen", 20)[kA], 0);
        Pick none = kong.pick("halfopen", {1});
        QVERIFY2(contains(none.reasons, "target " + kA, "only PUT .../healthy brings it back"),
                 qPrintable(joined(none.reasons)));
    }

    void allTrippedUpstreamRecoversThroughTheTrial() {
        Fixture f(2);
        f.load({upstreamEntity("u1", "lonely", {{"healthchecks", passiveChecks(1)}})},
               {targetEntity("t1", "u1", kA)});
        f.serve("lonely", kA, 500);
        QVERIFY(f.pick("lonely").address() == nullptr);
        f.now += 2;
        Pick trial = f.pick("lonely");
        QVERIFY2(trial.address() != nullptr, trial.summary.c_str());
        f.runtime->reportStatus(trial, 200, 1);
        QCOMPARE(f.targetHealth("lonely", kA), std::string("HEALTHY"));
    }
};

QTEST_GUILESS_MAIN(UpstreamRuntimeTest)
#include "test_upstream_runtime.moc"
