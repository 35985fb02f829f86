#pragma once
// OverviewPage: node information, configuration revision and database state (GET / and the
// /status heartbeat), request and error rates and latency percentiles over time (Qt Charts, fed
// by scraping GET /metrics at each heartbeat), and the busiest routes and services.
// Presenter and view in one: models live in console_core. GUI thread.

#include <QWidget>

class QLabel;
class QTableView;
class QChart;
class QLineSeries;
class QDateTimeAxis;
class QValueAxis;
class QJsonObject;
class QGridLayout;
class QEvent;

namespace portico::console {

class AdminClient;
class MetricsHistory;
class BusyModel;
struct MetricsPoint;

class OverviewPage : public QWidget {
    Q_OBJECT
public:
    explicit OverviewPage(AdminClient* client, QWidget* parent = nullptr);

    MetricsHistory* history() const { return history_; }
    BusyModel* routesModel() const { return routes_model_; }
    BusyModel* servicesModel() const { return services_model_; }
    QLabel* infoLabel(const QString& name) const;
    // requests/s, 5xx/s, p50, p90, p99.
    QList<QLineSeries*> series() const;

protected:
    void changeEvent(QEvent* event) override;

private:
    void onStatus(const QJsonObject& status);
    void onState();
    void addPoint(const MetricsPoint& point);
    QLabel* addInfo(QGridLayout* grid, int row, int column, const QString& title,
                    const QString& name);

    AdminClient* client_;
    MetricsHistory* history_;
    BusyModel* routes_model_;
    BusyModel* services_model_;
    bool scraping_ = false;
    qint64 last_sequence_ = -1;  // newest /traffic record already counted

    QChart* traffic_chart_;
    QLineSeries* rate_series_;
    QLineSeries* error_series_;
    QDateTimeAxis* traffic_time_;
    QValueAxis* traffic_value_;
    QChart* latency_chart_;
    QLineSeries* p50_series_;
    QLineSeries* p90_series_;
    QLineSeries* p99_series_;
    QDateTimeAxis* latency_time_;
    QValueAxis* latency_value_;
};

}  // namespace portico::console
