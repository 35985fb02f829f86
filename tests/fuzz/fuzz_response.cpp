// libFuzzer target for ResponseParser, the proxy's parser of upstream responses. The first three
// bytes choose how the rest is fed, the way the relay feeds it: where the bytes are split
// between reads, the size of the body buffer, HEAD or not, the client's HTTP version. Besides
// crashes and sanitizer reports it checks what the proxy relies on:
//   - the head written for the client ends every line with CRLF and holds no other CR or LF, and
//     no NUL (an upstream cannot split or cut the client's response);
//   - nothing is used twice or skipped: what put() reports used never exceeds what it was given;
//   - a message reported done got no error, and the body it handed over is no longer than a
//     Content-Length it announced.
// Any violation aborts.
//
// Built with clang: cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DPORTICO_FUZZ=ON
// Run: ./build-fuzz/tests/fuzz/fuzz_response -max_total_time=60 tests/fuzz/corpus/response
// With GCC the same function is replayed over the corpus by the `fuzz_response_replay` test.

#include "gateway/proxy/response_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using portico::proxy::ResponseParser;
namespace bhttp = boost::beast::http;

void require(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// CR and LF only as CRLF at line ends, no NUL, and the last line ended.
bool wellFormedHead(std::string_view head) {
    for (std::size_t i = 0; i < head.size(); ++i) {
        char c = head[i];
        if (c == '\0') {
            return false;
        }
        if (c == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) {
            return false;
        }
        if (c == '\n' && (i == 0 || head[i - 1] != '\r')) {
            return false;
        }
    }
    return head.empty() || (head.size() >= 2 && head.substr(head.size() - 2) == "\r\n");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) {
        return 0;
    }
    const std::size_t step = 1 + data[0] % 64;        // bytes per read
    const std::size_t room_size = 1 + data[1] % 32;   // body buffer
    const bool head_request = (data[2] & 1) != 0;
    const unsigned client_version = (data[2] & 2) != 0 ? 10 : 11;
    std::string_view wire(reinterpret_cast<const char*>(data) + 3, size - 3);

    std::string head;
    ResponseParser parser(client_version, head);
    parser.header_limit(1024);
    parser.skip(head_request);
    char room[32];
    std::uint64_t body_bytes = 0;
    auto give_room = [&] {
        if (parser.body().data != nullptr) {
            body_bytes += room_size - parser.body().size;
        }
        parser.body().data = room;
        parser.body().size = room_size;
    };
    give_room();

    std::string pending;
    boost::system::error_code ec;
    for (std::size_t at = 0; at < wire.size() && !ec && !parser.is_done(); at += step) {
        pending.append(wire.substr(at, step));
        for (;;) {
            std::size_t used = parser.put(pending.data(), pending.size(), ec);
            require(used <= pending.size());
            pending.erase(0, used);
            if (ec == bhttp::error::need_buffer) {
                give_room();
                ec = {};
                continue;
            }
            if (ec == bhttp::error::need_more) {
                ec = {};
                break;
            }
            if (ec || used == 0 || pending.empty() || parser.is_done()) {
                break;
            }
        }
    }
    if (!ec && !parser.is_done() && parser.is_header_done()) {
        parser.put_eof(ec);  // the upstream closes here
    }
    give_room();
    if (parser.is_header_done()) {
        require(wellFormedHead(head));
    }
    if (parser.is_done()) {
        require(!ec);
        if (auto length = parser.content_length(); length && !head_request) {
            require(body_bytes <= *length);
        }
    }
    return 0;
}
