// Portico's traffic endpoints (GET /traffic, /traffic/stream, /traffic/{id}, /metrics) as a
// handler, and the server-sent events path of http::HttpServer over a real socket.

#include "gateway/admin/admin_api.hpp"
#include "gateway/admin/traffic_api.hpp"
#include "gateway/http/http_server.hpp"
#include "gateway/store/store.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <QDeadlineTimer>
#include <QTcpSocket>
#include <QtTest>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace json = boost::json;
namespace asio = boost::asio;
using portico::admin::handleTrafficEndpoint;
using portico::http::EventSource;
using portico::http::Handler;
using portico::http::HttpRequest;
using portico::http::HttpResponse;
using portico::http::HttpServer;
using portico::http::ServerLimits;
using portico::proxy::Explanation;
using portico::proxy::Metrics;
using portico::proxy::TrafficRecord;
using portico::proxy::TrafficRing;
using portico::proxy::TryRecord;

namespace {

std::vector<std::string> pathSegments(const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    std::vector<std::string> segments;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        if (end > start) {
            segments.push_back(path.substr(start, end - start));
        }
        start = end + 1;
    }
    return segments;
}

TrafficRecord makeRecord(std::string id, int status, std::string route, std::string service,
                         bool gateway_error = false) {
    TrafficRecord record;
    record.time = 1700000000.25;
    record.request_id = std::move(id);
    record.method = "GET";
    record.host = "api.test";
    record.path = "/v2/items";
    record.route = std::move(route);
    record.service = std::move(service);
    record.address = "10.0.0.1:8080";
    record.status = status;
    record.gateway_error = gateway_error;
    record.latency_ms = 12.5;
    record.upstream_latency_ms = 10;
    record.proxy_latency_ms = 0.5;
    record.bytes_in = 3;
    record.bytes_out = 42;
    return record;
}

void fillFeed(TrafficRing& ring) {
    ring.push(makeRecord("a", 200, "orders", "orders-svc"));
    ring.push(makeRecord("b", 502, "orders", "orders-svc", true));
    ring.push(makeRecord("c", 404, "users", "users-svc"));
    ring.push(makeRecord("d", 503, "users", "users-svc"));
    TrafficRecord e = makeRecord("e", 504, "users", "users-svc", true);
    e.path = "/v1/Checkout";
    ring.push(e);
}

Explanation makeExplanation(std::string id) {
    Explanation explanation;
    explanation.request_id = std::move(id);
    explanation.time = 1700000000.5;
    explanation.status = 502;
    explanation.message = "An invalid response was received from the upstream server";
    explanation.route_id = "r-id";
    explanation.route_name = "orders";
    explanation.service_id = "s-id";
    explanation.service_name = "orders-svc";
    explanation.target = "orders.internal:8080";
    explanation.tries.push_back(TryRecord{"10.0.0.1:8080", "connect_refused", "refused", 1.5});
    explanation.tries.push_back(TryRecord{"10.0.0.2:8080", "reset", "reset by peer", 3});
    explanation.summary = "all 2 tries failed: connection refused, then reset";
    explanation.details = {"target 10.0.0.1:8080: unhealthy (passive: 3 http failures)"};
    return explanation;
}

QStringList dataIds(const json::value& body) {
    QStringList out;
    const auto& data = body.at("data").as_array();
    for (const auto& item : data) {
        out << QString::fromStdString(std::string(item.at("request_id").as_string()));
    }
    return out;
}

// The request ids of the `event: request` messages in a piece of an event stream.
QStringList eventIds(const std::string& text) {
    QStringList out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find("\n\n", start);
        if (end == std::string::npos) {
            break;
        }
        std::string block = text.substr(start, end - start);
        start = end + 2;
        if (block.find("event: request\n") == std::string::npos) {
            continue;
        }
        auto data = block.find("data: ");
        if (data == std::string::npos) {
            continue;
        }
        json::value record = json::parse(block.substr(data + 6));
        out << QString::fromStdString(std::string(record.at("request_id").as_string()));
    }
    return out;
}

portico::core::ListenAddress loopbackAnyPort() {
    portico::core::ListenAddress address;
    address.host = "127.0.0.1";
    address.port = 0;
    return address;
}

// An HttpServer on 127.0.0.1, port 0, with its io_context running on a thread of its own.
class ServerFixture {
public:
    ServerFixture(Handler handler, ServerLimits limits = {})
        : guard_(asio::make_work_guard(io_)),
          server_(io_, loopbackAnyPort(), std::move(handler), limits, "test") {
        server_.start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~ServerFixture() {
        io_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return server_.port(); }
    void stopServer() {
        asio::post(io_, [this] { server_.stop(); });
    }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    HttpServer server_;
    std::thread thread_;
};

// Reads from `socket` into `buffer` until `done(buffer)` or `ms` milliseconds have passed.
bool readUntil(QTcpSocket& socket, QByteArray& buffer,
               const std::function<bool(const QByteArray&)>& done, int ms = 5000) {
    QDeadlineTimer deadline(ms);
    while (!done(buffer)) {
        if (deadline.hasExpired()) {
            return false;
        }
        if (socket.bytesAvailable() == 0 && !socket.waitForReadyRead(static_cast<int>(
                                                std::max<qint64>(1, deadline.remainingTime())))) {
            if (socket.state() != QAbstractSocket::ConnectedState) {
                buffer += socket.readAll();
                return done(buffer);
            }
        }
        buffer += socket.readAll();
    }
    return true;
}

bool headersComplete(const QByteArray& buffer) {
    return buffer.contains("\r\n\r\n");
}

// An EventSource that yields nothing and reports its polls and its end.
class QuietSource : public EventSource {
public:
    QuietSource(std::shared_ptr<std::atomic<int>> polls, std::shared_ptr<std::atomic<bool>> ended)
        : polls_(std::move(polls)), ended_(std::move(ended)) {}
    ~QuietSource() override { *ended_ = true; }
    std::string poll() override {
        ++*polls_;
        return "";
    }

private:
    std::shared_ptr<std::atomic<int>> polls_;
    std::shared_ptr<std::atomic<bool>> ended_;
};

}  // namespace

class TrafficApiTest : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<TrafficRing> ring_;
    std::unique_ptr<Metrics> metrics_;
    std::string allow_;

    std::optional<HttpResponse> call(const std::string& method, const std::string& target,
                                     portico::http::Headers headers = {}) {
        HttpRequest request;
        request.method = method;
        request.target = target;
        request.headers = std::move(headers);
        request.peer = "127.0.0.1";
        allow_.clear();
        return handleTrafficEndpoint(*ring_, *metrics_, request, pathSegments(target), allow_);
    }

    Handler trafficHandler() {
        return [this](const HttpRequest& request) {
            std::string allow;
            auto response = handleTrafficEndpoint(*ring_, *metrics_, request,
                                                  pathSegments(request.target), allow);
            if (response) {
                return *response;
            }
            HttpResponse not_found;
            not_found.status = 404;
            return not_found;
        };
    }

private slots:
    void init() {
        ring_ = std::make_unique<TrafficRing>(100, 10);
        metrics_ = std::make_unique<Metrics>();
    }

    void otherPathsAreNotOurs() {
        for (std::string target : {"/", "/services", "/traffic/a/b", "/metrics/x", "/trafficx"}) {
            auto response = call("GET", target);
            QVERIFY2(!response.has_value(), target.c_str());
            QVERIFY(allow_.empty());
        }
    }

    void listNewestFirstWithEveryField() {
        fillFeed(*ring_);
        auto response = call("GET", "/traffic");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        QCOMPARE(allow_, std::string("GET"));
        QCOMPARE(std::string(response->header("Content-Type").value_or("")),
                 std::string("application/json; charset=utf-8"));
        json::value body = json::parse(response->body);
        QCOMPARE(body.as_object().size(), std::size_t(2));
        QVERIFY(body.at("next").is_null());
        QCOMPARE(dataIds(body), QStringList({"e", "d", "c", "b", "a"}));

        const auto& b = body.at("data").as_array().at(3).as_object();
        QCOMPARE(b.size(), std::size_t(16));
        QCOMPARE(b.at("sequence").to_number<std::uint64_t>(), std::uint64_t(2));
        QCOMPARE(b.at("time").to_number<double>(), 1700000000.25);
        QCOMPARE(std::string(b.at("request_id").as_string()), std::string("b"));
        QCOMPARE(std::string(b.at("method").as_string()), std::string("GET"));
        QCOMPARE(std::string(b.at("host").as_string()), std::string("api.test"));
        QCOMPARE(std::string(b.at("path").as_string()), std::string("/v2/items"));
        QCOMPARE(std::string(b.at("route").as_string()), std::string("orders"));
        QCOMPARE(std::string(b.at("service").as_string()), std::string("orders-svc"));
        QCOMPARE(std::string(b.at("address").as_string()), std::string("10.0.0.1:8080"));
        QCOMPARE(b.at("status").to_number<int>(), 502);
        QCOMPARE(b.at("gateway_error").as_bool(), true);
        QCOMPARE(b.at("latency_ms").to_number<double>(), 12.5);
        QCOMPARE(b.at("upstream_latency_ms").to_number<double>(), 10.0);
        QCOMPARE(b.at("proxy_latency_ms").to_number<double>(), 0.5);
        QCOMPARE(b.at("bytes_in").to_number<std::uint64_t>(), std::uint64_t(3));
        QCOMPARE(b.at("bytes_out").to_number<std::uint64_t>(), std::uint64_t(42));
    }

    void listEmpty() {
        auto response = call("GET", "/traffic");
        QVERIFY(response.has_value());
        QCOMPARE(response->body, std::string("{\"data\":[],\"next\":null}"));
    }

    void headIsGet() {
        fillFeed(*ring_);
        auto get = call("GET", "/traffic");
        auto head = call("HEAD", "/traffic");
        QVERIFY(get && head);
        QCOMPARE(head->status, 200);
        QCOMPARE(head->body, get->body);  // the server drops it and keeps the length
    }

    void listFilters_data() {
        QTest::addColumn<QString>("query");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("none") << "" << QStringList({"e", "d", "c", "b", "a"});
        QTest::newRow("5xx") << "status=5xx" << QStringList({"e", "d", "b"});
        QTest::newRow("4XX") << "status=4XX" << QStringList({"c"});
        QTest::newRow("class digit") << "status=2" << QStringList({"a"});
        QTest::newRow("exact status") << "status=503" << QStringList({"d"});
        QTest::newRow("route") << "route=users" << QStringList({"e", "d", "c"});
        QTest::newRow("service") << "service=orders-svc" << QStringList({"b", "a"});
        QTest::newRow("free text") << "q=checkout" << QStringList({"e"});
        QTest::newRow("free text, percent-encoded") << "q=%2Fv1%2F" << QStringList({"e"});
        QTest::newRow("gateway errors") << "errors=1" << QStringList({"e", "b"});
        QTest::newRow("errors=true and route") << "errors=true&route=orders" << QStringList({"b"});
        QTest::newRow("errors=0") << "errors=0" << QStringList({"e", "d", "c", "b", "a"});
        QTest::newRow("size") << "size=2" << QStringList({"e", "d"});
        QTest::newRow("size and filter") << "size=1&status=5xx" << QStringList({"e"});
        QTest::newRow("size 1000") << "size=1000" << QStringList({"e", "d", "c", "b", "a"});
        QTest::newRow("nothing matches") << "route=nope" << QStringList();
        QTest::newRow("unknown parameters are ignored")
            << "foo=bar" << QStringList({"e", "d", "c", "b", "a"});
    }

    void listFilters() {
        QFETCH(QString, query);
        QFETCH(QStringList, expected);
        fillFeed(*ring_);
        auto response = call("GET", "/traffic?" + query.toStdString());
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        json::value body = json::parse(response->body);
        QCOMPARE(dataIds(body), expected);
    }

    void badSize_data() {
        QTest::addColumn<QString>("size");
        QTest::newRow("zero") << "0";
        QTest::newRow("too big") << "1001";
        QTest::newRow("negative") << "-1";
        QTest::newRow("not a number") << "abc";
        QTest::newRow("fraction") << "2.5";
        QTest::newRow("empty") << "";
        QTest::newRow("huge") << "99999999999999999999999";
    }

    void badSize() {
        QFETCH(QString, size);
        auto response = call("GET", "/traffic?size=" + size.toStdString());
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 400);
        QCOMPARE(
            json::parse(response->body),
            json::value(json::object{{"code", 9},
                                     {"name", "invalid size"},
                                     {"message", "size must be an integer between 1 and 1000"}}));
    }

    void badFilters_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("status class 6xx") << "/traffic?status=6xx"
                                          << "status";
        QTest::newRow("status word") << "/traffic?status=bad"
                                     << "status";
        QTest::newRow("status 99") << "/traffic?status=99"
                                   << "status";
        QTest::newRow("errors") << "/traffic?errors=maybe"
                                << "errors";
        QTest::newRow("stream status") << "/traffic/stream?status=5yy"
                                       << "status";
        QTest::newRow("stream since") << "/traffic/stream?since=abc"
                                      << "since";
        QTest::newRow("stream negative since") << "/traffic/stream?since=-3"
                                               << "since";
    }

    void badFilters() {
        QFETCH(QString, target);
        QFETCH(QString, mentions);
        auto response = call("GET", target.toStdString());
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 400);
        QVERIFY(!response->stream);
        json::value body = json::parse(response->body);
        std::string message(body.at("message").as_string());
        QVERIFY2(message.find(mentions.toStdString()) == 0, message.c_str());
    }

    void showRequestWithExplanation() {
        fillFeed(*ring_);
        ring_->explain(makeExplanation("b"));
        auto response = call("GET", "/traffic/b");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        QCOMPARE(allow_, std::string("GET"));
        json::value body = json::parse(response->body);
        QCOMPARE(body.as_object().size(), std::size_t(2));
        QCOMPARE(std::string(body.at("request").at("request_id").as_string()), std::string("b"));
        QCOMPARE(body.at("request").at("status").to_number<int>(), 502);
        const auto& explanation = body.at("explanation").as_object();
        QCOMPARE(explanation.size(), std::size_t(12));
        QCOMPARE(explanation.at("details"),
                 json::value(json::array{
                     json::value("target 10.0.0.1:8080: unhealthy (passive: 3 http failures)")}));
        QCOMPARE(std::string(explanation.at("request_id").as_string()), std::string("b"));
        QCOMPARE(explanation.at("time").to_number<double>(), 1700000000.5);
        QCOMPARE(explanation.at("status").to_number<int>(), 502);
        QCOMPARE(std::string(explanation.at("message").as_string()),
                 std::string("An invalid response was received from the upstream server"));
        QCOMPARE(std::string(explanation.at("route_id").as_string()), std::string("r-id"));
        QCOMPARE(std::string(explanation.at("route_name").as_string()), std::string("orders"));
        QCOMPARE(std::string(explanation.at("service_id").as_string()), std::string("s-id"));
        QCOMPARE(std::string(explanation.at("service_name").as_string()),
                 std::string("orders-svc"));
        QCOMPARE(std::string(explanation.at("target").as_string()),
                 std::string("orders.internal:8080"));
        QCOMPARE(std::string(explanation.at("summary").as_string()),
                 std::string("all 2 tries failed: connection refused, then reset"));
        const auto& tries = explanation.at("tries").as_array();
        QCOMPARE(tries.size(), std::size_t(2));
        QCOMPARE(tries.at(0), json::value(json::object{{"address", "10.0.0.1:8080"},
                                                       {"error_class", "connect_refused"},
                                                       {"detail", "refused"},
                                                       {"duration_ms", 1.5}}));
        QCOMPARE(std::string(tries.at(1).at("error_class").as_string()), std::string("reset"));
    }

    void showRequestWithoutExplanation() {
        fillFeed(*ring_);
        auto response = call("GET", "/traffic/a");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        json::value body = json::parse(response->body);
        QVERIFY(body.at("explanation").is_null());
        QCOMPARE(std::string(body.at("request").at("request_id").as_string()), std::string("a"));
    }

    void showExplanationOfAnEvictedRecord() {
        ring_->explain(makeExplanation("gone"));
        auto response = call("GET", "/traffic/gone");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        json::value body = json::parse(response->body);
        QVERIFY(body.at("request").is_null());
        QCOMPARE(body.at("explanation").at("tries").as_array().size(), std::size_t(2));
    }

    void showUnknownIs404() {
        fillFeed(*ring_);
        auto response = call("GET", "/traffic/nope");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 404);
        QCOMPARE(response->body, std::string("{\"message\":\"Not found\"}"));
    }

    void wrongMethodIs405_data() {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("target");
        QTest::newRow("POST /traffic") << "POST"
                                       << "/traffic";
        QTest::newRow("DELETE /traffic/b") << "DELETE"
                                           << "/traffic/b";
        QTest::newRow("POST /traffic/stream") << "POST"
                                              << "/traffic/stream";
        QTest::newRow("PUT /metrics") << "PUT"
                                      << "/metrics";
        QTest::newRow("OPTIONS /metrics") << "OPTIONS"
                                          << "/metrics";
    }

    void wrongMethodIs405() {
        QFETCH(QString, method);
        QFETCH(QString, target);
        fillFeed(*ring_);
        auto response = call(method.toStdString(), target.toStdString());
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 405);
        QCOMPARE(allow_, std::string("GET"));
        QCOMPARE(std::string(response->header("Allow").value_or("")),
                 std::string("GET, HEAD, OPTIONS"));
        QCOMPARE(response->body, std::string("{\"message\":\"Method not allowed\"}"));
        QVERIFY(!response->stream);
    }

    void metricsText() {
        TrafficRecord record = makeRecord("a", 200, "orders", "orders-svc");
        metrics_->observe(record);
        auto response = call("GET", "/metrics");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        QCOMPARE(allow_, std::string("GET"));
        QCOMPARE(std::string(response->header("Content-Type").value_or("")),
                 std::string("text/plain; version=0.0.4"));
        QCOMPARE(response->body, metrics_->renderPrometheus());
        QVERIFY(response->body.find("portico_http_requests_total{route=\"orders\","
                                    "service=\"orders-svc\",status_class=\"2xx\"} 1\n") !=
                std::string::npos);
    }

    // Plugged into the Admin API as main.cpp does: CORS, OPTIONS and the fall-through to 404.
    void throughTheAdminApi() {
        fillFeed(*ring_);
        auto store = portico::store::openSqliteStore(":memory:");
        portico::core::Settings settings;
        portico::admin::AdminHooks hooks;
        hooks.extension = [this](const HttpRequest& request,
                                 const std::vector<std::string>& segments, std::string& allow) {
            return handleTrafficEndpoint(*ring_, *metrics_, request, segments, allow);
        };
        portico::admin::AdminApi api(*store, settings, portico::admin::NodeInfo{},
                                     std::move(hooks));
        auto request = [](std::string method, std::string target) {
            HttpRequest r;
            r.method = std::move(method);
            r.target = std::move(target);
            r.headers = {{"Origin", "http://console.test"}};
            return r;
        };

        auto list = api.handle(request("GET", "/traffic/?status=5xx&size=2"));
        QCOMPARE(list.status, 200);
        QCOMPARE(std::string(list.header("Access-Control-Allow-Origin").value_or("")),
                 std::string("http://console.test"));
        json::value body = json::parse(list.body);
        QCOMPARE(dataIds(body), QStringList({"e", "d"}));

        auto options = api.handle(request("OPTIONS", "/traffic/stream"));
        QCOMPARE(options.status, 204);
        QCOMPARE(std::string(options.header("Allow").value_or("")),
                 std::string("GET, HEAD, OPTIONS"));
        QVERIFY(!options.stream);

        auto stream = api.handle(request("GET", "/traffic/stream"));
        QCOMPARE(stream.status, 200);
        QVERIFY(stream.stream);

        QCOMPARE(api.handle(request("GET", "/traffic/b")).status, 200);
        QCOMPARE(api.handle(request("GET", "/traffic/nope")).status, 404);
        QCOMPARE(api.handle(request("GET", "/traffic/b/c")).status, 404);
        QCOMPARE(api.handle(request("POST", "/metrics")).status, 405);
        QCOMPARE(api.handle(request("GET", "/metrics")).status, 200);
    }

    void streamStartsFromNow() {
        fillFeed(*ring_);
        auto response = call("GET", "/traffic/stream");
        QVERIFY(response.has_value());
        QCOMPARE(response->status, 200);
        QCOMPARE(allow_, std::string("GET"));
        QCOMPARE(std::string(response->header("Content-Type").value_or("")),
                 std::string("text/event-stream"));
        QVERIFY(response->stream);
        std::string greeting = response->stream->poll();
        QVERIFY(greeting.rfind(": ", 0) == 0);
        QVERIFY(eventIds(greeting).isEmpty());
        QCOMPARE(response->stream->poll(), std::string());

        ring_->push(makeRecord("f", 200, "orders", "orders-svc"));
        ring_->push(makeRecord("g", 500, "orders", "orders-svc"));
        std::string text = response->stream->poll();
        QCOMPARE(eventIds(text), QStringList({"f", "g"}));
        QVERIFY(text.rfind("id: 6\nevent: request\ndata: {", 0) == 0);
        QVERIFY(text.find("\n\nid: 7\nevent: request\ndata: {") != std::string::npos);
        QCOMPARE(response->stream->poll(), std::string());
    }

    void streamFilters() {
        auto response = call("GET", "/traffic/stream?status=5xx&route=users");
        QVERIFY(response && response->stream);
        response->stream->poll();
        fillFeed(*ring_);
        QCOMPARE(eventIds(response->stream->poll()), QStringList({"d", "e"}));
        ring_->push(makeRecord("f", 200, "users", "users-svc"));
        ring_->push(makeRecord("g", 502, "users", "users-svc"));
        QCOMPARE(eventIds(response->stream->poll()), QStringList({"g"}));
    }

    void streamSinceAndLastEventId() {
        fillFeed(*ring_);
        auto since = call("GET", "/traffic/stream?since=3");
        QVERIFY(since && since->stream);
        QCOMPARE(eventIds(since->stream->poll()), QStringList({"d", "e"}));

        auto all = call("GET", "/traffic/stream?since=0&errors=1");
        QVERIFY(all && all->stream);
        QCOMPARE(eventIds(all->stream->poll()), QStringList({"b", "e"}));

        auto resumed = call("GET", "/traffic/stream", {{"Last-Event-ID", "4"}});
        QVERIFY(resumed && resumed->stream);
        QCOMPARE(eventIds(resumed->stream->poll()), QStringList({"e"}));

        // A sequence from a previous life of the node: from now on.
        auto ahead = call("GET", "/traffic/stream?since=500");
        QVERIFY(ahead && ahead->stream);
        QVERIFY(eventIds(ahead->stream->poll()).isEmpty());
        ring_->push(makeRecord("f", 200, "orders", "orders-svc"));
        QCOMPARE(eventIds(ahead->stream->poll()), QStringList({"f"}));
    }

    void streamSendsLargeBacklogsInBatches() {
        ring_ = std::make_unique<TrafficRing>(5000, 10);
        auto response = call("GET", "/traffic/stream");
        QVERIFY(response && response->stream);
        response->stream->poll();
        for (int i = 0; i < 1200; ++i) {
            ring_->push(makeRecord("r" + std::to_string(i), 200, "orders", "orders-svc"));
        }
        QCOMPARE(eventIds(response->stream->poll()).size(), 1000);
        QStringList rest = eventIds(response->stream->poll());
        QCOMPARE(rest.size(), 200);
        QCOMPARE(rest.last(), QString("r1199"));
        QCOMPARE(response->stream->poll(), std::string());
    }

    // The brief's end-to-end check: a real server, a real socket, two records pushed while the
    // client listens.
    void serverStreamsEvents() {
        ServerFixture server(trafficHandler());
        QTcpSocket socket;
        socket.connectToHost("127.0.0.1", server.port());
        QVERIFY(socket.waitForConnected(5000));
        socket.write(
            "GET /traffic/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Accept: text/event-stream\r\n\r\n");
        QVERIFY(socket.waitForBytesWritten(5000));

        QByteArray buffer;
        // The header, then the greeting comment: the stream has started and will see new records.
        QVERIFY(readUntil(socket, buffer, [](const QByteArray& b) {
            return b.contains("\r\n\r\n: ") && b.endsWith("\n\n");
        }));
        auto header_end = buffer.indexOf("\r\n\r\n");
        QString header = QString::fromLatin1(buffer.left(header_end)).toLower();
        QVERIFY2(header.startsWith("http/1.1 200 ok\r\n"), qPrintable(header));
        QVERIFY(header.contains("content-type: text/event-stream"));
        QVERIFY(header.contains("cache-control: no-cache"));
        QVERIFY(header.contains("connection: close"));
        QVERIFY(!header.contains("content-length"));
        QVERIFY(!header.contains("transfer-encoding"));

        ring_->push(makeRecord("first", 200, "orders", "orders-svc"));
        ring_->push(makeRecord("second", 502, "orders", "orders-svc", true));
        QVERIFY(readUntil(socket, buffer, [](const QByteArray& b) {
            return b.count("event: request\n") == 2 && b.endsWith("\n\n");
        }));
        std::string body = buffer.mid(header_end + 4).toStdString();
        QCOMPARE(eventIds(body), QStringList({"first", "second"}));
        socket.abort();
    }

    void serverSendsKeepAliveAndNoticesHangUp() {
        auto polls = std::make_shared<std::atomic<int>>(0);
        auto ended = std::make_shared<std::atomic<bool>>(false);
        ServerLimits limits;
        limits.stream_poll_interval = std::chrono::milliseconds(20);
        limits.stream_keepalive_interval = std::chrono::milliseconds(100);
        ServerFixture server(
            [polls, ended](const HttpRequest&) {
                HttpResponse response;
                response.stream = std::make_shared<QuietSource>(polls, ended);
                return response;
            },
            limits);
        QTcpSocket socket;
        socket.connectToHost("127.0.0.1", server.port());
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /quiet HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        QByteArray buffer;
        QVERIFY(readUntil(socket, buffer, [](const QByteArray& b) {
            return b.contains("\r\n\r\n: keep-alive\n\n");
        }));
        QVERIFY(buffer.toLower().contains("content-type: text/event-stream\r\n"));
        QVERIFY(*polls > 1);
        QVERIFY(!*ended);

        // The client goes away while nothing is being written: the stream ends anyway.
        socket.abort();
        QTRY_VERIFY_WITH_TIMEOUT(*ended, 5000);
    }

    void serverNoticesHangUpWithoutWriting() {
        auto polls = std::make_shared<std::atomic<int>>(0);
        auto ended = std::make_shared<std::atomic<bool>>(false);
        ServerLimits limits;
        limits.stream_poll_interval = std::chrono::milliseconds(20);
        // No keep-alive comment during the test: only the pending read can see the hang-up.
        limits.stream_keepalive_interval = std::chrono::milliseconds(600000);
        ServerFixture server(
            [polls, ended](const HttpRequest&) {
                HttpResponse response;
                response.stream = std::make_shared<QuietSource>(polls, ended);
                return response;
            },
            limits);
        QTcpSocket socket;
        socket.connectToHost("127.0.0.1", server.port());
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /quiet HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        QByteArray buffer;
        QVERIFY(readUntil(socket, buffer, headersComplete));
        QTRY_VERIFY_WITH_TIMEOUT(*polls > 2, 5000);
        socket.disconnectFromHost();
        QTRY_VERIFY_WITH_TIMEOUT(*ended, 5000);
    }

    void serverStopEndsStreams() {
        auto polls = std::make_shared<std::atomic<int>>(0);
        auto ended = std::make_shared<std::atomic<bool>>(false);
        ServerLimits limits;
        limits.stream_poll_interval = std::chrono::milliseconds(20);
        ServerFixture server(
            [polls, ended](const HttpRequest&) {
                HttpResponse response;
                response.stream = std::make_shared<QuietSource>(polls, ended);
                return response;
            },
            limits);
        QTcpSocket socket;
        socket.connectToHost("127.0.0.1", server.port());
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /quiet HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        QByteArray buffer;
        QVERIFY(readUntil(socket, buffer, headersComplete));
        QTRY_VERIFY_WITH_TIMEOUT(*polls > 0, 5000);
        server.stopServer();
        QTRY_VERIFY_WITH_TIMEOUT(*ended, 5000);
        // The server closes its side: the client reads the end of the stream.
        QVERIFY(socket.state() == QAbstractSocket::UnconnectedState ||
                socket.waitForDisconnected(5000));
    }

    void serverHeadOfAStreamSendsHeadersOnly() {
        auto polls = std::make_shared<std::atomic<int>>(0);
        auto ended = std::make_shared<std::atomic<bool>>(false);
        ServerFixture server([polls, ended](const HttpRequest&) {
            HttpResponse response;
            response.stream = std::make_shared<QuietSource>(polls, ended);
            return response;
        });
        QTcpSocket socket;
        socket.connectToHost("127.0.0.1", server.port());
        QVERIFY(socket.waitForConnected(5000));
        socket.write("HEAD /quiet HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        QByteArray buffer;
        QVERIFY(readUntil(socket, buffer, headersComplete));
        QVERIFY(socket.state() == QAbstractSocket::UnconnectedState ||
                socket.waitForDisconnected(5000));
        buffer += socket.readAll();
        QVERIFY(buffer.endsWith("\r\n\r\n"));
        QTRY_VERIFY_WITH_TIMEOUT(*ended, 5000);
        QCOMPARE(polls->load(), 0);
    }

    void serverKeepsOrdinaryResponses() {
        fillFeed(*ring_);
        ServerFixture server(trafficHandler());
        QTcpSocket socket;
        socket.connectToHost("127.0.0.1", server.port());
        QVERIFY(socket.waitForConnected(5000));
        // Two requests on one connection: keep-alive still works around the streaming code.
        socket.write(
            "GET /traffic?size=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        QByteArray buffer;
        QVERIFY(readUntil(socket, buffer, [](const QByteArray& b) {
            return b.contains("portico_http_response_bytes_total counter\n");
        }));
        QString text = QString::fromLatin1(buffer).toLower();
        QVERIFY(text.startsWith("http/1.1 200 ok\r\n"));
        QVERIFY(text.contains("content-length: "));
        QVERIFY(text.contains("{\"data\":[{"));
        QVERIFY(text.contains("content-type: text/plain; version=0.0.4\r\n"));
        QVERIFY(socket.state() == QAbstractSocket::UnconnectedState ||
                socket.waitForDisconnected(5000));
    }
};

QTEST_GUILESS_MAIN(TrafficApiTest)
#include "test_traffic_api.moc"
