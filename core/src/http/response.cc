#include "http/response.h"

#include <Poco/Net/HTTPResponse.h>

#include "common/strings.h"

namespace berth {

int HttpStatusFor(const Status& s, bool oci) {
  const std::string& api = s.api_code();
  if (api == "UNAUTHORIZED") return 401;
  if (api == "DENIED" && s.code() != Code::kPreconditionFailed) return 403;
  switch (s.code()) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kConflict: return 409;
    case Code::kPreconditionFailed: return 412;
    case Code::kTooLarge: return 413;
    case Code::kRangeNotSatisfiable: return 416;
    case Code::kTooManyRequests: return 429;
    case Code::kUnsupported: return oci ? 405 : 400;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
    case Code::kInternal:
    case Code::kIOError: return 500;
  }
  return 500;
}

std::string DefaultErrorCode(const Status& s, bool oci) {
  switch (s.code()) {
    case Code::kInvalidArgument: return oci ? "UNSUPPORTED" : "BAD_REQUEST";
    case Code::kUnauthenticated: return "UNAUTHORIZED";
    case Code::kPermissionDenied: return oci ? "DENIED" : "FORBIDDEN";
    case Code::kNotFound: return oci ? "NAME_UNKNOWN" : "NOT_FOUND";
    case Code::kMethodNotAllowed: return oci ? "UNSUPPORTED" : "METHOD_NOT_ALLOWED";
    case Code::kConflict: return "CONFLICT";
    case Code::kPreconditionFailed: return oci ? "DENIED" : "PRECONDITION";
    case Code::kTooLarge: return oci ? "SIZE_INVALID" : "REQUEST_ENTITY_TOO_LARGE";
    case Code::kRangeNotSatisfiable: return oci ? "BLOB_UPLOAD_INVALID" : "BAD_REQUEST";
    case Code::kTooManyRequests: return oci ? "TOOMANYREQUESTS" : "TOO_MANY_REQUEST";
    case Code::kUnsupported: return "UNSUPPORTED";
    default: return "UNKNOWN";
  }
}

void SetStatus(RequestContext& ctx, int status) {
  ctx.status = status;
  ctx.response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
}

void SendEmpty(RequestContext& ctx, int status) {
  SetStatus(ctx, status);
  ctx.response.setContentLength64(0);
  ctx.response.send().flush();
}

void SendBody(RequestContext& ctx, int status, std::string_view content_type,
              std::string_view body) {
  SetStatus(ctx, status);
  ctx.response.setContentType(std::string(content_type));
  ctx.response.setContentLength64(static_cast<Poco::Int64>(body.size()));
  std::ostream& os = ctx.response.send();
  if (ctx.method != "HEAD") {
    os.write(body.data(), static_cast<std::streamsize>(body.size()));
    ctx.bytes_out += static_cast<int64_t>(body.size());
  }
  os.flush();
}

void SendJson(RequestContext& ctx, int status, std::string_view json) {
  SendBody(ctx, status, "application/json; charset=utf-8", json);
}

namespace {
void SendError(RequestContext& ctx, const Status& s, bool oci) {
  int status = HttpStatusFor(s, oci);
  std::string code = s.api_code().empty() ? DefaultErrorCode(s, oci) : s.api_code();
  // Internal details stay in the log, not in the response.
  if (status >= 500) ctx.error = s.ToString();
  std::string message = status >= 500 ? "internal server error" : s.message();
  std::string body = "{\"errors\":[{\"code\":" + JsonQuote(code) + ",\"message\":" +
                     JsonQuote(message);
  if (oci && !s.detail_json().empty() && status < 500) body += ",\"detail\":" + s.detail_json();
  body += "}]}";
  SendJson(ctx, status, body);
}
}  // namespace

void SendOciError(RequestContext& ctx, const Status& s) { SendError(ctx, s, true); }
void SendApiError(RequestContext& ctx, const Status& s) { SendError(ctx, s, false); }

}  // namespace berth
