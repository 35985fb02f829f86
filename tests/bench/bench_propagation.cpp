// Change propagation across nodes on one PostgreSQL (issue 5: "a change made through node A is
// served by node B within 100 ms at p90"). Starts a throw-away PostgreSQL on 127.0.0.1, bootstraps
// it, starts `--nodes` portico processes on it (db_update_frequency = 60, so anything that arrives
// in time came by LISTEN/NOTIFY, not by the poll) and one portico-echo upstream. Then, `--changes`
// times, `--interval` ms apart: creates a route with a new path through node A and polls the
// proxy of every other node for that path until it answers 200 from the upstream. With
// --interval 0 the changes come back to back and meet the nodes' rebuild rate limit (one
// snapshot per 20 ms). Prints each latency distribution:
//
//   write->served   from sending the Admin API request to A until the node serves the route
//   commit->served  from A's 201 (the change is committed) until the node serves it
//
// Bounded: each change waits at most 5 s per node; the whole run at most 10 minutes.
// BENCH_OUTLIERS=1 prints every latency over 100 ms and, at the end, each node's output
// (BENCH_LOG_LEVEL=info makes the nodes log each snapshot they publish, with its time).
//
//   build/tests/bench/bench_propagation --changes 200 --nodes 3
// or tests/bench/propagation-bench.sh (builds first, passes its arguments on).

#include "tests/integration/harness.hpp"
#include "tests/integration/postgres_server.hpp"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

using namespace portico::test;

namespace {

double percentile(std::vector<double> values, double p) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

void report(const char* name, const std::vector<double>& ms) {
    std::printf("%-15s n=%zu  p50=%.1f ms  p90=%.1f ms  p99=%.1f ms  max=%.1f ms\n", name,
                ms.size(), percentile(ms, 50), percentile(ms, 90), percentile(ms, 99),
                ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
}

int fail(const QString& what) {
    std::fprintf(stderr, "bench_propagation: %s\n", qPrintable(what));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    int changes = 100;
    int node_count = 2;
    int interval_ms = 100;
    const auto args = app.arguments();
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] == "--changes" && i + 1 < args.size()) {
            changes = args[++i].toInt();
        } else if (args[i] == "--nodes" && i + 1 < args.size()) {
            node_count = args[++i].toInt();
        } else if (args[i] == "--interval" && i + 1 < args.size()) {
            interval_ms = args[++i].toInt();
        } else {
            std::fprintf(stderr, "usage: bench_propagation [--changes N (100)] [--nodes N (2)] "
                                 "[--interval MS between changes (100)]\n");
            return 2;
        }
    }
    if (changes < 1 || node_count < 2 || node_count > 8 || interval_ms < 0 || interval_ms > 10000) {
        return fail("--changes must be at least 1, --nodes between 2 and 8, --interval between 0 "
                    "and 10000");
    }

    // Quiet nodes: nothing reads their output while the changes run (the environment overrides
    // the log_level the harness writes into portico.conf).
    const QByteArray log_level = qgetenv("BENCH_LOG_LEVEL");
    qputenv("PORTICO_LOG_LEVEL", log_level.isEmpty() ? "warn" : log_level);
    std::printf("starting PostgreSQL ...\n");
    std::fflush(stdout);
    PostgresServer pg;
    if (!pg.start() || !pg.createDatabase("bench")) {
        return fail(pg.error());
    }
    auto bootstrap = runCommand(porticoBinary(), {"migrations", "bootstrap"},
                                pg.porticoEnvironment("bench"));
    if (bootstrap.exit_code != 0) {
        return fail("migrations bootstrap: " + QString::fromUtf8(bootstrap.out + bootstrap.err));
    }
    EchoProcess echo("propagation");
    if (!echo.start()) {
        return fail("cannot start portico-echo");
    }
    std::vector<std::unique_ptr<PorticoProcess>> nodes;
    for (int i = 0; i < node_count; ++i) {
        nodes.push_back(std::make_unique<PorticoProcess>());
        if (!nodes.back()->start(pg.porticoLines("bench") +
                                 QStringList{"db_update_frequency = 60"})) {
            return fail("node " + QString::number(i) + " did not start: " + nodes.back()->output());
        }
    }
    auto& writer = *nodes.front();
    auto service = writer.admin("POST", "/services",
                                "{\"name\":\"bench\",\"url\":\"http://127.0.0.1:" +
                                    QByteArray::number(echo.port()) + "\"}");
    if (service.status != 201) {
        return fail("POST /services: " + QString::fromUtf8(service.body));
    }
    std::printf("%d nodes on PostgreSQL port %u; %d changes through node 0, %d ms apart\n",
                node_count, unsigned(pg.port()), changes, interval_ms);

    std::vector<double> write_to_served;
    std::vector<double> commit_to_served;
    QElapsedTimer run;
    run.start();
    for (int change = 0; change < changes && run.elapsed() < 600000; ++change) {
        // The trailing slash keeps every path from being a prefix of a later one (/change-1/ does
        // not match /change-10/), so no earlier route can answer for a new one.
        const QByteArray path = "/change-" + QByteArray::number(change) + "/";
        QElapsedTimer clock;
        clock.start();
        auto created = writer.admin("POST", "/services/bench/routes",
                                    "{\"paths\":[\"" + path + "\"]}");
        const double committed_ms = static_cast<double>(clock.nsecsElapsed()) / 1e6;
        if (created.status != 201) {
            return fail("POST /services/bench/routes: " + QString::fromUtf8(created.body));
        }
        for (std::size_t n = 1; n < nodes.size(); ++n) {
            bool served = false;
            while (clock.elapsed() < 5000) {
                auto answer = request(nodes[n]->proxyPort(), "GET", path);
                if (answer.status == 200 && answer.body.contains("propagation")) {
                    served = true;
                    break;
                }
                // A breath between polls: a tight loop would take a whole core from the nodes
                // and PostgreSQL on a small machine and measure the scheduler instead.
                QThread::usleep(500);
            }
            if (!served) {
                return fail("node " + QString::number(n) + " did not serve " + path +
                            " within 5 s");
            }
            const double served_ms = static_cast<double>(clock.nsecsElapsed()) / 1e6;
            write_to_served.push_back(served_ms);
            if (served_ms > 100 && qEnvironmentVariableIsSet("BENCH_OUTLIERS")) {
                std::printf("  outlier: change %d node %zu at %.3f s: %.1f ms (201 after %.1f ms)\n",
                            change, n, double(run.elapsed()) / 1000.0, served_ms, committed_ms);
            }
            commit_to_served.push_back(served_ms - committed_ms);
        }
        QThread::msleep(static_cast<unsigned long>(interval_ms));
        if ((change + 1) % 20 == 0) {
            std::printf("  %d/%d changes\n", change + 1, changes);
            std::fflush(stdout);
        }
    }
    report("write->served", write_to_served);
    report("commit->served", commit_to_served);
    for (auto& node : nodes) {
        node->stop();
        if (qEnvironmentVariableIsSet("BENCH_OUTLIERS")) {
            std::printf("---- node output\n%s\n", qPrintable(node->output().right(60000)));
        }
    }
    return 0;
}
