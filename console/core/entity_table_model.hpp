#pragma once
// EntityTableModel: one Admin API collection (services, routes, consumers, plugins,
// certificates...) as a table. Columns are chosen by the page ({title, key}); a key is a field
// name or a dotted path ("service.id"). References ({"id": ...}) are shown by the referenced
// entity's name when setReferenceNames() knows it. setEntities() updates rows in place by id
// (dataChanged for kept rows, inserts and removals for the others), so selection and scroll
// survive a refresh. Never touches the network. GUI thread.

#include <QAbstractTableModel>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace portico::console {

class EntityTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    struct Column {
        QString title;
        QString key;
    };
    enum Role {
        EntityRole = Qt::UserRole + 1,  // the whole entity as QJsonObject
        IdRole,                         // its id
        SortRole,                       // numbers as numbers, text lower-cased
    };

    explicit EntityTableModel(const QList<Column>& columns, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setEntities(const QList<QJsonObject>& entities);
    QJsonObject entity(int row) const;
    int rowOfId(const QString& id) const;
    // id -> display name of referenced entities (services, routes, consumers, ...).
    void setReferenceNames(const QHash<QString, QString>& names);

    // How one JSON value is shown in a cell (arrays joined, references by name, timestamps as
    // dates, null as empty).
    QString displayText(const QJsonValue& value, const QString& key) const;
    static QJsonValue valueAt(const QJsonObject& entity, const QString& key);

private:
    QList<Column> columns_;
    QList<QJsonObject> rows_;
    QHash<QString, QString> reference_names_;
};

}  // namespace portico::console
