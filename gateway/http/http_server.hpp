#pragma once
// A small HTTP/1.1 server on Beast for the control plane (Admin API): keep-alive, a header and a
// body limit (413 before the body is read when Content-Length says so, also for
// Expect: 100-continue), read and idle deadlines, and one synchronous handler called on the
// io_context's thread for each complete request. A response with a `stream` (server-sent events)
// keeps its connection: the server polls the stream and writes what it yields until the client
// goes away or the server stops. Run the io_context on one thread.

#include "gateway/core/settings.hpp"
#include "gateway/http/http_message.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace portico::http {

struct ServerLimits {
    std::size_t header_bytes = 64 * 1024;
    std::size_t body_bytes = 1024 * 1024;
    std::chrono::milliseconds read_timeout{30000};
    std::chrono::milliseconds idle_timeout{60000};
    // Streamed responses: how often the EventSource is polled, how long the connection may stay
    // silent before a ": keep-alive" comment is sent (which also finds clients that are gone),
    // and how long one write may take before the client is dropped.
    std::chrono::milliseconds stream_poll_interval{200};
    std::chrono::milliseconds stream_keepalive_interval{15000};
    std::chrono::milliseconds write_timeout{30000};
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
public:
    // Binds and listens immediately; throws std::system_error naming the address on failure.
    HttpServer(boost::asio::io_context& io, const core::ListenAddress& address, Handler handler,
               ServerLimits limits, std::string name);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Starts accepting on the io_context.
    void start();
    // Stops accepting; open connections finish their current request, streams end at their next
    // poll.
    void stop();
    std::uint16_t port() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace portico::http
