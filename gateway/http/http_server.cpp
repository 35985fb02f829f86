#include "gateway/http/http_server.hpp"

#include "gateway/core/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <atomic>
#include <system_error>

namespace portico::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

HttpResponse plainError(int status, std::string message) {
    HttpResponse response;
    response.status = status;
    response.set("Content-Type", "application/json; charset=utf-8");
    // Answers the server gives before any handler runs carry the same identity as the handlers'
    // and may be read by browser clients (the console, Kong Manager).
    response.set("Server", "portico/0.1.0");
    response.set("Access-Control-Allow-Origin", "*");
    // Message texts are fixed strings of ours: no escaping needed.
    response.body = "{\"message\":\"" + message + "\"}";
    return response;
}

bhttp::response<bhttp::string_body> toBeast(const HttpResponse& in, unsigned version,
                                            bool keep_alive, bool head) {
    bhttp::response<bhttp::string_body> out;
    out.version(version);
    out.result(static_cast<unsigned>(in.status));
    for (const auto& [name, value] : in.headers) {
        out.insert(name, value);
    }
    out.body() = in.body;
    out.keep_alive(keep_alive);
    if (in.status == 204 || in.status == 304) {
        out.body().clear();
        out.prepare_payload();
        out.erase(bhttp::field::content_length);
        return out;
    }
    out.prepare_payload();
    if (head) {
        // HEAD: same headers as GET, no body.
        auto length = out.body().size();
        out.body().clear();
        out.content_length(length);
    }
    return out;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
    Impl(asio::io_context& io, const core::ListenAddress& address, Handler h, ServerLimits l,
         std::string n)
        : io_(io), acceptor_(io), handler_(std::move(h)), limits_(l), name_(std::move(n)) {
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(address.host, ec);
        if (ec) {
            throw std::system_error(ec, name_ + ": invalid listen address '" + address.host + "'");
        }
        tcp::endpoint endpoint(ip, address.port);
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(endpoint, ec);
        if (ec) {
            throw std::system_error(
                ec, name_ + ": cannot listen on " + address.toString() +
                        " (is another process using it? change the *_listen setting)");
        }
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }

    asio::awaitable<void> acceptLoop() {
        auto self = shared_from_this();
        while (acceptor_.is_open()) {
            auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
                    break;
                }
                core::logger("admin")->warn("accept failed listener={} error={}", name_, ec);
                continue;
            }
            asio::co_spawn(io_, serveConnection(std::move(socket), self), [](std::exception_ptr e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        core::logger("admin")->error("connection failed error={}", ex.what());
                    }
                }
            });
        }
    }

    // Notices a client that hangs up during a stream without waiting for a write to fail: one
    // read is kept pending on the socket; its completion handler owns this state, so it may run
    // after the stream ended. Data the client sends meanwhile is discarded.
    struct HangUpWatch {
        std::array<char, 256> buffer{};
        std::atomic<bool> gone{false};
        std::atomic<bool> reading{false};
    };

    static void watchForHangUp(tcp::socket& socket, const std::shared_ptr<HangUpWatch>& watch) {
        if (watch->reading.exchange(true)) {
            return;
        }
        socket.async_read_some(asio::buffer(watch->buffer),
                               [watch](boost::system::error_code ec, std::size_t) {
                                   if (ec) {
                                       watch->gone = true;
                                   }
                                   watch->reading = false;
                               });
    }

    // A streamed response: the header (no Content-Length, the body ends when the connection
    // closes), then what the EventSource yields at every poll, with a keep-alive comment when
    // the connection has been silent for a while. Ends when a write fails or times out, the
    // client hangs up, or the server stops.
    static asio::awaitable<void> streamResponse(beast::tcp_stream& stream, HttpResponse out,
                                                unsigned version, bool head,
                                                std::shared_ptr<Impl> self) {
        bhttp::response<bhttp::empty_body> header;
        header.version(version);
        header.result(static_cast<unsigned>(out.status));
        for (const auto& [name, value] : out.headers) {
            header.insert(name, value);
        }
        if (header.find(bhttp::field::content_type) == header.end()) {
            header.set(bhttp::field::content_type, "text/event-stream");
        }
        if (header.find(bhttp::field::cache_control) == header.end()) {
            header.set(bhttp::field::cache_control, "no-cache");
        }
        header.erase(bhttp::field::content_length);
        header.erase(bhttp::field::transfer_encoding);
        header.set("X-Accel-Buffering", "no");  // a buffering proxy in front would hold events
        header.keep_alive(false);
        bhttp::response_serializer<bhttp::empty_body> serializer(header);
        stream.expires_after(self->limits_.write_timeout);
        auto [header_ec, header_bytes] =
            co_await bhttp::async_write_header(stream, serializer, kUseTuple);
        (void)header_bytes;
        if (header_ec || head) {
            co_return;
        }

        auto watch = std::make_shared<HangUpWatch>();
        asio::steady_timer timer(stream.get_executor());
        auto last_write = std::chrono::steady_clock::now();
        while (!self->stopping_ && !watch->gone) {
            watchForHangUp(stream.socket(), watch);
            std::string bytes;
            try {
                bytes = out.stream->poll();
            } catch (const std::exception& e) {
                core::logger("admin")->error("event stream failed error={}", e.what());
                break;
            }
            auto now = std::chrono::steady_clock::now();
            if (bytes.empty() && now - last_write >= self->limits_.stream_keepalive_interval) {
                bytes = ": keep-alive\n\n";
            }
            if (!bytes.empty()) {
                stream.expires_after(self->limits_.write_timeout);
                auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), kUseTuple);
                (void)n;
                if (ec) {
                    break;
                }
                last_write = now;
            }
            timer.expires_after(self->limits_.stream_poll_interval);
            auto [wait_ec] = co_await timer.async_wait(kUseTuple);
            if (wait_ec) {
                break;
            }
        }
    }

    static asio::awaitable<void> writeResponse(beast::tcp_stream& stream,
                                               bhttp::response<bhttp::string_body> response,
                                               bool& ok) {
        auto [ec, bytes] = co_await bhttp::async_write(stream, response, kUseTuple);
        (void)bytes;
        ok = !ec;
    }

    // After an error answer sent before the request body was read: stop sending, then read and
    // discard what the client still sends, for a bounded time and amount, until it closes.
    // Closing a socket with unread data makes the kernel send RST, and a client still busy
    // sending its body would then lose the answer (nginx's lingering close).
    static asio::awaitable<void> lingeringClose(beast::tcp_stream& stream) {
        constexpr std::size_t kLingerBytes = 16 * 1024 * 1024;
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        std::array<char, 16 * 1024> sink{};
        std::size_t drained = 0;
        stream.expires_after(std::chrono::seconds(5));
        while (drained < kLingerBytes) {
            auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
            if (ec) {
                break;
            }
            drained += n;
        }
    }

    // One connection: read requests one after the other, answer each, honour keep-alive.
    static asio::awaitable<void> serveConnection(tcp::socket socket, std::shared_ptr<Impl> self) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        std::string peer;
        {
            boost::system::error_code ec;
            auto endpoint = stream.socket().remote_endpoint(ec);
            peer = ec ? std::string() : endpoint.address().to_string();
        }
        bool linger = false;  // closing with request bytes possibly unread
        for (;;) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(self->limits_.header_bytes));
            parser.body_limit(self->limits_.body_bytes);
            stream.expires_after(self->limits_.idle_timeout);
            auto [header_ec, header_bytes] =
                co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
            (void)header_bytes;
            bool ok = true;
            if (header_ec) {
                if (header_ec == bhttp::error::end_of_stream ||
                    header_ec == asio::error::connection_reset ||
                    header_ec == beast::error::timeout || header_ec == asio::error::eof) {
                    break;
                }
                linger = true;
                if (header_ec == bhttp::error::body_limit) {
                    // Beast checks Content-Length against the body limit while it parses the
                    // header, so an oversized announced body ends here, not below.
                    co_await writeResponse(
                        stream,
                        toBeast(plainError(413, "Payload too large: the body is over the " +
                                                    std::to_string(self->limits_.body_bytes) +
                                                    " bytes limit"),
                                11, false, false),
                        ok);
                    break;
                }
                int status = header_ec == bhttp::error::header_limit ? 431 : 400;
                co_await writeResponse(
                    stream,
                    toBeast(plainError(status, status == 431 ? "Request header fields too large"
                                                             : "Bad request"),
                            11, false, false),
                    ok);
                break;
            }
            auto& header = parser.get();
            auto length = parser.content_length();
            if (length && *length > self->limits_.body_bytes) {
                linger = true;
                co_await writeResponse(
                    stream,
                    toBeast(plainError(413, "Payload too large: the body is over the " +
                                                std::to_string(self->limits_.body_bytes) +
                                                " bytes limit"),
                            header.version(), false, false),
                    ok);
                break;
            }
            if (auto expect = header.find(bhttp::field::expect);
                expect != header.end() && iequals(expect->value(), "100-continue")) {
                static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                auto [ec, n] =
                    co_await asio::async_write(stream, asio::buffer(kContinue), kUseTuple);
                (void)n;
                if (ec) {
                    break;
                }
            }
            stream.expires_after(self->limits_.read_timeout);
            auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
            (void)body_bytes;
            if (body_ec) {
                linger = true;
                if (body_ec == bhttp::error::body_limit) {
                    co_await writeResponse(
                        stream,
                        toBeast(plainError(413, "Payload too large: the body is over the " +
                                                    std::to_string(self->limits_.body_bytes) +
                                                    " bytes limit"),
                                header.version(), false, false),
                        ok);
                } else if (body_ec != beast::error::timeout && body_ec != asio::error::eof &&
                           body_ec != bhttp::error::end_of_stream &&
                           body_ec != asio::error::connection_reset) {
                    co_await writeResponse(
                        stream, toBeast(plainError(400, "Bad request"), 11, false, false), ok);
                }
                break;
            }
            auto& request = parser.get();
            HttpRequest in;
            in.method = std::string(request.method_string());
            in.target = std::string(request.target());
            in.peer = peer;
            for (const auto& field : request) {
                in.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
            }
            in.body = std::move(request.body());
            HttpResponse out;
            try {
                out = self->handler_(in);
            } catch (const std::exception& e) {
                core::logger("admin")->error("handler failed method={} target={} error={}",
                                             in.method, in.target, e.what());
                out = plainError(500, "An unexpected error occurred");
            }
            if (out.stream) {
                co_await streamResponse(stream, std::move(out), request.version(),
                                        in.method == "HEAD", self);
                break;
            }
            bool keep_alive = request.keep_alive();
            co_await writeResponse(stream,
                                   toBeast(out, request.version(), keep_alive, in.method == "HEAD"),
                                   ok);
            if (!ok || !keep_alive) {
                break;
            }
        }
        if (linger) {
            co_await lingeringClose(stream);
        } else {
            boost::system::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    Handler handler_;
    ServerLimits limits_;
    std::string name_;
    std::atomic<bool> stopping_{false};
};

HttpServer::HttpServer(asio::io_context& io, const core::ListenAddress& address, Handler handler,
                       ServerLimits limits, std::string name)
    : impl_(std::make_shared<Impl>(io, address, std::move(handler), limits, std::move(name))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    auto impl = impl_;
    asio::co_spawn(impl->io_, impl->acceptLoop(), [](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                core::logger("admin")->error("listener stopped error={}", ex.what());
            }
        }
    });
}

void HttpServer::stop() {
    impl_->stopping_ = true;
    boost::system::error_code ignored;
    impl_->acceptor_.close(ignored);
}

std::uint16_t HttpServer::port() const { return impl_->acceptor_.local_endpoint().port(); }

}  // namespace portico::http
