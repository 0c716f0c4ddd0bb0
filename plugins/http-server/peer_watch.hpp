// Notices a client that went away while its request is still generating, so the
// request can be cancelled at once (and its KV blocks freed) instead of when the
// next write fails. cpp-httplib 0.11 does not hand handlers their socket, so the
// socket is found by its addresses (the request's local and remote address and port).
#pragma once

#include <string>

namespace lmrt::http {

class PeerWatch {
 public:
  PeerWatch(const std::string& remote_addr, int remote_port, int local_port);
  // True when the client closed or reset the connection. Never blocks.
  bool gone() const;

 private:
  int fd_ = -1;  // -1: not found; then gone() is always false (writes still detect it)
};

}  // namespace lmrt::http
