#include "gateway/config/config_snapshot.hpp"

#include <algorithm>
#include <cstdlib>
#include <unordered_set>

namespace portico::config {

namespace json = boost::json;

namespace {

std::string text(const json::object& entity, std::string_view field) {
    auto it = entity.find(field);
    return it != entity.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                         : std::string();
}

std::int64_t integer(const json::object& entity, std::string_view field, std::int64_t fallback) {
    auto it = entity.find(field);
    if (it == entity.end()) {
        return fallback;
    }
    if (it->value().is_int64()) {
        return it->value().as_int64();
    }
    if (it->value().is_uint64()) {
        return static_cast<std::int64_t>(it->value().as_uint64());
    }
    return fallback;
}

}  // namespace

const Upstream* ConfigSnapshot::upstream(const std::string& name) const {
    auto it = upstreams.find(name);
    return it == upstreams.end() ? nullptr : &it->second;
}

const Service* ConfigSnapshot::service(const std::string& id) const {
    auto it = services.find(id);
    return it == services.end() ? nullptr : &it->second;
}

std::shared_ptr<const ConfigSnapshot> buildSnapshot(const declarative::EntitySet& entities,
                                                    std::int64_t revision) {
    auto snapshot = std::make_shared<ConfigSnapshot>();
    snapshot->revision = revision;
    std::unordered_set<std::string> disabled;
    if (auto it = entities.find("services"); it != entities.end()) {
        for (const auto& entity : it->second) {
            auto enabled = entity.find("enabled");
            if (enabled != entity.end() && enabled->value().is_bool() &&
                !enabled->value().as_bool()) {
                disabled.insert(text(entity, "id"));
                continue;
            }
            Service service;
            service.id = text(entity, "id");
            service.name = text(entity, "name");
            service.protocol = text(entity, "protocol");
            service.host = text(entity, "host");
            service.port = static_cast<std::uint16_t>(integer(entity, "port", 80));
            service.path = text(entity, "path");
            service.connect_timeout_ms =
                static_cast<std::uint32_t>(integer(entity, "connect_timeout", 60000));
            service.write_timeout_ms =
                static_cast<std::uint32_t>(integer(entity, "write_timeout", 60000));
            service.read_timeout_ms =
                static_cast<std::uint32_t>(integer(entity, "read_timeout", 60000));
            service.retries = static_cast<std::uint32_t>(integer(entity, "retries", 5));
            snapshot->services.emplace(service.id, std::move(service));
        }
    }
    if (auto it = entities.find("upstreams"); it != entities.end()) {
        std::unordered_map<std::string, std::string> names_by_id;
        for (const auto& entity : it->second) {
            Upstream upstream;
            upstream.id = text(entity, "id");
            upstream.name = text(entity, "name");
            upstream.algorithm = text(entity, "algorithm");
            upstream.hash_on = text(entity, "hash_on");
            upstream.hash_fallback = text(entity, "hash_fallback");
            upstream.hash_on_header = text(entity, "hash_on_header");
            upstream.hash_fallback_header = text(entity, "hash_fallback_header");
            upstream.hash_on_cookie = text(entity, "hash_on_cookie");
            upstream.hash_on_cookie_path = text(entity, "hash_on_cookie_path");
            upstream.hash_on_query_arg = text(entity, "hash_on_query_arg");
            upstream.hash_fallback_query_arg = text(entity, "hash_fallback_query_arg");
            upstream.hash_on_uri_capture = text(entity, "hash_on_uri_capture");
            upstream.hash_fallback_uri_capture = text(entity, "hash_fallback_uri_capture");
            upstream.slots = static_cast<std::uint32_t>(integer(entity, "slots", 10000));
            upstream.host_header = text(entity, "host_header");
            if (auto checks = entity.find("healthchecks");
                checks != entity.end() && checks->value().is_object()) {
                upstream.healthchecks = checks->value().as_object();
            }
            if (upstream.algorithm.empty()) {
                upstream.algorithm = "round-robin";
            }
            names_by_id[upstream.id] = upstream.name;
            snapshot->upstreams.emplace(upstream.name, std::move(upstream));
        }
        if (auto targets = entities.find("targets"); targets != entities.end()) {
            for (const auto& entity : targets->second) {
                auto parent = entity.find("upstream");
                if (parent == entity.end() || !parent->value().is_object()) {
                    continue;
                }
                auto name = names_by_id.find(text(parent->value().as_object(), "id"));
                if (name == names_by_id.end()) {
                    continue;
                }
                Target target;
                target.id = text(entity, "id");
                target.target = text(entity, "target");
                target.weight = static_cast<std::uint32_t>(integer(entity, "weight", 100));
                const std::string& value = target.target;
                auto colon = value.rfind(':');
                bool bracketed = !value.empty() && value.front() == '[';
                if (colon != std::string::npos && (!bracketed || value[colon - 1] == ']')) {
                    target.host = bracketed ? value.substr(1, colon - 2) : value.substr(0, colon);
                    target.port = static_cast<std::uint16_t>(
                        std::strtoul(value.c_str() + colon + 1, nullptr, 10));
                } else {
                    target.host = bracketed ? value.substr(1, value.size() - 2) : value;
                }
                snapshot->upstreams.at(name->second).targets.push_back(std::move(target));
            }
        }
        for (auto& [name, upstream] : snapshot->upstreams) {
            std::sort(upstream.targets.begin(), upstream.targets.end(),
                      [](const Target& a, const Target& b) { return a.target < b.target; });
        }
    }
    std::vector<json::object> routes;
    if (auto it = entities.find("routes"); it != entities.end()) {
        for (const auto& route : it->second) {
            auto service = route.find("service");
            if (service != route.end() && service->value().is_object() &&
                disabled.count(text(service->value().as_object(), "id")) != 0) {
                continue;
            }
            // Stream routes (tcp, tls, udp) are not served by the HTTP proxy.
            bool http = false;
            if (auto protocols = route.find("protocols");
                protocols != route.end() && protocols->value().is_array()) {
                for (const auto& protocol : protocols->value().as_array()) {
                    if (protocol == "http" || protocol == "https") {
                        http = true;
                    }
                }
            }
            if (http) {
                routes.push_back(route);
            }
        }
    }
    snapshot->routes = router::RouteTable::build(routes, &snapshot->warnings);
    return snapshot;
}

}  // namespace portico::config
