#include "common/api_error.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <vector>

namespace portico::common {

namespace {

ApiError daoError(int status, ErrorCode code, std::string name, std::string message,
                  json::object fields = {}) {
    ApiError e;
    e.http_status = status;
    e.code = code;
    e.name = std::move(name);
    e.message = std::move(message);
    e.fields = std::move(fields);
    return e;
}

void appendLua(std::string& out, const json::value& value) {
    switch (value.kind()) {
    case json::kind::null:
        out += "null";
        break;
    case json::kind::bool_:
        out += value.get_bool() ? "true" : "false";
        break;
    case json::kind::string:
        // Kong formats strings with %q-like double quotes.
        out += '"';
        for (char c : value.get_string()) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
        break;
    case json::kind::int64:
    case json::kind::uint64:
        out += json::serialize(value);
        break;
    case json::kind::double_: {
        // Lua's tostring (%.14g), not Boost.JSON's exponent form ("5E-1").
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.14g", value.get_double());
        out += buf;
        break;
    }
    case json::kind::array: {
        out += '{';
        bool first = true;
        for (const auto& v : value.get_array()) {
            if (!first) {
                out += ',';
            }
            first = false;
            appendLua(out, v);
        }
        out += '}';
        break;
    }
    case json::kind::object: {
        // Keys sorted, as Kong's messages list them.
        std::vector<std::pair<std::string, const json::value*>> items;
        for (const auto& kv : value.get_object()) {
            items.emplace_back(std::string(kv.key()), &kv.value());
        }
        std::sort(items.begin(), items.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        out += '{';
        bool first = true;
        for (const auto& [k, v] : items) {
            if (!first) {
                out += ',';
            }
            first = false;
            out += k;
            out += '=';
            appendLua(out, *v);
        }
        out += '}';
        break;
    }
    }
}

}  // namespace

std::string luaLiteral(const json::value& value) {
    std::string out;
    appendLua(out, value);
    return out;
}

json::object ApiError::toJson() const {
    json::object out;
    if (code == ErrorCode::None) {
        out["message"] = message;
    } else if (code == ErrorCode::DatabaseError) {
        // Kong never leaks database details to clients; `message` is for the log.
        out["message"] = "An unexpected error occurred";
    } else {
        out["code"] = static_cast<int>(code);
        out["name"] = name;
        out["message"] = message;
        if (code == ErrorCode::InvalidOptions) {
            out["options"] = fields;
        } else if (!fields.empty()) {
            out["fields"] = fields;
        }
    }
    for (const auto& kv : extra) {
        out[kv.key()] = kv.value();
    }
    return out;
}

ApiError ApiError::plain(int http_status, std::string message) {
    ApiError e;
    e.http_status = http_status;
    e.message = std::move(message);
    return e;
}

ApiError ApiError::schemaViolation(const schema::ErrorTree& errors) {
    return daoError(400, ErrorCode::SchemaViolation, "schema violation", errors.message(),
                    errors.toFields());
}

ApiError ApiError::invalidPrimaryKey(std::string message, json::object fields) {
    return daoError(400, ErrorCode::InvalidPrimaryKey, "invalid primary key", std::move(message),
                    std::move(fields));
}

ApiError ApiError::uniqueViolation(const json::object& values) {
    return daoError(409, ErrorCode::UniqueViolation, "unique constraint violation",
                    "UNIQUE violation detected on '" + luaLiteral(values) + "'", values);
}

ApiError ApiError::primaryKeyViolation(const json::object& values) {
    return daoError(400, ErrorCode::PrimaryKeyViolation, "primary key violation",
                    "primary key violation on key '" + luaLiteral(values) + "'", values);
}

ApiError ApiError::foreignKeyViolation(std::string_view field, std::string_view parent_entity,
                                       std::string_view parent_id) {
    json::object key{{"id", parent_id}};
    json::object fields;
    fields[field] = key;
    return daoError(400, ErrorCode::ForeignKeyViolation, "foreign key violation",
                    "the foreign key '" + luaLiteral(key) + "' does not reference an existing '" +
                        std::string(parent_entity) + "' entity.",
                    std::move(fields));
}

ApiError ApiError::referencedBy(std::string_view child_entity, std::string_view parent_entity) {
    json::object fields{{"@referenced_by", child_entity}};
    return daoError(400, ErrorCode::ForeignKeyViolation, "foreign key violation",
                    "an existing '" + std::string(child_entity) + "' entity references this '" +
                        std::string(parent_entity) + "' entity",
                    std::move(fields));
}

ApiError ApiError::foreignKeyUnresolved(std::string_view field, const json::object& key,
                                        std::string_view parent_entity) {
    const std::string text = "the foreign key cannot be resolved with '" + luaLiteral(key) +
                             "' for an existing '" + std::string(parent_entity) + "' entity";
    // The error sits under the key that failed: service.name.
    const std::string key_name = key.empty() ? std::string("id") : std::string(key.begin()->key());
    json::object inner;
    inner[key_name] = text;
    json::object fields;
    fields[field] = std::move(inner);
    return daoError(400, ErrorCode::ForeignKeysUnresolved, "foreign keys unresolved",
                    "foreign key unresolved (" + std::string(field) + "." + key_name + ": " +
                        text + ")",
                    std::move(fields));
}

ApiError ApiError::invalidSize(std::string message) {
    return daoError(400, ErrorCode::InvalidSize, "invalid size", std::move(message));
}

ApiError ApiError::invalidOffset(std::string_view offset, std::string_view reason) {
    return daoError(400, ErrorCode::InvalidOffset, "invalid offset",
                    "'" + std::string(offset) + "' is not a valid offset: " + std::string(reason));
}

ApiError ApiError::invalidOptions(json::object options, std::string message) {
    return daoError(400, ErrorCode::InvalidOptions, "invalid options", std::move(message),
                    std::move(options));
}

ApiError ApiError::operationUnsupported(std::string message) {
    return daoError(405, ErrorCode::OperationUnsupported, "operation unsupported",
                    std::move(message));
}

ApiError ApiError::databaseUnavailable(std::string message) {
    return plain(503, std::move(message));
}

ApiError ApiError::databaseError(std::string message) {
    return daoError(500, ErrorCode::DatabaseError, "database error", std::move(message));
}

void throw_exception_from_error(const ApiError& error, const boost::source_location&) {
    throw std::runtime_error(error.message);
}

}  // namespace portico::common
