#pragma once
// RingView: draws one upstream's balancer as a ring. Each address holds an arc in proportion to
// its slots (the wheel share for round-robin, continuum entries for consistent hashing), filled
// with its target's colour (addresses of one target in shades of it); small rings show one tick
// per slot. Unhealthy addresses are hatched in red, with a red band outside the arc and a cross.
// The centre says the upstream's health and available weight; a legend lists each address with
// its weight, share, active connections and state; hovering a slot or a legend row shows a
// tooltip. Clicking an arc emits addressClicked, and setCurrentKey highlights one.
//
// Reads a BalancerModel and repaints when it changes. Painting is in logical pixels with
// antialiasing and no cached bitmaps, so it is sharp at any device pixel ratio. GUI thread.

#include <QColor>
#include <QHash>
#include <QList>
#include <QPointF>
#include <QRectF>
#include <QString>
#include <QWidget>

namespace portico::console {

class BalancerModel;

class RingView : public QWidget {
    Q_OBJECT
public:
    // What is drawn for one address (exposed so tests can check colours and geometry).
    struct Segment {
        int row = -1;  // row in the model
        QString key;
        QString target_id;
        QString target;
        QString endpoint;
        double start = 0;  // fraction of a turn, clockwise from 12 o'clock
        double span = 0;
        QColor colour;  // fill (the target's colour, shaded per address)
        bool unhealthy = false;
        bool disabled = false;  // weight 0: listed in the legend, no arc
        qint64 weight = 0;
        qint64 slot_count = 0;
        qint64 connections = 0;
    };
    struct Geometry {
        QPointF centre;
        double outer = 0;  // radius of the arcs' outer edge
        double inner = 0;  // radius of their inner edge
        QRectF legend;     // where the legend is drawn
    };

    explicit RingView(QWidget* parent = nullptr);

    void setModel(BalancerModel* model);
    BalancerModel* model() const { return model_; }

    const QList<Segment>& segments() const { return segments_; }
    Geometry ringGeometry() const;
    // The segment under `point` (widget coordinates), or -1; legend rows count too.
    int segmentAt(const QPointF& point) const;
    // A point in the middle of segment `index`'s arc (for tests and tooltips).
    QPointF segmentMidPoint(int index, double radius_fraction = 0.5) const;
    QString tooltipFor(int index) const;

    // Highlights the segment with this key (the address selected elsewhere); empty: none.
    void setCurrentKey(const QString& key);
    QString currentKey() const { return current_key_; }

    // The colour of the n-th target (stable for a target id once seen).
    QColor targetColour(const QString& target_id);
    static QColor unhealthyColour() { return QColor(0xd6, 0x27, 0x28); }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void addressClicked(const QString& key);

protected:
    void paintEvent(class QPaintEvent* event) override;
    bool event(QEvent* event) override;
    void mousePressEvent(class QMouseEvent* event) override;

private:
    void rebuild();
    double legendRowHeight() const;

    BalancerModel* model_ = nullptr;
    QList<Segment> segments_;
    QHash<QString, int> target_colour_index_;
    QString current_key_;
};

}  // namespace portico::console
