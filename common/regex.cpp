#include "common/regex.hpp"

#include <re2/re2.h>

namespace portico::common {

std::string toRe2Syntax(std::string_view pcre) {
    std::string out;
    out.reserve(pcre.size() + 4);
    bool in_class = false;  // inside [...], where "(?<" is literal text
    for (std::size_t i = 0; i < pcre.size(); ++i) {
        const char c = pcre[i];
        if (c == '\\' && i + 1 < pcre.size()) {
            if (pcre[i + 1] == 'Q') {
                // \Q...\E quotes everything up to \E (or the end) literally.
                const auto end = pcre.find("\\E", i + 2);
                const auto stop = end == std::string_view::npos ? pcre.size() : end + 2;
                out.append(pcre.substr(i, stop - i));
                i = stop - 1;
                continue;
            }
            out += c;  // an escaped character never opens a group or a class
            out += pcre[++i];
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < pcre.size() && pcre[i + 1] == ':') {
                // A POSIX class such as [:alpha:] inside the class: its ']' does not close it.
                const auto end = pcre.find(":]", i + 2);
                if (end != std::string_view::npos) {
                    out.append(pcre.substr(i, end + 2 - i));
                    i = end + 1;
                    continue;
                }
            }
            in_class = c != ']';
            out += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            // A ']' right after '[' or '[^' is a literal member, not the end of the class.
            if (i + 1 < pcre.size() && pcre[i + 1] == '^') {
                out += pcre[++i];
            }
            if (i + 1 < pcre.size() && pcre[i + 1] == ']') {
                out += pcre[++i];
            }
            continue;
        }
        if (c == '(' && pcre.substr(i, 3) == "(?<" && i + 3 < pcre.size() && pcre[i + 3] != '=' &&
            pcre[i + 3] != '!') {
            out += "(?P<";
            i += 2;
            continue;
        }
        out += c;
    }
    return out;
}

std::optional<std::string> re2Error(std::string_view pcre, bool case_insensitive) {
    RE2::Options options;
    options.set_log_errors(false);  // the caller reports the error; RE2 would also log it
    options.set_case_sensitive(!case_insensitive);
    const std::string pattern = toRe2Syntax(pcre);
    const RE2 compiled(pattern, options);
    if (compiled.ok()) {
        return std::nullopt;
    }
    return compiled.error();
}

}  // namespace portico::common
