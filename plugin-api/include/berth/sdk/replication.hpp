// Berth plugin SDK: replication adapters. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_REPLICATION_HPP_
#define BERTH_SDK_REPLICATION_HPP_

#include <berth/sdk/core.hpp>

namespace berth::sdk {

struct RegistryEndpoint {
  std::string url;
  std::string credential_type;
  std::string access_key;
  std::string access_secret;
  bool insecure = false;
  std::string ca_pem;
};

// Bytes offered by the host for a blob push.
class BlobSource {
 public:
  explicit BlobSource(berth_blob_source* s) : s_(s) {}
  // *n = 0 at the end.
  Status Read(void* buf, size_t cap, size_t* n) {
    if (s_ == nullptr || s_->read == nullptr) return Status::InvalidArgument("no blob source");
    berth_status rc = s_->read(s_->ctx, buf, cap, n);
    return rc == BERTH_OK ? Status() : Status(rc, "reading the blob failed");
  }

 private:
  berth_blob_source* s_;
};

// One open connection to a remote registry.
class ReplicationSession {
 public:
  virtual ~ReplicationSession() = default;
  virtual Status HealthCheck(const CallCtx& call) = 0;
  virtual Status PrepareForPush(const CallCtx& call, std::string_view resources_json) = 0;
  virtual Status FetchArtifacts(const CallCtx& call, std::string_view filters_json,
                                std::string* json) = 0;
  virtual Status ListTags(const CallCtx& call, std::string_view repo,
                          std::vector<std::string>* tags) = 0;
  virtual Status ManifestExists(const CallCtx& call, std::string_view repo, std::string_view ref,
                                bool* exists, std::string* digest, std::string* media_type) = 0;
  virtual Status PullManifest(const CallCtx& call, std::string_view repo, std::string_view ref,
                              std::string_view accept, std::string* media_type,
                              std::string* body) = 0;
  virtual Status PushManifest(const CallCtx& call, std::string_view repo, std::string_view ref,
                              std::string_view media_type, std::string_view body,
                              std::string* digest) = 0;
  virtual Status DeleteManifest(const CallCtx& call, std::string_view repo,
                                std::string_view ref) = 0;
  virtual Status BlobExists(const CallCtx& call, std::string_view repo, std::string_view digest,
                            bool* exists) = 0;
  virtual Status PullBlob(const CallCtx& call, std::string_view repo, std::string_view digest,
                          int64_t offset, int64_t length, Sink& out, int64_t* total_size) = 0;
  virtual Status PushBlob(const CallCtx& call, std::string_view repo, std::string_view digest,
                          int64_t size, BlobSource& source) = 0;
  virtual Status MountBlob(const CallCtx&, std::string_view, std::string_view, std::string_view) {
    return Status::Unsupported("mount is not supported");
  }
  virtual Status DeleteTag(const CallCtx& call, std::string_view repo, std::string_view tag) = 0;
  virtual Status ListReferrers(const CallCtx&, std::string_view, std::string_view, std::string*) {
    return Status::Unsupported("referrers are not supported");
  }
};

class ReplicationAdapter {
 public:
  virtual ~ReplicationAdapter() = default;
  virtual Status Info(const CallCtx& call, std::string* json) = 0;
  virtual Status Open(const CallCtx& call, const RegistryEndpoint& endpoint,
                      std::unique_ptr<ReplicationSession>* out) = 0;
};

namespace detail {
template <class D>
struct ReplicationThunks {
  static ReplicationSession* S(void* s) { return static_cast<ReplicationSession*>(s); }
  static berth_status Info(void* self, const berth_call_ctx* c, berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::string json;
      Status st = static_cast<D*>(self)->Info(CallCtx(c), &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static berth_status Open(void* self, const berth_call_ctx* c, const berth_registry_endpoint* e,
                           void** out, berth_sink* err) {
    return Guard(err, [&] {
      if (e == nullptr) return Status::InvalidArgument("no endpoint");
      RegistryEndpoint ep{std::string(View(e->url)),        std::string(View(e->credential_type)),
                          std::string(View(e->access_key)), std::string(View(e->access_secret)),
                          e->insecure != 0,                 std::string(View(e->ca_pem))};
      std::unique_ptr<ReplicationSession> session;
      Status st = static_cast<D*>(self)->Open(CallCtx(c), ep, &session);
      if (st.ok()) *out = session.release();
      return st;
    });
  }
  static void Close(void*, void* session) noexcept {
    try {
      delete S(session);
    } catch (...) {
    }
  }
  static berth_status Health(void*, void* s, const berth_call_ctx* c, berth_sink* err) {
    return Guard(err, [&] { return S(s)->HealthCheck(CallCtx(c)); });
  }
  static berth_status Prepare(void*, void* s, const berth_call_ctx* c, berth_str res,
                              berth_sink* err) {
    return Guard(err, [&] { return S(s)->PrepareForPush(CallCtx(c), View(res)); });
  }
  static berth_status Fetch(void*, void* s, const berth_call_ctx* c, berth_str filters,
                            berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::string json;
      Status st = S(s)->FetchArtifacts(CallCtx(c), View(filters), &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static berth_status ListTags(void*, void* s, const berth_call_ctx* c, berth_str repo,
                               berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::vector<std::string> tags;
      Status st = S(s)->ListTags(CallCtx(c), View(repo), &tags);
      for (size_t i = 0; st.ok() && i < tags.size(); ++i) st = Put(out, tags[i]);
      return st;
    });
  }
  static berth_status ManifestExists(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                     berth_str ref, int32_t* exists, berth_sink* out_digest,
                                     berth_sink* out_mt, berth_sink* err) {
    return Guard(err, [&] {
      bool e = false;
      std::string d, mt;
      Status st = S(s)->ManifestExists(CallCtx(c), View(repo), View(ref), &e, &d, &mt);
      if (!st.ok()) return st;
      if (exists != nullptr) *exists = e ? 1 : 0;
      st = Put(out_digest, d);
      return st.ok() ? Put(out_mt, mt) : st;
    });
  }
  static berth_status PullManifest(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                   berth_str ref, berth_str accept, berth_sink* out_mt,
                                   berth_sink* out_body, berth_sink* err) {
    return Guard(err, [&] {
      std::string mt, body;
      Status st = S(s)->PullManifest(CallCtx(c), View(repo), View(ref), View(accept), &mt, &body);
      if (st.ok()) st = Put(out_mt, mt);
      return st.ok() ? Put(out_body, body) : st;
    });
  }
  static berth_status PushManifest(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                   berth_str ref, berth_str mt, berth_str body,
                                   berth_sink* out_digest, berth_sink* err) {
    return Guard(err, [&] {
      std::string d;
      Status st = S(s)->PushManifest(CallCtx(c), View(repo), View(ref), View(mt), View(body), &d);
      return st.ok() ? Put(out_digest, d) : st;
    });
  }
  static berth_status DeleteManifest(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                     berth_str ref, berth_sink* err) {
    return Guard(err, [&] { return S(s)->DeleteManifest(CallCtx(c), View(repo), View(ref)); });
  }
  static berth_status BlobExists(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                 berth_str digest, int32_t* exists, berth_sink* err) {
    return Guard(err, [&] {
      bool e = false;
      Status st = S(s)->BlobExists(CallCtx(c), View(repo), View(digest), &e);
      if (st.ok() && exists != nullptr) *exists = e ? 1 : 0;
      return st;
    });
  }
  static berth_status PullBlob(void*, void* s, const berth_call_ctx* c, berth_str repo,
                               berth_str digest, int64_t offset, int64_t length, berth_sink* out,
                               int64_t* total, berth_sink* err) {
    return Guard(err, [&] {
      Sink sink(out);
      int64_t t = 0;
      Status st = S(s)->PullBlob(CallCtx(c), View(repo), View(digest), offset, length, sink, &t);
      if (total != nullptr) *total = t;
      return st;
    });
  }
  static berth_status PushBlob(void*, void* s, const berth_call_ctx* c, berth_str repo,
                               berth_str digest, int64_t size, berth_blob_source* src,
                               berth_sink* err) {
    return Guard(err, [&] {
      BlobSource source(src);
      return S(s)->PushBlob(CallCtx(c), View(repo), View(digest), size, source);
    });
  }
  static berth_status MountBlob(void*, void* s, const berth_call_ctx* c, berth_str from,
                                berth_str digest, berth_str to, berth_sink* err) {
    return Guard(err, [&] { return S(s)->MountBlob(CallCtx(c), View(from), View(digest), View(to)); });
  }
  static berth_status DeleteTag(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                berth_str tag, berth_sink* err) {
    return Guard(err, [&] { return S(s)->DeleteTag(CallCtx(c), View(repo), View(tag)); });
  }
  static berth_status ListReferrers(void*, void* s, const berth_call_ctx* c, berth_str repo,
                                    berth_str digest, berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::string json;
      Status st = S(s)->ListReferrers(CallCtx(c), View(repo), View(digest), &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static const berth_replication_vtable* Vtable() {
    static const berth_replication_vtable vt = {
        sizeof(berth_replication_vtable), &Info, &Open, &Close, &Health, &Prepare, &Fetch,
        &ListTags, &ManifestExists, &PullManifest, &PushManifest, &DeleteManifest, &BlobExists,
        &PullBlob, &PushBlob, &MountBlob, &DeleteTag, &ListReferrers};
    return &vt;
  }
};
}  // namespace detail

template <class D>
berth_provider MakeReplicationProvider(const ProviderInfo& info) {
  return detail::MakeProvider<D>(BERTH_KIND_REPLICATION, info,
                                 detail::ReplicationThunks<D>::Vtable());
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_REPLICATION_HPP_
