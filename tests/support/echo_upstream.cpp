// portico-echo: a test and demo upstream. Answers every request with a JSON echo of what it
// received (method, path, headers, body length) and tags the answer with `X-Upstream: NAME`, so
// tests can tell which upstream served a request. `/status/NNN` answers with that status;
// `/delay/MS` waits before answering (bounded to 10 s); `/bytes/N` answers with N bytes (at most
// 64 MiB) instead of the echo. The echo carries the body's FNV-1a 64 hash (`body_fnv`), and a
// `/bytes/N` answer its own in `X-Body-Fnv`, so tests can check a body came through whole.
//
// Usage: portico-echo --listen 127.0.0.1:PORT [--name NAME]
// Prints "listening PORT" on stdout once ready (PORT 0 picks a free port).

#include "gateway/http/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <iostream>
#include <string_view>
#include <thread>

namespace {

// FNV-1a, 64 bits, as 16 lowercase hex digits.
std::string fnv1a64(std::string_view bytes) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char byte : bytes) {
        hash = (hash ^ byte) * 0x100000001b3ULL;
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:0";
    std::string name = "echo";
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--listen") {
            listen = argv[i + 1];
        } else if (flag == "--name") {
            name = argv[i + 1];
        }
    }
    auto colon = listen.rfind(':');
    portico::core::ListenAddress address;
    address.host = listen.substr(0, colon);
    address.port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));

    boost::asio::io_context io;
    portico::http::ServerLimits limits;
    limits.body_bytes = 64 * 1024 * 1024;
    portico::http::HttpServer server(
        io, address,
        [&name](const portico::http::HttpRequest& request) {
            portico::http::HttpResponse response;
            std::string path = request.target.substr(0, request.target.find('?'));
            if (path.rfind("/status/", 0) == 0) {
                response.status = std::atoi(path.c_str() + 8);
                if (response.status < 100 || response.status > 599) {
                    response.status = 400;
                }
            }
            if (path.rfind("/delay/", 0) == 0) {
                int ms = std::min(10000, std::max(0, std::atoi(path.c_str() + 7)));
                std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            }
            if (path.rfind("/bytes/", 0) == 0) {
                const auto size = std::min<std::size_t>(
                    std::strtoull(path.c_str() + 7, nullptr, 10), 64 * 1024 * 1024);
                response.body.resize(size);
                for (std::size_t i = 0; i < size; ++i) {
                    response.body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
                }
                response.set("Content-Type", "application/octet-stream");
                response.set("X-Upstream", name);
                response.set("X-Body-Fnv", fnv1a64(response.body));
                return response;
            }
            boost::json::object headers;
            for (const auto& [key, value] : request.headers) {
                headers[key] = value;
            }
            boost::json::object body{{"upstream", name},
                                     {"method", request.method},
                                     {"target", request.target},
                                     {"headers", std::move(headers)},
                                     {"body_length", request.body.size()},
                                     {"body_fnv", fnv1a64(request.body)}};
            response.set("Content-Type", "application/json");
            response.set("X-Upstream", name);
            response.body = boost::json::serialize(body) + "\n";
            return response;
        },
        limits, "echo");
    server.start();
    std::cout << "listening " << server.port() << std::endl;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    io.run();
    return 0;
}
