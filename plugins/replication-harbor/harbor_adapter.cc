// replication-harbor: Harbor's "harbor" adapter, which also reaches another
// Berth. Harbor's API (Basic auth) lists projects, repositories and
// artifacts (tags, labels, types) for fetch_artifacts, creates the projects a
// push needs (prepare_for_push) and deletes single tags; content goes
// through /v2 like any distribution registry.
#include <berth/plugin_sdk.hpp>

#include <set>

#include "distribution_session.h"

namespace {

using berth::replication::DistributionSession;
using berth::replication::Filters;
using berth::replication::FromHttp;
using berth::replication::MayMatch;
using berth::replication::OptionsFromEndpoint;
using berth::replication::ParseFilters;
using berth::replication::Request;
using berth::replication::Response;
using berth::sdk::CallCtx;
using berth::sdk::Host;
using berth::sdk::RegistryEndpoint;
using berth::sdk::ReplicationSession;
using berth::sdk::Status;

constexpr char kSchema[] = R"json({"type": "object", "additionalProperties": false})json";
constexpr int kPageSize = 100;

#define BERTH_SDK_TRY(expr)     \
  do {                          \
    Status _st = (expr);        \
    if (!_st.ok()) return _st;  \
  } while (0)

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += t[(val >> bits) & 63];
      bits -= 6;
    }
  }
  if (bits > -6) out += t[((val << 8) >> (bits + 8)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

class HarborSession : public DistributionSession {
 public:
  explicit HarborSession(berth::replication::ClientOptions o) : DistributionSession(std::move(o)) {
    const auto& opt = c_.options();
    if (!opt.username.empty() || !opt.password.empty()) {
      basic_ = "Basic " + Base64(opt.username + ":" + opt.password);
    }
  }

  Status HealthCheck(const CallCtx& call) override {
    Response r;
    Status s = Api(call, "GET", "/api/v2.0/ping", "", &r);
    if (!s.ok()) return s;
    if (r.status != 200) return FromHttp(r.status, "GET /api/v2.0/ping", r.body);
    if (!basic_.empty()) {
      // Credentials checked too: the current user.
      s = Api(call, "GET", "/api/v2.0/users/current", "", &r);
      if (!s.ok()) return s;
      if (r.status != 200) return FromHttp(r.status, "GET /api/v2.0/users/current", r.body);
    }
    return DistributionSession::HealthCheck(call);
  }

  Status PrepareForPush(const CallCtx& call, std::string_view resources_json) override {
    auto a = nlohmann::json::parse(resources_json, nullptr, false);
    if (!a.is_array()) return Status::InvalidArgument("resources must be a JSON array");
    std::set<std::string> projects;
    for (const auto& r : a) {
      std::string repo = r.value("metadata", nlohmann::json::object())
                             .value("repository", nlohmann::json::object())
                             .value("name", "");
      if (repo.empty()) continue;
      projects.insert(repo.substr(0, repo.find('/')));
    }
    for (const auto& p : projects) {
      Response r;
      Status s = Api(call, "HEAD", "/api/v2.0/projects?project_name=" + Escape(p), "", &r);
      if (!s.ok()) return s;
      if (r.status == 200) continue;
      if (r.status != 404) return FromHttp(r.status, "HEAD project " + p, r.body);
      nlohmann::json body = {{"project_name", p}, {"metadata", {{"public", "false"}}}};
      s = Api(call, "POST", "/api/v2.0/projects", body.dump(), &r);
      if (!s.ok()) return s;
      if (r.status != 201 && r.status != 409) return FromHttp(r.status, "create project " + p, r.body);
    }
    return {};
  }

  Status FetchArtifacts(const CallCtx& call, std::string_view filters_json, std::string* json) override {
    Filters f = ParseFilters(filters_json);
    std::vector<nlohmann::json> projects;
    BERTH_SDK_TRY(Pages(call, "/api/v2.0/projects?", &projects));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : projects) {
      std::string pname = p.value("name", "");
      if (pname.empty()) continue;
      std::vector<nlohmann::json> repos;
      BERTH_SDK_TRY(Pages(call, "/api/v2.0/projects/" + Escape(pname) + "/repositories?", &repos));
      for (const auto& r : repos) {
        std::string rname = r.value("name", "");
        if (rname.empty() || !MayMatch(f.name, rname)) continue;
        std::string inner = rname.substr(pname.size() + 1);
        std::vector<nlohmann::json> arts;
        // Harbor wants a nested repository name escaped twice.
        BERTH_SDK_TRY(Pages(call, "/api/v2.0/projects/" + Escape(pname) + "/repositories/" +
                                      Escape(Escape(inner)) +
                                      "/artifacts?with_tag=true&with_label=true&with_accessory=true&",
                            &arts));
        nlohmann::json list = nlohmann::json::array();
        for (const auto& a : arts) {
          nlohmann::json labels = nlohmann::json::array();
          for (const auto& l : a.value("labels", nlohmann::json::array())) {
            if (l.is_object()) labels.push_back(l.value("name", ""));
          }
          list.push_back({{"digest", a.value("digest", "")},
                          {"type", a.value("type", "")},
                          {"tags", TagNames(a)},
                          {"labels", labels}});
          BERTH_SDK_TRY(AddAccessories(call, pname, inner, a, 0, &list));
        }
        if (list.empty()) continue;
        out.push_back({{"type", "image"},
                       {"metadata", {{"repository", {{"name", rname}}}, {"artifacts", list}}}});
      }
    }
    *json = out.dump();
    return {};
  }

  // Accessories (signatures, SBOMs, referrers) of `subject`, each listed with
  // "accessory_of" and its own tags (cosign's sha256-<hex>.sig tag scheme),
  // and theirs in turn: the artifact list shows only the first level.
  Status AddAccessories(const CallCtx& call, const std::string& pname, const std::string& inner,
                        const nlohmann::json& subject, int depth, nlohmann::json* list) {
    if (depth >= 4) return {};
    for (const auto& acc : subject.value("accessories", nlohmann::json::array())) {
      if (!acc.is_object() || !acc.value("digest", nlohmann::json()).is_string()) continue;
      std::string digest = acc["digest"];
      Response r;
      BERTH_SDK_TRY(Api(call, "GET",
                        "/api/v2.0/projects/" + Escape(pname) + "/repositories/" +
                            Escape(Escape(inner)) + "/artifacts/" + Escape(digest) +
                            "?with_tag=true&with_accessory=true",
                        "", &r));
      if (r.status == 404) continue;  // deleted since the list was read
      if (r.status != 200) return FromHttp(r.status, "GET accessory " + digest, r.body);
      auto a = nlohmann::json::parse(r.body, nullptr, false);
      if (!a.is_object()) return Status::IO("GET accessory " + digest + ": not an artifact");
      list->push_back({{"digest", digest},
                       {"type", a.value("type", acc.value("type", ""))},
                       {"tags", TagNames(a)},
                       {"labels", nlohmann::json::array()},
                       {"accessory_of", subject.value("digest", "")}});
      BERTH_SDK_TRY(AddAccessories(call, pname, inner, a, depth + 1, list));
    }
    return {};
  }

  static nlohmann::json TagNames(const nlohmann::json& artifact) {
    nlohmann::json tags = nlohmann::json::array();
    for (const auto& t : artifact.value("tags", nlohmann::json::array())) {
      if (t.is_object()) tags.push_back(t.value("name", ""));
    }
    return tags;
  }

  Status DeleteTag(const CallCtx& call, std::string_view repo, std::string_view tag) override {
    std::string r(repo);
    size_t slash = r.find('/');
    if (slash == std::string::npos) return Status::InvalidArgument("repository without project: " + r);
    std::string path = "/api/v2.0/projects/" + Escape(r.substr(0, slash)) + "/repositories/" +
                       Escape(Escape(r.substr(slash + 1))) + "/artifacts/" + Escape(std::string(tag)) +
                       "/tags/" + Escape(std::string(tag));
    Response resp;
    Status s = Api(call, "DELETE", path, "", &resp);
    if (!s.ok()) return s;
    if (resp.status == 200) return {};
    return FromHttp(resp.status, "DELETE tag " + r + ":" + std::string(tag), resp.body);
  }

 private:
  Status Api(const CallCtx& call, const std::string& method, const std::string& path,
             const std::string& body, Response* r) {
    Request req;
    req.method = method;
    req.url = path;
    req.body = body;
    req.timeout_ms = 120000;
    req.headers = {"Accept: application/json"};
    if (!body.empty()) req.headers.push_back("Content-Type: application/json");
    return client(call).Send(req, basic_, r);
  }

  // Every item of a paged Harbor list.
  Status Pages(const CallCtx& call, const std::string& path_with_query,
               std::vector<nlohmann::json>* out) {
    for (int page = 1; page < 10000; ++page) {
      Response r;
      BERTH_SDK_TRY(Api(call, "GET",
                        path_with_query + "page=" + std::to_string(page) +
                            "&page_size=" + std::to_string(kPageSize),
                        "", &r));
      if (r.status == 404) return {};
      if (r.status != 200) return FromHttp(r.status, "GET " + path_with_query, r.body);
      auto a = nlohmann::json::parse(r.body, nullptr, false);
      if (!a.is_array()) return Status::IO("GET " + path_with_query + ": not a list");
      for (auto& x : a) out->push_back(std::move(x));
      if (a.size() < static_cast<size_t>(kPageSize)) break;
    }
    return {};
  }

  std::string basic_;
};

class HarborAdapter : public berth::sdk::ReplicationAdapter {
 public:
  static Status Create(const Host&, std::string_view, std::unique_ptr<HarborAdapter>* out) {
    out->reset(new HarborAdapter());
    return {};
  }
  Status Info(const CallCtx&, std::string* json) override {
    *json = R"json({"type": "harbor",
      "description": "Harbor, or another Berth, through Harbor's API and /v2",
      "supported_resource_filters": [{"type": "name", "style": "input"},
                                     {"type": "tag", "style": "input"},
                                     {"type": "label", "style": "input"},
                                     {"type": "resource", "style": "radio", "values": ["image", "artifact"]}],
      "supported_triggers": ["manual", "scheduled", "event_based"],
      "supported_copy_by_chunk": true})json";
    return {};
  }
  Status Open(const CallCtx&, const RegistryEndpoint& ep,
              std::unique_ptr<ReplicationSession>* out) override {
    if (ep.url.empty()) return Status::InvalidArgument("the registry URL is empty");
    out->reset(new HarborSession(OptionsFromEndpoint(ep)));
    return {};
  }
};

const berth_provider kHarbor = berth::sdk::MakeReplicationProvider<HarborAdapter>(
    {"harbor", "Replication to and from Harbor (or Berth)", kSchema, 0, BERTH_THREADING_REENTRANT});

}  // namespace

BERTH_PLUGIN("replication-harbor", "1.0.0", "Harbor replication adapter", &kHarbor)
