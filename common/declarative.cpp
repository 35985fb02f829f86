// Kong's declarative configuration: YAML/JSON text -> flat, validated entity lists, and back.
// kong-compat.md §6.3. The loader works in passes over the whole file:
//   1. YAML -> JSON (types resolved the YAML 1.2 core way, line of every node remembered);
//   2. flatten: nested children pulled out of their parents, metadata stripped, 1.1/2.1 paths
//      upgraded;
//   3. per entity type in schema::allSchemas() order (parents first): references resolved to
//      {"id": ...} and missing ids derived;
//   4. every entity validated by schema::validateEntity, errors mapped to file paths;
//   5. duplicate ids and unique keys across the file.
#include "common/declarative.hpp"

#include "common/schema.hpp"
#include "common/validation.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace portico::declarative {

namespace {

// Guards against hostile input: alias expansion ("billion laughs") and deep nesting.
constexpr std::size_t kMaxNodes = 1'000'000;
constexpr std::size_t kMaxDepth = 256;

// Keys of decK's file format that Kong itself does not read; accepted and reported.
constexpr std::array<std::string_view, 5> kDeckMetadata = {"_ignore", "_konnect", "_info",
                                                           "_workspace", "_plugin_configs"};

// Kong entity tables that may appear nested in a consumer (or at the top level) and that Portico
// has no schema for. Anything else ending in "_credentials" is treated the same way.
constexpr std::array<std::string_view, 6> kForeignCollections = {
    "hmacauth_credentials",  "oauth2_credentials",         "oauth2_tokens",
    "mtls_auth_credentials", "oauth2_authorization_codes", "consumer_group_consumers"};

// ---------------------------------------------------------------------------------------------
// Paths and small helpers

std::string joinKey(const std::string& path, std::string_view key) {
    if (path.empty()) {
        return std::string(key);
    }
    std::string out = path;
    out += '.';
    out += key;
    return out;
}

std::string joinIndex(const std::string& path, std::size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

struct PathSegment {
    std::string key;  // empty for an index segment
    std::size_t index = 0;
    bool is_index = false;
};

// "services[2].routes[0].paths[1]" -> services, 2, routes, 0, paths, 1.
std::vector<PathSegment> splitPath(std::string_view path) {
    std::vector<PathSegment> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '.') {
            ++i;
            continue;
        }
        if (path[i] == '[') {
            const auto close = path.find(']', i);
            if (close == std::string_view::npos) {
                break;
            }
            PathSegment seg;
            seg.is_index = true;
            std::from_chars(path.data() + i + 1, path.data() + close, seg.index);
            out.push_back(seg);
            i = close + 1;
            continue;
        }
        const auto end = path.find_first_of(".[", i);
        PathSegment seg;
        seg.key = std::string(path.substr(i, end == std::string_view::npos ? end : end - i));
        out.push_back(std::move(seg));
        i = end == std::string_view::npos ? path.size() : end;
    }
    return out;
}

std::string joinSegments(const std::vector<PathSegment>& segments, std::size_t from,
                         std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to; ++i) {
        out = segments[i].is_index ? joinIndex(out, segments[i].index)
                                   : joinKey(out, segments[i].key);
    }
    return out;
}

std::string asString(const json::value& value) {
    if (const auto* s = value.if_string()) {
        return std::string(*s);
    }
    return json::serialize(value);
}

const json::string* stringField(const json::object& object, std::string_view key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : it->value().if_string();
}

// Lua-table rendering, as Kong prints values and error tables in messages: {name="x",n=1}.
void luaish(const json::value& value, std::string& out) {
    switch (value.kind()) {
        case json::kind::null:
            out += "null";
            return;
        case json::kind::string:
            out += json::serialize(value);
            return;
        case json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : value.get_object()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                const std::string_view key = kv.key();
                const bool identifier =
                    !key.empty() &&
                    std::all_of(key.begin(), key.end(),
                                [](char c) {
                                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                                }) &&
                    !std::isdigit(static_cast<unsigned char>(key.front()));
                if (identifier) {
                    out += key;
                } else {
                    out += "[" + json::serialize(json::value(key)) + "]";
                }
                out += '=';
                luaish(kv.value(), out);
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            const auto& array = value.get_array();
            const bool dense = std::none_of(array.begin(), array.end(),
                                            [](const json::value& v) { return v.is_null(); });
            out += '{';
            bool first = true;
            for (std::size_t i = 0; i < array.size(); ++i) {
                if (array[i].is_null()) {
                    continue;
                }
                if (!first) {
                    out += ',';
                }
                first = false;
                if (!dense) {
                    out += "[" + std::to_string(i + 1) + "]=";  // Lua positions are 1-based
                }
                luaish(array[i], out);
            }
            out += '}';
            return;
        }
        default:
            out += json::serialize(value);
            return;
    }
}

std::string luaish(const json::value& value) {
    std::string out;
    luaish(value, out);
    return out;
}

// A copy with object keys sorted, recursively: the canonical form used for hashing and export.
json::value sortedCopy(const json::value& value) {
    if (const auto* object = value.if_object()) {
        std::vector<const json::key_value_pair*> pairs;
        pairs.reserve(object->size());
        for (const auto& kv : *object) {
            pairs.push_back(&kv);
        }
        std::sort(pairs.begin(), pairs.end(),
                  [](const auto* a, const auto* b) { return a->key() < b->key(); });
        json::object out;
        out.reserve(pairs.size());
        for (const auto* kv : pairs) {
            out.emplace(kv->key(), sortedCopy(kv->value()));
        }
        return out;
    }
    if (const auto* array = value.if_array()) {
        json::array out;
        out.reserve(array->size());
        for (const auto& item : *array) {
            out.push_back(sortedCopy(item));
        }
        return out;
    }
    return value;
}

// ---------------------------------------------------------------------------------------------
// YAML -> JSON

// Plain (unquoted) scalars resolved as the YAML 1.2 core schema does; yaml-cpp itself already
// turns null, ~ and empty values into Null nodes. Words such as yes/no/on/off stay strings.
std::optional<json::value> resolveNumber(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::string_view body = text;
    bool negative = false;
    if (body.front() == '+' || body.front() == '-') {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    if (body.empty()) {
        return std::nullopt;
    }
    const auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
    // .inf / .nan
    if (body == ".inf" || body == ".Inf" || body == ".INF") {
        return json::value(negative ? -HUGE_VAL : HUGE_VAL);
    }
    if (text == ".nan" || text == ".NaN" || text == ".NAN") {
        return json::value(std::nan(""));
    }
    // 0x.. and 0o..
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
        const int base = text[1] == 'x' ? 16 : 8;
        std::uint64_t v = 0;
        const auto r = std::from_chars(text.data() + 2, text.data() + text.size(), v, base);
        if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
            return std::nullopt;
        }
        if (v <= static_cast<std::uint64_t>(INT64_MAX)) {
            return json::value(static_cast<std::int64_t>(v));
        }
        return json::value(v);
    }
    if (std::all_of(body.begin(), body.end(), isDigit)) {
        std::int64_t v = 0;
        const std::string_view signed_text = negative ? text : body;
        auto r = std::from_chars(signed_text.data(), signed_text.data() + signed_text.size(), v);
        if (r.ec == std::errc() && r.ptr == signed_text.data() + signed_text.size()) {
            return json::value(v);
        }
        if (!negative) {
            std::uint64_t u = 0;
            r = std::from_chars(body.data(), body.data() + body.size(), u);
            if (r.ec == std::errc() && r.ptr == body.data() + body.size()) {
                return json::value(u);
            }
        }
        double d = 0;
        r = std::from_chars(body.data(), body.data() + body.size(), d);
        if (r.ec == std::errc()) {
            return json::value(negative ? -d : d);
        }
        return std::nullopt;
    }
    // [0-9]* ( . [0-9]* )? ( [eE] [-+]? [0-9]+ )?, with at least one mantissa digit
    std::size_t i = 0;
    std::size_t mantissa_digits = 0;
    while (i < body.size() && isDigit(body[i])) {
        ++i;
        ++mantissa_digits;
    }
    if (i < body.size() && body[i] == '.') {
        ++i;
        while (i < body.size() && isDigit(body[i])) {
            ++i;
            ++mantissa_digits;
        }
    }
    if (mantissa_digits == 0) {
        return std::nullopt;
    }
    if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-')) {
            ++i;
        }
        std::size_t exponent_digits = 0;
        while (i < body.size() && isDigit(body[i])) {
            ++i;
            ++exponent_digits;
        }
        if (exponent_digits == 0) {
            return std::nullopt;
        }
    }
    if (i != body.size()) {
        return std::nullopt;
    }
    double d = 0;
    const auto r = std::from_chars(body.data(), body.data() + body.size(), d);
    if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) {
        return std::nullopt;
    }
    return json::value(negative ? -d : d);
}

json::value resolvePlain(const std::string& text) {
    if (text == "true" || text == "True" || text == "TRUE") {
        return json::value(true);
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return json::value(false);
    }
    if (auto number = resolveNumber(text)) {
        return *number;
    }
    return json::value(text);
}

struct DocumentError {
    std::string path;
    std::string message;
    int line = 0;
};

class YamlToJson {
public:
    YamlToJson(std::unordered_map<std::string, int>& lines, std::vector<std::string>& warnings)
        : lines_(lines), warnings_(warnings) {}

    json::value convert(const YAML::Node& node, const std::string& path, std::size_t depth) {
        const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
        if (++nodes_ > kMaxNodes) {
            throw DocumentError{path,
                                "too many values in the configuration (more than " +
                                    std::to_string(kMaxNodes) + ")",
                                line};
        }
        if (depth > kMaxDepth) {
            throw DocumentError{path, "configuration nested too deeply", line};
        }
        if (line > 0) {
            lines_.try_emplace(path, line);
        }
        switch (node.Type()) {
            case YAML::NodeType::Null:
            case YAML::NodeType::Undefined:
                return nullptr;
            case YAML::NodeType::Scalar:
                return scalar(node);
            case YAML::NodeType::Sequence: {
                json::array array;
                array.reserve(node.size());
                std::size_t index = 0;
                for (const auto& child : node) {
                    array.push_back(convert(child, joinIndex(path, index++), depth + 1));
                }
                return array;
            }
            case YAML::NodeType::Map:
                return map(node, path, depth, line);
        }
        return nullptr;
    }

private:
    static json::value scalar(const YAML::Node& node) {
        const std::string& tag = node.Tag();
        const std::string& text = node.Scalar();
        // "!" is the tag of quoted and block scalars: always strings.
        if (tag == "!" || tag == "tag:yaml.org,2002:str") {
            return json::value(text);
        }
        return resolvePlain(text);
    }

    static std::string keyText(const YAML::Node& key, const std::string& path, int line) {
        if (key.IsScalar()) {
            return key.Scalar();
        }
        if (key.IsNull()) {
            return "null";
        }
        throw DocumentError{path, "mapping keys must be scalars", line};
    }

    json::value map(const YAML::Node& node, const std::string& path, std::size_t depth, int line) {
        json::object object;
        std::vector<YAML::Node> merges;
        for (const auto& kv : node) {
            const int key_line = kv.first.Mark().line >= 0 ? kv.first.Mark().line + 1 : line;
            std::string key = keyText(kv.first, path, key_line);
            if (key == "<<" && kv.first.Tag() == "?") {
                merges.push_back(kv.second);  // YAML merge key, applied after explicit keys
                continue;
            }
            const std::string child_path = joinKey(path, key);
            lines_.try_emplace(child_path, key_line);  // errors point at the key's line
            json::value value = convert(kv.second, child_path, depth + 1);
            if (object.contains(key)) {
                // YAML forbids it; Kong's reader keeps the last value, and so does Portico.
                warnings_.push_back(child_path + ": duplicate key at line " +
                                    std::to_string(key_line) + ", the last value is used");
                object[key] = std::move(value);
                continue;
            }
            object.emplace(key, std::move(value));
        }
        for (const auto& merge : merges) {
            std::vector<YAML::Node> sources;
            if (merge.IsSequence()) {
                for (const auto& item : merge) {
                    sources.push_back(item);
                }
            } else {
                sources.push_back(merge);
            }
            for (const auto& source : sources) {
                if (!source.IsMap()) {
                    throw DocumentError{path, "merge key '<<' expects a mapping", line};
                }
                json::value merged = map(source, path, depth + 1, line);
                for (auto& kv : merged.get_object()) {
                    if (!object.contains(kv.key())) {
                        object.emplace(kv.key(), std::move(kv.value()));
                    }
                }
            }
        }
        return object;
    }

    std::unordered_map<std::string, int>& lines_;
    std::vector<std::string>& warnings_;
    std::size_t nodes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Loading

struct Proto {
    const schema::EntitySchema* schema = nullptr;
    std::string path;          // where it is in the file
    json::object input;        // its fields, nested collections removed
    int parent = -1;           // index of the entity it is nested in
    std::string parent_field;  // foreign field that the nesting sets ("service")
    std::string id;
    bool unresolved = false;             // a reference failed: not validated
    std::optional<json::object> entity;  // validated and normalized
};

const schema::Field* foreignTo(const schema::EntitySchema& child, std::string_view parent) {
    for (const auto* field : child.foreignFields()) {
        if (field->reference == parent) {
            return field;
        }
    }
    return nullptr;
}

bool isForeignCollection(std::string_view key) {
    return std::find(kForeignCollections.begin(), kForeignCollections.end(), key) !=
               kForeignCollections.end() ||
           (key.size() > 12 && key.substr(key.size() - 12) == "_credentials");
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

class Loader {
public:
    Loader(const ParseOptions& options, ParseResult& result,
           const std::unordered_map<std::string, int>& lines)
        : options_(options), result_(result), lines_(lines) {}

    void run(json::value& root) {
        auto* top = root.if_object();
        if (!top) {
            error("", "expected an object with '_format_version' and lists of entities");
            return;
        }
        if (!readHeader(*top)) {
            return;
        }
        for (auto& kv : *top) {
            const std::string key = kv.key();
            if (key == "_format_version" || key == "_transform" || key == "_comment") {
                continue;
            }
            if (key == "_plugin_configs") {
                warn("_plugin_configs: decK metadata, used only to resolve plugins' '_config'");
                continue;
            }
            if (std::find(kDeckMetadata.begin(), kDeckMetadata.end(), key) != kDeckMetadata.end()) {
                warn(key + ": decK metadata, ignored");
                continue;
            }
            if (!key.empty() && key.front() == '_') {
                warn(key + ": unknown metadata key, ignored");
                continue;
            }
            if (const auto* s = schema::findSchema(key)) {
                flattenList(*s, kv.value(), key, -1, "");
                continue;
            }
            noteUnsupported(key, kv.value());
        }
        for (const auto& [key, count] : unsupported_) {
            warn(key + ": " + plural(count, "entity", "entities") +
                 " not supported by Portico, ignored");
        }
        resolveAll();
        validateAll();
        checkUniqueness();
        warnUnknownPlugins();
        for (const auto& proto : protos_) {
            warnVaultReferences(json::value(proto.input), proto.path);
        }
        if (result_.errors.empty()) {
            for (auto& proto : protos_) {
                if (proto.entity) {
                    result_.entities[proto.schema->name].push_back(std::move(*proto.entity));
                }
            }
        }
    }

private:
    // --- header -------------------------------------------------------------------------------

    bool readHeader(const json::object& top) {
        const auto version = top.find("_format_version");
        if (version == top.end() || version->value().is_null()) {
            error("_format_version", "required field missing");
        } else if (!version->value().is_string()) {
            error("_format_version", "expected a string");
        } else {
            const std::string v(version->value().get_string());
            if (v != "1.1" && v != "2.1" && v != "3.0") {
                error("_format_version", "expected one of: 1.1, 2.1, 3.0");
            } else {
                result_.format_version = v;
                upgrade_ = v != "3.0";
            }
        }
        const auto transform = top.find("_transform");
        if (transform != top.end() && !transform->value().is_null()) {
            if (!transform->value().is_bool()) {
                error("_transform", "expected a boolean");
            } else {
                transform_ = transform->value().get_bool();
            }
        }
        const auto configs = top.find("_plugin_configs");
        if (configs != top.end()) {
            if (const auto* object = configs->value().if_object()) {
                plugin_configs_ = *object;
            }
        }
        return result_.errors.empty();
    }

    // --- flattening ---------------------------------------------------------------------------

    void noteUnsupported(const std::string& key, const json::value& value) {
        std::size_t count = 1;
        if (const auto* array = value.if_array()) {
            count = array->size();
        } else if (value.is_null()) {
            count = 0;
        }
        auto it = std::find_if(unsupported_.begin(), unsupported_.end(),
                               [&](const auto& entry) { return entry.first == key; });
        if (it == unsupported_.end()) {
            unsupported_.emplace_back(key, count);
        } else {
            it->second += count;
        }
    }

    void flattenList(const schema::EntitySchema& s, json::value& list, const std::string& path,
                     int parent, const std::string& parent_field) {
        if (list.is_null()) {
            return;
        }
        auto* array = list.if_array();
        if (!array) {
            error(path, "expected an array");
            return;
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            const std::string item_path = joinIndex(path, i);
            json::value& item = (*array)[i];
            if (s.name == "snis" && item.is_string()) {
                // certificates: {snis: ["a.example"]}, the Admin API's shape
                item = json::object{{"name", item}};
            }
            auto* object = item.if_object();
            if (!object) {
                error(item_path, "expected a record");
                continue;
            }
            flattenEntity(s, std::move(*object), item_path, parent, parent_field);
        }
    }

    void flattenEntity(const schema::EntitySchema& s, json::object object, const std::string& path,
                       int parent, const std::string& parent_field) {
        stripMetadata(s, object, path);
        if (parent >= 0) {
            object.erase(parent_field);  // the nesting decides
        }
        if (upgrade_ && s.name == "routes") {
            upgradePaths(object);
        }
        const int index = static_cast<int>(protos_.size());
        protos_.push_back(Proto{&s, path, {}, parent, parent_field, {}, false, std::nullopt});

        std::vector<std::string> keys;
        for (const auto& kv : object) {
            keys.emplace_back(kv.key());
        }
        for (const auto& key : keys) {
            const auto* child = schema::findSchema(key);
            const schema::Field* link = child && child != &s ? foreignTo(*child, s.name) : nullptr;
            if (link) {
                json::value children = std::move(object[key]);
                object.erase(key);
                flattenList(*child, children, joinKey(path, key), index, link->name);
            } else if (!child && isForeignCollection(key) &&
                       (object[key].is_array() || object[key].is_null())) {
                noteUnsupported(key, object[key]);
                object.erase(key);
            }
        }
        protos_[static_cast<std::size_t>(index)].input = std::move(object);
    }

    void stripMetadata(const schema::EntitySchema& s, json::object& object,
                       const std::string& path) {
        object.erase("_comment");
        if (object.contains("_ignore")) {
            warn(joinKey(path, "_ignore") + ": decK metadata, ignored");
            object.erase("_ignore");
        }
        if (s.name == "consumers" && object.contains("groups")) {
            warn(joinKey(path, "groups") +
                 ": consumer groups are not supported by Portico, membership ignored");
            object.erase("groups");
        }
        if (s.name == "plugins" && object.contains("_config")) {
            applyPluginConfig(object, path);
            object.erase("_config");
        }
    }

    // decK's `_config: <name>` names an entry of the top-level `_plugin_configs`; decK fills the
    // plugin's config from it before talking to Kong, the plugin's own keys winning.
    void applyPluginConfig(json::object& plugin, const std::string& path) {
        const json::value& ref = plugin["_config"];
        const std::string name = asString(ref);
        const auto found = plugin_configs_.find(name);
        if (!ref.is_string() || found == plugin_configs_.end() || !found->value().is_object()) {
            warn(joinKey(path, "_config") + ": decK reference '" + name +
                 "' not found in _plugin_configs, ignored");
            return;
        }
        json::object merged = found->value().get_object();
        if (const auto it = plugin.find("config"); it != plugin.end()) {
            if (const auto* own = it->value().if_object()) {
                for (const auto& kv : *own) {
                    merged[kv.key()] = kv.value();
                }
            }
        }
        plugin["config"] = std::move(merged);
        warn(joinKey(path, "_config") + ": decK reference '" + name +
             "' applied from _plugin_configs");
    }

    // Formats 1.1 and 2.1 had no `~` marker: Kong 3.0 prefixes every path that is not a plain
    // prefix (any character outside [a-zA-Z0-9.-_~/%]) so it keeps being matched as a regex.
    static void upgradePaths(json::object& route) {
        const auto it = route.find("paths");
        if (it == route.end() || !it->value().is_array()) {
            return;
        }
        for (auto& path : it->value().get_array()) {
            auto* text = path.if_string();
            if (!text) {
                continue;
            }
            const bool plain = std::all_of(text->begin(), text->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                       c == '_' || c == '~' || c == '/' || c == '%';
            });
            if (!plain) {
                path = "~" + std::string(*text);
            }
        }
    }

    // --- references and ids -------------------------------------------------------------------

    void resolveAll() {
        std::vector<const schema::EntitySchema*> order = schema::allSchemas();
        for (const auto& proto : protos_) {  // schemas findSchema knows but allSchemas omits
            if (std::find(order.begin(), order.end(), proto.schema) == order.end()) {
                order.push_back(proto.schema);
            }
        }
        for (const auto* s : order) {
            for (std::size_t i = 0; i < protos_.size(); ++i) {
                if (protos_[i].schema == s) {
                    resolve(i);
                }
            }
            if (!s->endpoint_key.empty()) {
                for (std::size_t i = 0; i < protos_.size(); ++i) {
                    if (protos_[i].schema != s) {
                        continue;
                    }
                    if (const auto* key = stringField(protos_[i].input, s->endpoint_key)) {
                        by_key_[s->name].try_emplace(std::string(*key), i);
                    }
                }
            }
        }
    }

    void resolve(std::size_t index) {
        Proto& proto = protos_[index];
        followAliases(proto);
        for (const auto* field : proto.schema->foreignFields()) {
            if (proto.parent >= 0 && field->name == proto.parent_field) {
                proto.input[field->name] =
                    json::object{{"id", protos_[static_cast<std::size_t>(proto.parent)].id}};
                continue;
            }
            const auto it = proto.input.find(field->name);
            if (it == proto.input.end() || it->value().is_null()) {
                continue;
            }
            if (auto id = resolveReference(*field, it->value())) {
                it->value() = json::object{{"id", *id}};
            } else {
                error(joinKey(proto.path, field->name),
                      "invalid reference '" + field->name + ": " +
                          (it->value().is_string() ? std::string(it->value().get_string())
                                                   : luaish(it->value())) +
                          "' could not be resolved (no such entry in '" + field->reference + "')");
                proto.unresolved = true;
            }
        }
        const auto id = proto.input.find("id");
        if (id != proto.input.end() && id->value().is_string() &&
            !id->value().get_string().empty() && !schema::isUuid(id->value().get_string())) {
            replaceId(proto, std::string(id->value().get_string()));
        } else if (id != proto.input.end() && id->value().is_string()) {
            proto.id = std::string(id->value().get_string());
        } else {
            proto.id = derivedId(proto);
            if (id == proto.input.end() || id->value().is_null()) {
                proto.input["id"] = proto.id;
            }  // else a malformed id: validation reports it
        }
        by_id_[proto.schema->name].try_emplace(proto.id, index);
    }

    // A file may name an entity by an id that is not a UUID (decK templates do). Portico stores
    // UUIDs only, so the id becomes the UUIDv5 of "<table>:id:<text>" in kIdNamespace: the same
    // text always gives the same id, and references to the text within the file follow it.
    void replaceId(Proto& proto, const std::string& text) {
        const std::string& table = proto.schema->name;
        proto.id = schema::uuidV5(kIdNamespace, table + ":id:" + text);
        proto.input["id"] = proto.id;
        aliases_[table].try_emplace(text, proto.id);
        warn(joinKey(proto.path, "id") + ": '" + text + "' is not a UUID; replaced by " + proto.id +
             ", derived from it (references to '" + text + "' in this file follow)");
    }

    // The id a reference by id text stands for: itself, or the UUID that replaced it.
    std::string aliasedId(const std::string& table, const std::string& id) const {
        if (const auto it = aliases_.find(table); it != aliases_.end()) {
            if (const auto alias = it->second.find(id); alias != it->second.end()) {
                return alias->second;
            }
        }
        return id;
    }

    // Ids in lists named after a table (services.ca_certificates) and in plugin configs under
    // such a name (mtls-auth's config.ca_certificates) follow replaced ids.
    void followAliases(Proto& proto) {
        const auto rewrite = [&](const std::string& table, json::value& value) {
            if (!aliases_.contains(table)) {
                return;
            }
            const auto one = [&](json::value& item) {
                if (const auto* text = item.if_string()) {
                    item = aliasedId(table, std::string(*text));
                }
            };
            if (auto* array = value.if_array()) {
                std::for_each(array->begin(), array->end(), one);
            } else {
                one(value);
            }
        };
        for (auto& kv : proto.input) {
            if (schema::findSchema(kv.key()) != nullptr) {
                rewrite(std::string(kv.key()), kv.value());
            }
        }
        if (proto.schema->name != "plugins") {
            return;
        }
        if (auto* config = proto.input.if_contains("config"); config && config->is_object()) {
            for (auto& kv : config->get_object()) {
                if (schema::findSchema(kv.key()) != nullptr) {
                    rewrite(std::string(kv.key()), kv.value());
                }
            }
        }
    }

    std::optional<std::string> resolveReference(const schema::Field& field,
                                                const json::value& raw) const {
        const auto ids = by_id_.find(field.reference);
        const auto keys = by_key_.find(field.reference);
        const auto byId = [&](std::string_view text) -> std::optional<std::string> {
            const std::string id = aliasedId(field.reference, std::string(text));
            if (ids != by_id_.end() && ids->second.contains(id)) {
                return id;
            }
            return std::nullopt;
        };
        const auto byKey = [&](std::string_view key) -> std::optional<std::string> {
            if (keys != by_key_.end()) {
                if (const auto it = keys->second.find(std::string(key)); it != keys->second.end()) {
                    return protos_[it->second].id;
                }
            }
            return std::nullopt;
        };
        if (const auto* text = raw.if_string()) {
            if (auto id = byId(*text)) {
                return id;
            }
            return byKey(*text);
        }
        if (const auto* object = raw.if_object()) {
            if (const auto* id = stringField(*object, "id")) {
                return byId(*id);
            }
            const auto* target = schema::findSchema(field.reference);
            if (target && !target->endpoint_key.empty()) {
                if (const auto* key = stringField(*object, target->endpoint_key)) {
                    return byKey(*key);
                }
            }
        }
        return std::nullopt;
    }

    // UUIDv5 in kIdNamespace over "<table>:<key>", where the key is the cache key (plugins,
    // targets, acls), else the endpoint key prefixed by the ids of required parents (credentials
    // by consumer, targets by upstream, snis by certificate), else the parent and the position in
    // the file.
    std::string derivedId(const Proto& proto) const {
        const auto& s = *proto.schema;
        const auto idOf = [&](const json::value& ref) -> std::string {
            if (const auto* object = ref.if_object()) {
                if (const auto* id = stringField(*object, "id")) {
                    return std::string(*id);
                }
            }
            return ref.is_null() ? std::string() : asString(ref);
        };
        std::string name = s.name + ":";
        if (!s.cache_key.empty()) {
            bool complete = true;
            std::string key;
            for (const auto& part : s.cache_key) {
                const auto* field = s.field(part);
                const auto it = proto.input.find(part);
                const bool foreign = field && field->type == schema::FieldType::Foreign;
                if (!foreign && (it == proto.input.end() || it->value().is_null())) {
                    complete = false;
                    break;
                }
                key += (it == proto.input.end() ? std::string() : idOf(it->value())) + ":";
            }
            if (complete) {
                return schema::uuidV5(kIdNamespace, name + key);
            }
        }
        std::string scope;
        for (const auto* field : s.foreignFields()) {
            if (field->required) {
                const auto it = proto.input.find(field->name);
                scope += (it == proto.input.end() ? std::string() : idOf(it->value())) + ":";
            }
        }
        if (!s.endpoint_key.empty()) {
            const auto* key = stringField(proto.input, s.endpoint_key);
            if (key && !key->empty()) {
                return schema::uuidV5(kIdNamespace, name + scope + std::string(*key));
            }
        }
        if (s.name == "consumers") {
            if (const auto* custom_id = stringField(proto.input, "custom_id")) {
                return schema::uuidV5(kIdNamespace, name + "custom_id:" + std::string(*custom_id));
            }
        }
        // No key: scoped by the parent (nested) or by every entity it references.
        std::string parents;
        if (proto.parent >= 0) {
            parents = protos_[static_cast<std::size_t>(proto.parent)].id;
        } else {
            for (const auto* field : s.foreignFields()) {
                const auto it = proto.input.find(field->name);
                parents += (it == proto.input.end() ? std::string() : idOf(it->value())) + ":";
            }
        }
        return schema::uuidV5(kIdNamespace, name + parents + ":@" + proto.path);
    }

    // --- validation ---------------------------------------------------------------------------

    void validateAll() {
        for (auto& proto : protos_) {
            if (proto.unresolved) {
                continue;
            }
            schema::ValidateOptions options;
            options.operation = schema::Operation::Insert;
            const double now = options_.now;
            options.now = [now] { return now; };
            options.new_id = [id = proto.id] { return id; };
            options.allow_unknown_plugins = true;
            options.declarative = true;
            std::vector<schema::ErrorTree::Tolerated> tolerated;
            options.warnings = &tolerated;
            auto validated = schema::validateEntity(*proto.schema, proto.input, options);
            for (const auto& problem : tolerated) {
                warn(filePath(proto, problem.path) + ": " + problem.message + "; " +
                     std::string(toleranceNote(problem.tolerance)));
            }
            if (!validated) {
                mapErrors(proto, validated.error());
                continue;
            }
            json::object entity = std::move(*validated);
            if (transform_ && proto.schema->name == "basicauth_credentials") {
                hashPassword(entity);
            }
            proto.entity = std::move(entity);
        }
    }

    // Kong's error path (field names, 1-based positions) as a path in the file.
    static std::string filePath(const Proto& proto, const std::vector<std::string>& segments) {
        std::string path = proto.path;
        const json::value input(proto.input);
        const json::value* node = &input;
        for (const auto& segment : segments) {
            if (segment == "@entity") {
                break;
            }
            std::size_t position = 0;
            const auto* array = node ? node->if_array() : nullptr;
            const auto [end, ec] =
                std::from_chars(segment.data(), segment.data() + segment.size(), position);
            if (array && ec == std::errc() && end == segment.data() + segment.size() &&
                position >= 1) {
                path = joinIndex(path, position - 1);
                node = position - 1 < array->size() ? &(*array)[position - 1] : nullptr;
                continue;
            }
            path = joinKey(path, segment);
            const auto* object = node ? node->if_object() : nullptr;
            node = object ? object->if_contains(segment) : nullptr;
        }
        return path;
    }

    // What keeping a tolerated value means, said after the problem in its warning.
    static std::string_view toleranceNote(schema::Tolerance tolerance) {
        switch (tolerance) {
            case schema::Tolerance::TlsMaterial:
                return "kept as written: Portico does not serve or present TLS certificates yet";
            case schema::Tolerance::CaCertificate:
                return "kept as written: Portico does not verify upstreams against CA "
                       "certificates yet";
            case schema::Tolerance::JwtKey:
                return "kept as written: the jwt plugin does not run in Portico yet";
            case schema::Tolerance::StreamRoute:
                return "kept as written: Portico does not proxy tcp, tls or udp streams yet";
            case schema::Tolerance::EmptyLabel:
                return "kept as written (Kong's ingress controller writes such names): it "
                       "still pairs a service with the upstream of that name, but DNS cannot "
                       "resolve it";
            case schema::Tolerance::Regex:
                return "the route is kept but not routable: RE2 cannot compile this regex, so "
                       "the router never matches it";
            case schema::Tolerance::None:
                break;
        }
        return "kept as written";
    }

    static void hashPassword(json::object& credential) {
        const auto* password = stringField(credential, "password");
        const auto consumer = credential.find("consumer");
        if (!password || consumer == credential.end() || !consumer->value().is_object()) {
            return;
        }
        const auto* consumer_id = stringField(consumer->value().get_object(), "id");
        if (!consumer_id) {
            return;
        }
        credential["password"] = schema::hashBasicAuthPassword(*password, *consumer_id);
    }

    void mapErrors(const Proto& proto, const common::ApiError& failure) {
        if (failure.fields.empty()) {
            error(proto.path, failure.message);
            return;
        }
        const json::value input(proto.input);
        walkErrors(json::value(failure.fields), &input, proto.path);
    }

    // Walks Kong's error tree alongside the entity as written, so that positions in lists
    // become the file's 0-based [n]: JSON arrays in the tree are positional already, objects
    // keyed "1", "2"... over a list input are Lua's 1-based positions.
    void walkErrors(const json::value& tree, const json::value* input, const std::string& path) {
        if (const auto* message = tree.if_string()) {
            error(path, std::string(*message));
            return;
        }
        const auto* input_array = input ? input->if_array() : nullptr;
        const auto* input_object = input ? input->if_object() : nullptr;
        if (const auto* array = tree.if_array()) {
            for (std::size_t i = 0; i < array->size(); ++i) {
                if ((*array)[i].is_null()) {
                    continue;
                }
                const json::value* child =
                    input_array && i < input_array->size() ? &(*input_array)[i] : nullptr;
                walkErrors((*array)[i], child, joinIndex(path, i));
            }
            return;
        }
        const auto* object = tree.if_object();
        if (!object) {
            return;
        }
        for (const auto& kv : *object) {
            const std::string_view key = kv.key();
            if (key == "@entity") {
                if (const auto* list = kv.value().if_array()) {
                    for (const auto& message : *list) {
                        error(path, asString(message));
                    }
                } else {
                    error(path, asString(kv.value()));
                }
                continue;
            }
            std::size_t position = 0;
            const bool numeric =
                !key.empty() &&
                std::from_chars(key.data(), key.data() + key.size(), position).ptr ==
                    key.data() + key.size();
            if (input_array && numeric && position >= 1) {
                const json::value* child =
                    position - 1 < input_array->size() ? &(*input_array)[position - 1] : nullptr;
                walkErrors(kv.value(), child, joinIndex(path, position - 1));
                continue;
            }
            const json::value* child = nullptr;
            if (input_object) {
                if (const auto it = input_object->find(key); it != input_object->end()) {
                    child = &it->value();
                }
            }
            walkErrors(kv.value(), child, joinKey(path, key));
        }
    }

    // --- uniqueness ---------------------------------------------------------------------------

    void checkUniqueness() {
        std::map<std::string, std::size_t> seen;  // "<table>\n<what>\n<value>" -> proto index
        for (std::size_t i = 0; i < protos_.size(); ++i) {
            const Proto& proto = protos_[i];
            if (!proto.entity) {
                continue;
            }
            const auto& s = *proto.schema;
            const json::object& entity = *proto.entity;
            bool reported = false;
            const auto check = [&](const std::string& what, const std::string& value,
                                   const std::string& shown) {
                const auto [it, inserted] =
                    seen.try_emplace(s.name + "\n" + what + "\n" + value, i);
                if (!inserted) {
                    error(proto.path, "uniqueness violation: '" + s.name + "' entity with " + what +
                                          " set to '" + shown + "' already declared at " +
                                          protos_[it->second].path);
                    reported = true;
                }
            };
            for (const auto& field : s.fields) {
                if (!field.unique || field.name == "id") {
                    continue;
                }
                const auto it = entity.find(field.name);
                if (it == entity.end() || it->value().is_null()) {
                    continue;
                }
                const std::string value = json::serialize(it->value());
                check(field.name, value, asString(it->value()));
            }
            if (!s.cache_key.empty()) {
                json::object key;
                for (const auto& part : s.cache_key) {
                    const auto it = entity.find(part);
                    key[part] = it == entity.end() ? json::value(nullptr) : it->value();
                }
                const json::value sorted = sortedCopy(key);
                const std::string shown = luaish(sorted);
                std::string what = "cache key (";
                for (const auto& part : s.cache_key) {
                    what += (what.back() == '(' ? "" : ", ") + part;
                }
                check(what + ")", json::serialize(sorted), shown);
            }
            if (!reported) {
                if (const auto* id = stringField(entity, "id")) {
                    check("primary key", std::string(*id), std::string(*id));
                }
            }
        }
    }

    void warnUnknownPlugins() {
        std::set<std::string> reported;
        for (const auto& proto : protos_) {
            if (proto.schema->name != "plugins") {
                continue;
            }
            const auto* name = stringField(proto.input, "name");
            if (!name || schema::findPlugin(*name) != nullptr) {
                continue;
            }
            if (reported.insert(std::string(*name)).second) {
                warn("plugin '" + std::string(*name) +
                     "' is not available in Portico; kept in the configuration but not executed");
            }
        }
    }

    // Kong resolves "{vault://name/path}" strings from a vault at runtime; Portico has no vaults.
    void warnVaultReferences(const json::value& value, const std::string& path) {
        if (const auto* text = value.if_string()) {
            if (text->starts_with("{vault://")) {
                warn(path + ": vault reference '" + std::string(*text) +
                     "' is not resolved by Portico; the text is used as it is");
            }
        } else if (const auto* array = value.if_array()) {
            for (std::size_t i = 0; i < array->size(); ++i) {
                warnVaultReferences((*array)[i], joinIndex(path, i));
            }
        } else if (const auto* object = value.if_object()) {
            for (const auto& kv : *object) {
                warnVaultReferences(kv.value(), joinKey(path, kv.key()));
            }
        }
    }

    // --- reporting ----------------------------------------------------------------------------

    int lineOf(const std::string& path) const {
        std::string p = path;
        while (!p.empty()) {
            if (const auto it = lines_.find(p); it != lines_.end()) {
                return it->second;
            }
            const auto cut = p.find_last_of(".[");
            if (cut == std::string::npos) {
                break;
            }
            p.resize(cut);
        }
        return 0;
    }

    void error(const std::string& path, std::string message) {
        result_.errors.push_back(ParseError{path, std::move(message), lineOf(path)});
    }

    void warn(std::string message) { result_.warnings.push_back(std::move(message)); }

    const ParseOptions& options_;
    ParseResult& result_;
    const std::unordered_map<std::string, int>& lines_;
    bool upgrade_ = false;
    bool transform_ = true;
    json::object plugin_configs_;
    std::vector<std::pair<std::string, std::size_t>> unsupported_;
    std::vector<Proto> protos_;
    std::map<std::string, std::unordered_map<std::string, std::size_t>> by_id_;
    std::map<std::string, std::unordered_map<std::string, std::size_t>> by_key_;
    // table -> id text written in the file -> the UUID that replaced it
    std::map<std::string, std::unordered_map<std::string, std::string>> aliases_;
};

// ---------------------------------------------------------------------------------------------
// Error body

// Inserts one error into Kong's nested `fields` tree: lists become arrays padded with nulls
// (positions as in the file), an entity's own errors sit at its position (under "@entity" when
// it also has field errors).
void insertError(json::object& fields, const ParseError& error) {
    const auto segments = splitPath(error.path);
    if (segments.empty() || segments.front().is_index) {
        fields["error"] = error.message;
        return;
    }
    json::value root(std::move(fields));
    json::value* slot = &root;
    const auto asObject = [](json::value& v) -> json::object& {
        if (v.is_string()) {
            json::array entity;
            entity.push_back(v);
            v = json::object{{"@entity", std::move(entity)}};
        } else if (!v.is_object()) {
            v = json::object{};
        }
        return v.get_object();
    };
    for (const auto& seg : segments) {
        if (seg.is_index) {
            if (!slot->is_array()) {
                *slot = json::array{};
            }
            auto& array = slot->get_array();
            if (array.size() <= seg.index) {
                array.resize(seg.index + 1);
            }
            slot = &array[seg.index];
        } else {
            slot = &asObject(*slot)[seg.key];
        }
    }
    if (segments.back().is_index) {
        // the entity itself (an entity check, a duplicate): Kong's "@entity" list
        auto& entity = asObject(*slot)["@entity"];
        if (!entity.is_array()) {
            entity = json::array{};
        }
        entity.get_array().push_back(json::value(error.message));
    } else if (slot->is_null()) {
        *slot = error.message;
    } else if (slot->is_string()) {
        *slot = std::string(slot->get_string()) + "; " + error.message;
    } else if (slot->is_object()) {
        auto& entity = slot->get_object()["@entity"];
        if (!entity.is_array()) {
            entity = json::array{};
        }
        entity.get_array().push_back(json::value(error.message));
    }
    fields = std::move(root.get_object());
}

std::string singular(std::string_view table) {
    if (!table.empty() && table.back() == 's') {
        table.remove_suffix(1);
    }
    return std::string(table);
}

// Kong's `flattened_errors` (one item per entity), with the entity's place in the file.
json::array flattenedErrors(const std::vector<ParseError>& errors) {
    json::array out;
    std::map<std::string, std::size_t> by_entity;
    for (const auto& error : errors) {
        const auto segments = splitPath(error.path);
        std::size_t end = 0;
        std::string type;
        while (end + 1 < segments.size() && !segments[end].is_index && segments[end + 1].is_index &&
               schema::findSchema(segments[end].key)) {
            type = segments[end].key;
            end += 2;
        }
        if (type.empty()) {
            continue;  // not about an entity (_format_version, YAML syntax)
        }
        const std::string entity_path = joinSegments(segments, 0, end);
        const std::string field = joinSegments(segments, end, segments.size());
        auto [it, inserted] = by_entity.try_emplace(entity_path, out.size());
        if (inserted) {
            out.push_back(json::object{{"entity_type", singular(type)},
                                       {"entity_path", entity_path},
                                       {"errors", json::array{}}});
        }
        json::object item{{"message", error.message}, {"type", field.empty() ? "entity" : "field"}};
        if (!field.empty()) {
            item["field"] = field;
        }
        if (error.line > 0) {
            item["line"] = error.line;
        }
        out[it->second].get_object()["errors"].get_array().push_back(std::move(item));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Export

// Strings written without quotes only when they cannot be read back as anything else, by
// yaml-cpp or by YAML 1.1 readers (yes/no/on/off, sexagesimal numbers).
bool plainSafe(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    if (schema::isUuid(s)) {
        return true;  // ids: hex digits and dashes, never a number or a date in any YAML
    }
    const unsigned char first = static_cast<unsigned char>(s.front());
    if (!(std::isalpha(first) || first == '_' || first == '/' || first == '$')) {
        return false;
    }
    if (s.back() == ':' || s.back() == ' ' || s.find(": ") != std::string_view::npos ||
        s.find(" #") != std::string_view::npos || s.find("  ") != std::string_view::npos) {
        return false;
    }
    for (const char c : s) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) ||
              std::string_view("_./~@%+=:$- ").find(c) != std::string_view::npos)) {
            return false;
        }
    }
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::set<std::string, std::less<>> reserved = {
        "null", "true", "false", "yes", "no", "on", "off", "y", "n"};
    if (reserved.contains(lower)) {
        return false;
    }
    return resolvePlain(std::string(s)).is_string();
}

bool literalSafe(std::string_view s) {
    if (s.find('\n') == std::string_view::npos || s.front() == ' ' || s.front() == '\n') {
        return false;
    }
    if (s.size() >= 2 && s.substr(s.size() - 2) == "\n\n") {
        return false;
    }
    std::size_t line_start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '\n') {
            const auto line = s.substr(line_start, i - line_start);
            if (!line.empty() && line.find_first_not_of(' ') == std::string_view::npos) {
                return false;  // whitespace-only lines would be read back differently
            }
            line_start = i + 1;
            continue;
        }
        const unsigned char u = static_cast<unsigned char>(s[i]);
        if (u < 0x20 || u == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string formatDouble(double d) {
    if (std::isnan(d)) {
        return ".nan";
    }
    if (std::isinf(d)) {
        return d > 0 ? ".inf" : "-.inf";
    }
    std::array<char, 64> buffer{};
    const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), d);
    std::string out(buffer.data(), r.ptr);
    if (out.find_first_of(".eE") == std::string::npos) {
        out += ".0";  // stays a float when read back
    }
    return out;
}

class YamlWriter {
public:
    std::string out;

    void map(const json::object& object, std::size_t indent, bool inline_first) {
        bool first = true;
        for (const auto& kv : object) {
            if (!(first && inline_first)) {
                out.append(indent, ' ');
            }
            first = false;
            key(kv.key());
            out += ':';
            const json::value& v = kv.value();
            if (v.is_object() && !v.get_object().empty()) {
                out += '\n';
                map(v.get_object(), indent + 2, false);
            } else if (v.is_array() && !v.get_array().empty()) {
                out += '\n';
                sequence(v.get_array(), indent, false);
            } else {
                out += ' ';
                scalar(v, indent + 2);
                out += '\n';
            }
        }
    }

    void sequence(const json::array& array, std::size_t indent, bool inline_first) {
        bool first = true;
        for (const auto& item : array) {
            if (!(first && inline_first)) {
                out.append(indent, ' ');
            }
            first = false;
            out += "- ";
            if (item.is_object() && !item.get_object().empty()) {
                map(item.get_object(), indent + 2, true);
            } else if (item.is_array() && !item.get_array().empty()) {
                sequence(item.get_array(), indent + 2, true);
            } else {
                scalar(item, indent + 2);
                out += '\n';
            }
        }
    }

private:
    void key(std::string_view k) {
        if (plainSafe(k)) {
            out += k;
        } else {
            out += json::serialize(json::value(k));
        }
    }

    void scalar(const json::value& v, std::size_t content_indent) {
        switch (v.kind()) {
            case json::kind::null:
                out += "null";
                return;
            case json::kind::bool_:
                out += v.get_bool() ? "true" : "false";
                return;
            case json::kind::int64:
                out += std::to_string(v.get_int64());
                return;
            case json::kind::uint64:
                out += std::to_string(v.get_uint64());
                return;
            case json::kind::double_:
                out += formatDouble(v.get_double());
                return;
            case json::kind::object:
                out += "{}";
                return;
            case json::kind::array:
                out += "[]";
                return;
            case json::kind::string:
                break;
        }
        const std::string_view s = v.get_string();
        if (plainSafe(s)) {
            out += s;
            return;
        }
        if (!literalSafe(s)) {
            out += json::serialize(v);  // YAML double-quoted strings accept JSON escapes
            return;
        }
        out += s.back() == '\n' ? "|" : "|-";
        std::size_t line_start = 0;
        const std::string_view body = s.back() == '\n' ? s.substr(0, s.size() - 1) : s;
        for (std::size_t i = 0; i <= body.size(); ++i) {
            if (i == body.size() || body[i] == '\n') {
                out += '\n';
                const auto line = body.substr(line_start, i - line_start);
                if (!line.empty()) {
                    out.append(content_indent, ' ');
                    out += line;
                }
                line_start = i + 1;
            }
        }
    }
};

void writeJson(const json::value& v, std::string& out, std::size_t indent) {
    if (const auto* object = v.if_object(); object && !object->empty()) {
        out += "{\n";
        std::size_t n = 0;
        for (const auto& kv : *object) {
            out.append(indent + 2, ' ');
            out += json::serialize(json::value(kv.key()));
            out += ": ";
            writeJson(kv.value(), out, indent + 2);
            out += ++n < object->size() ? ",\n" : "\n";
        }
        out.append(indent, ' ');
        out += '}';
        return;
    }
    if (const auto* array = v.if_array(); array && !array->empty()) {
        out += "[\n";
        std::size_t n = 0;
        for (const auto& item : *array) {
            out.append(indent + 2, ' ');
            writeJson(item, out, indent + 2);
            out += ++n < array->size() ? ",\n" : "\n";
        }
        out.append(indent, ' ');
        out += ']';
        return;
    }
    if (v.is_double() && std::isfinite(v.get_double())) {
        out += formatDouble(v.get_double());  // 1209600.0 rather than 1.2096E6
        return;
    }
    out += json::serialize(v);
}

std::string idOfRef(const json::value& ref) {
    if (const auto* object = ref.if_object()) {
        if (const auto* id = stringField(*object, "id")) {
            return std::string(*id);
        }
    }
    return {};
}

class ExportBuilder {
public:
    explicit ExportBuilder(const EntitySet& entities) : entities_(entities) {
        for (const auto* s : schema::allSchemas()) {
            order_.push_back(s->name);
        }
        for (const auto& [name, list] : entities_) {
            if (std::find(order_.begin(), order_.end(), name) == order_.end()) {
                order_.push_back(name);
            }
        }
        indexNames();
        placeEntities();
    }

    json::object build() {
        json::object root;
        root["_format_version"] = "3.0";
        // Passwords and other transformed values are exported as stored: reading this file back
        // must not transform them a second time (Kong's `config db_export` does the same).
        root["_transform"] = false;
        for (const auto& type : order_) {
            const auto it = top_.find(type);
            if (it != top_.end() && !it->second.empty()) {
                root[type] = renderList(type, it->second, "");
            }
        }
        return root;
    }

private:
    using Children = std::map<std::string, std::vector<const json::object*>>;

    // Endpoint-key values that can stand in for an id in references: set, unique in their
    // table, and not shaped like a UUID (which the reader would take for an id).
    void indexNames() {
        for (const auto& [type, list] : entities_) {
            const auto* s = schema::findSchema(type);
            if (!s || s->endpoint_key.empty()) {
                continue;
            }
            std::map<std::string, std::vector<std::string>> ids_by_name;
            for (const auto& entity : list) {
                const auto* name = stringField(entity, s->endpoint_key);
                const auto* id = stringField(entity, "id");
                if (name && id && !name->empty() && !schema::isUuid(*name)) {
                    ids_by_name[std::string(*name)].emplace_back(*id);
                }
            }
            for (const auto& [name, ids] : ids_by_name) {
                if (ids.size() == 1) {
                    names_[type][ids.front()] = name;
                }
            }
        }
    }

    // The foreign field an entity is nested through, or empty for the top level.
    std::string nestingField(const std::string& type, const json::object& entity) const {
        const auto* s = schema::findSchema(type);
        if (!s) {
            return {};
        }
        const auto set = [&](std::string_view field) {
            const auto it = entity.find(field);
            return it != entity.end() && !idOfRef(it->value()).empty();
        };
        std::string field;
        if (type == "plugins") {
            int scopes = 0;
            for (const char* scope : {"route", "service", "consumer"}) {
                if (set(scope)) {
                    ++scopes;
                    field = scope;
                }
            }
            if (scopes != 1) {
                return {};
            }
        } else if (type == "routes") {
            field = "service";
        } else if (type == "targets") {
            field = "upstream";
        } else if (type == "snis") {
            field = "certificate";
        } else if (const auto* consumer = s->field("consumer");
                   consumer && consumer->type == schema::FieldType::Foreign &&
                   consumer->reference == "consumers") {
            field = "consumer";
        }
        if (field.empty() || !set(field)) {
            return {};
        }
        const auto* f = s->field(field);
        if (!f) {
            return {};
        }
        // Only under a parent that is part of this export.
        const auto parents = entities_.find(f->reference);
        const std::string parent_id = idOfRef(entity.at(field));
        if (parents == entities_.end() ||
            std::none_of(parents->second.begin(), parents->second.end(),
                         [&](const json::object& p) {
                             const auto* id = stringField(p, "id");
                             return id && *id == parent_id;
                         })) {
            return {};
        }
        return field;
    }

    void placeEntities() {
        for (const auto& type : order_) {
            const auto it = entities_.find(type);
            if (it == entities_.end()) {
                continue;
            }
            const auto* s = schema::findSchema(type);
            for (const auto& entity : it->second) {
                const std::string field = nestingField(type, entity);
                if (field.empty()) {
                    top_[type].push_back(&entity);
                    continue;
                }
                const std::string parent_type = s->field(field)->reference;
                const std::string parent_id = idOfRef(entity.at(field));
                children_[parent_type + "\n" + parent_id][type].push_back(&entity);
            }
        }
    }

    std::string sortKey(const std::string& type, const json::object& entity) const {
        const auto* s = schema::findSchema(type);
        if (type == "plugins") {
            std::string key;
            if (const auto* name = stringField(entity, "name")) {
                key = *name;
            }
            if (const auto* instance = stringField(entity, "instance_name")) {
                key += std::string("\x01") + std::string(*instance);
            }
            return key;
        }
        for (const std::string_view field :
             {std::string_view(s ? s->endpoint_key : std::string()), std::string_view("name"),
              std::string_view("username"), std::string_view("group")}) {
            if (field.empty()) {
                continue;
            }
            if (const auto* value = stringField(entity, field)) {
                return std::string(*value);
            }
        }
        return {};
    }

    json::array renderList(const std::string& type, std::vector<const json::object*> list,
                           const std::string& nested_field) {
        std::sort(list.begin(), list.end(), [&](const json::object* a, const json::object* b) {
            const auto ka = sortKey(type, *a);
            const auto kb = sortKey(type, *b);
            if (ka != kb) {
                return ka < kb;
            }
            const auto* ia = stringField(*a, "id");
            const auto* ib = stringField(*b, "id");
            return (ia ? std::string_view(*ia) : "") < (ib ? std::string_view(*ib) : "");
        });
        json::array out;
        for (const auto* entity : list) {
            out.push_back(render(type, *entity, nested_field));
        }
        return out;
    }

    json::object render(const std::string& type, const json::object& entity,
                        const std::string& nested_field) {
        const auto* s = schema::findSchema(type);
        json::object out;
        for (const auto& kv : entity) {
            const std::string_view key = kv.key();
            if (key == "created_at" || key == "updated_at" || key == nested_field ||
                kv.value().is_null()) {
                continue;
            }
            const auto* field = s ? s->field(key) : nullptr;
            if (field && field->type == schema::FieldType::Foreign) {
                const std::string id = idOfRef(kv.value());
                if (!id.empty()) {
                    const auto names = names_.find(field->reference);
                    const bool named = names != names_.end() && names->second.contains(id);
                    out[key] = named ? json::value(names->second.at(id)) : json::value(id);
                    continue;
                }
            }
            out[key] = kv.value();
        }
        const auto* id = stringField(entity, "id");
        if (id) {
            const auto it = children_.find(type + "\n" + std::string(*id));
            if (it != children_.end()) {
                for (const auto& child_type : order_) {
                    const auto list = it->second.find(child_type);
                    if (list == it->second.end()) {
                        continue;
                    }
                    const auto* child_schema = schema::findSchema(child_type);
                    std::string field;
                    if (child_schema) {
                        if (const auto* link = foreignTo(*child_schema, type)) {
                            field = link->name;
                        }
                    }
                    out[child_type] = renderList(child_type, list->second, field);
                }
            }
        }
        return sortedCopy(out).get_object();
    }

    const EntitySet& entities_;
    std::vector<std::string> order_;
    std::map<std::string, std::map<std::string, std::string>> names_;  // type -> id -> name
    std::map<std::string, std::vector<const json::object*>> top_;
    std::map<std::string, Children> children_;  // "<parent type>\n<parent id>" -> children
};

}  // namespace

// ---------------------------------------------------------------------------------------------

common::ApiError ParseResult::toApiError() const {
    common::ApiError error;
    error.http_status = 400;
    error.code = common::ErrorCode::InvalidDeclarativeConfiguration;
    error.name = "invalid declarative configuration";
    json::object fields;
    for (const auto& e : errors) {
        insertError(fields, e);
    }
    error.message = "declarative config is invalid: " + luaish(json::value(fields));
    error.fields = std::move(fields);
    error.extra["flattened_errors"] = flattenedErrors(errors);
    return error;
}

ParseResult parse(std::string_view text, const ParseOptions& options) {
    ParseResult result;
    try {
        std::unordered_map<std::string, int> lines;
        json::value root;
        try {
            const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
            std::vector<const YAML::Node*> non_empty;
            for (const auto& document : documents) {
                if (!document.IsNull()) {
                    non_empty.push_back(&document);
                }
            }
            if (non_empty.size() > 1) {
                // Kong reads the first document only; say so rather than drop the rest quietly.
                result.warnings.push_back(
                    "the file holds " + std::to_string(non_empty.size()) +
                    " YAML documents; only the first is used, the one from line " +
                    std::to_string(non_empty[1]->Mark().line + 1) + " on is ignored");
            }
            if (!non_empty.empty()) {
                YamlToJson converter(lines, result.warnings);
                root = converter.convert(*non_empty.front(), "", 0);
            }
        } catch (const YAML::Exception& e) {
            const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
            std::string where;
            if (line > 0) {
                where = std::to_string(line) + ":" + std::to_string(e.mark.column + 1) + ": ";
            }
            result.errors.push_back(
                ParseError{"", "failed parsing declarative configuration: " + where + e.msg, line});
            return result;
        } catch (const DocumentError& e) {
            result.errors.push_back(ParseError{e.path, e.message, e.line});
            return result;
        }
        Loader loader(options, result, lines);
        loader.run(root);
    } catch (const std::exception& e) {
        result.entities.clear();
        result.errors.push_back(ParseError{
            "", std::string("failed loading declarative configuration: ") + e.what(), 0});
    }
    return result;
}

std::string exportConfig(const EntitySet& entities, ExportFormat format) {
    const json::object root = ExportBuilder(entities).build();
    if (format == ExportFormat::Json) {
        std::string out;
        writeJson(root, out, 0);
        out += '\n';
        return out;
    }
    YamlWriter writer;
    writer.map(root, 0, false);
    return std::move(writer.out);
}

std::string configHash(const EntitySet& entities) {
    const bool empty = std::all_of(entities.begin(), entities.end(),
                                   [](const auto& kv) { return kv.second.empty(); });
    if (empty) {
        return std::string(32, '0');
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
        throw std::runtime_error("configHash: MD5 unavailable");
    }
    const auto update = [&](std::string_view bytes) {
        EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
    };
    for (const auto& [type, list] : entities) {  // std::map: tables in name order
        if (list.empty()) {
            continue;
        }
        // Canonical entities (sorted keys, timestamps left out: loading the same file twice is
        // the same configuration), in id order.
        std::vector<std::pair<std::string, std::string>> canonical;
        canonical.reserve(list.size());
        for (const auto& entity : list) {
            json::object copy = entity;
            copy.erase("created_at");
            copy.erase("updated_at");
            const auto* id = stringField(entity, "id");
            canonical.emplace_back(id ? std::string(*id) : std::string(),
                                   json::serialize(sortedCopy(copy)));
        }
        std::sort(canonical.begin(), canonical.end());
        update(type);
        update("\n");
        for (const auto& [id, text] : canonical) {
            update(text);
            update("\n");
        }
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx.get(), digest.data(), &size);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0x0f];
    }
    return out;
}

}  // namespace portico::declarative
