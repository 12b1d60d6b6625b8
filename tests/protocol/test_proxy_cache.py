#!/usr/bin/env python3
"""Proxy cache: a project created with registry_id pulls through from that
registry (Harbor's proxy-cache projects), here Debian's docker-registry 2.8
started on 127.0.0.1 and seeded with skopeo.

Covers project creation (system administrators only, 400 for a registry that
does not exist, registry_id shown and never changed); skopeo copy and podman
pull through the proxy project, byte for byte; the cached content in the
artifact API; a second pull served with the upstream stopped; a tag moved
upstream picked up once the check interval passed (and not before); the
cached tag served while the upstream is down; an uncached tag answered with
MANIFEST_UNKNOWN quickly, up or down; a tag the upstream dropped; pushes and
/v2 deletes refused with Harbor's DENIED; a non-member refused on a private
proxy project; a multi-arch index; two concurrent pulls of one uncached blob;
a client that disconnects mid-blob leaves nothing behind. The
PROXY_CACHE_FILL job: one platform pulled (or a manifest only HEADed, or some
layers skipped) still stores the whole image, the upstream's index digest
kept; it survives a restart and gives up with a reason when the upstream is
gone. A registry in use is not deleted (Harbor's 412); proxy_speed_kb is
validated and limits upstream fetches; the default retention policy; upstream
sessions reused; a Range of an uncached blob forwarded upstream.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import berth_harness as bh
from berth_harness import DOCKER_REGISTRY, SKOPEO, DockerRegistry, Layout, push_layout, skopeo
from harbor_api import Api

PODMAN = shutil.which("podman")
INTERVAL_S = 2  # proxy_cache.manifest_check_interval_s of the berthd under test
FILL_DELAY_S = 1  # proxy_cache.fill_delay_s: PROXY_CACHE_FILL jobs start this much later
# On PostgreSQL (protocol_pg.proxy_cache) the tests that exercise the stores
# run; the byte-moving ones are the same code on both and run on SQLite only.
ON_POSTGRES = bool(os.environ.get("BERTH_PROTOCOL_POSTGRES_DSN_FILE"))
transfers = unittest.skipIf(ON_POSTGRES, "transfers run on SQLite only (same code)")


class ProxyCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (DOCKER_REGISTRY, SKOPEO):
            if not os.path.exists(tool):
                raise unittest.SkipTest("%s is not installed" % tool)
        cls.reg = bh.Registry(
            config="proxy_cache:\n  manifest_check_interval_s: %d\n  fill_delay_s: %d\n"
            % (INTERVAL_S, FILL_DELAY_S)).start()
        cls.api = Api(cls.reg)
        cls.upstream = DockerRegistry()
        cls.tmp = tempfile.mkdtemp(prefix="berth-proxy-test-")
        r = cls.api.call("POST", "/registries", {"name": bh.unique("upstream"), "type": "docker-registry",
                                                 "url": cls.upstream.url, "insecure": True})
        assert r.status == 201, "%r" % r
        cls.registry_id = int(r.header("Location").rsplit("/", 1)[1])
        cls.project = bh.unique("proxy")
        r = cls.api.call("POST", "/projects", {"project_name": cls.project, "registry_id": cls.registry_id,
                                               "metadata": {"public": "false"}})
        assert r.status == 201, "%r" % r
        cls.project_id = int(r.header("Location").rsplit("/", 1)[1])
        cls.reg.projects.add(cls.project)
        cls.admin_creds = "%s:%s" % (bh.ADMIN_USER, bh.ADMIN_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.reg.cleanup_checked(cls.__name__)

    def setUp(self):
        if self.upstream.proc.poll() is not None:
            self.upstream.resume()

    # -- helpers -----------------------------------------------------------

    @property
    def berth(self):
        return "127.0.0.1:%d" % self.reg.port

    def seed(self, repo, tag, sizes=(3000,), arches=None):
        """Pushes an image (or, with arches, an index of one image per
        architecture) to the upstream; returns (digest, layout dir kept for
        byte comparisons)."""
        lay = Layout()
        if arches:
            children = []
            for arch in arches:
                m = lay.image([lay.layer(s) for s in sizes], arch=arch)
                m = dict(m, platform={"architecture": arch, "os": "linux"})
                children.append(m)
            top = lay.index(children)
        else:
            top = lay.image([lay.layer(s) for s in sizes])
        lay.tag(top, tag)
        push_layout(lay, tag, "%s/%s:%s" % (self.upstream.host, repo, tag), None)
        self.addCleanup(lay.cleanup)
        return top["digest"], lay

    def proxy_ref(self, repo, ref):
        sep = "@" if ref.startswith("sha256:") else ":"
        return "docker://%s/%s/%s%s%s" % (self.berth, self.project, repo, sep, ref)

    def pull_dir(self, repo, tag, creds=None, all_=False, check=True, arch=None):
        dest = os.path.join(self.tmp, bh.unique("pulled"))
        r = skopeo(*(["--override-arch", arch] if arch else []),
                   "copy", "--retry-times", "0", "--src-tls-verify=false",
                   "--src-creds", creds or self.admin_creds, *(["--all"] if all_ else []),
                   self.proxy_ref(repo, tag), "oci:" + dest + ":x", check=check)
        return dest, r

    def raw_manifest(self, repo, ref, creds=None):
        r = skopeo("inspect", "--raw", "--retry-times", "0", "--tls-verify=false",
                   "--creds", creds or self.admin_creds, self.proxy_ref(repo, ref), check=False)
        return r

    def proxied_digest(self, repo, tag):
        r = self.raw_manifest(repo, tag)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return bh.sha256(r.stdout)

    def assertSameBlobs(self, pulled_dir, layout):
        """Every blob pulled is byte for byte the one seeded."""
        blobs = os.path.join(pulled_dir, "blobs", "sha256")
        names = os.listdir(blobs)
        self.assertTrue(names)
        for name in names:
            with open(os.path.join(blobs, name), "rb") as f:
                data = f.read()
            self.assertEqual(hashlib.sha256(data).hexdigest(), name)
            with open(os.path.join(layout.dir, "blobs", "sha256", name), "rb") as f:
                self.assertEqual(f.read(), data, name)

    def artifacts(self, repo):
        r = self.api.call("GET", "/projects/%s/repositories/%s/artifacts?page_size=50&with_tag=true" % (
            self.project, repo.replace("/", "%252F")))
        if r.status == 404:  # no repository (yet)
            return []
        self.assertEqual(r.status, 200, "%r" % r)
        return r.json()

    def v2(self, method, path, **kw):
        return self.reg.request(method, "/v2/%s/%s" % (self.project, path), **kw)

    def podman_pull(self, repo, tag):
        root = tempfile.mkdtemp(prefix="bp-", dir="/tmp")  # podman: runroot under 50 characters
        argv = [PODMAN, "--root", os.path.join(root, "root"), "--runroot", os.path.join(root, "run"),
                "--storage-driver", "vfs", "pull", "--tls-verify=false", "--creds", self.admin_creds,
                "%s/%s/%s:%s" % (self.berth, self.project, repo, tag)]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        subprocess.run([PODMAN, "--root", os.path.join(root, "root"), "--runroot",
                        os.path.join(root, "run"), "--storage-driver", "vfs", "rmi", "-af"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
        return p

    def wait_stored(self, repo, digest, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if digest in [a["digest"] for a in self.artifacts(repo)]:
                return
            time.sleep(0.1)
        self.fail("%s@%s was not stored" % (repo, digest))

    # -- the project -------------------------------------------------------

    def test_project_creation_rules(self):
        got = self.api.ok("GET", "/projects/%d" % self.project_id)
        self.assertEqual(got["registry_id"], self.registry_id)
        # A registry that does not exist: 400, nothing created.
        name = bh.unique("proxy")
        r = self.api.call("POST", "/projects", {"project_name": name, "registry_id": 999999})
        self.assertEqual(r.status, 400, "%r" % r)
        self.assertIn("registry 999999 not found", r.json()["errors"][0]["message"])
        self.assertEqual(self.api.call("GET", "/projects/%s" % name).status, 404)
        # Only system administrators create proxy-cache projects.
        user = self.api.create_user(bh.unique("user"))
        r = self.api.call("POST", "/projects", {"project_name": name, "registry_id": self.registry_id},
                          auth=user)
        self.assertEqual(r.status, 403, "%r" % r)
        self.assertEqual(self.api.call("GET", "/projects/%s" % name).status, 404)
        # The registry of a project never changes; the same value is accepted.
        r = self.api.call("PUT", "/projects/%d" % self.project_id, {"registry_id": self.registry_id + 1})
        self.assertEqual(r.status, 400, "%r" % r)
        r = self.api.call("PUT", "/projects/%d" % self.project_id,
                          {"registry_id": self.registry_id, "metadata": {"public": "false"}})
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertEqual(self.api.ok("GET", "/projects/%d" % self.project_id)["registry_id"],
                         self.registry_id)

    def test_registry_of_a_proxy_project_cannot_be_deleted(self):
        # Harbor's registry controller: 412 while a proxy project uses it.
        r = self.api.call("DELETE", "/registries/%d" % self.registry_id)
        self.assertEqual(r.status, 412, "%r" % r)
        self.assertEqual(r.json()["errors"][0], {
            "code": "PRECONDITION",
            "message": "the registry %d is referenced by proxy cache project, cannot delete it"
                       % self.registry_id})
        self.assertEqual(self.api.call("GET", "/registries/%d" % self.registry_id).status, 200)
        self.assertEqual(self.api.ok("GET", "/projects/%d" % self.project_id)["registry_id"],
                         self.registry_id)
        # Once no project uses it, it goes.
        r = self.api.call("POST", "/registries", {"name": bh.unique("spare"), "type": "docker-registry",
                                                  "url": self.upstream.url, "insecure": True})
        self.assertEqual(r.status, 201, "%r" % r)
        spare = int(r.header("Location").rsplit("/", 1)[1])
        name = bh.unique("proxy")
        pid = self.api.ok("GET", "/projects/%s" % self.create_proxy_project(name, spare))["project_id"]
        self.assertEqual(self.api.call("DELETE", "/registries/%d" % spare).status, 412)
        self.api.ok("DELETE", "/projects/%d" % pid)
        self.api.ok("DELETE", "/registries/%d" % spare)
        self.assertEqual(self.api.call("GET", "/registries/%d" % spare).status, 404)

    def create_proxy_project(self, name, registry_id, metadata=None):
        r = self.api.call("POST", "/projects", {"project_name": name, "registry_id": registry_id,
                                                "metadata": metadata or {}})
        self.assertEqual(r.status, 201, "%r" % r)
        return name

    def test_default_retention_policy(self):
        # Harbor: every proxy-cache project gets "retain what was pulled in
        # the last 7 days", run daily.
        md = self.api.ok("GET", "/projects/%d" % self.project_id)["metadata"]
        rid = int(md["retention_id"])
        pol = self.api.ok("GET", "/retentions/%d" % rid)
        self.assertEqual(pol["algorithm"], "or")
        self.assertEqual(pol["scope"], {"level": "project", "ref": self.project_id})
        self.assertEqual(pol["trigger"]["kind"], "Schedule")
        self.assertEqual(pol["trigger"]["settings"]["cron"], "0 0 0 * * *")
        self.assertEqual(len(pol["rules"]), 1)
        rule = pol["rules"][0]
        self.assertEqual((rule["action"], rule["template"]), ("retain", "nDaysSinceLastPull"))
        self.assertEqual(rule["params"], {"nDaysSinceLastPull": 7})
        self.assertEqual([(s["kind"], s["decoration"], s["pattern"]) for s in rule["tag_selectors"]],
                         [("doublestar", "matches", "**")])
        self.assertEqual([(s["kind"], s["decoration"], s["pattern"])
                          for s in rule["scope_selectors"]["repository"]],
                         [("doublestar", "repoMatches", "**")])
        # A project that is no proxy cache gets none.
        name = bh.unique("plain")
        self.assertEqual(self.api.call("POST", "/projects", {"project_name": name}).status, 201)
        self.assertNotIn("retention_id", self.api.ok("GET", "/projects/%s" % name)["metadata"])

    def test_proxy_speed_kb_validation(self):
        for bad in ("fast", "1.5", "99999999999"):
            name = bh.unique("proxy")
            r = self.api.call("POST", "/projects", {"project_name": name, "registry_id": self.registry_id,
                                                    "metadata": {"proxy_speed_kb": bad}})
            self.assertEqual(r.status, 400, "%s %r" % (bad, r))
            self.assertIn("proxy_speed_kb should by an int32", r.json()["errors"][0]["message"])
            self.assertEqual(self.api.call("GET", "/projects/%s" % name).status, 404)
        name = self.create_proxy_project(bh.unique("proxy"), self.registry_id, {"proxy_speed_kb": "-1"})
        self.assertEqual(self.api.ok("GET", "/projects/%s" % name)["metadata"]["proxy_speed_kb"], "-1")
        self.api.ok("PUT", "/projects/%s" % name, {"metadata": {"proxy_speed_kb": "2048"}})
        self.assertEqual(self.api.ok("GET", "/projects/%s" % name)["metadata"]["proxy_speed_kb"], "2048")
        r = self.api.call("PUT", "/projects/%s" % name, {"metadata": {"proxy_speed_kb": "x"}})
        self.assertEqual(r.status, 400, "%r" % r)
        self.assertEqual(self.api.ok("GET", "/projects/%s" % name)["metadata"]["proxy_speed_kb"], "2048")

    @transfers
    def test_proxy_speed_kb_limits_upstream_fetches(self):
        name = self.create_proxy_project(bh.unique("slow"), self.registry_id, {"proxy_speed_kb": "256"})
        self.reg.projects.add(name)
        repo = bh.unique("big")
        self.seed(repo, "v1", sizes=(1 << 20,))
        r = self.reg.request("GET", "/v2/%s/%s/manifests/v1" % (name, repo),
                             headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, "%r" % r)
        layer = r.json()["layers"][0]
        started = time.time()
        r = self.reg.request("GET", "/v2/%s/%s/blobs/%s" % (name, repo, layer["digest"]))
        took = time.time() - started
        self.assertEqual(r.status, 200)
        self.assertEqual(bh.sha256(r.body), layer["digest"])
        # 1 MiB at 256 KB/s: 4 s (the first piece comes at once).
        self.assertGreaterEqual(took, 3.0)
        # Cached now: served at full speed.
        started = time.time()
        r = self.reg.request("GET", "/v2/%s/%s/blobs/%s" % (name, repo, layer["digest"]))
        self.assertEqual(r.status, 200)
        self.assertLess(time.time() - started, 2.0)

    def test_max_upstream_conn_limits_concurrent_fetches(self):
        name = self.create_proxy_project(bh.unique("conn"), self.registry_id,
                                         {"proxy_speed_kb": "256", "max_upstream_conn": "1"})
        self.reg.projects.add(name)
        repo = bh.unique("two")
        self.seed(repo, "v1", sizes=(1 << 20, 3000))
        self.seed(repo, "v2", sizes=(5000,))
        r = self.reg.request("GET", "/v2/%s/%s/manifests/v1" % (name, repo),
                             headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, "%r" % r)
        big, small = r.json()["layers"]
        results = []

        def fetch_big():
            resp = self.reg.request("GET", "/v2/%s/%s/blobs/%s" % (name, repo, big["digest"]))
            results.append((resp.status, bh.sha256(resp.body)))

        t = threading.Thread(target=fetch_big)
        t.start()
        try:
            time.sleep(1.0)  # 1 MiB at 256 KB/s: the one connection is busy for ~4 s
            # Another upstream fetch of the project: Harbor's 429.
            r = self.reg.request("GET", "/v2/%s/%s/blobs/%s" % (name, repo, small["digest"]),
                                 check=False)
            self.assertEqual(r.status, 429, "%r" % r)
            self.assertEqual(r.json()["errors"][0]["code"], "TOOMANYREQUESTS")
            self.assertIn("max_upstream_conn", r.json()["errors"][0]["message"])
            r = self.reg.request("GET", "/v2/%s/%s/manifests/v2" % (name, repo),
                                 headers={"Accept": bh.OCI_MANIFEST}, check=False)
            self.assertEqual(r.status, 429, "%r" % r)
            # What the cache holds (v1, served but not stored yet) is still served.
            r = self.reg.request("GET", "/v2/%s/%s/manifests/v1" % (name, repo),
                                 headers={"Accept": bh.OCI_MANIFEST})
            self.assertEqual(r.status, 200, "%r" % r)
            # Other proxy projects have their own limits.
            other = bh.unique("free")
            self.seed(other, "v1", sizes=(2000,))
            self.assertEqual(self.reg.request("GET", "/v2/%s/%s/manifests/v1" % (self.project, other),
                                              headers={"Accept": bh.OCI_MANIFEST}).status, 200)
        finally:
            t.join(60)
        self.assertEqual(results, [(200, big["digest"])])
        # The slot is back: the small layer comes (the fill job may hold the
        # connection for a moment first).
        deadline = time.time() + 15
        while True:
            r = self.reg.request("GET", "/v2/%s/%s/blobs/%s" % (name, repo, small["digest"]),
                                 check=False)
            if r.status != 429 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertEqual(bh.sha256(r.body), small["digest"])
        # max_upstream_conn must be an integer.
        r = self.api.call("PUT", "/projects/%s" % name, {"metadata": {"max_upstream_conn": "many"}})
        self.assertEqual(r.status, 400, "%r" % r)

    # -- pulls -------------------------------------------------------------

    @transfers
    def test_pull_through_then_offline(self):
        repo = bh.unique("app")
        digest, lay = self.seed(repo, "v1", sizes=(5000, 70000))
        pulled, _ = self.pull_dir(repo, "v1")
        self.assertSameBlobs(pulled, lay)
        self.assertEqual(self.proxied_digest(repo, "v1"), digest)
        # Stored as any pushed artifact: listed, tagged, counted in the quota.
        self.wait_stored(repo, digest)
        art = [a for a in self.artifacts(repo) if a["digest"] == digest][0]
        self.assertEqual([t["name"] for t in art["tags"]], ["v1"])
        summary = self.api.ok("GET", "/projects/%d/summary" % self.project_id)
        self.assertGreater(summary["quota"]["used"]["storage"], 70000)
        if PODMAN:
            p = self.podman_pull(repo, "v1")
            self.assertEqual(p.returncode, 0, p.stderr.decode())
        # The upstream goes away: the cached image still pulls, once the
        # check interval has passed too (the HEAD fails, the cache answers).
        self.upstream.halt()
        time.sleep(INTERVAL_S + 0.2)
        pulled, _ = self.pull_dir(repo, "v1")
        self.assertSameBlobs(pulled, lay)
        self.assertEqual(self.proxied_digest(repo, "v1"), digest)
        self.assertEqual(self.proxied_digest(repo, digest), digest)
        if PODMAN:
            p = self.podman_pull(repo, "v1")
            self.assertEqual(p.returncode, 0, p.stderr.decode())

    def test_tag_moved_upstream_is_seen_after_the_interval(self):
        repo = bh.unique("moving")
        first, _ = self.seed(repo, "latest")
        self.pull_dir(repo, "latest")
        self.wait_stored(repo, first)
        self.assertEqual(self.proxied_digest(repo, "latest"), first)
        second, lay = self.seed(repo, "latest")
        self.assertNotEqual(first, second)
        # Checked within the interval: the cached one.
        self.assertEqual(self.proxied_digest(repo, "latest"), first)
        time.sleep(INTERVAL_S + 0.2)
        self.assertEqual(self.proxied_digest(repo, "latest"), second)
        pulled, _ = self.pull_dir(repo, "latest")
        self.assertSameBlobs(pulled, lay)
        self.wait_stored(repo, second)
        tags = {a["digest"]: [t["name"] for t in (a.get("tags") or [])] for a in self.artifacts(repo)}
        self.assertEqual(tags[second], ["latest"])
        self.assertEqual(tags[first], [])

    def test_uncached_and_unknown_tags(self):
        repo = bh.unique("missing")
        digest, _ = self.seed(repo, "v1")
        r = self.v2("GET", "%s/manifests/nope" % repo, headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.error_codes(), ["MANIFEST_UNKNOWN"])
        r = self.v2("GET", "nothing-here/manifests/v1")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.error_codes(), ["MANIFEST_UNKNOWN"])
        # Upstream down and the tag never pulled: a clear error, quickly.
        self.upstream.halt()
        started = time.time()
        r = self.v2("GET", "%s/manifests/v1" % repo, headers={"Accept": bh.OCI_MANIFEST})
        self.assertLess(time.time() - started, 10)
        self.assertEqual(r.status, 404)
        self.assertEqual(r.error_codes(), ["MANIFEST_UNKNOWN"])
        self.assertIn("upstream", r.json()["errors"][0]["message"])
        self.upstream.resume()
        self.assertEqual(self.proxied_digest(repo, "v1"), digest)

    def test_tag_deleted_upstream_is_no_longer_served(self):
        repo = bh.unique("dropped")
        digest, _ = self.seed(repo, "v1")
        self.pull_dir(repo, "v1")
        self.wait_stored(repo, digest)
        skopeo("delete", "--tls-verify=false", "docker://%s/%s@%s" % (self.upstream.host, repo, digest))
        time.sleep(INTERVAL_S + 0.2)
        r = self.v2("GET", "%s/manifests/v1" % repo, headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 404, "%r" % r)
        self.assertEqual(r.error_codes(), ["MANIFEST_UNKNOWN"])
        # As in Harbor the tag goes; the content stays for retention and GC.
        arts = {a["digest"]: a for a in self.artifacts(repo)}
        self.assertFalse(arts[digest].get("tags"))

    @transfers
    def test_multi_arch_index(self):
        repo = bh.unique("multi")
        digest, lay = self.seed(repo, "v1", arches=("amd64", "arm64"))
        pulled, _ = self.pull_dir(repo, "v1", all_=True)
        self.assertSameBlobs(pulled, lay)
        self.assertEqual(self.proxied_digest(repo, "v1"), digest)
        self.wait_stored(repo, digest)
        top = [a for a in self.artifacts(repo) if a["digest"] == digest][0]
        self.assertEqual(top["media_type"], bh.OCI_INDEX)
        self.assertEqual(len(top["references"]), 2)
        if PODMAN:
            p = self.podman_pull(repo, "v1")
            self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.upstream.halt()
        time.sleep(INTERVAL_S + 0.2)
        pulled, _ = self.pull_dir(repo, "v1", all_=True)
        self.assertSameBlobs(pulled, lay)

    def fill_jobs(self, repo, count=1, timeout=20):
        """Waits for `count` finished PROXY_CACHE_FILL jobs of the repository."""
        return self.reg.wait_log(
            lambda r: r.get("msg") == "job finished" and r.get("kind") == "PROXY_CACHE_FILL"
            and repo in self.job_log(r.get("job_id")), count=count, timeout=timeout)

    def job_log(self, job_id):
        r = self.reg.request("GET", "/api/v2.0/jobservice/jobs/%s/log" % job_id, check=False)
        return r.body.decode(errors="replace") if r.status == 200 else ""

    @transfers
    def test_one_platform_pulled_the_job_stores_all(self):
        repo = bh.unique("oneplat")
        digest, lay = self.seed(repo, "v1", sizes=(4000, 20000), arches=("amd64", "arm64"))
        pulled, _ = self.pull_dir(repo, "v1", arch="amd64")
        # The job fetches the arm64 image the client skipped, then stores the
        # upstream's index as it is (same digest, both children).
        self.wait_stored(repo, digest, timeout=30)
        top = [a for a in self.artifacts(repo) if a["digest"] == digest][0]
        self.assertEqual(top["media_type"], bh.OCI_INDEX)
        self.assertEqual([t["name"] for t in top["tags"]], ["v1"])
        self.assertEqual(len(top["references"]), 2)
        for ref in top["references"]:
            self.api.ok("GET", "/projects/%s/repositories/%s/artifacts/%s" % (
                self.project, repo, ref["child_digest"]))
        # Upstream gone: the other platform, and all of them, come from the cache.
        self.upstream.halt()
        time.sleep(INTERVAL_S + 0.2)
        pulled, _ = self.pull_dir(repo, "v1", arch="arm64")
        self.assertSameBlobs(pulled, lay)
        pulled, _ = self.pull_dir(repo, "v1", all_=True)
        self.assertSameBlobs(pulled, lay)
        with open(os.path.join(pulled, "index.json")) as f:
            self.assertEqual(json.load(f)["manifests"][0]["digest"], digest)

    @transfers
    def test_manifest_only_requests_get_the_image_stored(self):
        for method in ("HEAD", "GET"):
            repo = bh.unique("headonly")
            digest, lay = self.seed(repo, "v1", sizes=(3000, 9000))
            r = self.v2(method, "%s/manifests/v1" % repo, headers={"Accept": bh.OCI_MANIFEST})
            self.assertEqual(r.status, 200, "%r" % r)
            self.assertEqual(r.header("Docker-Content-Digest"), digest)
            self.wait_stored(repo, digest, timeout=30)
            self.upstream.halt()
            time.sleep(INTERVAL_S + 0.2)
            pulled, _ = self.pull_dir(repo, "v1")
            self.assertSameBlobs(pulled, lay)
            self.upstream.resume()

    @transfers
    def test_client_with_some_layers_still_stores(self):
        # A client that has the first layer pulls only the second: the job
        # fetches the first, and the image is stored.
        repo = bh.unique("skipper")
        digest, lay = self.seed(repo, "v1", sizes=(5000, 6000))
        m = self.manifest_of(repo, "v1")
        r = self.v2("GET", "%s/blobs/%s" % (repo, m["config"]["digest"]))
        self.assertEqual(r.status, 200)
        r = self.v2("GET", "%s/blobs/%s" % (repo, m["layers"][1]["digest"]))
        self.assertEqual(r.status, 200)
        self.wait_stored(repo, digest, timeout=30)
        self.fill_jobs(repo)
        r = self.v2("HEAD", "%s/blobs/%s" % (repo, m["layers"][0]["digest"]))
        self.assertEqual(r.status, 200)

    @transfers
    def test_fill_job_survives_a_restart(self):
        # A berthd of its own whose fill jobs wait 4 s: stopped before that,
        # the job runs after the restart.
        reg = bh.Registry(config="proxy_cache:\n  fill_delay_s: 4\n").start()
        self.addCleanup(reg.cleanup)
        api = Api(reg)
        r = api.call("POST", "/registries", {"name": bh.unique("up"), "type": "docker-registry",
                                             "url": self.upstream.url, "insecure": True})
        self.assertEqual(r.status, 201, "%r" % r)
        rid = int(r.header("Location").rsplit("/", 1)[1])
        name = bh.unique("proxy")
        r = api.call("POST", "/projects", {"project_name": name, "registry_id": rid})
        self.assertEqual(r.status, 201, "%r" % r)
        reg.projects.add(name)
        repo = bh.unique("durable")
        digest, _ = self.seed(repo, "v1", sizes=(3000,))
        asked = time.time()
        r = reg.request("HEAD", "/v2/%s/%s/manifests/v1" % (name, repo),
                        headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertEqual(reg.stop(), 0)
        if time.time() - asked >= 4:
            self.skipTest("berthd took too long to stop to tell where the job ran")
        reg.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            arts = api.call("GET", "/projects/%s/repositories/%s/artifacts" % (name, repo))
            if arts.status == 200 and digest in [a["digest"] for a in arts.json()]:
                break
            time.sleep(0.2)
        else:
            self.fail("not stored after the restart")

    @transfers
    def test_fill_gives_up_when_the_upstream_is_gone(self):
        repo = bh.unique("vanish")
        self.seed(repo, "v1", sizes=(3000,))
        r = self.v2("HEAD", "%s/manifests/v1" % repo, headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, "%r" % r)
        self.upstream.halt()
        rec = self.fill_jobs(repo)[0]
        self.assertEqual(rec.get("status"), "Error", rec)
        self.assertIn("upstream", rec.get("error", "") + self.job_log(rec["job_id"]))
        self.assertEqual(self.artifacts(repo), [])

    def test_upstream_sessions_are_reused(self):
        # An upstream with Basic auth answers 401 to a request without
        # credentials: a fresh session gets one on its first request, a
        # reused one none.
        up = DockerRegistry(basic_auth=True)
        self.addCleanup(up.stop)
        r = self.api.call("POST", "/registries", {
            "name": bh.unique("authed"), "type": "docker-registry", "url": up.url, "insecure": True,
            "credential": {"type": "basic", "access_key": bh.PEER_USER,
                           "access_secret": bh.PEER_PASSWORD}})
        self.assertEqual(r.status, 201, "%r" % r)
        rid = int(r.header("Location").rsplit("/", 1)[1])
        name = self.create_proxy_project(bh.unique("authed"), rid)
        self.reg.projects.add(name)
        lay = Layout()
        self.addCleanup(lay.cleanup)
        lay.tag(lay.image([lay.layer(2000)]), "v1")
        push_layout(lay, "v1", "%s/app:v1" % up.host, "%s:%s" % (bh.PEER_USER, bh.PEER_PASSWORD))

        def challenges():
            up.log.flush()
            with open(os.path.join(up.root, "registry.log"), "rb") as f:
                return sum(1 for line in f if b'" 401 ' in line)

        before = challenges()
        for _ in range(4):
            r = self.reg.request("HEAD", "/v2/%s/app/manifests/v1" % name,
                                 headers={"Accept": bh.OCI_MANIFEST})
            self.assertEqual(r.status, 200, "%r" % r)
        # One fresh session (two if the fill job took one meanwhile); without
        # reuse every HEAD would be challenged.
        self.assertGreaterEqual(challenges() - before, 1)
        self.assertLessEqual(challenges() - before, 2)

    # -- writes and access -------------------------------------------------

    def test_pushes_and_v2_deletes_are_refused(self):
        repo = bh.unique("nopush")
        digest, _ = self.seed(repo, "v1")
        lay = Layout()
        self.addCleanup(lay.cleanup)
        m = lay.image([lay.layer(100)])
        lay.tag(m, "mine")
        r = subprocess.run([SKOPEO, "--insecure-policy", "copy", "--retry-times", "0",
                            "--dest-tls-verify=false", "--dest-creds", self.admin_creds,
                            "oci:%s:mine" % lay.dir, self.proxy_ref(repo, "mine")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("can not push artifact to a proxy project", r.stderr.decode())
        r = self.v2("POST", "%s/blobs/uploads/" % repo)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.error_codes(), ["DENIED"])
        self.assertEqual(r.json()["errors"][0]["message"],
                         "can not push artifact to a proxy project: " + self.project)
        r = self.v2("PUT", "%s/manifests/v2" % repo, body=b"{}",
                    headers={"Content-Type": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 403)
        self.pull_dir(repo, "v1")
        self.wait_stored(repo, digest)
        for ref in ("v1", digest):
            r = self.v2("DELETE", "%s/manifests/%s" % (repo, ref))
            self.assertEqual(r.status, 403, "%r" % r)
            self.assertEqual(r.error_codes(), ["DENIED"])
        # The artifact API still deletes cached content.
        self.api.ok("DELETE", "/projects/%s/repositories/%s/artifacts/%s" % (self.project, repo, digest))
        self.assertEqual(self.artifacts(repo), [])

    def test_non_member_is_refused_members_pull(self):
        repo = bh.unique("private")
        digest, _ = self.seed(repo, "v1")
        user = self.api.create_user(bh.unique("outsider"))
        creds = "%s:%s" % user
        _, r = self.pull_dir(repo, "v1", creds=creds, check=False)
        self.assertNotEqual(r.returncode, 0)
        anon = self.reg.request("GET", "/v2/%s/%s/manifests/v1" % (self.project, repo), auth=False)
        self.assertEqual(anon.status, 401)
        # Nothing was fetched for them.
        self.assertEqual(self.artifacts(repo), [])
        self.api.add_member(self.project_id, user, "guest")
        self.pull_dir(repo, "v1", creds=creds)
        self.wait_stored(repo, digest)

    # -- blobs -------------------------------------------------------------

    def manifest_of(self, repo, tag):
        r = self.v2("GET", "%s/manifests/%s" % (repo, tag), headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, "%r" % r)
        return r.json()

    @transfers
    def test_concurrent_pulls_of_one_uncached_blob(self):
        repo = bh.unique("concurrent")
        self.seed(repo, "v1", sizes=(3 << 20,))
        layer = self.manifest_of(repo, "v1")["layers"][0]
        results = []

        def fetch():
            r = self.v2("GET", "%s/blobs/%s" % (repo, layer["digest"]))
            results.append((r.status, bh.sha256(r.body)))

        threads = [threading.Thread(target=fetch) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [(200, layer["digest"])] * 2)
        # Stored once, at its content address, with no upload left over.
        stored = [os.path.join(d, f) for d, _, fs in os.walk(self.reg.data_dir) for f in fs
                  if f == "data" and layer["digest"][7:] in d]
        self.assertEqual(len(stored), 1, stored)
        self.assertEqual(self.leftover_uploads(), [])

    @transfers
    def test_range_of_an_uncached_blob(self):
        repo = bh.unique("ranged")
        _, lay = self.seed(repo, "v1", sizes=(200000,))
        layer = self.manifest_of(repo, "v1")["layers"][0]
        with open(os.path.join(lay.dir, "blobs", "sha256", layer["digest"][7:]), "rb") as f:
            data = f.read()
        path = "/v2/%s/%s/blobs/%s" % (self.project, repo, layer["digest"])
        # Forwarded to the upstream: 206 with just those bytes.
        r = self.reg.request("GET", path, headers={"Range": "bytes=1000-1999"})
        self.assertEqual(r.status, 206, "%r" % r)
        self.assertEqual(r.header("Content-Range"), "bytes 1000-1999/%d" % len(data))
        self.assertEqual(r.body, data[1000:2000])
        r = self.reg.request("GET", path, headers={"Range": "bytes=199990-"})
        self.assertEqual(r.status, 206, "%r" % r)
        self.assertEqual(r.body, data[199990:])
        r = self.reg.request("GET", path, headers={"Range": "bytes=300000-"}, check=False)
        self.assertEqual(r.status, 416, "%r" % r)
        self.assertEqual(r.header("Content-Range"), "bytes */%d" % len(data))
        r = self.reg.request("GET", path)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, data)

    def leftover_uploads(self):
        out = []
        for d, _, fs in os.walk(self.reg.data_dir):
            if "uploads" in d.split(os.sep):
                out.extend(os.path.join(d, f) for f in fs)
        return out

    @transfers
    def test_client_gone_mid_blob_leaves_nothing(self):
        repo = bh.unique("gone")
        self.seed(repo, "v1", sizes=(8 << 20,))
        layer = self.manifest_of(repo, "v1")["layers"][0]
        conn = self.reg.connect()
        conn.request("GET", "/v2/%s/%s/blobs/%s" % (self.project, repo, layer["digest"]),
                     headers={"Authorization": self.reg.auth_header()})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        resp.read(64 * 1024)
        conn.sock.close()
        conn.close()
        deadline = time.time() + 15
        while time.time() < deadline and self.leftover_uploads():
            time.sleep(0.1)
        self.assertEqual(self.leftover_uploads(), [])
        r = self.reg.request("HEAD", "/v2/%s/%s/blobs/%s" % (self.project, repo, layer["digest"]))
        self.assertEqual(r.header("Content-Length"), str(layer["size"]))
        # Nothing half-stored: the next pull fetches it whole.
        r = self.v2("GET", "%s/blobs/%s" % (repo, layer["digest"]))
        self.assertEqual(r.status, 200)
        self.assertEqual(bh.sha256(r.body), layer["digest"])


if __name__ == "__main__":
    bh.main()
