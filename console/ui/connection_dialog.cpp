#include "console/ui/connection_dialog.hpp"

#include "console/core/local_gateway.hpp"
#include "console/core/recent_connections.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace portico::console {

ConnectionDialog::ConnectionDialog(const QUrl& current, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Connect to a Gateway"));
    setObjectName("ConnectionDialog");
    auto* layout = new QVBoxLayout(this);

    auto* intro = new QLabel(
        tr("Enter the address of a Portico (or Kong) <b>Admin API</b>, or start a local gateway "
           "that keeps its data in your user data directory."),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto* form = new QFormLayout;
    url_box_ = new QComboBox(this);
    url_box_->setObjectName("urlBox");
    url_box_->setEditable(true);
    url_box_->setInsertPolicy(QComboBox::NoInsert);
    url_box_->setMinimumWidth(440);
    QStringList recent = recentConnections();
    url_box_->addItems(recent);
    QString initial =
        current.isEmpty()
            ? (recent.isEmpty() ? QStringLiteral("http://127.0.0.1:8001") : recent.first())
            : current.toString();
    url_box_->setEditText(initial);
    url_box_->lineEdit()->setPlaceholderText("http://127.0.0.1:8001");
    form->addRow(tr("Admin API URL:"), url_box_);
    hint_ = new QLabel(this);
    hint_->setObjectName("hint");
    hint_->setStyleSheet("color: #c62828;");
    form->addRow(QString(), hint_);
    if (!recent.isEmpty()) {
        auto* recent_label = new QLabel(
            tr("%n recent connection(s) in the list.", nullptr, static_cast<int>(recent.size())),
            this);
        recent_label->setStyleSheet("color: gray;");
        form->addRow(QString(), recent_label);
    }
    layout->addLayout(form);

    auto* buttons = new QDialogButtonBox(this);
    connect_button_ = buttons->addButton(tr("&Connect"), QDialogButtonBox::AcceptRole);
    connect_button_->setObjectName("connectButton");
    connect_button_->setDefault(true);
    local_button_ = buttons->addButton(tr("Start &Local Gateway"), QDialogButtonBox::ActionRole);
    local_button_->setObjectName("startLocalButton");
    QString binary = LocalGateway::findBinary();
    local_button_->setEnabled(!binary.isEmpty());
    local_button_->setToolTip(binary.isEmpty()
                                  ? tr("The portico binary was not found next to the console, "
                                       "in PORTICO_BINARY or on PATH.")
                                  : tr("Runs %1 on 127.0.0.1 with its data in your user data "
                                       "directory; it stops when the console exits.")
                                        .arg(binary));
    buttons->addButton(QDialogButtonBox::Cancel);
    layout->addWidget(buttons);

    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(local_button_, &QPushButton::clicked, this, [this] {
        start_local_ = true;
        accept();
    });
    connect(url_box_, &QComboBox::editTextChanged, this, &ConnectionDialog::validate);
    validate();
}

QUrl ConnectionDialog::parseUrl(const QString& text) {
    QString trimmed = text.trimmed();
    if (trimmed.isEmpty()) {
        return {};
    }
    // "localhost:8001" is a host and port; "ftp:/x" or "file:..." name another scheme.
    static const QRegularExpression scheme("^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])");
    if (!scheme.match(trimmed).hasMatch()) {
        trimmed = "http://" + trimmed;
    }
    QUrl url(trimmed, QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty() ||
        (url.scheme() != "http" && url.scheme() != "https")) {
        return {};
    }
    return url;
}

QUrl ConnectionDialog::url() const {
    return parseUrl(url_box_->currentText());
}

void ConnectionDialog::validate() {
    bool ok = !url().isEmpty();
    connect_button_->setEnabled(ok);
    hint_->setText(ok ? QString() : tr("Not an http(s) URL, e.g. http://127.0.0.1:8001"));
}

}  // namespace portico::console
