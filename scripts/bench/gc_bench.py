#!/usr/bin/python3
"""Garbage collection: berthd's online GC against distribution 2.8's offline
`docker-registry garbage-collect`, on the same logical content.

    scripts/bench/gc_bench.py                          ~100,000 blobs, half unreferenced
    BENCH_GC_BLOBS=5000 BENCH_GC_WORKERS=1 scripts/bench/gc_bench.py     quick look
    BENCH_WRITE_DOCS=1 scripts/bench/gc_bench.py       ... and rewrite the gc block
                                                       of docs/benchmarks.md

Stand-alone (run.sh is not needed): builds berthd (Release, build-bench/,
target berth-runtime) unless BENCH_SKIP_BUILD=1, makes its own work
directory under BENCH_TMPDIR, stops the servers it started (by pid) and
removes the directory on exit. python3 stdlib only; needs docker-registry.

What it does:
 1. The data: BENCH_GC_BLOBS blobs (64-512 random bytes each) spread over
    BENCH_GC_REPOS repositories of project `bench`; each image is an OCI
    manifest with BENCH_GC_LAYERS layers (the first one is the repository's
    shared base layer, the others its own) and its own config. Pushed over
    keep-alive HTTP by BENCH_GC_THREADS threads, tagged. Then half the images
    (every other one, and all of the first repository, so that its shared
    base layer becomes unreferenced too) are deleted by digest.
 2. distribution: stopped, then `docker-registry garbage-collect CONFIG`
    timed (offline: the registry must be down or read-only meanwhile). Then,
    on a copy of the same data (hard links), the same GC while a read-only
    distribution (storage.maintenance.readonly) serves pulls.
 3. berthd: the GC job (POST /api/v2.0/system/gc/schedule, time_window 0)
    timed from POST to Success, for each of BENCH_GC_WORKERS, each on its own
    copy of the data, while a pull loop runs; the same loop before GC gives
    the idle latency.
 4. After every GC: the blob files left on disk are counted and checked
    (every surviving blob and manifest present and hash-correct, every
    deleted image's blobs and manifest gone) and every surviving image is
    pulled over HTTP (manifest and every blob: 200 and hash-correct); deleted
    ones must answer 404.

Environment (all optional):
  BENCH_GC_BLOBS         layers + configs pushed                        100000
  BENCH_GC_REPOS         repositories                                   50
  BENCH_GC_LAYERS        layers per image (incl. the shared base)       10
  BENCH_GC_THREADS       push / verify threads                          4
  BENCH_GC_WORKERS       berthd GC runs, comma list of `workers`        1,4
  BENCH_GC_IDLE_S        seconds of the idle pull loop                  10
  BENCH_GC_DIST_READONLY 1: also run distribution's GC read-only + pulls  1
  BENCH_GC_DIST_UNTAGGED 1: distribution GC with --delete-untagged      0
  BENCH_GC_HTTP_VERIFY   1: pull every surviving image after each GC    1
  BENCH_GC_SEED          seed of the random content                     1
  BENCH_DIST_CACHE       distribution's blobdescriptor cache            inmemory
  BENCH_BUILD_DIR, BENCH_SKIP_BUILD, BENCH_TMPDIR, BENCH_WRITE_DOCS as run.sh;
  BENCH_KEEP=1 keeps the work directory.
"""
import concurrent.futures
import datetime
import hashlib
import http.client
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the side-by-side benchmark's helpers)
from bench import (ACCEPT, BASIC, OCI_CONFIG, OCI_LAYER_GZ, OCI_MANIFEST, PASSWORD,  # noqa: E402
                   PROJECT, ROOT, Server, env_int, free_port, say, sha256_hex)


class Cfg:
    def __init__(self):
        self.build = os.environ.get("BENCH_BUILD_DIR", os.path.join(ROOT, "build-bench"))
        self.blobs = env_int("BENCH_GC_BLOBS", 100000)
        self.repos = env_int("BENCH_GC_REPOS", 50)
        self.layers = max(2, env_int("BENCH_GC_LAYERS", 10))
        self.threads = env_int("BENCH_GC_THREADS", 4)
        self.workers = [int(w) for w in os.environ.get("BENCH_GC_WORKERS", "1,4").split(",")
                        if w.strip()]
        self.idle_s = env_int("BENCH_GC_IDLE_S", 10)
        self.dist_readonly = os.environ.get("BENCH_GC_DIST_READONLY", "1") == "1"
        self.dist_untagged = os.environ.get("BENCH_GC_DIST_UNTAGGED", "0") == "1"
        self.http_verify = os.environ.get("BENCH_GC_HTTP_VERIFY", "1") == "1"
        self.seed = env_int("BENCH_GC_SEED", 1)
        self.dist_cache = os.environ.get("BENCH_DIST_CACHE", "inmemory")
        if self.dist_cache == "none":
            self.dist_cache = ""
        self.write_docs = os.environ.get("BENCH_WRITE_DOCS", "0") == "1"
        self.keep = os.environ.get("BENCH_KEEP", "0") == "1"
        self.work = None


# Everything started here, stopped on any exit (by pid, never by name).
LIVE = []


def track(proc):
    LIVE.append(proc)
    return proc


def stop_proc(proc, timeout=30):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in LIVE:
        LIVE.remove(proc)


# ------------------------------------------------------------------ data --


class Image:
    __slots__ = ("repo", "tag", "config", "layers", "manifest", "digest", "deleted")

    def __init__(self, repo, tag, config, layers, manifest):
        self.repo, self.tag, self.config, self.layers = repo, tag, config, layers
        self.manifest = manifest
        self.digest = "sha256:" + sha256_hex(manifest)
        self.deleted = False

    def blobs(self):
        return [self.config] + self.layers  # digests


class Data:
    """The logical content, the same for both registries."""

    def __init__(self, cfg):
        rng = random.Random(cfg.seed)
        self.content = {}  # digest -> bytes (layers and configs)
        self.repos = [f"{PROJECT}/gc-{i:03d}" for i in range(cfg.repos)]
        self.base = {}  # repo -> its shared base layer digest
        self.images = []

        def blob(data):
            d = "sha256:" + sha256_hex(data)
            self.content[d] = data
            return d

        for repo in self.repos:
            self.base[repo] = blob(rng.randbytes(rng.randint(64, 512)))
        per_image = cfg.layers  # (layers - 1) own layers + 1 config
        n_images = max(len(self.repos), (cfg.blobs - len(self.repos)) // per_image)
        for k in range(n_images):
            repo = self.repos[k % len(self.repos)]
            layers = [self.base[repo]] + [blob(rng.randbytes(rng.randint(64, 512)))
                                          for _ in range(cfg.layers - 1)]
            # A real-looking config, padded to 64-512 bytes with random hex.
            cfg_obj = {"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": []},
                       "history": [{"created_by": "berth gc bench"}], "nonce": ""}
            want = rng.randint(200, 512)
            base_len = len(json.dumps(cfg_obj, separators=(",", ":")))
            cfg_obj["nonce"] = rng.randbytes(max(8, (want - base_len) // 2)).hex()
            config = blob(json.dumps(cfg_obj, separators=(",", ":")).encode())
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config,
                           "size": len(self.content[config])},
                "layers": [{"mediaType": OCI_LAYER_GZ, "digest": d, "size": len(self.content[d])}
                           for d in layers],
            }, separators=(",", ":")).encode()
            self.images.append(Image(repo, f"i{k // len(self.repos)}", config, layers, manifest))
        # Delete every other image, and every image of the first repository
        # (its shared base layer then becomes unreferenced as well).
        for k, img in enumerate(self.images):
            img.deleted = img.repo == self.repos[0] or (k // len(self.repos)) % 2 == 1
        self.survivors = [i for i in self.images if not i.deleted]
        self.deleted = [i for i in self.images if i.deleted]
        self.referenced = set()
        for img in self.survivors:
            self.referenced.update(img.blobs())
        self.unreferenced = set(self.content) - self.referenced
        self.surviving_manifests = {i.digest for i in self.survivors}
        self.deleted_manifests = {i.digest for i in self.deleted}
        # Files expected in blob storage after GC: referenced layers/configs
        # and the surviving manifests (both registries store manifests there).
        self.keep_files = self.referenced | self.surviving_manifests
        self.gone_files = self.unreferenced | self.deleted_manifests


# ---------------------------------------------------------------- client --


class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, host, auth=BASIC):
        self.host, self.auth = host, auth
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def call(self, method, url, body=None, headers=None, expect=()):
        h = {"Authorization": self.auth} if self.auth else {}
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, timeout=300)
            try:
                self.conn.request(method, url, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                self.close()
                if attempt:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        if expect and r.status not in expect:
            raise RuntimeError(f"{method} {url} -> {r.status}: {data[:300]!r}")
        return r, data

    @staticmethod
    def path(location):
        u = urllib.parse.urlsplit(location)
        return u.path + (("?" + u.query) if u.query else "")


def blob_push_mode(host, repo, data):
    """'post' if the server takes a monolithic POST ?digest= (berthd),
    else 'post+put' (distribution 2.8 ignores the body of such a POST)."""
    c = Client(host)
    d = "sha256:" + sha256_hex(data)
    r, _ = c.call("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
                  headers={"Content-Type": "application/octet-stream"}, expect=(201, 202))
    mode = "post"
    if r.status == 202:
        loc = c.path(r.getheader("Location"))
        sep = "&" if "?" in loc else "?"
        c.call("PUT", f"{loc}{sep}digest={d}", body=data,
               headers={"Content-Type": "application/octet-stream"}, expect=(201,))
        mode = "post+put"
    c.close()
    return mode


def push_blob(c, mode, repo, d, data):
    if mode == "post":
        c.call("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
               headers={"Content-Type": "application/octet-stream"}, expect=(201,))
        return
    r, _ = c.call("POST", f"/v2/{repo}/blobs/uploads/", body=b"",
                  headers={"Content-Length": "0"}, expect=(202,))
    loc = c.path(r.getheader("Location"))
    sep = "&" if "?" in loc else "?"
    c.call("PUT", f"{loc}{sep}digest={d}", body=data,
           headers={"Content-Type": "application/octet-stream"}, expect=(201,))


def parallel(cfg, host, items, fn, label):
    """fn(client, item) over items with cfg.threads threads, one connection
    each; progress every ~10 %; raises the first error."""
    local = threading.local()
    clients = []
    lock = threading.Lock()
    done = [0]
    step = max(1, len(items) // 10)
    t0 = time.perf_counter()

    def run(item):
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = Client(host)
            with lock:
                clients.append(c)
        out = fn(c, item)
        with lock:
            done[0] += 1
            if label and done[0] % step == 0:
                say(f"    {label}: {done[0]}/{len(items)} in {time.perf_counter() - t0:.0f} s")
        return out

    with concurrent.futures.ThreadPoolExecutor(cfg.threads) as ex:
        results = list(ex.map(run, items))
    for c in clients:
        c.close()
    return results


def load(cfg, data, host):
    """Pushes everything, then deletes half the images by digest."""
    mode = blob_push_mode(host, data.repos[0], data.content[data.base[data.repos[0]]])
    say(f"  blob upload: {'monolithic POST ?digest=' if mode == 'post' else 'POST + PUT ?digest='}")
    t0 = time.perf_counter()
    # Shared base layers first, then each image's own blobs and its manifest;
    # the work unit is one image so the threads interleave repositories.
    parallel(cfg, host, [r for r in data.repos[1:]],
             lambda c, repo: push_blob(c, mode, repo, data.base[repo], data.content[data.base[repo]]),
             None)

    def image(c, img):
        for d in [img.config] + img.layers[1:]:
            push_blob(c, mode, img.repo, d, data.content[d])
        c.call("PUT", f"/v2/{img.repo}/manifests/{img.tag}", body=img.manifest,
               headers={"Content-Type": OCI_MANIFEST}, expect=(201,))

    parallel(cfg, host, data.images, image, "images pushed")
    push_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    parallel(cfg, host, data.deleted,
             lambda c, img: c.call("DELETE", f"/v2/{img.repo}/manifests/{img.digest}",
                                   expect=(202,)), None)
    del_s = time.perf_counter() - t0
    n = len(data.content) + len(data.images)
    say(f"  pushed {len(data.content)} blobs + {len(data.images)} manifests in {push_s:.0f} s "
        f"({n / push_s:.0f}/s); deleted {len(data.deleted)} manifests in {del_s:.1f} s")
    return push_s


# --------------------------------------------------------------- servers --


def berthd_config(cfg, name, port):
    path = os.path.join(cfg.work, name + ".yml")
    with open(path, "w") as f:
        f.write(f"""listen: 127.0.0.1:{port}
data_dir: {os.path.join(cfg.work, name)}
log_level: warn
gc:
  time_window_s: 0
""")
    return path


def start_berthd(cfg, name):
    """berthd on data dir <work>/<name> (created on first start)."""
    port = free_port()
    conf = berthd_config(cfg, name, port)
    env = dict(os.environ, BERTH_ADMIN_PASSWORD=PASSWORD)
    for k in ("BERTH_CONFIG", "BERTH_LISTEN", "BERTH_DATA_DIR", "BERTH_LOG_LEVEL"):
        env.pop(k, None)
    proc = track(subprocess.Popen([os.path.join(cfg.build, "bin", "berthd"), "--config", conf],
                                  env=env, stdout=open(os.path.join(cfg.work, name + ".out"), "a"),
                                  stderr=open(os.path.join(cfg.work, name + ".err"), "a"),
                                  stdin=subprocess.DEVNULL))
    try:
        bench.wait_http_ok(f"127.0.0.1:{port}", proc=proc, timeout=60)
    except RuntimeError as e:
        raise RuntimeError(f"{e}: {bench.tail(cfg, name + '.err')}")
    return Server("berthd", proc, port)


def dist_config(cfg, name, port, readonly=False):
    path = os.path.join(cfg.work, name + (".ro" if readonly else "") + ".yml")
    cache = f"\n  cache:\n    blobdescriptor: {cfg.dist_cache}" if cfg.dist_cache else ""
    ro = "\n  maintenance:\n    readonly:\n      enabled: true" if readonly else ""
    with open(path, "w") as f:
        f.write(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:{cache}
  filesystem:
    rootdirectory: {os.path.join(cfg.work, name)}
  delete:
    enabled: true{ro}
http:
  addr: 127.0.0.1:{port}
""")
    return path


def start_distribution(cfg, name, readonly=False):
    os.makedirs(os.path.join(cfg.work, name), exist_ok=True)
    port = free_port()
    conf = dist_config(cfg, name, port, readonly)
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    proc = track(subprocess.Popen(["docker-registry", "serve", conf], env=env,
                                  stdout=open(os.path.join(cfg.work, name + ".out"), "a"),
                                  stderr=open(os.path.join(cfg.work, name + ".err"), "a"),
                                  stdin=subprocess.DEVNULL))
    try:
        bench.wait_http_ok(f"127.0.0.1:{port}", proc=proc)
    except RuntimeError as e:
        raise RuntimeError(f"{e}: {bench.tail(cfg, name + '.err')}")
    return Server("distribution", proc, port), conf


def snapshot(src, dst, link_dirs):
    """A copy of a data directory in which the subdirectories `link_dirs`
    (blob storage: GC only ever unlinks files there) are hard links and
    everything else (SQLite files, written in place) is a real copy."""
    os.makedirs(dst)
    for name in os.listdir(src):
        flags = "-al" if name in link_dirs else "-a"
        subprocess.run(["cp", flags, os.path.join(src, name), os.path.join(dst, name)],
                       check=True)


# ------------------------------------------------------------- on disk --


def berth_blob_root(cfg, name):
    # data_dir/storage is storage-fs's root (config.cc); it keeps objects
    # under <root>/data, blobs at /blobs/<alg>/<xx>/<hex>/data (blob/layout.h).
    return os.path.join(cfg.work, name, "storage", "data", "blobs")


def dist_blob_root(cfg, name):
    return os.path.join(cfg.work, name, "docker", "registry", "v2", "blobs")


def blob_file(root, digest):
    alg, hexd = digest.split(":", 1)
    return os.path.join(root, alg, hexd[:2], hexd, "data")


def count_blob_files(root):
    n = 0
    for _, _, files in os.walk(root):
        n += sum(1 for f in files if f == "data")
    return n


def verify_fs(data, root):
    """Problems with the blob files under root after GC (empty: all good)."""
    problems = []
    manifests = {i.digest: i.manifest for i in data.images}
    for d in data.keep_files:
        p = blob_file(root, d)
        try:
            with open(p, "rb") as f:
                b = f.read()
        except FileNotFoundError:
            problems.append(f"missing {d}")
            continue
        want = data.content.get(d, manifests.get(d))
        if b != want:
            problems.append(f"wrong bytes in {d}")
    for d in data.gone_files:
        if os.path.exists(blob_file(root, d)):
            problems.append(f"not deleted {d}")
    n = count_blob_files(root)
    if n != len(data.keep_files):
        problems.append(f"{n} blob files, expected {len(data.keep_files)}")
    return problems


# ------------------------------------------------------------ over HTTP --


def verify_http(cfg, data, host):
    """Every surviving image pulls completely and hash-correct; deleted images
    and their own blobs answer 404. Returns a list of problems."""
    problems = []
    lock = threading.Lock()

    def bad(msg):
        with lock:
            if len(problems) < 20:
                problems.append(msg)
            elif len(problems) == 20:
                problems.append("...")

    def survivor(c, img):
        r, body = c.call("GET", f"/v2/{img.repo}/manifests/{img.tag}", headers={"Accept": ACCEPT})
        if r.status != 200 or body != img.manifest:
            bad(f"{img.repo}:{img.tag} manifest -> {r.status}")
            return
        for d in img.blobs():
            r, body = c.call("GET", f"/v2/{img.repo}/blobs/{d}")
            if r.status != 200 or "sha256:" + sha256_hex(body) != d:
                bad(f"{img.repo}@{d} -> {r.status}{' wrong bytes' if r.status == 200 else ''}")

    def deleted(c, img):
        r, _ = c.call("GET", f"/v2/{img.repo}/manifests/{img.digest}", headers={"Accept": ACCEPT})
        if r.status != 404:
            bad(f"deleted manifest {img.repo}@{img.digest} -> {r.status}")
        for d in img.blobs():
            if d in data.unreferenced:
                r, _ = c.call("HEAD", f"/v2/{img.repo}/blobs/{d}")
                if r.status != 404:
                    bad(f"deleted blob {img.repo}@{d} -> {r.status}")

    parallel(cfg, host, data.survivors, survivor, None)
    parallel(cfg, host, data.deleted, deleted, None)
    return problems


class PullLoop(threading.Thread):
    """Manifest GET by tag + one blob GET of a surviving image, in a loop,
    over one keep-alive connection; records each pair's latency."""

    def __init__(self, host, data, seed):
        super().__init__(daemon=True)
        self.host, self.data = host, data
        self.rng = random.Random(seed)
        self.samples = []  # (start, seconds)
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        c = Client(self.host)
        imgs = self.data.survivors
        while not self.halt.is_set():
            img = imgs[self.rng.randrange(len(imgs))]
            d = self.rng.choice(img.blobs())
            t0 = time.perf_counter()
            try:
                r1, m = c.call("GET", f"/v2/{img.repo}/manifests/{img.tag}",
                               headers={"Accept": ACCEPT})
                r2, b = c.call("GET", f"/v2/{img.repo}/blobs/{d}")
            except Exception as e:  # noqa: BLE001
                self.errors.append((t0, f"{type(e).__name__}: {e}"))
                c.close()
                continue
            dt = time.perf_counter() - t0
            if r1.status != 200 or m != img.manifest:
                self.errors.append((t0, f"manifest {img.repo}:{img.tag} -> {r1.status}"))
            elif r2.status != 200 or "sha256:" + sha256_hex(b) != d:
                self.errors.append((t0, f"blob {img.repo}@{d} -> {r2.status}"))
            else:
                self.samples.append((t0, dt))
        c.close()

    def stop(self):
        self.halt.set()
        self.join()

    def stats(self, t_from=None, t_to=None):
        xs = sorted(dt for t, dt in self.samples
                    if (t_from is None or t >= t_from) and (t_to is None or t + dt <= t_to))
        errs = [e for t, e in self.errors
                if (t_from is None or t >= t_from) and (t_to is None or t <= t_to)]
        return {"n": len(xs), "p50": pct(xs, 50), "p99": pct(xs, 99),
                "max": xs[-1] if xs else None, "errors": errs}


def pct(xs, q):
    if not xs:
        return None
    return xs[max(0, min(len(xs) - 1, math.ceil(q / 100 * len(xs)) - 1))]


def idle_pulls(cfg, data, host):
    loop = PullLoop(host, data, cfg.seed + 1)
    loop.start()
    time.sleep(cfg.idle_s)
    loop.stop()
    return loop.stats()


# ------------------------------------------------------------------- GC --


def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def dist_gc(cfg, conf, name, pulls_host=None, data=None):
    """Times `docker-registry garbage-collect`; with pulls_host, runs the pull
    loop against that (read-only) server meanwhile."""
    cmd = ["docker-registry", "garbage-collect", conf]
    if cfg.dist_untagged:
        cmd.append("--delete-untagged")
    out_path = os.path.join(cfg.work, name + ".gc.out")
    loop = None
    if pulls_host:
        loop = PullLoop(pulls_host, data, cfg.seed + 2)
        loop.start()
        time.sleep(0.2)
    c0 = child_cpu()
    t0 = time.perf_counter()
    with open(out_path, "w") as out:
        proc = track(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL))
        rc = proc.wait()
        LIVE.remove(proc)
    t1 = time.perf_counter()
    cpu = child_cpu() - c0
    during = None
    if loop:
        loop.stop()
        during = loop.stats(t0, t1)
    with open(out_path, errors="replace") as f:
        text = f.read()
    if rc != 0:
        raise RuntimeError(f"garbage-collect exited {rc}: {text[-800:]}")
    m = re.search(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible", text)
    summary = m.group(0) if m else text.strip().splitlines()[-1:]
    return {"seconds": t1 - t0, "cpu": cpu, "during": during, "log": summary}


def berth_gc(cfg, server, data, workers, name):
    host = server.host
    c = Client(host)
    loop = PullLoop(host, data, cfg.seed + 3)
    loop.start()
    time.sleep(0.2)
    body = json.dumps({"schedule": {"type": "Manual"},
                       "parameters": {"delete_untagged": False, "dry_run": False,
                                      "workers": workers, "time_window": 0}})
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    r, resp = c.call("POST", "/api/v2.0/system/gc/schedule", body=body,
                     headers={"Content-Type": "application/json"}, expect=(201,))
    loc = Client.path(r.getheader("Location"))
    status = None
    # The job's check-in ("<n> blobs deleted", after each page of the blob
    # sweep; flushed about once a second) shows when the sweep of
    # unreferenced blobs ends and the storage walk for orphan files begins.
    progress = []  # (seconds since POST, blobs deleted so far)
    polls = 0
    while True:
        r, resp = c.call("GET", loc, expect=(200,))
        status = json.loads(resp)["job_status"]
        if status in ("Success", "Error", "Stopped"):
            break
        if not server.alive():
            raise RuntimeError("berthd died during GC: " + bench.tail(cfg, name + ".err"))
        if polls % 5 == 0:
            r, resp = c.call("GET", "/api/v2.0/jobservice/pools/all/workers")
            if r.status == 200:
                for w in json.loads(resp):
                    m = re.match(r"(\d+) blobs deleted", w.get("check_in") or "")
                    if w.get("job_name") == "GARBAGE_COLLECTION" and m:
                        progress.append((time.perf_counter() - t0, int(m.group(1))))
        polls += 1
        time.sleep(0.1)
    t1 = time.perf_counter()
    cpu = server.cpu() - cpu0
    loop.stop()
    _, log = c.call("GET", loc + "/log", expect=(200,))
    c.close()
    log = log.decode(errors="replace")
    with open(os.path.join(cfg.work, f"berth-gc-w{workers}.log"), "w") as f:
        f.write(log)
    m = re.search(r"(\d+) untagged artifacts deleted, (\d+) blobs deleted, (\d+) bytes.* in (\d+) ms",
                  log)
    if status != "Success":
        raise RuntimeError(f"GC job {loc} ended {status}: {log[-800:]}")
    # End of the blob sweep: the first check-in showing all of it (or the
    # last one seen, if the run ended before the next check-in).
    sweep_s = next((t for t, n in progress if n >= len(data.unreferenced)),
                   progress[-1][0] if progress else None)
    return {"seconds": t1 - t0, "cpu": cpu, "during": loop.stats(t0, t1), "sweep_s": sweep_s,
            "log_ms": int(m.group(4)) if m else None,
            "log": m.group(0) if m else log.strip().splitlines()[-1:],
            "deleted": int(m.group(2)) if m else None}


# ---------------------------------------------------------------- report --


def ms(v):
    return "-" if v is None else f"{v * 1000:.1f}"


def pulls_text(st):
    if st is None:
        return "-"
    if not st["n"] and not st["errors"]:
        return "no samples"
    s = f"{ms(st['p50'])} / {ms(st['p99'])} ms (n={st['n']}"
    if st["errors"]:
        s += f", {len(st['errors'])} errors"
    return s + ")"


def render(rows, head):
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]

    def line(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] +
                     [line(r) for r in rows])


def build_table(data, runs):
    """runs: list of dicts with name, before, after, gc, idle, verify."""
    head = ["Measurement"] + [r["name"] for r in runs]
    dist = next((r for r in runs if r["key"] == "dist"), None)
    rows = []

    def row(label, fn):
        rows.append([label] + [fn(r) for r in runs])

    row("Blob files before GC (layers, configs, manifests)", lambda r: f"{r['before']:,}")
    row(f"Blob files after GC (expected {len(data.keep_files):,})",
        lambda r: "-" if r.get("after") is None else f"{r['after']:,}")
    row("GC wall time (berthd: POST to Success)",
        lambda r: "ERR" if not r.get("gc") else f"{r['gc']['seconds']:.1f} s")
    row("GC time in berthd's job log",
        lambda r: (f"{r['gc']['log_ms'] / 1000:.1f} s" if r.get("gc") and r["gc"].get("log_ms")
                   else "-"))
    row("... of which: sweep of unreferenced blobs / storage walk + orphan manifests",
        lambda r: ("-" if not (r.get("gc") and r["gc"].get("sweep_s") is not None) else
                   f"~{r['gc']['sweep_s']:.0f} s / ~{r['gc']['seconds'] - r['gc']['sweep_s']:.0f} s"))
    row("GC CPU (berthd: whole server, incl. the pulls)",
        lambda r: "-" if not r.get("gc") else f"{r['gc']['cpu']:.1f} s")
    row("GC time / distribution offline",
        lambda r: ("-" if not (r.get("gc") and dist and dist.get("gc")) else
                   f"{r['gc']['seconds'] / dist['gc']['seconds']:.2f}×"))
    row("Pull p50 / p99, idle (manifest + 1 blob GET)", lambda r: pulls_text(r.get("idle")))
    row("Pull p50 / p99, during GC",
        lambda r: ("not possible: registry stopped" if r["key"] == "dist" else
                   pulls_text(r["gc"]["during"]) if r.get("gc") else "-"))
    row("Files on disk: right ones kept, deleted ones gone",
        lambda r: "OK" if r.get("fs") == [] else ("-" if r.get("fs") is None else
                                                  f"{len(r['fs'])} problems"))
    row("Every surviving image pulls, deleted ones 404",
        lambda r: "OK" if r.get("http") == [] else ("-" if r.get("http") is None else
                                                    f"{len(r['http'])} problems"))
    return render(rows, head)


def write_docs(block):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    begin, end = "<!-- gc-bench:begin (generated by scripts/bench/gc_bench.py) -->", \
        "<!-- gc-bench:end -->"
    with open(path) as f:
        text = f.read()
    block = f"{begin}\n{block}\n{end}"
    if begin in text and end in text:
        pre, rest = text.split(begin, 1)
        text = pre + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Garbage collection\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)
    say(f"\nwrote {path}")


def berthd_version(cfg):
    """git describe of the tree berthd was built from (BENCH_BUILD_DIR may
    hold a build of another checkout than this one)."""
    src = ROOT
    try:
        with open(os.path.join(cfg.build, "CMakeCache.txt")) as f:
            m = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", f.read(), re.M)
            if m:
                src = m.group(1).strip()
    except OSError:
        pass
    v = bench.cmd_out(["git", "-C", src, "describe", "--always", "--dirty"])
    if os.path.realpath(src) != os.path.realpath(ROOT):
        v = f"{v or '(no git)'} built from {src}"
    return v


def command_line():
    keep = sorted(k for k in os.environ if k.startswith("BENCH_") and
                  k not in ("BENCH_BUILD_DIR", "BENCH_TMPDIR", "BENCH_SKIP_BUILD"))
    env = " ".join(f"{k}={os.environ[k]}" for k in keep)
    return (env + " " if env else "") + "scripts/bench/gc_bench.py"


# ------------------------------------------------------------------ main --


def build(cfg):
    if os.environ.get("BENCH_SKIP_BUILD", "0") == "1":
        return
    say(f"building berthd (Release) in {cfg.build}")
    subprocess.run(["cmake", "-S", ROOT, "-B", cfg.build, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DBERTH_BUILD_TESTS=OFF"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", cfg.build, "-j2", "--target", "berth-runtime"],
                   check=True, stdout=subprocess.DEVNULL)


def run_berth(cfg, data, name, workers, before):
    res = {"key": f"berth{workers}", "name": f"berthd, workers={workers}", "before": before}
    say(f"\n== berthd GC, workers={workers} (data: {name})")
    s = start_berthd(cfg, name)
    try:
        res["idle"] = idle_pulls(cfg, data, s.host)
        say(f"  idle pulls: {pulls_text(res['idle'])}")
        res["gc"] = berth_gc(cfg, s, data, workers, name)
        say(f"  GC {res['gc']['seconds']:.1f} s (POST to Success; blob sweep done at "
            f"~{res['gc']['sweep_s'] or 0:.0f} s), log: {res['gc']['log']}")
        say(f"  pulls during GC: {pulls_text(res['gc']['during'])}")
        for t, e in res["gc"]["during"]["errors"][:5]:
            say(f"    !! {e}")
        root = berth_blob_root(cfg, name)
        res["after"] = count_blob_files(root)
        res["fs"] = verify_fs(data, root)
        say(f"  blob files {before} -> {res['after']}; on disk: "
            f"{'OK' if not res['fs'] else res['fs'][:5]}")
        if cfg.http_verify:
            res["http"] = verify_http(cfg, data, s.host)
            say(f"  pull check: {'OK' if not res['http'] else res['http'][:5]}")
    finally:
        stop_proc(s.proc)
    return res


def main():
    cfg = Cfg()
    build(cfg)
    if not os.path.exists(os.path.join(cfg.build, "bin", "berthd")):
        say(f"gc_bench: no berthd in {cfg.build}/bin")
        return 2
    if not shutil.which("docker-registry"):
        say("gc_bench: docker-registry missing (apt-get install docker-registry)")
        return 2
    base = os.environ.get("BENCH_TMPDIR", os.environ.get("TMPDIR", "/tmp"))
    cfg.work = tempfile.mkdtemp(prefix="berth-gcbench.", dir=base)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t_start = time.time()
    load_start, uptime_start = bench.loadavg(), bench.cmd_out(["uptime"])
    try:
        return run(cfg, started, t_start, load_start, uptime_start)
    finally:
        for p in list(LIVE):
            stop_proc(p)
        if cfg.keep:
            say(f"kept {cfg.work}")
        else:
            shutil.rmtree(cfg.work, ignore_errors=True)


def run(cfg, started, t_start, load_start, uptime_start):
    say(f"berth gc bench: blobs={cfg.blobs} repos={cfg.repos} layers/image={cfg.layers} "
        f"threads={cfg.threads} berth workers={cfg.workers}; work dir {cfg.work}")
    data = Data(cfg)
    n_blobs = len(data.content)
    say(f"data: {n_blobs:,} blobs (layers + configs, 64-512 B) in {len(data.images):,} images "
        f"({cfg.layers} layers each, the first shared per repository) over {len(data.repos)} "
        f"repositories; deleting {len(data.deleted):,} images leaves "
        f"{len(data.referenced):,} blobs referenced and {len(data.unreferenced):,} unreferenced "
        f"({len(data.unreferenced) / n_blobs:.1%}), plus {len(data.deleted_manifests):,} "
        f"manifests to delete and {len(data.surviving_manifests):,} to keep")
    runs = []

    # ---- berthd: load once, copy per run.
    say("\n== berthd: push and delete")
    s = start_berthd(cfg, "berth")
    bench.create_project(s.host)
    load(cfg, data, s.host)
    stop_proc(s.proc)
    berth_before = count_blob_files(berth_blob_root(cfg, "berth"))
    say(f"  blob files in berthd's storage: {berth_before:,} (expected "
        f"{len(data.content) + len(data.images):,})")
    names = ["berth"] + [f"berth-{w}-{i}" for i, w in enumerate(cfg.workers[1:])]
    for n in names[1:]:
        snapshot(os.path.join(cfg.work, "berth"), os.path.join(cfg.work, n), {"storage"})

    # ---- distribution: load once, copy for the read-only run.
    say("\n== distribution: push and delete")
    d, conf = start_distribution(cfg, "dist")
    load(cfg, data, d.host)
    stop_proc(d.proc)
    dist_before = count_blob_files(dist_blob_root(cfg, "dist"))
    say(f"  blob files in distribution's storage: {dist_before:,}")
    if cfg.dist_readonly:
        snapshot(os.path.join(cfg.work, "dist"), os.path.join(cfg.work, "dist-ro"), {"docker"})

    # ---- distribution, offline.
    say("\n== distribution: offline garbage-collect (registry stopped)")
    res = {"key": "dist", "name": "distribution, offline", "before": dist_before}
    runs.append(res)
    try:
        res["gc"] = dist_gc(cfg, conf, "dist")
        say(f"  GC {res['gc']['seconds']:.1f} s, CPU {res['gc']['cpu']:.1f} s: {res['gc']['log']}")
        root = dist_blob_root(cfg, "dist")
        res["after"] = count_blob_files(root)
        res["fs"] = verify_fs(data, root)
        say(f"  blob files {dist_before} -> {res['after']}; on disk: "
            f"{'OK' if not res['fs'] else res['fs'][:5]}")
        d, _ = start_distribution(cfg, "dist")
        try:
            res["idle"] = idle_pulls(cfg, data, d.host)
            say(f"  idle pulls (after GC): {pulls_text(res['idle'])}")
            if cfg.http_verify:
                res["http"] = verify_http(cfg, data, d.host)
                say(f"  pull check: {'OK' if not res['http'] else res['http'][:5]}")
        finally:
            stop_proc(d.proc)
    except Exception as e:  # noqa: BLE001
        say(f"  !! {e}")
        res["error"] = str(e)

    # ---- distribution, read-only while GC runs.
    if cfg.dist_readonly:
        say("\n== distribution: garbage-collect while a read-only registry serves pulls")
        res = {"key": "dist-ro", "name": "distribution, read-only", "before": dist_before}
        runs.append(res)
        try:
            d, conf_ro = start_distribution(cfg, "dist-ro", readonly=True)
            try:
                res["idle"] = idle_pulls(cfg, data, d.host)
                say(f"  idle pulls: {pulls_text(res['idle'])}")
                res["gc"] = dist_gc(cfg, conf_ro, "dist-ro", d.host, data)
                say(f"  GC {res['gc']['seconds']:.1f} s, CPU {res['gc']['cpu']:.1f} s: "
                    f"{res['gc']['log']}")
                say(f"  pulls during GC: {pulls_text(res['gc']['during'])}")
                for t, e in res["gc"]["during"]["errors"][:5]:
                    say(f"    !! {e}")
                root = dist_blob_root(cfg, "dist-ro")
                res["after"] = count_blob_files(root)
                res["fs"] = verify_fs(data, root)
                if cfg.http_verify:
                    res["http"] = verify_http(cfg, data, d.host)
                say(f"  blob files -> {res['after']}; on disk: "
                    f"{'OK' if not res['fs'] else res['fs'][:5]}; pull check: "
                    f"{'-' if res.get('http') is None else 'OK' if not res['http'] else res['http'][:5]}")
            finally:
                stop_proc(d.proc)
        except Exception as e:  # noqa: BLE001
            say(f"  !! {e}")
            res["error"] = str(e)

    # ---- berthd, online.
    for name, w in zip(names, cfg.workers):
        try:
            runs.append(run_berth(cfg, data, name, w, berth_before))
        except Exception as e:  # noqa: BLE001
            say(f"  !! berthd workers={w}: {e}")
            runs.append({"key": f"berth{w}", "name": f"berthd, workers={w}",
                         "before": berth_before, "error": str(e)})

    # Berth columns first.
    runs.sort(key=lambda r: (not r["key"].startswith("berth"), r["key"] == "dist-ro"))
    elapsed = time.time() - t_start
    info = bench.machine_info()
    table = build_table(data, runs)
    say(f"\nberthd GC vs distribution garbage-collect, {started}, {elapsed:.0f} s; "
        f"nproc {info['nproc']}; load average {load_start} -> {bench.loadavg()}\n")
    say(table)
    errors = [(r["name"], r["error"]) for r in runs if r.get("error")]
    for n, e in errors:
        say(f"  !! {n}: {e}")
    if cfg.write_docs:
        block = f"""Generated {started} by `{command_line()}` in {elapsed:.0f} s.

Machine: nproc {info['nproc']}, kernel {info['kernel']}, CPU {info['cpu']}, memory {info['memory']}.
Versions: berthd {berthd_version(cfg)} (Release build, SQLite); {info['distribution']}.
Data: {n_blobs:,} blobs (layers + configs, 64-512 random bytes) in {len(data.images):,} images of
{cfg.layers} layers over {len(data.repos)} repositories; {len(data.deleted):,} images deleted by digest, leaving
{len(data.referenced):,} blobs referenced and {len(data.unreferenced):,} unreferenced, plus
{len(data.deleted_manifests):,} deleted manifests. Load average (1/5/15 min) at start {load_start}, at end
{bench.loadavg()}. `uptime` at start: `{uptime_start}`.

{table}"""
        write_docs(block)
    bad = errors or any(r.get("fs") or r.get("http") for r in runs)
    return 1 if bad else 0


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    sys.exit(main())
