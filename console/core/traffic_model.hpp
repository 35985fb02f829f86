#pragma once
// The live traffic table: the requests one node proxied, newest first, as `GET /traffic` and the
// `GET /traffic/stream` feed report them (docs/admin-api.md). Bounded: past `capacity` rows the
// oldest are dropped. Paused, it keeps what arrives in a buffer (bounded the same way, oldest
// dropped first) and shows it on resume, so a reader's rows stay put while they look.
//
// `TrafficFilterProxy` narrows it by status class, route, service, gateway-made errors and free
// text, as the Admin API's own filters do. GUI thread only; no network.

#include <QAbstractTableModel>
#include <QJsonObject>
#include <QList>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QString>

namespace portico::console {

struct TrafficRecord {
    qint64 sequence = 0;
    double time = 0;  // Unix seconds
    QString request_id;
    QString method;
    QString host;
    QString path;
    QString route;
    QString service;
    QString address;
    int status = 0;
    bool gateway_error = false;
    double latency_ms = 0;
    double upstream_latency_ms = 0;
    double proxy_latency_ms = 0;
    qint64 bytes_in = 0;
    qint64 bytes_out = 0;

    static TrafficRecord fromJson(const QJsonObject& object);
    int statusClass() const { return status / 100; }  // 0 when no response was sent
};

class TrafficModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        TimeColumn,
        MethodColumn,
        HostColumn,
        PathColumn,
        RouteColumn,
        ServiceColumn,
        AddressColumn,
        StatusColumn,
        LatencyColumn,
        ColumnCount
    };
    enum Role {
        RequestIdRole = Qt::UserRole + 1,
        SequenceRole,
        StatusRole,        // int
        StatusClassRole,   // int 1..5, 0 when no response was sent
        GatewayErrorRole,  // bool: the gateway made this status itself
        RouteRole,
        ServiceRole,
        SearchTextRole,  // method, host, path, request id and address, for free-text filters
    };

    explicit TrafficModel(int capacity = 2000, QObject* parent = nullptr);

    // Adds records from the feed in any order; ones already seen (same request id) are ignored.
    // Shown at once unless paused.
    void addRecords(const QList<TrafficRecord>& records);
    void addRecord(const TrafficRecord& record) { addRecords({record}); }

    void setPaused(bool paused);
    bool paused() const { return paused_; }
    int bufferedCount() const { return static_cast<int>(buffer_.size()); }
    // Records dropped from the pause buffer because it was full, since the last resume.
    int droppedCount() const { return dropped_; }
    void clear();

    int capacity() const { return capacity_; }
    qint64 lastSequence() const { return last_sequence_; }
    const TrafficRecord& record(int row) const { return rows_.at(row); }
    int rowOfRequest(const QString& request_id) const;
    QStringList knownRoutes() const;
    QStringList knownServices() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

signals:
    void pausedChanged(bool paused);
    void bufferedCountChanged(int count);
    void knownNamesChanged();

private:
    void show(QList<TrafficRecord> records);
    void forget(const TrafficRecord& record);

    int capacity_;
    bool paused_ = false;
    int dropped_ = 0;
    qint64 last_sequence_ = 0;
    QList<TrafficRecord> rows_;    // newest first
    QList<TrafficRecord> buffer_;  // arrived while paused, oldest first
    QSet<QString> ids_;            // request ids in rows_ and buffer_
    QSet<QString> routes_;
    QSet<QString> services_;
};

class TrafficFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit TrafficFilterProxy(QObject* parent = nullptr);

    // 0: every class; 1..5: that class only.
    void setStatusClass(int status_class);
    void setRoute(const QString& route);      // exact, empty: any
    void setService(const QString& service);  // exact, empty: any
    void setText(const QString& text);        // case-insensitive substring, empty: any
    void setGatewayErrorsOnly(bool only);

    int statusClass() const { return status_class_; }
    QString route() const { return route_; }
    QString service() const { return service_; }
    QString text() const { return text_; }
    bool gatewayErrorsOnly() const { return errors_only_; }

protected:
    bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

private:
    void refilter();

    int status_class_ = 0;
    QString route_;
    QString service_;
    QString text_;
    bool errors_only_ = false;
};

}  // namespace portico::console
