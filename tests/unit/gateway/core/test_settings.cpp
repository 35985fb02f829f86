// portico.conf parsing: defaults, values, comments, errors with lines, environment overrides.

#include "gateway/core/settings.hpp"

#include <QtTest>

using portico::core::parseSettings;

class SettingsTest : public QObject {
    Q_OBJECT

private slots:
    void defaults() {
        auto result = parseSettings("", "portico.conf", {});
        QVERIFY(result.ok());
        const auto& s = result.settings;
        QCOMPARE(s.database, std::string("sqlite"));
        QCOMPARE(s.proxy_listen.size(), std::size_t(1));
        QCOMPARE(s.proxy_listen[0].toString(), std::string("0.0.0.0:8000"));
        QCOMPARE(s.admin_listen[0].toString(), std::string("127.0.0.1:8001"));
        QCOMPARE(s.worker_threads, 0u);
        QVERIFY(s.effectiveWorkerThreads() >= 1);
        QCOMPARE(s.log_level, std::string("notice"));
        QCOMPARE(s.pg_port, std::uint16_t(5432));
        QCOMPARE(s.db_update_frequency, 5.0);
        QCOMPARE(s.admin_body_max_size, std::size_t(1024 * 1024));
    }

    void valuesCommentsAndLists() {
        auto result = parseSettings(
            "# a comment\n"
            "prefix = /tmp/p   # trailing\n"
            "proxy_listen = 127.0.0.1:9000 reuseport backlog=10, [::1]:9001\n"
            "admin_listen = off\n"
            "worker_threads = 3\n"
            "pg_password = se\\#cret\n"
            "trusted_ips = 10.0.0.0/8, 127.0.0.1\n",
            "x.conf", {});
        QVERIFY(result.ok());
        const auto& s = result.settings;
        QCOMPARE(s.prefix, std::string("/tmp/p"));
        QCOMPARE(s.proxy_listen.size(), std::size_t(2));
        QCOMPARE(s.proxy_listen[1].host, std::string("::1"));
        QCOMPARE(s.proxy_listen[1].port, std::uint16_t(9001));
        QVERIFY(s.proxy_listen[0].reuseport);
        QVERIFY(s.admin_listen.empty());
        QCOMPARE(s.worker_threads, 3u);
        QCOMPARE(s.pg_password, std::string("se#cret"));
        QCOMPARE(s.trusted_ips.size(), std::size_t(2));
        QCOMPARE(s.sqlitePath(), std::string("/tmp/p/portico.db"));
        QCOMPARE(s.underPrefix("logs/a.log"), std::string("/tmp/p/logs/a.log"));
        QCOMPARE(s.sources.at("worker_threads"), std::string("x.conf:5"));
    }

    void errors_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown key") << "\nfoo = 1" << 2 << "foo" << "unknown key";
        QTest::newRow("bad enum") << "database = mysql" << 1 << "database" << "expected one of";
        QTest::newRow("bad port") << "pg_port = 70000" << 1 << "pg_port" << "between 1 and 65535";
        QTest::newRow("not a number") << "pg_timeout = soon" << 1 << "pg_timeout" << "integer";
        QTest::newRow("bad bool") << "pg_ssl = maybe" << 1 << "pg_ssl" << "on or off";
        QTest::newRow("bad listen") << "admin_listen = localhost" << 1 << "admin_listen"
                                    << "expected host:port";
        QTest::newRow("bad flag") << "proxy_listen = 0.0.0.0:1 turbo" << 1 << "proxy_listen"
                                  << "invalid flag 'turbo'";
        QTest::newRow("ssl not yet") << "proxy_listen = 0.0.0.0:1 ssl" << 1 << "proxy_listen"
                                     << "ssl listeners are not supported";
        QTest::newRow("twice") << "log_level = info\nlog_level = warn" << 2 << "log_level"
                               << "set twice (first on line 1)";
        QTest::newRow("no equals") << "\n\nlonely" << 3 << "" << "expected 'key = value'";
        QTest::newRow("zero threads") << "worker_threads = 0" << 1 << "worker_threads" << "auto";
        QTest::newRow("frequency") << "db_update_frequency = -1" << 1 << "db_update_frequency"
                                   << "greater than 0";
    }

    void errors() {
        QFETCH(QString, text);
        QFETCH(int, line);
        QFETCH(QString, key);
        QFETCH(QString, message);
        auto result = parseSettings(text.toStdString(), "p.conf", {});
        QCOMPARE(result.errors.size(), std::size_t(1));
        const auto& error = result.errors.front();
        QCOMPARE(error.line, line);
        QCOMPARE(QString::fromStdString(error.key), key);
        QVERIFY2(QString::fromStdString(error.message).contains(message),
                 error.message.c_str());
        QVERIFY(QString::fromStdString(error.toString()).startsWith("p.conf:" + QString::number(line)));
    }

    void environmentOverrides() {
        auto result = parseSettings("log_level = info\n", "p.conf",
                                    {{"PORTICO_LOG_LEVEL", "debug"},
                                     {"PORTICO_PROXY_LISTEN", "127.0.0.1:1234"},
                                     {"PORTICO_NOT_A_SETTING", "ignored"},
                                     {"HOME", "/root"}});
        QVERIFY(result.ok());
        QCOMPARE(result.settings.log_level, std::string("debug"));
        QCOMPARE(result.settings.proxy_listen[0].port, std::uint16_t(1234));
        QCOMPARE(result.settings.sources.at("log_level"), std::string("environment PORTICO_LOG_LEVEL"));
        auto bad = parseSettings("", "p.conf", {{"PORTICO_WORKER_THREADS", "many"}});
        QCOMPARE(bad.errors.size(), std::size_t(1));
        QCOMPARE(bad.errors[0].key, std::string("PORTICO_WORKER_THREADS"));
    }

    void declarativeConfigNeedsDbless() {
        auto result = parseSettings("declarative_config = /a.yml\n", "p.conf", {});
        QCOMPARE(result.errors.size(), std::size_t(1));
        QCOMPARE(result.errors[0].key, std::string("declarative_config"));
        QVERIFY(parseSettings("database = off\ndeclarative_config = /a.yml\n", "p", {}).ok());
    }

    void sanitizedHidesPassword() {
        auto result = parseSettings("pg_password = hunter2\n", "p", {});
        auto sanitized = portico::core::sanitizedSettings(result.settings);
        QCOMPARE(sanitized.at("pg_password"), std::string("******"));
    }
};

QTEST_GUILESS_MAIN(SettingsTest)
#include "test_settings.moc"
