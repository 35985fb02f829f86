#pragma once
// Plain HTTP request/response values exchanged between the Beast server glue and handlers that
// know nothing of Beast (the Admin API). Header names keep their case as received; lookups are
// case-insensitive.

#include <memory>
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

// The body of a streamed response (server-sent events): the server calls poll() on its own
// thread every poll interval, until the client goes away or the server stops, and writes what it
// returns. poll() must not block; it returns "" when there is nothing to send yet.
class EventSource {
public:
    virtual ~EventSource() = default;
    virtual std::string poll() = 0;
};

struct HttpResponse {
    int status = 200;
    Headers headers;
    std::string body;
    // When set, `body` is ignored: HttpServer sends the status line and headers (with
    // Content-Type: text/event-stream, Cache-Control: no-cache unless set, no Content-Length,
    // Connection: close) and then what `stream` yields, for as long as the connection lasts.
    std::shared_ptr<EventSource> stream;

    void set(std::string name, std::string value);
    std::optional<std::string_view> header(std::string_view name) const;
};

// Standard reason phrase ("Not Found"), or "Unknown".
std::string_view reasonPhrase(int status);

}  // namespace portico::http
