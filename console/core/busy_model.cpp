#include "console/core/busy_model.hpp"

namespace portico::console {

BusyModel::BusyModel(const QString& name_title, QObject* parent)
    : QAbstractTableModel(parent), name_title_(name_title) {}

int BusyModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int BusyModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant BusyModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const BusyRow& row = rows_.at(index.row());
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case Name:
                return row.name;
            case Requests:
                return QString::number(row.requests, 'f', 0);
            case Rate:
                return QString::number(row.rate, 'f', 1);
            case Errors:
                return QString::number(row.errors, 'f', 0);
            default:
                return {};
        }
    }
    if (role == Qt::TextAlignmentRole && index.column() != Name) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant BusyModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case Name:
            return name_title_;
        case Requests:
            return tr("Requests");
        case Rate:
            return tr("Req/s");
        case Errors:
            return tr("5xx");
        default:
            return {};
    }
}

void BusyModel::setRows(const QList<BusyRow>& rows) {
    bool same_ranking = rows.size() == rows_.size();
    for (qsizetype i = 0; same_ranking && i < rows.size(); ++i) {
        same_ranking = rows.at(i).name == rows_.at(i).name;
    }
    if (!same_ranking) {
        beginResetModel();
        rows_ = rows;
        endResetModel();
        return;
    }
    rows_ = rows;
    if (!rows_.isEmpty()) {
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    }
}

}  // namespace portico::console
