#include "tests/integration/harness.hpp"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include <csignal>

namespace portico::test {

quint16 freePort() {
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0)) {
        return 0;
    }
    return server.serverPort();
}

namespace {

// Parses one HTTP response out of `data`; returns false while incomplete.
bool parseResponse(const QByteArray& data, bool closed, HttpResult& result) {
    int header_end = data.indexOf("\r\n\r\n");
    if (header_end < 0) {
        return false;
    }
    QList<QByteArray> lines = data.left(header_end).split('\n');
    if (lines.isEmpty()) {
        return false;
    }
    QList<QByteArray> status_line = lines.first().trimmed().split(' ');
    if (status_line.size() < 2) {
        return false;
    }
    HttpResult parsed;
    parsed.status = status_line[1].toInt();
    for (int i = 1; i < lines.size(); ++i) {
        QByteArray line = lines[i].trimmed();
        int colon = line.indexOf(':');
        if (colon > 0) {
            parsed.headers.insert(line.left(colon).trimmed().toLower(),
                                  line.mid(colon + 1).trimmed());
        }
    }
    QByteArray body = data.mid(header_end + 4);
    if (parsed.status == 100) {
        // Interim response: parse what follows it.
        return parseResponse(body, closed, result);
    }
    if (parsed.headers.contains("content-length")) {
        int length = parsed.headers.value("content-length").toInt();
        if (body.size() < length) {
            return false;
        }
        parsed.body = body.left(length);
    } else if (parsed.status == 204 || parsed.status == 304) {
        parsed.body.clear();
    } else if (!closed) {
        return false;
    } else {
        parsed.body = body;
    }
    result = parsed;
    return true;
}

}  // namespace

HttpResult rawRequest(quint16 port, const QByteArray& raw, int timeout_ms) {
    HttpResult result;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeout_ms)) {
        return result;
    }
    socket.write(raw);
    socket.flush();
    QByteArray data;
    QDeadlineTimer deadline(timeout_ms);
    while (!deadline.hasExpired()) {
        if (parseResponse(data, false, result)) {
            return result;
        }
        if (socket.state() != QAbstractSocket::ConnectedState && socket.bytesAvailable() == 0) {
            break;
        }
        if (socket.waitForReadyRead(static_cast<int>(std::max<qint64>(1, deadline.remainingTime())))) {
            data += socket.readAll();
        } else if (socket.state() != QAbstractSocket::ConnectedState) {
            data += socket.readAll();
            break;
        }
    }
    parseResponse(data, true, result);
    return result;
}

QByteArray rawExchange(quint16 port, const QByteArray& raw, int timeout_ms) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeout_ms)) {
        return {};
    }
    socket.write(raw);
    socket.flush();
    QByteArray data;
    QDeadlineTimer deadline(timeout_ms);
    while (!deadline.hasExpired()) {
        auto wait = static_cast<int>(std::max<qint64>(1, deadline.remainingTime()));
        bool ready = socket.waitForReadyRead(wait);
        data += socket.readAll();
        if (!ready && socket.state() != QAbstractSocket::ConnectedState) {
            break;
        }
    }
    return data;
}

HttpResult request(quint16 port, const QByteArray& method, const QByteArray& target,
                   const QByteArray& body, const QByteArray& content_type,
                   const QList<QPair<QByteArray, QByteArray>>& headers) {
    QByteArray raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                     QByteArray::number(port) + "\r\nConnection: close\r\n";
    for (const auto& [name, value] : headers) {
        raw += name + ": " + value + "\r\n";
    }
    if (!body.isEmpty()) {
        raw += "Content-Type: " + content_type + "\r\n";
        raw += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    }
    raw += "\r\n" + body;
    return rawRequest(port, raw);
}

CommandResult runCommand(const QString& program, const QStringList& arguments,
                         const QStringList& extra_environment, int timeout_ms) {
    QProcess process;
    auto environment = QProcessEnvironment::systemEnvironment();
    for (const auto& entry : extra_environment) {
        auto equals = entry.indexOf('=');
        environment.insert(entry.left(equals), entry.mid(equals + 1));
    }
    process.setProcessEnvironment(environment);
    process.start(program, arguments);
    CommandResult result;
    if (!process.waitForFinished(timeout_ms)) {
        process.kill();
        process.waitForFinished(5000);
        return result;
    }
    result.exit_code = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

QString porticoBinary() { return QStringLiteral(PORTICO_BINARY); }
QString echoBinary() { return QStringLiteral(PORTICO_ECHO_BINARY); }
QString fixturesDir() { return QStringLiteral(PORTICO_FIXTURES_DIR); }
QString sourceDir() { return QStringLiteral(PORTICO_SOURCE_DIR); }

PorticoProcess::PorticoProcess() = default;

PorticoProcess::~PorticoProcess() {
    if (running()) {
        stop();
    }
}

bool PorticoProcess::start(const QStringList& extra_lines) {
    admin_port_ = freePort();
    proxy_port_ = freePort();
    QFile conf(confPath());
    if (!conf.open(QIODevice::WriteOnly)) {
        return false;
    }
    QByteArray text = "prefix = " + prefix().toUtf8() + "\n" +
                      "admin_listen = 127.0.0.1:" + QByteArray::number(admin_port_) + "\n" +
                      "proxy_listen = 127.0.0.1:" + QByteArray::number(proxy_port_) + "\n" +
                      "worker_threads = 1\nlog_level = info\n";
    for (const auto& line : extra_lines) {
        text += line.toUtf8() + "\n";
    }
    conf.write(text);
    conf.close();
    return launch();
}

bool PorticoProcess::restart() { return launch(); }

bool PorticoProcess::launch() {
    process_ = std::make_unique<QProcess>();
    process_->setProcessChannelMode(QProcess::MergedChannels);
    process_->start(porticoBinary(), {"start", "-c", confPath()});
    if (!process_->waitForStarted(5000)) {
        return false;
    }
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 20000) {
        output_ += process_->readAll();
        if (process_->state() != QProcess::Running) {
            output_ += process_->readAll();
            return false;
        }
        auto status = request(admin_port_, "GET", "/status");
        if (status.status == 200) {
            return true;
        }
        process_->waitForReadyRead(50);
    }
    return false;
}

int PorticoProcess::stop(int signal) {
    // A process that never started has pid 0: kill(0, ...) would signal our whole group.
    if (!process_ || process_->processId() <= 0) {
        return -1;
    }
    ::kill(static_cast<pid_t>(process_->processId()), signal);
    if (!process_->waitForFinished(10000)) {
        process_->kill();
        process_->waitForFinished(5000);
        return -1;
    }
    output_ += process_->readAll();
    return process_->exitStatus() == QProcess::NormalExit ? process_->exitCode() : -1;
}

void PorticoProcess::kill() {
    if (!process_ || process_->processId() <= 0) {
        return;
    }
    ::kill(static_cast<pid_t>(process_->processId()), SIGKILL);
    process_->waitForFinished(5000);
    output_ += process_->readAll();
}

bool PorticoProcess::running() const {
    return process_ && process_->state() == QProcess::Running;
}

QString PorticoProcess::output() const {
    QByteArray all = output_;
    if (process_) {
        all += process_->readAll();
    }
    const_cast<PorticoProcess*>(this)->output_ = all;
    return QString::fromUtf8(all);
}

EchoProcess::EchoProcess(const QString& name) : name_(name) {}

EchoProcess::~EchoProcess() {
    if (process_ && process_->state() == QProcess::Running) {
        process_->terminate();
        process_->waitForFinished(5000);
    }
}

void EchoProcess::kill() {
    if (!process_ || process_->processId() <= 0) {
        return;
    }
    ::kill(static_cast<pid_t>(process_->processId()), SIGKILL);
    process_->waitForFinished(5000);
}

bool EchoProcess::start() {
    process_ = std::make_unique<QProcess>();
    process_->start(echoBinary(), {"--listen", "127.0.0.1:0", "--name", name_});
    if (!process_->waitForStarted(5000)) {
        return false;
    }
    QElapsedTimer timer;
    timer.start();
    QByteArray out;
    while (timer.elapsed() < 10000) {
        process_->waitForReadyRead(100);
        out += process_->readAllStandardOutput();
        if (out.startsWith("listening ") && out.contains('\n')) {
            port_ = static_cast<quint16>(out.mid(10, out.indexOf('\n') - 10).toUInt());
            return port_ != 0;
        }
    }
    return false;
}

}  // namespace portico::test
