#pragma once
// EntityForm: a form generated from an entity's schema (GET /schemas/{entity}): one editor per
// editable field chosen by type (text, number, checkbox, enumeration, list, reference, JSON for
// records and maps), defaults filled in, required fields marked, and under each field a label
// for the Admin API's error about it. value() gives the JSON body to send. GUI thread.

#include "console/core/schema_fields.hpp"

#include <QHash>
#include <QJsonObject>
#include <QWidget>

class QLabel;
class QFormLayout;

namespace portico::console {

class EntityForm : public QWidget {
    Q_OBJECT
public:
    explicit EntityForm(const QList<SchemaField>& fields, QWidget* parent = nullptr);

    // Fills the editors from an existing entity (edit) — without it, defaults are shown.
    void setEntity(const QJsonObject& entity);
    // Choices for a reference field: display name -> id (e.g. services for a route).
    void setReferenceChoices(const QString& field, const QList<QPair<QString, QString>>& choices);
    // Suggestions for a text field as the user types (e.g. plugin names).
    void setCompletions(const QString& field, const QStringList& words);
    // Fields that are fixed by the context (e.g. a route's service when created under it).
    void setFixedValue(const QString& field, const QJsonValue& value);

    // The body: fields the user set (create), or with `only_changed`, the fields that differ
    // from setEntity()'s entity (PATCH), cleared fields as null. Records and maps whose JSON
    // does not parse are reported by valid().
    QJsonObject value(bool only_changed = false) const;
    bool valid(QString* problem = nullptr) const;

    // Shows the Admin API's "fields" beside the fields (nested objects flattened); errors for
    // fields the form does not show go to the general label. Clears earlier errors.
    void showErrors(const QString& message, const QJsonObject& fields);
    void clearErrors();

    QWidget* editor(const QString& field) const { return editors_.value(field); }
    QLabel* errorLabel(const QString& field) const { return errors_.value(field); }
    QLabel* generalError() const { return general_error_; }
    QList<SchemaField> fields() const { return fields_; }

private:
    QWidget* makeEditor(const SchemaField& field);
    QJsonValue editorValue(const SchemaField& field, bool* ok) const;
    void setEditorValue(const SchemaField& field, const QJsonValue& value);

    QList<SchemaField> fields_;
    QHash<QString, QWidget*> editors_;
    QHash<QString, QLabel*> errors_;
    QHash<QString, QJsonValue> fixed_;
    QJsonObject original_;
    QLabel* general_error_;
    QFormLayout* layout_;
};

}  // namespace portico::console
