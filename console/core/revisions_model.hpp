#pragma once
// RevisionsModel: the configuration history (GET /config/revisions), newest first: revision,
// time, number of changes and a one-line summary ("create services orders-svc; update routes
// r1 …"). setRevisions() inserts new revisions at the top and removes those that left the
// history, updating the others in place, so a selection survives. Never touches the network.
// GUI thread.

#include <QAbstractTableModel>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>

namespace portico::console {

class RevisionsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Revision, Time, Count, Summary, ColumnCount };
    enum Role { RevisionRole = Qt::UserRole + 1 };  // the revision number (qint64)

    explicit RevisionsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // `data` of GET /config/revisions.
    void setRevisions(const QJsonArray& revisions);
    int rowOfRevision(qint64 revision) const;
    QJsonObject revision(int row) const;

    // "create services orders-svc; update routes r1 (and 3 more)".
    static QString summarize(const QJsonObject& revision, int max_changes = 3);

private:
    QList<QJsonObject> rows_;
};

}  // namespace portico::console
