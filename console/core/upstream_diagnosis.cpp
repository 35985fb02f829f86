#include "console/core/upstream_diagnosis.hpp"

#include <QCoreApplication>
#include <QDateTime>

#include <cmath>

namespace portico::console {

namespace {

QString tr(const char* text) {
    return QCoreApplication::translate("UpstreamDiagnosis", text);
}

QString when(double unix_seconds) {
    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(unix_seconds * 1000.0))
        .toLocalTime()
        .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

// "target 10.0.0.5:8080" for an IP target, "address 10.1.2.3:80 of target api:80" otherwise.
QString who(const BalancerAddress& a) {
    if (a.key == a.target || a.endpoint() == a.target) {
        return tr("Target %1").arg(a.target);
    }
    return tr("Address %1 of target %2").arg(a.endpoint(), a.target);
}

QString percent(double value) {
    return QString::number(value, 'f', value == std::floor(value) ? 0 : 1) + QLatin1Char('%');
}

QString plural(qsizetype n, const QString& one, const QString& many) {
    return QString::number(n) + QLatin1Char(' ') + (n == 1 ? one : many);
}

}  // namespace

QString UpstreamDiagnosis::explainAddress(const BalancerView& view, const BalancerAddress& a) {
    const QString source = a.last_change ? a.last_change->source : QString();
    const QString since = a.last_change ? when(a.last_change->time) : QString();
    QString text;
    if (source == QLatin1String("manual")) {
        text = tr("%1 was marked unhealthy through the Admin API at %2.").arg(who(a), since);
        text += view.active_checks
                    ? tr(" Active probes bring it back once they succeed, or mark it healthy.")
                    : tr(" Only marking it healthy brings it back.");
        return text;
    }
    if (source == QLatin1String("active")) {
        text = tr("%1 is unhealthy by active health checks since %2: %3.")
                   .arg(who(a), since, a.last_change->what);
        if (a.last_probe) {
            text += tr(" Last probe: %1.").arg(a.last_probe->what);
        }
        text += a.active.successes > 0
                    ? tr(" %1 successful probes in a row bring it back.").arg(a.active.successes)
                    : tr(" Probes cannot bring it back (active.healthy.successes is 0): mark it "
                         "healthy.");
        return text;
    }
    if (source == QLatin1String("passive")) {
        text = tr("%1 is unhealthy by passive health checks since %2: %3.")
                   .arg(who(a), since, a.last_change->what);
        if (a.last_failure) {
            text += tr(" Last failure: %1.").arg(a.last_failure->what);
        }
        if (view.passive_recovery_s > 0) {
            text += a.half_open ? tr(" A half-open trial request is allowed now.")
                                : tr(" It gets a trial request %1 s after it failed.")
                                      .arg(view.passive_recovery_s);
        } else if (view.active_checks) {
            text += tr(" Active probes can bring it back.");
        } else {
            text += tr(" Without active checks only marking it healthy brings it back.");
        }
        return text;
    }
    text = tr("%1 is unhealthy.").arg(who(a));
    if (a.last_failure) {
        text += tr(" Last failure: %1.").arg(a.last_failure->what);
    }
    return text;
}

UpstreamDiagnosis UpstreamDiagnosis::notOnNode(const QString& upstream) {
    UpstreamDiagnosis d;
    d.verdict = Verdict::Failing;
    d.headline = tr("Upstream '%1' is not set up on this node yet: its configuration is still "
                    "being applied, so requests to it get 503.")
                     .arg(upstream);
    d.advice << tr("Wait a moment; if it stays, check the node's log and /status.");
    return d;
}

UpstreamDiagnosis UpstreamDiagnosis::diagnose(const BalancerView& view,
                                              const QStringList* services) {
    const QString name = view.name.isEmpty() ? view.id : view.name;
    UpstreamDiagnosis d = diagnoseBalancer(view, name);
    if (services) {
        if (services->isEmpty()) {
            d.usage = tr("No service has host '%1', so no request is balanced over this "
                         "upstream.")
                          .arg(name);
            d.advice << tr("Set a service's host to '%1' to send its traffic here.").arg(name);
        } else {
            d.usage = tr("Used by %1: %2.")
                          .arg(services->size() == 1 ? tr("service") : tr("services"),
                               services->join(QStringLiteral(", ")));
        }
    }
    return d;
}

UpstreamDiagnosis UpstreamDiagnosis::diagnoseBalancer(const BalancerView& view,
                                                      const QString& name) {
    UpstreamDiagnosis d;
    const QString peer_failure = tr("\"failure to get a peer from the ring-balancer\"");

    if (view.targets.isEmpty()) {
        d.verdict = Verdict::Failing;
        d.headline = tr("Every request to upstream '%1' gets 503 %2: it has no targets.")
                         .arg(name, peer_failure);
        d.advice << tr("Add a target (host:port) with \"Add target…\". Service instances usually "
                       "register themselves through POST /upstreams/%1/targets when they deploy.")
                        .arg(name);
        return d;
    }

    qsizetype weight0 = 0;
    qsizetype dns_error = 0;
    qsizetype pending = 0;
    qsizetype unhealthy = 0;
    qsizetype usable = 0;
    qsizetype with_weight = 0;
    QStringList warnings;
    for (const BalancerTarget& target : view.targets) {
        bool any = false;
        for (const BalancerAddress& a : view.addresses) {
            if (a.target_id != target.id) {
                continue;
            }
            any = true;
            if (target.weight == 0 || a.weight == 0) {
                continue;
            }
            ++with_weight;
            if (a.unhealthy()) {
                ++unhealthy;
                d.reasons << explainAddress(view, a);
            } else {
                ++usable;
                QStringList counted;
                if (a.counters.http_failures > 0) {
                    counted << plural(a.counters.http_failures, tr("http failure"),
                                      tr("http failures"));
                }
                if (a.counters.tcp_failures > 0) {
                    counted << plural(a.counters.tcp_failures, tr("tcp failure"),
                                      tr("tcp failures"));
                }
                if (a.counters.timeouts > 0) {
                    counted << plural(a.counters.timeouts, tr("timeout"), tr("timeouts"));
                }
                if (!counted.isEmpty()) {
                    warnings << tr("%1 is healthy but has counted %2 towards its thresholds.")
                                    .arg(who(a), counted.join(QStringLiteral(", ")));
                }
            }
        }
        if (target.weight == 0) {
            ++weight0;
            d.reasons << tr("Target %1 has weight 0: it is kept but receives no traffic.")
                             .arg(target.target);
            continue;
        }
        if (any) {
            continue;
        }
        if (target.dns_status == QLatin1String("error")) {
            ++dns_error;
            d.reasons << tr("Target %1 has no address: DNS resolution failed: %2.")
                             .arg(target.target, target.dns_error.isEmpty()
                                                     ? tr("no address in the answer")
                                                     : target.dns_error);
        } else {
            ++pending;
            d.reasons << tr("Target %1 has no address yet: its name is still being resolved.")
                             .arg(target.target);
        }
    }

    const double available_pct =
        view.weight_total > 0 ? 100.0 * double(view.weight_available) / double(view.weight_total)
                              : 0.0;
    QStringList counts;
    if (unhealthy > 0) {
        counts << plural(unhealthy, tr("address unhealthy"), tr("addresses unhealthy"));
    }
    if (weight0 > 0) {
        counts << plural(weight0, tr("target with weight 0"), tr("targets with weight 0"));
    }
    if (dns_error > 0) {
        counts << plural(dns_error, tr("target whose name did not resolve"),
                         tr("targets whose names did not resolve"));
    }
    if (pending > 0) {
        counts << plural(pending, tr("target still being resolved"),
                         tr("targets still being resolved"));
    }
    const QString counted = counts.join(QStringLiteral(", "));

    if (with_weight == 0) {
        d.verdict = Verdict::Failing;
        d.headline = tr("Every request to upstream '%1' gets 503 %2: no address can take "
                        "traffic (%3).")
                         .arg(name, peer_failure, counted);
        if (weight0 > 0) {
            d.advice << tr("Give a target a weight above 0 with \"Change weight…\".");
        }
        if (dns_error + pending > 0) {
            d.advice << tr("Check that the targets' host names resolve from the gateway node.");
        }
        return d;
    }
    if (usable == 0) {
        d.verdict = Verdict::Failing;
        d.headline = tr("Every request to upstream '%1' gets 503 %2: no address is available "
                        "(%3).")
                         .arg(name, peer_failure, counted);
        d.advice << tr("Fix the failing instances, or mark an address healthy once it is fixed.");
        d.reasons << warnings;
        return d;
    }
    if (!view.healthy()) {
        d.verdict = Verdict::Failing;
        d.headline = tr("Every request to upstream '%1' gets 503 %2: only %3 of its weight is "
                        "available and healthchecks.threshold is %4, so the upstream as a whole "
                        "counts as unhealthy although %5 still healthy.")
                         .arg(name, peer_failure, percent(available_pct), percent(view.threshold),
                              plural(usable, tr("address is"), tr("addresses are")));
        d.advice << tr(
            "Bring unhealthy addresses back, add targets, or lower "
            "healthchecks.threshold (it protects the last healthy addresses from a "
            "cascade).");
        d.reasons << warnings;
        return d;
    }
    if (!counted.isEmpty()) {
        d.verdict = Verdict::Degraded;
        d.headline = tr("Upstream '%1' serves traffic with %2 (%3 of its weight available, "
                        "threshold %4); %5.")
                         .arg(name, plural(usable, tr("address"), tr("addresses")),
                              percent(available_pct), percent(view.threshold), counted);
        d.reasons << warnings;
        return d;
    }
    d.verdict = Verdict::Serving;
    d.headline =
        tr("Upstream '%1' serves traffic: %2 can take it (%3 of its weight available, "
           "threshold %4).")
            .arg(name, usable == 1 ? tr("its address") : tr("all %1 addresses").arg(usable),
                 percent(available_pct), percent(view.threshold));
    if (!view.healthchecks_in_use) {
        d.reasons << tr(
            "Health checks are off: a failing instance keeps receiving traffic until "
            "it is marked unhealthy.");
    }
    d.reasons << warnings;
    return d;
}

}  // namespace portico::console
