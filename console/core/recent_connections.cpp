#include "console/core/recent_connections.hpp"

#include <QSettings>

namespace portico::console {

namespace {
constexpr int kMaxRecent = 10;
const char* const kKey = "connections/recent";

// "http://h:1/" and "http://h:1" are one gateway.
QString normalized(QUrl url) {
    if (url.path() == "/") {
        url.setPath(QString());
    }
    return url.toString(QUrl::StripTrailingSlash);
}
}  // namespace

QStringList recentConnections() {
    return QSettings().value(kKey).toStringList();
}

void rememberConnection(const QUrl& url) {
    QString text = normalized(url);
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
    list.removeAll(normalized(url));
    QSettings().setValue(kKey, list);
}

}  // namespace portico::console
