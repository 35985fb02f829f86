#pragma once
// The data plane: `worker_threads` workers, each with its own io_context and one SO_REUSEPORT
// acceptor per proxy_listen address. A request loads the published ConfigSnapshot once, is
// routed, forwarded to its service with the service's timeouts and retries, and answered; errors
// made by the gateway are JSON {message, request_id} (or text/HTML by Accept).

#include "gateway/config/config_snapshot.hpp"
#include "gateway/core/settings.hpp"
#include "gateway/proxy/traffic.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace portico::proxy {

class UpstreamRuntime;

// Holds the snapshot the workers serve. publish() is called on the control thread; load() on
// any worker, lock-free for readers.
class SnapshotHolder {
public:
    SnapshotHolder();
    std::shared_ptr<const config::ConfigSnapshot> load() const;
    void publish(std::shared_ptr<const config::ConfigSnapshot> snapshot);

private:
    std::atomic<std::shared_ptr<const config::ConfigSnapshot>> current_;
};

struct ProxyStats {
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_active{0};
    std::atomic<std::uint64_t> connections_reading{0};
    std::atomic<std::uint64_t> connections_writing{0};
    std::atomic<std::uint64_t> connections_waiting{0};
    std::atomic<std::uint64_t> requests_in_flight{0};
    std::atomic<std::uint64_t> total_requests{0};
    std::atomic<std::uint64_t> upstream_connections_opened{0};
    std::atomic<std::uint64_t> upstream_connections_reused{0};
};

class ProxyServer {
public:
    // Binds every proxy_listen address (throws std::system_error naming the address).
    // `traffic` and `metrics` (may be null) receive a record per request. With `upstreams`, a
    // service whose host names an upstream is balanced over its targets (null: hosts only).
    ProxyServer(const core::Settings& settings, SnapshotHolder& snapshots, ProxyStats& stats,
                TrafficRing* traffic = nullptr, Metrics* metrics = nullptr,
                UpstreamRuntime* upstreams = nullptr);
    ~ProxyServer();
    ProxyServer(const ProxyServer&) = delete;
    ProxyServer& operator=(const ProxyServer&) = delete;

    // Starts the worker threads.
    void start();
    // Graceful stop: closes the listeners and the idle client connections, lets in-flight
    // requests finish up to `deadline` (their connections close after the response), then
    // stops and joins the workers. Safe to call twice.
    void stop(std::chrono::milliseconds deadline);
    // The bound ports, in proxy_listen order (useful with port 0).
    std::vector<std::uint16_t> ports() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace portico::proxy
