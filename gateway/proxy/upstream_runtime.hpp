#pragma once
// The node's runtime state for upstreams (kong-compat.md §1.4, §4.3, §5): one balancer per
// upstream, each target's DNS answer, the health of every address, and the active checker. It
// lives outside the configuration snapshot: sync() with a new snapshot keeps the balancers and
// health of what did not change. Workers call pick() / report*(); the control thread calls
// sync() and the view functions for the Admin API.

#include "gateway/balancer/balancer.hpp"
#include "gateway/config/config_snapshot.hpp"
#include "gateway/core/settings.hpp"
#include "gateway/health/health_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace portico::proxy {

// What consistent hashing may hash on, gathered by the proxy for one request.
struct HashInputs {
    std::string client_ip;
    std::string path;                                          // normalized request path
    std::function<std::string(std::string_view name)> header;  // "" when absent
    std::function<std::string(std::string_view name)> cookie;  // "" when absent
    std::function<std::string(std::string_view name)> query_arg;
    const std::map<std::string, std::string>* uri_captures = nullptr;
    std::string consumer_id;  // empty until authentication plugins exist
};

struct UpstreamState;

// The result of asking an upstream for an address.
struct Pick {
    std::shared_ptr<UpstreamState> upstream;  // keep for report*()
    std::optional<std::size_t> index;         // into `addresses`
    std::shared_ptr<const std::vector<balancer::Address>> addresses;
    std::string set_cookie;  // hash_on cookie generated: the Set-Cookie value to send back
    // When no address is available: why, per target, in plain words.
    std::vector<std::string> reasons;
    std::string summary;
    const balancer::Address* address() const {
        return index && addresses ? &(*addresses)[*index] : nullptr;
    }
};

class UpstreamRuntime {
public:
    // Health transitions are logged on the "health" logger with their cause. The active checker
    // and the DNS of target names run on `control` (the control thread).
    UpstreamRuntime(boost::asio::io_context& control, const core::Settings& settings);
    // The same with the clock of health state and latency averages injected (seconds; tests
    // pass a fake one). The views show times of this clock; the default is Unix time.
    UpstreamRuntime(boost::asio::io_context& control, const core::Settings& settings,
                    std::function<double()> now_s);
    ~UpstreamRuntime();
    UpstreamRuntime(const UpstreamRuntime&) = delete;
    UpstreamRuntime& operator=(const UpstreamRuntime&) = delete;

    // Control thread: adopt the upstreams of a newly published snapshot. Call it before the
    // workers see the snapshot: pick() on an upstream sync() has not seen yet finds no address.
    void sync(const std::shared_ptr<const config::ConfigSnapshot>& snapshot);
    void stop();

    // Any thread. `tried` are indices already tried by this request.
    Pick pick(const config::Upstream& upstream, const HashInputs& inputs,
              const std::vector<std::size_t>& tried, std::uint64_t random);

    // Passive health and balancer feedback for one try.
    void reportStart(const Pick& pick);
    void reportConnectFailure(const Pick& pick, bool timeout, const std::string& detail);
    void reportStatus(const Pick& pick, int status, double latency_ms);
    // A try given up without a verdict on the address (a pooled connection the upstream had
    // closed): releases the balancer's count of active requests, leaves health alone.
    void reportAbandoned(const Pick& pick);

    // Admin API views and actions (control thread). Upstream by id or name; nullopt if unknown.
    std::optional<boost::json::object> healthView(const std::string& upstream, bool balancer_health,
                                                  const std::string& node_id) const;
    std::optional<boost::json::object> balancerView(const std::string& upstream) const;
    // PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy. Returns an error message
    // (empty on success): "Not found" when the upstream, target or address is unknown.
    std::string setHealth(const std::string& upstream, const std::string& target,
                          const std::string& address, bool healthy);

    // This node's view of every address of every upstream, for the cluster registry:
    // [{"upstream", "target", "address", "health", "cause"}] (health upper case as in
    // GET /upstreams/{u}/health: HEALTHY, UNHEALTHY, ...; cause: why it last changed, or the
    // last failure).
    boost::json::array clusterHealth() const;

    // Prometheus gauges and counters (target states, probes, passive failures).
    std::string renderPrometheus() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace portico::proxy
