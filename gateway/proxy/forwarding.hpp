#pragma once
// The pure part of forwarding a request (kong-compat.md §4.1, §4.4): which headers go upstream
// and how, hop-by-hop header removal, and the bodies of gateway-made errors. No sockets: used by
// the proxy session and by the request-path fuzz target.

#include "gateway/config/config_snapshot.hpp"
#include "gateway/router/route_table.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace portico::proxy {

namespace bhttp = boost::beast::http;

inline constexpr const char* kPorticoVersion = "0.1.0";
inline constexpr const char* kVia = "1.1 portico/0.1.0";

// Views: the strings belong to the request being forwarded and outlive upstreamRequestHead().
struct ForwardingContext {
    std::string_view request_id;
    std::string_view peer;       // TCP peer address of the client
    bool trusted = false;        // the peer is in trusted_ips
    std::uint16_t port = 0;      // the listening port that accepted the request
    std::string_view real_ip_header = "X-Real-IP";
    // Host for the upstream request when the route does not preserve the client's: the picked
    // target's host[:port] (or the upstream's host_header). Empty: the service's host[:port].
    std::string_view upstream_host;
    // "X-Real-IP: <peer>\r\nX-Forwarded-For: <peer>\r\nX-Forwarded-Proto: http\r\n", made once
    // per client connection: what those fields are for a request that sets none of them (the
    // usual case), written in one append. Empty: always built field by field.
    std::string_view client_fields;
};

// Calls `visit(token)` for each token of a comma-separated header value, trimmed, empty ones
// skipped, case kept. Views into `value`: nothing is allocated.
template <typename Visit>
void forEachToken(std::string_view value, Visit visit) {
    std::size_t start = 0;
    while (start <= value.size()) {
        auto end = value.find(',', start);
        if (end == std::string_view::npos) {
            end = value.size();
        }
        auto token = value.substr(start, end - start);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
        }
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
            token.remove_suffix(1);
        }
        if (!token.empty()) {
            visit(token);
        }
        start = end + 1;
    }
}

// Appends "name: value\r\n" to a message head: one size check and two copies, where four
// appends cost four checks, four copies and the literals' strlen (measured: the heads' fields
// were ~9% of the proxy's user-space instructions).
inline void appendField(std::string& out, std::string_view name, std::string_view value) {
    const std::size_t at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char* p = out.data() + at;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '\r';
    *p = '\n';
}

// An integer's decimal digits in place, for a header value (std::to_string makes a string).
class Decimal {
public:
    template <typename Integer>
    explicit Decimal(Integer value)
        : size_(static_cast<std::size_t>(
              std::to_chars(digits_, digits_ + sizeof digits_, value).ptr - digits_)) {}
    std::string_view view() const { return std::string_view(digits_, size_); }

private:
    char digits_[24];
    std::size_t size_;
};

// The first value of a header seen while walking a message's fields once (what find() would
// give, without its lookup). `T`: std::string_view, or std::string for a copy.
template <typename T>
struct FirstValue {
    T value{};
    bool seen = false;
    void offer(std::string_view candidate) {
        if (!seen) {
            value = T(candidate);
            seen = true;
        }
    }
};

// Hop-by-hop headers (RFC 9110 §7.6.1) of one message: the standard ones plus the names its
// Connection header lists, fed with addListed() while the message's fields are walked. Cheap
// for the common case (no extra names: no allocation).
class HopByHop {
public:
    // Adds the names a Connection header's value lists.
    void addListed(std::string_view connection_value);
    // Adds one name (a token of a Connection value other than close, keep-alive, upgrade).
    void add(std::string_view name);
    template <typename Field>
    bool contains(const Field& field) const {
        return contains(field.name(), field.name_string());
    }
    bool contains(bhttp::field name, std::string_view name_string) const {
        return standard(name) || listed(name_string);
    }
    // Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
    // Proxy-Authenticate. (ResponseParser matches the same eight by name.)
    static bool standard(bhttp::field name);
    // Whether a Connection header named it.
    bool listed(std::string_view name) const;
    bool anyListed() const { return !extra_.empty(); }

private:
    std::vector<std::string> extra_;
};

// How a message body is framed on the wire.
struct BodyFraming {
    std::optional<std::uint64_t> content_length;  // Content-Length: N (also 0)
    bool chunked = false;                           // Transfer-Encoding: chunked
};

// The request head (request line and headers, ending with the blank line) sent upstream for
// `in`: hop-by-hop headers removed, Host per preserve_host, X-Real-IP, X-Forwarded-For and
// -Proto/-Host/-Port/-Path/-Prefix (incoming values kept only from trusted peers),
// X-Kong-Request-Id, Via; Connection: keep-alive, or Upgrade when `upgrade`; framing per `body`.
// Written as text directly: no intermediate header object, one allocation.
std::string upstreamRequestHead(const bhttp::request_header<>& in, const ForwardingContext& context,
                                const router::Match& match, const config::Service& service,
                                const std::string& target, bool upgrade, const BodyFraming& body);
// The same, appended to `out` (a reused buffer: no allocation once it is large enough).
void upstreamRequestHead(std::string& out, const bhttp::request_header<>& in,
                         const ForwardingContext& context, const router::Match& match,
                         const config::Service& service, const std::string& target, bool upgrade,
                         const BodyFraming& body);

// A gateway-made error: JSON {message, request_id} by default, text/plain or HTML when the
// client's Accept asks for them; with Server and X-Kong-Request-Id.
bhttp::response<bhttp::string_body> gatewayError(int status, std::string_view message,
                                                 const std::string& request_id,
                                                 std::string_view accept, unsigned version);

}  // namespace portico::proxy
