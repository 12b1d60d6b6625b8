// PluginReplicationAdapter: a replication adapter plugin's C vtable (Harbor's
// Adapter + ArtifactRegistry) as C++ objects. An adapter is one provider
// instance (a registry type: "docker-registry", "harbor"); a session is one
// open connection to a remote registry endpoint, closed on destruction.
#ifndef BERTH_PLUGIN_PLUGIN_REPLICATION_H_
#define BERTH_PLUGIN_PLUGIN_REPLICATION_H_

#include <berth/plugin.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/call_context.h"
#include "common/status.h"
#include "plugin/plugin_call.h"

namespace berth {

// Where a remote registry is and how to sign in to it.
struct RemoteEndpoint {
  std::string url;
  std::string credential_type;  // "basic", "oauth", "secret" or ""
  std::string access_key;
  std::string access_secret;
  bool insecure = false;
  std::string ca_pem;
};

struct RemoteManifest {
  bool exists = false;
  std::string digest;
  std::string media_type;
};

// Receives pulled bytes; an error aborts the pull.
using BlobChunkSink = std::function<Status(const char* data, size_t len)>;
// Supplies pushed bytes: the count read, 0 at the end.
using BlobChunkSource = std::function<StatusOr<size_t>(char* buf, size_t cap)>;

class ReplicationSession {
 public:
  ReplicationSession(PluginCaller* caller, const berth_replication_vtable* vt, void* self,
                     void* session, CallContext ctx);
  ~ReplicationSession();
  ReplicationSession(const ReplicationSession&) = delete;
  ReplicationSession& operator=(const ReplicationSession&) = delete;

  Status HealthCheck();
  Status PrepareForPush(const std::string& resources_json);
  // Resources (Harbor's model.Resource, as a JSON array) matching the filters.
  StatusOr<std::string> FetchArtifacts(const std::string& filters_json);
  StatusOr<std::vector<std::string>> ListTags(const std::string& repo);
  StatusOr<RemoteManifest> ManifestExists(const std::string& repo, const std::string& ref);
  // `accept`: comma-separated media types.
  Status PullManifest(const std::string& repo, const std::string& ref, const std::string& accept,
                      std::string* media_type, std::string* body);
  StatusOr<std::string> PushManifest(const std::string& repo, const std::string& ref,
                                     const std::string& media_type, const std::string& body);
  Status DeleteManifest(const std::string& repo, const std::string& ref);
  StatusOr<bool> BlobExists(const std::string& repo, const std::string& digest);
  // Streams [offset, offset+length) (length -1: to the end) into `sink`.
  Status PullBlob(const std::string& repo, const std::string& digest, int64_t offset,
                  int64_t length, const BlobChunkSink& sink, int64_t* total_size);
  Status PushBlob(const std::string& repo, const std::string& digest, int64_t size,
                  const BlobChunkSource& source);
  // kUnsupported when the adapter cannot mount (the caller copies).
  Status MountBlob(const std::string& from_repo, const std::string& digest,
                   const std::string& to_repo);
  Status DeleteTag(const std::string& repo, const std::string& tag);

 private:
  template <class F>
  Status Call(const char* op, int64_t timeout_ms, F&& f);
  PluginCaller* caller_;  // the adapter's: lock, status, metrics
  const berth_replication_vtable* vt_;
  void* self_;
  void* session_;
  CallContext ctx_;  // every call of the session runs under it
};

class PluginReplicationAdapter {
 public:
  // Takes ownership of `instance`.
  PluginReplicationAdapter(const berth_provider* provider, void* instance);
  ~PluginReplicationAdapter();

  // The registry type (the provider's name), e.g. "docker-registry".
  std::string type() const { return provider_->name; }
  std::string description() const { return provider_->description ? provider_->description : ""; }
  // Harbor's RegistryInfo as the plugin describes itself (JSON object).
  StatusOr<std::string> Info();
  // `cancel`, when given, turns the calls of the session into cancellable
  // ones (a replication execution being stopped).
  StatusOr<std::unique_ptr<ReplicationSession>> Open(
      const RemoteEndpoint& endpoint, std::shared_ptr<std::atomic<bool>> cancel = nullptr);

 private:
  const berth_provider* provider_;
  const berth_replication_vtable* vt_;
  void* self_;
  PluginCaller caller_;
};

}  // namespace berth

#endif  // BERTH_PLUGIN_PLUGIN_REPLICATION_H_
