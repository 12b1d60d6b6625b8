#include "api/api_util.h"

#include <cstdint>

#include "common/clock.h"
#include "common/json_depth.h"
#include "common/strings.h"
#include "http/response.h"

namespace berth {

namespace {
Status Bad(const std::string& m) { return Status::InvalidArgument(m, "BAD_REQUEST"); }
}  // namespace

StatusOr<nlohmann::json> ReadJsonObject(RequestContext& ctx) {
  std::string body;
  Status read = ctx.ReadBody(1 << 20, &body);
  if (!read.ok()) {
    return read.WithApiCode(read.code() == Code::kTooLarge ? "REQUEST_ENTITY_TOO_LARGE" : "BAD_REQUEST");
  }
  if (JsonNestingExceeds(body)) {
    return Bad("request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Bad("request body is not valid JSON");
  if (!j.is_object()) return Bad("request body must be a JSON object");
  return j;
}

Status SendJsonValue(RequestContext& ctx, int status, const nlohmann::json& value) {
  SendJson(ctx, status, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return {};
}

Status SendCreated(RequestContext& ctx, const std::string& location) {
  ctx.response.set("Location", location);
  SendEmpty(ctx, 201);
  return {};
}

Status SendOk(RequestContext& ctx) {
  SendEmpty(ctx, 200);
  return {};
}

StatusOr<ListQuery> ListQueryFrom(const RequestContext& ctx) {
  ListQuery q;
  if (ctx.query.Has("page")) {
    auto p = ParseInt64(ctx.query.Get("page"));
    if (!p || *p < 1) return Bad("page must be a positive integer");
    q.page = *p;
  }
  if (ctx.query.Has("page_size")) {
    auto p = ParseInt64(ctx.query.Get("page_size"));
    if (!p || *p < 1 || *p > 100) return Bad("page_size must be between 1 and 100");
    q.page_size = *p;
  }
  if (q.page > (int64_t{1} << 40) / q.page_size) return Bad("page is too large");
  BERTH_ASSIGN_OR_RETURN(q.terms, ParseQ(ctx.query.Get("q")));
  BERTH_ASSIGN_OR_RETURN(q.sort, ParseSort(ctx.query.Get("sort")));
  return q;
}

void SetPagination(RequestContext& ctx, const ListQuery& q, int64_t total) {
  ctx.response.set("X-Total-Count", std::to_string(total));
  // Keep every other query parameter; replace page and page_size.
  std::string others;
  for (const auto& part : Split(ctx.raw_query, '&')) {
    if (part.empty() || part.rfind("page=", 0) == 0 || part.rfind("page_size=", 0) == 0) continue;
    others += "&" + part;
  }
  auto link = [&](int64_t page, const char* rel) {
    return "<" + ctx.raw_path + "?page=" + std::to_string(page) +
           "&page_size=" + std::to_string(q.page_size) + others + ">; rel=\"" + rel + "\"";
  };
  std::string value;
  if (q.page > 1) value = link(q.page - 1, "prev");
  if (q.page * q.page_size < total) value += (value.empty() ? "" : " , ") + link(q.page + 1, "next");
  if (!value.empty()) ctx.response.set("Link", value);
}

bool IsNameHeader(const RequestContext& ctx) {
  return EqualsIgnoreCase(ctx.Header("X-Is-Resource-Name"), "true");
}

StatusOr<bool> QueryBool(const RequestContext& ctx, const char* key, bool fallback) {
  if (!ctx.query.Has(key)) return fallback;
  std::string v = ToLower(ctx.query.Get(key));
  if (v == "true") return true;
  if (v == "false") return false;
  return Bad(std::string(key) + " must be true or false");
}

std::string ApiTime(int64_t unix_millis) { return FormatRfc3339Millis(unix_millis); }

StatusOr<int64_t> ParseId(const std::string& value, const char* what) {
  auto v = ParseInt64(value);
  if (!v || *v <= 0) return Bad(std::string(what) + " must be a positive integer");
  return *v;
}

Status RequireAuthenticated(const RequestContext& ctx) {
  if (!ctx.identity.authenticated()) {
    return Status::Unauthenticated("authentication required", "UNAUTHORIZED");
  }
  return {};
}

StatusOr<std::string> JsonString(const nlohmann::json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Bad(std::string(key) + " is required");
    return std::string();
  }
  if (!it->is_string()) return Bad(std::string(key) + " must be a string");
  return it->get<std::string>();
}

StatusOr<bool> JsonBool(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return Bad(std::string(key) + " must be a boolean");
  return it->get<bool>();
}

StatusOr<int64_t> JsonInt(const nlohmann::json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  // (An unsigned value past INT64_MAX would wrap to a negative one.)
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX})) {
    return Bad(std::string(key) + " must be an integer");
  }
  return it->get<int64_t>();
}

}  // namespace berth
