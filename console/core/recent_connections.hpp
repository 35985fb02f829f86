#pragma once
// Recent connections: the Admin API URLs the user connected to, most recent first, kept in
// QSettings ("connections/recent", at most 10).

#include <QStringList>
#include <QUrl>

namespace portico::console {

QStringList recentConnections();
void rememberConnection(const QUrl& url);
void forgetConnection(const QUrl& url);

}  // namespace portico::console
