#pragma once
// Admin API endpoints over the node's upstream runtime state (gw_proxy's UpstreamRuntime),
// kong-compat.md §2.2 (Health row), §5.5:
//   GET /upstreams/{u}/health                            targets with their health (Kong's shape)
//   GET /upstreams/{u}/health?balancer_health=1          the upstream as a whole (Kong's shape)
//   GET /upstreams/{u}/balancer                          Portico's view: layout, counters, DNS
//   PUT /upstreams/{u}/targets/{t}/healthy|unhealthy            every address of the target
//   PUT /upstreams/{u}/targets/{t}/{address}/healthy|unhealthy  one address, `ip[:port]`
// {u} is an id or a name, {t} an id or `host[:port]` (default port 8000). The PUTs answer 204,
// the GETs 200; an unknown upstream, target or address answers 404 {"message":"Not found"}.
// Health is per node: the GETs show this node's view. A PUT changes this node's view and, when
// `publish` is given (database = postgres), sends the override to every other node; if that
// fails the answer is 503 saying the override was applied on this node only.
// Plugged into AdminApi through AdminHooks::extension; synchronous, on the control thread.

#include "gateway/http/http_message.hpp"
#include "gateway/proxy/upstream_runtime.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace portico::admin {

// Serves the endpoints above; returns nullopt for any other path (the entity endpoints handle
// it). Sets `allow` to the methods the path accepts ("GET" or "PUT") and answers other methods
// with 405.
// Sends a manual override to the other nodes; returns an error message, empty on success.
using PublishOverride = std::function<std::string(const std::string& upstream,
                                                  const std::string& target,
                                                  const std::string& address, bool healthy)>;

std::optional<http::HttpResponse> handleUpstreamEndpoint(proxy::UpstreamRuntime& upstreams,
                                                         const std::string& node_id,
                                                         const http::HttpRequest& request,
                                                         const std::vector<std::string>& segments,
                                                         std::string& allow,
                                                         const PublishOverride& publish = {});

}  // namespace portico::admin
