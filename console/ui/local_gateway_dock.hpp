#pragma once
// LocalGatewayDock: the log of the local gateway started by the console, with Stop and Restart.

#include <QDockWidget>

class QPlainTextEdit;
class QPushButton;
class QLabel;

namespace portico::console {

class LocalGateway;

class LocalGatewayDock : public QDockWidget {
    Q_OBJECT
public:
    LocalGatewayDock(LocalGateway* gateway, QWidget* parent = nullptr);
    QPlainTextEdit* logView() const { return log_; }

private:
    LocalGateway* gateway_;
    QPlainTextEdit* log_;
    QLabel* state_;
    QPushButton* stop_;
};

}  // namespace portico::console
