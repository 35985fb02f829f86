#include "console/core/schema_fields.hpp"

#include <QJsonArray>

namespace portico::console {

namespace {

QStringList textList(const QJsonArray& array) {
    QStringList out;
    for (const auto& item : array) {
        out << (item.isString() ? item.toString() : QString::number(item.toDouble(), 'g', 15));
    }
    return out;
}

SchemaField parseField(const QString& name, const QJsonObject& spec) {
    SchemaField field;
    field.name = name;
    field.type = spec.value("type").toString();
    field.required = spec.value("required").toBool();
    field.auto_generated = spec.value("auto").toBool();
    field.unique = spec.value("unique").toBool();
    if (spec.contains("default")) {
        field.default_value = spec.value("default");
    }
    field.one_of = textList(spec.value("one_of").toArray());
    field.reference = spec.value("reference").toString();
    field.description = spec.value("description").toString();
    QJsonArray between = spec.value("between").toArray();
    if (between.size() == 2) {
        field.min = between.at(0).toDouble();
        field.max = between.at(1).toDouble();
    }
    QJsonObject elements = spec.value("elements").toObject();
    if (!elements.isEmpty()) {
        field.element_type = elements.value("type").toString();
        field.element_one_of = textList(elements.value("one_of").toArray());
    }
    for (const auto& entry : spec.value("fields").toArray()) {
        QJsonObject wrapper = entry.toObject();
        for (auto it = wrapper.begin(); it != wrapper.end(); ++it) {
            field.fields << parseField(it.key(), it.value().toObject());
        }
    }
    return field;
}

}  // namespace

QList<SchemaField> parseSchemaFields(const QJsonObject& schema) {
    QList<SchemaField> out;
    for (const auto& entry : schema.value("fields").toArray()) {
        QJsonObject wrapper = entry.toObject();
        for (auto it = wrapper.begin(); it != wrapper.end(); ++it) {
            out << parseField(it.key(), it.value().toObject());
        }
    }
    return out;
}

}  // namespace portico::console
