// Berth plugin SDK: scanners. Include berth/plugin_sdk.hpp.
#ifndef BERTH_SDK_SCANNER_HPP_
#define BERTH_SDK_SCANNER_HPP_

#include <berth/sdk/core.hpp>

namespace berth::sdk {

struct ScanRequest {
  std::string registry_url;
  std::string registry_authorization;
  std::string repository;
  std::string digest;
  std::string tag;
  std::string mime_type;
  std::string capabilities_json;
};

class Scanner {
 public:
  virtual ~Scanner() = default;
  virtual Status GetMetadata(const CallCtx& call, std::string* json) = 0;
  virtual Status SubmitScan(const CallCtx& call, const ScanRequest& req, std::string* scan_id) = 0;
  // Status::Retry with *retry_after_seconds while the report is not ready.
  virtual Status GetReport(const CallCtx& call, std::string_view scan_id,
                           std::string_view mime_type, std::string* report,
                           int64_t* retry_after_seconds) = 0;
};

namespace detail {
template <class D>
struct ScannerThunks {
  static D* Self(void* s) { return static_cast<D*>(s); }
  static berth_status GetMetadata(void* s, const berth_call_ctx* c, berth_sink* out,
                                  berth_sink* err) {
    return Guard(err, [&] {
      std::string json;
      Status st = Self(s)->GetMetadata(CallCtx(c), &json);
      return st.ok() ? Put(out, json) : st;
    });
  }
  static berth_status SubmitScan(void* s, const berth_call_ctx* c, const berth_scan_request* r,
                                 berth_sink* out, berth_sink* err) {
    return Guard(err, [&] {
      if (r == nullptr) return Status::InvalidArgument("no scan request");
      ScanRequest req{std::string(View(r->registry_url)), std::string(View(r->registry_authorization)),
                      std::string(View(r->repository)),   std::string(View(r->digest)),
                      std::string(View(r->tag)),          std::string(View(r->mime_type)),
                      std::string(View(r->capabilities_json))};
      std::string id;
      Status st = Self(s)->SubmitScan(CallCtx(c), req, &id);
      return st.ok() ? Put(out, id) : st;
    });
  }
  static berth_status GetReport(void* s, const berth_call_ctx* c, berth_str id, berth_str mime,
                                berth_sink* out, int64_t* retry_after, berth_sink* err) {
    return Guard(err, [&] {
      std::string report;
      int64_t after = 0;
      Status st = Self(s)->GetReport(CallCtx(c), View(id), View(mime), &report, &after);
      if (retry_after != nullptr) *retry_after = after;
      return st.ok() ? Put(out, report) : st;
    });
  }
  static const berth_scanner_vtable* Vtable() {
    static const berth_scanner_vtable vt = {sizeof(berth_scanner_vtable), &GetMetadata,
                                            &SubmitScan, &GetReport};
    return &vt;
  }
};
}  // namespace detail

template <class D>
berth_provider MakeScannerProvider(const ProviderInfo& info) {
  return detail::MakeProvider<D>(BERTH_KIND_SCANNER, info, detail::ScannerThunks<D>::Vtable());
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_SCANNER_HPP_
