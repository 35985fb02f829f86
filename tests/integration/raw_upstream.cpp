#include "tests/integration/raw_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace portico::test {

namespace {

// Waits up to `ms` for `fd` to become readable.
bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
}

}  // namespace

RawUpstream::RawUpstream(Mode mode, std::string reply, int delay_ms, std::string later)
    : mode_(mode), reply_(std::move(reply)), delay_ms_(delay_ms), later_(std::move(later)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_, 64);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
}

RawUpstream::~RawUpstream() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    ::close(listener_);
}

void RawUpstream::run() {
    while (!stop_) {
        if (!readable(listener_, 50)) {
            continue;
        }
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) {
            continue;
        }
        connections_++;
        std::string head;
        char buffer[4096];
        // Read the request head, bounded to 2 s.
        for (int waited = 0; head.find("\r\n\r\n") == std::string::npos && waited < 2000;
             waited += 50) {
            if (!readable(fd, 50)) {
                continue;
            }
            auto n = ::recv(fd, buffer, sizeof(buffer), 0);
            if (n <= 0) {
                break;
            }
            head.append(buffer, static_cast<std::size_t>(n));
        }
        if (head.find("\r\n\r\n") != std::string::npos) {
            requests_++;
        }
        if (mode_ == Mode::Silent) {
            // Wait for the peer to give up (EOF), bounded.
            for (int waited = 0; waited < 5000 && !stop_; waited += 50) {
                if (readable(fd, 50) && ::recv(fd, buffer, sizeof(buffer), 0) <= 0) {
                    break;
                }
            }
            ::close(fd);
            continue;
        }
        if (mode_ == Mode::DelayedReply) {
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
        }
        if (mode_ != Mode::CloseSilently) {
            ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
        }
        if (mode_ == Mode::ReplyInTwoParts) {
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
            ::send(fd, later_.data(), later_.size(), MSG_NOSIGNAL);
        }
        if (mode_ == Mode::ReplyThenEcho) {
            // Bytes that came with the head, after the blank line, are echoed too.
            auto end = head.find("\r\n\r\n");
            if (end != std::string::npos && end + 4 < head.size()) {
                ::send(fd, head.data() + end + 4, head.size() - end - 4, MSG_NOSIGNAL);
            }
            for (int idle = 0; idle < 5000 && !stop_;) {
                if (!readable(fd, 50)) {
                    idle += 50;
                    continue;
                }
                auto n = ::recv(fd, buffer, sizeof(buffer), 0);
                if (n <= 0) {
                    break;
                }
                ::send(fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL);
                idle = 0;
            }
        }
        ::close(fd);
    }
}

}  // namespace portico::test
