// Berth plugin SDK: P2P preheat providers. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_PREHEAT_HPP_
#define BERTH_SDK_PREHEAT_HPP_

#include <berth/sdk/core.hpp>

namespace berth::sdk {

struct PreheatInstance {
  std::string endpoint;
  std::string auth_mode;
  std::string auth_info_json;
  bool insecure = false;
};

struct PreheatImage {
  std::string type;
  std::string url;
  std::string headers_json;
  std::string image;
  std::string digest;
  std::string scope;
  std::string extra_json;
};

class PreheatProvider {
 public:
  virtual ~PreheatProvider() = default;
  virtual Status SelfInfo(const CallCtx& call, std::string* json) = 0;
  virtual Status GetHealth(const CallCtx& call, const PreheatInstance& instance) = 0;
  virtual Status Preheat(const CallCtx& call, const PreheatInstance& instance,
                         const PreheatImage& image, std::string* json) = 0;
  virtual Status CheckProgress(const CallCtx& call, const PreheatInstance& instance,
                               std::string_view task_id, std::string* json) = 0;
};

namespace detail {
inline PreheatInstance ToInstance(const berth_preheat_instance* i) {
  PreheatInstance out;
  if (i == nullptr) return out;
  out.endpoint = View(i->endpoint);
  out.auth_mode = View(i->auth_mode);
  out.auth_info_json = View(i->auth_info_json);
  out.insecure = i->insecure != 0;
  return out;
}

template <class D>
struct PreheatThunks {
  static D* Self(void* s) { return static_cast<D*>(s); }
  static berth_status SelfInfo(void* s, const berth_call_ctx* c, berth_sink* out,
                               berth_sink* err) {
    return Guard(err, [&] {
      std::string json;
      Status st = Self(s)->SelfInfo(CallCtx(c), &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static berth_status GetHealth(void* s, const berth_call_ctx* c, const berth_preheat_instance* i,
                                berth_sink* err) {
    return Guard(err, [&] { return Self(s)->GetHealth(CallCtx(c), ToInstance(i)); });
  }
  static berth_status Preheat(void* s, const berth_call_ctx* c, const berth_preheat_instance* i,
                              const berth_preheat_image* img, berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      if (img == nullptr) return Status::InvalidArgument("no image");
      PreheatImage im{std::string(View(img->type)),  std::string(View(img->url)),
                      std::string(View(img->headers_json)), std::string(View(img->image)),
                      std::string(View(img->digest)), std::string(View(img->scope)),
                      std::string(View(img->extra_json))};
      std::string json;
      Status st = Self(s)->Preheat(CallCtx(c), ToInstance(i), im, &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static berth_status CheckProgress(void* s, const berth_call_ctx* c,
                                    const berth_preheat_instance* i, berth_str task,
                                    berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      std::string json;
      Status st = Self(s)->CheckProgress(CallCtx(c), ToInstance(i), View(task), &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static const berth_preheat_vtable* Vtable() {
    static const berth_preheat_vtable vt = {sizeof(berth_preheat_vtable), &SelfInfo, &GetHealth,
                                            &Preheat, &CheckProgress};
    return &vt;
  }
};
}  // namespace detail

template <class D>
berth_provider MakePreheatProvider(const ProviderInfo& info) {
  return detail::MakeProvider<D>(BERTH_KIND_PREHEAT, info, detail::PreheatThunks<D>::Vtable());
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_PREHEAT_HPP_
