#include "http/sendfile.h"

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>
#include <vector>

namespace berth {

namespace {

// Over TLS the bytes must go through the encrypting stream: pread + write.
Status CopyThroughStream(RequestContext& ctx, std::ostream& out, int fd, int64_t offset,
                         int64_t length) {
  std::vector<char> buf(256 * 1024);
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(length, static_cast<int64_t>(buf.size())));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
    if (n == 0) return Status::IOError("file ended before the announced length");
    out.write(buf.data(), n);
    if (!out) return Status::IOError("client stopped reading");
    offset += n;
    length -= n;
    ctx.bytes_out += n;
  }
  out.flush();
  return out ? Status() : Status::IOError("client stopped reading");
}

}  // namespace

Status SendFileBody(RequestContext& ctx, int fd, int64_t offset, int64_t length) {
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(ctx.request);
  std::ostream& out = ctx.response.send();
  if (ctx.method == "HEAD" || length <= 0) {
    out.flush();
    return {};
  }
  if (impl.socket().secure()) return CopyThroughStream(ctx, out, fd, offset, length);
  out.flush();
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
