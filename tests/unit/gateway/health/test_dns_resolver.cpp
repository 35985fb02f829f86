// DNS of target names (kong-compat.md §1.4.2): DnsResolver on c-ares against this machine only
// ("localhost" from /etc/hosts, IP literals, a name under .invalid, which may reach the
// configured resolver but is only waited for a bounded time), and TargetDns's refresh, retry
// and stale-answer rules with a fake resolve function and a fake clock.

#include "gateway/health/dns_resolver.hpp"
#include "gateway/health/target_dns.hpp"

#include <boost/asio/io_context.hpp>

#include <QtTest>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace portico::health;
using Status = NameState::Status;

namespace {

using namespace std::chrono_literals;

bool runUntil(asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds limit = 10000ms) {
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

struct FakeClock {
    double now = 5000;
    std::function<double()> fn() {
        return [this] { return now; };
    }
};

// Lookups wait here until the test answers them.
struct FakeDns {
    struct Lookup {
        std::string name;
        TargetDns::Done done;
    };
    std::vector<Lookup> lookups;
    TargetDns::ResolveFn fn() {
        return [this](const std::string& name, TargetDns::Done done) {
            lookups.push_back(Lookup{name, std::move(done)});
        };
    }
    // Answers the oldest open lookup of `name`.
    bool answer(const std::string& name, ResolveResult result) {
        for (auto it = lookups.begin(); it != lookups.end(); ++it) {
            if (it->name == name) {
                auto done = std::move(it->done);
                lookups.erase(it);
                done(std::move(result));
                return true;
            }
        }
        return false;
    }
    std::size_t open(const std::string& name) const {
        return static_cast<std::size_t>(std::count_if(
            lookups.begin(), lookups.end(), [&](const Lookup& l) { return l.name == name; }));
    }
};

ResolveResult ok(std::vector<std::string> addresses, double ttl) {
    ResolveResult r;
    r.addresses = std::move(addresses);
    r.ttl_s = ttl;
    return r;
}

ResolveResult failed(std::string error) {
    ResolveResult r;
    r.error = std::move(error);
    return r;
}

QStringList qlist(const std::vector<std::string>& v) {
    QStringList out;
    for (const auto& s : v) {
        out << QString::fromStdString(s);
    }
    return out;
}

}  // namespace

class TestDnsResolver : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void ipLiteral_data();
    void ipLiteral();
    void localhostFromHostsFile();
    void literalBypassesDns();
    void invalidNameFailsInBoundedTime();
    void invalidNameHostsFileOnly();
    void rejectedNames();
    void stopDropsCallbacks();
    void targetDnsLiveLocalhost();

    void firstAnswer();
    void ttlRefresh_data();
    void ttlRefresh();
    void keepsLastGoodAnswerOnFailure();
    void neverResolvedIsDnsError();
    void literalsNeverLookedUp();
    void setNamesForgetsAndIgnoresLateResults();
    void lookupTimeout();
    void onChangeOnlyOnChange();
};

void TestDnsResolver::ipLiteral_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("expected");  // "" = not a literal
    QTest::newRow("ipv4") << "10.0.0.1"
                          << "10.0.0.1";
    QTest::newRow("ipv6") << "::1"
                          << "::1";
    QTest::newRow("bracketed ipv6") << "[::1]"
                                    << "::1";
    QTest::newRow("expanded ipv6") << "[0000:0000:0000:0000:0000:0000:0000:0001]"
                                   << "0000:0000:0000:0000:0000:0000:0000:0001";
    QTest::newRow("hostname") << "localhost"
                              << "";
    QTest::newRow("short number") << "1"
                                  << "";
    QTest::newRow("hex quad") << "0x7f.0.0.1"
                              << "";
    QTest::newRow("empty") << ""
                           << "";
    QTest::newRow("bracketed ipv4") << "[10.0.0.1]"
                                    << "10.0.0.1";
}

void TestDnsResolver::ipLiteral() {
    QFETCH(QString, name);
    QFETCH(QString, expected);
    auto literal = portico::health::ipLiteral(name.toStdString());
    QCOMPARE(literal ? QString::fromStdString(*literal) : QString(), expected);
}

void TestDnsResolver::localhostFromHostsFile() {
    asio::io_context io;
    DnsResolver resolver(io);
    std::optional<ResolveResult> result;
    resolver.resolve("localhost", [&](ResolveResult r) { result = std::move(r); });
    QVERIFY(!result);  // never from inside resolve()
    QVERIFY(runUntil(io, [&] { return result.has_value(); }));
    QVERIFY2(result->ok(), result->error.c_str());
    QVERIFY(!result->literal);
    QStringList addresses = qlist(result->addresses);
    QVERIFY2(addresses.contains("127.0.0.1") || addresses.contains("::1"),
             qPrintable(addresses.join(',')));
    QVERIFY(result->ttl_s >= 0);
    QCOMPARE(resolver.pending(), std::size_t(0));

    // IPv4 only.
    DnsResolver::Options options;
    options.ipv6 = false;
    DnsResolver v4(io, options);
    result.reset();
    v4.resolve("localhost", [&](ResolveResult r) { result = std::move(r); });
    QVERIFY(runUntil(io, [&] { return result.has_value(); }));
    QVERIFY2(result->ok(), result->error.c_str());
    QCOMPARE(qlist(result->addresses), QStringList({"127.0.0.1"}));
}

void TestDnsResolver::literalBypassesDns() {
    asio::io_context io;
    DnsResolver resolver(io);
    std::vector<ResolveResult> results;
    for (const char* name : {"10.1.2.3", "[::1]", "::1"}) {
        resolver.resolve(name, [&](ResolveResult r) { results.push_back(std::move(r)); });
    }
    QCOMPARE(resolver.pending(), std::size_t(0));
    QVERIFY(results.empty());
    QVERIFY(runUntil(io, [&] { return results.size() == 3; }));
    QCOMPARE(qlist(results[0].addresses), QStringList({"10.1.2.3"}));
    QCOMPARE(qlist(results[1].addresses), QStringList({"::1"}));
    QCOMPARE(qlist(results[2].addresses), QStringList({"::1"}));
    for (const auto& r : results) {
        QVERIFY(r.ok());
        QVERIFY(r.literal);
    }
}

void TestDnsResolver::invalidNameFailsInBoundedTime() {
    // May go to the configured resolver (RFC 6761 says it answers NXDOMAIN); with one try of
    // 500 ms per query the answer, or a timeout error, comes well within the wait.
    asio::io_context io;
    DnsResolver::Options options;
    options.timeout = 500ms;
    options.tries = 1;
    DnsResolver resolver(io, options);
    std::optional<ResolveResult> result;
    auto started = std::chrono::steady_clock::now();
    resolver.resolve("nonexistent.invalid", [&](ResolveResult r) { result = std::move(r); });
    QVERIFY(runUntil(
        io, [&] { return result.has_value(); }, 15000ms));
    QVERIFY(!result->ok());
    QVERIFY(result->addresses.empty());
    qInfo("nonexistent.invalid: %s after %lld ms", result->error.c_str(),
          static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count()));
    QCOMPARE(resolver.pending(), std::size_t(0));
}

void TestDnsResolver::invalidNameHostsFileOnly() {
    // Hosts file only: no query leaves the machine, the answer is immediate.
    asio::io_context io;
    DnsResolver::Options options;
    options.lookups = "f";
    DnsResolver resolver(io, options);
    std::optional<ResolveResult> result;
    resolver.resolve("nonexistent.invalid", [&](ResolveResult r) { result = std::move(r); });
    QVERIFY(runUntil(
        io, [&] { return result.has_value(); }, 2000ms));
    // c-ares 1.18 says "could not contact dns servers" when the file has no entry and DNS is
    // not among the lookups; later versions say "domain name not found".
    QVERIFY(!result->ok());
    QVERIFY(result->addresses.empty());
    result.reset();
    resolver.resolve("localhost", [&](ResolveResult r) { result = std::move(r); });
    QVERIFY(runUntil(
        io, [&] { return result.has_value(); }, 2000ms));
    QVERIFY2(result->ok(), result->error.c_str());
}

void TestDnsResolver::rejectedNames() {
    asio::io_context io;
    DnsResolver::Options options;
    options.lookups = "f";
    options.max_pending = 0;
    DnsResolver resolver(io, options);
    std::vector<std::string> errors;
    auto collect = [&](ResolveResult r) { errors.push_back(r.error); };
    resolver.resolve("", collect);
    resolver.resolve(std::string(254, 'a'), collect);
    resolver.resolve("localhost", collect);  // max_pending 0: nothing may start
    QVERIFY(runUntil(
        io, [&] { return errors.size() == 3; }, 2000ms));
    QCOMPARE(QString::fromStdString(errors[0]), QString("empty name"));
    QCOMPARE(QString::fromStdString(errors[1]), QString("name too long"));
    QCOMPARE(QString::fromStdString(errors[2]), QString("too many pending lookups"));
}

void TestDnsResolver::stopDropsCallbacks() {
    asio::io_context io;
    DnsResolver resolver(io);
    int calls = 0;
    resolver.resolve("localhost", [&](ResolveResult) { ++calls; });  // maybe answered already
    resolver.resolve("10.0.0.1", [&](ResolveResult) { ++calls; });   // posted
    resolver.resolve("nonexistent.invalid", [&](ResolveResult) { ++calls; });
    resolver.stop();
    QCOMPARE(resolver.pending(), std::size_t(0));
    resolver.resolve("localhost", [&](ResolveResult) { ++calls; });
    io.run_for(200ms);
    QCOMPARE(calls, 0);
}

void TestDnsResolver::targetDnsLiveLocalhost() {
    asio::io_context io;
    DnsResolver resolver(io);
    auto now = [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    std::vector<std::string> changed;
    TargetDns dns(TargetDns::through(resolver), now, TargetDns::Options{},
                  [&](const std::string& name, const NameState&) { changed.push_back(name); });
    dns.start(io);
    dns.setNames({"localhost", "127.0.0.2"});
    QCOMPARE(dns.state("127.0.0.2")->status, Status::Resolved);
    QCOMPARE(dns.state("localhost")->status, Status::Pending);
    QVERIFY(runUntil(io, [&] { return dns.state("localhost")->status == Status::Resolved; }));
    QStringList addresses = qlist(dns.state("localhost")->addresses);
    QVERIFY(addresses.contains("127.0.0.1") || addresses.contains("::1"));
    QCOMPARE(changed, std::vector<std::string>({"localhost"}));
    dns.stop();
}

void TestDnsResolver::firstAnswer() {
    FakeClock clock;
    FakeDns fake;
    TargetDns dns(fake.fn(), clock.fn());
    dns.setNames({"svc.test", "svc.test"});
    QCOMPARE(fake.lookups.size(), std::size_t(1));
    auto s = dns.state("svc.test");
    QVERIFY(s);
    QCOMPARE(s->status, Status::Pending);
    QVERIFY(s->addresses.empty());
    // Sorted, without duplicates.
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.2", "10.0.0.1", "10.0.0.2"}, 10)));
    s = dns.state("svc.test");
    QCOMPARE(s->status, Status::Resolved);
    QCOMPARE(qlist(s->addresses), QStringList({"10.0.0.1", "10.0.0.2"}));
    QCOMPARE(s->ttl_s, 10.0);
    QCOMPARE(s->resolved_at, 5000.0);
    QCOMPARE(s->next_lookup, 5010.0);
    QVERIFY(!dns.state("other.test"));
    QCOMPARE(QString(toString(Status::DnsError)), QString("DNS_ERROR"));
}

void TestDnsResolver::ttlRefresh_data() {
    QTest::addColumn<double>("ttl");
    QTest::addColumn<double>("refresh");
    QTest::newRow("ttl 10") << 10.0 << 10.0;
    QTest::newRow("ttl 0: Kong's 60 s") << 0.0 << 60.0;
    QTest::newRow("ttl below the minimum") << 0.25 << 1.0;
    QTest::newRow("ttl above the maximum") << 1e6 << 86400.0;
}

void TestDnsResolver::ttlRefresh() {
    QFETCH(double, ttl);
    QFETCH(double, refresh);
    FakeClock clock;
    FakeDns fake;
    TargetDns dns(fake.fn(), clock.fn());
    dns.setNames({"svc.test"});
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.1"}, ttl)));
    QCOMPARE(*dns.nextDue(), 5000.0 + refresh);
    clock.now = 5000 + refresh - 0.5;
    dns.refresh();
    QCOMPARE(fake.lookups.size(), std::size_t(0));
    clock.now = 5000 + refresh;
    dns.refresh();
    QCOMPARE(fake.open("svc.test"), std::size_t(1));
    // While in flight no second lookup starts, and the answer stays in use.
    dns.refresh();
    QCOMPARE(fake.open("svc.test"), std::size_t(1));
    QCOMPARE(dns.state("svc.test")->status, Status::Resolved);
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.9"}, ttl)));
    QCOMPARE(qlist(dns.state("svc.test")->addresses), QStringList({"10.0.0.9"}));
    QCOMPARE(dns.state("svc.test")->next_lookup, clock.now + refresh);
}

void TestDnsResolver::keepsLastGoodAnswerOnFailure() {
    FakeClock clock;
    FakeDns fake;
    std::vector<std::pair<std::string, Status>> changes;
    TargetDns dns(fake.fn(), clock.fn(), TargetDns::Options{},
                  [&](const std::string& name, const NameState& state) {
                      changes.emplace_back(name, state.status);
                  });
    dns.setNames({"svc.test"});
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.1"}, 10)));
    QCOMPARE(changes.size(), std::size_t(1));

    clock.now = 5010;
    dns.refresh();
    QVERIFY(fake.answer("svc.test", failed("timeout while contacting DNS servers")));
    auto s = dns.state("svc.test");
    QCOMPARE(s->status, Status::Stale);
    QCOMPARE(qlist(s->addresses), QStringList({"10.0.0.1"}));  // still used
    QCOMPARE(QString::fromStdString(s->error), QString("timeout while contacting DNS servers"));
    QCOMPARE(s->failing_since, 5010.0);
    QCOMPARE(s->next_lookup, 5040.0);  // retried every 30 s
    QCOMPARE(changes.size(), std::size_t(2));
    QCOMPARE(changes.back().second, Status::Stale);

    // Retries keep failing; the answer is kept for 300 s after the first failure.
    for (double t = 5040; t < 5310; t += 30) {
        clock.now = t;
        dns.refresh();
        QCOMPARE(fake.open("svc.test"), std::size_t(1));
        QVERIFY(fake.answer("svc.test", failed("server failure")));
        QCOMPARE(dns.state("svc.test")->status, Status::Stale);
    }
    QCOMPARE(changes.size(), std::size_t(2));
    QCOMPARE(*dns.nextDue(), 5310.0);
    clock.now = 5310;
    dns.refresh();  // drops the stale answer (and starts the next retry)
    s = dns.state("svc.test");
    QCOMPARE(s->status, Status::DnsError);
    QVERIFY(s->addresses.empty());
    QCOMPARE(changes.size(), std::size_t(3));
    QCOMPARE(changes.back().second, Status::DnsError);

    // The next good answer brings it back.
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.3"}, 10)));
    s = dns.state("svc.test");
    QCOMPARE(s->status, Status::Resolved);
    QCOMPARE(qlist(s->addresses), QStringList({"10.0.0.3"}));
    QVERIFY(s->error.empty());
    QCOMPARE(changes.size(), std::size_t(4));
}

void TestDnsResolver::neverResolvedIsDnsError() {
    FakeClock clock;
    FakeDns fake;
    TargetDns::Options options;
    options.retry_s = 30;
    TargetDns dns(fake.fn(), clock.fn(), options);
    dns.setNames({"gone.test"});
    QVERIFY(fake.answer("gone.test", failed("domain name not found")));
    auto s = dns.state("gone.test");
    QCOMPARE(s->status, Status::DnsError);
    QVERIFY(s->addresses.empty());
    QCOMPARE(QString::fromStdString(s->error), QString("domain name not found"));
    clock.now += 29;
    dns.refresh();
    QCOMPARE(fake.lookups.size(), std::size_t(0));
    clock.now += 1;
    dns.refresh();
    QCOMPARE(fake.open("gone.test"), std::size_t(1));
    // An answer without addresses is a failure too.
    QVERIFY(fake.answer("gone.test", ok({}, 10)));
    QCOMPARE(dns.state("gone.test")->status, Status::DnsError);
    QCOMPARE(QString::fromStdString(dns.state("gone.test")->error), QString("no addresses"));
}

void TestDnsResolver::literalsNeverLookedUp() {
    FakeClock clock;
    FakeDns fake;
    TargetDns dns(fake.fn(), clock.fn());
    dns.setNames({"10.0.0.7", "[::1]"});
    QCOMPARE(fake.lookups.size(), std::size_t(0));
    QCOMPARE(dns.state("10.0.0.7")->status, Status::Resolved);
    QVERIFY(dns.state("10.0.0.7")->literal);
    QCOMPARE(qlist(dns.state("[::1]")->addresses), QStringList({"::1"}));
    QVERIFY(!dns.nextDue());
    clock.now += 1e6;
    dns.refresh();
    QCOMPARE(fake.lookups.size(), std::size_t(0));
}

void TestDnsResolver::setNamesForgetsAndIgnoresLateResults() {
    FakeClock clock;
    FakeDns fake;
    TargetDns dns(fake.fn(), clock.fn());
    dns.setNames({"a.test", "b.test"});
    QVERIFY(fake.answer("a.test", ok({"10.0.0.1"}, 10)));
    dns.setNames({"a.test"});  // b forgotten while its lookup is in flight
    QVERIFY(!dns.state("b.test"));
    QVERIFY(fake.answer("b.test", ok({"10.0.0.2"}, 10)));
    QVERIFY(!dns.state("b.test"));
    QCOMPARE(dns.names(), std::vector<std::string>({"a.test"}));
    // Re-added: looked up afresh; a kept name keeps its answer without a new lookup.
    dns.setNames({"a.test", "b.test"});
    QCOMPARE(fake.open("a.test"), std::size_t(0));
    QCOMPARE(fake.open("b.test"), std::size_t(1));
    QCOMPARE(dns.state("b.test")->status, Status::Pending);
    QCOMPARE(dns.state("a.test")->status, Status::Resolved);
    // A TargetDns destroyed with lookups in flight ignores their results.
    auto short_lived = std::make_unique<TargetDns>(fake.fn(), clock.fn());
    short_lived->setNames({"c.test"});
    short_lived.reset();
    QVERIFY(fake.answer("c.test", ok({"10.0.0.3"}, 10)));
}

void TestDnsResolver::lookupTimeout() {
    FakeClock clock;
    FakeDns fake;
    TargetDns::Options options;
    options.lookup_timeout_s = 60;
    TargetDns dns(fake.fn(), clock.fn(), options);
    dns.setNames({"slow.test"});
    QCOMPARE(*dns.nextDue(), 5060.0);
    clock.now = 5060;
    dns.refresh();
    auto s = dns.state("slow.test");
    QCOMPARE(s->status, Status::DnsError);
    QCOMPARE(QString::fromStdString(s->error), QString("lookup timed out"));
    QCOMPARE(s->next_lookup, 5090.0);
    // The late answer of the abandoned lookup is ignored.
    QVERIFY(fake.answer("slow.test", ok({"10.0.0.1"}, 10)));
    QCOMPARE(dns.state("slow.test")->status, Status::DnsError);
    clock.now = 5090;
    dns.refresh();
    QVERIFY(fake.answer("slow.test", ok({"10.0.0.1"}, 10)));
    QCOMPARE(dns.state("slow.test")->status, Status::Resolved);
}

void TestDnsResolver::onChangeOnlyOnChange() {
    FakeClock clock;
    FakeDns fake;
    int changes = 0;
    TargetDns dns(fake.fn(), clock.fn(), TargetDns::Options{},
                  [&](const std::string&, const NameState&) { ++changes; });
    dns.setNames({"svc.test"});
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.1", "10.0.0.2"}, 1)));
    QCOMPARE(changes, 1);
    clock.now += 1;
    dns.refresh();
    // Same set in another order: no change.
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.2", "10.0.0.1"}, 1)));
    QCOMPARE(changes, 1);
    clock.now += 1;
    dns.refresh();
    QVERIFY(fake.answer("svc.test", ok({"10.0.0.2"}, 1)));
    QCOMPARE(changes, 2);
}

QTEST_APPLESS_MAIN(TestDnsResolver)
#include "test_dns_resolver.moc"
