#pragma once
// Portico's own Admin API endpoints over what the node remembers of its traffic (gw_proxy's
// TrafficRing and Metrics):
//   GET /traffic                 recent records, newest first, filtered
//   GET /traffic/stream          the same filters as server-sent events, from now or ?since=
//   GET /traffic/{request_id}    one record and the explanation of its gateway-made error
//   GET /metrics                 Prometheus text
// Plugged into AdminApi through AdminHooks::extension. Beast-free and synchronous; runs on the
// control thread like the rest of the Admin API.

#include "gateway/http/http_message.hpp"
#include "gateway/proxy/traffic.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace portico::admin {

// Serves the endpoints above; returns nullopt for any other path. Sets `allow` to the methods
// the path accepts ("GET") whenever the path is one of these, and answers other methods with
// 405. Query parameters of /traffic and /traffic/stream: status (5xx or 502), route, service,
// q (free text), errors=1 (gateway-made errors only); size (1..1000, default 100) on /traffic;
// since (a sequence number) on /traffic/stream, which also honours Last-Event-ID. Invalid values
// answer 400 naming the parameter. The stream's EventSource keeps a reference to `ring`: the ring
// must outlive the HTTP server that serves the stream.
std::optional<http::HttpResponse> handleTrafficEndpoint(proxy::TrafficRing& ring,
                                                        proxy::Metrics& metrics,
                                                        const http::HttpRequest& request,
                                                        const std::vector<std::string>& segments,
                                                        std::string& allow);

// The JSON shapes of the endpoints: every field by its name; an explanation's tries as an array.
boost::json::object trafficRecordToJson(const proxy::TrafficRecord& record);
boost::json::object explanationToJson(const proxy::Explanation& explanation);

}  // namespace portico::admin
