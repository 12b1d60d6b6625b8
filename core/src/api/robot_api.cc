#include "api/robot_api.h"

#include "api/api_util.h"

namespace berth {

namespace {

nlohmann::json RobotJson(const RobotRecord& r) {
  auto perms = nlohmann::json::parse(r.permissions_json, nullptr, false);
  return {{"id", r.id},
          {"name", r.name},
          {"description", r.description},
          {"secret", ""},
          {"level", r.level},
          {"duration", r.duration},
          {"editable", true},
          {"disable", r.disabled},
          {"expires_at", r.expires_at},
          {"permissions", perms.is_discarded() ? nlohmann::json::array() : perms},
          {"creator_type", r.creator_type},
          {"creator_ref", r.creator_ref},
          {"creation_time", ApiTime(r.creation_time)},
          {"update_time", ApiTime(r.update_time)}};
}

StatusOr<RobotSpec> SpecFrom(const nlohmann::json& body, bool creating) {
  RobotSpec s;
  BERTH_ASSIGN_OR_RETURN(s.name, JsonString(body, "name", creating));
  BERTH_ASSIGN_OR_RETURN(s.description, JsonString(body, "description", false));
  BERTH_ASSIGN_OR_RETURN(s.level, JsonString(body, "level", creating));
  BERTH_ASSIGN_OR_RETURN(s.disabled, JsonBool(body, "disable", false));
  // Harbor: a new robot without a duration lives robot_token_duration days.
  BERTH_ASSIGN_OR_RETURN(
      s.duration, JsonInt(body, "duration", creating ? RobotSpec::kDefaultDuration : -1));
  BERTH_ASSIGN_OR_RETURN(s.secret, JsonString(body, "secret", false));
  if (auto p = body.find("permissions"); p != body.end() && !p->is_null()) {
    s.permissions_json = p->dump();
  } else if (creating) {
    return Status::InvalidArgument("permissions is required", "BAD_REQUEST");
  }
  return s;
}

// Harbor's clients filter robots with q=Level=project,ProjectID=N.
void NormaliseKeys(ListQuery* q) {
  for (auto& t : q->terms) {
    if (t.key == "Level") t.key = "level";
    if (t.key == "ProjectID") t.key = "project_id";
  }
}

}  // namespace

void RegisterRobotApi(ApiRouter& r, RobotController& c) {
  const std::string base = "/api/v2.0/robots";
  r.Add("GET", base, "robots", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    NormaliseKeys(&q);
    BERTH_ASSIGN_OR_RETURN(auto page, c.List(call.ctx.identity, q));
    return SendPage(call.ctx, q, page, RobotJson);
  });
  r.Add("POST", base, "robots", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(RobotSpec spec, SpecFrom(body, true));
    BERTH_ASSIGN_OR_RETURN(CreatedRobot created, c.Create(call.ctx.identity, spec));
    call.ctx.response.set("Location", "/api/v2.0/robots/" + std::to_string(created.robot.id));
    return SendJsonValue(call.ctx, 201,
                         {{"id", created.robot.id},
                          {"name", created.robot.name},
                          {"secret", created.secret},
                          {"creation_time", ApiTime(created.robot.creation_time)},
                          {"expires_at", created.robot.expires_at}});
  });
  std::string one = base + "/{robot_id}";
  r.Add("GET", one, "robot", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("robot_id"), "robot_id"));
    BERTH_ASSIGN_OR_RETURN(RobotRecord rb, c.Get(call.ctx.identity, id));
    return SendJsonValue(call.ctx, 200, RobotJson(rb));
  });
  r.Add("PUT", one, "robot", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("robot_id"), "robot_id"));
    BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
    BERTH_ASSIGN_OR_RETURN(RobotSpec spec, SpecFrom(body, false));
    BERTH_RETURN_IF_ERROR(c.Update(call.ctx.identity, id, spec));
    return SendOk(call.ctx);
  });
  r.Add("DELETE", one, "robot", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("robot_id"), "robot_id"));
    BERTH_RETURN_IF_ERROR(c.Delete(call.ctx.identity, id));
    return SendOk(call.ctx);
  });
  r.Add("PATCH", one, "robot", [&c](ApiCall& call) -> Status {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("robot_id"), "robot_id"));
    std::string secret;
    if (call.ctx.ContentLength() != 0) {
      BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(call.ctx));
      BERTH_ASSIGN_OR_RETURN(secret, JsonString(body, "secret", false));
    }
    BERTH_ASSIGN_OR_RETURN(std::string s, c.RefreshSecret(call.ctx.identity, id, secret));
    return SendJsonValue(call.ctx, 200, {{"secret", s}});
  });
}

}  // namespace berth
