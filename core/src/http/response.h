// Response helpers and the two error formats: OCI's on /v2, Harbor's on /api.
#ifndef BERTH_HTTP_RESPONSE_H_
#define BERTH_HTTP_RESPONSE_H_

#include <string>
#include <string_view>

#include "common/status.h"
#include "http/request_context.h"

namespace berth {

// HTTP status for a Status (api code taken into account).
int HttpStatusFor(const Status& s, bool oci);

void SetStatus(RequestContext& ctx, int status);
// Sends headers with Content-Length: 0.
void SendEmpty(RequestContext& ctx, int status);
void SendBody(RequestContext& ctx, int status, std::string_view content_type,
              std::string_view body);
void SendJson(RequestContext& ctx, int status, std::string_view json);
// {"errors":[{"code","message","detail"}]} with OCI codes.
void SendOciError(RequestContext& ctx, const Status& s);
// {"errors":[{"code","message"}]} with Harbor's codes.
void SendApiError(RequestContext& ctx, const Status& s);
// OCI/Harbor code string for a Status without an explicit api code.
std::string DefaultErrorCode(const Status& s, bool oci);

}  // namespace berth

#endif  // BERTH_HTTP_RESPONSE_H_
