#include "console/core/recent_connections.hpp"

#include <QSettings>

namespace portico::console {

namespace {
constexpr int kMaxRecent = 10;
const char* const kKey = "connections/recent";
}  // namespace

QStringList recentConnections() {
    return QSettings().value(kKey).toStringList();
}

void rememberConnection(const QUrl& url) {
    QString text = url.toString(QUrl::StripTrailingSlash);
    QStringList list = recentConnections();
    list.removeAll(text);
    list.prepend(text);
    while (list.size() > kMaxRecent) {
        list.removeLast();
    }
    QSettings().setValue(kKey, list);
}

void forgetConnection(const QUrl& url) {
    QStringList list = recentConnections();
    list.removeAll(url.toString(QUrl::StripTrailingSlash));
    QSettings().setValue(kKey, list);
}

}  // namespace portico::console
