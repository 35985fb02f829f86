#pragma once
// A set of IPv4/IPv6 addresses and CIDR blocks (trusted_ips). Parses with inet_pton; an IPv4
// address given as IPv4-mapped IPv6 (::ffff:a.b.c.d) matches IPv4 blocks.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portico::core {

class IpMatcher {
public:
    // Entries like "10.0.0.0/8", "127.0.0.1", "::1", "0.0.0.0/0,::/0". Returns false and fills
    // `error` naming the entry when one does not parse.
    bool parse(const std::vector<std::string>& entries, std::string* error = nullptr);
    bool contains(std::string_view address) const;
    bool empty() const { return blocks_.empty(); }

private:
    struct Block {
        std::array<std::uint8_t, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
        unsigned prefix = 128;
    };
    std::vector<Block> blocks_;
};

}  // namespace portico::core
