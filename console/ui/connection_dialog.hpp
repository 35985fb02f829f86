#pragma once
// ConnectionDialog: choose a gateway by Admin API URL (recent connections offered first), or
// start a local one. The caller reads url() after accept(), or startLocalRequested() tells it to
// start the bundled gateway. GUI thread.

#include <QDialog>
#include <QUrl>

class QComboBox;
class QLabel;
class QPushButton;

namespace portico::console {

class ConnectionDialog : public QDialog {
    Q_OBJECT
public:
    explicit ConnectionDialog(const QUrl& current, QWidget* parent = nullptr);

    QUrl url() const;
    bool startLocalChosen() const { return start_local_; }
    QComboBox* urlBox() const { return url_box_; }
    QPushButton* connectButton() const { return connect_button_; }
    QPushButton* startLocalButton() const { return local_button_; }

    // Parses what the user typed: "localhost:8001" -> http://localhost:8001; invalid -> empty.
    static QUrl parseUrl(const QString& text);

private:
    void validate();

    QComboBox* url_box_;
    QLabel* hint_;
    QPushButton* connect_button_;
    QPushButton* local_button_;
    bool start_local_ = false;
};

}  // namespace portico::console
