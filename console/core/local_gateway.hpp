#pragma once
// LocalGateway: "Start local gateway". Runs the bundled `portico` as a child process on the
// embedded store in the user's data directory (QStandardPaths::AppDataLocation/local-gateway),
// with its own portico.conf listening on free 127.0.0.1 ports, collects its log, and stops it
// (SIGTERM) when asked or when the console exits. The binary is PORTICO_BINARY if set, else
// `portico` next to the console's executable, else `portico` on PATH. GUI thread.

#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QUrl>

namespace portico::console {

class LocalGateway : public QObject {
    Q_OBJECT
public:
    explicit LocalGateway(QObject* parent = nullptr);
    // Stops the gateway if it still runs (waits up to 5 s: the console is exiting, and an
    // orphaned gateway would keep the ports and the store).
    ~LocalGateway() override;

    // Where the binary would be found; empty when nowhere.
    static QString findBinary();
    // The data directory (prefix) used; tests point it elsewhere.
    QString dataDir() const { return data_dir_; }
    void setDataDir(const QString& dir) { data_dir_ = dir; }

    // Writes the configuration and starts the process; false (with error()) when the binary is
    // missing or the directory cannot be written. started() follows once the process runs.
    bool start();
    void stop();
    bool running() const;
    QUrl adminUrl() const { return admin_url_; }
    QUrl proxyUrl() const { return proxy_url_; }
    QString error() const { return error_; }
    QStringList log() const { return log_; }
    QString confPath() const;

signals:
    void started(const QUrl& admin_url);
    void stopped(int exit_code, const QString& reason);
    void logLine(const QString& line);

private:
    void readOutput();

    QString data_dir_;
    QProcess* process_ = nullptr;
    QUrl admin_url_;
    QUrl proxy_url_;
    QString error_;
    QStringList log_;
    QByteArray partial_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (0 if none).
quint16 freeLocalPort();

}  // namespace portico::console
