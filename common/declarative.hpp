#pragma once
// Kong's declarative configuration (format 3.0; 1.1 and 2.1 upgraded on the fly), in YAML or
// JSON: parsing into flat, validated entity lists with deterministic ids, and export back to a
// file. kong-compat.md §6.3. No Asio, no Qt.

#include "common/api_error.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace portico::declarative {

namespace json = boost::json;

// Namespace of the UUIDv5 ids given to entities the file leaves without one: the name hashed is
// "<table>:<key>", the key being the cache key (plugins: name, route, service, consumer ids),
// else the endpoint key prefixed by the ids of required parents (a target's upstream, a
// credential's consumer), else the parent id and the entity's position ("@services[2]"). Loading
// the same file always yields the same ids; ids written in the file are kept as given.
inline constexpr std::string_view kIdNamespace = "a24c4041-6380-404c-9521-432a7f1b3e8f";

// Entities by table name ("services", "routes", "keyauth_credentials", ...), each one
// normalized as the store keeps it: every field present, references as {"id": "..."}.
// Iterate in schema::allSchemas() order to insert parents before children.
using EntitySet = std::map<std::string, std::vector<json::object>, std::less<>>;

struct ParseError {
    std::string path;     // entity path in the file: "services[2].routes[0].paths[1]"
    std::string message;  // Kong's message for that field
    int line = 0;         // 1-based line in the file when known, else 0
};

struct ParseResult {
    EntitySet entities;
    // Things loaded but not acted on, each naming what it is: plugins Portico does not have,
    // entity types Portico does not support (consumer_groups, vaults, ...), decK metadata.
    std::vector<std::string> warnings;
    std::vector<ParseError> errors;
    std::string format_version;
    bool ok() const { return errors.empty(); }
    // Kong's /config error body (code 14, nested `fields`), built from `errors`.
    common::ApiError toApiError() const;
};

struct ParseOptions {
    // Clock for created_at/updated_at of loaded entities.
    double now = 0;
};

// Parses YAML (a superset of JSON) text. Never throws on bad input: errors are returned.
ParseResult parse(std::string_view text, const ParseOptions& options = {});

enum class ExportFormat { Yaml, Json };

// Renders entities as a format 3.0 file with nested children (routes under their service,
// targets under their upstream, credentials under their consumer), timestamps left out.
std::string exportConfig(const EntitySet& entities, ExportFormat format);

// Stable hash of a configuration (32 hex chars, all zeros when empty), as /status shows it.
std::string configHash(const EntitySet& entities);

}  // namespace portico::declarative
