#pragma once
// SchemaField: one field of an entity as GET /schemas/{entity} describes it (Kong's shape:
// "fields" is a list of single-key objects {"name": {"type": ..., "required": ..., ...}}).
// The console generates its create/edit forms from these. Plain data, no Qt Widgets.

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace portico::console {

struct SchemaField {
    QString name;
    QString type;  // string, integer, number, boolean, array, set, map, record, foreign, any...
    bool required = false;
    bool auto_generated = false;  // id, created_at, updated_at
    bool unique = false;
    QJsonValue default_value = QJsonValue(QJsonValue::Undefined);  // Undefined: no default
    QStringList one_of;                                            // enumeration (as text)
    QString reference;           // foreign: the referenced entity ("services")
    QString element_type;        // array/set: the element's type
    QStringList element_one_of;  // array/set: enumeration of the elements
    std::optional<double> min;   // "between" for numbers
    std::optional<double> max;
    QString description;
    QList<SchemaField> fields;  // record: nested fields

    bool hasDefault() const { return !default_value.isUndefined() && !default_value.isNull(); }
    bool isList() const { return type == "array" || type == "set"; }
    // Fields a form edits: everything but auto-generated ones.
    bool editable() const { return !auto_generated; }
};

// Parses a GET /schemas/{entity} body; unknown keys are ignored, a malformed body gives an
// empty list.
QList<SchemaField> parseSchemaFields(const QJsonObject& schema);

}  // namespace portico::console
