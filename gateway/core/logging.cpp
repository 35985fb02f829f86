#include "gateway/core/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace portico::core {

namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
std::shared_ptr<spdlog::sinks::sink> g_sink;

spdlog::level::level_enum toLevel(const std::string& level) {
    if (level == "debug") {
        return spdlog::level::debug;
    }
    if (level == "info" || level == "notice") {
        return spdlog::level::info;
    }
    if (level == "warn") {
        return spdlog::level::warn;
    }
    if (level == "error") {
        return spdlog::level::err;
    }
    return spdlog::level::critical;
}

std::shared_ptr<spdlog::sinks::sink> sink() {
    if (!g_sink) {
        g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        g_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    }
    return g_sink;
}

}  // namespace

void setupLogging(const std::string& level) {
    std::lock_guard lock(g_mutex);
    g_level = toLevel(level);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
    std::lock_guard lock(g_mutex);
    if (auto existing = spdlog::get(component)) {
        return existing;
    }
    auto created = std::make_shared<spdlog::logger>(component, sink());
    created->set_level(g_level);
    created->flush_on(spdlog::level::info);
    spdlog::register_logger(created);
    return created;
}

}  // namespace portico::core
