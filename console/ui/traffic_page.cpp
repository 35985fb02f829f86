#include "console/ui/traffic_page.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/event_stream.hpp"
#include "console/core/traffic_model.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIdentityProxyModel>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QLoggingCategory>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>

Q_LOGGING_CATEGORY(lcTrafficPage, "portico.console.traffic")

namespace portico::console {

namespace {

constexpr int kInitialRows = 200;

QString esc(const QString& text) {
    return text.toHtmlEscaped();
}

QString when(double unix_seconds) {
    return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(unix_seconds * 1000.0))
        .toLocalTime()
        .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
}

// Status colours: 5xx red, 4xx amber, gateway-made errors bold.
class StatusColours : public QIdentityProxyModel {
public:
    using QIdentityProxyModel::QIdentityProxyModel;

    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::ForegroundRole) {
            const int status_class =
                QIdentityProxyModel::data(index, TrafficModel::StatusClassRole).toInt();
            if (status_class == 5) {
                return QBrush(QColor(0xd6, 0x27, 0x28));
            }
            if (status_class == 4) {
                return QBrush(QColor(0xb3, 0x6b, 0x00));
            }
        }
        if (role == Qt::FontRole && index.column() == TrafficModel::StatusColumn &&
            QIdentityProxyModel::data(index, TrafficModel::GatewayErrorRole).toBool()) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return QIdentityProxyModel::data(index, role);
    }
};

// What the gateway's own errors mean when it kept no explanation (no route matched, ...).
QString fallbackExplanation(const TrafficRecord& r) {
    if (!r.gateway_error) {
        return {};
    }
    switch (r.status) {
        case 404:
            return TrafficPage::tr(
                       "No route matched %1 %2 (host %3): the gateway answered 404 "
                       "\"no Route matched with those values\" itself. Check the "
                       "routes' paths, hosts and methods.")
                .arg(esc(r.method), esc(r.path), esc(r.host));
        case 400:
        case 413:
        case 414:
        case 431:
            return TrafficPage::tr(
                       "The gateway refused the request itself (%1): it was "
                       "malformed or over a size limit.")
                .arg(r.status);
        default:
            return TrafficPage::tr(
                       "The gateway answered %1 itself; this node kept no further "
                       "explanation (explanations are kept for the last 2,000 "
                       "errors).")
                .arg(r.status);
    }
}

}  // namespace

TrafficPage::TrafficPage(AdminClient* client, QWidget* parent)
    : QWidget(parent),
      client_(client),
      model_(new TrafficModel(5000, this)),
      proxy_(new TrafficFilterProxy(this)),
      table_(new QTableView(this)),
      details_(new QTextBrowser(this)),
      pause_(new QPushButton(tr("Pause"), this)),
      status_(new QComboBox(this)),
      route_(new QComboBox(this)),
      service_(new QComboBox(this)),
      text_(new QLineEdit(this)),
      errors_only_(new QCheckBox(tr("Gateway errors only"), this)),
      status_line_(new QLabel(this)),
      flush_timer_(new QTimer(this)) {
    flush_timer_->setSingleShot(true);
    flush_timer_->setInterval(100);
    connect(flush_timer_, &QTimer::timeout, this, &TrafficPage::flushPending);
    setObjectName(QStringLiteral("trafficPage"));
    table_->setObjectName(QStringLiteral("trafficTable"));
    details_->setObjectName(QStringLiteral("trafficDetails"));
    proxy_->setSourceModel(model_);
    auto* colours = new StatusColours(this);
    colours->setSourceModel(proxy_);
    table_->setModel(colours);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setWordWrap(false);
    const std::pair<int, int> widths[] = {
        {TrafficModel::TimeColumn, 90},     {TrafficModel::MethodColumn, 55},
        {TrafficModel::HostColumn, 110},    {TrafficModel::PathColumn, 140},
        {TrafficModel::RouteColumn, 80},    {TrafficModel::ServiceColumn, 80},
        {TrafficModel::AddressColumn, 115}, {TrafficModel::StatusColumn, 50},
    };
    for (const auto& [column, width] : widths) {
        table_->setColumnWidth(column, width);
    }
    details_->setOpenLinks(false);
    details_->setPlaceholderText(
        tr("Select a request to see its details; errors the gateway made itself come with "
           "the gateway's explanation."));

    pause_->setCheckable(true);
    pause_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    pause_->setToolTip(
        tr("Pause the table (Ctrl+P); requests arriving meanwhile are kept and "
           "shown on resume"));
    status_->addItem(tr("All statuses"), 0);
    for (int c = 1; c <= 5; ++c) {
        status_->addItem(QStringLiteral("%1xx").arg(c), c);
    }
    route_->addItem(tr("Any route"), QString());
    service_->addItem(tr("Any service"), QString());
    text_->setPlaceholderText(tr("Search method, host, path, request id, address"));
    text_->setClearButtonEnabled(true);
    auto* clear = new QPushButton(tr("Clear"), this);

    auto* filters = new QHBoxLayout;
    filters->addWidget(pause_);
    filters->addWidget(status_);
    filters->addWidget(errors_only_);
    filters->addWidget(route_);
    filters->addWidget(service_);
    filters->addWidget(text_, 1);
    filters->addWidget(clear);

    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(table_);
    split->addWidget(details_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setSizes({860, 420});

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(filters);
    layout->addWidget(split, 1);
    layout->addWidget(status_line_);

    connect(pause_, &QPushButton::toggled, this, &TrafficPage::setPaused);
    connect(status_, &QComboBox::currentIndexChanged, this,
            [this] { proxy_->setStatusClass(status_->currentData().toInt()); });
    connect(errors_only_, &QCheckBox::toggled, proxy_, &TrafficFilterProxy::setGatewayErrorsOnly);
    connect(route_, &QComboBox::currentIndexChanged, this,
            [this] { proxy_->setRoute(route_->currentData().toString()); });
    connect(service_, &QComboBox::currentIndexChanged, this,
            [this] { proxy_->setService(service_->currentData().toString()); });
    connect(text_, &QLineEdit::textChanged, proxy_, &TrafficFilterProxy::setText);
    connect(clear, &QPushButton::clicked, model_, &TrafficModel::clear);
    connect(model_, &TrafficModel::knownNamesChanged, this, &TrafficPage::updateNameFilters);
    connect(model_, &TrafficModel::bufferedCountChanged, this, &TrafficPage::updateStatusLine);
    connect(model_, &QAbstractItemModel::rowsInserted, this, &TrafficPage::updateStatusLine);
    connect(model_, &QAbstractItemModel::modelReset, this, &TrafficPage::updateStatusLine);
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (current.isValid()) {
                    showRequest(current.data(TrafficModel::RequestIdRole).toString());
                }
            });
    connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        showRequest(index.data(TrafficModel::RequestIdRole).toString());
        details_->setFocus();
    });

    if (client_) {
        connect(client_, &AdminClient::stateChanged, this, [this](AdminClient::State state) {
            if (state == AdminClient::State::Connected && client_->baseUrl() != loaded_url_) {
                reconnect();
            }
            updateStatusLine();
        });
        if (client_->state() == AdminClient::State::Connected) {
            reconnect();
        }
    }
    updateStatusLine();
}

void TrafficPage::reconnect() {
    if (!client_ || client_->baseUrl().isEmpty()) {
        return;
    }
    ++generation_;
    const quint64 generation = generation_;
    if (loaded_url_ != client_->baseUrl()) {
        model_->clear();
    }
    loaded_url_ = client_->baseUrl();
    pending_.clear();
    if (stream_) {
        stream_->stop();
        stream_->deleteLater();
        stream_ = nullptr;
    }
    client_->get(QStringLiteral("/traffic?size=%1").arg(kInitialRows), this,
                 [this, generation](const AdminResult& result) {
                     if (generation != generation_) {
                         return;
                     }
                     if (!result.ok()) {
                         status_line_->setText(
                             tr("Could not read recent traffic: %1").arg(result.error->toString()));
                     } else {
                         QList<TrafficRecord> records;
                         for (const QJsonValue& value :
                              result.body.object().value(QLatin1String("data")).toArray()) {
                             records << TrafficRecord::fromJson(value.toObject());
                         }
                         model_->addRecords(records);
                     }
                     // Follow the feed from what we have (the model ignores repeats).
                     QString path = QStringLiteral("/traffic/stream");
                     if (model_->lastSequence() > 0) {
                         path += QStringLiteral("?since=%1").arg(model_->lastSequence());
                     }
                     stream_ = client_->openStream(path, this);
                     connect(stream_, &EventStream::eventReceived, this, &TrafficPage::onEvent);
                     connect(stream_, &EventStream::opened, this, [this] {
                         updateStatusLine();
                         emit streamOpened();
                     });
                     connect(stream_, &EventStream::closed, this, [this] { updateStatusLine(); });
                     stream_->start();
                 });
}

void TrafficPage::onEvent(const QString& name, const QByteArray& data) {
    if (name != QLatin1String("request")) {
        return;
    }
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(data, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        qCWarning(lcTrafficPage) << "unreadable traffic event:" << error.errorString();
        return;
    }
    pending_.append(TrafficRecord::fromJson(doc.object()));
    if (!flush_timer_->isActive()) {
        flush_timer_->start();
    }
}

void TrafficPage::flushPending() {
    QList<TrafficRecord> records;
    records.swap(pending_);
    model_->addRecords(records);
}

void TrafficPage::setPaused(bool paused) {
    model_->setPaused(paused);
    if (pause_->isChecked() != paused) {
        pause_->setChecked(paused);
    }
    pause_->setText(paused ? tr("Resume") : tr("Pause"));
    updateStatusLine();
}

void TrafficPage::updateNameFilters() {
    auto refill = [](QComboBox* box, const QStringList& names) {
        for (const QString& name : names) {
            if (box->findData(name) < 0) {
                box->addItem(name, name);
            }
        }
    };
    refill(route_, model_->knownRoutes());
    refill(service_, model_->knownServices());
}

void TrafficPage::updateStatusLine() {
    QString state;
    if (!client_ || client_->baseUrl().isEmpty()) {
        state = tr("Not connected.");
    } else if (stream_ && stream_->isOpen()) {
        state = tr("Live from %1.").arg(client_->baseUrl().toString());
    } else {
        state = tr("Waiting for the traffic feed of %1…").arg(client_->baseUrl().toString());
    }
    QString text = tr("%1 %2 requests shown.").arg(state).arg(model_->rowCount());
    if (model_->paused()) {
        text += tr(" Paused: %1 new requests waiting").arg(model_->bufferedCount());
        if (model_->droppedCount() > 0) {
            text += tr(" (%1 older ones dropped)").arg(model_->droppedCount());
        }
        text += QLatin1Char('.');
    }
    status_line_->setText(text);
}

void TrafficPage::showRequest(const QString& request_id) {
    if (request_id.isEmpty()) {
        return;
    }
    shown_request_ = request_id;
    const int row = model_->rowOfRequest(request_id);
    const TrafficRecord* record = row >= 0 ? &model_->record(row) : nullptr;
    const bool wants_explanation = !record || record->gateway_error || record->status >= 500;
    renderDetails(record, {}, wants_explanation ? tr("Loading the explanation…") : QString());
    if (!wants_explanation || !client_) {
        emit requestShown(request_id);
        return;
    }
    client_->get(
        QStringLiteral("/traffic/") + request_id, this,
        [this, request_id](const AdminResult& result) {
            if (request_id != shown_request_) {
                return;
            }
            const int r = model_->rowOfRequest(request_id);
            const TrafficRecord* current = r >= 0 ? &model_->record(r) : nullptr;
            TrafficRecord from_node;
            const QJsonObject body = result.body.object();
            if (!current && body.value(QLatin1String("request")).isObject()) {
                from_node =
                    TrafficRecord::fromJson(body.value(QLatin1String("request")).toObject());
                current = &from_node;
            }
            if (!result.ok()) {
                renderDetails(
                    current, {},
                    result.http_status == 404
                        ? tr("This node no longer keeps request %1 (it keeps the last "
                             "10,000 requests and 2,000 explanations).")
                              .arg(request_id)
                        : tr("Could not read the explanation: %1").arg(result.error->toString()));
            } else {
                renderDetails(current, body.value(QLatin1String("explanation")).toObject(), {});
            }
            emit requestShown(request_id);
        });
}

void TrafficPage::renderDetails(const TrafficRecord* r, const QJsonObject& explanation,
                                const QString& note) {
    QString html;
    if (r) {
        html += QStringLiteral("<h3>%1 %2 → %3</h3>")
                    .arg(esc(r->method), esc(r->path),
                         r->status == 0 ? tr("no response") : QString::number(r->status));
        html += QStringLiteral("<table cellspacing='2'>");
        auto row = [&html](const QString& key, const QString& value) {
            if (!value.isEmpty()) {
                html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                            .arg(esc(key), esc(value));
            }
        };
        row(tr("Request id"), r->request_id);
        row(tr("Time"), when(r->time));
        row(tr("Host"), r->host);
        row(tr("Route"), r->route.isEmpty() ? tr("(none matched)") : r->route);
        row(tr("Service"), r->service);
        row(tr("Upstream address"), r->address);
        row(tr("Latency"), tr("%1 ms total, %2 ms upstream, %3 ms in the gateway")
                               .arg(r->latency_ms, 0, 'f', 2)
                               .arg(r->upstream_latency_ms, 0, 'f', 2)
                               .arg(r->proxy_latency_ms, 0, 'f', 2));
        row(tr("Bytes"), tr("%1 in, %2 out").arg(r->bytes_in).arg(r->bytes_out));
        row(tr("Made by"), r->gateway_error ? tr("the gateway itself") : tr("the upstream"));
        html += QStringLiteral("</table>");
    }
    if (!explanation.isEmpty()) {
        html += QStringLiteral("<h3>%1</h3>").arg(tr("Why"));
        html += QStringLiteral("<p><b>%1</b></p>")
                    .arg(esc(explanation.value(QLatin1String("summary")).toString()));
        html += QStringLiteral("<p>%1: <i>%2</i></p>")
                    .arg(tr("The client got"),
                         esc(explanation.value(QLatin1String("message")).toString()));
        const QJsonArray details = explanation.value(QLatin1String("details")).toArray();
        if (!details.isEmpty()) {
            html += QStringLiteral("<ul>");
            for (const QJsonValue& d : details) {
                html += QStringLiteral("<li>%1</li>").arg(esc(d.toString()));
            }
            html += QStringLiteral("</ul>");
        }
        const QString target = explanation.value(QLatin1String("target")).toString();
        if (!target.isEmpty()) {
            html += QStringLiteral("<p>%1 %2</p>").arg(tr("Target:"), esc(target));
        }
        const QJsonArray tries = explanation.value(QLatin1String("tries")).toArray();
        if (!tries.isEmpty()) {
            html += QStringLiteral(
                        "<p><b>%1</b></p><table border='1' cellspacing='0' "
                        "cellpadding='3'><tr><th>%2</th><th>%3</th><th>%4</th>"
                        "<th>%5</th></tr>")
                        .arg(tr("Tries"), tr("Address"), tr("Error"), tr("Detail"), tr("ms"));
            for (const QJsonValue& t : tries) {
                const QJsonObject o = t.toObject();
                html += QStringLiteral("<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td></tr>")
                            .arg(esc(o.value(QLatin1String("address")).toString()),
                                 esc(o.value(QLatin1String("error_class")).toString()),
                                 esc(o.value(QLatin1String("detail")).toString()))
                            .arg(o.value(QLatin1String("duration_ms")).toDouble(), 0, 'f', 1);
            }
            html += QStringLiteral("</table>");
        }
    } else if (r && note.isEmpty()) {
        const QString fallback = fallbackExplanation(*r);
        if (!fallback.isEmpty()) {
            html += QStringLiteral("<h3>%1</h3><p>%2</p>").arg(tr("Why"), fallback);
        }
    }
    if (!note.isEmpty()) {
        html += QStringLiteral("<p><i>%1</i></p>").arg(esc(note));
    }
    details_->setHtml(html);
}

}  // namespace portico::console
