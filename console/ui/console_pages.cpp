#include "console/ui/console_pages.hpp"

#include "console/core/admin_client.hpp"
#include "console/ui/cluster_page.hpp"
#include "console/ui/declarative_page.hpp"
#include "console/ui/entities_page.hpp"
#include "console/ui/history_page.hpp"
#include "console/ui/main_window.hpp"
#include "console/ui/overview_page.hpp"
#include "console/ui/traffic_page.hpp"
#include "console/ui/upstreams_page.hpp"

#include <QAction>
#include <QMenu>

namespace portico::console {

namespace {

EntitiesPage* addEntities(MainWindow* window, AdminClient* client, const EntityPageSpec& spec) {
    auto* page = new EntitiesPage(client, spec);
    window->addPage(spec.title, page);
    QObject::connect(page, &EntitiesPage::message, window,
                     [window](const QString& text) { window->showMessage(text); });
    QObject::connect(window, &MainWindow::refreshRequested, page, [window, page] {
        if (window->currentPage() == page) {
            page->refresh();
        }
    });
    return page;
}

}  // namespace

ConsolePages addConsolePages(MainWindow* window, AdminClient* client) {
    ConsolePages pages;
    pages.overview = new OverviewPage(client);
    window->addPage(QObject::tr("Overview"), pages.overview);

    pages.services = addEntities(window, client,
                                 {QObject::tr("Services"),
                                  QObject::tr("service"),
                                  "services",
                                  "services",
                                  {{QObject::tr("Name"), "name"},
                                   {QObject::tr("Protocol"), "protocol"},
                                   {QObject::tr("Host"), "host"},
                                   {QObject::tr("Port"), "port"},
                                   {QObject::tr("Path"), "path"},
                                   {QObject::tr("Enabled"), "enabled"},
                                   {QObject::tr("Tags"), "tags"},
                                   {QObject::tr("Updated"), "updated_at"}},
                                  {}});
    pages.routes = addEntities(window, client,
                               {QObject::tr("Routes"),
                                QObject::tr("route"),
                                "routes",
                                "routes",
                                {{QObject::tr("Name"), "name"},
                                 {QObject::tr("Service"), "service"},
                                 {QObject::tr("Protocols"), "protocols"},
                                 {QObject::tr("Methods"), "methods"},
                                 {QObject::tr("Hosts"), "hosts"},
                                 {QObject::tr("Paths"), "paths"},
                                 {QObject::tr("Strip path"), "strip_path"},
                                 {QObject::tr("Tags"), "tags"}},
                                {"services"}});
    pages.upstreams = new UpstreamsPage(client);
    window->addPage(QObject::tr("Upstreams"), pages.upstreams);
    QObject::connect(window, &MainWindow::refreshRequested, pages.upstreams,
                     [window, page = pages.upstreams] {
                         if (window->currentPage() == page) {
                             page->refresh();
                         }
                     });
    pages.consumers = addEntities(window, client,
                                  {QObject::tr("Consumers"),
                                   QObject::tr("consumer"),
                                   "consumers",
                                   "consumers",
                                   {{QObject::tr("Username"), "username"},
                                    {QObject::tr("Custom id"), "custom_id"},
                                    {QObject::tr("Tags"), "tags"},
                                    {QObject::tr("Created"), "created_at"}},
                                   {}});
    pages.plugins = addEntities(window, client,
                                {QObject::tr("Plugins"),
                                 QObject::tr("plugin"),
                                 "plugins",
                                 "plugins",
                                 {{QObject::tr("Name"), "name"},
                                  {QObject::tr("Enabled"), "enabled"},
                                  {QObject::tr("Service"), "service"},
                                  {QObject::tr("Route"), "route"},
                                  {QObject::tr("Consumer"), "consumer"},
                                  {QObject::tr("Protocols"), "protocols"},
                                  {QObject::tr("Tags"), "tags"}},
                                 {"services", "routes", "consumers"}});
    pages.certificates = addEntities(window, client,
                                     {QObject::tr("Certificates"),
                                      QObject::tr("certificate"),
                                      "certificates",
                                      "certificates",
                                      {{QObject::tr("Id"), "id"},
                                       {QObject::tr("SNIs"), "snis"},
                                       {QObject::tr("Certificate"), "cert"},
                                       {QObject::tr("Tags"), "tags"},
                                       {QObject::tr("Created"), "created_at"}},
                                      {}});

    pages.traffic = new TrafficPage(client);
    window->addPage(QObject::tr("Live traffic"), pages.traffic);
    pages.cluster = new ClusterPage(client);
    window->addPage(QObject::tr("Cluster"), pages.cluster);
    window->setPageVisible(pages.cluster, pages.cluster->applicable());
    QObject::connect(pages.cluster, &ClusterPage::applicableChanged, window,
                     [window, page = pages.cluster](bool applicable) {
                         window->setPageVisible(page, applicable);
                     });

    pages.declarative = new DeclarativePage(client);
    window->addPage(QObject::tr("Declarative"), pages.declarative);
    auto* declarative = pages.declarative;
    QObject::connect(declarative, &DeclarativePage::progress, window,
                     [window](const QString& what, int done, int total) {
                         window->showProgress(what, done, total);
                     });
    QObject::connect(declarative, &DeclarativePage::idle, window, &MainWindow::hideProgress);
    QObject::connect(declarative, &DeclarativePage::applied, window,
                     [window](const QString& text) { window->showMessage(text, 10000); });
    QObject::connect(declarative, &DeclarativePage::failed, window,
                     [window](const QString& text) { window->showMessage(text, 15000); });
    auto* open_file = window->toolsMenu()->addAction(QObject::tr("&Open Declarative File..."));
    open_file->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    QObject::connect(open_file, &QAction::triggered, declarative, [window, declarative] {
        window->showPage(declarative);
        declarative->chooseFile();
    });
    auto* export_config =
        window->toolsMenu()->addAction(QObject::tr("&Export Running Configuration..."));
    export_config->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    QObject::connect(export_config, &QAction::triggered, declarative, [window, declarative] {
        window->showPage(declarative);
        declarative->chooseExport();
    });
    QObject::connect(declarative, &DeclarativePage::exported, window, [window](const QString& p) {
        window->showMessage(QObject::tr("Exported the running configuration to %1").arg(p));
    });
    pages.history = new HistoryPage(client);
    window->addPage(QObject::tr("History"), pages.history);
    QObject::connect(pages.history, &HistoryPage::message, window,
                     [window](const QString& text) { window->showMessage(text, 10000); });
    QObject::connect(window, &MainWindow::refreshRequested, pages.history,
                     [window, page = pages.history] {
                         if (window->currentPage() == page) {
                             page->refresh();
                         }
                     });
    return pages;
}

}  // namespace portico::console
