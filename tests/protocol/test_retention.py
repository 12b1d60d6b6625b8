#!/usr/bin/env python3
"""Tag retention: Harbor's /api/v2.0/retentions — metadata, policy CRUD and
shapes (checked against Harbor's swagger), the project's retention_id,
bad input named by field, each role's grants and refusals, the cron
schedule on the job service, dry runs that delete nothing and list the
candidates in the task log, real runs that delete exactly what no rule
retains (checked through /v2 and the API) and free quota, executions and
per-repository tasks with their logs, and stop.

Runs on SQLite, and on PostgreSQL as protocol_pg.retention. Python 3 with
PyYAML for the swagger checks (skipped without it).
"""

import time
import urllib.parse

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api

HOURLY = "0 0 * * * *"


def enc(repo):
    return urllib.parse.quote(urllib.parse.quote(repo, safe=""), safe="")


def sel(decoration, pattern, extras=""):
    return {"kind": "doublestar", "decoration": decoration, "pattern": pattern, "extras": extras}


def rule(template, params=None, tags=None, repos=None):
    return {"id": 0, "priority": 0, "disabled": False, "action": "retain", "template": template,
            "params": params or {},
            "tag_selectors": tags or [sel("matches", "**")],
            "scope_selectors": {"repository": repos or [sel("repoMatches", "**")]}}


def policy(project_id, rules, cron=""):
    return {"algorithm": "or", "rules": rules,
            "trigger": {"kind": "Schedule", "settings": {"cron": cron}},
            "scope": {"level": "project", "ref": project_id}}


class RetentionCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = Api(cls.reg)
        cls.swagger = ss.skip_reason() is None

    def shape(self, obj, definition):
        if self.swagger:
            ss.assert_shape(obj, definition)

    def assertRefused(self, r, status, mentions=None):
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                409: "CONFLICT"}[status]
        self.assertEqual(r.status, status, "%r" % r)
        self.assertEqual(r.error_codes(), [code], "%r" % r)
        if mentions:
            self.assertIn(mentions, r.json()["errors"][0]["message"])

    def create(self, body, auth="admin"):
        r = self.api.call("POST", "/retentions", body, auth=auth)
        self.assertEqual(r.status, 201, "%r" % r)
        loc = r.header("Location")
        self.assertRegex(loc, r"^/api/v2\.0/retentions/\d+$")
        return int(loc.rsplit("/", 1)[1])

    def project_meta(self, project_id):
        return self.api.ok("GET", "/projects/%d" % project_id)["metadata"]

    def trigger(self, pid, dry_run):
        r = self.api.call("POST", "/retentions/%d/executions" % pid, {"dry_run": dry_run})
        self.assertEqual(r.status, 201, "%r" % r)
        loc = r.header("Location")
        self.assertRegex(loc, r"^/api/v2\.0/retentions/%d/executions/\d+$" % pid)
        return int(loc.rsplit("/", 1)[1])

    def execution(self, pid, eid):
        for e in self.api.ok("GET", "/retentions/%d/executions?page_size=100" % pid):
            if e["id"] == eid:
                return e
        self.fail("execution %d not listed" % eid)

    def wait(self, pid, eid, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            e = self.execution(pid, eid)
            if e["status"] not in ("Running", "Pending"):
                return e
            time.sleep(0.2)
        self.fail("execution %d did not finish" % eid)

    def digests(self, project, repo):
        arts = self.api.ok("GET", "/projects/%s/repositories/%s/artifacts?page_size=100"
                           % (project, enc(repo)))
        return {a["digest"] for a in arts}

    def used(self, project_id):
        q = self.api.ok("GET", "/quotas?reference=project&reference_id=%d" % project_id)
        return q[0]["used"]["storage"]


class RetentionPolicyTest(RetentionCase):
    def test_metadatas(self):
        m = self.api.ok("GET", "/retentions/metadatas")
        self.shape(m, "RetentionMetadata")
        self.assertEqual([t["rule_template"] for t in m["templates"]],
                         ["latestPushedK", "latestPulledN", "nDaysSinceLastPush",
                          "nDaysSinceLastPull", "always"])
        self.assertEqual(m["templates"][0]["params"], [{"type": "int", "unit": "COUNT",
                                                        "required": True}])
        self.assertEqual(m["templates"][4]["params"], [])
        self.assertEqual(m["scope_selectors"][0]["decorations"], ["repoMatches", "repoExcludes"])
        self.assertEqual(m["tag_selectors"][0]["decorations"], ["matches", "excludes"])
        self.assertRefused(self.api.call("GET", "/retentions/metadatas", auth=None), 401)

    def test_crud_metadata_and_schedule(self):
        project_id = self.api.create_project(bh.unique("ret"))
        body = policy(project_id, [rule("latestPushedK", {"latestPushedK": 3})], HOURLY)
        pid = self.create(body)
        self.assertEqual(self.project_meta(project_id).get("retention_id"), str(pid))
        got = self.api.ok("GET", "/retentions/%d" % pid)
        self.shape(got, "RetentionPolicy")
        self.assertEqual(got["id"], pid)
        self.assertEqual(got["algorithm"], "or")
        self.assertEqual(got["scope"], {"level": "project", "ref": project_id})
        self.assertEqual(got["trigger"]["kind"], "Schedule")
        self.assertEqual(got["trigger"]["settings"], {"cron": HOURLY})
        self.assertEqual(len(got["rules"]), 1)
        r0 = got["rules"][0]
        for key, want in body["rules"][0].items():
            self.assertEqual(r0[key], want, key)

        def schedule():
            for s in self.api.ok("GET", "/schedules?page_size=100"):
                if s["vendor_type"] == "RETENTION" and s["vendor_id"] == pid:
                    return s
            return None
        self.assertEqual(schedule()["cron"], HOURLY)

        # A second policy for the project is refused (Harbor: 400).
        self.assertRefused(self.api.call("POST", "/retentions", body), 400, "already has")

        body["rules"].append(rule("always", tags=[sel("matches", "release-*",
                                                      '{"untagged":false}')]))
        body["trigger"]["settings"]["cron"] = "0 30 2 * * *"
        self.api.ok("PUT", "/retentions/%d" % pid, body)
        got = self.api.ok("GET", "/retentions/%d" % pid)
        self.assertEqual([x["template"] for x in got["rules"]], ["latestPushedK", "always"])
        self.assertEqual(got["rules"][1]["tag_selectors"][0]["extras"], '{"untagged":false}')
        self.assertEqual(schedule()["cron"], "0 30 2 * * *")
        body["trigger"]["settings"]["cron"] = ""
        self.api.ok("PUT", "/retentions/%d" % pid, body)
        self.assertIsNone(schedule())

        self.api.ok("DELETE", "/retentions/%d" % pid)
        self.assertRefused(self.api.call("GET", "/retentions/%d" % pid), 404)
        self.assertNotIn("retention_id", self.project_meta(project_id))
        # The project can have a policy again.
        self.api.ok("DELETE", "/retentions/%d" % self.create(body))

    def test_deleting_the_project_deletes_its_policy_and_schedule(self):
        name = bh.unique("retgone")
        project_id = self.api.create_project(name)
        pid = self.create(policy(project_id, [rule("latestPushedK", {"latestPushedK": 3})], HOURLY))

        def scheduled():
            return [s for s in self.api.ok("GET", "/schedules?page_size=100")
                    if s["vendor_type"] == "RETENTION" and s["vendor_id"] == pid]
        self.assertEqual(len(scheduled()), 1)
        self.api.ok("DELETE", "/projects/%s" % name)
        self.assertEqual(scheduled(), [])
        self.assertRefused(self.api.call("GET", "/retentions/%d" % pid), 404)

    def test_bad_input_names_the_field(self):
        project_id = self.api.create_project(bh.unique("bad"))
        good = rule("latestPushedK", {"latestPushedK": 1})
        cases = [
            (policy(project_id, [good], "not a cron"), 400, "trigger.settings.cron"),
            (policy(project_id, [rule("keepAll")]), 400, "rules[0].template"),
            (policy(project_id, [rule("latestPushedK", {"latestPushedK": -2})]), 400,
             "rules[0].params.latestPushedK"),
            (policy(project_id, [rule("nDaysSinceLastPull", {})]), 400,
             "rules[0].params.nDaysSinceLastPull"),
            (policy(project_id, [good, rule("always", tags=[sel("contains", "x")])]), 400,
             "rules[1].tag_selectors[0].decoration"),
            (policy(project_id, [rule("always", tags=[sel("matches", "[x")])]), 400,
             "rules[0].tag_selectors[0].pattern"),
            (policy(project_id, [rule("always", repos=[sel("matches", "**")])]), 400,
             "rules[0].scope_selectors.repository[0].decoration"),
            (policy(project_id, [rule("latestPushedK", {"latestPushedK": i}) for i in range(16)]),
             400, "rules"),
            (policy(999999, [good]), 400, "scope.ref"),
            (dict(policy(project_id, [good]), algorithm="and"), 400, "algorithm"),
            (policy(project_id, [good, good]), 409, "conflict"),
        ]
        for body, status, field in cases:
            with self.subTest(field=field):
                self.assertRefused(self.api.call("POST", "/retentions", body), status, field)
        self.assertNotIn("retention_id", self.project_meta(project_id))

    def test_rbac_per_role(self):
        project_id = self.api.create_project(bh.unique("rbac"))
        users = {}
        for role in ("projectAdmin", "maintainer", "developer", "guest", "limitedGuest"):
            users[role] = self.api.create_user(bh.unique(role[:6].lower()))
            self.api.add_member(project_id, users[role], role)
        outsider = self.api.create_user(bh.unique("out"))
        body = policy(project_id, [rule("always")])
        for role in ("guest", "limitedGuest"):
            self.assertRefused(self.api.call("POST", "/retentions", body, auth=users[role]), 403)
        self.assertRefused(self.api.call("POST", "/retentions", body, auth=outsider), 403)
        self.assertRefused(self.api.call("POST", "/retentions", body, auth=None), 401)
        for role in ("projectAdmin", "maintainer", "developer"):
            pid = self.create(body, auth=users[role])
            self.api.ok("GET", "/retentions/%d" % pid, auth=users[role])
            self.api.ok("PUT", "/retentions/%d" % pid, body, auth=users[role])
            self.api.ok("GET", "/retentions/%d/executions" % pid, auth=users[role])
            for other in ("guest", "limitedGuest"):
                r = self.api.call("GET", "/retentions/%d" % pid, auth=users[other])
                self.assertRefused(r, 403)
                r = self.api.call("POST", "/retentions/%d/executions" % pid, {"dry_run": True},
                                  auth=users[other])
                self.assertRefused(r, 403)
                self.assertRefused(self.api.call("DELETE", "/retentions/%d" % pid,
                                                 auth=users[other]), 403)
            self.assertRefused(self.api.call("GET", "/retentions/%d" % pid, auth=outsider), 403)
            self.api.ok("DELETE", "/retentions/%d" % pid, auth=users[role])


class RetentionRunTest(RetentionCase):
    def test_dry_run_then_real_run(self):
        p = bh.unique("run")
        project_id = self.api.create_project(p)
        pushed = {}
        for tag in ("v1", "v2", "v3"):
            pushed[tag] = self.reg.push_image(p + "/app", tag=tag)[1]
            time.sleep(0.02)
        untagged = self.reg.push_image(p + "/app")[1]
        other = self.reg.push_image(p + "/other", tag="v0")[1]
        # v1 is the only pulled artifact.
        self.assertStatus(self.reg.request("GET", "/v2/%s/app/manifests/v1" % p), 200)
        deadline = time.time() + 10
        while time.time() < deadline:
            arts = self.api.ok("GET", "/projects/%s/repositories/app/artifacts?q=tags%%3Dv1" % p)
            if arts and arts[0]["pull_time"] != "0001-01-01T00:00:00.000Z":
                break
            time.sleep(0.2)
        # Rule 1 keeps the newest v* tag (v3); rule 2 the most recently
        # pulled artifact (v1). v2 and the untagged artifact go; "other"
        # is out of scope.
        pid = self.create(policy(project_id, [
            rule("latestPushedK", {"latestPushedK": 1},
                 tags=[sel("matches", "v*", '{"untagged":false}')], repos=[sel("repoMatches", "app")]),
            rule("latestPulledN", {"latestPulledN": 1}, repos=[sel("repoMatches", "app")])]))
        before = self.digests(p, "app")
        self.assertEqual(before, set(pushed.values()) | {untagged})
        used_before = self.used(project_id)

        dry = self.trigger(pid, True)
        e = self.wait(pid, dry)
        self.shape(e, "RetentionExecution")
        self.assertEqual((e["status"], e["trigger"], e["dry_run"], e["policy_id"]),
                         ("Success", "MANUAL", True, pid))
        self.assertEqual(self.digests(p, "app"), before)
        tasks = self.api.ok("GET", "/retentions/%d/executions/%d/tasks" % (pid, dry))
        self.assertEqual(len(tasks), 1, tasks)
        t = tasks[0]
        self.shape(t, "RetentionExecutionTask")
        self.assertEqual((t["repository"], t["status"], t["status_code"], t["total"], t["retained"],
                          t["execution_id"]), (p + "/app", "Success", 3, 4, 2, dry))
        r = self.api.call("GET", "/retentions/%d/executions/%d/tasks/%d" % (pid, dry, t["id"]))
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        log = r.body.decode()
        self.assertIn("Dry Run: true", log)
        for line_of, mark in ((pushed["v2"], "DEL"), (untagged, "DEL"), (pushed["v1"], "RETAIN"),
                              (pushed["v3"], "RETAIN")):
            row = [x for x in log.splitlines() if line_of in x]
            self.assertEqual(len(row), 1, log)
            self.assertTrue(row[0].rstrip(" |").endswith(mark), row[0])
        self.assertRegex(log, r"\|\s+Digest\s+\|\s+Tag\s+\|\s+Kind\s+\|\s+Labels\s+\|\s+PushedTime\s+"
                              r"\|\s+PulledTime\s+\|\s+CreatedTime\s+\|\s+Retention\s+\|")

        real = self.trigger(pid, False)
        e = self.wait(pid, real)
        self.assertEqual((e["status"], e["dry_run"]), ("Success", False))
        self.assertEqual(self.digests(p, "app"), {pushed["v1"], pushed["v3"]})
        self.assertEqual(self.digests(p, "other"), {other})
        for gone in (pushed["v2"], untagged):
            self.assertError(self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, gone)), 404,
                             "MANIFEST_UNKNOWN")
        self.assertStatus(self.reg.request("GET", "/v2/%s/app/manifests/v3" % p), 200)
        self.assertError(self.reg.request("GET", "/v2/%s/app/manifests/v2" % p), 404,
                         "MANIFEST_UNKNOWN")
        self.assertLess(self.used(project_id), used_before)
        tasks = self.api.ok("GET", "/retentions/%d/executions/%d/tasks" % (pid, real))
        self.assertEqual([(x["total"], x["retained"]) for x in tasks], [(4, 2)])

        r = self.api.call("GET", "/retentions/%d/executions?page_size=1" % pid)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Total-Count"), "2")
        self.assertIn('rel="next"', r.header("Link"))
        execs = self.api.ok("GET", "/retentions/%d/executions" % pid)
        self.assertEqual([x["id"] for x in execs], [real, dry])
        for x in execs:
            self.shape(x, "RetentionExecution")
            self.assertIn("end_time", x)
        # Another policy's execution, or an unknown task, is not found.
        self.assertRefused(self.api.call("GET", "/retentions/%d/executions/%d/tasks/%d"
                                         % (pid, real, t["id"])), 404)

    def test_stop(self):
        project_id = self.api.create_project(bh.unique("stop"))
        pid = self.create(policy(project_id, [rule("always")]))
        # Paused queue: the run stays pending, so the stop is deterministic.
        self.api.ok("PUT", "/jobservice/queues/RETENTION", {"action": "pause"})
        try:
            eid = self.trigger(pid, False)
            self.assertEqual(self.execution(pid, eid)["status"], "Running")
            self.assertRefused(self.api.call("PATCH", "/retentions/%d/executions/%d" % (pid, eid),
                                             {"action": "go"}), 400)
            self.api.ok("PATCH", "/retentions/%d/executions/%d" % (pid, eid), {"action": "stop"})
            self.assertEqual(self.execution(pid, eid)["status"], "Stopped")
            self.assertRefused(self.api.call("PATCH", "/retentions/%d/executions/%d"
                                             % (pid, eid + 1000), {"action": "stop"}), 404)
        finally:
            self.api.ok("PUT", "/jobservice/queues/RETENTION", {"action": "resume"})
        # A run after the stop completes (an empty project: no tasks).
        e = self.wait(pid, self.trigger(pid, True))
        self.assertEqual(e["status"], "Success")
        self.assertEqual(self.api.ok("GET", "/retentions/%d/executions/%d/tasks"
                                     % (pid, e["id"])), [])


if __name__ == "__main__":
    bh.main()
