#pragma once
// EventStream: one Server-Sent Events subscription over AdminClient's network manager
// (text/event-stream). Parses "event:", "data:" and "id:" lines, emits one eventReceived per
// message, and reconnects after a drop (1 s later), resuming with Last-Event-ID. GUI thread.

#include <QByteArray>
#include <QNetworkReply>
#include <QObject>
#include <QPointer>
#include <QString>
class QTimer;

namespace portico::console {

class AdminClient;

class EventStream : public QObject {
    Q_OBJECT
public:
    EventStream(AdminClient* client, const QString& path_and_query, QObject* parent);
    ~EventStream() override;

    // Starts (or restarts) the subscription; the constructor does not start it.
    void start();
    // Stops and does not reconnect until start() is called again.
    void stop();
    bool isOpen() const { return reply_ != nullptr; }
    // The last "id:" seen, sent as Last-Event-ID on reconnect.
    QByteArray lastEventId() const { return last_id_; }
    void setReconnectDelay(int ms) { reconnect_ms_ = ms; }

signals:
    // One message: `name` is the "event:" field ("message" when absent), `data` the joined
    // "data:" lines.
    void eventReceived(const QString& name, const QByteArray& data);
    void opened();
    void closed(const QString& reason);

private:
    void readAvailable();
    void dispatchLine(const QByteArray& line);
    void finished();

    QPointer<AdminClient> client_;
    QString path_;
    // QPointer: the reply belongs to the client's network manager, which may go first.
    QPointer<QNetworkReply> reply_;
    QTimer* reconnect_timer_;
    QByteArray buffer_;
    QString event_name_;
    QByteArray data_;
    QByteArray last_id_;
    bool has_data_ = false;
    bool wanted_ = false;
    int reconnect_ms_ = 1000;
};

}  // namespace portico::console
