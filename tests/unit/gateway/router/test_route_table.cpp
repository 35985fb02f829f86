// Route matching (kong-compat.md §3): attributes, priorities, normalization, and the upstream
// path table of §3.5 (path_handling v0).

#include "gateway/router/route_table.hpp"

#include <boost/json/parse.hpp>

#include <QtTest>

using namespace portico::router;
namespace json = boost::json;

namespace {

json::object route(const std::string& text) { return json::parse(text).as_object(); }

struct Request {
    std::string method = "GET";
    std::string host = "example.com";
    std::string path = "/";
    std::vector<std::pair<std::string, std::string>> headers;
};

std::optional<Match> matchOn(const RouteTable& table, const Request& r) {
    MatchRequest request;
    request.method = r.method;
    request.host = r.host;
    request.port = 8000;
    request.path = r.path;
    request.header_values = [&r](std::string_view name) {
        std::vector<std::string_view> values;
        for (const auto& [key, value] : r.headers) {
            if (key == name) {
                values.push_back(value);
            }
        }
        return values;
    };
    return table.match(request);
}

}  // namespace

class RouteTableTest : public QObject {
    Q_OBJECT

private slots:
    void precedence_data() {
        QTest::addColumn<QString>("routes");  // JSON array of routes, each with an id
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("expected");  // route id, or "" for no match

        const QString two_prefixes =
            "[{\"id\":\"short\",\"paths\":[\"/a\"]},{\"id\":\"long\",\"paths\":[\"/a/b\"]}]";
        QTest::newRow("longer prefix wins") << two_prefixes << "GET" << "x" << "/a/b/c" << "long";
        QTest::newRow("shorter prefix") << two_prefixes << "GET" << "x" << "/a/c" << "short";
        QTest::newRow("no segment boundary") << two_prefixes << "GET" << "x" << "/abc" << "short";
        QTest::newRow("no match") << two_prefixes << "GET" << "x" << "/b" << "";

        const QString weight =
            "[{\"id\":\"path\",\"paths\":[\"/a/b/c/d\"]},{\"id\":\"host+path\",\"hosts\":[\"example.com\"],\"paths\":[\"/a\"]}]";
        QTest::newRow("more attributes beat longer path")
            << weight << "GET" << "example.com" << "/a/b/c/d" << "host+path";
        QTest::newRow("host must match") << weight << "GET" << "other.com" << "/a/b/c/d" << "path";

        const QString hosts =
            "[{\"id\":\"wild\",\"hosts\":[\"*.example.com\"]},{\"id\":\"plain\",\"hosts\":[\"api.example.com\"]},{\"id\":\"suffix\",\"hosts\":[\"api.*\"]}]";
        QTest::newRow("plain host beats wildcard")
            << hosts << "GET" << "api.example.com" << "/" << "plain";
        QTest::newRow("wildcard prefix") << hosts << "GET" << "a.b.example.com" << "/" << "wild";
        QTest::newRow("wildcard suffix") << hosts << "GET" << "api.test" << "/" << "suffix";
        QTest::newRow("host case and port") << hosts << "GET" << "API.Example.COM:8000" << "/"
                                            << "plain";
        QTest::newRow("bare domain is not a wildcard match")
            << hosts << "GET" << "example.com" << "/" << "";

        const QString ported =
            "[{\"id\":\"p\",\"hosts\":[\"example.com:9000\"]},{\"id\":\"any\",\"hosts\":[\"example.com\"],\"paths\":[\"/x\"]}]";
        QTest::newRow("host with port needs the port")
            << ported << "GET" << "example.com:9000" << "/" << "p";
        QTest::newRow("other port") << ported << "GET" << "example.com:9001" << "/" << "";

        const QString regex =
            "[{\"id\":\"prefix\",\"paths\":[\"/users\"]},{\"id\":\"low\",\"paths\":[\"~/users/\\\\d+$\"],\"regex_priority\":1},{\"id\":\"high\",\"paths\":[\"~/users/(?<id>\\\\d+)\"],\"regex_priority\":5}]";
        QTest::newRow("regex beats prefix, regex_priority orders regexes")
            << regex << "GET" << "x" << "/users/42" << "high";
        QTest::newRow("regex anchored at start")
            << regex << "GET" << "x" << "/v1/users/42" << "";
        QTest::newRow("prefix when regex fails") << regex << "GET" << "x" << "/users/me" << "prefix";

        const QString methods = "[{\"id\":\"get\",\"methods\":[\"GET\"],\"paths\":[\"/m\"]},{\"id\":\"all\",\"paths\":[\"/m\"]}]";
        QTest::newRow("method counts as an attribute") << methods << "GET" << "x" << "/m" << "get";
        QTest::newRow("other method falls back") << methods << "POST" << "x" << "/m" << "all";

        const QString normalized = "[{\"id\":\"n\",\"paths\":[\"/a/b\"]}]";
        QTest::newRow("dot segments and escapes normalized")
            << normalized << "GET" << "x" << "/x/../a/%62//c" << "n";
    }

    void precedence() {
        QFETCH(QString, routes);
        QFETCH(QString, method);
        QFETCH(QString, host);
        QFETCH(QString, path);
        QFETCH(QString, expected);
        std::vector<json::object> list;
        auto parsed = json::parse(routes.toStdString());
        for (const auto& value : parsed.as_array()) {
            auto object = value.as_object();
            if (!object.contains("protocols")) {
                object["protocols"] = json::parse("[\"http\",\"https\"]");
            }
            list.push_back(object);
        }
        auto table = RouteTable::build(list);
        Request request{method.toStdString(), host.toStdString(), path.toStdString(), {}};
        auto result = matchOn(table, request);
        if (expected.isEmpty()) {
            QVERIFY2(!result, result ? result->route->id.c_str() : "");
        } else {
            QVERIFY(result.has_value());
            QCOMPARE(QString::fromStdString(result->route->id), expected);
        }
    }

    void headers() {
        auto table = RouteTable::build(
            {route("{\"id\":\"h\",\"headers\":{\"X-Version\":[\"v1\",\"V2\"]}}"),
             route("{\"id\":\"re\",\"headers\":{\"x-client\":[\"~*^mobile-\"]},\"paths\":[\"/\"]}")});
        Request request;
        request.headers = {{"x-version", "v2"}};
        QCOMPARE(matchOn(table, request)->route->id, std::string("h"));
        request.headers = {{"x-version", "v3"}};
        QVERIFY(!matchOn(table, request));
        request.headers = {{"x-client", "MOBILE-ios"}};
        QCOMPARE(matchOn(table, request)->route->id, std::string("re"));
    }

    void captures() {
        auto table = RouteTable::build({route("{\"id\":\"c\",\"paths\":[\"~/u/(?<user>[a-z]+)/(\\\\d+)\"]}")});
        Request request;
        request.path = "/u/alice/7/rest";
        auto result = matchOn(table, request);
        QVERIFY(result);
        QCOMPARE(result->captures.at("user"), std::string("alice"));
        QCOMPARE(result->captures.at("2"), std::string("7"));
        QCOMPARE(result->matched_path, std::string("/u/alice/7"));
    }

    void invalidRegexIsReported() {
        std::vector<std::string> errors;
        auto table = RouteTable::build({route("{\"id\":\"bad\",\"paths\":[\"~/(unclosed\"]}")}, &errors);
        QCOMPARE(table.size(), std::size_t(0));
        QCOMPARE(errors.size(), std::size_t(1));
        QVERIFY(errors[0].find("invalid regex") != std::string::npos);
    }

    void normalizePath_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << "/a/b" << "/a/b";
        QTest::newRow("double slash") << "//a///b" << "/a/b";
        QTest::newRow("dot") << "/a/./b" << "/a/b";
        QTest::newRow("dotdot") << "/a/../b" << "/b";
        QTest::newRow("above root") << "/../../a" << "/a";
        QTest::newRow("unreserved decoded") << "/%61%2Db" << "/a-b";
        QTest::newRow("reserved kept upper") << "/a%2fb" << "/a%2Fb";
        QTest::newRow("trailing slash kept") << "/a/" << "/a/";
        QTest::newRow("encoded dot segment") << "/route%2E/req" << "/route./req";
        QTest::newRow("empty") << "" << "/";
    }

    void normalizePath() {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        QCOMPARE(QString::fromStdString(portico::router::normalizePath(input.toStdString())),
                 expected);
    }

    // kong-compat.md §3.5, path_handling v0.
    void upstreamPath_data() {
        QTest::addColumn<QString>("service_path");
        QTest::addColumn<QString>("route_path");  // "" = host-only route
        QTest::addColumn<bool>("strip");
        QTest::addColumn<QString>("request");
        QTest::addColumn<QString>("expected");
        QTest::newRow("1") << "/" << "/" << true << "/route/req" << "/route/req";
        QTest::newRow("2") << "/" << "/route" << false << "/routereq" << "/routereq";
        QTest::newRow("3") << "/" << "/route" << true << "/route" << "/";
        QTest::newRow("4") << "/" << "/route" << true << "/routereq" << "/req";
        QTest::newRow("5") << "/" << "/route/" << true << "/route/req" << "/req";
        QTest::newRow("6") << "/srv" << "/rou" << false << "/roureq" << "/srv/roureq";
        QTest::newRow("7") << "/srv" << "/rou" << true << "/roureq" << "/srv/req";
        QTest::newRow("8") << "/srv/" << "/rou" << true << "/rou" << "/srv";
        QTest::newRow("9") << "/service" << "/" << true << "/route" << "/service/route";
        QTest::newRow("10") << "/service" << "/route" << true << "/route" << "/service";
        QTest::newRow("11") << "/service" << "/route" << true << "/route/" << "/service/";
        QTest::newRow("12") << "/service" << "/route" << true << "/routereq" << "/service/req";
        QTest::newRow("13") << "/service" << "/route/" << true << "/route/" << "/service/";
        QTest::newRow("14") << "/service/" << "/" << false << "/" << "/service/";
        QTest::newRow("15") << "/service/" << "/route" << true << "/route" << "/service";
        QTest::newRow("16") << "/service/" << "/route" << false << "/route/" << "/service/route/";
        QTest::newRow("17") << "/service" << "" << true << "/route" << "/service/route";
        QTest::newRow("18") << "/service" << "/route" << true << "/route%2E/req" << "/service/./req";
        QTest::newRow("19") << "/service" << "/route" << false << "/route%2E/req"
                            << "/service/route./req";
        QTest::newRow("null service path") << "" << "/api" << true << "/api/x" << "/x";
    }

    void upstreamPath() {
        QFETCH(QString, service_path);
        QFETCH(QString, route_path);
        QFETCH(bool, strip);
        QFETCH(QString, request);
        QFETCH(QString, expected);
        json::object entity = route("{\"id\":\"r\",\"protocols\":[\"http\"]}");
        entity["strip_path"] = strip;
        if (route_path.isEmpty()) {
            entity["hosts"] = json::parse("[\"example.com\"]");
        } else {
            json::array paths;
            paths.emplace_back(route_path.toStdString());
            entity["paths"] = std::move(paths);
        }
        auto table = RouteTable::build({entity});
        Request r;
        r.path = request.toStdString();
        auto result = matchOn(table, r);
        QVERIFY(result);
        QCOMPARE(QString::fromStdString(
                     portico::router::upstreamPath(*result->route, *result, service_path.toStdString())),
                 expected);
    }
};

QTEST_GUILESS_MAIN(RouteTableTest)
#include "test_route_table.moc"
