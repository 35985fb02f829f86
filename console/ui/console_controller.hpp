#pragma once
// ConsoleController: the application's wiring around the main window — the connection dialog
// (connect to a URL, remembered as a recent connection, or start the local gateway), the local
// gateway and its log dock, and the File menu actions. main() creates one; tests drive it the
// same way. GUI thread.

#include <QObject>
#include <QPointer>
#include <QUrl>

namespace portico::console {

class AdminClient;
class ConnectionDialog;
class LocalGateway;
class LocalGatewayDock;
class MainWindow;

class ConsoleController : public QObject {
    Q_OBJECT
public:
    // `local` may be shared with the caller (tests point its data directory elsewhere).
    ConsoleController(MainWindow* window, AdminClient* client, LocalGateway* local,
                      QObject* parent = nullptr);

    // Opens the connection dialog (window-modal, returns at once).
    void openConnectionDialog();
    ConnectionDialog* connectionDialog() const;
    void connectTo(const QUrl& url);
    // Starts the local gateway and connects to it; a failure is shown in a message box.
    void startLocalGateway();
    LocalGatewayDock* dock() const { return dock_; }

private:
    MainWindow* window_;
    AdminClient* client_;
    LocalGateway* local_;
    LocalGatewayDock* dock_;
    QPointer<ConnectionDialog> dialog_;
};

}  // namespace portico::console
