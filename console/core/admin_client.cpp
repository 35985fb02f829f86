#include "console/core/admin_client.hpp"

#include "console/core/event_stream.hpp"

#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTimer>

Q_LOGGING_CATEGORY(lcAdminClient, "portico.console.admin")

namespace portico::console {

namespace {

constexpr int kRequestTimeoutMs = 15000;
constexpr int kHeartbeatTimeoutMs = 1800;

QString describeFields(const QJsonObject& fields, const QString& prefix = {}) {
    QStringList parts;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
        QString name = prefix.isEmpty() ? it.key() : prefix + "." + it.key();
        if (it->isObject()) {
            parts << describeFields(it->toObject(), name);
        } else if (it->isArray()) {
            QStringList items;
            for (const auto& item : it->toArray()) {
                items << (item.isString() ? item.toString()
                                          : QString::fromUtf8(QJsonDocument(QJsonArray{item})
                                                                  .toJson(QJsonDocument::Compact)));
            }
            parts << name + ": " + items.join("; ");
        } else {
            parts << name + ": " + it->toVariant().toString();
        }
    }
    return parts.join(", ");
}

}  // namespace

QString ApiError::toString() const {
    QString text;
    if (http_status == 0) {
        text = message.isEmpty() ? QStringLiteral("no answer from the gateway") : message;
    } else {
        text = QStringLiteral("HTTP %1").arg(http_status);
        if (!message.isEmpty()) {
            text += ": " + message;
        }
    }
    // Kong's schema-violation message already names the fields; add them only when it does not.
    if (!fields.isEmpty() && !message.contains(fields.begin().key() + ":")) {
        text += " (" + describeFields(fields) + ")";
    }
    return text;
}

AdminClient::AdminClient(QObject* parent)
    : QObject(parent),
      network_(new QNetworkAccessManager(this)),
      heartbeat_timer_(new QTimer(this)) {
    heartbeat_timer_->setInterval(2000);
    connect(heartbeat_timer_, &QTimer::timeout, this, &AdminClient::heartbeat);
}

AdminClient::~AdminClient() = default;

void AdminClient::setBaseUrl(const QUrl& url) {
    ++generation_;
    if (heartbeat_reply_ != nullptr) {
        heartbeat_reply_->abort();
        heartbeat_reply_ = nullptr;
    }
    base_url_ = url;
    failures_ = 0;
    last_status_ = {};
    last_error_.clear();
    if (url.isEmpty()) {
        heartbeat_timer_->stop();
        setState(State::Disconnected);
        return;
    }
    qCInfo(lcAdminClient) << "connecting to" << url.toString();
    setState(State::Connecting);
    heartbeat_timer_->start();
    heartbeat();
}

QUrl AdminClient::baseUrl() const {
    return base_url_;
}

AdminClient::State AdminClient::state() const {
    return state_;
}

void AdminClient::setHeartbeatInterval(int ms) {
    heartbeat_timer_->setInterval(ms);
}

void AdminClient::setFailuresBeforeLost(int failures) {
    failures_before_lost_ = std::max(1, failures);
}

QString AdminClient::stateName(State state) {
    switch (state) {
        case State::Disconnected:
            return QStringLiteral("Disconnected");
        case State::Connecting:
            return QStringLiteral("Connecting");
        case State::Connected:
            return QStringLiteral("Connected");
        case State::Lost:
            return QStringLiteral("Connection lost");
    }
    return {};
}

QUrl AdminClient::urlFor(const QString& path) const {
    QString base = base_url_.toString(QUrl::StripTrailingSlash);
    QString tail = path.startsWith('/') ? path : "/" + path;
    return QUrl(base + tail);
}

AdminResult AdminClient::resultFrom(QNetworkReply* reply) {
    AdminResult result;
    result.http_status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    QByteArray bytes = reply->readAll();
    if (!bytes.isEmpty()) {
        QJsonParseError parse_error;
        result.body = QJsonDocument::fromJson(bytes, &parse_error);
        if (parse_error.error != QJsonParseError::NoError) {
            // Not JSON (e.g. /metrics): keep the text as a one-field object.
            result.body = QJsonDocument(QJsonObject{{"text", QString::fromUtf8(bytes)}});
        }
    }
    if (result.http_status == 0) {
        ApiError error;
        error.message = reply->errorString();
        result.error = error;
    } else if (result.http_status < 200 || result.http_status >= 300) {
        ApiError error;
        error.http_status = result.http_status;
        QJsonObject object = result.body.object();
        error.message = object.value("message").toString();
        if (error.message.isEmpty()) {
            error.message = reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString();
        }
        error.fields = object.value("fields").toObject();
        result.error = error;
    }
    return result;
}

void AdminClient::request(const QByteArray& method, const QString& path, const QJsonValue& body,
                          QObject* context, std::function<void(const AdminResult&)> done) {
    if (base_url_.isEmpty()) {
        AdminResult result;
        result.error = ApiError{0, QStringLiteral("not connected to a gateway"), {}};
        QPointer<QObject> guard(context);
        bool has_context = context != nullptr;
        // Still asynchronous, so callers see one behaviour.
        QTimer::singleShot(0, this, [guard, has_context, done = std::move(done), result] {
            if (!has_context || guard) {
                done(result);
            }
        });
        return;
    }
    QNetworkRequest request(urlFor(path));
    request.setTransferTimeout(kRequestTimeoutMs);
    request.setRawHeader("Accept", "application/json");
    QByteArray payload;
    if (body.isObject() || body.isArray()) {
        payload = body.isObject() ? QJsonDocument(body.toObject()).toJson(QJsonDocument::Compact)
                                  : QJsonDocument(body.toArray()).toJson(QJsonDocument::Compact);
        request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
    } else if (body.isString()) {
        payload = body.toString().toUtf8();
        request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
    }
    QNetworkReply* reply = payload.isEmpty() && method == "GET"
                               ? network_->get(request)
                               : network_->sendCustomRequest(request, method, payload);
    QPointer<QObject> guard(context);
    bool has_context = context != nullptr;
    connect(reply, &QNetworkReply::finished, this,
            [reply, guard, has_context, done = std::move(done), method, path] {
                reply->deleteLater();
                AdminResult result = resultFrom(reply);
                if (result.error) {
                    qCDebug(lcAdminClient)
                        << method << path << "failed:" << result.error->toString();
                }
                if (has_context && !guard) {
                    return;
                }
                if (done) {
                    done(result);
                }
            });
}

void AdminClient::get(const QString& path, QObject* context,
                      std::function<void(const AdminResult&)> done) {
    request("GET", path, QJsonValue(QJsonValue::Undefined), context, std::move(done));
}

EventStream* AdminClient::openStream(const QString& path_and_query, QObject* parent) {
    auto* stream = new EventStream(this, path_and_query, parent);
    stream->start();
    return stream;
}

void AdminClient::heartbeat() {
    if (base_url_.isEmpty() || heartbeat_reply_ != nullptr) {
        return;  // one heartbeat in flight at a time
    }
    QNetworkRequest request(urlFor("/status"));
    request.setTransferTimeout(kHeartbeatTimeoutMs);
    request.setRawHeader("Accept", "application/json");
    heartbeat_reply_ = network_->get(request);
    QNetworkReply* reply = heartbeat_reply_;
    quint64 generation = generation_;
    connect(reply, &QNetworkReply::finished, this, [this, reply, generation] {
        reply->deleteLater();
        if (generation != generation_) {
            return;  // an answer for a URL we left
        }
        heartbeat_reply_ = nullptr;
        AdminResult result = resultFrom(reply);
        if (result.ok() && result.body.isObject()) {
            failures_ = 0;
            last_error_.clear();
            last_status_ = result.body.object();
            setState(State::Connected);
            emit statusUpdated(last_status_);
            return;
        }
        ++failures_;
        last_error_ = result.error ? result.error->toString()
                                   : QStringLiteral("GET /status did not answer with JSON");
        qCDebug(lcAdminClient) << "heartbeat failed" << failures_ << last_error_;
        if (failures_ >= failures_before_lost_) {
            if (state_ != State::Lost) {
                qCWarning(lcAdminClient) << "gateway lost:" << last_error_;
            }
            setState(State::Lost);
        }
    });
}

void AdminClient::setState(State state) {
    if (state == state_) {
        return;
    }
    state_ = state;
    emit stateChanged(state);
}

}  // namespace portico::console
