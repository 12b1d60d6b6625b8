#include "api/jobservice_api.h"

#include "api/api_util.h"
#include "common/clock.h"
#include "http/response.h"

namespace berth {

namespace {

// Pools that have not heartbeated for this long are gone.
constexpr int64_t kPoolAliveMillis = 60000;

Status Require(AccessEvaluator& ev, const Identity& who, const char* action) {
  if (ev.CanSystem(who, "jobservice-monitor", action)) return {};
  return Deny(who, "not allowed to " + std::string(action) + " the job service");
}

StatusOr<std::string> ActionOf(RequestContext& ctx) {
  BERTH_ASSIGN_OR_RETURN(auto body, ReadJsonObject(ctx));
  BERTH_ASSIGN_OR_RETURN(std::string action, JsonString(body, "action", true));
  if (action != "stop" && action != "pause" && action != "resume") {
    return Status::InvalidArgument("action must be stop, pause or resume", "BAD_REQUEST");
  }
  return action;
}

}  // namespace

Status SendJobLog(RequestContext& ctx, JobStore& store, int64_t job_id,
                  const std::string& vendor_type) {
  BERTH_ASSIGN_OR_RETURN(auto job, store.Get(job_id));
  if (!job || (!vendor_type.empty() && job->vendor_type != vendor_type)) {
    return Status::NotFound("job " + std::to_string(job_id) + " not found", "NOT_FOUND");
  }
  BERTH_ASSIGN_OR_RETURN(std::string log, store.ReadLog(job_id));
  SendBody(ctx, 200, "text/plain; charset=utf-8", log);
  return {};
}

void RegisterJobServiceApi(ApiRouter& r, JobService& jobs, AccessEvaluator& ev) {
  JobStore& store = jobs.store();
  r.Add("GET", "/api/v2.0/jobservice/pools", "jobservice_pools",
        [&ev, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "list"));
          BERTH_ASSIGN_OR_RETURN(auto pools, store.Pools(NowUnixMillis() - kPoolAliveMillis));
          nlohmann::json out = nlohmann::json::array();
          for (const auto& p : pools) {
            out.push_back({{"pid", p.pid},
                           {"worker_pool_id", p.pool_id},
                           {"start_at", ApiTime(p.start_at)},
                           {"heartbeat_at", ApiTime(p.heartbeat_at)},
                           {"concurrency", p.concurrency},
                           {"host", p.host}});
          }
          return SendJsonValue(call.ctx, 200, out);
        });
  r.Add("GET", "/api/v2.0/jobservice/pools/{pool_id}/workers", "jobservice_workers",
        [&ev, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "list"));
          const std::string& want = call.Param("pool_id");
          BERTH_ASSIGN_OR_RETURN(auto pools, store.Pools(NowUnixMillis() - kPoolAliveMillis));
          BERTH_ASSIGN_OR_RETURN(auto running, store.Running());
          std::map<std::string, const JobRecord*> by_worker;
          for (const auto& j : running) by_worker[j.worker] = &j;
          nlohmann::json out = nlohmann::json::array();
          bool found = want == "all";
          for (const auto& p : pools) {
            if (want != "all" && p.pool_id != want) continue;
            found = true;
            for (int i = 0; i < p.concurrency; ++i) {
              std::string id = p.pool_id + ":" + std::to_string(i);
              nlohmann::json w = {{"id", id}, {"pool_id", p.pool_id}, {"job_name", ""},
                                  {"job_id", ""}, {"check_in", ""}};
              if (auto it = by_worker.find(id); it != by_worker.end()) {
                const JobRecord& j = *it->second;
                w["job_name"] = j.kind;
                w["job_id"] = std::to_string(j.id);
                w["start_at"] = ApiTime(j.start_time);
                w["check_in"] = j.check_in;
                w["checkin_at"] = ApiTime(j.update_time);
              }
              out.push_back(std::move(w));
            }
          }
          if (!found) return Status::NotFound("worker pool " + want + " not found", "NOT_FOUND");
          return SendJsonValue(call.ctx, 200, out);
        });
  r.Add("PUT", "/api/v2.0/jobservice/jobs/{job_id}", "jobservice_job",
        [&ev, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "stop"));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("job_id"), "job_id"));
          BERTH_ASSIGN_OR_RETURN(std::string action, ActionOf(call.ctx));
          if (action != "stop") {
            return Status::InvalidArgument("a job can only be stopped", "BAD_REQUEST");
          }
          BERTH_RETURN_IF_ERROR(store.RequestStop(id).status());
          return SendOk(call.ctx);
        });
  r.Add("GET", "/api/v2.0/jobservice/jobs/{job_id}/log", "jobservice_job_log",
        [&ev, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "list"));
          BERTH_ASSIGN_OR_RETURN(int64_t id, ParseId(call.Param("job_id"), "job_id"));
          return SendJobLog(call.ctx, store, id, "");
        });
  r.Add("GET", "/api/v2.0/jobservice/queues", "jobservice_queues",
        [&ev, &jobs, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "list"));
          std::vector<std::string> kinds = jobs.kinds();
          kinds.push_back(JobService::kSchedulerQueue);
          BERTH_ASSIGN_OR_RETURN(auto queues, store.Queues(kinds, NowUnixMillis()));
          nlohmann::json out = nlohmann::json::array();
          for (const auto& q : queues) {
            out.push_back({{"job_type", q.kind},
                           {"count", q.count},
                           {"latency", q.latency_s},
                           {"paused", q.paused}});
          }
          return SendJsonValue(call.ctx, 200, out);
        });
  r.Add("PUT", "/api/v2.0/jobservice/queues/{job_type}", "jobservice_queue",
        [&ev, &jobs, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "stop"));
          const std::string& type = call.Param("job_type");
          BERTH_ASSIGN_OR_RETURN(std::string action, ActionOf(call.ctx));
          std::vector<std::string> kinds = jobs.kinds();
          kinds.push_back(JobService::kSchedulerQueue);
          bool known = type == "all";
          for (const auto& k : kinds) known = known || k == type;
          if (!known) return Status::NotFound("job queue " + type + " not found", "NOT_FOUND");
          if (action == "stop") {
            BERTH_RETURN_IF_ERROR(store.StopQueue(type));
          } else {
            std::vector<std::string> targets = type == "all" ? kinds : std::vector<std::string>{type};
            for (const auto& k : targets) BERTH_RETURN_IF_ERROR(store.SetPaused(k, action == "pause"));
          }
          return SendOk(call.ctx);
        });
  r.Add("GET", "/api/v2.0/schedules", "schedules", [&ev, &store](ApiCall& call) -> Status {
    BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "list"));
    BERTH_ASSIGN_OR_RETURN(ListQuery q, ListQueryFrom(call.ctx));
    BERTH_ASSIGN_OR_RETURN(auto all, store.ListSchedules());
    nlohmann::json out = nlohmann::json::array();
    int64_t first = (q.page - 1) * q.page_size;
    for (int64_t i = first; i < static_cast<int64_t>(all.size()) && i < first + q.page_size; ++i) {
      const auto& s = all[i];
      out.push_back({{"id", s.id},
                     {"vendor_type", s.vendor_type},
                     {"vendor_id", s.vendor_id},
                     {"cron", s.cron},
                     {"update_time", ApiTime(s.update_time)}});
    }
    SetPagination(call.ctx, q, static_cast<int64_t>(all.size()));
    return SendJsonValue(call.ctx, 200, out);
  });
  r.Add("GET", "/api/v2.0/schedules/{job_type}/paused", "schedules_paused",
        [&ev, &store](ApiCall& call) -> Status {
          BERTH_RETURN_IF_ERROR(Require(ev, call.ctx.identity, "list"));
          if (call.Param("job_type") != "all") {
            return Status::InvalidArgument("job_type must be all", "BAD_REQUEST");
          }
          BERTH_ASSIGN_OR_RETURN(bool paused, store.IsPaused(JobService::kSchedulerQueue));
          return SendJsonValue(call.ctx, 200, {{"paused", paused}});
        });
}

}  // namespace berth
