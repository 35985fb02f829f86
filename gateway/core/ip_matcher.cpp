#include "gateway/core/ip_matcher.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace portico::core {

namespace {

// Parses an address into 16 bytes (IPv4 mapped to ::ffff:a.b.c.d); `is_v4` tells which.
bool toBytes(std::string_view text, std::array<std::uint8_t, 16>& out, bool& is_v4) {
    std::string address(text);
    if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
        address = address.substr(1, address.size() - 2);
    }
    in_addr v4{};
    if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
        out.fill(0);
        out[10] = 0xff;
        out[11] = 0xff;
        std::memcpy(out.data() + 12, &v4, 4);
        is_v4 = true;
        return true;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
        std::memcpy(out.data(), &v6, 16);
        is_v4 = false;
        return true;
    }
    return false;
}

}  // namespace

bool IpMatcher::parse(const std::vector<std::string>& entries, std::string* error) {
    blocks_.clear();
    for (const auto& entry : entries) {
        auto slash = entry.find('/');
        Block block;
        bool is_v4 = false;
        if (!toBytes(std::string_view(entry).substr(0, slash), block.bytes, is_v4)) {
            if (error != nullptr) {
                *error = "'" + entry + "' is not an IP address or CIDR block";
            }
            return false;
        }
        unsigned max = is_v4 ? 32 : 128;
        unsigned prefix = max;
        if (slash != std::string::npos) {
            auto digits = entry.substr(slash + 1);
            if (digits.empty() || digits.size() > 3 ||
                digits.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(digits) > max) {
                if (error != nullptr) {
                    *error = "'" + entry + "' has an invalid prefix length";
                }
                return false;
            }
            prefix = static_cast<unsigned>(std::stoul(digits));
        }
        block.prefix = is_v4 ? prefix + 96 : prefix;
        blocks_.push_back(block);
    }
    return true;
}

bool IpMatcher::contains(std::string_view address) const {
    std::array<std::uint8_t, 16> bytes{};
    bool is_v4 = false;
    if (!toBytes(address, bytes, is_v4)) {
        return false;
    }
    for (const auto& block : blocks_) {
        unsigned full = block.prefix / 8;
        unsigned rest = block.prefix % 8;
        if (std::memcmp(bytes.data(), block.bytes.data(), full) != 0) {
            continue;
        }
        if (rest != 0) {
            auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
            if ((bytes[full] & mask) != (block.bytes[full] & mask)) {
                continue;
            }
        }
        return true;
    }
    return false;
}

}  // namespace portico::core
