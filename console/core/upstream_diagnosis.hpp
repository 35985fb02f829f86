#pragma once
// "Why 503?": the state of one upstream on one node in plain words, computed from its balancer
// view (GET /upstreams/{u}/balancer). It tells apart the causes Kong folds into "failure to get
// a peer from the ring-balancer": no targets, every target with weight 0, names that do not
// resolve, every address unhealthy (and why each is: active or passive failures against their
// thresholds, a manual override, with what would bring it back), and the upstream-wide
// threshold. The sentences follow the gateway's own explanations (docs/health-checks.md).

#include "console/core/balancer_model.hpp"

#include <QStringList>

namespace portico::console {

struct UpstreamDiagnosis {
    enum class Verdict {
        Serving,   // every address that should take traffic does
        Degraded,  // serving, but some addresses do not take traffic
        Failing,   // every request routed to the upstream gets 503
    };
    Verdict verdict = Verdict::Serving;
    QString headline;     // one sentence
    QStringList reasons;  // one sentence per target or address that takes no traffic
    QStringList advice;   // what an operator can do about it
    QString usage;        // which services send traffic here, when known

    // `services`: names of the services whose host is this upstream, when the caller knows
    // them (nullptr: unknown). None at all is worth saying: then no request reaches it.
    static UpstreamDiagnosis diagnose(const BalancerView& view,
                                      const QStringList* services = nullptr);
    // The upstream exists but this node has no balancer for it (404 from /balancer).
    static UpstreamDiagnosis notOnNode(const QString& upstream);

    // Why one unhealthy address is unhealthy and what brings it back.
    static QString explainAddress(const BalancerView& view, const BalancerAddress& address);

private:
    static UpstreamDiagnosis diagnoseBalancer(const BalancerView& view, const QString& name);
};

}  // namespace portico::console
