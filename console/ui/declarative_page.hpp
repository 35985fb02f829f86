#pragma once
// DeclarativePage: open a Kong-format YAML or JSON file, see how it differs from the running
// configuration (added, changed with the fields, only in the gateway, unchanged), apply it
// (POST /config in DB-less mode, an import of the added and changed entities otherwise, with
// progress) and export the running configuration to a file. GUI thread.

#include "console/core/declarative_diff.hpp"

#include <QWidget>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace portico::console {

class AdminClient;
class ConfigSync;
class DiffModel;

class DeclarativePage : public QWidget {
    Q_OBJECT
public:
    explicit DeclarativePage(AdminClient* client, QWidget* parent = nullptr);

    // Reads and parses `path`, then diffs it against the gateway (diffReady() when done).
    bool openFile(const QString& path);
    void refreshDiff();
    // Applies the open file after the user confirms (asks with a window-modal box).
    void applyWithConfirmation();
    void apply();
    // Ask for a file with a non-modal file dialog, then open / export it.
    void chooseFile();
    void chooseExport();
    // Writes the running configuration to `path` (.json gives JSON, anything else YAML).
    void exportTo(const QString& path);

    DiffModel* diffModel() const { return model_; }
    QSortFilterProxyModel* diffProxy() const { return proxy_; }
    QTableView* diffView() const { return view_; }
    QLabel* summaryLabel() const { return summary_; }
    QPushButton* applyButton() const { return apply_; }
    ConfigSync* sync() const { return sync_; }

signals:
    void diffReady();
    void applied(const QString& summary);
    void exported(const QString& path);
    void failed(const QString& error);
    void progress(const QString& what, int done, int total);
    void idle();

private:
    void showEntry();

    AdminClient* client_;
    ConfigSync* sync_;
    DiffModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    QLabel* file_label_;
    QLabel* mode_label_;
    QLabel* summary_;
    QPlainTextEdit* messages_;
    QPlainTextEdit* detail_;
    QPushButton* apply_;
    QPushButton* refresh_;
    QCheckBox* show_unchanged_;
    QString path_;
    QByteArray text_;
    ParsedDeclarative parsed_;
    QString export_path_;  // set while an export waits for the running configuration
};

}  // namespace portico::console
