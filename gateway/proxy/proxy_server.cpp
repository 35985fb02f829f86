#include "gateway/proxy/proxy_server.hpp"

#include "gateway/core/ip_matcher.hpp"
#include "gateway/proxy/forwarding.hpp"
#include "gateway/proxy/response_parser.hpp"
#include "gateway/proxy/upstream_runtime.hpp"
#include "gateway/core/logging.hpp"
#include "gateway/http/http_message.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/basic_file_sink.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <deque>
#include <filesystem>
#include <random>
#include <thread>
#include <unordered_map>

#include <sys/socket.h>

// GCC 12 sees Asio's coroutine frame recycling inlined (awaitable_frame_base's operator delete
// freeing what its operator new got from ::operator new through aligned_new) and reports
// -Wmismatched-new-delete: a false positive, both halves are Asio's own matched pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace portico::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// The data plane's I/O objects name the worker's executor type directly: no type-erased
// any_io_executor copies in every completion.
using Executor = asio::io_context::executor_type;
template <typename T>
using Task = asio::awaitable<T, Executor>;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;

// `co_await op(..., kDeferTuple)` starts the operation from the awaiting coroutine itself, where
// use_awaitable first makes a coroutine frame for the initiation (measured: 1,200 instructions
// less per proxied request for its four socket operations). kUseTuple only where an awaitable
// is needed as a value (awaitable operators).
constexpr auto kDeferTuple = asio::as_tuple(asio::deferred);
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable_t<Executor>{});
constexpr std::size_t kRelayChunk = 64 * 1024;

// The monotonic clock as of the kernel's last tick (a few milliseconds' resolution; the same
// clock as steady_clock, read without the precise clock's cost). For deadlines and pool ages,
// which set and compare it several times per request; a deadline from it is at most one tick
// early. Latencies use the precise clock.
Clock::time_point coarseNow() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec)));
}

// A socket whose operations are bounded by one deadline, as beast::tcp_stream's are, for less:
// setting the deadline is a clock read and a comparison. The one timer behind it is re-armed
// only when a deadline comes earlier than the time it waits for; when it fires early it waits
// again for the current deadline. If the deadline passes, the socket is closed (as
// tcp_stream does), which ends the pending operation; done() then reports
// beast::error::timeout. Each operation is bracketed: expiresAfter() before, done() after (which
// clears the deadline, so an idle socket is never closed by a stale one).
class TimedSocket {
public:
    explicit TimedSocket(Socket socket) : state_(std::make_shared<State>(std::move(socket))) {}
    explicit TimedSocket(const Executor& executor) : TimedSocket(Socket(executor)) {}
    TimedSocket(TimedSocket&&) noexcept = default;
    TimedSocket& operator=(TimedSocket&&) noexcept = default;
    ~TimedSocket() {
        if (state_) {
            error_code ignored;
            state_->socket.close(ignored);
            state_->timer.cancel();  // a pending wait lets go of the state
        }
    }

    Socket& socket() { return state_->socket; }

    void expiresAfter(Clock::duration timeout) {
        state_->deadline = coarseNow() + timeout;
        if (state_->deadline < state_->armed) {
            arm(state_);
        }
    }
    void expiresNever() { state_->deadline = Clock::time_point::max(); }

    // The outcome of the operation just finished: `ec`, or timeout if the deadline closed the
    // socket. Clears the deadline.
    error_code done(error_code ec) {
        expiresNever();
        return outcome(ec);
    }
    // The same without clearing the deadline, for one of several operations under it.
    error_code outcome(error_code ec) const {
        if (ec && state_->timed_out) {
            return beast::error::timeout;
        }
        return ec;
    }
    // Clears the deadline when it goes.
    struct Scope {
        explicit Scope(TimedSocket& s) : socket(s) {}
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        ~Scope() { socket.expiresNever(); }
        TimedSocket& socket;
    };

private:
    struct State {
        explicit State(Socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
        Socket socket;
        Timer timer;
        Clock::time_point deadline = Clock::time_point::max();
        Clock::time_point armed = Clock::time_point::max();  // max: no wait pending
        bool timed_out = false;
    };

    static void arm(const std::shared_ptr<State>& state) {
        state->armed = state->deadline;
        state->timer.expires_at(state->deadline);  // a pending wait ends with operation_aborted
        state->timer.async_wait([state](error_code ec) {
            if (ec) {
                return;  // superseded by a newer wait, or the socket is gone
            }
            state->armed = Clock::time_point::max();
            if (state->deadline == Clock::time_point::max()) {
                return;  // no operation pending: the next one arms again
            }
            if (Clock::now() < state->deadline) {
                arm(state);
                return;
            }
            state->timed_out = true;
            error_code ignored;
            state->socket.close(ignored);
        });
    }

    std::shared_ptr<State> state_;
};

std::uint64_t random64() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine();
}

// SplitMix64 (Steele, Lea and Flood): a handful of instructions per 64 bits where mt19937_64
// twists 312 words of state every 312 draws. Request ids need to be unique, not unpredictable.
std::uint64_t nextIdBits() {
    thread_local std::uint64_t state = (std::uint64_t{std::random_device{}()} << 32) ^
                                       std::random_device{}();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// The two lowercase hex digits of every byte value, side by side.
constexpr std::array<char, 512> kHexPairs = [] {
    constexpr char kHex[] = "0123456789abcdef";
    std::array<char, 512> pairs{};
    for (int byte = 0; byte < 256; ++byte) {
        pairs[static_cast<std::size_t>(byte) * 2] = kHex[byte >> 4];
        pairs[static_cast<std::size_t>(byte) * 2 + 1] = kHex[byte & 0xf];
    }
    return pairs;
}();

std::string newRequestId() {
    std::string id(32, '\0');
    for (int half = 0; half < 2; ++half) {
        auto bits = nextIdBits();
        for (int i = 0; i < 8; ++i, bits >>= 8) {  // a byte, two digits, at a time
            std::memcpy(&id[static_cast<std::size_t>(half * 16 + i * 2)],
                        &kHexPairs[(bits & 0xff) * 2], 2);
        }
    }
    return id;
}

double unixNow() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double millisSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

enum class ErrorClass { None, DnsError, ConnectRefused, ConnectTimeout, WriteTimeout, ReadTimeout,
                        Reset, InvalidResponse };

const char* toString(ErrorClass error) {
    switch (error) {
        case ErrorClass::None: return "";
        case ErrorClass::DnsError: return "dns_error";
        case ErrorClass::ConnectRefused: return "connect_refused";
        case ErrorClass::ConnectTimeout: return "connect_timeout";
        case ErrorClass::WriteTimeout: return "write_timeout";
        case ErrorClass::ReadTimeout: return "read_timeout";
        case ErrorClass::Reset: return "reset";
        case ErrorClass::InvalidResponse: return "invalid_response";
    }
    return "";
}

bool isTimeout(ErrorClass error) {
    return error == ErrorClass::ConnectTimeout || error == ErrorClass::WriteTimeout ||
           error == ErrorClass::ReadTimeout;
}

// A dotted-quad IPv4 address in its plain form ("127.0.0.1": four decimal octets, no leading
// zeros), read without inet_pton, which costs ~30 times as much and ran for every request.
// Anything else is nullopt, for make_address to decide.
std::optional<asio::ip::address_v4> plainIpv4(std::string_view text) {
    asio::ip::address_v4::bytes_type bytes{};
    std::size_t at = 0;
    for (std::size_t octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (at >= text.size() || text[at] != '.') {
                return std::nullopt;
            }
            ++at;
        }
        unsigned value = 0;
        std::size_t digits = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 4) {
            value = value * 10 + static_cast<unsigned>(text[at] - '0');
            ++at;
            ++digits;
        }
        if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && text[at - digits] == '0')) {
            return std::nullopt;
        }
        bytes[octet] = static_cast<unsigned char>(value);
    }
    if (at != text.size()) {
        return std::nullopt;
    }
    return asio::ip::address_v4(bytes);
}

// Whether a connection that sat idle in the pool was closed by the upstream meanwhile.
bool closedByPeer(Socket& socket) {
    char byte;
    auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return true;  // orderly shutdown
    }
    if (n > 0) {
        return true;  // unexpected data on an idle connection: do not reuse it
    }
    return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

// Buffers reused per worker thread: a lease holds one while a request needs it, so memory stays
// at one per active request and nothing is allocated per request in steady state. Up to 64 are
// kept for reuse.
template <typename T>
class Lease {
public:
    Lease() {
        auto& free = pool();
        if (free.empty()) {
            item_ = T::make();
        } else {
            item_ = std::move(free.back());
            free.pop_back();
        }
    }
    ~Lease() {
        auto& free = pool();
        if (free.size() < 64) {
            T::reset(*item_);
            free.push_back(std::move(item_));
        }
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    typename T::Type& operator*() { return *item_; }

private:
    static std::vector<std::unique_ptr<typename T::Type>>& pool() {
        thread_local std::vector<std::unique_ptr<typename T::Type>> free;
        return free;
    }
    std::unique_ptr<typename T::Type> item_;
};

// A relay's piece of body in flight.
struct RelayChunk {
    using Type = std::array<char, kRelayChunk>;
    static std::unique_ptr<Type> make() { return std::unique_ptr<Type>(new Type); }
    static void reset(Type&) {}
};

// The text of a head being written (the upstream request's, the client's response's, which may
// carry a small body behind it). One that grew past kHeadTextKept is not kept that large.
constexpr std::size_t kHeadTextKept = 8 * 1024;
struct HeadText {
    using Type = std::string;
    static std::unique_ptr<Type> make() {
        auto text = std::make_unique<Type>();
        text->reserve(1024);
        return text;
    }
    static void reset(Type& text) {
        if (text.capacity() > kHeadTextKept) {
            text = std::string();
            text.reserve(1024);
        }
        text.clear();
    }
};

// The read buffer of an upstream response: room for a head and a chunk of body per read (an
// empty flat_buffer reads 512 bytes at a time).
struct ResponseBuffer {
    using Type = beast::flat_buffer;
    static std::unique_ptr<Type> make() {
        auto buffer = std::make_unique<Type>();
        buffer->reserve(kRelayChunk);
        return buffer;
    }
    static void reset(Type& buffer) { buffer.clear(); }
};

// The body buffer a relay reads into, whichever parser fills it.
template <bool isRequest, typename Allocator>
bhttp::buffer_body::value_type& bodyOf(bhttp::parser<isRequest, bhttp::buffer_body, Allocator>& p) {
    return p.get().body();
}
ResponseParser::BodyBuffer& bodyOf(ResponseParser& p) { return p.body(); }

// A few buffers written with one gather write.
class BufferList {
public:
    using value_type = asio::const_buffer;
    using const_iterator = const asio::const_buffer*;
    void add(const void* data, std::size_t size) {
        if (size != 0) {
            buffers_[count_++] = asio::const_buffer(data, size);
        }
    }
    const_iterator begin() const { return buffers_.data(); }
    const_iterator end() const { return buffers_.data() + count_; }
    bool empty() const { return count_ == 0; }

private:
    std::array<asio::const_buffer, 6> buffers_;
    std::size_t count_ = 0;
};

// A request body comes through the client connection's own buffer, which is kept small between
// requests (an empty flat_buffer reads 512 bytes at a time). A BodyRoom gives it room for up to
// `size` bytes per read while the body is read, and gives the room back when it goes.
class BodyRoom {
public:
    BodyRoom(beast::flat_buffer& buffer, std::size_t size) : buffer_(buffer) {
        if (buffer_.capacity() < size) {
            buffer_.reserve(size);
            give_back_ = true;
        }
    }
    ~BodyRoom() {
        if (give_back_ && buffer_.size() == 0) {
            buffer_.shrink_to_fit();
        }
    }
    BodyRoom(const BodyRoom&) = delete;
    BodyRoom& operator=(const BodyRoom&) = delete;

private:
    beast::flat_buffer& buffer_;
    bool give_back_ = false;
};

// Drops the first `n` bytes of a two-piece buffer sequence; true when nothing is left. For
// writing such a sequence with async_write_some in a loop in the calling coroutine, where
// Asio's composed async_write wraps every write in one more operation layer (measured: ~80
// instructions per write, 166 per proxied request). Each step writes with writeSome().
bool consumeSent(std::array<asio::const_buffer, 2>& pieces, std::size_t n) {
    for (auto& piece : pieces) {
        const std::size_t step = std::min(n, piece.size());
        piece += step;
        n -= step;
    }
    return pieces[0].size() == 0 && pieces[1].size() == 0;
}

// One step of writing a two-piece sequence: a send() of the first piece when it is the only one
// left, a sendmsg() of both otherwise (Asio picks the call by the sequence's type). On loopback
// a send() costs ~150-250 ns less than a two-piece sendmsg() of the same bytes.
// `co_await writeSome(socket, pieces)` gives (error_code, bytes written).
auto writeSome(Socket& socket, const std::array<asio::const_buffer, 2>& pieces) {
    return asio::async_initiate<decltype(kDeferTuple), void(error_code, std::size_t)>(
        [&socket, &pieces](auto handler) {
            if (pieces[1].size() == 0) {
                socket.async_write_some(pieces[0], std::move(handler));
            } else {
                socket.async_write_some(pieces, std::move(handler));
            }
        },
        kDeferTuple);
}

// Writes all of `buffers` to `stream` within `timeout`.
template <typename Buffers>
Task<error_code> writeAll(TimedSocket& stream, const Buffers& buffers, Clock::duration timeout) {
    stream.expiresAfter(timeout);
    auto [ec, n] = co_await asio::async_write(stream.socket(), buffers, kDeferTuple);
    (void)n;
    co_return stream.done(ec);
}

// Feeds `parser` from what `buffer` already holds, without reading. True when the caller need not
// read: `done(parser)`, `enough(parser)`, or an error (in `ec`); false when more bytes are needed.
template <typename Parser, typename Done, typename Enough>
bool feedBuffered(beast::flat_buffer& buffer, Parser& parser, error_code& ec, Done done,
                  Enough enough) {
    ec = {};
    for (;;) {
        if (done(parser)) {
            return true;
        }
        if (buffer.size() != 0) {
            std::size_t used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (ec == bhttp::error::need_more) {
                ec = {};
            } else if (ec) {
                return true;
            } else if (used != 0) {
                continue;
            }
        }
        return enough(parser);
    }
}

// readMessage's steps without its coroutine: a coroutine that reads a message itself (the two
// head reads of every request) spares readMessage's frame and resumption. The loop:
//
//   MessageReader<Parser> reader(stream, buffer, parser, timeout);
//   while (reader.next(done, enough)) {
//       auto [ec, n] = co_await stream.socket().async_read_some(reader.room(), kDeferTuple);
//       reader.read(ec, n);
//   }
//   error_code ec = reader.result();
template <typename Parser>
class MessageReader {
public:
    MessageReader(TimedSocket& stream, beast::flat_buffer& buffer, Parser& parser,
                  Clock::duration timeout)
        : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout) {}

    // Feeds what is buffered; true when a read is needed (the deadline then runs).
    template <typename Done, typename Enough>
    bool next(Done done, Enough enough) {
        if (finished_ || feedBuffered(buffer_, parser_, ec_, done, enough)) {
            return false;
        }
        size_ = beast::read_size(buffer_, 65536);
        if (size_ == 0) {
            ec_ = bhttp::error::buffer_overflow;
            return false;
        }
        if (!deadline_.has_value()) {
            stream_.expiresAfter(timeout_);
            deadline_.emplace(stream_);
        }
        return true;
    }
    asio::mutable_buffer room() { return buffer_.prepare(size_); }
    // The outcome of a read into room().
    void read(error_code read_ec, std::size_t n) {
        ec_ = stream_.outcome(read_ec);
        if (ec_ == asio::error::eof) {
            finished_ = true;
            if (!parser_.got_some()) {
                ec_ = bhttp::error::end_of_stream;
                return;
            }
            ec_ = {};
            parser_.put_eof(ec_);  // fine for a body that ends with the connection
            return;
        }
        if (ec_) {
            finished_ = true;
            return;
        }
        buffer_.commit(n);
    }
    error_code result() const { return ec_; }

private:
    TimedSocket& stream_;
    beast::flat_buffer& buffer_;
    Parser& parser_;
    Clock::duration timeout_;
    std::optional<TimedSocket::Scope> deadline_;  // from the first read to the end
    error_code ec_;
    std::size_t size_ = 0;
    bool finished_ = false;
};

// Reads from `stream` into `buffer` and feeds `parser` until `done(parser)`, as Beast's
// http::async_read does but without its two layers of composed operations, and with its errors:
// end_of_stream when the peer closed before a byte, partial_message when it closed mid-message,
// need_buffer when a buffer_body's space is full, timeout when the deadline passed. When
// `enough(parser)`, returns instead of reading more (a relay forwards what it has). `timeout`
// bounds the whole call, not each read: a client sending its header a byte at a time is cut off
// all the same.
//
// (Measured: trying the socket synchronously before waiting, to skip the suspension, made the
// proxy slower on a shared CPU: every request then ran to the end in one go, and the upstream
// woken by each send preempted the worker twice as often.)
template <typename Parser, typename Done, typename Enough>
Task<error_code> readMessage(TimedSocket& stream, beast::flat_buffer& buffer, Parser& parser,
                             Clock::duration timeout, Done done, Enough enough) {
    MessageReader<Parser> reader(stream, buffer, parser, timeout);
    while (reader.next(done, enough)) {
        auto [read_ec, n] = co_await stream.socket().async_read_some(reader.room(), kDeferTuple);
        reader.read(read_ec, n);
    }
    co_return reader.result();
}

constexpr auto kHeaderDone = [](const auto& parser) { return parser.is_header_done(); };
constexpr auto kMessageDone = [](const auto& parser) { return parser.is_done(); };
constexpr auto kReadAll = [](const auto&) { return false; };

// Relays a message body from `from` (whose header `parser` has read) to `to`, preceded by
// `head` (start line and headers, already serialized). The head goes out with the first piece
// of body in one write; the body is framed chunked when `chunked`, else passed as is (its
// length is in the head, or it ends with the connection). Memory stays at one chunk whatever
// the body size. `body_bytes` counts what was relayed. Returns {read error, write error}.
template <typename Parser>
Task<std::pair<error_code, error_code>> relay(
    TimedSocket& from, beast::flat_buffer& from_buffer, Parser& parser, TimedSocket& to,
    const std::string& head, bool with_body, bool chunked, std::chrono::milliseconds read_timeout,
    std::chrono::milliseconds write_timeout, std::uint64_t& body_bytes) {
    if (!with_body) {
        co_return std::make_pair(error_code{},
                                 co_await writeAll(to, asio::buffer(head), write_timeout));
    }
    Lease<RelayChunk> lease;
    char* chunk = (*lease).data();
    bool head_sent = false;
    std::optional<BodyRoom> room;
    if constexpr (Parser::is_request::value) {
        room.emplace(from_buffer, kRelayChunk);
    }
    char size_line[24];
    // Forward whatever has arrived rather than wait for a full chunk (a stream of events must
    // not sit in the gateway).
    auto some_body = [](auto& p) { return bodyOf(p).size < kRelayChunk; };
    for (;;) {
        std::size_t got = 0;
        if (!parser.is_done()) {
            bodyOf(parser).data = chunk;
            bodyOf(parser).size = kRelayChunk;
            // What came with the head (often the whole body) is taken without a read.
            error_code read_ec;
            if (!feedBuffered(from_buffer, parser, read_ec, kMessageDone, some_body)) {
                read_ec = co_await readMessage(from, from_buffer, parser, read_timeout,
                                               kMessageDone, some_body);
            }
            if (read_ec == bhttp::error::need_buffer) {
                read_ec = {};
            }
            if (read_ec) {
                co_return std::make_pair(read_ec, error_code{});
            }
            got = kRelayChunk - bodyOf(parser).size;
            body_bytes += got;
        }
        bool done = parser.is_done();
        BufferList buffers;
        if (!head_sent) {
            buffers.add(head.data(), head.size());
        }
        if (got != 0) {
            if (chunked) {
                int length = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", got);
                buffers.add(size_line, static_cast<std::size_t>(length));
                buffers.add(chunk, got);
                buffers.add("\r\n", 2);
            } else {
                buffers.add(chunk, got);
            }
        }
        if (done && chunked) {
            buffers.add("0\r\n\r\n", 5);
        }
        if (!buffers.empty()) {
            to.expiresAfter(write_timeout);  // writeAll's steps, without its coroutine frame
            auto [write_ec, written] =
                co_await asio::async_write(to.socket(), buffers, kDeferTuple);
            (void)written;
            if (auto ec = to.done(write_ec)) {
                co_return std::make_pair(error_code{}, ec);
            }
            head_sent = true;
        }
        if (done) {
            break;
        }
    }
    co_return std::make_pair(error_code{}, error_code{});
}

// Copies bytes from `from` to `to` until either side closes or stays idle past `idle`.
Task<void> pump(Socket& from, Socket& to, std::chrono::milliseconds idle, std::uint64_t& bytes) {
    std::unique_ptr<char[]> chunk(new char[16 * 1024]);
    Timer timer(from.get_executor());
    for (;;) {
        using namespace asio::experimental::awaitable_operators;
        timer.expires_after(idle);
        auto result = co_await (from.async_read_some(asio::buffer(chunk.get(), 16 * 1024),
                                                     kUseTuple) ||
                                timer.async_wait(kUseTuple));
        if (result.index() == 1) {
            break;  // idle too long
        }
        auto [read_ec, n] = std::get<0>(result);
        if (read_ec || n == 0) {
            break;
        }
        auto [write_ec, written] =
            co_await asio::async_write(to, asio::buffer(chunk.get(), n), kDeferTuple);
        (void)written;
        if (write_ec) {
            break;
        }
        bytes += n;
    }
    error_code ignored;
    to.shutdown(Socket::shutdown_send, ignored);
}

}  // namespace

SnapshotHolder::SnapshotHolder() : current_(std::make_shared<const config::ConfigSnapshot>()) {}

std::shared_ptr<const config::ConfigSnapshot> SnapshotHolder::load() const {
    return current_.load(std::memory_order_acquire);
}

void SnapshotHolder::publish(std::shared_ptr<const config::ConfigSnapshot> snapshot) {
    current_.store(std::move(snapshot), std::memory_order_release);
}

// The client connections of a worker that wait for their next request, so that a stop can close
// them. Each connection's link lives in its own coroutine frame: joining and leaving the list
// allocates nothing (a set cost a node per request).
class IdleClients {
public:
    struct Link {
        TimedSocket* stream = nullptr;
        Link* prev = nullptr;
        Link* next = nullptr;
        bool linked = false;
    };
    void insert(Link& link) {
        link.prev = nullptr;
        link.next = head_;
        if (head_ != nullptr) {
            head_->prev = &link;
        }
        head_ = &link;
        link.linked = true;
    }
    void erase(Link& link) {
        if (!link.linked) {
            return;  // already taken off by clear()
        }
        (link.prev != nullptr ? link.prev->next : head_) = link.next;
        if (link.next != nullptr) {
            link.next->prev = link.prev;
        }
        link.prev = link.next = nullptr;
        link.linked = false;
    }
    template <typename Visit>
    void forEach(Visit visit) const {
        for (Link* link = head_; link != nullptr; link = link->next) {
            visit(*link->stream);
        }
    }
    void clear() {
        while (head_ != nullptr) {
            erase(*head_);
        }
    }

private:
    Link* head_ = nullptr;
};

struct ProxyServer::Impl {
    // Idle upstream connections of one worker, per address. Worker thread only: no locks.
    struct PooledConnection {
        TimedSocket socket;
        Clock::time_point idle_since;
        unsigned uses = 0;
    };

    struct DnsEntry {
        std::vector<tcp::endpoint> endpoints;
        Clock::time_point expires;
        std::size_t next = 0;  // round-robin over the addresses
    };

    using IdleList = std::deque<PooledConnection>;

    // An upstream address as the worker knows it: its pool key ("ip:port", also what traffic
    // records show) and its idle connections.
    struct Destination {
        tcp::endpoint endpoint;
        std::string key;
        IdleList* idle = nullptr;  // null: the slot is empty
    };

    // A service host that is an IP literal, read once.
    struct LiteralHost {
        std::string host;
        std::uint16_t port = 0;
        std::optional<tcp::endpoint> endpoint;  // nullopt: not a literal
        bool filled = false;
    };

    struct Worker {
        // One thread runs it and only that thread touches the worker's sockets: no locking in the
        // reactor's per-socket operations.
        asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
        std::vector<std::unique_ptr<Acceptor>> acceptors;
        std::thread thread;
        // Entries are never erased: an IdleList* stays valid for the worker's life.
        std::unordered_map<std::string, IdleList> pool;
        // Direct-mapped caches in front of addressKey() + the pool's hash lookup and of
        // literalEndpoint(): a slot holds the last address (host) that mapped to it, so a
        // request to an address seen before costs a comparison (measured: ~700 instructions
        // per request less on /ok).
        std::array<Destination, 16> destinations;
        std::array<LiteralHost, 16> literal_hosts;
        std::size_t pooled = 0;
        std::unordered_map<std::string, DnsEntry> dns;
        IdleClients idle_clients;  // waiting for a next request
    };

    core::Settings settings_;
    SnapshotHolder& snapshots_;
    ProxyStats& stats_;
    TrafficRing* traffic_;
    Metrics* metrics_;
    UpstreamRuntime* upstreams_;
    core::IpMatcher trusted_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::shared_ptr<spdlog::logger> access_log_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> stopped_{false};

    Impl(const core::Settings& settings, SnapshotHolder& snapshots, ProxyStats& stats,
         TrafficRing* traffic, Metrics* metrics, UpstreamRuntime* upstreams)
        : settings_(settings), snapshots_(snapshots), stats_(stats), traffic_(traffic),
          metrics_(metrics), upstreams_(upstreams) {
        trusted_.parse(settings_.trusted_ips);
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
                // Port 0 in the settings: every worker shares the port the first one got.
                core::ListenAddress bound = address;
                if (bound.port == 0 && !workers_.empty()) {
                    bound.port = workers_.front()
                                     ->acceptors[worker->acceptors.size()]
                                     ->local_endpoint()
                                     .port();
                }
                worker->acceptors.push_back(bindAcceptor(worker->io, bound));
            }
            workers_.push_back(std::move(worker));
        }
    }

    static std::unique_ptr<Acceptor> bindAcceptor(asio::io_context& io,
                                                  const core::ListenAddress& address) {
        error_code ec;
        auto ip = asio::ip::make_address(address.host, ec);
        if (ec) {
            throw std::system_error(ec, "proxy_listen: invalid address '" + address.host + "'");
        }
        tcp::endpoint endpoint(ip, address.port);
        auto acceptor = std::make_unique<Acceptor>(io);
        acceptor->open(endpoint.protocol());
        acceptor->set_option(asio::socket_base::reuse_address(true));
        int one = 1;
        ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (ip.is_v6()) {
            acceptor->set_option(asio::ip::v6_only(true));
        }
        acceptor->bind(endpoint, ec);
        if (ec) {
            throw std::system_error(ec, "proxy_listen: cannot listen on " + address.toString() +
                                            " (is another process using it? change proxy_listen)");
        }
        acceptor->listen(asio::socket_base::max_listen_connections);
        return acceptor;
    }

    static void logFailure(std::exception_ptr e) {
        if (!e) {
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            core::logger("proxy")->error("session failed error={}", ex.what());
        }
    }

    Task<void> acceptLoop(Worker& worker, Acceptor& acceptor, std::uint16_t port) {
        while (acceptor.is_open()) {
            auto accepted = co_await acceptor.async_accept(kDeferTuple);
            auto ec = std::get<0>(accepted);
            auto socket = std::move(std::get<1>(accepted));
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                    break;
                }
                core::logger("proxy")->warn("accept failed error={}", ec);
                continue;
            }
            socket.set_option(tcp::no_delay(true), ec);
            stats_.connections_accepted++;
            asio::co_spawn(acceptor.get_executor(), serve(worker, std::move(socket), port),
                           logFailure);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Upstream side: name resolution (cached per worker) and pooled connections.

    // The service's address when its host is an IP literal (no lookup, no coroutine).
    static std::optional<tcp::endpoint> literalEndpoint(const config::Service& service) {
        if (auto v4 = plainIpv4(service.host)) {
            return tcp::endpoint(*v4, service.port);
        }
        error_code ec;
        auto literal = asio::ip::make_address(service.host, ec);
        if (ec) {
            return std::nullopt;
        }
        return tcp::endpoint(literal, service.port);
    }

    // literalEndpoint() through the worker's cache.
    static const std::optional<tcp::endpoint>& literalEndpoint(Worker& worker,
                                                               const config::Service& service) {
        auto& slot = worker.literal_hosts[(service.host.size() * 31 + service.port) %
                                          worker.literal_hosts.size()];
        if (!slot.filled || slot.port != service.port || slot.host != service.host) {
            slot.host = service.host;
            slot.port = service.port;
            slot.endpoint = literalEndpoint(service);
            slot.filled = true;
        }
        return slot.endpoint;
    }

    // The worker's Destination for `endpoint`, made on first use.
    static Destination& destination(Worker& worker, const tcp::endpoint& endpoint) {
        std::size_t hash = endpoint.port();
        if (endpoint.address().is_v4()) {
            hash ^= endpoint.address().to_v4().to_uint() * 2654435761u;
        } else {
            for (auto byte : endpoint.address().to_v6().to_bytes()) {
                hash = hash * 31 + byte;
            }
        }
        auto& slot = worker.destinations[(hash ^ (hash >> 7)) % worker.destinations.size()];
        if (slot.idle == nullptr || slot.endpoint != endpoint) {
            slot.endpoint = endpoint;
            slot.key = addressKey(endpoint);
            slot.idle = &worker.pool[slot.key];
        }
        return slot;
    }

    // The addresses of a service host given by name, through the worker's DNS cache.
    Task<std::vector<tcp::endpoint>> resolve(Worker& worker, const config::Service& service) {
        std::string key = service.host + ":" + std::to_string(service.port);
        auto now = Clock::now();
        if (auto it = worker.dns.find(key); it != worker.dns.end() && it->second.expires > now) {
            auto& entry = it->second;
            // Rotate the starting address so several A records share the load.
            std::vector<tcp::endpoint> rotated;
            for (std::size_t i = 0; i < entry.endpoints.size(); ++i) {
                rotated.push_back(entry.endpoints[(entry.next + i) % entry.endpoints.size()]);
            }
            entry.next = (entry.next + 1) % std::max<std::size_t>(1, entry.endpoints.size());
            co_return rotated;
        }
        Resolver resolver(co_await asio::this_coro::executor);
        auto resolved =
            co_await resolver.async_resolve(service.host, std::to_string(service.port), kDeferTuple);
        auto resolve_ec = std::get<0>(resolved);
        const auto& results = std::get<1>(resolved);
        std::vector<tcp::endpoint> endpoints;
        if (!resolve_ec) {
            for (const auto& result : results) {
                endpoints.push_back(result.endpoint());
            }
        }
        if (!endpoints.empty() && settings_.dns_cache_ttl > 0) {
            worker.dns[key] = DnsEntry{endpoints,
                                       now + std::chrono::seconds(settings_.dns_cache_ttl), 1};
        }
        co_return endpoints;
    }

    // "ip:port" ("[ip]:port" for IPv6). IPv4, the common case, is formatted here rather than by
    // inet_ntop, which goes through sprintf.
    static std::string addressKey(const tcp::endpoint& endpoint) {
        auto address = endpoint.address();
        if (address.is_v6()) {
            return "[" + address.to_string() + "]:" + std::to_string(endpoint.port());
        }
        char text[sizeof "255.255.255.255:65535"];
        char* out = text;
        char* const end = text + sizeof text;
        auto bytes = address.to_v4().to_bytes();
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            out = std::to_chars(out, end, static_cast<unsigned>(bytes[i])).ptr;
            *out++ = i + 1 < bytes.size() ? '.' : ':';
        }
        out = std::to_chars(out, end, endpoint.port()).ptr;
        return std::string(text, out);
    }

    // A connection pooled less than this long ago is reused without the MSG_PEEK check when the
    // caller can retry a stale one (an idempotent request): one system call less per request.
    static constexpr auto kTrustPooledFor = std::chrono::milliseconds(1000);

    // An idle connection to `key`, checked with MSG_PEEK unless `trust_recent` and it was pooled
    // under kTrustPooledFor ago (then `unchecked` is set).
    std::optional<PooledConnection> takePooled(Worker& worker, IdleList& idle,
                                               bool trust_recent, bool& unchecked) {
        unchecked = false;
        auto limit = std::chrono::seconds(settings_.upstream_keepalive_idle_timeout);
        while (!idle.empty()) {
            PooledConnection connection = std::move(idle.back());
            idle.pop_back();
            worker.pooled--;
            const auto age = coarseNow() - connection.idle_since;
            if (age < limit && trust_recent && age < kTrustPooledFor) {
                unchecked = true;
                return connection;
            }
            if (age < limit && !closedByPeer(connection.socket.socket())) {
                return connection;
            }
        }  // a stale or expired one is closed as it goes
        return std::nullopt;
    }

    void returnToPool(Worker& worker, IdleList& idle, TimedSocket socket, unsigned uses) {
        if (stopping_ || settings_.upstream_keepalive_pool_size == 0 ||
            uses >= settings_.upstream_keepalive_max_requests) {
            return;  // closed as `socket` goes
        }
        if (idle.size() >= settings_.upstream_keepalive_pool_size) {
            idle.pop_front();  // closes it
            worker.pooled--;
        }
        idle.push_back(PooledConnection{std::move(socket), coarseNow(), uses});
        worker.pooled++;
    }

    struct Upstream {
        Upstream(TimedSocket s, IdleList& i, unsigned u, bool r)
            : stream(std::move(s)), idle(&i), uses(u), reused(r) {}
        TimedSocket stream;
        IdleList* idle;  // where it goes back when reusable
        unsigned uses = 0;
        bool reused = false;
        bool unchecked = false;  // pooled and reused without the MSG_PEEK check
    };

    // A live pooled connection to the address `key`, or null. (Not a coroutine: the common case
    // costs no frame.)
    std::optional<Upstream> reusePooled(Worker& worker, IdleList& idle, bool trust_recent) {
        bool unchecked = false;
        std::optional<PooledConnection> pooled = takePooled(worker, idle, trust_recent, unchecked);
        if (!pooled) {
            return std::nullopt;
        }
        stats_.upstream_connections_reused++;
        std::optional<Upstream> upstream(std::in_place, std::move(pooled->socket), idle,
                                         pooled->uses, true);
        upstream->unchecked = unchecked;
        return upstream;
    }

    // A new connection to `endpoint` (whose idle list is `idle`) within connect_timeout. On
    // failure returns null and sets `error` and `detail`. (Results are kept to simple types: GCC
    // 12 mishandles aggregate temporaries of non-trivial types in coroutine frames.)
    Task<std::unique_ptr<Upstream>> connectNew(tcp::endpoint endpoint, IdleList& idle,
                                               const config::Service& service, ErrorClass& error,
                                               std::string& detail) {
        auto executor = co_await asio::this_coro::executor;
        std::unique_ptr<Upstream> upstream(new Upstream(TimedSocket(executor), idle, 0, false));
        upstream->stream.expiresAfter(std::chrono::milliseconds(service.connect_timeout_ms));
        auto [connect_ec] = co_await upstream->stream.socket().async_connect(endpoint, kDeferTuple);
        auto ec = upstream->stream.done(connect_ec);
        if (ec) {
            detail = ec.message();
            error = ec == beast::error::timeout ? ErrorClass::ConnectTimeout
                                                : ErrorClass::ConnectRefused;
            co_return nullptr;
        }
        boost::system::error_code ignored;
        upstream->stream.socket().set_option(tcp::no_delay(true), ignored);
        stats_.upstream_connections_opened++;
        co_return upstream;
    }

    static ErrorClass classify(const error_code& ec, bool writing) {
        if (ec == beast::error::timeout) {
            return writing ? ErrorClass::WriteTimeout : ErrorClass::ReadTimeout;
        }
        if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
            ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
            ec == bhttp::error::partial_message) {
            return ErrorClass::Reset;
        }
        return ErrorClass::InvalidResponse;
    }

    // ---------------------------------------------------------------------------------------
    // One client request.

    struct RequestContext {
        std::string request_id;
        Clock::time_point received;
        std::string_view peer;  // the connection's (serve() outlives its requests)
        // X-Real-IP, X-Forwarded-For and X-Forwarded-Proto as the connection's requests send
        // them upstream when they set none of these themselves (see ForwardingContext).
        std::string_view client_fields;
        bool trusted = false;
        std::uint16_t port = 0;
        TrafficRecord record;
        Explanation explanation;
        bool keep_alive = true;
        double upstream_ms = 0;
        double proxy_ms = 0;
        std::string set_cookie;  // hash_on cookie generated by the balancer
        // What matched, for the explanation of a gateway-made error (filled only then).
        const router::Route* route = nullptr;
        const config::Service* service = nullptr;
    };

    // The route, service and target part of an explanation, filled when it is needed.
    static void describeSubject(RequestContext& context) {
        auto& explanation = context.explanation;
        if (context.route != nullptr && explanation.route_id.empty()) {
            explanation.route_id = context.route->id;
            explanation.route_name = context.route->name;
        }
        if (context.service != nullptr && explanation.service_id.empty()) {
            explanation.service_id = context.service->id;
            explanation.service_name = context.service->name;
            if (explanation.target.empty()) {
                explanation.target =
                    context.service->host + ":" + std::to_string(context.service->port);
            }
        }
    }

    // Writes a gateway-made error and fills in the record and the explanation.
    Task<bool> answerError(TimedSocket& client, RequestContext& context, int status,
                           std::string_view message, std::string_view accept, unsigned version,
                           std::string summary) {
        auto response = gatewayError(status, message, context.request_id, accept, version);
        response.set("X-Kong-Response-Latency",
                     std::to_string(static_cast<long long>(millisSince(context.received))));
        response.keep_alive(context.keep_alive && !stopping_);
        context.record.status = status;
        context.record.gateway_error = true;
        context.record.bytes_out = response.body().size();
        if (status >= 500) {
            describeSubject(context);
            context.explanation.request_id = context.request_id;
            context.explanation.time = context.record.time;
            context.explanation.status = status;
            context.explanation.message = std::string(message);
            context.explanation.summary = std::move(summary);
        }
        client.expiresAfter(std::chrono::seconds(settings_.client_body_timeout));
        auto [ec, n] = co_await bhttp::async_write(client.socket(), response, kDeferTuple);
        (void)n;
        co_return !client.done(ec);
    }

    // 426 "Please use HTTPS protocol", or a redirect to https:// with the route's status.
    Task<bool> answerHttpsRequired(TimedSocket& client, RequestContext& context,
                                   const router::Route& route, const std::string& host,
                                   std::string target, std::string_view accept,
                                   unsigned version) {
        int status = route.https_redirect_status_code;
        context.record.status = status;
        context.record.gateway_error = true;
        bhttp::response<bhttp::string_body> response;
        if (status == 426) {
            response = gatewayError(426, "Please use HTTPS protocol", context.request_id, accept,
                                    version);
            response.set(bhttp::field::connection, "Upgrade");
            response.set(bhttp::field::upgrade, "TLS/1.2, HTTP/1.1");
            context.keep_alive = false;
        } else {
            response.version(version);
            response.result(static_cast<unsigned>(status));
            response.set(bhttp::field::location, "https://" + host + target);
            response.set(bhttp::field::server, std::string("portico/") + kPorticoVersion);
            response.set("X-Kong-Request-Id", context.request_id);
            response.prepare_payload();
        }
        if (status != 426) {
            response.keep_alive(context.keep_alive && !stopping_);
        }
        context.record.bytes_out = response.body().size();
        client.expiresAfter(std::chrono::seconds(settings_.client_body_timeout));
        auto [ec, n] = co_await bhttp::async_write(client.socket(), response, kDeferTuple);
        (void)n;
        co_return !client.done(ec);
    }

    static constexpr unsigned kMaxInterim = 8;  // 1xx responses relayed before a final one

    // Reads the upstream's response header and relays the response to the client.
    // Returns false when the client connection must be closed.
    struct Relayed {
        bool got_header = false;  // false: nothing was sent to the client, the try may be retried
        ErrorClass error = ErrorClass::None;
        std::string detail;
        bool client_ok = true;
        bool upstream_reusable = false;
        bool nothing_received = false;  // the connection ended before a single response byte
    };

    // The fields the gateway adds to a relayed response's head (Via, latencies, request id,
    // framing, Connection) and the head's end. Returns whether the body goes out chunked. (A
    // plain function: its locals stay out of relayResponse's coroutine frame.)
    bool finishResponseHead(std::string& head, const ResponseParser& parser,
                            RequestContext& context, unsigned client_version, bool switching,
                            bool bodyless) {
        if (parser.via().empty()) {
            appendField(head, "Via", kVia);
        } else {
            appendField(head, "Via", parser.via() + ", " + kVia);
        }
        appendField(head, "X-Kong-Upstream-Latency",
                    Decimal(static_cast<long long>(context.upstream_ms)).view());
        appendField(head, "X-Kong-Proxy-Latency",
                    Decimal(static_cast<long long>(context.proxy_ms)).view());
        appendField(head, "X-Kong-Request-Id", context.request_id);
        if (!context.set_cookie.empty()) {
            appendField(head, "Set-Cookie", context.set_cookie);
        }
        if (!parser.hasServer()) {
            appendField(head, "Server", std::string("portico/") + kPorticoVersion);
        }
        bool chunked = false;
        if (switching) {
            appendField(head, "Connection", "Upgrade");
            appendField(head, "Upgrade", parser.upgrade());
        } else {
            if (auto length = parser.content_length()) {
                appendField(head, "Content-Length", Decimal(*length).view());
            } else if (!bodyless) {
                if (client_version >= 11) {
                    chunked = true;
                    appendField(head, "Transfer-Encoding", "chunked");
                } else {
                    context.keep_alive = false;  // HTTP/1.0: the body ends with the connection
                }
            }
            bool keep = context.keep_alive && !stopping_;
            if (client_version >= 11 && !keep) {
                appendField(head, "Connection", "close");
            } else if (client_version < 11 && keep) {
                appendField(head, "Connection", "keep-alive");
            }
        }
        head.append("\r\n", 2);
        return chunked;
    }

    Task<Relayed> relayResponse(Worker& worker, TimedSocket& client,
                                beast::flat_buffer& client_buffer, Upstream& upstream,
                                const config::Service& service, RequestContext& context,
                                bool head_request, unsigned client_version,
                                Clock::time_point try_started) {
        Relayed result;
        Lease<ResponseBuffer> buffer_lease;
        beast::flat_buffer& upstream_buffer = *buffer_lease;
        Lease<HeadText> head_lease;  // for the client, written by the parser as it reads
        std::string& head = *head_lease;
        std::optional<ResponseParser> parser;
        // Interim responses (1xx but 101) go to an HTTP/1.1 client as they come (RFC 9110
        // §15.2; an HTTP/1.0 client never gets one), then the final response is read. An
        // upstream that sends more than kMaxInterim of them is answered for with a 502.
        unsigned interim = 0;
        error_code header_ec;
        for (;;) {
            parser.emplace(client_version, head);
            parser->header_limit(64 * 1024);
            if (head_request) {
                parser->skip(true);
            }
            {
                MessageReader<ResponseParser> reader(
                    upstream.stream, upstream_buffer, *parser,
                    std::chrono::milliseconds(service.read_timeout_ms));
                while (reader.next(kHeaderDone, kReadAll)) {
                    auto [read_ec, n] = co_await upstream.stream.socket().async_read_some(
                        reader.room(), kDeferTuple);
                    reader.read(read_ec, n);
                }
                header_ec = reader.result();
            }
            unsigned code = header_ec ? 0 : parser->status();
            if (header_ec || code < 100 || code >= 200 || code == 101) {
                break;
            }
            if (++interim > kMaxInterim) {
                header_ec = bhttp::error::bad_status;
                break;
            }
            if (client_version >= 11) {
                head.append("\r\n", 2);
                client.expiresAfter(std::chrono::seconds(settings_.client_body_timeout));
                auto [interim_ec, n] =
                    co_await asio::async_write(client.socket(), asio::buffer(head), kDeferTuple);
                (void)n;
                if (client.done(interim_ec)) {
                    result.got_header = true;  // nothing to retry for: the client is gone
                    result.client_ok = false;
                    co_return result;
                }
            }
            head.clear();
        }
        context.upstream_ms += millisSince(try_started);
        if (header_ec) {
            result.error = classify(header_ec, false);
            result.detail = header_ec.message();
            result.nothing_received = interim == 0 && upstream_buffer.size() == 0 &&
                                      (header_ec == asio::error::eof ||
                                       header_ec == bhttp::error::end_of_stream ||
                                       header_ec == asio::error::connection_reset ||
                                       header_ec == asio::error::broken_pipe);
            co_return result;
        }
        result.got_header = true;
        unsigned status = parser->status();
        bool switching = status == 101;
        bool bodyless = head_request || status / 100 == 1 || status == 204 || status == 304;
        bool chunked = finishResponseHead(head, *parser, context, client_version, switching,
                                          bodyless);
        context.record.status = static_cast<int>(status);
        // The usual case: a body with a length that came whole with the head goes out with it in
        // one write, straight from the read buffer (no relay coroutine, no copy).
        std::size_t in_place =
            bodyless || switching ? 0 : parser->bodyInPlace(upstream_buffer.size());
        if (in_place != 0) {
            std::size_t length = in_place;
            // A two-buffer std::array: Asio writes it without copying it into a 64-entry
            // buffer sequence first as it does for other sequence types (measured: ~300
            // instructions per request less than with a BufferList). A body that fits in a
            // kept head text is copied behind the head, so that one send() does (writeSome()).
            const auto* body = static_cast<const char*>(upstream_buffer.data().data());
            std::array<asio::const_buffer, 2> buffers = {asio::buffer(head),
                                                         asio::buffer(body, length)};
            if (head.size() + length <= kHeadTextKept) {
                head.append(body, length);
                buffers = {asio::buffer(head), asio::const_buffer()};
            }
            client.expiresAfter(std::chrono::seconds(settings_.client_body_timeout));
            error_code body_ec;
            for (;;) {
                auto [ec, n] = co_await writeSome(client.socket(), buffers);
                body_ec = ec;
                if (ec || consumeSent(buffers, n)) {
                    break;
                }
            }
            if (client.done(body_ec)) {
                result.client_ok = false;
                co_return result;
            }
            upstream_buffer.consume(length);
            context.record.bytes_out += length;
            result.upstream_reusable = parser->keep_alive() && upstream_buffer.size() == 0;
            co_return result;
        }
        auto [read_ec, write_ec] = co_await relay(
            upstream.stream, upstream_buffer, *parser, client, head, !bodyless && !switching,
            chunked, std::chrono::milliseconds(service.read_timeout_ms),
            std::chrono::seconds(settings_.client_body_timeout), context.record.bytes_out);
        if (write_ec) {
            result.client_ok = false;
            co_return result;
        }
        if (read_ec) {
            // The header already went out: all we can do is cut the client connection.
            result.error = classify(read_ec, false);
            result.detail = read_ec.message();
            result.client_ok = false;
            co_return result;
        }
        if (switching) {
            co_await tunnel(client, client_buffer, upstream, upstream_buffer, service, context);
            result.client_ok = false;
            co_return result;
        }
        // Bytes behind the response were never asked for: such a connection is not reused.
        result.upstream_reusable = parser->is_done() && parser->keep_alive() && !head_request &&
                                   upstream_buffer.size() == 0;
        (void)worker;
        co_return result;
    }

    // After a 101: bytes flow both ways until either side closes.
    Task<void> tunnel(TimedSocket& client, beast::flat_buffer& client_buffer, Upstream& upstream,
                      beast::flat_buffer& upstream_buffer, const config::Service& service,
                      RequestContext& context) {
        auto idle = std::chrono::milliseconds(std::max(service.read_timeout_ms,
                                                       settings_.keepalive_timeout * 1000));
        // Bytes that arrived behind the headers belong to the tunnel.
        if (upstream_buffer.size() > 0) {
            client.expiresAfter(idle);
            auto [ec, n] =
                co_await asio::async_write(client.socket(), upstream_buffer.data(), kDeferTuple);
            (void)n;
            if (client.done(ec)) {
                co_return;
            }
            upstream_buffer.consume(upstream_buffer.size());
        }
        if (client_buffer.size() > 0) {
            upstream.stream.expiresAfter(idle);
            auto [ec, n] = co_await asio::async_write(upstream.stream.socket(),
                                                      client_buffer.data(), kDeferTuple);
            (void)n;
            if (upstream.stream.done(ec)) {
                co_return;
            }
            client_buffer.consume(client_buffer.size());
        }
        using namespace asio::experimental::awaitable_operators;
        std::uint64_t up = 0;
        std::uint64_t down = 0;
        co_await (pump(client.socket(), upstream.stream.socket(), idle, up) &&
                  pump(upstream.stream.socket(), client.socket(), idle, down));
        context.record.bytes_in += up;
        context.record.bytes_out += down;
    }

    Task<bool> handleRequest(Worker& worker, TimedSocket& client, beast::flat_buffer& buffer,
                             bhttp::request_parser<bhttp::empty_body>& header_parser,
                             RequestContext& context) {
        auto& header = header_parser.get();
        unsigned version = header.version();
        // One pass over the fields for what is looked at here (the first of each, as find()
        // would give; every Connection line's tokens), where a find() walks the name index.
        FirstValue<std::string> first_accept;
        FirstValue<std::string> first_host;
        FirstValue<std::string> first_expect;
        bool has_transfer_encoding = false;
        bool has_upgrade = false;
        bool connection_close = false;
        bool connection_keep_alive = false;
        bool connection_upgrade = false;
        for (const auto& field : header) {
            switch (field.name()) {
                case bhttp::field::accept:
                    first_accept.offer(field.value());
                    break;
                case bhttp::field::host:
                    first_host.offer(field.value());
                    break;
                case bhttp::field::expect:
                    first_expect.offer(field.value());
                    break;
                case bhttp::field::transfer_encoding:
                    has_transfer_encoding = true;
                    break;
                case bhttp::field::upgrade:
                    has_upgrade = true;
                    break;
                case bhttp::field::connection:
                    forEachToken(field.value(), [&](std::string_view token) {
                        connection_close = connection_close || http::iequals(token, "close");
                        connection_keep_alive =
                            connection_keep_alive || http::iequals(token, "keep-alive");
                        connection_upgrade = connection_upgrade || http::iequals(token, "upgrade");
                    });
                    break;
                default:
                    break;
            }
        }
        std::string accept = std::move(first_accept.value);
        std::string host = std::move(first_host.value);
        // HTTP/1.1 stays open unless told to close; HTTP/1.0 closes unless told to stay.
        bool client_keep_alive = version >= 11 ? !connection_close : connection_keep_alive;
        context.keep_alive = client_keep_alive && !stopping_;
        // Views into the request head, which lives as long as the request.
        std::string_view target(header.target().data(), header.target().size());
        auto query_at = target.find('?');
        std::string_view path = target.substr(0, query_at);
        std::string_view query =
            query_at == std::string_view::npos ? std::string_view() : target.substr(query_at);
        context.record.method = std::string(header.method_string());
        context.record.host = host;
        context.record.path = path;

        // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked has no
        // reliable length; answering 400 and closing is the only safe choice (smuggling).
        if (has_transfer_encoding && !header_parser.chunked()) {
            context.keep_alive = false;
            co_await answerError(client, context, 400, "Bad request", accept, version, {});
            co_return false;
        }
        if (target.size() > settings_.client_uri_max_length) {
            context.keep_alive = false;
            co_return co_await answerError(client, context, 414, "URI too long", accept, version, {}) &&
                false;
        }
        auto length = header_parser.content_length();
        if (settings_.client_max_body_size != 0 && length &&
            *length > settings_.client_max_body_size) {
            context.keep_alive = false;
            co_await answerError(client, context, 413, "Payload too large", accept, version, {});
            co_return false;
        }
        bool chunked = header_parser.chunked();
        bool has_body = chunked || (length && *length > 0);
        bool upgrade = connection_upgrade && has_upgrade && !has_body;

        auto snapshot = snapshots_.load();
        router::MatchRequest match_request;
        match_request.method = header.method_string();
        match_request.host = host;
        match_request.port = context.port;
        match_request.path = path;
        match_request.header_values = [&header](std::string_view name) {
            std::vector<std::string_view> values;
            for (const auto& field : header) {
                if (http::iequals(field.name_string(), name)) {
                    values.push_back(field.value());
                }
            }
            return values;
        };
        auto match = snapshot->routes.match(match_request);
        const config::Service* service =
            match ? snapshot->service(match->route->service_id) : nullptr;
        if (match) {
            context.record.route = match->route->name.empty() ? match->route->id : match->route->name;
            context.route = match->route;
        }
        if (service != nullptr) {
            context.record.service = service->name.empty() ? service->id : service->name;
            context.service = service;
        }
        if (match && !match->route->plain_http) {
            // An https-only route reached over plain HTTP (kong-compat.md §3.5). The scheme a
            // trusted proxy in front saw counts, as Kong reads X-Forwarded-Proto.
            std::string scheme = "http";
            if (context.trusted) {
                if (auto proto = header.find("X-Forwarded-Proto"); proto != header.end()) {
                    scheme = lower(proto->value());
                }
            }
            if (scheme != "https") {
                if (has_body) {
                    context.keep_alive = false;
                }
                co_return co_await answerHttpsRequired(client, context, *match->route, host,
                                                       std::string(target), accept, version) &&
                    context.keep_alive;
            }
        }
        if (!match || service == nullptr) {
            // The body (if any) is not read: the connection cannot be reused after this answer.
            if (has_body) {
                context.keep_alive = false;
            }
            if (!match) {
                co_return co_await answerError(client, context, 404,
                                               "no Route matched with those values", accept,
                                               version, {}) &&
                    context.keep_alive;
            }
            co_return co_await answerError(
                client, context, 503, "no Service found with those values", accept, version,
                "route '" + context.record.route + "' has no service") &&
                context.keep_alive;
        }

        // Expect: 100-continue is answered here, as nginx does; upstreams never see it.
        if (first_expect.seen && http::iequals(first_expect.value, "100-continue") && has_body) {
            static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            client.expiresAfter(std::chrono::seconds(settings_.client_body_timeout));
            auto [ec, n] = co_await asio::async_write(client.socket(), asio::buffer(kContinue),
                                                      kDeferTuple);
            (void)n;
            if (client.done(ec)) {
                co_return false;
            }
        }

        std::string upstream_target = router::upstreamPath(*match->route, *match, service->path);
        upstream_target.append(query);
        ForwardingContext forwarding{context.request_id, context.peer, context.trusted,
                                     context.port, settings_.real_ip_header, {},
                                     context.client_fields};
        auto method = header.method();
        bool idempotent = method != bhttp::verb::post && method != bhttp::verb::patch &&
                          method != bhttp::verb::lock;
        bool head_request = method == bhttp::verb::head;
        bool buffered = !has_body || (!chunked && length && *length <= settings_.buffered_body_max_size);

        // Where tries go: the balancer of the upstream the service host names, or the service
        // host itself (resolved through the worker's DNS cache).
        const config::Upstream* upstream_spec =
            upstreams_ != nullptr ? snapshot->upstream(service->host) : nullptr;
        boost::container::small_vector<tcp::endpoint, 2> endpoints;  // no allocation for one
        HashInputs hash_inputs;
        std::vector<std::size_t> tried;
        if (upstream_spec != nullptr) {
            hash_inputs.client_ip = std::string(context.peer);
            hash_inputs.path = match->normalized_path;
            hash_inputs.uri_captures = &match->captures;
            // Copies, not views: the header parser is moved into the body parser before the
            // first pick, and the balancer may ask again on every retry.
            std::vector<std::pair<std::string, std::string>> hash_headers;
            for (const std::string* name :
                 {&upstream_spec->hash_on_header, &upstream_spec->hash_fallback_header}) {
                if (name->empty()) {
                    continue;
                }
                std::string joined;
                for (const auto& field : header) {
                    if (http::iequals(field.name_string(), *name)) {
                        joined += (joined.empty() ? "" : ",") + std::string(field.value());
                    }
                }
                hash_headers.emplace_back(*name, std::move(joined));
            }
            hash_inputs.header = [hash_headers](std::string_view name) {
                for (const auto& [key, value] : hash_headers) {
                    if (http::iequals(key, name)) {
                        return value;
                    }
                }
                return std::string();
            };
            std::string cookie_header;
            for (auto it = header.find(bhttp::field::cookie);
                 it != header.end() && it->name() == bhttp::field::cookie; ++it) {
                cookie_header += (cookie_header.empty() ? "" : "; ") + std::string(it->value());
            }
            hash_inputs.cookie = [cookie_header](std::string_view name) {
                std::string_view cookies = cookie_header;
                std::size_t start = 0;
                while (start < cookies.size()) {
                    auto end = cookies.find(';', start);
                    if (end == std::string_view::npos) {
                        end = cookies.size();
                    }
                    auto pair = cookies.substr(start, end - start);
                    while (!pair.empty() && pair.front() == ' ') {
                        pair.remove_prefix(1);
                    }
                    auto equals = pair.find('=');
                    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
                        return std::string(pair.substr(equals + 1));
                    }
                    start = end + 1;
                }
                return std::string();
            };
            hash_inputs.query_arg = [&query](std::string_view name) {
                std::vector<std::string> values;
                std::string_view rest = query.empty() ? std::string_view() : std::string_view(query).substr(1);
                std::size_t start = 0;
                while (start < rest.size()) {
                    auto end = rest.find('&', start);
                    if (end == std::string_view::npos) {
                        end = rest.size();
                    }
                    auto pair = rest.substr(start, end - start);
                    auto equals = pair.find('=');
                    if (pair.substr(0, equals) == name) {
                        values.emplace_back(equals == std::string_view::npos ? std::string_view()
                                                                             : pair.substr(equals + 1));
                    }
                    start = end + 1;
                }
                std::sort(values.begin(), values.end());
                std::string joined;
                for (const auto& value : values) {
                    joined += (joined.empty() ? "" : ",") + value;
                }
                return joined;
            };
            context.explanation.target = "upstream " + upstream_spec->name;
        } else {
            if (const auto& literal = literalEndpoint(worker, *service)) {
                endpoints.push_back(*literal);
            } else {
                auto resolved = co_await resolve(worker, *service);
                endpoints.assign(resolved.begin(), resolved.end());
            }
            if (endpoints.empty()) {
                context.explanation.tries.push_back(
                    TryRecord{service->host, toString(ErrorClass::DnsError), "no address", 0});
                if (has_body) {
                    context.keep_alive = false;
                }
                co_return co_await answerError(client, context, 503, "name resolution failed",
                                               accept, version,
                                               "the service host '" + service->host +
                                                   "' did not resolve to any address") &&
                    context.keep_alive;
            }
        }
        // One try's destination. With an upstream the balancer is asked again for every try
        // (skipping what this request already tried); nullopt when it has nothing left.
        struct TryTarget {
            tcp::endpoint endpoint;
            std::string host;  // Host for the upstream request (empty: the service's)
            Pick pick;
        };
        std::vector<std::string> no_peer_details;
        std::string no_peer_summary;
        auto next_target = [&](unsigned attempt) -> std::optional<TryTarget> {
            TryTarget next;
            if (upstream_spec == nullptr) {
                next.endpoint = endpoints[attempt % endpoints.size()];
                return next;
            }
            next.pick = upstreams_->pick(*upstream_spec, hash_inputs, tried, random64());
            const balancer::Address* address = next.pick.address();
            if (address == nullptr) {
                no_peer_details = next.pick.reasons;
                no_peer_summary = next.pick.summary;
                return std::nullopt;
            }
            error_code ec;
            auto ip = asio::ip::make_address(address->ip, ec);
            if (ec) {
                return std::nullopt;
            }
            next.endpoint = tcp::endpoint(ip, address->port);
            if (!upstream_spec->host_header.empty()) {
                next.host = upstream_spec->host_header;
            } else {
                std::string host_part = address->target.substr(0, address->target.rfind(':'));
                next.host = host_part + (address->port == 80 || address->port == 443
                                             ? std::string()
                                             : ":" + std::to_string(address->port));
            }
            if (!next.pick.set_cookie.empty()) {
                context.set_cookie = next.pick.set_cookie;
            }
            tried.push_back(*next.pick.index);
            upstreams_->reportStart(next.pick);
            return next;
        };
        // A failed try: remembered for the explanation and, with an upstream, reported to the
        // address's passive health.
        ErrorClass last_error = ErrorClass::None;
        auto fail_try = [&](const TryTarget& target, TryRecord& record, ErrorClass error,
                            std::string detail, Clock::time_point started) {
            last_error = error;
            record.error_class = toString(error);
            if (!detail.empty()) {
                record.detail = std::move(detail);
            }
            record.duration_ms = millisSince(started);
            if (upstream_spec != nullptr) {
                upstreams_->reportConnectFailure(target.pick, isTimeout(error), record.detail);
            }
            context.explanation.tries.push_back(std::move(record));
        };
        // The try's latency is read only when a balancer takes it.
        auto report_status = [&](const TryTarget& target, Clock::time_point started) {
            if (upstream_spec != nullptr) {
                upstreams_->reportStatus(target.pick, context.record.status, millisSince(started));
            }
        };
        // A pooled connection reused without the MSG_PEEK check turned out closed by the
        // upstream: not a failure of the address and not a try. The address may be picked again.
        auto abandon_try = [&](const TryTarget& target) {
            if (upstream_spec != nullptr) {
                upstreams_->reportAbandoned(target.pick);
                if (!tried.empty()) {
                    tried.pop_back();
                }
            }
        };

        unsigned tries = service->retries + 1;
        context.proxy_ms = millisSince(context.received);

        if (buffered) {
            // A body parser only for a body: without one the head is forwarded from the header
            // parser as it is (the conversion moves every field).
            std::optional<bhttp::request_parser<bhttp::string_body>> body_parser;
            if (has_body) {
                body_parser.emplace(std::move(header_parser));
                body_parser->body_limit(settings_.buffered_body_max_size);
                BodyRoom room(buffer, static_cast<std::size_t>(
                                          std::min<std::uint64_t>(length.value_or(0), kRelayChunk)));
                auto body_ec = co_await readMessage(
                    client, buffer, *body_parser, std::chrono::seconds(settings_.client_body_timeout),
                    kMessageDone, kReadAll);
                if (body_ec) {
                    context.keep_alive = false;
                    if (body_ec == beast::error::timeout) {
                        co_await answerError(client, context, 408, "Request timeout", accept,
                                             version, {});
                    } else if (body_ec != asio::error::eof && body_ec != bhttp::error::end_of_stream &&
                               body_ec != asio::error::connection_reset) {
                        co_await answerError(client, context, 400, "Bad request", accept, version,
                                             {});
                    }
                    co_return false;
                }
            }
            static const std::string kNoBody;
            const bhttp::request_header<>& request_head =
                body_parser ? body_parser->get().base() : header_parser.get().base();
            const std::string& request_body = body_parser ? body_parser->get().body() : kNoBody;
            context.record.bytes_in = request_body.size();
            BodyFraming framing;
            if (has_body || method == bhttp::verb::post || method == bhttp::verb::put ||
                method == bhttp::verb::patch) {
                framing.content_length = request_body.size();
            }
            Lease<HeadText> upstream_head_lease;
            std::string& upstream_head = *upstream_head_lease;
            std::string upstream_head_host = "\x01";  // the Host the head was built for
            bool stale_retried = false;  // one free retry after a stale unchecked connection
            for (unsigned attempt = 0; attempt < tries; ++attempt) {
                auto target = next_target(attempt);
                if (!target) {
                    break;
                }
                const auto& endpoint = target->endpoint;
                if (target->host != upstream_head_host) {
                    forwarding.upstream_host = target->host;
                    upstream_head.clear();
                    upstreamRequestHead(upstream_head, request_head, forwarding, *match, *service,
                                        upstream_target, upgrade, framing);
                    upstream_head_host = target->host;
                }
                std::array<asio::const_buffer, 2> upstream_request = {asio::buffer(upstream_head),
                                                                      asio::buffer(request_body)};
                auto try_started = Clock::now();
                TryRecord try_record;
                Destination& to = destination(worker, endpoint);
                try_record.address = to.key;
                context.record.address = to.key;
                ErrorClass connect_error = ErrorClass::None;
                // Only an idempotent request may skip the check: a stale connection is then
                // retried once, on a checked or new one.
                // Held in the frame, not on the heap: the common, pooled case allocates nothing.
                std::optional<Upstream> upstream =
                    reusePooled(worker, *to.idle, idempotent && !stale_retried);
                if (!upstream) {
                    auto fresh = co_await connectNew(endpoint, *to.idle, *service, connect_error,
                                                     try_record.detail);
                    if (fresh) {
                        upstream.emplace(std::move(*fresh));
                    }
                }
                if (!upstream) {
                    fail_try(*target, try_record, connect_error, {}, try_started);
                    continue;
                }
                // writeAll's steps, without its coroutine frame
                upstream->stream.expiresAfter(std::chrono::milliseconds(service->write_timeout_ms));
                error_code sent_ec;
                for (;;) {
                    auto [ec, n] = co_await writeSome(upstream->stream.socket(), upstream_request);
                    sent_ec = ec;
                    if (ec || consumeSent(upstream_request, n)) {
                        break;
                    }
                }
                auto write_ec = upstream->stream.done(sent_ec);
                if (write_ec && upstream->unchecked) {
                    abandon_try(*target);
                    stale_retried = true;
                    --attempt;  // unsigned: wraps and comes back with the loop's ++
                    continue;
                }
                if (write_ec) {
                    fail_try(*target, try_record, classify(write_ec, true), write_ec.message(),
                             try_started);
                    // A stale pooled connection never reached the upstream's application.
                    if (!idempotent && !upstream->reused) {
                        break;
                    }
                    continue;
                }
                auto relayed = co_await relayResponse(worker, client, buffer, *upstream, *service,
                                                      context, head_request, version, try_started);
                if (!relayed.got_header && upstream->unchecked && relayed.nothing_received) {
                    abandon_try(*target);
                    stale_retried = true;
                    --attempt;
                    continue;
                }
                if (!relayed.got_header) {
                    fail_try(*target, try_record, relayed.error, relayed.detail, try_started);
                    if (!idempotent) {
                        break;  // the request reached the upstream: never send it twice
                    }
                    continue;
                }
                // A success ends the request: its tries are never explained.
                report_status(*target, try_started);
                if (relayed.upstream_reusable) {
                    returnToPool(worker, *upstream->idle, std::move(upstream->stream),
                                 upstream->uses + 1);
                }
                co_return relayed.client_ok && context.keep_alive;
            }
        } else {
            bhttp::request_parser<bhttp::buffer_body> body_parser{std::move(header_parser)};
            if (settings_.client_max_body_size != 0) {
                body_parser.body_limit(settings_.client_max_body_size);
            } else {
                body_parser.body_limit(boost::none);
            }
            // Only connection failures are retried: once the body streams, it cannot be replayed.
            for (unsigned attempt = 0; attempt < tries; ++attempt) {
                auto target = next_target(attempt);
                if (!target) {
                    break;
                }
                const auto& endpoint = target->endpoint;
                forwarding.upstream_host = target->host;
                auto try_started = Clock::now();
                TryRecord try_record;
                Destination& to = destination(worker, endpoint);
                try_record.address = to.key;
                context.record.address = to.key;
                ErrorClass connect_error = ErrorClass::None;
                std::optional<Upstream> upstream = reusePooled(worker, *to.idle, false);
                if (!upstream) {
                    auto fresh = co_await connectNew(endpoint, *to.idle, *service, connect_error,
                                                     try_record.detail);
                    if (fresh) {
                        upstream.emplace(std::move(*fresh));
                    }
                }
                if (!upstream) {
                    fail_try(*target, try_record, connect_error, {}, try_started);
                    continue;
                }
                BodyFraming framing;
                if (length) {
                    framing.content_length = *length;
                }
                framing.chunked = !length;
                std::string upstream_head = upstreamRequestHead(
                    body_parser.get(), forwarding, *match, *service, upstream_target, upgrade,
                    framing);
                auto [read_ec, write_ec] = co_await relay(
                    client, buffer, body_parser, upstream->stream, upstream_head, true,
                    framing.chunked,
                    std::chrono::seconds(settings_.client_body_timeout),
                    std::chrono::milliseconds(service->write_timeout_ms), context.record.bytes_in);
                if (read_ec) {
                    context.keep_alive = false;
                    if (read_ec == bhttp::error::body_limit) {
                        co_await answerError(client, context, 413, "Payload too large", accept,
                                             version, {});
                    } else if (read_ec == beast::error::timeout) {
                        co_await answerError(client, context, 408, "Request timeout", accept,
                                             version, {});
                    } else if (read_ec != asio::error::eof && read_ec != bhttp::error::end_of_stream &&
                               read_ec != asio::error::connection_reset &&
                               read_ec != bhttp::error::partial_message) {
                        co_await answerError(client, context, 400, "Bad request", accept, version,
                                             {});
                    }
                    co_return false;
                }
                if (write_ec) {
                    fail_try(*target, try_record, classify(write_ec, true), write_ec.message(),
                             try_started);
                    context.keep_alive = false;  // the rest of the client's body is unread
                    break;
                }
                auto relayed = co_await relayResponse(worker, client, buffer, *upstream, *service,
                                                      context, head_request, version, try_started);
                if (!relayed.got_header) {
                    fail_try(*target, try_record, relayed.error, relayed.detail, try_started);
                    break;
                }
                // A success ends the request: its tries are never explained.
                report_status(*target, try_started);
                if (relayed.upstream_reusable) {
                    returnToPool(worker, *upstream->idle, std::move(upstream->stream),
                                 upstream->uses + 1);
                }
                co_return relayed.client_ok && context.keep_alive;
            }
            if (!body_parser.is_done()) {
                context.keep_alive = false;
            }
        }

        if (context.explanation.tries.empty() && upstream_spec != nullptr) {
            // Kong's most asked-about error, explained: every target and why it could not be used.
            context.explanation.details = no_peer_details;
            if (has_body && !buffered) {
                context.keep_alive = false;
            }
            co_return co_await answerError(client, context, 503,
                                           "failure to get a peer from the ring-balancer", accept,
                                           version,
                                           no_peer_summary.empty()
                                               ? "upstream '" + upstream_spec->name +
                                                     "' has no available address"
                                               : no_peer_summary) &&
                context.keep_alive;
        }
        int status = isTimeout(last_error) ? 504 : 502;
        std::string message = status == 504
                                  ? "The upstream server is timing out"
                                  : "An invalid response was received from the upstream server";
        describeSubject(context);
        std::string summary = std::to_string(context.explanation.tries.size()) + " of " +
                              std::to_string(tries) + " tries to service '" +
                              context.record.service + "' (" + context.explanation.target +
                              ") failed; the last one with " + toString(last_error);
        co_return co_await answerError(client, context, status, message, accept, version,
                                       std::move(summary)) &&
            context.keep_alive;
    }

    void finish(RequestContext& context) {
        context.record.request_id = std::move(context.request_id);  // the request ends here
        context.record.latency_ms = millisSince(context.received);
        context.record.upstream_latency_ms = context.upstream_ms;
        context.record.proxy_latency_ms = context.proxy_ms;
        if (access_log_) {
            const auto& r = context.record;
            if (settings_.proxy_access_log_format == "json") {
                boost::json::object line{
                    {"time", r.time},           {"request_id", r.request_id},
                    {"client_ip", context.peer}, {"method", r.method},
                    {"host", r.host},           {"path", r.path},
                    {"route", r.route},         {"service", r.service},
                    {"upstream", r.address},    {"status", r.status},
                    {"bytes_in", r.bytes_in},   {"bytes_out", r.bytes_out},
                    {"latency_ms", r.latency_ms},
                    {"upstream_latency_ms", r.upstream_latency_ms}};
                access_log_->info("{}", boost::json::serialize(line));
            } else {
                std::time_t seconds = static_cast<std::time_t>(r.time);
                std::tm tm{};
                ::gmtime_r(&seconds, &tm);
                char stamp[64];
                std::strftime(stamp, sizeof(stamp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
                access_log_->info("{} - - [{}] \"{} {}\" {} {} \"-\" \"-\" request_id={} "
                                  "route={} upstream={} latency_ms={:.3f}",
                                  context.peer, stamp, r.method, r.path, r.status, r.bytes_out,
                                  r.request_id, r.route.empty() ? "-" : r.route,
                                  r.address.empty() ? "-" : r.address, r.latency_ms);
            }
        }
        if (metrics_ != nullptr) {
            metrics_->observe(context.record);
        }
        if (traffic_ != nullptr) {
            if (context.explanation.request_id.empty()) {
                traffic_->push(std::move(context.record));
            } else {  // together: the Admin API never shows one without the other
                traffic_->push(std::move(context.record), std::move(context.explanation));
            }
        }
    }

    Task<void> serve(Worker& worker, Socket socket, std::uint16_t port) {
        stats_.connections_active++;
        TimedSocket stream(std::move(socket));
        beast::flat_buffer buffer;
        std::string peer;
        {
            error_code ec;
            auto endpoint = stream.socket().remote_endpoint(ec);
            peer = ec ? std::string() : endpoint.address().to_string();
            if (peer.rfind("::ffff:", 0) == 0) {
                peer = peer.substr(7);
            }
        }
        bool trusted = trusted_.contains(peer);
        const std::string client_fields = "X-Real-IP: " + peer + "\r\nX-Forwarded-For: " + peer +
                                          "\r\nX-Forwarded-Proto: http\r\n";
        unsigned served = 0;
        IdleClients::Link idle_link{&stream};
        for (;;) {
            bhttp::request_parser<bhttp::empty_body> header_parser;
            header_parser.header_limit(static_cast<std::uint32_t>(settings_.client_header_max_size));
            header_parser.body_limit(boost::none);
            worker.idle_clients.insert(idle_link);
            stats_.connections_waiting++;
            error_code read_ec;
            {
                MessageReader<bhttp::request_parser<bhttp::empty_body>> reader(
                    stream, buffer, header_parser,
                    std::chrono::seconds(served == 0 ? settings_.client_header_timeout
                                                     : settings_.keepalive_timeout));
                while (reader.next(kHeaderDone, kReadAll)) {
                    auto [ec, n] =
                        co_await stream.socket().async_read_some(reader.room(), kDeferTuple);
                    reader.read(ec, n);
                }
                read_ec = reader.result();
            }
            stats_.connections_waiting--;
            worker.idle_clients.erase(idle_link);
            if (read_ec) {
                if (read_ec == bhttp::error::end_of_stream || read_ec == asio::error::eof ||
                    read_ec == beast::error::timeout || read_ec == asio::error::connection_reset ||
                    read_ec == asio::error::operation_aborted || read_ec == asio::error::bad_descriptor) {
                    break;
                }
                int status = read_ec == bhttp::error::header_limit ? 431 : 400;
                RequestContext context;
                context.request_id = newRequestId();
                context.received = Clock::now();
                context.peer = peer;
                context.keep_alive = false;
                co_await answerError(stream, context, status,
                                     status == 431 ? "Request header or cookie too large"
                                                   : "Bad request",
                                     "", 11, {});
                break;
            }
            stats_.total_requests++;
            stats_.requests_in_flight++;
            ++served;
            RequestContext context;
            context.received = Clock::now();
            context.record.time = unixNow();
            context.peer = peer;
            context.client_fields = client_fields;
            context.trusted = trusted;
            context.port = port;
            std::string_view incoming_id;
            if (trusted) {
                incoming_id = header_parser.get()["X-Kong-Request-Id"];
            }
            context.request_id = !incoming_id.empty() && incoming_id.size() <= 128
                                     ? std::string(incoming_id)
                                     : newRequestId();
            if (served >= settings_.keepalive_requests) {
                header_parser.get().keep_alive(false);
            }
            bool keep = co_await handleRequest(worker, stream, buffer, header_parser, context);
            finish(context);
            stats_.requests_in_flight--;
            if (!keep || stopping_) {
                break;
            }
        }
        error_code ignored;
        stream.socket().shutdown(Socket::shutdown_send, ignored);
        stream.socket().close(ignored);
        stats_.connections_active--;
    }
};

ProxyServer::ProxyServer(const core::Settings& settings, SnapshotHolder& snapshots,
                         ProxyStats& stats, TrafficRing* traffic, Metrics* metrics,
                         UpstreamRuntime* upstreams)
    : impl_(std::make_unique<Impl>(settings, snapshots, stats, traffic, metrics, upstreams)) {}

ProxyServer::~ProxyServer() { stop(std::chrono::milliseconds(0)); }

void ProxyServer::start() {
    for (auto& worker : impl_->workers_) {
        for (auto& acceptor : worker->acceptors) {
            auto port = acceptor->local_endpoint().port();
            asio::co_spawn(worker->io, impl_->acceptLoop(*worker, *acceptor, port),
                           Impl::logFailure);
        }
        Impl::Worker* raw = worker.get();
        worker->thread = std::thread([raw] { raw->io.run(); });
    }
}

std::vector<std::uint16_t> ProxyServer::ports() const {
    std::vector<std::uint16_t> out;
    if (!impl_->workers_.empty()) {
        for (const auto& acceptor : impl_->workers_.front()->acceptors) {
            out.push_back(acceptor->local_endpoint().port());
        }
    }
    return out;
}

void ProxyServer::stop(std::chrono::milliseconds deadline) {
    if (impl_->stopped_.exchange(true)) {
        return;
    }
    impl_->stopping_ = true;
    for (auto& worker : impl_->workers_) {
        asio::post(worker->io, [w = worker.get()] {
            for (auto& acceptor : w->acceptors) {
                error_code ignored;
                acceptor->close(ignored);
            }
            // Idle keep-alive connections are closed now; busy ones close after their response.
            w->idle_clients.forEach([](TimedSocket& stream) {
                error_code ignored;
                stream.socket().shutdown(Socket::shutdown_both, ignored);
                stream.socket().cancel(ignored);
            });
            w->idle_clients.clear();
        });
    }
    auto until = Clock::now() + deadline;
    while (impl_->stats_.requests_in_flight.load() > 0 && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (impl_->stats_.requests_in_flight.load() > 0) {
        core::logger("proxy")->warn("stop deadline reached with requests in flight count={}",
                                    impl_->stats_.requests_in_flight.load());
    }
    for (auto& worker : impl_->workers_) {
        worker->io.stop();
        if (worker->thread.joinable()) {
            worker->thread.join();
        }
    }
}

}  // namespace portico::proxy
