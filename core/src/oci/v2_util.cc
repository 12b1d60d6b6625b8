#include "oci/v2_util.h"

#include <vector>

#include "common/strings.h"
#include "http/response.h"

namespace berth {

void FinishBody(RequestContext& ctx) {
  if (ctx.ContentLength() == 0) return;
  std::istream& in = ctx.Body();
  std::vector<char> buf(64 * 1024);
  int64_t drained = 0;
  try {
    while (drained < (1 << 20)) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      std::streamsize n = in.gcount();
      if (n <= 0) return;
      drained += n;
    }
  } catch (...) {
  }
  ctx.response.setKeepAlive(false);
}

void Fail(RequestContext& ctx, const Status& s) {
  if (!ctx.response.sent()) {
    FinishBody(ctx);
    SendOciError(ctx, s);
  }
}

Status ReadBodyLimited(RequestContext& ctx, size_t max_bytes, std::string* out) {
  Status s = ctx.ReadBody(max_bytes, out);
  return s.ok() ? s : s.WithApiCode("SIZE_INVALID");
}

StatusOr<std::optional<ByteRange>> ParseContentRange(const std::string& header) {
  std::string_view h = Trim(header);
  if (h.empty()) return std::optional<ByteRange>();
  if (h.substr(0, 6) == "bytes=" || h.substr(0, 6) == "bytes ") h.remove_prefix(6);
  if (size_t slash = h.find('/'); slash != std::string_view::npos) h = h.substr(0, slash);
  size_t dash = h.find('-');
  auto bad = Status::InvalidArgument("malformed Content-Range: " + header, "BLOB_UPLOAD_INVALID");
  if (dash == std::string_view::npos) return bad;
  auto a = ParseInt64(h.substr(0, dash));
  auto b = ParseInt64(h.substr(dash + 1));
  if (!a || !b || *a < 0 || *b < 0) return bad;
  if (*b < *a) {
    return Status(Code::kRangeNotSatisfiable, "Content-Range end precedes its start",
                  "BLOB_UPLOAD_INVALID");
  }
  return std::optional<ByteRange>(ByteRange{*a, *b});
}

StatusOr<std::optional<ByteRange>> ParseRangeHeader(const std::string& header, int64_t size) {
  std::string_view h = Trim(header);
  if (h.empty() || h.substr(0, 6) != "bytes=") return std::optional<ByteRange>();
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return std::optional<ByteRange>();
  size_t dash = h.find('-');
  if (dash == std::string_view::npos) return std::optional<ByteRange>();
  std::string_view first = Trim(h.substr(0, dash)), last = Trim(h.substr(dash + 1));
  auto unsatisfiable = Status(Code::kRangeNotSatisfiable,
                              "requested range is not satisfiable for a blob of " +
                                  std::to_string(size) + " bytes",
                              "SIZE_INVALID");
  ByteRange r;
  if (first.empty()) {  // suffix: last n bytes
    auto n = ParseInt64(last);
    if (!n || *n < 0) return std::optional<ByteRange>();
    if (*n == 0 || size == 0) return unsatisfiable;
    r.start = std::max<int64_t>(0, size - *n);
    r.end = size - 1;
    return std::optional<ByteRange>(r);
  }
  auto a = ParseInt64(first);
  if (!a || *a < 0) return std::optional<ByteRange>();
  if (last.empty()) {
    r.end = size - 1;
  } else {
    auto b = ParseInt64(last);
    if (!b || *b < *a) return std::optional<ByteRange>();
    r.end = std::min(*b, size - 1);
  }
  r.start = *a;
  if (r.start >= size) return unsatisfiable;
  return std::optional<ByteRange>(r);
}

std::string UploadRange(int64_t size) {
  return "0-" + std::to_string(size > 0 ? size - 1 : 0);
}

}  // namespace berth
