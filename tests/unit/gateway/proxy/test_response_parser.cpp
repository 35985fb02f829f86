// ResponseParser, the proxy's parser of upstream responses: the head it writes for the client,
// body framing (length, chunked, until the connection ends, none), keep-alive, and the malformed
// shapes it must refuse. Every well-formed case is also fed in pieces of every size from one
// byte up, the way bytes arrive from a socket, and must come out the same.

#include "gateway/proxy/response_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <QtTest>

#include <string>

using portico::proxy::ResponseParser;
using boost::system::error_code;
namespace bhttp = boost::beast::http;

namespace {

struct Outcome {
    std::string head;
    std::string body;
    error_code ec;  // the first error other than need_more/need_buffer; eof handled by put_eof
    bool header_done = false;
    bool done = false;
};

// Feeds `wire` to a parser `step` bytes at a time as the proxy's relay does: bytes not used stay
// pending and are handed in again with the next ones; the body goes into a 7-byte buffer that is
// emptied whenever the parser asks for room (need_buffer). `eof`: the connection ends after the
// last byte.
Outcome feed(const std::string& wire, std::size_t step, bool eof = false, bool head_request = false,
             unsigned client_version = 11) {
    Outcome out;
    ResponseParser parser(client_version, out.head);
    parser.header_limit(4096);
    parser.skip(head_request);
    std::string pending;
    char room[7];
    auto give_room = [&] {
        parser.body().data = room;
        parser.body().size = sizeof room;
    };
    auto take_room = [&] {
        if (parser.body().data != nullptr) {
            out.body.append(room, sizeof room - parser.body().size);
        }
        give_room();
    };
    give_room();
    for (std::size_t at = 0; at < wire.size() && !out.ec; at += step) {
        pending.append(wire, at, step);
        for (;;) {
            error_code ec;
            std::size_t used = parser.put(pending.data(), pending.size(), ec);
            pending.erase(0, used);
            if (ec == bhttp::error::need_buffer) {
                take_room();
                continue;
            }
            if (ec && ec != bhttp::error::need_more) {
                out.ec = ec;
            }
            if (ec || used == 0 || pending.empty() || parser.is_done()) {
                break;
            }
        }
        if (parser.is_done()) {
            break;
        }
    }
    if (!out.ec && eof) {
        parser.put_eof(out.ec);
    }
    take_room();
    out.header_done = parser.is_header_done();
    out.done = parser.is_done();
    return out;
}

}  // namespace

class ResponseParserTest : public QObject {
    Q_OBJECT

private slots:
    void wellFormed_data() {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<bool>("eof");
        QTest::addColumn<QByteArray>("head");
        QTest::addColumn<QByteArray>("body");

        QTest::newRow("content-length")
            << QByteArray("HTTP/1.1 200 OK\r\nServer: up\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 11\r\n\r\nhello world")
            << false << QByteArray("HTTP/1.1 200 OK\r\nServer: up\r\nContent-Type: text/plain\r\n")
            << QByteArray("hello world");
        QTest::newRow("chunked with extensions and trailers")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                          "5;name=value\r\nhello\r\n1 ; x\r\n \r\nA\r\n0123456789\r\n"
                          "0\r\nX-Trailer: t\r\n\r\n")
            << false << QByteArray("HTTP/1.1 200 OK\r\n") << QByteArray("hello 0123456789");
        QTest::newRow("until the connection ends")
            << QByteArray("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it, however long")
            << true << QByteArray("HTTP/1.1 200 OK\r\n") << QByteArray("all of it, however long");
        QTest::newRow("values trimmed, names kept as sent")
            << QByteArray("HTTP/1.1 201 Created\r\nx-lower:   padded \t\r\nX-Empty:\r\n"
                          "Content-Length: 0\r\n\r\n")
            << false << QByteArray("HTTP/1.1 201 Created\r\nx-lower: padded\r\nX-Empty: \r\n")
            << QByteArray();
        QTest::newRow("no reason phrase: the standard one")
            << QByteArray("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n") << false
            << QByteArray("HTTP/1.1 404 Not Found\r\n") << QByteArray();
        QTest::newRow("hop-by-hop fields dropped, also those Connection names before it")
            << QByteArray("HTTP/1.1 200 OK\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                          "X-Kept: 2\r\nConnection: keep-alive, x-secret\r\nTE: trailers\r\n"
                          "Trailer: X\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\n"
                          "Proxy-Connection: close\r\nContent-Length: 1\r\n\r\n!")
            << false << QByteArray("HTTP/1.1 200 OK\r\nX-Kept: 2\r\n") << QByteArray("!");
        QTest::newRow("obs-text and tabs inside a value")
            << QByteArray("HTTP/1.1 200 OK\r\nX-Text: caf\xc3\xa9\tand more text here\r\n"
                          "Content-Length: 0\r\n\r\n")
            << false << QByteArray("HTTP/1.1 200 OK\r\nX-Text: caf\xc3\xa9\tand more text here\r\n")
            << QByteArray();
    }

    // The same head and body whatever pieces the bytes come in.
    void wellFormed() {
        QFETCH(QByteArray, wire);
        QFETCH(bool, eof);
        QFETCH(QByteArray, head);
        QFETCH(QByteArray, body);
        for (std::size_t step = 1; step <= static_cast<std::size_t>(wire.size()); ++step) {
            auto out = feed(wire.toStdString(), step, eof);
            QVERIFY2(!out.ec, qPrintable(QString("step %1: %2").arg(step).arg(
                                   QString::fromStdString(out.ec.message()))));
            QVERIFY2(out.done, qPrintable(QString("step %1").arg(step)));
            QCOMPARE(QByteArray::fromStdString(out.head), head);
            QCOMPARE(QByteArray::fromStdString(out.body), body);
        }
    }

    void headToAnHttp10Client() {
        std::string head;
        ResponseParser parser(10, head);
        std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        error_code ec;
        QCOMPARE(parser.put(wire.data(), wire.size(), ec), wire.size());
        QVERIFY(!ec);
        QCOMPARE(QByteArray::fromStdString(head), QByteArray("HTTP/1.0 200 OK\r\n"));
        QCOMPARE(parser.version(), 11u);
    }

    void whatTheCallerNeeds() {
        std::string head;
        ResponseParser parser(11, head);
        std::string wire = "HTTP/1.1 200 OK\r\nVia: 1.1 cache-a\r\nVia: 1.1 cache-b\r\n"
                           "Upgrade: websocket\r\nServer: up\r\nContent-Length: 42\r\n\r\n";
        error_code ec;
        QCOMPARE(parser.put(wire.data(), wire.size(), ec), wire.size());
        QVERIFY(!ec);
        QCOMPARE(parser.status(), 200u);
        QVERIFY(parser.hasServer());
        QCOMPARE(QString::fromStdString(parser.via()), QString("1.1 cache-a"));
        QCOMPARE(QString::fromStdString(parser.upgrade()), QString("websocket"));
        QVERIFY(parser.content_length().has_value());
        QCOMPARE(*parser.content_length(), std::uint64_t{42});
        QVERIFY(!parser.chunked());
        QVERIFY(parser.is_header_done());
        QVERIFY(!parser.is_done());
    }

    // A length-framed body that is all there is relayed by the caller in place; one that is
    // not, or is chunked, is not.
    void bodyInPlace() {
        std::string head;
        ResponseParser whole(11, head);
        std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        error_code ec;
        std::size_t used = whole.put(wire.data(), wire.size(), ec);
        QCOMPARE(whole.bodyInPlace(wire.size() - used - 1), std::size_t{0});
        QVERIFY(!whole.is_done());
        QCOMPARE(whole.bodyInPlace(wire.size() - used), std::size_t{5});
        QVERIFY(whole.is_done());
        QVERIFY(whole.keep_alive());

        ResponseParser chunked(11, head);
        wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        used = chunked.put(wire.data(), wire.size(), ec);
        QCOMPARE(chunked.bodyInPlace(wire.size() - used), std::size_t{0});
        QVERIFY(!chunked.is_done());
    }

    // Nothing is used until the head is whole: the caller keeps the bytes.
    void partialHeadUsesNothing() {
        std::string head;
        ResponseParser parser(11, head);
        std::string wire = "HTTP/1.1 200 OK\r\nContent-Le";
        error_code ec;
        QCOMPARE(parser.put(wire.data(), wire.size(), ec), std::size_t{0});
        QCOMPARE(ec, error_code(bhttp::error::need_more));
        QVERIFY(parser.got_some());
        QVERIFY(!parser.is_header_done());
        parser.put_eof(ec);
        QCOMPARE(ec, error_code(bhttp::error::partial_message));
    }

    void noBody_data() {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<bool>("head_request");
        QTest::newRow("204") << QByteArray("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")
                             << false;
        QTest::newRow("304") << QByteArray("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n")
                             << false;
        QTest::newRow("103") << QByteArray("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
                             << false;
        QTest::newRow("101") << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n"
                                           "Connection: upgrade\r\n\r\n")
                             << false;
        QTest::newRow("HEAD") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
                              << true;
        QTest::newRow("HEAD, chunked") << QByteArray("HTTP/1.1 200 OK\r\n"
                                                     "Transfer-Encoding: chunked\r\n\r\n")
                                       << true;
    }

    // Done at the end of the head, whatever its framing fields say; bytes after it are left.
    void noBody() {
        QFETCH(QByteArray, wire);
        QFETCH(bool, head_request);
        std::string head;
        ResponseParser parser(11, head);
        parser.skip(head_request);
        std::string bytes = wire.toStdString() + "NEXT";
        error_code ec;
        QCOMPARE(parser.put(bytes.data(), bytes.size(), ec), bytes.size() - 4);
        QVERIFY(!ec);
        QVERIFY(parser.is_done());
    }

    void keepAlive_data() {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<bool>("eof");
        QTest::addColumn<bool>("keep");
        QTest::newRow("1.1") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") << false
                             << true;
        QTest::newRow("1.1 close") << QByteArray("HTTP/1.1 200 OK\r\nConnection: x, Close\r\n"
                                                 "Content-Length: 0\r\n\r\n")
                                   << false << false;
        QTest::newRow("1.0") << QByteArray("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") << false
                             << false;
        QTest::newRow("1.0 keep-alive") << QByteArray("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
                                                      "Content-Length: 0\r\n\r\n")
                                        << false << true;
        QTest::newRow("1.1 until eof") << QByteArray("HTTP/1.1 200 OK\r\n\r\nbody") << true << false;
    }

    void keepAlive() {
        QFETCH(QByteArray, wire);
        QFETCH(bool, eof);
        QFETCH(bool, keep);
        std::string head;
        ResponseParser parser(11, head);
        std::string bytes = wire.toStdString();
        error_code ec;
        std::size_t used = parser.put(bytes.data(), bytes.size(), ec);
        QVERIFY(!ec);
        if (eof) {
            char room[16];
            parser.body() = {room, sizeof room};
            parser.put(bytes.data() + used, bytes.size() - used, ec);
            QVERIFY(!ec);
            QVERIFY(parser.need_eof());
            parser.put_eof(ec);
            QVERIFY(!ec);
        }
        QVERIFY(parser.is_done());
        QCOMPARE(parser.keep_alive(), keep);
    }

    void malformed_data() {
        QTest::addColumn<QByteArray>("wire");
        QTest::addColumn<int>("error");
        using E = bhttp::error;
        auto row = [](const char* name, QByteArray wire, E error) {
            QTest::newRow(name) << wire << static_cast<int>(error);
        };
        row("not HTTP", "HTTP/1.1 abc\r\nno colon here\r\n\r\n", E::bad_status);
        row("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", E::bad_version);
        row("lowercase http", "http/1.1 200 OK\r\n\r\n", E::bad_version);
        row("status below 100", "HTTP/1.1 099 Low\r\n\r\n", E::bad_status);
        row("no space after the status", "HTTP/1.1 200OK\r\n\r\n", E::bad_status);
        row("control character in the reason", QByteArray("HTTP/1.1 200 O\x01K\r\n\r\n"),
            E::bad_reason);
        row("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", E::bad_line_ending);
        row("bare LF after a field", "HTTP/1.1 200 OK\r\nX-A: 1\n\r\n", E::bad_line_ending);
        row("obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", E::bad_field);
        row("space before the colon", "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", E::bad_field);
        row("no colon", "HTTP/1.1 200 OK\r\nX-A 1\r\n\r\n", E::bad_field);
        row("empty name", "HTTP/1.1 200 OK\r\n: 1\r\n\r\n", E::bad_field);
        row("name with a slash", "HTTP/1.1 200 OK\r\nX/A: 1\r\n\r\n", E::bad_field);
        row("CR inside a value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", E::bad_value);
        static const char with_nul[] = "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n";
        row("NUL inside a value", QByteArray(with_nul, sizeof with_nul - 1), E::bad_value);
        row("DEL deep inside a long value",
            "HTTP/1.1 200 OK\r\nX-A: aaaaaaaaaaaaaaaaaaaa\x7f" "aaaa\r\n\r\n", E::bad_value);
        row("two Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
            E::bad_content_length);
        row("Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n",
            E::bad_content_length);
        row("signed Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n",
            E::bad_content_length);
        row("empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
            E::bad_content_length);
        row("Content-Length over 64 bits",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            E::bad_content_length);
        row("Content-Length and chunked",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            E::bad_transfer_encoding);
        row("chunked and Content-Length",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            E::bad_transfer_encoding);
        row("a coding other than chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            E::bad_transfer_encoding);
        row("chunked after another coding",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", E::bad_transfer_encoding);
        row("Transfer-Encoding twice",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            E::bad_transfer_encoding);
        row("chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
            E::bad_chunk);
        row("chunk size followed by junk",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
            E::bad_chunk);
        row("chunk size too large",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000000000000000\r\n",
            E::bad_chunk);
        row("chunk without its CRLF",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",
            E::bad_chunk);
        row("chunk size line with a bare LF",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n",
            E::bad_chunk);
        row("control character in a chunk extension",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a\x01\r\nok\r\n0\r\n\r\n",
            E::bad_chunk_extension);
        row("trailer with a bare LF",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\r\n",
            E::bad_line_ending);
        row("head over the limit",
            "HTTP/1.1 200 OK\r\nX-Pad: " + QByteArray(5000, 'p') + "\r\n\r\n", E::header_limit);
        row("incomplete head over the limit", "HTTP/1.1 200 OK\r\nX-Pad: " + QByteArray(5000, 'p'),
            E::header_limit);
        row("trailers over the limit",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " +
                QByteArray(5000, 't') + "\r\n\r\n",
            E::header_limit);
    }

    // Each shape is refused with its error, whatever pieces it comes in.
    void malformed() {
        QFETCH(QByteArray, wire);
        QFETCH(int, error);
        error_code expected = static_cast<bhttp::error>(error);
        for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{16},
                                 static_cast<std::size_t>(wire.size())}) {
            auto out = feed(wire.toStdString(), step);
            QVERIFY2(out.ec == expected,
                     qPrintable(QString("step %1: got '%2', expected '%3'")
                                    .arg(step)
                                    .arg(QString::fromStdString(out.ec.message()),
                                         QString::fromStdString(expected.message()))));
            QVERIFY(!out.done);
        }
    }

    // A body cut short by the connection's end is an error, not a short body.
    void truncatedBody_data() {
        QTest::addColumn<QByteArray>("wire");
        QTest::newRow("length") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        QTest::newRow("chunked") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                               "\r\n5\r\nhello\r\n");
        QTest::newRow("trailers") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                                "\r\n0\r\nX-T: 1\r\n");
    }

    void truncatedBody() {
        QFETCH(QByteArray, wire);
        auto out = feed(wire.toStdString(), static_cast<std::size_t>(wire.size()), true);
        QCOMPARE(out.ec, error_code(bhttp::error::partial_message));
        QVERIFY(out.header_done);
        QVERIFY(!out.done);
    }
};

QTEST_APPLESS_MAIN(ResponseParserTest)
#include "test_response_parser.moc"
