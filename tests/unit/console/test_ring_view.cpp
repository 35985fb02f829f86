// RingView paints the balancer it reads: arcs in proportion to slots in their target's colour,
// unhealthy addresses hatched with a red band and cross, weight-0 addresses off the ring, hit
// testing and tooltips, and the same picture at a device pixel ratio of 2.

#include "console/core/balancer_model.hpp"
#include "console/ui/ring_view.hpp"
#include "tests/unit/console/fixtures.hpp"

#include <QImage>
#include <QJsonArray>
#include <QPainter>
#include <QtTest>

#include <cmath>

using portico::console::BalancerModel;
using portico::console::BalancerView;
using portico::console::RingView;
using portico::test::loadFixture;

namespace {

QImage render(RingView& view, qreal dpr) {
    QImage image(view.size() * dpr, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(dpr);
    image.fill(Qt::transparent);
    view.render(&image);
    return image;
}

QColor pixel(const QImage& image, QPointF logical) {
    const qreal dpr = image.devicePixelRatio();
    return image.pixelColor(static_cast<int>(std::lround(logical.x() * dpr)),
                            static_cast<int>(std::lround(logical.y() * dpr)));
}

bool near(const QColor& a, const QColor& b, int tolerance = 12) {
    return std::abs(a.red() - b.red()) <= tolerance &&
           std::abs(a.green() - b.green()) <= tolerance &&
           std::abs(a.blue() - b.blue()) <= tolerance;
}

bool reddish(const QColor& c) {
    return c.red() > 170 && c.green() < 90 && c.blue() < 90;
}

// How many pixels of the unhealthy red are inside a small box around `centre`.
int redPixels(const QImage& image, QPointF centre, int half) {
    int count = 0;
    for (int dx = -half; dx <= half; ++dx) {
        for (int dy = -half; dy <= half; ++dy) {
            count += reddish(pixel(image, centre + QPointF(dx, dy))) ? 1 : 0;
        }
    }
    return count;
}

}  // namespace

class RingViewTest : public QObject {
    Q_OBJECT

private slots:
    void segmentsFollowTheModel() {
        BalancerModel model;
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        RingView view;
        view.setModel(&model);
        const auto& segments = view.segments();
        QCOMPARE(segments.size(), 4);
        QVERIFY(segments[0].unhealthy);  // 127.0.0.1:1, passive
        QVERIFY(segments[1].disabled);   // weight 0
        QCOMPARE(segments[1].span, 0.0);
        QVERIFY(segments[2].unhealthy);  // manual
        QVERIFY(!segments[3].unhealthy);
        // Three arcs of one slot each share the ring.
        QVERIFY(qFuzzyCompare(segments[0].span, 1.0 / 3.0));
        QVERIFY(qFuzzyCompare(segments[3].start + segments[3].span, 1.0));
        // Every target has its own colour; red is not among them.
        QVERIFY(segments[0].colour != segments[2].colour);
        QVERIFY(segments[2].colour != segments[3].colour);
        for (const auto& s : segments) {
            QVERIFY(!reddish(s.colour));
        }
        QVERIFY(
            view.accessibleDescription().contains("127.0.0.1:1 (target 127.0.0.1:1): "
                                                  "UNHEALTHY, weight 100, 33% of the ring"));
        // Colours stay with their target across refreshes.
        const QColor before = segments[3].colour;
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        QCOMPARE(view.segments()[3].colour, before);
    }

    void paintsColoursAndMarksUnhealthy_data() {
        QTest::addColumn<qreal>("dpr");
        QTest::newRow("1x") << qreal(1.0);
        QTest::newRow("2x") << qreal(2.0);
    }

    void paintsColoursAndMarksUnhealthy() {
        QFETCH(qreal, dpr);
        BalancerModel model;
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        RingView view;
        view.setModel(&model);
        view.resize(640, 360);
        const QImage image = render(view, dpr);
        const auto& segments = view.segments();
        const auto g = view.ringGeometry();
        QVERIFY(g.outer > g.inner);
        QVERIFY(g.inner > 20);

        // The healthy arc is filled with its colour (sampled off the middle, away from text).
        const QColor healthy = pixel(image, view.segmentMidPoint(3, 0.2));
        QVERIFY2(near(healthy, segments[3].colour),
                 qPrintable(healthy.name() + " vs " + segments[3].colour.name()));
        QCOMPARE(redPixels(image, view.segmentMidPoint(3, 0.5), 6), 0);

        // Unhealthy arcs: red hatching and a red cross in the middle, a red band outside.
        for (int index : {0, 2}) {
            QVERIFY2(redPixels(image, view.segmentMidPoint(index, 0.5), 4) > 10,
                     qPrintable(QString("segment %1").arg(index)));
            const double band = 1.0 + (3.5 / (g.outer - g.inner));  // just outside the arc
            QVERIFY(reddish(pixel(image, view.segmentMidPoint(index, band))));
            QVERIFY(
                !near(pixel(image, view.segmentMidPoint(index, 0.2)), segments[index].colour, 4));
        }
        // No band outside the healthy arc.
        const double band = 1.0 + (3.5 / (g.outer - g.inner));
        QVERIFY(!reddish(pixel(image, view.segmentMidPoint(3, band))));
    }

    void hitTestingAndTooltips() {
        BalancerModel model;
        model.setView(BalancerView::fromJson(loadFixture("balancer_degraded.json")));
        RingView view;
        view.setModel(&model);
        view.resize(640, 360);
        for (int index : {0, 2, 3}) {
            QCOMPARE(view.segmentAt(view.segmentMidPoint(index)), index);
        }
        QCOMPARE(view.segmentAt(view.ringGeometry().centre), -1);
        const QString tip = view.tooltipFor(0);
        QVERIFY2(tip.contains("127.0.0.1:1"), qPrintable(tip));
        QVERIFY(tip.contains("UNHEALTHY"));
        QVERIFY(tip.contains("passive: Connection refused"));
        QVERIFY(view.tooltipFor(3).contains("active connections: 0"));

        QSignalSpy clicked(&view, &RingView::addressClicked);
        QTest::mouseClick(&view, Qt::LeftButton, {}, view.segmentMidPoint(3).toPoint());
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked[0][0].toString(), QString("127.0.0.1:41603"));
        QCOMPARE(view.currentKey(), QString("127.0.0.1:41603"));
    }

    void smallWidgetsStillDrawARing() {
        BalancerModel model;
        model.setView(BalancerView::fromJson(loadFixture("balancer_healthy.json")));
        RingView view;
        view.setModel(&model);
        view.resize(200, 300);  // legend below
        const auto g = view.ringGeometry();
        QVERIFY(g.legend.top() > g.centre.y());
        const QImage image = render(view, 1.0);
        // Off the middle of the arc: its two slots are split by a tick there.
        const auto& s = view.segments()[1];
        const double angle = (s.start + s.span * 0.3) * 2.0 * M_PI;
        const double r = g.inner + (g.outer - g.inner) * 0.3;
        const QPointF at(g.centre.x() + r * std::sin(angle), g.centre.y() - r * std::cos(angle));
        QVERIFY2(near(pixel(image, at), s.colour), qPrintable(pixel(image, at).name()));
    }

    void emptyUpstream() {
        BalancerModel model;
        model.setView(BalancerView::fromJson(loadFixture("balancer_no_targets.json")));
        RingView view;
        view.setModel(&model);
        view.resize(400, 300);
        QVERIFY(view.segments().isEmpty());
        const QImage image = render(view, 1.0);  // paints the dashed ring without crashing
        QVERIFY(!image.isNull());
        QCOMPARE(view.segmentAt(QPointF(10, 10)), -1);
    }
};

QTEST_MAIN(RingViewTest)
#include "test_ring_view.moc"
