// Helpers shared by the /api/v2.0 handlers: JSON bodies, Harbor's list
// conventions (page, page_size, q, sort, X-Total-Count, Link) and common
// refusals.
#ifndef BERTH_API_API_UTIL_H_
#define BERTH_API_API_UTIL_H_

#include <nlohmann/json.hpp>
#include <string>

#include "api/api_router.h"
#include "auth/denial.h"
#include "store/list_query.h"

namespace berth {

// Parses the request body as a JSON object (at most 1 MiB).
StatusOr<nlohmann::json> ReadJsonObject(RequestContext& ctx);
Status SendJsonValue(RequestContext& ctx, int status, const nlohmann::json& value);
// 201 with a Location header and an empty body.
Status SendCreated(RequestContext& ctx, const std::string& location);
Status SendOk(RequestContext& ctx);

// page (>= 1), page_size (1..100, default 10), q, sort.
StatusOr<ListQuery> ListQueryFrom(const RequestContext& ctx);
// X-Total-Count and Link (prev/next, other query parameters kept).
void SetPagination(RequestContext& ctx, const ListQuery& q, int64_t total);

// A list page as Harbor sends it: the items, each through to_json, with
// X-Total-Count and Link.
template <class PageT, class ToJson>  // Page<T> or another {items, total}
Status SendPage(RequestContext& ctx, const ListQuery& q, const PageT& page, ToJson to_json) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : page.items) out.push_back(to_json(item));
  SetPagination(ctx, q, page.total);
  return SendJsonValue(ctx, 200, out);
}

// A true/false query parameter (case-insensitive); 400 for anything else.
StatusOr<bool> QueryBool(const RequestContext& ctx, const char* key, bool fallback);

// X-Is-Resource-Name: true: a numeric {project_name_or_id} is a name.
bool IsNameHeader(const RequestContext& ctx);

// RFC 3339 for a unix-millis time.
std::string ApiTime(int64_t unix_millis);
StatusOr<int64_t> ParseId(const std::string& value, const char* what);

Status RequireAuthenticated(const RequestContext& ctx);

// Reads a typed member of a JSON body; errors name the member.
StatusOr<std::string> JsonString(const nlohmann::json& j, const char* key, bool required);
StatusOr<bool> JsonBool(const nlohmann::json& j, const char* key, bool fallback);
StatusOr<int64_t> JsonInt(const nlohmann::json& j, const char* key, int64_t fallback);

}  // namespace berth

#endif  // BERTH_API_API_UTIL_H_
