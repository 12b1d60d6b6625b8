#include "api/scanner_api.h"

#include "api/api_util.h"
#include "common/strings.h"

namespace berth {

namespace {

constexpr char kBase[] = "/api/v2.0/scanners";

// Harbor's ScannerRegistration, member for member: the provider shows in
// `url` ("plugin:<provider>"); the plugin config and the access credential
// are write-only (they may hold secrets).
nlohmann::json RegistrationJson(ScannerController& c, const ScannerRegistrationRecord& r,
                                bool with_health) {
  nlohmann::json j = {{"uuid", r.uuid},
                      {"name", r.name},
                      {"description", r.description},
                      {"url", r.url},
                      {"disabled", r.disabled},
                      {"is_default", r.is_default},
                      {"auth", r.auth},
                      {"access_credential", ""},
                      {"skip_certVerify", r.skip_cert_verify},
                      {"use_internal_addr", r.use_internal_addr},
                      {"create_time", ApiTime(r.creation_time)},
                      {"update_time", ApiTime(r.update_time)}};
  if (with_health) {
    ScannerHealth h = c.Health(r);
    j["adapter"] = h.name;
    j["vendor"] = h.vendor;
    j["version"] = h.version;
    j["health"] = h.healthy ? "healthy" : "unhealthy";
    j["capabilities"] = {{"support_vulnerability", h.support_vulnerability},
                         {"support_sbom", h.support_sbom}};
  }
  return j;
}

}  // namespace

void RegisterScannerApi(ApiRouter& r, ScannerController& c, ProjectController& projects) {
  r.Add("GET", kBase, "scanners", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& reg : page.items) out.push_back(RegistrationJson(c, reg, true));
    SetPagination(call.ctx, q, page.total);
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("POST", kBase, "scanners", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto reg, c.Create(call.ctx.identity, body));
    return SendCreated(call.ctx, std::string(kBase) + "/" + reg.uuid);
  });
  r.Add("POST", std::string(kBase) + "/ping", "scanners_ping", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(c.Ping(call.ctx.identity, body));
    return SendOk(call.ctx);
  });
  const std::string one = std::string(kBase) + "/{registration_id}";
  r.Add("GET", one, "scanner", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto reg, c.Get(call.ctx.identity, call.Param("registration_id")));
    return SendJsonValue(call.ctx, 200, RegistrationJson(c, reg, true));
  });
  r.Add("PUT", one, "scanner", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, call.Param("registration_id"), body));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", one, "scanner", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto reg, c.Delete(call.ctx.identity, call.Param("registration_id")));
    return SendJsonValue(call.ctx, 200, RegistrationJson(c, reg, false));
  });
  r.Add("PATCH", one, "scanner", [&c](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    auto it = body.find("is_default");
    if (it == body.end() || !it->is_boolean()) {
      return Status::InvalidArgument("is_default must be a boolean", "BAD_REQUEST");
    }
    BERTH_RETURN_IF_ERROR(c.SetDefault(call.ctx.identity, call.Param("registration_id"), it->get<bool>()));
    return SendOk(call.ctx);
  });
  r.Add("GET", one + "/metadata", "scanner_metadata", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto md, c.Metadata(call.ctx.identity, call.Param("registration_id")));
    return SendJsonValue(call.ctx, 200, md);
  });

  const std::string project = "/api/v2.0/projects/{project_name_or_id}/scanner";
  auto project_of = [&projects](ApiCall& call) {
    return projects.Resolve(call.Param("project_name_or_id"),
                            IsNameHeader(call.ctx));
  };
  r.Add("GET", project, "project_scanner", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    BERTH_ASSIGN_OR_RETURN(auto reg, c.ProjectScanner(call.ctx.identity, p));
    if (!reg) return Status::NotFound("no scanner is configured for the project", "NOT_FOUND");
    return SendJsonValue(call.ctx, 200, RegistrationJson(c, *reg, true));
  });
  r.Add("PUT", project, "project_scanner", [&c, project_of](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
    BERTH_RETURN_IF_ERROR(RequireAuthenticated(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(std::string uuid, JsonString(body, "uuid", true));
    BERTH_RETURN_IF_ERROR(c.SetProjectScanner(call.ctx.identity, p, uuid));
    return SendOk(call.ctx);
  });
  r.Add("GET", project + "/candidates", "project_scanner_candidates",
        [&c, project_of](ApiCall& call) -> Status {
          BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
          BERTH_ASSIGN_OR_RETURN(ProjectRecord p, project_of(call));
          BERTH_ASSIGN_OR_RETURN(auto page, c.Candidates(call.ctx.identity, p, q));
          nlohmann::json out = nlohmann::json::array();
          for (const auto& reg : page.items) out.push_back(RegistrationJson(c, reg, false));
          SetPagination(call.ctx, q, page.total);
          return SendJsonValue(call.ctx, 200, out);
        });
}

}  // namespace berth
