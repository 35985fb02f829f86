#include "console/ui/entity_form.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QCompleter>
#include <QDoubleValidator>
#include <QFormLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace portico::console {

namespace {

// PEM certificates and keys: long text on several lines.
bool isMultilineText(const SchemaField& field) {
    return field.type == "string" &&
           (field.name == "cert" || field.name == "key" || field.name == "cert_alt" ||
            field.name == "key_alt" || field.name == "rsa_public_key" ||
            field.description.contains("PEM"));
}

bool isJsonEditor(const SchemaField& field) {
    return field.type == "record" || field.type == "map" || field.type == "any" ||
           field.type == "json" ||
           (field.isList() && (field.element_type == "record" || field.element_type == "map" ||
                               field.element_type == "array"));
}

QString flatten(const QJsonValue& value) {
    if (value.isString()) {
        return value.toString();
    }
    if (value.isArray()) {
        QStringList parts;
        for (const auto& item : value.toArray()) {
            parts << flatten(item);
        }
        return parts.join("; ");
    }
    if (value.isObject()) {
        QStringList parts;
        QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            parts << it.key() + ": " + flatten(it.value());
        }
        return parts.join("; ");
    }
    return value.toVariant().toString();
}

// Equal as JSON text: an integer 3 and a double 3.0 are the same value to the Admin API.
bool sameJson(const QJsonValue& a, const QJsonValue& b) {
    auto text = [](const QJsonValue& v) {
        return QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    };
    return text(a) == text(b);
}

QString describe(const SchemaField& field) {
    QStringList parts;
    if (!field.description.isEmpty()) {
        parts << field.description;
    }
    if (field.min && field.max) {
        parts << QObject::tr("Between %1 and %2.").arg(*field.min).arg(*field.max);
    }
    if (!field.element_one_of.isEmpty()) {
        parts << QObject::tr("One or more of: %1.").arg(field.element_one_of.join(", "));
    }
    if (field.hasDefault()) {
        parts << QObject::tr("Default: %1.")
                     .arg(field.default_value.isString()
                              ? field.default_value.toString()
                              : QString::fromUtf8(QJsonDocument(QJsonArray{field.default_value})
                                                      .toJson(QJsonDocument::Compact))
                                    .mid(1)
                                    .chopped(1));
    }
    return parts.join(' ');
}

}  // namespace

EntityForm::EntityForm(const QList<SchemaField>& fields, QWidget* parent)
    : QWidget(parent), fields_(fields) {
    setObjectName("EntityForm");
    auto* outer = new QVBoxLayout(this);
    general_error_ = new QLabel(this);
    general_error_->setObjectName("generalError");
    general_error_->setWordWrap(true);
    general_error_->setStyleSheet("color: #c62828; font-weight: bold;");
    general_error_->hide();
    outer->addWidget(general_error_);
    layout_ = new QFormLayout;
    layout_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    outer->addLayout(layout_);
    outer->addStretch(1);
    for (const auto& field : fields_) {
        if (!field.editable()) {
            continue;
        }
        auto* cell = new QWidget(this);
        auto* cell_layout = new QVBoxLayout(cell);
        cell_layout->setContentsMargins(0, 0, 0, 0);
        cell_layout->setSpacing(1);
        QWidget* editor = makeEditor(field);
        editor->setParent(cell);
        editor->setObjectName("field_" + field.name);
        editor->setToolTip(describe(field));
        cell_layout->addWidget(editor);
        auto* error = new QLabel(cell);
        error->setObjectName("error_" + field.name);
        error->setWordWrap(true);
        error->setStyleSheet("color: #c62828;");
        error->hide();
        cell_layout->addWidget(error);
        editors_.insert(field.name, editor);
        errors_.insert(field.name, error);
        QString label = field.name + (field.required && !field.hasDefault() ? " *" : "");
        auto* caption = new QLabel(label, this);
        caption->setToolTip(describe(field));
        if (field.required && !field.hasDefault()) {
            caption->setStyleSheet("font-weight: bold;");
        }
        layout_->addRow(caption, cell);
        setEditorValue(field, field.default_value);
    }
}

QWidget* EntityForm::makeEditor(const SchemaField& field) {
    if (field.type == "boolean") {
        auto* box = new QCheckBox;
        box->setTristate(!field.hasDefault());
        return box;
    }
    if (field.type == "foreign") {
        auto* box = new QComboBox;
        box->setEditable(true);
        box->addItem(QString(), QString());
        box->lineEdit()->setPlaceholderText(tr("name or id of a %1 entity").arg(field.reference));
        return box;
    }
    if (field.type == "string" && !field.one_of.isEmpty()) {
        auto* box = new QComboBox;
        if (!field.required || !field.hasDefault()) {
            box->addItem(QString());
        }
        box->addItems(field.one_of);
        return box;
    }
    if (isMultilineText(field)) {
        auto* edit = new QPlainTextEdit;
        edit->setTabChangesFocus(true);
        edit->setPlaceholderText(tr("-----BEGIN ...-----"));
        edit->setMaximumHeight(110);
        return edit;
    }
    if (isJsonEditor(field)) {
        auto* edit = new QPlainTextEdit;
        edit->setTabChangesFocus(true);
        edit->setPlaceholderText(tr("JSON"));
        edit->setMaximumHeight(110);
        return edit;
    }
    auto* edit = new QLineEdit;
    if (field.type == "integer") {
        edit->setValidator(new QRegularExpressionValidator(QRegularExpression("-?[0-9]*"), edit));
    } else if (field.type == "number") {
        auto* validator = new QDoubleValidator(edit);
        validator->setLocale(QLocale::c());
        edit->setValidator(validator);
    }
    if (field.isList()) {
        edit->setPlaceholderText(field.element_one_of.isEmpty() ? tr("comma-separated values")
                                                                : field.element_one_of.join(", "));
    } else if (field.min && field.max) {
        edit->setPlaceholderText(tr("%1 – %2").arg(*field.min).arg(*field.max));
    }
    return edit;
}

void EntityForm::setEditorValue(const SchemaField& field, const QJsonValue& value) {
    QWidget* editor = editors_.value(field.name);
    if (editor == nullptr) {
        return;
    }
    if (auto* box = qobject_cast<QCheckBox*>(editor)) {
        if (value.isBool()) {
            box->setCheckState(value.toBool() ? Qt::Checked : Qt::Unchecked);
        } else {
            box->setCheckState(box->isTristate() ? Qt::PartiallyChecked : Qt::Unchecked);
        }
    } else if (auto* combo = qobject_cast<QComboBox*>(editor)) {
        if (field.type == "foreign") {
            QString id = value.toObject().value("id").toString();
            int index = id.isEmpty() ? 0 : combo->findData(id);
            if (index >= 0) {
                combo->setCurrentIndex(index);
            } else {
                combo->setEditText(id);
            }
        } else {
            int index = combo->findText(value.isString() ? value.toString() : QString());
            combo->setCurrentIndex(std::max(index, 0));
        }
    } else if (auto* text = qobject_cast<QPlainTextEdit*>(editor)) {
        if (value.isUndefined() || value.isNull()) {
            text->clear();
        } else if (value.isObject()) {
            text->setPlainText(QString::fromUtf8(QJsonDocument(value.toObject()).toJson()));
        } else if (value.isArray()) {
            text->setPlainText(QString::fromUtf8(QJsonDocument(value.toArray()).toJson()));
        } else {
            text->setPlainText(value.toVariant().toString());
        }
    } else if (auto* line = qobject_cast<QLineEdit*>(editor)) {
        if (value.isArray()) {
            QStringList items;
            for (const auto& item : value.toArray()) {
                items << item.toVariant().toString();
            }
            line->setText(items.join(", "));
        } else if (value.isDouble()) {
            line->setText(QString::number(value.toDouble(), 'g', 15));
        } else if (value.isString()) {
            line->setText(value.toString());
        } else {
            line->clear();
        }
    }
}

QJsonValue EntityForm::editorValue(const SchemaField& field, bool* ok) const {
    *ok = true;
    QWidget* editor = editors_.value(field.name);
    if (fixed_.contains(field.name)) {
        return fixed_.value(field.name);
    }
    if (auto* box = qobject_cast<QCheckBox*>(editor)) {
        if (box->checkState() == Qt::PartiallyChecked) {
            return QJsonValue(QJsonValue::Null);
        }
        return box->isChecked();
    }
    if (auto* combo = qobject_cast<QComboBox*>(editor)) {
        QString text = combo->currentText().trimmed();
        if (text.isEmpty()) {
            return QJsonValue(QJsonValue::Null);
        }
        if (field.type == "foreign") {
            int index = combo->findText(text);
            QString id = index >= 0 ? combo->itemData(index).toString() : QString();
            if (!id.isEmpty()) {
                return QJsonObject{{"id", id}};
            }
            static const QRegularExpression uuid(
                "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
            return uuid.match(text).hasMatch() ? QJsonObject{{"id", text}}
                                               : QJsonObject{{"name", text}};
        }
        return text;
    }
    if (auto* edit = qobject_cast<QPlainTextEdit*>(editor)) {
        QString text = edit->toPlainText().trimmed();
        if (text.isEmpty()) {
            return QJsonValue(QJsonValue::Null);
        }
        if (isMultilineText(field)) {
            return edit->toPlainText();
        }
        QJsonParseError error;
        QJsonDocument document = QJsonDocument::fromJson(text.toUtf8(), &error);
        if (error.error != QJsonParseError::NoError) {
            *ok = false;
            return QJsonValue(QJsonValue::Null);
        }
        return document.isObject() ? QJsonValue(document.object()) : QJsonValue(document.array());
    }
    auto* line = qobject_cast<QLineEdit*>(editor);
    QString text = line == nullptr ? QString() : line->text().trimmed();
    if (text.isEmpty()) {
        return QJsonValue(QJsonValue::Null);
    }
    if (field.isList()) {
        QJsonArray items;
        for (const auto& part : text.split(',', Qt::SkipEmptyParts)) {
            QString item = part.trimmed();
            if (field.element_type == "integer" || field.element_type == "number") {
                items.append(item.toDouble());
            } else {
                items.append(item);
            }
        }
        return items;
    }
    if (field.type == "integer") {
        return static_cast<qint64>(text.toLongLong());
    }
    if (field.type == "number") {
        return text.toDouble();
    }
    return text;
}

void EntityForm::setEntity(const QJsonObject& entity) {
    original_ = entity;
    for (const auto& field : fields_) {
        if (field.editable()) {
            setEditorValue(field, entity.value(field.name));
        }
    }
}

void EntityForm::setReferenceChoices(const QString& field,
                                     const QList<QPair<QString, QString>>& choices) {
    auto* combo = qobject_cast<QComboBox*>(editors_.value(field));
    if (combo == nullptr) {
        return;
    }
    QString current = combo->currentText();
    QString current_id = combo->currentData().toString();
    combo->clear();
    combo->addItem(QString(), QString());
    for (const auto& [name, id] : choices) {
        combo->addItem(name, id);
    }
    // Keep what was shown: an id from setEntity() becomes its name.
    QString wanted = original_.value(field).toObject().value("id").toString();
    int index = combo->findData(wanted.isEmpty() ? current_id : wanted);
    if (index > 0) {
        combo->setCurrentIndex(index);
    } else if (combo->findText(current) > 0) {
        combo->setCurrentIndex(combo->findText(current));
    } else {
        combo->setEditText(wanted.isEmpty() ? current : wanted);
    }
}

void EntityForm::setCompletions(const QString& field, const QStringList& words) {
    auto* line = qobject_cast<QLineEdit*>(editors_.value(field));
    if (line == nullptr) {
        return;
    }
    auto* completer = new QCompleter(words, line);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    line->setCompleter(completer);
}

void EntityForm::setFixedValue(const QString& field, const QJsonValue& value) {
    fixed_.insert(field, value);
    if (QWidget* editor = editors_.value(field)) {
        editor->setEnabled(false);
    }
}

QJsonObject EntityForm::value(bool only_changed) const {
    QJsonObject out;
    for (const auto& field : fields_) {
        if (!field.editable()) {
            continue;
        }
        bool ok = true;
        QJsonValue value = editorValue(field, &ok);
        if (!ok) {
            continue;
        }
        if (only_changed) {
            QJsonValue before = original_.value(field.name);
            if (before.isUndefined()) {
                before = QJsonValue(QJsonValue::Null);
            }
            if (field.type == "foreign" && value.isObject() && before.isObject() &&
                value.toObject().value("id") == before.toObject().value("id")) {
                continue;
            }
            if (!sameJson(value, before)) {
                out.insert(field.name, value);
            }
            continue;
        }
        if (value.isNull() || (field.hasDefault() && sameJson(value, field.default_value))) {
            continue;  // the gateway fills in defaults
        }
        out.insert(field.name, value);
    }
    return out;
}

bool EntityForm::valid(QString* problem) const {
    for (const auto& field : fields_) {
        bool ok = true;
        if (field.editable()) {
            editorValue(field, &ok);
        }
        if (!ok) {
            if (problem != nullptr) {
                *problem = tr("%1: not valid JSON").arg(field.name);
            }
            return false;
        }
    }
    return true;
}

void EntityForm::clearErrors() {
    for (auto* label : std::as_const(errors_)) {
        label->clear();
        label->hide();
    }
    general_error_->clear();
    general_error_->hide();
}

void EntityForm::showErrors(const QString& message, const QJsonObject& fields) {
    clearErrors();
    QStringList general;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
        QLabel* label = errors_.value(it.key());
        if (label != nullptr) {
            label->setText(flatten(it.value()));
            label->show();
        } else {
            general << (it.key() == "@entity" ? flatten(it.value())
                                              : it.key() + ": " + flatten(it.value()));
        }
    }
    QString text = message;
    if (!general.isEmpty()) {
        text += (text.isEmpty() ? "" : "\n") + general.join("\n");
    }
    general_error_->setText(text);
    general_error_->setVisible(!text.isEmpty());
}

}  // namespace portico::console
