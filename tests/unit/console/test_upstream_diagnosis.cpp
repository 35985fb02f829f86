// "Why 503?" in plain words, from balancer views captured from a real gateway: no targets, some
// addresses down (passive failures, manual override, weight 0, a name that does not resolve),
// the upstream-wide threshold, and every address unhealthy.

#include "console/core/upstream_diagnosis.hpp"
#include "tests/unit/console/fixtures.hpp"

#include <QJsonArray>
#include <QtTest>

using portico::console::BalancerView;
using portico::console::UpstreamDiagnosis;
using portico::test::loadFixture;
using Verdict = portico::console::UpstreamDiagnosis::Verdict;

namespace {

UpstreamDiagnosis diagnose(const char* fixture) {
    return UpstreamDiagnosis::diagnose(BalancerView::fromJson(loadFixture(fixture)));
}

bool anyContains(const QStringList& lines, const QString& text) {
    for (const QString& line : lines) {
        if (line.contains(text)) {
            return true;
        }
    }
    return false;
}

}  // namespace

class UpstreamDiagnosisTest : public QObject {
    Q_OBJECT

private slots:
    void noTargets() {
        const auto d = diagnose("balancer_no_targets.json");
        QCOMPARE(d.verdict, Verdict::Failing);
        QVERIFY2(d.headline.contains("gets 503"), qPrintable(d.headline));
        QVERIFY2(d.headline.contains("it has no targets"), qPrintable(d.headline));
        QVERIFY(d.headline.contains("'empty'"));
        QVERIFY(anyContains(d.advice, "Add a target"));
    }

    void healthyUpstream() {
        const auto d = diagnose("balancer_healthy.json");
        QCOMPARE(d.verdict, Verdict::Degraded);  // one target's name does not resolve
        QVERIFY2(d.headline.contains("serves traffic with 2 addresses"), qPrintable(d.headline));
        QVERIFY2(d.headline.contains("1 target whose name did not resolve"),
                 qPrintable(d.headline));
        QVERIFY2(anyContains(d.reasons,
                             "Target nonexistent.invalid:80 has no address: DNS "
                             "resolution failed: domain name not found"),
                 qPrintable(d.reasons.join('\n')));
    }

    void allServing() {
        QJsonObject json = loadFixture("balancer_healthy.json");
        QJsonArray targets = json.value("targets").toArray();
        targets.removeLast();  // the unresolvable one
        json.insert("targets", targets);
        const auto d = UpstreamDiagnosis::diagnose(BalancerView::fromJson(json));
        QCOMPARE(d.verdict, Verdict::Serving);
        QVERIFY2(d.headline.contains("all 2 addresses can take it"), qPrintable(d.headline));
        QVERIFY2(d.headline.contains("100% of its weight available, threshold 0%"),
                 qPrintable(d.headline));
        QVERIFY(d.reasons.isEmpty());
    }

    void degradedExplainsEachAddress() {
        const auto d = diagnose("balancer_degraded.json");
        QCOMPARE(d.verdict, Verdict::Degraded);
        QVERIFY2(d.headline.contains("2 addresses unhealthy"), qPrintable(d.headline));
        QVERIFY(d.headline.contains("1 target with weight 0"));
        const QString all = d.reasons.join('\n');
        QVERIFY2(all.contains("Target 127.0.0.1:1 is unhealthy by passive health checks since"),
                 qPrintable(all));
        QVERIFY(all.contains("1 passive tcp failure (threshold 1)"));
        QVERIFY(all.contains("Last failure: passive: Connection refused."));
        QVERIFY(all.contains("Without active checks only marking it healthy brings it back."));
        QVERIFY(all.contains("Target 127.0.0.1:38869 was marked unhealthy through the Admin API"));
        QVERIFY(all.contains("Target 127.0.0.1:2 has weight 0"));
        QVERIFY(all.contains("nonexistent.invalid:80 has no address"));
        QCOMPARE(d.reasons.size(), 4);
    }

    void thresholdNotMet() {
        const auto d = diagnose("balancer_threshold.json");
        QCOMPARE(d.verdict, Verdict::Failing);
        QVERIFY2(d.headline.contains("only 30% of its weight is available and "
                                     "healthchecks.threshold is 50%"),
                 qPrintable(d.headline));
        QVERIFY(d.headline.contains("1 address is still healthy"));
        QVERIFY(anyContains(d.advice, "lower healthchecks.threshold"));
        QVERIFY(anyContains(d.reasons, "127.0.0.1:38869 was marked unhealthy"));
    }

    void allUnhealthy() {
        const auto d = diagnose("balancer_all_unhealthy.json");
        QCOMPARE(d.verdict, Verdict::Failing);
        QVERIFY2(d.headline.contains("no address is available (2 addresses unhealthy)"),
                 qPrintable(d.headline));
        QCOMPARE(d.reasons.size(), 2);
        QVERIFY(d.reasons[0].contains("marked unhealthy through the Admin API"));
    }

    void everyTargetWeightZero() {
        QJsonObject json = loadFixture("balancer_healthy.json");
        QJsonArray targets = json.value("targets").toArray();
        targets.removeLast();
        for (qsizetype i = 0; i < targets.size(); ++i) {
            QJsonObject t = targets[i].toObject();
            t.insert("weight", 0);
            targets[i] = t;
        }
        QJsonArray addresses = json.value("addresses").toArray();
        for (qsizetype i = 0; i < addresses.size(); ++i) {
            QJsonObject a = addresses[i].toObject();
            a.insert("weight", 0);
            a.insert("slots", 0);
            a.insert("state", "disabled");
            addresses[i] = a;
        }
        json.insert("targets", targets);
        json.insert("addresses", addresses);
        json.insert("health", "UNHEALTHY");
        json.insert("weight", QJsonObject{{"total", 0}, {"available", 0}, {"unavailable", 0}});
        const auto d = UpstreamDiagnosis::diagnose(BalancerView::fromJson(json));
        QCOMPARE(d.verdict, Verdict::Failing);
        QVERIFY2(d.headline.contains("no address can take traffic (2 targets with weight 0)"),
                 qPrintable(d.headline));
        QVERIFY(anyContains(d.advice, "weight above 0"));
    }

    void activeChecksExplainProbes() {
        QJsonObject json = loadFixture("balancer_healthy.json");
        QJsonArray addresses = json.value("addresses").toArray();
        QJsonObject a = addresses[0].toObject();
        a.insert("state", "unhealthy");
        a.insert("last_change", QJsonObject{{"time", 1795721837.0},
                                            {"source", "active"},
                                            {"cause", "2 active tcp failures (threshold 2)"}});
        a.insert("last_probe", QJsonObject{{"time", 1795721839.0}, {"result", "tcp failure"}});
        addresses[0] = a;
        json.insert("addresses", addresses);
        const auto d = UpstreamDiagnosis::diagnose(BalancerView::fromJson(json));
        const QString all = d.reasons.join('\n');
        QVERIFY2(all.contains("is unhealthy by active health checks since"), qPrintable(all));
        QVERIFY(all.contains("2 active tcp failures (threshold 2)"));
        QVERIFY(all.contains("Last probe: tcp failure."));
        QVERIFY(all.contains("2 successful probes in a row bring it back."));
    }

    void servicesUsingTheUpstream() {
        const BalancerView view = BalancerView::fromJson(loadFixture("balancer_healthy.json"));
        QVERIFY(UpstreamDiagnosis::diagnose(view).usage.isEmpty());  // unknown: nothing said
        const QStringList none;
        const auto unused = UpstreamDiagnosis::diagnose(view, &none);
        QVERIFY2(unused.usage.contains("No service has host 'orders'"), qPrintable(unused.usage));
        QVERIFY(anyContains(unused.advice, "Set a service's host to 'orders'"));
        const QStringList two{"orders", "orders-v2"};
        QCOMPARE(UpstreamDiagnosis::diagnose(view, &two).usage,
                 QString("Used by services: orders, orders-v2."));
    }

    void notOnNode() {
        const auto d = UpstreamDiagnosis::notOnNode("orders");
        QCOMPARE(d.verdict, Verdict::Failing);
        QVERIFY(d.headline.contains("not set up on this node yet"));
    }
};

QTEST_GUILESS_MAIN(UpstreamDiagnosisTest)
#include "test_upstream_diagnosis.moc"
