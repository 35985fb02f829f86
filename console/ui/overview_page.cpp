#include "console/ui/overview_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/busy_model.hpp"
#include "console/core/config_sync.hpp"
#include "console/core/metrics_history.hpp"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QEvent>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineSeries>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

namespace portico::console {

namespace {

constexpr qint64 kWindowMs = 5 * 60 * 1000;

QChart* makeChart(const QString& title) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->setAnimationOptions(QChart::NoAnimation);
    return chart;
}

QLineSeries* addSeries(QChart* chart, const QString& name, QDateTimeAxis* x, QValueAxis* y,
                       const QColor& color) {
    auto* series = new QLineSeries(chart);
    series->setName(name);
    QPen pen(color);
    pen.setWidthF(2);
    series->setPen(pen);
    chart->addSeries(series);
    series->attachAxis(x);
    series->attachAxis(y);
    return series;
}

QTableView* makeBusyTable(BusyModel* model, QWidget* parent) {
    auto* view = new QTableView(parent);
    view->setModel(model);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setAlternatingRowColors(true);
    return view;
}

}  // namespace

OverviewPage::OverviewPage(AdminClient* client, QWidget* parent)
    : QWidget(parent),
      client_(client),
      history_(new MetricsHistory(this)),
      routes_model_(new BusyModel(tr("Route"), this)),
      services_model_(new BusyModel(tr("Service"), this)) {
    setObjectName("OverviewPage");
    auto* layout = new QVBoxLayout(this);

    auto* info_box = new QGroupBox(tr("Node"), this);
    auto* grid = new QGridLayout(info_box);
    addInfo(grid, 0, 0, tr("Admin API"), "url");
    addInfo(grid, 1, 0, tr("Hostname"), "hostname");
    addInfo(grid, 2, 0, tr("Version"), "version");
    addInfo(grid, 0, 2, tr("Database"), "database");
    addInfo(grid, 1, 2, tr("Configuration"), "revision");
    addInfo(grid, 2, 2, tr("Node id"), "node_id");
    addInfo(grid, 0, 4, tr("Requests (total)"), "requests");
    addInfo(grid, 1, 4, tr("Connections"), "connections");
    addInfo(grid, 2, 4, tr("Upstream conns"), "upstream");
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(3, 1);
    grid->setColumnStretch(5, 1);
    layout->addWidget(info_box);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    auto* charts = new QWidget(splitter);
    auto* charts_layout = new QHBoxLayout(charts);
    charts_layout->setContentsMargins(0, 0, 0, 0);

    traffic_chart_ = makeChart(tr("Requests per second"));
    traffic_time_ = new QDateTimeAxis(traffic_chart_);
    traffic_time_->setFormat("HH:mm:ss");
    traffic_value_ = new QValueAxis(traffic_chart_);
    traffic_value_->setLabelFormat("%.1f");
    traffic_value_->setRange(0, 1);
    traffic_chart_->addAxis(traffic_time_, Qt::AlignBottom);
    traffic_chart_->addAxis(traffic_value_, Qt::AlignLeft);
    rate_series_ = addSeries(traffic_chart_, tr("requests/s"), traffic_time_, traffic_value_,
                             QColor(33, 150, 243));
    error_series_ =
        addSeries(traffic_chart_, tr("5xx/s"), traffic_time_, traffic_value_, QColor(229, 57, 53));
    auto* traffic_view = new QChartView(traffic_chart_, charts);
    traffic_view->setRenderHint(QPainter::Antialiasing);
    traffic_view->setMinimumHeight(220);
    charts_layout->addWidget(traffic_view);

    latency_chart_ = makeChart(tr("Latency (ms)"));
    latency_time_ = new QDateTimeAxis(latency_chart_);
    latency_time_->setFormat("HH:mm:ss");
    latency_value_ = new QValueAxis(latency_chart_);
    latency_value_->setLabelFormat("%.1f");
    latency_value_->setRange(0, 1);
    latency_chart_->addAxis(latency_time_, Qt::AlignBottom);
    latency_chart_->addAxis(latency_value_, Qt::AlignLeft);
    p50_series_ =
        addSeries(latency_chart_, "p50", latency_time_, latency_value_, QColor(67, 160, 71));
    p90_series_ =
        addSeries(latency_chart_, "p90", latency_time_, latency_value_, QColor(251, 140, 0));
    p99_series_ =
        addSeries(latency_chart_, "p99", latency_time_, latency_value_, QColor(142, 36, 170));
    auto* latency_view = new QChartView(latency_chart_, charts);
    latency_view->setRenderHint(QPainter::Antialiasing);
    charts_layout->addWidget(latency_view);
    splitter->addWidget(charts);

    auto* tables = new QWidget(splitter);
    auto* tables_layout = new QHBoxLayout(tables);
    tables_layout->setContentsMargins(0, 0, 0, 0);
    auto* routes_box = new QGroupBox(tr("Busiest routes"), tables);
    (new QVBoxLayout(routes_box))->addWidget(makeBusyTable(routes_model_, routes_box));
    auto* services_box = new QGroupBox(tr("Busiest services"), tables);
    (new QVBoxLayout(services_box))->addWidget(makeBusyTable(services_model_, services_box));
    tables_layout->addWidget(routes_box);
    tables_layout->addWidget(services_box);
    splitter->addWidget(tables);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    layout->addWidget(splitter, 1);

    QDateTime now = QDateTime::currentDateTime();
    traffic_time_->setRange(now.addSecs(-60), now);
    latency_time_->setRange(now.addSecs(-60), now);
    connect(client_, &AdminClient::statusUpdated, this, &OverviewPage::onStatus);
    connect(client_, &AdminClient::stateChanged, this, &OverviewPage::onState);
    connect(history_, &MetricsHistory::pointAdded, this, &OverviewPage::addPoint);
    onState();
}

QLabel* OverviewPage::addInfo(QGridLayout* grid, int row, int column, const QString& title,
                              const QString& name) {
    auto* caption = new QLabel(title + ":", this);
    caption->setStyleSheet("color: gray;");
    auto* value = new QLabel(QStringLiteral("—"), this);
    value->setObjectName("info_" + name);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    grid->addWidget(caption, row, column);
    grid->addWidget(value, row, column + 1);
    return value;
}

QLabel* OverviewPage::infoLabel(const QString& name) const {
    return findChild<QLabel*>("info_" + name);
}

void OverviewPage::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        // Follow the light/dark palette; the theme resets the series colours, so set them again.
        bool dark = palette().color(QPalette::Window).lightness() < 128;
        const QList<QPair<QLineSeries*, QColor>> colours = {{rate_series_, QColor(33, 150, 243)},
                                                            {error_series_, QColor(229, 57, 53)},
                                                            {p50_series_, QColor(67, 160, 71)},
                                                            {p90_series_, QColor(251, 140, 0)},
                                                            {p99_series_, QColor(142, 36, 170)}};
        for (auto* chart : {traffic_chart_, latency_chart_}) {
            chart->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
        }
        for (const auto& [series, colour] : colours) {
            QPen pen(colour);
            pen.setWidthF(2);
            series->setPen(pen);
        }
    }
}

QList<QLineSeries*> OverviewPage::series() const {
    return {rate_series_, error_series_, p50_series_, p90_series_, p99_series_};
}

void OverviewPage::onState() {
    infoLabel("url")->setText(client_->baseUrl().isEmpty() ? tr("not connected")
                                                           : client_->baseUrl().toString());
    if (client_->state() == AdminClient::State::Connecting) {
        history_->clear();  // another gateway: its counters are not comparable
        last_sequence_ = -1;
        for (auto* series : {rate_series_, error_series_, p50_series_, p90_series_, p99_series_}) {
            series->clear();
        }
    }
    if (client_->state() == AdminClient::State::Lost) {
        infoLabel("database")
            ->setText(
                tr("<span style='color:#c62828'>unknown: the gateway does not answer</span>"));
    }
    if (client_->state() != AdminClient::State::Connected) {
        return;
    }
    client_->get("/", this, [this](const AdminResult& result) {
        if (!result.ok()) {
            return;
        }
        QJsonObject root = result.body.object();
        infoLabel("hostname")->setText(root.value("hostname").toString());
        QString version = root.value("portico_version").toString();
        infoLabel("version")->setText(version.isEmpty()
                                          ? tr("Kong %1").arg(root.value("version").toString())
                                          : tr("Portico %1 (Kong Admin API %2)")
                                                .arg(version, root.value("version").toString()));
        infoLabel("node_id")->setText(root.value("node_id").toString());
    });
}

void OverviewPage::onStatus(const QJsonObject& status) {
    QJsonObject database = status.value("database").toObject();
    QString strategy = database.value("strategy").toString();
    if (strategy.isEmpty()) {
        strategy = status.contains("database") ? tr("database") : QStringLiteral("off");
    }
    if (statusSaysDbless(status)) {
        infoLabel("database")->setText(tr("none (DB-less, declarative)"));
    } else {
        bool reachable = database.value("reachable").toBool();
        infoLabel("database")
            ->setText(QStringLiteral("%1 — <span style='color:%2'>%3</span>")
                          .arg(strategy, reachable ? "#2e7d32" : "#c62828",
                               reachable ? tr("reachable") : tr("unreachable")));
    }
    QJsonObject configuration = status.value("configuration").toObject();
    QString revision = configuration.value("revision").isDouble()
                           ? QString::number(configuration.value("revision").toInteger())
                           : QStringLiteral("—");
    QString served = configuration.value("served_revision").isDouble()
                         ? QString::number(configuration.value("served_revision").toInteger())
                         : QStringLiteral("—");
    QString hash =
        configuration.value("hash").toString(status.value("configuration_hash").toString());
    infoLabel("revision")
        ->setText(tr("revision %1, serving %2%3")
                      .arg(revision, served,
                           hash.isEmpty() ? QString() : tr(", hash %1").arg(hash.left(12))));
    QJsonObject server = status.value("server").toObject();
    infoLabel("requests")->setText(QString::number(server.value("total_requests").toInteger()));
    infoLabel("connections")
        ->setText(tr("%1 active, %2 accepted")
                      .arg(server.value("connections_active").toInteger())
                      .arg(server.value("connections_accepted").toInteger()));
    infoLabel("upstream")
        ->setText(tr("%1 opened, %2 reused")
                      .arg(server.value("upstream_connections_opened").toInteger())
                      .arg(server.value("upstream_connections_reused").toInteger()));

    if (scraping_) {
        return;
    }
    scraping_ = true;
    client_->get("/metrics", this, [this](const AdminResult& metrics) {
        if (!metrics.ok()) {
            scraping_ = false;
            return;
        }
        QByteArray text = metrics.body.object().value("text").toString().toUtf8();
        // Exact latencies of the requests since the last scrape, from Portico's traffic feed
        // (newest 1000); a gateway without /traffic falls back to the histogram.
        client_->get("/traffic?size=1000", this, [this, text](const AdminResult& traffic) {
            scraping_ = false;
            QList<double> latencies;
            qint64 newest = last_sequence_;
            if (traffic.ok()) {
                const QJsonArray records = traffic.body.object().value("data").toArray();
                qint64 top = records.isEmpty()
                                 ? 0
                                 : records.first().toObject().value("sequence").toInteger();
                if (top < last_sequence_) {
                    last_sequence_ = -1;  // the gateway restarted
                }
                for (const auto& item : records) {
                    QJsonObject record = item.toObject();
                    qint64 sequence = record.value("sequence").toInteger();
                    newest = std::max(newest, sequence);
                    if (last_sequence_ >= 0 && sequence > last_sequence_) {
                        latencies << record.value("latency_ms").toDouble();
                    }
                }
                if (last_sequence_ < 0 && newest < 0) {
                    newest = 0;  // an empty feed: count from its start
                }
            }
            last_sequence_ = newest;
            history_->addScrape(QDateTime::currentMSecsSinceEpoch() / 1000.0, text, latencies);
            routes_model_->setRows(history_->busiestRoutes());
            services_model_->setRows(history_->busiestServices());
        });
    });
}

void OverviewPage::addPoint(const MetricsPoint& point) {
    qint64 ms = static_cast<qint64>(point.time * 1000);
    qint64 from = ms - kWindowMs;
    auto trim = [from](QLineSeries* series) {
        int drop = 0;
        const auto points = series->points();
        while (drop < points.size() && points.at(drop).x() < static_cast<double>(from)) {
            ++drop;
        }
        if (drop > 0) {
            series->removePoints(0, drop);
        }
    };
    rate_series_->append(static_cast<double>(ms), point.request_rate);
    error_series_->append(static_cast<double>(ms), point.error_rate);
    if (point.p50 >= 0) {
        p50_series_->append(static_cast<double>(ms), point.p50);
        p90_series_->append(static_cast<double>(ms), point.p90);
        p99_series_->append(static_cast<double>(ms), point.p99);
    }
    double max_rate = 1;
    double max_latency = 1;
    for (auto* series : {rate_series_, error_series_, p50_series_, p90_series_, p99_series_}) {
        trim(series);
        for (const auto& p : series->points()) {
            if (series == rate_series_ || series == error_series_) {
                max_rate = std::max(max_rate, p.y());
            } else {
                max_latency = std::max(max_latency, p.y());
            }
        }
    }
    // Up to five minutes, but no wider than the data (at least 10 s), so a fresh connection
    // does not draw a thin line at the right edge.
    qint64 first = ms;
    for (const auto& p : rate_series_->points()) {
        first = std::min(first, static_cast<qint64>(p.x()));
    }
    QDateTime start = QDateTime::fromMSecsSinceEpoch(std::max(from, std::min(first, ms - 10000)));
    QDateTime end = QDateTime::fromMSecsSinceEpoch(ms);
    traffic_time_->setRange(start, end);
    latency_time_->setRange(start, end);
    traffic_value_->setRange(0, max_rate * 1.15);
    latency_value_->setRange(0, max_latency * 1.15);
}

}  // namespace portico::console
