// The portico command line: check, version, help, config parse/db_import/db_export, start with a
// bad configuration, clean stop on SIGTERM and SIGINT.

#include "tests/integration/harness.hpp"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace portico::test;

class CliTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    QString write(const QString& name, const QByteArray& text) {
        QString path = dir_.path() + "/" + name;
        QFile file(path);
        file.open(QIODevice::WriteOnly);
        file.write(text);
        return path;
    }

private slots:
    void versionAndHelp() {
        auto version = runCommand(porticoBinary(), {"version"});
        QCOMPARE(version.exit_code, 0);
        QVERIFY(version.out.startsWith("portico 0."));
        auto help = runCommand(porticoBinary(), {"--help"});
        QCOMPARE(help.exit_code, 0);
        for (const char* command : {"start", "check", "config parse", "db_import", "migrations"}) {
            QVERIFY2(help.out.contains(command), command);
        }
        auto start_help = runCommand(porticoBinary(), {"start", "--help"});
        QCOMPARE(start_help.exit_code, 0);
        QVERIFY(start_help.out.contains("SIGTERM"));
        auto unknown = runCommand(porticoBinary(), {"frobnicate"});
        QCOMPARE(unknown.exit_code, 2);
        QVERIFY(unknown.err.contains("unknown command 'frobnicate'"));
    }

    void checkValidFile() {
        auto path = write("good.conf",
                          "# comment\nlog_level = debug\nproxy_listen = 127.0.0.1:9000, "
                          "[::1]:9000\ndatabase = off   # trailing comment\n"
                          "declarative_config = /tmp/kong.yml\n");
        auto result = runCommand(porticoBinary(), {"check", path});
        QCOMPARE(result.exit_code, 0);
        QVERIFY(result.out.contains("is valid"));
    }

    void checkReportsEveryErrorWithItsLine() {
        auto path = write("bad.conf",
                          "log_level = loud\n"
                          "\n"
                          "no_such_key = 1\n"
                          "proxy_listen = 127.0.0.1\n"
                          "worker_threads = -3\n"
                          "this line has no equals\n");
        auto result = runCommand(porticoBinary(), {"check", path});
        QCOMPARE(result.exit_code, 1);
        QVERIFY2(result.out.contains("bad.conf:1: log_level: expected one of:"), result.out);
        QVERIFY2(result.out.contains("bad.conf:3: no_such_key: unknown key"), result.out);
        QVERIFY2(result.out.contains("bad.conf:4: proxy_listen:"), result.out);
        QVERIFY2(result.out.contains("bad.conf:5: worker_threads:"), result.out);
        QVERIFY2(result.out.contains("bad.conf:6: expected 'key = value'"), result.out);
        QVERIFY(result.out.contains("5 error(s)"));
    }

    void environmentOverridesAndIsValidated() {
        auto path = write("env.conf", "log_level = info\n");
        auto bad = runCommand(porticoBinary(), {"check", path}, {"PORTICO_LOG_LEVEL=shouting"});
        QCOMPARE(bad.exit_code, 1);
        QVERIFY2(bad.out.contains("PORTICO_LOG_LEVEL"), bad.out);
        auto good = runCommand(porticoBinary(), {"check", path}, {"PORTICO_DATABASE=off"});
        QCOMPARE(good.exit_code, 0);
    }

    void checkMissingFile() {
        auto result = runCommand(porticoBinary(), {"check", dir_.path() + "/nope.conf"});
        QCOMPARE(result.exit_code, 1);
        QVERIFY(result.out.contains("cannot read the file"));
    }

    void startRefusesBadConfigurationNamingTheKey() {
        auto path = write("start-bad.conf", "prefix = " + dir_.path().toUtf8() +
                                                "/p1\nadmin_listen = 127.0.0.1:http\n");
        auto result = runCommand(porticoBinary(), {"start", "-c", path});
        QCOMPARE(result.exit_code, 1);
        QVERIFY2(result.err.contains("admin_listen"), result.err);
    }

    void configParseAcceptsEveryFixture() {
        QDir fixtures(fixturesDir());
        auto files = fixtures.entryList({"*.yml", "*.yaml", "*.json"}, QDir::Files);
        QVERIFY(files.size() >= 20);
        for (const auto& file : files) {
            auto result = runCommand(porticoBinary(), {"config", "parse", fixtures.filePath(file)});
            QVERIFY2(result.exit_code == 0, qPrintable(file + ": " + result.err));
            QVERIFY(result.out.contains("parse successful"));
        }
        // A plugin Portico does not have is named, not dropped silently.
        auto fiware = runCommand(porticoBinary(),
                                 {"config", "parse", fixtures.filePath("07-fiware-pep-proxy.yml")});
        QVERIFY2(fiware.err.contains("pep-plugin"), fiware.err);
    }

    void configParseNamesTheEntityPath() {
        auto path = write("broken.yml",
                          "_format_version: \"3.0\"\n"
                          "services:\n"
                          "  - name: a\n"
                          "    url: http://a.test\n"
                          "    routes:\n"
                          "      - name: r\n"
                          "        paths: [\"/a\"]\n"
                          "        colour: blue\n");
        auto result = runCommand(porticoBinary(), {"config", "parse", path});
        QCOMPARE(result.exit_code, 1);
        QVERIFY2(result.err.contains("services[0].routes[0]"), result.err);
        QVERIFY2(result.err.contains("colour"), result.err);
        QVERIFY2(result.err.contains("unknown field"), result.err);
    }

    void dbImportThenExportRoundTrips() {
        auto conf = write("db.conf", "prefix = " + dir_.path().toUtf8() + "/db\n");
        auto source = sourceDir() + "/resources/example.yml";
        auto imported = runCommand(porticoBinary(), {"config", "db_import", source, "-c", conf});
        QVERIFY2(imported.exit_code == 0, imported.err);
        QVERIFY(imported.out.contains("import successful"));
        QVERIFY(QFile::exists(dir_.path() + "/db/portico.db"));
        auto out_path = dir_.path() + "/export.yml";
        auto exported = runCommand(porticoBinary(), {"config", "db_export", out_path, "-c", conf});
        QVERIFY2(exported.exit_code == 0, exported.err);
        QFile file(out_path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        auto text = file.readAll();
        QVERIFY(text.contains("_format_version"));
        QVERIFY(text.contains("demo-route"));
        QVERIFY(text.contains("alice"));
        // The export is itself a valid declarative file.
        auto reparsed = runCommand(porticoBinary(), {"config", "parse", out_path});
        QVERIFY2(reparsed.exit_code == 0, reparsed.err);
        // Importing a broken file changes nothing.
        auto broken = write("broken-import.yml", "_format_version: \"3.0\"\nservices:\n  - port: x\n");
        auto failed = runCommand(porticoBinary(), {"config", "db_import", broken, "-c", conf});
        QCOMPARE(failed.exit_code, 1);
        auto again = runCommand(porticoBinary(), {"config", "db_export", out_path + ".2", "-c", conf});
        QCOMPARE(again.exit_code, 0);
        QFile second(out_path + ".2");
        QVERIFY(second.open(QIODevice::ReadOnly));
        QCOMPARE(second.readAll(), text);
    }

    void migrationsAreIdempotent() {
        auto conf = write("mig.conf", "prefix = " + dir_.path().toUtf8() + "/mig\n");
        auto first = runCommand(porticoBinary(), {"migrations", "bootstrap", "-c", conf});
        QVERIFY2(first.exit_code == 0, first.err);
        auto second = runCommand(porticoBinary(), {"migrations", "up", "-c", conf});
        QVERIFY2(second.exit_code == 0, second.err);
        QVERIFY(second.out.contains("up to date"));
    }

    void stopsCleanlyOnSigtermAndSigint() {
        PorticoProcess first;
        QVERIFY2(first.start(), qPrintable(first.output()));
        QCOMPARE(first.stop(), 0);
        QVERIFY(first.output().contains("stopped"));
        QVERIFY(first.output().contains("admin api listening"));

        PorticoProcess second;
        QVERIFY2(second.start(), qPrintable(second.output()));
        QCOMPARE(request(second.adminPort(), "GET", "/status").status, 200);
        QCOMPARE(second.stop(SIGINT), 0);
        QVERIFY(second.output().contains("SIGINT"));
    }
};

QTEST_GUILESS_MAIN(CliTest)
#include "test_cli.moc"
