#pragma once
// ClusterAgent: what makes a node part of a cluster sharing one PostgreSQL database.
//
// - Change feed: a dedicated LISTEN connection wakes the node as soon as another node commits a
//   revision (NOTIFY portico_revisions) or a manual health override (NOTIFY portico_health). A
//   poll every `poll_interval` catches anything missed; after a reconnect the revisions are
//   compared at once. The agent does not rebuild anything itself: it calls on_revision, and the
//   owner compares revisions and rebuilds its snapshot.
// - Registry: every `heartbeat_interval` the node upserts its row in cluster_nodes (id,
//   hostname, version, listen addresses, start time, applied revision, configuration hash, its
//   view of target health), from describe().
// - Reconnection with backoff (0.25 s doubling to 8 s) while the database is unreachable; the
//   node keeps serving its last snapshot meanwhile.
//
// Thread: everything runs on `control` (the control thread), including the callbacks.

#include "gateway/store/postgres_store.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace portico::cluster {

struct AgentOptions {
    std::chrono::milliseconds poll_interval{5000};
    std::chrono::milliseconds heartbeat_interval{2000};
};

struct AgentCallbacks {
    // A revision may have changed (notification, poll, reconnect).
    std::function<void()> on_revision;
    // Another node published a manual health override.
    std::function<void(const store::HealthOverride&)> on_override;
    // The change feed is (again) connected: catch up with overrides published meanwhile.
    std::function<void()> on_connected;
    // This node's registry row; last_seen is filled in by the agent.
    std::function<store::NodeRecord()> describe;
};

class ClusterAgent {
public:
    ClusterAgent(boost::asio::io_context& control, store::PostgresStore& store,
                 store::PgOptions listen_options, std::string node_id, AgentOptions options,
                 AgentCallbacks callbacks);
    ~ClusterAgent();
    ClusterAgent(const ClusterAgent&) = delete;
    ClusterAgent& operator=(const ClusterAgent&) = delete;

    void start();
    void stop();
    // Whether the LISTEN connection is up (GET /status).
    bool listening() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace portico::cluster
