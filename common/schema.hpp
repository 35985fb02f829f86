#pragma once
// Entity schemas: the one definition of every entity (fields, types, defaults, constraints,
// references) from which validation, defaults, JSON encoding, GET /schemas/{entity}, the
// declarative loader and the console's forms are derived. No Asio, no Qt.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::schema {

namespace json = boost::json;

enum class FieldType {
    String,
    Integer,
    Number,
    Boolean,
    Array,    // ordered list of `elements`
    Set,      // list of unique `elements`
    Map,      // object with `keys` (string) -> `values`
    Record,   // nested object with its own `fields`
    Foreign,  // reference to another entity: {"id": "..."} once stored
    Any,      // free-form JSON value (plugin config of plugins without a schema)
};

// Semantic formats on top of the storage type; each one has a validator that produces Kong's
// error texts (kong-compat.md §1.1).
enum class Format {
    None,
    Uuid,
    Timestamp,    // integer Unix seconds, auto-set
    TimestampMs,  // float Unix milliseconds (targets), auto-set
    Utf8Name,
    Host,
    HostWithOptionalPort,
    WildcardHost,
    Sni,
    Path,
    RouterPath,
    HeaderName,
    HttpMethod,
    Protocol,
    Tag,
    IpOrCidr,
    Certificate,  // PEM certificate, parsed with OpenSSL
    Key,          // PEM private key, parsed with OpenSSL
    UpstreamName,
    Target,  // host[:port], normalized with default port 8000
    RouteHost,  // route hosts element: host or wildcard host with an optional port
    CookieName,
};

enum class OnDelete { Restrict, Cascade };

struct Field {
    std::string name;
    FieldType type = FieldType::String;
    Format format = Format::None;
    bool required = false;
    std::optional<json::value> default_value;  // nullopt: no default (stays null)
    bool unique = false;
    bool auto_generated = false;  // id, created_at, updated_at: set by the system if absent
    bool transient = false;       // accepted on input, not stored on the entity (service.url)
    std::vector<std::string> one_of;                   // strings (or integers, as text)
    std::optional<double> min;                         // numeric range, inclusive
    std::optional<double> max;
    std::optional<std::size_t> len_min;                // strings
    std::optional<std::size_t> max_elements;           // arrays and sets
    std::shared_ptr<const Field> elements;             // Array, Set: element; Map: value
    std::shared_ptr<const Field> keys;                 // Map: key
    std::vector<Field> fields;                         // Record
    std::string reference;                             // Foreign: entity name ("services")
    OnDelete on_delete = OnDelete::Restrict;           // Foreign
    std::string description;                           // shown by the console
};

// Why an error may be tolerated in a declarative file (ValidateOptions::declarative): the value
// only matters to a feature Portico does not run yet, or the check depends on the wall clock,
// or Kong's own tooling writes such values. The Admin API treats every one as an error.
enum class Tolerance {
    None,           // always an error
    TlsMaterial,    // certificate/key parsing and pairing, cert_alt/key_alt (no TLS serving yet)
    CaCertificate,  // CA certificate parsing, CA constraint, expiry (wall clock; not used yet)
    JwtKey,         // a jwt secret's rsa_public_key that does not parse (jwt does not run yet)
    StreamRoute,    // tcp/tls/udp/tls_passthrough route without sources/destinations/snis
    EmptyLabel,     // service host / upstream name with an empty label ("a..b")
    Regex,          // a route regex RE2 cannot compile: the route can never match
};

// Collects errors in Kong's shape: `fields` mirrors the input structure, entity-level errors go
// under "@entity". See kong-compat.md §2.5.
class ErrorTree {
public:
    // Path segments are field names or 1-based array positions (as strings, e.g. "1").
    void add(const std::vector<std::string>& path, std::string message,
             Tolerance tolerance = Tolerance::None);
    void addEntity(std::string message, Tolerance tolerance = Tolerance::None);

    struct Tolerated {
        std::vector<std::string> path;  // as for add(); empty for an entity-level error
        std::string message;
        Tolerance tolerance = Tolerance::None;
    };
    // Removes the errors added with a Tolerance other than None and returns them, in the order
    // they were added (the declarative loader turns them into warnings).
    std::vector<Tolerated> takeTolerated();
    bool empty() const { return fields_.empty() && entity_.empty(); }
    // {"field": "msg", "list": {"1": "msg"}? ...,"@entity": [...]} exactly as Kong renders it.
    json::object toFields() const;
    // "schema violation (a: m)" or "N schema violations (a: m; b.c: m)", entity errors first,
    // then fields sorted alphabetically.
    std::string message() const;
    std::size_t count() const;
    // True when a field error was recorded at or under the top-level field `field` (entity
    // checks skip fields that already failed, as Kong does).
    bool hasFieldError(std::string_view field) const;

private:
    struct Entry {
        std::vector<std::string> path;
        std::string message;
        Tolerance tolerance = Tolerance::None;
        std::size_t order = 0;  // position among all adds, for takeTolerated()
    };
    std::vector<Entry> fields_;
    std::vector<Entry> entity_;  // path empty
    std::size_t adds_ = 0;
};

// An entity-level check (Kong's entity_checks): inspects the whole normalized entity.
using EntityCheck = std::function<void(const json::object& entity, ErrorTree& errors)>;

struct EntitySchema {
    std::string name;          // table / declarative key: "services", "keyauth_credentials"
    std::string admin_path;    // top-level Admin API collection: "services", "key-auths"
    std::string nested_path;   // collection under a parent: "routes", "key-auth"; empty if none
    std::string endpoint_key;  // second lookup key in URLs: "name", "username", "key"; may be empty
    std::string cache_key_name;  // for composite uniqueness errors; empty if none
    std::vector<std::string> cache_key;  // composite unique fields: plugins (name, route, ...)
    std::vector<Field> fields;
    std::vector<EntityCheck> checks;
    // Textual entity checks rendered in GET /schemas (Kong's entity_checks, functions stripped).
    json::array entity_checks_json;
    bool has_tags = true;
    bool has_ttl = false;  // credentials: `ttl` accepted on input

    const Field* field(std::string_view field_name) const;
    // Foreign fields of this schema, in declaration order.
    std::vector<const Field*> foreignFields() const;
};

// All entities in dependency order (a parent before the entities that reference it):
// certificates, ca_certificates, services, routes, consumers, upstreams, targets, snis, plugins,
// keyauth_credentials, basicauth_credentials, jwt_secrets, acls.
const std::vector<const EntitySchema*>& allSchemas();
// By table name ("services", "keyauth_credentials"); nullptr if unknown.
const EntitySchema* findSchema(std::string_view name);
// By top-level Admin API collection ("services", "key-auths"); nullptr if unknown.
const EntitySchema* findSchemaByAdminPath(std::string_view admin_path);

// GET /schemas/{entity}: {"fields":[{"name":{...}}], "entity_checks":[...]}.
json::object schemaToJson(const EntitySchema& schema);

// The names of Kong's bundled plugins Portico accepts on the Admin API (kong-compat.md §7.2),
// with their priorities. None of them executes yet in this version.
struct PluginInfo {
    std::string name;
    int priority = 0;
};
const std::vector<PluginInfo>& knownPlugins();
const PluginInfo* findPlugin(std::string_view name);

// The default value of a field as it appears on a new entity: records with a default get every
// nested default filled in (upstream `healthchecks`); null when the field has no default.
json::value fieldDefault(const Field& field);

namespace detail {
// Defined in entities.cpp: the schema definitions, in allSchemas() order.
std::vector<EntitySchema> buildSchemas();
}  // namespace detail

}  // namespace portico::schema
