#include "tests/integration/postgres_server.hpp"

#include "tests/integration/harness.hpp"

#include <QDir>
#include <QFile>
#include <QProcess>

#include <pwd.h>
#include <unistd.h>

namespace portico::test {

namespace {

// The newest /usr/lib/postgresql/<version>/bin with initdb (Debian's layout).
QString findBindir() {
    QDir root("/usr/lib/postgresql");
    auto versions = root.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    std::sort(versions.begin(), versions.end(),
              [](const QString& a, const QString& b) { return a.toInt() > b.toInt(); });
    for (const auto& version : versions) {
        QString bin = root.filePath(version + "/bin");
        if (QFile::exists(bin + "/initdb")) {
            return bin;
        }
    }
    return {};
}

}  // namespace

PostgresServer::PostgresServer() : bindir_(findBindir()) {}

PostgresServer::~PostgresServer() {
    if (running_) {
        stop();
    }
}

QString PostgresServer::bin(const QString& tool) const { return bindir_ + "/" + tool; }

bool PostgresServer::run(const QString& step, const QStringList& command, int timeout_ms) {
    QStringList full = command;
    QString program = full.takeFirst();
    if (::geteuid() == 0) {
        // initdb and postgres refuse root: run them as the postgres user.
        full.prepend(program);
        full = QStringList{"-u", "postgres", "--"} + full;
        program = "runuser";
    }
    auto result = runCommand(program, full, {"PGPASSWORD=" + QString(kPassword)}, timeout_ms);
    if (result.exit_code != 0) {
        error_ = QString("%1 failed (exit %2): %3 %4")
                     .arg(step)
                     .arg(result.exit_code)
                     .arg(QString::fromUtf8(result.out), QString::fromUtf8(result.err));
        return false;
    }
    return true;
}

bool PostgresServer::start() {
    if (bindir_.isEmpty()) {
        error_ = "no PostgreSQL server under /usr/lib/postgresql: install postgresql-15 "
                 "(scripts/install-deps.sh does)";
        return false;
    }
    if (!dir_.isValid()) {
        error_ = "cannot create a temporary directory: " + dir_.errorString();
        return false;
    }
    if (!initialized_) {
        if (::geteuid() == 0) {
            const passwd* pw = ::getpwnam("postgres");
            if (pw == nullptr || ::chown(qPrintable(dir_.path()), pw->pw_uid, pw->pw_gid) != 0) {
                error_ = "cannot hand " + dir_.path() + " to the postgres user";
                return false;
            }
        }
        QFile pwfile(dir_.path() + "/pwfile");
        if (!pwfile.open(QIODevice::WriteOnly)) {
            error_ = "cannot write " + pwfile.fileName();
            return false;
        }
        pwfile.write(kPassword);
        pwfile.close();
        pwfile.setPermissions(QFile::ReadOwner | QFile::ReadOther);
        if (!run("initdb", {bin("initdb"), "-D", dir_.path() + "/data", "-U", kUser,
                            "--auth=scram-sha-256", "--pwfile=" + pwfile.fileName(), "--no-sync",
                            "--no-instructions", "-E", "UTF8", "--locale=C"},
                 120000)) {
            return false;
        }
        port_ = freePort();
        initialized_ = true;
    }
    const QString options = QString("-c listen_addresses=127.0.0.1 -p %1 -k %2 -c fsync=off "
                                    "-c synchronous_commit=off -c full_page_writes=off")
                                .arg(port_)
                                .arg(dir_.path());
    if (!run("pg_ctl start", {bin("pg_ctl"), "-D", dir_.path() + "/data", "-l",
                              dir_.path() + "/server.log", "-o", options, "-w", "-t", "60",
                              "start"},
             90000)) {
        QFile log(dir_.path() + "/server.log");
        if (log.open(QIODevice::ReadOnly)) {
            error_ += "\nserver.log: " + QString::fromUtf8(log.readAll().right(2000));
        }
        return false;
    }
    running_ = true;
    return true;
}

bool PostgresServer::stop() {
    if (!running_) {
        return true;
    }
    if (!run("pg_ctl stop", {bin("pg_ctl"), "-D", dir_.path() + "/data", "-m", "fast", "-w",
                             "-t", "60", "stop"},
             90000)) {
        return false;
    }
    running_ = false;
    return true;
}

bool PostgresServer::createDatabase(const QString& name) {
    return run("CREATE DATABASE " + name,
               {bin("psql"), "-h", "127.0.0.1", "-p", QString::number(port_), "-U", kUser, "-d",
                "postgres", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \"" + name + "\""},
               30000);
}

QStringList PostgresServer::porticoLines(const QString& database) const {
    return {"database = postgres",
            "pg_host = 127.0.0.1",
            "pg_port = " + QString::number(port_),
            "pg_user = " + QString(kUser),
            "pg_password = " + QString(kPassword),
            "pg_database = " + database};
}

QStringList PostgresServer::porticoEnvironment(const QString& database) const {
    QStringList environment;
    for (const auto& line : porticoLines(database)) {
        const auto parts = line.split(" = ");
        environment << "PORTICO_" + parts[0].toUpper() + "=" + parts[1];
    }
    return environment;
}

}  // namespace portico::test
