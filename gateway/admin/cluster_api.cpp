#include "gateway/admin/cluster_api.hpp"

#include "common/api_error.hpp"
#include "gateway/admin/json_response.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace portico::admin {

namespace json = boost::json;
using common::ApiError;
using http::HttpResponse;

namespace {

json::array strings(const std::vector<std::string>& items) {
    json::array out;
    for (const auto& item : items) {
        out.emplace_back(json::string(item));
    }
    return out;
}

}  // namespace

std::optional<HttpResponse> handleClusterEndpoint(const ClusterView& view,
                                                  const http::HttpRequest& request,
                                                  const std::vector<std::string>& segments,
                                                  std::string& allow) {
    if (segments.size() != 2 || segments[0] != "clustering" ||
        (segments[1] != "nodes" && segments[1] != "health")) {
        return std::nullopt;
    }
    allow = "GET";
    if (request.method != "GET" && request.method != "HEAD") {
        auto response = jsonResponse(405, ApiError::methodNotAllowed().toJson());
        response.set("Allow", "GET, HEAD, OPTIONS");
        return response;
    }
    if (view.store == nullptr) {
        return jsonResponse(
            404, json::object{{"message", "clustering needs database = postgres; this node runs "
                                          "with database = " +
                                              view.strategy}});
    }
    auto nodes = view.store->nodes();
    if (!nodes) {
        return jsonResponse(nodes.error().http_status, nodes.error().toJson());
    }
    auto revision = view.store->revision();
    const std::int64_t current = revision ? *revision : 0;
    json::array data;
    for (const auto& node : *nodes) {
        const bool stale = view.now_s - node.last_seen > view.stale_after_s;
        if (segments[1] == "nodes") {
            data.emplace_back(json::object{
                {"id", node.id},
                {"hostname", node.hostname},
                {"version", node.version},
                {"proxy_listen", strings(node.proxy_listen)},
                {"admin_listen", strings(node.admin_listen)},
                {"started_at", node.started_at},
                {"last_seen", node.last_seen},
                {"applied_revision", node.applied_revision},
                {"config_hash", node.config_hash},
                {"lag", std::max<std::int64_t>(0, current - node.applied_revision)},
                {"stale", stale}});
            continue;
        }
        boost::system::error_code ec;
        auto health = json::parse(node.health, ec);
        data.emplace_back(json::object{{"node_id", node.id},
                                       {"hostname", node.hostname},
                                       {"last_seen", node.last_seen},
                                       {"stale", stale},
                                       {"targets", !ec && health.is_array()
                                                       ? std::move(health)
                                                       : json::value(json::array{})}});
    }
    return jsonResponse(200, json::object{{"data", std::move(data)}, {"revision", current}});
}

}  // namespace portico::admin
