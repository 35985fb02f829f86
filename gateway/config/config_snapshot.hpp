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

struct ConfigSnapshot {
    std::int64_t revision = 0;
    router::RouteTable routes;
    std::unordered_map<std::string, Service> services;  // by id
    std::vector<std::string> warnings;                   // routes skipped, and why

    const Service* service(const std::string& id) const;
};

// Compiles entities into a snapshot. Routes of disabled services are left out (Kong answers
// 404 for them).
std::shared_ptr<const ConfigSnapshot> buildSnapshot(const declarative::EntitySet& entities,
                                                    std::int64_t revision);

}  // namespace portico::config
