#include "gateway/proxy/traffic.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <tuple>

namespace portico::proxy {

namespace {

char asciiLower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// `needle` must already be lower case.
bool containsLower(std::string_view haystack, std::string_view needle) {
    if (needle.size() > haystack.size()) {
        return false;
    }
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                          [](char h, char n) { return asciiLower(h) == n; });
    return it != haystack.end();
}

std::string lowerCopy(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), asciiLower);
    return out;
}

// Prometheus label values: backslash, double quote and line feed are escaped.
void appendLabelValue(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
                break;
        }
    }
}

// Shortest text that reads back as the same double ("12.5", "3"); Prometheus' spellings for the
// non-finite values.
void appendNumber(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    if (ec != std::errc()) {
        out += "NaN";
        return;
    }
    out.append(buffer, end);
}

std::string statusClassLabel(int status_class) {
    if (status_class >= 1 && status_class <= 5) {
        return std::to_string(status_class) + "xx";
    }
    return "other";  // no status was sent (the client went away first), or out of range
}

}  // namespace

bool TrafficFilter::matches(const TrafficRecord& record) const {
    if (status_class && record.status / 100 != *status_class) {
        return false;
    }
    if (status && record.status != *status) {
        return false;
    }
    if (!route.empty() && record.route != route) {
        return false;
    }
    if (!service.empty() && record.service != service) {
        return false;
    }
    if (gateway_errors_only && !record.gateway_error) {
        return false;
    }
    if (!text.empty()) {
        std::string needle = lowerCopy(text);
        if (!containsLower(record.method, needle) && !containsLower(record.host, needle) &&
            !containsLower(record.path, needle) && !containsLower(record.request_id, needle) &&
            !containsLower(record.address, needle)) {
            return false;
        }
    }
    return true;
}

TrafficRing::TrafficRing(std::size_t capacity, std::size_t explanation_capacity)
    : records_(capacity), explanations_(explanation_capacity) {}

void TrafficRing::push(TrafficRecord&& record) {
    std::lock_guard lock(mutex_);
    record.sequence = next_sequence_++;
    records_.push(std::move(record));
}

void TrafficRing::explain(Explanation explanation) {
    std::lock_guard lock(mutex_);
    explanations_.push(std::move(explanation));
}

void TrafficRing::push(TrafficRecord&& record, Explanation&& explanation) {
    std::lock_guard lock(mutex_);
    record.sequence = next_sequence_++;
    records_.push(std::move(record));
    explanations_.push(std::move(explanation));
}

std::vector<TrafficRecord> TrafficRing::recent(const TrafficFilter& filter,
                                               std::size_t limit) const {
    std::vector<TrafficRecord> out;
    std::lock_guard lock(mutex_);
    for (std::size_t i = records_.size(); i > 0 && out.size() < limit; --i) {
        const auto& record = records_.at(i - 1);
        if (filter.matches(record)) {
            out.push_back(record);
        }
    }
    return out;
}

std::vector<TrafficRecord> TrafficRing::since(std::uint64_t after, const TrafficFilter& filter,
                                              std::size_t limit) const {
    std::vector<TrafficRecord> out;
    std::lock_guard lock(mutex_);
    // Sequences increase along the ring: skip what the reader has already seen by bisection.
    std::size_t low = 0;
    std::size_t high = records_.size();
    while (low < high) {
        std::size_t middle = low + (high - low) / 2;
        if (records_.at(middle).sequence <= after) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    for (std::size_t i = low; i < records_.size() && out.size() < limit; ++i) {
        const auto& record = records_.at(i);
        if (filter.matches(record)) {
            out.push_back(record);
        }
    }
    return out;
}

std::uint64_t TrafficRing::lastSequence() const {
    std::lock_guard lock(mutex_);
    return next_sequence_ - 1;
}

std::optional<TrafficRecord> TrafficRing::find(const std::string& request_id) const {
    std::lock_guard lock(mutex_);
    return findLocked(request_id);
}

std::optional<Explanation> TrafficRing::explanation(const std::string& request_id) const {
    std::lock_guard lock(mutex_);
    return explanationLocked(request_id);
}

TrafficRing::Lookup TrafficRing::lookup(const std::string& request_id) const {
    std::lock_guard lock(mutex_);
    return Lookup{findLocked(request_id), explanationLocked(request_id)};
}

std::optional<TrafficRecord> TrafficRing::findLocked(const std::string& request_id) const {
    // A linear scan, newest first: lookups come from an operator, a few per second at most, and
    // an index would cost every push an allocation.
    for (std::size_t i = records_.size(); i > 0; --i) {
        if (records_.at(i - 1).request_id == request_id) {
            return records_.at(i - 1);
        }
    }
    return std::nullopt;
}

std::optional<Explanation> TrafficRing::explanationLocked(const std::string& request_id) const {
    for (std::size_t i = explanations_.size(); i > 0; --i) {
        if (explanations_.at(i - 1).request_id == request_id) {
            return explanations_.at(i - 1);
        }
    }
    return std::nullopt;
}

bool Metrics::Key::operator<(const Key& other) const {
    return std::tie(route, service, status_class) <
           std::tie(other.route, other.service, other.status_class);
}

void Metrics::observe(const TrafficRecord& record) {
    int status_class = record.status / 100;
    // One "other" series for 0 (nothing sent) and out-of-range codes, never two with one label.
    const int label = status_class >= 1 && status_class <= 5 ? status_class : 0;
    // Looked up by the record's own strings: a Key (two copies) is made only for a new series.
    auto wanted = std::tie(record.route, record.service, label);
    std::lock_guard lock(mutex_);
    auto it = std::lower_bound(series_.begin(), series_.end(), wanted,
                               [](const auto& entry, const auto& k) {
                                   return std::tie(entry.first.route, entry.first.service,
                                                   entry.first.status_class) < k;
                               });
    if (it == series_.end() ||
        wanted < std::tie(it->first.route, it->first.service, it->first.status_class)) {
        it = series_.insert(it, {Key{record.route, record.service, label}, Series{}});
    }
    Series& series = it->second;
    ++series.count;
    series.latency_sum_ms += record.latency_ms;
    series.bytes_out += record.bytes_out;
    // The first bucket whose bound holds it; the last bound is +Inf, so every observation
    // lands at least there (also NaN, which compares false with everything).
    std::size_t bucket = 0;
    while (bucket + 1 < kBucketsMs.size() && !(record.latency_ms <= kBucketsMs[bucket])) {
        ++bucket;
    }
    ++series.buckets[bucket];
}

std::string Metrics::renderPrometheus() const {
    std::vector<std::pair<Key, Series>> series;
    {
        std::lock_guard lock(mutex_);
        series = series_;
    }
    std::string out;
    out.reserve(256 + series.size() * 1600);
    auto labels = [&out](const Key& key) {
        out += "route=\"";
        appendLabelValue(out, key.route);
        out += "\",service=\"";
        appendLabelValue(out, key.service);
        out += "\",status_class=\"";
        out += statusClassLabel(key.status_class);
        out += '"';
    };

    out +=
        "# HELP portico_http_requests_total Requests served, by route, service and status "
        "class.\n";
    out += "# TYPE portico_http_requests_total counter\n";
    for (const auto& [key, s] : series) {
        out += "portico_http_requests_total{";
        labels(key);
        out += "} " + std::to_string(s.count) + "\n";
    }

    out +=
        "# HELP portico_http_request_duration_ms Time from receiving a request to writing the "
        "last byte of its response, in milliseconds.\n";
    out += "# TYPE portico_http_request_duration_ms histogram\n";
    for (const auto& [key, s] : series) {
        std::uint64_t cumulative = 0;  // Prometheus buckets count everything up to their bound
        for (std::size_t i = 0; i < kBucketsMs.size(); ++i) {
            cumulative += s.buckets[i];
            out += "portico_http_request_duration_ms_bucket{";
            labels(key);
            out += ",le=\"";
            appendNumber(out, kBucketsMs[i]);
            out += "\"} " + std::to_string(cumulative) + "\n";
        }
        out += "portico_http_request_duration_ms_sum{";
        labels(key);
        out += "} ";
        appendNumber(out, s.latency_sum_ms);
        out += "\n";
        out += "portico_http_request_duration_ms_count{";
        labels(key);
        out += "} " + std::to_string(s.count) + "\n";
    }

    out += "# HELP portico_http_response_bytes_total Response body bytes sent to clients.\n";
    out += "# TYPE portico_http_response_bytes_total counter\n";
    for (const auto& [key, s] : series) {
        out += "portico_http_response_bytes_total{";
        labels(key);
        out += "} " + std::to_string(s.bytes_out) + "\n";
    }
    return out;
}

}  // namespace portico::proxy
