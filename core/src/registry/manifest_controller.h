// ManifestController: manifest push/pull/delete, tags, catalog and referrers.
#ifndef BERTH_REGISTRY_MANIFEST_CONTROLLER_H_
#define BERTH_REGISTRY_MANIFEST_CONTROLLER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob/blob_store.h"
#include "registry/manifest.h"
#include "registry/manifest_cache.h"
#include "registry/reference.h"
#include "store/registry_store.h"

namespace berth {

struct PushedManifest {
  ArtifactRecord artifact;
  std::string digest;  // as the client should see it (the reference's algorithm)
  std::optional<Digest> subject;
};

struct ManifestContent {
  ArtifactRecord artifact;
  std::shared_ptr<const std::string> body;
};

// Who asked for an operation, for notifications and audit.
struct Actor {
  std::string username;   // "" for anonymous
  std::string request_id;
};

// What happened to an artifact, for notifications and audit.
enum class ArtifactEventKind { kPushed, kDeleted, kTagDeleted, kPulled };
struct ArtifactEvent {
  ArtifactEventKind kind;
  std::string repository;
  std::string digest;
  std::string media_type;
  std::string tag;  // may be empty
  Actor actor;
  int64_t occurred_at_ms = 0;
  std::string accessory_of;  // the subject's digest when a push is an accessory
};
using ArtifactEventFn = std::function<void(const ArtifactEvent&)>;
// Told when the store refused a manifest (a quota refusal: kPermissionDenied),
// for QUOTA_EXCEED notifications.
using ManifestRefusedFn = std::function<void(std::string_view repo, const std::string& digest,
                                             const std::string& tag, const Actor& actor,
                                             const Status& why)>;

class ManifestController {
 public:
  ManifestController(RegistryStore& store, BlobStore& blobs, size_t cache_bytes = 64 << 20);

  void set_event_sink(ArtifactEventFn fn) { on_event_ = std::move(fn); }
  void set_refusal_sink(ManifestRefusedFn fn) { on_refused_ = std::move(fn); }

  StatusOr<PushedManifest> Put(std::string_view repo, const ManifestReference& ref,
                               std::string body, std::string_view content_type,
                               const Actor& actor = {});
  // `accept` lists acceptable media types (empty: anything). A counted pull
  // (GET, not HEAD) is reported as an event.
  StatusOr<ManifestContent> Get(std::string_view repo, const ManifestReference& ref,
                                const std::vector<std::string>& accept,
                                const Actor* pulled_by = nullptr);
  // Reports a served GET of `artifact` (resolved from `ref`) as a pull event.
  void RecordPull(std::string_view repo, const ManifestReference& ref,
                  const ArtifactRecord& artifact, const Actor& actor);
  Status Delete(std::string_view repo, const ManifestReference& ref, const Actor& actor = {});
  StatusOr<NamePage> Tags(std::string_view repo, std::string_view last, int64_t n);
  StatusOr<NamePage> Catalog(std::string_view last, int64_t n);
  // The referrers index as JSON.
  StatusOr<std::string> Referrers(std::string_view repo, const Digest& subject,
                                  std::string_view artifact_type);

 private:
  StatusOr<ManifestContent> Resolve(std::string_view repo, const ManifestReference& ref,
                                    const std::vector<std::string>& accept);
  StatusOr<std::shared_ptr<const std::string>> LoadBody(const ArtifactRecord& a);
  void Emit(ArtifactEvent e) const {
    if (on_event_) on_event_(e);
  }

  RegistryStore& store_;
  BlobStore& blobs_;
  ManifestCache cache_;
  ArtifactEventFn on_event_;
  ManifestRefusedFn on_refused_;
};

// Splits Accept header values into bare media types.
std::vector<std::string> ParseAcceptList(const std::vector<std::string>& header_values);

}  // namespace berth

#endif  // BERTH_REGISTRY_MANIFEST_CONTROLLER_H_
