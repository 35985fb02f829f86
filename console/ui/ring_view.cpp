#include "console/ui/ring_view.hpp"

#include "console/core/balancer_model.hpp"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

#include <cmath>
#include <numbers>

namespace portico::console {

namespace {

constexpr double kTurn = 2.0 * std::numbers::pi;
constexpr double kMargin = 12.0;
constexpr double kBand = 5.0;   // width of the red band outside an unhealthy arc
constexpr int kMaxTicks = 120;  // draw one tick per slot up to this many slots in all

// Distinct colours for targets; red is kept for "unhealthy".
const QColor kPalette[] = {
    QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b), QColor(0x59, 0xa1, 0x4f),
    QColor(0xb0, 0x7a, 0xa1), QColor(0x76, 0xb7, 0xb2), QColor(0xed, 0xc9, 0x48),
    QColor(0x9c, 0x75, 0x5f), QColor(0x1f, 0x4e, 0x79), QColor(0x17, 0xbe, 0xcf),
    QColor(0x8c, 0xd1, 0x7d),
};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

// Qt's angles: degrees counter-clockwise from 3 o'clock; ours: turns clockwise from 12.
double qtDegrees(double fraction) {
    return 90.0 - fraction * 360.0;
}

QPointF onCircle(QPointF centre, double radius, double fraction) {
    const double a = fraction * kTurn;
    return {centre.x() + radius * std::sin(a), centre.y() - radius * std::cos(a)};
}

QPainterPath arcPath(QPointF centre, double outer, double inner, double start, double span) {
    const QRectF outer_rect(centre.x() - outer, centre.y() - outer, 2 * outer, 2 * outer);
    const QRectF inner_rect(centre.x() - inner, centre.y() - inner, 2 * inner, 2 * inner);
    QPainterPath path;
    if (span >= 0.9999) {
        path.addEllipse(outer_rect);
        QPainterPath hole;
        hole.addEllipse(inner_rect);
        return path.subtracted(hole);
    }
    path.arcMoveTo(outer_rect, qtDegrees(start));
    path.arcTo(outer_rect, qtDegrees(start), -span * 360.0);
    path.arcTo(inner_rect, qtDegrees(start + span), span * 360.0);
    path.closeSubpath();
    return path;
}

QString healthWord(const RingView::Segment& s) {
    if (s.disabled) {
        return RingView::tr("weight 0, no traffic");
    }
    return s.unhealthy ? RingView::tr("UNHEALTHY") : RingView::tr("healthy");
}

}  // namespace

RingView::RingView(QWidget* parent) : QWidget(parent) {
    setAccessibleName(tr("Balancer ring"));
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void RingView::setModel(BalancerModel* model) {
    if (model_) {
        disconnect(model_, nullptr, this, nullptr);
    }
    model_ = model;
    if (model_) {
        auto changed = [this] { rebuild(); };
        connect(model_, &QAbstractItemModel::dataChanged, this, changed);
        connect(model_, &QAbstractItemModel::rowsInserted, this, changed);
        connect(model_, &QAbstractItemModel::rowsRemoved, this, changed);
        connect(model_, &QAbstractItemModel::rowsMoved, this, changed);
        connect(model_, &QAbstractItemModel::modelReset, this, changed);
        connect(model_, &QObject::destroyed, this, [this] {
            model_ = nullptr;
            rebuild();
        });
    }
    rebuild();
}

QColor RingView::targetColour(const QString& target_id) {
    auto it = target_colour_index_.find(target_id);
    if (it == target_colour_index_.end()) {
        it = target_colour_index_.insert(target_id, static_cast<int>(target_colour_index_.size()));
    }
    return kPalette[it.value() % kPaletteSize];
}

void RingView::rebuild() {
    segments_.clear();
    if (model_) {
        QHash<QString, int> shade;  // addresses seen so far per target
        for (int row = 0; row < model_->rowCount(); ++row) {
            const BalancerAddress& a = model_->address(row);
            Segment s;
            s.row = row;
            s.key = a.key;
            s.target_id = a.target_id;
            s.target = a.target;
            s.endpoint = a.endpoint();
            s.start = model_->startFraction(row);
            s.span = model_->spanFraction(row);
            s.unhealthy = a.unhealthy();
            s.disabled = a.disabled() || a.weight == 0;
            s.weight = a.weight;
            s.slot_count = a.slot_count;
            s.connections = a.active_connections;
            const int n = shade[a.target_id]++;
            const QColor base = targetColour(a.target_id);
            s.colour = n == 0 ? base : base.lighter(100 + 18 * std::min(n, 4));
            if (s.disabled) {
                s.colour = QColor(0xb0, 0xb0, 0xb0);
            }
            segments_.append(s);
        }
    }
    // What the picture says, for screen readers.
    QStringList description;
    for (const Segment& s : segments_) {
        description << tr("%1 (target %2): %3, weight %4, %5% of the ring")
                           .arg(s.endpoint, s.target, healthWord(s))
                           .arg(s.weight)
                           .arg(s.span * 100.0, 0, 'f', 0);
    }
    setAccessibleDescription(description.isEmpty() ? tr("No address in the balancer")
                                                   : description.join(QStringLiteral("; ")));
    update();
}

void RingView::setCurrentKey(const QString& key) {
    if (key != current_key_) {
        current_key_ = key;
        update();
    }
}

double RingView::legendRowHeight() const {
    return fontMetrics().height() * 1.5;
}

RingView::Geometry RingView::ringGeometry() const {
    Geometry g;
    const double w = width();
    const double h = height();
    // The legend goes beside the ring when that leaves it room for its lines, else below.
    const bool legend_right = w - std::min(h, w * 0.5) >= 380;
    double side;
    if (legend_right) {
        side = std::min(h, w * 0.5) - 2 * kMargin;
        g.centre = QPointF(kMargin + side / 2, h / 2);
        const double left = kMargin * 2 + side;
        g.legend = QRectF(left, kMargin, std::max(0.0, w - left - kMargin), h - 2 * kMargin);
    } else {
        const double legend_h = std::min(h * 0.4, legendRowHeight() * (segments_.size() + 2));
        side = std::min(w, h - legend_h) - 2 * kMargin;
        g.centre = QPointF(w / 2, kMargin + side / 2);
        g.legend = QRectF(kMargin, kMargin * 2 + side, w - 2 * kMargin, legend_h - kMargin);
    }
    side = std::max(side, 40.0);
    g.outer = side / 2 - kBand - 2;
    g.inner = g.outer * 0.62;
    return g;
}

QPointF RingView::segmentMidPoint(int index, double radius_fraction) const {
    const Geometry g = ringGeometry();
    const Segment& s = segments_.at(index);
    const double r = g.inner + (g.outer - g.inner) * radius_fraction;
    return onCircle(g.centre, r, s.start + s.span / 2);
}

int RingView::segmentAt(const QPointF& point) const {
    const Geometry g = ringGeometry();
    const QPointF d = point - g.centre;
    const double distance = std::hypot(d.x(), d.y());
    if (distance >= g.inner && distance <= g.outer + kBand + 2) {
        double fraction = std::atan2(d.x(), -d.y()) / kTurn;
        if (fraction < 0) {
            fraction += 1.0;
        }
        for (qsizetype i = 0; i < segments_.size(); ++i) {
            const Segment& s = segments_[i];
            if (s.span > 0 && fraction >= s.start && fraction < s.start + s.span) {
                return static_cast<int>(i);
            }
        }
        return -1;
    }
    if (g.legend.contains(point)) {
        const int row = static_cast<int>((point.y() - g.legend.top()) / legendRowHeight());
        if (row >= 0 && row < segments_.size()) {
            return row;
        }
    }
    return -1;
}

QString RingView::tooltipFor(int index) const {
    if (index < 0 || index >= segments_.size() || !model_) {
        return {};
    }
    const Segment& s = segments_[index];
    const BalancerAddress& a = model_->address(s.row);
    QStringList lines;
    lines << tr("<b>%1</b> (target %2)").arg(s.endpoint.toHtmlEscaped(), s.target.toHtmlEscaped());
    lines << tr("%1 · weight %2 · %3 slots (%4% of the ring)")
                 .arg(healthWord(s))
                 .arg(s.weight)
                 .arg(s.slot_count)
                 .arg(s.span * 100.0, 0, 'f', 1);
    lines << tr("active connections: %1").arg(s.connections);
    if (a.last_change) {
        lines << tr("last change (%1): %2")
                     .arg(a.last_change->source, a.last_change->what.toHtmlEscaped());
    }
    if (a.last_failure) {
        lines << tr("last failure: %1").arg(a.last_failure->what.toHtmlEscaped());
    }
    return lines.join(QStringLiteral("<br>"));
}

QSize RingView::sizeHint() const {
    return {520, 320};
}

QSize RingView::minimumSizeHint() const {
    return {220, 160};
}

bool RingView::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int index = segmentAt(help->pos());
        if (index >= 0) {
            QToolTip::showText(help->globalPos(), tooltipFor(index), this);
        } else {
            QToolTip::hideText();
            event->ignore();
        }
        return true;
    }
    return QWidget::event(event);
}

void RingView::mousePressEvent(QMouseEvent* event) {
    const int index = segmentAt(event->position());
    if (index >= 0) {
        setCurrentKey(segments_[index].key);
        emit addressClicked(segments_[index].key);
    }
    QWidget::mousePressEvent(event);
}

void RingView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().base());
    const Geometry g = ringGeometry();
    const QColor text = palette().text().color();
    const QColor base = palette().base().color();

    qint64 total_slots = 0;
    bool any_arc = false;
    for (const Segment& s : segments_) {
        total_slots += s.span > 0 ? s.slot_count : 0;
        any_arc = any_arc || s.span > 0;
    }

    if (!any_arc) {
        QPen dashed(QColor(0x9a, 0x9a, 0x9a), 2, Qt::DashLine);
        p.setPen(dashed);
        p.setBrush(Qt::NoBrush);
        p.drawEllipse(g.centre, g.outer, g.outer);
        p.drawEllipse(g.centre, g.inner, g.inner);
    }

    for (const Segment& s : segments_) {
        if (s.span <= 0) {
            continue;
        }
        const QPainterPath path = arcPath(g.centre, g.outer, g.inner, s.start, s.span);
        p.setPen(Qt::NoPen);
        if (s.unhealthy) {
            // Washed-out target colour, hatched red: still recognisable, clearly down.
            QColor washed = s.colour;
            washed.setAlpha(90);
            p.fillPath(path, base);
            p.fillPath(path, washed);
            p.fillPath(path, QBrush(unhealthyColour(), Qt::BDiagPattern));
        } else {
            p.fillPath(path, s.colour);
        }
        // One tick per slot on small rings.
        if (total_slots > 1 && total_slots <= kMaxTicks && s.slot_count > 1) {
            p.setPen(QPen(base, 1));
            for (qint64 k = 1; k < s.slot_count; ++k) {
                const double f = s.start + s.span * double(k) / double(s.slot_count);
                p.drawLine(onCircle(g.centre, g.inner, f), onCircle(g.centre, g.outer, f));
            }
        }
        if (s.unhealthy) {
            // The red band outside the arc and a cross in its middle.
            const double r = g.outer + kBand / 2 + 1;
            const QRectF band(g.centre.x() - r, g.centre.y() - r, 2 * r, 2 * r);
            p.setPen(QPen(unhealthyColour(), kBand, Qt::SolidLine, Qt::FlatCap));
            p.setBrush(Qt::NoBrush);
            if (s.span >= 0.9999) {
                p.drawEllipse(band);
            } else {
                p.drawArc(band, static_cast<int>(qtDegrees(s.start) * 16),
                          static_cast<int>(-s.span * 360.0 * 16));
            }
            const double thickness = g.outer - g.inner;
            const double arc_length = s.span * kTurn * (g.inner + thickness / 2);
            const double half = std::min(thickness * 0.28, arc_length * 0.3);
            if (half >= 3) {
                const QPointF m = onCircle(g.centre, g.inner + thickness / 2, s.start + s.span / 2);
                p.setPen(
                    QPen(unhealthyColour(), std::max(2.0, half / 3), Qt::SolidLine, Qt::RoundCap));
                p.drawLine(m + QPointF(-half, -half), m + QPointF(half, half));
                p.drawLine(m + QPointF(-half, half), m + QPointF(half, -half));
            }
        }
    }
    // Weight and active connections on arcs that have room for them.
    {
        const QFontMetricsF label_fm(font());
        const double thickness = g.outer - g.inner;
        const double r = g.inner + thickness / 2;
        for (const Segment& s : segments_) {
            if (s.span <= 0 || s.unhealthy) {
                continue;  // an unhealthy arc carries its cross there
            }
            QStringList lines{tr("w%1").arg(s.weight)};
            if (s.connections > 0) {
                lines << tr("%1 conn").arg(s.connections);
            }
            double widest = 0;
            for (const QString& line : lines) {
                widest = std::max(widest, label_fm.horizontalAdvance(line));
            }
            const double chord = 2 * r * std::sin(std::min(s.span, 0.5) * std::numbers::pi);
            const double height = label_fm.height() * lines.size();
            if (chord < widest + 8 || thickness < height + 4) {
                continue;
            }
            const QPointF m = onCircle(g.centre, r, s.start + s.span / 2);
            const QRectF box(m.x() - widest / 2 - 2, m.y() - height / 2, widest + 4, height);
            p.fillRect(box, s.colour);  // over the slot tick that may cross the middle
            const bool dark = qGray(s.colour.rgb()) < 150;
            p.setPen(dark ? QColor(Qt::white) : QColor(0x20, 0x20, 0x20));
            p.setFont(font());
            p.drawText(box, Qt::AlignCenter, lines.join(QLatin1Char('\n')));
        }
    }
    // Borders between addresses.
    if (segments_.size() > 1) {
        p.setPen(QPen(base, 2));
        for (const Segment& s : segments_) {
            if (s.span > 0 && s.span < 0.9999) {
                p.drawLine(onCircle(g.centre, g.inner - 1, s.start),
                           onCircle(g.centre, g.outer + 1, s.start));
            }
        }
    }
    // The address selected elsewhere.
    for (const Segment& s : segments_) {
        if (s.span > 0 && s.key == current_key_) {
            p.setPen(QPen(palette().highlight().color(), 3));
            p.setBrush(Qt::NoBrush);
            p.drawPath(arcPath(g.centre, g.outer + 1, g.inner - 1, s.start, s.span));
        }
    }

    // Centre: the upstream and its health.
    const BalancerView* view = model_ ? &model_->view() : nullptr;
    const double inner_box = g.inner * 1.35;
    const QRectF centre_box(g.centre.x() - inner_box / 2, g.centre.y() - inner_box / 2, inner_box,
                            inner_box);
    QFont bold = font();
    bold.setBold(true);
    const QFontMetricsF fm(font());
    const double line = fm.height();
    QStringList lines;
    QList<QColor> colours;
    if (!view || (view->id.isEmpty() && view->name.isEmpty())) {
        lines << tr("no upstream");
        colours << text;
    } else {
        lines << (view->name.isEmpty() ? view->id : view->name);
        colours << text;
        const bool healthy = view->healthy();
        lines << (healthy ? tr("HEALTHY") : tr("UNHEALTHY"));
        colours << (healthy ? QColor(0x2e, 0x8b, 0x3e) : unhealthyColour());
        if (view->targets.isEmpty()) {
            lines << tr("no targets");
        } else {
            lines << tr("weight %1 of %2").arg(view->weight_available).arg(view->weight_total);
        }
        colours << text;
        lines << view->algorithm;
        colours << palette().placeholderText().color();
    }
    double y = g.centre.y() - line * lines.size() / 2;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        p.setFont(i < 2 ? bold : font());
        p.setPen(colours[i]);
        const QString elided =
            QFontMetricsF(p.font()).elidedText(lines[i], Qt::ElideMiddle, centre_box.width());
        p.drawText(QRectF(centre_box.left(), y, centre_box.width(), line), Qt::AlignCenter, elided);
        y += line;
    }

    // Legend: one row per address.
    p.setFont(font());
    const double row_h = legendRowHeight();
    double ly = g.legend.top();
    const double swatch = std::min(14.0, row_h - 4);
    for (const Segment& s : segments_) {
        if (ly + row_h > g.legend.bottom() + 1) {
            break;
        }
        const QRectF box(g.legend.left(), ly + (row_h - swatch) / 2, swatch, swatch);
        p.setPen(Qt::NoPen);
        if (s.unhealthy) {
            p.fillRect(box, base);
            p.fillRect(box, QBrush(unhealthyColour(), Qt::BDiagPattern));
            p.setPen(QPen(unhealthyColour(), 2));
            p.drawRect(box);
        } else {
            p.fillRect(box, s.colour);
        }
        if (s.key == current_key_) {
            p.fillRect(QRectF(box.right() + 4, ly, g.legend.width() - swatch - 4, row_h),
                       palette().highlight().color().lighter(170));
        }
        QString label = s.endpoint;
        if (s.target != s.endpoint) {
            label += tr(" (%1)").arg(s.target);
        }
        label += QStringLiteral("  ");
        if (s.unhealthy || s.disabled) {
            label += healthWord(s) + QStringLiteral(" · ");
        }
        label += tr("w%1 · %2% · %3 conn")
                     .arg(s.weight)
                     .arg(s.span * 100.0, 0, 'f', 0)
                     .arg(s.connections);
        p.setPen(s.unhealthy ? unhealthyColour() : text);
        const QRectF text_rect(box.right() + 8, ly, g.legend.right() - box.right() - 8, row_h);
        p.drawText(text_rect, Qt::AlignVCenter | Qt::AlignLeft,
                   fm.elidedText(label, Qt::ElideRight, text_rect.width()));
        ly += row_h;
    }
    if (!segments_.isEmpty() && ly + row_h <= g.legend.bottom() + 1) {
        p.setPen(palette().placeholderText().color());
        p.drawText(QRectF(g.legend.left(), ly, g.legend.width(), row_h),
                   Qt::AlignVCenter | Qt::AlignLeft,
                   fm.elidedText(model_ && model_->sharesByWeight()
                                     ? tr("red hatch, band and cross: unhealthy · arc: share "
                                          "of the weight")
                                     : tr("red hatch, band and cross: unhealthy · arc: share "
                                          "of the slots"),
                                 Qt::ElideRight, g.legend.width()));
    }
}

}  // namespace portico::console
