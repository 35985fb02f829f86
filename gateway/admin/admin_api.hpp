#pragma once
// The Admin API handlers (kong-compat.md §2): every entity's list, create, read, upsert, patch and
// delete, nested and foreign-key endpoints, lookups by id or endpoint key, pagination, tags,
// JSON / form / multipart bodies, GET /, /status, /schemas, /tags, /config. Beast-free: it maps an
// HttpRequest to an HttpResponse, so it is tested without sockets. Runs on the control thread.

#include "gateway/core/settings.hpp"
#include "gateway/http/http_message.hpp"
#include "gateway/store/store.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <vector>
#include <memory>
#include <string>

namespace portico::admin {

struct NodeInfo {
    std::string node_id;
    std::string hostname;
    std::string version;
    double started_at = 0;
};

struct AdminHooks {
    // Called after every successful write (configuration changed): rebuild the snapshot.
    std::function<void()> on_change;
    // Proxy counters for GET /status "server" (connections, total_requests); may be empty.
    std::function<boost::json::object()> server_status;
    // Revision currently served by the proxy (the published snapshot), for GET /status.
    std::function<std::int64_t()> served_revision;
    // Hash of the configuration the proxy serves (GET /status configuration.hash); when empty,
    // the hash is computed from the store.
    std::function<std::string()> served_hash;
    // Extra facts for GET /status "database" (listening, cached configuration in use, ...).
    std::function<boost::json::object()> database_status;
    // Extra endpoints owned by other components (traffic feed, metrics, explanations), tried
    // before the entity endpoints. Returns nullopt when the path is not theirs; sets `allow` to
    // the methods the path accepts (for OPTIONS and 405).
    std::function<std::optional<http::HttpResponse>(const http::HttpRequest& request,
                                                    const std::vector<std::string>& segments,
                                                    std::string& allow)>
        extension;
};

class AdminApi {
public:
    // `store` must outlive the AdminApi. In DB-less mode (settings.database == "off") every
    // entity write answers 405 and POST /config replaces the whole configuration.
    AdminApi(store::Store& store, const core::Settings& settings, NodeInfo node, AdminHooks hooks);
    ~AdminApi();

    http::HttpResponse handle(const http::HttpRequest& request);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace portico::admin
