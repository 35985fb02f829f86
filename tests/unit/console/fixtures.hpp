#pragma once
// Loads the JSON fixtures of tests/unit/console/fixtures: answers captured from a real portico
// (balancer_*.json, traffic_*.json) and, for the cluster endpoints, the shapes the Admin API
// documents (clustering_*.json).

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

namespace portico::test {

inline QJsonObject loadFixture(const QString& name) {
    QFile file(QStringLiteral(PORTICO_SOURCE_DIR) +
               QStringLiteral("/tests/unit/console/fixtures/") + name);
    if (!file.open(QIODevice::ReadOnly)) {
        qFatal("fixture %s missing", qPrintable(file.fileName()));
    }
    return QJsonDocument::fromJson(file.readAll()).object();
}

}  // namespace portico::test
