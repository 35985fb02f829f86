// Unit tests of common/regex: PCRE named groups rewritten for RE2, and RE2's verdict on the
// regexes Kong accepts (what the router could never compile is reported with RE2's text).

#include "common/regex.hpp"

#include <QtTest>

using portico::common::re2Error;

class TestRegex : public QObject {
    Q_OBJECT

private slots:
    void namedGroupsRewritten_data() {
        QTest::addColumn<QString>("pcre");
        QTest::addColumn<QString>("re2");
        QTest::newRow("named group") << "/flights/(?<flightnumber>[^#?/]+)$"
                                     << "/flights/(?P<flightnumber>[^#?/]+)$";
        QTest::newRow("two named groups") << "(?<a>x)(?<b>y)"
                                          << "(?P<a>x)(?P<b>y)";
        QTest::newRow("re2 syntax kept") << "(?P<id>\\d+)"
                                         << "(?P<id>\\d+)";
        QTest::newRow("lookbehind kept") << "(?<=a)b"
                                         << "(?<=a)b";
        QTest::newRow("negative lookbehind kept") << "(?<!a)b"
                                                  << "(?<!a)b";
        QTest::newRow("escaped paren") << "\\(?<a>"
                                       << "\\(?<a>";
        QTest::newRow("escaped backslash then group") << "\\\\(?<a>x)"
                                                      << "\\\\(?P<a>x)";
        QTest::newRow("inside a class") << "[(?<a]x"
                                        << "[(?<a]x";
        QTest::newRow("class with leading bracket") << "[]](?<a>x)"
                                                    << "[]](?P<a>x)";
        QTest::newRow("negated class with leading bracket") << "[^]](?<a>x)"
                                                            << "[^]](?P<a>x)";
        QTest::newRow("posix class") << "[[:alpha:]](?<a>x)"
                                     << "[[:alpha:]](?P<a>x)";
        QTest::newRow("quoted text") << "\\Q(?<a>\\E(?<b>x)"
                                     << "\\Q(?<a>\\E(?P<b>x)";
        QTest::newRow("unterminated quote") << "\\Q(?<a>"
                                            << "\\Q(?<a>";
        QTest::newRow("truncated") << "(?<"
                                   << "(?<";
        QTest::newRow("trailing backslash") << "a\\"
                                            << "a\\";
        QTest::newRow("plain") << "/users/\\d+$"
                               << "/users/\\d+$";
        QTest::newRow("empty") << ""
                               << "";
    }
    void namedGroupsRewritten() {
        QFETCH(QString, pcre);
        QFETCH(QString, re2);
        const std::string rewritten = portico::common::toRe2Syntax(pcre.toStdString());
        QCOMPARE(QString::fromStdString(rewritten), re2);
    }

    void re2Errors_data() {
        QTest::addColumn<QString>("pcre");
        QTest::addColumn<QString>("error");  // "" when RE2 compiles it
        QTest::newRow("named group") << "/orders/(?<id>\\d+)$"
                                     << "";
        QTest::newRow("plain") << "/users/\\d+$"
                               << "";
        QTest::newRow("unbalanced") << "/a(b"
                                    << "missing ): /a(b";
        QTest::newRow("unterminated class") << "/a[b"
                                            << "missing ]: [b";
        QTest::newRow("lookahead") << "/a(?=b)"
                                   << "invalid perl operator: (?=";
        QTest::newRow("lookbehind") << "/(?<=a)b"
                                    << "invalid perl operator: (?<";
        QTest::newRow("backreference") << "/(a)\\1"
                                       << "invalid escape sequence: \\1";
        QTest::newRow("possessive") << "/a++"
                                    << "bad repetition operator: ++";
        QTest::newRow("trailing backslash") << "/a\\"
                                            << "trailing \\";
    }
    void re2Errors() {
        QFETCH(QString, pcre);
        QFETCH(QString, error);
        const auto result = re2Error(pcre.toStdString());
        QCOMPARE(result ? QString::fromStdString(*result) : QString(), error);
    }

    void caseInsensitiveOption() {
        QVERIFY(!re2Error("^Bearer .+$", true));
        QCOMPARE(QString::fromStdString(re2Error("(?<=x)", true).value_or("")),
                 QString("invalid perl operator: (?<"));
    }
};

QTEST_GUILESS_MAIN(TestRegex)
#include "test_regex.moc"
