#include "http/sendfile.h"

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <poll.h>
#include <sys/sendfile.h>

#include <cerrno>
#include <cstring>

namespace berth {

Status SendFileBody(RequestContext& ctx, int fd, int64_t offset, int64_t length) {
  ctx.response.send().flush();
  if (ctx.method == "HEAD" || length <= 0) return {};
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(ctx.request);
  int sock = impl.socket().impl()->sockfd();
  off_t off = static_cast<off_t>(offset);
  int64_t remaining = length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining, 1 << 30));
    ssize_t n = ::sendfile(sock, fd, &off, want);
    if (n > 0) {
      remaining -= n;
      ctx.bytes_out += n;
      continue;
    }
    if (n == 0) return Status::IOError("file ended before the announced length");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // The socket's send timeout expired or it is non-blocking: wait for room.
      pollfd p{sock, POLLOUT, 0};
      int rc = ::poll(&p, 1, 60000);
      if (rc <= 0) return Status::IOError("client stopped reading");
      continue;
    }
    return Status::IOError(std::string("sendfile: ") + std::strerror(errno));
  }
  return {};
}

}  // namespace berth
