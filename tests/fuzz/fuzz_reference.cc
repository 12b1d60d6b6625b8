// Repository names, tags, manifest references (core/src/registry/reference.cc)
// and /v2 path routing (core/src/oci/v2_path.cc).
// Input: used whole as a name, a reference and a "/v2/..." path.
// Checks: no crash/UB; ValidateRepositoryName agrees with an independent
// reading of the OCI grammar; accepted references are valid tags or digests
// that round-trip; routed paths put the name and reference back together.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/v2_path.h"
#include "registry/reference.h"

namespace {
void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "fuzz_reference: invariant violated: %s\n", what);
    std::abort();
  }
}

bool Alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
// as a small state machine.
bool OciName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  enum { kStart, kAlnum, kDot, kUnder1, kUnder2, kDash } st = kStart;
  for (char c : s) {
    if (Alnum(c)) {
      st = kAlnum;
    } else if (st == kAlnum && c == '.') {
      st = kDot;
    } else if (st == kAlnum && c == '_') {
      st = kUnder1;
    } else if (st == kUnder1 && c == '_') {
      st = kUnder2;
    } else if ((st == kAlnum || st == kDash) && c == '-') {
      st = kDash;
    } else if (st == kAlnum && c == '/') {
      st = kStart;
    } else {
      return false;
    }
  }
  return st == kAlnum;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  bool valid = berth::ValidateRepositoryName(in).ok();
  Check(valid == OciName(in), "ValidateRepositoryName disagrees with the grammar");

  auto ref = berth::ParseManifestReference(in);
  if (ref.ok()) {
    if (ref->is_digest) {
      Check(ref->digest.ToString() == in, "digest reference does not round-trip");
    } else {
      Check(berth::IsValidTag(in) && ref->tag == in, "accepted an invalid tag");
    }
  } else {
    const std::string& code = ref.status().api_code();
    Check(code == "DIGEST_INVALID" || code == "TAG_INVALID", "unexpected reference error code");
  }

  std::string path = "/v2/" + std::string(in);
  for (std::string_view p : {std::string_view(path), in}) {
    berth::V2Path v = berth::ParseV2Path(p);
    (void)berth::V2RouteLabel(v.route);
    const char* marker = nullptr;
    switch (v.route) {
      case berth::V2Route::kManifest: marker = "/manifests/"; break;
      case berth::V2Route::kBlob: marker = "/blobs/"; break;
      case berth::V2Route::kUpload: marker = "/blobs/uploads/"; break;
      case berth::V2Route::kReferrers: marker = "/referrers/"; break;
      default: break;
    }
    if (marker != nullptr) {
      Check(!v.name.empty() && !v.reference.empty(), "routed path without name or reference");
      Check("/v2/" + v.name + marker + v.reference == p, "routed path does not reassemble");
    }
  }
  return 0;
}
