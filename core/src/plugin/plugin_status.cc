#include "plugin/plugin_status.h"

#include <cstring>

namespace berth {

Status FromPluginStatus(berth_status code, std::string m) {
  switch (code) {
    case BERTH_OK: return {};
    case BERTH_E_NOT_FOUND: return {Code::kNotFound, std::move(m)};
    case BERTH_E_INVALID_ARGUMENT: return {Code::kInvalidArgument, std::move(m)};
    case BERTH_E_UNSUPPORTED: return {Code::kUnsupported, std::move(m)};
    case BERTH_E_UNAUTHENTICATED: return {Code::kUnauthenticated, std::move(m)};
    case BERTH_E_PERMISSION_DENIED: return {Code::kPermissionDenied, std::move(m)};
    case BERTH_E_CONFLICT: return {Code::kConflict, std::move(m)};
    case BERTH_E_RETRY: return {Code::kUnavailable, std::move(m)};
    case BERTH_E_IO: return {Code::kIOError, std::move(m)};
    case BERTH_E_INVALID_OFFSET: return {Code::kRangeNotSatisfiable, std::move(m)};
    case BERTH_E_DEADLINE_EXCEEDED: return {Code::kDeadlineExceeded, std::move(m)};
    case BERTH_E_CANCELLED: return {Code::kUnavailable, std::move(m)};
    default: return {Code::kInternal, std::move(m)};
  }
}

const char* PluginStatusName(berth_status code) {
  switch (code) {
    case BERTH_OK: return "OK";
    case BERTH_E_NOT_FOUND: return "NOT_FOUND";
    case BERTH_E_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case BERTH_E_UNSUPPORTED: return "UNSUPPORTED";
    case BERTH_E_UNAUTHENTICATED: return "UNAUTHENTICATED";
    case BERTH_E_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case BERTH_E_CONFLICT: return "CONFLICT";
    case BERTH_E_RETRY: return "RETRY";
    case BERTH_E_IO: return "IO";
    case BERTH_E_ABI_MISMATCH: return "ABI_MISMATCH";
    case BERTH_E_INTERNAL: return "INTERNAL";
    case BERTH_E_INVALID_OFFSET: return "INVALID_OFFSET";
    case BERTH_E_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case BERTH_E_CANCELLED: return "CANCELLED";
    default: return "UNKNOWN";
  }
}

StringSink::StringSink(size_t max_bytes) : max_(max_bytes) {
  std::memset(&sink_, 0, sizeof sink_);
  sink_.struct_size = sizeof sink_;
  sink_.ctx = this;
  sink_.append = &StringSink::Append;
}

berth_status StringSink::Append(void* ctx, const void* data, size_t len) {
  auto* self = static_cast<StringSink*>(ctx);
  if (self->max_ != 0 && self->data_.size() + len > self->max_) {
    self->overflowed_ = true;
    return BERTH_E_CANCELLED;
  }
  if (len > 0) self->data_.append(static_cast<const char*>(data), len);
  return BERTH_OK;
}

ListSink::ListSink() {
  std::memset(&sink_, 0, sizeof sink_);
  sink_.struct_size = sizeof sink_;
  sink_.ctx = this;
  sink_.append = &ListSink::Append;
}

berth_status ListSink::Append(void* ctx, const void* data, size_t len) {
  static_cast<ListSink*>(ctx)->items_.emplace_back(static_cast<const char*>(data), len);
  return BERTH_OK;
}

}  // namespace berth
