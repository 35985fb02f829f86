#pragma once
// AdminClient: the console's one connection to a gateway's Admin API. It owns the
// QNetworkAccessManager, turns replies into AdminResult (body or ApiError), and runs a heartbeat
// (GET /status every 2 s) that drives State: Connecting -> Connected, Connected -> Lost after
// consecutive failures, Lost -> Connected again as soon as /status answers (it keeps polling).
// Lives on the GUI thread; every callback runs there.

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QLoggingCategory>
#include <QObject>
#include <QString>
#include <QUrl>

#include <functional>
#include <optional>

class QNetworkAccessManager;
class QNetworkReply;
class QTimer;

Q_DECLARE_LOGGING_CATEGORY(lcAdminClient)

namespace portico::console {

class EventStream;

// What went wrong, ready to show.
struct ApiError {
    int http_status = 0;  // 0: no HTTP answer (network error)
    QString message;      // Admin API "message", or the network error text
    QJsonObject fields;   // Admin API "fields" (field -> error text or nested object)
    // "HTTP 400: schema violation (name: required field missing)" or the network error.
    QString toString() const;
};

struct AdminResult {
    int http_status = 0;
    QJsonDocument body;
    std::optional<ApiError> error;  // set for network errors and non-2xx answers
    bool ok() const { return !error; }
};

class AdminClient : public QObject {
    Q_OBJECT
public:
    enum class State { Disconnected, Connecting, Connected, Lost };
    Q_ENUM(State)

    explicit AdminClient(QObject* parent = nullptr);
    ~AdminClient() override;

    // Points the client at a gateway (e.g. http://127.0.0.1:8001) and starts the heartbeat:
    // state becomes Connecting at once. An empty URL disconnects (state Disconnected).
    void setBaseUrl(const QUrl& url);
    QUrl baseUrl() const;
    State state() const;
    // The last /status body received (empty before the first).
    QJsonObject lastStatus() const { return last_status_; }
    // Why the last heartbeat failed, for the "connection lost" banner.
    QString lastError() const { return last_error_; }

    // One request. `path` is relative to the base URL and may carry a query ("/services?size=5").
    // `body` is sent as JSON when it is an object or array, as raw UTF-8 text when it is a
    // string, and not at all when undefined. `done` runs on the GUI thread unless `context`
    // (optional) was destroyed first.
    void request(const QByteArray& method, const QString& path, const QJsonValue& body,
                 QObject* context, std::function<void(const AdminResult&)> done);
    void get(const QString& path, QObject* context, std::function<void(const AdminResult&)> done);

    // Server-Sent Events (GET /traffic/stream?...): the stream emits eventReceived(name, data)
    // per event and reconnects by itself. Owned by `parent`.
    EventStream* openStream(const QString& path_and_query, QObject* parent);

    // The heartbeat interval (2 s by default; tests shorten it) and how many consecutive failed
    // heartbeats turn Connected into Lost (2 by default).
    void setHeartbeatInterval(int ms);
    void setFailuresBeforeLost(int failures);

    // Builds the full URL for `path` (exposed for EventStream and tests).
    QUrl urlFor(const QString& path) const;
    QNetworkAccessManager* network() const { return network_; }

    static QString stateName(State state);
    // Parses a finished reply into an AdminResult (exposed for EventStream and tests).
    static AdminResult resultFrom(QNetworkReply* reply);

signals:
    void stateChanged(portico::console::AdminClient::State state);
    void statusUpdated(const QJsonObject& status);  // periodic GET /status (heartbeat, 2 s)

private:
    void heartbeat();
    void setState(State state);

    QNetworkAccessManager* network_;
    QTimer* heartbeat_timer_;
    QUrl base_url_;
    State state_ = State::Disconnected;
    QJsonObject last_status_;
    QString last_error_;
    QNetworkReply* heartbeat_reply_ = nullptr;
    int failures_ = 0;
    int failures_before_lost_ = 2;
    quint64 generation_ = 0;  // bumped by setBaseUrl so late answers from an old URL are ignored
};

}  // namespace portico::console
