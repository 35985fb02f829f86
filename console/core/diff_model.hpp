#pragma once
// DiffModel: a ConfigDiff as a table (change, entity, key, changed fields) for the declarative
// page (the page colours rows by KindRole). Replaced as a whole by setDiff() (a diff is computed
// once per file and refresh). GUI thread.

#include "console/core/declarative_diff.hpp"

#include <QAbstractTableModel>

namespace portico::console {

class DiffModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Change, Table, Key, Fields, ColumnCount };
    enum Role { KindRole = Qt::UserRole + 1 };  // int(DiffEntry::Kind)

    explicit DiffModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setDiff(const ConfigDiff& diff);
    const ConfigDiff& diff() const { return diff_; }
    DiffEntry entry(int row) const;

private:
    ConfigDiff diff_;
};

}  // namespace portico::console
