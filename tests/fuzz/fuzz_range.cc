// The byte-range headers of /v2 (core/src/oci/v2_util.cc): Content-Range of
// a chunk upload (ParseContentRange) and Range of a blob GET
// (ParseRangeHeader, against a blob size taken from the input).
// Input: 8 bytes of blob size (little endian, sign bit cleared: the store's
// sizes are never negative, and ParseRangeHeader assumes so), then the
// header value. Checks: no crash/UB, and a
// range that is returned lies inside the blob and is not inverted.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "oci/v2_util.h"

namespace {
void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_range: invariant violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int64_t blob_size = 0;
  if (size >= 8) {
    uint64_t u = 0;
    for (int i = 7; i >= 0; --i) u = (u << 8) | data[i];
    u &= uint64_t{INT64_MAX};
    std::memcpy(&blob_size, &u, sizeof blob_size);
    data += 8;
    size -= 8;
  }
  std::string header(reinterpret_cast<const char*>(data), size);

  auto cr = berth::ParseContentRange(header);
  if (cr.ok() && cr->has_value()) {
    Check((*cr)->start >= 0 && (*cr)->end >= (*cr)->start, "bad Content-Range accepted");
  }

  auto r = berth::ParseRangeHeader(header, blob_size);
  if (r.ok() && r->has_value()) {
    const auto& br = **r;
    Check(br.start >= 0, "negative range start");
    Check(br.start <= br.end, "inverted range");
    Check(br.end < blob_size, "range past the end of the blob");
  } else if (!r.ok()) {
    Check(r.status().code() == berth::Code::kRangeNotSatisfiable, "unexpected Range error");
  }
  (void)berth::UploadRange(blob_size);
  return 0;
}
