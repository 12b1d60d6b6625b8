#include "plugin/plugin_replication.h"

#include <cstring>

#include "common/clock.h"
#include "plugin/plugin_status.h"

namespace berth {

namespace {

berth_str Str(const std::string& s) { return {s.data(), s.size()}; }

// Metadata calls get a deadline; blob transfers run as long as bytes flow
// (the plugin's own transfer timeouts apply).
constexpr int64_t kMetadataTimeoutMs = 120000;

// The context a session's calls run under: the caller's (the replication
// job's id as request id), cancelled also when `cancel` is set.
CallContext SessionContext(std::shared_ptr<std::atomic<bool>> cancel) {
  CallContext ctx = CallContext::Current();
  std::shared_ptr<Cancellation> outer = ctx.cancellation;
  if (cancel != nullptr || outer != nullptr) {
    ctx.cancellation = std::make_shared<Cancellation>([cancel, outer] {
      return (cancel != nullptr && cancel->load()) || (outer != nullptr && outer->cancelled());
    });
  }
  return ctx;
}

struct SinkAdapter {
  const BlobChunkSink* fn;
  Status error;
  static berth_status Append(void* ctx, const void* data, size_t len) {
    auto* self = static_cast<SinkAdapter*>(ctx);
    Status s = (*self->fn)(static_cast<const char*>(data), len);
    if (s.ok()) return BERTH_OK;
    self->error = s;
    return BERTH_E_CANCELLED;
  }
};

struct SourceAdapter {
  const BlobChunkSource* fn;
  Status error;
  static berth_status Read(void* ctx, void* buf, size_t cap, size_t* n) {
    auto* self = static_cast<SourceAdapter*>(ctx);
    auto r = (*self->fn)(static_cast<char*>(buf), cap);
    if (r.ok()) {
      *n = *r;
      return BERTH_OK;
    }
    self->error = r.status();
    *n = 0;
    return BERTH_E_IO;
  }
};

}  // namespace

ReplicationSession::ReplicationSession(PluginCaller* caller, const berth_replication_vtable* vt,
                                       void* self, void* session, CallContext ctx)
    : caller_(caller), vt_(vt), self_(self), session_(session), ctx_(std::move(ctx)) {}

ReplicationSession::~ReplicationSession() {
  ScopedCallContext scope(ctx_);
  auto lock = caller_->Lock();
  vt_->close(self_, session_);
}

// Metadata calls get kMetadataTimeoutMs; transfers (0) only the job's own limits.
template <class F>
Status ReplicationSession::Call(const char* op, int64_t timeout_ms, F&& f) {
  CallContext ctx = ctx_;
  if (timeout_ms > 0) ctx.deadline_unix_ns = NowUnixNanos() + timeout_ms * 1000000;
  return caller_->Call(op, ctx, std::forward<F>(f));
}

Status ReplicationSession::HealthCheck() {
  return Call("health_check", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->health_check(self_, session_, c, e);
  });
}

Status ReplicationSession::PrepareForPush(const std::string& resources_json) {
  return Call("prepare_for_push", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->prepare_for_push(self_, session_, c, Str(resources_json), e);
  });
}

StatusOr<std::string> ReplicationSession::FetchArtifacts(const std::string& filters_json) {
  StringSink out(256 << 20);
  BERTH_RETURN_IF_ERROR(Call("fetch_artifacts", 0, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->fetch_artifacts(self_, session_, c, Str(filters_json), out.get(), e);
  }));
  return std::move(out.str());
}

StatusOr<std::vector<std::string>> ReplicationSession::ListTags(const std::string& repo) {
  ListSink out;
  BERTH_RETURN_IF_ERROR(Call("list_tags", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->list_tags(self_, session_, c, Str(repo), out.get(), e);
  }));
  return std::move(out.items());
}

StatusOr<RemoteManifest> ReplicationSession::ManifestExists(const std::string& repo,
                                                            const std::string& ref) {
  RemoteManifest m;
  int32_t exists = 0;
  StringSink digest(1024), mt(1024);
  BERTH_RETURN_IF_ERROR(Call("manifest_exists", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->manifest_exists(self_, session_, c, Str(repo), Str(ref), &exists, digest.get(),
                                mt.get(), e);
  }));
  m.exists = exists != 0;
  m.digest = digest.str();
  m.media_type = mt.str();
  return m;
}

Status ReplicationSession::PullManifest(const std::string& repo, const std::string& ref,
                                        const std::string& accept, std::string* media_type,
                                        std::string* body) {
  StringSink mt(1024), out(8 << 20);
  BERTH_RETURN_IF_ERROR(Call("pull_manifest", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->pull_manifest(self_, session_, c, Str(repo), Str(ref), Str(accept), mt.get(),
                              out.get(), e);
  }));
  if (out.overflowed()) return Status::InvalidArgument("manifest " + repo + ":" + ref + " is too large");
  *media_type = mt.str();
  *body = std::move(out.str());
  return {};
}

StatusOr<std::string> ReplicationSession::PushManifest(const std::string& repo,
                                                       const std::string& ref,
                                                       const std::string& media_type,
                                                       const std::string& body) {
  StringSink digest(1024);
  BERTH_RETURN_IF_ERROR(Call("push_manifest", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->push_manifest(self_, session_, c, Str(repo), Str(ref), Str(media_type), Str(body),
                              digest.get(), e);
  }));
  return digest.str();
}

Status ReplicationSession::DeleteManifest(const std::string& repo, const std::string& ref) {
  return Call("delete_manifest", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->delete_manifest(self_, session_, c, Str(repo), Str(ref), e);
  });
}

StatusOr<bool> ReplicationSession::BlobExists(const std::string& repo, const std::string& digest) {
  int32_t exists = 0;
  BERTH_RETURN_IF_ERROR(Call("blob_exists", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->blob_exists(self_, session_, c, Str(repo), Str(digest), &exists, e);
  }));
  return exists != 0;
}

Status ReplicationSession::PullBlob(const std::string& repo, const std::string& digest,
                                    int64_t offset, int64_t length, const BlobChunkSink& sink,
                                    int64_t* total_size) {
  SinkAdapter a{&sink, {}};
  berth_sink s;
  std::memset(&s, 0, sizeof s);
  s.struct_size = sizeof s;
  s.ctx = &a;
  s.append = &SinkAdapter::Append;
  int64_t total = -1;
  Status st = Call("pull_blob", 0, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->pull_blob(self_, session_, c, Str(repo), Str(digest), offset, length, &s, &total, e);
  });
  if (!a.error.ok()) return a.error;  // ours, not the plugin's
  if (total_size != nullptr) *total_size = total;
  return st;
}

Status ReplicationSession::PushBlob(const std::string& repo, const std::string& digest,
                                    int64_t size, const BlobChunkSource& source) {
  SourceAdapter a{&source, {}};
  berth_blob_source src;
  std::memset(&src, 0, sizeof src);
  src.struct_size = sizeof src;
  src.ctx = &a;
  src.read = &SourceAdapter::Read;
  Status st = Call("push_blob", 0, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->push_blob(self_, session_, c, Str(repo), Str(digest), size, &src, e);
  });
  if (!a.error.ok()) return a.error;
  return st;
}

Status ReplicationSession::MountBlob(const std::string& from_repo, const std::string& digest,
                                     const std::string& to_repo) {
  if (vt_->mount_blob == nullptr) return Status::Unsupported("mount is not supported");
  return Call("mount_blob", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->mount_blob(self_, session_, c, Str(from_repo), Str(digest), Str(to_repo), e);
  });
}

Status ReplicationSession::DeleteTag(const std::string& repo, const std::string& tag) {
  return Call("delete_tag", kMetadataTimeoutMs, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->delete_tag(self_, session_, c, Str(repo), Str(tag), e);
  });
}

PluginReplicationAdapter::PluginReplicationAdapter(const berth_provider* provider, void* instance)
    : provider_(provider),
      vt_(static_cast<const berth_replication_vtable*>(provider->vtable)),
      self_(instance),
      caller_("replication", provider, nullptr, kMetadataTimeoutMs) {}

PluginReplicationAdapter::~PluginReplicationAdapter() { provider_->destroy(self_); }

StatusOr<std::string> PluginReplicationAdapter::Info() {
  StringSink out(1 << 20);
  BERTH_RETURN_IF_ERROR(
      caller_.Call("info", CallContext::Current(), [&](const berth_call_ctx* c, berth_sink* e) {
        return vt_->info(self_, c, out.get(), e);
      }));
  return std::move(out.str());
}

StatusOr<std::unique_ptr<ReplicationSession>> PluginReplicationAdapter::Open(
    const RemoteEndpoint& ep, std::shared_ptr<std::atomic<bool>> cancel) {
  berth_registry_endpoint e;
  std::memset(&e, 0, sizeof e);
  e.struct_size = sizeof e;
  e.url = Str(ep.url);
  e.credential_type = Str(ep.credential_type);
  e.access_key = Str(ep.access_key);
  e.access_secret = Str(ep.access_secret);
  e.insecure = ep.insecure ? 1 : 0;
  e.ca_pem = Str(ep.ca_pem);
  CallContext ctx = SessionContext(std::move(cancel));
  void* session = nullptr;
  BERTH_RETURN_IF_ERROR(caller_.Call("open", ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return vt_->open(self_, c, &e, &session, err);
  }));
  return std::make_unique<ReplicationSession>(&caller_, vt_, self_, session, std::move(ctx));
}

}  // namespace berth
