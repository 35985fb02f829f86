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
class HistoryPage;
class UpstreamsPage;
class TrafficPage;
class ClusterPage;

struct ConsolePages {
    OverviewPage* overview = nullptr;
    EntitiesPage* services = nullptr;
    EntitiesPage* routes = nullptr;
    EntitiesPage* consumers = nullptr;
    EntitiesPage* plugins = nullptr;
    EntitiesPage* certificates = nullptr;
    DeclarativePage* declarative = nullptr;
    UpstreamsPage* upstreams = nullptr;
    TrafficPage* traffic = nullptr;
    ClusterPage* cluster = nullptr;  // shown only when /status says database strategy postgres
    HistoryPage* history = nullptr;
};

// Adds Overview, Services, Routes, Upstreams, Consumers, Plugins, Certificates, Traffic, Cluster
// (hidden unless the gateway runs on PostgreSQL) and Declarative to `window`.
ConsolePages addConsolePages(MainWindow* window, AdminClient* client);

}  // namespace portico::console
