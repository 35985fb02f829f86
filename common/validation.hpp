#pragma once
// Validation and normalization of entities against their schema (kong-compat.md §1, §2.6).

#include "common/api_error.hpp"
#include "common/schema.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace portico::schema {

enum class Operation {
    Insert,  // POST: defaults applied, id and timestamps generated
    Upsert,  // PUT: full replacement, defaults re-applied
    Update,  // PATCH: the caller has already merged the patch into the stored entity
};

struct ValidateOptions {
    Operation operation = Operation::Insert;
    // Time source for created_at/updated_at (Unix seconds, with fraction); injected for tests.
    std::function<double()> now;
    // Id generator (canonical lowercase UUID v4); injected for tests.
    std::function<std::string()> new_id;
    // Plugins: when true a plugin name that Portico does not know is accepted (declarative files
    // keep third-party plugins); when false it is the Admin API's "plugin 'x' not enabled" error.
    bool allow_unknown_plugins = false;
    // Declarative files (declarative::parse) only. When true, an error that schema.hpp marks
    // with a Tolerance (TLS material, CA certificate checks, a jwt public key that does not
    // parse, stream routes without sources/destinations/snis, hostnames with an empty label,
    // regexes RE2 cannot compile) does not fail the entity: it is appended to `warnings` and the
    // value is kept as written. Every other error fails as usual. When false (the Admin API)
    // those are errors with Kong's messages, exactly as without this option.
    bool declarative = false;
    // Receives the tolerated errors when `declarative` is set; may be null (then dropped).
    std::vector<ErrorTree::Tolerated>* warnings = nullptr;
};

// Validates `input` (decoded JSON or form body) against `schema` and returns the normalized
// entity: unknown fields rejected ("unknown field"), types checked, shorthands expanded
// (service `url`, target default port, basic-auth password hashing happens in the caller that
// knows the consumer id), defaults filled, id and timestamps generated where absent, every
// field present in the result (null when unset), as Kong returns entities.
// Errors come back as a schema-violation ApiError with Kong's messages.
common::ApiResult<json::object> validateEntity(const EntitySchema& schema, json::object input,
                                               const ValidateOptions& options);

// PATCH: merges `patch` into `stored` (records merged recursively, arrays replaced).
json::object mergePatch(json::object stored, const json::object& patch);
// PATCH with the schema at hand, as Kong merges: record fields (upstream `healthchecks`) and the
// free-form plugin `config` are merged recursively; every other field, including foreign keys
// and maps such as route `headers`, is replaced. Prefer this overload in the Admin API.
json::object mergePatch(const EntitySchema& schema, json::object stored,
                        const json::object& patch);

// Converts an application/x-www-form-urlencoded body (already split into key/value pairs,
// percent-decoded) into JSON following the schema: `hosts[]=a`, `hosts=a` (one-element array),
// `service.id=x`, `headers.region=north`, `config.minute=5`, numbers and booleans inferred from
// field types, empty value = null.
json::object formToJson(const EntitySchema& schema,
                        const std::vector<std::pair<std::string, std::string>>& pairs);

// Hex SHA-1 of password || consumer_id, as Kong stores basic-auth passwords.
std::string hashBasicAuthPassword(std::string_view password, std::string_view consumer_id);

// Canonical lowercase UUID checks and generation.
bool isUuid(std::string_view text);
std::string randomUuid();
// RFC 4122 version-5 UUID (SHA-1) of `name` in `namespace_uuid`.
std::string uuidV5(std::string_view namespace_uuid, std::string_view name);

}  // namespace portico::schema
