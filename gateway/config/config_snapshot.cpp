#include "gateway/config/config_snapshot.hpp"

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
