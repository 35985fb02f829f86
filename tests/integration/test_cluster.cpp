// Many nodes, one PostgreSQL (issue 5), end to end: a real PostgreSQL 15 started for the run
// (PostgresServer), real `portico` processes sharing it, real proxy traffic to portico-echo.
// Migrations (including two nodes bootstrapping at once), a change made through one node served
// by the other, the cluster view, health overrides on every node, one winner for concurrent
// writes, configuration history and rollback, a database outage under load with no failed proxy
// request, and a node starting from its cached configuration while the database is down.

#include "tests/integration/harness.hpp"
#include "tests/integration/postgres_server.hpp"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <functional>
#include <thread>

using namespace portico::test;

namespace {

QByteArray local(quint16 port) { return "127.0.0.1:" + QByteArray::number(port); }

// Polls `condition` every 20 ms until it holds or `timeout_ms` passes.
bool waitUntil(const std::function<bool()>& condition, int timeout_ms) {
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeout_ms) {
        if (condition()) {
            return true;
        }
        QThread::msleep(20);
    }
    return condition();
}

qint64 statusRevision(PorticoProcess& node) {
    return node.admin("GET", "/status")
        .json()
        .value("configuration")
        .toObject()
        .value("revision")
        .toInteger(-1);
}

QJsonObject statusDatabase(PorticoProcess& node) {
    return node.admin("GET", "/status").json().value("database").toObject();
}

// Proxy traffic from its own thread until stopped (or 120 s, whichever comes first): counts
// the answers that are not 200 from the expected upstream.
class LoadLoop {
public:
    LoadLoop(QList<quint16> ports, QByteArray path, QByteArray tag)
        : ports_(std::move(ports)), path_(std::move(path)), tag_(std::move(tag)) {}
    ~LoadLoop() { stop(); }

    void start() {
        thread_ = std::thread([this] {
            QElapsedTimer timer;
            timer.start();
            int i = 0;
            while (!stop_ && timer.elapsed() < 120000) {
                const quint16 port = ports_[i++ % ports_.size()];
                auto result = request(port, "GET", path_);
                ++total_;
                if (result.status != 200 || !result.body.contains(tag_)) {
                    if (failed_++ == 0) {
                        first_failure_ = QString("port %1: status %2 body %3")
                                             .arg(port)
                                             .arg(result.status)
                                             .arg(QString::fromUtf8(result.body.left(300)));
                    }
                }
            }
        });
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    int total() const { return total_; }
    int failed() const { return failed_; }
    QString firstFailure() const { return first_failure_; }

private:
    QList<quint16> ports_;
    QByteArray path_;
    QByteArray tag_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> total_{0};
    std::atomic<int> failed_{0};
    QString first_failure_;  // written by the load thread before stop() joins it
};

}  // namespace

class ClusterTest : public QObject {
    Q_OBJECT

    PostgresServer pg_;
    EchoProcess echo_{"cluster-echo"};
    PorticoProcess a_;
    PorticoProcess b_;

    QStringList nodeLines() const {
        // A poll far longer than any wait below: what propagates in time came by NOTIFY.
        return pg_.porticoLines("cluster") + QStringList{"db_update_frequency = 60"};
    }

    CommandResult migrations(const QString& database, const QString& action,
                             const QStringList& extra = {}) {
        return runCommand(porticoBinary(), {"migrations", action},
                          pg_.porticoEnvironment(database) + extra);
    }

    // Creates a service to the echo upstream with one route on `path`, through `node`.
    QByteArray addRoute(PorticoProcess& node, const QByteArray& name, const QByteArray& path) {
        auto service = node.admin(
            "POST", "/services",
            "{\"name\":\"" + name + "\",\"url\":\"http://" + local(echo_.port()) + "\"}");
        if (service.status != 201) {
            return "service: " + QByteArray::number(service.status) + " " + service.body;
        }
        auto route = node.admin("POST", "/services/" + name + "/routes",
                                "{\"name\":\"" + name + "-route\",\"paths\":[\"" + path + "\"]}");
        if (route.status != 201) {
            return "route: " + QByteArray::number(route.status) + " " + route.body;
        }
        return {};
    }

    bool served(PorticoProcess& node, const QByteArray& path) {
        auto result = request(node.proxyPort(), "GET", path);
        return result.status == 200 && result.body.contains("cluster-echo");
    }

private slots:
    void initTestCase() {
        QVERIFY2(pg_.start(), qPrintable(pg_.error()));
        QVERIFY(echo_.start());
        QVERIFY2(pg_.createDatabase("cluster"), qPrintable(pg_.error()));
        auto bootstrap = migrations("cluster", "bootstrap");
        QVERIFY2(bootstrap.exit_code == 0, bootstrap.out + bootstrap.err);
        QVERIFY2(a_.start(nodeLines()), qPrintable(a_.output()));
        QVERIFY2(b_.start(nodeLines()), qPrintable(b_.output()));
    }

    void migrationsAreIdempotentAndSafeInParallel() {
        QVERIFY2(pg_.createDatabase("migrations"), qPrintable(pg_.error()));
        auto status = migrations("migrations", "status");
        QCOMPARE(status.exit_code, 3);
        QVERIFY2(status.out.contains("not bootstrapped"), status.out);
        auto up = migrations("migrations", "up");
        QCOMPARE(up.exit_code, 1);
        QVERIFY2(up.err.contains("run 'portico migrations bootstrap' first"), up.err);

        // A node refuses a database without the schema, and says what to run.
        PorticoProcess early;
        QVERIFY(!early.start(pg_.porticoLines("migrations")));
        QVERIFY2(early.output().contains("portico migrations bootstrap"),
                 qPrintable(early.output()));

        // Two nodes bootstrapping at the same moment: both succeed, the schema is applied once.
        QList<QProcess*> runs;
        for (int i = 0; i < 2; ++i) {
            auto* process = new QProcess(this);
            auto environment = QProcessEnvironment::systemEnvironment();
            for (const auto& entry : pg_.porticoEnvironment("migrations")) {
                environment.insert(entry.section('=', 0, 0), entry.section('=', 1));
            }
            process->setProcessEnvironment(environment);
            process->setProcessChannelMode(QProcess::MergedChannels);
            runs << process;
        }
        for (auto* process : runs) {
            process->start(porticoBinary(), {"migrations", "bootstrap"});
        }
        QByteArray outputs;
        for (auto* process : runs) {
            QVERIFY(process->waitForFinished(60000));
            outputs += process->readAll();
            QVERIFY2(process->exitCode() == 0, outputs);
        }
        QCOMPARE(outputs.count("applied: 0001_init.sql"), 1);

        status = migrations("migrations", "status");
        QVERIFY2(status.exit_code == 0, status.out + status.err);
        QVERIFY2(status.out.contains("0 pending"), status.out);
        up = migrations("migrations", "up");
        QVERIFY2(up.exit_code == 0 && up.out.contains("nothing to apply"), up.out + up.err);
        auto again = migrations("migrations", "bootstrap");
        QVERIFY2(again.exit_code == 0 && again.out.contains("already bootstrapped"), again.out);

        // Wrong credentials: an error that names the settings to check.
        auto wrong = migrations("migrations", "status", {"PORTICO_PG_PASSWORD=wrong"});
        QCOMPARE(wrong.exit_code, 1);
        QVERIFY2(wrong.err.contains("password authentication failed") &&
                     wrong.err.contains("pg_password"),
                 wrong.err);
    }

    void aChangeThroughOneNodeIsServedByTheOther() {
        QByteArray error = addRoute(a_, "first", "/first");
        QVERIFY2(error.isEmpty(), error.constData());
        QVERIFY2(waitUntil([&] { return served(b_, "/first"); }, 10000), qPrintable(b_.output()));
        // The writer gathers its own Admin API writes for 20 ms before rebuilding, so B (which
        // compiles a change from elsewhere at once) may well be first.
        QVERIFY(waitUntil([&] { return served(a_, "/first"); }, 10000));
        auto listed = b_.admin("GET", "/services/first");
        QCOMPARE(listed.status, 200);
        QCOMPARE(listed.json().value("port").toInt(), int(echo_.port()));

        // Both nodes report the same served revision and configuration hash.
        const qint64 revision = statusRevision(a_);
        QVERIFY(revision > 0);
        QVERIFY(waitUntil(
            [&] {
                auto status = b_.admin("GET", "/status").json();
                return status.value("configuration").toObject().value("served_revision")
                           .toInteger() == revision;
            },
            10000));
        auto status_a = a_.admin("GET", "/status").json();
        auto status_b = b_.admin("GET", "/status").json();
        QCOMPARE(status_a.value("database").toObject().value("strategy").toString(),
                 QString("postgres"));
        QCOMPARE(status_b.value("database").toObject().value("reachable"), QJsonValue(true));
        QCOMPARE(status_a.value("configuration").toObject().value("hash"),
                 status_b.value("configuration").toObject().value("hash"));
    }

    void clusterNodesListsEveryNodeWithItsLag() {
        const qint64 revision = statusRevision(a_);
        QJsonArray nodes;
        const bool converged = waitUntil(
            [&] {
                auto answer = b_.admin("GET", "/clustering/nodes");
                nodes = answer.json().value("data").toArray();
                if (answer.status != 200 || nodes.size() != 2) {
                    return false;
                }
                for (const auto& node : nodes) {
                    if (node.toObject().value("applied_revision").toInteger() != revision) {
                        return false;
                    }
                }
                return true;
            },
            10000);
        QVERIFY2(converged, QJsonDocument(nodes).toJson().constData());
        QStringList admin_listen;
        for (const auto& value : nodes) {
            auto node = value.toObject();
            QCOMPARE(node.value("lag").toInteger(), 0);
            QCOMPARE(node.value("stale"), QJsonValue(false));
            QVERIFY(!node.value("hostname").toString().isEmpty());
            QVERIFY(!node.value("version").toString().isEmpty());
            QVERIFY(node.value("started_at").toDouble() > 0);
            QCOMPARE(node.value("config_hash").toString().size(), 32);
            admin_listen << node.value("admin_listen").toArray().first().toString();
        }
        admin_listen.sort();
        QStringList expected{QString(local(a_.adminPort())), QString(local(b_.adminPort()))};
        expected.sort();
        QCOMPARE(admin_listen, expected);
        QCOMPARE(nodes[0].toObject().value("config_hash"), nodes[1].toObject().value("config_hash"));
        QCOMPARE(a_.admin("POST", "/clustering/nodes").status, 405);
    }

    void concurrentWritesHaveOneWinner() {
        for (int round = 0; round < 10; ++round) {
            const QByteArray body = "{\"username\":\"race-" + QByteArray::number(round) + "\"}";
            HttpResult from_a;
            HttpResult from_b;
            std::thread other([&] { from_b = request(b_.adminPort(), "POST", "/consumers", body); });
            from_a = request(a_.adminPort(), "POST", "/consumers", body);
            other.join();
            QList<int> statuses{from_a.status, from_b.status};
            std::sort(statuses.begin(), statuses.end());
            QVERIFY2(statuses == (QList<int>{201, 409}), from_a.body + " / " + from_b.body);
            const auto& loser = from_a.status == 409 ? from_a : from_b;
            QCOMPARE(loser.json().value("name").toString(), QString("unique constraint violation"));
        }
        auto consumers = a_.admin("GET", "/consumers?size=100").json().value("data").toArray();
        int races = 0;
        for (const auto& consumer : consumers) {
            races += consumer.toObject().value("username").toString().startsWith("race-");
        }
        QCOMPARE(races, 10);
    }

    void healthOverridesApplyOnEveryNode() {
        const QByteArray target = local(echo_.port());
        // Passive checks on, so that the target has a health state to override (with every
        // check off Kong reports HEALTHCHECKS_OFF).
        QCOMPARE(a_.admin("POST", "/upstreams",
                          "{\"name\":\"shared\",\"healthchecks\":{\"passive\":{\"unhealthy\":"
                          "{\"http_failures\":5}}}}")
                     .status,
                 201);
        QCOMPARE(a_.admin("POST", "/upstreams/shared/targets", "{\"target\":\"" + target + "\"}")
                     .status,
                 201);
        auto healthOn = [&](PorticoProcess& node) {
            auto data = node.admin("GET", "/upstreams/shared/health").json().value("data").toArray();
            for (const auto& item : data) {
                if (item.toObject().value("target").toString().toUtf8() == target) {
                    return item.toObject().value("health").toString();
                }
            }
            return QString();
        };
        QVERIFY2(waitUntil([&] { return healthOn(b_) == "HEALTHY"; }, 10000),
                 b_.admin("GET", "/upstreams/shared/health").body);

        QCOMPARE(a_.admin("PUT", "/upstreams/shared/targets/" + target + "/unhealthy").status, 204);
        QCOMPARE(healthOn(a_), QString("UNHEALTHY"));
        QVERIFY2(waitUntil([&] { return healthOn(b_) == "UNHEALTHY"; }, 10000),
                 qPrintable(healthOn(b_)));

        // Each node publishes its view; /clustering/health shows the target on both.
        QJsonArray views;
        QVERIFY2(waitUntil(
            [&] {
                views = a_.admin("GET", "/clustering/health").json().value("data").toArray();
                int unhealthy = 0;
                for (const auto& view : views) {
                    for (const auto& entry : view.toObject().value("targets").toArray()) {
                        auto object = entry.toObject();
                        unhealthy += object.value("upstream").toString() == "shared" &&
                                     object.value("health").toString() == "UNHEALTHY";
                    }
                }
                return views.size() == 2 && unhealthy == 2;
            },
            10000),
            QJsonDocument(views).toJson().constData());

        QCOMPARE(b_.admin("PUT", "/upstreams/shared/targets/" + target + "/healthy").status, 204);
        QVERIFY(waitUntil([&] { return healthOn(a_) == "HEALTHY"; }, 10000));

        // An override published while a node is down reaches it when it comes back.
        QCOMPARE(b_.stop(), 0);
        QCOMPARE(a_.admin("PUT", "/upstreams/shared/targets/" + target + "/unhealthy").status, 204);
        QVERIFY2(b_.restart(), qPrintable(b_.output()));
        QVERIFY2(waitUntil([&] { return healthOn(b_) == "UNHEALTHY"; }, 10000),
                 qPrintable(healthOn(b_)));
        QCOMPARE(a_.admin("PUT", "/upstreams/shared/targets/" + target + "/healthy").status, 204);
        QVERIFY(waitUntil([&] { return healthOn(b_) == "HEALTHY"; }, 10000));
    }

    void revisionsAndRollback() {
        QCOMPARE(a_.admin("POST", "/services", "{\"name\":\"history\",\"host\":\"old.test\"}")
                     .status,
                 201);
        const qint64 created = statusRevision(a_);
        QCOMPARE(a_.admin("PATCH", "/services/history", "{\"host\":\"new.test\"}").status, 200);
        const qint64 patched = statusRevision(a_);
        QVERIFY(patched > created);

        auto list = a_.admin("GET", "/config/revisions?size=2");
        QCOMPARE(list.status, 200);
        auto data = list.json().value("data").toArray();
        QCOMPARE(data.size(), 2);
        QCOMPARE(data[0].toObject().value("revision").toInteger(), patched);
        QCOMPARE(data[1].toObject().value("revision").toInteger(), created);
        // The next page starts below the last revision listed.
        auto offset = list.json().value("offset");
        QVERIFY2(!offset.isNull() && !offset.isUndefined(), list.body);

        auto change = a_.admin("GET", "/config/revisions/" + QByteArray::number(patched));
        QCOMPARE(change.status, 200);
        QVERIFY2(change.body.contains("old.test") && change.body.contains("new.test"),
                 change.body);
        QCOMPARE(a_.admin("GET", "/config/revisions/999999").status, 404);

        auto rollback = b_.admin("POST", "/config/rollback",
                                 "{\"revision\":" + QByteArray::number(created) + "}");
        QCOMPARE(rollback.status, 201);
        QCOMPARE(rollback.json().value("restored").toInteger(), created);
        QVERIFY(rollback.json().value("revision").toInteger() > patched);
        QVERIFY(waitUntil(
            [&] {
                return a_.admin("GET", "/services/history").json().value("host").toString() ==
                       "old.test";
            },
            10000));

        QCOMPARE(a_.admin("POST", "/config/rollback", "{\"revision\":999999}").status, 400);
        QCOMPARE(a_.admin("POST", "/config/rollback", "{\"revision\":\"x\"}").status, 400);
        QCOMPARE(a_.admin("POST", "/config/rollback", "{not json").status, 400);
    }

    void databaseOutageUnderLoadFailsNoRequest() {
        QByteArray error = addRoute(a_, "steady", "/steady");
        QVERIFY2(error.isEmpty(), error.constData());
        QVERIFY(waitUntil([&] { return served(b_, "/steady") && served(a_, "/steady"); }, 10000));
        const qint64 revision = statusRevision(a_);

        LoadLoop load({a_.proxyPort(), b_.proxyPort()}, "/steady", "cluster-echo");
        load.start();
        QThread::msleep(300);
        QVERIFY2(pg_.stop(), qPrintable(pg_.error()));

        QVERIFY(waitUntil([&] { return statusDatabase(b_).value("reachable") == false; }, 10000));
        auto status = b_.admin("GET", "/status").json();
        QCOMPARE(status.value("configuration").toObject().value("served_revision").toInteger(),
                 revision);
        // Writes: 503 that says why; reads of the configuration in use still work.
        auto write = b_.admin("POST", "/consumers", "{\"username\":\"during-outage\"}");
        QCOMPARE(write.status, 503);
        QVERIFY2(write.json().value("message").toString().contains("database unavailable"),
                 write.body);
        auto read = b_.admin("GET", "/services/steady");
        QCOMPARE(read.status, 200);
        QCOMPARE(read.json().value("name").toString(), QString("steady"));
        QCOMPARE(a_.admin("GET", "/routes").status, 200);
        QThread::msleep(1000);  // traffic keeps flowing on the last snapshot

        QVERIFY2(pg_.start(), qPrintable(pg_.error()));
        QVERIFY(waitUntil([&] { return statusDatabase(a_).value("reachable") == true; }, 30000));
        QVERIFY(waitUntil([&] { return statusDatabase(b_).value("reachable") == true; }, 30000));
        // Converged without a restart: a change through A reaches B again.
        error = addRoute(a_, "after", "/after");
        QVERIFY2(error.isEmpty(), error.constData());
        QVERIFY2(waitUntil([&] { return served(b_, "/after"); }, 10000), qPrintable(b_.output()));
        load.stop();
        QVERIFY2(load.total() > 50, qPrintable(QString::number(load.total())));
        QVERIFY2(load.failed() == 0, qPrintable(QString("%1 of %2 failed; first: %3")
                                                    .arg(load.failed())
                                                    .arg(load.total())
                                                    .arg(load.firstFailure())));
    }

    void aNodeStartsFromItsCacheWhileTheDatabaseIsDown() {
        const qint64 revision = statusRevision(b_);
        QCOMPARE(b_.stop(), 0);
        QFile cache(b_.prefix() + "/config_cache.json");
        QVERIFY(cache.exists());
        // It may hold credentials: owner only.
        QCOMPARE(cache.permissions() & ~(QFile::ReadUser | QFile::WriteUser),
                 QFile::ReadOwner | QFile::WriteOwner);
        QVERIFY2(pg_.stop(), qPrintable(pg_.error()));

        QVERIFY2(b_.restart(), qPrintable(b_.output()));
        QVERIFY(served(b_, "/steady"));
        auto status = b_.admin("GET", "/status").json();
        QCOMPARE(status.value("database").toObject().value("reachable"), QJsonValue(false));
        QCOMPARE(status.value("configuration").toObject().value("served_revision").toInteger(),
                 revision);
        QCOMPARE(b_.admin("GET", "/services/steady").status, 200);

        // A node with no cache cannot start without its database, and says so.
        PorticoProcess fresh;
        QVERIFY(!fresh.start(nodeLines()));
        QVERIFY2(fresh.output().contains("database") && fresh.output().contains("cache"),
                 qPrintable(fresh.output()));

        QVERIFY2(pg_.start(), qPrintable(pg_.error()));
        QVERIFY(waitUntil([&] { return statusDatabase(b_).value("reachable") == true; }, 30000));
        QVERIFY(waitUntil([&] { return statusDatabase(a_).value("reachable") == true; }, 30000));
        QByteArray error = addRoute(a_, "later", "/later");
        QVERIFY2(error.isEmpty(), error.constData());
        QVERIFY2(waitUntil([&] { return served(b_, "/later"); }, 10000), qPrintable(b_.output()));
    }

    void cleanupTestCase() {
        a_.stop();
        b_.stop();
        pg_.stop();
    }
};

QTEST_GUILESS_MAIN(ClusterTest)
#include "test_cluster.moc"
