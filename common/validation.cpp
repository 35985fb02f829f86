#include "common/validation.hpp"

#include "common/formats.hpp"

#include <boost/json/array.hpp>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace portico::schema {

namespace {

using Path = std::vector<std::string>;

// Kong's string fields reject "" unless the schema says otherwise (len_min defaults to 1).
constexpr std::size_t kDefaultStringLenMin = 1;

struct Context {
    const ValidateOptions& options;
    ErrorTree errors;
    double now = 0;
    std::string_view entity;  // table name of the entity being validated
};

std::string formatNumber(double value) {
    if (std::floor(value) == value && std::fabs(value) < 1e18) {
        return std::to_string(static_cast<long long>(value));
    }
    std::string s = std::to_string(value);
    while (!s.empty() && s.back() == '0') {
        s.pop_back();
    }
    return s;
}

std::string joinList(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) {
        if (!out.empty()) {
            out += ", ";
        }
        out += v;
    }
    return out;
}

const char* expectedType(FieldType type) {
    switch (type) {
    case FieldType::String:
        return "expected a string";
    case FieldType::Integer:
        return "expected an integer";
    case FieldType::Number:
        return "expected a number";
    case FieldType::Boolean:
        return "expected a boolean";
    case FieldType::Array:
        return "expected an array";
    case FieldType::Set:
        return "expected a set";
    case FieldType::Map:
        return "expected a map";
    case FieldType::Record:
    case FieldType::Foreign:
        return "expected a record";
    case FieldType::Any:
        return "";
    }
    return "";
}

std::optional<double> asNumber(const json::value& v) {
    switch (v.kind()) {
    case json::kind::int64:
        return static_cast<double>(v.get_int64());
    case json::kind::uint64:
        return static_cast<double>(v.get_uint64());
    case json::kind::double_:
        return v.get_double();
    default:
        return std::nullopt;
    }
}

std::optional<json::value> checkValue(const Field& field, const json::value& value, Path& path,
                                      Context& ctx);

// Validates an object against `fields`: unknown keys rejected, each field resolved (default,
// auto value, required check) and emitted in schema order.
json::object checkRecord(const std::vector<Field>& fields, const json::object& input, Path& path,
                         Context& ctx, const std::vector<std::string>& extra_allowed = {});

json::value autoValue(const Field& field, Context& ctx) {
    if (field.format == Format::Uuid) {
        return json::string(ctx.options.new_id ? ctx.options.new_id() : randomUuid());
    }
    if (field.format == Format::Timestamp) {
        return static_cast<std::int64_t>(std::floor(ctx.now));
    }
    if (field.format == Format::TimestampMs) {
        // Whole milliseconds: Boost.JSON would print a large double in exponent notation.
        return static_cast<std::int64_t>(std::floor(ctx.now * 1000.0));
    }
    // Credentials (key-auth key, jwt key/secret): a random 32-hex-digit string.
    return json::string(formats::randomHex(16));
}

// The value a field takes in the output, given whether it was present in the input.
json::value resolveField(const Field& field, const json::value* given, Path& path, Context& ctx) {
    const bool is_updated_at = field.auto_generated && field.name == "updated_at";
    if (is_updated_at) {
        return autoValue(field, ctx);  // refreshed on every write
    }
    if (given == nullptr || given->is_null()) {
        if (field.auto_generated) {
            return autoValue(field, ctx);
        }
        if (given == nullptr && field.default_value) {
            // A default is validated too: it fills nested record defaults.
            json::value def = fieldDefault(field);
            if (field.type == FieldType::Record && def.is_object()) {
                return checkRecord(field.fields, def.as_object(), path, ctx);
            }
            return def;
        }
        if (field.required) {
            ctx.errors.add(path, "required field missing");
        }
        return nullptr;
    }
    if (auto checked = checkValue(field, *given, path, ctx)) {
        return std::move(*checked);
    }
    return *given;  // invalid: keep the input so entity checks see it (they skip failed fields)
}

json::object checkRecord(const std::vector<Field>& fields, const json::object& input, Path& path,
                         Context& ctx, const std::vector<std::string>& extra_allowed) {
    for (const auto& kv : input) {
        const std::string key(kv.key());
        const bool known =
            std::any_of(fields.begin(), fields.end(), [&](const Field& f) { return f.name == key; }) ||
            std::find(extra_allowed.begin(), extra_allowed.end(), key) != extra_allowed.end();
        if (!known) {
            path.push_back(key);
            ctx.errors.add(path, "unknown field");
            path.pop_back();
        }
    }
    json::object out;
    for (const auto& field : fields) {
        const json::value* given = input.if_contains(field.name);
        if (field.transient && given == nullptr) {
            continue;  // transient inputs are passed through only when given
        }
        path.push_back(field.name);
        out[field.name] = resolveField(field, given, path, ctx);
        path.pop_back();
    }
    return out;
}

// Whether a format error may be tolerated in a declarative file (schema.hpp, Tolerance).
Tolerance formatTolerance(Format format, const std::string& value, const std::string& error) {
    if (format == Format::RouterPath && value.starts_with("~") &&
        formats::checkRegex(std::string_view(value).substr(1)) == error) {
        return Tolerance::Regex;
    }
    if ((format == Format::Host || format == Format::UpstreamName) &&
        formats::hasEmptyLabel(value)) {
        return Tolerance::EmptyLabel;
    }
    return Tolerance::None;
}

std::optional<json::value> checkString(const Field& field, const json::value& value, Path& path,
                                       Context& ctx) {
    if (!value.is_string()) {
        ctx.errors.add(path, expectedType(FieldType::String));
        return std::nullopt;
    }
    std::string text(value.get_string());
    const std::size_t len_min = field.len_min.value_or(kDefaultStringLenMin);
    if (text.size() < len_min) {
        ctx.errors.add(path, "length must be at least " + std::to_string(len_min));
        return std::nullopt;
    }
    if (!field.one_of.empty() &&
        std::find(field.one_of.begin(), field.one_of.end(), text) == field.one_of.end()) {
        ctx.errors.add(path, "expected one of: " + joinList(field.one_of));
        return std::nullopt;
    }
    if (field.format == Format::Uuid && !isUuid(text)) {
        ctx.errors.add(path, "expected a valid UUID");
        return std::nullopt;
    }
    // TLS material only matters once Portico serves or verifies TLS with it.
    const Tolerance pem_tolerance =
        ctx.entity == "ca_certificates" ? Tolerance::CaCertificate : Tolerance::TlsMaterial;
    if (field.format == Format::Certificate) {
        if (auto err = formats::checkCertificate(text)) {
            ctx.errors.add(path, *err, pem_tolerance);
            return std::nullopt;
        }
    } else if (field.format == Format::Key) {
        if (auto err = formats::checkKey(text)) {
            ctx.errors.add(path, *err, pem_tolerance);
            return std::nullopt;
        }
    } else if (auto err = formats::check(field.format, text)) {
        ctx.errors.add(path, *err, formatTolerance(field.format, text, *err));
        return std::nullopt;
    }
    return json::value(json::string(text));
}

std::optional<json::value> checkNumeric(const Field& field, const json::value& value, Path& path,
                                        Context& ctx) {
    const auto number = asNumber(value);
    json::value out;
    if (field.type == FieldType::Integer) {
        if (!number || std::floor(*number) != *number || std::fabs(*number) > 9.2e18) {
            ctx.errors.add(path, expectedType(FieldType::Integer));
            return std::nullopt;
        }
        out = value.is_uint64() && value.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)
                  ? json::value(value.get_uint64())
                  : json::value(value.is_double() ? static_cast<std::int64_t>(*number)
                                                  : value.to_number<std::int64_t>());
    } else {
        if (!number) {
            ctx.errors.add(path, expectedType(FieldType::Number));
            return std::nullopt;
        }
        out = value;
    }
    if ((field.min && *number < *field.min) || (field.max && *number > *field.max)) {
        if (field.min && field.max) {
            ctx.errors.add(path, "value should be between " + formatNumber(*field.min) + " and " +
                                     formatNumber(*field.max));
        } else if (field.min) {
            ctx.errors.add(path, "value must be greater than " + formatNumber(*field.min - 1));
        } else {
            ctx.errors.add(path, "value must be at most " + formatNumber(*field.max));
        }
        return std::nullopt;
    }
    if (!field.one_of.empty() &&
        std::find(field.one_of.begin(), field.one_of.end(), formatNumber(*number)) ==
            field.one_of.end()) {
        ctx.errors.add(path, "expected one of: " + joinList(field.one_of));
        return std::nullopt;
    }
    if (field.format == Format::Timestamp && *number < 0) {
        ctx.errors.add(path, "expected a valid timestamp");
        return std::nullopt;
    }
    return out;
}

std::optional<json::value> checkList(const Field& field, const json::value& value, Path& path,
                                     Context& ctx) {
    // cjson decodes both [] and {} to an empty Lua table: Kong accepts {} as an empty list.
    if (value.is_object() && value.get_object().empty()) {
        return json::value(json::array());
    }
    if (!value.is_array()) {
        ctx.errors.add(path, expectedType(field.type));
        return std::nullopt;
    }
    const auto& input = value.get_array();
    if (field.len_min && input.size() < *field.len_min) {
        ctx.errors.add(path, "length must be at least " + std::to_string(*field.len_min));
        return std::nullopt;
    }
    if (field.max_elements && input.size() > *field.max_elements) {
        ctx.errors.add(path, "length must be at most " + std::to_string(*field.max_elements));
        return std::nullopt;
    }
    json::array out;
    bool ok = true;
    for (std::size_t i = 0; i < input.size(); ++i) {
        path.push_back(std::to_string(i + 1));
        if (input[i].is_null()) {
            ctx.errors.add(path, "required field missing");
            ok = false;
        } else if (field.elements) {
            if (auto checked = checkValue(*field.elements, input[i], path, ctx)) {
                // Sets keep the first occurrence of each value.
                if (field.type != FieldType::Set ||
                    std::find(out.begin(), out.end(), *checked) == out.end()) {
                    out.push_back(std::move(*checked));
                }
            } else {
                ok = false;
            }
        } else {
            out.push_back(input[i]);
        }
        path.pop_back();
    }
    if (!ok) {
        return std::nullopt;
    }
    return json::value(std::move(out));
}

std::optional<json::value> checkMap(const Field& field, const json::value& value, Path& path,
                                    Context& ctx) {
    if (!value.is_object()) {
        ctx.errors.add(path, expectedType(FieldType::Map));
        return std::nullopt;
    }
    json::object out;
    bool ok = true;
    for (const auto& kv : value.get_object()) {
        if (field.keys) {
            // A bad key fails the whole map: Kong reports it on the field itself.
            Path key_path{"key"};
            Context key_ctx{ctx.options, {}, ctx.now, ctx.entity};
            if (!checkValue(*field.keys, json::string(kv.key()), key_path, key_ctx)) {
                const auto rendered = key_ctx.errors.toFields();
                const auto* msg = rendered.if_contains("key");
                ctx.errors.add(path, msg != nullptr && msg->is_string()
                                         ? std::string(msg->get_string())
                                         : std::string("invalid key"));
                ok = false;
                continue;
            }
        }
        path.push_back(std::string(kv.key()));
        if (kv.value().is_null()) {
            ctx.errors.add(path, "required field missing");
            ok = false;
        } else if (field.elements) {
            if (auto checked = checkValue(*field.elements, kv.value(), path, ctx)) {
                out[kv.key()] = std::move(*checked);
            } else {
                ok = false;
            }
        } else {
            out[kv.key()] = kv.value();
        }
        path.pop_back();
    }
    if (!ok) {
        return std::nullopt;
    }
    return json::value(std::move(out));
}

std::optional<json::value> checkForeign(const Field& field, const json::value& value, Path& path,
                                        Context& ctx) {
    if (!value.is_object()) {
        ctx.errors.add(path, expectedType(FieldType::Foreign));
        return std::nullopt;
    }
    const auto& obj = value.get_object();
    path.push_back("id");
    if (const auto* id = obj.if_contains("id"); id != nullptr && !id->is_null()) {
        if (!id->is_string() || !isUuid(id->get_string())) {
            ctx.errors.add(path, "expected a valid UUID");
            path.pop_back();
            return std::nullopt;
        }
        path.pop_back();
        return value;
    }
    // No id: the endpoint key of the referenced entity may stand in; the caller resolves it.
    const EntitySchema* parent = findSchema(field.reference);
    if (parent != nullptr && !parent->endpoint_key.empty()) {
        if (const auto* key = obj.if_contains(parent->endpoint_key);
            key != nullptr && key->is_string() && !key->get_string().empty()) {
            path.pop_back();
            return value;
        }
    }
    ctx.errors.add(path, "missing primary key");
    path.pop_back();
    return std::nullopt;
}

std::optional<json::value> checkValue(const Field& field, const json::value& value, Path& path,
                                      Context& ctx) {
    switch (field.type) {
    case FieldType::String:
        return checkString(field, value, path, ctx);
    case FieldType::Integer:
    case FieldType::Number:
        return checkNumeric(field, value, path, ctx);
    case FieldType::Boolean:
        if (!value.is_bool()) {
            ctx.errors.add(path, expectedType(FieldType::Boolean));
            return std::nullopt;
        }
        return value;
    case FieldType::Array:
    case FieldType::Set:
        return checkList(field, value, path, ctx);
    case FieldType::Map:
        return checkMap(field, value, path, ctx);
    case FieldType::Record: {
        if (!value.is_object()) {
            ctx.errors.add(path, expectedType(FieldType::Record));
            return std::nullopt;
        }
        const auto before = ctx.errors.count();
        json::object out = checkRecord(field.fields, value.get_object(), path, ctx);
        if (ctx.errors.count() != before) {
            return std::nullopt;
        }
        return json::value(std::move(out));
    }
    case FieldType::Foreign:
        return checkForeign(field, value, path, ctx);
    case FieldType::Any:
        return value;
    }
    return value;
}

// --- per-entity input shorthands ------------------------------------------------------------

struct ParsedUrl {
    std::optional<std::string> scheme;
    std::optional<std::string> host;
    std::optional<long> port;
    std::optional<std::string> path;
};

std::optional<ParsedUrl> parseUrl(std::string_view url) {
    ParsedUrl out;
    std::string_view rest = url;
    if (const auto sep = rest.find("://"); sep != std::string_view::npos) {
        std::string scheme(rest.substr(0, sep));
        std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.scheme = scheme;
        rest = rest.substr(sep + 3);
    } else if (rest.rfind("//", 0) == 0) {
        rest = rest.substr(2);
    }
    const auto auth_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::nullopt;
            }
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (!port.empty()) {
        long p = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || ptr != port.data() + port.size()) {
            return std::nullopt;
        }
        out.port = p;
    }
    if (!host.empty()) {
        out.host = std::string(host);
    }
    const auto path = tail.substr(0, tail.find_first_of("?#"));
    if (!path.empty()) {
        out.path = std::string(path);
    }
    return out;
}

// Service `url` -> protocol, host, port, path (kong-compat.md §1.2).
void expandServiceUrl(json::object& input, Context& ctx) {
    const json::value* url = input.if_contains("url");
    if (url == nullptr) {
        return;
    }
    if (url->is_null()) {
        input.erase("url");
        return;
    }
    if (!url->is_string()) {
        ctx.errors.add({"url"}, "expected a string");
        input.erase("url");
        return;
    }
    const auto parsed = parseUrl(url->get_string());
    if (!parsed) {
        ctx.errors.add({"url"}, "could not parse url. invalid port");
        input.erase("url");
        return;
    }
    std::optional<std::string> by_port;
    if (parsed->port == 80) {
        by_port = "http";
    } else if (parsed->port == 443) {
        by_port = "https";
    }
    const std::string protocol = parsed->scheme.value_or(by_port.value_or("http"));
    long port = 80;
    if (parsed->port) {
        port = *parsed->port;
    } else if (protocol == "https") {
        port = 443;
    }
    input["protocol"] = protocol;
    input["host"] = parsed->host ? json::value(json::string(*parsed->host)) : json::value(nullptr);
    input["port"] = static_cast<std::int64_t>(port);
    input["path"] = parsed->path ? json::value(json::string(*parsed->path)) : json::value(nullptr);
    input.erase("url");
}

std::optional<std::string> stringAt(const json::object& obj, std::string_view key) {
    if (const auto* v = obj.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->get_string());
    }
    return std::nullopt;
}

// Kong's legacy coupling between `algorithm` and `hash_on` (kong-compat.md §1.4).
void coupleUpstreamAlgorithm(json::object& input) {
    const auto algorithm = stringAt(input, "algorithm");
    const auto hash_on = stringAt(input, "hash_on");
    if (algorithm && (*algorithm == "least-connections" || *algorithm == "latency")) {
        input["hash_on"] = "none";
    } else if (hash_on && *hash_on != "none") {
        input["algorithm"] = "consistent-hashing";
    } else if (hash_on && !algorithm) {
        input["algorithm"] = "round-robin";
    }
}

// gRPC routes default to strip_path = false (Kong's grpc route subschema).
void defaultGrpcStripPath(json::object& input) {
    if (input.contains("strip_path")) {
        return;
    }
    const auto* protocols = input.if_contains("protocols");
    if (protocols == nullptr || !protocols->is_array() || protocols->get_array().empty()) {
        return;
    }
    const auto& first = protocols->get_array().front();
    if (first.is_string() && (first.get_string() == "grpc" || first.get_string() == "grpcs")) {
        input["strip_path"] = false;
    }
}

double systemNow() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::array<unsigned char, 16> parseUuidBytes(std::string_view text) {
    if (!isUuid(text)) {
        throw std::invalid_argument("not a UUID: " + std::string(text));
    }
    std::array<unsigned char, 16> bytes{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        if (text[i] == '-') {
            --i;
            continue;
        }
        unsigned value = 0;
        std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
        bytes[n++] = static_cast<unsigned char>(value);
    }
    return bytes;
}

std::string formatUuid(const unsigned char* b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
        }
        out.push_back(kDigits[b[i] >> 4]);
        out.push_back(kDigits[b[i] & 0x0f]);
    }
    return out;
}

}  // namespace

common::ApiResult<json::object> validateEntity(const EntitySchema& schema, json::object input,
                                               const ValidateOptions& options) {
    Context ctx{options, {}, options.now ? options.now() : systemNow(), schema.name};

    if (schema.name == "services") {
        expandServiceUrl(input, ctx);
    } else if (schema.name == "upstreams") {
        coupleUpstreamAlgorithm(input);
    } else if (schema.name == "routes") {
        defaultGrpcStripPath(input);
    }

    std::vector<std::string> extra_allowed;
    if (schema.has_ttl) {
        extra_allowed.emplace_back("ttl");
        if (const auto* ttl = input.if_contains("ttl"); ttl != nullptr && !ttl->is_null()) {
            Field ttl_field;
            ttl_field.name = "ttl";
            ttl_field.type = FieldType::Number;
            ttl_field.min = 0;
            ttl_field.max = 100000000;
            Path path{"ttl"};
            checkValue(ttl_field, *ttl, path, ctx);
        }
    }
    Path path;
    json::object entity = checkRecord(schema.fields, input, path, ctx, extra_allowed);

    if (schema.name == "plugins" && !options.allow_unknown_plugins &&
        !ctx.errors.hasFieldError("name")) {
        if (const auto name = stringAt(entity, "name"); name && findPlugin(*name) == nullptr) {
            ctx.errors.add({"name"}, "plugin '" + *name +
                                         "' not enabled; add it to the 'plugins' configuration "
                                         "property");
        }
    }
    if (schema.name == "ca_certificates" && !ctx.errors.hasFieldError("cert")) {
        if (const auto cert = stringAt(entity, "cert")) {
            if (auto digest = formats::certificateDigest(*cert); !digest.empty()) {
                entity["cert_digest"] = std::move(digest);
            }
        }
    }

    for (const auto& check : schema.checks) {
        check(entity, ctx.errors);
    }
    if (options.declarative) {
        auto tolerated = ctx.errors.takeTolerated();
        if (options.warnings != nullptr) {
            std::move(tolerated.begin(), tolerated.end(), std::back_inserter(*options.warnings));
        }
    }
    if (!ctx.errors.empty()) {
        return common::ApiError::schemaViolation(ctx.errors);
    }
    return entity;
}

json::object mergePatch(json::object stored, const json::object& patch) {
    for (const auto& kv : patch) {
        auto* current = stored.if_contains(kv.key());
        if (current != nullptr && current->is_object() && kv.value().is_object()) {
            *current = mergePatch(std::move(current->as_object()), kv.value().get_object());
        } else {
            stored[kv.key()] = kv.value();
        }
    }
    return stored;
}

json::object mergePatch(const EntitySchema& schema, json::object stored,
                        const json::object& patch) {
    for (const auto& kv : patch) {
        const Field* field = schema.field(kv.key());
        auto* current = stored.if_contains(kv.key());
        const bool mergeable = field != nullptr && (field->type == FieldType::Record ||
                                                    field->type == FieldType::Any);
        if (mergeable && current != nullptr && current->is_object() && kv.value().is_object()) {
            *current = mergePatch(std::move(current->as_object()), kv.value().get_object());
        } else {
            stored[kv.key()] = kv.value();
        }
    }
    return stored;
}

// --- forms ----------------------------------------------------------------------------------

namespace {

struct FormSegment {
    std::string name;
    bool list = false;                 // "name[]" or "name[N]"
    std::optional<std::size_t> index;  // 1-based, for "name[N]"
};

std::vector<FormSegment> splitFormKey(std::string_view key) {
    std::vector<FormSegment> out;
    std::size_t pos = 0;
    while (pos <= key.size()) {
        const auto dot = key.find('.', pos);
        std::string_view part = key.substr(pos, dot == std::string_view::npos ? key.npos : dot - pos);
        FormSegment seg;
        if (const auto open = part.find('['); open != std::string_view::npos && part.back() == ']') {
            seg.list = true;
            const auto inner = part.substr(open + 1, part.size() - open - 2);
            std::size_t idx = 0;
            if (!inner.empty() &&
                std::from_chars(inner.data(), inner.data() + inner.size(), idx).ec == std::errc() &&
                idx > 0) {
                seg.index = idx;
            }
            part = part.substr(0, open);
        }
        seg.name = std::string(part);
        out.push_back(std::move(seg));
        if (dot == std::string_view::npos) {
            break;
        }
        pos = dot + 1;
    }
    return out;
}

json::value inferScalar(const std::string& raw) {
    if (raw == "true") {
        return true;
    }
    if (raw == "false") {
        return false;
    }
    std::int64_t i = 0;
    if (auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), i);
        ec == std::errc() && p == raw.data() + raw.size()) {
        return i;
    }
    double d = 0;
    if (auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), d);
        ec == std::errc() && p == raw.data() + raw.size()) {
        return d;
    }
    return json::string(raw);
}

// Converts one form value for `field` (nullptr: unknown, kept as text; in_any: inferred).
json::value convertScalar(const Field* field, const std::string& raw, bool in_any) {
    if (raw.empty()) {
        return nullptr;
    }
    if (field == nullptr) {
        return in_any ? inferScalar(raw) : json::value(json::string(raw));
    }
    switch (field->type) {
    case FieldType::Integer: {
        std::int64_t i = 0;
        if (auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), i);
            ec == std::errc() && p == raw.data() + raw.size()) {
            return i;
        }
        return json::string(raw);
    }
    case FieldType::Number: {
        const json::value v = inferScalar(raw);
        return v.is_number() ? v : json::value(json::string(raw));
    }
    case FieldType::Boolean:
        if (raw == "true") {
            return true;
        }
        if (raw == "false") {
            return false;
        }
        return json::string(raw);
    case FieldType::Any:
        return inferScalar(raw);
    case FieldType::Foreign: {
        // "service=<uuid>" or "service=<name>": the short form of service.id / service.name.
        const EntitySchema* parent = findSchema(field->reference);
        const std::string key = isUuid(raw) || parent == nullptr || parent->endpoint_key.empty()
                                    ? std::string("id")
                                    : parent->endpoint_key;
        return json::object{{key, raw}};
    }
    default:
        return json::string(raw);
    }
}

const Field* childField(const Field* field, const std::string& name, bool& in_any) {
    if (field == nullptr) {
        return nullptr;
    }
    switch (field->type) {
    case FieldType::Record:
        for (const auto& f : field->fields) {
            if (f.name == name) {
                return &f;
            }
        }
        return nullptr;
    case FieldType::Map:
        return field->elements.get();
    case FieldType::Any:
        in_any = true;
        return nullptr;
    default:
        return nullptr;  // foreign keys and unknown nesting: plain text
    }
}

void putForm(json::object& obj, const std::vector<FormSegment>& segs, std::size_t i,
             const Field* field, const std::string& raw, bool in_any) {
    const auto& seg = segs[i];
    const bool last = i + 1 == segs.size();
    json::value& slot = obj[seg.name];
    const bool is_list_field =
        field != nullptr && (field->type == FieldType::Array || field->type == FieldType::Set);
    const Field* element = is_list_field ? field->elements.get() : nullptr;

    if (seg.list) {
        if (!slot.is_array()) {
            json::array arr;
            if (!slot.is_null()) {
                arr.push_back(std::move(slot));
            }
            slot = std::move(arr);
        }
        auto& arr = slot.as_array();
        json::value* target = nullptr;
        if (seg.index) {
            if (arr.size() < *seg.index) {
                arr.resize(*seg.index);
            }
            target = &arr[*seg.index - 1];
        } else {
            if (last && raw.empty()) {
                return;  // "hosts[]=" adds nothing
            }
            arr.emplace_back(nullptr);
            target = &arr.back();
        }
        if (last) {
            *target = convertScalar(element, raw, in_any);
            return;
        }
        if (!target->is_object()) {
            *target = json::object();
        }
        bool child_any = in_any;
        const Field* child = childField(element, segs[i + 1].name, child_any);
        putForm(target->as_object(), segs, i + 1, child, raw, child_any);
        return;
    }
    if (last) {
        if (is_list_field) {
            if (raw.empty()) {
                slot = nullptr;
            } else if (slot.is_array()) {
                slot.as_array().push_back(convertScalar(element, raw, in_any));
            } else {
                slot = json::array{convertScalar(element, raw, in_any)};
            }
            return;
        }
        slot = convertScalar(field, raw, in_any);
        return;
    }
    if (!slot.is_object()) {
        slot = json::object();
    }
    bool child_any = in_any || (field != nullptr && field->type == FieldType::Any);
    const Field* child = childField(field, segs[i + 1].name, child_any);
    if (field != nullptr && field->type == FieldType::Foreign) {
        putForm(slot.as_object(), segs, i + 1, nullptr, raw, false);
        return;
    }
    putForm(slot.as_object(), segs, i + 1, child, raw, child_any);
}

}  // namespace

json::object formToJson(const EntitySchema& schema,
                        const std::vector<std::pair<std::string, std::string>>& pairs) {
    json::object out;
    for (const auto& [key, raw] : pairs) {
        if (key.empty()) {
            continue;
        }
        const auto segs = splitFormKey(key);
        if (segs.empty() || segs.front().name.empty()) {
            continue;
        }
        putForm(out, segs, 0, schema.field(segs.front().name), raw, false);
    }
    return out;
}

// --- hashing and UUIDs ----------------------------------------------------------------------

std::string hashBasicAuthPassword(std::string_view password, std::string_view consumer_id) {
    std::string input(password);
    input.append(consumer_id);
    return formats::sha1Hex(input);
}

bool isUuid(std::string_view text) {
    if (text.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return false;
            }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

std::string randomUuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    return formatUuid(b);
}

std::string uuidV5(std::string_view namespace_uuid, std::string_view name) {
    const auto ns = parseUuidBytes(namespace_uuid);
    std::string input(reinterpret_cast<const char*>(ns.data()), ns.size());
    input.append(name);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
    digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
    return formatUuid(digest);
}

}  // namespace portico::schema
