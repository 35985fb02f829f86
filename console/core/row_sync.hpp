#pragma once
// Brings a model's rows to a new list keyed by identity, with the fewest structural signals:
// rows whose key left are removed, rows that moved are moved, new rows are inserted, and every
// remaining row gets dataChanged. Persistent indexes (selections, current index) follow their
// row through a refresh. Used by the console's periodically refreshed table models.

#include <QList>
#include <QSet>
#include <QString>

#include <functional>

namespace portico::console {

// The model's protected begin/end calls, handed in by the model itself.
struct RowSyncHooks {
    std::function<void(int row)> begin_remove;
    std::function<void()> end_remove;
    std::function<void(int row)> begin_insert;
    std::function<void()> end_insert;
    std::function<void(int from, int to)> begin_move;  // one row from `from` to `to` (to < from)
    std::function<void()> end_move;
    std::function<void(int first, int last)> changed;
};

// `next` must have unique keys. Afterwards `rows` equals `next`.
template <class Row, class KeyOf>
void syncRows(QList<Row>& rows, const QList<Row>& next, KeyOf key_of, const RowSyncHooks& hooks) {
    QSet<QString> wanted;
    for (const Row& row : next) {
        wanted.insert(key_of(row));
    }
    for (qsizetype i = rows.size() - 1; i >= 0; --i) {
        if (!wanted.contains(key_of(rows[i]))) {
            hooks.begin_remove(static_cast<int>(i));
            rows.removeAt(i);
            hooks.end_remove();
        }
    }
    for (qsizetype i = 0; i < next.size(); ++i) {
        const QString key = key_of(next[i]);
        if (i < rows.size() && key_of(rows[i]) == key) {
            rows[i] = next[i];
            continue;
        }
        qsizetype found = -1;
        for (qsizetype j = i + 1; j < rows.size(); ++j) {
            if (key_of(rows[j]) == key) {
                found = j;
                break;
            }
        }
        if (found >= 0) {
            hooks.begin_move(static_cast<int>(found), static_cast<int>(i));
            rows.move(found, i);
            hooks.end_move();
            rows[i] = next[i];
        } else {
            hooks.begin_insert(static_cast<int>(i));
            rows.insert(i, next[i]);
            hooks.end_insert();
        }
    }
    if (!rows.isEmpty()) {
        hooks.changed(0, static_cast<int>(rows.size() - 1));
    }
}

// Makes keys unique by suffixing repeats ("k", "k#2", ...), so a malformed answer with duplicate
// entries still syncs.
inline QString uniqueKey(QSet<QString>& seen, const QString& key) {
    QString candidate = key;
    for (int n = 2; seen.contains(candidate); ++n) {
        candidate = key + QLatin1Char('#') + QString::number(n);
    }
    seen.insert(candidate);
    return candidate;
}

}  // namespace portico::console
