// The artifact row as the stores read it: one column list and one reader,
// shared by RegistryStore (the /v2 view) and ArtifactStore (Harbor's view).
#ifndef BERTH_STORE_ARTIFACT_COLUMNS_H_
#define BERTH_STORE_ARTIFACT_COLUMNS_H_

#include "store/registry_store.h"
#include "store/sql.h"

namespace berth {

// Columns of `artifact a`, in ReadArtifact's order.
inline constexpr char kArtifactColumns[] =
    "a.id, a.repository_id, a.digest, a.media_type, a.artifact_type, a.manifest_size, a.size, "
    "a.subject_digest, a.annotations, a.push_time, a.pull_time, a.harbor_type, a.extra_attrs, "
    "a.accessory_of, a.accessory_type";
inline constexpr size_t kArtifactColumnCount = 15;

// Reads kArtifactColumns starting at column `first`.
inline ArtifactRecord ReadArtifact(const SqlRow& r, size_t first = 0) {
  ArtifactRecord a;
  a.id = r.Int(first + 0);
  a.repository_id = r.Int(first + 1);
  a.digest = r.Text(first + 2);
  a.media_type = r.Text(first + 3);
  a.artifact_type = r.Text(first + 4);
  a.manifest_size = r.Int(first + 5);
  a.size = r.Int(first + 6);
  a.subject_digest = r.Text(first + 7);
  a.annotations_json = r.Text(first + 8);
  a.push_time = r.Int(first + 9);
  a.pull_time = r.Int(first + 10);
  a.type = r.Text(first + 11);
  a.extra_attrs_json = r.Text(first + 12);
  a.accessory_of = r.Text(first + 13);
  a.accessory_type = r.Text(first + 14);
  return a;
}

}  // namespace berth

#endif  // BERTH_STORE_ARTIFACT_COLUMNS_H_
