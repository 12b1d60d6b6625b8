#include "plugin/plugin_preheat.h"

#include <cstring>

#include "plugin/plugin_status.h"

namespace berth {

namespace {

berth_str Str(const std::string& s) { return {s.data(), s.size()}; }

// Keeps the C view and the strings it borrows together.
struct InstanceView {
  explicit InstanceView(const PreheatEndpoint& at) {
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.endpoint = Str(at.endpoint);
    c.auth_mode = Str(at.auth_mode);
    c.auth_info_json = Str(at.auth_info_json);
    c.insecure = at.insecure ? 1 : 0;
  }
  berth_preheat_instance c;
};

// {"task_id","status","error"} as the ABI describes it; unknown statuses are
// failures, as Harbor's dragonfly driver treats them.
StatusOr<PreheatProgress> ParseProgress(const std::string& who, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::Internal(who + " answered with invalid JSON: " + text);
  PreheatProgress p;
  auto str = [&j](const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::string();
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  p.task_id = str("task_id");
  p.status = str("status");
  p.error = str("error");
  p.message = str("message");
  if (p.status != kPreheatPending && p.status != kPreheatRunning && p.status != kPreheatSuccess &&
      p.status != kPreheatFail) {
    if (p.error.empty()) p.error = "unknown preheat status '" + p.status + "'";
    p.status = kPreheatFail;
  }
  return p;
}

}  // namespace

PluginPreheat::PluginPreheat(const berth_provider* provider, void* instance)
    : provider_(provider),
      vt_(static_cast<const berth_preheat_vtable*>(provider->vtable)),
      self_(instance),
      caller_("preheat", provider, nullptr, 0) {}

PluginPreheat::~PluginPreheat() { provider_->destroy(self_); }

// The caller's deadline bounds the call; the job retries what is unavailable.
template <class Fn>
Status PluginPreheat::Call(const char* what, int64_t deadline_unix_ns, Fn fn) {
  CallContext ctx = CallContext::Current();
  ctx.deadline_unix_ns = deadline_unix_ns;
  Status s = caller_.Call(what, ctx, [&](const berth_call_ctx* c, berth_sink* err) {
    return fn(c, err);
  });
  if (s.code() == Code::kIOError) return Status(Code::kUnavailable, s.message());
  return s;
}

StatusOr<nlohmann::json> PluginPreheat::SelfInfo(int64_t deadline_unix_ns) {
  StringSink out(1 << 16);
  BERTH_RETURN_IF_ERROR(Call("self_info", deadline_unix_ns, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->self_info(self_, c, out.get(), e);
  }));
  auto j = nlohmann::json::parse(out.str(), nullptr, false);
  if (!j.is_object()) {
    return Status::Internal(std::string("preheat provider '") + provider_->name +
                            "' self_info is not a JSON object");
  }
  return j;
}

Status PluginPreheat::GetHealth(const PreheatEndpoint& at, int64_t deadline_unix_ns) {
  InstanceView iv(at);
  return Call("get_health", deadline_unix_ns, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->get_health(self_, c, &iv.c, e);
  });
}

StatusOr<PreheatProgress> PluginPreheat::Preheat(const PreheatEndpoint& at,
                                                 const PreheatImageSpec& image,
                                                 int64_t deadline_unix_ns) {
  InstanceView iv(at);
  berth_preheat_image img;
  std::memset(&img, 0, sizeof img);
  img.struct_size = sizeof img;
  img.type = Str(image.type);
  img.url = Str(image.url);
  img.headers_json = Str(image.headers_json);
  img.image = Str(image.image);
  img.digest = Str(image.digest);
  img.scope = Str(image.scope);
  img.extra_json = Str(image.extra_json);
  StringSink out(1 << 20);
  BERTH_RETURN_IF_ERROR(Call("preheat", deadline_unix_ns, [&](const berth_call_ctx* c, berth_sink* e) {
    return vt_->preheat(self_, c, &iv.c, &img, out.get(), e);
  }));
  return ParseProgress(std::string("preheat provider '") + provider_->name + "'", out.str());
}

StatusOr<PreheatProgress> PluginPreheat::CheckProgress(const PreheatEndpoint& at,
                                                       const std::string& task_id,
                                                       int64_t deadline_unix_ns) {
  InstanceView iv(at);
  StringSink out(1 << 20);
  BERTH_RETURN_IF_ERROR(
      Call("check_progress", deadline_unix_ns, [&](const berth_call_ctx* c, berth_sink* e) {
        return vt_->check_progress(self_, c, &iv.c, Str(task_id), out.get(), e);
      }));
  auto p = ParseProgress(std::string("preheat provider '") + provider_->name + "'", out.str());
  if (p.ok() && p->task_id.empty()) p->task_id = task_id;
  return p;
}

}  // namespace berth
