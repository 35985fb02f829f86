// Hostile and malformed input on the proxy (issue 3 §8): request smuggling shapes, limits,
// slow clients, malformed chunking, misbehaving upstreams. Each gets a clean 4xx/5xx or a closed
// connection, never a crash or a hang.

#include "tests/integration/harness.hpp"
#include "tests/integration/raw_upstream.hpp"

#include <QElapsedTimer>
#include <QTcpSocket>
#include <QtTest>

using namespace portico::test;

class ProxyHostileTest : public QObject {
    Q_OBJECT

private:
    PorticoProcess gateway_;
    EchoProcess echo_{"hostile"};

    HttpResult raw(const QByteArray& bytes) { return rawRequest(gateway_.proxyPort(), bytes, 5000); }

    // True when the proxy closes the connection (EOF) within `ms` after `bytes` were sent.
    bool closedWithin(const QByteArray& bytes, int ms, QByteArray* received = nullptr) {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, gateway_.proxyPort());
        if (!socket.waitForConnected(2000)) {
            return false;
        }
        socket.write(bytes);
        socket.flush();
        QElapsedTimer timer;
        timer.start();
        QByteArray data;
        while (timer.elapsed() < ms) {
            if (socket.waitForReadyRead(50)) {
                data += socket.readAll();
            }
            if (socket.state() != QAbstractSocket::ConnectedState) {
                data += socket.readAll();
                if (received != nullptr) {
                    *received = data;
                }
                return true;
            }
        }
        return false;
    }

    void addService(const QByteArray& name, quint16 port, const QByteArray& path, int retries) {
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"" + name + "\",\"retries\":" + QByteArray::number(retries) +
                                ",\"url\":\"http://127.0.0.1:" + QByteArray::number(port) + "\"}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("POST", "/services/" + name + "/routes",
                                "{\"paths\":[\"" + path + "\"]}")
                     .status,
                 201);
    }

    void waitForRoute(const QByteArray& path) {
        for (int i = 0; i < 100; ++i) {
            if (request(gateway_.proxyPort(), "GET", path).status != 404) {
                return;
            }
            QTest::qWait(20);
        }
    }

private slots:
    void initTestCase() {
        QVERIFY(echo_.start());
        QVERIFY2(gateway_.start({"client_max_body_size = 1024", "client_header_timeout = 1",
                                 "client_body_timeout = 1", "client_uri_max_length = 256",
                                 "client_header_max_size = 4096",
                                 "buffered_body_max_size = 512"}),
                 qPrintable(gateway_.output()));
        addService("echo", echo_.port(), "/e", 0);
        waitForRoute("/e");
    }

    void smuggling_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("content-length and chunked")
            << QByteArray("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        QTest::newRow("two different content-lengths")
            << QByteArray("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Content-Length: 6\r\n\r\nhello!");
        QTest::newRow("chunked not last")
            << QByteArray("POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n"
                          "\r\n0\r\n\r\n");
        QTest::newRow("space before colon")
            << QByteArray("POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
                          "0\r\n\r\n");
        QTest::newRow("bad content-length")
            << QByteArray("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello");
        QTest::newRow("garbage request line") << QByteArray("HELLO\r\n\r\n");
        QTest::newRow("bare LF in header")
            << QByteArray("GET /e HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n");
    }

    void smuggling() {
        QFETCH(QByteArray, bytes);
        QByteArray received;
        QVERIFY2(closedWithin(bytes, 3000, &received), "connection not closed");
        QVERIFY2(received.startsWith("HTTP/1.1 400"), received.constData());
        QVERIFY(received.contains("request_id"));
    }

    void headerBlockOverLimitIs431() {
        QByteArray big = "GET /e HTTP/1.1\r\nHost: x\r\nX-Big: " + QByteArray(8000, 'a') + "\r\n\r\n";
        QCOMPARE(raw(big).status, 431);
    }

    void uriOverLimitIs414() {
        auto result = request(gateway_.proxyPort(), "GET", "/e/" + QByteArray(300, 'u'));
        QCOMPARE(result.status, 414);
        QCOMPARE(result.json().value("message").toString(), QString("URI too long"));
    }

    void bodyOverLimitIs413() {
        auto declared = request(gateway_.proxyPort(), "POST", "/e", QByteArray(2000, 'b'),
                                "application/octet-stream");
        QCOMPARE(declared.status, 413);
        QByteArray chunked = "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 4; ++i) {
            chunked += "200\r\n" + QByteArray(512, 'c') + "\r\n";
        }
        chunked += "0\r\n\r\n";
        QCOMPARE(raw(chunked).status, 413);
    }

    void bodyUnderLimitPasses() {
        auto small = request(gateway_.proxyPort(), "POST", "/e", QByteArray(1000, 'b'),
                             "application/octet-stream");
        QCOMPARE(small.status, 200);
        QCOMPARE(small.json().value("body_length").toInt(), 1000);
    }

    void slowHeadersAreCutOff() {
        QElapsedTimer timer;
        timer.start();
        QVERIFY(closedWithin("GET /e HTTP/1.1\r\nHost: x\r\n", 5000));
        QVERIFY(timer.elapsed() < 4000);
    }

    void slowBodyIsCutOff() {
        QByteArray received;
        QVERIFY(closedWithin("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
                             5000, &received));
        QVERIFY2(received.isEmpty() || received.startsWith("HTTP/1.1 408"), received.constData());
    }

    void malformedChunkingIs400() {
        QByteArray bytes = "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "ZZ\r\nabc\r\n0\r\n\r\n";
        QByteArray received;
        QVERIFY(closedWithin(bytes, 3000, &received));
        QVERIFY2(received.startsWith("HTTP/1.1 400"), received.constData());
    }

    void malformedUpstreamResponseIs502() {
        RawUpstream bad(RawUpstream::Mode::ReplyAndClose, "HTTP/1.1 abc\r\nno colon here\r\n\r\n");
        addService("bad", bad.port(), "/bad", 0);
        waitForRoute("/bad");
        auto result = request(gateway_.proxyPort(), "GET", "/bad");
        QCOMPARE(result.status, 502);
        QCOMPARE(result.json().value("message").toString(),
                 QString("An invalid response was received from the upstream server"));
    }

    void nonIdempotentRequestIsNeverResent() {
        RawUpstream silent(RawUpstream::Mode::CloseSilently, "");
        addService("silent", silent.port(), "/silent", 3);
        waitForRoute("/silent");
        int before = silent.requests();
        auto post = request(gateway_.proxyPort(), "POST", "/silent", "{}");
        QCOMPARE(post.status, 502);
        QCOMPARE(silent.requests() - before, 1);
        before = silent.requests();
        auto get = request(gateway_.proxyPort(), "GET", "/silent");
        QCOMPARE(get.status, 502);
        QCOMPARE(silent.requests() - before, 4);  // first try + 3 retries
    }

    void stillServing() {
        QVERIFY(gateway_.running());
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/e/ok").status, 200);
    }
};

QTEST_GUILESS_MAIN(ProxyHostileTest)
#include "test_proxy_hostile.moc"
