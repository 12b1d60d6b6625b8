// TagGuard: a check the registry's writers run inside their transaction,
// with the tags the write is about to delete or repoint, so that a policy
// (immutable tag rules) sees exactly what the write changes and a refusal
// rolls the whole write back. Set on RegistryStore and ArtifactStore.
#ifndef BERTH_STORE_TAG_GUARD_H_
#define BERTH_STORE_TAG_GUARD_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.h"

namespace berth {

enum class TagChange {
  kOverwrite,  // a push moves the tag to another artifact
  kDelete,     // the tag goes (alone, with its artifact or with its repository)
};

// `repository` is the full name ("project/path"); `tags` is never empty. A
// non-OK status is returned by the write, which then changes nothing.
using TagGuard = std::function<Status(SqlTransaction& tx, std::string_view repository,
                                      const std::vector<std::string>& tags, TagChange change)>;

}  // namespace berth

#endif  // BERTH_STORE_TAG_GUARD_H_
