#include "gateway/store/cluster_agent.hpp"

#include "gateway/core/logging.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>

#include <unistd.h>

#include <algorithm>

namespace portico::cluster {

namespace json = boost::json;

namespace {

// Registry housekeeping rides on the heartbeat: once at start, then every ~10 minutes (2 s beats).
constexpr std::uint64_t kPurgeEveryBeats = 300;
constexpr double kForgetNodesAfterS = 24 * 3600;

auto logger() {
    return core::logger("store");
}

double nowSeconds() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::optional<store::HealthOverride> parseOverride(const std::string& payload) {
    boost::system::error_code ec;
    auto value = json::parse(payload, ec);
    const auto* object = !ec ? value.if_object() : nullptr;
    if (object == nullptr) {
        return std::nullopt;
    }
    auto text = [&](const char* key) {
        const auto* v = object->if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    const auto* healthy = object->if_contains("healthy");
    if (healthy == nullptr || !healthy->is_bool()) {
        return std::nullopt;
    }
    store::HealthOverride o;
    o.upstream = text("upstream");
    o.target = text("target");
    o.address = text("address");
    o.node_id = text("node_id");
    o.healthy = healthy->as_bool();
    return o;
}

}  // namespace

struct ClusterAgent::Impl : std::enable_shared_from_this<Impl> {
    Impl(boost::asio::io_context& control, store::PostgresStore& store,
         store::PgOptions listen_options, std::string node_id, AgentOptions options,
         AgentCallbacks callbacks)
        : control(control),
          store(store),
          listener(std::move(listen_options)),
          node_id(std::move(node_id)),
          options(options),
          callbacks(std::move(callbacks)),
          poll_timer(control),
          heartbeat_timer(control),
          reconnect_timer(control) {}

    boost::asio::io_context& control;
    store::PostgresStore& store;
    store::PgListener listener;
    std::string node_id;
    AgentOptions options;
    AgentCallbacks callbacks;
    boost::asio::steady_timer poll_timer;
    boost::asio::steady_timer heartbeat_timer;
    boost::asio::steady_timer reconnect_timer;
    std::unique_ptr<boost::asio::posix::stream_descriptor> socket;
    std::chrono::milliseconds backoff{0};
    bool stopped = false;
    bool warned = false;
    std::chrono::steady_clock::time_point connected_at{};
    std::uint64_t beats = 0;

    void start() {
        connect();
        schedulePoll();
        heartbeat();
    }

    void stop() {
        stopped = true;
        poll_timer.cancel();
        heartbeat_timer.cancel();
        reconnect_timer.cancel();
        releaseSocket();
        listener.close();
    }

    // libpq owns the file descriptor: Asio only waits on it and must never close it.
    void releaseSocket() {
        if (socket) {
            socket->cancel();
            socket->release();
            socket.reset();
        }
    }

    void connect() {
        if (stopped) {
            return;
        }
        std::string error;
        // While the store itself cannot reach the database (it keeps its own backoff), do not
        // spend a second connection attempt on the feed: against a host that drops packets each
        // attempt blocks the control thread for up to pg_timeout.
        const bool database_down = backoff.count() != 0 && !store.reachable();
        if (database_down || !listener.connect(&error)) {
            if (database_down) {
                error = "the store cannot reach the database either";
            }
            if (!warned) {
                logger()->warn("change feed disconnected, retrying with backoff error=\"{}\"",
                               error);
                warned = true;
            }
            reconnectLater();
            return;
        }
        connected_at = std::chrono::steady_clock::now();
        if (warned) {
            logger()->info("change feed connected again, comparing revisions");
        } else {
            logger()->info("change feed listening channels={},{}", store::kRevisionChannel,
                           store::kHealthChannel);
        }
        warned = false;
        releaseSocket();
        socket = std::make_unique<boost::asio::posix::stream_descriptor>(control,
                                                                          listener.socket());
        waitReadable();
        // Anything committed or published while we were not listening.
        if (callbacks.on_connected) {
            callbacks.on_connected();
        }
        if (callbacks.on_revision) {
            callbacks.on_revision();
        }
    }

    void reconnectLater() {
        backoff = backoff.count() == 0 ? std::chrono::milliseconds(250)
                                       : std::min(backoff * 2, std::chrono::milliseconds(8000));
        reconnect_timer.expires_after(backoff);
        reconnect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) {
                self->connect();
            }
        });
    }

    void waitReadable() {
        socket->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [self = shared_from_this()](boost::system::error_code ec) {
                               if (ec || self->stopped) {
                                   return;
                               }
                               self->readable();
                           });
    }

    void readable() {
        std::vector<store::Notification> notifications;
        std::string error;
        const bool alive = listener.drain(notifications, &error);
        bool revision = false;
        for (const auto& n : notifications) {
            if (n.channel == store::kRevisionChannel) {
                revision = true;
            } else if (n.channel == store::kHealthChannel && callbacks.on_override) {
                auto parsed = parseOverride(n.payload);
                if (parsed && parsed->node_id != node_id) {
                    callbacks.on_override(*parsed);
                }
            }
        }
        if (revision && callbacks.on_revision) {
            callbacks.on_revision();
        }
        if (!alive) {
            logger()->warn("change feed connection lost error=\"{}\"", error);
            socket->release();
            socket.reset();
            // A connection that lived a while is retried at once; one dropped right after it
            // was made (a pooler, a server refusing LISTEN) keeps backing off, so that the
            // control thread does not spin on connects.
            if (std::chrono::steady_clock::now() - connected_at > std::chrono::seconds(5)) {
                backoff = std::chrono::milliseconds(0);
                connect();
            } else {
                reconnectLater();
            }
            return;
        }
        waitReadable();
    }

    void schedulePoll() {
        poll_timer.expires_after(options.poll_interval);
        poll_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->stopped) {
                return;
            }
            if (self->callbacks.on_revision) {
                self->callbacks.on_revision();
            }
            self->schedulePoll();
        });
    }

    void heartbeat() {
        if (stopped) {
            return;
        }
        if (callbacks.describe) {
            auto record = callbacks.describe();
            record.id = node_id;
            record.last_seen = nowSeconds();
            if (auto done = store.heartbeat(record); !done) {
                logger()->debug("heartbeat failed error=\"{}\"", done.error().message);
            } else if (++beats % kPurgeEveryBeats == 1) {
                // Nodes gone for good (scaled down, replaced) leave the registry after a day.
                if (auto purged = store.purgeNodes(kForgetNodesAfterS); !purged) {
                    logger()->debug("purging old nodes failed error=\"{}\"",
                                    purged.error().message);
                }
            }
        }
        heartbeat_timer.expires_after(options.heartbeat_interval);
        heartbeat_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) {
                self->heartbeat();
            }
        });
    }
};

ClusterAgent::ClusterAgent(boost::asio::io_context& control, store::PostgresStore& store,
                           store::PgOptions listen_options, std::string node_id,
                           AgentOptions options, AgentCallbacks callbacks)
    : impl_(std::make_shared<Impl>(control, store, std::move(listen_options), std::move(node_id),
                                   options, std::move(callbacks))) {}

ClusterAgent::~ClusterAgent() {
    impl_->stop();
}

void ClusterAgent::start() {
    impl_->start();
}

void ClusterAgent::stop() {
    impl_->stop();
}

bool ClusterAgent::listening() const {
    return impl_->listener.connected();
}

}  // namespace portico::cluster
