#include "gateway/admin/traffic_api.hpp"

#include "common/api_error.hpp"
#include "gateway/admin/json_response.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <utility>

namespace portico::admin {

namespace json = boost::json;
using common::ApiError;
using http::HttpRequest;
using http::HttpResponse;

namespace {

constexpr std::size_t kDefaultSize = 100;
constexpr std::size_t kMaxSize = 1000;
// Records one poll of a stream may send: at a 200 ms poll that is 5,000 a second per client;
// a client that cannot keep up loses the records the ring evicts meanwhile.
constexpr std::size_t kStreamBatch = 1000;

using Params = std::vector<std::pair<std::string, std::string>>;

HttpResponse errorResponse(const ApiError& error) {
    return jsonResponse(error.http_status, error.toJson());
}

HttpResponse badParameter(std::string message) {
    return jsonResponse(400, json::object{{"message", std::move(message)}});
}

const std::string* param(const Params& params, std::string_view name) {
    for (const auto& [key, value] : params) {
        if (key == name) {
            return &value;
        }
    }
    return nullptr;
}

template <class T>
std::optional<T> parseNumber(std::string_view text) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// Reads the filter parameters shared by /traffic and /traffic/stream; an error response when one
// is invalid.
std::optional<HttpResponse> parseFilter(const Params& params, proxy::TrafficFilter& filter) {
    if (const auto* status = param(params, "status")) {
        const std::string& s = *status;
        bool is_class = s.size() == 3 && s[0] >= '1' && s[0] <= '5' &&
                        (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X');
        auto code = parseNumber<int>(s);
        if (is_class) {
            filter.status_class = s[0] - '0';
        } else if (code && *code >= 1 && *code <= 5 && s.size() == 1) {
            filter.status_class = *code;
        } else if (code && *code >= 100 && *code <= 599) {
            filter.status = *code;
        } else {
            return badParameter(
                "status must be a status class such as 5xx or a status code "
                "such as 502");
        }
    }
    if (const auto* route = param(params, "route")) {
        filter.route = *route;
    }
    if (const auto* service = param(params, "service")) {
        filter.service = *service;
    }
    if (const auto* text = param(params, "q")) {
        filter.text = *text;
    }
    if (const auto* errors = param(params, "errors")) {
        if (*errors == "1" || *errors == "true") {
            filter.gateway_errors_only = true;
        } else if (*errors == "0" || *errors == "false" || errors->empty()) {
            filter.gateway_errors_only = false;
        } else {
            return badParameter(
                "errors must be 1 or true (only gateway-made errors), or 0 or "
                "false");
        }
    }
    return std::nullopt;
}

// The feed as server-sent events: each new matching record is one `event: request` message whose
// id is the record's sequence, so an EventSource that reconnects resumes with Last-Event-ID.
class TrafficEventSource : public http::EventSource {
public:
    TrafficEventSource(proxy::TrafficRing& ring, proxy::TrafficFilter filter, std::uint64_t after)
        : ring_(ring), filter_(std::move(filter)), after_(after) {}

    std::string poll() override {
        std::string out;
        if (!greeted_) {
            // Lets a client see that the stream is open before any request arrives.
            out = ": portico traffic stream after sequence " + std::to_string(after_) + "\n\n";
            greeted_ = true;
        }
        // Read the last sequence first: every matching record up to it is in `records` unless
        // the batch is full, so the next poll can start after it even when none matched.
        std::uint64_t last = ring_.lastSequence();
        auto records = ring_.since(after_, filter_, kStreamBatch);
        for (const auto& record : records) {
            out += "id: " + std::to_string(record.sequence) + "\nevent: request\ndata: ";
            out += json::serialize(trafficRecordToJson(record));
            out += "\n\n";
            after_ = record.sequence;
        }
        if (records.size() < kStreamBatch) {
            after_ = std::max(after_, last);
        }
        return out;
    }

private:
    proxy::TrafficRing& ring_;
    proxy::TrafficFilter filter_;
    std::uint64_t after_;
    bool greeted_ = false;
};

HttpResponse listTraffic(proxy::TrafficRing& ring, const Params& params) {
    proxy::TrafficFilter filter;
    if (auto error = parseFilter(params, filter)) {
        return *error;
    }
    std::size_t size = kDefaultSize;
    if (const auto* text = param(params, "size")) {
        auto value = parseNumber<long>(*text);
        if (!value || *value < 1 || *value > static_cast<long>(kMaxSize)) {
            return errorResponse(
                ApiError::invalidSize("size must be an integer between 1 and 1000"));
        }
        size = static_cast<std::size_t>(*value);
    }
    json::array data;
    for (const auto& record : ring.recent(filter, size)) {
        data.push_back(trafficRecordToJson(record));
    }
    return jsonResponse(200, json::object{{"data", std::move(data)}, {"next", nullptr}});
}

HttpResponse streamTraffic(proxy::TrafficRing& ring, const HttpRequest& request,
                           const Params& params) {
    proxy::TrafficFilter filter;
    if (auto error = parseFilter(params, filter)) {
        return *error;
    }
    std::uint64_t last = ring.lastSequence();
    std::uint64_t after = last;
    std::optional<std::string> since;
    if (const auto* value = param(params, "since")) {
        since = *value;
    } else if (auto header = request.header("Last-Event-ID")) {
        since = std::string(*header);
    }
    if (since) {
        auto value = parseNumber<std::uint64_t>(*since);
        if (!value) {
            return badParameter(
                "since must be a sequence number (a non-negative integer), "
                "such as the id of the last event received");
        }
        // A sequence from before this node restarted can be ahead of the ring: start from now
        // rather than wait for the ring to catch up.
        after = std::min(*value, last);
    }
    HttpResponse response;
    response.status = 200;
    response.set("Content-Type", "text/event-stream");
    response.set("Cache-Control", "no-cache");
    response.stream = std::make_shared<TrafficEventSource>(ring, std::move(filter), after);
    return response;
}

HttpResponse showRequest(proxy::TrafficRing& ring, const std::string& request_id) {
    auto [record, explanation] = ring.lookup(request_id);
    if (!record && !explanation) {
        return errorResponse(ApiError::notFound());
    }
    // The record may have left the ring while its explanation is still kept (they are evicted
    // separately): the explanation is still worth returning.
    json::object body;
    body["request"] = record ? json::value(trafficRecordToJson(*record)) : json::value(nullptr);
    body["explanation"] =
        explanation ? json::value(explanationToJson(*explanation)) : json::value(nullptr);
    return jsonResponse(200, body);
}

HttpResponse renderMetrics(const proxy::Metrics& metrics) {
    HttpResponse response;
    response.status = 200;
    response.set("Content-Type", "text/plain; version=0.0.4");
    response.body = metrics.renderPrometheus();
    return response;
}

}  // namespace

json::object trafficRecordToJson(const proxy::TrafficRecord& record) {
    return json::object{
        {"sequence", record.sequence},
        {"time", record.time},
        {"request_id", record.request_id},
        {"method", record.method},
        {"host", record.host},
        {"path", record.path},
        {"route", record.route},
        {"service", record.service},
        {"address", record.address},
        {"status", record.status},
        {"gateway_error", record.gateway_error},
        {"latency_ms", record.latency_ms},
        {"upstream_latency_ms", record.upstream_latency_ms},
        {"proxy_latency_ms", record.proxy_latency_ms},
        {"bytes_in", record.bytes_in},
        {"bytes_out", record.bytes_out},
    };
}

json::object explanationToJson(const proxy::Explanation& explanation) {
    json::array tries;
    for (const auto& attempt : explanation.tries) {
        tries.push_back(json::object{
            {"address", attempt.address},
            {"error_class", attempt.error_class},
            {"detail", attempt.detail},
            {"duration_ms", attempt.duration_ms},
        });
    }
    json::array details;
    for (const auto& detail : explanation.details) {
        details.emplace_back(detail);
    }
    return json::object{
        {"details", std::move(details)},
        {"request_id", explanation.request_id}, {"time", explanation.time},
        {"status", explanation.status},         {"message", explanation.message},
        {"route_id", explanation.route_id},     {"route_name", explanation.route_name},
        {"service_id", explanation.service_id}, {"service_name", explanation.service_name},
        {"target", explanation.target},         {"tries", std::move(tries)},
        {"summary", explanation.summary},
    };
}

std::optional<HttpResponse> handleTrafficEndpoint(proxy::TrafficRing& ring, proxy::Metrics& metrics,
                                                  const HttpRequest& request,
                                                  const std::vector<std::string>& segments,
                                                  std::string& allow) {
    const std::size_t n = segments.size();
    bool traffic = n >= 1 && n <= 2 && segments[0] == "traffic";
    bool metrics_path = n == 1 && segments[0] == "metrics";
    if (!traffic && !metrics_path) {
        return std::nullopt;
    }
    allow = "GET";
    if (request.method != "GET" && request.method != "HEAD") {
        HttpResponse response = errorResponse(ApiError::methodNotAllowed());
        response.set("Allow", "GET, HEAD, OPTIONS");  // as OPTIONS on the path lists them
        return response;
    }
    if (metrics_path) {
        return renderMetrics(metrics);
    }
    if (n == 2 && segments[1] != "stream") {
        return showRequest(ring, segments[1]);
    }
    Params params;
    if (auto parsed = boost::urls::parse_origin_form(request.target)) {
        for (auto p : parsed->params()) {
            params.emplace_back(std::string(p.key), std::string(p.value));
        }
    }
    return n == 1 ? listTraffic(ring, params) : streamTraffic(ring, request, params);
}

}  // namespace portico::admin
