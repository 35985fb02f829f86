#include "console/ui/main_window.hpp"

#include "console/core/admin_client.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFrame>
#include <QHBoxLayout>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyleFactory>
#include <QVBoxLayout>

namespace portico::console {

namespace {

QPalette darkPalette() {
    QPalette p;
    QColor window(37, 40, 45);
    QColor base(28, 30, 34);
    QColor text(222, 224, 228);
    QColor highlight(64, 128, 200);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, window);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(130, 134, 140));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(255, 90, 90));
    p.setColor(QPalette::Link, QColor(110, 170, 240));
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(120, 120, 120));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(120, 120, 120));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(120, 120, 120));
    return p;
}

}  // namespace

MainWindow::MainWindow(AdminClient* client, QWidget* parent)
    : QMainWindow(parent), client_(client) {
    setWindowTitle(tr("Portico Console"));
    setObjectName("MainWindow");

    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);

    banner_ = new QFrame(central);
    banner_->setObjectName("lostBanner");
    banner_->setStyleSheet(
        "#lostBanner { background: #b3261e; } #lostBanner QLabel { color: white; }");
    auto* banner_layout = new QHBoxLayout(banner_);
    banner_text_ = new QLabel(banner_);
    banner_text_->setWordWrap(true);
    banner_layout->addWidget(banner_text_, 1);
    auto* banner_button = new QPushButton(tr("Connect to another gateway..."), banner_);
    banner_layout->addWidget(banner_button);
    connect(banner_button, &QPushButton::clicked, this, &MainWindow::connectRequested);
    banner_->hide();
    outer->addWidget(banner_);

    auto* splitter = new QSplitter(Qt::Horizontal, central);
    splitter->setObjectName("mainSplitter");
    sidebar_ = new QListWidget(splitter);
    sidebar_->setObjectName("sidebar");
    sidebar_->setMinimumWidth(130);
    sidebar_->setStyleSheet("QListWidget#sidebar::item { padding: 5px 8px; }");
    sidebar_->setMaximumWidth(260);
    stack_ = new QStackedWidget(splitter);
    splitter->addWidget(sidebar_);
    splitter->addWidget(stack_);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({160, 1040});
    outer->addWidget(splitter, 1);
    setCentralWidget(central);
    connect(sidebar_, &QListWidget::currentRowChanged, stack_, &QStackedWidget::setCurrentIndex);

    connection_label_ = new QLabel(this);
    connection_label_->setObjectName("connectionLabel");
    revision_label_ = new QLabel(this);
    progress_ = new QProgressBar(this);
    progress_->setMaximumWidth(200);
    progress_->hide();
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(revision_label_);
    statusBar()->addPermanentWidget(connection_label_);

    file_menu_ = menuBar()->addMenu(tr("&File"));
    auto* connect_action = file_menu_->addAction(tr("&Connect to Gateway..."));
    connect_action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_O));
    connect(connect_action, &QAction::triggered, this, &MainWindow::connectRequested);
    file_menu_->addSeparator();
    view_menu_ = menuBar()->addMenu(tr("&View"));
    tools_menu_ = menuBar()->addMenu(tr("&Tools"));
    help_menu_ = menuBar()->addMenu(tr("&Help"));

    auto* refresh = view_menu_->addAction(tr("&Refresh"));
    refresh->setShortcut(QKeySequence::Refresh);
    connect(refresh, &QAction::triggered, this, &MainWindow::refreshRequested);
    dark_action_ = view_menu_->addAction(tr("&Dark Theme"));
    dark_action_->setCheckable(true);
    dark_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    connect(dark_action_, &QAction::toggled, this, &MainWindow::setDarkTheme);
    view_menu_->addSeparator();

    auto* about = help_menu_->addAction(tr("&About Portico Console"));
    connect(about, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About Portico Console"),
                           tr("<b>Portico Console</b><br>The operator console of the Portico API "
                              "gateway. It talks to gateways only through the Admin API."));
    });

    connect(client_, &AdminClient::stateChanged, this, &MainWindow::updateConnectionState);
    connect(client_, &AdminClient::statusUpdated, this, [this](const QJsonObject& status) {
        auto configuration = status.value("configuration").toObject();
        auto revision = configuration.value("revision");
        revision_label_->setText(revision.isDouble() ? tr("revision %1").arg(revision.toInteger())
                                                     : QString());
    });
    updateConnectionState();
    restoreWindowState();
}

MainWindow::~MainWindow() = default;

int MainWindow::addPage(const QString& title, QWidget* page) {
    page->setParent(stack_);
    if (page->objectName().isEmpty()) {
        page->setObjectName(title);
    }
    int index = stack_->addWidget(page);
    auto* item = new QListWidgetItem(title, sidebar_);
    item->setData(Qt::UserRole, QVariant::fromValue(static_cast<QObject*>(page)));
    // Ctrl+1..9 jump to the first nine pages.
    if (index < 9) {
        auto* action = new QAction(title, this);
        action->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + index)));
        connect(action, &QAction::triggered, this, [this, page] { showPage(page); });
        view_menu_->addAction(action);
    }
    if (sidebar_->currentRow() < 0) {
        sidebar_->setCurrentRow(0);
    }
    return index;
}

void MainWindow::setPageVisible(QWidget* page, bool visible) {
    int index = stack_->indexOf(page);
    if (index < 0) {
        return;
    }
    sidebar_->item(index)->setHidden(!visible);
    if (!visible && stack_->currentIndex() == index) {
        sidebar_->setCurrentRow(0);
    }
}

void MainWindow::showPage(QWidget* page) {
    int index = stack_->indexOf(page);
    if (index >= 0 && !sidebar_->item(index)->isHidden()) {
        sidebar_->setCurrentRow(index);
    }
}

QWidget* MainWindow::currentPage() const {
    return stack_->currentWidget();
}

QWidget* MainWindow::pageByTitle(const QString& title) const {
    for (int i = 0; i < sidebar_->count(); ++i) {
        if (sidebar_->item(i)->text() == title) {
            return stack_->widget(i);
        }
    }
    return nullptr;
}

void MainWindow::restoreCurrentPage() {
    int index = QSettings().value("ui/page", 0).toInt();
    if (index >= 0 && index < stack_->count()) {
        showPage(stack_->widget(index));
    }
}

int MainWindow::pageCount() const {
    return stack_->count();
}

void MainWindow::showProgress(const QString& text, int value, int maximum) {
    progress_->setRange(0, maximum);
    progress_->setValue(value);
    progress_->setFormat(text + " %v/%m");
    progress_->setTextVisible(true);
    progress_->show();
}

void MainWindow::hideProgress() {
    progress_->hide();
}

void MainWindow::showMessage(const QString& text, int timeout_ms) {
    statusBar()->showMessage(text, timeout_ms);
}

void MainWindow::setDarkTheme(bool dark) {
    dark_ = dark;
    if (dark_action_->isChecked() != dark) {
        dark_action_->setChecked(dark);  // re-enters once with the same value
        return;
    }
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    QApplication::setPalette(dark ? darkPalette() : QApplication::style()->standardPalette());
    QSettings().setValue("ui/dark", dark);
}

void MainWindow::updateConnectionState() {
    auto state = client_->state();
    QString url = client_->baseUrl().toString();
    QString color;
    switch (state) {
        case AdminClient::State::Connected:
            color = "#2e7d32";
            break;
        case AdminClient::State::Connecting:
            color = "#f9a825";
            break;
        case AdminClient::State::Lost:
            color = "#c62828";
            break;
        case AdminClient::State::Disconnected:
            color = "#757575";
            break;
    }
    connection_label_->setText(
        QStringLiteral("<span style='color:%1'>&#9679;</span> %2%3")
            .arg(color, AdminClient::stateName(state),
                 url.isEmpty() ? QString() : QStringLiteral(" — ") + url.toHtmlEscaped()));
    setWindowTitle(url.isEmpty() ? tr("Portico Console") : tr("Portico Console — %1").arg(url));
    if (state == AdminClient::State::Lost) {
        banner_text_->setText(
            tr("<b>Connection to %1 lost.</b> %2 — reconnecting automatically every few seconds.")
                .arg(url.toHtmlEscaped(), client_->lastError().toHtmlEscaped()));
        banner_->show();
    } else {
        banner_->hide();
    }
}

void MainWindow::restoreWindowState() {
    QSettings settings;
    if (!restoreGeometry(settings.value("ui/geometry").toByteArray())) {
        resize(1200, 780);
    }
    restoreState(settings.value("ui/state").toByteArray());
    if (auto* splitter = findChild<QSplitter*>("mainSplitter")) {
        splitter->restoreState(settings.value("ui/splitter").toByteArray());
    }
    if (settings.value("ui/dark", false).toBool()) {
        setDarkTheme(true);
    }
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue("ui/geometry", saveGeometry());
    settings.setValue("ui/state", saveState());
    if (auto* splitter = findChild<QSplitter*>("mainSplitter")) {
        settings.setValue("ui/splitter", splitter->saveState());
    }
    settings.setValue("ui/page", stack_->currentIndex());
    QMainWindow::closeEvent(event);
}

}  // namespace portico::console
