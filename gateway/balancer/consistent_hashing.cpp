#include "gateway/balancer/consistent_hashing.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <tuple>

namespace portico::balancer {

namespace {

constexpr std::uint32_t kPrime1 = 2654435761U;
constexpr std::uint32_t kPrime2 = 2246822519U;
constexpr std::uint32_t kPrime3 = 3266489917U;
constexpr std::uint32_t kPrime4 = 668265263U;
constexpr std::uint32_t kPrime5 = 374761393U;

std::uint32_t read32(const unsigned char* p) {
    // Little-endian by definition of the hash, whatever the machine.
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::uint32_t round32(std::uint32_t acc, std::uint32_t lane) {
    acc += lane * kPrime2;
    acc = std::rotl(acc, 13);
    return acc * kPrime1;
}

// SplitMix64's output function: a well-mixed 64-bit draw for (address, entry).
std::uint64_t draw(std::uint64_t address_seed, std::uint64_t entry) {
    std::uint64_t z = address_seed + (entry + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Walking stops once every address holding entries has been turned down; the first few refusals
// are remembered on the stack, a longer walk (many addresses down) switches to a flag per address.
class Refusals {
public:
    explicit Refusals(std::size_t addresses) : addresses_(addresses) {}
    bool contains(std::uint32_t index) const {
        if (!flags_.empty()) {
            return flags_[index] != 0;
        }
        return std::find(small_.begin(), small_.begin() + count_, index) != small_.begin() + count_;
    }
    // Returns the number of distinct refusals so far.
    std::size_t add(std::uint32_t index) {
        if (flags_.empty() && count_ < small_.size()) {
            small_[count_] = index;
        } else {
            if (flags_.empty()) {
                flags_.assign(addresses_, 0);
                for (std::size_t i = 0; i < count_; ++i) {
                    flags_[small_[i]] = 1;
                }
            }
            flags_[index] = 1;
        }
        return ++count_;
    }

private:
    std::size_t addresses_;
    std::array<std::uint32_t, 8> small_{};
    std::size_t count_ = 0;
    std::vector<char> flags_;
};

}  // namespace

std::uint32_t xxhash32(std::string_view data, std::uint32_t seed) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t length = data.size();
    const unsigned char* const end = p + length;
    std::uint32_t h = 0;
    if (length >= 16) {
        std::uint32_t v1 = seed + kPrime1 + kPrime2;
        std::uint32_t v2 = seed + kPrime2;
        std::uint32_t v3 = seed;
        std::uint32_t v4 = seed - kPrime1;
        const unsigned char* const limit = end - 16;
        do {
            v1 = round32(v1, read32(p));
            v2 = round32(v2, read32(p + 4));
            v3 = round32(v3, read32(p + 8));
            v4 = round32(v4, read32(p + 12));
            p += 16;
        } while (p <= limit);
        h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    } else {
        h = seed + kPrime5;
    }
    h += static_cast<std::uint32_t>(length);
    while (p + 4 <= end) {
        h += read32(p) * kPrime3;
        h = std::rotl(h, 17) * kPrime4;
        p += 4;
    }
    while (p < end) {
        h += static_cast<std::uint32_t>(*p) * kPrime5;
        h = std::rotl(h, 11) * kPrime1;
        ++p;
    }
    h ^= h >> 15;
    h *= kPrime2;
    h ^= h >> 13;
    h *= kPrime3;
    h ^= h >> 16;
    return h;
}

std::uint32_t ConsistentHashing::continuumSize(std::uint32_t slots) {
    return std::clamp(slots, kMinSize, kMaxSize);
}

ConsistentHashing::ConsistentHashing(std::uint32_t slots) : size_(continuumSize(slots)) {
    layout_ = build({}, size_);
}

ConsistentHashing::Layout ConsistentHashing::build(std::vector<Address> addresses,
                                                   std::uint32_t size) {
    Layout layout;
    layout.owner.assign(size, kNone);
    layout.counts.assign(addresses.size(), 0);

    // Candidates in key order: on an (astronomically rare) equal draw the smaller key wins, so
    // the result does not depend on the order the caller passed.
    struct Candidate {
        std::uint64_t seed;
        double weight;
        std::uint32_t index;
    };
    std::vector<std::string> keys;
    keys.reserve(addresses.size());
    for (const auto& address : addresses) {
        keys.push_back(address.key());
    }
    std::vector<Candidate> candidates;
    for (std::uint32_t i = 0; i < addresses.size(); ++i) {
        if (addresses[i].weight > 0) {
            const std::uint64_t seed =
                (std::uint64_t{xxhash32(keys[i], 0)} << 32) | xxhash32(keys[i], 0x9E3779B9U);
            candidates.push_back({seed, static_cast<double>(addresses[i].weight), i});
        }
    }
    std::sort(candidates.begin(), candidates.end(),
              [&keys](const Candidate& a, const Candidate& b) {
                  return std::tie(keys[a.index], a.index) < std::tie(keys[b.index], b.index);
              });

    if (!candidates.empty()) {
        const bool equal_weights =
            std::all_of(candidates.begin(), candidates.end(),
                        [&](const Candidate& c) { return c.weight == candidates.front().weight; });
        for (std::uint32_t entry = 0; entry < size; ++entry) {
            // Candidates are in key order and only a strictly better draw replaces the best, so
            // ties go to the smaller key.
            std::uint32_t best = candidates.front().index;
            if (equal_weights) {
                // The highest 53-bit draw: the same order as the weighted score below (the weight
                // being common), without the logarithms.
                std::uint64_t best_draw = draw(candidates.front().seed, entry) >> 11;
                for (std::size_t c = 1; c < candidates.size(); ++c) {
                    const std::uint64_t d = draw(candidates[c].seed, entry) >> 11;
                    if (d > best_draw) {
                        best_draw = d;
                        best = candidates[c].index;
                    }
                }
            } else {
                // Weighted rendezvous: the lowest -ln(u) / weight, u uniform in (0, 1), wins with
                // probability weight / total weight.
                const auto score = [entry](const Candidate& c) {
                    const double u =
                        (static_cast<double>(draw(c.seed, entry) >> 11) + 0.5) * 0x1.0p-53;
                    return -std::log(u) / c.weight;
                };
                double best_score = score(candidates.front());
                for (std::size_t c = 1; c < candidates.size(); ++c) {
                    const double s = score(candidates[c]);
                    if (s < best_score) {
                        best_score = s;
                        best = candidates[c].index;
                    }
                }
            }
            layout.owner[entry] = best;
            ++layout.counts[best];
        }
    }
    layout.owners = static_cast<std::size_t>(
        std::count_if(layout.counts.begin(), layout.counts.end(), [](auto c) { return c > 0; }));
    layout.addresses = std::move(addresses);
    return layout;
}

void ConsistentHashing::setAddresses(std::vector<Address> addresses) {
    Layout layout = build(std::move(addresses), size_);
    std::lock_guard lock(mutex_);
    layout_ = std::move(layout);
}

std::vector<Address> ConsistentHashing::addresses() const {
    std::lock_guard lock(mutex_);
    return layout_.addresses;
}

std::optional<std::size_t> ConsistentHashing::pick(const PickRequest& request,
                                                   const AvailableFn& available) {
    const std::uint32_t position = xxhash32(request.hash_key) % size_;
    std::lock_guard lock(mutex_);
    if (layout_.owners == 0) {
        return std::nullopt;
    }
    Refusals refused(layout_.addresses.size());
    std::uint32_t entry = position;
    for (std::uint32_t step = 0; step < size_; ++step) {
        const std::uint32_t owner = layout_.owner[entry];
        if (!refused.contains(owner)) {
            if (!wasTried(request, owner) && available(owner)) {
                return owner;
            }
            if (refused.add(owner) == layout_.owners) {
                return std::nullopt;
            }
        }
        entry = entry + 1 == size_ ? 0 : entry + 1;
    }
    return std::nullopt;
}

std::vector<std::uint32_t> ConsistentHashing::slots() const {
    std::lock_guard lock(mutex_);
    return layout_.counts;
}

std::vector<std::uint32_t> ConsistentHashing::activeConnections() const {
    std::lock_guard lock(mutex_);
    return std::vector<std::uint32_t>(layout_.addresses.size(), 0);
}

std::vector<double> ConsistentHashing::latencyEwmaMs() const {
    std::lock_guard lock(mutex_);
    return std::vector<double>(layout_.addresses.size(), 0.0);
}

std::vector<std::uint32_t> ConsistentHashing::continuum() const {
    std::lock_guard lock(mutex_);
    return layout_.owner;
}

}  // namespace portico::balancer
