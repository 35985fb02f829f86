#pragma once
// A scripted upstream on 127.0.0.1 for tests that need a misbehaving server: for every
// connection it reads the request head (up to the blank line), then writes `reply` and either
// closes or, in echo mode, copies every further byte back (a stand-in for a WebSocket server
// after its 101); or it answers late, or never. Connections are served one at a time. Runs on its own thread with blocking sockets; every wait is bounded.

#include <atomic>
#include <string>
#include <thread>

namespace portico::test {

class RawUpstream {
public:
    enum class Mode {
        ReplyAndClose,  // write `reply`, close
        CloseSilently,  // read the request, close without answering
        ReplyThenEcho,  // write `reply`, then echo bytes until the peer closes
        Silent,         // read the request, never answer, close when the peer does (or in 5 s)
        DelayedReply,   // read the request, wait `delay_ms`, write `reply`, close
        ReplyInTwoParts,  // write `reply`, wait `delay_ms`, write `later`, close
    };

    RawUpstream(Mode mode, std::string reply, int delay_ms = 0, std::string later = {});
    ~RawUpstream();
    RawUpstream(const RawUpstream&) = delete;
    RawUpstream& operator=(const RawUpstream&) = delete;

    unsigned short port() const { return port_; }
    int connections() const { return connections_.load(); }
    int requests() const { return requests_.load(); }

private:
    void run();
    Mode mode_;
    std::string reply_;
    int delay_ms_ = 0;
    std::string later_;
    int listener_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> requests_{0};
    std::thread thread_;
};

}  // namespace portico::test
