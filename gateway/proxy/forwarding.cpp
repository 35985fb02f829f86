#include "gateway/proxy/forwarding.hpp"

#include "gateway/http/http_message.hpp"

#include <algorithm>

namespace portico::proxy {

namespace {

std::string jsonEscape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

void HopByHop::addListed(std::string_view connection_value) {
    forEachToken(connection_value, [this](std::string_view token) {
        if (!http::iequals(token, "close") && !http::iequals(token, "keep-alive") &&
            !http::iequals(token, "upgrade")) {
            add(token);
        }
    });
}

void HopByHop::add(std::string_view name) { extra_.push_back(lower(name)); }

bool HopByHop::standard(bhttp::field name) {
    switch (name) {
        case bhttp::field::connection:
        case bhttp::field::keep_alive:
        case bhttp::field::proxy_connection:
        case bhttp::field::te:
        case bhttp::field::trailer:
        case bhttp::field::transfer_encoding:
        case bhttp::field::upgrade:
        case bhttp::field::proxy_authenticate:
            return true;
        default:
            return false;
    }
}

bool HopByHop::listed(std::string_view name) const {
    return std::any_of(extra_.begin(), extra_.end(),
                       [name](const std::string& extra) { return http::iequals(name, extra); });
}

bhttp::response<bhttp::string_body> gatewayError(int status, std::string_view message,
                                                 const std::string& request_id,
                                                 std::string_view accept, unsigned version) {
    bhttp::response<bhttp::string_body> response;
    response.version(version);
    response.result(static_cast<unsigned>(status));
    if (accept.find("text/html") != std::string_view::npos) {
        response.set(bhttp::field::content_type, "text/html; charset=utf-8");
        response.body() = "<!doctype html><html><head><title>Error</title></head><body><h1>" +
                          std::string(message) + "</h1><p>request_id: " + request_id +
                          "</p></body></html>";
    } else if (accept.find("text/plain") != std::string_view::npos) {
        response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        response.body() = std::string(message) + "\nrequest_id: " + request_id + "\n";
    } else {
        response.set(bhttp::field::content_type, "application/json; charset=utf-8");
        response.body() = "{\"message\":\"" + jsonEscape(message) + "\",\"request_id\":\"" +
                          request_id + "\"}";
    }
    response.set(bhttp::field::server, std::string("portico/") + kPorticoVersion);
    response.set("X-Kong-Request-Id", request_id);
    response.prepare_payload();
    return response;
}

std::string upstreamRequestHead(const bhttp::request_header<>& in, const ForwardingContext& context,
                                const router::Match& match, const config::Service& service,
                                const std::string& target, bool upgrade, const BodyFraming& body) {
    std::string out;
    upstreamRequestHead(out, in, context, match, service, target, upgrade, body);
    return out;
}

void upstreamRequestHead(std::string& out, const bhttp::request_header<>& in,
                         const ForwardingContext& context, const router::Match& match,
                         const config::Service& service, const std::string& target, bool upgrade,
                         const BodyFraming& body) {
    out.reserve(out.size() + 512 + in.target().size());
    out.append(in.method_string());
    out.push_back(' ');
    out.append(target);
    out.append(" HTTP/1.1\r\n");
    // One pass for the fields looked at below (the first of each, as find() would give), where
    // a find() per field walks basic_fields' name index each time.
    HopByHop hop;
    FirstValue<std::string_view> first_host;
    FirstValue<std::string_view> first_via;
    FirstValue<std::string_view> first_te;
    FirstValue<std::string_view> first_real_ip;
    for (const auto& field : in) {
        switch (field.name()) {
            case bhttp::field::connection:
                hop.addListed(field.value());
                break;
            case bhttp::field::host:
                first_host.offer(field.value());
                break;
            case bhttp::field::via:
                first_via.offer(field.value());
                break;
            case bhttp::field::te:
                first_te.offer(field.value());
                break;
            default:
                break;
        }
        if (context.trusted && http::iequals(field.name_string(), context.real_ip_header)) {
            first_real_ip.offer(field.value());
        }
    }
    std::string_view host = first_host.value;
    std::string_view via = first_via.value;
    std::string_view real_ip_value = first_real_ip.value;
    std::string forwarded_for;
    bool has_forwarded[5] = {false, false, false, false, false};  // proto host port path prefix
    static constexpr std::string_view kForwarded[5] = {
        "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-path",
        "x-forwarded-prefix"};
    for (const auto& field : in) {
        if (hop.contains(field)) {
            continue;
        }
        switch (field.name()) {
            case bhttp::field::host:
            case bhttp::field::via:
            case bhttp::field::expect:
            case bhttp::field::content_length:
                continue;
            default:
                break;
        }
        auto name = field.name_string();
        if (name.size() >= 9 && http::iequals(name.substr(0, 9), "x-forward")) {
            if (http::iequals(name, "x-forwarded-for")) {
                forwarded_for += (forwarded_for.empty() ? "" : ", ") + std::string(field.value());
                continue;
            }
            if (!context.trusted) {
                continue;  // only trusted peers may set X-Forwarded-*
            }
            for (int k = 0; k < 5; ++k) {
                if (http::iequals(name, kForwarded[k])) {
                    has_forwarded[k] = true;
                }
            }
        }
        if (http::iequals(name, "x-real-ip") || http::iequals(name, "x-kong-request-id") ||
            http::iequals(name, "proxy")) {
            continue;
        }
        appendField(out, name, field.value());
    }
    if (match.route->preserve_host && !host.empty()) {
        appendField(out, "Host", host);
    } else if (!context.upstream_host.empty()) {
        appendField(out, "Host", context.upstream_host);
    } else {
        bool default_port = service.port == 80 || service.port == 443;
        out.append("Host: ");
        out.append(service.host);
        if (!default_port) {
            out.push_back(':');
            out.append(std::to_string(service.port));
        }
        out.append("\r\n");
    }
    if (!context.client_fields.empty() && real_ip_value.empty() && forwarded_for.empty() &&
        !has_forwarded[0]) {
        out.append(context.client_fields);  // the three fields below, as they are then
    } else {
        std::string_view real_ip = real_ip_value.empty() ? context.peer : real_ip_value;
        appendField(out, "X-Real-IP", real_ip);
        if (forwarded_for.empty()) {
            appendField(out, "X-Forwarded-For", context.peer);
        } else {
            std::string joined(forwarded_for);
            joined.append(", ").append(context.peer);
            appendField(out, "X-Forwarded-For", joined);
        }
        if (!has_forwarded[0]) {
            appendField(out, "X-Forwarded-Proto", "http");
        }
    }
    if (!has_forwarded[1]) {
        auto colon = host.rfind(':');
        bool has_port = colon != std::string_view::npos && host.find(']') == std::string_view::npos;
        appendField(out, "X-Forwarded-Host", has_port ? host.substr(0, colon) : host);
    }
    if (!has_forwarded[2]) {
        appendField(out, "X-Forwarded-Port", Decimal(context.port).view());
    }
    if (!has_forwarded[3]) {
        auto path = in.target().substr(0, in.target().find('?'));
        appendField(out, "X-Forwarded-Path", path);
    }
    if (!has_forwarded[4] && match.route->strip_path && match.matched_path.size() > 1 &&
        !match.route->paths.empty() && !match.route->paths.front().regex) {
        appendField(out, "X-Forwarded-Prefix", match.matched_path);
    }
    appendField(out, "X-Kong-Request-Id", context.request_id);
    static const std::string kViaKeepAlive = [] {
        std::string text = "Via: ";
        text.append(kVia).append("\r\nConnection: keep-alive\r\n");
        return text;
    }();
    if (via.empty() && !upgrade) {
        out.append(kViaKeepAlive);  // the usual case, in one append
    } else {
        if (via.empty()) {
            appendField(out, "Via", kVia);
        } else {
            appendField(out, "Via", std::string(via) + ", " + kVia);
        }
        if (upgrade) {
            appendField(out, "Connection", "Upgrade");
            appendField(out, "Upgrade", in[bhttp::field::upgrade]);
        } else {
            appendField(out, "Connection", "keep-alive");
        }
    }
    if (first_te.seen) {
        forEachToken(first_te.value, [&out](std::string_view token) {
            if (http::iequals(token, "trailers")) {
                appendField(out, "TE", "trailers");
            }
        });
    }
    if (body.chunked) {
        appendField(out, "Transfer-Encoding", "chunked");
    } else if (body.content_length) {
        appendField(out, "Content-Length", Decimal(*body.content_length).view());
    }
    out.append("\r\n");
}

}  // namespace portico::proxy
