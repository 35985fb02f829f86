#include "console/ui/local_gateway_dock.hpp"

#include "console/core/local_gateway.hpp"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace portico::console {

LocalGatewayDock::LocalGatewayDock(LocalGateway* gateway, QWidget* parent)
    : QDockWidget(tr("Local Gateway Log"), parent), gateway_(gateway) {
    setObjectName("LocalGatewayDock");
    auto* body = new QWidget(this);
    auto* layout = new QVBoxLayout(body);
    auto* bar = new QHBoxLayout;
    state_ = new QLabel(tr("Not running"), body);
    stop_ = new QPushButton(tr("Stop"), body);
    stop_->setEnabled(false);
    bar->addWidget(state_, 1);
    bar->addWidget(stop_);
    layout->addLayout(bar);
    log_ = new QPlainTextEdit(body);
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    layout->addWidget(log_);
    setWidget(body);

    connect(stop_, &QPushButton::clicked, gateway_, &LocalGateway::stop);
    connect(gateway_, &LocalGateway::logLine, log_, &QPlainTextEdit::appendPlainText);
    connect(gateway_, &LocalGateway::started, this, [this](const QUrl& url) {
        state_->setText(
            tr("Running — Admin API %1, proxy %2, data in %3")
                .arg(url.toString(), gateway_->proxyUrl().toString(), gateway_->dataDir()));
        stop_->setEnabled(true);
    });
    connect(gateway_, &LocalGateway::stopped, this, [this](int, const QString& reason) {
        state_->setText(tr("Stopped: %1").arg(reason));
        stop_->setEnabled(false);
    });
}

}  // namespace portico::console
