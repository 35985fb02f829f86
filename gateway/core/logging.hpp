#pragma once
// Logging: one named spdlog logger per component (proxy, router, balancer, health, admin, store,
// plugins, main) writing to stderr, and a formatter for error_code (fmt 9 has none).

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <boost/system/error_code.hpp>
#include <fmt/format.h>

#include <memory>
#include <string>

namespace portico::core {

// Creates the component loggers at `level` (Kong's names: debug, info, notice, warn, error,
// crit, alert, emerg). Safe to call more than once.
void setupLogging(const std::string& level);

// The logger of a component, created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

}  // namespace portico::core

template <>
struct fmt::formatter<boost::system::error_code> : fmt::formatter<std::string> {
    template <class FormatContext>
    auto format(const boost::system::error_code& ec, FormatContext& ctx) const {
        return fmt::formatter<std::string>::format(ec.message(), ctx);
    }
};
