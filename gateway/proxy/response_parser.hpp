#pragma once
// The parser of an upstream's HTTP/1.x response, written for the proxy's relay: it writes the
// head the client gets while it parses (the status line in the client's HTTP version, then the
// end-to-end fields in order) and hands the body over piece by piece, de-chunked, into the
// caller's buffer. No sockets: fed with put(), as Beast's basic_parser is, and with the same
// error codes (boost::beast::http::error), so that relay code takes either.
//
// Strict where a lenient parser would let a response through wrong: bare LF, obs-fold, control
// characters in a value, Content-Length with Transfer-Encoding, two Content-Length fields, a
// transfer coding other than chunked, a malformed chunk are all errors (the proxy answers 502,
// as nginx does for the same shapes). It replaced Beast's basic_parser for upstream responses,
// which cost ~900 instructions per field; this one costs about a fifth of that.

#include "gateway/proxy/forwarding.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

namespace portico::proxy {

class ResponseParser {
public:
    using is_request = std::false_type;

    // Where body bytes go: put() fills `data` up to `size` bytes, advancing both (the contract
    // of Beast's buffer_body). When it is full, or `data` is null, put() stops with need_buffer.
    struct BodyBuffer {
        void* data = nullptr;
        std::size_t size = 0;
    };

    // `head` receives the head for a client speaking HTTP/`client_version` (10 or 11), without
    // the blank line that ends it: the caller adds its own fields first.
    ResponseParser(unsigned client_version, std::string& head)
        : client_version_(client_version), head_(head) {}
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    // Limits and modes, set before the first put().
    void header_limit(std::size_t bytes) { header_limit_ = bytes; }
    void skip(bool no_body) { skip_ = no_body; }  // the response to a HEAD: no body whatever it says

    // Feeds bytes; returns how many were used. The head is used only once it is whole (until
    // then: need_more, 0 used, the bytes stay with the caller). Body bytes are used as far as
    // the body buffer has room.
    template <typename ConstBuffer>
    std::size_t put(const ConstBuffer& buffer, boost::system::error_code& ec) {
        return put(static_cast<const char*>(buffer.data()), buffer.size(), ec);
    }
    std::size_t put(const char* data, std::size_t size, boost::system::error_code& ec);
    // The rest of a Content-Length body when all of it is among the `available` bytes that
    // follow the head: the caller relays them straight from its own buffer, and the message is
    // done. Returns how many bytes that is; 0 (and nothing changes) when the body is not framed
    // by a length or is not all there.
    std::size_t bodyInPlace(std::size_t available);
    // The connection ended: completes a body that ends with it, else partial_message.
    void put_eof(boost::system::error_code& ec);

    bool got_some() const { return got_some_; }
    bool is_header_done() const { return state_ > State::Head; }
    bool is_done() const { return state_ == State::Done; }
    bool chunked() const { return chunked_; }
    // The body ends with the connection (neither length nor chunked).
    bool need_eof() const { return until_eof_; }
    // Whether the upstream connection may carry another request after this response.
    bool keep_alive() const;

    unsigned status() const { return status_; }
    unsigned version() const { return version_; }  // 10 or 11
    std::optional<std::uint64_t> content_length() const { return content_length_; }
    bool hasServer() const { return has_server_; }
    const std::string& via() const { return via_.value; }          // the first Via value
    const std::string& upgrade() const { return upgrade_.value; }  // the first Upgrade value
    BodyBuffer& body() { return body_; }

private:
    enum class State : std::uint8_t {
        Head,
        Length,      // Content-Length bytes
        UntilEof,    // until the connection closes
        ChunkSize,   // hex digits
        ChunkExt,    // after the size: extensions up to CR
        ChunkSizeLf,
        ChunkData,
        ChunkDataCr,
        ChunkDataLf,
        Trailer,     // trailer lines, up to the empty one
        Done,
    };
    struct Written {  // a field line written to head_ (32-bit: a head is at most 64 KiB)
        std::uint32_t offset;
        std::uint32_t length;  // CRLF included
        std::uint32_t name_length;
    };

    bool parseStatusLine(std::string_view line, boost::system::error_code& ec);
    bool parseField(std::string_view line, boost::system::error_code& ec);
    bool finishHead(boost::system::error_code& ec);
    std::size_t putBody(const char* data, std::size_t size, boost::system::error_code& ec);
    std::size_t takeBody(const char* data, std::size_t size, boost::system::error_code& ec);

    unsigned client_version_;
    std::string& head_;
    std::size_t header_limit_ = 8 * 1024;
    std::size_t scanned_ = 0;  // head bytes already parsed in line by line (until it is whole)
    State state_ = State::Head;
    bool skip_ = false;
    bool got_some_ = false;
    bool started_ = false;  // the status line was parsed
    bool chunked_ = false;
    bool has_server_ = false;
    bool close_ = false;       // Connection: close
    bool keep_alive_ = false;  // Connection: keep-alive
    bool has_transfer_encoding_ = false;
    bool until_eof_ = false;  // the body ends with the connection
    unsigned status_ = 0;
    unsigned version_ = 11;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t remaining_ = 0;     // of the Content-Length body or the current chunk
    std::size_t framing_bytes_ = 0;   // chunk extension and trailer bytes, bounded by the limit
    bool chunk_digits_ = false;       // the chunk size has a digit
    bool in_extension_ = false;       // past the ';' of a chunk extension
    bool trailer_line_empty_ = true;  // no byte yet on the current trailer line
    bool trailer_cr_ = false;         // the last trailer byte was CR
    FirstValue<std::string> via_;
    FirstValue<std::string> upgrade_;
    HopByHop hop_;  // the names the Connection header lists
    // Inline room for a typical response's fields; kept small so that the relaying coroutine's
    // frame (which holds the parser) stays under the 1 KiB Asio recycles rather than allocates.
    boost::container::small_vector<Written, 12> written_;
    BodyBuffer body_;
};

}  // namespace portico::proxy
