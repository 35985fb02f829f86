#pragma once
// HistoryPage: the gateway's configuration history (GET /config/revisions), newest first, the
// selected revision's changes with each entity before and after (GET /config/revisions/{n}),
// and "Roll Back to This Revision" (POST /config/rollback, after a confirmation). Gateways
// without a history (DB-less, older versions) get a note instead. Refreshes when the
// configuration revision changes. GUI thread.

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableView;
class QShowEvent;

namespace portico::console {

class AdminClient;
class RevisionsModel;

class HistoryPage : public QWidget {
    Q_OBJECT
public:
    explicit HistoryPage(AdminClient* client, QWidget* parent = nullptr);

    void refresh();
    // Asks, then rolls back to the selected revision.
    void rollBackSelected();

    RevisionsModel* model() const { return model_; }
    QTableView* view() const { return view_; }
    QPlainTextEdit* details() const { return details_; }
    QPushButton* rollbackButton() const { return rollback_; }
    QLabel* note() const { return note_; }

signals:
    void refreshed();
    void rolledBack(qint64 restored, qint64 revision);
    void message(const QString& text);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void showSelected();
    qint64 selectedRevision() const;

    AdminClient* client_;
    RevisionsModel* model_;
    QTableView* view_;
    QPlainTextEdit* details_;
    QPushButton* rollback_;
    QLabel* note_;
    qint64 seen_revision_ = -1;
    qint64 shown_revision_ = -1;
    bool loading_ = false;
};

}  // namespace portico::console
