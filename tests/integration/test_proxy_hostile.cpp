// Hostile and malformed input on the proxy (issue 3 §8): request smuggling shapes, limits,
// slow clients, malformed chunking, misbehaving upstreams. Each gets a clean 4xx/5xx or a closed
// connection, never a crash or a hang.

#include "tests/integration/harness.hpp"
#include "tests/integration/raw_upstream.hpp"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QTcpSocket>
#include <QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

    // `extra`: more service fields, as JSON members starting with a comma.
    void addService(const QByteArray& name, quint16 port, const QByteArray& path, int retries,
                    const QByteArray& extra = {}) {
        QCOMPARE(gateway_
                     .admin("POST", "/services",
                            "{\"name\":\"" + name + "\",\"retries\":" + QByteArray::number(retries) +
                                ",\"url\":\"http://127.0.0.1:" + QByteArray::number(port) + "\"" +
                                extra + "}")
                     .status,
                 201);
        QCOMPARE(gateway_.admin("POST", "/services/" + name + "/routes",
                                "{\"paths\":[\"" + path + "\"]}")
                     .status,
                 201);
    }

    // The explanation the Admin API keeps for a gateway-made error (polled: it is stored once
    // the answer is written).
    QJsonObject explanationOf(const HttpResult& result) {
        auto id = result.json().value("request_id").toString().toUtf8();
        for (int i = 0; i < 100; ++i) {
            auto explained = gateway_.admin("GET", "/traffic/" + id);
            if (explained.status == 200) {
                return explained.json().value("explanation").toObject();
            }
            QTest::qWait(20);
        }
        return {};
    }

    static QStringList errorClasses(const QJsonObject& explanation) {
        QStringList classes;
        for (const auto& attempt : explanation.value("tries").toArray()) {
            classes << attempt.toObject().value("error_class").toString();
        }
        return classes;
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

    void malformedUpstreamResponseIs502_data() {
        QTest::addColumn<QByteArray>("response");
        QTest::newRow("not a status line") << QByteArray("HTTP/1.1 abc\r\nno colon here\r\n\r\n");
        QTest::newRow("bare LF") << QByteArray("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
        QTest::newRow("obs-fold") << QByteArray("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n"
                                                "Content-Length: 2\r\n\r\nok");
        QTest::newRow("CR inside a value") << QByteArray("HTTP/1.1 200 OK\r\nX-A: a\rSet-Cookie: x\r\n"
                                                         "Content-Length: 2\r\n\r\nok");
        QTest::newRow("Content-Length and chunked")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n2\r\nok\r\n0\r\n\r\n");
        QTest::newRow("two lengths") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                                   "Content-Length: 3\r\n\r\nok");
        QTest::newRow("unknown transfer coding")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                          "2\r\nok\r\n0\r\n\r\n");
        QTest::newRow("head over 64 KiB")
            << "HTTP/1.1 200 OK\r\n" + ("X-Pad: " + QByteArray(90, 'p') + "\r\n").repeated(700) +
                   "Content-Length: 2\r\n\r\nok";
    }

    // An upstream response the gateway cannot relay faithfully gets the client a 502 (as nginx
    // does for these shapes), never a corrupted or split response; the try is explained as an
    // invalid response.
    void malformedUpstreamResponseIs502() {
        QFETCH(QByteArray, response);
        static int services = 0;
        QByteArray name = "malformed-" + QByteArray::number(services++).rightJustified(2, '0');
        RawUpstream bad(RawUpstream::Mode::ReplyAndClose, response.toStdString());
        addService(name, bad.port(), "/" + name, 0);  // "/malformed-NN": no route is a prefix
        waitForRoute("/" + name);
        auto result = request(gateway_.proxyPort(), "GET", "/" + name);
        QCOMPARE(result.status, 502);
        QCOMPARE(result.json().value("message").toString(),
                 QString("An invalid response was received from the upstream server"));
        QCOMPARE(errorClasses(explanationOf(result)), QStringList{"invalid_response"});
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

    // read_timeout: the upstream took the request and never answered. A GET is tried again
    // (retries), a POST is not; both end in 504.
    void upstreamReadTimeoutIs504() {
        RawUpstream silent(RawUpstream::Mode::Silent, "");
        addService("slow-read", silent.port(), "/slow-read", 1, ",\"read_timeout\":300");
        waitForRoute("/slow-read");
        int before = silent.requests();
        auto get = request(gateway_.proxyPort(), "GET", "/slow-read");
        QCOMPARE(get.status, 504);
        QCOMPARE(get.json().value("message").toString(),
                 QString("The upstream server is timing out"));
        QCOMPARE(silent.requests() - before, 2);
        QCOMPARE(errorClasses(explanationOf(get)),
                 QStringList({"read_timeout", "read_timeout"}));
        before = silent.requests();
        auto post = request(gateway_.proxyPort(), "POST", "/slow-read", "{}");
        QCOMPARE(post.status, 504);
        QCOMPARE(silent.requests() - before, 1);
        QCOMPARE(errorClasses(explanationOf(post)), QStringList({"read_timeout"}));
    }

    // connect_timeout: a listener whose accept queue is full (backlog 0 and one connection
    // waiting) makes the kernel drop further SYNs, so a connect neither succeeds nor fails.
    void upstreamConnectTimeoutIs504() {
        int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        QCOMPARE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        QCOMPARE(::listen(listener, 0), 0);
        socklen_t length = sizeof(address);
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
        int filler = ::socket(AF_INET, SOCK_STREAM, 0);
        QCOMPARE(::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        addService("slow-connect", ntohs(address.sin_port), "/slow-connect", 0,
                   ",\"connect_timeout\":300");
        waitForRoute("/slow-connect");
        auto result = request(gateway_.proxyPort(), "GET", "/slow-connect");
        ::close(filler);
        ::close(listener);
        QCOMPARE(result.status, 504);
        QCOMPARE(errorClasses(explanationOf(result)), QStringList({"connect_timeout"}));
    }

    // An upstream slower than the client's own timeouts (1 s here): the client connection waits
    // for it, idle, and is not cut off by the deadline of its last read.
    void slowUpstreamOutlastsClientTimeouts() {
        RawUpstream late(RawUpstream::Mode::DelayedReply,
                         "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlate",
                         1500);
        addService("late", late.port(), "/late", 0, ",\"read_timeout\":5000");
        QCOMPARE(gateway_.admin("GET", "/services/late").status, 200);
        // Not waitForRoute: every request here takes 1.5 s. The route is live when it stops 404ing.
        HttpResult result;
        for (int i = 0; i < 50; ++i) {
            result = request(gateway_.proxyPort(), "GET", "/late");
            if (result.status != 404) {
                break;
            }
            QTest::qWait(20);
        }
        QCOMPARE(result.status, 200);
        QCOMPARE(result.body, QByteArray("late"));
    }

    // A response that comes in pieces (server-sent events, long polling) is forwarded piece by
    // piece: the first part reaches the client while the upstream still holds the rest.
    void streamedResponseIsForwardedAsItArrives() {
        RawUpstream trickle(RawUpstream::Mode::ReplyInTwoParts,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n7\r\nfirst\r\n\r\n",
                            2000, "8\r\nsecond\r\n\r\n0\r\n\r\n");
        addService("trickle", trickle.port(), "/trickle", 0);
        QCOMPARE(gateway_.admin("GET", "/services/trickle").status, 200);
        QByteArray received;
        for (int attempt = 0; attempt < 50; ++attempt) {  // until the route is live
            QTcpSocket socket;
            socket.connectToHost(QHostAddress::LocalHost, gateway_.proxyPort());
            QVERIFY(socket.waitForConnected(2000));
            socket.write("GET /trickle HTTP/1.1\r\nHost: x\r\n\r\n");
            QElapsedTimer timer;
            timer.start();
            received.clear();
            while (timer.elapsed() < 1500 && !received.contains("first") &&
                   !received.startsWith("HTTP/1.1 404")) {
                if (socket.waitForReadyRead(50)) {
                    received += socket.readAll();
                }
            }
            if (!received.startsWith("HTTP/1.1 404")) {
                // Well before the upstream sends its second part (2 s after the first).
                QVERIFY2(received.contains("first"), received.constData());
                QVERIFY2(!received.contains("second"), received.constData());
                while (timer.elapsed() < 5000 && !received.contains("0\r\n\r\n")) {
                    if (socket.waitForReadyRead(50)) {
                        received += socket.readAll();
                    }
                }
                QVERIFY2(received.contains("second"), received.constData());
                return;
            }
            QTest::qWait(20);
        }
        QFAIL("the route never went live");
    }

    // The upstream promises 100 bytes and closes after 10: the head is already out, so the
    // client gets those 10 and a closed connection (never a response that looks complete).
    void upstreamClosingMidBodyCutsTheClient() {
        RawUpstream cut(RawUpstream::Mode::ReplyAndClose,
                        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        addService("cut", cut.port(), "/cut", 0);
        waitForRoute("/cut");
        QByteArray received;
        QVERIFY(closedWithin("GET /cut HTTP/1.1\r\nHost: x\r\n\r\n", 3000, &received));
        QVERIFY2(received.startsWith("HTTP/1.1 200"), received.constData());
        QVERIFY2(received.contains("Content-Length: 100\r\n"), received.constData());
        QVERIFY2(received.endsWith("\r\n\r\n0123456789"), received.constData());
    }

    // The client's Connection header decides whether its connection stays open: HTTP/1.1 stays
    // unless told "close" (any case, any position in the list), HTTP/1.0 closes unless told
    // "keep-alive".
    void clientConnectionHeaderDecidesKeepAlive() {
        QByteArray received;
        QVERIFY(closedWithin("GET /e/a HTTP/1.0\r\nHost: x\r\n\r\n", 3000, &received));
        QVERIFY2(received.startsWith("HTTP/1.0 200"), received.constData());
        QVERIFY2(!received.contains("Connection: keep-alive"), received.constData());

        QVERIFY(closedWithin("GET /e/b HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n",
                             3000, &received));
        QVERIFY2(received.startsWith("HTTP/1.1 200"), received.constData());
        QVERIFY2(received.contains("Connection: close\r\n"), received.constData());

        // Two HTTP/1.0 requests on one connection: the first asks to keep it, the second not.
        QVERIFY(closedWithin("GET /e/c HTTP/1.0\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n"
                             "GET /e/d HTTP/1.0\r\nHost: x\r\n\r\n",
                             3000, &received));
        QCOMPARE(received.count("HTTP/1.0 200"), 2);
        auto second = received.indexOf("HTTP/1.0 200", 1);
        QVERIFY2(received.left(second).contains("Connection: keep-alive\r\n"), received.constData());
        QVERIFY2(!received.mid(second).contains("Connection: keep-alive"), received.constData());

        // Without a Connection header an HTTP/1.1 connection stays open for the next request.
        QVERIFY(!closedWithin("GET /e/e HTTP/1.1\r\nHost: x\r\n\r\n", 300, &received));
    }

    // Interim responses (103 Early Hints here) reach an HTTP/1.1 client ahead of the final
    // response, which follows on the same connection; an HTTP/1.0 client gets the final one only.
    void interimResponsesAreRelayedBeforeTheFinalOne() {
        RawUpstream up(RawUpstream::Mode::ReplyAndClose,
                       "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        addService("hints", up.port(), "/hints", 0);  // not under "/e"
        waitForRoute("/hints");
        QByteArray raw = rawExchange(
            gateway_.proxyPort(), "GET /hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            3000);
        QVERIFY2(raw.startsWith("HTTP/1.1 103 Early Hints\r\n"), raw.constData());
        auto final_at = raw.indexOf("HTTP/1.1 200 OK\r\n");
        QVERIFY2(final_at > 0, raw.constData());
        QVERIFY2(raw.left(final_at).contains("\r\nLink: </style.css>; rel=preload\r\n\r\n"),
                 raw.constData());
        QVERIFY2(raw.endsWith("\r\n\r\nok"), raw.constData());

        QByteArray old = rawExchange(gateway_.proxyPort(),
                                     "GET /hints HTTP/1.0\r\nHost: x\r\n\r\n", 3000);
        QVERIFY2(old.startsWith("HTTP/1.0 200 OK\r\n"), old.constData());
        // Neither the interim status line nor its fields reach an HTTP/1.0 client. (Not just
        // "103": the random request id in the final head can contain those digits.)
        QVERIFY2(!old.contains("Early Hints"), old.constData());
        QVERIFY2(!old.contains("Link: </style.css>"), old.constData());
        QVERIFY2(old.endsWith("\r\n\r\nok"), old.constData());
    }

    // An upstream that sends nothing but interim responses gets the client a 502 after 8 of them.
    void endlessInterimResponsesEndInA502() {
        QByteArray reply;
        for (int i = 0; i < 12; ++i) {
            reply += "HTTP/1.1 102 Processing\r\n\r\n";
        }
        RawUpstream up(RawUpstream::Mode::ReplyAndClose, reply.toStdString());
        addService("processing", up.port(), "/processing", 0);
        waitForRoute("/processing");
        QByteArray raw = rawExchange(
            gateway_.proxyPort(),
            "GET /processing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
        QCOMPARE(raw.count("HTTP/1.1 102 Processing\r\n"), 8);
        QVERIFY2(raw.contains("HTTP/1.1 502 Bad Gateway\r\n"), raw.constData());
        QVERIFY2(raw.contains("An invalid response was received from the upstream server"),
                 raw.constData());
    }

    // The head the client gets is rewritten from the upstream's: its status line in the client's
    // version with the upstream's reason, every end-to-end field in order, the hop-by-hop ones
    // gone (also those its Connection header names, even before they are named), Via extended,
    // the upstream's Server kept.
    void responseHeadDropsHopByHopFields() {
        RawUpstream up(RawUpstream::Mode::ReplyAndClose,
                       "HTTP/1.1 299 Custom Reason\r\n"
                       "X-Internal: secret\r\n"
                       "X-First: 1\r\n"
                       "Connection: keep-alive, X-Internal, x-other\r\n"
                       "Keep-Alive: timeout=5\r\n"
                       "Via: 1.1 upstream-cache\r\n"
                       "X-Other: also secret\r\n"
                       "Server: up/1\r\n"
                       "X-Last: 2\r\n"
                       "Content-Length: 2\r\n\r\nok");
        addService("headrewrite", up.port(), "/head-rewrite", 0);  // not under "/e"
        waitForRoute("/head-rewrite");
        QByteArray raw = rawExchange(
            gateway_.proxyPort(),
            "GET /head-rewrite HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
        auto head_end = raw.indexOf("\r\n\r\n");
        QVERIFY2(head_end > 0, raw.constData());
        QByteArray head = raw.left(head_end + 2);
        QVERIFY2(head.startsWith("HTTP/1.1 299 Custom Reason\r\n"), raw.constData());
        QVERIFY2(!head.contains("X-Internal") && !head.contains("secret"), raw.constData());
        QVERIFY2(!head.contains("X-Other") && !head.contains("Keep-Alive"), raw.constData());
        QVERIFY2(head.contains("\r\nX-First: 1\r\nServer: up/1\r\nX-Last: 2\r\n"),
                 raw.constData());
        QVERIFY2(head.contains("\r\nVia: 1.1 upstream-cache, 1.1 portico/"), raw.constData());
        QVERIFY2(head.contains("\r\nContent-Length: 2\r\n"), raw.constData());
        QVERIFY2(head.contains("\r\nConnection: close\r\n"), raw.constData());
        QCOMPARE(raw.mid(head_end + 4), QByteArray("ok"));
    }

    // A body with neither length nor chunking ends with the upstream's connection: all of it is
    // relayed, chunked to an HTTP/1.1 client, and properly terminated.
    void bodyEndingWithTheConnectionIsRelayedWhole() {
        RawUpstream eof(RawUpstream::Mode::ReplyAndClose,
                        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
        addService("eof", eof.port(), "/until-close", 0);  // not under "/e"
        waitForRoute("/until-close");
        QByteArray raw = rawExchange(gateway_.proxyPort(),
                                     "GET /until-close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                     3000);
        auto head_end = raw.indexOf("\r\n\r\n");
        QVERIFY2(head_end > 0, raw.constData());
        QVERIFY2(raw.left(head_end).contains("Transfer-Encoding: chunked"), raw.constData());
        QByteArray framed = raw.mid(head_end + 4);
        QByteArray body;
        bool terminated = false;
        while (!framed.isEmpty()) {  // undo the chunked framing
            auto line_end = framed.indexOf("\r\n");
            QVERIFY2(line_end > 0, raw.constData());
            bool ok = false;
            int size = framed.left(line_end).toInt(&ok, 16);
            QVERIFY2(ok, raw.constData());
            if (size == 0) {
                terminated = framed.mid(line_end) == "\r\n\r\n";
                break;
            }
            body += framed.mid(line_end + 2, size);
            framed = framed.mid(line_end + 2 + size + 2);
        }
        QCOMPARE(body, QByteArray("all of it"));
        QVERIFY2(terminated, raw.constData());
    }

    void stillServing() {
        QVERIFY(gateway_.running());
        QCOMPARE(request(gateway_.proxyPort(), "GET", "/e/ok").status, 200);
    }
};

QTEST_GUILESS_MAIN(ProxyHostileTest)
#include "test_proxy_hostile.moc"
