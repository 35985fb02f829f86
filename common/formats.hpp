#pragma once
// Validators for schema::Format values, each producing Kong's error text (kong-compat.md §1.1),
// plus the host/IP parsing, hashing and PEM helpers they need. Pure functions, no state; safe on
// any thread. Used by validation.cpp and entities.cpp; the router and the Admin API may use the
// host and target helpers too.

#include "common/schema.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace portico::schema::formats {

enum class HostKind { Name, Ipv4, Ipv6 };

// A host with an optional port, as Kong's normalize_ip splits it. IPv6 hosts are kept without
// brackets and expanded to eight zero-padded groups ("0000:...:0001"), as Kong stores them.
struct HostPort {
    HostKind kind = HostKind::Name;
    std::string host;
    std::optional<int> port;
};

// Parses "name", "name:port", "1.2.3.4[:port]", "::1", "[::1]" or "[::1]:port". On failure returns
// nullopt and sets `error` to Kong's text ("invalid hostname: x", "invalid ipv4 address: x",
// "invalid ipv6 address: x", "invalid port number").
std::optional<HostPort> parseHostPort(std::string_view text, std::string* error = nullptr);

bool isIpv4(std::string_view text);
bool isIpv6(std::string_view text);  // without brackets

// Checks `value` against `format`. Returns Kong's error message, or nullopt when valid. Some
// formats normalize the value in place (Target: "host" -> "host:8000").
std::optional<std::string> check(Format format, std::string& value);

// "host[:port]" -> "host:port" with default port 8000, IPv6 bracketed; nullopt if invalid.
std::optional<std::string> normalizeTarget(std::string_view target);

// A route regex (a router path without its `~`, or a `~*` header value without the marker),
// compiled with RE2 as the router runs it. Returns Kong's message, "invalid regex: '<regex>'
// (PCRE returned: <RE2's error>)", or nullopt when it compiles. Regexes that need PCRE
// (lookaround, backreferences) fail here: the router could never match them.
std::optional<std::string> checkRegex(std::string_view regex, bool case_insensitive = false);

// True when `name` is a hostname that only fails Kong's check because of empty labels between
// dots ("a..b"; not a leading dot). Kubernetes' ingress controller generates such names.
bool hasEmptyLabel(std::string_view name);

// Kong's path normalization for prefix router paths: decodes percent-escapes of unreserved
// characters, upper-cases the others and removes dot segments.
std::string normalizePath(std::string_view path);

// Initialises OpenSSL without its cleanup at exit. Call first thing in main(): with that
// cleanup, `portico` sometimes crashed after main returned (SIGSEGV inside OPENSSL_cleanup's
// CRYPTO_free_ex_data, in jemalloc's free), turning a clean stop into exit status 139. The OS
// takes the memory back anyway.
void initCrypto();

// Hex digests.
std::string sha1Hex(std::string_view data);
std::string sha256Hex(std::string_view data);
// `count` random bytes (OpenSSL RAND_bytes) as lowercase hex.
std::string randomHex(std::size_t count);

// PEM helpers (OpenSSL). Each returns an error message, or nullopt when fine.
std::optional<std::string> checkCertificate(std::string_view pem);
std::optional<std::string> checkKey(std::string_view pem);
std::optional<std::string> checkPublicKey(std::string_view pem);
// True when the certificate's public key is the public half of `key_pem`.
bool certificateMatchesKey(std::string_view cert_pem, std::string_view key_pem);
// OpenSSL key type id of the certificate's public key (EVP_PKEY_RSA, EVP_PKEY_EC, ...), or -1.
int certificateKeyType(std::string_view cert_pem);
// CA certificate checks (kong-compat.md §1.10): exactly one certificate, not expired at `now`
// (Unix seconds), CA basic constraint set. Returns Kong's message or nullopt.
std::optional<std::string> checkCaCertificate(std::string_view pem, double now);
// SHA-256 hex of the DER encoding of the (first) certificate in `pem`; empty if unparsable.
std::string certificateDigest(std::string_view pem);

}  // namespace portico::schema::formats
