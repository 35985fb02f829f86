#include "console/core/entity_table_model.hpp"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QSslCertificate>

namespace portico::console {

namespace {

// "CN=api.example.com, expires 2027-01-31" for a PEM certificate.
QString describeCertificate(const QString& pem) {
    const auto certificates = QSslCertificate::fromData(pem.toUtf8(), QSsl::Pem);
    if (certificates.isEmpty()) {
        return pem.left(40) + QStringLiteral("…");
    }
    const QSslCertificate& certificate = certificates.first();
    QStringList names = certificate.subjectInfo(QSslCertificate::CommonName);
    QString name = names.isEmpty() ? certificate.subjectDisplayName() : names.join(", ");
    QString expiry = certificate.expiryDate().toString(QStringLiteral("yyyy-MM-dd"));
    bool expired = certificate.expiryDate() < QDateTime::currentDateTimeUtc();
    return EntityTableModel::tr("CN=%1, %2 %3")
        .arg(name, expired ? EntityTableModel::tr("expired") : EntityTableModel::tr("expires"),
             expiry);
}

}  // namespace

EntityTableModel::EntityTableModel(const QList<Column>& columns, QObject* parent)
    : QAbstractTableModel(parent), columns_(columns) {}

int EntityTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int EntityTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(columns_.size());
}

QJsonValue EntityTableModel::valueAt(const QJsonObject& entity, const QString& key) {
    QJsonValue value = entity;
    for (const auto& part : key.split('.')) {
        if (!value.isObject()) {
            return QJsonValue(QJsonValue::Undefined);
        }
        value = value.toObject().value(part);
    }
    return value;
}

QString EntityTableModel::displayText(const QJsonValue& value, const QString& key) const {
    switch (value.type()) {
        case QJsonValue::Null:
        case QJsonValue::Undefined:
            return {};
        case QJsonValue::Bool:
            return value.toBool() ? tr("yes") : tr("no");
        case QJsonValue::Double:
            if (key == "created_at" || key == "updated_at") {
                return QDateTime::fromSecsSinceEpoch(value.toInteger())
                    .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
            }
            return QString::number(value.toDouble(), 'g', 15);
        case QJsonValue::String:
            if (key == "cert") {
                return describeCertificate(value.toString());
            }
            if (key == "key") {
                return tr("(private key)");
            }
            return value.toString();
        case QJsonValue::Array: {
            QStringList parts;
            for (const auto& item : value.toArray()) {
                parts << displayText(item, {});
            }
            return parts.join(QStringLiteral(", "));
        }
        case QJsonValue::Object: {
            QJsonObject object = value.toObject();
            if (object.size() == 1 && object.contains("id")) {
                QString id = object.value("id").toString();
                return reference_names_.value(id, id);
            }
            return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
        }
    }
    return {};
}

QVariant EntityTableModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const QJsonObject& entity = rows_.at(index.row());
    const Column& column = columns_.at(index.column());
    switch (role) {
        case Qt::DisplayRole:
        case Qt::ToolTipRole:
            return displayText(valueAt(entity, column.key), column.key);
        case SortRole: {
            QJsonValue value = valueAt(entity, column.key);
            if (value.isDouble()) {
                return value.toDouble();
            }
            return displayText(value, column.key).toLower();
        }
        case EntityRole:
            return entity;
        case IdRole:
            return entity.value("id").toString();
        default:
            return {};
    }
}

QVariant EntityTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Horizontal && role == Qt::DisplayRole && section >= 0 &&
        section < columns_.size()) {
        return columns_.at(section).title;
    }
    return QAbstractTableModel::headerData(section, orientation, role);
}

void EntityTableModel::setEntities(const QList<QJsonObject>& entities) {
    // Keep rows whose id survives (in place), remove the others, append the new ones: a
    // refresh never resets the model, so the view's selection and scroll stay put.
    QSet<QString> next_ids;
    for (const auto& entity : entities) {
        next_ids.insert(entity.value("id").toString());
    }
    for (qsizetype i = rows_.size() - 1; i >= 0; --i) {
        if (!next_ids.contains(rows_.at(i).value("id").toString())) {
            beginRemoveRows({}, static_cast<int>(i), static_cast<int>(i));
            rows_.removeAt(i);
            endRemoveRows();
        }
    }
    QHash<QString, int> position;
    for (int i = 0; i < rows_.size(); ++i) {
        position.insert(rows_.at(i).value("id").toString(), i);
    }
    QList<QJsonObject> added;
    for (const auto& entity : entities) {
        auto it = position.find(entity.value("id").toString());
        if (it == position.end()) {
            added << entity;
            continue;
        }
        if (rows_[*it] != entity) {
            rows_[*it] = entity;
            emit dataChanged(index(*it, 0), index(*it, columnCount() - 1));
        }
    }
    if (!added.isEmpty()) {
        int first = static_cast<int>(rows_.size());
        beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
        rows_.append(added);
        endInsertRows();
    }
}

QJsonObject EntityTableModel::entity(int row) const {
    return row >= 0 && row < rows_.size() ? rows_.at(row) : QJsonObject{};
}

int EntityTableModel::rowOfId(const QString& id) const {
    for (int i = 0; i < rows_.size(); ++i) {
        if (rows_.at(i).value("id").toString() == id) {
            return i;
        }
    }
    return -1;
}

void EntityTableModel::setReferenceNames(const QHash<QString, QString>& names) {
    if (names == reference_names_) {
        return;
    }
    reference_names_ = names;
    if (!rows_.isEmpty()) {
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    }
}

}  // namespace portico::console
