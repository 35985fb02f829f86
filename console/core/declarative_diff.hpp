#pragma once
// Kong-format declarative files in the console: parsing (with common/'s declarative codec, the
// gateway's own parser), the difference between a file and the running configuration, and
// export of running entities back to a file. Entities are compared by their natural key (name,
// username, upstream/target, plugin name and scope...), not by id, so a file loaded into a
// gateway that gave its entities other ids still matches; references compare by the key of the
// entity they point at. Pure functions, no network, any thread.

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

namespace portico::console {

// Table name ("services", "routes", "keyauth_credentials", ...) -> entities as stored.
using EntityLists = QMap<QString, QList<QJsonObject>>;

struct ParsedDeclarative {
    bool ok = false;
    EntityLists entities;
    QStringList errors;    // "services[0].port: value should be between 0 and 65535 (line 7)"
    QStringList warnings;  // what was loaded but is not acted on
    QString format_version;
};
ParsedDeclarative parseDeclarative(const QByteArray& text);

// Kong 3.0 format file of `entities` (YAML or JSON), as GET /config renders it.
QByteArray exportDeclarative(const EntityLists& entities, bool json);

// Table names in dependency order (parents first) and their Admin API collection ("key-auths").
QStringList declarativeTables();
QString adminPathOf(const QString& table);
// Fields of `table` that reference another table: field name -> referenced table.
QMap<QString, QString> foreignFieldsOf(const QString& table);

struct DiffEntry {
    enum class Kind { Added, Changed, Removed, Unchanged };
    Kind kind = Kind::Unchanged;
    QString table;
    QString key;                 // natural key shown to the user
    QStringList changed_fields;  // Changed: fields whose values differ
    QJsonObject file_entity;     // empty for Removed
    QJsonObject running_entity;  // empty for Added
};
QString diffKindName(DiffEntry::Kind kind);

struct ConfigDiff {
    QList<DiffEntry> entries;  // tables in dependency order, then by key
    // file id -> running id for every matched entity (used by the import to keep ids).
    QMap<QString, QString> matched_ids;
    int count(DiffEntry::Kind kind) const;
};
ConfigDiff diffConfigurations(const EntityLists& file, const EntityLists& running);

}  // namespace portico::console
