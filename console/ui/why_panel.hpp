#pragma once
// WhyPanel: "Why 503?" for the upstream on screen. Shows an UpstreamDiagnosis: a verdict strip
// (green: serving, amber: degraded, red: every request gets 503), the headline sentence, one
// bullet per target or address that takes no traffic, and what to do. GUI thread.

#include "console/core/upstream_diagnosis.hpp"

#include <QFrame>

class QLabel;

namespace portico::console {

class WhyPanel : public QFrame {
    Q_OBJECT
public:
    explicit WhyPanel(QWidget* parent = nullptr);

    void setDiagnosis(const UpstreamDiagnosis& diagnosis);
    // Nothing to explain (no upstream chosen).
    void clear(const QString& hint);

    const UpstreamDiagnosis& diagnosis() const { return diagnosis_; }
    // Everything shown, as plain text (for tests and copying).
    QString plainText() const;

private:
    UpstreamDiagnosis diagnosis_;
    QLabel* verdict_;
    QLabel* body_;
};

}  // namespace portico::console
