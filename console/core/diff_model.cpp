#include "console/core/diff_model.hpp"

namespace portico::console {

DiffModel::DiffModel(QObject* parent) : QAbstractTableModel(parent) {}

int DiffModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(diff_.entries.size());
}

int DiffModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DiffModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const DiffEntry& entry = diff_.entries.at(index.row());
    if (role == KindRole) {
        return static_cast<int>(entry.kind);
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) {
        return {};
    }
    switch (index.column()) {
        case Change:
            return diffKindName(entry.kind);
        case Table:
            return entry.table;
        case Key:
            return entry.key;
        case Fields:
            return entry.changed_fields.join(QStringLiteral(", "));
        default:
            return {};
    }
}

QVariant DiffModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case Change:
            return tr("Change");
        case Table:
            return tr("Entity");
        case Key:
            return tr("Key");
        case Fields:
            return tr("Changed fields");
        default:
            return {};
    }
}

void DiffModel::setDiff(const ConfigDiff& diff) {
    beginResetModel();
    diff_ = diff;
    endResetModel();
}

DiffEntry DiffModel::entry(int row) const {
    return row >= 0 && row < diff_.entries.size() ? diff_.entries.at(row) : DiffEntry{};
}

}  // namespace portico::console
