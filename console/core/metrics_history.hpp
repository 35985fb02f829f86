#pragma once
// MetricsHistory: turns successive GET /metrics scrapes (Prometheus text) into a time series of
// request rate, error rate and latency percentiles, and per-route/per-service totals for the
// "busiest" tables. Rates and percentiles are computed between two scrapes (counter deltas).
// Percentiles come from the exact latencies of the interval's requests when the caller has
// them (Portico's GET /traffic), else from the latency histogram's bucket deltas, interpolated
// inside the bucket as Prometheus' histogram_quantile does (coarse: every request under 1 ms
// lands in the first bucket). A counter that went down (gateway restarted) starts a new
// baseline. Plain computation, no network. GUI thread.

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QString>

namespace portico::console {

// One series of a Prometheus scrape.
struct PromSample {
    QString name;
    QMap<QString, QString> labels;
    double value = 0;
};
QList<PromSample> parsePrometheusText(const QByteArray& text);

struct MetricsPoint {
    double time = 0;          // seconds since the epoch
    double request_rate = 0;  // requests per second
    double error_rate = 0;    // 5xx (and "other": no response) per second
    double p50 = -1;          // ms; -1 when no request finished in the interval
    double p90 = -1;
    double p99 = -1;
};

struct BusyRow {
    QString name;  // route or service name ("(no route)" for unmatched requests)
    double requests = 0;
    double rate = 0;  // per second over the last interval
    double errors = 0;
};

class MetricsHistory : public QObject {
    Q_OBJECT
public:
    explicit MetricsHistory(QObject* parent = nullptr);

    // Adds one scrape taken at `time` (seconds), with the latencies (ms) of the requests
    // finished since the previous scrape when known. Emits pointAdded from the second scrape on.
    void addScrape(double time, const QByteArray& text, const QList<double>& latencies = {});
    void clear();

    const QList<MetricsPoint>& points() const { return points_; }
    void setMaxPoints(int max) { max_points_ = max; }
    // Busiest first (by total requests), at most `limit`.
    QList<BusyRow> busiestRoutes(int limit = 10) const;
    QList<BusyRow> busiestServices(int limit = 10) const;
    double totalRequests() const { return total_requests_; }

    // Quantile q (0..1) of a cumulative histogram {upper bound -> count}; -1 when empty.
    static double quantile(double q, const QMap<double, double>& cumulative);
    // Quantile q (0..1) of exact values by nearest rank; -1 when empty.
    static double exactQuantile(double q, QList<double> values);

signals:
    void pointAdded(const portico::console::MetricsPoint& point);

private:
    struct Scrape {
        double time = 0;
        double requests = 0;
        double errors = 0;
        QMap<double, double> buckets;  // le -> cumulative count, summed over series
        QHash<QString, BusyRow> routes;
        QHash<QString, BusyRow> services;
    };
    static Scrape summarize(double time, const QByteArray& text);
    QList<BusyRow> busiest(const QHash<QString, BusyRow>& now,
                           const QHash<QString, BusyRow>& before, double interval, int limit) const;

    QList<MetricsPoint> points_;
    int max_points_ = 450;  // 15 minutes at one scrape every 2 s
    bool has_last_ = false;
    Scrape last_;
    Scrape previous_;
    double total_requests_ = 0;
};

}  // namespace portico::console

Q_DECLARE_METATYPE(portico::console::MetricsPoint)
