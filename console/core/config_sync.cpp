#include "console/core/config_sync.hpp"

#include <QJsonArray>
#include <QUrl>

namespace portico::console {

namespace {

QString pathSegment(const QString& text) {
    return QString::fromUtf8(QUrl::toPercentEncoding(text));
}

}  // namespace

ConfigSync::ConfigSync(AdminClient* client, QObject* parent) : QObject(parent), client_(client) {
    qRegisterMetaType<EntityLists>();
}

bool statusSaysDbless(const QJsonObject& status) {
    if (status.isEmpty()) {
        return false;
    }
    QJsonObject database = status.value("database").toObject();
    // Kong's top-level "configuration_hash" exists only in DB-less mode; older gateways also
    // leave "database" out there, newer ones say strategy "off".
    return database.value("strategy").toString() == "off" ||
           status.contains("configuration_hash") || !status.contains("database");
}

bool ConfigSync::dbless() const {
    return client_ != nullptr && statusSaysDbless(client_->lastStatus());
}

void ConfigSync::fail(const QString& error) {
    busy_ = false;
    fetch_queue_.clear();
    steps_.clear();
    emit failed(error);
}

void ConfigSync::fetchRunning() {
    if (busy_ || client_ == nullptr) {
        return;
    }
    busy_ = true;
    fetched_.clear();
    if (dbless()) {
        emit progress(tr("Reading the running configuration"), 0, 1);
        client_->get("/config", this, [this](const AdminResult& result) {
            if (!result.ok()) {
                fail(tr("Could not read GET /config: %1").arg(result.error->toString()));
                return;
            }
            auto parsed =
                parseDeclarative(result.body.object().value("config").toString().toUtf8());
            if (!parsed.ok) {
                fail(tr("The gateway's configuration did not parse: %1")
                         .arg(parsed.errors.join("; ")));
                return;
            }
            busy_ = false;
            emit progress(tr("Reading the running configuration"), 1, 1);
            emit runningFetched(parsed.entities);
        });
        return;
    }
    fetch_queue_.clear();
    for (const auto& table : declarativeTables()) {
        if (table == "targets") {
            continue;  // per upstream, once the upstreams are known
        }
        fetch_queue_ << Step{table, "/" + adminPathOf(table) + "?size=1000", "GET", {}, table};
    }
    fetch_total_ = static_cast<int>(fetch_queue_.size());
    fetchNext();
}

void ConfigSync::fetchNext() {
    if (fetch_queue_.isEmpty()) {
        busy_ = false;
        emit progress(tr("Reading the running configuration"), fetch_total_, fetch_total_);
        emit runningFetched(fetched_);
        return;
    }
    Step step = fetch_queue_.takeFirst();
    emit progress(tr("Reading %1").arg(step.label),
                  fetch_total_ - static_cast<int>(fetch_queue_.size()) - 1, fetch_total_);
    client_->get(step.path, this, [this, step](const AdminResult& result) {
        if (!result.ok()) {
            if (result.http_status == 404) {
                fetchNext();  // a collection this gateway does not serve
                return;
            }
            fail(tr("Could not read %1: %2").arg(step.path, result.error->toString()));
            return;
        }
        QJsonObject body = result.body.object();
        QList<QJsonObject>& list = fetched_[step.table];
        for (const auto& item : body.value("data").toArray()) {
            list << item.toObject();
        }
        QString next = body.value("next").toString();
        if (!next.isEmpty()) {
            fetch_queue_.prepend(Step{step.table, next, "GET", {}, step.label});
            ++fetch_total_;
        }
        if (step.table == "upstreams" && next.isEmpty()) {
            for (const auto& upstream : list) {
                QString id = upstream.value("id").toString();
                fetch_queue_ << Step{"targets",
                                     "/upstreams/" + id + "/targets/all?size=1000",
                                     "GET",
                                     {},
                                     tr("targets of %1").arg(upstream.value("name").toString())};
                ++fetch_total_;
            }
        }
        fetchNext();
    });
}

void ConfigSync::apply(const QByteArray& text, const ConfigDiff& diff) {
    if (busy_ || client_ == nullptr) {
        return;
    }
    busy_ = true;
    if (dbless()) {
        emit progress(tr("Loading the file with POST /config"), 0, 1);
        client_->request(
            "POST", "/config", QJsonObject{{"config", QString::fromUtf8(text)}}, this,
            [this](const AdminResult& result) {
                if (!result.ok()) {
                    fail(tr("POST /config refused the file: %1").arg(result.error->toString()));
                    return;
                }
                busy_ = false;
                emit progress(tr("Loading the file with POST /config"), 1, 1);
                emit applied(tr("The gateway now runs the file (POST /config)."));
            });
        return;
    }
    // Import: upsert what is new or changed, parents first (the diff is in dependency order).
    steps_.clear();
    step_index_ = 0;
    for (const auto& entry : diff.entries) {
        if (entry.kind != DiffEntry::Kind::Added && entry.kind != DiffEntry::Kind::Changed) {
            continue;
        }
        QJsonObject body;
        QMap<QString, QString> foreign = foreignFieldsOf(entry.table);
        for (auto it = entry.file_entity.begin(); it != entry.file_entity.end(); ++it) {
            const QString& name = it.key();
            if (name == "id" || name == "created_at" || name == "updated_at" || it->isNull()) {
                continue;
            }
            if (foreign.contains(name) && it->isObject()) {
                QString ref = it->toObject().value("id").toString();
                body.insert(name, QJsonObject{{"id", diff.matched_ids.value(ref, ref)}});
                continue;
            }
            body.insert(name, *it);
        }
        QString file_id = entry.file_entity.value("id").toString();
        QString id = diff.matched_ids.value(file_id, file_id);
        QString path;
        if (entry.table == "targets") {
            QString upstream = body.value("upstream").toObject().value("id").toString();
            path = "/upstreams/" + pathSegment(upstream) + "/targets/" + pathSegment(id);
        } else {
            path = "/" + adminPathOf(entry.table) + "/" + pathSegment(id);
        }
        steps_ << Step{entry.table, path, "PUT", body, entry.table + " " + entry.key};
    }
    if (steps_.isEmpty()) {
        busy_ = false;
        emit applied(tr("Nothing to import: the gateway already has every entity of the file."));
        return;
    }
    runNext();
}

void ConfigSync::runNext() {
    if (step_index_ >= steps_.size()) {
        int count = static_cast<int>(steps_.size());
        busy_ = false;
        steps_.clear();
        emit progress(tr("Importing"), count, count);
        emit applied(tr("Imported %n entities.", nullptr, count));
        return;
    }
    const Step& step = steps_.at(step_index_);
    emit progress(tr("Importing %1").arg(step.label), step_index_, static_cast<int>(steps_.size()));
    client_->request(step.method, step.path, step.body, this, [this](const AdminResult& result) {
        const Step& current = steps_.at(step_index_);
        if (!result.ok()) {
            fail(tr("Import stopped at %1 (%2 of %3 done): %4")
                     .arg(current.label)
                     .arg(step_index_)
                     .arg(steps_.size())
                     .arg(result.error->toString()));
            return;
        }
        ++step_index_;
        runNext();
    });
}

}  // namespace portico::console
