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
// Health is per node: these show and change this node's view only.
// Plugged into AdminApi through AdminHooks::extension; synchronous, on the control thread.

#include "gateway/http/http_message.hpp"
#include "gateway/proxy/upstream_runtime.hpp"

#include <optional>
#include <string>
#include <vector>

namespace portico::admin {

// Serves the endpoints above; returns nullopt for any other path (the entity endpoints handle
// it). Sets `allow` to the methods the path accepts ("GET" or "PUT") and answers other methods
// with 405.
std::optional<http::HttpResponse> handleUpstreamEndpoint(proxy::UpstreamRuntime& upstreams,
                                                         const std::string& node_id,
                                                         const http::HttpRequest& request,
                                                         const std::vector<std::string>& segments,
                                                         std::string& allow);

}  // namespace portico::admin
