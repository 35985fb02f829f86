#pragma once
// Asynchronous A/AAAA lookups with TTLs on c-ares, driven by an io_context: c-ares tells which
// sockets it wants watched (ARES_OPT_SOCK_STATE_CB), each is wrapped in a
// posix::stream_descriptor that is never owned (released, not closed, when c-ares lets go of
// it), readiness calls ares_process_fd, and one steady_timer follows ares_timeout() for retries
// and timeouts. No thread of its own.
//
// Names are looked up in the hosts file first, then DNS (c-ares "fb", as the system resolver
// does by default), so "localhost" resolves without a query. IP literals ("10.0.0.1", "::1",
// "[::1]") never go to c-ares. Every lookup is bounded: `timeout` per try, `tries` tries per
// server, at most `max_pending` lookups at once.
//
// Threading: construct, resolve() and stop() on the io_context's thread; callbacks run there,
// always posted (never from inside resolve()). Destroy the resolver before its io_context.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace portico::health {

struct ResolveResult {
    // "127.0.0.1", "::1": inet_ntop text, no brackets, in the order of the answer, no duplicates.
    std::vector<std::string> addresses;
    // Smallest TTL of the answer's records (and of the CNAMEs leading to them), in seconds;
    // 0 when the source gives none (hosts-file entries).
    double ttl_s = 0;
    std::string error;     // "" on success: "domain name not found", "timeout while ..."
    bool literal = false;  // the name was an IP literal; the address is the name
    bool ok() const { return error.empty(); }
};

// The address text of an IP literal ("10.0.0.1", "::1", "[::1]" → "::1"), nullopt for a name.
std::optional<std::string> ipLiteral(std::string_view name);

class DnsResolver {
public:
    struct Options {
        std::chrono::milliseconds timeout{2000};  // per try (c-ares doubles it on later tries)
        int tries = 2;
        bool ipv6 = true;            // ask for AAAA as well as A
        std::string lookups = "fb";  // c-ares order: f = hosts file, b = DNS
        std::size_t max_pending = 256;
    };
    using Callback = std::function<void(ResolveResult)>;

    // Reads the system's resolver configuration (/etc/resolv.conf, /etc/hosts). Throws
    // std::runtime_error when c-ares cannot be initialised.
    DnsResolver(boost::asio::io_context& io, Options options);
    explicit DnsResolver(boost::asio::io_context& io);
    ~DnsResolver();  // stop()
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    // Looks `name` up; `callback` gets the addresses or an error ("empty name", "name too long",
    // "too many pending lookups" without a lookup).
    void resolve(const std::string& name, Callback callback);
    // Cancels every lookup. After stop() no callback runs (also none already posted), and
    // resolve() does nothing.
    void stop();
    std::size_t pending() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace portico::health
