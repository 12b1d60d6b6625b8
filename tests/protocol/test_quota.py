#!/usr/bin/env python3
"""Project storage quotas: Harbor's /api/v2.0/quotas shapes and RBAC, storage
limits at project creation (and the configured default), the quota in the
project summary, enforcement on blob uploads, monolithic pushes, mounts and
manifests (403 DENIED and nothing stored), space given back on delete, and 50
concurrent pushers into one tightly limited project ending with usage equal
to what was accepted and to a from-scratch recount in the database.

Runs on SQLite, and on PostgreSQL as protocol_pg.quota (ctest sets
BERTH_PROTOCOL_POSTGRES_DSN_FILE). Python 3; the swagger check needs PyYAML.
"""

import json
import time
import os
import random
import re
import sqlite3
import subprocess
import threading
import uuid

import berth_harness as bh
import harbor_api
import swagger_shape as ss

DEFAULT_LIMIT = 1 << 30  # quota.storage_per_project for this berthd

# The recount, written independently of berthd's: what a project's artifacts
# use, its manifests, and the blobs uploaded into it (still linked) that no
# manifest claimed.
RECOUNT_SQL = """
SELECT COALESCE(SUM(size), 0) FROM (
  SELECT digest, MAX(size) AS size FROM (
    SELECT ab.digest AS digest, b.size AS size FROM artifact_blob ab
      JOIN artifact a ON a.id = ab.artifact_id JOIN repository r ON r.id = a.repository_id
      JOIN blob b ON b.digest = ab.digest WHERE r.project_id = {pid}
    UNION ALL
    SELECT a.digest, a.manifest_size FROM artifact a JOIN repository r ON r.id = a.repository_id
      WHERE r.project_id = {pid}
    UNION ALL
    SELECT bp.digest, b.size FROM blob_pending bp JOIN repository r ON r.id = bp.repository_id
      JOIN repository_blob rb ON rb.repository_id = bp.repository_id AND rb.digest = bp.digest
      JOIN blob b ON b.digest = bp.digest WHERE r.project_id = {pid}) c
  GROUP BY digest) t
"""


class QuotaApi(harbor_api.Api):
    """The shared Harbor API client plus the quota calls these tests use."""

    def create_project(self, name, storage_limit=None, auth="admin", public=False):
        body = {"project_name": name, "metadata": {"public": "true" if public else "false"}}
        if storage_limit is not None:
            body["storage_limit"] = storage_limit
        r = self.call("POST", "/projects", body, auth=auth)
        assert r.status == 201, "%r" % r
        self.reg.projects.add(name)
        return int(r.header("Location").rsplit("/", 1)[1])

    def quota_of(self, project_id):
        items = self.ok("GET", "/quotas?reference=project&reference_id=%d" % project_id)
        assert len(items) == 1, items
        return items[0]

    def used(self, project_id):
        return self.quota_of(project_id)["used"]["storage"]

    def set_limit(self, project_id, hard):
        q = self.quota_of(project_id)
        self.ok("PUT", "/quotas/%d" % q["id"], {"hard": {"storage": hard}})


def db_recount(reg, project_id):
    """The recount straight from berthd's database (SQLite file or PostgreSQL)."""
    sql = RECOUNT_SQL.format(pid=int(project_id))
    if getattr(reg, "pg_dsn", None):
        out = subprocess.run(["psql", "-X", "-q", "-At", reg.pg_dsn, "-c", sql], check=True,
                             stdout=subprocess.PIPE).stdout.decode().strip()
        return int(out)
    conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(reg.data_dir, "berth.db"), uri=True,
                           timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def db_exec(reg, sql):
    """One statement straight in berthd's database (to make drift by hand)."""
    if getattr(reg, "pg_dsn", None):
        subprocess.run(["psql", "-X", "-q", "-c", sql, reg.pg_dsn], check=True,
                       stdout=subprocess.DEVNULL)
        return
    conn = sqlite3.connect(os.path.join(reg.data_dir, "berth.db"), timeout=30)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def image(seed, shared_layers=(), own_layer_size=0):
    """(config, [layers], manifest bytes) of an OCI image."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layers = list(shared_layers)
    if own_layer_size:
        rnd = random.Random(seed)
        layers.append(bytes(rnd.getrandbits(8) for _ in range(own_layer_size)))
    manifest = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                         "config": bh.descriptor(bh.OCI_CONFIG, config),
                         "layers": [bh.descriptor(bh.OCI_LAYER, l) for l in layers]})
    return config, layers, manifest


class QuotaCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry(extra_env={
            "BERTH_QUOTA_STORAGE_PER_PROJECT": str(DEFAULT_LIMIT)}).start()
        cls.api = QuotaApi(cls.reg)

    def stored(self, digest):
        hexpart = digest.split(":", 1)[1]
        return any(hexpart in p for p in self.reg.data_tree())

    def assertDenied(self, r):
        self.assertEqual(r.status, 403, "%r" % r)
        self.assertIn("DENIED", r.error_codes(), "%r" % r)
        msg = r.json()["errors"][0]["message"]
        self.assertRegex(msg, r"adding .+ of storage resource, which when updated to current "
                              r"usage of .+ will exceed the configured upper limit of .+")


class QuotaApiTest(QuotaCase):
    """The API: shapes, validation, pagination, RBAC, project creation."""

    def test_creation_storage_limit_and_configured_default(self):
        name = bh.unique("lim")
        pid = self.api.create_project(name, storage_limit=5000)
        q = self.api.quota_of(pid)
        self.assertEqual(q["hard"], {"storage": 5000})
        self.assertEqual(q["used"], {"storage": 0})
        self.assertEqual(q["ref"], {"id": pid, "name": name, "owner_name": "admin"})
        for key in ("creation_time", "update_time"):
            self.assertRegex(q[key], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

        pid2 = self.api.create_project(bh.unique("dflt"))
        self.assertEqual(self.api.quota_of(pid2)["hard"], {"storage": DEFAULT_LIMIT})
        pid3 = self.api.create_project(bh.unique("unl"), storage_limit=-1)
        self.assertEqual(self.api.quota_of(pid3)["hard"], {"storage": -1})

        # Only administrators choose; anyone else gets the default (Harbor).
        user = self.api.create_user(bh.unique("creator"))
        pid4 = self.api.create_project(bh.unique("usr"), storage_limit=7, auth=user)
        self.assertEqual(self.api.quota_of(pid4)["hard"], {"storage": DEFAULT_LIMIT})

        for bad in (0, -2, "5", 1.5, True, 2 ** 64):
            r = self.api.call("POST", "/projects", {"project_name": bh.unique("bad"),
                                                    "storage_limit": bad})
            self.assertEqual(r.status, 400, "storage_limit %r: %r" % (bad, r))
            self.assertIn("storage_limit", r.json()["errors"][0]["message"])

    def test_get_and_update(self):
        pid = self.api.create_project(bh.unique("upd"), storage_limit=1000)
        qid = self.api.quota_of(pid)["id"]
        q = self.api.ok("GET", "/quotas/%d" % qid)
        self.assertEqual(q["id"], qid)
        self.assertEqual(q["ref"]["id"], pid)
        self.api.ok("PUT", "/quotas/%d" % qid, {"hard": {"storage": 123456}})
        self.assertEqual(self.api.ok("GET", "/quotas/%d" % qid)["hard"], {"storage": 123456})
        self.api.ok("PUT", "/quotas/%d" % qid, {"hard": {"storage": -1}})
        self.assertEqual(self.api.quota_of(pid)["hard"], {"storage": -1})

        bad_bodies = [
            ({}, "hard"),
            ({"hard": None}, "hard"),
            ({"hard": 5}, "hard"),
            ({"hard": {}}, "storage"),
            ({"hard": {"storage": -2}}, "storage"),
            ({"hard": {"storage": 0}}, "storage"),
            ({"hard": {"storage": "10"}}, "storage"),
            ({"hard": {"storage": 1.5}}, "storage"),
            ({"hard": {"storage": True}}, "storage"),
            ({"hard": {"storage": 2 ** 63}}, "storage"),
            ({"hard": {"storage": 10, "count": 5}}, "count"),
        ]
        for body, word in bad_bodies:
            r = self.api.call("PUT", "/quotas/%d" % qid, body)
            self.assertEqual(r.status, 400, "%r: %r" % (body, r))
            self.assertEqual(r.error_codes(), ["BAD_REQUEST"])
            self.assertIn(word, r.json()["errors"][0]["message"], "%r" % body)
        r = self.api.call("PUT", "/quotas/%d" % qid, raw=b"{not json")
        self.assertEqual(r.status, 400)
        self.assertEqual(self.api.quota_of(pid)["hard"], {"storage": -1}, "a refused PUT changed it")

        for method, body in (("GET", None), ("PUT", {"hard": {"storage": 5}})):
            r = self.api.call(method, "/quotas/987654321", body)
            self.assertEqual(r.status, 404, "%r" % r)
            self.assertEqual(r.error_codes(), ["NOT_FOUND"])
        self.assertEqual(self.api.call("GET", "/quotas/abc").status, 400)

    def test_list_filters_sorts_and_pages(self):
        ids = [self.api.create_project(bh.unique("pg"), storage_limit=limit)
               for limit in (300, 100, 200)]
        r = self.api.call("GET", "/quotas?page=1&page_size=2&sort=-hard.storage")
        self.assertEqual(r.status, 200)
        total = int(r.header("X-Total-Count"))
        self.assertGreaterEqual(total, 3)
        self.assertEqual(len(r.json()), 2)
        self.assertIn('rel="next"', r.header("Link"))
        everything = []
        page = 1
        while True:
            r = self.api.call("GET", "/quotas?page=%d&page_size=3&sort=-hard.storage" % page)
            everything += r.json()
            if 'rel="next"' not in (r.header("Link") or ""):
                break
            page += 1
        self.assertEqual(len(everything), total)
        hards = [q["hard"]["storage"] for q in everything]
        key = [h if h >= 0 else 2 ** 63 for h in hards]  # unlimited sorts highest
        self.assertEqual(key, sorted(key, reverse=True))
        mine = [q["ref"]["id"] for q in everything if q["ref"]["id"] in ids]
        self.assertEqual(mine, [ids[0], ids[2], ids[1]])

        asc = self.api.ok("GET", "/quotas?page_size=100&sort=used.storage")
        used = [q["used"]["storage"] for q in asc]
        self.assertEqual(used, sorted(used))
        self.assertEqual(self.api.ok("GET", "/quotas?reference=project&reference_id=%d" % ids[1])[0]
                         ["hard"], {"storage": 100})
        self.assertEqual(self.api.ok("GET", "/quotas?reference=nothing"), [])
        self.assertEqual(self.api.call("GET", "/quotas?reference_id=abc").status, 400)
        self.assertEqual(self.api.call("GET", "/quotas?sort=bogus").status, 400)

    def test_only_system_administrators_reach_quotas(self):
        pid = self.api.create_project(bh.unique("rbac"), storage_limit=4096)
        qid = self.api.quota_of(pid)["id"]
        user = self.api.create_user(bh.unique("member"))
        r = self.api.call("POST", "/projects/%d/members" % pid,
                          {"role_id": 1, "member_user": {"username": user[0]}})
        self.assertEqual(r.status, 201, "%r" % r)
        for method, path, body in (("GET", "/quotas", None), ("GET", "/quotas/%d" % qid, None),
                                   ("PUT", "/quotas/%d" % qid, {"hard": {"storage": 1}})):
            anon = self.api.call(method, path, body, auth=None)
            self.assertEqual(anon.status, 401, "%r" % anon)
            self.assertEqual(anon.error_codes(), ["UNAUTHORIZED"])
            # Even the project's own admin: quotas are the system's.
            member = self.api.call(method, path, body, auth=user)
            self.assertEqual(member.status, 403, "%r" % member)
            self.assertEqual(member.error_codes(), ["FORBIDDEN"])
        self.assertEqual(self.api.quota_of(pid)["hard"], {"storage": 4096})

        # Members read their project's quota in its summary.
        r = self.api.call("GET", "/projects/%d/summary" % pid, auth=user)
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertEqual(r.json()["quota"], {"hard": {"storage": 4096}, "used": {"storage": 0}})
        # A public project's summary shows no quota to outsiders.
        pub = self.api.create_project(bh.unique("pub"), storage_limit=999, public=True)
        outsider = self.api.create_user(bh.unique("outsider"))
        r = self.api.call("GET", "/projects/%d/summary" % pub, auth=outsider)
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertNotIn("quota", r.json())
        self.assertIn("quota", self.api.ok("GET", "/projects/%d/summary" % pub))

    def test_shapes_match_the_harbor_swagger(self):
        reason = ss.skip_reason()
        if reason:
            self.skipTest(reason)
        pid = self.api.create_project(bh.unique("shape"), storage_limit=2048)
        q = self.api.quota_of(pid)
        self.assertEqual(set(q), set(ss.definition("Quota")["properties"]))
        ss.assert_shape(q, "Quota")
        for k in ("hard", "used"):
            self.assertIsInstance(q[k]["storage"], int)
        storage = ss.definition("ProjectReq")["properties"]["storage_limit"]
        self.assertEqual((storage.get("type"), storage.get("format")), ("integer", "int64"))

        summary = self.api.ok("GET", "/projects/%d/summary" % pid)
        ss.assert_shape(summary, "ProjectSummary")
        self.assertEqual(set(summary["quota"]), set(ss.definition("ProjectSummaryQuota")["properties"]))

        paths = ss.load()["paths"]
        params = {p.get("name") for p in paths["/quotas"]["get"]["parameters"]}
        self.assertLessEqual({"reference", "reference_id", "sort"}, params)
        self.assertLessEqual({"get", "put"}, set(paths["/quotas/{id}"]))


class QuotaEnforcementTest(QuotaCase):
    """Pushes over the limit are refused with nothing stored; deletes give back."""

    def project(self, limit):
        name = bh.unique("enf")
        return name, self.api.create_project(name, storage_limit=limit)

    def test_monolithic_blob_over_the_limit(self):
        name, pid = self.project(1000)
        repo = name + "/app"
        small = os.urandom(600)
        self.reg.push_blob(repo, small)
        self.assertEqual(self.api.used(pid), 600)
        big = os.urandom(500)
        digest = bh.sha256(big)
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest), big,
                             {"Content-Type": "application/octet-stream"})
        self.assertDenied(r)
        self.assertIn("500 B", r.json()["errors"][0]["message"])
        self.assertEqual(self.reg.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest)).status, 404)
        self.assertFalse(self.stored(digest), "refused bytes were stored")
        self.assertEqual(self.api.used(pid), 600)
        # Up to the limit exactly is accepted; the same blob again costs nothing.
        self.reg.push_blob(repo, os.urandom(400))
        self.reg.push_blob(name + "/other", small)
        self.assertEqual(self.api.used(pid), 1000)
        self.assertEqual(db_recount(self.reg, pid), 1000)

    def test_chunked_upload_over_the_limit(self):
        name, pid = self.project(1000)
        repo = name + "/app"
        data = os.urandom(1500)
        digest = bh.sha256(data)
        loc = self.reg.start_upload(repo)
        r = self.reg.request("PATCH", loc, data[:1000], {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, "%r" % r)
        loc = bh.location_path(r)
        sep = "&" if "?" in loc else "?"
        r = self.reg.request("PUT", loc + sep + "digest=" + digest, data[1000:],
                             {"Content-Type": "application/octet-stream"})
        self.assertDenied(r)
        self.assertEqual(self.reg.request("GET", loc).status, 404, "the upload was kept")
        self.assertFalse(self.stored(digest))
        upload_id = re.search(bh.UUID_RE, loc).group(0)
        self.assertFalse(any(upload_id in p for p in self.reg.data_tree()),
                         "the refused upload's bytes were kept")
        self.assertEqual(self.api.used(pid), 0)

    def test_mount_over_the_limit(self):
        src_name = bh.unique("src")
        self.api.create_project(src_name, storage_limit=-1)
        layer = os.urandom(800)
        digest = self.reg.push_blob(src_name + "/app", layer)
        name, pid = self.project(500)
        r = self.reg.request("POST", "/v2/%s/app/blobs/uploads/?mount=%s&from=%s/app" %
                             (name, digest, src_name))
        self.assertDenied(r)
        self.assertEqual(self.reg.request("HEAD", "/v2/%s/app/blobs/%s" % (name, digest)).status,
                         404)
        self.assertEqual(self.api.used(pid), 0)
        self.api.set_limit(pid, 800)
        r = self.reg.request("POST", "/v2/%s/app/blobs/uploads/?mount=%s&from=%s/app" %
                             (name, digest, src_name))
        self.assertEqual(r.status, 201, "%r" % r)
        self.assertEqual(self.api.used(pid), 800)

    def test_manifest_over_the_limit_and_release_on_delete(self):
        config, layers, manifest = image(uuid.uuid4().hex, own_layer_size=900)
        name, pid = self.project(len(config) + 900 + len(manifest) - 1)
        repo = name + "/app"
        self.reg.push_blob(repo, config)
        self.reg.push_blob(repo, layers[0])
        blobs = len(config) + 900
        self.assertEqual(self.api.used(pid), blobs)
        digest = bh.sha256(manifest)
        r = self.reg.put_manifest(repo, "v1", manifest, bh.OCI_MANIFEST)
        self.assertDenied(r)
        self.assertEqual(self.reg.request("GET", "/v2/%s/manifests/v1" % repo).status, 404)
        self.assertFalse(self.stored(digest), "the refused manifest was stored")
        self.assertEqual(self.api.used(pid), blobs)

        self.api.set_limit(pid, blobs + len(manifest))
        r = self.reg.put_manifest(repo, "v1", manifest, bh.OCI_MANIFEST)
        self.assertEqual(r.status, 201, "%r" % r)
        self.assertEqual(self.api.used(pid), blobs + len(manifest))
        summary = self.api.ok("GET", "/projects/%d/summary" % pid)
        self.assertEqual(summary["quota"], {"hard": {"storage": blobs + len(manifest)},
                                            "used": {"storage": blobs + len(manifest)}})
        # At the limit, re-pushing and re-tagging what is there is fine.
        self.assertEqual(self.reg.put_manifest(repo, "v2", manifest, bh.OCI_MANIFEST).status, 201)

        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest))
        self.assertEqual(r.status, 202, "%r" % r)
        self.assertEqual(self.api.used(pid), 0)
        self.assertEqual(db_recount(self.reg, pid), 0)

    def test_shared_blobs_count_once_per_project_and_go_with_the_last_user(self):
        base = os.urandom(3000)
        name, pid = self.project(-1)
        other_name, other = self.project(-1)
        pushed = []
        for repo, seed in ((name + "/a", "1"), (name + "/b", "2"), (other_name + "/a", "3")):
            config, layers, manifest = image(seed + uuid.uuid4().hex, shared_layers=[base],
                                             own_layer_size=100)
            for blob in [config] + layers:
                self.reg.push_blob(repo, blob)
            r = self.reg.put_manifest(repo, "latest", manifest, bh.OCI_MANIFEST)
            self.assertEqual(r.status, 201, "%r" % r)
            pushed.append((repo, len(config) + 100 + len(manifest), bh.sha256(manifest)))
        self.assertEqual(self.api.used(pid), 3000 + pushed[0][1] + pushed[1][1])
        self.assertEqual(self.api.used(other), 3000 + pushed[2][1])

        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (pushed[0][0], pushed[0][2]))
        self.assertEqual(r.status, 202)
        self.assertEqual(self.api.used(pid), 3000 + pushed[1][1], "the base layer is still used")
        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (pushed[1][0], pushed[1][2]))
        self.assertEqual(r.status, 202)
        self.assertEqual(self.api.used(pid), 0)
        self.assertEqual(self.api.used(other), 3000 + pushed[2][1])
        self.assertEqual(db_recount(self.reg, pid), 0)
        self.assertEqual(db_recount(self.reg, other), 3000 + pushed[2][1])

    def test_deleting_an_unclaimed_blob_gives_it_back(self):
        name, pid = self.project(-1)
        digest = self.reg.push_blob(name + "/app", os.urandom(321))
        self.assertEqual(self.api.used(pid), 321)
        r = self.reg.request("DELETE", "/v2/%s/app/blobs/%s" % (name, digest))
        self.assertEqual(r.status, 202, "%r" % r)
        self.assertEqual(self.api.used(pid), 0)


class QuotaConcurrencyTest(QuotaCase):
    """50 clients push overlapping images into one project with a tight limit."""

    CLIENTS = 50
    LIMIT = 400 * 1024

    def recount_job(self, pid):
        """Runs the QUOTA_RECOUNT job for one project through the API and
        returns (usage before, recounted usage) from its log."""
        r = self.reg.request("POST", "/api/v2.0/system/quotarecount/schedule",
                             json.dumps({"schedule": {"type": "Manual"},
                                         "parameters": {"project_id": pid}}).encode(),
                             {"Content-Type": "application/json"})
        self.assertEqual(r.status, 201, "%r" % r)
        run = r.header("Location")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = json.loads(self.reg.request("GET", run).body)["job_status"]
            if st in ("Success", "Error", "Stopped"):
                break
            time.sleep(0.1)
        self.assertEqual(st, "Success")
        log = self.reg.request("GET", run + "/log").body.decode()
        m = re.search(r"project %d: \d+ blobs, (\d+) bytes \((exact|was (\d+): repaired)\)" % pid, log)
        self.assertIsNotNone(m, log)
        now = int(m.group(1))
        return (now if m.group(2) == "exact" else int(m.group(3)), now)

    def test_recount_job_repairs_drift(self):
        name = bh.unique("drift")
        pid = self.api.create_project(name, storage_limit=-1)
        self.reg.push_image("%s/app" % name, tag="v1")
        used = self.api.used(pid)
        self.assertGreater(used, 0)
        self.assertEqual(self.recount_job(pid), (used, used))
        # Drift made by hand in the database is found and repaired.
        db_exec(self.reg, "UPDATE quota SET used_storage = used_storage + 12345 "
                          "WHERE reference = 'project' AND reference_id = %d" % pid)
        self.assertEqual(self.api.used(pid), used + 12345)
        self.assertEqual(self.recount_job(pid), (used + 12345, used))
        self.assertEqual(self.api.used(pid), used)

    def test_fifty_concurrent_pushers(self):
        name = bh.unique("conc")
        pid = self.api.create_project(name, storage_limit=self.LIMIT)
        rnd = random.Random(8)
        pool = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(8, 24) * 1024))
                for _ in range(10)]
        lock = threading.Lock()
        accepted = {}  # digest -> size of every accepted blob and manifest
        manifests = []  # (repo, digest) accepted
        refused = [0]
        errors = []
        start = threading.Barrier(self.CLIENTS)

        def note(r, digest, size, what):
            with lock:
                if r.status == 201:
                    accepted[digest] = size
                    return True
                if r.status == 403 and "DENIED" in r.error_codes():
                    refused[0] += 1
                else:
                    errors.append("%s: %r" % (what, r))
                return False

        def client(i):
            try:
                repo = "%s/app%d" % (name, i % 6)
                shared = [pool[(i * 3 + k) % len(pool)] for k in range(2)]
                config, layers, manifest = image("client-%d" % i, shared_layers=shared,
                                                 own_layer_size=4096 + 97 * i)
                start.wait(60)
                ok = True
                for blob in [config] + layers:
                    d = bh.sha256(blob)
                    r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d),
                                         blob, {"Content-Type": "application/octet-stream"})
                    ok = note(r, d, len(blob), "blob") and ok
                if not ok:
                    return
                d = bh.sha256(manifest)
                r = self.reg.put_manifest(repo, "c%d" % i, manifest, bh.OCI_MANIFEST)
                if note(r, d, len(manifest), "manifest"):
                    with lock:
                        manifests.append((repo, d))
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        self.assertEqual(errors, [])
        self.assertGreater(refused[0], 0, "the limit was not tight enough to refuse anything")
        self.assertGreater(len(manifests), 0, "nothing was accepted")

        expected = sum(accepted.values())
        used = self.api.used(pid)
        self.assertLessEqual(used, self.LIMIT, "accepted pushes exceed the limit")
        self.assertEqual(used, expected, "usage differs from what was accepted")
        self.assertEqual(db_recount(self.reg, pid), used, "usage differs from a recount")
        self.assertEqual(self.recount_job(pid), (used, used), "the QUOTA_RECOUNT job disagrees")
        # Every accepted manifest is complete and pullable.
        for repo, d in manifests:
            r = self.reg.request("GET", "/v2/%s/manifests/%s" % (repo, d),
                                 headers={"Accept": bh.OCI_MANIFEST})
            self.assertEqual(r.status, 200, "%r" % r)
            for desc in [json.loads(r.body)["config"]] + json.loads(r.body)["layers"]:
                self.assertEqual(self.reg.request(
                    "HEAD", "/v2/%s/blobs/%s" % (repo, desc["digest"])).status, 200)

        # Concurrent deletes give space back and stay exact.
        def delete(repo, d):
            r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, d))
            if r.status != 202:
                with lock:
                    errors.append("delete: %r" % r)

        threads = [threading.Thread(target=delete, args=m) for m in manifests]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        after = self.api.used(pid)
        self.assertLess(after, used)
        self.assertEqual(db_recount(self.reg, pid), after)


if __name__ == "__main__":
    bh.main()
