// Balancer algorithms (kong-compat.md §1.4.2): distributions, skipping, key movement under
// consistent hashing, connection and latency feedback. Deterministic: a fake clock and seeded
// generators everywhere (std::mt19937_64's sequence is fixed by the standard).

#include "gateway/balancer/balancer.hpp"
#include "gateway/balancer/consistent_hashing.hpp"

#include <QtTest>
// Qt's `slots` keyword is a macro; Balancer::slots() needs the name (the class uses Q_SLOTS).
#undef slots

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

using namespace portico::balancer;

namespace {

Address address(int n, std::uint32_t weight = 100) {
    Address a;
    a.ip = "10.0." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
    a.port = 8080;
    a.target = a.ip + ":8080";
    a.target_id = "t" + std::to_string(n);
    a.weight = weight;
    return a;
}

// Addresses sorted by key, as the caller passes them.
std::vector<Address> sorted(std::vector<Address> list) {
    std::sort(list.begin(), list.end(),
              [](const Address& a, const Address& b) { return a.key() < b.key(); });
    return list;
}

std::vector<Address> weighted(const QList<int>& weights) {
    std::vector<Address> list;
    for (int i = 0; i < weights.size(); ++i) {
        list.push_back(address(i, static_cast<std::uint32_t>(weights[i])));
    }
    return list;  // keys 10.0.0.1 .. 10.0.0.9 are already in key order for fewer than 10
}

std::vector<Address> equal(int count) {
    return sorted(weighted(QList<int>(count, 100)));
}

struct FakeClock {
    double now = 1'000'000;
    std::function<double()> fn() {
        return [this] { return now; };
    }
};

std::unique_ptr<Balancer> make(const std::string& algorithm, FakeClock& clock,
                               std::uint64_t seed = 1) {
    BalancerOptions options;
    options.algorithm = algorithm;
    options.seed = seed;
    options.now_ms = clock.fn();
    return makeBalancer(options);
}

const AvailableFn kAll = [](std::size_t) { return true; };

std::optional<std::size_t> pickOnce(Balancer& balancer, const AvailableFn& available = kAll,
                                    const std::vector<std::size_t>* tried = nullptr,
                                    std::string_view hash_key = {}, std::uint64_t random = 0) {
    PickRequest request;
    request.hash_key = hash_key;
    request.tried = tried;
    request.random = random;
    return balancer.pick(request, available);
}

// For consistent hashing: which address key each hash key goes to.
std::vector<std::string> mapKeys(Balancer& balancer, int keys,
                                 const AvailableFn& available = kAll) {
    const auto list = balancer.addresses();
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(keys));
    for (int k = 0; k < keys; ++k) {
        const std::string key = "user-" + std::to_string(k);
        const auto picked = pickOnce(balancer, available, nullptr, key);
        out.push_back(picked ? list[*picked].key() : std::string());
    }
    return out;
}

std::size_t indexOf(const std::vector<Address>& list, const std::string& key) {
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i].key() == key) {
            return i;
        }
    }
    return list.size();
}

const QStringList kAlgorithms{"round-robin", "consistent-hashing", "least-connections", "latency"};

}  // namespace

class BalancerTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void addressKey() {
        Address v4;
        v4.ip = "10.0.0.1";
        v4.port = 8080;
        QCOMPARE(v4.key(), std::string("10.0.0.1:8080"));
        Address v6;
        v6.ip = "::1";
        v6.port = 80;
        QCOMPARE(v6.key(), std::string("[::1]:80"));
    }

    void makeBalancerNames() {
        FakeClock clock;
        for (const QString& name : kAlgorithms) {
            QCOMPARE(QString::fromStdString(make(name.toStdString(), clock)->algorithm()), name);
        }
        BalancerOptions unknown;
        unknown.algorithm = "random";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makeBalancer(unknown));
        BalancerOptions no_clock;
        no_clock.algorithm = "latency";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makeBalancer(no_clock));
    }

    void xxhash32Vectors_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<quint32>("seed");
        QTest::addColumn<quint32>("expected");
        QTest::newRow("empty") << QByteArray() << 0u << 0x02CC5D05u;
        QTest::newRow("a") << QByteArray("a") << 0u << 0x550D7456u;
        QTest::newRow("abc") << QByteArray("abc") << 0u << 0x32D153FFu;
        QTest::newRow("long") << QByteArray("Nobody inspects the spammish repetition") << 0u
                              << 0xE2293B2Fu;
        QTest::newRow("16 bytes") << QByteArray("10.0.0.1:8080#17") << 0u << 0x108E29FBu;
    }
    void xxhash32Vectors() {
        QFETCH(QByteArray, input);
        QFETCH(quint32, seed);
        QFETCH(quint32, expected);
        QCOMPARE(xxhash32(std::string_view(input.constData(), input.size()), seed), expected);
    }

    // ---- every algorithm -------------------------------------------------------------------

    void nothingToPick_data() {
        QTest::addColumn<QString>("algorithm");
        for (const QString& name : kAlgorithms) {
            QTest::newRow(qPrintable(name)) << name;
        }
    }
    void nothingToPick() {
        QFETCH(QString, algorithm);
        FakeClock clock;
        auto balancer = make(algorithm.toStdString(), clock);
        QVERIFY(!pickOnce(*balancer));  // no addresses at all

        balancer->setAddresses(equal(4));
        QVERIFY(!pickOnce(*balancer, [](std::size_t) { return false; }));
        const std::vector<std::size_t> all{0, 1, 2, 3};
        QVERIFY(!pickOnce(*balancer, kAll, &all, "key"));

        balancer->setAddresses(weighted({0, 0, 0}));
        QVERIFY(!pickOnce(*balancer));
        QCOMPARE(balancer->slots(), std::vector<std::uint32_t>(3, 0));
    }

    void weightZeroAndTriedSkipped_data() { nothingToPick_data(); }
    void weightZeroAndTriedSkipped() {
        QFETCH(QString, algorithm);
        FakeClock clock;
        auto balancer = make(algorithm.toStdString(), clock);
        balancer->setAddresses(weighted({100, 0, 100, 100, 0}));
        std::mt19937_64 rng(7);
        for (int i = 0; i < 2000; ++i) {
            const std::string key = "k" + std::to_string(i);
            const auto first = pickOnce(*balancer, kAll, nullptr, key, rng());
            QVERIFY(first);
            QVERIFY(*first != 1 && *first != 4);
            // A retry never returns what was tried; after all three usable ones, nothing.
            std::vector<std::size_t> tried{*first};
            const auto second = pickOnce(*balancer, kAll, &tried, key, rng());
            QVERIFY(second && *second != *first && *second != 1 && *second != 4);
            tried.push_back(*second);
            const auto third = pickOnce(*balancer, kAll, &tried, key, rng());
            QVERIFY(third && *third != *first && *third != *second);
            tried.push_back(*third);
            QVERIFY(!pickOnce(*balancer, kAll, &tried, key, rng()));
            balancer->onFinish(*first, 10);
        }
    }

    void unavailableSkipped_data() { nothingToPick_data(); }
    void unavailableSkipped() {
        QFETCH(QString, algorithm);
        FakeClock clock;
        auto balancer = make(algorithm.toStdString(), clock);
        balancer->setAddresses(equal(5));
        const AvailableFn only_3 = [](std::size_t i) { return i == 3; };
        for (int i = 0; i < 500; ++i) {
            const auto picked = pickOnce(*balancer, only_3, nullptr, "k" + std::to_string(i),
                                         static_cast<std::uint64_t>(i));
            QCOMPARE(picked, std::optional<std::size_t>(3));
        }
    }

    // Workers pick and report while the control thread replaces the addresses.
    void concurrentUse_data() { nothingToPick_data(); }
    void concurrentUse() {
        QFETCH(QString, algorithm);
        std::atomic<double> now{0};
        BalancerOptions options;
        options.algorithm = algorithm.toStdString();
        options.now_ms = [&now] { return now.load(); };
        auto balancer = makeBalancer(options);
        const auto small = equal(3);
        const auto large = equal(8);
        balancer->setAddresses(large);
        std::atomic<bool> bad{false};
        std::vector<std::thread> workers;
        for (int t = 0; t < 4; ++t) {
            workers.emplace_back([&, t] {
                std::mt19937_64 rng(static_cast<std::uint64_t>(t));
                for (int i = 0; i < 20000; ++i) {
                    const std::string key = std::to_string(rng() % 1000);
                    const auto picked = pickOnce(*balancer, kAll, nullptr, key, rng());
                    if (!picked || *picked >= large.size()) {
                        bad = true;
                        continue;
                    }
                    balancer->onStart(*picked);
                    now = now.load() + 0.01;
                    balancer->onFinish(*picked, static_cast<double>(rng() % 50));
                }
            });
        }
        for (int i = 0; i < 200; ++i) {
            balancer->setAddresses(i % 2 == 0 ? small : large);
            QVERIFY(balancer->slots().size() == small.size() ||
                    balancer->slots().size() == large.size());
        }
        for (auto& worker : workers) {
            worker.join();
        }
        QVERIFY(!bad);
    }

    // ---- round-robin -----------------------------------------------------------------------

    void roundRobinWeightedSplit_data() {
        QTest::addColumn<QList<int>>("weights");
        QTest::addColumn<QList<int>>("unavailable");
        QTest::newRow("50/30/20") << QList<int>{50, 30, 20} << QList<int>{};
        QTest::newRow("equal 3") << QList<int>{100, 100, 100} << QList<int>{};
        QTest::newRow("1/1/98") << QList<int>{1, 1, 98} << QList<int>{};
        QTest::newRow("5/3/2/0") << QList<int>{5, 3, 2, 0} << QList<int>{};
        QTest::newRow("primes") << QList<int>{7, 11, 13, 17, 19, 23} << QList<int>{};
        QTest::newRow("100/1") << QList<int>{100, 1} << QList<int>{};
        QTest::newRow("65535/1/300") << QList<int>{65535, 1, 300} << QList<int>{};
        // An unavailable address is left out; the others keep their proportions.
        QTest::newRow("50/30/20, 20 down") << QList<int>{50, 30, 20} << QList<int>{2};
        QTest::newRow("50/30/20, 50 down") << QList<int>{50, 30, 20} << QList<int>{0};
        QTest::newRow("10/20/30/40, 20 and 40 down")
            << QList<int>{10, 20, 30, 40} << QList<int>{1, 3};
    }
    void roundRobinWeightedSplit() {
        QFETCH(QList<int>, weights);
        QFETCH(QList<int>, unavailable);
        FakeClock clock;
        auto balancer = make("round-robin", clock);
        balancer->setAddresses(weighted(weights));
        const AvailableFn available = [&unavailable](std::size_t i) {
            return !unavailable.contains(static_cast<int>(i));
        };
        double total = 0;
        for (int i = 0; i < weights.size(); ++i) {
            total += unavailable.contains(i) ? 0 : weights[i];
        }
        constexpr int kPicks = 10000;
        std::vector<int> counts(static_cast<std::size_t>(weights.size()), 0);
        for (int i = 0; i < kPicks; ++i) {
            const auto picked = pickOnce(*balancer, available);
            QVERIFY(picked);
            ++counts[*picked];
        }
        for (int i = 0; i < weights.size(); ++i) {
            const double expected = unavailable.contains(i) ? 0 : weights[i] / total;
            const double share = counts[static_cast<std::size_t>(i)] / double(kPicks);
            QVERIFY2(
                std::abs(share - expected) <= 0.01,
                qPrintable(
                    QString("address %1: share %2, expected %3").arg(i).arg(share).arg(expected)));
            if (expected == 0) {
                QCOMPARE(counts[static_cast<std::size_t>(i)], 0);
            }
        }
    }

    void roundRobinEqualInterleaved_data() {
        QTest::addColumn<int>("count");
        QTest::addColumn<quint64>("seed");
        QTest::newRow("2, seed 0") << 2 << quint64(0);
        QTest::newRow("4, seed 1") << 4 << quint64(1);
        QTest::newRow("5, seed 99") << 5 << quint64(99);
        QTest::newRow("10, seed 3") << 10 << quint64(3);
    }
    void roundRobinEqualInterleaved() {
        QFETCH(int, count);
        QFETCH(quint64, seed);
        FakeClock clock;
        auto balancer = make("round-robin", clock, seed);
        balancer->setAddresses(equal(count));
        std::vector<int> counts(static_cast<std::size_t>(count), 0);
        std::optional<std::size_t> previous;
        for (int i = 0; i < 10000; ++i) {
            const auto picked = pickOnce(*balancer);
            QVERIFY(picked);
            QVERIFY2(picked != previous, "the same address twice in a row");
            ++counts[*picked];
            previous = picked;
            // Every round of `count` picks holds each address once.
            if ((i + 1) % count == 0) {
                for (int c : counts) {
                    QCOMPARE(c, (i + 1) / count);
                }
            }
        }
        for (int c : counts) {
            QCOMPARE(c, 10000 / count);
        }
    }

    // Smooth order: weights 5/1/1 give a a b a c a a, never five a in a row.
    void roundRobinSmoothOrder() {
        FakeClock clock;
        auto balancer = make("round-robin", clock, 0);
        balancer->setAddresses(weighted({5, 1, 1}));
        std::string order;
        for (int i = 0; i < 7; ++i) {
            order += static_cast<char>('a' + *pickOnce(*balancer));
        }
        QCOMPARE(order, std::string("aabacaa"));
    }

    // Replacing the list with one that keeps the same keys continues the sequence unchanged;
    // an added address joins without resetting the others.
    void roundRobinKeepsStateOnUpdate() {
        FakeClock clock;
        auto reference = make("round-robin", clock, 0);
        auto updated = make("round-robin", clock, 0);
        reference->setAddresses(weighted({5, 3, 2}));
        updated->setAddresses(weighted({5, 3, 2}));
        for (int i = 0; i < 1000; ++i) {
            if (i % 7 == 0) {
                updated->setAddresses(weighted({5, 3, 2}));
            }
            QCOMPARE(pickOnce(*updated), pickOnce(*reference));
        }
        updated->setAddresses(weighted({5, 3, 2, 10}));
        std::vector<int> counts(4, 0);
        for (int i = 0; i < 2000; ++i) {
            ++counts[*pickOnce(*updated)];
        }
        QCOMPARE(counts, (std::vector<int>{500, 300, 200, 1000}));
        QCOMPARE(updated->slots(), (std::vector<std::uint32_t>{5, 3, 2, 10}));
    }

    // ---- consistent-hashing ----------------------------------------------------------------

    void hashSameKeySameAddress() {
        FakeClock clock;
        auto a = make("consistent-hashing", clock, 1);
        auto b = make("consistent-hashing", clock, 2);  // the seed plays no part
        a->setAddresses(equal(10));
        b->setAddresses(equal(10));
        const auto first = mapKeys(*a, 2000);
        QCOMPARE(mapKeys(*a, 2000), first);
        QCOMPARE(mapKeys(*b, 2000), first);
        // The empty key is a key like any other (Kong hashes the empty string).
        QCOMPARE(pickOnce(*a, kAll, nullptr, ""), pickOnce(*a, kAll, nullptr, ""));
    }

    void hashContinuumSize_data() {
        QTest::addColumn<quint32>("configured");
        QTest::addColumn<quint32>("size");
        QTest::newRow("10 (schema minimum)") << 10u << 1000u;
        QTest::newRow("999") << 999u << 1000u;
        QTest::newRow("1000") << 1000u << 1000u;
        QTest::newRow("default") << 10000u << 10000u;
        QTest::newRow("65536 (schema maximum)") << 65536u << 65536u;
        QTest::newRow("above the schema") << 100000u << 65536u;
    }
    void hashContinuumSize() {
        QFETCH(quint32, configured);
        QFETCH(quint32, size);
        BalancerOptions options;
        options.algorithm = "consistent-hashing";
        options.slots = configured;
        auto balancer = makeBalancer(options);
        balancer->setAddresses(equal(7));
        const auto held = balancer->slots();
        QCOMPARE(std::accumulate(held.begin(), held.end(), 0u), size);
        QCOMPARE(static_cast<ConsistentHashing&>(*balancer).size(), size);
    }

    void hashSlotsFollowWeights_data() {
        QTest::addColumn<QList<int>>("weights");
        QTest::newRow("equal 10") << QList<int>(10, 100);
        QTest::newRow("50/30/20") << QList<int>{50, 30, 20};
        QTest::newRow("1/2/3/4, a zero") << QList<int>{1, 2, 3, 4, 0};
        QTest::newRow("100/1") << QList<int>{100, 1};
    }
    void hashSlotsFollowWeights() {
        QFETCH(QList<int>, weights);
        FakeClock clock;
        auto balancer = make("consistent-hashing", clock);
        balancer->setAddresses(weighted(weights));
        const auto held = balancer->slots();
        const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
        const auto keys = mapKeys(*balancer, 10000);
        const auto list = balancer->addresses();
        for (int i = 0; i < weights.size(); ++i) {
            const double expected = weights[i] / total;
            const double share = held[static_cast<std::size_t>(i)] / 10000.0;
            QVERIFY2(std::abs(share - expected) <= 0.02,
                     qPrintable(QString("address %1 holds %2 of the continuum, expected %3")
                                    .arg(i)
                                    .arg(share)
                                    .arg(expected)));
            const auto on_it =
                std::count(keys.begin(), keys.end(), list[static_cast<std::size_t>(i)].key());
            QVERIFY2(std::abs(on_it / 10000.0 - expected) <= 0.03,
                     qPrintable(QString("address %1 got %2 of the keys").arg(i).arg(on_it)));
            if (weights[i] == 0) {
                QCOMPARE(held[static_cast<std::size_t>(i)], 0u);
            }
        }
    }

    // 10 equal targets: removing one moves about a tenth of the keys, all of them keys of the
    // removed target; putting it back restores the original mapping exactly.
    void hashRemoveAndAddBack_data() {
        QTest::addColumn<int>("removed");
        for (int removed : {0, 4, 9}) {
            QTest::newRow(qPrintable(QString("remove %1").arg(removed))) << removed;
        }
    }
    void hashRemoveAndAddBack() {
        QFETCH(int, removed);
        FakeClock clock;
        auto balancer = make("consistent-hashing", clock);
        const auto all = equal(10);
        balancer->setAddresses(all);
        const auto before = mapKeys(*balancer, 10000);

        auto fewer = all;
        const std::string gone = fewer[static_cast<std::size_t>(removed)].key();
        fewer.erase(fewer.begin() + removed);
        balancer->setAddresses(fewer);
        const auto after = mapKeys(*balancer, 10000);
        int moved = 0;
        for (std::size_t k = 0; k < before.size(); ++k) {
            if (before[k] != after[k]) {
                ++moved;
                QCOMPARE(before[k], gone);
            } else {
                QVERIFY(before[k] != gone);
            }
        }
        QVERIFY2(moved >= 700 && moved <= 1300, qPrintable(QString("moved %1").arg(moved)));

        balancer->setAddresses(all);
        QCOMPARE(mapKeys(*balancer, 10000), before);
    }

    // Adding an 11th target moves about 1/11 of the keys, all of them to the new target.
    void hashAddOne() {
        FakeClock clock;
        auto balancer = make("consistent-hashing", clock);
        balancer->setAddresses(equal(10));
        const auto before = mapKeys(*balancer, 10000);
        auto more = equal(10);
        more.push_back(address(10));
        const std::string added = more.back().key();
        balancer->setAddresses(sorted(more));
        const auto after = mapKeys(*balancer, 10000);
        int moved = 0;
        for (std::size_t k = 0; k < before.size(); ++k) {
            if (before[k] != after[k]) {
                ++moved;
                QCOMPARE(after[k], added);
            }
        }
        QVERIFY2(moved >= 10000 / 11 - 250 && moved <= 10000 / 11 + 250,
                 qPrintable(QString("moved %1").arg(moved)));
    }

    // Changing one weight moves keys only to (or from) that target.
    void hashWeightChange() {
        FakeClock clock;
        auto balancer = make("consistent-hashing", clock);
        auto list = equal(5);
        balancer->setAddresses(list);
        const auto before = mapKeys(*balancer, 10000);
        list[2].weight = 300;
        balancer->setAddresses(list);
        const auto after = mapKeys(*balancer, 10000);
        const std::string heavier = list[2].key();
        int moved = 0;
        for (std::size_t k = 0; k < before.size(); ++k) {
            if (before[k] != after[k]) {
                ++moved;
                QCOMPARE(after[k], heavier);
            }
        }
        // From 1/5 to 3/7 of the keys.
        QVERIFY2(moved >= 2000 && moved <= 2600, qPrintable(QString("moved %1").arg(moved)));
    }

    // An unavailable target keeps its place: its keys go elsewhere (spread over the others),
    // the other keys stay, and everything returns when it recovers.
    void hashUnavailableAndBack() {
        FakeClock clock;
        auto balancer = make("consistent-hashing", clock);
        const auto list = equal(10);
        balancer->setAddresses(list);
        const auto before = mapKeys(*balancer, 10000);
        const std::size_t down = 6;
        const auto during = mapKeys(*balancer, 10000, [down](std::size_t i) { return i != down; });
        std::set<std::string> receivers;
        for (std::size_t k = 0; k < before.size(); ++k) {
            if (before[k] == list[down].key()) {
                QVERIFY(during[k] != before[k]);
                receivers.insert(during[k]);
            } else {
                QCOMPARE(during[k], before[k]);
            }
        }
        QCOMPARE(receivers.size(), std::size_t(9));
        QCOMPARE(mapKeys(*balancer, 10000), before);
    }

    // A retry takes what the first pick would have fallen through to had the tried target been
    // unavailable: it continues along the continuum.
    void hashRetryContinues() {
        FakeClock clock;
        auto balancer = make("consistent-hashing", clock);
        balancer->setAddresses(equal(6));
        for (int k = 0; k < 500; ++k) {
            const std::string key = "session-" + std::to_string(k);
            std::vector<std::size_t> tried;
            std::set<std::size_t> seen;
            while (const auto picked = pickOnce(*balancer, kAll, &tried, key)) {
                const auto as_unavailable = pickOnce(
                    *balancer,
                    [&tried](std::size_t i) {
                        return std::find(tried.begin(), tried.end(), i) == tried.end();
                    },
                    nullptr, key);
                QCOMPARE(picked, as_unavailable);
                QVERIFY(seen.insert(*picked).second);
                tried.push_back(*picked);
            }
            QCOMPARE(seen.size(), std::size_t(6));
        }
    }

    // The layout depends on the set of addresses, not on the order given nor on the instance.
    void hashLayoutDeterministic() {
        FakeClock clock;
        std::vector<Address> list;
        for (int i = 0; i < 12; ++i) {
            list.push_back(address(i, static_cast<std::uint32_t>(10 + 7 * i)));
        }
        list = sorted(list);
        auto shuffled = list;
        std::mt19937_64 rng(42);
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        auto a = make("consistent-hashing", clock);
        auto b = make("consistent-hashing", clock);
        a->setAddresses(list);
        b->setAddresses(shuffled);
        QCOMPARE(mapKeys(*b, 5000), mapKeys(*a, 5000));
        const auto slots_a = a->slots();
        const auto slots_b = b->slots();
        for (std::size_t i = 0; i < list.size(); ++i) {
            QCOMPARE(slots_b[indexOf(shuffled, list[i].key())], slots_a[i]);
        }
        const auto entries_a = static_cast<ConsistentHashing&>(*a).continuum();
        const auto entries_b = static_cast<ConsistentHashing&>(*b).continuum();
        QCOMPARE(entries_a.size(), entries_b.size());
        for (std::size_t e = 0; e < entries_a.size(); ++e) {
            QCOMPARE(shuffled[entries_b[e]].key(), list[entries_a[e]].key());
        }
    }

    // ---- least-connections -----------------------------------------------------------------

    // Simulated time: two requests arrive per tick; address 0 takes 20 ticks to answer, the
    // others one tick. The slow address accumulates active requests and gets few picks.
    void leastConnectionsSkewedLatency() {
        FakeClock clock;
        auto balancer = make("least-connections", clock);
        balancer->setAddresses(equal(3));
        using Finish = std::pair<int, std::size_t>;  // tick, address
        std::priority_queue<Finish, std::vector<Finish>, std::greater<>> running;
        std::mt19937_64 rng(5);
        std::vector<int> counts(3, 0);
        for (int tick = 0; tick < 5000; ++tick) {
            while (!running.empty() && running.top().first <= tick) {
                balancer->onFinish(running.top().second, 0);
                running.pop();
            }
            for (int r = 0; r < 2; ++r) {
                const auto picked = pickOnce(*balancer, kAll, nullptr, {}, rng());
                QVERIFY(picked);
                balancer->onStart(*picked);
                ++counts[*picked];
                running.push({tick + (*picked == 0 ? 20 : 1), *picked});
            }
        }
        QVERIFY2(counts[0] < 10000 / 10, qPrintable(QString("slow got %1").arg(counts[0])));
        QVERIFY(std::abs(counts[1] - counts[2]) < 10000 / 20);
        // Every started request is still counted until it finishes.
        const auto active = balancer->activeConnections();
        std::vector<std::uint32_t> expected(3, 0);
        for (auto queue = running; !queue.empty(); queue.pop()) {
            ++expected[queue.top().second];
        }
        QCOMPARE(active, expected);
    }

    // (active + 1) / weight: requests that never finish are spread by weight.
    void leastConnectionsWeights() {
        FakeClock clock;
        auto balancer = make("least-connections", clock);
        balancer->setAddresses(weighted({100, 200, 300}));
        std::vector<int> counts(3, 0);
        for (int i = 0; i < 600; ++i) {
            const auto picked = pickOnce(*balancer, kAll, nullptr, {}, static_cast<unsigned>(i));
            balancer->onStart(*picked);
            ++counts[*picked];
        }
        QVERIFY(std::abs(counts[0] - 100) <= 1);
        QVERIFY(std::abs(counts[1] - 200) <= 1);
        QVERIFY(std::abs(counts[2] - 300) <= 1);
    }

    // Requests that finish before the next arrives: every count is 0, ties rotate evenly.
    void leastConnectionsTiesRotate() {
        FakeClock clock;
        auto balancer = make("least-connections", clock);
        balancer->setAddresses(equal(3));
        std::vector<int> counts(3, 0);
        for (int i = 0; i < 3000; ++i) {
            const auto picked = pickOnce(*balancer);  // the same random value every time
            balancer->onStart(*picked);
            balancer->onFinish(*picked, 1);
            ++counts[*picked];
        }
        QCOMPARE(counts, (std::vector<int>{1000, 1000, 1000}));
    }

    void leastConnectionsKeepsCounts() {
        FakeClock clock;
        auto balancer = make("least-connections", clock);
        balancer->setAddresses(equal(3));
        const std::string key = balancer->addresses()[1].key();
        balancer->onStart(1);
        balancer->onStart(1);
        balancer->onFinish(0, 1);  // no start: stays at 0
        balancer->onStart(99);     // out of range: ignored
        auto more = equal(3);
        more.insert(more.begin(), address(200));
        balancer->setAddresses(sorted(more));
        const auto list = balancer->addresses();
        const auto active = balancer->activeConnections();
        for (std::size_t i = 0; i < list.size(); ++i) {
            QCOMPARE(active[i], list[i].key() == key ? 2u : 0u);
        }
    }

    // ---- latency ---------------------------------------------------------------------------

    // Sequential requests 10 ms apart; the addresses answer in 5, 20 and 80 ms. The fast one
    // gets nearly everything; the slow ones are measured first and tried again as their
    // averages fade.
    void latencyFastGetsMost() {
        FakeClock clock;
        auto balancer = make("latency", clock);
        balancer->setAddresses(weighted({100, 100, 100}));
        const double latency[] = {20, 5, 80};
        std::mt19937_64 rng(11);
        std::vector<int> counts(3, 0);
        for (int i = 0; i < 3000; ++i) {
            const auto picked = pickOnce(*balancer, kAll, nullptr, {}, rng());
            balancer->onStart(*picked);
            clock.now += 10;
            balancer->onFinish(*picked, latency[*picked]);
            ++counts[*picked];
        }
        QVERIFY2(counts[1] >= 2900, qPrintable(QString("fast got %1").arg(counts[1])));
        QVERIFY(counts[0] >= 2);  // measured, then retried after fading below 5 ms
        QVERIFY(counts[2] >= 1);
        QVERIFY(counts[0] > counts[2]);
    }

    void latencyDecay() {
        FakeClock clock;
        BalancerOptions options;
        options.algorithm = "latency";
        options.ewma_decay_ms = 10000;
        options.now_ms = clock.fn();
        auto balancer = makeBalancer(options);
        balancer->setAddresses(equal(1));
        QCOMPARE(balancer->latencyEwmaMs(), std::vector<double>{0.0});
        balancer->onFinish(0, 100);
        QCOMPARE(balancer->latencyEwmaMs()[0], 100.0);
        clock.now += 10000;  // one decay time: faded to 100 / e
        QVERIFY(std::abs(balancer->latencyEwmaMs()[0] - 100 / std::exp(1.0)) < 1e-9);
        balancer->onFinish(0, 20);  // below: blended with weight 1 - 1/e
        const double blended = 100 / std::exp(1.0) + 20 * (1 - 1 / std::exp(1.0));
        QVERIFY(std::abs(balancer->latencyEwmaMs()[0] - blended) < 1e-9);
        clock.now += 1;
        balancer->onFinish(0, 200);  // above: the peak replaces it
        QCOMPARE(balancer->latencyEwmaMs()[0], 200.0);
        balancer->onFinish(0, -1);  // nothing measured
        QCOMPARE(balancer->latencyEwmaMs()[0], 200.0);
    }

    void latencySlowStart() {
        FakeClock clock;
        auto balancer = make("latency", clock);
        auto list = equal(2);
        balancer->setAddresses(list);
        balancer->onFinish(0, 10);
        balancer->onFinish(1, 30);
        clock.now += 10000;  // both faded by 1/e
        list.push_back(address(9));
        balancer->setAddresses(list);
        const auto ewma = balancer->latencyEwmaMs();
        QVERIFY(std::abs(ewma[2] - 20 / std::exp(1.0)) < 1e-9);
        QVERIFY(std::abs(ewma[0] - 10 / std::exp(1.0)) < 1e-9);
        // With the new one at the mean, the fast one still wins, the new one beats the slow.
        const std::vector<std::size_t> tried{0};
        QCOMPARE(pickOnce(*balancer), std::optional<std::size_t>(0));
        QCOMPARE(pickOnce(*balancer, kAll, &tried), std::optional<std::size_t>(2));
        // Nothing measured yet anywhere: a new address starts unmeasured.
        auto fresh = make("latency", clock);
        fresh->setAddresses(equal(2));
        fresh->setAddresses(equal(3));
        QCOMPARE(fresh->latencyEwmaMs(), std::vector<double>(3, 0.0));
    }

    // Score = EWMA / weight: 30 ms at weight 300 beats 20 ms at weight 100.
    void latencyWeights() {
        FakeClock clock;
        auto balancer = make("latency", clock);
        balancer->setAddresses(weighted({100, 300}));
        balancer->onFinish(0, 20);
        balancer->onFinish(1, 30);
        for (std::uint64_t r = 0; r < 10; ++r) {
            QCOMPARE(pickOnce(*balancer, kAll, nullptr, {}, r), std::optional<std::size_t>(1));
        }
    }
};

QTEST_GUILESS_MAIN(BalancerTest)
#include "test_balancer.moc"
