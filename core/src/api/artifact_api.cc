#include "api/artifact_api.h"

#include <algorithm>

#include "api/api_util.h"
#include "api/label_api.h"
#include "common/strings.h"
#include "http/response.h"
#include "registry/artifact_icons.h"
#include "registry/artifact_kind.h"
#include "scan/scan_controller.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/projects/{project_name}/repositories/{repository_name}/artifacts";

// Harbor's zero time for "never pulled".
std::string PullTime(int64_t ms) { return ms == 0 ? "0001-01-01T00:00:00.000Z" : ApiTime(ms); }

nlohmann::json JsonOr(const std::string& text, nlohmann::json fallback) {
  if (text.empty()) return fallback;
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// The path of an artifact as Harbor links it: the repository's slashes
// encoded twice.
std::string ArtifactPath(const std::string& project, const std::string& repo_full,
                         const std::string& digest) {
  std::string repo = repo_full.substr(project.size() + 1);
  std::string encoded;
  for (char c : repo) encoded += c == '/' ? std::string("%252F") : std::string(1, c);
  return "/api/v2.0/projects/" + project + "/repositories/" + encoded + "/artifacts/" + digest;
}

// `immutable`: an enabled immutable tag rule protects it (computed only
// with_immutable_status, as Harbor).
nlohmann::json TagJson(const TagRecord& t, bool immutable = false) {
  return {{"id", t.id},
          {"repository_id", t.repository_id},
          {"artifact_id", t.artifact_id},
          {"name", t.name},
          {"push_time", ApiTime(t.push_time)},
          {"pull_time", PullTime(t.pull_time)},
          {"immutable", immutable}};
}

nlohmann::json AccessoryJson(const ArtifactRecord& a, int64_t subject_id,
                             const std::string& repo) {
  return {{"id", a.id},
          {"artifact_id", a.id},
          {"subject_artifact_id", subject_id},
          {"subject_artifact_digest", a.accessory_of},
          {"subject_artifact_repo", repo},
          {"size", a.size},
          {"digest", a.digest},
          {"type", a.accessory_type},
          {"icon", std::string(IconDigestForType(a.accessory_type))},
          {"creation_time", ApiTime(a.push_time)}};
}

nlohmann::json AdditionLinks(const ArtifactRecord& a, const std::string& project,
                             const std::string& repo) {
  nlohmann::json links = nlohmann::json::object();
  std::vector<const char*> names;
  bool is_index = !a.media_type.empty() && a.media_type.find("index") != std::string::npos;
  is_index = is_index || a.media_type.find("manifest.list") != std::string::npos;
  if (a.type == artifact_types::kImage && !is_index) names = {"build_history"};
  if (a.type == artifact_types::kChart) names = {"values.yaml", "readme.md", "dependencies"};
  for (const char* n : names) {
    links[n] = {{"absolute", false},
                {"href", ArtifactPath(project, repo, a.digest) + "/additions/" + n}};
  }
  return links;
}

// with_scan_overview / with_sbom_overview, filled by the scan manager.
struct ScanViews {
  bool with_scan_overview = false;
  bool with_sbom_overview = false;
  std::vector<std::string> accept;  // X-Accept-Vulnerabilities
  std::map<std::string, nlohmann::json> scan;  // digest -> scan_overview
  std::map<std::string, nlohmann::json> sbom;  // digest -> sbom_overview
};

nlohmann::json ArtifactJson(const ArtifactView& v, const ProjectRecord& p,
                            const RepositoryInfo& repo, const ArtifactViewOptions& opts,
                            const ScanViews* scans = nullptr) {
  const ArtifactRecord& a = v.artifact;
  nlohmann::json j = {
      {"id", a.id},
      {"type", a.type.empty() ? artifact_types::kUnknown : a.type},
      // Harbor: media_type is the config's (the manifest's for indexes).
      {"media_type", a.artifact_type.empty() ? a.media_type : a.artifact_type},
      {"manifest_media_type", a.media_type},
      {"artifact_type", a.artifact_type},
      {"project_id", p.project_id},
      {"repository_id", a.repository_id},
      {"repository_name", repo.name},
      {"digest", a.digest},
      {"size", a.size},
      {"icon", std::string(IconDigestForType(a.type))},
      {"push_time", ApiTime(a.push_time)},
      {"pull_time", PullTime(a.pull_time)},
      {"extra_attrs", JsonOr(a.extra_attrs_json, nlohmann::json::object())},
      {"annotations", JsonOr(a.annotations_json, nlohmann::json::object())},
      {"addition_links", AdditionLinks(a, p.name, repo.name)},
  };
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& r : v.references) {
    nlohmann::json ref = {{"parent_id", r.parent_id},
                          {"child_id", r.child_id},
                          {"child_digest", r.child_digest}};
    if (!r.platform_json.empty()) ref["platform"] = JsonOr(r.platform_json, nlohmann::json::object());
    refs.push_back(std::move(ref));
  }
  if (!refs.empty()) j["references"] = std::move(refs);
  if (opts.with_tag) {
    nlohmann::json tags = nlohmann::json::array();
    for (const auto& t : v.tags) tags.push_back(TagJson(t, v.immutable_tags.count(t.name) != 0));
    j["tags"] = std::move(tags);
  }
  if (opts.with_label) {
    nlohmann::json labels = nlohmann::json::array();
    for (const auto& l : v.labels) labels.push_back(LabelJson(l));
    j["labels"] = std::move(labels);
  }
  if (opts.with_accessory) {
    nlohmann::json acc = nlohmann::json::array();
    for (const auto& x : v.accessories) acc.push_back(AccessoryJson(x, a.id, repo.name));
    j["accessories"] = std::move(acc);
  }
  if (scans != nullptr) {
    if (auto it = scans->scan.find(a.digest); it != scans->scan.end()) j["scan_overview"] = it->second;
    if (auto it = scans->sbom.find(a.digest); it != scans->sbom.end()) j["sbom_overview"] = it->second;
  }
  return j;
}

// Harbor's default X-Accept-Vulnerabilities.
std::vector<std::string> AcceptedReports(const RequestContext& ctx) {
  std::vector<std::string> out;
  for (const auto& h : ctx.Headers("X-Accept-Vulnerabilities")) {
    // Mime types hold "; version=..", so the list splits on commas only.
    for (auto& part : Split(h, ',')) {
      std::string t(Trim(part));
      if (!t.empty()) out.push_back(t);
    }
  }
  if (out.empty()) {
    out = {"application/vnd.security.vulnerability.report; version=1.1",
           "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"};
  }
  return out;
}

StatusOr<ScanViews> ScanViewsFor(ScanController* scans, const RequestContext& ctx,
                                 const ProjectRecord& p, const std::vector<ArtifactView>& views) {
  ScanViews out;
  BERTH_ASSIGN_OR_RETURN(out.with_scan_overview, QueryBool(ctx, "with_scan_overview", false));
  BERTH_ASSIGN_OR_RETURN(out.with_sbom_overview, QueryBool(ctx, "with_sbom_overview", false));
  if (scans == nullptr || views.empty()) return out;
  if (out.with_scan_overview) {
    out.accept = AcceptedReports(ctx);
    std::vector<OverviewTarget> targets;
    for (const auto& v : views) {
      OverviewTarget t{v.artifact.digest, {}};
      for (const auto& r : v.references) t.children.push_back(r.child_digest);
      targets.push_back(std::move(t));
    }
    BERTH_ASSIGN_OR_RETURN(out.scan, scans->ScanOverviews(p.project_id, targets, out.accept));
  }
  if (out.with_sbom_overview) {
    std::vector<std::string> digests;
    for (const auto& v : views) digests.push_back(v.artifact.digest);
    BERTH_ASSIGN_OR_RETURN(out.sbom, scans->SbomOverviews(p.project_id, digests));
  }
  return out;
}

StatusOr<ArtifactViewOptions> ViewOptions(const RequestContext& ctx) {
  ArtifactViewOptions o;
  BERTH_ASSIGN_OR_RETURN(o.with_tag, QueryBool(ctx, "with_tag", true));
  BERTH_ASSIGN_OR_RETURN(o.with_label, QueryBool(ctx, "with_label", false));
  BERTH_ASSIGN_OR_RETURN(o.with_accessory, QueryBool(ctx, "with_accessory", false));
  BERTH_ASSIGN_OR_RETURN(o.with_immutable_status, QueryBool(ctx, "with_immutable_status", false));
  // Accepted for Harbor's clients (the overviews: ScanViewsFor).
  for (const char* k : {"with_scan_overview", "with_sbom_overview", "with_signature",
                        "with_inherited_accessory"}) {
    BERTH_RETURN_IF_ERROR(QueryBool(ctx, k, false).status());
  }
  return o;
}

}  // namespace

void RegisterArtifactApi(ApiRouter& r, ArtifactController& c, ProjectController& projects,
                         ScanController* scans) {
  auto project_of = [&projects](ApiCall& call) {
    return projects.Resolve(call.Param("project_name"), true);
  };
  auto target = [&c, project_of](ApiCall& call, const char* resource,
                                 const char* action) -> StatusOr<ArtifactTarget> {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    return c.Resolve(call.ctx.identity, p, call.Param("repository_name"), call.Param("reference"),
                     resource, action);
  };

  r.Add("GET", kBase, "artifacts", [&c, project_of, scans](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ArtifactViewOptions opts, ViewOptions(call.ctx));
    RepositoryInfo repo;
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, p, call.Param("repository_name"),
                                             q, opts, &repo));
    BERTH_ASSIGN_OR_RETURN(ScanViews sv, ScanViewsFor(scans, call.ctx, p, page.items));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : page.items) out.push_back(ArtifactJson(v, p, repo, opts, &sv));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("GET", "/api/v2.0/projects/{project_name_or_id}/artifacts", "project_artifacts",
        [&c, &projects, scans](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, projects.Resolve(call.Param("project_name_or_id"),
                                                              IsNameHeader(call.ctx)));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ArtifactViewOptions opts, ViewOptions(call.ctx));
    BERTH_ASSIGN_OR_RETURN(bool latest, QueryBool(call.ctx, "latest_in_repository", false));
    // As Harbor: latest_in_repository applies only with a type in q.
    latest = latest && std::any_of(q.terms.begin(), q.terms.end(), [](const QueryTerm& t) {
               return t.key == "media_type" || t.key == "artifact_type";
             });
    std::map<int64_t, RepositoryInfo> repos;
    BERTH_ASSIGN_OR_RETURN(auto page, c.ListOfProject(call.ctx.identity, p, q, opts, latest, &repos));
    BERTH_ASSIGN_OR_RETURN(ScanViews sv, ScanViewsFor(scans, call.ctx, p, page.items));
    return SendPage(call.ctx, q, page, [&](const ArtifactView& v) {
      return ArtifactJson(v, p, repos.at(v.artifact.repository_id), opts, &sv);
    });
  });

  r.Add("POST", kBase, "artifacts", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    std::string from = call.ctx.query.Get("from");
    if (from.empty()) return Status::InvalidArgument("from is required", "BAD_REQUEST");
    BERTH_ASSIGN_OR_RETURN(std::string digest,
                           c.Copy(call.ctx.identity, p, call.Param("repository_name"), from));
    return SendCreated(call.ctx, call.ctx.raw_path + "/" + digest);
  });

  const std::string one = std::string(kBase) + "/{reference}";
  r.Add("GET", one, "artifact", [&c, target, scans](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ArtifactViewOptions opts, ViewOptions(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "artifact", "read"));
    BERTH_ASSIGN_OR_RETURN(ArtifactView v, c.View(t, opts));
    BERTH_ASSIGN_OR_RETURN(ScanViews sv, ScanViewsFor(scans, call.ctx, t.project, {v}));
    return SendJsonValue(call.ctx, 200, ArtifactJson(v, t.project, t.repository, opts, &sv));
  });

  r.Add("DELETE", one, "artifact", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "artifact", "delete"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, t));
    return SendOk(call.ctx);
  });

  r.Add("GET", one + "/tags", "artifact_tags", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(bool with_immutable, QueryBool(call.ctx, "with_immutable_status", false));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "tag", "list"));
    BERTH_ASSIGN_OR_RETURN(auto page, c.Tags(t, q));
    std::set<std::string> immutable;
    if (with_immutable) {
      BERTH_ASSIGN_OR_RETURN(immutable, c.ImmutableTags(t, page.items));
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& tag : page.items) out.push_back(TagJson(tag, immutable.count(tag.name) != 0));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });

  r.Add("POST", one + "/tags", "artifact_tags", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string name, JsonString(body, "name", true));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "tag", "create"));
    BERTH_ASSIGN_OR_RETURN(TagRecord tag, c.CreateTag(call.ctx.identity, t, name));
    return SendCreated(call.ctx, call.ctx.raw_path + "/" + tag.name);
  });

  r.Add("DELETE", one + "/tags/{tag_name}", "artifact_tag", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "tag", "delete"));
    BERTH_RETURN_IF_ERROR(c.DeleteTag(call.ctx.identity, t, call.Param("tag_name")));
    return SendOk(call.ctx);
  });

  r.Add("GET", one + "/additions/{addition}", "artifact_addition", [&c, target, scans](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "artifact-addition", "read"));
    if (call.Param("addition") == "vulnerabilities" && scans != nullptr) {
      BERTH_ASSIGN_OR_RETURN(nlohmann::json reports, scans->Vulnerabilities(t));
      return SendJsonValue(call.ctx, 200, reports);
    }
    BERTH_ASSIGN_OR_RETURN(Addition a, c.GetAddition(t, call.Param("addition")));
    SendBody(call.ctx, 200, a.content_type, a.body);
    return {};
  });

  r.Add("POST", one + "/labels", "artifact_labels", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(int64_t id, JsonInt(body, "id", 0));
    if (id <= 0) return Status::InvalidArgument("id must be a positive label id", "BAD_REQUEST");
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "artifact-label", "create"));
    BERTH_RETURN_IF_ERROR(c.AddLabel(call.ctx.identity, t, id));
    return SendOk(call.ctx);
  });

  r.Add("DELETE", one + "/labels/{label_id}", "artifact_label", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("label_id"), "label_id"));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "artifact-label", "delete"));
    BERTH_RETURN_IF_ERROR(c.RemoveLabel(call.ctx.identity, t, id));
    return SendOk(call.ctx);
  });

  r.Add("GET", one + "/accessories", "artifact_accessories", [&c, target](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(ArtifactTarget t, target(call, "accessory", "list"));
    BERTH_ASSIGN_OR_RETURN(auto page, c.Accessories(t, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : page.items) {
      out.push_back(AccessoryJson(a, t.artifact.id, t.repository.name));
    }
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });
}

}  // namespace berth
