#!/usr/bin/env python3
"""Project webhook policies: Harbor's /api/v2.0/projects/{p}/webhook/...
(policies CRUD and shapes, supported event types, last triggers, executions,
tasks and task logs), bad input with the field named, the
notification-policy RBAC of every role, and deliveries end to end to small
HTTP receivers this test runs: push, pull and delete in the Default and
CloudEvents formats field by field, the Slack message, the auth header, a
disabled policy and an event filter, a failing receiver retried with the
failure visible through the executions API, QUOTA_EXCEED on a refused push
and QUOTA_WARNING past 85%, policies going with their project, and the
berth.yml notification endpoints delivering as before.

Runs on SQLite, and on PostgreSQL as protocol_pg.webhook_policies (ctest sets
BERTH_PROTOCOL_POSTGRES_DSN_FILE). Python 3 standard library only.
"""

import json
import re
import time

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api

POLICY_KEYS = {"id", "name", "description", "project_id", "targets", "event_types", "creator",
               "creation_time", "update_time", "enabled"}
TARGET_KEYS = {"type", "address", "auth_header", "skip_cert_verify", "payload_format"}
EXECUTION_KEYS = {"id", "vendor_type", "vendor_id", "status", "status_message", "metrics",
                  "trigger", "extra_attrs", "start_time", "end_time"}
TASK_KEYS = {"id", "execution_id", "status", "status_message", "run_count", "extra_attrs",
             "creation_time", "update_time", "start_time", "end_time"}
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EVENT_TYPES = ["PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT", "QUOTA_EXCEED",
               "QUOTA_WARNING", "SCANNING_FAILED", "SCANNING_STOPPED", "SCANNING_COMPLETED",
               "REPLICATION", "TAG_RETENTION"]


def wait_until(pred, timeout=20.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


class WebhookCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        # A berth.yml endpoint must keep working beside the policies.
        cls.cfg = bh.Receiver()
        config = {"notifications": {
            "max_attempts": 3, "initial_backoff_ms": 100, "max_backoff_ms": 400,
            "timeout_ms": 5000, "workers": 4,
            "endpoints": [{"name": "from-config", "type": "http", "address": cls.cfg.url("/cfg"),
                           "payload_format": "Default", "events": ["PUSH_ARTIFACT"]}]}}
        cls.reg = bh.Registry(config=json.dumps(config)).start()
        cls.api = Api(cls.reg)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.cfg.close()

    def receiver(self, script=(200,)):
        r = bh.Receiver(script)
        self.addCleanup(r.close)
        return r

    def assertRefused(self, r, status, field=None):
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                409: "CONFLICT"}[status]
        self.assertEqual(r.status, status, "%r" % r)
        self.assertEqual(r.error_codes(), [code], "%r" % r)
        if field:
            self.assertIn(field, r.json()["errors"][0]["message"], "%r" % r)

    def policy_body(self, address, **over):
        body = {"name": bh.unique("hook"), "description": "d", "enabled": True,
                "event_types": ["PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"],
                "targets": [{"type": "http", "address": address, "auth_header": "",
                             "skip_cert_verify": False, "payload_format": "Default"}]}
        body.update(over)
        return body

    def create_policy(self, project, body, auth="admin"):
        r = self.api.call("POST", "/projects/%s/webhook/policies" % project, body, auth=auth)
        self.assertEqual(r.status, 201, "%r" % r)
        loc = r.header("Location")
        self.assertRegex(loc, r"^/api/v2\.0/projects/%s/webhook/policies/\d+$" % re.escape(str(project)))
        return int(loc.rsplit("/", 1)[1])

    def executions(self, pid, policy_id, expect=1, timeout=20, final=True):
        """The policy's executions once `expect` exist (and all finished)."""
        path = "/projects/%d/webhook/policies/%d/executions?page_size=50" % (pid, policy_id)
        done = lambda: [e for e in self.api.ok("GET", path)
                        if not final or e["status"] in ("Success", "Error", "Stopped")]
        wait_until(lambda: len(done()) >= expect, timeout)
        return self.api.ok("GET", path)


class PolicyCrudTest(WebhookCase):
    def test_crud_and_shapes(self):
        name = bh.unique("crud")
        pid = self.api.create_project(name)
        body = self.policy_body("https://hooks.example.test/a/b/", description="first")
        body["targets"].append({"type": "http", "address": "http://h2.example.test:8080/x",
                                "auth_header": "Bearer t", "skip_cert_verify": True,
                                "payload_format": "CloudEvents"})
        wid = self.create_policy(pid, body)
        w = self.api.ok("GET", "/projects/%d/webhook/policies/%d" % (pid, wid))
        self.assertEqual(set(w), POLICY_KEYS)
        if ss.skip_reason() is None:
            ss.assert_shape(w, "WebhookPolicy", required=True)
        self.assertEqual((w["id"], w["name"], w["description"], w["project_id"], w["creator"],
                          w["enabled"]), (wid, body["name"], "first", pid, "admin", True))
        self.assertEqual(w["event_types"], body["event_types"])
        # Harbor keeps scheme://host/path of an address (trailing slash gone).
        self.assertEqual(w["targets"], [
            {"type": "http", "address": "https://hooks.example.test/a/b", "auth_header": "",
             "skip_cert_verify": False, "payload_format": "Default"},
            {"type": "http", "address": "http://h2.example.test:8080/x", "auth_header": "Bearer t",
             "skip_cert_verify": True, "payload_format": "CloudEvents"}])
        for k in ("creation_time", "update_time"):
            self.assertRegex(w[k], RFC3339)
        # By name too (X-Is-Resource-Name for a numeric-looking name is not needed here).
        self.assertEqual(self.api.ok("GET", "/projects/%s/webhook/policies/%d" % (name, wid)), w)

        # No payload format: Default for http.
        wid2 = self.create_policy(pid, self.policy_body("http://h3.example.test/", targets=[
            {"type": "http", "address": "h3.example.test/y"}]))
        w2 = self.api.ok("GET", "/projects/%d/webhook/policies/%d" % (pid, wid2))
        self.assertEqual(w2["targets"][0]["payload_format"], "Default")
        self.assertEqual(w2["targets"][0]["address"], "http://h3.example.test/y")

        r = self.api.call("GET", "/projects/%d/webhook/policies?page=1&page_size=1" % pid)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Total-Count"), "2")
        self.assertEqual([x["id"] for x in r.json()], [wid])
        self.assertIn('rel="next"', r.header("Link") or "")

        # Update replaces everything but id, project, creator and creation time.
        upd = self.policy_body("http://other.example.test/z", name=body["name"] + "-2",
                               description="", enabled=False, event_types=["DELETE_ARTIFACT"])
        self.api.ok("PUT", "/projects/%d/webhook/policies/%d" % (pid, wid), upd)
        w3 = self.api.ok("GET", "/projects/%d/webhook/policies/%d" % (pid, wid))
        self.assertEqual((w3["name"], w3["description"], w3["enabled"], w3["event_types"],
                          w3["creation_time"], w3["creator"]),
                         (upd["name"], "", False, ["DELETE_ARTIFACT"], w["creation_time"], "admin"))
        self.assertEqual(w3["targets"][0]["address"], "http://other.example.test/z")

        # Supported event types.
        ev = self.api.ok("GET", "/projects/%d/webhook/events" % pid)
        if ss.skip_reason() is None:
            ss.assert_shape(ev, "SupportedWebhookEventTypes", required=True)
        self.assertEqual(ev["event_type"], EVENT_TYPES)
        self.assertEqual(ev["notify_type"], ["http", "slack"])
        self.assertEqual(ev["payload_formats"],
                         [{"notify_type": "http", "formats": ["Default", "CloudEvents"]}])

        # Last triggers: one entry per policy and event type, never fired yet.
        lt = self.api.ok("GET", "/projects/%d/webhook/lasttrigger" % pid)
        self.assertEqual(sorted((x["policy_name"], x["event_type"]) for x in lt),
                         sorted([(upd["name"], "DELETE_ARTIFACT")] +
                                [(w2["name"], t) for t in w2["event_types"]]))
        for x in lt:
            if ss.skip_reason() is None:
                ss.assert_shape(x, "WebhookLastTrigger", required=True)
            self.assertEqual(x["last_trigger_time"], "0001-01-01T00:00:00.000Z")

        self.api.ok("DELETE", "/projects/%d/webhook/policies/%d" % (pid, wid))
        self.assertRefused(self.api.call("GET", "/projects/%d/webhook/policies/%d" % (pid, wid)), 404)
        self.assertRefused(self.api.call("DELETE", "/projects/%d/webhook/policies/%d" % (pid, wid)), 404)
        self.assertEqual(len(self.api.ok("GET", "/projects/%d/webhook/policies" % pid)), 1)

    def test_bad_input(self):
        pid = self.api.create_project(bh.unique("bad"))
        other = self.api.create_project(bh.unique("other"))
        url = "/projects/%d/webhook/policies" % pid
        ok = self.policy_body("http://h.example.test/")
        cases = [
            ({"targets": []}, "targets"),
            ({"targets": [{"type": "http", "address": "ftp://h.example.test/"}]}, "address"),
            ({"targets": [{"type": "http", "address": ""}]}, "address"),
            ({"targets": [{"type": "http", "address": "http://"}]}, "address"),
            ({"targets": [{"type": "http", "address": "http://user@h.example.test/"}]}, "address"),
            ({"targets": [{"type": "http", "address": "http://h.example.test:x/"}]}, "address"),
            ({"targets": [{"type": "http", "address": "http://h/", "payload_format": "Xml"}]},
             "payload_format"),
            ({"targets": [{"type": "slack", "address": "http://h/", "payload_format": "Default"}]},
             "payload_format"),
            ({"targets": [{"type": "email", "address": "http://h/"}]}, "type"),
            ({"event_types": []}, "event_types"),
            ({"event_types": ["PUSH_ARTIFACT", "PUSH_IMAGE"]}, "event_types"),
            ({"event_types": "PUSH_ARTIFACT"}, "event_types"),
            ({"targets": {"type": "http"}}, "targets"),
            ({"name": ""}, "name"),
            ({"enabled": "yes"}, "enabled"),
        ]
        for over, field in cases:
            with self.subTest(over=over):
                body = dict(ok)
                body.update(over)
                self.assertRefused(self.api.call("POST", url, body), 400, field)
                self.assertEqual(self.api.ok("GET", url), [])
        self.assertRefused(self.api.call("POST", url, raw=b"{not json"), 400)
        wid = self.create_policy(pid, ok)
        # Same name in the project: 409; in another project: fine.
        self.assertRefused(self.api.call("POST", url, ok), 409, ok["name"])
        self.create_policy(other, ok)
        # Update with bad input or onto a taken name.
        wid2 = self.create_policy(pid, self.policy_body("http://h.example.test/"))
        self.assertRefused(self.api.call("PUT", "%s/%d" % (url, wid2), dict(ok, targets=[])), 400,
                           "targets")
        self.assertRefused(self.api.call("PUT", "%s/%d" % (url, wid2), ok), 409)
        # A policy of another project, unknown ids, bad ids.
        self.assertRefused(self.api.call("GET", "/projects/%d/webhook/policies/%d" % (other, wid)), 404)
        self.assertRefused(self.api.call("GET", "%s/999999" % url), 404)
        self.assertRefused(self.api.call("GET", "%s/abc" % url), 400)
        self.assertRefused(self.api.call("GET", "/projects/no-such-project-x/webhook/policies"), 404)
        self.assertRefused(self.api.call("GET", "%s/%d/executions/999999/tasks" % (url, wid)), 404)


class PolicyRbacTest(WebhookCase):
    def test_roles(self):
        pid = self.api.create_project(bh.unique("rbac"))
        wid = self.create_policy(pid, self.policy_body("http://h.example.test/"))
        users = {}
        for role in ("projectAdmin", "maintainer", "developer", "guest", "limitedGuest"):
            users[role] = self.api.create_user(bh.unique(role[:6].lower()))
            self.api.add_member(pid, users[role], role)
        users["nonMember"] = self.api.create_user(bh.unique("nm"))
        base = "/projects/%d/webhook" % pid
        one = "%s/policies/%d" % (base, wid)
        reads = ["%s/policies" % base, one, "%s/executions" % one, "%s/events" % base,
                 "%s/lasttrigger" % base, "%s/jobs?policy_id=%d" % (base, wid)]
        # Harbor: project admins manage; maintainers read and list.
        for who, can_read, can_write in (("admin", True, True), ("projectAdmin", True, True),
                                         ("maintainer", True, False), ("developer", False, False),
                                         ("guest", False, False), ("limitedGuest", False, False),
                                         ("nonMember", False, False), (None, False, False)):
            auth = "admin" if who == "admin" else (users[who] if who else None)
            denied = 401 if who is None else 403
            with self.subTest(who=who):
                for path in reads:
                    r = self.api.call("GET", path, auth=auth)
                    if can_read:
                        self.assertEqual(r.status, 200, "%s: %r" % (path, r))
                    else:
                        self.assertRefused(r, denied)
                body = self.policy_body("http://h.example.test/")
                r = self.api.call("POST", "%s/policies" % base, body, auth=auth)
                if can_write:
                    self.assertEqual(r.status, 201, "%r" % r)
                    new = int(r.header("Location").rsplit("/", 1)[1])
                    self.assertEqual(self.api.ok("GET", "%s/policies/%d" % (base, new))["creator"],
                                     "admin" if who == "admin" else users[who][0])
                    self.api.ok("PUT", "%s/policies/%d" % (base, new), dict(body, description="x"),
                                auth=auth)
                    self.api.ok("DELETE", "%s/policies/%d" % (base, new), auth=auth)
                else:
                    self.assertRefused(r, denied)
                    self.assertRefused(self.api.call("PUT", one, body, auth=auth), denied)
                    self.assertRefused(self.api.call("DELETE", one, auth=auth), denied)
        self.api.ok("GET", one)  # still there


class DeliveryTest(WebhookCase):
    def push_pull_delete(self, project):
        repo, tag = "%s/app" % project, "v1.0"
        rid = "push-" + bh.unique("rq")
        body, digest = None, None
        t0 = time.time()
        self.reg.ensure_project("/v2/%s/x" % repo)
        seed = bh.unique("s")
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        self.reg.push_blob(repo, config)
        layer = ("layer of %s" % seed).encode() * 7
        self.reg.push_blob(repo, layer)
        body = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                         "config": bh.descriptor(bh.OCI_CONFIG, config),
                         "layers": [bh.descriptor(bh.OCI_LAYER, layer)]})
        digest = bh.sha256(body)
        r = self.reg.request("PUT", "/v2/%s/manifests/%s" % (repo, tag), body,
                             {"Content-Type": bh.OCI_MANIFEST, "X-Request-Id": rid})
        self.assertEqual(r.status, 201, "%r" % r)
        r = self.reg.request("GET", "/v2/%s/manifests/%s" % (repo, tag), None,
                             {"Accept": bh.OCI_MANIFEST, "X-Request-Id": rid + "-pull"})
        self.assertEqual(r.status, 200, "%r" % r)
        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest), None,
                             {"X-Request-Id": rid + "-del"})
        self.assertEqual(r.status, 202, "%r" % r)
        return repo, tag, digest, rid, t0, time.time()

    def test_default_and_cloudevents_payloads(self):
        name = bh.unique("dlv")
        pid = self.api.create_project(name)
        recv = self.receiver()
        wid = self.create_policy(pid, self.policy_body(recv.url("/d"), targets=[
            {"type": "http", "address": recv.url("/d"), "auth_header": "Basic dXNlcjpwYXNz",
             "payload_format": "Default"},
            {"type": "http", "address": recv.url("/ce"), "auth_header": "Bearer s3cr3t",
             "payload_format": "CloudEvents"}]))
        repo, tag, digest, rid, t0, t1 = self.push_pull_delete(name)
        d = recv.wait(3, "/d")
        ce = recv.wait(3, "/ce")
        host = "127.0.0.1:%d" % self.reg.port
        for p in d:
            self.assertEqual(p["headers"]["content-type"], "application/json")
            self.assertEqual(p["headers"]["authorization"], "Basic dXNlcjpwYXNz")
        for p in ce:
            self.assertEqual(p["headers"]["content-type"], "application/cloudevents+json")
            self.assertEqual(p["headers"]["authorization"], "Bearer s3cr3t")
        by_type = {j["type"]: j for j in (json.loads(p["body"]) for p in d)}
        self.assertEqual(set(by_type), {"PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"})
        repo_obj = None
        for t, j in by_type.items():
            with self.subTest(type=t):
                self.assertEqual(set(j), {"type", "occur_at", "operator", "event_data"})
                self.assertEqual(j["operator"], bh.ADMIN_USER)
                self.assertTrue(int(t0) - 1 <= j["occur_at"] <= t1 + 1, j)
                ed = j["event_data"]
                self.assertEqual(set(ed), {"resources", "repository"})
                if t == "DELETE_ARTIFACT":
                    self.assertEqual(ed["resources"], [{
                        "digest": digest, "resource_url": "%s/%s@%s" % (host, repo, digest)}])
                else:
                    self.assertEqual(ed["resources"], [{
                        "digest": digest, "tag": tag,
                        "resource_url": "%s/%s:%s" % (host, repo, tag)}])
                created = ed["repository"]["date_created"]
                self.assertIsInstance(created, int)
                self.assertEqual(ed["repository"], {
                    "date_created": created, "name": "app", "namespace": name,
                    "repo_full_name": repo, "repo_type": "private"})
                repo_obj = repo_obj or ed["repository"]
        ce_by_type = {j["type"]: j for j in (json.loads(p["body"]) for p in ce)}
        self.assertEqual(set(ce_by_type), {"harbor.artifact.pushed", "harbor.artifact.pulled",
                                           "harbor.artifact.deleted"})
        for ce_type, dtype, suffix in (("harbor.artifact.pushed", "PUSH_ARTIFACT", ""),
                                       ("harbor.artifact.pulled", "PULL_ARTIFACT", "-pull"),
                                       ("harbor.artifact.deleted", "DELETE_ARTIFACT", "-del")):
            with self.subTest(ce_type=ce_type):
                ev = ce_by_type[ce_type]
                self.assertEqual(set(ev), {"specversion", "id", "source", "type", "datacontenttype",
                                           "time", "data", "operator", "requestid"})
                self.assertEqual(ev["specversion"], "1.0")
                self.assertRegex(ev["id"], UUID_RE)
                self.assertEqual(ev["source"], "/projects/%d/webhook/policies/%d" % (pid, wid))
                self.assertEqual(ev["datacontenttype"], "application/json")
                self.assertRegex(ev["time"], RFC3339)
                self.assertEqual(ev["operator"], bh.ADMIN_USER)
                self.assertEqual(ev["requestid"], rid + suffix)
                self.assertEqual(ev["data"], by_type[dtype]["event_data"])
        # The executions: one per delivery, vendor WEBHOOK, Success.
        ex = self.executions(pid, wid, expect=6)
        self.assertEqual(len(ex), 6, ex)
        for e in ex:
            self.assertEqual(set(e), EXECUTION_KEYS)
            if ss.skip_reason() is None:
                ss.assert_shape(e, "Execution", required=True)
            self.assertEqual((e["vendor_type"], e["vendor_id"], e["status"], e["trigger"]),
                             ("WEBHOOK", wid, "Success", "EVENT"))
            self.assertEqual(e["metrics"]["task_count"], 1)
            self.assertEqual(e["metrics"]["success_task_count"], 1)
            self.assertIn(e["extra_attrs"]["event_type"],
                          {"PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"})
        # Last trigger times are set now.
        lt = self.api.ok("GET", "/projects/%d/webhook/lasttrigger" % pid)
        self.assertEqual(len(lt), 3)
        for x in lt:
            self.assertNotEqual(x["last_trigger_time"], "0001-01-01T00:00:00.000Z", x)

    def test_slack_message(self):
        name = bh.unique("slk")
        pid = self.api.create_project(name)
        recv = self.receiver()
        wid = self.create_policy(pid, self.policy_body(
            recv.url("/slack"), event_types=["PUSH_ARTIFACT"],
            targets=[{"type": "slack", "address": recv.url("/slack"), "auth_header": "nope"}]))
        self.assertEqual(self.api.ok("GET", "/projects/%d/webhook/policies/%d" % (pid, wid))
                         ["targets"][0]["payload_format"], "")
        _, digest = self.reg.push_image("%s/s" % name, tag="t1")
        p = recv.wait(1, "/slack")[0]
        self.assertNotIn("authorization", p["headers"])  # Harbor sends none to Slack
        msg = json.loads(p["body"])
        texts = [b["text"]["text"] for b in msg["blocks"]]
        self.assertEqual(texts[0], "*Harbor webhook events*")
        self.assertEqual(texts[1], "*event_type:* PUSH_ARTIFACT")
        self.assertTrue(texts[2].startswith("*occur_at:* <!date^"), texts)
        self.assertEqual(texts[3], "*operator:* " + bh.ADMIN_USER)
        self.assertEqual(texts[4], "*event_data:*")
        self.assertTrue(texts[5].startswith("```") and texts[5].endswith("```"), texts)
        self.assertEqual(json.loads(texts[5][3:-3])["resources"][0]["digest"], digest)
        ex = self.executions(pid, wid)
        self.assertEqual([(e["vendor_type"], e["status"]) for e in ex], [("SLACK", "Success")])

    def test_disabled_policy_and_event_filter(self):
        name = bh.unique("flt")
        pid = self.api.create_project(name)
        off, only_delete, pulls = self.receiver(), self.receiver(), self.receiver()
        self.create_policy(pid, self.policy_body(off.url(), enabled=False))
        # An absent "enabled" is false, as in Harbor.
        body = self.policy_body(off.url("/absent"))
        del body["enabled"]
        self.create_policy(pid, body)
        self.create_policy(pid, self.policy_body(only_delete.url(), event_types=["DELETE_ARTIFACT"]))
        self.create_policy(pid, self.policy_body(pulls.url(), event_types=["PULL_ARTIFACT"]))
        _, _, digest, _, _, _ = self.push_pull_delete(name)
        got = only_delete.wait(1)
        self.assertEqual([json.loads(p["body"])["type"] for p in got], ["DELETE_ARTIFACT"])
        self.assertEqual([j["type"] for j in pulls.json()], ["PULL_ARTIFACT"])
        time.sleep(1.5)  # anything wrongly queued would have arrived by now
        self.assertEqual(off.received(), [])
        self.assertEqual(len(only_delete.received()), 1)
        self.assertEqual(len(pulls.received()), 1)

    def test_failing_receiver_retried_and_visible(self):
        name = bh.unique("fail")
        pid = self.api.create_project(name)
        flaky, dead = self.receiver([500, 500, 200]), self.receiver([503])
        w_flaky = self.create_policy(pid, self.policy_body(flaky.url(), event_types=["PUSH_ARTIFACT"]))
        w_dead = self.create_policy(pid, self.policy_body(dead.url(), event_types=["PUSH_ARTIFACT"]))
        t0 = time.time()
        self.reg.push_image("%s/r" % name, tag="v1")
        # Nothing blocks the push while the receivers fail.
        self.assertLess(time.time() - t0, 5)
        posts = flaky.wait(3)
        self.assertEqual(len({p["body"] for p in posts}), 1, "a retry must send the same bytes")
        dead.wait(3)  # max_attempts: 3
        ex = self.executions(pid, w_flaky)
        self.assertEqual(len(ex), 1, ex)
        self.assertEqual(ex[0]["status"], "Success")
        base = "/projects/%d/webhook/policies/%d/executions/%d" % (pid, w_flaky, ex[0]["id"])
        tasks = self.api.call("GET", base + "/tasks")
        self.assertEqual(tasks.status, 200)
        self.assertEqual(tasks.header("X-Total-Count"), "1")
        task = tasks.json()[0]
        self.assertEqual(set(task), TASK_KEYS)
        if ss.skip_reason() is None:
            ss.assert_shape(task, "Task", required=True)
        self.assertEqual((task["execution_id"], task["status"], task["run_count"]),
                         (ex[0]["id"], "Success", 3))
        r = self.api.call("GET", "%s/tasks/%d/log" % (base, task["id"]))
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"), r)
        log = r.body.decode()
        self.assertEqual(log.count("answered 500"), 2, log)
        self.assertIn("delivered", log)

        exd = self.executions(pid, w_dead)
        self.assertEqual(len(exd), 1, exd)
        e = exd[0]
        self.assertEqual(e["status"], "Error")
        self.assertIn("answered 503", e["status_message"])
        self.assertEqual(e["metrics"]["error_task_count"], 1)
        based = "/projects/%d/webhook/policies/%d/executions/%d" % (pid, w_dead, e["id"])
        task = self.api.ok("GET", based + "/tasks")[0]
        self.assertEqual((task["status"], task["run_count"]), ("Error", 3))
        self.assertIn("answered 503", task["status_message"])
        log = self.api.call("GET", "%s/tasks/%d/log" % (based, task["id"])).body.decode()
        self.assertEqual(log.count("answered 503"), 3, log)
        # An execution of one policy is not another's; a task id must match.
        self.assertRefused(self.api.call("GET", "/projects/%d/webhook/policies/%d/executions/%d/tasks"
                                         % (pid, w_flaky, e["id"])), 404)
        self.assertRefused(self.api.call("GET", "%s/tasks/%d/log" % (based, e["id"] + 100000)), 404)

        # Harbor's deprecated webhook jobs: the same deliveries, one job each.
        jobs = "/projects/%d/webhook/jobs" % pid
        r = self.api.call("GET", "%s?policy_id=%d" % (jobs, w_flaky))
        self.assertEqual((r.status, r.header("X-Total-Count")), (200, "1"), r)
        job = r.json()[0]
        if ss.skip_reason() is None:
            ss.assert_shape(job, "WebhookJob", required=True)
        self.assertEqual((job["id"], job["policy_id"], job["event_type"], job["notify_type"],
                          job["status"]), (ex[0]["id"], w_flaky, "PUSH_ARTIFACT", "http", "Success"))
        self.assertEqual(json.loads(job["job_detail"]), json.loads(posts[0]["body"]))

        def job_ids(policy, status):
            return [j["id"] for j in self.api.ok("GET", "%s?policy_id=%d&%s" % (jobs, policy, status))]
        self.assertEqual(job_ids(w_dead, "status=Error"), [e["id"]])
        self.assertEqual(job_ids(w_dead, "status=success"), [])
        self.assertEqual(job_ids(w_dead, "status=Success,error"), [e["id"]])
        self.assertEqual(job_ids(w_dead, "status=Running&status=Error"), [e["id"]])
        self.assertRefused(self.api.call("GET", jobs), 400)
        self.assertRefused(self.api.call("GET", jobs + "?policy_id=abc"), 400)
        self.assertRefused(self.api.call("GET", "%s?policy_id=%d&status=bogus" % (jobs, w_dead)), 400)
        self.assertRefused(self.api.call("GET", "%s?policy_id=%d" % (jobs, w_dead + 100000)), 404)
        # A policy of another project is not found through this one.
        other = self.api.create_project(bh.unique("oth"))
        self.assertRefused(self.api.call("GET", "/projects/%d/webhook/jobs?policy_id=%d"
                                         % (other, w_dead)), 404)

    def test_tag_retention_event(self):
        name = bh.unique("ret")
        r = self.api.call("POST", "/projects", {"project_name": name})
        self.assertEqual(r.status, 201, "%r" % r)
        pid = int(r.header("Location").rsplit("/", 1)[1])
        recv = self.receiver()
        self.create_policy(pid, self.policy_body(recv.url("/r"), event_types=["TAG_RETENTION"]))
        repo = "%s/app" % name
        for i, tag in enumerate(("v1", "v2", "v3")):
            self.reg.push_image(repo, tag, seed="ret-%s-%d" % (name, i))
            time.sleep(1.1)  # distinct push times, newest last
        rule = {"priority": 0, "disabled": False, "action": "retain", "template": "latestPushedK",
                "params": {"latestPushedK": 1},
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
                "scope_selectors": {"repository": [{"kind": "doublestar",
                                                    "decoration": "repoMatches", "pattern": "**"}]}}
        r = self.api.call("POST", "/retentions", {
            "algorithm": "or", "rules": [rule], "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
            "scope": {"level": "project", "ref": pid}})
        self.assertEqual(r.status, 201, "%r" % r)
        rid = int(r.header("Location").rsplit("/", 1)[1])
        # A dry run sends nothing (Harbor); the real run sends one event.
        for dry in (True, False):
            r = self.api.call("POST", "/retentions/%d/executions" % rid, {"dry_run": dry})
            self.assertEqual(r.status, 201, "%r" % r)
            eid = int(r.header("Location").rsplit("/", 1)[1])
            self.assertTrue(wait_until(lambda: [
                e for e in self.api.ok("GET", "/retentions/%d/executions" % rid)
                if e["id"] == eid and e["status"] not in ("Pending", "Running")]),
                "retention execution %d did not finish" % eid)
        recv.wait(1, "/r")
        time.sleep(1)
        self.assertEqual(len(recv.received("/r")), 1, recv.received("/r"))
        ev = recv.json("/r")[0]
        self.assertEqual(ev["type"], "TAG_RETENTION")
        self.assertEqual(ev["operator"], "MANUAL")
        ret = ev["event_data"]["retention"]
        self.assertEqual((ret["total"], ret["retained"]), (3, 1))
        self.assertEqual(ret["project_name"], name)
        self.assertEqual(ret["retention_policy_id"], rid)
        self.assertEqual(ret["harbor_hostname"], "127.0.0.1")
        self.assertEqual(ret["result"], "SUCCESS")
        self.assertEqual(ret["retention_rule"][0]["template"], "latestPushedK")
        self.assertEqual(ret["retention_rule"][0]["params"], {"latestPushedK": 1})
        self.assertEqual(sorted(a["name_tag"] for a in ret["deleted_artifact"]), ["app:v1", "app:v2"])
        self.assertEqual({(a["type"], a["status"]) for a in ret["deleted_artifact"]},
                         {("image", "SUCCESS")})

    def test_quota_exceed_and_warning(self):
        name = bh.unique("quo")
        r = self.api.call("POST", "/projects", {"project_name": name, "storage_limit": 2200})
        self.assertEqual(r.status, 201, "%r" % r)
        pid = int(r.header("Location").rsplit("/", 1)[1])
        recv = self.receiver()
        self.create_policy(pid, self.policy_body(recv.url("/q"),
                                                 event_types=["QUOTA_EXCEED", "QUOTA_WARNING"]))
        self.create_policy(pid, self.policy_body(recv.url("/qce"), event_types=["QUOTA_EXCEED"],
                                                 targets=[{"type": "http", "address": recv.url("/qce"),
                                                           "payload_format": "CloudEvents"}]))
        repo = "%s/big" % name
        big = b"x" * 5000
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, bh.sha256(big)), big,
                             {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 403, "%r" % r)
        ev = json.loads(recv.wait(1, "/q")[0]["body"])
        self.assertEqual(ev["type"], "QUOTA_EXCEED")
        ed = ev["event_data"]
        self.assertEqual(ed["repository"], {"name": "big", "namespace": name,
                                            "repo_full_name": repo, "repo_type": "private"})
        self.assertEqual(ed["resources"], [{"digest": bh.sha256(big)}])
        self.assertIn("exceed the configured upper limit", ed["custom_attributes"]["Details"])
        ce = json.loads(recv.wait(1, "/qce")[0]["body"])
        self.assertEqual(ce["type"], "harbor.quota.exceeded")
        self.assertEqual(ce["data"], ed)

        # Past 85% of the limit: QUOTA_WARNING after the push.
        config = b'{"architecture":"amd64","os":"linux"}'
        layer = b"y" * 1600
        self.reg.push_blob(repo, config)
        self.reg.push_blob(repo, layer)
        body = json.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                           "config": bh.descriptor(bh.OCI_CONFIG, config),
                           "layers": [bh.descriptor(bh.OCI_LAYER, layer)]}).encode()
        r = self.reg.put_manifest(repo, "w1", body, bh.OCI_MANIFEST)
        self.assertEqual(r.status, 201, "%r" % r)
        got = recv.wait(2, "/q")
        warn = json.loads(got[1]["body"])
        self.assertEqual(warn["type"], "QUOTA_WARNING")
        self.assertEqual(warn["operator"], bh.ADMIN_USER)
        self.assertEqual(warn["event_data"]["resources"], [{"digest": bh.sha256(body), "tag": "w1"}])
        self.assertIn("85%", warn["event_data"]["custom_attributes"]["Details"])

        # A refused manifest push (its blobs are there already) names its
        # tag and operator.
        body2 = json.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                            "config": bh.descriptor(bh.OCI_CONFIG, config),
                            "layers": [bh.descriptor(bh.OCI_LAYER, layer)],
                            "annotations": {"pad": "p" * 400}}).encode()
        r = self.reg.put_manifest(repo, "w2", body2, bh.OCI_MANIFEST)
        self.assertEqual(r.status, 403, "%r" % r)
        refused = json.loads(recv.wait(3, "/q")[2]["body"])
        self.assertEqual(refused["type"], "QUOTA_EXCEED")
        self.assertEqual(refused["operator"], bh.ADMIN_USER)
        self.assertEqual(refused["event_data"]["resources"], [{"digest": bh.sha256(body2), "tag": "w2"}])
        self.assertEqual(len(recv.wait(2, "/qce")), 2)

        # Once per crossing: another push while still above 85% is quiet;
        # after a push finds the project below (limit raised), lowering the
        # limit again re-arms the warning.
        quota = self.api.call("GET", "/quotas?reference=project&reference_id=%d" % pid).json()[0]
        r = self.reg.put_manifest(repo, "w3", body, bh.OCI_MANIFEST)
        self.assertEqual(r.status, 201, "%r" % r)
        for limit, tag in ((100000, "w4"), (2200, "w5")):
            r = self.api.call("PUT", "/quotas/%d" % quota["id"], {"hard": {"storage": limit}})
            self.assertEqual(r.status, 200, "%r" % r)
            r = self.reg.put_manifest(repo, tag, body, bh.OCI_MANIFEST)
            self.assertEqual(r.status, 201, "%r" % r)
        recv.wait(4, "/q")
        time.sleep(1)
        warned = [e["event_data"]["resources"][0]["tag"]
                  for e in recv.json("/q") if e["type"] == "QUOTA_WARNING"]
        self.assertEqual(warned, ["w1", "w5"])

    def test_policies_go_with_their_project(self):
        name = bh.unique("gone")
        pid = self.api.create_project(name)
        recv = self.receiver()
        wid = self.create_policy(pid, self.policy_body(recv.url()))
        self.api.ok("DELETE", "/projects/%d" % pid)
        self.assertRefused(self.api.call("GET", "/projects/%d/webhook/policies/%d" % (pid, wid)), 404)
        pid2 = self.api.create_project(name)
        self.assertEqual(self.api.ok("GET", "/projects/%d/webhook/policies" % pid2), [])
        self.assertRefused(self.api.call("GET", "/projects/%d/webhook/policies/%d" % (pid2, wid)), 404)
        self.reg.push_image("%s/x" % name, tag="t")
        time.sleep(1)
        self.assertEqual(recv.received(), [])

    def test_config_file_targets_still_delivered(self):
        name = bh.unique("cfg")
        before = len(self.cfg.received("/cfg"))
        _, digest = self.reg.push_image("%s/c" % name, tag="c1")
        wait_until(lambda: any(json.loads(p["body"])["event_data"]["resources"][0]["digest"] == digest
                               for p in self.cfg.received("/cfg")))
        mine = [json.loads(p["body"]) for p in self.cfg.received("/cfg")[before:]
                if json.loads(p["body"])["event_data"]["resources"][0]["digest"] == digest]
        self.assertEqual(len(mine), 1, mine)
        self.assertEqual(mine[0]["type"], "PUSH_ARTIFACT")
        self.assertEqual(mine[0]["event_data"]["resources"][0]["tag"], "c1")


if __name__ == "__main__":
    bh.main()
