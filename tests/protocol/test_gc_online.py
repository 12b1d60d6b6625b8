#!/usr/bin/python3
"""Online garbage collection: no acknowledged push is ever lost.

For BERTH_GC_ONLINE_SECONDS (default 180) BERTH_GC_ONLINE_CLIENTS client
threads (default 4) push images while another thread runs GC in a loop
through the API (delete_untagged: true) on a berthd with a tight
gc.time_window_s (BERTH_GC_ONLINE_WINDOW_S, default 5; see WINDOW_S).

Clients push new tagged images (random layers plus layers from a pool every
client shares, so the same digests are uploaded, HEAD-skipped and mounted
across repositories all the time), OCI indexes whose children are pushed
untagged first, re-pushes of their images (same manifest under a new tag, in
the same repository or another one, with ?mount=&from=), untagged images
(garbage), deletes of their own images by digest, and pulls of their own
images. A client does what docker does: HEAD a blob and skip its upload when
it is there, then PUT the manifest later. A push GC breaks fails (the
registry answers MANIFEST_BLOB_UNKNOWN, or 503 when a removal races a link),
which is allowed and counted. What is not allowed: a manifest PUT answered
201 (and not deleted by the test) that later does not pull byte for byte.

Halfway through, berthd is killed (SIGKILL) in the middle of a GC run (made
long with orphan files) and restarted; with jobs.lease_s: 3 the next berthd
takes the run over and finishes it.

At the end: every acknowledged image pulls (manifest by tag and digest, every
blob re-hashed, index children too); every tag of every repository in the
catalog pulls fully (no manifest points at a missing blob); a last GC with
the clients stopped leaves exactly the blobs the remaining manifests use.
Python 3 standard library only.
"""

import collections
import http.client
import json
import os
import random
import re
import signal
import sys
import threading
import time
import unittest
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, Registry, descriptor, dumps, location_path,
    main, sha256)
from test_gc import (  # noqa: E402
    FINISHED, GC, Image, api, blob_file, blob_files, gc_summary, job_log, wait_idle,
    write_orphans)

SECONDS = float(os.environ.get("BERTH_GC_ONLINE_SECONDS", "180"))
CLIENTS = int(os.environ.get("BERTH_GC_ONLINE_CLIENTS", "4"))
# The time window. 0 is the hardest case for the collector (every blob no
# artifact references when a run starts is a candidate), but it also
# legitimately breaks a push that HEADs a blob (found: upload skipped) and
# PUTs its manifest later: GC may remove the blob in between, and the
# manifest PUT gets MANIFEST_BLOB_UNKNOWN (with 0 about a quarter of the
# pushes here fail that way). Harbor's answer is the window: a blob seen
# (HEAD, GET, mount refresh a link older than half of it) within the window
# stays. 5 s keeps those pushes working while GC still races them constantly;
# BERTH_GC_ONLINE_WINDOW_S=0 runs the harsh variant (same zero-loss verdict).
WINDOW_S = int(os.environ.get("BERTH_GC_ONLINE_WINDOW_S", "5"))
SEED = int(os.environ.get("BERTH_GC_ONLINE_SEED", str(int(time.time()))))
REPOS = ["online/app%d" % i for i in range(4)] + ["shared/base", "shared/tools"]
NET_ERRORS = (OSError, http.client.HTTPException)


class Failed(Exception):
    """A push step the registry refused (allowed: counted, not a loss)."""


def reason(what, r):
    try:
        codes = ",".join(r.error_codes())
    except Exception:  # noqa: BLE001 - HEAD or non-JSON
        codes = ""
    return "%s %d %s" % (what, r.status, codes)


class World:
    """Shared state: acknowledged images, statistics, failures."""

    def __init__(self, reg):
        self.reg = reg
        self.lock = threading.Lock()
        self.records = {}  # (repo, tag) -> (owner, Image)
        self.where = collections.defaultdict(set)  # blob digest -> repos with an acked image using it
        self.stats = collections.Counter()
        self.refused = collections.Counter()  # reason -> count
        self.server_errors = []  # 5xx other than the documented 503
        self.losses = []
        self.stop = threading.Event()
        self.down = threading.Event()  # berthd being restarted
        self.restart = threading.Event()  # asks the main thread to restart berthd
        self.restarted = threading.Event()

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def refuse(self, why, r=None):
        with self.lock:
            self.refused[why] += 1
            if r is not None and r.status >= 500 and r.status != 503:
                self.server_errors.append("%s: %r" % (why, r))

    def ack(self, owner, img):
        with self.lock:
            self.records[(img.repo, img.tag)] = (owner, img)
            for d in list(img.blobs) + [c.digest for c in img.children] + \
                    [b for c in img.children for b in c.blobs]:
                self.where[d].add(img.repo)

    def own(self, owner):
        with self.lock:
            return [img for o, img in self.records.values() if o == owner]

    def forget(self, repo, digest):
        """A delete by digest removes every tag of that manifest in the repo."""
        with self.lock:
            for key in [k for k, (_, img) in self.records.items()
                        if img.repo == repo and img.digest == digest]:
                del self.records[key]

    def mount_source(self, digest, repo):
        with self.lock:
            others = sorted(self.where.get(digest, set()) - {repo})
        return others


class Client:
    def __init__(self, world, index):
        self.w = world
        self.reg = world.reg
        self.i = index
        self.rnd = random.Random(SEED * 100 + index)
        self.n = 0

    # -- steps -------------------------------------------------------------

    def req(self, method, path, body=None, headers=None):
        return self.reg.request(method, path, body, headers, check=False)

    def upload(self, repo, data):
        """Makes the blob available in repo: HEAD (skip when present), else a
        cross-repository mount when another repository has it, else an upload
        (monolithic or POST/PATCH/PUT)."""
        d = sha256(data)
        r = self.req("HEAD", "/v2/%s/blobs/%s" % (repo, d))
        if r.status == 200:
            self.w.count("blob HEAD present, upload skipped")
            return
        if r.status != 404:
            raise Failed(reason("blob HEAD", r))
        loc = None
        sources = self.w.mount_source(d, repo)
        if sources and self.rnd.random() < 0.7:
            r = self.req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" %
                         (repo, d, self.rnd.choice(sources)))
            if r.status == 201:
                self.w.count("blob mounted")
                return
            if r.status != 202:
                raise Failed(reason("blob mount", r))
            self.w.count("mount fell back to an upload")
            loc = location_path(r)
        if loc is None and self.rnd.random() < 0.6:
            r = self.req("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), data,
                         {"Content-Type": "application/octet-stream"})
            if r.status != 201:
                raise Failed(reason("blob monolithic POST", r))
            self.w.count("blob uploaded")
            return
        if loc is None:
            r = self.req("POST", "/v2/%s/blobs/uploads/" % repo)
            if r.status != 202:
                raise Failed(reason("upload POST", r))
            loc = location_path(r)
        half = len(data) // 2
        r = self.req("PATCH", loc, data[:half], {"Content-Type": "application/octet-stream",
                                                 "Content-Range": "0-%d" % (half - 1)})
        if r.status != 202:
            raise Failed(reason("upload PATCH", r))
        loc = location_path(r)
        sep = "&" if "?" in loc else "?"
        r = self.req("PUT", "%s%sdigest=%s" % (loc, sep, d), data[half:],
                     {"Content-Type": "application/octet-stream"})
        if r.status != 201:
            raise Failed(reason("upload PUT", r))
        self.w.count("blob uploaded")

    def put_manifest(self, repo, ref, body, media_type):
        r = self.req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body, {"Content-Type": media_type})
        if r.status != 201:
            raise Failed(reason("manifest PUT", r))
        if r.header("Docker-Content-Digest") != sha256(body):
            self.w.losses.append("manifest PUT %s:%s answered digest %s, pushed %s" % (
                repo, ref, r.header("Docker-Content-Digest"), sha256(body)))

    def layer(self):
        if self.rnd.random() < 0.5:
            return self.rnd.choice(SHARED_LAYERS)
        return os.urandom(self.rnd.randint(200, 48 * 1024))

    def new_tag(self):
        self.n += 1
        return "c%d-%d" % (self.i, self.n)

    def build_image(self, repo, tag):
        config = json.dumps({"architecture": "amd64", "os": "linux", "client": self.i,
                             "seed": uuidlib.uuid4().hex}).encode()
        layers = []
        for _ in range(self.rnd.randint(1, 3)):
            data = self.layer()
            if data not in layers:
                layers.append(data)
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": descriptor(OCI_CONFIG, config),
             "layers": [descriptor(OCI_LAYER, data) for data in layers]}
        blobs = {sha256(config): config}
        blobs.update((sha256(data), data) for data in layers)
        return Image(repo, tag, dumps(m), OCI_MANIFEST, blobs)

    def push(self, img, ref=None):
        """Blobs (children first for an index), then the manifest."""
        for c in img.children:
            self.push(c, c.digest)
        for data in img.blobs.values():
            self.upload(img.repo, data)
        if self.rnd.random() < 0.1:
            time.sleep(self.rnd.random() * 0.5)  # a slow client between blobs and manifest
        self.put_manifest(img.repo, ref or img.tag, img.body, img.media_type)

    # -- operations --------------------------------------------------------

    def op_new_image(self):
        img = self.build_image(self.rnd.choice(REPOS), self.new_tag())
        self.push(img)
        self.w.ack(self.i, img)
        self.w.count("acked: new image")

    def op_index(self):
        repo = self.rnd.choice(REPOS)
        children = [self.build_image(repo, None) for _ in range(self.rnd.randint(1, 3))]
        m = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [descriptor(OCI_MANIFEST, c.body,
                                      platform={"architecture": "arch%d" % k, "os": "linux"})
                           for k, c in enumerate(children)]}
        img = Image(repo, self.new_tag(), dumps(m), OCI_INDEX, {}, children)
        self.push(img)
        self.w.ack(self.i, img)
        self.w.count("acked: index")

    def op_repush(self):
        mine = self.w.own(self.i)
        if not mine:
            return self.op_new_image()
        src = self.rnd.choice(mine)
        repo = src.repo if self.rnd.random() < 0.5 else self.rnd.choice(REPOS)
        img = Image(repo, self.new_tag(), src.body, src.media_type, src.blobs,
                    [Image(repo, None, c.body, c.media_type, c.blobs) for c in src.children])
        self.push(img)
        self.w.ack(self.i, img)
        self.w.count("acked: re-push" + (" (same repository)" if repo == src.repo else
                                          " (other repository)"))

    def op_untagged(self):
        img = self.build_image(self.rnd.choice(REPOS), None)
        self.push(img, img.digest)
        self.w.count("untagged pushed (garbage)")

    def op_delete(self):
        mine = self.w.own(self.i)
        if len(mine) < 3:
            return
        img = self.rnd.choice(mine)
        # Forget first: a delete whose answer is lost (berthd killed) may
        # have happened, so the image is no longer promised either way.
        self.w.forget(img.repo, img.digest)
        r = self.req("DELETE", "/v2/%s/manifests/%s" % (img.repo, img.digest))
        if r.status != 202:
            self.w.losses.append("DELETE of acknowledged %r answered %r" % (img, r))
        self.w.count("deleted own image")

    def op_pull(self):
        mine = self.w.own(self.i)
        if not mine:
            return
        img = self.rnd.choice(mine)
        problems = pull_problems(self.reg, img)
        if self.w.down.is_set() or any(p.startswith("connection") for p in problems):
            self.w.count("pull cut by the restart")  # not a verdict either way
            return
        if problems:
            self.w.losses.append("mid-run pull of %r: %s" % (img, problems))
        self.w.count("pulled own image")

    def run(self):
        ops = [(0.40, self.op_new_image), (0.10, self.op_index), (0.15, self.op_repush),
               (0.10, self.op_untagged), (0.10, self.op_delete), (0.15, self.op_pull)]
        while not self.w.stop.is_set():
            x = self.rnd.random()
            for p, fn in ops:
                if x < p:
                    break
                x -= p
            try:
                fn()
            except Failed as e:
                self.w.refuse(str(e))
            except NET_ERRORS as e:
                self.w.refuse("connection: %s" % type(e).__name__)
                time.sleep(0.2)


class KeepAlive:
    """GETs over one kept-alive connection (reopened once when it drops)."""

    def __init__(self, reg):
        self.reg = reg
        self.conn = None

    def get(self, path, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self.reg.connect()
            try:
                return self.reg.request("GET", path, headers=headers, conn=self.conn, check=False)
            except NET_ERRORS:
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()


def pull_problems(reg, img, ka=None):
    """What does not pull byte for byte (empty when all is well)."""
    out = []
    own = ka is None
    ka = ka or KeepAlive(reg)
    try:
        refs = [img.digest] + ([img.tag] if img.tag else [])
        for ref in refs:
            r = ka.get("/v2/%s/manifests/%s" % (img.repo, ref), {"Accept": img.media_type})
            if r.status != 200 or r.body != img.body:
                out.append("manifest %s: %d %r" % (ref, r.status, r.body[:200]))
        for d, data in img.blobs.items():
            r = ka.get("/v2/%s/blobs/%s" % (img.repo, d))
            if r.status != 200 or sha256(r.body) != d or r.body != data:
                out.append("blob %s: %d %r" % (d, r.status, r.body[:200]))
        for c in img.children:
            out += ["child " + p for p in pull_problems(reg, c, ka)]
    except NET_ERRORS as e:
        out.append("connection: %r" % e)
    finally:
        if own:
            ka.close()
    return out


SHARED_LAYERS = []


class OnlineGc(unittest.TestCase):
    def setUp(self):
        self.reg = Registry(config="gc:\n  time_window_s: %d\njobs:\n  lease_s: 3\n  poll_ms: 100\n"
                            % WINDOW_S).start()

    def tearDown(self):
        self.reg.cleanup_checked(self.id())

    def gc_loop(self, world, runs, kill_at):
        reg = self.reg
        rnd = random.Random(SEED)
        killed = False
        while not world.stop.is_set():
            kill = not killed and time.monotonic() >= kill_at
            try:
                if kill:
                    # Long enough to be killed in the middle of.
                    write_orphans(reg, 1500)
                r = api(reg, "POST", GC + "/schedule", {
                    "schedule": {"type": "Manual"},
                    "parameters": {"delete_untagged": True, "workers": rnd.randint(1, 4)}},
                    check=False)
                if r.status == 409:
                    time.sleep(0.2)
                    continue
                if r.status != 201:
                    runs.append(("refused", r))
                    time.sleep(0.5)
                    continue
                job = int(location_path(r).rsplit("/", 1)[1])
                if kill:
                    self.kill_mid_run(world, job)
                    killed = True
                deadline = time.monotonic() + 300
                while True:
                    j = reg.request("GET", "%s/%d" % (GC, job), check=False).json()
                    if j["job_status"] in FINISHED or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                runs.append((job, j["job_status"], job_log(reg, GC, job), kill))
            except NET_ERRORS as e:
                runs.append(("connection", repr(e)))
                time.sleep(0.5)
        return killed

    def kill_mid_run(self, world, job):
        reg = self.reg
        deadline = time.monotonic() + 60
        while reg.request("GET", "%s/%d" % (GC, job)).json()["job_status"] != "Running":
            if time.monotonic() > deadline:
                raise AssertionError("GC %d never ran" % job)
            time.sleep(0.02)
        time.sleep(random.Random(SEED).uniform(0.2, 1.5))
        status = reg.request("GET", "%s/%d" % (GC, job)).json()["job_status"]
        world.down.set()
        reg.proc.send_signal(signal.SIGKILL)
        # The restart happens on the main thread: berthd dies with the
        # thread that started it (PR_SET_PDEATHSIG follows the thread).
        world.restart.set()
        if not world.restarted.wait(120):
            raise AssertionError("berthd was not restarted")
        world.restarted.clear()
        world.down.clear()
        sys.stderr.write("gc-online: killed berthd (SIGKILL) during GC run %d (%s); restarted\n"
                         % (job, status))
        world.count("berthd killed during a GC run (%s)" % status)

    def serve_restart(self, world, timeout):
        if world.restart.wait(timeout):
            world.restart.clear()
            self.reg.stop()
            self.reg.start()
            world.restarted.set()

    def test_online_gc_loses_nothing(self):
        reg = self.reg
        rnd = random.Random(SEED)
        SHARED_LAYERS[:] = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(300, 20000)))
                            for _ in range(12)]
        for repo in REPOS:
            reg.ensure_project("/v2/%s/x" % repo)
        world = World(reg)
        clients = [Client(world, i) for i in range(CLIENTS)]
        threads = [threading.Thread(target=c.run, name="client-%d" % c.i) for c in clients]
        runs = []
        t0 = time.monotonic()
        gc_thread = threading.Thread(target=lambda: runs.append(
            ("killed", self.gc_loop(world, runs, t0 + SECONDS / 2))), name="gc")
        sys.stderr.write("gc-online: %d clients, %d s, window %d s, seed %d\n" %
                         (CLIENTS, SECONDS, WINDOW_S, SEED))
        for t in threads + [gc_thread]:
            t.start()
        try:
            while time.monotonic() - t0 < SECONDS and all(t.is_alive() for t in threads):
                self.serve_restart(world, 0.2)
        finally:
            world.stop.set()
            for t in threads:
                t.join(600)
            while gc_thread.is_alive():
                self.serve_restart(world, 0.2)
                gc_thread.join(0.2)
        elapsed = time.monotonic() - t0
        self.assertTrue(reg.alive(), reg.stderr_tail())

        gcs = [r for r in runs if isinstance(r[0], int)]
        ok = [r for r in gcs if r[1] == "Success"]
        collected = [gc_summary(r[2]) for r in ok if "untagged artifacts" in r[2]]
        ms = sorted(int(m) for r in ok for m in re.findall(r" in (\d+) ms", r[2]))
        report = ["gc-online: %.0f s, seed %d" % (elapsed, SEED),
                  "  GC runs: %d (%d Success), %d untagged artifacts and %d blobs collected; "
                  "run time median %s ms, max %s ms" % (
                      len(gcs), len(ok), sum(c[1] for c in collected), sum(c[2] for c in collected),
                      ms[len(ms) // 2] if ms else "-", ms[-1] if ms else "-")]
        report += ["  %6d %s" % (n, k) for k, n in sorted(world.stats.items())]
        report.append("  refused steps (allowed; the push failed):")
        report += ["  %6d %s" % (n, k) for k, n in sorted(world.refused.items(), key=lambda x: -x[1])]
        sys.stderr.write("\n".join(report) + "\n")

        self.assertIn(("killed", True), runs, "berthd was never killed during a GC run")
        bad = [r for r in runs if not isinstance(r[0], int) and r[0] != "killed"
               and r[0] != "connection"]
        self.assertEqual(bad, [], "GC requests refused")
        failed = [(r[0], r[1], r[2][-2000:]) for r in gcs if r[1] != "Success"]
        self.assertEqual(failed, [], "GC runs that did not succeed")
        killed_run = [r for r in gcs if r[3]]
        self.assertEqual(len(killed_run), 1)
        self.assertIn("an earlier worker stopped answering", killed_run[0][2])
        self.assertGreater(world.stats["acked: new image"], 0)
        self.assertEqual(world.losses, [], "acknowledged content lost during the run")

        # Every acknowledged image, byte for byte.
        t1 = time.monotonic()
        wait_idle(reg, timeout=300)
        with world.lock:
            records = [img for _, img in world.records.values()]
        ka = KeepAlive(reg)
        losses = {repr(img): p for img in records for p in [pull_problems(reg, img, ka)] if p}
        ka.close()
        self.assertEqual(losses, {}, "%d of %d acknowledged images do not pull" %
                         (len(losses), len(records)))
        t2 = time.monotonic()
        # A last run with nobody pushing (and the window passed) leaves
        # exactly what manifests use.
        time.sleep(WINDOW_S + 1)
        r = api(reg, "POST", GC + "/schedule",
                {"schedule": {"type": "Manual"}, "parameters": {"delete_untagged": True}})
        self.assertEqual(r.status, 201, r)
        wait_idle(reg, timeout=300)
        job = int(location_path(r).rsplit("/", 1)[1])
        self.assertEqual(reg.request("GET", "%s/%d" % (GC, job)).json()["job_status"], "Success",
                         job_log(reg, GC, job))
        t3 = time.monotonic()
        # Every tag in the registry pulls fully (no manifest points at a
        # missing blob), and still names what the test pushed.
        used, tags = self.walk_catalog()
        moved = ["%r is now %s" % (img, tags.get((img.repo, img.tag))) for img in records
                 if tags.get((img.repo, img.tag)) != img.digest]
        self.assertEqual(moved, [], "acknowledged tags lost to the final GC")
        for img in records:
            for c in img.children:
                self.assertIn(c.digest, used, "child of %r" % img)
        files = {p for p in blob_files(reg) if p.endswith("/data")}
        want = {blob_file(d) for d in used}
        self.assertEqual(sorted(want - files), [], "blobs in use are missing on disk")
        self.assertEqual(sorted(files - want), [], "garbage left after a quiet GC run")
        self.assertEqual(world.server_errors, [], "5xx answers (other than 503)")
        sys.stderr.write("gc-online: %d acknowledged images verified (%.0f s), final GC %.0f s, "
                         "catalog walk %.0f s, %d blobs in use\n" % (
                             len(records), t2 - t1, t3 - t2, time.monotonic() - t3, len(used)))

    def walk_catalog(self):
        """Pulls every tag of every repository fully; returns every digest in
        use (manifests, children, configs, layers) and {(repo, tag): digest}."""
        reg = self.reg
        used = set()
        checked = set()  # (repo, blob digest) pulled already
        problems = []
        ka = KeepAlive(reg)
        tag_map = {}
        repos = ka.get("/v2/_catalog?n=10000").json()["repositories"]
        for repo in repos:
            tags = ka.get("/v2/%s/tags/list?n=100000" % repo).json().get("tags") or []
            todo = [(t, t) for t in tags]
            while todo:
                ref, tag = todo.pop()
                r = ka.get("/v2/%s/manifests/%s" % (repo, ref),
                           {"Accept": ",".join([OCI_MANIFEST, OCI_INDEX])})
                if r.status != 200:
                    problems.append("%s:%s manifest %d" % (repo, ref, r.status))
                    continue
                d = sha256(r.body)
                used.add(d)
                if tag:
                    tag_map[(repo, tag)] = d
                m = json.loads(r.body)
                for c in m.get("manifests", []):
                    todo.append((c["digest"], None))
                for b in ([m["config"]] if "config" in m else []) + m.get("layers", []):
                    used.add(b["digest"])
                    if (repo, b["digest"]) in checked:
                        continue
                    checked.add((repo, b["digest"]))
                    g = ka.get("/v2/%s/blobs/%s" % (repo, b["digest"]))
                    if g.status != 200 or sha256(g.body) != b["digest"]:
                        problems.append("%s:%s blob %s: %d" % (repo, ref, b["digest"], g.status))
        ka.close()
        self.assertEqual(problems, [], "manifests pointing at missing content")
        return used, tag_map


if __name__ == "__main__":
    main()
