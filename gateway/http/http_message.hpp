#pragma once
// Plain HTTP request/response values exchanged between the Beast server glue and handlers that
// know nothing of Beast (the Admin API). Header names keep their case as received; lookups are
// case-insensitive.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

bool iequals(std::string_view a, std::string_view b);

struct HttpRequest {
    std::string method;  // "GET"
    std::string target;  // "/services?size=2"
    Headers headers;
    std::string body;
    std::string peer;  // "127.0.0.1"

    // First value of a header, case-insensitive.
    std::optional<std::string_view> header(std::string_view name) const;
    std::size_t headerCount(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    Headers headers;
    std::string body;

    void set(std::string name, std::string value);
    std::optional<std::string_view> header(std::string_view name) const;
};

// Standard reason phrase ("Not Found"), or "Unknown".
std::string_view reasonPhrase(int status);

}  // namespace portico::http
