// Declarative files in the console: parsing with common/'s codec, the diff against a running
// configuration by natural key (ids may differ), export round trip, and DiffModel.

#include "console/core/declarative_diff.hpp"
#include "console/core/diff_model.hpp"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QtTest>

using namespace portico::console;

namespace {

QByteArray fixture(const QString& name) {
    QFile file(QStringLiteral(PORTICO_FIXTURES_DIR) + "/" + name);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return file.readAll();
}

// The same entities under other ids, as a gateway that created them itself would hold them.
EntityLists withNewIds(const EntityLists& lists) {
    QMap<QString, QString> ids;
    int n = 0;
    for (const auto& list : lists) {
        for (const auto& entity : list) {
            ids.insert(entity.value("id").toString(),
                       QStringLiteral("00000000-0000-4000-8000-%1").arg(++n, 12, 10, QChar('0')));
        }
    }
    EntityLists out;
    for (auto it = lists.begin(); it != lists.end(); ++it) {
        for (QJsonObject entity : it.value()) {
            entity["id"] = ids.value(entity.value("id").toString());
            for (auto field = entity.begin(); field != entity.end(); ++field) {
                if (field->isObject() && field->toObject().contains("id")) {
                    *field =
                        QJsonObject{{"id", ids.value(field->toObject().value("id").toString())}};
                }
            }
            out[it.key()] << entity;
        }
    }
    return out;
}

}  // namespace

class DeclarativeDiffTest : public QObject {
    Q_OBJECT

private slots:
    void parsesAFixture() {
        QByteArray text = fixture("21-dbless-sample.json");
        QVERIFY(!text.isEmpty());
        auto parsed = parseDeclarative(text);
        QVERIFY2(parsed.ok, qPrintable(parsed.errors.join("; ")));
        QCOMPARE(parsed.format_version, QString("1.1"));
        QCOMPARE(parsed.entities.value("services").size(), 1);
        QCOMPARE(parsed.entities.value("routes").size(), 1);
        QCOMPARE(parsed.entities.value("services").first().value("host").toString(),
                 QString("test-api"));
    }

    void reportsErrors() {
        auto parsed = parseDeclarative(
            "_format_version: \"3.0\"\nservices:\n  - name: x\n    host: a.test\n    port: "
            "99999\n");
        QVERIFY(!parsed.ok);
        QVERIFY(!parsed.errors.isEmpty());
        QVERIFY2(parsed.errors.join(" ").contains("port"), qPrintable(parsed.errors.join(" ")));
    }

    void sameConfigurationIsUnchanged() {
        auto parsed = parseDeclarative(fixture("06-healthy-cameras-auth-plugins.yml"));
        QVERIFY2(parsed.ok, qPrintable(parsed.errors.join("; ")));
        ConfigDiff diff = diffConfigurations(parsed.entities, withNewIds(parsed.entities));
        QVERIFY(!diff.entries.isEmpty());
        QCOMPARE(diff.count(DiffEntry::Kind::Unchanged), diff.entries.size());
        // Every file id maps to the running entity's id.
        int total = 0;
        for (const auto& list : parsed.entities) {
            total += static_cast<int>(list.size());
        }
        QCOMPARE(diff.matched_ids.size(), total);
    }

    void addedChangedRemoved() {
        auto parsed = parseDeclarative(fixture("21-dbless-sample.json"));
        QVERIFY(parsed.ok);
        ConfigDiff to_empty = diffConfigurations(parsed.entities, {});
        QCOMPARE(to_empty.count(DiffEntry::Kind::Added), 2);
        QCOMPARE(to_empty.entries.first().table, QString("services"));  // parents first
        ConfigDiff from_empty = diffConfigurations({}, parsed.entities);
        QCOMPARE(from_empty.count(DiffEntry::Kind::Removed), 2);

        EntityLists running = withNewIds(parsed.entities);
        running["services"][0]["port"] = 8080;
        QJsonObject extra = running["services"][0];
        extra["id"] = "00000000-0000-4000-8000-999999999999";
        extra["name"] = "only-in-gateway";
        running["services"] << extra;
        ConfigDiff diff = diffConfigurations(parsed.entities, running);
        QCOMPARE(diff.count(DiffEntry::Kind::Changed), 1);
        QCOMPARE(diff.count(DiffEntry::Kind::Removed), 1);
        QCOMPARE(diff.count(DiffEntry::Kind::Unchanged), 1);  // the route: same service by name
        for (const auto& entry : diff.entries) {
            if (entry.kind == DiffEntry::Kind::Changed) {
                QCOMPARE(entry.key, QString("TEST_API"));
                QCOMPARE(entry.changed_fields, QStringList{"port"});
            }
            if (entry.kind == DiffEntry::Kind::Removed) {
                QCOMPARE(entry.key, QString("only-in-gateway"));
            }
        }
    }

    void exportRoundTrip() {
        auto parsed = parseDeclarative(fixture("06-healthy-cameras-auth-plugins.yml"));
        QVERIFY(parsed.ok);
        for (bool json : {false, true}) {
            QByteArray text = exportDeclarative(parsed.entities, json);
            QVERIFY(text.contains("_format_version"));
            auto again = parseDeclarative(text);
            QVERIFY2(again.ok, qPrintable(again.errors.join("; ")));
            ConfigDiff diff = diffConfigurations(again.entities, parsed.entities);
            QCOMPARE(diff.count(DiffEntry::Kind::Unchanged), diff.entries.size());
        }
    }

    void tablesAndPaths() {
        QStringList tables = declarativeTables();
        QVERIFY(tables.indexOf("services") < tables.indexOf("routes"));
        QVERIFY(tables.indexOf("upstreams") < tables.indexOf("targets"));
        QCOMPARE(adminPathOf("keyauth_credentials"), QString("key-auths"));
        QCOMPARE(foreignFieldsOf("routes").value("service"), QString("services"));
    }

    void diffModel() {
        DiffModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        auto parsed = parseDeclarative(fixture("21-dbless-sample.json"));
        model.setDiff(diffConfigurations(parsed.entities, {}));
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.columnCount(), int(DiffModel::ColumnCount));
        QCOMPARE(model.index(0, DiffModel::Change).data().toString(), QString("added"));
        QCOMPARE(model.index(0, DiffModel::Table).data().toString(), QString("services"));
        QCOMPARE(model.index(0, DiffModel::Key).data().toString(), QString("TEST_API"));
        QCOMPARE(model.index(0, 0).data(DiffModel::KindRole).toInt(), int(DiffEntry::Kind::Added));
        QCOMPARE(model.entry(1).table, QString("routes"));
        QCOMPARE(model.headerData(3, Qt::Horizontal).toString(), QString("Changed fields"));
        model.setDiff({});
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_MAIN(DeclarativeDiffTest)
#include "test_declarative_diff.moc"
