#include "common/formats.hpp"

#include "common/regex.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <memory>
#include <vector>

namespace portico::schema::formats {

namespace {

constexpr int kDefaultTargetPort = 8000;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isAlnum(char c) { return isDigit(c) || isAlpha(c); }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0x0f]);
    }
    return out;
}

// Parses all-digit text; nullopt when empty, non-digit or absurdly long.
std::optional<long> parseDigits(std::string_view text) {
    if (text.empty() || text.size() > 9 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return isDigit(c); })) {
        return std::nullopt;
    }
    long value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

void setError(std::string* error, std::string message) {
    if (error != nullptr) {
        *error = std::move(message);
    }
}

// Kong's hostname_type: more than one colon is IPv6, digits and dots (with an optional port)
// are IPv4, anything else is a name.
HostKind hostKind(std::string_view text) {
    const auto colons = std::count(text.begin(), text.end(), ':');
    if (colons > 1) {
        return HostKind::Ipv6;
    }
    std::string_view rest = text;
    if (colons == 1) {
        rest = text.substr(0, text.find(':'));
        if (!parseDigits(text.substr(text.find(':') + 1))) {
            return HostKind::Name;
        }
    }
    if (!rest.empty() &&
        std::all_of(rest.begin(), rest.end(), [](char c) { return isDigit(c) || c == '.'; })) {
        return HostKind::Ipv4;
    }
    return HostKind::Name;
}

std::optional<std::string> normalizeIpv4(std::string_view text) {
    std::array<long, 4> parts{};
    std::size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
        const std::size_t end = i < 3 ? text.find('.', pos) : text.size();
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        const auto part = text.substr(pos, end - pos);
        if (part.size() > 3) {
            return std::nullopt;
        }
        const auto value = parseDigits(part);
        if (!value || *value > 255) {
            return std::nullopt;
        }
        parts[static_cast<std::size_t>(i)] = *value;
        pos = end + 1;
    }
    return std::to_string(parts[0]) + "." + std::to_string(parts[1]) + "." +
           std::to_string(parts[2]) + "." + std::to_string(parts[3]);
}

// Expands an IPv6 address to eight zero-padded lowercase groups; nullopt if malformed.
// An embedded IPv4 tail ("::ffff:1.2.3.4") is accepted and converted.
std::optional<std::string> expandIpv6(std::string_view text) {
    std::string addr(text);
    // IPv4 tail.
    if (const auto last_colon = addr.rfind(':');
        last_colon != std::string::npos && addr.find('.', last_colon) != std::string::npos) {
        const auto v4 = normalizeIpv4(std::string_view(addr).substr(last_colon + 1));
        if (!v4) {
            return std::nullopt;
        }
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (std::sscanf(v4->c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) {
            return std::nullopt;
        }
        char buf[16];
        std::snprintf(buf, sizeof buf, "%x:%x", (a << 8) | b, (c << 8) | d);
        addr = addr.substr(0, last_colon + 1) + buf;
    }
    std::vector<std::string> head;
    std::vector<std::string> tail;
    const auto dbl = addr.find("::");
    auto split = [](std::string_view s, std::vector<std::string>& out) {
        if (s.empty()) {
            return true;
        }
        std::size_t pos = 0;
        while (true) {
            const auto end = s.find(':', pos);
            const auto group = s.substr(pos, end == std::string_view::npos ? s.npos : end - pos);
            if (group.empty() || group.size() > 4 ||
                !std::all_of(group.begin(), group.end(), [](char ch) { return isHex(ch); })) {
                return false;
            }
            out.emplace_back(group);
            if (end == std::string_view::npos) {
                return true;
            }
            pos = end + 1;
        }
    };
    if (dbl != std::string::npos) {
        if (addr.find("::", dbl + 1) != std::string::npos) {
            return std::nullopt;
        }
        if (!split(std::string_view(addr).substr(0, dbl), head) ||
            !split(std::string_view(addr).substr(dbl + 2), tail) ||
            head.size() + tail.size() > 7) {
            return std::nullopt;
        }
        head.resize(8 - tail.size(), "0");
        head.insert(head.end(), tail.begin(), tail.end());
    } else if (!split(addr, head) || head.size() != 8) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 0; i < head.size(); ++i) {
        if (i > 0) {
            out.push_back(':');
        }
        out.append(4 - head[i].size(), '0');
        for (char ch : head[i]) {
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
        }
    }
    return out;
}

bool validHostname(std::string_view name) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
            return isAlnum(c) || c == '-' || c == '.' || c == '_';
        })) {
        return false;
    }
    // Segments may not end with a dash; only the last segment may be empty (FQDN dot).
    std::size_t pos = 0;
    while (true) {
        const auto end = name.find('.', pos);
        const auto segment = name.substr(pos, end == std::string_view::npos ? name.npos : end - pos);
        const bool last = end == std::string_view::npos;
        if ((segment.empty() && !(last && pos > 0)) || (!segment.empty() && segment.back() == '-')) {
            return false;
        }
        if (last) {
            return true;
        }
        pos = end + 1;
    }
}

bool validUtf8(std::string_view text, bool (*ascii_ok)(unsigned char)) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (!ascii_ok(c)) {
                return false;
            }
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Overlong encodings, surrogates and values past U+10FFFF are invalid.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return false;
        }
        i += len;
    }
    return true;
}

// --- individual formats -------------------------------------------------------------------

std::optional<std::string> checkHost(const std::string& value) {
    std::string error;
    const auto hp = parseHostPort(value, &error);
    if (!hp && error != "invalid port number") {
        return "invalid value: " + value;
    }
    if (!hp || hp->port) {
        return "must not have a port";
    }
    return std::nullopt;
}

std::optional<std::string> checkSni(const std::string& value) {
    std::string error;
    const auto hp = parseHostPort(value, &error);
    if (!hp && error != "invalid port number") {
        return "invalid value: " + value;
    }
    if (hp && hp->kind != HostKind::Name) {
        return "must not be an IP";
    }
    if (!hp || hp->port) {
        return "must not have a port";
    }
    return std::nullopt;
}

std::optional<std::string> checkWildcardHost(const std::string& value) {
    std::string host = value;
    if (const auto star = value.find('*'); star != std::string::npos) {
        if (star != 0 && star != value.size() - 1) {
            return std::string("wildcard must be leftmost or rightmost character");
        }
        if (std::count(value.begin(), value.end(), '*') > 1) {
            return std::string("only one wildcard must be specified");
        }
        host.replace(star, 1, "wildcard");
    }
    std::string error;
    const auto hp = parseHostPort(host, &error);
    if (!hp && error != "invalid port number") {
        return "invalid value: " + host;
    }
    if (hp && hp->kind != HostKind::Name) {
        return "must not be an IP";
    }
    if (!hp || hp->port) {
        return "must not have a port";
    }
    return std::nullopt;
}

std::optional<std::string> checkRouteHost(const std::string& value) {
    if (std::count(value.begin(), value.end(), '*') > 1) {
        return std::string("invalid wildcard: must have at most one wildcard");
    }
    if (value.find('*') != std::string::npos) {
        const bool leftmost = value.rfind("*.", 0) == 0;
        // Rightmost label, optionally followed by a port: "example.*" or "example.*:8080".
        const auto colon = value.rfind(':');
        const std::string_view host =
            colon != std::string::npos ? std::string_view(value).substr(0, colon) : value;
        const bool rightmost = host.size() >= 2 && host.substr(host.size() - 2) == ".*";
        if (!leftmost && !rightmost) {
            return std::string("invalid wildcard: must be placed at leftmost or rightmost label");
        }
    }
    std::string probe = value;
    if (const auto star = probe.find('*'); star != std::string::npos) {
        probe.replace(star, 1, "abc");
    }
    std::string error;
    if (!parseHostPort(probe, &error)) {
        return error;
    }
    return std::nullopt;
}

std::optional<std::string> checkPath(const std::string& value, bool* rfc3986_error = nullptr) {
    const bool chars_ok =
        !value.empty() && value[0] == '/' && std::all_of(value.begin(), value.end(), [](char c) {
            static constexpr std::string_view kExtra = ".-_~/%:@!$&'()*+,;=";
            return isAlnum(c) || kExtra.find(c) != std::string_view::npos;
        });
    if (!chars_ok) {
        if (rfc3986_error != nullptr) {
            *rfc3986_error = true;
        }
        return "invalid path: '" + value +
               "' (characters outside of the reserved list of RFC 3986 found)";
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '%') {
            continue;
        }
        if (i + 2 < value.size() && isHex(value[i + 1]) && isHex(value[i + 2])) {
            i += 2;
            continue;
        }
        return "invalid url-encoded value: '" + value.substr(i, 3) + "'";
    }
    return std::nullopt;
}

std::optional<std::string> checkRouterPath(const std::string& value) {
    if (value.find("//") != std::string::npos) {
        return std::string("must not have empty segments");
    }
    if (value.rfind('/', 0) != 0 && value.rfind("~/", 0) != 0) {
        return std::string("should start with: / (fixed path) or ~/ (regex path)");
    }
    bool rfc3986 = false;
    if (auto err = checkPath(value, &rfc3986); err && !rfc3986) {
        return err;  // malformed percent-encoding fails either way
    }
    if (value[0] != '~') {
        const auto normalized = normalizePath(value);
        if (normalized != value) {
            return "non-normalized path, consider use '" + normalized + "' instead";
        }
        return std::nullopt;
    }
    return checkRegex(std::string_view(value).substr(1));
}

std::optional<std::string> checkTokenName(const std::string& value, std::string_view what) {
    if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) {
            return isAlnum(c) || c == '_' || c == '-';
        })) {
        return "bad " + std::string(what) + " name '" + value +
               "', allowed characters are A-Z, a-z, 0-9, '_', and '-'";
    }
    return std::nullopt;
}

std::optional<std::string> checkIpOrCidr(const std::string& value) {
    const auto slash = value.find('/');
    const std::string ip = value.substr(0, slash);
    int max_prefix = 0;
    if (isIpv4(ip)) {
        max_prefix = 32;
    } else if (isIpv6(ip)) {
        max_prefix = 128;
    } else {
        return "invalid ip or cidr range: '" + value + "'";
    }
    if (slash != std::string::npos) {
        const auto prefix = parseDigits(std::string_view(value).substr(slash + 1));
        if (!prefix || *prefix > max_prefix) {
            return "invalid ip or cidr range: '" + value + "'";
        }
    }
    return std::nullopt;
}

std::optional<std::string> checkUpstreamName(const std::string& value) {
    const auto hp = parseHostPort(value);
    if (!hp) {
        return "Invalid name ('" + value + "'); must be a valid hostname";
    }
    if (hp->kind != HostKind::Name) {
        return "Invalid name ('" + value + "'); no ip addresses allowed";
    }
    if (hp->port) {
        return "Invalid name ('" + value + "'); no port allowed";
    }
    return std::nullopt;
}

bool tagAscii(unsigned char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '/'; }
bool nameAscii(unsigned char c) {
    return isAlnum(static_cast<char>(c)) || c == '.' || c == '-' || c == '_' || c == '~';
}

// --- OpenSSL helpers ----------------------------------------------------------------------

struct BioDeleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

BioPtr memBio(std::string_view pem) {
    return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Never prompt for a passphrase: encrypted keys are simply invalid here.
int noPassword(char*, int, int, void*) { return 0; }

std::string lastOpensslError(std::string_view fallback) {
    const unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) {
        return std::string(fallback);
    }
    const char* reason = ERR_reason_error_string(code);
    return reason != nullptr ? std::string(reason) : std::string(fallback);
}

X509Ptr readCert(std::string_view pem) {
    auto bio = memBio(pem);
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr));
    return cert;
}

PkeyPtr readKey(std::string_view pem) {
    auto bio = memBio(pem);
    return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
}

}  // namespace

// --- public API ---------------------------------------------------------------------------

bool isIpv4(std::string_view text) { return normalizeIpv4(text).has_value(); }

bool isIpv6(std::string_view text) {
    return text.find(':') != std::string_view::npos && expandIpv6(text).has_value();
}

std::optional<HostPort> parseHostPort(std::string_view text, std::string* error) {
    HostPort out;
    out.kind = hostKind(text);
    const std::string original(text);
    if (out.kind == HostKind::Ipv4) {
        std::string_view addr = text;
        if (const auto colon = text.find(':'); colon != std::string_view::npos) {
            addr = text.substr(0, colon);
            const auto port = parseDigits(text.substr(colon + 1));
            if (port && *port > 65535) {
                setError(error, "invalid port number");
                return std::nullopt;
            }
            out.port = static_cast<int>(*port);
        }
        auto normalized = normalizeIpv4(addr);
        if (!normalized) {
            setError(error, "invalid ipv4 address: " + original);
            return std::nullopt;
        }
        out.host = std::move(*normalized);
        return out;
    }
    if (out.kind == HostKind::Ipv6) {
        std::string_view addr = text;
        if (!text.empty() && text.front() == '[') {
            const auto close = text.find(']');
            if (close == std::string_view::npos) {
                setError(error, "invalid ipv6 address: " + original);
                return std::nullopt;
            }
            addr = text.substr(1, close - 1);
            const auto rest = text.substr(close + 1);
            if (!rest.empty()) {
                const auto port = rest.front() == ':' ? parseDigits(rest.substr(1)) : std::nullopt;
                if (!port) {
                    setError(error, "invalid ipv6 address: " + original);
                    return std::nullopt;
                }
                if (*port > 65535) {
                    setError(error, "invalid port number");
                    return std::nullopt;
                }
                out.port = static_cast<int>(*port);
            }
        }
        auto expanded = expandIpv6(addr);
        if (!expanded) {
            setError(error, "invalid ipv6 address: " + original);
            return std::nullopt;
        }
        out.host = std::move(*expanded);
        return out;
    }
    std::string_view name = text;
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        if (const auto port = parseDigits(text.substr(colon + 1))) {
            if (*port > 65535) {
                setError(error, "invalid port number");
                return std::nullopt;
            }
            out.port = static_cast<int>(*port);
            name = text.substr(0, colon);
        }
    }
    if (!validHostname(name)) {
        setError(error, "invalid hostname: " + original);
        return std::nullopt;
    }
    out.host = std::string(name);
    return out;
}

std::optional<std::string> normalizeTarget(std::string_view target) {
    const auto hp = parseHostPort(target);
    if (!hp) {
        return std::nullopt;
    }
    const int port = hp->port.value_or(kDefaultTargetPort);
    if (hp->kind == HostKind::Ipv6) {
        return "[" + hp->host + "]:" + std::to_string(port);
    }
    return hp->host + ":" + std::to_string(port);
}

std::optional<std::string> checkRegex(std::string_view regex, bool case_insensitive) {
    if (auto err = common::re2Error(regex, case_insensitive)) {
        return "invalid regex: '" + std::string(regex) + "' (PCRE returned: " + *err + ")";
    }
    return std::nullopt;
}

bool hasEmptyLabel(std::string_view name) {
    if (name.empty() || name.front() == '.' || name.find("..") == std::string_view::npos) {
        return false;
    }
    std::string collapsed;
    for (const char c : name) {
        if (!(c == '.' && !collapsed.empty() && collapsed.back() == '.')) {
            collapsed += c;
        }
    }
    return validHostname(collapsed);
}

std::string normalizePath(std::string_view path) {
    // 1. Percent-escapes: decode unreserved characters, upper-case the hex of the others.
    std::string decoded;
    decoded.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '%' && i + 2 < path.size() && isHex(path[i + 1]) && isHex(path[i + 2])) {
            const auto byte = static_cast<char>(std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16));
            if (isAlnum(byte) || byte == '-' || byte == '.' || byte == '_' || byte == '~') {
                decoded.push_back(byte);
            } else {
                decoded.push_back('%');
                decoded.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1]))));
                decoded.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2]))));
            }
            i += 2;
        } else {
            decoded.push_back(path[i]);
        }
    }
    // 2. RFC 3986 §5.2.4 remove_dot_segments.
    std::string input = decoded;
    std::string output;
    while (!input.empty()) {
        if (input.rfind("../", 0) == 0) {
            input.erase(0, 3);
        } else if (input.rfind("./", 0) == 0) {
            input.erase(0, 2);
        } else if (input.rfind("/./", 0) == 0) {
            input.replace(0, 3, "/");
        } else if (input == "/.") {
            input = "/";
        } else if (input.rfind("/../", 0) == 0 || input == "/..") {
            input = input == "/.." ? std::string("/") : input.replace(0, 4, "/");
            const auto last = output.rfind('/');
            output.erase(last == std::string::npos ? 0 : last);
        } else if (input == "." || input == "..") {
            input.clear();
        } else {
            const auto next = input.find('/', input[0] == '/' ? 1 : 0);
            output += input.substr(0, next);
            input.erase(0, next);
        }
    }
    return output;
}

std::optional<std::string> check(Format format, std::string& value) {
    switch (format) {
    case Format::None:
    case Format::Protocol:  // enforced through the field's one_of list
    case Format::Certificate:
    case Format::Key:
        break;
    case Format::Uuid:
        // Checked by the caller with isUuid (validation.cpp) to keep one definition.
        break;
    case Format::Timestamp:
    case Format::TimestampMs:
        break;
    case Format::Utf8Name:
        if (value.empty() || !validUtf8(value, nameAscii)) {
            return "invalid value '" + value +
                   "': the only accepted ascii characters are alphanumerics or ., -, _, and ~";
        }
        break;
    case Format::Host:
        return checkHost(value);
    case Format::HostWithOptionalPort: {
        std::string error;
        if (!parseHostPort(value, &error)) {
            return error;
        }
        break;
    }
    case Format::WildcardHost:
        return checkWildcardHost(value);
    case Format::Sni:
        return checkSni(value);
    case Format::Path:
        if (value.find("//") != std::string::npos) {
            return std::string("must not have empty segments");
        }
        if (value.rfind('/', 0) != 0) {
            return std::string("should start with: /");
        }
        return checkPath(value);
    case Format::RouterPath:
        return checkRouterPath(value);
    case Format::HeaderName:
        return checkTokenName(value, "header");
    case Format::CookieName:
        return checkTokenName(value, "cookie");
    case Format::HttpMethod:
        if (value.empty() || !std::all_of(value.begin(), value.end(),
                                          [](char c) { return c >= 'A' && c <= 'Z'; })) {
            return "invalid value: " + value;
        }
        break;
    case Format::Tag:
        if (!validUtf8(value, tagAscii)) {
            return "invalid tag '" + value +
                   "': expected printable ascii (except `,` and `/`) or valid utf-8 sequences";
        }
        break;
    case Format::IpOrCidr:
        return checkIpOrCidr(value);
    case Format::UpstreamName:
        return checkUpstreamName(value);
    case Format::Target: {
        auto normalized = normalizeTarget(value);
        if (!normalized) {
            return "Invalid target ('" + value + "'); not a valid hostname or ip address";
        }
        value = std::move(*normalized);
        break;
    }
    case Format::RouteHost:
        return checkRouteHost(value);
    }
    return std::nullopt;
}

void initCrypto() {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
}

std::string sha1Hex(std::string_view data) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    return hex(digest, sizeof digest);
}

std::string sha256Hex(std::string_view data) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    return hex(digest, sizeof digest);
}

std::string randomHex(std::size_t count) {
    std::vector<unsigned char> bytes(count);
    if (RAND_bytes(bytes.data(), static_cast<int>(count)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return hex(bytes.data(), bytes.size());
}

std::optional<std::string> checkCertificate(std::string_view pem) {
    ERR_clear_error();
    if (!readCert(pem)) {
        return "invalid certificate: " + lastOpensslError("unable to parse certificate");
    }
    return std::nullopt;
}

std::optional<std::string> checkKey(std::string_view pem) {
    ERR_clear_error();
    if (!readKey(pem)) {
        return "invalid key: " + lastOpensslError("unable to parse key");
    }
    return std::nullopt;
}

std::optional<std::string> checkPublicKey(std::string_view pem) {
    ERR_clear_error();
    auto bio = memBio(pem);
    PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, noPassword, nullptr));
    if (!key) {
        return "invalid key: " + lastOpensslError("unable to parse public key");
    }
    return std::nullopt;
}

bool certificateMatchesKey(std::string_view cert_pem, std::string_view key_pem) {
    auto cert = readCert(cert_pem);
    auto key = readKey(key_pem);
    const bool ok = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
    ERR_clear_error();
    return ok;
}

int certificateKeyType(std::string_view cert_pem) {
    auto cert = readCert(cert_pem);
    ERR_clear_error();
    if (!cert) {
        return -1;
    }
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    return key != nullptr ? EVP_PKEY_get_base_id(key) : -1;
}

std::optional<std::string> checkCaCertificate(std::string_view pem, double now) {
    ERR_clear_error();
    auto bio = memBio(pem);
    std::vector<X509Ptr> certs;
    while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr)) {
        certs.emplace_back(raw);
    }
    if (certs.empty()) {
        return "invalid certificate: " + lastOpensslError("unable to parse certificate");
    }
    ERR_clear_error();
    if (certs.size() > 1) {
        return std::string("please submit only one certificate at a time");
    }
    X509* cert = certs.front().get();
    std::time_t t = static_cast<std::time_t>(now);
    if (X509_cmp_time(X509_get0_notAfter(cert), &t) < 0) {
        return std::string("certificate expired, \"Not After\" time is in the past");
    }
    if ((X509_get_extension_flags(cert) & EXFLAG_CA) == 0) {
        return std::string(
            "certificate does not appear to be a CA because it is missing the \"CA\" basic "
            "constraint");
    }
    return std::nullopt;
}

std::string certificateDigest(std::string_view pem) {
    auto cert = readCert(pem);
    ERR_clear_error();
    if (!cert) {
        return {};
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (X509_digest(cert.get(), EVP_sha256(), digest, &size) != 1) {
        return {};
    }
    return hex(digest, size);
}

}  // namespace portico::schema::formats
