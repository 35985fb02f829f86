#pragma once
// Admin API error shapes (kong-compat.md §2.3-§2.5): Kong's DAO error object
// {code, name, message, fields} and the plain {"message": ...} bodies, each with its HTTP status.

#include "common/schema.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace portico::common {

namespace json = boost::json;

enum class ErrorCode : int {
    None = 0,  // a plain {"message": ...} body, no DAO error object
    InvalidPrimaryKey = 1,
    SchemaViolation = 2,
    PrimaryKeyViolation = 3,
    ForeignKeyViolation = 4,
    UniqueViolation = 5,
    NotFound = 6,
    InvalidOffset = 7,
    DatabaseError = 8,
    InvalidSize = 9,
    InvalidUnique = 10,
    InvalidOptions = 11,
    OperationUnsupported = 12,
    ForeignKeysUnresolved = 13,
    InvalidDeclarativeConfiguration = 14,
    TransformationError = 15,
    ReferencedByOthers = 19,
};

struct ApiError {
    int http_status = 500;
    ErrorCode code = ErrorCode::None;
    std::string name;     // "schema violation"; empty for plain bodies
    std::string message;  // human text
    json::object fields;  // for code 11 rendered as "options"
    json::object extra;   // additional top-level keys (e.g. "flattened_errors")

    json::object toJson() const;

    // Plain {"message": ...} bodies.
    static ApiError plain(int http_status, std::string message);
    static ApiError notFound() { return plain(404, "Not found"); }
    static ApiError methodNotAllowed() { return plain(405, "Method not allowed"); }
    static ApiError unexpected() { return plain(500, "An unexpected error occurred"); }

    // DAO error objects, with Kong's messages.
    static ApiError schemaViolation(const schema::ErrorTree& errors);
    static ApiError invalidPrimaryKey(std::string message, json::object fields);
    // UNIQUE violation detected on '{username="bob"}'; `values` is the offending key/values.
    static ApiError uniqueViolation(const json::object& values);
    static ApiError primaryKeyViolation(const json::object& values);
    // the foreign key '{id="..."}' does not reference an existing 'services' entity.
    static ApiError foreignKeyViolation(std::string_view field, std::string_view parent_entity,
                                        std::string_view parent_id);
    // an existing 'routes' entity references this 'services' entity
    static ApiError referencedBy(std::string_view child_entity, std::string_view parent_entity);
    static ApiError foreignKeyUnresolved(std::string_view field, const json::object& key,
                                         std::string_view parent_entity);
    static ApiError invalidSize(std::string message);
    static ApiError invalidOffset(std::string_view offset, std::string_view reason);
    static ApiError invalidOptions(json::object options, std::string message);
    static ApiError operationUnsupported(std::string message);
    static ApiError databaseUnavailable(std::string message);  // 503, Portico's own
    static ApiError databaseError(std::string message);        // 500, generic body
};

// Renders a value the way Kong's error messages print Lua tables: {name="x",port=80}, null.
std::string luaLiteral(const json::value& value);

void throw_exception_from_error(const ApiError& error, const boost::source_location& location);

template <class T>
using ApiResult = boost::system::result<T, ApiError>;

}  // namespace portico::common
