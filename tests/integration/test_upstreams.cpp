// Upstreams end to end (kong-compat.md §1.4, §4.3, §4.4, §5): a service whose host names an
// upstream is balanced over its targets. Fake upstreams tag their answers (X-Upstream: a), so the
// tests count who served what: round-robin and weighted distributions, consistent hashing on a
// header, passive and active health checks flipping targets, manual overrides, the threshold,
// hostname targets, failover while a target dies under load, the 503 "failure to get a peer from
// the ring-balancer" with its explanation, and the Portico views (/balancer, /metrics).

#include "tests/integration/harness.hpp"
#include "tests/integration/raw_upstream.hpp"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QtTest>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace portico::test;

namespace {

QByteArray number(qint64 value) { return QByteArray::number(value); }

QByteArray local(quint16 port) { return "127.0.0.1:" + QByteArray::number(port); }

// What a RawUpstream answers to every request: `status`, tagged like the echo upstreams.
std::string taggedReply(int status, const char* tag) {
    return "HTTP/1.1 " + std::to_string(status) + " Scripted\r\nX-Upstream: " + tag +
           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

// Who served a series of requests.
struct Tally {
    QMap<QByteArray, int> tags;  // X-Upstream value -> answers
    QMap<int, int> statuses;
    int non_200 = 0;
    int count(const QByteArray& tag) const { return tags.value(tag); }
};

QString describe(const Tally& tally) {
    QStringList parts;
    for (auto it = tally.tags.begin(); it != tally.tags.end(); ++it) {
        parts << QString::fromUtf8(it.key()) + "=" + QString::number(it.value());
    }
    for (auto it = tally.statuses.begin(); it != tally.statuses.end(); ++it) {
        parts << "status " + QString::number(it.key()) + "=" + QString::number(it.value());
    }
    return parts.join(", ");
}

}  // namespace

class UpstreamsTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;

    // Creates an upstream `name` (`fields`: more members of its JSON object), its targets, a
    // service `name` whose host is the upstream (with `service_path` and `service_fields`) and a
    // route `/name`, then waits until the route is live (an answer other than 404, or `ready` if
    // non-zero). Returns an empty string or what went wrong.
    QByteArray makeUpstream(PorticoProcess& gateway, const QByteArray& name,
                            const QByteArray& fields,
                            const QList<QPair<QByteArray, int>>& targets,
                            const QByteArray& service_fields = {},
                            const QByteArray& service_path = {}, int ready = 0) {
        auto post = [&gateway](const QByteArray& path, const QByteArray& body) -> QByteArray {
            auto result = gateway.admin("POST", path, body);
            if (result.status != 201) {
                return "POST " + path + " " + body + " -> " + number(result.status) + " " +
                       result.body;
            }
            return {};
        };
        QByteArray upstream = "{\"name\":\"" + name + "\"";
        if (!fields.isEmpty()) {
            upstream += "," + fields;
        }
        upstream += "}";
        if (auto error = post("/upstreams", upstream); !error.isEmpty()) {
            return error;
        }
        for (const auto& [target, weight] : targets) {
            auto error = post("/upstreams/" + name + "/targets",
                              "{\"target\":\"" + target + "\",\"weight\":" + number(weight) + "}");
            if (!error.isEmpty()) {
                return error;
            }
        }
        QByteArray service =
            "{\"name\":\"" + name + "\",\"url\":\"http://" + name + service_path + "\"";
        if (!service_fields.isEmpty()) {
            service += "," + service_fields;
        }
        service += "}";
        if (auto error = post("/services", service); !error.isEmpty()) {
            return error;
        }
        if (auto error = post("/services/" + name + "/routes",
                              "{\"name\":\"" + name + "\",\"paths\":[\"/" + name + "\"]}");
            !error.isEmpty()) {
            return error;
        }
        HttpResult result;
        for (int i = 0; i < 200; ++i) {
            result = request(gateway.proxyPort(), "GET", "/" + name);
            if (ready != 0 ? result.status == ready : result.status != 404 && result.status != 0) {
                return {};
            }
            QTest::qWait(20);
        }
        return "route /" + name + " not ready: last answer " + number(result.status) + " " +
               result.body;
    }

    QByteArray makeUpstream(const QByteArray& name, const QByteArray& fields,
                            const QList<QPair<QByteArray, int>>& targets,
                            const QByteArray& service_fields = {},
                            const QByteArray& service_path = {}, int ready = 0) {
        return makeUpstream(gateway_, name, fields, targets, service_fields, service_path, ready);
    }

    static Tally send(PorticoProcess& gateway, const QByteArray& path, int count,
                      const QList<QPair<QByteArray, QByteArray>>& headers = {}) {
        Tally tally;
        for (int i = 0; i < count; ++i) {
            auto result = request(gateway.proxyPort(), "GET", path, {}, {}, headers);
            tally.statuses[result.status]++;
            if (result.status != 200) {
                tally.non_200++;
            }
            if (result.headers.contains("x-upstream")) {
                tally.tags[result.headers.value("x-upstream")]++;
            }
        }
        return tally;
    }

    Tally send(const QByteArray& path, int count,
               const QList<QPair<QByteArray, QByteArray>>& headers = {}) {
        return send(gateway_, path, count, headers);
    }

    // The entry of GET /upstreams/{u}/health for `target` (empty when absent).
    static QJsonObject healthEntry(PorticoProcess& gateway, const QByteArray& upstream,
                                   const QByteArray& target) {
        auto result = gateway.admin("GET", "/upstreams/" + upstream + "/health");
        for (const auto& item : result.json().value("data").toArray()) {
            if (item.toObject().value("target").toString().toUtf8() == target) {
                return item.toObject();
            }
        }
        return {};
    }

    QString health(const QByteArray& upstream, const QByteArray& target) {
        return healthEntry(gateway_, upstream, target).value("health").toString();
    }

    // Polls the health of `target` until it is `expected` (bounded); returns the last one seen.
    static QString waitForHealth(PorticoProcess& gateway, const QByteArray& upstream,
                                 const QByteArray& target, const QString& expected,
                                 int timeout_ms = 5000) {
        QElapsedTimer timer;
        timer.start();
        QString seen;
        do {
            seen = healthEntry(gateway, upstream, target).value("health").toString();
            if (seen == expected) {
                break;
            }
            QTest::qWait(25);
        } while (timer.elapsed() < timeout_ms);
        return seen;
    }

    QString waitForHealth(const QByteArray& upstream, const QByteArray& target,
                          const QString& expected, int timeout_ms = 5000) {
        return waitForHealth(gateway_, upstream, target, expected, timeout_ms);
    }

    // The address `key` (ip:port) of GET /upstreams/{u}/balancer (empty when absent).
    QJsonObject balancerAddress(const QByteArray& upstream, const QByteArray& key) {
        auto view = gateway_.admin("GET", "/upstreams/" + upstream + "/balancer").json();
        for (const auto& item : view.value("addresses").toArray()) {
            if (item.toObject().value("key").toString().toUtf8() == key) {
                return item.toObject();
            }
        }
        return {};
    }

    QString balancerHealth(const QByteArray& upstream) {
        return gateway_.admin("GET", "/upstreams/" + upstream + "/health?balancer_health=1")
            .json()
            .value("data")
            .toObject()
            .value("balancer_health")
            .toString();
    }

    int put(const QByteArray& path) { return gateway_.admin("PUT", path).status; }

private slots:
    void initTestCase() { QVERIFY2(gateway_.start(), qPrintable(gateway_.output())); }

    // §1.4.2: round-robin by weight. The weight-0 target is present but never chosen.
    void roundRobinDistribution_data() {
        QTest::addColumn<QList<int>>("weights");
        QTest::addColumn<int>("tolerance");
        QTest::newRow("equal") << QList<int>{100, 100, 100} << 5;
        QTest::newRow("weighted") << QList<int>{50, 30, 20} << 9;  // 3% of 300
    }

    void roundRobinDistribution() {
        QFETCH(QList<int>, weights);
        QFETCH(int, tolerance);
        const QByteArray name = QByteArray("rr-") + QTest::currentDataTag();
        std::vector<std::unique_ptr<EchoProcess>> echoes;
        QList<QPair<QByteArray, int>> targets;
        int total = 0;
        for (int i = 0; i < weights.size(); ++i) {
            echoes.push_back(
                std::make_unique<EchoProcess>(QString::fromUtf8(name + "-" + number(i))));
            QVERIFY(echoes.back()->start());
            targets.append({local(echoes.back()->port()), weights[i]});
            total += weights[i];
        }
        EchoProcess idle(QString::fromUtf8(name + "-idle"));
        QVERIFY(idle.start());
        targets.append({local(idle.port()), 0});
        QByteArray error = makeUpstream(name, {}, targets);
        QVERIFY2(error.isEmpty(), error.constData());

        const int requests = 300;
        auto tally = send("/" + name, requests);
        QVERIFY2(tally.non_200 == 0, qPrintable(describe(tally)));
        for (int i = 0; i < weights.size(); ++i) {
            int expected = requests * weights[i] / total;
            int got = tally.count(name + "-" + QByteArray::number(i));
            QVERIFY2(qAbs(got - expected) <= tolerance,
                     qPrintable(QString("target %1 (weight %2): %3 answers, expected %4 +- %5; %6")
                                    .arg(i)
                                    .arg(weights[i])
                                    .arg(got)
                                    .arg(expected)
                                    .arg(tolerance)
                                    .arg(describe(tally))));
        }
        QCOMPARE(tally.count(name + "-idle"), 0);
        // Weight 0: listed, but health checking does not apply to it (§1.5).
        QCOMPARE(health(name, local(idle.port())), QString("HEALTHCHECKS_OFF"));
    }

    // §1.4.2: consistent hashing on a header: one value, one target; values spread.
    void consistentHashingOnHeader() {
        EchoProcess a("hash-a"), b("hash-b"), c("hash-c");
        QVERIFY(a.start() && b.start() && c.start());
        QByteArray error = makeUpstream(
            "hashed",
            "\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
            "\"hash_on_header\":\"X-User\"",
            {{local(a.port()), 100}, {local(b.port()), 100}, {local(c.port()), 100}});
        QVERIFY2(error.isEmpty(), error.constData());

        QMap<QByteArray, QByteArray> owner;  // user -> tag of the first answer
        QMap<QByteArray, int> per_target;
        for (int round = 0; round < 3; ++round) {
            for (int user = 0; user < 30; ++user) {
                QByteArray value = "user-" + number(user);
                auto result = request(gateway_.proxyPort(), "GET", "/hashed", {}, {},
                                      {{"X-User", value}});
                QCOMPARE(result.status, 200);
                QByteArray tag = result.headers.value("x-upstream");
                QVERIFY(!tag.isEmpty());
                if (round == 0) {
                    owner[value] = tag;
                    per_target[tag]++;
                } else {
                    QVERIFY2(owner.value(value) == tag,
                             qPrintable(value + " went to " + owner.value(value) + " then " +
                                        tag));
                }
            }
        }
        // 30 values over 3 equal targets: all landing on one or two would be a broken hash.
        QVERIFY2(per_target.size() >= 2, qPrintable(QString::number(per_target.size())));
    }

    // §1.4.2: hash_on cookie: a client without the cookie gets one (Set-Cookie) and, sending it
    // back, stays on the target its first request went to.
    void consistentHashingOnCookie() {
        EchoProcess a("cookie-a"), b("cookie-b"), c("cookie-c");
        QVERIFY(a.start() && b.start() && c.start());
        QByteArray error = makeUpstream(
            "sticky",
            "\"algorithm\":\"consistent-hashing\",\"hash_on\":\"cookie\","
            "\"hash_on_cookie\":\"portico-sticky\",\"hash_on_cookie_path\":\"/sticky\"",
            {{local(a.port()), 100}, {local(b.port()), 100}, {local(c.port()), 100}});
        QVERIFY2(error.isEmpty(), error.constData());

        QMap<QByteArray, int> per_target;
        for (int client = 0; client < 20; ++client) {
            auto first = request(gateway_.proxyPort(), "GET", "/sticky");
            QCOMPARE(first.status, 200);
            QByteArray set_cookie = first.headers.value("set-cookie");
            QVERIFY2(set_cookie.startsWith("portico-sticky=") && set_cookie.contains("Path=/sticky"),
                     set_cookie.constData());
            QByteArray cookie = set_cookie.left(set_cookie.indexOf(';'));
            QByteArray tag = first.headers.value("x-upstream");
            per_target[tag]++;
            for (int again = 0; again < 3; ++again) {
                auto next = request(gateway_.proxyPort(), "GET", "/sticky", {}, {},
                                    {{"Cookie", "other=1; " + cookie}});
                QCOMPARE(next.status, 200);
                QVERIFY2(next.headers.value("x-upstream") == tag,
                         qPrintable(cookie + " went to " + tag + " then " +
                                    next.headers.value("x-upstream")));
                QVERIFY2(!next.headers.contains("set-cookie"),
                         next.headers.value("set-cookie").constData());
            }
        }
        QVERIFY2(per_target.size() >= 2, qPrintable(QString::number(per_target.size())));
    }

    // §5.2: passive http_failures = 3 with the default unhealthy statuses [429, 500, 503]: two
    // 500s leave the target healthy, the third trips it, and it stops receiving traffic.
    // An upstream that closes every keep-alive connection right after answering, without
    // saying so. A GET reuses the pooled connection without the MSG_PEEK check, meets it closed,
    // and is retried on a new connection at no cost: with retries = 0 it still succeeds, and the
    // target counts no TCP failure. A POST keeps the check and never meets a closed connection.
    void staleKeepAliveConnectionsAreRetriedForFree() {
        RawUpstream closer(RawUpstream::Mode::ReplyAndClose,
                           "HTTP/1.1 200 OK\r\nX-Upstream: closer\r\nContent-Length: 2\r\n\r\nok");
        const QByteArray target = local(closer.port());
        QByteArray error = makeUpstream(
            "closer", "\"healthchecks\":{\"passive\":{\"unhealthy\":{\"tcp_failures\":1}}}",
            {{target, 100}}, "\"retries\":0");
        QVERIFY2(error.isEmpty(), error.constData());
        auto status = [this](const char* name) {
            return gateway_.admin("GET", "/status").json().value("server").toObject().value(name)
                .toInteger();
        };
        const auto reused_before = status("upstream_connections_reused");
        auto gets = send("/closer", 20);
        QVERIFY2(gets.count("closer") == 20 && gets.non_200 == 0, qPrintable(describe(gets)));
        // The fast path was taken: pooled connections were handed out unchecked (each one then
        // found closed and replaced).
        QVERIFY(status("upstream_connections_reused") - reused_before >= 10);
        for (int i = 0; i < 5; ++i) {
            auto post = request(gateway_.proxyPort(), "POST", "/closer", "{}");
            QCOMPARE(post.status, 200);
        }
        QCOMPARE(health("closer", target), QString("HEALTHY"));
        auto counted = balancerAddress("closer", target);
        QVERIFY2(counted.value("counters").toObject().contains("tcp_failures") &&
                     counted.contains("active_connections") &&
                     counted.value("passive_failures_total").toObject().contains("tcp"),
                 qPrintable(QJsonDocument(counted).toJson()));
        QCOMPARE(counted.value("counters").toObject().value("tcp_failures").toInt(), 0);
        QCOMPARE(counted.value("passive_failures_total").toObject().value("tcp").toInt(), 0);
        QCOMPARE(counted.value("active_connections").toInt(), 0);  // every abandoned try released
    }

    void passiveHttpFailuresTripAtTheThreshold() {
        EchoProcess good("trip-good");
        QVERIFY(good.start());
        RawUpstream bad(RawUpstream::Mode::ReplyAndClose, taggedReply(500, "trip-bad"));
        const QByteArray bad_target = local(bad.port());
        QByteArray error = makeUpstream(
            "tripwire", "\"healthchecks\":{\"passive\":{\"unhealthy\":{\"http_failures\":3}}}",
            {{local(good.port()), 100}, {bad_target, 100}});
        QVERIFY2(error.isEmpty(), error.constData());
        QCOMPARE(health("tripwire", bad_target), QString("HEALTHY"));

        // Every request that reached `bad` was one passive http failure (the route wait too).
        for (int i = 0; i < 20 && bad.requests() < 2; ++i) {
            auto result = request(gateway_.proxyPort(), "GET", "/tripwire");
            QVERIFY(result.status == 200 || result.status == 500);
        }
        QCOMPARE(bad.requests(), 2);
        // Proving a negative: give a wrongly early trip time to show.
        QTest::qWait(100);
        QCOMPARE(health("tripwire", bad_target), QString("HEALTHY"));
        QCOMPARE(health("tripwire", local(good.port())), QString("HEALTHY"));
        auto counted = balancerAddress("tripwire", bad_target);
        QVERIFY2(counted.value("counters").toObject().value("http_failures").toInt() == 2,
                 qPrintable(QJsonDocument(counted).toJson()));
        QCOMPARE(counted.value("state").toString(), QString("healthy"));

        for (int i = 0; i < 20 && bad.requests() < 3; ++i) {
            request(gateway_.proxyPort(), "GET", "/tripwire");
        }
        QCOMPARE(bad.requests(), 3);
        QCOMPARE(waitForHealth("tripwire", bad_target, "UNHEALTHY", 2000), QString("UNHEALTHY"));
        auto entry = healthEntry(gateway_, "tripwire", bad_target);
        auto addresses = entry.value("data").toObject().value("addresses").toArray();
        QCOMPARE(addresses.size(), 1);
        QCOMPARE(addresses.first().toObject().value("health").toString(), QString("UNHEALTHY"));
        auto tripped = balancerAddress("tripwire", bad_target);
        QCOMPARE(tripped.value("state").toString(), QString("unhealthy"));
        QCOMPARE(tripped.value("last_change").toObject().value("source").toString().toLower(),
                 QString("passive"));

        auto after = send("/tripwire", 20);
        QVERIFY2(after.count("trip-good") == 20, qPrintable(describe(after)));
        QCOMPARE(bad.requests(), 3);
        QCOMPARE(health("tripwire", local(good.port())), QString("HEALTHY"));
    }

    // §4.4, §5.4: no available address -> 503 "failure to get a peer from the ring-balancer",
    // and the explanation says, target by target, why.
    void noAvailableAddressIs503WithExplanation() {
        RawUpstream x(RawUpstream::Mode::ReplyAndClose, taggedReply(500, "doomed-x"));
        RawUpstream y(RawUpstream::Mode::ReplyAndClose, taggedReply(503, "doomed-y"));
        const QList<QByteArray> targets{local(x.port()), local(y.port())};
        QByteArray error = makeUpstream(
            "doomed", "\"healthchecks\":{\"passive\":{\"unhealthy\":{\"http_failures\":1}}}",
            {{targets[0], 100}, {targets[1], 100}});
        QVERIFY2(error.isEmpty(), error.constData());
        for (int i = 0; i < 10 && (x.requests() < 1 || y.requests() < 1); ++i) {
            request(gateway_.proxyPort(), "GET", "/doomed");
        }
        for (const auto& target : targets) {
            QCOMPARE(waitForHealth("doomed", target, "UNHEALTHY", 2000), QString("UNHEALTHY"));
        }
        QCOMPARE(balancerHealth("doomed"), QString("UNHEALTHY"));

        auto result = request(gateway_.proxyPort(), "GET", "/doomed");
        QCOMPARE(result.status, 503);
        QCOMPARE(result.json().value("message").toString(),
                 QString("failure to get a peer from the ring-balancer"));
        auto request_id = result.json().value("request_id").toString().toUtf8();
        QVERIFY(!request_id.isEmpty());
        QCOMPARE(result.headers.value("x-kong-request-id"), request_id);
        QVERIFY(!result.headers.contains("x-upstream"));

        // The record is kept once the answer is written: the client may ask a moment earlier.
        HttpResult explained;
        for (int i = 0; i < 100; ++i) {
            explained = gateway_.admin("GET", "/traffic/" + request_id);
            if (explained.status != 404) {
                break;
            }
            QTest::qWait(20);
        }
        QCOMPARE(explained.status, 200);
        auto explanation = explained.json().value("explanation").toObject();
        QCOMPARE(explanation.value("status").toInt(), 503);
        QVERIFY(explanation.value("tries").toArray().isEmpty());
        QVERIFY2(!explanation.value("summary").toString().isEmpty(), explained.body.constData());
        auto details = explanation.value("details").toArray();
        for (const auto& target : targets) {
            bool named = false;
            for (const auto& detail : details) {
                QString sentence = detail.toString();
                if (sentence.contains(QString::fromUtf8(target)) &&
                    sentence.contains("unhealthy", Qt::CaseInsensitive)) {
                    named = true;
                }
            }
            QVERIFY2(named, qPrintable("no detail says why " + target + " was unavailable: " +
                                       explained.body));
        }
        QCOMPARE(explained.json().value("request").toObject().value("status").toInt(), 503);
        QCOMPARE(x.requests() + y.requests(), 2);  // nothing was sent for the 503

        // An upstream without targets answers the same.
        error = makeUpstream("hollow", {}, {});
        QVERIFY2(error.isEmpty(), error.constData());
        auto hollow = request(gateway_.proxyPort(), "GET", "/hollow");
        QCOMPARE(hollow.status, 503);
        QCOMPARE(hollow.json().value("message").toString(),
                 QString("failure to get a peer from the ring-balancer"));
    }

    // §5.2: PUT .../healthy|unhealthy sets the state directly, for a target or one address.
    void manualOverrides() {
        EchoProcess a("manual-a"), b("manual-b");
        QVERIFY(a.start() && b.start());
        const QByteArray ta = local(a.port());
        QByteArray error = makeUpstream(
            "manual", "\"healthchecks\":{\"passive\":{\"unhealthy\":{\"http_failures\":5}}}",
            {{ta, 100}, {local(b.port()), 100}});
        QVERIFY2(error.isEmpty(), error.constData());
        auto before = send("/manual", 10);
        QVERIFY2(before.count("manual-a") > 0 && before.count("manual-b") > 0,
                 qPrintable(describe(before)));

        QCOMPARE(put("/upstreams/manual/targets/" + ta + "/unhealthy"), 204);
        QCOMPARE(health("manual", ta), QString("UNHEALTHY"));
        auto down = send("/manual", 10);
        QVERIFY2(down.count("manual-b") == 10, qPrintable(describe(down)));

        QCOMPARE(put("/upstreams/manual/targets/" + ta + "/healthy"), 204);
        QCOMPARE(health("manual", ta), QString("HEALTHY"));
        auto up = send("/manual", 10);
        QVERIFY2(up.count("manual-a") > 0 && up.non_200 == 0, qPrintable(describe(up)));

        // One address of the target.
        QCOMPARE(put("/upstreams/manual/targets/" + ta + "/" + ta + "/unhealthy"), 204);
        QCOMPARE(health("manual", ta), QString("UNHEALTHY"));
        down = send("/manual", 10);
        QVERIFY2(down.count("manual-b") == 10, qPrintable(describe(down)));
        QCOMPARE(put("/upstreams/manual/targets/" + ta + "/" + ta + "/healthy"), 204);
        up = send("/manual", 10);
        QVERIFY2(up.count("manual-a") > 0, qPrintable(describe(up)));

        // By the target's id as well.
        auto listed = gateway_.admin("GET", "/upstreams/manual/targets/" + ta);
        QCOMPARE(listed.status, 200);
        auto target_id = listed.json().value("id").toString().toUtf8();
        QCOMPARE(put("/upstreams/manual/targets/" + target_id + "/unhealthy"), 204);
        QCOMPARE(health("manual", ta), QString("UNHEALTHY"));
        QCOMPARE(put("/upstreams/manual/targets/" + target_id + "/healthy"), 204);
        QCOMPARE(health("manual", ta), QString("HEALTHY"));

        // Unknown upstream, target or address.
        QCOMPARE(put("/upstreams/manual/targets/127.0.0.1:1/unhealthy"), 404);
        QCOMPARE(put("/upstreams/no-such-upstream/targets/" + ta + "/unhealthy"), 404);
        QCOMPARE(put("/upstreams/manual/targets/" + ta + "/127.0.0.1:1/unhealthy"), 404);
        QCOMPARE(health("manual", ta), QString("HEALTHY"));
    }

    // §5.3, §5.4: active probes bring a target back after `healthy.successes` good probes and
    // take a failing one out after `unhealthy.http_failures` bad probes, without any traffic.
    void activeProbesRecoverAndTrip() {
        EchoProcess a("active-a"), b("active-b");
        QVERIFY(a.start() && b.start());
        RawUpstream sick(RawUpstream::Mode::ReplyAndClose, taggedReply(500, "active-sick"));
        const QByteArray ta = local(a.port());
        QByteArray error = makeUpstream(
            "active",
            "\"healthchecks\":{\"active\":{\"type\":\"http\",\"http_path\":\"/\","
            "\"healthy\":{\"interval\":0.2,\"successes\":2},"
            "\"unhealthy\":{\"interval\":0.2,\"http_failures\":2}}}",
            {{ta, 100}, {local(b.port()), 100}, {local(sick.port()), 100}});
        QVERIFY2(error.isEmpty(), error.constData());

        // Probes alone find the sick one (it answers 500 to GET /).
        QCOMPARE(waitForHealth("active", local(sick.port()), "UNHEALTHY"), QString("UNHEALTHY"));
        QCOMPARE(health("active", ta), QString("HEALTHY"));
        auto healthy_only = send("/active", 10);
        QVERIFY2(healthy_only.non_200 == 0 && healthy_only.count("active-sick") == 0,
                 qPrintable(describe(healthy_only)));

        QCOMPARE(put("/upstreams/active/targets/" + ta + "/unhealthy"), 204);
        QCOMPARE(health("active", ta), QString("UNHEALTHY"));
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(waitForHealth("active", ta, "HEALTHY"), QString("HEALTHY"));
        // Two successes at a 0.2 s interval cannot take less than one interval.
        QVERIFY2(timer.elapsed() >= 150, qPrintable(QString::number(timer.elapsed())));
        auto back = send("/active", 10);
        QVERIFY2(back.count("active-a") > 0 && back.non_200 == 0, qPrintable(describe(back)));
        QCOMPARE(health("active", local(sick.port())), QString("UNHEALTHY"));
    }

    // §5.4: with threshold 50, half the weight unavailable makes the whole upstream unhealthy:
    // every request gets 503 although one target is healthy.
    void thresholdMakesTheUpstreamUnhealthy() {
        EchoProcess a("guarded-a"), b("guarded-b");
        QVERIFY(a.start() && b.start());
        const QByteArray ta = local(a.port());
        QByteArray error = makeUpstream(
            "guarded",
            "\"healthchecks\":{\"threshold\":50,"
            "\"passive\":{\"unhealthy\":{\"http_failures\":5}}}",
            {{ta, 100}, {local(b.port()), 100}});
        QVERIFY2(error.isEmpty(), error.constData());
        QCOMPARE(balancerHealth("guarded"), QString("HEALTHY"));
        QCOMPARE(send("/guarded", 4).non_200, 0);

        QCOMPARE(put("/upstreams/guarded/targets/" + ta + "/unhealthy"), 204);
        QCOMPARE(health("guarded", local(b.port())), QString("HEALTHY"));
        auto denied = send("/guarded", 10);
        QVERIFY2(denied.statuses.value(503) == 10 && denied.tags.isEmpty(),
                 qPrintable(describe(denied)));
        auto one = request(gateway_.proxyPort(), "GET", "/guarded");
        QCOMPARE(one.json().value("message").toString(),
                 QString("failure to get a peer from the ring-balancer"));
        auto view = gateway_.admin("GET", "/upstreams/guarded/health?balancer_health=1");
        QCOMPARE(view.status, 200);
        auto data = view.json().value("data").toObject();
        QCOMPARE(data.value("balancer_health").toString(), QString("UNHEALTHY"));
        QVERIFY(!data.value("id").toString().isEmpty());
        QVERIFY(view.json().contains("node_id"));

        QCOMPARE(put("/upstreams/guarded/targets/" + ta + "/healthy"), 204);
        QCOMPARE(balancerHealth("guarded"), QString("HEALTHY"));
        QCOMPARE(send("/guarded", 4).non_200, 0);
    }

    // §1.4.2: hostname targets are resolved; one that does not resolve is DNS_ERROR and never
    // picked (.invalid never resolves, so no traffic leaves 127.0.0.1).
    void hostnameTargets() {
        EchoProcess named("named-local");
        QVERIFY(named.start());
        const QByteArray by_name = "localhost:" + number(named.port());
        const QByteArray nowhere = "no-such-host.invalid:80";
        QByteArray error = makeUpstream("named", {}, {{by_name, 100}, {nowhere, 100}}, {}, {}, 200);
        QVERIFY2(error.isEmpty(), error.constData());
        QCOMPARE(waitForHealth("named", nowhere, "DNS_ERROR"), QString("DNS_ERROR"));
        auto tally = send("/named", 20);
        QVERIFY2(tally.count("named-local") == 20, qPrintable(describe(tally)));

        auto entry = healthEntry(gateway_, "named", by_name);
        QVERIFY2(entry.value("health").toString() != "DNS_ERROR",
                 qPrintable(QJsonDocument(entry).toJson()));
        auto addresses = entry.value("data").toObject().value("addresses").toArray();
        QCOMPARE(addresses.size(), 1);
        QCOMPARE(addresses.first().toObject().value("ip").toString(), QString("127.0.0.1"));
        QCOMPARE(addresses.first().toObject().value("port").toInt(), int(named.port()));
        auto missing = healthEntry(gateway_, "named", nowhere);
        QVERIFY(missing.value("data").toObject().value("addresses").toArray().isEmpty());
    }

    // §4.3, §5.3: a target dies under sequential load; with retries and passive tcp_failures 1,
    // no client sees a failure, and the dead target is marked unhealthy.
    void failoverUnderLoad() {
        EchoProcess a("failover-a"), b("failover-b"), c("failover-c");
        QVERIFY(a.start() && b.start() && c.start());
        const QByteArray dead_target = local(c.port());
        QByteArray error = makeUpstream(
            "failover", "\"healthchecks\":{\"passive\":{\"unhealthy\":{\"tcp_failures\":1}}}",
            {{local(a.port()), 100}, {local(b.port()), 100}, {dead_target, 100}},
            "\"retries\":3", {}, 200);
        QVERIFY2(error.isEmpty(), error.constData());

        struct Answer {
            int status;
            QByteArray tag;
            int phase;  // 0: before the kill, 1: during it, 2: after it
        };
        std::mutex mutex;
        std::vector<Answer> answers;
        std::atomic<int> phase{0};
        std::atomic<bool> done{false};
        const quint16 port = gateway_.proxyPort();
        std::thread load([&] {
            QElapsedTimer timer;
            timer.start();
            while (!done && timer.elapsed() < 15000) {
                int started_in = phase.load();
                auto result = request(port, "GET", "/failover");
                int ended_in = phase.load();
                std::lock_guard lock(mutex);
                answers.push_back({result.status, result.headers.value("x-upstream"),
                                   started_in == ended_in ? started_in : 1});
            }
        });
        auto answered = [&] {
            std::lock_guard lock(mutex);
            return answers.size();
        };
        // About a second of traffic to all three, then the kill, then two more seconds.
        QElapsedTimer timer;
        timer.start();
        while ((answered() < 30 || timer.elapsed() < 1000) && timer.elapsed() < 10000) {
            QTest::qWait(20);
        }
        phase = 1;
        c.kill();
        phase = 2;
        auto killed_at = answered();
        QTest::qWait(2000);
        done = true;
        load.join();

        QMap<QByteArray, int> before;
        QMap<QByteArray, int> after;
        QStringList failures;
        for (const auto& answer : answers) {
            if (answer.status != 200) {
                failures << QString::number(answer.status);
            }
            if (answer.phase == 0) {
                before[answer.tag]++;
            } else if (answer.phase == 2) {
                after[answer.tag]++;
            }
        }
        QVERIFY2(failures.isEmpty(), qPrintable(QString("%1 of %2 requests failed: %3")
                                                    .arg(failures.size())
                                                    .arg(answers.size())
                                                    .arg(failures.join(' '))));
        QVERIFY2(before.value("failover-a") > 0 && before.value("failover-b") > 0 &&
                     before.value("failover-c") > 0,
                 "all three served before the kill");
        QVERIFY2(answers.size() - killed_at >= 20, qPrintable(QString::number(answers.size())));
        QCOMPARE(after.value("failover-c"), 0);
        QVERIFY(after.value("failover-a") > 0 && after.value("failover-b") > 0);
        QCOMPARE(waitForHealth("failover", dead_target, "UNHEALTHY", 2000), QString("UNHEALTHY"));
        QCOMPARE(health("failover", local(a.port())), QString("HEALTHY"));
        // One client, one request at a time: the first failed try trips it (threshold 1), and
        // nothing is sent to it afterwards.
        auto dead = balancerAddress("failover", dead_target);
        auto totals = dead.value("passive_failures_total").toObject();
        QVERIFY2(totals.value("tcp").toInt() + totals.value("timeout").toInt() == 1,
                 qPrintable(QJsonDocument(dead).toJson()));
    }

    // Portico's own views: the balancer's layout and counters, and the health gauges.
    void balancerViewAndMetrics() {
        EchoProcess a("viewed-a"), b("viewed-b");
        QVERIFY(a.start() && b.start());
        QByteArray error = makeUpstream(
            "viewed",
            "\"algorithm\":\"consistent-hashing\",\"hash_on\":\"header\","
            "\"hash_on_header\":\"X-User\","
            "\"healthchecks\":{\"passive\":{\"unhealthy\":{\"http_failures\":3}}}",
            {{local(a.port()), 100}, {local(b.port()), 100}});
        QVERIFY2(error.isEmpty(), error.constData());
        QCOMPARE(send("/viewed", 10).non_200, 0);

        auto view = gateway_.admin("GET", "/upstreams/viewed/balancer");
        QCOMPARE(view.status, 200);
        auto addresses = view.json().value("addresses").toArray();
        QVERIFY2(addresses.size() == 2, view.body.constData());
        qint64 slot_total = 0;
        for (const auto& item : addresses) {
            auto address = item.toObject();
            QVERIFY2(address.contains("slots"), view.body.constData());
            slot_total += address.value("slots").toInteger();
            auto counters = address.value("counters").toObject();
            QVERIFY2(counters.contains("success") && counters.contains("http_failures") &&
                         counters.contains("tcp_failures") && counters.contains("timeouts"),
                     view.body.constData());
        }
        QVERIFY2(slot_total > 0, view.body.constData());
        QCOMPARE(view.json().value("slots_total").toInteger(), slot_total);
        QCOMPARE(gateway_.admin("GET", "/upstreams/no-such-upstream/balancer").status, 404);
        QCOMPARE(gateway_.admin("GET", "/upstreams/no-such-upstream/health").status, 404);

        auto metrics = gateway_.admin("GET", "/metrics");
        QCOMPARE(metrics.status, 200);
        QVERIFY2(metrics.body.contains("portico_upstream_target_health"),
                 metrics.body.left(2000).constData());
        QVERIFY(metrics.body.contains("viewed"));
    }

    // Portico extension (off by default): upstream_passive_recovery re-admits a passively
    // tripped address for one trial request after that many seconds (half-open).
    void passiveRecoveryReadmitsHalfOpen() {
        PorticoProcess gateway;
        QVERIFY2(gateway.start({"upstream_passive_recovery = 1"}), qPrintable(gateway.output()));
        EchoProcess a("halfopen-a"), b("halfopen-b");
        QVERIFY(a.start() && b.start());
        // Service path /status: /halfopen/500 reaches the echo as /status/500.
        QByteArray error = makeUpstream(
            gateway, "halfopen",
            "\"healthchecks\":{\"passive\":{\"healthy\":{\"successes\":1},"
            "\"unhealthy\":{\"http_failures\":1}}}",
            {{local(a.port()), 100}, {local(b.port()), 100}}, {}, "/status", 200);
        QVERIFY2(error.isEmpty(), error.constData());

        auto tripped = request(gateway.proxyPort(), "GET", "/halfopen/500");
        QCOMPARE(tripped.status, 500);
        const QByteArray tag = tripped.headers.value("x-upstream");
        const QByteArray target = local(tag == "halfopen-a" ? a.port() : b.port());
        QCOMPARE(waitForHealth(gateway, "halfopen", target, "UNHEALTHY", 2000),
                 QString("UNHEALTHY"));
        QElapsedTimer timer;
        timer.start();
        bool readmitted = false;
        while (!readmitted && timer.elapsed() < 5000) {
            auto result = request(gateway.proxyPort(), "GET", "/halfopen/200");
            QCOMPARE(result.status, 200);
            if (result.headers.value("x-upstream") == tag) {
                readmitted = true;
                break;
            }
            QTest::qWait(25);
        }
        QVERIFY2(readmitted, "the tripped target never got its trial request");
        QVERIFY2(timer.elapsed() >= 700, qPrintable(QString::number(timer.elapsed())));
        QCOMPARE(waitForHealth(gateway, "halfopen", target, "HEALTHY", 2000), QString("HEALTHY"));
        auto tally = send(gateway, "/halfopen/200", 10);
        QVERIFY2(tally.count(tag) > 0 && tally.non_200 == 0, qPrintable(describe(tally)));
    }
};

QTEST_GUILESS_MAIN(UpstreamsTest)
#include "test_upstreams.moc"
