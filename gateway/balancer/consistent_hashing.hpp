#pragma once
// Consistent hashing (kong-compat.md §1.4.2): the same hash key goes to the same address for as
// long as that address stays, and a change of the address set moves as few keys as possible.
//
// The continuum is a table of `size` entries (Kong's rule: `slots` when 1000 <= slots, else
// 1000; at most 65536, the schema's maximum). Each entry belongs to one address, chosen by
// weighted rendezvous hashing: every address with weight > 0 draws a pseudo-random number for
// every entry from a hash of its key and the entry number, and the entry goes to the address
// whose draw, scaled by its weight, is best. So each address holds entries in proportion to its
// weight (about size × weight / total), the table depends only on the set of (key, weight)
// pairs (not on their order, not on the node: no seed is used), and:
//   - removing an address hands over only that address's entries (about 1/N of the keys move,
//     all of them keys that were on the removed address);
//   - adding an address takes about 1/(N+1) of the entries, from every other address alike;
//   - changing one weight moves entries only to or from that address.
// Building costs O(size × addresses) hash draws (done outside the lock).
//
// Lookup: xxHash32 of the hash key, modulo size, is the key's position; the first entry from
// there (walking forward, wrapping) whose address is available and not yet tried by the request
// wins. Unavailable addresses keep their entries (their keys come back when they recover), and
// because neighbouring entries belong to unrelated addresses, the keys of a failed address
// spread over all the others. A retry starts from the same position and walks past what was
// tried, which is where Kong's saved index would continue.
//
// The layout is Portico's own (Kong builds a ketama ring from 160 points per target): nodes of
// the same Portico version agree with each other, not with Kong nodes. Thread-safe (one mutex,
// held for the walk; the table is built before the lock is taken).

#include "gateway/balancer/balancer.hpp"

#include <mutex>

namespace portico::balancer {

// xxHash32 (Yann Collet's specification) of `data`.
std::uint32_t xxhash32(std::string_view data, std::uint32_t seed = 0);

class ConsistentHashing final : public Balancer {
public:
    static constexpr std::uint32_t kMinSize = 1000;
    static constexpr std::uint32_t kMaxSize = 65536;
    // The number of continuum entries for the upstream's `slots`.
    static std::uint32_t continuumSize(std::uint32_t slots);

    explicit ConsistentHashing(std::uint32_t slots = 10000);

    std::string algorithm() const override { return "consistent-hashing"; }
    std::uint32_t size() const { return size_; }

    void setAddresses(std::vector<Address> addresses) override;
    std::vector<Address> addresses() const override;
    std::optional<std::size_t> pick(const PickRequest& request,
                                    const AvailableFn& available) override;
    // Entries held per address; they add up to size() unless no address has weight > 0.
    std::vector<std::uint32_t> slots() const override;
    std::vector<std::uint32_t> activeConnections() const override;
    std::vector<double> latencyEwmaMs() const override;

    // The address owning each entry (index into addresses()), or kNone; for tests and views.
    static constexpr std::uint32_t kNone = 0xFFFFFFFF;
    std::vector<std::uint32_t> continuum() const;

private:
    struct Layout {
        std::vector<Address> addresses;
        std::vector<std::uint32_t> owner;   // size_ entries
        std::vector<std::uint32_t> counts;  // entries per address
        std::size_t owners = 0;             // addresses holding at least one entry
    };
    static Layout build(std::vector<Address> addresses, std::uint32_t size);

    std::uint32_t size_;
    mutable std::mutex mutex_;
    Layout layout_;
};

}  // namespace portico::balancer
