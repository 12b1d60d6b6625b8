#!/usr/bin/env python3
"""Replication: Harbor's /api/v2.0/registries, /replication/adapters(+infos),
/replication/policies and /replication/executions against real peers
started here on 127.0.0.1: Debian's docker-registry 2.8 (with and without
htpasswd Basic auth) and a second berthd (through the harbor adapter).

Covers registry CRUD, ping, info, denials, bad input, secrets never
returned and sealed at rest; push-based manual replication of images
pushed with skopeo (a multi-arch index and a non-image artifact too),
checked by pulling from the peer with skopeo; name/tag filters and the
destination namespace; pull-based replication; event-based replication on
push and deletion propagation; a blob the destination has is not sent
again (task bytes); Berth to Berth both ways; kill -9 of berthd in the
middle of an execution, which resumes after the restart without redoing
finished tasks.
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

import berth_harness as bh
from berth_harness import (DOCKER_REGISTRY, HTPASSWD, PEER_PASSWORD, PEER_USER, SKOPEO,
                            DockerRegistry, Layout, push_layout, remote_digest, skopeo)
from harbor_api import Api

try:
    import swagger_shape as ss
except Exception:  # noqa: BLE001
    ss = None

# On PostgreSQL (protocol_pg.replication) only the classes that exercise the
# stores run (registries, policies, tasks and a resumed execution): the
# transfers are the same code on both and would double the suite's time.
ON_POSTGRES = bool(os.environ.get("BERTH_PROTOCOL_POSTGRES_DSN_FILE"))
transfers = unittest.skipIf(ON_POSTGRES, "transfers run on SQLite only (same code)")


class ReplicationCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (DOCKER_REGISTRY, SKOPEO, HTPASSWD):
            if not os.path.exists(tool):
                raise unittest.SkipTest("%s is not installed" % tool)
        cls.reg = bh.Registry(config="jobs:\n  lease_s: 3\n  poll_ms: 200\n").start()
        cls.api = Api(cls.reg)
        cls.open_registry = DockerRegistry()
        cls.auth_registry = DockerRegistry(basic_auth=True)
        cls.admin_creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        for r in (cls.open_registry, cls.auth_registry):
            r.stop()
        cls.reg.cleanup_checked(cls.__name__)

    # -- helpers -----------------------------------------------------------

    @property
    def berth(self):
        return "127.0.0.1:%d" % self.reg.port

    def shape(self, obj, definition):
        if ss is not None and ss.skip_reason() is None:
            ss.assert_shape(obj, definition)

    def create_registry(self, name, url, type_="docker-registry", creds=None, expect=201):
        body = {"name": name, "type": type_, "url": url, "insecure": True}
        if creds:
            body["credential"] = {"type": "basic", "access_key": creds[0], "access_secret": creds[1]}
        r = self.api.call("POST", "/registries", body)
        self.assertEqual(r.status, expect, "%r" % r)
        if expect != 201:
            return r
        return int(r.header("Location").rsplit("/", 1)[1])

    def stored_secret(self, rid):
        sql = "SELECT access_secret FROM remote_registry WHERE id = %d" % rid
        if getattr(self.reg, "pg_dsn", None):
            return subprocess.run(["psql", "-X", "-At", self.reg.pg_dsn, "-c", sql], check=True,
                                  stdout=subprocess.PIPE).stdout.decode().strip()
        db = sqlite3.connect(os.path.join(self.reg.data_dir, "berth.db"))
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()

    def create_policy(self, body, expect=201):
        r = self.api.call("POST", "/replication/policies", body)
        self.assertEqual(r.status, expect, "%r" % r)
        if expect != 201:
            return r
        return int(r.header("Location").rsplit("/", 1)[1])

    def run_policy(self, pid, timeout=60):
        r = self.api.call("POST", "/replication/executions", {"policy_id": pid})
        self.assertEqual(r.status, 201, "%r" % r)
        eid = int(r.header("Location").rsplit("/", 1)[1])
        return self.wait_execution(eid, timeout)

    def wait_execution(self, eid, timeout=60, api=None):
        api = api or self.api
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = api.call("GET", "/replication/executions/%d" % eid)
            if r.status == 200 and r.json()["status"] not in ("Running", "Pending"):
                return r.json()
            time.sleep(0.2)
        self.fail("execution %d did not finish" % eid)

    def tasks(self, eid):
        return self.api.ok("GET", "/replication/executions/%d/tasks?page_size=100" % eid)

    def task_log(self, eid, tid):
        r = self.api.call("GET", "/replication/executions/%d/tasks/%d/log" % (eid, tid))
        self.assertEqual(r.status, 200, "%r" % r)
        return r.body.decode()

    def task_bytes(self, eid, tid):
        """Bytes a finished task moved, from its log (Harbor's task has no such field)."""
        m = re.search(r"done, (\d+) bytes transferred", self.task_log(eid, tid))
        self.assertIsNotNone(m, self.task_log(eid, tid))
        return int(m.group(1))

    def push_image(self, repo, tag, sizes=(2000,), shared=None):
        lay = Layout()
        layers = list(shared or []) + [lay.layer(s) for s in sizes]
        if shared:
            for desc, _ in shared:
                src = os.path.join(self.shared_layout.dir, "blobs", "sha256", desc["digest"][7:])
                shutil.copy(src, os.path.join(lay.dir, "blobs", "sha256", desc["digest"][7:]))
        m = lay.image(layers)
        lay.tag(m, tag)
        push_layout(lay, tag, "%s/%s:%s" % (self.berth, repo, tag), self.admin_creds)
        lay.cleanup()
        return m["digest"]


class RegistryEndpointTest(ReplicationCase):
    def test_adapters(self):
        types = self.api.ok("GET", "/replication/adapters")
        self.assertIn("docker-registry", types)
        self.assertIn("harbor", types)
        infos = self.api.ok("GET", "/replication/adapterinfos")
        self.assertIsInstance(infos, dict)
        self.assertIn("docker-registry", infos)
        self.assertEqual(self.api.call("GET", "/replication/adapters", auth=None).status, 401)

    def test_crud_secret_and_denials(self):
        name = bh.unique("reg")
        rid = self.create_registry(name, self.auth_registry.url + "/", creds=(PEER_USER, PEER_PASSWORD))
        got = self.api.ok("GET", "/registries/%d" % rid)
        self.shape(got, "Registry")
        self.assertEqual(got["name"], name)
        self.assertEqual(got["url"], self.auth_registry.url)  # trailing slash trimmed
        self.assertEqual(got["type"], "docker-registry")
        self.assertEqual(got["credential"], {"type": "basic", "access_key": PEER_USER})
        raw = self.api.call("GET", "/registries?page_size=100").body.decode()
        self.assertNotIn(PEER_PASSWORD, raw)
        self.assertNotIn("access_secret", raw)
        # Sealed at rest: not in the database, a 0600 key file.
        sealed = self.stored_secret(rid)
        self.assertTrue(sealed.startswith("aesgcm:v1:"), sealed)
        self.assertNotIn(PEER_PASSWORD, sealed)
        key = os.path.join(self.reg.data_dir, "secret.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # List, q and paging.
        listed = self.api.call("GET", "/registries?q=name%%3D~%s&page_size=1" % name)
        self.assertEqual(listed.status, 200)
        self.assertEqual(listed.header("X-Total-Count"), "1")
        self.assertEqual([r["id"] for r in listed.json()], [rid])
        # Ping and info with the stored secret.
        self.assertEqual(self.api.call("POST", "/registries/ping", {"id": rid}).status, 200)
        info = self.api.ok("GET", "/registries/%d/info" % rid)
        self.shape(info, "RegistryInfo")
        self.assertEqual(info["type"], "docker-registry")
        self.assertIn("name", [f["type"] for f in info["supported_resource_filters"]])
        # A wrong password: unhealthy.
        r = self.api.call("POST", "/registries/ping", {"type": "docker-registry",
                                                       "url": self.auth_registry.url,
                                                       "credential_type": "basic",
                                                       "access_key": PEER_USER,
                                                       "access_secret": "wrong"})
        self.assertEqual(r.status, 400, "%r" % r)
        r = self.api.call("POST", "/registries/ping", {"id": rid, "access_secret": "wrong"})
        self.assertEqual(r.status, 400, "%r" % r)
        # Update: rename, then the password; the old secret is kept when absent.
        self.api.ok("PUT", "/registries/%d" % rid, {"description": "peer"})
        self.assertEqual(self.api.call("POST", "/registries/ping", {"id": rid}).status, 200)
        self.api.ok("PUT", "/registries/%d" % rid, {"access_secret": "changed"})
        self.assertEqual(self.api.call("POST", "/registries/ping", {"id": rid}).status, 400)
        self.api.ok("PUT", "/registries/%d" % rid, {"access_secret": PEER_PASSWORD})
        # Conflicts and bad input.
        self.assertEqual(self.create_registry(name, self.open_registry.url, expect=409).status, 409)
        self.assertEqual(self.create_registry(bh.unique("r"), self.open_registry.url,
                                              type_="nope", expect=400).status, 400)
        self.assertEqual(self.create_registry(bh.unique("r"), "ftp://x", expect=400).status, 400)
        self.assertEqual(self.create_registry("", self.open_registry.url, expect=400).status, 400)
        r = self.api.call("POST", "/registries", raw=b"{not json")
        self.assertEqual(r.status, 400)
        self.assertEqual(self.api.call("GET", "/registries/999999").status, 404)
        self.assertEqual(self.api.call("GET", "/registries/abc").status, 400)
        # Denials: anonymous 401, a signed-in non-administrator 403.
        user = self.api.create_user(bh.unique("u"))
        for method, path, body in (("GET", "/registries", None), ("GET", "/registries/%d" % rid, None),
                                   ("POST", "/registries", {"name": "x", "type": "docker-registry",
                                                            "url": self.open_registry.url}),
                                   ("PUT", "/registries/%d" % rid, {"name": "y"}),
                                   ("DELETE", "/registries/%d" % rid, None),
                                   ("POST", "/registries/ping", {"id": rid}),
                                   ("GET", "/registries/%d/info" % rid, None),
                                   ("GET", "/replication/policies", None),
                                   ("GET", "/replication/executions", None)):
            self.assertEqual(self.api.call(method, path, body, auth=None).status, 401, path)
            r = self.api.call(method, path, body, auth=user)
            self.assertEqual(r.status, 403, "%s %s %r" % (method, path, r))
        # In use: refused; then deleted.
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "trigger": {"type": "manual"}})
        r = self.api.call("DELETE", "/registries/%d" % rid)
        self.assertEqual(r.status, 412, "%r" % r)
        self.assertEqual(r.json()["errors"][0], {
            "code": "PRECONDITION",
            "message": "the registry %d is referenced by replication policies, cannot delete it" % rid})
        self.assertEqual(self.api.call("GET", "/registries/%d" % rid).status, 200)
        self.api.ok("DELETE", "/replication/policies/%d" % pid)
        self.api.ok("DELETE", "/registries/%d" % rid)
        self.assertEqual(self.api.call("GET", "/registries/%d" % rid).status, 404)

    def test_robot_permissions(self):
        rid = self.create_registry(bh.unique("reg"), self.open_registry.url)
        robots = {}
        for name, access in (("reglist", [{"resource": "registry", "action": "list"},
                                          {"resource": "registry", "action": "read"}]),
                             ("other", [{"resource": "audit-log", "action": "list"}])):
            r = self.api.call("POST", "/robots", {
                "name": bh.unique(name), "level": "system", "duration": -1,
                "permissions": [{"kind": "system", "namespace": "/", "access": access}]})
            self.assertEqual(r.status, 201, "%r" % r)
            robots[name] = (r.json()["name"], r.json()["secret"])
        self.assertEqual(self.api.call("GET", "/registries", auth=robots["reglist"]).status, 200)
        self.assertEqual(self.api.call("GET", "/registries/%d" % rid, auth=robots["reglist"]).status, 200)
        r = self.api.call("DELETE", "/registries/%d" % rid, auth=robots["reglist"])
        self.assertEqual(r.status, 403, "%r" % r)
        for path in ("/registries", "/replication/policies", "/replication/adapters"):
            r = self.api.call("GET", path, auth=robots["other"])
            self.assertEqual(r.status, 403, "%s %r" % (path, r))

    def test_policy_bad_input(self):
        rid = self.create_registry(bh.unique("reg"), self.open_registry.url)
        base = {"name": bh.unique("p"), "dest_registry": {"id": rid}}
        for bad in ({"name": ""},
                    {"dest_registry": {"id": 987654}},
                    {"src_registry": {"id": rid}},  # both remote
                    {"dest_registry": None},        # both local
                    {"trigger": {"type": "sometimes"}},
                    {"trigger": {"type": "scheduled", "trigger_settings": {"cron": "nope"}}},
                    {"filters": [{"type": "colour", "value": "red"}]},
                    {"filters": [{"type": "resource", "value": "file"}]},
                    {"filters": [{"type": "name", "value": 3}]},
                    {"dest_namespace": "Bad Name"},
                    {"dest_namespace_replace_count": -2},
                    {"speed": -5}):
            body = dict(base)
            body.update(bad)
            r = self.create_policy(body, expect=400)
            self.assertEqual(r.json()["errors"][0]["code"], "BAD_REQUEST", "%r %r" % (bad, r))
        pid = self.create_policy(dict(base, trigger={"type": "scheduled",
                                                     "trigger_settings": {"cron": "0 0 * * * *"}}))
        got = self.api.ok("GET", "/replication/policies/%d" % pid)
        self.shape(got, "ReplicationPolicy")
        self.assertEqual(got["dest_registry"]["id"], rid)
        self.assertEqual(got["src_registry"]["id"], 0)
        self.assertEqual(got["trigger"]["trigger_settings"]["cron"], "0 0 * * * *")
        self.assertEqual(self.create_policy(dict(base), expect=409).status, 409)
        scheds = [s for s in self.api.ok("GET", "/schedules?page_size=100")
                  if s["vendor_type"] == "REPLICATION" and s["vendor_id"] == pid]
        self.assertEqual(len(scheds), 1)
        self.api.ok("DELETE", "/replication/policies/%d" % pid)
        self.assertEqual(self.api.call("GET", "/replication/policies/%d" % pid).status, 404)
        self.assertEqual(self.api.call("POST", "/replication/executions", {"policy_id": pid}).status, 400)


@transfers
class PushReplicationTest(ReplicationCase):
    def test_push_images_index_and_artifact_with_filters(self):
        project = bh.unique("push")
        self.api.create_project(project)
        # 11 MiB: copy_by_chunk sends it in two 10 MiB PATCHes with Content-Range.
        app = self.push_image(project + "/app", "v1", sizes=(3000, 11 << 20))
        self.push_image(project + "/app", "dev", sizes=(1000,))
        # A multi-arch index.
        lay = Layout()
        kids = [lay.image([lay.layer(1500)], arch=a) for a in ("amd64", "arm64")]
        for k, a in zip(kids, ("amd64", "arm64")):
            k["platform"] = {"architecture": a, "os": "linux"}
        idx = lay.index(kids)
        lay.tag(idx, "v1")
        push_layout(lay, "v1", "%s/%s/multi:v1" % (self.berth, project), self.admin_creds)
        # A non-image artifact (a Helm chart's media types).
        chart = lay.image([lay.layer(800)], config_type="application/vnd.cncf.helm.config.v1+json")
        lay.tag(chart, "c1")
        push_layout(lay, "c1", "%s/%s/chart:c1" % (self.berth, project), self.admin_creds)
        # A Docker schema 2 image (skopeo converts).
        dock = lay.image([lay.layer(900)])
        lay.tag(dock, "d1")
        push_layout(lay, "d1", "%s/%s/docker:v1" % (self.berth, project), self.admin_creds, fmt="v2s2")
        lay.cleanup()
        docker_digest = remote_digest("%s/%s/docker:v1" % (self.berth, project), self.admin_creds)
        raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", self.admin_creds,
                     "docker://%s/%s/docker:v1" % (self.berth, project)).stdout
        self.assertEqual(json.loads(raw)["mediaType"], bh.DOCKER_MANIFEST)

        rid = self.create_registry(bh.unique("auth"), self.auth_registry.url,
                                   creds=(PEER_USER, PEER_PASSWORD))
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": project + "/**"},
                                              {"type": "tag", "value": "{v1,c1}"}],
                                  "trigger": {"type": "manual"}, "copy_by_chunk": True})
        ex = self.run_policy(pid)
        self.shape(ex, "ReplicationExecution")
        self.assertEqual(ex["status"], "Success", ex)
        self.assertEqual((ex["total"], ex["succeed"], ex["failed"]), (4, 4, 0), ex)
        tasks = self.tasks(ex["id"])
        for t in tasks:
            self.shape(t, "ReplicationTask")
            self.assertEqual(t["status"], "Success")
            self.assertGreater(self.task_bytes(ex["id"], t["id"]), 0)
        self.assertEqual(sorted(t["resource_type"] for t in tasks), ["artifact", "image", "image", "image"])
        log = self.api.call("GET", "/replication/executions/%d/tasks/%d/log" % (ex["id"], tasks[0]["id"]))
        self.assertEqual(log.status, 200)
        self.assertIn("pushed manifest", log.body.decode())
        creds = "%s:%s" % (PEER_USER, PEER_PASSWORD)
        peer = self.auth_registry.host
        self.assertEqual(remote_digest("%s/%s/app:v1" % (peer, project), creds), app)
        self.assertIsNone(remote_digest("%s/%s/app:dev" % (peer, project), creds))  # tag filter
        self.assertEqual(remote_digest("%s/%s/multi:v1" % (peer, project), creds), idx["digest"])
        for k in kids:
            self.assertEqual(remote_digest("%s/%s/multi@%s" % (peer, project, k["digest"]), creds),
                             k["digest"])
        self.assertEqual(remote_digest("%s/%s/chart:c1" % (peer, project), creds), chart["digest"])
        self.assertEqual(remote_digest("%s/%s/docker:v1" % (peer, project), creds), docker_digest)
        out = tempfile.mkdtemp()
        try:
            skopeo("copy", "--all", "--src-tls-verify=false", "--src-creds", creds,
                   "docker://%s/%s/multi:v1" % (peer, project), "oci:%s:x" % out)
        finally:
            shutil.rmtree(out, ignore_errors=True)

        # Rerun: nothing is sent again.
        ex2 = self.run_policy(pid)
        self.assertEqual(ex2["status"], "Success", ex2)
        self.assertEqual([self.task_bytes(ex2["id"], t["id"]) for t in self.tasks(ex2["id"])], [0, 0, 0, 0])
        # Executions list and filters.
        listed = self.api.ok("GET", "/replication/executions?policy_id=%d" % pid)
        self.assertEqual([e["id"] for e in listed], [ex2["id"], ex["id"]])
        self.assertEqual(self.api.ok("GET", "/replication/executions?policy_id=%d&status=Error" % pid), [])

    def test_accessories_follow_their_subject(self):
        project = bh.unique("acc")
        self.api.create_project(project)
        repo = project + "/app"
        body, app = self.reg.push_image(repo, tag="v1")
        sig = self.reg.push_cosign_signature(repo, app)
        sbom = self.reg.push_sbom_referrer(repo, app, len(body))
        sbom_sig = self.reg.push_cosign_signature(repo, sbom)  # an accessory's accessory
        _, dev = self.reg.push_image(repo, tag="dev")
        dev_sig = self.reg.push_cosign_signature(repo, dev)
        rid = self.create_registry(bh.unique("open"), self.open_registry.url)
        # The tag filter selects v1; its accessories follow although their
        # tags (sha256-....sig) and types do not match the filters.
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": project + "/**"},
                                              {"type": "tag", "value": "v1"},
                                              {"type": "resource", "value": "image"}]})
        ex = self.run_policy(pid)
        self.assertEqual(ex["status"], "Success", ex)
        self.assertEqual((ex["total"], ex["succeed"]), (4, 4), ex)
        peer = "%s/%s" % (self.open_registry.host, repo)
        self.assertEqual(remote_digest("%s:v1" % peer), app)
        self.assertEqual(remote_digest("%s:%s.sig" % (peer, app.replace(":", "-"))), sig)
        self.assertEqual(remote_digest("%s@%s" % (peer, sbom)), sbom)
        self.assertEqual(remote_digest("%s:%s.sig" % (peer, sbom.replace(":", "-"))), sbom_sig)
        self.assertIsNone(remote_digest("%s:dev" % peer))
        self.assertIsNone(remote_digest("%s:%s.sig" % (peer, dev.replace(":", "-"))))
        self.assertNotEqual(dev_sig, sig)

    def test_dest_namespace_and_shared_blob_not_resent(self):
        recv = bh.Receiver()
        self.addCleanup(recv.close)
        project = bh.unique("ns")
        self.api.create_project(project)
        r = self.api.call("POST", "/projects/%s/webhook/policies" % project, {
            "name": "repl", "enabled": True, "event_types": ["REPLICATION"],
            "targets": [{"type": "http", "address": recv.url("/r"), "auth_header": "",
                         "skip_cert_verify": False, "payload_format": "Default"}]})
        self.assertEqual(r.status, 201, "%r" % r)
        lay = Layout()
        self.__class__.shared_layout = lay
        shared = [lay.layer(40000)]
        self.push_image(project + "/team/one", "v1", sizes=(100,), shared=shared)
        rid = self.create_registry(bh.unique("open"), self.open_registry.url)
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": project + "/**"}],
                                  "dest_namespace": "mirror" + project[-6:],
                                  "dest_namespace_replace_count": 1})
        ex = self.run_policy(pid)
        self.assertEqual(ex["status"], "Success", ex)
        [t] = self.tasks(ex["id"])
        self.assertEqual(t["dst_resource"], "mirror%s/team/one:[v1]" % project[-6:])
        first_bytes = self.task_bytes(ex["id"], t["id"])
        self.assertGreater(first_bytes, shared[0][0]["size"])
        dest = "%s/mirror%s/team/one:v1" % (self.open_registry.host, project[-6:])
        self.assertIsNotNone(remote_digest(dest))
        # Harbor's REPLICATION webhook for the task, to the source project's policy.
        ev = json.loads(recv.wait(1, "/r")[0]["body"])
        self.assertEqual((ev["type"], ev["operator"]), ("REPLICATION", "MANUAL"))
        rep = ev["event_data"]["replication"]
        self.assertEqual((rep["job_status"], rep["trigger_type"], rep["harbor_hostname"]),
                         ("Success", "MANUAL", "127.0.0.1"))
        self.assertEqual(rep["src_resource"]["namespace"], project)
        self.assertEqual(rep["src_resource"]["registry_type"], "harbor")
        self.assertEqual(rep["dest_resource"]["endpoint"], self.open_registry.url)
        self.assertEqual(rep["dest_resource"]["namespace"], "mirror" + project[-6:])
        self.assertEqual(rep["successful_artifact"],
                         [{"type": "image", "status": "Success", "name_tag": "team/one:[v1]"}])
        # A second image sharing the big layer: the layer is not sent again.
        self.push_image(project + "/team/two", "v1", sizes=(100,), shared=shared)
        lay.cleanup()
        ex2 = self.run_policy(pid)
        self.assertEqual(ex2["status"], "Success", ex2)
        two = [t for t in self.tasks(ex2["id"]) if "/two" in t["src_resource"]][0]
        self.assertLess(self.task_bytes(ex2["id"], two["id"]), shared[0][0]["size"], two)
        self.assertIn("blob %s mounted" % shared[0][0]["digest"], self.task_log(ex2["id"], two["id"]))


@transfers
class PullAndEventTest(ReplicationCase):
    def test_pull_based(self):
        src = self.auth_registry  # htpasswd Basic auth on the source
        lay = Layout()
        m = lay.image([lay.layer(3000)])
        lay.tag(m, "v2")
        push_layout(lay, "v2", "%s/upstream/tool:v2" % src.host, "%s:%s" % (PEER_USER, PEER_PASSWORD))
        # A cosign tag-scheme signature of v2 (its tag falls outside the tag
        # filter: it follows its subject), and an unrelated image that stays.
        sig_tag = m["digest"].replace(":", "-") + ".sig"
        sig = lay.image([lay.layer(300)])
        lay.tag(sig, sig_tag)
        push_layout(lay, sig_tag, "%s/upstream/tool:%s" % (src.host, sig_tag),
                    "%s:%s" % (PEER_USER, PEER_PASSWORD))
        other = lay.image([lay.layer(310)])
        lay.tag(other, "dev")
        push_layout(lay, "dev", "%s/upstream/tool:dev" % src.host, "%s:%s" % (PEER_USER, PEER_PASSWORD))
        lay.cleanup()
        rid = self.create_registry(bh.unique("src"), src.url, creds=(PEER_USER, PEER_PASSWORD))
        target = bh.unique("pulled")
        pid = self.create_policy({"name": bh.unique("p"), "src_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": "upstream/tool"},
                                              {"type": "tag", "value": "v2"}],
                                  "dest_namespace": target, "dest_namespace_replace_count": 1})
        r = self.create_policy({"name": bh.unique("p"), "src_registry": {"id": rid},
                                "trigger": {"type": "event_based"}}, expect=400)
        self.assertEqual(r.status, 400)
        ex = self.run_policy(pid)
        self.assertEqual(ex["status"], "Success", ex)
        self.assertEqual(remote_digest("%s/%s/tool:v2" % (self.berth, target), self.admin_creds),
                         m["digest"])
        self.assertEqual(remote_digest("%s/%s/tool:%s" % (self.berth, target, sig_tag),
                                       self.admin_creds), sig["digest"])
        self.assertIsNone(remote_digest("%s/%s/tool:dev" % (self.berth, target), self.admin_creds))
        self.assertEqual([t["dst_resource"] for t in self.tasks(ex["id"])],
                         ["%s/tool:[v2]" % target, "%s/tool:[%s]" % (target, sig_tag)])
        arts = self.api.ok("GET", "/projects/%s/repositories/tool/artifacts?with_tag=true" % target)
        self.assertIn(m["digest"], [a["digest"] for a in arts])
        self.assertNotIn(other["digest"], [a["digest"] for a in arts])
        # Audit shows the push by replication.
        logs = self.api.ok("GET", "/audit-logs?q=resource%%3D~%s&page_size=100" % target)
        self.assertTrue(any(l["operation"] == "create" or l["operation"] == "push" for l in logs), logs)

    def test_event_based_push_and_delete(self):
        project = bh.unique("ev")
        self.api.create_project(project)
        rid = self.create_registry(bh.unique("open"), self.open_registry.url)
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": project + "/**"}],
                                  "trigger": {"type": "event_based"}, "replicate_deletion": True})
        digest = self.push_image(project + "/svc", "e1")
        dest = "%s/%s/svc:e1" % (self.open_registry.host, project)
        deadline = time.time() + 30
        while time.time() < deadline and remote_digest(dest) != digest:
            time.sleep(0.3)
        self.assertEqual(remote_digest(dest), digest)
        evs = self.api.ok("GET", "/replication/executions?policy_id=%d&trigger=event_based" % pid)
        self.assertTrue(evs)
        # A signature pushed later follows on its own event.
        sig = self.reg.push_cosign_signature(project + "/svc", digest)
        sig_dest = "%s/%s/svc:%s.sig" % (self.open_registry.host, project, digest.replace(":", "-"))
        deadline = time.time() + 30
        while time.time() < deadline and remote_digest(sig_dest) != sig:
            time.sleep(0.3)
        self.assertEqual(remote_digest(sig_dest), sig)
        # So does an SBOM referrer pushed by digest (no tag, no tagged push after it).
        body = self.reg.request("GET", "/v2/%s/svc/manifests/%s" % (project, digest),
                                headers={"Accept": bh.OCI_MANIFEST + "," + bh.DOCKER_MANIFEST}).body
        sbom = self.reg.push_sbom_referrer(project + "/svc", digest, len(body),
                                           json.loads(body)["mediaType"])
        sbom_dest = "%s/%s/svc@%s" % (self.open_registry.host, project, sbom)
        deadline = time.time() + 30
        while time.time() < deadline and remote_digest(sbom_dest) != sbom:
            time.sleep(0.3)
        self.assertEqual(remote_digest(sbom_dest), sbom)
        self.api.ok("DELETE", "/projects/%s/repositories/svc/artifacts/%s" % (project, digest))
        deadline = time.time() + 30
        while time.time() < deadline and remote_digest(dest) is not None:
            time.sleep(0.3)
        self.assertIsNone(remote_digest(dest))
        dels = [t for e in self.api.ok("GET", "/replication/executions?policy_id=%d" % pid)
                for t in self.tasks(e["id"]) if t["operation"] == "deletion"]
        self.assertTrue(dels and all(t["status"] == "Success" for t in dels), dels)


@transfers
class BerthToBerthTest(ReplicationCase):
    def test_both_ways_through_harbor_adapter(self):
        peer = bh.Registry().start()
        try:
            peer_api = Api(peer)
            project = bh.unique("b2b")
            self.api.create_project(project)
            digest = self.push_image(project + "/web", "1.0", sizes=(2500,))
            rid = self.create_registry(bh.unique("berth"), "http://127.0.0.1:%d" % peer.port,
                                       type_="harbor", creds=(bh.ADMIN_USER, bh.ADMIN_PASSWORD))
            self.assertEqual(self.api.call("POST", "/registries/ping", {"id": rid}).status, 200)
            pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                      "filters": [{"type": "name", "value": project + "/**"}]})
            ex = self.run_policy(pid)
            self.assertEqual(ex["status"], "Success", ex)
            # The project was created on the peer (prepare_for_push).
            arts = peer_api.ok("GET", "/projects/%s/repositories/web/artifacts?with_tag=true" % project)
            self.assertEqual([a["digest"] for a in arts], [digest])
            self.assertEqual(remote_digest("127.0.0.1:%d/%s/web:1.0" % (peer.port, project),
                                           self.admin_creds), digest)
            # And back: pull-based from the peer, with a label filter through
            # Harbor's API.
            peer_project = bh.unique("origin")
            peer_api.create_project(peer_project)
            lay = Layout()
            m = lay.image([lay.layer(1800)])
            lay.tag(m, "7")
            push_layout(lay, "7", "127.0.0.1:%d/%s/db:7" % (peer.port, peer_project), self.admin_creds)
            lay.cleanup()
            pid2 = self.create_policy({"name": bh.unique("p"), "src_registry": {"id": rid},
                                       "filters": [{"type": "name", "value": peer_project + "/**"},
                                                   {"type": "resource", "value": "image"}]})
            # Accessories on the peer: a cosign signature, an SBOM referrer and
            # the SBOM's own signature; none matches the tag filter below.
            sig = peer.push_cosign_signature(peer_project + "/db", m["digest"])
            sbom = peer.push_sbom_referrer(peer_project + "/db", m["digest"], m["size"])
            sbom_sig = peer.push_cosign_signature(peer_project + "/db", sbom)
            pid2 = self.create_policy({"name": bh.unique("p"), "src_registry": {"id": rid},
                                       "filters": [{"type": "name", "value": peer_project + "/**"},
                                                   {"type": "tag", "value": "7"},
                                                   {"type": "resource", "value": "image"}]})
            ex2 = self.run_policy(pid2)
            self.assertEqual(ex2["status"], "Success", ex2)
            self.assertEqual((ex2["total"], ex2["succeed"]), (4, 4), ex2)
            here = "%s/%s/db" % (self.berth, peer_project)
            self.assertEqual(remote_digest("%s:7" % here, self.admin_creds), m["digest"])
            self.assertEqual(remote_digest("%s:%s.sig" % (here, m["digest"].replace(":", "-")),
                                           self.admin_creds), sig)
            self.assertEqual(remote_digest("%s@%s" % (here, sbom), self.admin_creds), sbom)
            self.assertEqual(remote_digest("%s:%s.sig" % (here, sbom.replace(":", "-")),
                                           self.admin_creds), sbom_sig)
            # And they are accessories here too, not artifacts of their own.
            arts = self.api.ok("GET", "/projects/%s/repositories/db/artifacts?with_accessory=true"
                               "&with_tag=true"
                                % peer_project)
            self.assertEqual(len(arts), 1, arts)
            art = arts[0]
            self.assertEqual(art["digest"], m["digest"])
            self.assertEqual(sorted(a["digest"] for a in art["accessories"]), sorted([sig, sbom]))
        finally:
            peer.cleanup_checked("peer")


class ResumeTest(ReplicationCase):
    def test_stop(self):
        project = bh.unique("stop")
        self.api.create_project(project)
        for i in range(3):
            self.push_image("%s/s%d" % (project, i), "v1", sizes=(60000,))
        rid = self.create_registry(bh.unique("open"), self.open_registry.url)
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": project + "/**"}],
                                  "speed": 20})
        r = self.api.call("POST", "/replication/executions", {"policy_id": pid})
        eid = int(r.header("Location").rsplit("/", 1)[1])
        deadline = time.time() + 20
        while time.time() < deadline and not any(t["status"] == "Running" for t in self.tasks(eid)):
            time.sleep(0.1)
        # Running executions keep their policy.
        self.assertEqual(self.api.call("DELETE", "/replication/policies/%d" % pid).status, 412)
        self.api.ok("PUT", "/replication/executions/%d" % eid)
        ex = self.wait_execution(eid, timeout=30)
        self.assertEqual(ex["status"], "Stopped", ex)
        self.assertEqual(ex["stopped"], 3, ex)
        self.assertEqual(self.api.call("PUT", "/replication/executions/999999").status, 404)
        self.api.ok("DELETE", "/replication/policies/%d" % pid)

    def test_kill_mid_execution_resumes(self):
        project = bh.unique("resume")
        self.api.create_project(project)
        for i in range(4):
            self.push_image("%s/r%d" % (project, i), "v1", sizes=(120000,))
        rid = self.create_registry(bh.unique("open"), self.open_registry.url)
        # 120 KB/s: about a second per artifact.
        pid = self.create_policy({"name": bh.unique("p"), "dest_registry": {"id": rid},
                                  "filters": [{"type": "name", "value": project + "/**"}],
                                  "speed": 120})
        r = self.api.call("POST", "/replication/executions", {"policy_id": pid})
        eid = int(r.header("Location").rsplit("/", 1)[1])
        deadline = time.time() + 30
        done = []
        while time.time() < deadline:
            done = [t for t in self.tasks(eid) if t["status"] == "Success"]
            if done:
                break
            time.sleep(0.1)
        self.assertTrue(done, "no task finished")
        self.assertLess(len(done), 4, "the execution finished before the kill")
        before = {t["id"]: t for t in done}
        self.reg.stop(signal.SIGKILL)
        self.reg.start()
        ex = self.wait_execution(eid, timeout=60)
        self.assertEqual(ex["status"], "Success", ex)
        tasks = self.tasks(eid)
        self.assertEqual(len(tasks), 4)
        self.assertTrue(all(t["status"] == "Success" for t in tasks), tasks)
        for t in tasks:
            if t["id"] in before:
                # Not redone: same times as before the kill.
                self.assertEqual(t["end_time"], before[t["id"]]["end_time"])
                self.assertEqual(t["start_time"], before[t["id"]]["start_time"])
        for i in range(4):
            self.assertIsNotNone(remote_digest("%s/%s/r%d:v1" % (self.open_registry.host, project, i)))


if __name__ == "__main__":
    bh.main()
