#include "gateway/health/dns_resolver.hpp"

#include "gateway/core/logging.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <mutex>
#include <stdexcept>

namespace portico::health {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxNameLength = 253;

std::string lower(std::string text) {
    for (auto& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

void initLibrary() {
    static std::once_flag once;
    static int status = ARES_SUCCESS;
    std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (status != ARES_SUCCESS) {
        throw std::runtime_error(std::string("c-ares initialisation failed: ") +
                                 ares_strerror(status));
    }
}

ResolveResult convert(int status, const ares_addrinfo* info) {
    ResolveResult result;
    if (status != ARES_SUCCESS) {
        result.error = lower(ares_strerror(status));
        return result;
    }
    int ttl = INT_MAX;
    for (const ares_addrinfo_node* node = info ? info->nodes : nullptr; node != nullptr;
         node = node->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const char* written = nullptr;
        if (node->ai_family == AF_INET && node->ai_addr != nullptr) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
            written = inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        } else if (node->ai_family == AF_INET6 && node->ai_addr != nullptr) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
            written = inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        }
        if (written == nullptr) {
            continue;
        }
        std::string address(written);
        if (std::find(result.addresses.begin(), result.addresses.end(), address) ==
            result.addresses.end()) {
            result.addresses.push_back(std::move(address));
        }
        ttl = std::min(ttl, node->ai_ttl);
    }
    for (const ares_addrinfo_cname* cname = info ? info->cnames : nullptr; cname != nullptr;
         cname = cname->next) {
        ttl = std::min(ttl, cname->ttl);
    }
    if (result.addresses.empty()) {
        result.error = "no addresses";
        return result;
    }
    result.ttl_s = ttl == INT_MAX ? 0 : std::max(ttl, 0);
    return result;
}

// One socket c-ares asked us to watch. The descriptor is c-ares's: released, never closed.
struct Watch {
    Watch(asio::io_context& io, int f) : descriptor(io), fd(f) {}
    ~Watch() { close(); }
    void close() {
        closed = true;
        if (descriptor.is_open()) {
            descriptor.release();  // cancels pending waits (operation_aborted)
        }
    }
    asio::posix::stream_descriptor descriptor;
    int fd;
    bool want_read = false;
    bool want_write = false;
    bool read_pending = false;
    bool write_pending = false;
    bool closed = false;
};

}  // namespace

std::optional<std::string> ipLiteral(std::string_view name) {
    std::string text(name);
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    boost::system::error_code ec;
    asio::ip::make_address(text, ec);  // inet_pton: strict dotted quads, no "1" or "0x7f.1"
    if (ec) {
        return std::nullopt;
    }
    return text;
}

struct DnsResolver::Impl : std::enable_shared_from_this<DnsResolver::Impl> {
    Impl(asio::io_context& i, Options o) : io(i), options(std::move(o)), timer(i) {}

    asio::io_context& io;
    Options options;
    ares_channel channel = nullptr;
    asio::steady_timer timer;
    std::map<int, std::shared_ptr<Watch>> watches;
    std::size_t pending = 0;
    bool stopped = false;

    struct Query {
        Impl* impl;
        Callback callback;
    };

    static void onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
        static_cast<Impl*>(data)->socketState(fd, readable != 0, writable != 0);
    }

    static void onAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
        std::unique_ptr<Query> query(static_cast<Query*>(arg));
        Impl* impl = query->impl;
        --impl->pending;
        ResolveResult result = convert(status, info);
        if (info != nullptr) {
            ares_freeaddrinfo(info);
        }
        if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || impl->stopped) {
            return;  // stop(): no callback
        }
        impl->deliver(std::move(query->callback), std::move(result));
    }

    void deliver(Callback callback, ResolveResult result) {
        asio::post(io, [self = shared_from_this(), callback = std::move(callback),
                        result = std::move(result)]() mutable {
            if (!self->stopped) {
                callback(std::move(result));
            }
        });
    }

    void socketState(int fd, bool readable, bool writable) {
        auto it = watches.find(fd);
        if (!readable && !writable) {
            if (it != watches.end()) {
                it->second->close();
                watches.erase(it);
            }
            return;
        }
        if (stopped) {
            return;
        }
        std::shared_ptr<Watch> watch;
        if (it == watches.end()) {
            watch = std::make_shared<Watch>(io, fd);
            boost::system::error_code ec;
            watch->descriptor.assign(fd, ec);
            if (ec) {
                // c-ares will time the query out; nothing else to do.
                core::logger("health")->warn("dns socket watch failed fd={} error={}", fd, ec);
                return;
            }
            watches.emplace(fd, watch);
        } else {
            watch = it->second;
        }
        watch->want_read = readable;
        watch->want_write = writable;
        arm(watch);
    }

    void arm(const std::shared_ptr<Watch>& watch) {
        if (watch->closed || stopped) {
            return;
        }
        if (watch->want_read && !watch->read_pending) {
            watch->read_pending = true;
            watch->descriptor.async_wait(
                asio::posix::stream_descriptor::wait_read,
                [self = shared_from_this(), watch](const boost::system::error_code& ec) {
                    watch->read_pending = false;
                    self->ready(watch, ec, true);
                });
        }
        if (watch->want_write && !watch->write_pending) {
            watch->write_pending = true;
            watch->descriptor.async_wait(
                asio::posix::stream_descriptor::wait_write,
                [self = shared_from_this(), watch](const boost::system::error_code& ec) {
                    watch->write_pending = false;
                    self->ready(watch, ec, false);
                });
        }
    }

    void ready(const std::shared_ptr<Watch>& watch, const boost::system::error_code& ec,
               bool read) {
        if (stopped || watch->closed || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            // Not re-armed (it would spin); the query's timeout ends it.
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        } else {
            ares_process_fd(channel, read ? watch->fd : ARES_SOCKET_BAD,
                            read ? ARES_SOCKET_BAD : watch->fd);
            arm(watch);  // c-ares may have closed it meanwhile: arm() checks
        }
        resetTimer();
    }

    void resetTimer() {
        if (stopped || channel == nullptr) {
            return;
        }
        timeval tv{};
        if (ares_timeout(channel, nullptr, &tv) == nullptr) {
            timer.cancel();  // nothing pending
            return;
        }
        timer.expires_after(std::chrono::seconds(tv.tv_sec) +
                            std::chrono::microseconds(tv.tv_usec));
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped) {
                return;
            }
            ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            self->resetTimer();
        });
    }

    void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        timer.cancel();
        if (channel != nullptr) {
            ares_destroy(channel);  // pending queries end with ARES_EDESTRUCTION
            channel = nullptr;
        }
        for (auto& [fd, watch] : watches) {
            watch->close();
        }
        watches.clear();
    }
};

DnsResolver::DnsResolver(asio::io_context& io) : DnsResolver(io, Options{}) {}

DnsResolver::DnsResolver(asio::io_context& io, Options options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
    initLibrary();
    ares_options opts{};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
    opts.sock_state_cb = &Impl::onSocketState;
    opts.sock_state_cb_data = impl_.get();
    opts.timeout = static_cast<int>(std::max<long long>(1, impl_->options.timeout.count()));
    opts.tries = std::max(1, impl_->options.tries);
    opts.lookups = impl_->options.lookups.data();
    int status = ares_init_options(&impl_->channel, &opts, mask);
    if (status != ARES_SUCCESS) {
        impl_->channel = nullptr;
        throw std::runtime_error(std::string("c-ares channel initialisation failed: ") +
                                 ares_strerror(status));
    }
}

DnsResolver::~DnsResolver() {
    impl_->stop();
}

void DnsResolver::resolve(const std::string& name, Callback callback) {
    Impl& impl = *impl_;
    if (impl.stopped) {
        return;
    }
    ResolveResult result;
    if (auto literal = ipLiteral(name)) {
        result.addresses.push_back(*literal);
        result.literal = true;
        impl.deliver(std::move(callback), std::move(result));
        return;
    }
    if (name.empty()) {
        result.error = "empty name";
    } else if (name.size() > kMaxNameLength) {
        result.error = "name too long";
    } else if (impl.pending >= impl.options.max_pending) {
        result.error = "too many pending lookups";
    }
    if (!result.ok()) {
        impl.deliver(std::move(callback), std::move(result));
        return;
    }
    ares_addrinfo_hints hints{};
    hints.ai_family = impl.options.ipv6 ? AF_UNSPEC : AF_INET;
    // Our callers sort the answer themselves; c-ares's RFC 6724 sorting would open a socket
    // per address to find source addresses.
    hints.ai_flags = ARES_AI_NOSORT;
    hints.ai_socktype = SOCK_STREAM;
    auto* query = new Impl::Query{&impl, std::move(callback)};
    ++impl.pending;
    // May complete at once (hosts file): onAddrInfo posts the callback either way.
    ares_getaddrinfo(impl.channel, name.c_str(), nullptr, &hints, &Impl::onAddrInfo, query);
    impl.resetTimer();
}

void DnsResolver::stop() {
    impl_->stop();
}

std::size_t DnsResolver::pending() const {
    return impl_->pending;
}

}  // namespace portico::health
