// Proxy behaviour end to end: pipelining, upstream keep-alive reuse, large bodies streamed both
// ways, WebSocket tunnelling, configuration changes under continuous load, graceful shutdown,
// trusted forwarding headers, and the explanation of a gateway-made error by request id.

#include "tests/integration/harness.hpp"
#include "tests/integration/raw_upstream.hpp"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QTcpSocket>
#include <QtTest>

#include <atomic>
#include <csignal>
#include <thread>

using namespace portico::test;

namespace {

// FNV-1a, 64 bits, as 16 lowercase hex digits: what portico-echo reports for a body.
QByteArray fnv1a64(const QByteArray& bytes) {
    quint64 hash = 0xcbf29ce484222325ULL;
    for (char byte : bytes) {
        hash = (hash ^ static_cast<unsigned char>(byte)) * 0x100000001b3ULL;
    }
    return QByteArray::number(hash, 16).rightJustified(16, '0');
}

// `size` bytes that take every value, in no short period.
QByteArray pattern(int size) {
    QByteArray bytes(size, '\0');
    for (int i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
    }
    return bytes;
}

// `body` in chunked coding, with chunks of the given sizes in turn (the last one smaller).
QByteArray chunked(const QByteArray& body, const QList<int>& sizes) {
    QByteArray out;
    int at = 0;
    for (int k = 0; at < body.size(); ++k) {
        int size = std::min<int>(sizes[k % sizes.size()], body.size() - at);
        out += QByteArray::number(size, 16) + "\r\n" + body.mid(at, size) + "\r\n";
        at += size;
    }
    return out + "0\r\n\r\n";
}

// The body of a chunked message (no trailers), or a null array when it is malformed.
QByteArray dechunked(const QByteArray& coded) {
    QByteArray body;
    int at = 0;
    for (;;) {
        int line_end = coded.indexOf("\r\n", at);
        if (line_end < 0) {
            return {};
        }
        bool ok = false;
        int size = coded.mid(at, line_end - at).split(';').first().toInt(&ok, 16);
        if (!ok || size < 0 || line_end + 2 + size + 2 > coded.size()) {
            return {};
        }
        if (size == 0) {
            return body.isNull() ? QByteArray("") : body;
        }
        body += coded.mid(line_end + 2, size);
        at = line_end + 2 + size + 2;
    }
}

}  // namespace

class ProxyBehaviourTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    EchoProcess echo_{"behaviour"};

    void waitForRoute(const QByteArray& path) {
        for (int i = 0; i < 100; ++i) {
            if (request(gateway_.proxyPort(), "GET", path).status != 404) {
                return;
            }
            QTest::qWait(20);
        }
    }

    qint64 statusCounter(const char* name) {
        return gateway_.admin("GET", "/status").json().value("server").toObject().value(name)
            .toInteger();
    }

private slots:
    void initTestCase() {
        QVERIFY(echo_.start());
        // Request bodies up to 24 MiB are buffered (the default is 1 MiB), so that one is big
        // enough to take several writes to reach the upstream.
        QVERIFY2(gateway_.start({"trusted_ips = 127.0.0.1", "buffered_body_max_size = 25165824"}),
                 qPrintable(gateway_.output()));
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"echo\",\"url\":\"http://127.0.0.1:" +
                                QByteArray::number(echo_.port()) + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("POST", "/services/echo/routes", "{\"paths\":[\"/e\"]}").status, 201);
        waitForRoute("/e");
    }

    void pipelinedRequestsAnswerInOrder() {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, gateway_.proxyPort());
        QVERIFY(socket.waitForConnected(2000));
        socket.write("GET /e/first HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /e/second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QByteArray data;
        QElapsedTimer timer;
        timer.start();
        while (socket.state() == QAbstractSocket::ConnectedState && timer.elapsed() < 5000) {
            if (socket.waitForReadyRead(100)) {
                data += socket.readAll();
            }
        }
        data += socket.readAll();
        QCOMPARE(data.count("HTTP/1.1 200"), 2);
        QVERIFY(data.indexOf("/first") < data.indexOf("/second"));
    }

    // A response body that came whole with its head goes out with it: copied behind the head
    // when both fit in a kept head text (8 KiB), from the read buffer as a second piece when
    // not. Sizes on both sides of that line, one after another on one keep-alive connection
    // (so a worker reuses its head texts, big after small and small after big), each body
    // whole and in order.
    void bodiesOnBothSidesOfTheCopyLineArriveWhole() {
        const QList<int> sizes = {2, 8000, 0, 7900, 8192, 1, 9000, 4096, 60000, 3};
        QByteArray pipelined;
        for (int i = 0; i < sizes.size(); ++i) {
            pipelined += "GET /e/bytes/" + QByteArray::number(sizes[i]) + " HTTP/1.1\r\nHost: x\r\n" +
                         (i + 1 == sizes.size() ? "Connection: close\r\n" : "") + "\r\n";
        }
        QByteArray raw = rawExchange(gateway_.proxyPort(), pipelined, 10000);
        int at = 0;
        for (int size : sizes) {
            int head_end = raw.indexOf("\r\n\r\n", at);
            QVERIFY2(head_end > 0, qPrintable("no head for the " + QString::number(size) +
                                              "-byte response"));
            QByteArray head = raw.mid(at, head_end - at);
            QVERIFY2(head.startsWith("HTTP/1.1 200 OK\r\n"), head.constData());
            const QByteArray fields = head + "\r\n";
            QVERIFY2(fields.contains("\r\nContent-Length: " + QByteArray::number(size) + "\r\n"),
                     head.constData());
            const QByteArray fnv_name = "\r\nX-Body-Fnv: ";
            int fnv_at = fields.indexOf(fnv_name);
            QVERIFY2(fnv_at > 0, head.constData());
            fnv_at += fnv_name.size();
            QByteArray fnv = fields.mid(fnv_at, fields.indexOf("\r\n", fnv_at) - fnv_at);
            QByteArray body = raw.mid(head_end + 4, size);
            QCOMPARE(body.size(), size);
            QCOMPARE(fnv1a64(body), fnv);
            at = head_end + 4 + size;
        }
        QCOMPARE(at, raw.size());  // nothing after the last body
    }

    // Bodies bigger than every buffer on the way come through whole, both ways, whether framed
    // by length or chunked: portico-echo reports the length and hash of what reached it, and
    // hashes what it sends.
    void largeBodiesStreamThroughWhole() {
        // Up to buffered_body_max_size (24 MiB here) a request body is read whole before the
        // upstream is picked (and can be sent again on a retry), and goes out with the head in
        // as many writes as the socket takes (20 MiB: several on loopback); above it, it streams
        // as it comes.
        for (int size : {1000 * 1000, 20 * 1024 * 1024 + 7, 32 * 1024 * 1024 + 13}) {
            QByteArray body = pattern(size);
            auto result = request(gateway_.proxyPort(), "POST", "/e/upload", body,
                                  "application/octet-stream");
            QCOMPARE(result.status, 200);
            QCOMPARE(result.json().value("body_length").toInteger(), size);
            QCOMPARE(result.json().value("body_fnv").toString().toLatin1(), fnv1a64(body));
        }

        QByteArray upload = pattern(3 * 1024 * 1024 + 5);
        auto sent = rawRequest(gateway_.proxyPort(),
                               "POST /e/chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n" +
                                   chunked(upload, {1, 4096, 7, 65536, 300000}),
                               20000);
        QCOMPARE(sent.status, 200);
        QCOMPARE(sent.json().value("body_length").toInteger(), upload.size());
        QCOMPARE(sent.json().value("body_fnv").toString().toLatin1(), fnv1a64(upload));

        const int download_size = 8 * 1024 * 1024 + 21;
        auto got = rawRequest(gateway_.proxyPort(),
                              "GET /e/bytes/" + QByteArray::number(download_size) +
                                  " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              20000);
        QCOMPARE(got.status, 200);
        QCOMPARE(got.body.size(), download_size);
        QCOMPARE(fnv1a64(got.body), got.headers.value("x-body-fnv"));

        // A chunked download from an upstream that codes its body in uneven chunks.
        QByteArray source = pattern(3 * 1024 * 1024 + 9);
        RawUpstream chunked_source(RawUpstream::Mode::ReplyAndClose,
                                   ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n" +
                                    chunked(source, {65536, 3, 1000000, 17}))
                                       .toStdString());
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"chunked-source\",\"url\":\"http://127.0.0.1:" +
                                QByteArray::number(chunked_source.port()) + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_
                     .admin("POST", "/services/chunked-source/routes",
                            "{\"name\":\"chunked-source\",\"paths\":[\"/chunked-source\"]}")
                     .status,
                 201);
        HttpResult relayed;
        for (int i = 0; i < 100 && relayed.status != 200; ++i) {  // until the route is live
            relayed = rawRequest(gateway_.proxyPort(),
                                 "GET /chunked-source HTTP/1.1\r\nHost: x\r\n"
                                 "Connection: close\r\n\r\n",
                                 20000);
            if (relayed.status != 200) {
                QTest::qWait(20);
            }
        }
        QCOMPARE(relayed.status, 200);
        QByteArray relayed_body = relayed.body;
        if (relayed.headers.value("transfer-encoding") == "chunked") {
            relayed_body = dechunked(relayed.body);
        }
        QCOMPARE(relayed_body.size(), source.size());
        QVERIFY(relayed_body == source);
        QCOMPARE(gateway_.admin("DELETE", "/routes/chunked-source").status, 204);
        QCOMPARE(gateway_.admin("DELETE", "/services/chunked-source").status, 204);
    }

    void upstreamConnectionsAreReused() {
        auto opened = statusCounter("upstream_connections_opened");
        auto reused = statusCounter("upstream_connections_reused");
        for (int i = 0; i < 20; ++i) {
            QCOMPARE(request(gateway_.proxyPort(), "GET", "/e/pool").status, 200);
        }
        QVERIFY(statusCounter("upstream_connections_opened") - opened <= 1);
        QVERIFY(statusCounter("upstream_connections_reused") - reused >= 19);
    }

    void websocketIsTunnelled() {
        RawUpstream ws(RawUpstream::Mode::ReplyThenEcho,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n\r\n");
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"ws\",\"url\":\"http://127.0.0.1:" +
                                QByteArray::number(ws.port()) + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("POST", "/services/ws/routes", "{\"paths\":[\"/ws\"]}").status, 201);
        QTest::qWait(100);
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, gateway_.proxyPort());
        QVERIFY(socket.waitForConnected(2000));
        socket.write("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n");
        QByteArray data;
        QElapsedTimer timer;
        timer.start();
        while (!data.contains("\r\n\r\n") && timer.elapsed() < 5000) {
            socket.waitForReadyRead(100);
            data += socket.readAll();
        }
        QVERIFY2(data.startsWith("HTTP/1.1 101"), data.constData());
        QVERIFY(data.toLower().contains("upgrade: websocket"));
        socket.write("ping-through-the-tunnel");
        QByteArray echoed = data.mid(data.indexOf("\r\n\r\n") + 4);
        while (!echoed.contains("ping-through-the-tunnel") && timer.elapsed() < 5000) {
            socket.waitForReadyRead(100);
            echoed += socket.readAll();
        }
        QVERIFY(echoed.contains("ping-through-the-tunnel"));
    }

    void trustedForwardingHeadersPassThrough() {
        auto result = request(gateway_.proxyPort(), "GET", "/e/t", {}, {},
                              {{"X-Forwarded-Proto", "https"},
                               {"X-Forwarded-For", "203.0.113.7"},
                               {"X-Real-IP", "203.0.113.7"},
                               {"X-Kong-Request-Id", "from-the-edge-1234"}});
        QCOMPARE(result.status, 200);
        auto headers = result.json().value("headers").toObject();
        QCOMPARE(headers.value("X-Forwarded-Proto").toString(), QString("https"));
        QCOMPARE(headers.value("X-Forwarded-For").toString(), QString("203.0.113.7, 127.0.0.1"));
        QCOMPARE(headers.value("X-Real-IP").toString(), QString("203.0.113.7"));
        QCOMPARE(headers.value("X-Kong-Request-Id").toString(), QString("from-the-edge-1234"));
        QCOMPARE(result.headers.value("x-kong-request-id"), QByteArray("from-the-edge-1234"));
    }

    void hopByHopHeadersAreRemoved() {
        auto result = request(gateway_.proxyPort(), "GET", "/e/h", {}, {},
                              {{"Connection", "close, X-Secret"},
                               {"X-Secret", "drop me"},
                               {"Keep-Alive", "timeout=5"},
                               {"X-Kept", "yes"}});
        QCOMPARE(result.status, 200);
        auto headers = result.json().value("headers").toObject();
        QVERIFY(!headers.contains("X-Secret"));
        QVERIFY(!headers.contains("Keep-Alive"));
        QCOMPARE(headers.value("X-Kept").toString(), QString("yes"));
    }

    void httpsOnlyRoutesRedirect() {
        QCOMPARE(gateway_
                     .admin("POST", "/services/echo/routes",
                            "{\"protocols\":[\"https\"],\"paths\":[\"/secure\"]}")
                     .status,
                 201);
        QCOMPARE(gateway_
                     .admin("POST", "/services/echo/routes",
                            "{\"protocols\":[\"https\"],\"paths\":[\"/moved\"],"
                            "\"https_redirect_status_code\":301}")
                     .status,
                 201);
        waitForRoute("/secure");
        waitForRoute("/moved");
        auto upgrade = request(gateway_.proxyPort(), "GET", "/secure/x");
        QCOMPARE(upgrade.status, 426);
        QCOMPARE(upgrade.json().value("message").toString(), QString("Please use HTTPS protocol"));
        QCOMPARE(upgrade.headers.value("upgrade"), QByteArray("TLS/1.2, HTTP/1.1"));
        auto moved = request(gateway_.proxyPort(), "GET", "/moved/y?z=1");
        QCOMPARE(moved.status, 301);
        QCOMPARE(moved.headers.value("location"),
                 "https://127.0.0.1:" + QByteArray::number(gateway_.proxyPort()) + "/moved/y?z=1");
        // Behind a trusted TLS terminator the request is proxied.
        auto proxied = request(gateway_.proxyPort(), "GET", "/secure/x", {}, {},
                               {{"X-Forwarded-Proto", "https"}});
        QCOMPARE(proxied.status, 200);
    }

    void gatewayErrorsExplainThemselves() {
        quint16 dead = freePort();
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"dead\",\"retries\":2,\"url\":\"http://127.0.0.1:" +
                                QByteArray::number(dead) + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("POST", "/services/dead/routes", "{\"paths\":[\"/dead\"]}").status,
                 201);
        waitForRoute("/dead");
        auto result = request(gateway_.proxyPort(), "GET", "/dead");
        QCOMPARE(result.status, 502);
        auto id = result.json().value("request_id").toString().toUtf8();
        // The record is kept once the answer is written: poll briefly.
        HttpResult explained;
        for (int i = 0; i < 100; ++i) {
            explained = gateway_.admin("GET", "/traffic/" + id);
            if (explained.status == 200) {
                break;
            }
            QTest::qWait(20);
        }
        QCOMPARE(explained.status, 200);
        auto explanation = explained.json().value("explanation").toObject();
        QCOMPARE(explanation.value("service_name").toString(), QString("dead"));
        auto tries = explanation.value("tries").toArray();
        QCOMPARE(tries.size(), 3);
        QCOMPARE(tries.first().toObject().value("error_class").toString(),
                 QString("connect_refused"));
        QVERIFY(!explanation.value("summary").toString().isEmpty());
        auto record = explained.json().value("request").toObject();
        QCOMPARE(record.value("status").toInt(), 502);
        QVERIFY(record.value("gateway_error").toBool());
    }

    void configurationChangesUnderLoadFailNothing() {
        std::atomic<bool> done{false};
        std::atomic<int> ok{0};
        std::atomic<int> failed{0};
        quint16 port = gateway_.proxyPort();
        std::thread load([&] {
            QElapsedTimer timer;
            timer.start();
            while (!done && timer.elapsed() < 20000) {
                auto result = request(port, "GET", "/e/load");
                (result.status == 200 ? ok : failed)++;
            }
        });
        for (int i = 0; i < 25; ++i) {
            auto name = "churn-" + QByteArray::number(i);
            QCOMPARE(gateway_
                         .admin("POST", "/services",
                                "{\"name\":\"" + name + "\",\"url\":\"http://127.0.0.1:9\"}")
                         .status,
                     201);
            QCOMPARE(gateway_.admin("POST", "/services/" + name + "/routes",
                                    "{\"paths\":[\"/" + name + "\"]}")
                         .status,
                     201);
            QCOMPARE(gateway_.admin("PATCH", "/services/echo", "{\"retries\":" +
                                                                  QByteArray::number(i % 5) + "}")
                         .status,
                     200);
        }
        done = true;
        load.join();
        QVERIFY(ok.load() > 20);
        QCOMPARE(failed.load(), 0);
    }

    void gracefulShutdownFinishesInFlightRequests() {
        std::atomic<int> status{0};
        quint16 port = gateway_.proxyPort();
        std::thread slow([&] { status = request(port, "GET", "/e/delay/1500").status; });
        QTest::qWait(300);
        QCOMPARE(gateway_.stop(SIGTERM), 0);
        slow.join();
        QCOMPARE(status.load(), 200);
        QVERIFY(gateway_.output().contains("stopped"));
    }
};

QTEST_GUILESS_MAIN(ProxyBehaviourTest)
#include "test_proxy_behaviour.moc"
