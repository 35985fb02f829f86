// portico-console: the operator console. Wires AdminClient, the main window, its pages and the
// controller (connection dialog, local gateway); all behaviour lives in console_core and
// console_ui.

#include "console/core/admin_client.hpp"
#include "console/core/local_gateway.hpp"
#include "console/ui/connection_dialog.hpp"
#include "console/ui/console_controller.hpp"
#include "console/ui/console_pages.hpp"
#include "console/ui/main_window.hpp"

#include <QApplication>
#include <QCommandLineParser>
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
    QCommandLineOption connect_option(QStringList{"c", "connect"},
                                      "Connect to the gateway whose Admin API is at <url>.", "url");
    QCommandLineOption local_option(
        "start-local",
        "Start the bundled portico (next to this program, PORTICO_BINARY or PATH) on 127.0.0.1 "
        "with its data in the user data directory, and connect to it.");
    parser.addOption(connect_option);
    parser.addOption(local_option);
    parser.process(app);

    QUrl url;
    if (parser.isSet(connect_option)) {
        url = ConnectionDialog::parseUrl(parser.value(connect_option));
        if (url.isEmpty()) {
            std::fprintf(stderr,
                         "portico-console: '%s' is not an http(s) URL; use e.g. "
                         "--connect http://127.0.0.1:8001\n",
                         qPrintable(parser.value(connect_option)));
            return 2;
        }
    }

    AdminClient client;
    LocalGateway local;  // outlives the window: stopped (and waited for) last
    MainWindow window(&client);
    addConsolePages(&window, &client);
    ConsoleController controller(&window, &client, &local);
    window.restoreCurrentPage();
    window.show();
    if (!url.isEmpty()) {
        controller.connectTo(url);
    } else if (parser.isSet(local_option)) {
        controller.startLocalGateway();
    } else {
        controller.openConnectionDialog();
    }
    return QApplication::exec();
}
