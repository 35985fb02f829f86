#pragma once
// EntitiesPage: one Admin API collection (services, routes, consumers, plugins, certificates)
// as a sortable, filterable table (EntityTableModel behind a QSortFilterProxyModel) with the
// selected entity's JSON beside it, and New / Edit / Delete through forms generated from
// GET /schemas/{entity}. Refreshes when shown, when the configuration revision changes and on
// View > Refresh; rows update in place. GUI thread.

#include "console/core/entity_table_model.hpp"
#include "console/core/schema_fields.hpp"

#include <QPointer>
#include <QWidget>

class QLineEdit;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QShowEvent;

namespace portico::console {

class AdminClient;
class EntityFormDialog;

struct EntityPageSpec {
    QString title;       // "Services"
    QString singular;    // "service"
    QString collection;  // Admin API path: "services"
    QString schema;      // GET /schemas/{schema}: "services"
    QList<EntityTableModel::Column> columns;
    QStringList reference_collections;  // collections whose names label references
};

class EntitiesPage : public QWidget {
    Q_OBJECT
public:
    EntitiesPage(AdminClient* client, const EntityPageSpec& spec, QWidget* parent = nullptr);

    void refresh();
    // Opens the create form (after loading the schema if needed); returns at once.
    void createEntity();
    void editSelected();
    void deleteSelected();
    // DB-less gateways: New, Edit and Delete are disabled (set from /status).
    void setReadOnly(bool read_only);
    bool readOnly() const { return read_only_; }

    EntityTableModel* model() const { return model_; }
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* view() const { return view_; }
    QLineEdit* filterEdit() const { return filter_; }
    QPlainTextEdit* jsonView() const { return json_; }
    QPushButton* newButton() const { return new_button_; }
    // The form dialog currently open, if any (tests drive it).
    EntityFormDialog* openDialog() const;
    const EntityPageSpec& spec() const { return spec_; }

signals:
    void refreshed(int count);
    void message(const QString& text);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void withSchema(std::function<void()> then);
    void openForm(const QJsonObject& entity);
    void showSelection();
    void loadPage(const QString& path);
    void loadReferenceNames();
    QJsonObject selectedEntity() const;

    AdminClient* client_;
    EntityPageSpec spec_;
    EntityTableModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    QLineEdit* filter_;
    QLabel* count_;
    QLabel* error_;
    QPlainTextEdit* json_;
    QPushButton* new_button_;
    QPushButton* edit_button_;
    QPushButton* delete_button_;
    QList<SchemaField> schema_;
    QPointer<EntityFormDialog> dialog_;
    qint64 seen_revision_ = -1;
    bool loading_ = false;
    bool read_only_ = false;
    QList<QJsonObject> pending_;
};

}  // namespace portico::console
