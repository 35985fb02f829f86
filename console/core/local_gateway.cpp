#include "console/core/local_gateway.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QStandardPaths>
#include <QTcpServer>

Q_LOGGING_CATEGORY(lcLocalGateway, "portico.console.local")

namespace portico::console {

quint16 freeLocalPort() {
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        return 0;
    }
    return server.serverPort();
}

LocalGateway::LocalGateway(QObject* parent)
    : QObject(parent),
      data_dir_(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                "/local-gateway") {}

LocalGateway::~LocalGateway() {
    if (process_ != nullptr && process_->state() != QProcess::NotRunning) {
        process_->disconnect(this);
        process_->terminate();
        if (!process_->waitForFinished(5000)) {
            process_->kill();
            process_->waitForFinished(1000);
        }
    }
}

QString LocalGateway::findBinary() {
    QString from_env = qEnvironmentVariable("PORTICO_BINARY");
    if (!from_env.isEmpty() && QFileInfo(from_env).isExecutable()) {
        return from_env;
    }
    QString app_dir = QCoreApplication::applicationDirPath();
    for (const QString& candidate : {app_dir + "/portico", app_dir + "/../../gateway/app/portico",
                                     app_dir + "/../bin/portico"}) {
        if (QFileInfo(candidate).isExecutable()) {
            return QFileInfo(candidate).canonicalFilePath();
        }
    }
    return QStandardPaths::findExecutable("portico");
}

QString LocalGateway::confPath() const {
    return data_dir_ + "/portico.conf";
}

bool LocalGateway::running() const {
    return process_ != nullptr && process_->state() != QProcess::NotRunning;
}

bool LocalGateway::start() {
    error_.clear();
    if (running()) {
        return true;
    }
    QString binary = findBinary();
    if (binary.isEmpty()) {
        error_ =
            tr("The portico binary was not found next to the console, in PORTICO_BINARY or "
               "on PATH. Install Portico or set PORTICO_BINARY to its path.");
        return false;
    }
    if (!QDir().mkpath(data_dir_)) {
        error_ = tr("Could not create %1; check its permissions.").arg(data_dir_);
        return false;
    }
    quint16 admin_port = freeLocalPort();
    quint16 proxy_port = freeLocalPort();
    while (proxy_port == admin_port && admin_port != 0) {
        proxy_port = freeLocalPort();
    }
    if (admin_port == 0 || proxy_port == 0) {
        error_ = tr("No free port on 127.0.0.1 for the local gateway.");
        return false;
    }
    QFile conf(confPath());
    if (!conf.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        error_ = tr("Could not write %1: %2").arg(confPath(), conf.errorString());
        return false;
    }
    QByteArray text =
        "# Written by portico-console for \"Start local gateway\"; rewritten at each "
        "start.\n"
        "prefix = " +
        data_dir_.toUtf8() + "\n" + "admin_listen = 127.0.0.1:" + QByteArray::number(admin_port) +
        "\n" + "proxy_listen = 127.0.0.1:" + QByteArray::number(proxy_port) + "\n" +
        "log_level = info\n";
    conf.write(text);
    conf.close();
    admin_url_ = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(admin_port));
    proxy_url_ = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(proxy_port));

    delete process_;
    process_ = new QProcess(this);
    process_->setProcessChannelMode(QProcess::MergedChannels);
    process_->setWorkingDirectory(data_dir_);
    connect(process_, &QProcess::readyRead, this, &LocalGateway::readOutput);
    connect(process_, &QProcess::started, this, [this] {
        qCInfo(lcLocalGateway) << "local gateway started, admin" << admin_url_.toString();
        emit started(admin_url_);
    });
    connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart) {
            error_ = tr("portico did not start: %1").arg(process_->errorString());
            emit stopped(-1, error_);
        }
    });
    connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
        readOutput();
        QString reason = status == QProcess::CrashExit
                             ? tr("portico was killed or crashed")
                             : tr("portico exited with code %1").arg(code);
        qCInfo(lcLocalGateway) << reason;
        emit stopped(code, reason);
    });
    log_.clear();
    emit logLine(tr("$ %1 start -c %2").arg(binary, confPath()));
    process_->start(binary, {"start", "-c", confPath()});
    return true;
}

void LocalGateway::stop() {
    if (running()) {
        process_->terminate();
    }
}

void LocalGateway::readOutput() {
    if (process_ == nullptr) {
        return;
    }
    partial_ += process_->readAll();
    qsizetype newline;
    while ((newline = partial_.indexOf('\n')) >= 0) {
        QString line = QString::fromUtf8(partial_.left(newline));
        partial_.remove(0, newline + 1);
        log_ << line;
        if (log_.size() > 5000) {
            log_.removeFirst();
        }
        emit logLine(line);
    }
}

}  // namespace portico::console
