// portico-console: the operator console. Wires AdminClient, the main window, its pages, the
// connection dialog and the local gateway; all behaviour lives in console_core and console_ui.

#include "console/core/admin_client.hpp"
#include "console/core/local_gateway.hpp"
#include "console/core/recent_connections.hpp"
#include "console/ui/connection_dialog.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/local_gateway_dock.hpp"
#include "console/ui/main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QMenu>
#include <QMessageBox>
#include <QUrl>

#include <cstdio>

using namespace portico::console;

int main(int argc, char** argv) {
    QApplication::setHighDpiScaleFactorRoundingPolicy(
        Qt::HighDpiScaleFactorRoundingPolicy::PassThrough);
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Portico");
    QApplication::setOrganizationDomain("portico.dev");
    QApplication::setApplicationName("portico-console");
    QApplication::setApplicationDisplayName("Portico Console");
    QApplication::setApplicationVersion("0.1.0");

    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Portico Console: see and operate Portico gateways through their Admin API.\n"
        "Without options it opens the connection dialog.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption connect_option(
        QStringList{"c", "connect"}, "Connect to the gateway whose Admin API is at <url>.", "url");
    QCommandLineOption local_option(
        "start-local", "Start the bundled portico on 127.0.0.1 and connect to it.");
    parser.addOption(connect_option);
    parser.addOption(local_option);
    parser.process(app);

    AdminClient client;
    MainWindow window(&client);
    addConsolePages(&window, &client);

    LocalGateway local;
    auto* dock = new LocalGatewayDock(&local, &window);
    window.addDockWidget(Qt::BottomDockWidgetArea, dock);
    dock->hide();
    window.viewMenu()->addAction(dock->toggleViewAction());

    auto connectTo = [&client](const QUrl& url) {
        rememberConnection(url);
        client.setBaseUrl(url);
    };
    auto startLocal = [&] {
        if (!local.start()) {
            auto* box = new QMessageBox(QMessageBox::Warning, QObject::tr("Local gateway"),
                                        QObject::tr("Could not start the local gateway: %1")
                                            .arg(local.error()),
                                        QMessageBox::Ok, &window);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
            return;
        }
        dock->show();
        client.setBaseUrl(local.adminUrl());
    };
    auto openDialog = [&] {
        auto* dialog = new ConnectionDialog(client.baseUrl(), &window);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        QObject::connect(dialog, &QDialog::accepted, &window, [&, dialog] {
            if (dialog->startLocalChosen()) {
                startLocal();
            } else {
                connectTo(dialog->url());
            }
        });
        dialog->open();
    };
    QObject::connect(&window, &MainWindow::connectRequested, &window, openDialog);

    auto* start_action = new QAction(QObject::tr("Start &Local Gateway"), &window);
    start_action->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
    QObject::connect(start_action, &QAction::triggered, &window, startLocal);
    auto* stop_action = new QAction(QObject::tr("S&top Local Gateway"), &window);
    QObject::connect(stop_action, &QAction::triggered, &local, &LocalGateway::stop);
    auto* disconnect_action = new QAction(QObject::tr("&Disconnect"), &window);
    QObject::connect(disconnect_action, &QAction::triggered, &window,
                     [&client] { client.setBaseUrl(QUrl()); });
    auto* quit_action = new QAction(QObject::tr("&Quit"), &window);
    quit_action->setShortcut(QKeySequence::Quit);
    QObject::connect(quit_action, &QAction::triggered, &window, &QWidget::close);
    window.fileMenu()->addAction(start_action);
    window.fileMenu()->addAction(stop_action);
    window.fileMenu()->addAction(disconnect_action);
    window.fileMenu()->addSeparator();
    window.fileMenu()->addAction(quit_action);

    window.restoreCurrentPage();
    window.show();
    if (parser.isSet(connect_option)) {
        QUrl url = ConnectionDialog::parseUrl(parser.value(connect_option));
        if (url.isEmpty()) {
            std::fprintf(stderr,
                         "portico-console: '%s' is not an http(s) URL; use e.g. "
                         "--connect http://127.0.0.1:8001\n",
                         qPrintable(parser.value(connect_option)));
            return 2;
        }
        connectTo(url);
    } else if (parser.isSet(local_option)) {
        startLocal();
    } else {
        openDialog();
    }
    int code = QApplication::exec();
    local.stop();
    return code;
}
