#include "console/ui/entity_form_dialog.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/declarative_diff.hpp"
#include "console/ui/entity_form.hpp"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QTabWidget>
#include <QVBoxLayout>

namespace portico::console {

EntityFormDialog::EntityFormDialog(AdminClient* client, const QString& collection,
                                   const QString& title, const QList<SchemaField>& fields,
                                   const QJsonObject& entity, QWidget* parent)
    : QDialog(parent), client_(client), collection_(collection), entity_(entity) {
    setObjectName("EntityFormDialog");
    setWindowTitle(entity.isEmpty() ? tr("New %1").arg(title) : tr("Edit %1").arg(title));
    setWindowModality(Qt::WindowModal);
    resize(620, 640);
    auto* layout = new QVBoxLayout(this);
    tabs_ = new QTabWidget(this);
    auto* scroll = new QScrollArea(tabs_);
    scroll->setWidgetResizable(true);
    form_ = new EntityForm(fields, scroll);
    if (!entity.isEmpty()) {
        form_->setEntity(entity);
    }
    scroll->setWidget(form_);
    tabs_->addTab(scroll, tr("Form"));
    json_ = new QPlainTextEdit(tabs_);
    json_->setReadOnly(true);
    json_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    tabs_->addTab(json_, tr("JSON to send"));
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int index) {
        if (index == 1) {
            json_->setPlainText(QString::fromUtf8(
                QJsonDocument(form_->value(!creating())).toJson(QJsonDocument::Indented)));
        }
    });
    layout->addWidget(tabs_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    save_ = buttons->button(QDialogButtonBox::Save);
    save_->setObjectName("saveButton");
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &EntityFormDialog::save);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    loadReferenceChoices();
}

void EntityFormDialog::loadReferenceChoices() {
    if (collection_ == "plugins") {
        // The plugins this gateway knows, offered as the name is typed.
        client_->get("/", this, [this](const AdminResult& result) {
            QJsonObject available = result.body.object()
                                        .value("plugins")
                                        .toObject()
                                        .value("available_on_server")
                                        .toObject();
            if (!available.isEmpty()) {
                form_->setCompletions("name", available.keys());
            }
        });
    }
    for (const auto& field : form_->fields()) {
        if (field.type != "foreign" || field.reference.isEmpty()) {
            continue;
        }
        QString path = "/" + adminPathOf(field.reference) + "?size=1000";
        QString name = field.name;
        client_->get(path, this, [this, name](const AdminResult& result) {
            if (!result.ok()) {
                return;
            }
            QList<QPair<QString, QString>> choices;
            for (const auto& item : result.body.object().value("data").toArray()) {
                QJsonObject object = item.toObject();
                QString label = object.value("name").toString();
                if (label.isEmpty()) {
                    label = object.value("username").toString();
                }
                if (label.isEmpty()) {
                    label = object.value("id").toString();
                }
                choices << qMakePair(label, object.value("id").toString());
            }
            form_->setReferenceChoices(name, choices);
        });
    }
}

void EntityFormDialog::save() {
    QString problem;
    if (!form_->valid(&problem)) {
        form_->showErrors(problem, {});
        return;
    }
    QJsonObject body = form_->value(!creating());
    if (!creating() && body.isEmpty()) {
        accept();  // nothing changed
        return;
    }
    QByteArray method = creating() ? "POST" : "PATCH";
    QString path =
        creating() ? "/" + collection_ : "/" + collection_ + "/" + entity_.value("id").toString();
    save_->setEnabled(false);
    form_->clearErrors();
    client_->request(method, path, body, this, [this, method, path](const AdminResult& result) {
        save_->setEnabled(true);
        if (!result.ok()) {
            QString message =
                result.error->http_status == 0
                    ? tr("%1 %2 failed: %3. Check the connection and try again.")
                          .arg(QString::fromLatin1(method), path, result.error->message)
                    : result.error->message;
            form_->showErrors(message, result.error->fields);
            tabs_->setCurrentIndex(0);
            return;
        }
        emit saved(result.body.object());
        accept();
    });
}

}  // namespace portico::console
