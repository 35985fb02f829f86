// libFuzzer target for the proxy's request path without sockets: bytes are parsed the way a
// proxy session parses them (Beast request parser with the proxy's limits), then routed
// against a fixed route table (prefix, regex with captures, hosts, headers), the upstream path
// and upstream header are built, and a gateway error body is rendered. Any crash, sanitizer
// report or exception escaping here is a bug.
//
// Built with clang: cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DPORTICO_FUZZ=ON
// Run: ./build-fuzz/tests/fuzz/fuzz_request -max_total_time=60 tests/fuzz/corpus/request
// With GCC the same function is replayed over the corpus by the `fuzz_request_replay` test.

#include "gateway/config/config_snapshot.hpp"
#include "gateway/proxy/forwarding.hpp"
#include "gateway/router/route_table.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>

namespace {

using namespace portico;
namespace bhttp = boost::beast::http;

const router::RouteTable& table() {
    static const router::RouteTable routes = [] {
        std::vector<boost::json::object> list;
        const char* specs[] = {
            "{\"id\":\"a\",\"protocols\":[\"http\"],\"paths\":[\"/api\"],\"strip_path\":true}",
            "{\"id\":\"b\",\"protocols\":[\"http\"],\"paths\":[\"~/users/(?<id>\\\\d+)/(\\\\w+)\"],"
            "\"regex_priority\":3}",
            "{\"id\":\"c\",\"protocols\":[\"http\"],\"hosts\":[\"*.example.com\",\"api.test:8000\"],"
            "\"preserve_host\":true}",
            "{\"id\":\"d\",\"protocols\":[\"http\"],\"headers\":{\"x-v\":[\"~*^v[0-9]+$\"]},"
            "\"methods\":[\"GET\",\"POST\"]}",
            "{\"id\":\"e\",\"protocols\":[\"http\"],\"paths\":[\"/\"],\"strip_path\":false}",
        };
        for (const char* spec : specs) {
            list.push_back(boost::json::parse(spec).as_object());
        }
        return router::RouteTable::build(list);
    }();
    return routes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(32 * 1024);
    parser.eager(false);
    boost::system::error_code ec;
    std::size_t offset = 0;
    while (offset < size && !parser.is_header_done()) {
        auto used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
        if (ec) {
            return 0;  // the proxy answers 400/431 and closes: nothing more to exercise
        }
        if (used == 0) {
            break;
        }
        offset += used;
    }
    if (!parser.is_header_done()) {
        return 0;
    }
    const auto& header = parser.get();
    std::string target(header.target());
    std::string path = target.substr(0, target.find('?'));
    std::string host(header[bhttp::field::host]);

    router::MatchRequest request;
    request.method = header.method_string();
    request.host = host;
    request.port = 8000;
    request.path = path;
    request.header_values = [&header](std::string_view name) {
        std::vector<std::string_view> values;
        for (const auto& field : header) {
            std::string lowered(field.name_string());
            for (auto& c : lowered) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            if (lowered == name) {
                values.push_back(field.value());
            }
        }
        return values;
    };
    auto match = table().match(request);
    if (match) {
        config::Service service;
        service.id = "s";
        service.host = "upstream.internal";
        service.port = 8080;
        service.path = "/base";
        auto upstream_target = router::upstreamPath(*match->route, *match, service.path);
        // Every third input with the per-connection precomputed client fields, the others
        // building them field by field.
        std::string_view client_fields =
            (size % 3) == 0 ? "X-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\n"
                              "X-Forwarded-Proto: http\r\n"
                            : "";
        proxy::ForwardingContext context{"0123456789abcdef0123456789abcdef", "192.0.2.1",
                                         (size % 2) == 0, 8000, "X-Real-IP", {}, client_fields};
        proxy::BodyFraming framing;
        if (auto length = parser.content_length()) {
            framing.content_length = *length;
        }
        framing.chunked = parser.chunked();
        auto head = proxy::upstreamRequestHead(header, context, *match, service, upstream_target,
                                               (size % 3) == 0, framing);
        if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
            __builtin_trap();  // a head always ends with the blank line
        }
    }
    auto error = proxy::gatewayError(404, path, "id", std::string(header[bhttp::field::accept]),
                                     header.version());
    (void)error;
    return 0;
}
