#!/usr/bin/python3
"""Many connections: small-request latency with 1,000 keep-alive clients and
200 slow uploads, berthd against Debian's docker-registry 2.8 (and berthd's
old thread-per-connection engine, http.engine=threads, for reference).

    scripts/bench/connections_bench.py
    BENCH_SKIP_BUILD=1 BENCH_BUILD_DIR=build scripts/bench/connections_bench.py   a dev build
    BENCH_CONN_SERVERS=berthd,distribution BENCH_CONN_SECONDS=15 ...              quicker

Stand-alone like gc_bench.py: builds berthd (Release, build-bench/, target
berth-runtime) unless BENCH_SKIP_BUILD=1, works in a temporary directory,
stops the servers it started (by pid). python3 stdlib only, reusing
bench.py's server start-up and gc_bench.py's keep-alive client.

Per server, on one seeded repository (one small blob, one OCI manifest):
 1. idle: BENCH_CONN_PROBES probe clients, each on its own keep-alive
    connection, alternate HEAD blob / GET manifest with a 20 ms pause, for
    BENCH_CONN_SECONDS; latency of each request.
 2. loaded: a separate load process (its own GIL) opens BENCH_CONN_CLIENTS
    keep-alive clients that each do the same small requests every 2-6 s, and
    BENCH_CONN_UPLOADS uploads that each POST an upload session, then PATCH
    a 600-byte body one byte per second (never finishing during the run).
    Once all are connected the probes measure again for BENCH_CONN_SECONDS.
 3. prints p50/p99 of the probes idle and loaded and loaded/idle ratios, the
    load clients' own p50/p99 and errors, and how many uploads were still
    streaming at the end (a server that drops them is not "holding" them).
The machine is small and shared: treat one run's figures as indicative and
compare ratios, not absolute milliseconds.

Environment (all optional):
  BENCH_CONN_SERVERS   berthd,berthd-threads,distribution
  BENCH_CONN_CLIENTS   keep-alive small-request clients            1000
  BENCH_CONN_UPLOADS   slow uploads                                200
  BENCH_CONN_PROBES    probe clients                               4
  BENCH_CONN_SECONDS   seconds per measurement                     30
  BENCH_BUILD_DIR, BENCH_SKIP_BUILD, BENCH_TMPDIR as gc_bench.py; BENCH_KEEP=1 keeps the work dir.
"""
import http.client
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import gc_bench  # noqa: E402  (Client, build)
from bench import OCI_CONFIG, OCI_LAYER_GZ, OCI_MANIFEST, ROOT, env_int, say  # noqa: E402

REPO = "bench/conn"
SLOW_BODY = 600  # bytes per slow upload, one per second


class Cfg:
    def __init__(self, work):
        self.work = work
        self.build = os.environ.get("BENCH_BUILD_DIR", os.path.join(ROOT, "build-bench"))
        self.servers = [s for s in os.environ.get(
            "BENCH_CONN_SERVERS", "berthd,berthd-threads,distribution").split(",") if s]
        self.clients = env_int("BENCH_CONN_CLIENTS", 1000)
        self.uploads = env_int("BENCH_CONN_UPLOADS", 200)
        self.probes = env_int("BENCH_CONN_PROBES", 4)
        self.seconds = env_int("BENCH_CONN_SECONDS", 30)
        self.dist_cache = "inmemory"  # bench.start_distribution reads it


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q / 100.0 * len(xs)))]


def seed(host):
    """One blob and one manifest in REPO; returns (blob digest, manifest tag)."""
    c = gc_bench.Client(host)
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = os.urandom(1024)
    descs = []
    for data, mt in ((config, OCI_CONFIG), (layer, OCI_LAYER_GZ)):
        d = "sha256:" + bench.sha256_hex(data)
        mode = gc_bench.blob_push_mode(host, REPO, data)
        gc_bench.push_blob(c, mode, REPO, d, data)
        descs.append({"mediaType": mt, "digest": d, "size": len(data)})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descs[0],
                           "layers": descs[1:]}).encode()
    c.call("PUT", f"/v2/{REPO}/manifests/v1", body=manifest,
           headers={"Content-Type": OCI_MANIFEST}, expect=(201,))
    c.close()
    return descs[1]["digest"], "v1"


def small_request(c, blob, tag, i):
    if i % 2 == 0:
        c.call("HEAD", f"/v2/{REPO}/blobs/{blob}", expect=(200,))
    else:
        c.call("GET", f"/v2/{REPO}/manifests/{tag}", headers={"Accept": OCI_MANIFEST},
               expect=(200,))


def short_client(host, timeout=20):
    """gc_bench's keep-alive client with a bounded wait: a server that stops
    answering shows as errors, not as a hung benchmark."""
    c = gc_bench.Client(host)
    c.conn = http.client.HTTPConnection(host, timeout=timeout)
    return c


def probe(host, blob, tag, seconds):
    """Latencies (s) and errors of the probe clients over `seconds`."""
    lat, errors = [], []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(k):
        c = short_client(host)
        i = k
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                small_request(c, blob, tag, i)
                with lock:
                    lat.append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001 (counted, the run goes on)
                with lock:
                    errors.append(repr(e)[:200])
                c.close()
                c = short_client(host)
            i += 1
            time.sleep(0.02)
        c.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(env_int("BENCH_CONN_PROBES", 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors


# ------------------------------------------------------------ load process --

def load_main(host, blob, tag, clients, uploads, seconds, out_path):
    """The load: `clients` keep-alive small-request clients and `uploads`
    slow uploads, for `seconds` after all are connected; writes JSON stats."""
    raise_nofile()
    stats = {"lat": [], "errors": [], "uploads_started": 0, "uploads_alive": 0,
             "upload_errors": []}
    lock = threading.Lock()
    # Each client connects, reports in, then waits for the common start; a
    # server that cannot take them all gets 90 s, then the run goes on.
    connected = [0]
    start = threading.Event()
    stop = threading.Event()

    def ready():
        with lock:
            connected[0] += 1
        start.wait()

    def client(k):
        c = short_client(host)
        try:
            small_request(c, blob, tag, k)  # connect now
        except Exception as e:  # noqa: BLE001
            with lock:
                stats["errors"].append(repr(e)[:200])
        ready()
        i = k
        while not stop.wait(random.uniform(2, 6)):
            t0 = time.perf_counter()
            try:
                small_request(c, blob, tag, i)
                with lock:
                    stats["lat"].append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001
                with lock:
                    stats["errors"].append(repr(e)[:200])
                c.close()
                c = short_client(host)
            i += 1
        c.close()

    def upload(k):
        alive = False
        conn = None
        try:
            c = short_client(host)
            r, _ = c.call("POST", f"/v2/{REPO}/blobs/uploads/", body=b"",
                          headers={"Content-Length": "0"}, expect=(202,))
            loc = c.path(r.getheader("Location"))
            c.close()
            conn = http.client.HTTPConnection(host, timeout=20)
            conn.putrequest("PATCH", loc)
            conn.putheader("Authorization", bench.BASIC)
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Length", str(SLOW_BODY))
            conn.endheaders()
            conn.send(b"x")
            alive = True
            with lock:
                stats["uploads_started"] += 1
        except Exception as e:  # noqa: BLE001
            with lock:
                stats["upload_errors"].append(repr(e)[:200])
        ready()
        sent = 1
        while alive and not stop.wait(1.0) and sent < SLOW_BODY - 1:
            try:
                conn.send(b"x")
                sent += 1
            except Exception as e:  # noqa: BLE001
                alive = False
                with lock:
                    stats["upload_errors"].append(repr(e)[:200])
        if alive:
            # Still streaming when the measurement ended: the server held it.
            conn.sock.setblocking(False)
            try:
                gone = conn.sock.recv(1) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if not gone:
                with lock:
                    stats["uploads_alive"] += 1
        if conn:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    threads += [threading.Thread(target=upload, args=(k,), daemon=True) for k in range(uploads)]
    for t in threads:
        t.start()
        time.sleep(0.002)  # a connect storm would only measure the accept backlog
    deadline = time.monotonic() + 90
    while connected[0] < len(threads) and time.monotonic() < deadline:
        time.sleep(0.1)
    start.set()
    print("ready %d of %d" % (connected[0], len(threads)), flush=True)
    time.sleep(seconds)
    stop.set()
    end = time.monotonic() + 30
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    with lock, open(out_path, "w") as f:
        json.dump(stats, f)


# ------------------------------------------------------------------ driver --

def start_server(cfg, kind):
    sub = os.path.join(cfg.work, kind)
    os.makedirs(sub)
    c = bench.Cfg.__new__(bench.Cfg)
    c.work, c.build, c.dist_cache = sub, cfg.build, cfg.dist_cache
    if kind == "distribution":
        return bench.start_distribution(c)
    os.environ["BERTH_HTTP_ENGINE"] = "threads" if kind == "berthd-threads" else "event"
    try:
        s = bench.start_berthd(c)
    finally:
        os.environ.pop("BERTH_HTTP_ENGINE", None)
    bench.create_project(s.host)
    return s


def run_server(cfg, kind):
    say(f"\n== {kind}")
    s = start_server(cfg, kind)
    res = {"name": kind}
    try:
        blob, tag = seed(s.host)
        lat, errs = probe(s.host, blob, tag, cfg.seconds)
        res["idle"] = {"p50": pct(lat, 50), "p99": pct(lat, 99), "n": len(lat), "errors": len(errs)}
        say(f"  idle:   p50 {res['idle']['p50'] * 1e3:.1f} ms, p99 {res['idle']['p99'] * 1e3:.1f} ms "
            f"({len(lat)} requests, {len(errs)} errors)")
        out = os.path.join(cfg.work, kind + "-load.json")
        t0 = time.monotonic()
        load = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--load", s.host, blob,
                                 tag, str(cfg.clients), str(cfg.uploads), str(cfg.seconds + 5), out],
                                stdout=subprocess.PIPE, text=True)
        bench.write_pid(cfg, kind + "-load", load.pid)
        line = load.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"load process: {line!r}")
        res["connect_s"] = time.monotonic() - t0
        say(f"  {cfg.clients} clients and {cfg.uploads} slow uploads started in "
            f"{res['connect_s']:.1f} s ({line.split(' ', 1)[1].strip()} past their first request)")
        time.sleep(2)
        lat, errs = probe(s.host, blob, tag, cfg.seconds)
        res["loaded"] = {"p50": pct(lat, 50), "p99": pct(lat, 99), "n": len(lat),
                         "errors": len(errs), "first_errors": errs[:3]}
        load.wait(timeout=cfg.seconds + 120)
        with open(out) as f:
            st = json.load(f)
        res["load"] = {"p50": pct(st["lat"], 50), "p99": pct(st["lat"], 99), "n": len(st["lat"]),
                       "errors": len(st["errors"]), "first_errors": st["errors"][:3],
                       "uploads_started": st["uploads_started"],
                       "uploads_alive": st["uploads_alive"],
                       "upload_errors": len(st["upload_errors"])}
        say(f"  loaded: p50 {res['loaded']['p50'] * 1e3:.1f} ms, p99 "
            f"{res['loaded']['p99'] * 1e3:.1f} ms ({len(lat)} requests, {len(errs)} errors "
            f"{errs[:2]})")
        ld = res["load"]
        say(f"  load clients: p50 {ld['p50'] * 1e3:.1f} ms, p99 {ld['p99'] * 1e3:.1f} ms "
            f"({ld['n']} requests, {ld['errors']} errors {ld['first_errors'][:2]}); uploads "
            f"started {ld['uploads_started']}, still streaming at the end {ld['uploads_alive']}, "
            f"errors {ld['upload_errors']}")
        res["ratio_p50"] = res["loaded"]["p50"] / res["idle"]["p50"]
        res["ratio_p99"] = res["loaded"]["p99"] / res["idle"]["p99"]
        say(f"  loaded/idle: p50 x{res['ratio_p50']:.2f}, p99 x{res['ratio_p99']:.2f}")
    finally:
        s.stop()
    return res


def render(cfg, results):
    ms = lambda v: f"{v * 1e3:.1f}"  # noqa: E731
    rows = ["| server | idle p50 / p99 (ms) | loaded p50 / p99 (ms) | loaded/idle p99 | "
            "probe errors | load clients p50 / p99 (ms), errors | uploads held to the end |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        if "loaded" not in r:
            continue
        ld = r["load"]
        rows.append(f"| {r['name']} | {ms(r['idle']['p50'])} / {ms(r['idle']['p99'])} | "
                    f"{ms(r['loaded']['p50'])} / {ms(r['loaded']['p99'])} | "
                    f"x{r['ratio_p99']:.2f} | {r['loaded']['errors']} | "
                    f"{ms(ld['p50'])} / {ms(ld['p99'])}, {ld['errors']} | "
                    f"{ld['uploads_alive']} of {cfg.uploads} |")
    return "\n".join(rows)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        a = sys.argv[2:]
        load_main(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6])
        return
    limit = raise_nofile()  # inherited by the servers and the load process
    need = env_int("BENCH_CONN_CLIENTS", 1000) + env_int("BENCH_CONN_UPLOADS", 200) + 200
    if limit < need:
        sys.exit(f"RLIMIT_NOFILE is {limit}, {need} needed: raise the hard limit (ulimit -Hn)")
    work = tempfile.mkdtemp(prefix="berth-conn-bench.", dir=os.environ.get("BENCH_TMPDIR"))
    cfg = Cfg(work)
    try:
        gc_bench.build(cfg)
        results = []
        for kind in cfg.servers:
            results.append(run_server(cfg, kind))
        say("\n" + render(cfg, results))
    finally:
        for f in os.listdir(work):
            if f.endswith(".pid"):
                try:
                    os.kill(int(open(os.path.join(work, f)).read()), signal.SIGTERM)
                except (OSError, ValueError):
                    pass
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
