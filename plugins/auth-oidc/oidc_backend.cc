// auth-oidc: OpenID Connect sign-in for berthd (Harbor's "oidc_auth" mode).
//
// Provider "oidc" (BERTH_KIND_AUTH): browser sign-in with the authorization
// code flow, bearer ID-token verification and ping. All HTTP goes through the
// host's client (berth::sdk::Host::Http) with the call's deadline; ID tokens
// are verified with berth_jose against the provider's JWKS.
//
// Discovery (<endpoint>/.well-known/openid-configuration) is fetched on first
// use and kept for an hour; the JWKS likewise, and refetched when a token names
// a kid it does not hold (at most once every 10 s), so key rotation works.
#include <berth/plugin_sdk.hpp>
#include <jose.h>

#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "oidc_util.h"

namespace berth::oidc {
namespace {

using sdk::CallCtx;
using sdk::Host;
using sdk::HttpRequest;
using sdk::HttpResponse;
using sdk::UserInfo;

constexpr char kSchema[] = R"json({
  "type": "object",
  "properties": {
    "endpoint": {"type": "string", "pattern": "^https?://[^\\s?#]+$",
                 "description": "OIDC issuer URL; <endpoint>/.well-known/openid-configuration must serve discovery"},
    "client_id": {"type": "string", "minLength": 1},
    "client_secret": {"type": "string", "minLength": 1},
    "scope": {"type": "string", "minLength": 1,
              "description": "comma-separated scopes, must include openid (default openid,profile,email,offline_access)"},
    "verify_cert": {"type": "boolean", "description": "verify the provider's TLS certificate (default true)"},
    "ca_cert": {"type": "string", "description": "extra trusted CA certificates (PEM)"},
    "user_claim": {"type": "string",
                   "description": "claim holding the username (default: preferred_username, then name, then sub)"},
    "groups_claim": {"type": "string", "minLength": 1, "description": "claim holding the groups (default groups)"},
    "admin_group": {"type": "string", "description": "members of this group are system administrators"},
    "group_filter": {"type": "string", "description": "regular expression; only matching groups are kept"},
    "extra_redirect_parms": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "extra parameters for the authorization request"},
    "timeout_ms": {"type": "integer", "minimum": 100, "maximum": 120000,
                   "description": "per-request HTTP timeout (default 10000)"}
  },
  "required": ["endpoint", "client_id", "client_secret"],
  "additionalProperties": false
})json";

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kDiscoveryTtl = 3600 * kSecond;
constexpr int64_t kJwksTtl = 3600 * kSecond;
constexpr int64_t kJwksMinRefetch = 10 * kSecond;
constexpr size_t kMaxDocument = 1 << 20;

struct Discovery {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::vector<std::string> id_token_algs;  // id_token_signing_alg_values_supported
  std::vector<std::string> auth_methods;   // token_endpoint_auth_methods_supported
};

std::vector<std::string> StringList(const json& doc, const char* name) {
  std::vector<std::string> out;
  if (auto it = doc.find(name); it != doc.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Status Unauth(const std::string& m) { return Status::Unauthenticated(m); }

class OidcBackend : public sdk::AuthBackend {
 public:
  static Status Create(const Host& host, std::string_view config, std::unique_ptr<OidcBackend>* out) {
    json j = json::parse(config.empty() ? std::string_view("{}") : config, nullptr, false);
    if (j.is_discarded()) return Status::InvalidArgument("config is not valid JSON");
    Settings s;
    Status st = ParseSettings(j, &s);
    if (!st.ok()) return st;
    out->reset(new OidcBackend(host, std::move(j), std::move(s)));
    return {};
  }

  Status Authenticate(const CallCtx&, std::string_view, std::string_view, std::string_view, UserInfo*) override {
    return Status::Unsupported(
        "password sign-in is not available with OIDC: sign in through the browser (the CLI uses its CLI secret)");
  }

  Status Ping(const CallCtx& call, std::string_view settings_json) override {
    json merged = config_;
    if (!settings_json.empty()) {
      json over = json::parse(settings_json, nullptr, false);
      if (over.is_discarded() || !over.is_object()) {
        return Status::InvalidArgument("ping settings must be a JSON object");
      }
      for (const auto& [k, v] : over.items()) merged[k] = v;
    }
    Settings s;
    Status st = ParseSettings(merged, &s);
    if (!st.ok()) return st;
    Discovery d;
    st = FetchDiscovery(call, s, &d);
    if (!st.ok()) return st;
    jose::Jwks jwks;
    st = FetchJwks(call, s, d, &jwks);
    if (!st.ok()) return st;
    if (jwks.keys().empty()) {
      return Status::IO("the provider's JWKS (" + d.jwks_uri + ") holds no key berthd can verify signatures with");
    }
    return {};
  }

  Status LoginBegin(const CallCtx& call, std::string_view redirect_uri, std::string_view state,
                    std::string_view nonce, std::string* url) override {
    if (!IsHttpUrl(redirect_uri)) return Status::InvalidArgument("redirect_uri must be an http(s) URL");
    if (state.empty()) return Status::InvalidArgument("state is required");
    if (nonce.empty()) return Status::InvalidArgument("nonce is required");
    std::shared_ptr<const Discovery> d;
    Status st = GetDiscovery(call, &d);
    if (!st.ok()) return st;
    std::string scope;
    for (const auto& s : s_.scopes) scope += (scope.empty() ? "" : " ") + s;
    std::vector<std::pair<std::string, std::string>> params = {
        {"response_type", "code"},     {"client_id", s_.client_id}, {"redirect_uri", std::string(redirect_uri)},
        {"scope", scope},              {"state", std::string(state)}, {"nonce", std::string(nonce)}};
    params.insert(params.end(), s_.extra_params.begin(), s_.extra_params.end());
    *url = AppendQuery(d->authorization_endpoint, params);
    return {};
  }

  Status LoginCallback(const CallCtx& call, std::string_view redirect_uri, std::string_view code,
                       std::string_view nonce, UserInfo* out, std::string* id_token) override {
    if (code.empty()) return Status::InvalidArgument("authorization code is required");
    if (nonce.empty()) return Status::InvalidArgument("nonce is required");
    if (!IsHttpUrl(redirect_uri)) return Status::InvalidArgument("redirect_uri must be an http(s) URL");
    std::shared_ptr<const Discovery> d;
    Status st = GetDiscovery(call, &d);
    if (!st.ok()) return st;

    // Client authentication as discovery allows: an absent list means
    // client_secret_basic (OIDC Discovery §3). Prefer basic; use post when
    // basic is not offered, or when the provider refuses basic for this
    // client (a client registered for client_secret_post) and offers post.
    bool basic = d->auth_methods.empty() || Contains(d->auth_methods, "client_secret_basic");
    bool post = Contains(d->auth_methods, "client_secret_post");
    if (!basic && !post) {
      return Status::Unsupported("the provider's token endpoint accepts neither client_secret_basic nor "
                                 "client_secret_post");
    }
    HttpResponse resp;
    st = ExchangeCode(call, *d, redirect_uri, code, basic, &resp);
    if (!st.ok()) return st;
    if (basic && post && IsInvalidClient(resp)) {
      st = ExchangeCode(call, *d, redirect_uri, code, false, &resp);
      if (!st.ok()) return st;
    }
    json body = json::parse(resp.body, nullptr, false);
    if (resp.status != 200) {
      std::string why = "HTTP " + std::to_string(resp.status);
      if (!body.is_discarded() && body.is_object() && body.contains("error") && body["error"].is_string()) {
        why = body["error"].get<std::string>();
        if (body.contains("error_description") && body["error_description"].is_string()) {
          why += ": " + body["error_description"].get<std::string>();
        }
      }
      std::string msg = "the token endpoint refused the authorization code (" + why + ")";
      return resp.status >= 500 ? Status::IO(msg) : Unauth(msg);
    }
    if (body.is_discarded() || !body.is_object()) return Status::IO("the token endpoint answered non-JSON");
    auto tok = body.find("id_token");
    if (tok == body.end() || !tok->is_string() || tok->get_ref<const std::string&>().empty()) {
      return Unauth("the token response has no id_token (is \"openid\" in the scope?)");
    }
    std::string raw = tok->get<std::string>();
    st = VerifyIdToken(call, raw, nonce, out);
    if (!st.ok()) return st;
    *id_token = std::move(raw);
    return {};
  }

  Status VerifyToken(const CallCtx& call, std::string_view token, UserInfo* out) override {
    if (token.empty()) return Unauth("no token");
    return VerifyIdToken(call, token, {}, out);
  }

 private:
  OidcBackend(const Host& host, json config, Settings s)
      : host_(host), config_(std::move(config)), s_(std::move(s)) {}

  int64_t NowNs() const {
    int64_t n = host_.NowUnixNs();
    return n > 0 ? n : static_cast<int64_t>(std::time(nullptr)) * kSecond;
  }

  // One HTTP exchange with the settings' TLS options and timeout.
  Status Send(const CallCtx& call, const Settings& s, HttpRequest req, HttpResponse* resp) const {
    req.timeout_ms = s.timeout_ms;
    req.insecure_skip_verify = !s.verify_cert;
    req.ca_pem = s.ca_cert;
    Status st = host_.Http(call.raw(), req, resp);
    if (!st.ok()) return Status(st.code(), req.method + " " + req.url + ": " + st.message());
    if (resp->body.size() > kMaxDocument && req.method == "GET") {
      return Status::IO("GET " + req.url + ": response larger than 1 MiB");
    }
    return {};
  }

  Status GetJsonDoc(const CallCtx& call, const Settings& s, const std::string& url, const char* what,
                    json* out) const {
    HttpRequest req;
    req.url = url;
    req.headers = {{"Accept", "application/json"}};
    HttpResponse resp;
    Status st = Send(call, s, req, &resp);
    if (!st.ok()) return Status(st.code(), std::string("fetching the ") + what + ": " + st.message());
    if (resp.status != 200) {
      return Status::IO(std::string("fetching the ") + what + ": GET " + url + " answered HTTP " +
                        std::to_string(resp.status));
    }
    *out = json::parse(resp.body, nullptr, false);
    if (out->is_discarded() || !out->is_object()) {
      return Status::IO(std::string("the ") + what + " at " + url + " is not a JSON object");
    }
    return {};
  }

  Status FetchDiscovery(const CallCtx& call, const Settings& s, Discovery* out) const {
    std::string url = TrimTrailingSlash(s.endpoint) + "/.well-known/openid-configuration";
    json doc;
    Status st = GetJsonDoc(call, s, url, "OIDC discovery document", &doc);
    if (!st.ok()) return st;
    Discovery d;
    for (auto [name, field] : {std::pair<const char*, std::string*>{"issuer", &d.issuer},
                               {"authorization_endpoint", &d.authorization_endpoint},
                               {"token_endpoint", &d.token_endpoint},
                               {"jwks_uri", &d.jwks_uri}}) {
      auto it = doc.find(name);
      if (it == doc.end() || !it->is_string() || !IsHttpUrl(it->get_ref<const std::string&>())) {
        return Status::IO("the OIDC discovery document at " + url + " lacks a valid \"" + name + "\"");
      }
      *field = it->get<std::string>();
    }
    // The issuer must be the one configured (OIDC Discovery §4.3), or a
    // document from elsewhere could vouch for tokens it should not.
    if (TrimTrailingSlash(d.issuer) != TrimTrailingSlash(s.endpoint)) {
      return Status::IO("the OIDC discovery document names issuer \"" + d.issuer + "\", not the configured \"" +
                        s.endpoint + "\"");
    }
    d.id_token_algs = StringList(doc, "id_token_signing_alg_values_supported");
    if (d.id_token_algs.empty()) d.id_token_algs = {"RS256"};  // the spec's default
    d.auth_methods = StringList(doc, "token_endpoint_auth_methods_supported");
    *out = std::move(d);
    return {};
  }

  Status FetchJwks(const CallCtx& call, const Settings& s, const Discovery& d, jose::Jwks* out) const {
    json doc;
    Status st = GetJsonDoc(call, s, d.jwks_uri, "provider's JWKS", &doc);
    if (!st.ok()) return st;
    auto jwks = jose::Jwks::FromJson(doc);
    if (!jwks.ok()) return Status::IO("the provider's JWKS at " + d.jwks_uri + ": " + jwks.message());
    for (const auto& why : jwks->skipped()) host_.Log(BERTH_LOG_DEBUG, "oidc: JWKS entry ignored: " + why);
    *out = std::move(*jwks);
    return {};
  }

  Status GetDiscovery(const CallCtx& call, std::shared_ptr<const Discovery>* out) {
    int64_t now = NowNs();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (discovery_ && now - discovery_at_ < kDiscoveryTtl) {
        *out = discovery_;
        return {};
      }
    }
    auto d = std::make_shared<Discovery>();
    Status st = FetchDiscovery(call, s_, d.get());
    if (!st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu_);
    if (!discovery_ || discovery_->jwks_uri != d->jwks_uri) jwks_.reset();
    discovery_ = d;
    discovery_at_ = now;
    *out = discovery_;
    return {};
  }

  // The cached JWKS; fetched when missing or stale, or when `refresh` (a
  // token named an unknown kid) unless the last such refetch was less than
  // kJwksMinRefetch ago. *fetched tells whether it was fetched.
  Status GetJwks(const CallCtx& call, const Discovery& d, bool refresh, std::shared_ptr<const jose::Jwks>* out,
                 bool* fetched) {
    int64_t now = NowNs();
    *fetched = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool stale = !jwks_ || now - jwks_at_ >= kJwksTtl;
      if (!stale) {
        if (!refresh || (refetched_ && now - refetch_at_ < kJwksMinRefetch)) {
          *out = jwks_;
          return {};
        }
        refetched_ = true;  // claimed before fetching: concurrent callers do not stampede
        refetch_at_ = now;
      }
    }
    auto fresh = std::make_shared<jose::Jwks>();
    Status st = FetchJwks(call, s_, d, fresh.get());
    if (!st.ok()) return st;
    if (refresh) host_.Log(BERTH_LOG_INFO, "oidc: refetched the provider's JWKS for an unknown key id");
    std::lock_guard<std::mutex> lock(mu_);
    jwks_ = fresh;
    jwks_at_ = now;
    *out = jwks_;
    *fetched = true;
    return {};
  }

  // POSTs the authorization code to the token endpoint, authenticating the
  // client with HTTP Basic or with form parameters.
  Status ExchangeCode(const CallCtx& call, const Discovery& d, std::string_view redirect_uri, std::string_view code,
                      bool basic, HttpResponse* resp) const {
    std::vector<std::pair<std::string, std::string>> form = {
        {"grant_type", "authorization_code"}, {"code", std::string(code)}, {"redirect_uri", std::string(redirect_uri)}};
    HttpRequest req;
    req.method = "POST";
    req.url = d.token_endpoint;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    if (basic) {
      // RFC 6749 §2.3.1: both parts form-encoded before base64.
      req.headers.emplace_back("Authorization",
                               "Basic " + Base64(UrlEncode(s_.client_id) + ":" + UrlEncode(s_.client_secret)));
    } else {
      form.emplace_back("client_id", s_.client_id);
      form.emplace_back("client_secret", s_.client_secret);
    }
    req.body = FormEncode(form);
    *resp = HttpResponse();
    return Send(call, s_, req, resp);
  }

  static bool IsInvalidClient(const HttpResponse& resp) {
    if (resp.status != 400 && resp.status != 401) return false;
    json body = json::parse(resp.body, nullptr, false);
    return !body.is_discarded() && body.is_object() && body.value("error", "") == "invalid_client";
  }

  // Full ID-token verification (OIDC Core §3.1.3.7); `nonce` is checked
  // when non-empty.
  Status VerifyIdToken(const CallCtx& call, std::string_view token, std::string_view nonce, UserInfo* out) {
    std::shared_ptr<const Discovery> d;
    Status st = GetDiscovery(call, &d);
    if (!st.ok()) return st;
    auto decoded = jose::DecodeCompact(token);
    if (!decoded.ok()) return Unauth("ID token is malformed: " + decoded.message());
    auto alg_it = decoded->header.find("alg");
    if (alg_it == decoded->header.end() || !alg_it->is_string()) return Unauth("ID token header has no alg");
    auto alg = jose::ParseAlg(alg_it->get<std::string>());
    if (!alg.ok()) return Unauth("ID token refused: " + alg.message());
    if (!Contains(d->id_token_algs, jose::AlgName(*alg))) {
      return Unauth(std::string("ID token is signed with ") + jose::AlgName(*alg) +
                    ", which the provider does not advertise");
    }
    jose::VerifyOptions opts;
    opts.allowed_algs = {*alg};
    std::shared_ptr<const jose::Jwks> jwks;
    bool fetched = false;
    st = GetJwks(call, *d, false, &jwks, &fetched);
    if (!st.ok()) return st;
    auto verified = jose::VerifyCompact(token, *jwks, opts);
    if (!verified.ok() && verified.code() == jose::Errc::kKeyNotFound && !fetched) {
      // Perhaps the provider rotated its keys: refetch once (rate-limited).
      st = GetJwks(call, *d, true, &jwks, &fetched);
      if (!st.ok()) return st;
      if (fetched) verified = jose::VerifyCompact(token, *jwks, opts);
    }
    if (!verified.ok()) return Unauth("ID token signature refused: " + verified.message());
    auto claims = jose::ParseClaims(verified->payload);
    if (!claims.ok()) return Unauth("ID token claims: " + claims.message());
    jose::ClaimChecks checks;
    checks.issuer = d->issuer;
    checks.audience = s_.client_id;
    checks.now = NowNs() / kSecond;
    checks.leeway = s_.leeway_seconds;
    checks.require_exp = true;
    checks.require_iat = true;
    checks.required = {"sub"};
    auto valid = jose::ValidateClaims(*claims, checks);
    if (!valid.ok()) return Unauth("ID token refused: " + valid.message());
    auto auds = jose::Audiences(*claims);
    if (!auds.ok()) return Unauth("ID token refused: " + auds.message());
    auto azp = claims->find("azp");
    if (azp != claims->end() && (!azp->is_string() || azp->get_ref<const std::string&>() != s_.client_id)) {
      return Unauth("ID token refused: azp is not this client");
    }
    if (auds->size() > 1 && azp == claims->end()) {
      return Unauth("ID token refused: several audiences and no azp");
    }
    if (!nonce.empty()) {
      auto n = claims->find("nonce");
      if (n == claims->end() || !n->is_string()) return Unauth("ID token refused: it carries no nonce");
      if (n->get_ref<const std::string&>() != nonce) {
        return Unauth("ID token refused: nonce does not match the sign-in request");
      }
    }
    return UserFromClaims(*claims, s_, out);
  }

  Host host_;
  const json config_;
  const Settings s_;
  std::mutex mu_;
  std::shared_ptr<const Discovery> discovery_;
  int64_t discovery_at_ = 0;
  std::shared_ptr<const jose::Jwks> jwks_;
  int64_t jwks_at_ = 0;
  bool refetched_ = false;
  int64_t refetch_at_ = 0;
};

const berth_provider kOidc = sdk::MakeAuthProvider<OidcBackend>(
    {"oidc", "OpenID Connect sign-in (authorization code flow) and ID-token verification", kSchema,
     BERTH_AUTH_CAP_BROWSER_LOGIN | BERTH_AUTH_CAP_VERIFY_TOKEN | BERTH_AUTH_CAP_PING, BERTH_THREADING_REENTRANT});

}  // namespace
}  // namespace berth::oidc

BERTH_PLUGIN("auth-oidc", "1.0.0", "OpenID Connect authentication", &berth::oidc::kOidc)
