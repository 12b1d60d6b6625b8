#!/usr/bin/python3
"""Side-by-side benchmark of berthd and CNCF distribution (docker-registry).

Run through scripts/bench/run.sh, which builds berthd, makes the work
directory and cleans up. Everything here is python3 stdlib; the clients are
skopeo, curl and wrk.

Environment (all optional):
  BENCH_RUNS          repetitions of each measurement (median reported)   5
  BENCH_DURATION      seconds per wrk run                                 10
  BENCH_CONNECTIONS   wrk connections                                     16
  BENCH_PUSH_MIB      size of the pushed/pulled image's layer, MiB        50
  BENCH_BIG_MIB       size of the big blob for the throughput test, MiB   1024
  BENCH_BIG_RUNS      GETs of the big blob per server (noisy, cheap)      2 x BENCH_RUNS
  BENCH_DIST_CACHE    distribution's blobdescriptor cache: inmemory|none  inmemory
  BENCH_SMALL_N       concurrent small pushes                             20
  BENCH_SMALL_CLIENT  python (raw OCI API calls) | skopeo                 python
  BENCH_ONLY          comma list of steps: push,small,wrk,auth,big        all
  BENCH_WRITE_DOCS    1: write the table into docs/benchmarks.md          0
"""
import base64
import datetime
import gzip
import hashlib
import http.client
import io
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
ACCEPT = ", ".join([
    OCI_MANIFEST,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])
MIB = 1 << 20

# berthd always authenticates /v2 and keeps repositories in projects: it runs
# with this administrator and a project "bench". Every client sends the same
# credentials to both servers (distribution, without auth, ignores them).
USER, PASSWORD = "admin", "Bench-Admin-1"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
PROJECT = "bench"


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


class Cfg:
    def __init__(self, work):
        self.work = work
        self.build = os.environ.get("BENCH_BUILD_DIR", os.path.join(ROOT, "build-bench"))
        self.runs = env_int("BENCH_RUNS", 5)
        self.duration = env_int("BENCH_DURATION", 10)
        self.conns = env_int("BENCH_CONNECTIONS", 16)
        self.push_mib = env_int("BENCH_PUSH_MIB", 50)
        self.big_mib = env_int("BENCH_BIG_MIB", 1024)
        # ~1 s each and noisy on a shared machine: twice as many runs by default.
        self.big_runs = env_int("BENCH_BIG_RUNS", 2 * self.runs)
        self.small_n = env_int("BENCH_SMALL_N", 20)
        self.small_client = os.environ.get("BENCH_SMALL_CLIENT", "python")
        only = os.environ.get("BENCH_ONLY", "").strip()
        self.only = set(only.split(",")) if only else {"push", "small", "wrk", "auth", "big"}
        self.write_docs = os.environ.get("BENCH_WRITE_DOCS", "0") == "1"
        # Debian's and upstream's stock config.yml caches blob descriptors in memory.
        self.dist_cache = os.environ.get("BENCH_DIST_CACHE", "inmemory")
        if self.dist_cache == "none":
            self.dist_cache = ""


def say(msg):
    print(msg, flush=True)


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- servers --


class Server:
    def __init__(self, name, proc, port):
        self.name = name
        self.proc = proc
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.idle_rss_kb = None
        self.hwm_before = 0  # VmHWM before the last reset_peak()

    def status_kb(self, key):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu(self):
        """User + system CPU seconds the process has used so far."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def cpu_ns(self):
        """CPU nanoseconds of the live threads (schedstat): finer than cpu()'s
        10 ms ticks, for short intervals on a server whose threads persist."""
        total = 0
        try:
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                try:
                    with open(f"/proc/{self.proc.pid}/task/{tid}/schedstat") as f:
                        total += int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
        except OSError:
            return None
        return total

    def reset_peak(self):
        """Start a new VmHWM window (clear_refs 5), keeping the old peak for
        peak_kb(). False if the kernel refused."""
        hwm = self.status_kb("VmHWM")
        if hwm is not None:
            self.hwm_before = max(self.hwm_before, hwm)
        try:
            with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def peak_kb(self):
        """VmHWM over the whole life of the process, across reset_peak()."""
        hwm = self.status_kb("VmHWM")
        if hwm is None:
            return None
        return max(self.hwm_before, hwm)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_pid(cfg, name, pid):
    with open(os.path.join(cfg.work, name + ".pid"), "w") as f:
        f.write(str(pid))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http_ok(host, path="/v2/", timeout=30, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} while starting")
        try:
            c = http.client.HTTPConnection(host, timeout=2)
            # No credentials: checking a password would show in "idle RSS".
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status in (200, 401):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{host}{path} did not answer 200/401 within {timeout}s")


def start_berthd(cfg, log_level="warn"):
    data = os.path.join(cfg.work, "berthd-data")
    os.makedirs(data)
    out_path = os.path.join(cfg.work, "berthd.out")
    env = dict(os.environ, BERTH_LISTEN="127.0.0.1:0", BERTH_DATA_DIR=data,
               BERTH_LOG_LEVEL=log_level, BERTH_ADMIN_PASSWORD=PASSWORD)
    env.pop("BERTH_CONFIG", None)
    proc = subprocess.Popen([os.path.join(cfg.build, "bin", "berthd")], env=env,
                            stdout=open(out_path, "w"),
                            stderr=open(os.path.join(cfg.work, "berthd.err"), "w"),
                            stdin=subprocess.DEVNULL)
    write_pid(cfg, "berthd", proc.pid)
    deadline = time.time() + 30
    port = None
    while time.time() < deadline and port is None:
        if proc.poll() is not None:
            raise RuntimeError("berthd exited while starting: " + tail(cfg, "berthd.err"))
        with open(out_path) as f:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
        if m:
            port = int(m.group(1))
        else:
            time.sleep(0.05)
    if port is None:
        raise RuntimeError("berthd did not report its port")
    wait_http_ok(f"127.0.0.1:{port}", proc=proc)
    return Server("berthd", proc, port)


def create_project(host):
    c = http.client.HTTPConnection(host, timeout=30)
    c.request("POST", "/api/v2.0/projects", body=json.dumps({"project_name": PROJECT}),
              headers={"Authorization": BASIC, "Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status not in (201, 409):
        raise RuntimeError(f"creating project {PROJECT}: HTTP {r.status} {body[:300]!r}")


def start_distribution(cfg, name="distribution", extra=""):
    """docker-registry with the stock cache and the access log off; `extra` is
    appended to its config.yml (the auth section of the token-auth instance)."""
    data = os.path.join(cfg.work, name + "-data")
    os.makedirs(data)
    port = free_port()
    conf = os.path.join(cfg.work, name + ".yml")
    cache = ""
    if cfg.dist_cache:
        cache = f"\n  cache:\n    blobdescriptor: {cfg.dist_cache}"
    with open(conf, "w") as f:
        # Access log off: berthd at log level warn logs no requests either.
        f.write(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:{cache}
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
{extra}""")
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    proc = subprocess.Popen(["docker-registry", "serve", conf], env=env,
                            stdout=open(os.path.join(cfg.work, name + ".out"), "w"),
                            stderr=open(os.path.join(cfg.work, name + ".err"), "w"),
                            stdin=subprocess.DEVNULL)
    write_pid(cfg, name, proc.pid)
    try:
        wait_http_ok(f"127.0.0.1:{port}", proc=proc)
    except RuntimeError as e:
        raise RuntimeError(f"{e}: {tail(cfg, name + '.err')}")
    return Server(name, proc, port)


def start_sendfile(cfg, path):
    portfile = os.path.join(cfg.work, "sendfile.port")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "sendfile_server.py"), path,
                             portfile], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(cfg.work, "sendfile.err"), "w"),
                            stdin=subprocess.DEVNULL)
    write_pid(cfg, "sendfile", proc.pid)
    deadline = time.time() + 10
    while not os.path.exists(portfile):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("sendfile server did not start: " + tail(cfg, "sendfile.err"))
        time.sleep(0.02)
    with open(portfile) as f:
        port = int(f.read())
    return Server("sendfile", proc, port)


def tail(cfg, name, n=2000):
    try:
        with open(os.path.join(cfg.work, name), errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


# ------------------------------------------------------------ OCI client --


class Registry:
    """Just enough of the OCI distribution API over one keep-alive connection."""

    def __init__(self, host, auth=BASIC):
        self.host = host
        self.auth = auth  # Authorization header value, None for none
        self.conn = http.client.HTTPConnection(host, timeout=120)

    def close(self):
        self.conn.close()

    def call(self, method, url, body=None, headers=None, expect=()):
        h = {"Authorization": self.auth} if self.auth else {}
        h.update(headers or {})
        self.conn.request(method, url, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if expect and r.status not in expect:
            raise RuntimeError(f"{method} {url} -> {r.status}: {data[:300]!r}")
        return r, data

    @staticmethod
    def _path(location):
        u = urllib.parse.urlsplit(location)
        return u.path + (("?" + u.query) if u.query else "")

    def push_blob(self, repo, data):
        digest = "sha256:" + sha256_hex(data)
        r, _ = self.call("HEAD", f"/v2/{repo}/blobs/{digest}")
        if r.status == 200:
            return digest
        r, _ = self.call("POST", f"/v2/{repo}/blobs/uploads/", body=b"",
                         headers={"Content-Length": "0"}, expect=(202,))
        loc = self._path(r.getheader("Location"))
        r, _ = self.call("PATCH", loc, body=data,
                         headers={"Content-Type": "application/octet-stream"}, expect=(202,))
        loc = self._path(r.getheader("Location"))
        sep = "&" if "?" in loc else "?"
        self.call("PUT", f"{loc}{sep}digest={digest}", body=b"",
                  headers={"Content-Length": "0"}, expect=(201,))
        return digest

    def push_manifest(self, repo, tag, body):
        r, _ = self.call("PUT", f"/v2/{repo}/manifests/{tag}", body=body,
                         headers={"Content-Type": OCI_MANIFEST}, expect=(201,))
        return r.getheader("Docker-Content-Digest")

    def start_upload(self, repo):
        r, _ = self.call("POST", f"/v2/{repo}/blobs/uploads/", body=b"",
                         headers={"Content-Length": "0"}, expect=(202,))
        return self._path(r.getheader("Location"))


def image_parts(layer, diff_id):
    """(config bytes, manifest bytes) for a one-layer linux/amd64 image."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "berth bench"}],
    }, separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + sha256_hex(config),
                   "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZ, "digest": "sha256:" + sha256_hex(layer),
                    "size": len(layer)}],
    }, separators=(",", ":")).encode()
    return config, manifest


def random_layer(nbytes):
    """A gzip'd tar holding nbytes of random data, stored (level 0): as big as
    its payload, incompressible, and recognised as compressed by skopeo, which
    therefore sends it as is instead of recompressing it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("payload.bin")
        info.size = nbytes
        info.mtime = 0
        tf.addfile(info, io.BytesIO(os.urandom(nbytes)))
    tar = raw.getvalue()
    return gzip.compress(tar, compresslevel=0, mtime=0), "sha256:" + sha256_hex(tar)


def write_oci_layout(path, tag, layer, diff_id):
    config, manifest = image_parts(layer, diff_id)
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs)
    for b in (layer, config, manifest):
        with open(os.path.join(blobs, sha256_hex(b)), "wb") as f:
            f.write(b)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": "sha256:" + sha256_hex(manifest),
            "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)


# ----------------------------------------------------------- measurement --


class Results:
    def __init__(self):
        self.values = {}  # (metric, server) -> [floats]
        self.errors = {}  # (metric, server) -> message

    def add(self, metric, server, v):
        self.values.setdefault((metric, server), []).append(v)

    def fail(self, metric, server, msg):
        self.errors[(metric, server)] = msg
        say(f"  !! {metric} on {server}: {msg}")

    def median(self, metric, server):
        v = self.values.get((metric, server))
        return statistics.median(v) if v else None


def timed(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {p.returncode}: "
                           f"{(p.stderr or p.stdout).strip()[-500:]}")
    return dt


def order(servers, i):
    """Alternate who goes first from one run to the next."""
    k = i % len(servers)
    return servers[k:] + servers[:k]


SKOPEO = ["skopeo", "--insecure-policy"]
DEST_CREDS = f"--dest-creds={USER}:{PASSWORD}"
SRC_CREDS = f"--src-creds={USER}:{PASSWORD}"


def bench_push_pull(cfg, servers, res):
    say(f"\n== cold push / pull of a {cfg.push_mib} MiB image (skopeo), {cfg.runs} runs")
    for i in range(cfg.runs):
        images = {}
        for s in servers:  # fresh content per run and server: nothing cached anywhere
            d = os.path.join(cfg.work, f"img-{s.name}-{i}")
            layer, diff_id = random_layer(cfg.push_mib * MIB)
            write_oci_layout(d, "latest", layer, diff_id)
            images[s.name] = d
        for s in order(servers, i):
            try:
                c0 = s.cpu()
                dt = timed(SKOPEO + ["copy", "--quiet", "--dest-tls-verify=false", DEST_CREDS,
                                     f"oci:{images[s.name]}:latest",
                                     f"docker://{s.host}/bench/big:r{i}"])
                res.add("push", s.name, dt)
                res.add("push_cpu", s.name, s.cpu() - c0)
                say(f"  run {i + 1} push  {s.name:<12} {dt:7.3f} s")
            except Exception as e:  # noqa: BLE001 - report and go on
                res.fail("push", s.name, str(e))
        for s in order(servers, i + 1):
            dest = os.path.join(cfg.work, f"pull-{s.name}-{i}")
            try:
                c0 = s.cpu()
                dt = timed(SKOPEO + ["copy", "--quiet", "--src-tls-verify=false", SRC_CREDS,
                                     f"docker://{s.host}/bench/big:r{i}", f"dir:{dest}"])
                res.add("pull", s.name, dt)
                res.add("pull_cpu", s.name, s.cpu() - c0)
                say(f"  run {i + 1} pull  {s.name:<12} {dt:7.3f} s")
            except Exception as e:  # noqa: BLE001
                res.fail("pull", s.name, str(e))
            shutil.rmtree(dest, ignore_errors=True)
        # The client's own floor: the same skopeo copy with no registry at all.
        dest = os.path.join(cfg.work, f"floor-{i}")
        try:
            dt = timed(SKOPEO + ["copy", "--quiet", f"oci:{images[servers[i % 2].name]}:latest",
                                 f"dir:{dest}"])
            res.add("floor", "skopeo", dt)
            say(f"  run {i + 1} floor skopeo oci:->dir: {dt:7.3f} s (no registry)")
        except Exception as e:  # noqa: BLE001
            res.fail("floor", "skopeo", str(e))
        shutil.rmtree(dest, ignore_errors=True)
        for d in images.values():
            shutil.rmtree(d, ignore_errors=True)


def small_python(cfg, server, run):
    """N threads, each pushing its own image the way skopeo does: per blob
    HEAD (404), POST, PATCH, PUT ?digest=; then the manifest."""
    work = []
    for j in range(cfg.small_n):
        layer = os.urandom(1024)
        config, manifest = image_parts(layer, "sha256:" + sha256_hex(layer))
        work.append((f"bench/small-{j}", f"r{run}", layer, config, manifest))
    conns = [Registry(server.host) for _ in work]
    errors = []
    go = threading.Event()

    def one(reg, item):
        repo, tag, layer, config, manifest = item
        go.wait()
        try:
            reg.push_blob(repo, layer)
            reg.push_blob(repo, config)
            reg.push_manifest(repo, tag, manifest)
        except Exception as e:  # noqa: BLE001
            errors.append(str(e))

    threads = [threading.Thread(target=one, args=(c, w)) for c, w in zip(conns, work)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    for c in conns:
        c.close()
    if errors:
        raise RuntimeError(f"{len(errors)} of {cfg.small_n} pushes failed: {errors[0]}")
    return dt


def small_skopeo(cfg, server, run):
    dirs = []
    for j in range(cfg.small_n):
        d = os.path.join(cfg.work, f"small-{server.name}-{run}-{j}")
        layer, diff_id = random_layer(1024)
        write_oci_layout(d, "latest", layer, diff_id)
        dirs.append(d)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(SKOPEO + ["copy", "--quiet", "--dest-tls-verify=false", DEST_CREDS,
                                        f"oci:{d}:latest",
                                        f"docker://{server.host}/bench/small-{j}:r{run}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for j, d in enumerate(dirs)]
    errs = [p.communicate()[1] for p in procs]
    dt = time.perf_counter() - t0
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    failed = [e for p, e in zip(procs, errs) if p.returncode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {cfg.small_n} pushes failed: {failed[0][-300:]}")
    return dt


def bench_small(cfg, servers, res):
    say(f"\n== {cfg.small_n} concurrent pushes of ~1 KiB images ({cfg.small_client} client), "
        f"{cfg.runs} runs")
    fn = small_skopeo if cfg.small_client == "skopeo" else small_python
    for i in range(cfg.runs):
        for s in order(servers, i):
            try:
                c0 = s.cpu()
                dt = fn(cfg, s, i)
                res.add("small", s.name, dt)
                res.add("small_cpu", s.name, s.cpu() - c0)
                say(f"  run {i + 1} small {s.name:<12} {dt:7.3f} s")
            except Exception as e:  # noqa: BLE001
                res.fail("small", s.name, str(e))


def wrk(cfg, url, headers=(), auth=BASIC, duration=None, counts=None):
    """req/s of one wrk run; `auth` is the Authorization value (None: none).
    `counts`, if a dict, receives the number of requests made."""
    cmd = ["wrk", "-t1", f"-c{cfg.conns}", f"-d{duration or cfg.duration}s", "--timeout", "10s"]
    if auth:
        cmd += ["-H", f"Authorization: {auth}"]
    for h in headers:
        cmd += ["-H", h]
    p = subprocess.run(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {out.strip()[-400:]}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise RuntimeError(f"{bad.group(1)} non-2xx responses")
    errs = re.search(r"Socket errors:.*", out)
    if errs and re.search(r"(read|write|timeout) [1-9]", errs.group(0)):
        raise RuntimeError(errs.group(0))
    if counts is not None:
        n = re.search(r"(\d+) requests in", out)
        counts["requests"] = int(n.group(1)) if n else None
    return float(m.group(1))


def bench_wrk(cfg, servers, res):
    say(f"\n== wrk -t1 -c{cfg.conns} -d{cfg.duration}s: manifest GET by tag and 1 KiB blob GET, "
        f"{cfg.runs} runs")
    targets = {}
    for s in servers:
        layer = os.urandom(1024)  # the blob served: exactly 1 KiB
        config, manifest = image_parts(layer, "sha256:" + sha256_hex(layer))
        reg = Registry(s.host)
        ldig = reg.push_blob("bench/wrk", layer)
        reg.push_blob("bench/wrk", config)
        reg.push_manifest("bench/wrk", "latest", manifest)
        # Check both URLs answer as expected before hammering them.
        r, body = reg.call("GET", "/v2/bench/wrk/manifests/latest", headers={"Accept": ACCEPT},
                           expect=(200,))
        if body != manifest:
            raise RuntimeError(f"{s.name}: manifest GET returned other bytes")
        r, body = reg.call("GET", f"/v2/bench/wrk/blobs/{ldig}", expect=(200,))
        if body != layer:
            raise RuntimeError(f"{s.name}: blob GET returned other bytes")
        reg.close()
        targets[s.name] = (f"http://{s.host}/v2/bench/wrk/manifests/latest",
                           f"http://{s.host}/v2/bench/wrk/blobs/{ldig}")
    for i in range(cfg.runs):
        for s in order(servers, i):
            try:
                c0 = s.cpu()
                rps = wrk(cfg, targets[s.name][0], [f"Accept: {ACCEPT}"])
                res.add("manifest_rps", s.name, rps)
                res.add("manifest_cpu", s.name, (s.cpu() - c0) / (rps * cfg.duration) * 1e6)
                say(f"  run {i + 1} manifest GET {s.name:<12} {rps:10.0f} req/s")
            except Exception as e:  # noqa: BLE001
                res.fail("manifest_rps", s.name, str(e))
        for s in order(servers, i + 1):
            try:
                c0 = s.cpu()
                rps = wrk(cfg, targets[s.name][1])
                res.add("blob_rps", s.name, rps)
                res.add("blob_cpu", s.name, (s.cpu() - c0) / (rps * cfg.duration) * 1e6)
                say(f"  run {i + 1} 1KiB blob GET {s.name:<11} {rps:10.0f} req/s")
            except Exception as e:  # noqa: BLE001
                res.fail("blob_rps", s.name, str(e))


# ------------------------------------------------------------------ auth --

AUTH_REPO = f"{PROJECT}/auth"


def basic_for(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_call(host, method, path, body=None, auth=BASIC, headers=None):
    c = http.client.HTTPConnection(host, timeout=60)
    h = {"Authorization": auth} if auth else {}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def get_token(berthd, scope, auth=BASIC):
    """A token from berthd's token service, as a registry client gets one."""
    q = urllib.parse.urlencode({"service": "harbor-registry", "scope": scope})
    r, body = http_call(berthd.host, "GET", f"/service/token?{q}", auth=auth)
    if r.status != 200:
        raise RuntimeError(f"token service: HTTP {r.status} {body[:300]!r}")
    return json.loads(body)["token"]


def create_member(berthd, name, password, role_id=3):
    """A berthd user who is a member of the project (3: guest, may pull)."""
    r, body = http_call(berthd.host, "POST", "/api/v2.0/users",
                        body=json.dumps({"username": name, "email": f"{name}@bench.invalid",
                                         "realname": name, "password": password}),
                        headers={"Content-Type": "application/json"})
    if r.status != 201:
        raise RuntimeError(f"creating user {name}: HTTP {r.status} {body[:300]!r}")
    r, body = http_call(berthd.host, "POST", f"/api/v2.0/projects/{PROJECT}/members",
                        body=json.dumps({"role_id": role_id, "member_user": {"username": name}}),
                        headers={"Content-Type": "application/json"})
    if r.status != 201:
        raise RuntimeError(f"adding {name} to {PROJECT}: HTTP {r.status} {body[:300]!r}")


def make_token_cert(cfg):
    """distribution verifies tokens against x509 certificates: a self-signed
    one for berthd's token key (written on berthd's first start)."""
    key = os.path.join(cfg.work, "berthd-data", "token", "private_key.pem")
    cert = os.path.join(cfg.work, "berthd-token-cert.pem")
    timed(["openssl", "req", "-new", "-x509", "-key", key, "-subj", "/CN=berth-token",
           "-days", "2", "-out", cert])
    return cert


class KdfWatch:
    """strace on berthd's mmap/munmap while something runs. libargon2 takes its
    m_cost (19 MiB by default) with one malloc, which berthd's fixed 4 MiB
    mmap threshold turns into one anonymous read-write mmap of 16-64 MiB per
    password hash or check; nothing else on berthd's request paths maps that
    much (glibc's thread arenas reserve 64 MiB PROT_NONE). Counting those
    mmaps counts password checks."""

    RE = re.compile(r"\bmmap\((?:NULL|0x[0-9a-f]+), (\d+), ([A-Z_|]+)")

    def __init__(self, cfg, server, name):
        self.cfg, self.server = cfg, server
        self.out = os.path.join(cfg.work, name + ".strace")
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["strace", "-q", "-f", "-e", "trace=mmap,munmap", "-e", "signal=none",
             "-o", self.out, "-p", str(self.server.proc.pid)],
            stdout=subprocess.DEVNULL, stderr=open(self.out + ".err", "w"),
            stdin=subprocess.DEVNULL)
        write_pid(self.cfg, "strace", self.proc.pid)
        # Attached once every thread of berthd names strace as its tracer.
        deadline = time.time() + 15
        base = f"/proc/{self.server.proc.pid}/task"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("strace exited: " + tail(self.cfg, os.path.basename(self.out) + ".err"))
            traced = True
            for tid in os.listdir(base):
                try:
                    with open(f"{base}/{tid}/status") as f:
                        tp = re.search(r"TracerPid:\s+(\d+)", f.read())
                    if not tp or int(tp.group(1)) != self.proc.pid:
                        traced = False
                except OSError:
                    pass
            if traced:
                return self
            if time.time() > deadline:
                raise RuntimeError("strace did not attach to every berthd thread")
            time.sleep(0.05)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: strace detaches and exits
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False

    def counts(self):
        """(KDF-sized mmaps, all mmaps) seen."""
        kdf = total = 0
        with open(self.out, errors="replace") as f:
            for line in f:
                m = self.RE.search(line)
                if not m:
                    continue
                total += 1
                n, prot = int(m.group(1)), m.group(2)
                if 16 * MIB <= n < 64 * MIB and "PROT_WRITE" in prot:
                    kdf += 1
        return kdf, total


def bench_auth(cfg, servers, res):
    say(f"\n== auth: Bearer / Basic manifest GET and token issuance, wrk -t1 -c{cfg.conns} "
        f"-d{cfg.duration}s, {cfg.runs} runs; distribution with token auth (berthd's tokens)")
    berthd = servers[0]
    cert = make_token_cert(cfg)
    dist = start_distribution(cfg, "distribution-token", f"""auth:
  token:
    realm: http://{berthd.host}/service/token
    service: harbor-registry
    issuer: harbor-token-issuer
    rootcertbundle: {cert}
""")
    try:
        _bench_auth(cfg, berthd, dist, res)
    finally:
        peak = dist.peak_kb()
        if peak is not None:
            res.add("auth_peak_rss", "distribution", peak)
        if not dist.alive():
            say(f"  !! distribution-token died (exit {dist.proc.returncode}): "
                f"{tail(cfg, 'distribution-token.err')}")
        dist.stop()


def _bench_auth(cfg, berthd, dist, res):
    time.sleep(1.0)
    say(f"  distribution-token pid {dist.proc.pid} on {dist.host}, idle RSS "
        f"{dist.status_kb('VmRSS')} KiB")
    pull, push = f"repository:{AUTH_REPO}:pull", f"repository:{AUTH_REPO}:pull,push"
    layer = os.urandom(1024)
    config, manifest = image_parts(layer, "sha256:" + sha256_hex(layer))
    # The same image on both: berthd through its own (Basic) auth, distribution
    # with a push token from berthd's token service.
    targets = {}
    for s, auth in ((berthd, BASIC), (dist, "Bearer " + get_token(berthd, push))):
        try:
            reg = Registry(s.host, auth)
            reg.push_blob(AUTH_REPO, layer)
            reg.push_blob(AUTH_REPO, config)
            reg.push_manifest(AUTH_REPO, "latest", manifest)
            reg.close()
        except Exception as e:  # noqa: BLE001
            hint = ""
            if s is dist:
                hint = (" -- distribution did not accept berthd's push token; its log: " +
                        tail(cfg, "distribution-token.err", 600))
            res.fail("auth_bearer_rps", s.name.split("-")[0], f"push failed: {e}{hint}")
            continue
        targets[s] = f"/v2/{AUTH_REPO}/manifests/latest"
    # Each server: a token GET answers 200 with the bytes, no token 401, a
    # token with a broken signature 401.
    ok = []
    for s in list(targets):
        key = "berthd" if s is berthd else "distribution"
        tok = get_token(berthd, pull)
        bad = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
        r1, b1 = http_call(s.host, "GET", targets[s], auth="Bearer " + tok,
                           headers={"Accept": ACCEPT})
        r2, _ = http_call(s.host, "GET", targets[s], auth=None, headers={"Accept": ACCEPT})
        r3, _ = http_call(s.host, "GET", targets[s], auth="Bearer " + bad,
                          headers={"Accept": ACCEPT})
        line = (f"token {r1.status}{' same bytes' if b1 == manifest else ' OTHER BYTES'}, "
                f"no token {r2.status}, bad signature {r3.status}")
        if r1.status == 200 and b1 == manifest and r2.status == 401 and r3.status == 401:
            say(f"  {s.name}: accepts berthd's token: {line}")
            ok.append(s)
        else:
            msg = f"{s.name} does not behave as a token-auth registry: {line}"
            if s is dist:
                msg += "; its log: " + tail(cfg, "distribution-token.err", 600)
            res.fail("auth_bearer_rps", key, msg)
    res.add("auth_verified", "distribution", 1 if dist in ok else 0)
    if berthd not in ok:
        raise RuntimeError("berthd does not serve the pushed manifest with a token")
    url = {s: f"http://{s.host}{targets[s]}" for s in ok}
    q = urllib.parse.urlencode({"service": "harbor-registry", "scope": pull})
    token_url = f"http://{berthd.host}/service/token?{q}"
    accept = [f"Accept: {ACCEPT}"]

    for i in range(cfg.runs):
        for s in order(ok, i):
            key = "berthd" if s is berthd else "distribution"
            try:
                tok = get_token(berthd, pull)  # one fresh token per server run
                windowed = s.reset_peak()
                c0 = s.cpu()
                rps = wrk(cfg, url[s], accept, auth="Bearer " + tok)
                res.add("auth_bearer_rps", key, rps)
                res.add("auth_bearer_cpu", key, (s.cpu() - c0) / (rps * cfg.duration) * 1e6)
                if windowed:
                    res.add("auth_bearer_rss", key, s.status_kb("VmHWM"))
                say(f"  run {i + 1} Bearer manifest GET {s.name:<18} {rps:10.0f} req/s")
            except Exception as e:  # noqa: BLE001
                res.fail("auth_bearer_rps", key, str(e))
        # Basic: a user whose password berthd has not checked yet, so all
        # connections start with a cache miss at once (as when a cached entry
        # expires under load): one argon2id check, the others wait for it.
        try:
            user, pw = f"bench-basic-{i}", f"Bench-Basic-{i}x"
            create_member(berthd, user, pw)
            windowed = berthd.reset_peak()
            c0 = berthd.cpu()
            rps = wrk(cfg, url[berthd], accept, auth=basic_for(user, pw))
            res.add("auth_basic_rps", "berthd", rps)
            res.add("auth_basic_cpu", "berthd", (berthd.cpu() - c0) / (rps * cfg.duration) * 1e6)
            if windowed:  # else the kernel refused clear_refs: no per-run peak
                res.add("auth_basic_rss", "berthd", berthd.status_kb("VmHWM"))
            say(f"  run {i + 1} Basic  manifest GET berthd             {rps:10.0f} req/s")
        except Exception as e:  # noqa: BLE001
            res.fail("auth_basic_rps", "berthd", str(e))
        try:
            c0 = berthd.cpu()
            rps = wrk(cfg, token_url)
            res.add("auth_token_rps", "berthd", rps)
            res.add("auth_token_cpu", "berthd", (berthd.cpu() - c0) / (rps * cfg.duration) * 1e6)
            say(f"  run {i + 1} token issuance (Basic) berthd         {rps:10.0f} req/s")
        except Exception as e:  # noqa: BLE001
            res.fail("auth_token_rps", "berthd", str(e))

    # What one password check costs berthd: the first request of a user whose
    # password is not cached, against the same request once it is.
    try:
        user, pw = "bench-kdf-cost", "Bench-Kdf-Cost1"
        create_member(berthd, user, pw)
        cost = []
        for _ in range(2):
            c0 = berthd.cpu_ns()
            r, _ = http_call(berthd.host, "GET", "/v2/", auth=basic_for(user, pw))
            cost.append((berthd.cpu_ns() - c0) / 1e9)
            if r.status != 200:
                raise RuntimeError(f"GET /v2/ as {user}: HTTP {r.status}")
        res.add("auth_kdf_cpu", "berthd", cost[0])
        res.add("auth_cached_cpu", "berthd", cost[1])
        say(f"  one password check: berthd CPU {cost[0] * 1e3:.1f} ms uncached, "
            f"{cost[1] * 1e6:.0f} µs cached")
    except Exception as e:  # noqa: BLE001
        res.fail("auth_kdf_cpu", "berthd", str(e))

    # No password hashing on the Bearer path: count argon2id-sized mmaps in
    # berthd during a Bearer run, then in one uncached Basic check (control:
    # shows the method sees a check when there is one).
    if not shutil.which("strace"):
        res.fail("auth_kdf_bearer", "berthd", "strace not installed")
        return
    try:
        tok = get_token(berthd, pull)
        n = {}
        with KdfWatch(cfg, berthd, "bearer") as w:
            wrk(cfg, url[berthd], accept, auth="Bearer " + tok, duration=3, counts=n)
        kdf, total = w.counts()
        res.add("auth_kdf_bearer", "berthd", kdf)
        res.add("auth_kdf_bearer_reqs", "berthd", n.get("requests") or 0)
        say(f"  strace, Bearer wrk: {n.get('requests')} requests, {total} mmaps, "
            f"{kdf} argon2id-sized")
        user, pw = "bench-kdf-control", "Bench-Kdf-Control1"
        create_member(berthd, user, pw)
        with KdfWatch(cfg, berthd, "control") as w:
            r, _ = http_call(berthd.host, "GET", "/v2/", auth=basic_for(user, pw))
        kdf, total = w.counts()
        res.add("auth_kdf_control", "berthd", kdf)
        say(f"  strace, control (one uncached Basic GET /v2/ -> {r.status}): {total} mmaps, "
            f"{kdf} argon2id-sized")
    except Exception as e:  # noqa: BLE001
        res.fail("auth_kdf_bearer", "berthd", str(e))


def curl_get(url, expect_size):
    p = subprocess.run(["curl", "-sS", "-u", f"{USER}:{PASSWORD}", "-o", "/dev/null", "-w",
                        "%{http_code} %{size_download} %{time_total}", url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = p.stdout.split()
    if p.returncode != 0 or len(parts) != 3:
        raise RuntimeError(f"curl exited {p.returncode}: {p.stderr.strip()}")
    code, size, secs = int(parts[0]), int(parts[1]), float(parts[2])
    if code != 200 or size != expect_size:
        raise RuntimeError(f"HTTP {code}, {size} of {expect_size} bytes")
    return size / secs / 1e6


def bench_big(cfg, servers, res):
    size = cfg.big_mib * MIB
    say(f"\n== {cfg.big_mib} MiB blob GET throughput (curl -o /dev/null), {cfg.big_runs} runs")
    path = os.path.join(cfg.work, "big.bin")
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            b = os.urandom(min(left, 16 * MIB))
            h.update(b)
            f.write(b)
            left -= len(b)
    digest = "sha256:" + h.hexdigest()
    urls = {}
    for s in servers:
        reg = Registry(s.host)
        loc = reg.start_upload("bench/huge")
        reg.close()
        sep = "&" if "?" in loc else "?"
        try:
            dt = timed(["curl", "-sS", "-f", "-u", f"{USER}:{PASSWORD}", "-o", "/dev/null",
                        "-T", path, "-H", "Expect:",
                        "-H", "Content-Type: application/octet-stream",
                        f"http://{s.host}{loc}{sep}digest={digest}"])
        except Exception as e:  # noqa: BLE001
            res.fail("big_mbps", s.name, f"upload failed: {e}")
            continue
        res.add("big_upload", s.name, dt)
        say(f"  upload (once, monolithic PUT) {s.name:<12} {dt:7.3f} s "
            f"({size / dt / 1e6:.0f} MB/s, not a target)")
        urls[s.name] = f"http://{s.host}/v2/bench/huge/blobs/{digest}"
    ceiling = start_sendfile(cfg, path)
    servers_all = [s for s in servers if s.name in urls] + [ceiling]
    urls["sendfile"] = f"http://{ceiling.host}/big.bin"
    try:
        # Page cache: the source file, then each server's stored copy via one GET.
        with open(path, "rb") as f:
            while f.read(16 * MIB):
                pass
        for s in servers_all:
            curl_get(urls[s.name], size)
        for i in range(cfg.big_runs):
            for s in order(servers_all, i):
                try:
                    mbps = curl_get(urls[s.name], size)
                    res.add("big_mbps", s.name, mbps)
                    say(f"  run {i + 1} GET {s.name:<12} {mbps:8.0f} MB/s")
                except Exception as e:  # noqa: BLE001
                    res.fail("big_mbps", s.name, str(e))
    finally:
        ceiling.stop()
        os.unlink(path)


# ------------------------------------------------------------------ report --


def fmt(v, unit):
    if v is None:
        return "ERR"
    if unit == "s":
        return f"{v:.3f} s"
    if unit == "req/s":
        return f"{v:,.0f} req/s"
    if unit == "MB/s":
        return f"{v:,.0f} MB/s"
    if unit == "cpu_s":
        return f"{v * 1000:.0f} ms"
    if unit == "us":
        return f"{v:.0f} µs"
    if unit == "ms":
        return f"{v * 1000:.1f} ms"
    if unit == "MiB":
        return f"{v / 1024:.1f} MiB"
    return str(v)


def build_rows(cfg, res):
    B, D = "berthd", "distribution"
    rows = []  # (label, berthd, distribution, ratio, target text, verdict)

    def ratio(metric):
        b, d = res.median(metric, B), res.median(metric, D)
        return (b / d) if (b is not None and d) else None

    def row(label, metric, unit, target=None, ok=None):
        r = ratio(metric)
        verdict = "-"
        if target is not None:
            verdict = "n/a" if r is None else ("PASS" if ok(r) else "MISS")
        rows.append((label, fmt(res.median(metric, B), unit), fmt(res.median(metric, D), unit),
                     "-" if r is None else f"{r:.2f}×", target or "-", verdict))

    def one(label, metric, server, unit, other="-"):
        """A row for one server only."""
        v = fmt(res.median(metric, server), unit)
        rows.append((label, v if server == B else other, v if server == D else other,
                     "-", "-", "-"))

    if "push" in cfg.only:
        row(f"Cold push, {cfg.push_mib} MiB image (skopeo)", "push", "s", "≤ 0.7×",
            lambda r: r <= 0.7)
        row(f"Pull, {cfg.push_mib} MiB image (skopeo)", "pull", "s", "≤ 0.7×", lambda r: r <= 0.7)
        rows.append((f"Client floor: skopeo oci:→dir:, {cfg.push_mib} MiB, no registry",
                     fmt(res.median("floor", "skopeo"), "s"), "(same client)", "-", "-", "-"))
    if "small" in cfg.only:
        row(f"{cfg.small_n} concurrent pushes, ~1 KiB images ({cfg.small_client})", "small", "s")
    if "wrk" in cfg.only:
        row(f"Manifest GET by tag (wrk -c{cfg.conns})", "manifest_rps", "req/s", "≥ 10×",
            lambda r: r >= 10)
        row(f"1 KiB blob GET (wrk -c{cfg.conns})", "blob_rps", "req/s")
    if "auth" in cfg.only:
        verified = res.median("auth_verified", D)
        dnote = "" if verified else " (distribution rejected berthd's tokens: see errors)"
        row(f"Authenticated manifest GET, Bearer token (wrk -c{cfg.conns}; distribution: "
            f"token auth){dnote}",
            "auth_bearer_rps", "req/s", "≥ 5×", lambda r: r >= 5)
        b, d = res.median("auth_basic_rps", B), res.median("auth_bearer_rps", D)
        rows.append((f"Authenticated manifest GET, berthd Basic vs distribution Bearer",
                     fmt(b, "req/s"), fmt(d, "req/s"),
                     "-" if (b is None or not d) else f"{b / d:.2f}×", "-", "-"))
        one("Token issuance, GET /service/token, Basic, pull scope", "auth_token_rps", B,
            "req/s", "no token issuer")
        kb, kc = res.median("auth_kdf_bearer", B), res.median("auth_kdf_control", B)
        nreq = res.median("auth_kdf_bearer_reqs", B)
        if kb is None or kc is None:
            shown, verdict = "ERR", "n/a"
        else:
            shown = (f"{kb:.0f} argon2id allocations in {nreq:,.0f} Bearer requests "
                     f"(control, one uncached Basic check: {kc:.0f})")
            verdict = "n/a" if kc < 1 else ("PASS" if kb == 0 else "MISS")
        rows.append(("Password hashing on the Bearer path (strace)", shown, "-", "-", "none",
                     verdict))
    if "big" in cfg.only:
        row(f"{cfg.big_mib} MiB blob upload, once (curl -T)", "big_upload", "s")
        row(f"{cfg.big_mib} MiB blob GET (curl)", "big_mbps", "MB/s")
        b, c = res.median("big_mbps", B), res.median("big_mbps", "sendfile")
        pct = (b / c) if (b is not None and c) else None
        rows.append((f"{cfg.big_mib} MiB blob GET vs sendfile(2) ceiling",
                     "-" if pct is None else f"{pct * 100:.1f}% of ceiling",
                     f"ceiling {fmt(c, 'MB/s')}", "-", "≥ 90% of ceiling",
                     "n/a" if pct is None else ("PASS" if pct >= 0.9 else "MISS")))
    if "push" in cfg.only:
        row("Server CPU per push", "push_cpu", "cpu_s")
        row("Server CPU per pull", "pull_cpu", "cpu_s")
    if "small" in cfg.only:
        row(f"Server CPU for the {cfg.small_n} small pushes", "small_cpu", "cpu_s")
    if "wrk" in cfg.only:
        row("Server CPU per manifest GET", "manifest_cpu", "us")
        row("Server CPU per 1 KiB blob GET", "blob_cpu", "us")
    if "auth" in cfg.only:
        row("Server CPU per Bearer manifest GET", "auth_bearer_cpu", "us")
        one("Server CPU per Basic manifest GET", "auth_basic_cpu", B, "us")
        one("Server CPU per token issued", "auth_token_cpu", B, "us")
        one("Server CPU, one GET /v2/ on a new connection, password not cached (argon2id)",
            "auth_kdf_cpu", B, "ms")
        one("... the same GET again, password cached", "auth_cached_cpu", B, "ms")
    row("Idle RSS after start", "idle_rss", "MiB")
    if "auth" in cfg.only:
        row("Peak RSS during a Bearer manifest GET run", "auth_bearer_rss", "MiB")
        b = res.values.get(("auth_basic_rss", B))
        rows.append(("Peak RSS during a Basic manifest GET run (median, max)",
                     "ERR" if not b else f"{fmt(statistics.median(b), 'MiB')}, "
                                         f"{fmt(max(b), 'MiB')}", "-", "-", "-", "-"))
        one("Peak RSS (VmHWM) of the token-auth distribution instance", "auth_peak_rss", D, "MiB")
    row("Peak RSS (VmHWM) after the run", "peak_rss", "MiB", "≤ 0.5×", lambda r: r <= 0.5)
    return rows


def render_table(rows):
    head = ("Measurement (median)", "berthd", "distribution", "berthd / distribution",
            "target", "result")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    def line(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep] + [line(r) for r in rows])


COUNTS = {"auth_verified", "auth_kdf_bearer", "auth_kdf_bearer_reqs", "auth_kdf_control"}


def render_raw(res):
    lines = []
    names = {"push": "push s", "pull": "pull s", "floor": "skopeo oci:->dir: s",
             "small": "small pushes s",
             "manifest_rps": "manifest req/s", "blob_rps": "1 KiB blob req/s",
             "big_upload": "big upload s", "big_mbps": "big GET MB/s",
             "idle_rss": "idle RSS KiB", "peak_rss": "peak RSS KiB",
             "push_cpu": "push server CPU s", "pull_cpu": "pull server CPU s",
             "small_cpu": "small pushes server CPU s", "manifest_cpu": "manifest GET CPU µs",
             "blob_cpu": "blob GET CPU µs",
             "auth_verified": "distribution accepted berthd's tokens (1 yes)",
             "auth_bearer_rps": "Bearer manifest req/s", "auth_basic_rps": "Basic manifest req/s",
             "auth_token_rps": "token issuance req/s", "auth_bearer_cpu": "Bearer manifest CPU µs",
             "auth_basic_cpu": "Basic manifest CPU µs", "auth_token_cpu": "token issuance CPU µs",
             "auth_kdf_cpu": "uncached password check CPU s",
             "auth_cached_cpu": "cached password GET /v2/ CPU s",
             "auth_bearer_rss": "peak RSS in a Bearer run KiB",
             "auth_basic_rss": "peak RSS in a Basic run KiB",
             "auth_peak_rss": "token-auth distribution peak RSS KiB",
             "auth_kdf_bearer": "argon2id-sized mmaps in the strace'd Bearer run",
             "auth_kdf_bearer_reqs": "requests in the strace'd Bearer run",
             "auth_kdf_control": "argon2id-sized mmaps in the control"}
    rank = {m: i for i, m in enumerate(names)}
    for (metric, server), vals in sorted(res.values.items(),
                                         key=lambda kv: (rank.get(kv[0][0], 99), kv[0][1])):
        if metric in COUNTS:
            shown = ", ".join(f"{v:.0f}" for v in vals)
        else:
            shown = ", ".join(f"{v:.3g}" if 0 < v < 0.01 else f"{v:.3f}" if v < 10 else
                              f"{v:.0f}" for v in vals)
        lines.append(f"- {names.get(metric, metric)}, {server}: {shown}")
    for (metric, server), msg in sorted(res.errors.items()):
        lines.append(f"- ERROR {names.get(metric, metric)}, {server}: {msg}")
    return "\n".join(lines)


def cmd_out(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=10)
        return p.stdout.strip().splitlines()[0] if p.stdout.strip() else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "kernel": platform.release(),
        "cpu": cpu,
        "memory": mem,
        "berthd": cmd_out(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "distribution": cmd_out(["docker-registry", "--version"]),
        "skopeo": cmd_out(["skopeo", "--version"]),
        "wrk": cmd_out(["wrk", "-v"]).split("Copyright")[0].strip(),
        "curl": " ".join(cmd_out(["curl", "--version"]).split()[:2]),
    }


def command_line():
    default_build = os.path.join(ROOT, "build-bench")
    keep = sorted(k for k in os.environ if k.startswith("BENCH_") and k != "BENCH_WORK" and
                  not (k == "BENCH_BUILD_DIR" and os.environ[k] == default_build))
    env = " ".join(f"{k}={os.environ[k]}" for k in keep)
    return (env + " " if env else "") + "scripts/bench/run.sh"


def write_docs(cfg, table, raw, info, started, elapsed):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    begin, end = "<!-- bench:begin (generated by scripts/bench/run.sh) -->", "<!-- bench:end -->"
    block = f"""{begin}
Generated {started} by `{command_line()}` in {elapsed:.0f} s.

Machine: nproc {info['nproc']}, kernel {info['kernel']}, CPU {info['cpu']}, memory {info['memory']}.
Versions: berthd {info['berthd']} (Release build); {info['distribution']}; {info['skopeo']};
{info['wrk']}; {info['curl']}.
Settings: {cfg.runs} runs per measurement (median shown), servers alternated run by run;
wrk `-t1 -c{cfg.conns} -d{cfg.duration}s`. Load average (1/5/15 min) at start {cfg.load_start},
at end {cfg.load_end}: other work on the machine shows up in every figure.
`uptime` at start: `{cfg.uptime_start}`; at end: `{cfg.uptime_end}`.

{table}

Raw values per run:

{raw}
{end}"""
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if begin in text and end in text:
        pre, rest = text.split(begin, 1)
        post = rest.split(end, 1)[1]
        text = pre + block + post
    else:
        text = DOC_HEADER + block + "\n"
    with open(path, "w") as f:
        f.write(text)
    say(f"\nwrote {path}")


DOC_HEADER = """# Benchmarks: berthd vs CNCF distribution

`scripts/bench/run.sh` runs berthd (Release build in `build-bench/`, SQLite
metadata, storage-fs plugin) and Debian's `docker-registry` (CNCF distribution
2.8, stock blobdescriptor cache, access log off) side by side on one machine,
in one run, and compares medians. See the header of `scripts/bench/bench.py`
for the knobs (`BENCH_RUNS`, `BENCH_DURATION`, ...).

"""


def main():
    work = os.environ["BENCH_WORK"]
    cfg = Cfg(work)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t_start = time.time()
    cfg.load_start = loadavg()
    cfg.uptime_start = cmd_out(["uptime"])
    res = Results()
    say(f"berth bench: runs={cfg.runs} duration={cfg.duration}s connections={cfg.conns} "
        f"push={cfg.push_mib}MiB big={cfg.big_mib}MiB small={cfg.small_n} steps={sorted(cfg.only)}")
    say(f"work dir {work}")
    servers = [start_berthd(cfg), start_distribution(cfg)]
    time.sleep(1.0)
    for s in servers:
        s.idle_rss_kb = s.status_kb("VmRSS")
        res.add("idle_rss", s.name, s.idle_rss_kb)
        say(f"{s.name} pid {s.proc.pid} on {s.host}, idle RSS {s.idle_rss_kb} KiB")
    create_project(servers[0].host)
    steps = [("push", bench_push_pull), ("small", bench_small), ("wrk", bench_wrk),
             ("auth", bench_auth), ("big", bench_big)]
    for name, fn in steps:
        if name not in cfg.only:
            continue
        try:
            fn(cfg, servers, res)
        except Exception as e:  # noqa: BLE001 - a broken step must not hide the others
            say(f"  !! step {name} failed: {e}")
            res.errors[(name, "setup")] = str(e)
        for s in servers:
            if not s.alive():
                say(f"  !! {s.name} died (exit {s.proc.returncode}): {tail(cfg, s.name + '.err')}")
    for s in servers:
        peak = s.peak_kb()
        if peak is not None:
            res.add("peak_rss", s.name, peak)
        say(f"{s.name} peak RSS (VmHWM) {peak} KiB")
    for s in servers:
        s.stop()
    elapsed = time.time() - t_start
    cfg.load_end = loadavg()
    cfg.uptime_end = cmd_out(["uptime"])
    rows = build_rows(cfg, res)
    table = render_table(rows)
    raw = render_raw(res)
    info = machine_info()
    say(f"\nberthd vs distribution, {started}, {elapsed:.0f} s; nproc {info['nproc']}, "
        f"kernel {info['kernel']}, {info['cpu']}; load average {cfg.load_start} -> "
        f"{cfg.load_end}\n")
    say(table)
    if res.errors:
        say("\nerrors:")
        for (m, s), msg in sorted(res.errors.items()):
            say(f"  {m} on {s}: {msg}")
    if cfg.write_docs:
        write_docs(cfg, table, raw, info, started, elapsed)
    return 1 if res.errors else 0


if __name__ == "__main__":
    sys.exit(main())
