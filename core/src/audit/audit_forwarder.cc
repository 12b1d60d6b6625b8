#include "audit/audit_forwarder.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/strings.h"

namespace berth {

AuditForwarder::AuditForwarder(std::string endpoint, Logger& log)
    : endpoint_(std::move(endpoint)), log_(log) {
  char h[256] = {0};
  gethostname(h, sizeof(h) - 1);
  hostname_ = h[0] ? h : "-";
}

AuditForwarder::~AuditForwarder() { Close(); }

void AuditForwarder::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool AuditForwarder::Connect() {
  if (fd_ >= 0) return true;
  int64_t now = NowUnixMillis();
  if (now < next_connect_ms_) return false;
  next_connect_ms_ = now + 1000;  // at most one attempt a second while down
  size_t colon = endpoint_.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = endpoint_.substr(0, colon), port = endpoint_.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
      break;
    }
    close(fd);
  }
  freeaddrinfo(res);
  return fd_ >= 0;
}

std::string AuditForwarder::Format(const AuditRecord& r, const std::string& hostname) {
  // <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG; facility local0 (16),
  // severity info (6) or warning (4) for failures.
  int pri = 16 * 8 + (r.operation_result == "success" ? 6 : 4);
  std::string msg = "<" + std::to_string(pri) + ">1 " + FormatRfc3339Millis(r.op_time) + " " +
                    hostname + " berthd - audit - ";
  msg += "operator=\"" + r.username + "\" operation=\"" + r.operation + "\" resource_type=\"" +
         r.resource_type + "\" resource=\"" + r.resource + "\" result=\"" + r.operation_result +
         "\"";
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return msg;
}

void AuditForwarder::Send(const std::vector<AuditRecord>& batch) {
  if (batch.empty()) return;
  std::string out;
  for (const auto& r : batch) {
    std::string m = Format(r, hostname_);
    out += std::to_string(m.size()) + " " + m;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!Connect()) break;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    if (off == out.size()) return;
    Close();  // a stale connection: reconnect once and resend the batch
    next_connect_ms_ = 0;
  }
  log_.Warn("audit log forwarding failed; entries not forwarded",
            {{"endpoint", endpoint_}, {"entries", static_cast<int64_t>(batch.size())}});
}

}  // namespace berth
