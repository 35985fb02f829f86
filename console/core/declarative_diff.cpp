#include "console/core/declarative_diff.hpp"

#include "common/declarative.hpp"
#include "common/schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

#include <string>

namespace portico::console {

namespace {

namespace json = boost::json;

QJsonObject toQt(const json::object& object) {
    std::string text = json::serialize(object);
    return QJsonDocument::fromJson(QByteArray::fromStdString(text)).object();
}

json::object toBoost(const QJsonObject& object) {
    std::string text = QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString();
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) {
        return {};
    }
    return value.as_object();
}

QString refId(const QJsonValue& value) {
    return value.isObject() ? value.toObject().value("id").toString() : QString();
}

// Natural keys of every entity of every table, id -> key, in dependency order so references
// resolve to their parents' keys.
QHash<QString, QString> naturalKeys(const EntityLists& lists) {
    QHash<QString, QString> keys;
    for (const auto* s : schema::allSchemas()) {
        QString table = QString::fromStdString(s->name);
        for (const auto& entity : lists.value(table)) {
            QString id = entity.value("id").toString();
            QString own;
            if (!s->endpoint_key.empty()) {
                QJsonValue value = entity.value(QString::fromStdString(s->endpoint_key));
                if (value.isString() && !value.toString().isEmpty()) {
                    own = value.toString();
                }
            }
            if (table == "plugins") {
                own = entity.value("name").toString();
            }
            QStringList scope;
            bool scoped = own.isEmpty() || table == "plugins" || table == "targets" ||
                          table == "snis" || table.endsWith("_credentials") ||
                          table == "jwt_secrets" || table == "acls";
            if (scoped) {
                for (const auto* field : s->foreignFields()) {
                    QString ref = refId(entity.value(QString::fromStdString(field->name)));
                    if (!ref.isEmpty()) {
                        scope << QString::fromStdString(field->name) + "=" + keys.value(ref, ref);
                    }
                }
            }
            if (own.isEmpty()) {
                own = id;
            }
            keys.insert(id, scope.isEmpty() ? own : own + " @ " + scope.join(", "));
        }
    }
    return keys;
}

// A value as compared: references replaced by the referenced entity's key.
QJsonValue comparable(const schema::Field& field, const QJsonValue& value,
                      const QHash<QString, QString>& keys) {
    if (field.type == schema::FieldType::Foreign) {
        QString ref = refId(value);
        return ref.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(keys.value(ref, ref));
    }
    if (value.isUndefined()) {
        return QJsonValue(QJsonValue::Null);
    }
    if (field.type == schema::FieldType::Set && value.isArray()) {
        QStringList items;
        for (const auto& item : value.toArray()) {
            items << QString::fromUtf8(
                QJsonDocument(QJsonArray{item}).toJson(QJsonDocument::Compact));
        }
        items.sort();
        return QJsonArray::fromStringList(items);  // sets compare regardless of order
    }
    if (field.name == "ca_certificates" && value.isArray()) {
        QJsonArray mapped;
        for (const auto& item : value.toArray()) {
            mapped.append(keys.value(item.toString(), item.toString()));
        }
        return mapped;
    }
    return value;
}

}  // namespace

ParsedDeclarative parseDeclarative(const QByteArray& text) {
    ParsedDeclarative out;
    declarative::ParseOptions options;
    auto parsed = declarative::parse(std::string_view(text.constData(), text.size()), options);
    out.format_version = QString::fromStdString(parsed.format_version);
    for (const auto& warning : parsed.warnings) {
        out.warnings << QString::fromStdString(warning);
    }
    for (const auto& error : parsed.errors) {
        QString line = QString::fromStdString(error.path);
        line += (line.isEmpty() ? "" : ": ") + QString::fromStdString(error.message);
        if (error.line > 0) {
            line += QStringLiteral(" (line %1)").arg(error.line);
        }
        out.errors << line;
    }
    out.ok = parsed.ok();
    if (!out.ok) {
        return out;
    }
    for (const auto& [table, entities] : parsed.entities) {
        QList<QJsonObject>& list = out.entities[QString::fromStdString(table)];
        for (const auto& entity : entities) {
            list << toQt(entity);
        }
    }
    return out;
}

QByteArray exportDeclarative(const EntityLists& entities, bool json_format) {
    declarative::EntitySet set;
    for (auto it = entities.begin(); it != entities.end(); ++it) {
        auto& list = set[it.key().toStdString()];
        for (const auto& entity : it.value()) {
            list.push_back(toBoost(entity));
        }
    }
    return QByteArray::fromStdString(declarative::exportConfig(
        set, json_format ? declarative::ExportFormat::Json : declarative::ExportFormat::Yaml));
}

QStringList declarativeTables() {
    QStringList out;
    for (const auto* s : schema::allSchemas()) {
        out << QString::fromStdString(s->name);
    }
    return out;
}

QString adminPathOf(const QString& table) {
    const auto* s = schema::findSchema(table.toStdString());
    return s == nullptr ? table : QString::fromStdString(s->admin_path);
}

QMap<QString, QString> foreignFieldsOf(const QString& table) {
    QMap<QString, QString> out;
    if (const auto* s = schema::findSchema(table.toStdString())) {
        for (const auto* field : s->foreignFields()) {
            out.insert(QString::fromStdString(field->name),
                       QString::fromStdString(field->reference));
        }
    }
    return out;
}

QString diffKindName(DiffEntry::Kind kind) {
    switch (kind) {
        case DiffEntry::Kind::Added:
            return QStringLiteral("added");
        case DiffEntry::Kind::Changed:
            return QStringLiteral("changed");
        case DiffEntry::Kind::Removed:
            return QStringLiteral("only in gateway");
        case DiffEntry::Kind::Unchanged:
            return QStringLiteral("unchanged");
    }
    return {};
}

int ConfigDiff::count(DiffEntry::Kind kind) const {
    int n = 0;
    for (const auto& entry : entries) {
        n += entry.kind == kind ? 1 : 0;
    }
    return n;
}

ConfigDiff diffConfigurations(const EntityLists& file, const EntityLists& running) {
    ConfigDiff diff;
    QHash<QString, QString> file_keys = naturalKeys(file);
    QHash<QString, QString> running_keys = naturalKeys(running);
    for (const auto* s : schema::allSchemas()) {
        QString table = QString::fromStdString(s->name);
        QMap<QString, QJsonObject> running_by_key;
        for (const auto& entity : running.value(table)) {
            running_by_key.insert(running_keys.value(entity.value("id").toString()), entity);
        }
        QMap<QString, QJsonObject> file_by_key;
        for (const auto& entity : file.value(table)) {
            file_by_key.insert(file_keys.value(entity.value("id").toString()), entity);
        }
        QSet<QString> all_keys;
        for (const auto& key : file_by_key.keys()) {
            all_keys.insert(key);
        }
        for (const auto& key : running_by_key.keys()) {
            all_keys.insert(key);
        }
        QStringList sorted(all_keys.begin(), all_keys.end());
        sorted.sort();
        for (const auto& key : sorted) {
            DiffEntry entry;
            entry.table = table;
            entry.key = key;
            bool in_file = file_by_key.contains(key);
            bool in_running = running_by_key.contains(key);
            entry.file_entity = file_by_key.value(key);
            entry.running_entity = running_by_key.value(key);
            if (in_file && !in_running) {
                entry.kind = DiffEntry::Kind::Added;
            } else if (!in_file) {
                entry.kind = DiffEntry::Kind::Removed;
            } else {
                diff.matched_ids.insert(entry.file_entity.value("id").toString(),
                                        entry.running_entity.value("id").toString());
                for (const auto& field : s->fields) {
                    if (field.auto_generated || field.transient) {
                        continue;
                    }
                    QString name = QString::fromStdString(field.name);
                    QJsonValue a = comparable(field, entry.file_entity.value(name), file_keys);
                    QJsonValue b =
                        comparable(field, entry.running_entity.value(name), running_keys);
                    if (QJsonDocument(QJsonArray{a}).toJson(QJsonDocument::Compact) !=
                        QJsonDocument(QJsonArray{b}).toJson(QJsonDocument::Compact)) {
                        entry.changed_fields << name;
                    }
                }
                entry.kind = entry.changed_fields.isEmpty() ? DiffEntry::Kind::Unchanged
                                                            : DiffEntry::Kind::Changed;
            }
            diff.entries << entry;
        }
    }
    return diff;
}

}  // namespace portico::console
