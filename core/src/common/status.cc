#include "common/status.h"

namespace berth {

namespace {
const std::string& Empty() {
  static const std::string kEmpty;
  return kEmpty;
}
}  // namespace

Status::Status(Code code, std::string message, std::string api_code, std::string detail_json) {
  if (code != Code::kOk) {
    state_ = std::make_shared<const State>(
        State{code, std::move(message), std::move(api_code), std::move(detail_json)});
  }
}

const std::string& Status::message() const { return state_ ? state_->message : Empty(); }
const std::string& Status::api_code() const { return state_ ? state_->api_code : Empty(); }
const std::string& Status::detail_json() const { return state_ ? state_->detail_json : Empty(); }

Status Status::WithApiCode(std::string api_code) const {
  if (ok()) return *this;
  return Status(state_->code, state_->message, std::move(api_code), state_->detail_json);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code());
  if (!api_code().empty()) s += " (" + api_code() + ")";
  return s + ": " + message();
}

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kNotFound: return "NotFound";
    case Code::kMethodNotAllowed: return "MethodNotAllowed";
    case Code::kConflict: return "Conflict";
    case Code::kPreconditionFailed: return "PreconditionFailed";
    case Code::kTooLarge: return "TooLarge";
    case Code::kRangeNotSatisfiable: return "RangeNotSatisfiable";
    case Code::kTooManyRequests: return "TooManyRequests";
    case Code::kInternal: return "Internal";
    case Code::kUnsupported: return "Unsupported";
    case Code::kUnavailable: return "Unavailable";
    case Code::kIOError: return "IOError";
    case Code::kDeadlineExceeded: return "DeadlineExceeded";
  }
  return "Unknown";
}

}  // namespace berth
