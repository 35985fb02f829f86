// TrafficRing (capacity, sequences, since/recent with filters, find, explanations) and the
// Prometheus text of Metrics.

#include "gateway/proxy/traffic.hpp"

#include <QtTest>

#include <set>
#include <thread>

using portico::proxy::Explanation;
using portico::proxy::Metrics;
using portico::proxy::TrafficFilter;
using portico::proxy::TrafficRecord;
using portico::proxy::TrafficRing;
using portico::proxy::TryRecord;

namespace {

TrafficRecord makeRecord(std::string id, int status, std::string route = "r1",
                         std::string service = "s1", bool gateway_error = false) {
    TrafficRecord record;
    record.request_id = std::move(id);
    record.method = "GET";
    record.host = "api.test";
    record.path = "/v2/items";
    record.route = std::move(route);
    record.service = std::move(service);
    record.address = "10.0.0.1:8080";
    record.status = status;
    record.gateway_error = gateway_error;
    return record;
}

QStringList ids(const std::vector<TrafficRecord>& records) {
    QStringList out;
    for (const auto& record : records) {
        out << QString::fromStdString(record.request_id);
    }
    return out;
}

std::vector<std::uint64_t> sequences(const std::vector<TrafficRecord>& records) {
    std::vector<std::uint64_t> out;
    for (const auto& record : records) {
        out.push_back(record.sequence);
    }
    return out;
}

Explanation makeExplanation(std::string id, std::string summary) {
    Explanation explanation;
    explanation.request_id = std::move(id);
    explanation.status = 502;
    explanation.message = "An invalid response was received from the upstream server";
    explanation.summary = std::move(summary);
    explanation.tries.push_back(TryRecord{"10.0.0.1:8080", "connect_refused", "refused", 1.5});
    return explanation;
}

// The feed the filter rows run against, oldest first.
void fillFeed(TrafficRing& ring) {
    ring.push(makeRecord("a", 200, "orders", "orders-svc"));
    ring.push(makeRecord("b", 502, "orders", "orders-svc", true));
    ring.push(makeRecord("c", 404, "users", "users-svc"));
    ring.push(makeRecord("d", 503, "users", "users-svc", false));  // the upstream's own 503
    ring.push(makeRecord("e", 201, "", "", false));
    TrafficRecord f = makeRecord("f", 504, "users", "users-svc", true);
    f.method = "POST";
    f.host = "Admin.Example.org";
    f.path = "/v1/Checkout";
    f.address = "192.168.1.7:9000";
    ring.push(f);
}

}  // namespace

class TrafficTest : public QObject {
    Q_OBJECT

private slots:
    void capacityEvictsOldest() {
        TrafficRing ring(3, 2);
        for (int i = 1; i <= 5; ++i) {
            ring.push(makeRecord("r" + std::to_string(i), 200));
        }
        QCOMPARE(ring.lastSequence(), std::uint64_t(5));
        auto records = ring.recent(TrafficFilter{}, 10);
        QCOMPARE(ids(records), QStringList({"r5", "r4", "r3"}));
        QCOMPARE(sequences(records), std::vector<std::uint64_t>({5, 4, 3}));
        QVERIFY(!ring.find("r1").has_value());
        QVERIFY(!ring.find("r2").has_value());
        QVERIFY(ring.find("r3").has_value());
    }

    void zeroCapacityKeepsNothingButCounts() {
        TrafficRing ring(0, 0);
        ring.push(makeRecord("x", 200));
        ring.explain(makeExplanation("x", "kept nowhere"));
        QCOMPARE(ring.lastSequence(), std::uint64_t(1));
        QVERIFY(ring.recent(TrafficFilter{}, 10).empty());
        QVERIFY(!ring.explanation("x").has_value());
    }

    void sequencesIncreaseAndPushOverwritesThem() {
        TrafficRing ring(10);
        QCOMPARE(ring.lastSequence(), std::uint64_t(0));
        TrafficRecord record = makeRecord("a", 200);
        record.sequence = 77;  // the caller's value is ignored
        ring.push(record);
        ring.push(makeRecord("b", 200));
        ring.push(makeRecord("c", 200));
        auto all = ring.since(0, TrafficFilter{}, 100);
        QCOMPARE(ids(all), QStringList({"a", "b", "c"}));
        QCOMPARE(sequences(all), std::vector<std::uint64_t>({1, 2, 3}));
    }

    void sinceReturnsNewerOldestFirst() {
        TrafficRing ring(4);
        for (int i = 1; i <= 6; ++i) {
            ring.push(makeRecord("r" + std::to_string(i), i % 2 == 0 ? 500 : 200));
        }
        // 1 and 2 were evicted; 3..6 remain.
        QCOMPARE(ids(ring.since(0, TrafficFilter{}, 100)), QStringList({"r3", "r4", "r5", "r6"}));
        QCOMPARE(ids(ring.since(4, TrafficFilter{}, 100)), QStringList({"r5", "r6"}));
        QCOMPARE(ids(ring.since(4, TrafficFilter{}, 1)), QStringList({"r5"}));
        QVERIFY(ring.since(6, TrafficFilter{}, 100).empty());
        QVERIFY(ring.since(1000, TrafficFilter{}, 100).empty());
        TrafficFilter errors;
        errors.status_class = 5;
        QCOMPARE(ids(ring.since(3, errors, 100)), QStringList({"r4", "r6"}));
    }

    void recentLimit() {
        TrafficRing ring(10);
        fillFeed(ring);
        QCOMPARE(ids(ring.recent(TrafficFilter{}, 2)), QStringList({"f", "e"}));
        QVERIFY(ring.recent(TrafficFilter{}, 0).empty());
    }

    void filters_data() {
        QTest::addColumn<int>("statusClass");  // -1: unset
        QTest::addColumn<int>("status");       // -1: unset
        QTest::addColumn<QString>("route");
        QTest::addColumn<QString>("service");
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("errorsOnly");
        QTest::addColumn<QStringList>("expected");  // recent(), newest first

        QTest::newRow("none") << -1 << -1 << ""
                              << ""
                              << "" << false << QStringList({"f", "e", "d", "c", "b", "a"});
        QTest::newRow("5xx") << 5 << -1 << ""
                             << ""
                             << "" << false << QStringList({"f", "d", "b"});
        QTest::newRow("2xx") << 2 << -1 << ""
                             << ""
                             << "" << false << QStringList({"e", "a"});
        QTest::newRow("status 503") << -1 << 503 << ""
                                    << ""
                                    << "" << false << QStringList({"d"});
        QTest::newRow("route") << -1 << -1 << "users"
                               << ""
                               << "" << false << QStringList({"f", "d", "c"});
        QTest::newRow("service") << -1 << -1 << ""
                                 << "orders-svc"
                                 << "" << false << QStringList({"b", "a"});
        QTest::newRow("gateway errors") << -1 << -1 << ""
                                        << ""
                                        << "" << true << QStringList({"f", "b"});
        QTest::newRow("text in path, any case") << -1 << -1 << ""
                                                << ""
                                                << "checkout" << false << QStringList({"f"});
        QTest::newRow("text in host") << -1 << -1 << ""
                                      << ""
                                      << "ADMIN.example" << false << QStringList({"f"});
        QTest::newRow("text in method") << -1 << -1 << ""
                                        << ""
                                        << "post" << false << QStringList({"f"});
        QTest::newRow("text in address") << -1 << -1 << ""
                                         << ""
                                         << "192.168." << false << QStringList({"f"});
        QTest::newRow("text in request id") << -1 << -1 << ""
                                            << ""
                                            << "c" << false << QStringList({"f", "c"});
        QTest::newRow("text nowhere") << -1 << -1 << ""
                                      << ""
                                      << "nothing" << false << QStringList();
        QTest::newRow("route and 5xx") << 5 << -1 << "users"
                                       << ""
                                       << "" << false << QStringList({"f", "d"});
        QTest::newRow("all at once") << 5 << 504 << "users"
                                     << "users-svc"
                                     << "v1" << true << QStringList({"f"});
        QTest::newRow("no match") << 4 << -1 << "orders"
                                  << ""
                                  << "" << false << QStringList();
    }

    void filters() {
        QFETCH(int, statusClass);
        QFETCH(int, status);
        QFETCH(QString, route);
        QFETCH(QString, service);
        QFETCH(QString, text);
        QFETCH(bool, errorsOnly);
        QFETCH(QStringList, expected);

        TrafficFilter filter;
        if (statusClass >= 0) {
            filter.status_class = statusClass;
        }
        if (status >= 0) {
            filter.status = status;
        }
        filter.route = route.toStdString();
        filter.service = service.toStdString();
        filter.text = text.toStdString();
        filter.gateway_errors_only = errorsOnly;

        TrafficRing ring(100);
        fillFeed(ring);
        QCOMPARE(ids(ring.recent(filter, 100)), expected);
        QStringList oldest_first(expected.rbegin(), expected.rend());
        QCOMPARE(ids(ring.since(0, filter, 100)), oldest_first);
    }

    void findByRequestId() {
        TrafficRing ring(10);
        fillFeed(ring);
        auto found = ring.find("d");
        QVERIFY(found.has_value());
        QCOMPARE(found->status, 503);
        QCOMPARE(found->sequence, std::uint64_t(4));
        QVERIFY(!ring.find("zzz").has_value());
        QVERIFY(!ring.find("").has_value());
    }

    void explanationsByIdAndEviction() {
        TrafficRing ring(10, 2);
        ring.explain(makeExplanation("x1", "first"));
        ring.explain(makeExplanation("x2", "second"));
        auto x1 = ring.explanation("x1");
        QVERIFY(x1.has_value());
        QCOMPARE(x1->summary, std::string("first"));
        QCOMPARE(x1->tries.size(), std::size_t(1));
        QCOMPARE(x1->tries[0].error_class, std::string("connect_refused"));

        ring.explain(makeExplanation("x3", "third"));
        QVERIFY(!ring.explanation("x1").has_value());
        QCOMPARE(ring.explanation("x2")->summary, std::string("second"));
        QCOMPARE(ring.explanation("x3")->summary, std::string("third"));
        QVERIFY(!ring.explanation("unknown").has_value());
        // Explanations live apart from records.
        QVERIFY(!ring.find("x3").has_value());
    }

    // A request pushed with its explanation (one lock for both, so the Admin API's
    // /traffic/<id> never finds the explanation of a request whose record is not in the ring yet)
    // is found by lookup() with both; each still leaves its own ring on its own.
    void recordPushedWithItsExplanation() {
        TrafficRing ring(10, 1);
        ring.push(makeRecord("a", 200));
        ring.push(makeRecord("b", 503, "r", "s", true), makeExplanation("b", "why b"));
        auto b = ring.lookup("b");
        QVERIFY(b.record.has_value() && b.explanation.has_value());
        QCOMPARE(b.record->status, 503);
        QCOMPARE(b.record->sequence, std::uint64_t(2));  // numbered like any record
        QCOMPARE(b.explanation->summary, std::string("why b"));
        auto a = ring.lookup("a");
        QVERIFY(a.record.has_value() && !a.explanation.has_value());

        ring.push(makeRecord("c", 502, "r", "s", true), makeExplanation("c", "why c"));
        b = ring.lookup("b");  // its explanation was evicted (capacity 1), its record stays
        QVERIFY(b.record.has_value() && !b.explanation.has_value());
        QCOMPARE(ring.lookup("c").explanation->summary, std::string("why c"));
        auto none = ring.lookup("unknown");
        QVERIFY(!none.record.has_value() && !none.explanation.has_value());
    }

    void concurrentPushesGetDistinctSequences() {
        TrafficRing ring(100000);
        constexpr int kThreads = 4;
        constexpr int kEach = 2000;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&ring, t] {
                for (int i = 0; i < kEach; ++i) {
                    ring.push(makeRecord(std::to_string(t) + "-" + std::to_string(i), 200));
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        QCOMPARE(ring.lastSequence(), std::uint64_t(kThreads * kEach));
        auto all = ring.since(0, TrafficFilter{}, kThreads * kEach);
        QCOMPARE(all.size(), std::size_t(kThreads * kEach));
        for (std::size_t i = 0; i < all.size(); ++i) {
            QCOMPARE(all[i].sequence, std::uint64_t(i + 1));
        }
    }

    void metricsTextExact() {
        Metrics metrics;
        TrafficRecord ok1 = makeRecord("1", 200, "r1", "s1");
        ok1.latency_ms = 3;
        ok1.bytes_out = 10;
        TrafficRecord ok2 = makeRecord("2", 204, "r1", "s1");
        ok2.latency_ms = 30;
        ok2.bytes_out = 5;
        TrafficRecord bad = makeRecord("3", 503, "r1", "s1", true);
        bad.latency_ms = 0.5;
        // Observed out of order: the output is sorted anyway.
        metrics.observe(bad);
        metrics.observe(ok1);
        metrics.observe(ok2);

        const std::string ok = "route=\"r1\",service=\"s1\",status_class=\"2xx\"";
        const std::string err = "route=\"r1\",service=\"s1\",status_class=\"5xx\"";
        auto buckets = [](const std::string& labels, std::vector<int> counts) {
            const char* bounds[] = {"1",   "2",   "5",    "10",   "25",   "50",    "100",
                                    "250", "500", "1000", "2500", "5000", "10000", "+Inf"};
            std::string out;
            for (std::size_t i = 0; i < counts.size(); ++i) {
                out += "portico_http_request_duration_ms_bucket{" + labels + ",le=\"" + bounds[i] +
                       "\"} " + std::to_string(counts[i]) + "\n";
            }
            return out;
        };
        std::string expected =
            "# HELP portico_http_requests_total Requests served, by route, service and status "
            "class.\n"
            "# TYPE portico_http_requests_total counter\n"
            "portico_http_requests_total{" +
            ok +
            "} 2\n"
            "portico_http_requests_total{" +
            err +
            "} 1\n"
            "# HELP portico_http_request_duration_ms Time from receiving a request to writing "
            "the last byte of its response, in milliseconds.\n"
            "# TYPE portico_http_request_duration_ms histogram\n" +
            buckets(ok, {0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2}) +
            "portico_http_request_duration_ms_sum{" + ok +
            "} 33\n"
            "portico_http_request_duration_ms_count{" +
            ok + "} 2\n" + buckets(err, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}) +
            "portico_http_request_duration_ms_sum{" + err +
            "} 0.5\n"
            "portico_http_request_duration_ms_count{" +
            err +
            "} 1\n"
            "# HELP portico_http_response_bytes_total Response body bytes sent to clients.\n"
            "# TYPE portico_http_response_bytes_total counter\n"
            "portico_http_response_bytes_total{" +
            ok +
            "} 15\n"
            "portico_http_response_bytes_total{" +
            err + "} 0\n";
        QCOMPARE(metrics.renderPrometheus(), expected);
    }

    void metricsEmptyHasOnlyHelpAndType() {
        Metrics metrics;
        std::string text = metrics.renderPrometheus();
        QCOMPARE(std::count(text.begin(), text.end(), '\n'), 6L);
        QVERIFY(text.find("# TYPE portico_http_request_duration_ms histogram\n") !=
                std::string::npos);
    }

    void metricsBucketBoundsAreInclusive() {
        Metrics metrics;
        TrafficRecord record = makeRecord("1", 200);
        record.latency_ms = 10;  // exactly on a bound: counted in le="10"
        metrics.observe(record);
        record.latency_ms = 20000;  // above every finite bound: only +Inf
        metrics.observe(record);
        std::string text = metrics.renderPrometheus();
        const std::string labels = "route=\"r1\",service=\"s1\",status_class=\"2xx\"";
        QVERIFY(text.find("_bucket{" + labels + ",le=\"5\"} 0\n") != std::string::npos);
        QVERIFY(text.find("_bucket{" + labels + ",le=\"10\"} 1\n") != std::string::npos);
        QVERIFY(text.find("_bucket{" + labels + ",le=\"10000\"} 1\n") != std::string::npos);
        QVERIFY(text.find("_bucket{" + labels + ",le=\"+Inf\"} 2\n") != std::string::npos);
        QVERIFY(text.find("_sum{" + labels + "} 20010\n") != std::string::npos);
    }

    void metricsLabelEscapingAndOrder() {
        Metrics metrics;
        metrics.observe(makeRecord("1", 200, "b", "s"));
        metrics.observe(makeRecord("2", 200, "a\"q\\x\ny", "s"));
        metrics.observe(makeRecord("3", 0, "a\"q\\x\ny", "s"));    // nothing sent
        metrics.observe(makeRecord("4", 700, "a\"q\\x\ny", "s"));  // out of range, same series
        metrics.observe(makeRecord("5", 100, "", ""));
        std::string text = metrics.renderPrometheus();
        auto counterStart = text.find("portico_http_requests_total{");
        auto counterEnd = text.find("# HELP portico_http_request_duration_ms");
        QVERIFY(counterStart != std::string::npos && counterEnd != std::string::npos);
        std::string counters = text.substr(counterStart, counterEnd - counterStart);
        QCOMPARE(counters,
                 std::string("portico_http_requests_total{route=\"\",service=\"\","
                             "status_class=\"1xx\"} 1\n"
                             "portico_http_requests_total{route=\"a\\\"q\\\\x\\ny\",service=\"s\","
                             "status_class=\"other\"} 2\n"
                             "portico_http_requests_total{route=\"a\\\"q\\\\x\\ny\",service=\"s\","
                             "status_class=\"2xx\"} 1\n"
                             "portico_http_requests_total{route=\"b\",service=\"s\","
                             "status_class=\"2xx\"} 1\n"));
    }
};

QTEST_GUILESS_MAIN(TrafficTest)
#include "test_traffic.moc"
