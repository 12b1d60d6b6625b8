#include "auth/session_manager.h"

#include <Poco/Net/NameValueCollection.h>

#include "common/clock.h"
#include "common/digest.h"
#include "common/random.h"

namespace berth {

namespace {
std::string HashId(const std::string& id) { return Digest::Of(DigestAlgorithm::kSha256, id).hex; }
}  // namespace

std::string SessionManager::CookieId(const RequestContext& ctx) const {
  Poco::Net::NameValueCollection cookies;
  ctx.request.getCookies(cookies);
  std::string id = cookies.get("sid", "");
  if (id.size() != 64) return {};
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return id;
}

StatusOr<ActiveSession> SessionManager::Start(RequestContext& ctx, int64_t user_id) {
  BERTH_ASSIGN_OR_RETURN(Identity who, auth_.ForUserId(user_id));
  std::string id = RandomHex(32);
  int64_t now = NowUnixMillis();
  SessionRecord rec{HashId(id), user_id, RandomHex(32), now, now + timeout_ms_};
  BERTH_RETURN_IF_ERROR(store_.Create(rec));
  std::string cookie = "sid=" + id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string(timeout_ms_ / 1000);
  if (secure_) cookie += "; Secure";
  ctx.response.add("Set-Cookie", cookie);
  ctx.response.set(kCsrfHeader, rec.csrf_token);
  who.method = "session";
  return ActiveSession{who, rec.csrf_token};
}

StatusOr<std::optional<ActiveSession>> SessionManager::Resume(RequestContext& ctx) {
  std::string id = CookieId(ctx);
  if (id.empty()) return std::optional<ActiveSession>();
  BERTH_ASSIGN_OR_RETURN(auto rec, store_.Get(HashId(id), NowUnixMillis()));
  if (!rec) return std::optional<ActiveSession>();
  auto who = auth_.ForUserId(rec->user_id);
  if (!who.ok()) return std::optional<ActiveSession>();
  who->method = "session";
  return std::optional<ActiveSession>(ActiveSession{*who, rec->csrf_token});
}

Status SessionManager::End(RequestContext& ctx) {
  std::string id = CookieId(ctx);
  if (!id.empty()) BERTH_RETURN_IF_ERROR(store_.Delete(HashId(id)));
  std::string cookie = "sid=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
  if (secure_) cookie += "; Secure";
  ctx.response.add("Set-Cookie", cookie);
  return {};
}

Status SessionManager::PurgeExpired() { return store_.DeleteExpired(NowUnixMillis()); }

}  // namespace berth
