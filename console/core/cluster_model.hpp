#pragma once
// The cluster as a node of a PostgreSQL-backed gateway reports it:
// - `ClusterNodesModel`: one row per node of `GET /clustering/nodes` (hostname, version, applied
//   revision against the database's, lag, last seen, stale), updated in place;
// - `HealthMatrixModel`: targets × nodes from `GET /clustering/health`: one row per upstream
//   target address, one column per node, each cell that node's view of the address's health
//   (nodes decide on their own, so they can disagree; the matrix shows where).
// Both are only meaningful when `/status` says `database.strategy` is "postgres"
// (`isClustered`). GUI thread only; no network.

#include <QAbstractTableModel>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace portico::console {

// Whether a /status body says the node shares a PostgreSQL database with others.
bool isClustered(const QJsonObject& status);

struct ClusterNode {
    QString id;
    QString hostname;
    QString version;
    QStringList proxy_listen;
    QStringList admin_listen;
    double started_at = 0;
    double last_seen = 0;
    qint64 applied_revision = 0;
    QString config_hash;
    double lag = 0;
    bool stale = false;

    static ClusterNode fromJson(const QJsonObject& object);
};

class ClusterNodesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        HostnameColumn,
        IdColumn,
        VersionColumn,
        RevisionColumn,
        LagColumn,
        LastSeenColumn,
        StateColumn,
        ProxyListenColumn,
        AdminListenColumn,
        ColumnCount
    };
    enum Role {
        NodeIdRole = Qt::UserRole + 1,
        StaleRole,   // bool
        BehindRole,  // bool: applied revision below the database's
    };

    explicit ClusterNodesModel(QObject* parent = nullptr);

    // Reads the answer of GET /clustering/nodes.
    void setJson(const QJsonObject& body);
    void setNodes(const QList<ClusterNode>& nodes, qint64 revision);
    void clear();
    qint64 revision() const { return revision_; }
    const ClusterNode& node(int row) const { return rows_.at(row); }
    int staleCount() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QList<ClusterNode> rows_;
    qint64 revision_ = 0;
};

class HealthMatrixModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role {
        HealthRole = Qt::UserRole + 1,  // healthy | unhealthy | dns_error | disabled |
                                        // checks_off | unknown (the node did not report it)
        CauseRole,
        DisagreementRole,  // bool, on any cell of a row whose nodes disagree
    };

    struct Cell {
        QString health;  // as the node reported it, upper case (HEALTHY, UNHEALTHY, ...)
        QString cause;
    };
    struct Row {
        QString key;  // upstream / target / address
        QString upstream;
        QString target;
        QString address;
        QList<Cell> cells;  // one per column (node); empty health: not reported
    };
    struct Column {
        QString node_id;
        QString hostname;
    };

    explicit HealthMatrixModel(QObject* parent = nullptr);

    // Reads the answer of GET /clustering/health. Rows are updated in place; a change in the
    // set of nodes resets the model.
    void setJson(const QJsonObject& body);
    void clear();
    const Row& row(int row) const { return rows_.at(row); }
    const Column& node(int column) const { return columns_.at(column); }
    // Normalised health word of a reported state ("HEALTHY" -> "healthy").
    static QString healthWord(const QString& reported);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    bool disagrees(const Row& row) const;

    QList<Column> columns_;
    QList<Row> rows_;
};

}  // namespace portico::console
