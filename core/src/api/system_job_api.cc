#include "api/system_job_api.h"

#include <memory>

#include "api/api_util.h"
#include "api/jobservice_api.h"
#include "common/clock.h"
#include "common/strings.h"

namespace berth {

namespace {

const char* const kHourly = "0 0 * * * *";
const char* const kDaily = "0 0 0 * * *";
const char* const kWeekly = "0 0 0 * * 0";

std::string TypeOfCron(const std::string& cron) {
  if (cron == kHourly) return "Hourly";
  if (cron == kDaily) return "Daily";
  if (cron == kWeekly) return "Weekly";
  return "Custom";
}

nlohmann::json ScheduleObj(const ScheduleRecord& s) {
  nlohmann::json j = {{"type", TypeOfCron(s.cron)}, {"cron", s.cron}};
  if (s.next_run > 0) j["next_scheduled_time"] = ApiTime(s.next_run);
  return j;
}

// Harbor's GCHistory / ExecHistory (schedule: how the run was triggered).
nlohmann::json HistoryJson(const JobRecord& j) {
  const bool scheduled = j.trigger == "Schedule";
  return {{"id", j.id},
          {"job_name", j.kind},
          {"job_kind", scheduled ? "SCHEDULE" : "MANUAL"},
          {"job_parameters", j.params_json},
          {"schedule", {{"type", scheduled ? "Schedule" : "Manual"}}},
          {"job_status", j.status},
          {"deleted", false},
          {"creation_time", ApiTime(j.enqueue_time)},
          {"update_time", ApiTime(j.update_time)}};
}

struct ScheduleReq {
  std::string type;
  std::string cron;
  std::string params_json;
};

StatusOr<ScheduleReq> ParseScheduleReq(RequestContext& ctx, const SystemJobSpec& spec) {
  BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
  ScheduleReq req;
  auto sched = body.find("schedule");
  if (sched == body.end() || !sched->is_object()) {
    return Status::InvalidArgument("schedule is required and must be an object", "BAD_REQUEST");
  }
  BERTH_ASSIGN_OR_RETURN(req.type, JsonString(*sched, "type", true));
  BERTH_ASSIGN_OR_RETURN(req.cron, JsonString(*sched, "cron", false));
  static const char* kTypes[] = {"Hourly", "Daily", "Weekly", "Custom", "Manual", "None", "Schedule"};
  bool known = false;
  for (const char* t : kTypes) known = known || req.type == t;
  if (!known) {
    return Status::InvalidArgument("schedule.type must be one of Hourly, Daily, Weekly, Custom, "
                                   "Manual, None, Schedule",
                                   "BAD_REQUEST");
  }
  if (req.type == "Hourly") req.cron = kHourly;
  if (req.type == "Daily") req.cron = kDaily;
  if (req.type == "Weekly") req.cron = kWeekly;
  if ((req.type == "Custom" || req.type == "Schedule")) {
    if (req.cron.empty()) return Status::InvalidArgument("schedule.cron is required", "BAD_REQUEST");
    BERTH_ASSIGN_OR_RETURN(int64_t next, JobService::NextRun(req.cron, NowUnixMillis()));
    if (next < 0) {
      return Status::InvalidArgument("schedule.cron '" + req.cron + "' never fires", "BAD_REQUEST");
    }
  }
  nlohmann::json params = nlohmann::json::object();
  if (auto p = body.find("parameters"); p != body.end() && !p->is_null()) {
    if (!p->is_object()) return Status::InvalidArgument("parameters must be an object", "BAD_REQUEST");
    params = *p;
  }
  BERTH_ASSIGN_OR_RETURN(req.params_json, spec.validate(params));
  return req;
}

}  // namespace

void RegisterSystemJobApi(ApiRouter& r, JobService& jobs, AccessEvaluator& ev,
                          SystemJobSpec spec_in) {
  auto spec = std::make_shared<const SystemJobSpec>(std::move(spec_in));
  auto require = [&ev, spec](const Identity& who, const char* action) -> Status {
    if (ev.CanSystem(who, spec->resource, action)) return {};
    return Deny(who, "not allowed to " + std::string(action) + " " + spec->resource);
  };
  auto get_job = [&jobs, spec](const std::string& id_text) -> StatusOr<JobRecord> {
    BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(id_text, "id"));
    BERTH_ASSIGN_OR_RETURN(auto job, jobs.store().Get(id));
    if (!job || job->vendor_type != spec->kind) {
      return Status::NotFound("execution " + id_text + " not found", "NOT_FOUND");
    }
    return *job;
  };

  r.Add("GET", spec->base, spec->label + "_history", [&jobs, spec, require](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "list"));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto page, jobs.store().List(spec->kind, q.page, q.page_size));
    return SendPage(call.ctx, q, page, HistoryJson);
  });
  r.Add("GET", spec->base + "/schedule", spec->label + "_schedule",
        [&jobs, spec, require](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "read"));
          BERTH_ASSIGN_OR_RETURN(auto s, jobs.store().GetSchedule(spec->kind, 0));
          nlohmann::json out = nlohmann::json::object();
          if (s) {
            out = {{"id", s->id},
                   {"job_name", spec->kind},
                   {"job_kind", "SCHEDULE"},
                   {"job_parameters", s->params_json},
                   {"schedule", ScheduleObj(*s)},
                   {"deleted", false},
                   {"creation_time", ApiTime(s->creation_time)},
                   {"update_time", ApiTime(s->update_time)}};
          } else {
            out = {{"schedule", {{"type", "None"}, {"cron", ""}}}};
          }
          return SendJsonValue(call.ctx, 200, out);
        });
  auto set_schedule = [&jobs, spec, require](ApiCall& call, bool creating) -> Status {
    BERTH_RETURN_IF_ERROR(require(call.ctx.identity, creating ? "create" : "update"));
    BERTH_ASSIGN_OR_RETURN(ScheduleReq req, ParseScheduleReq(call.ctx, *spec));
    if (req.type == "Manual") {
      if (!creating) {
        return Status::InvalidArgument("a Manual run is started with POST", "BAD_REQUEST");
      }
      NewJob job;
      job.kind = spec->kind;
      job.params_json = req.params_json;
      job.trigger = "Manual";
      job.vendor_type = spec->kind;
      job.unique = true;  // one run at a time, as Harbor
      BERTH_ASSIGN_OR_RETURN(int64_t id, jobs.Enqueue(job));
      return SendCreated(call.ctx, spec->base + "/" + std::to_string(id));
    }
    if (req.type == "None") {
      Status s = jobs.store().DeleteSchedule(spec->kind, 0);
      if (!s.ok() && !s.IsNotFound()) return s;
      return creating ? SendCreated(call.ctx, spec->base + "/schedule") : SendOk(call.ctx);
    }
    BERTH_RETURN_IF_ERROR(jobs.SetSchedule(spec->kind, 0, req.cron, spec->kind, req.params_json));
    return creating ? SendCreated(call.ctx, spec->base + "/schedule") : SendOk(call.ctx);
  };
  r.Add("POST", spec->base + "/schedule", spec->label + "_schedule",
        [set_schedule](ApiCall& call) { return set_schedule(call, true); });
  r.Add("PUT", spec->base + "/schedule", spec->label + "_schedule",
        [set_schedule](ApiCall& call) { return set_schedule(call, false); });
  // After /schedule: "schedule" is not an id.
  r.Add("GET", spec->base + "/{id}", spec->label + "_execution",
        [require, get_job](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "read"));
          BERTH_ASSIGN_OR_RETURN(JobRecord j, get_job(call.Param("id")));
          return SendJsonValue(call.ctx, 200, HistoryJson(j));
        });
  r.Add("PUT", spec->base + "/{id}", spec->label + "_stop",
        [&jobs, require, get_job](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "stop"));
          BERTH_ASSIGN_OR_RETURN(JobRecord j, get_job(call.Param("id")));
          BERTH_RETURN_IF_ERROR(jobs.store().RequestStop(j.id).status());
          return SendOk(call.ctx);
        });
  r.Add("GET", spec->base + "/{id}/log", spec->label + "_log",
        [&jobs, spec, require](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(require(call.ctx.identity, "read"));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("id"), "id"));
          return SendJobLog(call.ctx, jobs.store(), id, spec->kind);
        });
}

}  // namespace berth
