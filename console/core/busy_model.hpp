#pragma once
// BusyModel: the busiest routes or services (name, requests, requests/s, 5xx) for the overview.
// setRows() keeps rows whose name stays at the same position (dataChanged) and rebuilds only
// when the ranking changed. GUI thread.

#include "console/core/metrics_history.hpp"

#include <QAbstractTableModel>

namespace portico::console {

class BusyModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Requests, Rate, Errors, ColumnCount };
    explicit BusyModel(const QString& name_title, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setRows(const QList<BusyRow>& rows);

private:
    QString name_title_;
    QList<BusyRow> rows_;
};

}  // namespace portico::console
