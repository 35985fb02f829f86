#pragma once
// The console's standard pages and their wiring to the main window (progress, messages,
// refresh), shared by portico-console's main() and the widget tests.

#include <QList>

namespace portico::console {

class AdminClient;
class MainWindow;
class OverviewPage;
class EntitiesPage;
class DeclarativePage;

struct ConsolePages {
    OverviewPage* overview = nullptr;
    EntitiesPage* services = nullptr;
    EntitiesPage* routes = nullptr;
    EntitiesPage* consumers = nullptr;
    EntitiesPage* plugins = nullptr;
    EntitiesPage* certificates = nullptr;
    DeclarativePage* declarative = nullptr;
};

// Adds Overview, Services, Routes, Consumers, Plugins, Certificates and Declarative to `window`.
ConsolePages addConsolePages(MainWindow* window, AdminClient* client);

}  // namespace portico::console
