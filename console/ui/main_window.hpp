#pragma once
// MainWindow: the console's frame. A sidebar of pages beside a QStackedWidget, a banner above
// them when the gateway is lost, the connection state always visible in the status bar, menus
// and shortcuts, and window state remembered in QSettings. Pages are plain QWidgets that receive
// the shared AdminClient* in their constructor and are added with addPage(). GUI thread only.

#include <QMainWindow>
#include <QString>

class QLabel;
class QListWidget;
class QStackedWidget;
class QFrame;
class QProgressBar;
class QAction;
class QMenu;

namespace portico::console {

class AdminClient;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(AdminClient* client, QWidget* parent = nullptr);
    ~MainWindow() override;

    AdminClient* client() const { return client_; }

    // Appends a page to the sidebar; the window takes ownership. Returns its index.
    int addPage(const QString& title, QWidget* page);
    // Shows or hides a page's sidebar entry (e.g. the cluster page outside PostgreSQL).
    void setPageVisible(QWidget* page, bool visible);
    void showPage(QWidget* page);
    QWidget* currentPage() const;
    QWidget* pageByTitle(const QString& title) const;
    int pageCount() const;
    // Shows the page that was current when the window last closed (call after adding pages).
    void restoreCurrentPage();

    // The banner shown while the gateway is lost (exposed for tests).
    QFrame* lostBanner() const { return banner_; }
    QLabel* connectionLabel() const { return connection_label_; }

    // Long operations report here: the status bar shows a progress bar while busy.
    void showProgress(const QString& text, int value, int maximum);
    void hideProgress();
    void showMessage(const QString& text, int timeout_ms = 5000);

    // Menus pages and the application add their actions to.
    QMenu* fileMenu() const { return file_menu_; }
    QMenu* viewMenu() const { return view_menu_; }
    QMenu* toolsMenu() const { return tools_menu_; }
    QMenu* helpMenu() const { return help_menu_; }

    // Light or dark palette (Fusion style), remembered in QSettings.
    void setDarkTheme(bool dark);
    bool darkTheme() const { return dark_; }

signals:
    void connectRequested();  // File > Connect... (the application opens the dialog)
    void refreshRequested();  // View > Refresh (F5)

protected:
    void closeEvent(class QCloseEvent* event) override;

private:
    void updateConnectionState();
    void restoreWindowState();

    AdminClient* client_;
    QListWidget* sidebar_;
    QStackedWidget* stack_;
    QFrame* banner_;
    QLabel* banner_text_;
    QLabel* connection_label_;
    QLabel* revision_label_;
    QProgressBar* progress_;
    QMenu* file_menu_;
    QMenu* view_menu_;
    QMenu* tools_menu_;
    QMenu* help_menu_;
    QAction* dark_action_;
    bool dark_ = false;
};

}  // namespace portico::console
