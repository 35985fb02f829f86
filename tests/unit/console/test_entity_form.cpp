// Schema-generated forms: GET /schemas parsing, one editor per field type, the body for create
// (defaults left out) and for edit (changed fields only, cleared ones null), and the Admin API's
// field errors shown beside their fields.

#include "console/core/schema_fields.hpp"
#include "console/ui/entity_form.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QtTest>

using namespace portico::console;

namespace {

QJsonObject field(const QString& name, const QJsonObject& spec) {
    return QJsonObject{{name, spec}};
}

// The shape of GET /schemas/routes, trimmed.
QJsonObject schema() {
    QJsonArray fields;
    fields << field("id", {{"type", "string"}, {"uuid", true}, {"auto", true}});
    fields << field("name", {{"type", "string"}, {"unique", true}});
    fields << field(
        "protocols",
        {{"type", "set"},
         {"required", true},
         {"default", QJsonArray{"http", "https"}},
         {"elements", QJsonObject{{"type", "string"}, {"one_of", QJsonArray{"http", "https"}}}}});
    fields << field("https_redirect_status_code", {{"type", "integer"},
                                                   {"default", 426},
                                                   {"one_of", QJsonArray{426, 301}},
                                                   {"between", QJsonArray{100, 599}}});
    fields << field("regex_priority", {{"type", "integer"}, {"default", 0}});
    fields << field("strip_path", {{"type", "boolean"}, {"required", true}, {"default", true}});
    fields << field("tls_verify", {{"type", "boolean"}});
    fields << field("path_handling",
                    {{"type", "string"}, {"default", "v0"}, {"one_of", QJsonArray{"v0", "v1"}}});
    fields << field("service", {{"type", "foreign"}, {"reference", "services"}});
    fields << field("headers", {{"type", "map"}});
    fields << field("config", {{"type", "record"},
                               {"fields", QJsonArray{field("minute", {{"type", "number"}})}}});
    return QJsonObject{{"fields", fields}};
}

}  // namespace

class EntityFormTest : public QObject {
    Q_OBJECT

private slots:
    void parsesSchemas() {
        auto fields = parseSchemaFields(schema());
        QCOMPARE(fields.size(), 11);
        QCOMPARE(fields[0].name, QString("id"));
        QVERIFY(fields[0].auto_generated);
        QVERIFY(!fields[0].editable());
        QVERIFY(fields[1].unique);
        QVERIFY(fields[2].isList());
        QCOMPARE(fields[2].element_one_of, (QStringList{"http", "https"}));
        QCOMPARE(fields[3].one_of, (QStringList{"426", "301"}));
        QCOMPARE(*fields[3].min, 100.0);
        QCOMPARE(*fields[3].max, 599.0);
        QVERIFY(fields[5].hasDefault());
        QVERIFY(!fields[6].hasDefault());
        QCOMPARE(fields[8].reference, QString("services"));
        QCOMPARE(fields[10].fields.size(), 1);
        QVERIFY(parseSchemaFields(QJsonObject{}).isEmpty());
    }

    void editorsPerType() {
        EntityForm form(parseSchemaFields(schema()));
        QVERIFY(form.editor("id") == nullptr);
        QVERIFY(qobject_cast<QLineEdit*>(form.editor("name")));
        QVERIFY(qobject_cast<QLineEdit*>(form.editor("protocols")));
        QVERIFY(qobject_cast<QCheckBox*>(form.editor("strip_path")));
        QVERIFY(qobject_cast<QCheckBox*>(form.editor("tls_verify"))->isTristate());
        QVERIFY(qobject_cast<QComboBox*>(form.editor("path_handling")));
        QVERIFY(qobject_cast<QComboBox*>(form.editor("service")));
        QVERIFY(qobject_cast<QPlainTextEdit*>(form.editor("headers")));
        QVERIFY(qobject_cast<QPlainTextEdit*>(form.editor("config")));
        // Defaults are shown.
        QCOMPARE(qobject_cast<QLineEdit*>(form.editor("protocols"))->text(),
                 QString("http, https"));
        QVERIFY(qobject_cast<QCheckBox*>(form.editor("strip_path"))->isChecked());
        QCOMPARE(qobject_cast<QComboBox*>(form.editor("path_handling"))->currentText(),
                 QString("v0"));
    }

    void createBodyLeavesDefaultsOut() {
        EntityForm form(parseSchemaFields(schema()));
        QCOMPARE(form.value(), QJsonObject{});
        qobject_cast<QLineEdit*>(form.editor("name"))->setText("orders");
        qobject_cast<QLineEdit*>(form.editor("protocols"))->setText("https");
        qobject_cast<QLineEdit*>(form.editor("regex_priority"))->setText("7");
        qobject_cast<QCheckBox*>(form.editor("strip_path"))->setChecked(false);
        qobject_cast<QPlainTextEdit*>(form.editor("headers"))->setPlainText("{\"x\": [\"1\"]}");
        form.setReferenceChoices("service",
                                 {{"orders-svc", "11111111-1111-4111-8111-111111111111"}});
        auto* service = qobject_cast<QComboBox*>(form.editor("service"));
        service->setCurrentIndex(service->findText("orders-svc"));
        QJsonObject body = form.value();
        QCOMPARE(body.value("name").toString(), QString("orders"));
        QCOMPARE(body.value("protocols").toArray(), QJsonArray{"https"});
        QCOMPARE(body.value("regex_priority").toInteger(), 7);
        QCOMPARE(body.value("strip_path").toBool(true), false);
        QCOMPARE(body.value("headers").toObject().value("x").toArray().first().toString(),
                 QString("1"));
        QCOMPARE(body.value("service").toObject().value("id").toString(),
                 QString("11111111-1111-4111-8111-111111111111"));
        QVERIFY(!body.contains("path_handling"));
        QVERIFY(!body.contains("tls_verify"));
        QVERIFY(form.valid());
        // A typed name becomes a reference by name.
        service->setEditText("billing");
        QCOMPARE(form.value().value("service").toObject().value("name").toString(),
                 QString("billing"));
        qobject_cast<QPlainTextEdit*>(form.editor("config"))->setPlainText("{not json");
        QString problem;
        QVERIFY(!form.valid(&problem));
        QVERIFY(problem.contains("config"));
    }

    void editBodyHasOnlyChanges() {
        EntityForm form(parseSchemaFields(schema()));
        QJsonObject entity{{"id", "r1"},
                           {"name", "orders"},
                           {"protocols", QJsonArray{"http"}},
                           {"strip_path", true},
                           {"regex_priority", 3},
                           {"path_handling", "v1"},
                           {"service", QJsonObject{{"id", "s1"}}}};
        form.setEntity(entity);
        form.setReferenceChoices("service", {{"orders-svc", "s1"}});
        QCOMPARE(qobject_cast<QComboBox*>(form.editor("service"))->currentText(),
                 QString("orders-svc"));
        QCOMPARE(form.value(true), QJsonObject{});
        qobject_cast<QLineEdit*>(form.editor("regex_priority"))->setText("9");
        qobject_cast<QLineEdit*>(form.editor("name"))->clear();
        QJsonObject patch = form.value(true);
        QCOMPARE(patch.size(), 2);
        QCOMPARE(patch.value("regex_priority").toInteger(), 9);
        QVERIFY(patch.value("name").isNull());
    }

    void fieldErrorsBesideFields() {
        EntityForm form(parseSchemaFields(schema()));
        QJsonObject fields{
            {"name", "must not be empty"},
            {"config", QJsonObject{{"minute", "expected a number"}}},
            {"@entity", QJsonArray{"at least one of these fields must be non-empty: 'paths'"}},
            {"unknown_field", "unknown field"}};
        form.showErrors("3 schema violations", fields);
        QVERIFY(!form.errorLabel("name")->isHidden());
        QCOMPARE(form.errorLabel("name")->text(), QString("must not be empty"));
        QCOMPARE(form.errorLabel("config")->text(), QString("minute: expected a number"));
        QVERIFY(form.errorLabel("protocols")->isHidden());
        QVERIFY(form.generalError()->text().contains("3 schema violations"));
        QVERIFY(form.generalError()->text().contains("paths"));
        QVERIFY(form.generalError()->text().contains("unknown_field: unknown field"));
        form.clearErrors();
        QVERIFY(form.errorLabel("name")->isHidden());
        QVERIFY(form.generalError()->isHidden());
    }

    void pemFieldsAreMultiline() {
        QJsonArray fields;
        fields << field("cert", {{"type", "string"}, {"required", true}});
        EntityForm form(parseSchemaFields(QJsonObject{{"fields", fields}}));
        auto* cert = qobject_cast<QPlainTextEdit*>(form.editor("cert"));
        QVERIFY(cert != nullptr);
        cert->setPlainText("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        QCOMPARE(form.value().value("cert").toString(),
                 QString("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
        QVERIFY(form.valid());
    }

    void fixedValues() {
        EntityForm form(parseSchemaFields(schema()));
        form.setFixedValue("service", QJsonObject{{"id", "s9"}});
        QVERIFY(!form.editor("service")->isEnabled());
        QCOMPARE(form.value().value("service").toObject().value("id").toString(), QString("s9"));
    }
};

QTEST_MAIN(EntityFormTest)
#include "test_entity_form.moc"
