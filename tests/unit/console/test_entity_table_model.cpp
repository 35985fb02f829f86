// EntityTableModel: columns by key and dotted path, display of lists, references and
// timestamps, in-place refresh keeping persistent indexes, sorting through a proxy.

#include "console/core/entity_table_model.hpp"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QtTest>

using portico::console::EntityTableModel;

namespace {

QJsonObject service(const QString& id, const QString& name, int port) {
    return QJsonObject{{"id", id},
                       {"name", name},
                       {"host", name + ".internal"},
                       {"port", port},
                       {"tags", QJsonArray{"a", "b"}},
                       {"enabled", true}};
}

// Self-signed, CN=api.example.test, valid until 2126.
const char* const kCertificate =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBjTCCATOgAwIBAgIUWgAj5HSfHFg05dc/8kJtNzhHC0owCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UEAwwQYXBpLmV4YW1wbGUudGVzdDAgFw0yNjExMjYyMDA2NDlaGA8y\n"
    "MTI2MTEwMjIwMDY0OVowGzEZMBcGA1UEAwwQYXBpLmV4YW1wbGUudGVzdDBZMBMG\n"
    "ByqGSM49AgEGCCqGSM49AwEHA0IABKfqM+q86qMUBVDya1MmOM+vM8ds67XpLbU/\n"
    "b7V48U8uINQTxGIgtS5luZygva889pG+lBSpIR4k1AXyKTIMKxijUzBRMB0GA1Ud\n"
    "DgQWBBQ9n4XgQuLKcDTRKCGHamjIyJn9tjAfBgNVHSMEGDAWgBQ9n4XgQuLKcDTR\n"
    "KCGHamjIyJn9tjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIGp1\n"
    "NNBPE5TI8k48NcUIA+1cCWs2sGvFtbN7yvjkMLg3AiEA90IwQRA/KESFh09kE8Cd\n"
    "wKANo6IaLRP+OW72VP8MFF4=\n"
    "-----END CERTIFICATE-----\n";

QList<EntityTableModel::Column> columns() {
    return {{"Name", "name"},
            {"Port", "port"},
            {"Tags", "tags"},
            {"Enabled", "enabled"},
            {"Service", "service"}};
}

}  // namespace

class EntityTableModelTest : public QObject {
    Q_OBJECT

private slots:
    void showsValues() {
        EntityTableModel model(columns());
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEntities({service("1", "orders", 8080)});
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.columnCount(), 5);
        QCOMPARE(model.headerData(0, Qt::Horizontal).toString(), QString("Name"));
        QCOMPARE(model.index(0, 0).data().toString(), QString("orders"));
        QCOMPARE(model.index(0, 1).data().toString(), QString("8080"));
        QCOMPARE(model.index(0, 2).data().toString(), QString("a, b"));
        QCOMPARE(model.index(0, 3).data().toString(), QString("yes"));
        QCOMPARE(model.index(0, 4).data().toString(), QString());
        QCOMPARE(model.index(0, 0).data(EntityTableModel::IdRole).toString(), QString("1"));
        QCOMPARE(model.index(0, 1).data(EntityTableModel::SortRole).toDouble(), 8080.0);
        QCOMPARE(model.index(0, 0)
                     .data(EntityTableModel::EntityRole)
                     .toJsonObject()
                     .value("host")
                     .toString(),
                 QString("orders.internal"));
    }

    void referencesShowNames() {
        EntityTableModel model(columns());
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QJsonObject route{{"id", "r1"}, {"name", "r"}, {"service", QJsonObject{{"id", "s1"}}}};
        model.setEntities({route});
        QCOMPARE(model.index(0, 4).data().toString(), QString("s1"));
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.setReferenceNames({{"s1", "orders"}});
        QCOMPARE(changed.count(), 1);
        QCOMPARE(model.index(0, 4).data().toString(), QString("orders"));
        QCOMPARE(EntityTableModel::valueAt(route, "service.id").toString(), QString("s1"));
    }

    void refreshUpdatesInPlace() {
        EntityTableModel model(columns());
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEntities({service("1", "a", 1), service("2", "b", 2), service("3", "c", 3)});
        QPersistentModelIndex b(model.index(1, 0));
        QPersistentModelIndex c(model.index(2, 0));
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        // "1" goes away, "2" changes, "3" stays the same, "4" is new.
        model.setEntities({service("2", "b2", 2), service("3", "c", 3), service("4", "d", 4)});
        QCOMPARE(reset.count(), 0);
        QCOMPARE(removed.count(), 1);
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(changed.count(), 1);  // only the row that changed
        QVERIFY(b.isValid());
        QCOMPARE(b.row(), 0);
        QCOMPARE(b.data().toString(), QString("b2"));
        QCOMPARE(c.row(), 1);
        QCOMPARE(model.rowOfId("4"), 2);
        QCOMPARE(model.rowOfId("1"), -1);
        model.setEntities({});
        QCOMPARE(model.rowCount(), 0);
    }

    void sortsAndFiltersThroughAProxy() {
        EntityTableModel model(columns());
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setSortRole(EntityTableModel::SortRole);
        proxy.setFilterCaseSensitivity(Qt::CaseInsensitive);
        proxy.setFilterKeyColumn(-1);
        QAbstractItemModelTester tester(&proxy,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEntities(
            {service("1", "zeta", 80), service("2", "Alpha", 9000), service("3", "mid", 443)});
        proxy.sort(1, Qt::AscendingOrder);  // numbers as numbers: 80 < 443 < 9000
        QCOMPARE(proxy.index(0, 0).data().toString(), QString("zeta"));
        QCOMPARE(proxy.index(2, 0).data().toString(), QString("Alpha"));
        proxy.sort(0, Qt::AscendingOrder);
        QCOMPARE(proxy.index(0, 0).data().toString(), QString("Alpha"));
        proxy.setFilterFixedString("ALP");
        QCOMPARE(proxy.rowCount(), 1);
        model.setEntities({service("1", "zeta", 80), service("2", "alpine", 9000)});
        QCOMPARE(proxy.rowCount(), 1);
        QCOMPARE(proxy.index(0, 0).data().toString(), QString("alpine"));
    }

    void certificatesBySubjectAndExpiry() {
        EntityTableModel model({{"Certificate", "cert"}, {"Key", "key"}});
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEntities({QJsonObject{{"id", "c1"}, {"cert", kCertificate}, {"key", "secret"}},
                           QJsonObject{{"id", "c2"}, {"cert", "not a certificate at all"}}});
        QCOMPARE(model.index(0, 0).data().toString(),
                 QString("CN=api.example.test, expires 2126-11-02"));
        QCOMPARE(model.index(0, 1).data().toString(), QString("(private key)"));
        QVERIFY(model.index(1, 0).data().toString().startsWith("not a certificate"));
    }

    void timestampsAndNulls() {
        EntityTableModel model({{"Created", "created_at"}, {"Path", "path"}});
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEntities({QJsonObject{{"id", "x"}, {"created_at", 0}, {"path", QJsonValue()}}});
        QVERIFY(model.index(0, 0).data().toString().startsWith("19"));
        QCOMPARE(model.index(0, 1).data().toString(), QString());
    }
};

QTEST_MAIN(EntityTableModelTest)
#include "test_entity_table_model.moc"
