#pragma once
// Black-box integration harness: real `portico` and `portico-echo` processes on free 127.0.0.1
// ports, raw HTTP/1.1 over QTcpSocket (so tests can send malformed and hostile input), readiness
// by polling instead of sleeping. Every wait is bounded.

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>

namespace portico::test {

struct HttpResult {
    int status = 0;  // 0: no response (connection failed or closed early)
    QMap<QByteArray, QByteArray> headers;  // lower-case names
    QByteArray body;
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
};

// A TCP port on 127.0.0.1 that was free a moment ago.
quint16 freePort();

// Sends `raw` bytes and reads one response (Content-Length or until close), within `timeout_ms`.
HttpResult rawRequest(quint16 port, const QByteArray& raw, int timeout_ms = 10000);

// Sends `raw` bytes and returns every byte received until the server closes the connection or
// `timeout_ms` passes (for HEAD responses, pipelining and malformed input).
QByteArray rawExchange(quint16 port, const QByteArray& raw, int timeout_ms = 10000);

// Builds a request with Host and Connection: close; a non-empty body gets Content-Length and the
// given Content-Type.
HttpResult request(quint16 port, const QByteArray& method, const QByteArray& target,
                   const QByteArray& body = {},
                   const QByteArray& content_type = "application/json",
                   const QList<QPair<QByteArray, QByteArray>>& headers = {});

// Runs a command to completion (bounded) and returns exit code, stdout and stderr.
struct CommandResult {
    int exit_code = -1;
    QByteArray out;
    QByteArray err;
};
CommandResult runCommand(const QString& program, const QStringList& arguments,
                         const QStringList& extra_environment = {}, int timeout_ms = 60000);

QString porticoBinary();
QString echoBinary();
QString fixturesDir();
QString sourceDir();

// A running `portico start` with its own prefix in a temporary directory.
class PorticoProcess {
public:
    PorticoProcess();
    ~PorticoProcess();

    // Writes portico.conf (prefix, free ports, log_level, plus `extra_lines`) and starts the
    // gateway; returns once GET /status answers 200 (false after 20 s or if it exited).
    bool start(const QStringList& extra_lines = {});
    // Starts again on the same prefix and ports (after stop() or kill()).
    bool restart();
    // Sends `signal` (SIGTERM by default) and waits; returns the exit code (-1 if it did not
    // stop within 10 s).
    int stop(int signal = 15);
    // SIGKILL, no chance to clean up.
    void kill();
    bool running() const;

    quint16 adminPort() const { return admin_port_; }
    quint16 proxyPort() const { return proxy_port_; }
    QString prefix() const { return dir_.path(); }
    QString confPath() const { return dir_.path() + "/portico.conf"; }
    QString output() const;  // everything the process printed so far

    HttpResult admin(const QByteArray& method, const QByteArray& target,
                     const QByteArray& body = {},
                     const QByteArray& content_type = "application/json") {
        return request(admin_port_, method, target, body, content_type);
    }

private:
    bool launch();
    QTemporaryDir dir_;
    std::unique_ptr<QProcess> process_;
    quint16 admin_port_ = 0;
    quint16 proxy_port_ = 0;
    QByteArray output_;
};

// A running portico-echo upstream tagged with `name`.
class EchoProcess {
public:
    explicit EchoProcess(const QString& name);
    ~EchoProcess();
    bool start();
    // SIGKILL: the upstream vanishes mid-traffic (its port then refuses connections).
    void kill();
    quint16 port() const { return port_; }

private:
    QString name_;
    std::unique_ptr<QProcess> process_;
    quint16 port_ = 0;
};

}  // namespace portico::test
