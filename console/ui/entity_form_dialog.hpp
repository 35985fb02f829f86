#pragma once
// EntityFormDialog: create or edit one entity through a form generated from its schema. Save
// sends POST /{collection} (create) or PATCH /{collection}/{id} (edit, changed fields only);
// the Admin API's errors are shown beside their fields and the dialog stays open. Window-modal,
// opened with open() (no nested event loop); saved() then accept() on success. GUI thread.

#include "console/core/schema_fields.hpp"

#include <QDialog>
#include <QJsonObject>

class QDialogButtonBox;
class QPushButton;
class QPlainTextEdit;
class QTabWidget;

namespace portico::console {

class AdminClient;
class EntityForm;

class EntityFormDialog : public QDialog {
    Q_OBJECT
public:
    // `collection` is the Admin API path ("services"); `entity` empty for a new one.
    EntityFormDialog(AdminClient* client, const QString& collection, const QString& title,
                     const QList<SchemaField>& fields, const QJsonObject& entity,
                     QWidget* parent = nullptr);

    EntityForm* form() const { return form_; }
    QPushButton* saveButton() const { return save_; }
    bool creating() const { return entity_.isEmpty(); }

signals:
    void saved(const QJsonObject& entity);

private:
    void save();
    void loadReferenceChoices();

    AdminClient* client_;
    QString collection_;
    QJsonObject entity_;
    EntityForm* form_;
    QPushButton* save_;
    QTabWidget* tabs_;
    QPlainTextEdit* json_;
};

}  // namespace portico::console
