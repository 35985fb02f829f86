// portico-console: the operator console. Wires AdminClient, the main window and its pages; all
// behaviour lives in console_core and console_ui.

#include "console/core/admin_client.hpp"
#include "console/ui/main_window.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QLabel>
#include <QSettings>
#include <QUrl>

#include <cstdio>

using portico::console::AdminClient;
using portico::console::MainWindow;

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
        "Portico Console: see and operate Portico gateways through their Admin API.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption connect_option(
        QStringList{"c", "connect"}, "Connect to the gateway whose Admin API is at <url>.", "url");
    parser.addOption(connect_option);
    parser.process(app);

    AdminClient client;
    MainWindow window(&client);

    auto* placeholder = new QLabel(QObject::tr("Connect to a gateway with File > Connect."));
    placeholder->setAlignment(Qt::AlignCenter);
    window.addPage(QObject::tr("Overview"), placeholder);

    if (parser.isSet(connect_option)) {
        QUrl url = QUrl::fromUserInput(parser.value(connect_option));
        if (!url.isValid() || url.scheme().isEmpty()) {
            std::fprintf(stderr, "portico-console: '%s' is not a URL; use e.g. "
                                 "--connect http://127.0.0.1:8001\n",
                         qPrintable(parser.value(connect_option)));
            return 2;
        }
        client.setBaseUrl(url);
    }
    window.show();
    return QApplication::exec();
}
