// The schema of every entity Portico stores (kong-compat.md §1.2-§1.12): fields with Kong's
// types, defaults, ranges and references, and the entity checks with Kong's messages.

#include "common/formats.hpp"
#include "common/schema.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <ctime>
#include <initializer_list>

namespace portico::schema::detail {

namespace {

constexpr double kMaxTimeout = 2147483646;  // 2^31 - 2
constexpr double kTwoPow31 = 2147483648;

// --- field builder --------------------------------------------------------------------------

class F {
public:
    F(std::string name, FieldType type) {
        field_.name = std::move(name);
        field_.type = type;
    }
    F& format(Format f) {
        field_.format = f;
        return *this;
    }
    F& required() {
        field_.required = true;
        return *this;
    }
    F& def(json::value v) {
        field_.default_value = std::move(v);
        return *this;
    }
    F& unique() {
        field_.unique = true;
        return *this;
    }
    F& autogen() {
        field_.auto_generated = true;
        return *this;
    }
    F& transient() {
        field_.transient = true;
        return *this;
    }
    F& oneOf(std::vector<std::string> values) {
        field_.one_of = std::move(values);
        return *this;
    }
    F& between(double lo, double hi) {
        field_.min = lo;
        field_.max = hi;
        return *this;
    }
    F& lenMin(std::size_t n) {
        field_.len_min = n;
        return *this;
    }
    F& elements(Field f) {
        field_.elements = std::make_shared<const Field>(std::move(f));
        return *this;
    }
    F& keys(Field f) {
        field_.keys = std::make_shared<const Field>(std::move(f));
        return *this;
    }
    F& fields(std::vector<Field> f) {
        field_.fields = std::move(f);
        return *this;
    }
    F& reference(std::string entity, OnDelete on_delete) {
        field_.reference = std::move(entity);
        field_.on_delete = on_delete;
        return *this;
    }
    F& desc(std::string text) {
        field_.description = std::move(text);
        return *this;
    }
    operator Field() const { return field_; }  // NOLINT: builder converts implicitly

private:
    Field field_;
};

F str(std::string name) { return F(std::move(name), FieldType::String); }
F integer(std::string name) { return F(std::move(name), FieldType::Integer); }
F number(std::string name) { return F(std::move(name), FieldType::Number); }
F boolean(std::string name) { return F(std::move(name), FieldType::Boolean); }
F record(std::string name, std::vector<Field> fields) {
    return F(std::move(name), FieldType::Record).fields(std::move(fields));
}
F foreign(std::string name, std::string entity, OnDelete on_delete) {
    return F(std::move(name), FieldType::Foreign).reference(std::move(entity), on_delete);
}
F element(FieldType type, Format format = Format::None) {
    return F("", type).format(format);
}
F arrayOf(std::string name, Field elem) {
    return F(std::move(name), FieldType::Array).elements(std::move(elem));
}
F setOf(std::string name, Field elem) {
    return F(std::move(name), FieldType::Set).elements(std::move(elem));
}

const std::vector<std::string> kProtocols = {"grpc", "grpcs", "http", "https",
                                             "tcp",  "tls",   "tls_passthrough", "udp"};

Field id() { return str("id").format(Format::Uuid).autogen(); }
Field createdAt() { return integer("created_at").format(Format::Timestamp).autogen(); }
Field updatedAt() { return integer("updated_at").format(Format::Timestamp).autogen(); }
Field tags() {
    return setOf("tags", element(FieldType::String, Format::Tag))
        .desc("An optional set of strings associated with the entity for grouping and filtering.");
}
Field protocolElement() { return element(FieldType::String, Format::Protocol).oneOf(kProtocols); }
F portField(std::string name) { return integer(std::move(name)).between(0, 65535); }

json::array intArray(std::initializer_list<int> values) {
    json::array out;
    for (int v : values) {
        out.push_back(v);
    }
    return out;
}

json::array strArray(std::initializer_list<const char*> values) {
    json::array out;
    for (const char* v : values) {
        out.push_back(json::string(v));
    }
    return out;
}

// --- entity-check helpers -------------------------------------------------------------------

const json::value* get(const json::object& e, std::string_view key) { return e.if_contains(key); }

bool isEmpty(const json::value* v) {
    return v == nullptr || v->is_null() || (v->is_array() && v->get_array().empty()) ||
           (v->is_object() && v->get_object().empty()) ||
           (v->is_string() && v->get_string().empty());
}

std::string text(const json::object& e, std::string_view key) {
    const auto* v = get(e, key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool anyError(const ErrorTree& errors, std::initializer_list<std::string_view> fields) {
    return std::any_of(fields.begin(), fields.end(),
                       [&](std::string_view f) { return errors.hasFieldError(f); });
}

std::string quotedList(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto n : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += "'";
        out += n;
        out += "'";
    }
    return out;
}

// Kong's `conditional` check failing: the then-field gets the natural message, the entity the
// then_err text (or "failed conditional validation given value of field '<if_field>'").
void conditionalFailed(ErrorTree& errors, std::string_view if_field, std::string_view then_field,
                       std::string field_message, std::string then_err = {}) {
    errors.add({std::string(then_field)}, std::move(field_message));
    errors.addEntity(then_err.empty()
                         ? "failed conditional validation given value of field '" +
                               std::string(if_field) + "'"
                         : std::move(then_err));
}

std::vector<std::string> stringList(const json::object& e, std::string_view key) {
    std::vector<std::string> out;
    if (const auto* v = get(e, key); v != nullptr && v->is_array()) {
        for (const auto& item : v->get_array()) {
            if (item.is_string()) {
                out.emplace_back(item.get_string());
            }
        }
    }
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

// --- services -------------------------------------------------------------------------------

EntitySchema services() {
    EntitySchema s;
    s.name = "services";
    s.admin_path = "services";
    s.nested_path = "services";
    s.endpoint_key = "name";
    s.fields = {
        id(),
        createdAt(),
        updatedAt(),
        str("name").format(Format::Utf8Name).unique().desc("The service name."),
        integer("retries").def(5).between(0, 32767).desc(
            "The number of retries to execute upon failure to proxy."),
        str("protocol").format(Format::Protocol).oneOf(kProtocols).required().def("http").desc(
            "The protocol used to communicate with the upstream."),
        str("host").format(Format::Host).required().desc("The host of the upstream server."),
        portField("port").required().def(80).desc("The upstream server port."),
        str("path").format(Format::Path).desc(
            "The path to be used in requests to the upstream server."),
        integer("connect_timeout").def(60000).between(1, kMaxTimeout).desc(
            "The timeout in milliseconds for establishing a connection to the upstream server."),
        integer("write_timeout").def(60000).between(1, kMaxTimeout).desc(
            "The timeout in milliseconds between two successive write operations."),
        integer("read_timeout").def(60000).between(1, kMaxTimeout).desc(
            "The timeout in milliseconds between two successive read operations."),
        tags(),
        foreign("client_certificate", "certificates", OnDelete::Restrict)
            .desc("Certificate to be used as client certificate while TLS handshaking."),
        boolean("tls_verify").desc("Whether to enable verification of upstream server TLS."),
        integer("tls_verify_depth").between(0, 64).desc(
            "Maximum depth of chain while verifying the upstream server's TLS certificate."),
        arrayOf("ca_certificates", element(FieldType::String, Format::Uuid))
            .desc("Array of CA Certificate object UUIDs used to verify the upstream certificate."),
        boolean("enabled").required().def(true).desc(
            "Whether the Service is active. Routes of a disabled service are not proxied."),
        str("url").transient().desc(
            "Shorthand for protocol, host, port and path at once (not stored)."),
    };
    s.checks.push_back([](const json::object& e, ErrorTree& errors) {
        if (anyError(errors, {"protocol"})) {
            return;
        }
        const auto protocol = text(e, "protocol");
        static const std::vector<std::string> no_path = {"tcp", "tls", "udp", "grpc", "grpcs"};
        if (contains(no_path, protocol) && !anyError(errors, {"path"}) && !isEmpty(get(e, "path"))) {
            conditionalFailed(errors, "protocol", "path", "value must be null");
        }
        if (protocol != "https" && protocol != "tls") {
            for (const char* f :
                 {"client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"}) {
                const auto* v = get(e, f);
                if (!errors.hasFieldError(f) && v != nullptr && !v->is_null()) {
                    conditionalFailed(errors, "protocol", f, "value must be null");
                }
            }
        }
    });
    s.entity_checks_json = json::parse(R"([
      {"conditional":{"if_field":"protocol","if_match":{"one_of":["tcp","tls","udp","grpc","grpcs"]},
                      "then_field":"path","then_match":{"eq":null}}},
      {"conditional":{"if_field":"protocol","if_match":{"not_one_of":["https","tls"]},
                      "then_field":"client_certificate","then_match":{"eq":null}}},
      {"conditional":{"if_field":"protocol","if_match":{"not_one_of":["https","tls"]},
                      "then_field":"tls_verify","then_match":{"eq":null}}},
      {"conditional":{"if_field":"protocol","if_match":{"not_one_of":["https","tls"]},
                      "then_field":"tls_verify_depth","then_match":{"eq":null}}},
      {"conditional":{"if_field":"protocol","if_match":{"not_one_of":["https","tls"]},
                      "then_field":"ca_certificates","then_match":{"eq":null}}}
    ])").as_array();
    return s;
}

// --- routes ---------------------------------------------------------------------------------

Field ipPortRecord() {
    return F("", FieldType::Record)
        .fields({str("ip").format(Format::IpOrCidr), portField("port")});
}

// Kong's per-protocol route subschemas (routes_subschemas.lua) as one check.
void checkRouteProtocols(const json::object& e, ErrorTree& errors) {
    if (anyError(errors, {"protocols"})) {
        return;
    }
    const auto protocols = stringList(e, "protocols");
    if (protocols.empty()) {
        return;
    }
    auto group = [](const std::string& p) {
        if (p == "http" || p == "https") {
            return 0;
        }
        if (p == "tcp" || p == "tls" || p == "udp") {
            return 1;
        }
        if (p == "tls_passthrough") {
            return 2;
        }
        return 3;  // grpc, grpcs
    };
    const int first = group(protocols.front());
    for (const auto& p : protocols) {
        if (group(p) != first) {
            errors.add({"protocols"},
                       "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', "
                       "'udp'), ('tls_passthrough'), ('grpc', 'grpcs')");
            return;
        }
    }
    auto has = [&](std::string_view p) { return contains(protocols, p); };

    if (!has("grpcs") && !has("https") && !has("tls") && !has("tls_passthrough") &&
        !anyError(errors, {"snis"}) && !isEmpty(get(e, "snis"))) {
        conditionalFailed(errors, "protocols", "snis", "length must be 0",
                          "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or "
                          "'tls_passthrough'");
    }

    auto forbid = [&](std::initializer_list<const char*> fields, std::string_view when) {
        for (const char* f : fields) {
            if (!errors.hasFieldError(f) && !isEmpty(get(e, f))) {
                errors.add({f}, "cannot set '" + std::string(f) + "' when 'protocols' is " +
                                    std::string(when));
            }
        }
    };
    // Stream routes are tolerated in declarative files: Portico does not proxy streams yet.
    auto requireOne = [&](std::initializer_list<std::string_view> fields, std::string_view when,
                          Tolerance tolerance = Tolerance::None) {
        for (auto f : fields) {
            if (errors.hasFieldError(f)) {
                return;  // Kong skips checks whose fields already failed
            }
        }
        for (auto f : fields) {
            if (!isEmpty(get(e, f))) {
                return;
            }
        }
        if (fields.size() == 1) {
            errors.addEntity("must set " + std::string(*fields.begin()) + " when 'protocols' is " +
                                 std::string(when),
                             tolerance);
        } else {
            errors.addEntity("must set one of " + quotedList(fields) + " when 'protocols' is " +
                                 std::string(when),
                             tolerance);
        }
    };

    switch (first) {
    case 0:
        forbid({"sources", "destinations"}, "'http' or 'https'");
        if (has("https")) {
            requireOne({"methods", "hosts", "headers", "paths", "snis"}, "'https'");
        } else {
            requireOne({"methods", "hosts", "headers", "paths"}, "'http'");
        }
        break;
    case 1:
        forbid({"methods", "hosts", "paths", "headers"}, "'tcp', 'tls' or 'udp'");
        requireOne({"sources", "destinations", "snis"}, "'tcp', 'tls' or 'udp'",
                   Tolerance::StreamRoute);
        break;
    case 2:
        forbid({"methods", "hosts", "paths", "headers", "sources", "destinations"},
               "'tls_passthrough'");
        requireOne({"snis"}, "'tls_passthrough'", Tolerance::StreamRoute);
        break;
    default: {
        const auto* strip = get(e, "strip_path");
        if (!errors.hasFieldError("strip_path") && strip != nullptr && strip->is_bool() &&
            strip->get_bool()) {
            errors.add({"strip_path"}, "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
        }
        forbid({"methods", "sources", "destinations"}, "'grpc' or 'grpcs'");
        if (has("grpcs")) {
            requireOne({"hosts", "headers", "paths", "snis"}, "'grpcs'");
        } else {
            requireOne({"hosts", "headers", "paths"}, "'grpc'");
        }
        break;
    }
    }
}

void checkRouteDetails(const json::object& e, ErrorTree& errors) {
    if (!errors.hasFieldError("headers")) {
        if (const auto* headers = get(e, "headers"); headers != nullptr && headers->is_object()) {
            for (const auto& kv : headers->get_object()) {
                std::string key(kv.key());
                std::transform(key.begin(), key.end(), key.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                if (key == "host") {
                    errors.add({"headers"},
                               "cannot contain 'host' header, which must be specified in the "
                               "'hosts' attribute");
                    break;
                }
            }
            // A header's only value starting with "~*" is a case-insensitive regex (the router
            // treats it so); among several values it is plain text.
            for (const auto& kv : headers->get_object()) {
                const auto* values = kv.value().if_array();
                if (values == nullptr || values->size() != 1 || !values->front().is_string()) {
                    continue;
                }
                const std::string_view value = values->front().get_string();
                if (!value.starts_with("~*")) {
                    continue;
                }
                if (auto err = formats::checkRegex(value.substr(2), true)) {
                    errors.add({"headers", std::string(kv.key())}, *err, Tolerance::Regex);
                }
            }
        }
    }
    // sources/destinations elements need an ip or a port.
    for (const char* f : {"sources", "destinations"}) {
        const auto* list = get(e, f);
        if (errors.hasFieldError(f) || list == nullptr || !list->is_array()) {
            continue;
        }
        const auto& arr = list->get_array();
        for (std::size_t i = 0; i < arr.size(); ++i) {
            if (arr[i].is_object() && isEmpty(get(arr[i].get_object(), "ip")) &&
                isEmpty(get(arr[i].get_object(), "port"))) {
                errors.add({f, std::to_string(i + 1), "@entity"},
                           "at least one of these fields must be non-empty: 'ip', 'port'");
            }
        }
    }
}

EntitySchema routes() {
    EntitySchema s;
    s.name = "routes";
    s.admin_path = "routes";
    s.nested_path = "routes";
    s.endpoint_key = "name";
    s.fields = {
        id(),
        createdAt(),
        updatedAt(),
        str("name").format(Format::Utf8Name).unique().desc("The name of the Route."),
        setOf("protocols", protocolElement())
            .required()
            .lenMin(1)
            .def(strArray({"http", "https"}))
            .desc("An array of the protocols this Route should allow."),
        setOf("methods", element(FieldType::String, Format::HttpMethod))
            .desc("A list of HTTP methods that match this Route."),
        arrayOf("hosts", element(FieldType::String, Format::RouteHost))
            .desc("A list of domain names that match this Route."),
        arrayOf("paths", element(FieldType::String, Format::RouterPath))
            .desc("A list of paths that match this Route."),
        F("headers", FieldType::Map)
            .keys(element(FieldType::String, Format::HeaderName))
            .elements(arrayOf("", element(FieldType::String)))
            .desc("One or more lists of values indexed by header name."),
        integer("https_redirect_status_code")
            .required()
            .def(426)
            .oneOf({"426", "301", "302", "307", "308"})
            .desc("The status code Kong responds with when all properties of a Route match "
                  "except the protocol."),
        integer("regex_priority").def(0).desc(
            "A number used to choose which route resolves a given request when several routes "
            "match it using regexes simultaneously."),
        boolean("strip_path").required().def(true).desc(
            "When matching a Route via one of the paths, strip the matching prefix from the "
            "upstream request URL."),
        str("path_handling").def("v0").oneOf({"v0", "v1"}).desc(
            "Controls how the Service path, Route path and requested path are combined."),
        boolean("preserve_host").required().def(false).desc(
            "When matching a Route via one of the hosts, use the request Host header upstream."),
        boolean("request_buffering").required().def(true).desc(
            "Whether to enable request body buffering or not."),
        boolean("response_buffering").required().def(true).desc(
            "Whether to enable response body buffering or not."),
        setOf("snis", element(FieldType::String, Format::WildcardHost))
            .desc("A list of SNIs that match this Route."),
        setOf("sources", ipPortRecord()).desc("A list of IP sources of incoming connections."),
        setOf("destinations", ipPortRecord())
            .desc("A list of IP destinations of incoming connections."),
        tags(),
        foreign("service", "services", OnDelete::Restrict)
            .desc("The Service this Route is associated to."),
    };
    s.checks.push_back(checkRouteProtocols);
    s.checks.push_back(checkRouteDetails);
    s.entity_checks_json = json::parse(R"([
      {"conditional":{"if_field":"protocols",
                      "if_match":{"elements":{"type":"string","not_one_of":["grpcs","https","tls","tls_passthrough"]}},
                      "then_field":"snis","then_match":{"len_eq":0},
                      "then_err":"'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"}}
    ])").as_array();
    return s;
}

// --- consumers ------------------------------------------------------------------------------

EntitySchema consumers() {
    EntitySchema s;
    s.name = "consumers";
    s.admin_path = "consumers";
    s.endpoint_key = "username";
    s.fields = {
        id(),
        createdAt(),
        updatedAt(),
        str("username").unique().desc("The unique username of the Consumer."),
        str("custom_id").unique().desc("Field for storing an existing ID for the Consumer."),
        tags(),
    };
    s.checks.push_back([](const json::object& e, ErrorTree& errors) {
        if (anyError(errors, {"custom_id", "username"})) {
            return;
        }
        if (isEmpty(get(e, "custom_id")) && isEmpty(get(e, "username"))) {
            errors.addEntity("at least one of these fields must be non-empty: 'custom_id', "
                             "'username'");
        }
    });
    s.entity_checks_json =
        json::parse(R"([{"at_least_one_of":["custom_id","username"]}])").as_array();
    return s;
}

// --- upstreams ------------------------------------------------------------------------------

Field seconds(std::string name, int def) {
    return number(std::move(name)).between(0, 65535).def(def);
}
Field counter(std::string name) { return integer(std::move(name)).between(0, 255).def(0); }
Field httpStatuses(std::string name, json::array def) {
    return arrayOf(std::move(name), element(FieldType::Integer).between(100, 999)).def(std::move(def));
}
Field checkType() {
    return str("type").oneOf({"tcp", "http", "https", "grpc", "grpcs"}).def("http");
}

Field healthchecks() {
    const json::object fill;  // a record default of {}: every nested default is filled in
    Field active = record("active",
                          {
                              checkType(),
                              seconds("timeout", 1),
                              integer("concurrency").between(1, kTwoPow31).def(10),
                              str("http_path").format(Format::Path).def("/"),
                              str("https_sni").format(Format::Sni),
                              boolean("https_verify_certificate").def(true),
                              F("headers", FieldType::Map)
                                  .keys(element(FieldType::String, Format::HeaderName))
                                  .elements(arrayOf("", element(FieldType::String))),
                              record("healthy",
                                     {
                                         seconds("interval", 0),
                                         httpStatuses("http_statuses", intArray({200, 302})),
                                         counter("successes"),
                                     })
                                  .def(fill),
                              record("unhealthy",
                                     {
                                         seconds("interval", 0),
                                         httpStatuses("http_statuses",
                                                      intArray({429, 404, 500, 501, 502, 503, 504,
                                                                505})),
                                         counter("tcp_failures"),
                                         counter("timeouts"),
                                         counter("http_failures"),
                                     })
                                  .def(fill),
                          })
                       .def(fill);
    Field passive =
        record("passive",
               {
                   checkType(),
                   record("healthy",
                          {
                              httpStatuses("http_statuses",
                                           intArray({200, 201, 202, 203, 204, 205, 206, 207, 208,
                                                     226, 300, 301, 302, 303, 304, 305, 306, 307,
                                                     308})),
                              counter("successes"),
                          })
                       .def(fill),
                   record("unhealthy",
                          {
                              httpStatuses("http_statuses", intArray({429, 500, 503})),
                              counter("tcp_failures"),
                              counter("timeouts"),
                              counter("http_failures"),
                          })
                       .def(fill),
               })
            .def(fill);
    return record("healthchecks", {active, passive, number("threshold").between(0, 100).def(0)})
        .def(fill)
        .desc("The health check configuration (active probes and passive circuit breaker).");
}

void checkUpstreamHashing(const json::object& e, ErrorTree& errors) {
    const auto hash_on = text(e, "hash_on");
    const auto fallback = text(e, "hash_fallback");
    const bool hash_on_ok = !errors.hasFieldError("hash_on");
    const bool fallback_ok = !errors.hasFieldError("hash_fallback");

    auto requireWhen = [&](bool ok, const std::string& value, std::string_view if_field,
                           std::string_view match, const char* then_field) {
        if (ok && value == match && !errors.hasFieldError(then_field) &&
            isEmpty(get(e, then_field))) {
            conditionalFailed(errors, if_field, then_field, "required field missing");
        }
    };
    requireWhen(hash_on_ok, hash_on, "hash_on", "header", "hash_on_header");
    requireWhen(fallback_ok, fallback, "hash_fallback", "header", "hash_fallback_header");
    requireWhen(hash_on_ok, hash_on, "hash_on", "cookie", "hash_on_cookie");
    requireWhen(fallback_ok, fallback, "hash_fallback", "cookie", "hash_on_cookie");
    requireWhen(hash_on_ok, hash_on, "hash_on", "query_arg", "hash_on_query_arg");
    requireWhen(fallback_ok, fallback, "hash_fallback", "query_arg", "hash_fallback_query_arg");
    requireWhen(hash_on_ok, hash_on, "hash_on", "uri_capture", "hash_on_uri_capture");
    requireWhen(fallback_ok, fallback, "hash_fallback", "uri_capture",
                "hash_fallback_uri_capture");

    if (hash_on_ok && fallback_ok) {
        // hash_fallback may not repeat a hash_on that has no parameter, and must be none after
        // none or cookie.
        std::vector<std::string> allowed;
        if (hash_on == "none" || hash_on == "cookie") {
            allowed = {"none"};
        } else if (hash_on == "consumer") {
            allowed = {"none", "ip", "header", "cookie", "path", "query_arg", "uri_capture"};
        } else if (hash_on == "ip") {
            allowed = {"none", "consumer", "header", "cookie", "path", "query_arg", "uri_capture"};
        } else if (hash_on == "path") {
            allowed = {"none", "consumer", "ip", "header", "cookie", "query_arg", "uri_capture"};
        }
        if (!allowed.empty() && !contains(allowed, fallback)) {
            std::string list;
            for (const auto& a : allowed) {
                list += (list.empty() ? "" : ", ") + a;
            }
            conditionalFailed(errors, "hash_on", "hash_fallback", "expected one of: " + list);
        }
    }

    auto distinct = [&](const char* a, const char* b) {
        const auto* va = get(e, a);
        const auto* vb = get(e, b);
        if (!errors.hasFieldError(a) && !errors.hasFieldError(b) && va != nullptr &&
            vb != nullptr && va->is_string() && vb->is_string() && *va == *vb) {
            errors.addEntity("values of these fields must be distinct: " + quotedList({a, b}));
        }
    };
    distinct("hash_on_header", "hash_fallback_header");
    distinct("hash_on_query_arg", "hash_fallback_query_arg");
    distinct("hash_on_uri_capture", "hash_fallback_uri_capture");

    const auto algorithm = text(e, "algorithm");
    if (!errors.hasFieldError("algorithm") && hash_on_ok &&
        (algorithm == "least-connections" || algorithm == "latency") && hash_on != "none") {
        conditionalFailed(errors, "algorithm", "hash_on", "value must be none");
    }
}

EntitySchema upstreams() {
    EntitySchema s;
    s.name = "upstreams";
    s.admin_path = "upstreams";
    s.nested_path = "upstreams";
    s.endpoint_key = "name";
    const std::vector<std::string> hash_values = {"none",   "consumer", "ip",        "header",
                                                  "cookie", "path",     "query_arg", "uri_capture"};
    s.fields = {
        id(),
        createdAt(),
        updatedAt(),
        str("name").format(Format::UpstreamName).required().unique().desc(
            "A hostname, which must be equal to the host of a Service."),
        str("algorithm")
            .def("round-robin")
            .oneOf({"consistent-hashing", "least-connections", "round-robin", "latency"})
            .desc("Which load balancing algorithm to use."),
        str("hash_on").def("none").oneOf(hash_values).desc("What to use as hashing input."),
        str("hash_fallback").def("none").oneOf(hash_values).desc(
            "What to use as hashing input if the primary hash_on does not return a hash."),
        str("hash_on_header").format(Format::HeaderName),
        str("hash_fallback_header").format(Format::HeaderName),
        str("hash_on_cookie").format(Format::CookieName),
        str("hash_on_cookie_path").format(Format::Path).def("/"),
        str("hash_on_query_arg"),
        str("hash_fallback_query_arg"),
        str("hash_on_uri_capture"),
        str("hash_fallback_uri_capture"),
        integer("slots").def(10000).between(10, 65536).desc(
            "The number of slots in the load balancer algorithm."),
        healthchecks(),
        tags(),
        str("host_header").format(Format::HostWithOptionalPort).desc(
            "The hostname to be used as Host header when proxying requests through Kong."),
        foreign("client_certificate", "certificates", OnDelete::Restrict)
            .desc("If set, the certificate to be used as client certificate while TLS handshaking "
                  "to the upstream server."),
        boolean("use_srv_name").def(false).desc(
            "If set, the balancer will use SRV hostname as the proxy upstream Host header."),
    };
    s.checks.push_back(checkUpstreamHashing);
    s.entity_checks_json = json::parse(R"([
      {"conditional":{"if_field":"hash_on","if_match":{"match":"^header$"},"then_field":"hash_on_header","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_fallback","if_match":{"match":"^header$"},"then_field":"hash_fallback_header","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_on","if_match":{"match":"^cookie$"},"then_field":"hash_on_cookie","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_fallback","if_match":{"match":"^cookie$"},"then_field":"hash_on_cookie","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_on","if_match":{"match":"^query_arg$"},"then_field":"hash_on_query_arg","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_fallback","if_match":{"match":"^query_arg$"},"then_field":"hash_fallback_query_arg","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_on","if_match":{"match":"^uri_capture$"},"then_field":"hash_on_uri_capture","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_fallback","if_match":{"match":"^uri_capture$"},"then_field":"hash_fallback_uri_capture","then_match":{"required":true}}},
      {"conditional":{"if_field":"hash_on","if_match":{"match":"^none$"},"then_field":"hash_fallback","then_match":{"one_of":["none"]}}},
      {"conditional":{"if_field":"hash_on","if_match":{"match":"^cookie$"},"then_field":"hash_fallback","then_match":{"one_of":["none"]}}},
      {"distinct":["hash_on_header","hash_fallback_header"]},
      {"distinct":["hash_on_query_arg","hash_fallback_query_arg"]},
      {"distinct":["hash_on_uri_capture","hash_fallback_uri_capture"]}
    ])").as_array();
    return s;
}

// --- targets --------------------------------------------------------------------------------

EntitySchema targets() {
    EntitySchema s;
    s.name = "targets";
    s.admin_path = "targets";
    s.nested_path = "targets";
    s.endpoint_key = "target";
    s.cache_key_name = "cache_key";
    s.cache_key = {"upstream", "target"};
    s.fields = {
        id(),
        number("created_at").format(Format::TimestampMs).autogen(),
        number("updated_at").format(Format::TimestampMs).autogen(),
        foreign("upstream", "upstreams", OnDelete::Cascade).required(),
        str("target").format(Format::Target).required().desc(
            "The target address (ip or hostname) and port; default port 8000."),
        integer("weight").def(100).between(0, 65535).desc(
            "The weight this target gets within the upstream loadbalancer (0-65535)."),
        tags(),
    };
    return s;
}

// --- plugins --------------------------------------------------------------------------------

EntitySchema plugins() {
    EntitySchema s;
    s.name = "plugins";
    s.admin_path = "plugins";
    s.nested_path = "plugins";
    s.endpoint_key = "instance_name";
    s.cache_key_name = "cache_key";
    s.cache_key = {"name", "route", "service", "consumer"};
    s.fields = {
        id(),
        str("name").required().desc("The name of the Plugin that's going to be added."),
        str("instance_name").format(Format::Utf8Name).unique(),
        createdAt(),
        updatedAt(),
        foreign("route", "routes", OnDelete::Cascade)
            .desc("If set, the plugin will only activate when receiving requests via this route."),
        foreign("service", "services", OnDelete::Cascade)
            .desc("If set, the plugin will only activate when receiving requests via one of the "
                  "routes belonging to the specified Service."),
        foreign("consumer", "consumers", OnDelete::Cascade)
            .desc("If set, the plugin will activate only for requests where the specified "
                  "consumer has been authenticated."),
        F("config", FieldType::Any).def(json::object()).desc(
            "The configuration properties for the Plugin."),
        setOf("protocols", protocolElement())
            .required()
            .def(strArray({"grpc", "grpcs", "http", "https"}))
            .desc("A list of the request protocols that will trigger this plugin."),
        boolean("enabled").required().def(true).desc("Whether the plugin is applied."),
        tags(),
    };
    s.checks.push_back([](const json::object& e, ErrorTree& errors) {
        const auto* config = get(e, "config");
        if (!errors.hasFieldError("config") && config != nullptr && !config->is_null() &&
            !config->is_object()) {
            errors.add({"config"}, "expected a record");
        }
    });
    return s;
}

// --- certificates, snis, ca_certificates ----------------------------------------------------

EntitySchema certificates() {
    EntitySchema s;
    s.name = "certificates";
    s.admin_path = "certificates";
    s.fields = {
        id(),
        createdAt(),
        updatedAt(),
        str("cert").format(Format::Certificate).required().desc(
            "PEM-encoded public certificate chain of the SSL key pair."),
        str("key").format(Format::Key).required().desc(
            "PEM-encoded private key of the SSL key pair."),
        str("cert_alt").format(Format::Certificate).desc(
            "PEM-encoded public certificate chain of the alternate SSL key pair."),
        str("key_alt").format(Format::Key).desc(
            "PEM-encoded private key of the alternate SSL key pair."),
        tags(),
        arrayOf("snis", element(FieldType::String, Format::WildcardHost))
            .transient()
            .desc("SNI names to associate with this certificate (stored as SNI entities)."),
    };
    s.checks.push_back([](const json::object& e, ErrorTree& errors) {
        if (!anyError(errors, {"cert", "key"})) {
            const auto cert = text(e, "cert");
            const auto key = text(e, "key");
            if (!cert.empty() && !key.empty() && !formats::certificateMatchesKey(cert, key)) {
                errors.addEntity("certificate does not match key", Tolerance::TlsMaterial);
            }
        }
        if (anyError(errors, {"cert_alt", "key_alt"})) {
            return;
        }
        const bool has_cert_alt = !isEmpty(get(e, "cert_alt"));
        const bool has_key_alt = !isEmpty(get(e, "key_alt"));
        if (has_cert_alt != has_key_alt) {
            errors.addEntity("all or none of these fields must be set: 'cert_alt', 'key_alt'");
            return;
        }
        if (!has_cert_alt) {
            return;
        }
        const auto cert_alt = text(e, "cert_alt");
        if (!formats::certificateMatchesKey(cert_alt, text(e, "key_alt"))) {
            errors.addEntity("alternative certificate does not match key", Tolerance::TlsMaterial);
            return;
        }
        if (!anyError(errors, {"cert"}) &&
            formats::certificateKeyType(text(e, "cert")) == formats::certificateKeyType(cert_alt)) {
            errors.addEntity(
                "certificate and alternative certificate need to have different "
                "type (e.g. RSA and ECDSA), the provided certificates were both of "
                "the same type",
                Tolerance::TlsMaterial);
        }
    });
    s.entity_checks_json =
        json::parse(R"([{"mutually_required":["cert_alt","key_alt"]}])").as_array();
    return s;
}

EntitySchema snis() {
    EntitySchema s;
    s.name = "snis";
    s.admin_path = "snis";
    s.nested_path = "snis";
    s.endpoint_key = "name";
    s.fields = {
        id(),
        str("name").format(Format::WildcardHost).required().unique().desc("The SNI name."),
        createdAt(),
        updatedAt(),
        tags(),
        foreign("certificate", "certificates", OnDelete::Restrict)
            .required()
            .desc("The id (a UUID) of the certificate with which to associate the SNI hostname."),
    };
    return s;
}

EntitySchema caCertificates() {
    EntitySchema s;
    s.name = "ca_certificates";
    s.admin_path = "ca_certificates";
    s.fields = {
        id(),
        createdAt(),
        updatedAt(),
        str("cert").format(Format::Certificate).required().desc("PEM-encoded CA certificate."),
        str("cert_digest").unique().desc("SHA-256 hex digest of the certificate (computed)."),
        tags(),
    };
    s.checks.push_back([](const json::object& e, ErrorTree& errors) {
        if (errors.hasFieldError("cert")) {
            return;
        }
        const auto cert = text(e, "cert");
        if (cert.empty()) {
            return;
        }
        if (auto err = formats::checkCaCertificate(cert, static_cast<double>(std::time(nullptr)))) {
            errors.addEntity(*err, Tolerance::CaCertificate);
        }
    });
    return s;
}

// --- credentials ----------------------------------------------------------------------------

Field consumerRef() { return foreign("consumer", "consumers", OnDelete::Cascade).required(); }

EntitySchema keyauthCredentials() {
    EntitySchema s;
    s.name = "keyauth_credentials";
    s.admin_path = "key-auths";
    s.nested_path = "key-auth";
    s.endpoint_key = "key";
    s.has_ttl = true;
    s.fields = {
        id(),
        createdAt(),
        consumerRef(),
        str("key").unique().autogen().desc("The API key; a random one is generated if omitted."),
        tags(),
    };
    return s;
}

EntitySchema basicauthCredentials() {
    EntitySchema s;
    s.name = "basicauth_credentials";
    s.admin_path = "basic-auths";
    s.nested_path = "basic-auth";
    s.endpoint_key = "username";
    s.fields = {
        id(),
        createdAt(),
        consumerRef(),
        str("username").required().unique(),
        str("password").required().desc("Stored as hex SHA-1 of password and consumer id."),
        tags(),
    };
    return s;
}

EntitySchema jwtSecrets() {
    EntitySchema s;
    s.name = "jwt_secrets";
    s.admin_path = "jwts";
    s.nested_path = "jwt";
    s.endpoint_key = "key";
    s.fields = {
        id(),
        createdAt(),
        consumerRef(),
        str("key").unique().autogen(),
        str("secret").autogen(),
        str("rsa_public_key"),
        str("algorithm")
            .def("HS256")
            .oneOf({"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384",
                    "ES512", "PS256", "PS384", "PS512", "EdDSA"}),
        tags(),
    };
    s.checks.push_back([](const json::object& e, ErrorTree& errors) {
        if (anyError(errors, {"algorithm", "rsa_public_key"})) {
            return;
        }
        const auto algorithm = text(e, "algorithm");
        const bool needs_key = algorithm.rfind("RS", 0) == 0 || algorithm.rfind("PS", 0) == 0 ||
                               algorithm == "EdDSA";
        if (!needs_key) {
            return;
        }
        const auto key = text(e, "rsa_public_key");
        if (key.empty()) {
            conditionalFailed(errors, "algorithm", "rsa_public_key", "required field missing");
        } else if (formats::checkPublicKey(key)) {
            errors.add({"rsa_public_key"}, "invalid key", Tolerance::JwtKey);
        }
    });
    s.entity_checks_json = json::parse(R"([
      {"conditional":{"if_field":"algorithm",
                      "if_match":{"one_of":["RS256","RS384","RS512","PS256","PS384","PS512","EdDSA"]},
                      "then_field":"rsa_public_key","then_match":{"required":true}}}
    ])").as_array();
    return s;
}

EntitySchema acls() {
    EntitySchema s;
    s.name = "acls";
    s.admin_path = "acls";
    s.nested_path = "acls";
    s.endpoint_key = "group";
    s.cache_key_name = "cache_key";
    s.cache_key = {"consumer", "group"};
    s.fields = {
        id(),
        createdAt(),
        consumerRef(),
        str("group").required(),
        tags(),
    };
    return s;
}

}  // namespace

std::vector<EntitySchema> buildSchemas() {
    std::vector<EntitySchema> out;
    out.push_back(certificates());
    out.push_back(caCertificates());
    out.push_back(services());
    out.push_back(routes());
    out.push_back(consumers());
    out.push_back(upstreams());
    out.push_back(targets());
    out.push_back(snis());
    out.push_back(plugins());
    out.push_back(keyauthCredentials());
    out.push_back(basicauthCredentials());
    out.push_back(jwtSecrets());
    out.push_back(acls());
    return out;
}

}  // namespace portico::schema::detail
