#include "gateway/proxy/forwarding.hpp"

#include "gateway/http/http_message.hpp"

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

std::vector<std::string> headerTokens(std::string_view value) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= value.size()) {
        auto end = value.find(',', start);
        if (end == std::string_view::npos) {
            end = value.size();
        }
        auto token = value.substr(start, end - start);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
        }
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
            token.remove_suffix(1);
        }
        if (!token.empty()) {
            out.push_back(lower(token));
        }
        start = end + 1;
    }
    return out;
}

HopByHop::HopByHop(const bhttp::fields& fields) {
    for (auto it = fields.find(bhttp::field::connection);
         it != fields.end() && it->name() == bhttp::field::connection; ++it) {
        for (auto& token : headerTokens(it->value())) {
            if (token != "close" && token != "keep-alive" && token != "upgrade") {
                extra_.push_back(std::move(token));
            }
        }
    }
}

bool HopByHop::contains(const bhttp::fields::value_type& field) const {
    switch (field.name()) {
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
            break;
    }
    for (const auto& name : extra_) {
        if (http::iequals(field.name_string(), name)) {
            return true;
        }
    }
    return false;
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

bhttp::request_header<> upstreamRequestHeader(const bhttp::request_header<>& in,
                                          const ForwardingContext& context,
                                          const router::Match& match,
                                          const config::Service& service,
                                          const std::string& target, bool upgrade) {
    bhttp::request_header<> out;
    out.method_string(in.method_string());
    out.target(target);
    out.version(11);
    HopByHop hop(in);
    std::string forwarded_for;
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
        }
        if (http::iequals(name, "x-real-ip") || http::iequals(name, "x-kong-request-id") ||
            http::iequals(name, "proxy")) {
            continue;
        }
        out.insert(field.name(), name, field.value());
    }
    std::string host(in[bhttp::field::host]);
    bool default_port = service.port == 80 || service.port == 443;
    out.set(bhttp::field::host,
            match.route->preserve_host && !host.empty()
                ? host
                : service.host + (default_port ? "" : ":" + std::to_string(service.port)));
    std::string real_ip = context.peer;
    if (context.trusted) {
        auto header = in.find(context.real_ip_header);
        if (header != in.end() && !header->value().empty()) {
            real_ip = std::string(header->value());
        }
    }
    out.set("X-Real-IP", real_ip);
    out.set("X-Forwarded-For",
            forwarded_for.empty() ? context.peer : forwarded_for + ", " + context.peer);
    auto keep_or = [&](const char* name, std::string value) {
        if (!context.trusted || in.find(name) == in.end()) {
            out.set(name, value);
        }
    };
    std::string path(in.target().substr(0, in.target().find('?')));
    keep_or("X-Forwarded-Proto", "http");
    keep_or("X-Forwarded-Host", host.substr(0, host.rfind(':') == std::string::npos ||
                                                       host.find(']') != std::string::npos
                                                   ? host.size()
                                                   : host.rfind(':')));
    keep_or("X-Forwarded-Port", std::to_string(context.port));
    keep_or("X-Forwarded-Path", path);
    if (match.route->strip_path && match.matched_path.size() > 1 && !match.route->paths.empty() &&
        !match.route->paths.front().regex) {
        keep_or("X-Forwarded-Prefix", match.matched_path);
    }
    out.set("X-Kong-Request-Id", context.request_id);
    std::string via(in[bhttp::field::via]);
    out.set(bhttp::field::via, via.empty() ? std::string(kVia) : via + ", " + kVia);
    if (upgrade) {
        out.set(bhttp::field::connection, "Upgrade");
        out.set(bhttp::field::upgrade, in[bhttp::field::upgrade]);
    } else {
        out.set(bhttp::field::connection, "keep-alive");
    }
    if (auto te = in.find(bhttp::field::te); te != in.end()) {
        for (auto& token : headerTokens(te->value())) {
            if (token == "trailers") {
                out.set(bhttp::field::te, "trailers");
            }
        }
    }
    return out;
}

}  // namespace portico::proxy
