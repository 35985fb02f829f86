#include "console/ui/why_panel.hpp"

#include <QLabel>
#include <QVBoxLayout>

namespace portico::console {

namespace {

QString verdictText(UpstreamDiagnosis::Verdict verdict) {
    switch (verdict) {
        case UpstreamDiagnosis::Verdict::Serving:
            return WhyPanel::tr("Serving");
        case UpstreamDiagnosis::Verdict::Degraded:
            return WhyPanel::tr("Serving, degraded");
        case UpstreamDiagnosis::Verdict::Failing:
            return WhyPanel::tr("Every request gets 503");
    }
    return {};
}

QString verdictStyle(UpstreamDiagnosis::Verdict verdict) {
    switch (verdict) {
        case UpstreamDiagnosis::Verdict::Serving:
            return QStringLiteral("background:#2e8b3e;color:white;");
        case UpstreamDiagnosis::Verdict::Degraded:
            return QStringLiteral("background:#c98a00;color:white;");
        case UpstreamDiagnosis::Verdict::Failing:
            return QStringLiteral("background:#d62728;color:white;");
    }
    return {};
}

}  // namespace

WhyPanel::WhyPanel(QWidget* parent) : QFrame(parent) {
    setFrameShape(QFrame::StyledPanel);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    verdict_ = new QLabel(this);
    verdict_->setObjectName(QStringLiteral("whyVerdict"));
    verdict_->setMargin(6);
    QFont bold = verdict_->font();
    bold.setBold(true);
    verdict_->setFont(bold);
    body_ = new QLabel(this);
    body_->setObjectName(QStringLiteral("whyBody"));
    body_->setWordWrap(true);
    body_->setTextFormat(Qt::RichText);
    body_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    body_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    body_->setMargin(8);
    layout->addWidget(verdict_);
    layout->addWidget(body_, 1);
    clear(tr("Choose an upstream to see why it does or does not serve traffic."));
}

void WhyPanel::clear(const QString& hint) {
    diagnosis_ = {};
    verdict_->setText(tr("Why 503?"));
    verdict_->setStyleSheet(QStringLiteral("background:palette(mid);"));
    body_->setText(hint.toHtmlEscaped());
}

void WhyPanel::setDiagnosis(const UpstreamDiagnosis& diagnosis) {
    diagnosis_ = diagnosis;
    verdict_->setText(tr("Why 503? — %1").arg(verdictText(diagnosis.verdict)));
    verdict_->setStyleSheet(verdictStyle(diagnosis.verdict));
    QString html =
        QStringLiteral("<p>") + diagnosis.headline.toHtmlEscaped() + QStringLiteral("</p>");
    if (!diagnosis.usage.isEmpty()) {
        html +=
            QStringLiteral("<p><i>") + diagnosis.usage.toHtmlEscaped() + QStringLiteral("</i></p>");
    }
    if (!diagnosis.reasons.isEmpty()) {
        html += QStringLiteral("<ul style='margin-left:-20px'>");
        for (const QString& reason : diagnosis.reasons) {
            html += QStringLiteral("<li>") + reason.toHtmlEscaped() + QStringLiteral("</li>");
        }
        html += QStringLiteral("</ul>");
    }
    if (!diagnosis.advice.isEmpty()) {
        html += QStringLiteral("<p><b>") + tr("What to do:") + QStringLiteral("</b> ") +
                diagnosis.advice.join(QLatin1Char(' ')).toHtmlEscaped() + QStringLiteral("</p>");
    }
    body_->setText(html);
}

QString WhyPanel::plainText() const {
    QStringList parts{verdict_->text(), diagnosis_.headline};
    if (!diagnosis_.usage.isEmpty()) {
        parts << diagnosis_.usage;
    }
    parts << diagnosis_.reasons << diagnosis_.advice;
    return parts.join(QLatin1Char('\n'));
}

}  // namespace portico::console
