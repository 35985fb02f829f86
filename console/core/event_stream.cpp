#include "console/core/event_stream.hpp"

#include "console/core/admin_client.hpp"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

namespace portico::console {

EventStream::EventStream(AdminClient* client, const QString& path_and_query, QObject* parent)
    : QObject(parent), client_(client), path_(path_and_query), reconnect_timer_(new QTimer(this)) {
    reconnect_timer_->setSingleShot(true);
    connect(reconnect_timer_, &QTimer::timeout, this, &EventStream::start);
}

EventStream::~EventStream() {
    wanted_ = false;
    if (reply_ != nullptr) {
        reply_->disconnect(this);
        reply_->abort();
        reply_->deleteLater();
        reply_ = nullptr;
    }
}

void EventStream::start() {
    wanted_ = true;
    reconnect_timer_->stop();
    if (reply_ != nullptr || client_ == nullptr || client_->baseUrl().isEmpty()) {
        if (reply_ == nullptr) {
            reconnect_timer_->start(reconnect_ms_);  // no gateway yet: try again later
        }
        return;
    }
    QNetworkRequest request(client_->urlFor(path_));
    request.setRawHeader("Accept", "text/event-stream");
    request.setRawHeader("Cache-Control", "no-cache");
    if (!last_id_.isEmpty()) {
        request.setRawHeader("Last-Event-ID", last_id_);
    }
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute,
                         QNetworkRequest::AlwaysNetwork);
    buffer_.clear();
    event_name_.clear();
    data_.clear();
    has_data_ = false;
    reply_ = client_->network()->get(request);
    connect(reply_, &QNetworkReply::metaDataChanged, this, [this] {
        if (reply_ != nullptr &&
            reply_->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200) {
            emit opened();
        }
    });
    connect(reply_, &QNetworkReply::readyRead, this, &EventStream::readAvailable);
    connect(reply_, &QNetworkReply::finished, this, &EventStream::finished);
}

void EventStream::stop() {
    wanted_ = false;
    reconnect_timer_->stop();
    if (reply_ != nullptr) {
        QNetworkReply* reply = reply_;
        reply_ = nullptr;
        reply->disconnect(this);
        reply->abort();
        reply->deleteLater();
        emit closed(QStringLiteral("stopped"));
    }
}

void EventStream::readAvailable() {
    if (reply_ == nullptr) {
        return;
    }
    buffer_ += reply_->readAll();
    qsizetype start = 0;
    while (true) {
        qsizetype end = buffer_.indexOf('\n', start);
        if (end < 0) {
            break;
        }
        QByteArray line = buffer_.mid(start, end - start);
        if (line.endsWith('\r')) {
            line.chop(1);
        }
        dispatchLine(line);
        start = end + 1;
    }
    buffer_.remove(0, start);
    if (buffer_.size() > 4 * 1024 * 1024) {
        buffer_.clear();  // a line this long is not an event we can use
    }
}

void EventStream::dispatchLine(const QByteArray& line) {
    if (line.isEmpty()) {
        if (has_data_) {
            emit eventReceived(event_name_.isEmpty() ? QStringLiteral("message") : event_name_,
                               data_);
        }
        event_name_.clear();
        data_.clear();
        has_data_ = false;
        return;
    }
    if (line.startsWith(':')) {
        return;  // comment (keep-alive)
    }
    qsizetype colon = line.indexOf(':');
    QByteArray field = colon < 0 ? line : line.left(colon);
    QByteArray value = colon < 0 ? QByteArray() : line.mid(colon + 1);
    if (value.startsWith(' ')) {
        value.remove(0, 1);
    }
    if (field == "event") {
        event_name_ = QString::fromUtf8(value);
    } else if (field == "data") {
        if (has_data_) {
            data_ += '\n';
        }
        data_ += value;
        has_data_ = true;
    } else if (field == "id") {
        last_id_ = value;
    }
}

void EventStream::finished() {
    QNetworkReply* reply = reply_;
    reply_ = nullptr;
    if (reply == nullptr) {
        return;
    }
    QString reason = reply->error() == QNetworkReply::NoError ? QStringLiteral("closed by gateway")
                                                              : reply->errorString();
    reply->deleteLater();
    emit closed(reason);
    if (wanted_) {
        reconnect_timer_->start(reconnect_ms_);
    }
}

}  // namespace portico::console
