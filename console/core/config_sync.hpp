#pragma once
// ConfigSync: the declarative page's network side. fetchRunning() reads the running
// configuration (GET /config in DB-less mode, else every collection page by page, targets per
// upstream); apply() loads a file (POST /config in DB-less mode, else an import: PUT of every
// added or changed entity in dependency order, keeping the running ids of matched entities).
// Entities only in the gateway are kept by an import, as `kong config db_import` does. One
// operation at a time, requests chained (no waiting). GUI thread.

#include "console/core/admin_client.hpp"
#include "console/core/declarative_diff.hpp"

#include <QObject>
#include <QPointer>

namespace portico::console {

// True when a GET /status body describes a gateway without a database (DB-less): its Admin
// API is read-only and its configuration is replaced as a whole with POST /config.
bool statusSaysDbless(const QJsonObject& status);

class ConfigSync : public QObject {
    Q_OBJECT
public:
    explicit ConfigSync(AdminClient* client, QObject* parent = nullptr);

    // True when the gateway's /status says it runs without a database.
    bool dbless() const;
    bool busy() const { return busy_; }

    void fetchRunning();
    // `text` is the file as read; `diff` its difference from the running configuration.
    void apply(const QByteArray& text, const ConfigDiff& diff);

signals:
    void progress(const QString& what, int done, int total);
    void runningFetched(const portico::console::EntityLists& running);
    void applied(const QString& summary);
    void failed(const QString& error);

private:
    struct Step {
        QString table;
        QString path;
        QByteArray method;
        QJsonObject body;
        QString label;
    };
    void fetchNext();
    void runNext();
    void fail(const QString& error);

    QPointer<AdminClient> client_;
    bool busy_ = false;
    // fetch
    QList<Step> fetch_queue_;
    EntityLists fetched_;
    int fetch_total_ = 0;
    // import
    QList<Step> steps_;
    int step_index_ = 0;
};

}  // namespace portico::console

Q_DECLARE_METATYPE(portico::console::EntityLists)
