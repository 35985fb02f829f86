#include "gateway/admin/upstream_api.hpp"

#include "common/api_error.hpp"
#include "gateway/admin/json_response.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

namespace portico::admin {

namespace json = boost::json;
using common::ApiError;
using http::HttpRequest;
using http::HttpResponse;

namespace {

HttpResponse errorResponse(const ApiError& error) {
    return jsonResponse(error.http_status, error.toJson());
}

HttpResponse methodNotAllowed(const char* allowed) {
    HttpResponse response = errorResponse(ApiError::methodNotAllowed());
    response.set("Allow", allowed);  // as OPTIONS on the path lists them
    return response;
}

bool balancerHealthRequested(const HttpRequest& request) {
    auto parsed = boost::urls::parse_origin_form(request.target);
    if (!parsed) {
        return false;
    }
    for (auto param : parsed->params()) {
        if (param.key == "balancer_health") {
            return param.value == "1" || param.value == "true";
        }
    }
    return false;
}

}  // namespace

std::optional<HttpResponse> handleUpstreamEndpoint(proxy::UpstreamRuntime& upstreams,
                                                   const std::string& node_id,
                                                   const HttpRequest& request,
                                                   const std::vector<std::string>& segments,
                                                   std::string& allow,
                                                   const PublishOverride& publish) {
    const std::size_t n = segments.size();
    if (n < 3 || segments[0] != "upstreams") {
        return std::nullopt;
    }
    const std::string& upstream = segments[1];

    if (n == 3 && (segments[2] == "health" || segments[2] == "balancer")) {
        allow = "GET";
        if (request.method != "GET" && request.method != "HEAD") {
            return methodNotAllowed("GET, HEAD, OPTIONS");
        }
        auto view = segments[2] == "health"
                        ? upstreams.healthView(upstream, balancerHealthRequested(request), node_id)
                        : upstreams.balancerView(upstream);
        if (!view) {
            return errorResponse(ApiError::notFound());
        }
        return jsonResponse(200, *view);
    }

    const std::string& last = segments[n - 1];
    const bool manual = (n == 5 || n == 6) && segments[2] == "targets" &&
                        (last == "healthy" || last == "unhealthy");
    if (!manual) {
        return std::nullopt;
    }
    allow = "PUT";
    if (request.method != "PUT") {
        return methodNotAllowed("OPTIONS, PUT");
    }
    const std::string address = n == 6 ? segments[4] : std::string();
    auto error = upstreams.setHealth(upstream, segments[3], address, last == "healthy");
    if (!error.empty()) {
        return jsonResponse(404, json::object{{"message", error}});
    }
    if (publish) {
        if (auto failed = publish(upstream, segments[3], address, last == "healthy");
            !failed.empty()) {
            return jsonResponse(
                503, json::object{{"message", "the override was applied on this node only: " +
                                                  failed}});
        }
    }
    HttpResponse response;
    response.status = 204;
    return response;
}

}  // namespace portico::admin
