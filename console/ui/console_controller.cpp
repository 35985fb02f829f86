#include "console/ui/console_controller.hpp"

#include "console/core/admin_client.hpp"
#include "console/core/local_gateway.hpp"
#include "console/core/recent_connections.hpp"
#include "console/ui/connection_dialog.hpp"
#include "console/ui/local_gateway_dock.hpp"
#include "console/ui/main_window.hpp"

#include <QAction>
#include <QMenu>
#include <QMessageBox>

namespace portico::console {

ConsoleController::ConsoleController(MainWindow* window, AdminClient* client, LocalGateway* local,
                                     QObject* parent)
    : QObject(parent), window_(window), client_(client), local_(local) {
    dock_ = new LocalGatewayDock(local_, window_);
    window_->addDockWidget(Qt::BottomDockWidgetArea, dock_);
    dock_->hide();
    window_->viewMenu()->addAction(dock_->toggleViewAction());

    connect(window_, &MainWindow::connectRequested, this, &ConsoleController::openConnectionDialog);

    auto* start_action = new QAction(tr("Start &Local Gateway"), window_);
    start_action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
    connect(start_action, &QAction::triggered, this, &ConsoleController::startLocalGateway);
    auto* stop_action = new QAction(tr("S&top Local Gateway"), window_);
    connect(stop_action, &QAction::triggered, local_, &LocalGateway::stop);
    auto* disconnect_action = new QAction(tr("&Disconnect"), window_);
    connect(disconnect_action, &QAction::triggered, this, [this] { client_->setBaseUrl(QUrl()); });
    auto* quit_action = new QAction(tr("&Quit"), window_);
    quit_action->setShortcut(QKeySequence::Quit);
    connect(quit_action, &QAction::triggered, window_, &QWidget::close);
    window_->fileMenu()->addAction(start_action);
    window_->fileMenu()->addAction(stop_action);
    window_->fileMenu()->addAction(disconnect_action);
    window_->fileMenu()->addSeparator();
    window_->fileMenu()->addAction(quit_action);
}

ConnectionDialog* ConsoleController::connectionDialog() const {
    return dialog_;
}

void ConsoleController::openConnectionDialog() {
    if (dialog_ != nullptr) {
        dialog_->raise();
        return;
    }
    dialog_ = new ConnectionDialog(client_->baseUrl(), window_);
    dialog_->setAttribute(Qt::WA_DeleteOnClose);
    ConnectionDialog* dialog = dialog_;
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (dialog->startLocalChosen()) {
            startLocalGateway();
        } else {
            connectTo(dialog->url());
        }
    });
    dialog->open();
}

void ConsoleController::connectTo(const QUrl& url) {
    rememberConnection(url);
    client_->setBaseUrl(url);
}

void ConsoleController::startLocalGateway() {
    if (!local_->start()) {
        auto* box =
            new QMessageBox(QMessageBox::Warning, tr("Local gateway"),
                            tr("Could not start the local gateway: %1").arg(local_->error()),
                            QMessageBox::Ok, window_);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
        return;
    }
    dock_->show();
    client_->setBaseUrl(local_->adminUrl());
}

}  // namespace portico::console
