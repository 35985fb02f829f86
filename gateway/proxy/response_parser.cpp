#include "gateway/proxy/response_parser.hpp"

#include "gateway/http/http_message.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace portico::proxy {

namespace {

using boost::system::error_code;
using Error = boost::beast::http::error;

// tchar (RFC 9110 §5.6.2): the characters of a field name.
constexpr std::array<bool, 256> kTokenChar = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
    return table;
}();

// What a field value or reason phrase may hold: VCHAR, obs-text, SP and HTAB; no other control
// character (a lone CR or a NUL relayed to the client could split or cut its response).
constexpr std::array<bool, 256> kTextChar = [] {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 256; ++c) table[c] = true;
    table[0x7f] = false;
    table['\t'] = true;
    return table;
}();

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

std::uint64_t load8(const char* p) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    return word;
}

// Whether `text` is all kTextChar. Eight bytes at a time while no byte in them is below 0x20 or
// is DEL (the usual case: the test has no false negatives, and on any hit, a tab or an error,
// the rest is looked at a byte at a time).
bool allText(std::string_view text) {
    const char* p = text.data();
    std::size_t n = text.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t word = load8(p);
        std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
        std::uint64_t del = word ^ (kOnes * 0x7f);
        std::uint64_t is_del = (del - kOnes) & ~del & kHighs;
        if ((below_space | is_del) != 0) {
            break;
        }
    }
    bool ok = true;
    for (; n != 0; ++p, --n) {
        ok &= kTextChar[static_cast<unsigned char>(*p)];
    }
    return ok;
}

bool allToken(std::string_view text) {
    bool ok = true;
    for (char c : text) {
        ok &= kTokenChar[static_cast<unsigned char>(c)];
    }
    return ok;
}

// `text` equals `lower_literal` (of the same length) ignoring ASCII case. Only for text already
// checked to be tokens or field-value characters, and literals of lowercase letters and '-':
// for those, OR-ing 0x20 lowercases a letter and leaves '-' as it is, and no other such
// character becomes a letter or '-' (only CR would become '-'). Eight bytes at a time.
bool sameAs(std::string_view text, std::string_view lower_literal) {
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        if ((load8(text.data() + i) | (kOnes * 0x20)) != load8(lower_literal.data() + i)) {
            return false;
        }
    }
    for (; i < text.size(); ++i) {
        if ((text[i] | 0x20) != lower_literal[i]) {
            return false;
        }
    }
    return true;
}

bool nameIs(std::string_view name, std::string_view lower_literal) {
    return sameAs(name, lower_literal);  // sizes are equal: classify() switched on them
}

// A token of a field value is `lower_literal`, ignoring case.
bool tokenIs(std::string_view token, std::string_view lower_literal) {
    return token.size() == lower_literal.size() && sameAs(token, lower_literal);
}

enum class Name { Other, Connection, ContentLength, TransferEncoding, Upgrade, Via, Server,
                  HopByHop };

// The fields the parser acts on, by length first: one or two comparisons per field. The
// hop-by-hop ones are HopByHop::standard()'s list (which the request side checks by Beast's field
// enum), by name: Connection, Transfer-Encoding and Upgrade have cases of their own, the other
// five are Name::HopByHop. Keep the two in step (test_response_parser drops all eight).
Name classify(std::string_view name) {
    switch (name.size()) {
        case 2: return nameIs(name, "te") ? Name::HopByHop : Name::Other;
        case 3: return nameIs(name, "via") ? Name::Via : Name::Other;
        case 6: return nameIs(name, "server") ? Name::Server : Name::Other;
        case 7:
            if (nameIs(name, "upgrade")) return Name::Upgrade;
            return nameIs(name, "trailer") ? Name::HopByHop : Name::Other;
        case 10:
            if (nameIs(name, "connection")) return Name::Connection;
            return nameIs(name, "keep-alive") ? Name::HopByHop : Name::Other;
        case 14: return nameIs(name, "content-length") ? Name::ContentLength : Name::Other;
        case 16: return nameIs(name, "proxy-connection") ? Name::HopByHop : Name::Other;
        case 17: return nameIs(name, "transfer-encoding") ? Name::TransferEncoding : Name::Other;
        case 18: return nameIs(name, "proxy-authenticate") ? Name::HopByHop : Name::Other;
        default: return Name::Other;
    }
}

std::string_view trimOws(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::size_t ResponseParser::put(const char* data, std::size_t size, error_code& ec) {
    ec = {};
    if (size != 0) {
        got_some_ = true;
    }
    if (state_ != State::Head) {
        return putBody(data, size, ec);
    }
    // The head, a line at a time from where the last call stopped. Nothing is used until the
    // blank line: the bytes stay with the caller, who hands them in again with more.
    std::size_t at = scanned_;
    for (;;) {
        const void* found = at < size ? std::memchr(data + at, '\n', size - at) : nullptr;
        if (found == nullptr) {
            ec = size >= header_limit_ ? Error::header_limit : Error::need_more;
            return 0;
        }
        auto lf = static_cast<std::size_t>(static_cast<const char*>(found) - data);
        if (lf + 1 > header_limit_) {
            ec = Error::header_limit;
            return 0;
        }
        if (lf == at || data[lf - 1] != '\r') {
            ec = Error::bad_line_ending;  // a bare LF
            return 0;
        }
        std::string_view line(data + at, lf - 1 - at);
        at = lf + 1;
        if (!started_) {
            if (!parseStatusLine(line, ec)) {
                return 0;
            }
            started_ = true;
        } else if (line.empty()) {
            scanned_ = 0;
            if (!finishHead(ec)) {
                return 0;
            }
            return at;
        } else if (!parseField(line, ec)) {
            return 0;
        }
        scanned_ = at;
    }
}

// HTTP/1.x SP 3DIGIT [SP reason]. (A missing reason, even without its space, is let through as
// nginx does.)
bool ResponseParser::parseStatusLine(std::string_view line, error_code& ec) {
    if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0 || line[6] != '.' ||
        line[5] != '1' || (line[7] != '0' && line[7] != '1') || line[8] != ' ') {
        ec = Error::bad_version;
        return false;
    }
    version_ = line[7] == '1' ? 11 : 10;
    unsigned code = 0;
    for (std::size_t i = 9; i < 12; ++i) {
        if (line[i] < '0' || line[i] > '9') {
            ec = Error::bad_status;
            return false;
        }
        code = code * 10 + static_cast<unsigned>(line[i] - '0');
    }
    if (code < 100) {
        ec = Error::bad_status;
        return false;
    }
    std::string_view reason;
    if (line.size() > 12) {
        if (line[12] != ' ') {
            ec = Error::bad_status;
            return false;
        }
        reason = line.substr(13);
        if (!allText(reason)) {
            ec = Error::bad_reason;
            return false;
        }
    }
    status_ = code;
    head_.append(client_version_ >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    head_.append(line.data() + 9, 3);
    head_.push_back(' ');
    if (reason.empty()) {
        head_.append(http::reasonPhrase(static_cast<int>(code)));
    } else {
        head_.append(reason);
    }
    head_.append("\r\n", 2);
    return true;
}

bool ResponseParser::parseField(std::string_view line, error_code& ec) {
    // No name, a name that is not a token, or a name followed by anything but ':' (whitespace
    // before the colon; an obs-fold continuation line, which starts with SP or HTAB).
    const void* found = std::memchr(line.data(), ':', line.size());
    if (found == nullptr) {
        ec = Error::bad_field;
        return false;
    }
    auto colon = static_cast<std::size_t>(static_cast<const char*>(found) - line.data());
    std::string_view name = line.substr(0, colon);
    if (name.empty() || !allToken(name)) {
        ec = Error::bad_field;
        return false;
    }
    std::string_view value = trimOws(line.substr(colon + 1));
    if (!allText(value)) {
        ec = Error::bad_value;
        return false;
    }
    switch (classify(name)) {
        case Name::Connection:
            forEachToken(value, [this](std::string_view token) {
                if (tokenIs(token, "close")) {
                    close_ = true;
                } else if (tokenIs(token, "keep-alive")) {
                    keep_alive_ = true;
                } else if (!tokenIs(token, "upgrade")) {
                    hop_.add(token);  // a name listed here is hop-by-hop too (RFC 9110 §7.6.1)
                }
            });
            return true;
        case Name::ContentLength: {
            std::uint64_t length = 0;
            auto [end, parsed] = std::from_chars(value.data(), value.data() + value.size(), length);
            // Digits only (from_chars takes no sign or space but would take a leading '-' for
            // signed types only), within 64 bits, and one Content-Length per response.
            if (value.empty() || parsed != std::errc() || end != value.data() + value.size() ||
                content_length_.has_value()) {
                ec = Error::bad_content_length;
                return false;
            }
            content_length_ = length;
            return true;
        }
        case Name::TransferEncoding:
            // Only "chunked" (nginx's rule: any other coding would reach the client still
            // encoded once the field is dropped), once.
            if (has_transfer_encoding_ || !tokenIs(value, "chunked")) {
                ec = Error::bad_transfer_encoding;
                return false;
            }
            has_transfer_encoding_ = true;
            return true;
        case Name::Upgrade:
            upgrade_.offer(value);
            return true;
        case Name::Via:
            via_.offer(value);  // relayResponse adds the gateway's own to it
            return true;
        case Name::HopByHop:
            return true;
        case Name::Server:
            has_server_ = true;
            break;
        case Name::Other:
            break;
    }
    std::size_t offset = head_.size();
    appendField(head_, name, value);
    written_.push_back(Written{static_cast<std::uint32_t>(offset),
                               static_cast<std::uint32_t>(head_.size() - offset),
                               static_cast<std::uint32_t>(name.size())});
    return true;
}

bool ResponseParser::finishHead(error_code& ec) {
    if (has_transfer_encoding_ && content_length_.has_value()) {
        ec = Error::bad_transfer_encoding;  // which one frames the body? (a smuggling shape)
        return false;
    }
    if (hop_.anyListed()) {
        // Drop the fields the Connection header named, wherever they came.
        std::size_t fields_start = written_.empty() ? head_.size() : written_.front().offset;
        std::string kept;
        for (const auto& line : written_) {
            std::string_view name(head_.data() + line.offset, line.name_length);
            if (!hop_.listed(name)) {
                kept.append(head_, line.offset, line.length);
            }
        }
        head_.resize(fields_start);
        head_.append(kept);
    }
    // 1xx, 204 and 304 never have a body (RFC 9112 §6.3), nor has the answer to a HEAD.
    if (skip_ || status_ < 200 || status_ == 204 || status_ == 304) {
        state_ = State::Done;
    } else if (has_transfer_encoding_) {
        chunked_ = true;
        state_ = State::ChunkSize;
    } else if (content_length_.has_value()) {
        remaining_ = *content_length_;
        state_ = remaining_ == 0 ? State::Done : State::Length;
    } else {
        state_ = State::UntilEof;
        until_eof_ = true;
    }
    return true;
}

bool ResponseParser::keep_alive() const {
    if (until_eof_) {
        return false;
    }
    return version_ >= 11 ? !close_ : keep_alive_;
}

// Copies what fits of `data` into the body buffer; need_buffer when it is full.
std::size_t ResponseParser::takeBody(const char* data, std::size_t size, error_code& ec) {
    if (body_.data == nullptr) {
        ec = Error::need_buffer;
        return 0;
    }
    std::size_t n = std::min(size, body_.size);
    if (n != 0) {
        std::memcpy(body_.data, data, n);
        body_.data = static_cast<char*>(body_.data) + n;
        body_.size -= n;
    }
    if (n != size) {
        ec = Error::need_buffer;
    }
    return n;
}

std::size_t ResponseParser::putBody(const char* data, std::size_t size, error_code& ec) {
    std::size_t at = 0;
    while (at < size && !ec) {
        switch (state_) {
            case State::Head:
            case State::Done:
                return at;
            case State::UntilEof:
                return at + takeBody(data + at, size - at, ec);
            case State::Length:
            case State::ChunkData: {
                auto want = static_cast<std::size_t>(
                    std::min<std::uint64_t>(remaining_, size - at));
                std::size_t n = takeBody(data + at, want, ec);
                at += n;
                remaining_ -= n;
                if (remaining_ == 0) {
                    state_ = state_ == State::Length ? State::Done : State::ChunkDataCr;
                }
                break;
            }
            case State::ChunkSize: {
                char c = data[at];
                int digit = hexValue(c);
                if (digit >= 0) {
                    if (remaining_ > (std::uint64_t{1} << 59)) {
                        ec = Error::bad_chunk;  // no chunk is that large
                        return at;
                    }
                    remaining_ = remaining_ * 16 + static_cast<unsigned>(digit);
                    chunk_digits_ = true;
                    ++at;
                    break;
                }
                if (!chunk_digits_) {
                    ec = Error::bad_chunk;
                    return at;
                }
                state_ = State::ChunkExt;  // looks at this byte again
                break;
            }
            case State::ChunkExt: {
                // [BWS ";" extension...] CR: the extensions are read and dropped.
                char c = data[at++];
                if (c == '\r') {
                    state_ = State::ChunkSizeLf;
                    in_extension_ = false;
                } else if (!in_extension_ && c == ';') {
                    in_extension_ = true;
                } else if (!in_extension_ && c != ' ' && c != '\t') {
                    ec = Error::bad_chunk;  // "5x" or "5 x": not a size
                    return at;
                } else if (!kTextChar[static_cast<unsigned char>(c)] ||
                           ++framing_bytes_ > header_limit_) {
                    ec = Error::bad_chunk_extension;
                    return at;
                }
                break;
            }
            case State::ChunkSizeLf:
                if (data[at++] != '\n') {
                    ec = Error::bad_chunk;
                    return at;
                }
                chunk_digits_ = false;
                state_ = remaining_ == 0 ? State::Trailer : State::ChunkData;
                break;
            case State::ChunkDataCr:
                if (data[at++] != '\r') {
                    ec = Error::bad_chunk;
                    return at;
                }
                state_ = State::ChunkDataLf;
                break;
            case State::ChunkDataLf:
                if (data[at++] != '\n') {
                    ec = Error::bad_chunk;
                    return at;
                }
                state_ = State::ChunkSize;
                break;
            case State::Trailer: {
                // Trailer fields are read and dropped (the client's body is re-chunked without
                // them); the empty line ends the message.
                char c = data[at++];
                if (c == '\n') {
                    if (!trailer_cr_) {
                        ec = Error::bad_line_ending;
                        return at;
                    }
                    if (trailer_line_empty_) {
                        state_ = State::Done;
                        return at;
                    }
                    trailer_line_empty_ = true;
                    trailer_cr_ = false;
                } else if (trailer_cr_) {
                    ec = Error::bad_line_ending;  // a CR not followed by LF
                    return at;
                } else if (c == '\r') {
                    trailer_cr_ = true;
                } else {
                    trailer_line_empty_ = false;
                    if (++framing_bytes_ > header_limit_) {
                        ec = Error::header_limit;
                        return at;
                    }
                }
                break;
            }
        }
    }
    return at;
}

std::size_t ResponseParser::bodyInPlace(std::size_t available) {
    if (state_ != State::Length || remaining_ > available) {
        return 0;
    }
    auto length = static_cast<std::size_t>(remaining_);
    remaining_ = 0;
    state_ = State::Done;
    return length;
}

void ResponseParser::put_eof(error_code& ec) {
    ec = {};
    if (state_ == State::UntilEof) {
        state_ = State::Done;
    } else if (state_ != State::Done) {
        ec = Error::partial_message;
    }
}

}  // namespace portico::proxy
