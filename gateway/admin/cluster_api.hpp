#pragma once
// Admin API endpoints of a cluster sharing one PostgreSQL database (Portico's own):
//   GET /clustering/nodes    every registered node: id, hostname, version, listen addresses,
//                            start time, last seen, applied revision, configuration hash, its lag
//                            behind the database's revision, and whether it is stale (not seen
//                            for `stale_after_s`)
//   GET /clustering/health   every node's view of target health: per node, the targets with
//                            upstream, target, address, health and cause
// With another store (sqlite, DB-less) both answer 404 with a message saying so. While the
// database is unreachable they answer 503.
// Plugged into AdminApi through AdminHooks::extension; synchronous, on the control thread.

#include "gateway/http/http_message.hpp"
#include "gateway/store/postgres_store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace portico::admin {

struct ClusterView {
    store::PostgresStore* store = nullptr;  // null unless database = postgres
    std::string strategy;                   // the store's strategy, for the 404 message
    double stale_after_s = 15;
    double now_s = 0;
};

std::optional<http::HttpResponse> handleClusterEndpoint(const ClusterView& view,
                                                        const http::HttpRequest& request,
                                                        const std::vector<std::string>& segments,
                                                        std::string& allow);

}  // namespace portico::admin
