#include "common/schema.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>

namespace portico::schema {

namespace {

bool isPosition(std::string_view segment) {
    return !segment.empty() && segment.size() < 10 && segment[0] != '0' &&
           std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Kong's errors are Lua tables that lua-cjson encodes: a table whose keys are 1..n becomes a
// JSON array; cjson also encodes moderately sparse tables (highest index <= 10) as arrays with
// null holes. Beyond that we keep an object keyed by the 1-based position ("12": "msg"), which
// is what Kong does with encode_sparse_array(true).
constexpr std::size_t kSparseArraySafe = 10;

json::value finish(json::value node) {
    if (!node.is_object()) {
        return node;
    }
    auto& obj = node.as_object();
    for (auto& kv : obj) {
        if (kv.key() != "@entity") {
            kv.value() = finish(std::move(kv.value()));
        }
    }
    if (obj.empty() || !std::all_of(obj.begin(), obj.end(),
                                    [](const auto& kv) { return isPosition(kv.key()); })) {
        return node;
    }
    std::size_t highest = 0;
    for (const auto& kv : obj) {
        highest = std::max<std::size_t>(highest, std::stoul(std::string(kv.key())));
    }
    if (highest > kSparseArraySafe && highest != obj.size()) {
        return node;
    }
    json::array arr(highest, nullptr);
    for (auto& kv : obj) {
        arr[std::stoul(std::string(kv.key())) - 1] = std::move(kv.value());
    }
    return arr;
}

json::value numberValue(double value) {
    if (std::floor(value) == value && std::fabs(value) < 1e18) {
        return static_cast<std::int64_t>(value);
    }
    return value;
}

const char* typeName(FieldType type) {
    switch (type) {
    case FieldType::String:
        return "string";
    case FieldType::Integer:
        return "integer";
    case FieldType::Number:
        return "number";
    case FieldType::Boolean:
        return "boolean";
    case FieldType::Array:
        return "array";
    case FieldType::Set:
        return "set";
    case FieldType::Map:
        return "map";
    case FieldType::Record:
        return "record";
    case FieldType::Foreign:
        return "foreign";
    case FieldType::Any:
        return "json";
    }
    return "string";
}

json::object fieldToJson(const Field& field);

json::array fieldsToJson(const std::vector<Field>& fields) {
    json::array out;
    for (const auto& f : fields) {
        if (f.transient) {
            continue;  // shorthands (service url) and inputs that are not stored
        }
        json::object entry;
        entry[f.name] = fieldToJson(f);
        out.push_back(std::move(entry));
    }
    return out;
}

json::object fieldToJson(const Field& field) {
    json::object out;
    out["type"] = typeName(field.type);
    if (field.format == Format::Uuid) {
        out["uuid"] = true;
    }
    if (field.format == Format::Timestamp || field.format == Format::TimestampMs) {
        out["timestamp"] = true;
    }
    if (field.auto_generated) {
        out["auto"] = true;
    }
    if (field.required) {
        out["required"] = true;
    } else if (field.unique) {
        out["required"] = false;
    }
    if (field.unique) {
        out["unique"] = true;
    }
    if (field.default_value) {
        out["default"] = fieldDefault(field);
    }
    if (!field.one_of.empty()) {
        json::array values;
        for (const auto& v : field.one_of) {
            if (field.type == FieldType::Integer) {
                values.push_back(static_cast<std::int64_t>(std::stoll(v)));
            } else {
                values.push_back(json::string(v));
            }
        }
        out["one_of"] = std::move(values);
    }
    if (field.min || field.max) {
        out["between"] = json::array{field.min ? numberValue(*field.min) : json::value(nullptr),
                                     field.max ? numberValue(*field.max) : json::value(nullptr)};
    }
    if (field.len_min) {
        out["len_min"] = static_cast<std::uint64_t>(*field.len_min);
    }
    if (field.max_elements) {
        out["len_max"] = static_cast<std::uint64_t>(*field.max_elements);
    }
    if (field.type == FieldType::Map) {
        if (field.keys) {
            out["keys"] = fieldToJson(*field.keys);
        }
        if (field.elements) {
            out["values"] = fieldToJson(*field.elements);
        }
    } else if (field.elements) {
        out["elements"] = fieldToJson(*field.elements);
    }
    if (field.type == FieldType::Record) {
        out["fields"] = fieldsToJson(field.fields);
    }
    if (field.type == FieldType::Foreign) {
        out["reference"] = field.reference;
        if (field.on_delete == OnDelete::Cascade) {
            out["on_delete"] = "cascade";
        }
    }
    if (!field.description.empty()) {
        out["description"] = field.description;
    }
    return out;
}

struct Registry {
    std::vector<EntitySchema> storage;
    std::vector<const EntitySchema*> ordered;
};

const Registry& registry() {
    static const Registry reg = [] {
        Registry r;
        r.storage = detail::buildSchemas();
        for (const auto& s : r.storage) {
            r.ordered.push_back(&s);
        }
        return r;
    }();
    return reg;
}

}  // namespace

// --- ErrorTree ------------------------------------------------------------------------------

void ErrorTree::add(const std::vector<std::string>& path, std::string message,
                    Tolerance tolerance) {
    // One message per location, as Kong keeps one error per field.
    for (const auto& e : fields_) {
        if (e.path == path) {
            return;
        }
    }
    fields_.push_back(Entry{path, std::move(message), tolerance, adds_++});
}

void ErrorTree::addEntity(std::string message, Tolerance tolerance) {
    if (std::none_of(entity_.begin(), entity_.end(),
                     [&](const Entry& e) { return e.message == message; })) {
        entity_.push_back(Entry{{}, std::move(message), tolerance, adds_++});
    }
}

std::vector<ErrorTree::Tolerated> ErrorTree::takeTolerated() {
    std::vector<Entry> taken;
    for (auto* list : {&entity_, &fields_}) {
        const auto kept = std::stable_partition(list->begin(), list->end(), [](const Entry& e) {
            return e.tolerance == Tolerance::None;
        });
        std::move(kept, list->end(), std::back_inserter(taken));
        list->erase(kept, list->end());
    }
    std::sort(taken.begin(), taken.end(),
              [](const Entry& a, const Entry& b) { return a.order < b.order; });
    std::vector<Tolerated> out;
    out.reserve(taken.size());
    for (auto& e : taken) {
        out.push_back(Tolerated{std::move(e.path), std::move(e.message), e.tolerance});
    }
    return out;
}

std::size_t ErrorTree::count() const { return fields_.size() + entity_.size(); }

bool ErrorTree::hasFieldError(std::string_view field) const {
    return std::any_of(fields_.begin(), fields_.end(), [&](const Entry& e) {
        return !e.path.empty() && e.path.front() == field;
    });
}

json::object ErrorTree::toFields() const {
    json::object root;
    for (const auto& e : fields_) {
        if (e.path.empty()) {
            continue;
        }
        json::object* node = &root;
        bool blocked = false;
        for (std::size_t i = 0; i + 1 < e.path.size(); ++i) {
            auto& child = (*node)[e.path[i]];
            if (child.is_null()) {
                child = json::object();
            }
            if (!child.is_object()) {
                blocked = true;  // a message already sits at a parent location
                break;
            }
            node = &child.as_object();
        }
        if (blocked) {
            continue;
        }
        const auto& last = e.path.back();
        if (last == "@entity") {
            auto& list = (*node)["@entity"];
            if (!list.is_array()) {
                list = json::array();
            }
            list.as_array().push_back(json::string(e.message));
        } else if (!node->contains(last)) {
            (*node)[last] = e.message;
        }
    }
    json::value finished = finish(std::move(root));
    json::object out = finished.is_object() ? std::move(finished.as_object()) : json::object();
    if (!entity_.empty()) {
        json::array list;
        for (const auto& e : entity_) {
            list.push_back(json::string(e.message));
        }
        out["@entity"] = std::move(list);
    }
    return out;
}

std::string ErrorTree::message() const {
    std::vector<std::string> field_messages;
    for (const auto& e : fields_) {
        std::string path;
        for (const auto& segment : e.path) {
            if (segment == "@entity") {
                continue;
            }
            if (!path.empty()) {
                path += '.';
            }
            path += segment;
        }
        field_messages.push_back(path.empty() ? e.message : path + ": " + e.message);
    }
    std::sort(field_messages.begin(), field_messages.end());
    std::vector<std::string> all;
    for (const auto& e : entity_) {
        all.push_back(e.message);
    }
    all.insert(all.end(), field_messages.begin(), field_messages.end());
    std::string joined;
    for (const auto& m : all) {
        if (!joined.empty()) {
            joined += "; ";
        }
        joined += m;
    }
    if (all.size() == 1) {
        return "schema violation (" + joined + ")";
    }
    return std::to_string(all.size()) + " schema violations (" + joined + ")";
}

// --- EntitySchema ---------------------------------------------------------------------------

const Field* EntitySchema::field(std::string_view field_name) const {
    for (const auto& f : fields) {
        if (f.name == field_name) {
            return &f;
        }
    }
    return nullptr;
}

std::vector<const Field*> EntitySchema::foreignFields() const {
    std::vector<const Field*> out;
    for (const auto& f : fields) {
        if (f.type == FieldType::Foreign) {
            out.push_back(&f);
        }
    }
    return out;
}

const std::vector<const EntitySchema*>& allSchemas() { return registry().ordered; }

const EntitySchema* findSchema(std::string_view name) {
    for (const auto* s : allSchemas()) {
        if (s->name == name) {
            return s;
        }
    }
    return nullptr;
}

const EntitySchema* findSchemaByAdminPath(std::string_view admin_path) {
    for (const auto* s : allSchemas()) {
        if (s->admin_path == admin_path) {
            return s;
        }
    }
    return nullptr;
}

json::value fieldDefault(const Field& field) {
    if (!field.default_value) {
        return nullptr;
    }
    if (field.type != FieldType::Record || !field.default_value->is_object()) {
        return *field.default_value;
    }
    json::object out = field.default_value->as_object();
    for (const auto& sub : field.fields) {
        if (!out.contains(sub.name)) {
            out[sub.name] = fieldDefault(sub);
        }
    }
    return out;
}

json::object schemaToJson(const EntitySchema& schema) {
    json::object out;
    out["fields"] = fieldsToJson(schema.fields);
    out["entity_checks"] = schema.entity_checks_json;
    return out;
}

// --- plugins --------------------------------------------------------------------------------

const std::vector<PluginInfo>& knownPlugins() {
    // Kong 3.10 bundled plugins and priorities (kong-compat.md §7.2), highest first.
    static const std::vector<PluginInfo> plugins = {
        {"pre-function", 1000000},
        {"correlation-id", 100001},
        {"zipkin", 100000},
        {"bot-detection", 2500},
        {"cors", 2000},
        {"session", 1900},
        {"acme", 1705},
        {"jwt", 1450},
        {"oauth2", 1400},
        {"key-auth", 1250},
        {"ldap-auth", 1200},
        {"basic-auth", 1100},
        {"hmac-auth", 1030},
        {"grpc-gateway", 998},
        {"ip-restriction", 990},
        {"request-size-limiting", 951},
        {"acl", 950},
        {"rate-limiting", 910},
        {"response-ratelimiting", 900},
        {"request-transformer", 801},
        {"response-transformer", 800},
        {"redirect", 779},
        {"ai-request-transformer", 777},
        {"ai-prompt-template", 773},
        {"ai-prompt-decorator", 772},
        {"ai-prompt-guard", 771},
        {"ai-proxy", 770},
        {"ai-response-transformer", 768},
        {"standard-webhooks", 760},
        {"aws-lambda", 750},
        {"azure-functions", 749},
        {"proxy-cache", 100},
        {"opentelemetry", 14},
        {"prometheus", 13},
        {"http-log", 12},
        {"statsd", 11},
        {"datadog", 10},
        {"file-log", 9},
        {"udp-log", 8},
        {"tcp-log", 7},
        {"loggly", 6},
        {"syslog", 4},
        {"grpc-web", 3},
        {"request-termination", 2},
        {"post-function", -1000},
    };
    return plugins;
}

const PluginInfo* findPlugin(std::string_view name) {
    for (const auto& p : knownPlugins()) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

}  // namespace portico::schema
