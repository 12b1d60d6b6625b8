// Zero-copy responses: headers through Poco, then sendfile(2) on the socket.
#ifndef BERTH_HTTP_SENDFILE_H_
#define BERTH_HTTP_SENDFILE_H_

#include <cstdint>

#include "common/status.h"
#include "http/request_context.h"

namespace berth {

// Sends `length` bytes of `fd` from `offset` after the response headers
// (status, Content-Length etc. must be set). Does not close fd.
Status SendFileBody(RequestContext& ctx, int fd, int64_t offset, int64_t length);

}  // namespace berth

#endif  // BERTH_HTTP_SENDFILE_H_
