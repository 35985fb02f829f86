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
// the same file always yields the same ids; UUIDs written in the file are kept as given. An id
// written in the file that is not a UUID ("orders-clients-ca") is replaced, with a warning, by
// the UUIDv5 of "<table>:id:<text>"; references to that text in the file (foreign keys, lists of
// ids named after the table such as services.ca_certificates, and plugin config keys named
// after the table) follow the new id.
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
    // entity types Portico does not support (consumer_groups, vaults, ...), decK metadata,
    // replaced non-UUID ids, and the problems validation tolerates in files
    // (schema::Tolerance: "<entity path>.<field>: <Kong's message>; <what keeping it means>").
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
// On success `entities` holds every entity in file order within its table; on failure it is
// empty and `errors` lists every problem found (syntax errors stop at the first). Format 1.1
// and 2.1 files are upgraded as Kong 3.0 does (regex paths gain `~`); `format_version` is the
// file's own. Basic-auth passwords are hashed unless the file says `_transform: false`.
// Plain YAML scalars follow the YAML 1.2 core schema (yes/no stay strings); duplicate keys keep
// the last value and a second YAML document is ignored, as Kong's reader does, with a warning.
// Entities are validated with schema::ValidateOptions::declarative: problems that only concern
// features Portico does not run yet or that depend on the clock (expired CA certificates,
// placeholder keys, stream routes, regexes RE2 cannot run...) are warnings and the entity is
// kept as written; every other problem is an error, as in the Admin API. docs/declarative.md.
ParseResult parse(std::string_view text, const ParseOptions& options = {});

enum class ExportFormat { Yaml, Json };

// Renders entities as a format 3.0 file with nested children (routes under their service,
// targets under their upstream, credentials under their consumer), timestamps left out.
std::string exportConfig(const EntitySet& entities, ExportFormat format);
// The file also carries `_transform: false` (values are written as stored, e.g. hashed
// passwords), every entity's id, plugins nested under their only scope entity (global and
// multiply-scoped plugins at the top), references by endpoint key when that names exactly one
// entity (else by id), and no top-level null fields. Tables in schema::allSchemas() order,
// entities sorted by endpoint key (plugins by name) then id, keys sorted: the same entities
// always give the same text, and parse() of it gives the same entities back.

// Stable hash of a configuration (32 hex chars, all zeros when empty), as /status shows it.
std::string configHash(const EntitySet& entities);
// MD5 over the entities in canonical form (tables by name, entities by id, keys sorted),
// created_at/updated_at left out: loading the same file at another time gives the same hash.

}  // namespace portico::declarative
