#!/usr/bin/env python3
"""P2P preheat: Harbor's /api/v2.0/p2p/preheat/providers and /instances
(CRUD, q/sort/paging, ping, secrets never returned, system-admin only) and
/projects/{p}/preheat/policies (CRUD and validation with the field named,
project-admin only), manual runs over images pushed with skopeo whose
filters select the right artifacts, executions, tasks and task logs, a
failing and a stuck provider, event-based runs on push, scheduled runs,
stop, and the 412s of deleting what is in use.

The providers are tests/preheat/dragonfly_server.py (Dragonfly 2 manager's
open API; its seed peer fetches the manifest and blobs from berthd with the
headers berthd gave it) and kraken_server.py (Kraken's registry
notifications), both validating every request field by field.

Runs on SQLite, and on PostgreSQL as protocol_pg.preheat. Python 3 standard
library only (PyYAML for the swagger shape checks, skopeo for the pushes).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preheat"))
from dragonfly_server import DragonflyManager  # noqa: E402
from kraken_server import KrakenServer  # noqa: E402

CONFIG = """
preheat:
  task_timeout_s: 3
  poll_interval_ms: 100
"""
SECRET = "s3cret-Dragonfly-Pass"
TOKEN = "kraken-oauth-token-123"
# The images a test pushes go through a "base" repository first.
APP_ONLY = [{"type": "repository", "value": "app"}]


def wait_until(pred, timeout=30.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class PreheatTest(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry(config=CONFIG).start()
        cls.api = Api(cls.reg)
        cls.servers = []
        cls.shape = ss.skip_reason() is None

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            s.stop()
        super().tearDownClass()

    # -- helpers -----------------------------------------------------------

    def dragonfly(self, **kw):
        s = DragonflyManager(**kw).start()
        self.servers.append(s)
        return s

    def kraken(self, **kw):
        s = KrakenServer(**kw).start()
        self.servers.append(s)
        return s

    def instance(self, server, vendor="dragonfly", auth_mode="NONE", auth_info=None, **extra):
        name = bh.unique("inst")
        body = {"name": name, "vendor": vendor, "endpoint": server.url, "auth_mode": auth_mode,
                "auth_info": auth_info or {}, "enabled": True, "default": False, "insecure": True}
        body.update(extra)
        r = self.api.call("POST", "/p2p/preheat/instances", body)
        self.assertStatus(r, 201)
        self.assertEqual(r.header("Location"), "/api/v2.0/p2p/preheat/instances/" + name)
        got = self.api.ok("GET", "/p2p/preheat/instances/" + name)
        return got

    def project(self):
        name = bh.unique("ph")
        pid = self.api.create_project(name)
        return name, pid

    def policy(self, project, provider_id, filters, trigger=None, expect=201, **extra):
        name = extra.pop("name", bh.unique("pol"))
        body = {"name": name, "provider_id": provider_id,
                "filters": json.dumps(filters),
                "trigger": json.dumps(trigger or {"type": "manual", "trigger_setting": {}}),
                "enabled": True}
        body.update(extra)
        r = self.api.call("POST", "/projects/%s/preheat/policies" % project, body)
        self.assertStatus(r, expect)
        if expect == 201:
            self.assertEqual(r.header("Location"),
                             "/api/v2.0/projects/%s/preheat/policies/%s" % (project, name))
        return name, r

    def skopeo_copy(self, src, dst):
        creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)
        host = "127.0.0.1:%d" % self.reg.port
        r = subprocess.run(["skopeo", "copy", "--retry-times", "0", "--src-tls-verify=false",
                            "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
                            "docker://%s/%s" % (host, src), "docker://%s/%s" % (host, dst)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))

    def push_images(self, project, refs):
        """Pushes one distinct image per seed with the harness, then skopeo
        copies it to each of `refs` ({"app:v1": "s1", ...}); returns
        {ref: digest}."""
        if shutil.which("skopeo") is None:
            self.skipTest("skopeo is not installed")
        digests, seeds = {}, {}
        for ref, seed in refs.items():
            if seed not in seeds:
                tag = "seed-" + seed
                _, seeds[seed] = self.reg.push_image(project + "/base", tag, seed=seed + project)
            self.skopeo_copy("%s/base:seed-%s" % (project, seed), "%s/%s" % (project, ref))
            repo, tag = ref.rsplit(":", 1)
            digests[ref] = self.digest_of("%s/%s" % (project, repo), tag)
        return digests

    def digest_of(self, repo, tag):
        """The digest berthd has for repo:tag (skopeo may rewrite what it copies)."""
        r = self.reg.request("HEAD", "/v2/%s/manifests/%s" % (repo, tag), headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
                      "application/vnd.docker.distribution.manifest.v2+json"})
        self.assertStatus(r, 200)
        return r.header("Docker-Content-Digest")

    def run_policy(self, project, name, expect=201):
        r = self.api.call("POST", "/projects/%s/preheat/policies/%s" % (project, name),
                          {"name": name})
        self.assertStatus(r, expect)
        if expect != 201:
            return r
        loc = r.header("Location")
        m = re.match(r"^/api/v2\.0/projects/%s/preheat/policies/%s/executions/(\d+)$" %
                     (re.escape(project), re.escape(name)), loc)
        self.assertTrue(m, loc)
        return int(m.group(1))

    def execution(self, project, name, eid):
        return self.api.ok("GET", "/projects/%s/preheat/policies/%s/executions/%d" %
                           (project, name, eid))

    def wait_execution(self, project, name, eid, statuses=("Success", "Error", "Stopped"),
                       timeout=40):
        got = wait_until(lambda: (lambda e: e if e["status"] in statuses else None)(
            self.execution(project, name, eid)), timeout=timeout)
        self.assertTrue(got, "execution %d did not reach %s: %r" %
                        (eid, statuses, self.execution(project, name, eid)))
        return got

    def tasks(self, project, name, eid):
        return self.api.ok("GET", "/projects/%s/preheat/policies/%s/executions/%d/tasks?page_size=100"
                           % (project, name, eid))

    def task_log(self, project, name, eid, tid):
        r = self.api.call("GET", "/projects/%s/preheat/policies/%s/executions/%d/tasks/%d/logs" %
                          (project, name, eid, tid))
        self.assertStatus(r, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        return r.body.decode()

    def assertShape(self, obj, schema):
        if self.shape:
            ss.assert_shape(obj, schema)

    # -- providers and instances -------------------------------------------

    def test_providers(self):
        got = self.api.ok("GET", "/p2p/preheat/providers")
        self.assertShape(got, {"type": "array", "items": {"$ref": "#/definitions/Metadata"}})
        by_id = {p["id"]: p for p in got}
        self.assertEqual(set(by_id), {"dragonfly", "kraken"})
        self.assertEqual(by_id["dragonfly"]["name"], "Dragonfly")
        self.assertEqual(by_id["dragonfly"]["source"], "https://github.com/dragonflyoss/Dragonfly2")
        self.assertEqual(by_id["kraken"]["name"], "Kraken")
        self.assertTrue(by_id["kraken"]["maintainers"])
        self.assertError(self.api.call("GET", "/p2p/preheat/providers", auth=None), 401, "UNAUTHORIZED")
        user = self.api.create_user(bh.unique("u"))
        self.assertError(self.api.call("GET", "/p2p/preheat/providers", auth=user), 403, "FORBIDDEN")

    def test_instance_crud_and_secrets(self):
        df = self.dragonfly(auth=("basic", "df-user", SECRET))
        got = self.instance(df, auth_mode="BASIC",
                            auth_info={"username": "df-user", "password": SECRET},
                            description="seed peers")
        self.assertShape(got, "Instance")
        name = got["name"]
        self.assertEqual(got["auth_info"], {"username": "df-user", "password": "*****"})
        self.assertEqual((got["vendor"], got["endpoint"], got["auth_mode"], got["enabled"],
                          got["default"], got["insecure"], got["description"]),
                         ("dragonfly", df.url, "BASIC", True, False, True, "seed peers"))
        self.assertGreater(got["setup_timestamp"], 1600000000)
        # The secret is in no answer.
        for path in ("/p2p/preheat/instances?page_size=100", "/p2p/preheat/instances/" + name):
            r = self.api.call("GET", path)
            self.assertStatus(r, 200)
            self.assertNotIn(SECRET.encode(), r.body)
        # Nor in the metadata database: it is sealed (AES-256-GCM) at rest.
        if not self.reg.postgres_dsn():
            seen_row = False
            for root, _, files in os.walk(self.reg.data_dir):
                for f in files:
                    with open(os.path.join(root, f), "rb") as fh:
                        data = fh.read()
                    self.assertNotIn(SECRET.encode(), data, os.path.join(root, f))
                    seen_row = seen_row or (name.encode() in data and b"aesgcm:v1:" in data)
            self.assertTrue(seen_row, "the instance's row was not found in the data directory")
        # Lists: q, sort, paging.
        other = self.instance(df, auth_mode="BASIC",
                              auth_info={"username": "df-user", "password": SECRET})
        r = self.api.call("GET", "/p2p/preheat/instances?q=name%%3D%s" % name)
        self.assertStatus(r, 200)
        self.assertEqual([i["name"] for i in r.json()], [name])
        self.assertEqual(r.header("X-Total-Count"), "1")
        r = self.api.call("GET", "/p2p/preheat/instances?q=name%3D~inst&sort=-id&page_size=1")
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json()), 1)
        self.assertGreaterEqual(int(r.header("X-Total-Count")), 2)
        self.assertIn('rel="next"', r.header("Link"))
        self.assertEqual(r.json()[0]["id"], max(got["id"], other["id"]))
        self.assertError(self.api.call("GET", "/p2p/preheat/instances?q=bogus%3D1"), 400, "BAD_REQUEST")

        # Ping by id uses the stored credentials; the manager checks them.
        self.assertStatus(self.api.call("POST", "/p2p/preheat/instances/ping", {"id": got["id"]}), 200)
        self.assertEqual(df.requests[-1][1], "/healthy")
        self.assertError(self.api.call("POST", "/p2p/preheat/instances/ping",
                                       {"vendor": "dragonfly", "endpoint": df.url, "auth_mode": "BASIC",
                                        "auth_info": {"username": "df-user", "password": "wrong"}}),
                         400, "BAD_REQUEST")
        self.assertStatus(self.api.call("POST", "/p2p/preheat/instances/ping",
                                        {"vendor": "dragonfly", "endpoint": df.url, "auth_mode": "BASIC",
                                         "auth_info": {"username": "df-user", "password": SECRET}}), 200)
        r = self.api.call("POST", "/p2p/preheat/instances/ping", {"id": 999999})
        self.assertEqual(r.status, 404, "%r" % r)
        self.assertError(self.api.call("POST", "/p2p/preheat/instances/ping", {"vendor": "dragonfly"}),
                         400, "BAD_REQUEST")

        # PUT without auth_info keeps the credentials, a masked value too.
        upd = dict(got, description="changed")
        upd.pop("auth_info")
        self.assertStatus(self.api.call("PUT", "/p2p/preheat/instances/" + name, upd), 200)
        self.assertStatus(self.api.call("POST", "/p2p/preheat/instances/ping", {"id": got["id"]}), 200)
        upd = dict(got, description="changed", default=True)  # auth_info: GET's masked one
        self.assertStatus(self.api.call("PUT", "/p2p/preheat/instances/" + name, upd), 200)
        self.assertStatus(self.api.call("POST", "/p2p/preheat/instances/ping", {"id": got["id"]}), 200)
        now = self.api.ok("GET", "/p2p/preheat/instances/" + name)
        self.assertEqual((now["description"], now["default"]), ("changed", True))
        # One default at a time.
        upd = dict(other, default=True)
        upd.pop("auth_info")
        self.assertStatus(self.api.call("PUT", "/p2p/preheat/instances/" + other["name"], upd), 200)
        self.assertFalse(self.api.ok("GET", "/p2p/preheat/instances/" + name)["default"])
        # NONE drops them: the manager refuses the ping.
        upd = dict(now, auth_mode="NONE", auth_info={})
        self.assertStatus(self.api.call("PUT", "/p2p/preheat/instances/" + name, upd), 200)
        self.assertEqual(self.api.ok("GET", "/p2p/preheat/instances/" + name)["auth_info"], {})
        self.assertError(self.api.call("POST", "/p2p/preheat/instances/ping", {"id": got["id"]}),
                         400, "BAD_REQUEST")

        # Bad input.
        base = {"name": bh.unique("inst"), "vendor": "dragonfly", "endpoint": df.url,
                "auth_mode": "NONE", "enabled": True}
        for change, word in [({"name": "Bad Name!"}, "name"), ({"name": ""}, "name"),
                             ({"vendor": "nydus"}, "vendor"), ({"endpoint": "ftp://x"}, "endpoint"),
                             ({"endpoint": ""}, "endpoint"), ({"auth_mode": "KERBEROS"}, "auth_mode"),
                             ({"auth_mode": "BASIC", "auth_info": {"username": "u"}}, "password"),
                             ({"auth_mode": "OAUTH", "auth_info": {}}, "token"),
                             ({"auth_info": {"a": 1}}, "auth_info")]:
            r = self.api.call("POST", "/p2p/preheat/instances", dict(base, **change))
            self.assertError(r, 400, "BAD_REQUEST")
            self.assertIn(word, r.json()["errors"][0]["message"])
        self.assertError(self.api.call("POST", "/p2p/preheat/instances", dict(base, name=name)),
                         409, "CONFLICT")

        # System administrators only.
        user = self.api.create_user(bh.unique("u"))
        for method, path, body in [("GET", "/p2p/preheat/instances", None),
                                   ("GET", "/p2p/preheat/instances/" + name, None),
                                   ("POST", "/p2p/preheat/instances", base),
                                   ("PUT", "/p2p/preheat/instances/" + name, now),
                                   ("DELETE", "/p2p/preheat/instances/" + name, None),
                                   ("POST", "/p2p/preheat/instances/ping", {"id": got["id"]})]:
            self.assertError(self.api.call(method, path, body, auth=None), 401, "UNAUTHORIZED")
            self.assertError(self.api.call(method, path, body, auth=user), 403, "FORBIDDEN")

        self.assertStatus(self.api.call("DELETE", "/p2p/preheat/instances/" + name), 200)
        self.assertError(self.api.call("GET", "/p2p/preheat/instances/" + name), 404, "NOT_FOUND")
        self.assertError(self.api.call("DELETE", "/p2p/preheat/instances/" + name), 404, "NOT_FOUND")

    # -- policies ----------------------------------------------------------

    def test_policy_crud_validation_and_rbac(self):
        df = self.dragonfly()
        inst = self.instance(df)
        p, pid = self.project()
        filters = [{"type": "repository", "value": "app/**"}, {"type": "tag", "value": "v*"}]
        name, _ = self.policy(p, inst["id"], filters, description="warm releases",
                              extra_attrs=json.dumps({"cluster_ids": [1, 2]}), scope="all_peers")
        got = self.api.ok("GET", "/projects/%s/preheat/policies/%s" % (p, name))
        self.assertShape(got, "PreheatPolicy")
        self.assertEqual((got["name"], got["project_id"], got["provider_id"], got["provider_name"],
                          got["enabled"], got["description"]),
                         (name, pid, inst["id"], inst["name"], True, "warm releases"))
        self.assertEqual(json.loads(got["filters"]), filters)
        self.assertEqual(json.loads(got["trigger"])["type"], "manual")
        self.assertEqual(json.loads(got["extra_attrs"]), {"cluster_ids": [1, 2], "scope": "all_peers"})
        listed = self.api.call("GET", "/projects/%s/preheat/policies" % p)
        self.assertStatus(listed, 200)
        self.assertEqual([x["name"] for x in listed.json()], [name])
        self.assertEqual(listed.header("X-Total-Count"), "1")
        provs = self.api.ok("GET", "/projects/%s/preheat/providers" % p)
        self.assertShape(provs, {"type": "array", "items": {"$ref": "#/definitions/ProviderUnderProject"}})
        self.assertIn({"id": inst["id"], "provider": "dragonfly %s-%s" % (inst["name"], df.url),
                       "enabled": True, "default": False}, provs)

        # Update.
        body = dict(got, description="all tags", filters=json.dumps([{"type": "tag", "value": "**"}]))
        self.assertStatus(self.api.call("PUT", "/projects/%s/preheat/policies/%s" % (p, name), body), 200)
        got2 = self.api.ok("GET", "/projects/%s/preheat/policies/%s" % (p, name))
        self.assertEqual(got2["description"], "all tags")
        self.assertEqual(json.loads(got2["extra_attrs"])["scope"], "all_peers")
        self.assertError(self.api.call("PUT", "/projects/%s/preheat/policies/nope" % p, body),
                         404, "NOT_FOUND")

        # Bad input, nothing written.
        ok_trigger = json.dumps({"type": "manual"})
        cases = [({"name": "bad name"}, "name"),
                 ({"provider_id": 0}, "provider_id"),
                 ({"provider_id": 999999}, "provider_id"),
                 ({"filters": "not json"}, "filters"),
                 ({"filters": ""}, "filters"),
                 ({"filters": json.dumps([{"type": "color", "value": "red"}])}, "filters[0].type"),
                 ({"filters": json.dumps([{"type": "tag", "value": 3}])}, "filters[0].value"),
                 ({"filters": json.dumps([{"type": "signature", "value": "yes"}])}, "filters[0].value"),
                 ({"filters": json.dumps([{"type": "vulnerability", "value": 9}])}, "filters[0].value"),
                 ({"filters": json.dumps([{"type": "tag", "value": "["}])}, "filters[0].value"),
                 ({"trigger": json.dumps({"type": "hourly"})}, "trigger.type"),
                 ({"trigger": json.dumps({"type": "scheduled"})}, "cron"),
                 ({"trigger": json.dumps({"type": "scheduled",
                                          "trigger_setting": {"cron": "0 0 0 30 2 *"}})}, "cron"),
                 ({"trigger": json.dumps({"type": "scheduled",
                                          "trigger_setting": {"cron": "every day"}})}, "cron"),
                 ({"trigger": ""}, "trigger"),
                 ({"scope": "some_peers"}, "scope"),
                 ({"extra_attrs": "[1]"}, "extra_attrs"),
                 ({"extra_attrs": json.dumps({"cluster_ids": ["a"]})}, "cluster_ids")]
        for change, word in cases:
            body = {"name": bh.unique("pol"), "provider_id": inst["id"],
                    "filters": json.dumps(filters), "trigger": ok_trigger, "enabled": True}
            body.update(change)
            r = self.api.call("POST", "/projects/%s/preheat/policies" % p, body)
            self.assertError(r, 400, "BAD_REQUEST")
            self.assertIn(word, r.json()["errors"][0]["message"], change)
        self.assertEqual(self.api.call("GET", "/projects/%s/preheat/policies" % p).header("X-Total-Count"), "1")
        self.policy(p, inst["id"], filters, name=name, expect=409)
        self.assertError(self.api.call("GET", "/projects/nosuchproject/preheat/policies"), 404, None)

        # Project administrators only (Harbor's preheat-policy).
        users = {}
        for role in ("projectAdmin", "maintainer", "developer", "guest"):
            users[role] = self.api.create_user(bh.unique(role[:4].lower()))
            self.api.add_member(pid, users[role], role)
        outsider = self.api.create_user(bh.unique("out"))
        one = "/projects/%s/preheat/policies/%s" % (p, name)
        reqs = [("GET", "/projects/%s/preheat/policies" % p, None),
                ("POST", "/projects/%s/preheat/policies" % p,
                 {"name": bh.unique("pol"), "provider_id": inst["id"], "filters": "[]",
                  "trigger": ok_trigger, "enabled": True}),
                ("GET", one, None), ("PUT", one, got2), ("POST", one, {}),
                ("GET", one + "/executions", None),
                ("GET", "/projects/%s/preheat/providers" % p, None)]
        for method, path, body in reqs:
            for role in ("maintainer", "developer", "guest"):
                self.assertError(self.api.call(method, path, body, auth=users[role]), 403, "FORBIDDEN")
            self.assertError(self.api.call(method, path, body, auth=outsider), 403, "FORBIDDEN")
            self.assertError(self.api.call(method, path, body, auth=None), 401, "UNAUTHORIZED")
        pa = users["projectAdmin"]
        self.assertStatus(self.api.call("GET", one, auth=pa), 200)
        r = self.api.call("POST", "/projects/%s/preheat/policies" % p,
                          {"name": "by-admin", "provider_id": inst["id"], "filters": "[]",
                           "trigger": ok_trigger, "enabled": True}, auth=pa)
        self.assertStatus(r, 201)
        # ... but instances stay the system administrator's.
        self.assertError(self.api.call("GET", "/p2p/preheat/instances", auth=pa), 403, "FORBIDDEN")

        # An instance in use cannot go; the policies go with their project.
        self.assertError(self.api.call("DELETE", "/p2p/preheat/instances/" + inst["name"]),
                         412, "PRECONDITION")
        self.assertStatus(self.api.call("DELETE", one, auth=pa), 200)
        self.assertError(self.api.call("GET", one), 404, "NOT_FOUND")
        self.assertStatus(self.api.call("DELETE", "/projects/%d" % pid), 200)
        self.assertStatus(self.api.call("DELETE", "/p2p/preheat/instances/" + inst["name"]), 200)

    # -- executions ----------------------------------------------------------

    def test_manual_run_filters_tasks_and_credential(self):
        df = self.dragonfly()
        inst = self.instance(df)
        p, pid = self.project()
        digests = self.push_images(p, {"app:v1": "a", "app:v2": "b", "app:dev": "c",
                                       "other:v1": "a", "team/app:v3": "d"})
        name, _ = self.policy(p, inst["id"], [{"type": "repository", "value": "**/app"},
                                              {"type": "tag", "value": "v*"}],
                              extra_attrs=json.dumps({"cluster_ids": [3]}), scope="all_peers")
        eid = self.run_policy(p, name)
        ex = self.wait_execution(p, name, eid)
        self.assertShape(ex, "Execution")
        self.assertEqual(ex["status"], "Success", ex)
        self.assertEqual((ex["vendor_type"], ex["trigger"]), ("P2P_PREHEAT", "manual"))
        self.assertEqual(ex["metrics"]["task_count"], 3)
        self.assertEqual(ex["metrics"]["success_task_count"], 3)
        tasks = self.tasks(p, name, eid)
        self.assertShape(tasks, {"type": "array", "items": {"$ref": "#/definitions/Task"}})
        self.assertEqual(sorted(t["extra_attrs"]["artifact"] for t in tasks),
                         ["%s/app:v1" % p, "%s/app:v2" % p, "%s/team/app:v3" % p])
        for t in tasks:
            self.assertEqual((t["status"], t["run_count"], t["execution_id"]), ("Success", 1, eid))
            ref = t["extra_attrs"]["artifact"].split("/", 1)[1]
            self.assertEqual(t["extra_attrs"]["digest"], digests[ref])
            log = self.task_log(p, name, eid, t["id"])
            self.assertIn("succeeded", log)
            self.assertIn("/v2/%s/manifests/" % t["extra_attrs"]["artifact"].split(":")[0], log)
        # Dragonfly got one job per task, field for field, and its seed peer
        # fetched each manifest and blob with the header berthd gave it.
        self.assertEqual(df.rejected, [])
        jobs = [b for (m, path, _, b) in df.requests if m == "POST" and path == "/oapi/v1/jobs"]
        self.assertEqual(len(jobs), 3)
        for j in jobs:
            self.assertEqual(j["scheduler_cluster_ids"], [3])
            self.assertEqual(j["args"]["scope"], "all_peers")
            self.assertRegex(j["args"]["url"], r"^http://127\.0\.0\.1:%d/v2/%s/" % (self.reg.port, p))
        self.assertTrue(df.fetches)
        self.assertTrue(all(s == 200 for (_, _, s, _) in df.fetches), df.fetches)
        # The credential is for that one repository, for pulls only.
        job = next(j for j in jobs if "/%s/app/manifests/v1" % p in j["args"]["url"])
        auth = job["args"]["headers"]["Authorization"]
        base = "http://127.0.0.1:%d/v2/" % self.reg.port

        def status(url, method="GET"):
            req = urllib.request.Request(url, method=method, headers={
                "Authorization": auth, "Accept": "application/vnd.oci.image.manifest.v1+json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
        self.assertEqual(status(base + "%s/app/manifests/v1" % p), 200)
        self.assertIn(status(base + "%s/other/manifests/v1" % p), (401, 403))
        self.assertIn(status(base + "%s/app/manifests/%s" % (p, digests["app:v1"]), "DELETE"),
                      (401, 403))

        # A label filter: only the labelled artifact.
        lid = self.api.create_label({"name": bh.unique("hot"), "scope": "g"})
        label_name = self.api.ok("GET", "/labels/%d" % lid)["name"]
        self.assertStatus(self.api.call("POST", "/projects/%s/repositories/app/artifacts/v2/labels" % p,
                                        {"id": lid}), 200)
        lname, _ = self.policy(p, inst["id"], [{"type": "label", "value": [label_name]}])
        eid = self.run_policy(p, lname)
        self.assertEqual(self.wait_execution(p, lname, eid)["status"], "Success")
        self.assertEqual([t["extra_attrs"]["artifact"] for t in self.tasks(p, lname, eid)],
                         ["%s/app:v2" % p])
        # Signature and vulnerability filters: nothing is signed; with no
        # scan data every artifact is unscanned, which a vulnerability
        # filter excludes (Harbor's default severity code 99).
        for filters in ([{"type": "signature", "value": True}],
                        [{"type": "vulnerability", "value": 5}]):
            fname, _ = self.policy(p, inst["id"], filters)
            eid = self.run_policy(p, fname)
            ex = self.wait_execution(p, fname, eid)
            self.assertEqual((ex["status"], ex["metrics"]["task_count"], ex["status_message"]),
                             ("Success", 0, "no artifacts to preheat"))
        # A disabled policy does not run.
        got = self.api.ok("GET", "/projects/%s/preheat/policies/%s" % (p, fname))
        self.assertStatus(self.api.call("PUT", "/projects/%s/preheat/policies/%s" % (p, fname),
                                        dict(got, enabled=False)), 200)
        self.assertError(self.run_policy(p, fname, expect=412), 412, "PRECONDITION")
        # Executions list, and their 404s.
        r = self.api.call("GET", "/projects/%s/preheat/policies/%s/executions" % (p, name))
        self.assertStatus(r, 200)
        self.assertEqual(r.header("X-Total-Count"), "1")
        self.assertError(self.api.call("GET", "/projects/%s/preheat/policies/%s/executions/%d" %
                                       (p, lname, ex["id"])), 404, "NOT_FOUND")
        self.assertError(self.api.call("GET", "/projects/%s/preheat/policies/%s/executions/%d/tasks/%d/logs"
                                       % (p, name, ex["id"], tasks[0]["id"])), 404, "NOT_FOUND")

    def test_kraken(self):
        kr = self.kraken(auth=("bearer", TOKEN))
        inst = self.instance(kr, vendor="kraken", auth_mode="OAUTH", auth_info={"token": TOKEN})
        self.assertEqual(inst["auth_info"], {"token": "*****"})
        p, _ = self.project()
        digests = self.push_images(p, {"web:1.0": "k"})
        name, _ = self.policy(p, inst["id"], [{"type": "tag", "value": "1.*"}])
        eid = self.run_policy(p, name)
        self.assertEqual(self.wait_execution(p, name, eid)["status"], "Success")
        self.assertEqual(kr.rejected, [])
        self.assertEqual(len(kr.events), 1)
        t = kr.events[0]["Target"]
        self.assertEqual((t["Repository"], t["Tag"], t["Digest"]), (p + "/web", "1.0", digests["web:1.0"]))
        self.assertEqual(t["Url"], "http://127.0.0.1:%d/v2/%s/web/manifests/1.0" % (self.reg.port, p))

    def test_failing_and_stuck_provider(self):
        p, _ = self.project()
        self.push_images(p, {"app:v1": "f"})
        bad = self.dragonfly(mode="fail")
        name, _ = self.policy(p, self.instance(bad)["id"], APP_ONLY)
        eid = self.run_policy(p, name)
        ex = self.wait_execution(p, name, eid)
        self.assertEqual(ex["status"], "Error", ex)
        self.assertIn("1 of 1 preheat tasks failed", ex["status_message"])
        self.assertEqual(ex["metrics"]["error_task_count"], 1)
        [t] = self.tasks(p, name, eid)
        self.assertEqual(t["status"], "Error")
        self.assertIn("connection reset by peer", t["status_message"])
        log = self.task_log(p, name, eid, t["id"])
        self.assertIn("[ERROR] preheat failed at the provider: seed peer 127.0.0.1 failed", log)

        stuck = self.dragonfly(mode="stuck")
        name, _ = self.policy(p, self.instance(stuck)["id"], APP_ONLY)
        eid = self.run_policy(p, name)
        ex = self.wait_execution(p, name, eid)
        self.assertEqual(ex["status"], "Error", ex)
        [t] = self.tasks(p, name, eid)
        self.assertIn("timed out after 3 s", t["status_message"])
        self.assertIn("last status RUNNING", self.task_log(p, name, eid, t["id"]))

        # A provider that is down: the manual run is refused up front.
        down = self.dragonfly(mode="down")
        name, _ = self.policy(p, self.instance(down)["id"], APP_ONLY)
        r = self.run_policy(p, name, expect=412)
        self.assertError(r, 412, "PRECONDITION")
        self.assertIn("not healthy", r.json()["errors"][0]["message"])

    def test_stop(self):
        slow = self.dragonfly(mode="slow", slow_s=60)
        p, _ = self.project()
        self.push_images(p, {"app:v1": "s1", "app:v2": "s2"})
        name, _ = self.policy(p, self.instance(slow)["id"], APP_ONLY)
        eid = self.run_policy(p, name)
        wait_until(lambda: any(t["status"] == "Running" for t in self.tasks(p, name, eid)))
        path = "/projects/%s/preheat/policies/%s/executions/%d" % (p, name, eid)
        self.assertError(self.api.call("PATCH", path, {"status": "Success"}), 400, "BAD_REQUEST")
        # A running execution keeps its policy.
        self.assertError(self.api.call("DELETE", "/projects/%s/preheat/policies/%s" % (p, name)),
                         412, "PRECONDITION")
        self.assertStatus(self.api.call("PATCH", path, {"status": "Stopped"}), 200)
        ex = self.wait_execution(p, name, eid, timeout=15)
        self.assertEqual(ex["status"], "Stopped", ex)
        self.assertEqual(sorted(t["status"] for t in self.tasks(p, name, eid)), ["Stopped", "Stopped"])
        self.assertStatus(self.api.call("DELETE", "/projects/%s/preheat/policies/%s" % (p, name)), 200)

    def test_event_based_on_push(self):
        df = self.dragonfly()
        inst = self.instance(df)
        p, _ = self.project()
        name, _ = self.policy(p, inst["id"], [{"type": "repository", "value": "app"},
                                              {"type": "tag", "value": "release-*"}],
                              trigger={"type": "event_based", "trigger_setting": {}})
        execs = "/projects/%s/preheat/policies/%s/executions" % (p, name)
        digests = self.push_images(p, {"app:dev": "e1", "other:release-1": "e1"})
        time.sleep(0.5)
        self.assertEqual(self.api.ok("GET", execs), [])
        digests.update(self.push_images(p, {"app:release-1": "e2"}))
        ex = wait_until(lambda: self.api.ok("GET", execs), timeout=20)
        self.assertEqual(len(ex), 1, ex)
        ex = self.wait_execution(p, name, ex[0]["id"])
        self.assertEqual((ex["status"], ex["trigger"]), ("Success", "event_based"))
        [t] = self.tasks(p, name, ex["id"])
        self.assertEqual((t["extra_attrs"]["artifact"], t["extra_attrs"]["digest"]),
                         ("%s/app:release-1" % p, digests["app:release-1"]))

        # Labelling an artifact is an event too (Harbor's ArtifactLabeledEvent):
        # a policy wanting the label preheats every tag of it once it has it.
        lid = self.api.create_label({"name": bh.unique("warm"), "scope": "g"})
        label = self.api.ok("GET", "/labels/%d" % lid)["name"]
        lname, _ = self.policy(p, inst["id"], [{"type": "repository", "value": "app"},
                                               {"type": "label", "value": label}],
                               trigger={"type": "event_based"})
        lexecs = "/projects/%s/preheat/policies/%s/executions" % (p, lname)
        self.assertEqual(self.api.ok("GET", lexecs), [])
        self.assertStatus(self.api.call("POST", "/projects/%s/repositories/app/artifacts/dev/labels" % p,
                                        {"id": lid}), 200)
        ex = wait_until(lambda: self.api.ok("GET", lexecs), timeout=20)
        self.assertEqual(len(ex), 1, ex)
        ex = self.wait_execution(p, lname, ex[0]["id"])
        self.assertEqual((ex["status"], ex["trigger"]), ("Success", "event_based"))
        self.assertEqual([t["extra_attrs"]["artifact"] for t in self.tasks(p, lname, ex["id"])],
                         ["%s/app:dev" % p])

    def test_scheduled(self):
        df = self.dragonfly()
        inst = self.instance(df)
        p, _ = self.project()
        self.push_images(p, {"app:v1": "c1"})
        name, _ = self.policy(p, inst["id"], APP_ONLY,
                              trigger={"type": "scheduled", "trigger_setting": {"cron": "*/2 * * * * *"}})
        execs = "/projects/%s/preheat/policies/%s/executions" % (p, name)
        ex = wait_until(lambda: self.api.ok("GET", execs), timeout=20)
        self.assertTrue(ex)
        ex = self.wait_execution(p, name, ex[-1]["id"])
        self.assertEqual((ex["status"], ex["trigger"]), ("Success", "scheduled"))
        self.assertEqual(ex["metrics"]["task_count"], 1)
        # Back to manual: the schedule goes.
        got = self.api.ok("GET", "/projects/%s/preheat/policies/%s" % (p, name))
        got["trigger"] = json.dumps({"type": "manual"})
        self.assertStatus(self.api.call("PUT", "/projects/%s/preheat/policies/%s" % (p, name), got), 200)
        time.sleep(0.5)
        n = len(self.api.ok("GET", execs + "?page_size=100"))
        time.sleep(3)
        self.assertEqual(len(self.api.ok("GET", execs + "?page_size=100")), n)


if __name__ == "__main__":
    bh.main()
