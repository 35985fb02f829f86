#pragma once
// TrafficPage: live traffic of the connected node. On connecting it loads the most recent
// requests (GET /traffic?size=200), then follows GET /traffic/stream (server-sent events through
// AdminClient::openStream, resuming after the last sequence). A table (method, host, path,
// route, service, address, status, latency) newest first, with pause/resume (arrivals are
// buffered while paused) and filters: status class, gateway-made errors only, route, service
// and free text. Selecting or double-clicking a row shows its details beside the table, and for
// an error the gateway made, its explanation from GET /traffic/{request_id}. GUI thread.

#include <QList>
#include <QString>
#include <QUrl>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class QTextBrowser;
class QTimer;

#include "console/core/traffic_model.hpp"

namespace portico::console {

class AdminClient;
class EventStream;
class TrafficFilterProxy;

class TrafficPage : public QWidget {
    Q_OBJECT
public:
    explicit TrafficPage(AdminClient* client, QWidget* parent = nullptr);

    // Loads recent traffic and (re)opens the stream for the client's current gateway.
    void reconnect();
    // Shows the details, and the gateway's explanation when there is one, of a request.
    void showRequest(const QString& request_id);
    void setPaused(bool paused);

    TrafficModel* model() const { return model_; }
    TrafficFilterProxy* proxy() const { return proxy_; }
    QTableView* table() const { return table_; }
    QTextBrowser* details() const { return details_; }
    QPushButton* pauseButton() const { return pause_; }
    QComboBox* statusFilter() const { return status_; }
    QComboBox* routeFilter() const { return route_; }
    QComboBox* serviceFilter() const { return service_; }
    QLineEdit* textFilter() const { return text_; }
    QCheckBox* errorsOnly() const { return errors_only_; }
    EventStream* stream() const { return stream_; }
    // The request whose details are shown.
    QString shownRequest() const { return shown_request_; }

signals:
    // The details panel now shows `request_id` (with its explanation if it has one).
    void requestShown(const QString& request_id);
    void streamOpened();

private:
    void updateNameFilters();
    void updateStatusLine();
    void onEvent(const QString& name, const QByteArray& data);
    void flushPending();
    void renderDetails(const TrafficRecord* record, const QJsonObject& explanation,
                       const QString& error);

    AdminClient* client_;
    TrafficModel* model_;
    TrafficFilterProxy* proxy_;
    QTableView* table_;
    QTextBrowser* details_;
    QPushButton* pause_;
    QComboBox* status_;
    QComboBox* route_;
    QComboBox* service_;
    QLineEdit* text_;
    QCheckBox* errors_only_;
    QLabel* status_line_;
    EventStream* stream_ = nullptr;
    // Events are added to the model in batches (every 100 ms), not one insert per event, so a
    // busy gateway does not flood the view with row insertions.
    QList<TrafficRecord> pending_;
    QTimer* flush_timer_;
    QUrl loaded_url_;
    QString shown_request_;
    quint64 generation_ = 0;
};

}  // namespace portico::console
