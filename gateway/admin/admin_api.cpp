#include "gateway/admin/admin_api.hpp"

#include "common/declarative.hpp"
#include "common/formats.hpp"
#include "common/validation.hpp"
#include "gateway/admin/json_response.hpp"
#include "gateway/core/logging.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>

#include <unistd.h>

namespace portico::admin {

namespace json = boost::json;
using common::ApiError;
using common::ApiResult;
using http::HttpRequest;
using http::HttpResponse;
using schema::EntitySchema;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

double nowSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

HttpResponse errorResponse(const ApiError& error) {
    return jsonResponse(error.http_status, error.toJson());
}

HttpResponse emptyResponse(int status) {
    HttpResponse response;
    response.status = status;
    return response;
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// application/x-www-form-urlencoded value decoding: '+' is a space, %XX a byte.
std::string formDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
                   hexValue(text[i + 2]) >= 0) {
            out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

Pairs parseFormBody(std::string_view body) {
    Pairs pairs;
    std::size_t start = 0;
    while (start <= body.size()) {
        auto end = body.find('&', start);
        if (end == std::string_view::npos) {
            end = body.size();
        }
        auto item = body.substr(start, end - start);
        if (!item.empty()) {
            auto equals = item.find('=');
            if (equals == std::string_view::npos) {
                pairs.emplace_back(formDecode(item), "");
            } else {
                pairs.emplace_back(formDecode(item.substr(0, equals)),
                                   formDecode(item.substr(equals + 1)));
            }
        }
        start = end + 1;
    }
    return pairs;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// multipart/form-data: the value of each part, by its Content-Disposition name.
std::optional<Pairs> parseMultipart(std::string_view content_type, std::string_view body) {
    auto position = lower(content_type).find("boundary=");
    if (position == std::string::npos) {
        return std::nullopt;
    }
    std::string boundary(content_type.substr(position + 9));
    if (auto semicolon = boundary.find(';'); semicolon != std::string::npos) {
        boundary.resize(semicolon);
    }
    if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"') {
        boundary = boundary.substr(1, boundary.size() - 2);
    }
    std::string delimiter = "--" + boundary;
    Pairs pairs;
    std::size_t cursor = body.find(delimiter);
    if (cursor == std::string_view::npos) {
        return std::nullopt;
    }
    for (;;) {
        cursor += delimiter.size();
        if (body.substr(cursor, 2) == "--") {
            break;
        }
        auto headers_end = body.find("\r\n\r\n", cursor);
        if (headers_end == std::string_view::npos) {
            return std::nullopt;
        }
        auto headers = lower(body.substr(cursor, headers_end - cursor));
        auto next = body.find("\r\n" + delimiter, headers_end + 4);
        if (next == std::string_view::npos) {
            return std::nullopt;
        }
        auto value = body.substr(headers_end + 4, next - headers_end - 4);
        auto name_at = headers.find("name=\"");
        if (name_at != std::string::npos) {
            // Names are read from the original text to keep their case.
            auto original =
                body.substr(cursor, headers_end - cursor).substr(name_at + 6);
            auto close = original.find('"');
            pairs.emplace_back(std::string(original.substr(0, close)), std::string(value));
        }
        cursor = next + 2;
    }
    return pairs;
}

struct Body {
    enum class Kind { None, Json, Form, Yaml };
    Kind kind = Kind::None;
    json::object object;
    Pairs pairs;

    json::object toObject(const EntitySchema& entity_schema) const {
        switch (kind) {
            case Kind::Json:
                return object;
            case Kind::Form:
                return schema::formToJson(entity_schema, pairs);
            case Kind::None:
            case Kind::Yaml:
                break;
        }
        return {};
    }
};

struct Query {
    Pairs params;
    std::optional<std::string> get(std::string_view name) const {
        for (const auto& [key, value] : params) {
            if (key == name) {
                return value;
            }
        }
        return std::nullopt;
    }
};

bool isEntityField(const json::object& entity, std::string_view field, std::string_view id) {
    auto it = entity.find(field);
    if (it == entity.end() || !it->value().is_object()) {
        return false;
    }
    const auto& ref = it->value().as_object();
    auto ref_id = ref.find("id");
    return ref_id != ref.end() && ref_id->value().is_string() && ref_id->value().as_string() == id;
}

std::string idOf(const json::object& entity) {
    auto it = entity.find("id");
    if (it != entity.end() && it->value().is_string()) {
        return std::string(it->value().as_string());
    }
    return {};
}

// A decoded path segment (a name from the URL) made fit for a link again.
std::string pathSegment(std::string_view segment) {
    return boost::urls::encode(segment, boost::urls::unreserved_chars);
}

// A target key as the store keeps it ("10.0.0.1" -> "10.0.0.1:8000", "::1" -> expanded and
// bracketed), by the same rules as the schema; a key that is no valid target stays as given and
// matches nothing.
std::string normalizeTargetKey(const std::string& key) {
    return schema::formats::normalizeTarget(key).value_or(key);
}

// Request targets as clients send them, not only as RFC 3986 allows: raw brackets (IPv6
// targets), spaces, UTF-8 names. Bytes a path or query may not hold are percent-encoded before
// parsing; a malformed escape ("%ZZ") is left alone and still fails.
std::string escapeLoosely(std::string_view target) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(target.size());
    for (char c : target) {
        auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f || std::string_view("\"<>[\\]^`{|}").find(c) !=
                                                  std::string_view::npos) {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0f];
        } else {
            out += c;
        }
    }
    return out;
}

const char* kPorticoVersion = "0.1.0";
// The Kong Admin API version Portico implements: tools such as decK read GET / "version".
const char* kKongApiVersion = "3.10.0";

}  // namespace

struct AdminApi::Impl {
    store::Store& store_;
    core::Settings settings_;
    NodeInfo node_;
    AdminHooks hooks_;

    Impl(store::Store& s, const core::Settings& settings, NodeInfo node, AdminHooks hooks)
        : store_(s), settings_(settings), node_(std::move(node)), hooks_(std::move(hooks)) {}

    bool dbless() const { return settings_.database == "off"; }

    schema::ValidateOptions validateOptions(schema::Operation operation) const {
        schema::ValidateOptions options;
        options.operation = operation;
        options.now = nowSeconds;
        options.new_id = schema::randomUuid;
        return options;
    }

    void changed() {
        if (hooks_.on_change) {
            hooks_.on_change();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Lookups

    struct Parent {
        const EntitySchema* schema = nullptr;
        json::object entity;
        std::string field;  // the child's foreign field naming the parent
        std::string id() const { return idOf(entity); }
    };

    ApiResult<std::optional<json::object>> lookup(const EntitySchema& s, const std::string& key,
                                                  const Parent* parent) {
        if (schema::isUuid(key)) {
            return store_.get(s, key);
        }
        std::optional<std::pair<std::string, std::string>> scope;
        if (parent != nullptr) {
            scope = std::make_pair(parent->field, parent->id());
        }
        if (s.name == "certificates") {
            const auto* snis = schema::findSchema("snis");
            auto sni = store_.findBy(*snis, "name", key, std::nullopt);
            if (!sni) {
                return sni.error();
            }
            if (!*sni) {
                return std::optional<json::object>();
            }
            auto cert = (**sni).find("certificate");
            if (cert == (**sni).end() || !cert->value().is_object()) {
                return std::optional<json::object>();
            }
            return store_.get(s, idOf(cert->value().as_object()));
        }
        if (s.name == "targets") {
            return store_.findBy(s, "target", normalizeTargetKey(key), scope);
        }
        if (s.name == "acls") {
            if (parent == nullptr) {
                return std::optional<json::object>();
            }
            return store_.findBy(s, "group", key, scope);
        }
        if (s.endpoint_key.empty()) {
            return std::optional<json::object>();
        }
        return store_.findBy(s, s.endpoint_key, key, scope);
    }

    // Replaces {"name": "x"} style references by {"id": "..."}; code 13 when unresolved.
    ApiResult<void> resolveForeignKeys(const EntitySchema& s, json::object& entity) {
        for (const auto* field : s.foreignFields()) {
            auto it = entity.find(field->name);
            if (it == entity.end() || !it->value().is_object()) {
                continue;
            }
            auto& ref = it->value().as_object();
            if (ref.contains("id")) {
                if (ref.size() > 1) {
                    json::object only_id{{"id", ref.at("id")}};
                    ref = std::move(only_id);
                }
                continue;
            }
            const auto* parent_schema = schema::findSchema(field->reference);
            if (parent_schema == nullptr || parent_schema->endpoint_key.empty()) {
                continue;
            }
            auto key = ref.find(parent_schema->endpoint_key);
            if (key == ref.end() || !key->value().is_string()) {
                continue;
            }
            auto found = store_.findBy(*parent_schema, parent_schema->endpoint_key,
                                       std::string(key->value().as_string()), std::nullopt);
            if (!found) {
                return found.error();
            }
            if (!*found) {
                return ApiError::foreignKeyUnresolved(field->name, ref, parent_schema->name);
            }
            json::object resolved{{"id", idOf(**found)}};
            ref = std::move(resolved);
        }
        return {};
    }

    // ---------------------------------------------------------------------------------------
    // Output decoration: what Kong adds to an entity when returning it.

    json::object decorate(const EntitySchema& s, json::object entity) {
        if (s.name == "certificates") {
            const auto* snis = schema::findSchema("snis");
            store::ListQuery query;
            query.size = 1000;
            query.parent = std::make_pair(std::string("certificate"), idOf(entity));
            json::array names;
            if (auto page = store_.list(*snis, query)) {
                std::vector<std::string> sorted;
                for (const auto& sni : page->data) {
                    if (auto it = sni.find("name"); it != sni.end() && it->value().is_string()) {
                        sorted.emplace_back(it->value().as_string());
                    }
                }
                std::sort(sorted.begin(), sorted.end());
                for (auto& name : sorted) {
                    names.emplace_back(name);
                }
            }
            entity["snis"] = std::move(names);
        }
        return entity;
    }

    // ---------------------------------------------------------------------------------------
    // Writes

    HttpResponse readOnly(const EntitySchema& s, const std::string& method) {
        std::string verb = method == "POST"    ? "create"
                           : method == "PUT"   ? "create or update"
                           : method == "PATCH" ? "update"
                                               : "delete";
        return errorResponse(ApiError::operationUnsupported(
            "cannot " + verb + " '" + s.name + "' entities when not using a database"));
    }

    // Hashes a basic-auth password given in the request body with its consumer id.
    void hashPassword(const EntitySchema& s, const json::object& input, json::object& entity) {
        if (s.name != "basicauth_credentials" || !input.contains("password")) {
            return;
        }
        auto password = entity.find("password");
        auto consumer = entity.find("consumer");
        if (password == entity.end() || !password->value().is_string() ||
            consumer == entity.end() || !consumer->value().is_object()) {
            return;
        }
        password->value() = schema::hashBasicAuthPassword(
            std::string(password->value().as_string()), idOf(consumer->value().as_object()));
    }

    // Certificates: the transient `snis` list becomes SNI rows. Checked before the certificate
    // is written so that a taken name fails the request without changing anything.
    std::optional<std::vector<std::string>> takeSnis(json::object& entity) {
        auto it = entity.find("snis");
        if (it == entity.end()) {
            return std::nullopt;
        }
        std::vector<std::string> names;
        if (it->value().is_array()) {
            for (const auto& name : it->value().as_array()) {
                if (name.is_string()) {
                    names.emplace_back(name.as_string());
                }
            }
        }
        entity.erase("snis");
        return names;
    }

    ApiResult<void> checkSnisFree(const std::vector<std::string>& names,
                                  const std::string& certificate_id) {
        const auto* snis = schema::findSchema("snis");
        for (const auto& name : names) {
            auto found = store_.findBy(*snis, "name", name, std::nullopt);
            if (!found) {
                return found.error();
            }
            if (*found && !isEntityField(**found, "certificate", certificate_id)) {
                json::object key{{"name", name}};
                return ApiError::uniqueViolation(key);
            }
        }
        return {};
    }

    ApiResult<void> syncSnis(const std::string& certificate_id,
                             const std::vector<std::string>& names) {
        const auto* snis = schema::findSchema("snis");
        store::ListQuery query;
        query.size = 1000;
        query.parent = std::make_pair(std::string("certificate"), certificate_id);
        auto page = store_.list(*snis, query);
        if (!page) {
            return page.error();
        }
        std::set<std::string> wanted(names.begin(), names.end());
        std::set<std::string> present;
        for (const auto& sni : page->data) {
            std::string name(sni.at("name").as_string());
            if (wanted.count(name) == 0) {
                if (auto removed = store_.remove(*snis, idOf(sni)); !removed) {
                    return removed.error();
                }
            } else {
                present.insert(name);
            }
        }
        for (const auto& name : wanted) {
            if (present.count(name) != 0) {
                continue;
            }
            json::object input{{"name", name},
                               {"certificate", json::object{{"id", certificate_id}}}};
            auto valid =
                schema::validateEntity(*snis, std::move(input), validateOptions(schema::Operation::Insert));
            if (!valid) {
                return valid.error();
            }
            if (auto inserted = store_.insert(*snis, std::move(*valid)); !inserted) {
                return inserted.error();
            }
        }
        return {};
    }

    // Validation, reference resolution and special fields shared by create, upsert and patch.
    ApiResult<json::object> prepare(const EntitySchema& s, json::object input,
                                    const json::object& original_input,
                                    schema::Operation operation,
                                    std::optional<std::vector<std::string>>& snis) {
        auto valid = schema::validateEntity(s, std::move(input), validateOptions(operation));
        if (!valid) {
            return valid.error();
        }
        json::object entity = std::move(*valid);
        if (auto resolved = resolveForeignKeys(s, entity); !resolved) {
            return resolved.error();
        }
        hashPassword(s, original_input, entity);
        if (s.name == "certificates") {
            snis = takeSnis(entity);
            if (snis) {
                if (auto free = checkSnisFree(*snis, idOf(entity)); !free) {
                    return free.error();
                }
            }
        }
        return entity;
    }

    // The end of every successful write: the certificate's SNI rows follow it, the snapshot is
    // rebuilt, and the entity goes back as Kong returns it.
    HttpResponse finishWrite(const EntitySchema& s, ApiResult<json::object> stored,
                             const std::optional<std::vector<std::string>>& snis, int status) {
        if (!stored) {
            return errorResponse(stored.error());
        }
        if (snis) {
            if (auto synced = syncSnis(idOf(*stored), *snis); !synced) {
                return errorResponse(synced.error());
            }
        }
        changed();
        return jsonResponse(status, decorate(s, std::move(*stored)));
    }

    HttpResponse create(const EntitySchema& s, json::object input, const Parent* parent) {
        if (dbless()) {
            return readOnly(s, "POST");
        }
        if (parent != nullptr) {
            input[parent->field] = json::object{{"id", parent->id()}};
        }
        json::object original = input;
        std::optional<std::vector<std::string>> snis;
        auto entity = prepare(s, std::move(input), original, schema::Operation::Insert, snis);
        if (!entity) {
            return errorResponse(entity.error());
        }
        return finishWrite(s, store_.insert(s, std::move(*entity)), snis, 201);
    }

    HttpResponse upsert(const EntitySchema& s, const std::string& key, json::object input,
                        const Parent* parent) {
        if (dbless()) {
            return readOnly(s, "PUT");
        }
        auto existing = lookup(s, key, parent);
        if (!existing) {
            return errorResponse(existing.error());
        }
        if (parent != nullptr) {
            input[parent->field] = json::object{{"id", parent->id()}};
        }
        json::object original = input;
        bool sni_key = false;
        if (schema::isUuid(key)) {
            input["id"] = key;
        } else if (s.name == "certificates") {
            sni_key = true;
        } else if (s.name == "targets") {
            input["target"] = key;
        } else if (s.name == "acls") {
            input["group"] = key;
        } else if (!s.endpoint_key.empty()) {
            input[s.endpoint_key] = key;
        } else {
            return errorResponse(ApiError::notFound());
        }
        if (*existing) {
            input["id"] = idOf(**existing);
            // Kong resets created_at on upsert; Portico keeps the original creation time.
            if (!input.contains("created_at") && (**existing).contains("created_at")) {
                input["created_at"] = (**existing).at("created_at");
            }
        }
        std::optional<std::vector<std::string>> snis;
        auto entity = prepare(s, std::move(input), original, schema::Operation::Upsert, snis);
        if (!entity) {
            return errorResponse(entity.error());
        }
        if (sni_key) {
            // PUT /certificates/{sni}: that SNI stays in (or joins) the certificate's set.
            if (!snis) {
                snis.emplace();
                if (*existing) {
                    auto current = decorate(s, **existing).at("snis").as_array();
                    for (const auto& name : current) {
                        snis->emplace_back(name.as_string());
                    }
                }
            }
            if (std::find(snis->begin(), snis->end(), key) == snis->end()) {
                snis->push_back(key);
            }
            if (auto free = checkSnisFree(*snis, idOf(*entity)); !free) {
                return errorResponse(free.error());
            }
        }
        return finishWrite(s, store_.upsert(s, std::move(*entity)), snis, 200);
    }

    HttpResponse patch(const EntitySchema& s, const json::object& existing, json::object input) {
        if (dbless()) {
            return readOnly(s, "PATCH");
        }
        if (input.contains("id") && input.at("id") != existing.at("id")) {
            schema::ErrorTree errors;
            errors.add({"id"}, "immutable field cannot be updated");
            return errorResponse(ApiError::schemaViolation(errors));
        }
        json::object merged = schema::mergePatch(existing, input);
        if (s.name == "certificates") {
            merged.erase("snis");
            if (input.contains("snis")) {
                merged["snis"] = input.at("snis");
            }
        }
        std::optional<std::vector<std::string>> snis;
        auto entity = prepare(s, std::move(merged), input, schema::Operation::Update, snis);
        if (!entity) {
            return errorResponse(entity.error());
        }
        return finishWrite(s, store_.update(s, std::move(*entity)), snis, 200);
    }

    HttpResponse remove(const EntitySchema& s, const std::string& id) {
        if (dbless()) {
            return readOnly(s, "DELETE");
        }
        auto removed = store_.remove(s, id);
        if (!removed) {
            return errorResponse(removed.error());
        }
        if (*removed) {
            changed();
        }
        return emptyResponse(204);
    }

    // ---------------------------------------------------------------------------------------
    // Lists

    HttpResponse list(const EntitySchema& s, const Query& query, const Parent* parent,
                      const std::string& base_path) {
        store::ListQuery request;
        if (auto invalid = readPaging(query, request.size, request.offset)) {
            return *invalid;
        }
        if (auto tags = query.get("tags")) {
            auto parsed = parseTags(*tags, request);
            if (parsed) {
                return *parsed;
            }
        }
        if (parent != nullptr) {
            request.parent = std::make_pair(parent->field, parent->id());
        }
        if (s.name == "consumers") {
            if (auto custom_id = query.get("custom_id")) {
                if (custom_id->empty()) {
                    return errorResponse(ApiError::plain(400, "custom_id must be an unempty string"));
                }
                request.equals = std::make_pair(std::string("custom_id"), *custom_id);
            }
        }
        auto page = store_.list(s, request);
        if (!page) {
            return errorResponse(page.error());
        }
        json::array data;
        for (auto& entity : page->data) {
            data.emplace_back(decorate(s, std::move(entity)));
        }
        json::object body;
        body["data"] = std::move(data);
        if (page->offset.empty()) {
            body["next"] = nullptr;
        } else {
            std::string next = base_path + "?offset=" +
                               boost::urls::encode(page->offset, boost::urls::unreserved_chars);
            if (parent == nullptr) {
                next += "&size=" + std::to_string(request.size);
                if (auto tags = query.get("tags")) {
                    next += "&tags=" + boost::urls::encode(*tags, boost::urls::unreserved_chars);
                }
            }
            body["offset"] = page->offset;
            body["next"] = next;
        }
        return jsonResponse(200, body);
    }

    // ?size= (1-1000, Kong's code 9 errors) and ?offset= of a list request; the error response
    // for a bad size.
    static std::optional<HttpResponse> readPaging(const Query& query, std::size_t& size,
                                                  std::string& offset) {
        if (auto text = query.get("size")) {
            char* end = nullptr;
            long value = std::strtol(text->c_str(), &end, 10);
            if (text->empty() || end != text->c_str() + text->size()) {
                return errorResponse(ApiError::invalidSize("size must be a number"));
            }
            if (value < 1 || value > 1000) {
                return errorResponse(
                    ApiError::invalidSize("size must be an integer between 1 and 1000"));
            }
            size = static_cast<std::size_t>(value);
        }
        if (auto text = query.get("offset")) {
            offset = *text;
        }
        return std::nullopt;
    }

    // ?tags=a,b (all) or a/b (any), at most 5. Errors are code 11 with an `options` object.
    std::optional<HttpResponse> parseTags(const std::string& text, store::ListQuery& request) {
        auto fail = [](const std::string& message) {
            return errorResponse(ApiError::invalidOptions(
                json::object{{"tags", message}}, "invalid option (tags: " + message + ")"));
        };
        if (text.empty()) {
            return fail("cannot be null");
        }
        bool has_comma = text.find(',') != std::string::npos;
        bool has_slash = text.find('/') != std::string::npos;
        if (has_comma && has_slash) {
            return fail("invalid filter syntax");
        }
        char separator = has_slash ? '/' : ',';
        std::vector<std::string> tags;
        std::size_t start = 0;
        while (start <= text.size()) {
            auto end = text.find(separator, start);
            if (end == std::string::npos) {
                end = text.size();
            }
            auto tag = text.substr(start, end - start);
            if (tag.empty()) {
                return fail("invalid filter syntax");
            }
            tags.push_back(tag);
            start = end + 1;
        }
        if (tags.size() > 5) {
            return fail("cannot query more than 5 tags");
        }
        request.tags = std::move(tags);
        request.tags_any = has_slash;
        return std::nullopt;
    }

    // ---------------------------------------------------------------------------------------
    // Routing

    static const EntitySchema* childSchema(const EntitySchema& parent, const std::string& segment,
                                           std::string& field) {
        for (const auto* candidate : schema::allSchemas()) {
            const std::string& nested =
                candidate->nested_path.empty() ? candidate->admin_path : candidate->nested_path;
            if (nested != segment) {
                continue;
            }
            for (const auto* foreign : candidate->foreignFields()) {
                if (foreign->reference == parent.name) {
                    field = foreign->name;
                    return candidate;
                }
            }
        }
        return nullptr;
    }

    static const EntitySchema* topLevelSchema(const std::string& segment) {
        if (segment == "targets" || segment.empty()) {
            return nullptr;  // Kong disables /targets: targets live under their upstream.
        }
        return schema::findSchemaByAdminPath(segment);
    }

    // Decodes the request body. Returns an error response for bodies Kong rejects.
    std::optional<HttpResponse> decodeBody(const HttpRequest& request, Body& body) {
        if (request.headerCount("Content-Type") > 1) {
            HttpResponse response;
            response.status = 400;
            response.set("Content-Type", "text/plain");
            response.body = "Multiple Content-Type headers not allowed";
            return response;
        }
        if (request.body.empty()) {
            return std::nullopt;
        }
        auto content_type = lower(request.header("Content-Type").value_or(""));
        auto media = content_type.substr(0, content_type.find(';'));
        while (!media.empty() && media.back() == ' ') {
            media.pop_back();
        }
        if (media == "application/json") {
            boost::system::error_code ec;
            auto value = json::parse(request.body, ec);
            if (ec || !value.is_object()) {
                return jsonResponse(400, json::object{{"message", "Cannot parse JSON body"}});
            }
            body.kind = Body::Kind::Json;
            body.object = std::move(value.as_object());
            return std::nullopt;
        }
        if (media == "application/x-www-form-urlencoded") {
            body.kind = Body::Kind::Form;
            body.pairs = parseFormBody(request.body);
            return std::nullopt;
        }
        if (media == "application/x-yaml" || media == "application/yaml" ||
            media == "text/yaml" || media == "text/x-yaml") {
            body.kind = Body::Kind::Yaml;  // only POST /config accepts it
            return std::nullopt;
        }
        if (media == "multipart/form-data") {
            auto pairs = parseMultipart(request.header("Content-Type").value_or(""), request.body);
            if (!pairs) {
                return jsonResponse(400, json::object{{"message", "Cannot parse multipart body"}});
            }
            body.kind = Body::Kind::Form;
            body.pairs = std::move(*pairs);
            return std::nullopt;
        }
        return jsonResponse(
            415, json::object{{"message",
                               "Unsupported Content-Type: send application/json, "
                               "application/x-www-form-urlencoded or multipart/form-data"}});
    }

    HttpResponse route(const std::string& method, const std::vector<std::string>& segments,
                       const Query& query, const HttpRequest& request, std::string& allow) {
        auto methods = [&](std::initializer_list<const char*> list) {
            allow.clear();
            for (const char* m : list) {
                allow += (allow.empty() ? "" : ", ") + std::string(m);
            }
            for (const char* m : list) {
                if (method == m || (method == "HEAD" && std::string(m) == "GET")) {
                    return true;
                }
            }
            return false;
        };
        auto notAllowed = [] { return errorResponse(ApiError::methodNotAllowed()); };
        Body body;
        bool wants_body = method == "POST" || method == "PUT" || method == "PATCH";
        if (wants_body) {
            if (auto error = decodeBody(request, body)) {
                allow = "*";
                return *error;
            }
        }
        const std::size_t n = segments.size();

        if (n == 0) {
            return methods({"GET"}) ? root() : notAllowed();
        }
        const std::string& first = segments[0];
        if (first == "status" && n == 1) {
            return methods({"GET"}) ? status() : notAllowed();
        }
        if (first == "endpoints" && n == 1) {
            return methods({"GET"}) ? endpoints() : notAllowed();
        }
        if (first == "schemas") {
            return schemas(segments, body, methods, notAllowed);
        }
        if (first == "tags" && (n == 1 || n == 2)) {
            if (!methods({"GET"})) {
                return notAllowed();
            }
            return tags(query, n == 2 ? std::optional<std::string>(segments[1]) : std::nullopt);
        }
        if (first == "config" && n == 1) {
            if (!methods({"GET", "POST"})) {
                return notAllowed();
            }
            return method == "POST" ? postConfig(request, query, body) : getConfig();
        }
        if (first == "config" && n >= 2 && segments[1] == "revisions" && n <= 3) {
            if (!methods({"GET"})) {
                return notAllowed();
            }
            return n == 2 ? listRevisions(query) : showRevision(segments[2]);
        }
        if (first == "config" && n == 2 && segments[1] == "rollback") {
            return methods({"POST"}) ? rollback(body) : notAllowed();
        }
        if (first == "plugins" && n == 2 && segments[1] == "enabled") {
            return methods({"GET"}) ? pluginsEnabled() : notAllowed();
        }

        if (hooks_.extension) {
            // Portico's own endpoints (traffic, metrics, ...) served by other components.
            if (auto handled = hooks_.extension(request, segments, allow)) {
                return *handled;
            }
        }
        if (body.kind == Body::Kind::Yaml) {
            return jsonResponse(
                415, json::object{{"message",
                                   "Unsupported Content-Type: YAML is only accepted by /config"}});
        }
        const EntitySchema* s = topLevelSchema(first);
        if (s == nullptr) {
            return errorResponse(ApiError::notFound());
        }
        std::string base = "/" + first;
        if (n == 1) {
            if (!methods({"GET", "POST"})) {
                return notAllowed();
            }
            if (method == "POST") {
                return create(*s, body.toObject(*s), nullptr);
            }
            return list(*s, query, nullptr, base);
        }

        const std::string& key = segments[1];
        if (s->name == "snis" && n >= 3 && segments[2] == "certificate") {
            return errorResponse(ApiError::notFound());
        }
        if (n == 2) {
            if (!methods({"GET", "PUT", "PATCH", "DELETE"})) {
                return notAllowed();
            }
            if (method == "PUT") {
                return upsert(*s, key, body.toObject(*s), nullptr);
            }
            auto found = lookup(*s, key, nullptr);
            if (!found) {
                return errorResponse(found.error());
            }
            if (method == "DELETE") {
                if (!*found) {
                    return emptyResponse(204);
                }
                return remove(*s, idOf(**found));
            }
            if (!*found) {
                if (s->name == "certificates" && !schema::isUuid(key)) {
                    return jsonResponse(404, json::object{{"message", "SNI not found"}});
                }
                return errorResponse(ApiError::notFound());
            }
            if (method == "PATCH") {
                return patch(*s, **found, body.toObject(*s));
            }
            return jsonResponse(200, decorate(*s, std::move(**found)));
        }

        // /{entities}/{key}/{foreign field or children}[/{child key}]
        auto parent_found = lookup(*s, key, nullptr);
        if (!parent_found) {
            return errorResponse(parent_found.error());
        }
        const std::string& third = segments[2];
        const schema::Field* foreign = s->field(third);
        if (foreign != nullptr && foreign->type == schema::FieldType::Foreign && n == 3) {
            if (!methods({"GET", "PUT", "PATCH"})) {
                return notAllowed();
            }
            if (!*parent_found) {
                return errorResponse(ApiError::notFound());
            }
            return foreignEndpoint(*s, **parent_found, *foreign, method, body);
        }
        if (s->name == "upstreams" && third == "targets" && n == 4 && segments[3] == "all") {
            if (!methods({"GET"})) {
                return notAllowed();
            }
            if (!*parent_found) {
                return errorResponse(ApiError::notFound());
            }
            Parent parent{s, **parent_found, "upstream"};
            return list(*schema::findSchema("targets"), query, &parent,
                        base + "/" + pathSegment(key) + "/targets/all");
        }
        std::string field;
        const EntitySchema* child = childSchema(*s, third, field);
        if (child == nullptr || n > 4) {
            return errorResponse(ApiError::notFound());
        }
        if (n == 3 && !methods({"GET", "POST"})) {
            return notAllowed();
        }
        if (n == 4 && !methods({"GET", "PUT", "PATCH", "DELETE"})) {
            return notAllowed();
        }
        if (!*parent_found) {
            return errorResponse(ApiError::notFound());
        }
        Parent parent{s, **parent_found, field};
        if (n == 3) {
            if (method == "POST") {
                return create(*child, body.toObject(*child), &parent);
            }
            return list(*child, query, &parent, base + "/" + pathSegment(key) + "/" + third);
        }
        const std::string& child_key = segments[3];
        if (method == "PUT") {
            return upsert(*child, child_key, body.toObject(*child), &parent);
        }
        auto found = lookup(*child, child_key, &parent);
        if (!found) {
            return errorResponse(found.error());
        }
        if (!*found || !isEntityField(**found, field, parent.id())) {
            return errorResponse(ApiError::notFound());
        }
        if (method == "DELETE") {
            return remove(*child, idOf(**found));
        }
        if (method == "PATCH") {
            return patch(*child, **found, body.toObject(*child));
        }
        return jsonResponse(200, decorate(*child, std::move(**found)));
    }

    // /routes/{r}/service and the like.
    HttpResponse foreignEndpoint(const EntitySchema& s, const json::object& entity,
                                 const schema::Field& field, const std::string& method,
                                 const Body& body) {
        const auto* target = schema::findSchema(field.reference);
        auto ref = entity.find(field.name);
        bool has_ref = ref != entity.end() && ref->value().is_object();
        if (method == "GET" || method == "HEAD") {
            if (!has_ref) {
                return errorResponse(ApiError::notFound());
            }
            auto found = store_.get(*target, idOf(ref->value().as_object()));
            if (!found) {
                return errorResponse(found.error());
            }
            if (!*found) {
                return errorResponse(ApiError::notFound());
            }
            return jsonResponse(200, decorate(*target, std::move(**found)));
        }
        if (dbless()) {
            return readOnly(*target, method);
        }
        if (method == "PATCH") {
            if (!has_ref) {
                return errorResponse(ApiError::notFound());
            }
            auto found = store_.get(*target, idOf(ref->value().as_object()));
            if (!found) {
                return errorResponse(found.error());
            }
            if (!*found) {
                return errorResponse(ApiError::notFound());
            }
            return patch(*target, **found, body.toObject(*target));
        }
        // PUT: replace the referenced entity, or create it and point the entity at it.
        if (has_ref) {
            return upsert(*target, idOf(ref->value().as_object()), body.toObject(*target), nullptr);
        }
        auto created = create(*target, body.toObject(*target), nullptr);
        if (created.status != 201) {
            return created;
        }
        auto new_entity = json::parse(created.body).as_object();
        json::object updated = entity;
        updated[field.name] = json::object{{"id", idOf(new_entity)}};
        if (auto stored = store_.update(s, std::move(updated)); !stored) {
            return errorResponse(stored.error());
        }
        changed();
        created.status = 200;
        return created;
    }

    // ---------------------------------------------------------------------------------------
    // Node endpoints

    HttpResponse root() {
        json::object available;
        for (const auto& plugin : schema::knownPlugins()) {
            available[plugin.name] = json::object{{"version", kKongApiVersion},
                                                  {"priority", plugin.priority}};
        }
        json::array enabled_in_cluster;
        if (auto all = store_.loadAll()) {
            std::set<std::string> names;
            if (auto plugins = all->find("plugins"); plugins != all->end()) {
                for (const auto& plugin : plugins->second) {
                    if (auto name = plugin.find("name");
                        name != plugin.end() && name->value().is_string()) {
                        names.emplace(name->value().as_string());
                    }
                }
            }
            for (const auto& name : names) {
                enabled_in_cluster.emplace_back(name);
            }
        }
        json::object configuration;
        for (const auto& [key, value] : core::sanitizedSettings(settings_)) {
            configuration[key] = value;
        }
        json::object body{
            {"tagline", "Welcome to portico"},
            {"version", kKongApiVersion},
            {"portico_version", node_.version.empty() ? kPorticoVersion : node_.version},
            {"edition", "community"},
            {"hostname", node_.hostname},
            {"node_id", node_.node_id},
            {"timers", json::object{{"running", 0}, {"pending", 0}}},
            {"plugins",
             json::object{{"available_on_server", std::move(available)},
                          {"enabled_in_cluster", std::move(enabled_in_cluster)}}},
            {"lua_version", "none"},
            {"configuration", std::move(configuration)},
            {"pids", json::object{{"master", static_cast<std::int64_t>(::getpid())},
                                  {"workers", json::array{}}}},
        };
        return jsonResponse(200, body);
    }

    HttpResponse status() {
        json::object server{{"connections_accepted", 0}, {"connections_active", 0},
                            {"connections_handled", 0},  {"connections_reading", 0},
                            {"connections_waiting", 0},  {"connections_writing", 0},
                            {"total_requests", 0}};
        if (hooks_.server_status) {
            for (auto& [key, value] : hooks_.server_status()) {
                server[key] = value;
            }
        }
        json::object body{{"server", std::move(server)},
                          {"memory", json::object{{"workers_lua_vms", json::array{}},
                                                  {"lua_shared_dicts", json::object{}}}}};
        const bool reachable = store_.reachable();
        auto revision = store_.revision();
        json::object configuration{
            {"revision", revision ? json::value(*revision) : json::value(nullptr)}};
        if (hooks_.served_revision) {
            configuration["served_revision"] = hooks_.served_revision();
        }
        std::string hash;
        if (hooks_.served_hash) {
            hash = hooks_.served_hash();
        } else if (auto all = store_.loadAll()) {
            hash = declarative::configHash(*all);
        }
        configuration["hash"] = hash;
        if (dbless()) {
            // Kong's DB-less shape: no database object, configuration_hash of the configuration
            // loaded by the last POST /config (the snapshot follows it within the debounce).
            if (auto all = store_.loadAll()) {
                body["configuration_hash"] = declarative::configHash(*all);
            }
            body["configuration"] = std::move(configuration);
            return jsonResponse(200, body);
        }
        json::object database{{"strategy", store_.strategy()}, {"reachable", reachable}};
        if (hooks_.database_status) {
            for (auto& [key, value] : hooks_.database_status()) {
                database[key] = value;
            }
        }
        body["database"] = std::move(database);
        body["configuration"] = std::move(configuration);
        return jsonResponse(200, body);
    }

    HttpResponse endpoints() {
        std::vector<std::string> paths = {"/",        "/status", "/endpoints", "/config",
                                          "/tags",    "/tags/{tags}", "/plugins/enabled",
                                          "/schemas/{db_entity_name}",
                                          "/schemas/{db_entity_name}/validate",
                                          "/schemas/plugins/{name}", "/schemas/plugins/validate",
                                          "/upstreams/{upstreams}/targets/all"};
        for (const auto* s : schema::allSchemas()) {
            if (s->admin_path.empty() || s->name == "targets") {
                continue;
            }
            std::string base = "/" + s->admin_path;
            std::string key = "{" + s->admin_path + "}";
            paths.push_back(base);
            paths.push_back(base + "/" + key);
            for (const auto* field : s->foreignFields()) {
                paths.push_back(base + "/" + key + "/" + field->name);
            }
            for (const auto* child : schema::allSchemas()) {
                for (const auto* field : child->foreignFields()) {
                    if (field->reference != s->name) {
                        continue;
                    }
                    std::string nested = child->nested_path.empty() ? child->admin_path
                                                                    : child->nested_path;
                    paths.push_back(base + "/" + key + "/" + nested);
                    paths.push_back(base + "/" + key + "/" + nested + "/{" + nested + "}");
                }
            }
        }
        std::sort(paths.begin(), paths.end());
        paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
        json::array data;
        for (auto& path : paths) {
            data.emplace_back(path);
        }
        return jsonResponse(200, json::object{{"data", std::move(data)}});
    }

    HttpResponse pluginsEnabled() {
        json::array names;
        for (const auto& plugin : schema::knownPlugins()) {
            names.emplace_back(plugin.name);
        }
        return jsonResponse(200, json::object{{"enabled_plugins", std::move(names)}});
    }

    template <class Methods, class NotAllowed>
    HttpResponse schemas(const std::vector<std::string>& segments, const Body& body,
                         Methods& methods, NotAllowed& notAllowed) {
        const std::size_t n = segments.size();
        const auto* plugins = schema::findSchema("plugins");
        if (n == 3 && segments[1] == "plugins" && segments[2] == "validate") {
            if (!methods({"POST"})) {
                return notAllowed();
            }
            return validateOnly(*plugins, body);
        }
        if (n == 3 && segments[1] == "plugins") {
            if (!methods({"GET"})) {
                return notAllowed();
            }
            if (schema::findPlugin(segments[2]) == nullptr) {
                return jsonResponse(
                    404, json::object{{"message", "No plugin named '" + segments[2] + "'"}});
            }
            return jsonResponse(200, schema::schemaToJson(*plugins));
        }
        if (n == 2 || (n == 3 && segments[2] == "validate")) {
            const auto* s = schema::findSchema(segments[1]);
            if (s == nullptr) {
                s = schema::findSchemaByAdminPath(segments[1]);
            }
            if (n == 3) {
                if (!methods({"POST"})) {
                    return notAllowed();
                }
            } else if (!methods({"GET"})) {
                return notAllowed();
            }
            if (s == nullptr) {
                return jsonResponse(
                    404, json::object{{"message", "No entity named '" + segments[1] + "'"}});
            }
            if (n == 3) {
                return validateOnly(*s, body);
            }
            return jsonResponse(200, schema::schemaToJson(*s));
        }
        return errorResponse(ApiError::notFound());
    }

    HttpResponse validateOnly(const EntitySchema& s, const Body& body) {
        auto valid = schema::validateEntity(s, body.toObject(s),
                                            validateOptions(schema::Operation::Insert));
        if (!valid) {
            return errorResponse(valid.error());
        }
        return jsonResponse(200, json::object{{"message", "schema validation successful"}});
    }

    HttpResponse tags(const Query& query, std::optional<std::string> tag) {
        store::TagQuery request;
        request.tag = std::move(tag);
        if (auto invalid = readPaging(query, request.size, request.offset)) {
            return *invalid;
        }
        auto page = store_.tags(request);
        if (!page) {
            return errorResponse(page.error());
        }
        json::array data;
        for (const auto& row : page->data) {
            data.emplace_back(json::object{{"tag", row.tag},
                                           {"entity_name", row.entity_name},
                                           {"entity_id", row.entity_id}});
        }
        json::object body{{"data", std::move(data)}};
        if (page->offset.empty()) {
            body["next"] = nullptr;
        } else {
            std::string base = request.tag ? "/tags/" + boost::urls::encode(
                                                            *request.tag,
                                                            boost::urls::unreserved_chars)
                                           : std::string("/tags");
            body["offset"] = page->offset;
            body["next"] = base + "?offset=" +
                           boost::urls::encode(page->offset, boost::urls::unreserved_chars) +
                           "&size=" + std::to_string(request.size);
        }
        return jsonResponse(200, body);
    }

    // ---------------------------------------------------------------------------------------
    // Configuration history: GET /config/revisions, GET /config/revisions/{n},
    // POST /config/rollback. Revisions are numbered 1, 2, ...; one per write.

    static constexpr std::size_t kChangesListed = 100;  // per revision in the list view
    static constexpr std::size_t kRowsPerRead = 10'000'000;

    static std::string entityLabel(const store::RevisionEntry& row) {
        if (!row.label.empty()) {
            return row.label;
        }
        const auto& doc = row.after ? row.after : row.before;
        if (!doc) {
            return {};
        }
        for (const char* key : {"name", "username", "target", "key", "tag"}) {
            if (const auto* value = doc->if_contains(key); value != nullptr && value->is_string()) {
                return std::string(value->as_string());
            }
        }
        return {};
    }

    static json::object changeSummary(const store::RevisionEntry& row, bool with_documents) {
        json::object change{{"operation", store::toString(row.operation)},
                            {"entity", row.entity},
                            {"id", row.entity_id}};
        if (auto label = entityLabel(row); !label.empty()) {
            change["name"] = label;
        }
        if (with_documents) {
            change["before"] = row.before ? json::value(*row.before) : json::value(nullptr);
            change["after"] = row.after ? json::value(*row.after) : json::value(nullptr);
        }
        return change;
    }

    // Parses a revision number from a path segment or an offset; nullopt if not a positive one.
    static std::optional<std::int64_t> revisionNumber(std::string_view text) {
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value < 1) {
            return std::nullopt;
        }
        return value;
    }

    HttpResponse listRevisions(const Query& query) {
        std::size_t size = 20;
        std::string offset;
        if (auto invalid = readPaging(query, size, offset)) {
            return *invalid;
        }
        auto current = store_.revision();
        if (!current) {
            return errorResponse(current.error());
        }
        std::int64_t upper = *current;
        if (!offset.empty()) {
            auto parsed = revisionNumber(offset);
            if (!parsed) {
                return errorResponse(ApiError::invalidOffset(offset, "not a revision number"));
            }
            upper = std::min(*parsed, *current);
        }
        const std::int64_t oldest = std::max<std::int64_t>(1, *current - store::kRevisionsKept + 1);
        const std::int64_t lower = std::max<std::int64_t>(oldest, upper - static_cast<std::int64_t>(size) + 1);
        json::array data;
        if (upper >= lower) {
            auto rows = store_.revisionSummaries(lower, upper, kRowsPerRead);
            if (!rows) {
                return errorResponse(rows.error());
            }
            // Newest first; rows come oldest first.
            std::map<std::int64_t, json::object, std::greater<>> by_revision;
            for (const auto& row : *rows) {
                auto& entry = by_revision[row.revision];
                if (entry.empty()) {
                    entry = json::object{{"revision", row.revision},
                                         {"created_at", row.at},
                                         {"changes", json::array{}},
                                         {"changes_total", 0}};
                }
                auto& changes = entry["changes"].as_array();
                if (changes.size() < kChangesListed) {
                    changes.emplace_back(changeSummary(row, false));
                }
                entry["changes_total"] = entry["changes_total"].as_int64() + 1;
            }
            for (auto& [revision, entry] : by_revision) {
                data.emplace_back(std::move(entry));
            }
        }
        json::object body{{"data", std::move(data)}, {"revision", *current}};
        if (lower > oldest) {
            body["offset"] = std::to_string(lower - 1);
            body["next"] = "/config/revisions?offset=" + std::to_string(lower - 1) +
                           "&size=" + std::to_string(size);
        } else {
            body["next"] = nullptr;
        }
        return jsonResponse(200, body);
    }

    HttpResponse showRevision(const std::string& segment) {
        auto number = revisionNumber(segment);
        auto current = store_.revision();
        if (!current) {
            return errorResponse(current.error());
        }
        if (!number || *number > *current) {
            return errorResponse(ApiError::notFound());
        }
        if (*number <= *current - store::kRevisionsKept) {
            return jsonResponse(
                404, json::object{{"message", "revision " + segment +
                                                  " is no longer in the history (the last " +
                                                  std::to_string(store::kRevisionsKept) +
                                                  " revisions are kept)"}});
        }
        auto rows = store_.revisionRange(*number, *number, kRowsPerRead);
        if (!rows) {
            return errorResponse(rows.error());
        }
        json::array changes;
        double at = 0;
        for (const auto& row : *rows) {
            at = row.at;
            changes.emplace_back(changeSummary(row, true));
        }
        json::object body{{"revision", *number},
                          {"created_at", rows->empty() ? json::value(nullptr) : json::value(at)},
                          {"changes", std::move(changes)}};
        return jsonResponse(200, body);
    }

    HttpResponse rollback(const Body& body) {
        if (body.kind == Body::Kind::Json) {
            for (const auto& [key, value] : body.object) {
                if (key != "revision") {
                    return errorResponse(ApiError::plain(
                        400, "unknown field '" + std::string(key) +
                                 "': POST /config/rollback takes {\"revision\": n}"));
                }
            }
        }
        const auto* field = body.kind == Body::Kind::Json ? body.object.if_contains("revision")
                                                          : nullptr;
        std::optional<std::int64_t> wanted;
        if (field != nullptr && field->is_int64()) {
            wanted = field->as_int64();
        } else if (field != nullptr && field->is_uint64()) {
            wanted = static_cast<std::int64_t>(std::min<std::uint64_t>(
                field->as_uint64(), static_cast<std::uint64_t>(INT64_MAX)));
        } else if (body.kind == Body::Kind::Form) {
            for (const auto& [key, value] : body.pairs) {
                if (key == "revision") {
                    wanted = revisionNumber(value);
                    if (value == "0") {
                        wanted = 0;
                    }
                }
            }
        }
        if (!wanted || *wanted < 0) {
            return errorResponse(ApiError::plain(
                400, "expected {\"revision\": n} with the revision to restore (an integer >= 0)"));
        }
        auto current = store_.revision();
        if (!current) {
            return errorResponse(current.error());
        }
        const auto target = *wanted;
        if (target >= *current) {
            return errorResponse(ApiError::plain(
                400, "revision " + std::to_string(target) + " is not older than the current "
                     "revision " + std::to_string(*current) + ": nothing to roll back"));
        }
        if (target < *current - store::kRevisionsKept) {
            return errorResponse(ApiError::plain(
                400, "revision " + std::to_string(target) +
                         " is no longer in the history (the last " +
                         std::to_string(store::kRevisionsKept) + " revisions are kept)"));
        }
        auto rows = store_.revisionRange(target + 1, *current, kRowsPerRead);
        auto all = store_.loadAll();
        if (!rows || !all) {
            return errorResponse(!rows ? rows.error() : all.error());
        }
        // Undo every change after `target`, newest first.
        std::map<std::pair<std::string, std::string>, json::object> state;
        for (auto& [table, list] : *all) {
            for (auto& entity : list) {
                state.emplace(std::make_pair(table, idOf(entity)), std::move(entity));
            }
        }
        for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
            const auto key = std::make_pair(it->entity, it->entity_id);
            if (it->before) {
                state[key] = *it->before;
            } else {
                state.erase(key);
            }
        }
        declarative::EntitySet restored;
        for (auto& [key, entity] : state) {
            restored[key.first].push_back(std::move(entity));
        }
        // Only if nobody wrote since `current` was read (409 otherwise): undoing the log over a
        // newer state would mix the two.
        if (auto replaced = store_.replaceAllAt(restored, *current); !replaced) {
            return errorResponse(replaced.error());
        }
        changed();
        auto now = store_.revision();
        core::logger("admin")->info("configuration rolled back restored={} revision={}", target,
                                    now ? *now : -1);
        return jsonResponse(201, json::object{{"revision", now ? json::value(*now)
                                                               : json::value(nullptr)},
                                              {"restored", target}});
    }

    HttpResponse dbOnlyError() {
        return jsonResponse(
            400, json::object{{"message",
                               "this endpoint is only available when Portico is configured to "
                               "not use a database (database = off)"}});
    }

    HttpResponse getConfig() {
        if (!dbless()) {
            return dbOnlyError();
        }
        auto all = store_.loadAll();
        if (!all) {
            return errorResponse(all.error());
        }
        return jsonResponse(
            200, json::object{{"config", declarative::exportConfig(*all,
                                                                   declarative::ExportFormat::Yaml)}});
    }

    HttpResponse postConfig(const HttpRequest& request, const Query& query, const Body& body) {
        if (!dbless()) {
            return dbOnlyError();
        }
        std::string text = request.body;
        if (body.kind == Body::Kind::Form) {
            text.clear();
            for (const auto& [key, value] : body.pairs) {
                if (key == "config") {
                    text = value;
                }
            }
        } else if (body.kind == Body::Kind::Json) {
            // {"config": "<yaml or json text>"} is accepted too.
            if (auto it = body.object.find("config");
                it != body.object.end() && it->value().is_string() &&
                !body.object.contains("_format_version")) {
                text = std::string(it->value().as_string());
            }
        }
        declarative::ParseOptions options;
        options.now = nowSeconds();
        auto parsed = declarative::parse(text, options);
        if (!parsed.ok()) {
            auto error = parsed.toApiError();
            if (query.get("flatten_errors") != std::optional<std::string>("1") &&
                query.get("flatten_errors") != std::optional<std::string>("true")) {
                error.extra.erase("flattened_errors");
            }
            return errorResponse(error);
        }
        if (query.get("check_hash") == std::optional<std::string>("1")) {
            auto current = store_.loadAll();
            if (current && declarative::configHash(*current) ==
                               declarative::configHash(parsed.entities)) {
                return emptyResponse(304);
            }
        }
        if (auto replaced = store_.replaceAll(parsed.entities); !replaced) {
            return errorResponse(replaced.error());
        }
        for (const auto& warning : parsed.warnings) {
            core::logger("admin")->warn("declarative configuration: {}", warning);
        }
        changed();
        json::object result;
        for (const auto& [type, entities] : parsed.entities) {
            json::object by_id;
            for (const auto& entity : entities) {
                by_id[idOf(entity)] = entity;
            }
            result[type] = std::move(by_id);
        }
        if (!parsed.warnings.empty()) {
            json::array warnings;
            for (const auto& warning : parsed.warnings) {
                warnings.emplace_back(warning);
            }
            result["_warnings"] = std::move(warnings);
        }
        return jsonResponse(201, result);
    }

    // ---------------------------------------------------------------------------------------

    // 204 for OPTIONS: the endpoint's verbs, plus HEAD wherever GET is accepted, plus OPTIONS,
    // sorted as Kong lists them.
    static HttpResponse optionsResponse(const HttpRequest& request, const std::string& allow) {
        std::set<std::string> verbs{"OPTIONS"};
        std::size_t start = 0;
        while (start < allow.size()) {
            auto end = allow.find(", ", start);
            if (end == std::string::npos) {
                end = allow.size();
            }
            verbs.insert(allow.substr(start, end - start));
            start = end + 2;
        }
        if (verbs.count("GET") != 0) {
            verbs.insert("HEAD");
        }
        std::string methods;
        for (const auto& verb : verbs) {
            methods += (methods.empty() ? "" : ", ") + verb;
        }
        auto response = emptyResponse(204);
        response.set("Allow", methods);
        response.set("Access-Control-Allow-Methods", methods);
        response.set("Access-Control-Allow-Headers",
                     std::string(request.header("Access-Control-Request-Headers")
                                     .value_or("Content-Type")));
        response.set("Access-Control-Max-Age", "86400");
        return response;
    }

    HttpResponse handle(const HttpRequest& request) {
        auto parsed = boost::urls::parse_origin_form(request.target);
        std::string escaped;
        if (!parsed) {
            escaped = escapeLoosely(request.target);
            parsed = boost::urls::parse_origin_form(escaped);
        }
        HttpResponse response;
        std::string allow;
        if (!parsed) {
            response = jsonResponse(400, json::object{{"message", "Bad request: invalid URI"}});
        } else {
            std::vector<std::string> segments;
            for (auto segment : parsed->segments()) {
                segments.push_back(std::string(segment));
            }
            while (!segments.empty() && segments.back().empty()) {
                segments.pop_back();  // a trailing slash is tolerated
            }
            Query query;
            for (auto param : parsed->params()) {
                query.params.emplace_back(std::string(param.key), std::string(param.value));
            }
            try {
                response = route(request.method, segments, query, request, allow);
                // No endpoint accepts OPTIONS: each one records its verbs in `allow` and answers
                // 405 before doing any work. A path that matches no endpoint leaves `allow`
                // empty and keeps its 404.
                if (request.method == "OPTIONS" && !allow.empty()) {
                    response = optionsResponse(request, allow);
                }
            } catch (const std::exception& e) {
                core::logger("admin")->error("request failed method={} target={} error={}",
                                             request.method, request.target, e.what());
                response = errorResponse(ApiError::unexpected());
            }
        }
        response.set("Server", "portico/" + std::string(kPorticoVersion));
        if (auto origin = request.header("Origin")) {
            response.set("Access-Control-Allow-Origin", std::string(*origin));
            response.set("Access-Control-Allow-Credentials", "true");
            response.set("Vary", "Origin");
        } else {
            response.set("Access-Control-Allow-Origin", "*");
        }
        return response;
    }
};

AdminApi::AdminApi(store::Store& store, const core::Settings& settings, NodeInfo node,
                   AdminHooks hooks)
    : impl_(std::make_unique<Impl>(store, settings, std::move(node), std::move(hooks))) {}

AdminApi::~AdminApi() = default;

http::HttpResponse AdminApi::handle(const http::HttpRequest& request) {
    return impl_->handle(request);
}

}  // namespace portico::admin
