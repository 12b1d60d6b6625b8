// GcStore: what garbage collection reads and changes in the metadata store.
//
// Removing a blob takes two transactions around the file's deletion, both
// under the digest's lock (digest_lock.h):
//   1. MarkDeleting: still unreferenced? then deleting = 1. From now on the
//      blob is absent for every reader (HEAD, GET, mount, manifest PUT).
//   2. FinishDelete: still deleting and unreferenced? then remove the file
//      and the rows; referenced again? then deleting = 0 and the file stays.
// A crash between the two leaves a deleting row (absent to clients) that the
// next run finishes. "Referenced" means: an artifact lists it, it is an
// artifact's manifest, or a repository link was seen within the time window.
#ifndef BERTH_STORE_GC_STORE_H_
#define BERTH_STORE_GC_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.h"

namespace berth {

struct GcBlob {
  std::string digest;
  int64_t size = 0;
  bool deleting = false;  // left by an interrupted run
};

struct GcArtifact {
  int64_t id = 0;
  std::string repository;
  std::string digest;
  int64_t size = 0;
};

class GcStore {
 public:
  explicit GcStore(SqlDatabase& db) : db_(db) {}

  // Untagged artifacts pushed before the cutoff that no index includes and
  // that are not an accessory of an artifact still present; ids > after_id.
  StatusOr<std::vector<GcArtifact>> UntaggedArtifacts(int64_t pushed_before, int64_t after_id,
                                                      int64_t limit);
  // Candidate blobs (unreferenced, or deleting) with digest > after.
  StatusOr<std::vector<GcBlob>> UnreferencedBlobs(int64_t cutoff, std::string_view after,
                                                  int64_t limit);
  StatusOr<bool> MarkDeleting(std::string_view digest, int64_t cutoff);
  // For a stored file with no row: under the lock, if nothing knows the
  // digest, records it as deleting (so FinishDelete can remove it).
  StatusOr<bool> MarkOrphanFile(std::string_view digest, int64_t size);
  // true when the file was removed (remove_file ran and succeeded).
  StatusOr<bool> FinishDelete(std::string_view digest, int64_t cutoff,
                              const std::function<Status()>& remove_file);
  // Whether the digest is a blob row or an artifact's manifest.
  StatusOr<bool> IsKnown(std::string_view digest);

 private:
  SqlDatabase& db_;
};

}  // namespace berth

#endif  // BERTH_STORE_GC_STORE_H_
