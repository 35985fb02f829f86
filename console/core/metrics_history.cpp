#include "console/core/metrics_history.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace portico::console {

QList<PromSample> parsePrometheusText(const QByteArray& text) {
    QList<PromSample> out;
    for (const QByteArray& raw : text.split('\n')) {
        QByteArray line = raw.trimmed();
        if (line.isEmpty() || line.startsWith('#')) {
            continue;
        }
        PromSample sample;
        qsizetype i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') {
            ++i;
        }
        sample.name = QString::fromUtf8(line.left(i));
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                qsizetype eq = line.indexOf('=', i);
                if (eq < 0 || eq + 1 >= line.size() || line[eq + 1] != '"') {
                    break;
                }
                QString key = QString::fromUtf8(line.mid(i, eq - i)).trimmed();
                QByteArray value;
                qsizetype j = eq + 2;
                while (j < line.size() && line[j] != '"') {
                    if (line[j] == '\\' && j + 1 < line.size()) {
                        ++j;
                        value += line[j] == 'n' ? '\n' : line[j];
                    } else {
                        value += line[j];
                    }
                    ++j;
                }
                sample.labels.insert(key, QString::fromUtf8(value));
                i = j + 1;
                if (i < line.size() && line[i] == ',') {
                    ++i;
                }
            }
            ++i;  // '}'
        }
        QByteArray rest = line.mid(i).trimmed();
        qsizetype space = rest.indexOf(' ');  // an optional timestamp follows the value
        QByteArray number = space < 0 ? rest : rest.left(space);
        bool ok = false;
        if (number == "+Inf") {
            sample.value = std::numeric_limits<double>::infinity();
            ok = true;
        } else {
            sample.value = number.toDouble(&ok);
        }
        if (ok && !sample.name.isEmpty()) {
            out << sample;
        }
    }
    return out;
}

MetricsHistory::MetricsHistory(QObject* parent) : QObject(parent) {
    qRegisterMetaType<MetricsPoint>();
}

MetricsHistory::Scrape MetricsHistory::summarize(double time, const QByteArray& text) {
    Scrape scrape;
    scrape.time = time;
    for (const auto& sample : parsePrometheusText(text)) {
        if (sample.name == "portico_http_requests_total") {
            QString status_class = sample.labels.value("status_class");
            bool error = status_class == "5xx" || status_class == "other";
            scrape.requests += sample.value;
            if (error) {
                scrape.errors += sample.value;
            }
            QString route = sample.labels.value("route");
            QString service = sample.labels.value("service");
            auto& r = scrape.routes[route.isEmpty() ? QStringLiteral("(no route)") : route];
            r.name = route.isEmpty() ? QStringLiteral("(no route)") : route;
            r.requests += sample.value;
            r.errors += error ? sample.value : 0;
            auto& s = scrape.services[service.isEmpty() ? QStringLiteral("(no service)") : service];
            s.name = service.isEmpty() ? QStringLiteral("(no service)") : service;
            s.requests += sample.value;
            s.errors += error ? sample.value : 0;
        } else if (sample.name == "portico_http_request_duration_ms_bucket") {
            QString le = sample.labels.value("le");
            double bound = le == "+Inf" ? std::numeric_limits<double>::infinity() : le.toDouble();
            scrape.buckets[bound] += sample.value;
        }
    }
    return scrape;
}

double MetricsHistory::quantile(double q, const QMap<double, double>& cumulative) {
    if (cumulative.isEmpty()) {
        return -1;
    }
    double total = cumulative.last();
    if (total <= 0) {
        return -1;
    }
    double rank = q * total;
    double lower_bound = 0;
    double lower_count = 0;
    double last_finite = 0;
    for (auto it = cumulative.begin(); it != cumulative.end(); ++it) {
        if (std::isinf(it.key())) {
            return last_finite;  // beyond the largest bucket: its bound is all we know
        }
        if (it.value() >= rank) {
            double in_bucket = it.value() - lower_count;
            if (in_bucket <= 0) {
                return it.key();
            }
            return lower_bound + (it.key() - lower_bound) * (rank - lower_count) / in_bucket;
        }
        lower_bound = it.key();
        lower_count = it.value();
        last_finite = it.key();
    }
    return last_finite;
}

double MetricsHistory::exactQuantile(double q, QList<double> values) {
    if (values.isEmpty()) {
        return -1;
    }
    std::sort(values.begin(), values.end());
    auto rank = static_cast<qsizetype>(std::ceil(q * static_cast<double>(values.size())));
    return values.at(std::clamp<qsizetype>(rank - 1, 0, values.size() - 1));
}

void MetricsHistory::addScrape(double time, const QByteArray& text,
                               const QList<double>& latencies) {
    Scrape scrape = summarize(time, text);
    total_requests_ = scrape.requests;
    if (!has_last_ || scrape.requests < last_.requests || time <= last_.time) {
        // First scrape, or the counters went back (restart): a new baseline.
        previous_ = scrape;
        last_ = scrape;
        has_last_ = true;
        return;
    }
    previous_ = last_;
    last_ = scrape;
    double interval = scrape.time - previous_.time;
    MetricsPoint point;
    point.time = time;
    point.request_rate = (scrape.requests - previous_.requests) / interval;
    point.error_rate = (scrape.errors - previous_.errors) / interval;
    QMap<double, double> delta;
    for (auto it = scrape.buckets.begin(); it != scrape.buckets.end(); ++it) {
        delta[it.key()] = std::max(0.0, it.value() - previous_.buckets.value(it.key()));
    }
    if (!latencies.isEmpty()) {
        point.p50 = exactQuantile(0.50, latencies);
        point.p90 = exactQuantile(0.90, latencies);
        point.p99 = exactQuantile(0.99, latencies);
    } else {
        point.p50 = quantile(0.50, delta);
        point.p90 = quantile(0.90, delta);
        point.p99 = quantile(0.99, delta);
    }
    points_ << point;
    while (points_.size() > max_points_) {
        points_.removeFirst();
    }
    emit pointAdded(point);
}

void MetricsHistory::clear() {
    points_.clear();
    has_last_ = false;
    last_ = {};
    previous_ = {};
    total_requests_ = 0;
}

QList<BusyRow> MetricsHistory::busiest(const QHash<QString, BusyRow>& now,
                                       const QHash<QString, BusyRow>& before, double interval,
                                       int limit) const {
    QList<BusyRow> rows;
    for (const auto& row : now) {
        BusyRow out = row;
        if (interval > 0) {
            out.rate = std::max(0.0, row.requests - before.value(row.name).requests) / interval;
        }
        rows << out;
    }
    std::sort(rows.begin(), rows.end(), [](const BusyRow& a, const BusyRow& b) {
        return a.requests != b.requests ? a.requests > b.requests : a.name < b.name;
    });
    if (rows.size() > limit) {
        rows.resize(limit);
    }
    return rows;
}

QList<BusyRow> MetricsHistory::busiestRoutes(int limit) const {
    return busiest(last_.routes, previous_.routes, last_.time - previous_.time, limit);
}

QList<BusyRow> MetricsHistory::busiestServices(int limit) const {
    return busiest(last_.services, previous_.services, last_.time - previous_.time, limit);
}

}  // namespace portico::console
