// Status: the error type used throughout berthd (LevelDB style; OK is free).
//
// A Status carries a generic code (mapped to an HTTP status at the edge) and,
// optionally, the protocol's own error code ("BLOB_UNKNOWN", "NOT_FOUND", ...)
// so the /v2 and /api edges can render the client-visible error exactly.
#ifndef BERTH_COMMON_STATUS_H_
#define BERTH_COMMON_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace berth {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // 400
  kUnauthenticated,    // 401
  kPermissionDenied,   // 403
  kNotFound,           // 404
  kMethodNotAllowed,   // 405
  kConflict,           // 409
  kPreconditionFailed, // 412
  kTooLarge,           // 413
  kRangeNotSatisfiable,// 416
  kTooManyRequests,    // 429
  kInternal,           // 500
  kUnsupported,        // 400 on the wire, "not implemented by this backend" inside
  kUnavailable,        // 503
  kIOError,            // 500
  kDeadlineExceeded,   // 504
};

// [[nodiscard]]: dropping a Status is a compile warning. Ignore one only
// through IgnoreError() below, with the reason.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string api_code = {}, std::string detail_json = {});

  static Status OK() { return {}; }
  static Status InvalidArgument(std::string m, std::string api = {}) {
    return {Code::kInvalidArgument, std::move(m), std::move(api)};
  }
  static Status NotFound(std::string m, std::string api = {}) {
    return {Code::kNotFound, std::move(m), std::move(api)};
  }
  static Status Conflict(std::string m, std::string api = {}) {
    return {Code::kConflict, std::move(m), std::move(api)};
  }
  static Status PermissionDenied(std::string m, std::string api = {}) {
    return {Code::kPermissionDenied, std::move(m), std::move(api)};
  }
  static Status Unauthenticated(std::string m, std::string api = {}) {
    return {Code::kUnauthenticated, std::move(m), std::move(api)};
  }
  static Status Unsupported(std::string m, std::string api = {}) {
    return {Code::kUnsupported, std::move(m), std::move(api)};
  }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  const std::string& message() const;
  const std::string& api_code() const;
  // Optional JSON value for the error's "detail" member; empty when absent.
  const std::string& detail_json() const;
  bool IsNotFound() const { return code() == Code::kNotFound; }

  // A copy with a different protocol code (keeps code and message).
  Status WithApiCode(std::string api_code) const;
  std::string ToString() const;

 private:
  struct State {
    Code code;
    std::string message;
    std::string api_code;
    std::string detail_json;
  };
  std::shared_ptr<const State> state_;
};

const char* CodeName(Code c);

// A value or an error.
template <class T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status s) : status_(std::move(s)) {}  // NOLINT: implicit by design
  StatusOr(T v) : value_(std::move(v)) {}        // NOLINT
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

// Drops an error on purpose. `why` says why losing it is harmless (best-effort
// cleanup whose failure is already logged, a cache fill, ...); it is not
// printed, it is for the reader (abseil's IgnoreError, with the reason).
inline void IgnoreError(const Status& /*status*/, const char* /*why*/) {}
template <class T>
inline void IgnoreError(const StatusOr<T>& /*status_or*/, const char* /*why*/) {}

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)

#define BERTH_RETURN_IF_ERROR(expr)            \
  do {                                         \
    ::berth::Status berth_st_ = (expr);        \
    if (!berth_st_.ok()) return berth_st_;     \
  } while (0)

#define BERTH_ASSIGN_OR_RETURN(lhs, expr)                       \
  auto BERTH_CONCAT_(berth_or_, __LINE__) = (expr);             \
  if (!BERTH_CONCAT_(berth_or_, __LINE__).ok())                 \
    return BERTH_CONCAT_(berth_or_, __LINE__).status();         \
  lhs = std::move(BERTH_CONCAT_(berth_or_, __LINE__).value())

}  // namespace berth

#endif  // BERTH_COMMON_STATUS_H_
