// Validation of repository names, tags and manifest references, per the OCI
// distribution spec grammar. Every name is checked here before it reaches
// the store or a storage path.
#ifndef BERTH_REGISTRY_REFERENCE_H_
#define BERTH_REGISTRY_REFERENCE_H_

#include <string>
#include <string_view>

#include "common/digest.h"
#include "common/status.h"

namespace berth {

inline constexpr size_t kMaxRepositoryNameLength = 255;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at
// most 255 characters. Errors carry NAME_INVALID.
Status ValidateRepositoryName(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool IsValidTag(std::string_view tag);

// A manifest reference: a tag or a digest.
struct ManifestReference {
  bool is_digest = false;
  std::string tag;
  Digest digest;
};
// Errors: DIGEST_INVALID for malformed digests, TAG_INVALID otherwise.
StatusOr<ManifestReference> ParseManifestReference(std::string_view ref);

}  // namespace berth

#endif  // BERTH_REGISTRY_REFERENCE_H_
