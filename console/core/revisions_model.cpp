#include "console/core/revisions_model.hpp"

#include <QDateTime>
#include <QSet>

namespace portico::console {

RevisionsModel::RevisionsModel(QObject* parent) : QAbstractTableModel(parent) {}

int RevisionsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int RevisionsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString RevisionsModel::summarize(const QJsonObject& revision, int max_changes) {
    const QJsonArray changes = revision.value("changes").toArray();
    QStringList parts;
    for (const auto& item : changes) {
        if (parts.size() == max_changes) {
            break;
        }
        QJsonObject change = item.toObject();
        QString label = change.value("name").toString(change.value("id").toString());
        parts << QStringLiteral("%1 %2 %3")
                     .arg(change.value("operation").toString(), change.value("entity").toString(),
                          label);
    }
    qint64 total = revision.value("changes_total").toInteger(changes.size());
    QString text = parts.join(QStringLiteral("; "));
    if (total > parts.size()) {
        text += tr(" (and %n more)", nullptr, static_cast<int>(total - parts.size()));
    }
    return text;
}

QVariant RevisionsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const QJsonObject& revision = rows_.at(index.row());
    if (role == RevisionRole) {
        return revision.value("revision").toInteger();
    }
    if (role == Qt::TextAlignmentRole && index.column() != Summary) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole) {
        return {};
    }
    switch (index.column()) {
        case Revision:
            return QString::number(revision.value("revision").toInteger());
        case Time: {
            double at = revision.value("created_at").toDouble();
            return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(at * 1000))
                .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        }
        case Count:
            return QString::number(revision.value("changes_total")
                                       .toInteger(revision.value("changes").toArray().size()));
        case Summary:
            return summarize(revision, role == Qt::ToolTipRole ? 100 : 3);
        default:
            return {};
    }
}

QVariant RevisionsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case Revision:
            return tr("Revision");
        case Time:
            return tr("Time");
        case Count:
            return tr("Changes");
        case Summary:
            return tr("What changed");
        default:
            return {};
    }
}

void RevisionsModel::setRevisions(const QJsonArray& revisions) {
    // Both lists are newest first. Rows that left are removed and new ones inserted where they
    // belong (new revisions at the top), so the selected revision stays selected.
    QList<QJsonObject> next;
    QSet<qint64> wanted;
    for (const auto& item : revisions) {
        next << item.toObject();
        wanted.insert(next.last().value("revision").toInteger());
    }
    for (qsizetype i = rows_.size() - 1; i >= 0; --i) {
        if (!wanted.contains(rows_.at(i).value("revision").toInteger())) {
            beginRemoveRows({}, static_cast<int>(i), static_cast<int>(i));
            rows_.removeAt(i);
            endRemoveRows();
        }
    }
    for (int i = 0; i < next.size(); ++i) {
        qint64 number = next.at(i).value("revision").toInteger();
        if (i < rows_.size() && rows_.at(i).value("revision").toInteger() == number) {
            if (rows_.at(i) != next.at(i)) {
                rows_[i] = next.at(i);
                emit dataChanged(index(i, 0), index(i, ColumnCount - 1));
            }
            continue;
        }
        beginInsertRows({}, i, i);
        rows_.insert(i, next.at(i));
        endInsertRows();
    }
}

int RevisionsModel::rowOfRevision(qint64 revision) const {
    for (int i = 0; i < rows_.size(); ++i) {
        if (rows_.at(i).value("revision").toInteger() == revision) {
            return i;
        }
    }
    return -1;
}

QJsonObject RevisionsModel::revision(int row) const {
    return row >= 0 && row < rows_.size() ? rows_.at(row) : QJsonObject{};
}

}  // namespace portico::console
