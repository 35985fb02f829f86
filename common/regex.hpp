#pragma once
// Route regexes: Kong writes them in PCRE syntax, Portico runs them with RE2. These helpers let
// validation reject at write time what the router could not compile later. Pure functions, no
// state; safe on any thread.

#include <optional>
#include <string>
#include <string_view>

namespace portico::common {

// Rewrites PCRE named groups `(?<name>...)` into RE2's `(?P<name>...)`. Escaped text
// (`\(?<`) and lookbehinds `(?<=` / `(?<!` are left alone (RE2 rejects lookbehinds anyway).
// Everything else is copied unchanged.
std::string toRe2Syntax(std::string_view pcre);

// Compiles `pcre` (after toRe2Syntax) with RE2, as the router does, and returns RE2's error
// text when it does not compile: unbalanced groups, bad escapes, and the PCRE features RE2
// cannot express (lookaround, backreferences, possessive quantifiers...). nullopt when it
// compiles. `case_insensitive` matches the router's options for `~*` header values.
std::optional<std::string> re2Error(std::string_view pcre, bool case_insensitive = false);

}  // namespace portico::common
