// portico-echo: a test and demo upstream. Answers every request with a JSON echo of what it
// received (method, path, headers, body length) and tags the answer with `X-Upstream: NAME`, so
// tests can tell which upstream served a request. `/status/NNN` answers with that status;
// `/delay/MS` waits before answering (bounded to 10 s).
//
// Usage: portico-echo --listen 127.0.0.1:PORT [--name NAME]
// Prints "listening PORT" on stdout once ready (PORT 0 picks a free port).

#include "gateway/http/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>
#include <thread>

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
            boost::json::object headers;
            for (const auto& [key, value] : request.headers) {
                headers[key] = value;
            }
            boost::json::object body{{"upstream", name},
                                     {"method", request.method},
                                     {"target", request.target},
                                     {"headers", std::move(headers)},
                                     {"body_length", request.body.size()}};
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
