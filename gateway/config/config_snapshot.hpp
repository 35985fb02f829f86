#pragma once
// ConfigSnapshot: the immutable, compiled configuration the data plane serves (router tables and
// services), built on the control thread from the store's entities and published atomically.
// Workers load it once per request; nothing in it changes after publication. No Asio.

#include "common/declarative.hpp"
#include "gateway/router/route_table.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace portico::config {

struct Service {
    std::string id;
    std::string name;
    std::string protocol = "http";
    std::string host;
    std::uint16_t port = 80;
    std::string path;  // empty = "/"
    std::uint32_t connect_timeout_ms = 60000;
    std::uint32_t write_timeout_ms = 60000;
    std::uint32_t read_timeout_ms = 60000;
    std::uint32_t retries = 5;
};

struct Target {
    std::string id;
    std::string target;  // as stored: "host:port", "[v6]:port"
    std::string host;    // without brackets
    std::uint16_t port = 8000;
    std::uint32_t weight = 100;
};

struct Upstream {
    std::string id;
    std::string name;
    std::string algorithm = "round-robin";
    std::string hash_on = "none";
    std::string hash_fallback = "none";
    std::string hash_on_header;
    std::string hash_fallback_header;
    std::string hash_on_cookie;
    std::string hash_on_cookie_path = "/";
    std::string hash_on_query_arg;
    std::string hash_fallback_query_arg;
    std::string hash_on_uri_capture;
    std::string hash_fallback_uri_capture;
    std::uint32_t slots = 10000;
    std::string host_header;
    boost::json::object healthchecks;
    std::vector<Target> targets;  // sorted by target text
};

struct ConfigSnapshot {
    std::int64_t revision = 0;
    router::RouteTable routes;
    std::unordered_map<std::string, Service> services;  // by id
    std::unordered_map<std::string, Upstream> upstreams;  // by name
    std::vector<std::string> warnings;                   // routes skipped, and why

    const Service* service(const std::string& id) const;
    // The upstream named `name` (a service host that names an upstream uses its balancer).
    const Upstream* upstream(const std::string& name) const;
};

// Compiles entities into a snapshot. Routes of disabled services are left out (Kong answers
// 404 for them).
std::shared_ptr<const ConfigSnapshot> buildSnapshot(const declarative::EntitySet& entities,
                                                    std::int64_t revision);

}  // namespace portico::config
