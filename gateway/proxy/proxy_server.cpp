#include "gateway/proxy/proxy_server.hpp"

#include "gateway/core/logging.hpp"
#include "gateway/http/http_message.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/sinks/basic_file_sink.h>

#include <array>
#include <filesystem>
#include <random>
#include <thread>

namespace portico::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr const char* kVia = "1.1 portico/0.1.0";

std::string newRequestId() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    static const char* kHex = "0123456789abcdef";
    std::string id(32, '0');
    for (int half = 0; half < 2; ++half) {
        auto bits = engine();
        for (int i = 0; i < 16; ++i) {
            id[static_cast<std::size_t>(half * 16 + i)] = kHex[(bits >> (i * 4)) & 0xf];
        }
    }
    return id;
}

std::string jsonEscape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

// Gateway-made errors: JSON by default, text or HTML when the client's Accept prefers them.
bhttp::response<bhttp::string_body> gatewayError(int status, std::string_view message,
                                                 const std::string& request_id,
                                                 std::string_view accept, unsigned version) {
    bhttp::response<bhttp::string_body> response;
    response.version(version);
    response.result(static_cast<unsigned>(status));
    if (accept.find("text/html") != std::string_view::npos) {
        response.set(bhttp::field::content_type, "text/html; charset=utf-8");
        response.body() = "<!doctype html><html><head><title>Error</title></head><body><h1>" +
                          std::string(message) + "</h1><p>request_id: " + request_id +
                          "</p></body></html>";
    } else if (accept.find("text/plain") != std::string_view::npos) {
        response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        response.body() = std::string(message) + "\nrequest_id: " + request_id + "\n";
    } else {
        response.set(bhttp::field::content_type, "application/json; charset=utf-8");
        response.body() = "{\"message\":\"" + jsonEscape(message) + "\",\"request_id\":\"" +
                          request_id + "\"}";
    }
    response.set(bhttp::field::server, "portico/0.1.0");
    response.set("X-Kong-Request-Id", request_id);
    response.prepare_payload();
    return response;
}

bool isHopByHop(std::string_view name) {
    static const std::array<std::string_view, 9> kHop = {
        "connection", "keep-alive",        "proxy-connection", "proxy-authenticate",
        "te",         "trailer",           "transfer-encoding", "upgrade",
        "proxy-authorization"};
    for (auto hop : kHop) {
        if (http::iequals(name, hop)) {
            return true;
        }
    }
    return false;
}

long long millisSince(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

SnapshotHolder::SnapshotHolder() : current_(std::make_shared<const config::ConfigSnapshot>()) {}

std::shared_ptr<const config::ConfigSnapshot> SnapshotHolder::load() const {
    return current_.load(std::memory_order_acquire);
}

void SnapshotHolder::publish(std::shared_ptr<const config::ConfigSnapshot> snapshot) {
    current_.store(std::move(snapshot), std::memory_order_release);
}

struct ProxyServer::Impl {
    struct Worker {
        asio::io_context io{1};
        std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
        std::thread thread;
    };

    core::Settings settings_;
    SnapshotHolder& snapshots_;
    ProxyStats& stats_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::shared_ptr<spdlog::logger> access_log_;
    std::atomic<bool> stopping_{false};

    Impl(const core::Settings& settings, SnapshotHolder& snapshots, ProxyStats& stats)
        : settings_(settings), snapshots_(snapshots), stats_(stats) {
        if (settings_.proxy_access_log != "off") {
            auto path = settings_.underPrefix(settings_.proxy_access_log);
            std::filesystem::create_directories(std::filesystem::path(path).parent_path());
            access_log_ = std::make_shared<spdlog::logger>(
                "access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(path));
            access_log_->set_pattern("%v");
            access_log_->flush_on(spdlog::level::info);
        }
        unsigned count = settings_.effectiveWorkerThreads();
        for (unsigned i = 0; i < count; ++i) {
            auto worker = std::make_unique<Worker>();
            for (const auto& address : settings_.proxy_listen) {
                worker->acceptors.push_back(bindAcceptor(worker->io, address));
            }
            workers_.push_back(std::move(worker));
        }
    }

    static std::unique_ptr<tcp::acceptor> bindAcceptor(asio::io_context& io,
                                                       const core::ListenAddress& address) {
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(address.host, ec);
        if (ec) {
            throw std::system_error(ec, "proxy_listen: invalid address '" + address.host + "'");
        }
        tcp::endpoint endpoint(ip, address.port);
        auto acceptor = std::make_unique<tcp::acceptor>(io);
        acceptor->open(endpoint.protocol());
        acceptor->set_option(asio::socket_base::reuse_address(true));
        int one = 1;
        ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        acceptor->bind(endpoint, ec);
        if (ec) {
            throw std::system_error(ec, "proxy_listen: cannot listen on " + address.toString() +
                                            " (is another process using it? change proxy_listen)");
        }
        acceptor->listen(asio::socket_base::max_listen_connections);
        return acceptor;
    }

    asio::awaitable<void> acceptLoop(tcp::acceptor& acceptor, std::uint16_t port) {
        while (acceptor.is_open()) {
            auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                    break;
                }
                core::logger("proxy")->warn("accept failed error={}", ec);
                continue;
            }
            stats_.connections_accepted++;
            asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), port),
                           [](std::exception_ptr e) {
                               if (e) {
                                   try {
                                       std::rethrow_exception(e);
                                   } catch (const std::exception& ex) {
                                       core::logger("proxy")->error("session failed error={}",
                                                                    ex.what());
                                   }
                               }
                           });
        }
    }

    struct Forwarded {
        bhttp::response<bhttp::string_body> response;
        int gateway_status = 0;  // non-zero: the gateway failed and answers itself
        std::string message;
        std::string address;
        long long upstream_ms = 0;
    };

    // One try: resolve, connect, send, read the response, each with the service's deadlines.
    asio::awaitable<Forwarded> forward(const config::Service& service,
                                       bhttp::request<bhttp::string_body> upstream_request,
                                       bool idempotent) {
        Forwarded result;
        auto executor = co_await asio::this_coro::executor;
        tcp::resolver resolver(executor);
        auto [resolve_ec, endpoints] = co_await resolver.async_resolve(
            service.host, std::to_string(service.port), kUseTuple);
        if (resolve_ec || endpoints.empty()) {
            result.gateway_status = 503;
            result.message = "name resolution failed";
            co_return result;
        }
        unsigned tries = service.retries + 1;
        auto it = endpoints.begin();
        for (unsigned attempt = 0; attempt < tries; ++attempt) {
            auto endpoint = it->endpoint();
            if (++it == endpoints.end()) {
                it = endpoints.begin();
            }
            result.address = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
            auto started = Clock::now();
            beast::tcp_stream stream(executor);
            stream.expires_after(std::chrono::milliseconds(service.connect_timeout_ms));
            auto [connect_ec] = co_await stream.async_connect(endpoint, kUseTuple);
            if (connect_ec) {
                result.gateway_status = connect_ec == beast::error::timeout ? 504 : 502;
                continue;
            }
            stream.expires_after(std::chrono::milliseconds(service.write_timeout_ms));
            auto [write_ec, written] = co_await bhttp::async_write(stream, upstream_request, kUseTuple);
            (void)written;
            if (write_ec) {
                result.gateway_status = write_ec == beast::error::timeout ? 504 : 502;
                if (!idempotent) {
                    break;  // the request may have reached the upstream: never re-send it
                }
                continue;
            }
            beast::flat_buffer buffer;
            bhttp::response_parser<bhttp::string_body> parser;
            parser.body_limit(1024ULL * 1024 * 1024);
            parser.header_limit(64 * 1024);
            stream.expires_after(std::chrono::milliseconds(service.read_timeout_ms));
            auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
            (void)read;
            result.upstream_ms = millisSince(started);
            if (read_ec) {
                result.gateway_status = read_ec == beast::error::timeout ? 504 : 502;
                if (!idempotent) {
                    break;
                }
                continue;
            }
            result.gateway_status = 0;
            result.response = parser.release();
            boost::system::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return result;
        }
        result.message = result.gateway_status == 504
                             ? "The upstream server is timing out"
                             : "An invalid response was received from the upstream server";
        co_return result;
    }

    asio::awaitable<void> serve(tcp::socket socket, std::uint16_t port) {
        stats_.connections_active++;
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        std::string peer;
        {
            boost::system::error_code ec;
            auto endpoint = stream.socket().remote_endpoint(ec);
            peer = ec ? std::string() : endpoint.address().to_string();
        }
        for (;;) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(32 * 1024);
            parser.body_limit(64ULL * 1024 * 1024);
            stream.expires_after(std::chrono::seconds(60));
            auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
            (void)read;
            auto received = Clock::now();
            if (read_ec) {
                if (read_ec == bhttp::error::end_of_stream || read_ec == asio::error::eof ||
                    read_ec == beast::error::timeout || read_ec == asio::error::connection_reset) {
                    break;
                }
                int status = read_ec == bhttp::error::header_limit ? 431
                             : read_ec == bhttp::error::body_limit ? 413
                                                                   : 400;
                auto response = gatewayError(
                    status,
                    status == 431 ? "Request header or cookie too large"
                    : status == 413 ? "Payload too large"
                                    : "Bad request",
                    newRequestId(), "", 11);
                response.keep_alive(false);
                co_await bhttp::async_write(stream, response, kUseTuple);
                break;
            }
            stats_.total_requests++;
            auto request = parser.release();
            bool keep_alive = request.keep_alive();
            std::string request_id = newRequestId();
            std::string accept(request[bhttp::field::accept]);
            auto snapshot = snapshots_.load();
            std::string target(request.target());
            auto query_at = target.find('?');
            std::string path = target.substr(0, query_at);
            std::string query = query_at == std::string::npos ? "" : target.substr(query_at);
            std::string host(request[bhttp::field::host]);

            router::MatchRequest match_request;
            match_request.method = request.method_string();
            match_request.host = host;
            match_request.port = port;
            match_request.path = path;
            match_request.header_values = [&request](std::string_view name) {
                std::vector<std::string_view> values;
                for (const auto& field : request) {
                    if (http::iequals(field.name_string(), name)) {
                        values.push_back(field.value());
                    }
                }
                return values;
            };
            auto match = snapshot->routes.match(match_request);
            bhttp::response<bhttp::string_body> response;
            std::string route_name;
            std::string address;
            if (!match) {
                response = gatewayError(404, "no Route matched with those values", request_id,
                                        accept, request.version());
            } else if (const auto* service = snapshot->service(match->route->service_id);
                       service == nullptr) {
                response = gatewayError(503, "no Service found with those values", request_id,
                                        accept, request.version());
            } else {
                route_name = match->route->name.empty() ? match->route->id : match->route->name;
                bhttp::request<bhttp::string_body> upstream;
                upstream.method_string(request.method_string());
                upstream.version(11);
                upstream.target(router::upstreamPath(*match->route, *match, service->path) + query);
                std::string forwarded_for;
                for (const auto& field : request) {
                    if (isHopByHop(field.name_string()) || http::iequals(field.name_string(), "host")) {
                        continue;
                    }
                    if (http::iequals(field.name_string(), "x-forwarded-for")) {
                        forwarded_for = std::string(field.value());
                        continue;
                    }
                    upstream.insert(field.name_string(), field.value());
                }
                bool default_port = service->port == 80 || service->port == 443;
                upstream.set(bhttp::field::host,
                             match->route->preserve_host && !host.empty()
                                 ? host
                                 : service->host +
                                       (default_port ? "" : ":" + std::to_string(service->port)));
                upstream.set("X-Real-IP", peer);
                upstream.set("X-Forwarded-For",
                             forwarded_for.empty() ? peer : forwarded_for + ", " + peer);
                upstream.set("X-Forwarded-Proto", "http");
                upstream.set("X-Forwarded-Host", host.substr(0, host.rfind(':')));
                upstream.set("X-Forwarded-Port", std::to_string(port));
                upstream.set("X-Forwarded-Path", path);
                if (match->route->strip_path && match->matched_path.size() > 1) {
                    upstream.set("X-Forwarded-Prefix", match->matched_path);
                }
                upstream.set("X-Kong-Request-Id", request_id);
                upstream.set(bhttp::field::via, kVia);
                upstream.keep_alive(false);
                upstream.body() = std::move(request.body());
                upstream.prepare_payload();
                auto method = request.method();
                bool idempotent = method != bhttp::verb::post && method != bhttp::verb::patch &&
                                  method != bhttp::verb::lock;
                auto proxy_ms = millisSince(received);
                auto forwarded = co_await forward(*service, std::move(upstream), idempotent);
                address = forwarded.address;
                if (forwarded.gateway_status != 0) {
                    response = gatewayError(forwarded.gateway_status, forwarded.message,
                                            request_id, accept, request.version());
                } else {
                    response = std::move(forwarded.response);
                    for (auto hop : {"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade",
                                     "Proxy-Connection", "Trailer"}) {
                        response.erase(hop);
                    }
                    response.version(request.version());
                    response.set(bhttp::field::via, kVia);
                    response.set("X-Kong-Upstream-Latency", std::to_string(forwarded.upstream_ms));
                    response.set("X-Kong-Proxy-Latency", std::to_string(proxy_ms));
                    response.set("X-Kong-Request-Id", request_id);
                    response.prepare_payload();
                }
            }
            response.keep_alive(keep_alive && !stopping_);
            auto status = response.result_int();
            auto bytes = response.body().size();
            auto [write_ec, written] = co_await bhttp::async_write(stream, response, kUseTuple);
            (void)written;
            if (access_log_) {
                access_log_->info("{} - - \"{} {} HTTP/{}.{}\" {} {} route={} upstream={} "
                                  "request_id={} latency_ms={}",
                                  peer, std::string(request.method_string()), target,
                                  request.version() / 10, request.version() % 10, status, bytes,
                                  route_name.empty() ? "-" : route_name,
                                  address.empty() ? "-" : address, request_id,
                                  millisSince(received));
            }
            if (write_ec || !keep_alive || stopping_) {
                break;
            }
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stats_.connections_active--;
    }
};

ProxyServer::ProxyServer(const core::Settings& settings, SnapshotHolder& snapshots,
                         ProxyStats& stats)
    : impl_(std::make_unique<Impl>(settings, snapshots, stats)) {}

ProxyServer::~ProxyServer() { stop(std::chrono::milliseconds(0)); }

void ProxyServer::start() {
    for (auto& worker : impl_->workers_) {
        for (auto& acceptor : worker->acceptors) {
            auto port = acceptor->local_endpoint().port();
            asio::co_spawn(worker->io, impl_->acceptLoop(*acceptor, port),
                           [](std::exception_ptr e) {
                               if (e) {
                                   core::logger("proxy")->error("acceptor stopped");
                               }
                           });
        }
        Impl::Worker* raw = worker.get();
        worker->thread = std::thread([raw] { raw->io.run(); });
    }
}

void ProxyServer::stop(std::chrono::milliseconds deadline) {
    impl_->stopping_ = true;
    for (auto& worker : impl_->workers_) {
        asio::post(worker->io, [w = worker.get()] {
            for (auto& acceptor : w->acceptors) {
                boost::system::error_code ignored;
                acceptor->close(ignored);
            }
        });
    }
    auto until = Clock::now() + deadline;
    while (impl_->stats_.connections_active.load() > 0 && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& worker : impl_->workers_) {
        worker->io.stop();
        if (worker->thread.joinable()) {
            worker->thread.join();
        }
    }
}

}  // namespace portico::proxy
