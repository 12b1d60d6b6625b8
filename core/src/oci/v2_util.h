// Helpers shared by the /v2 handlers.
#ifndef BERTH_OCI_V2_UTIL_H_
#define BERTH_OCI_V2_UTIL_H_

#include <optional>
#include <string>

#include "common/status.h"
#include "http/request_context.h"
#include "registry/upload_controller.h"

namespace berth {

// Sends an OCI error. An unread request body is drained when small, otherwise
// the connection is closed after the response.
void Fail(RequestContext& ctx, const Status& s);
// Reads whatever is left of the request body (up to 1 MiB); marks the
// connection for closing when more remains.
void FinishBody(RequestContext& ctx);
// Reads the body into `out`; kTooLarge beyond max_bytes.
Status ReadBodyLimited(RequestContext& ctx, size_t max_bytes, std::string* out);
// Content-Range of a chunk upload: "<start>-<end>" (a "bytes " or "bytes="
// prefix and a "/total" suffix are tolerated). nullopt when the header is absent.
StatusOr<std::optional<ByteRange>> ParseContentRange(const std::string& header);
// Range of a GET: single "bytes=a-b", "bytes=a-" or "bytes=-n". nullopt when
// absent or not a single byte range (served whole, as RFC 9110 allows);
// kRangeNotSatisfiable when it cannot be satisfied for `size`.
StatusOr<std::optional<ByteRange>> ParseRangeHeader(const std::string& header, int64_t size);
// "0-<size-1>" as the Range header of upload responses ("0-0" when empty).
std::string UploadRange(int64_t size);

}  // namespace berth

#endif  // BERTH_OCI_V2_UTIL_H_
