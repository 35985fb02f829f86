#pragma once
// A throw-away PostgreSQL server for the tests labelled `db`: initdb in a temporary directory
// (as the `postgres` user when the tests run as root, since initdb refuses root), listening on
// 127.0.0.1 only, on a free port, with fsync off. Stopped and removed when destroyed. Every step
// is bounded in time; error() says which step failed and what it printed.

#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace portico::test {

class PostgresServer {
public:
    static constexpr const char* kUser = "portico";
    static constexpr const char* kPassword = "portico-test-secret";

    PostgresServer();
    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    // initdb on the first call, then starts the server; true once it accepts connections.
    bool start();
    // Fast shutdown (clients are disconnected); true once the server is down.
    bool stop();
    bool running() const { return running_; }
    // Creates a database owned by kUser.
    bool createDatabase(const QString& name);

    quint16 port() const { return port_; }
    QString error() const { return error_; }
    // portico.conf lines for `database = postgres` on `database`.
    QStringList porticoLines(const QString& database) const;
    // The same settings as PORTICO_* environment entries (for `portico migrations`).
    QStringList porticoEnvironment(const QString& database) const;

private:
    bool run(const QString& step, const QStringList& command, int timeout_ms);
    QString bin(const QString& tool) const;

    QTemporaryDir dir_;
    QString bindir_;
    quint16 port_ = 0;
    bool initialized_ = false;
    bool running_ = false;
    QString error_;
};

}  // namespace portico::test
