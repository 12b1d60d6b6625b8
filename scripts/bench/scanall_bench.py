#!/usr/bin/python3
"""Scan-all over 1,000 artifacts with an instant scanner, so that what is
measured is Berth's own overhead (job service, scanner credential, report
checks and storage), and push/pull latency while it runs against idle.

    scripts/bench/scanall_bench.py
    BENCH_SA_ARTIFACTS=200 scripts/bench/scanall_bench.py      quick look
    BENCH_SA_CONCURRENCY=2,8 scripts/bench/scanall_bench.py    scanning.max_concurrent values
    BENCH_SA_DB=postgres scripts/bench/scanall_bench.py        metadata in PostgreSQL

The scanner (BENCH_SA_SCANNER):
  test     (default) tests/scan/test_scanner.cc, built as
           build/test-plugins/scanner/test-scanner.so: for every scan it
           pulls the manifest from berthd with the scan credential and its
           report (6 findings, tests/scan/fixtures) is ready at the first
           poll: an instant scanner, so the time is Berth's own.
  example  the out-of-tree example plugin (plugins/examples/scanner-example,
           built against a staging install of the plugin SDK the way
           tests/scanners/run_scanner_tests.py builds it): pulls the manifest
           and the config blob, but answers its first poll "retry after 1 s",
           which Berth honours: about one second per scan and slot.

Steps, for each scanning.max_concurrent value, on a fresh berthd:
 1. BENCH_SA_ARTIFACTS small images (one 1 KiB layer each) pushed by 4
    threads into 10 repositories of project `bench`.
 2. Idle: BENCH_SA_IDLE_S seconds of a client loop alternating a pull
    (manifest by tag, then its config and layer blobs) and a push of a new
    small image (config, layer, manifest), one connection each; latency of
    each pull and each push (all of its requests).
 3. Scan-all: POST /system/scanAll/schedule {"type":"Manual"}, then the same
    loop until /scans/all/metrics says every scan finished; reported: time
    from the POST to the last scan's end, scans per second, and the loop's
    push/pull p50/p99 meanwhile. Every artifact must end with a Success
    report.

Uses build/bin/berthd (BERTHD_BIN to override). python3 stdlib only.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "protocol"))
import berth_harness as bh  # noqa: E402

ARTIFACTS = int(os.environ.get("BENCH_SA_ARTIFACTS", "1000"))
CONCURRENCY = [int(x) for x in os.environ.get("BENCH_SA_CONCURRENCY", "2,4").split(",") if x]
IDLE_S = float(os.environ.get("BENCH_SA_IDLE_S", "15"))
DB = os.environ.get("BENCH_SA_DB", "sqlite")
BUILD = os.environ.get("BENCH_BUILD_DIR", os.path.join(ROOT, "build"))
SCANNER = os.environ.get("BENCH_SA_SCANNER", "test")


def say(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def build_example(work):
    stage = os.path.join(work, "stage")
    subprocess.run(["cmake", "--install", BUILD, "--prefix", stage, "--component", "plugin-api-dev"],
                   check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(work, "example-build")
    cmd = ["cmake", "-S", os.path.join(ROOT, "plugins", "examples", "scanner-example"), "-B", out,
           "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_PREFIX_PATH=" + stage]
    if shutil.which("ccache"):
        cmd.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", out], check=True, stdout=subprocess.DEVNULL)
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins)
    shutil.copy(os.path.join(out, "scanner-example.so"), plugins)
    return plugins


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p * len(values))) - 1))]


class Client:
    """One keep-alive connection with the administrator's Basic credential."""

    def __init__(self, reg):
        self.reg = reg
        self.conn = reg.connect(timeout=120)
        self.auth = reg.auth_header()

    def do(self, method, path, body=None, headers=None):
        h = {"Authorization": self.auth}
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:200]))
        return r, data

    def push(self, repo, tag, seed):
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        layer = (("layer of %s " % seed) * 64).encode()[:1024]
        for blob in (config, layer):
            self.do("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, bh.sha256(blob)), blob,
                    {"Content-Type": "application/octet-stream"})
        manifest = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                             "config": bh.descriptor(bh.OCI_CONFIG, config),
                             "layers": [bh.descriptor(bh.OCI_LAYER, layer)]})
        self.do("PUT", "/v2/%s/manifests/%s" % (repo, tag), manifest, {"Content-Type": bh.OCI_MANIFEST})

    def pull(self, repo, tag):
        _, body = self.do("GET", "/v2/%s/manifests/%s" % (repo, tag), headers={"Accept": bh.OCI_MANIFEST})
        m = json.loads(body)
        for d in [m["config"]] + m["layers"]:
            self.do("GET", "/v2/%s/blobs/%s" % (repo, d["digest"]))


def latency_loop(reg, stop, pulls, pushes):
    """Alternates a pull of an existing image and a push of a new one."""
    c = Client(reg)
    i = 0
    while not stop():
        t0 = time.perf_counter()
        k = (i * 37) % ARTIFACTS  # artifact k: repository app<k % 10>, tag t<k>
        c.pull("bench/app%d" % (k % 10), "t%d" % k)
        pulls.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        c.push("bench/live", "l%d" % i, uuid.uuid4().hex)
        pushes.append((time.perf_counter() - t0) * 1000)
        i += 1


def run(max_concurrent, plugins, work):
    root = os.path.join(work, "berthd-%d" % max_concurrent)
    os.makedirs(root)
    if SCANNER == "example":
        default = {"name": "example", "provider": "config-audit", "config": {}}
    else:
        default = {"name": "instant", "provider": "test-scanner",
                   "config": {"findings_file": os.path.join(ROOT, "tests", "scan", "fixtures",
                                                            "vulnerabilities.json")}}
    cfg = {"plugins": {"dirs": [plugins]},
           "scanning": {"max_concurrent": max_concurrent, "default": default}}
    reg = bh.Registry(root=root, config=json.dumps(cfg))
    try:
        reg.start()
        reg.create_project("bench")
        t0 = time.monotonic()
        threads = []
        for w in range(4):
            def pusher(w=w):
                c = Client(reg)
                for i in range(w, ARTIFACTS, 4):
                    # repository i % 10, tag t<i>
                    c.push("bench/app%d" % (i % 10), "t%d" % i, "art-%d" % i)
            threads.append(threading.Thread(target=pusher))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        say("max_concurrent %d: %d artifacts pushed in %.1f s" % (max_concurrent, ARTIFACTS,
                                                                  time.monotonic() - t0))
        idle_pulls, idle_pushes = [], []
        until = time.monotonic() + IDLE_S
        latency_loop(reg, lambda: time.monotonic() > until, idle_pulls, idle_pushes)

        api = Client(reg)
        busy_pulls, busy_pushes = [], []
        done = threading.Event()
        loop = threading.Thread(target=latency_loop, args=(reg, done.is_set, busy_pulls, busy_pushes))
        t0 = time.monotonic()
        api.do("POST", "/api/v2.0/system/scanAll/schedule", json.dumps({"schedule": {"type": "Manual"}}),
               {"Content-Type": "application/json"})
        loop.start()
        metrics = {}
        try:
            while True:
                _, body = api.do("GET", "/api/v2.0/scans/all/metrics")
                metrics = json.loads(body)
                if metrics["total"] >= ARTIFACTS and metrics["completed"] == metrics["total"] \
                        and not metrics["ongoing"]:
                    break
                if time.monotonic() - t0 > 3600:
                    raise RuntimeError("scan-all did not finish in an hour: %r" % metrics)
                time.sleep(0.25)
        finally:
            done.set()
            loop.join()
        elapsed = time.monotonic() - t0
        # Every artifact, with the idle loop's pushes (bench/live) before it.
        if metrics["metrics"] != {"Success": metrics["total"]}:
            raise RuntimeError("scan-all ended with %r" % metrics)
        scanned = metrics["total"]
        # Spot check: reports stored and shown.
        _, body = api.do("GET", "/api/v2.0/projects/bench/repositories/app3/artifacts?with_scan_overview=true"
                         "&page_size=100")
        arts = json.loads(body)
        ok = sum(1 for a in arts for v in (a.get("scan_overview") or {}).values()
                 if v["scan_status"] == "Success")
        if ok != len(arts):
            raise RuntimeError("app3: %d of %d artifacts show a successful report" % (ok, len(arts)))
        row = {"max_concurrent": max_concurrent, "elapsed_s": elapsed, "scans": scanned,
               "scans_per_s": scanned / elapsed,
               "idle": (idle_pulls, idle_pushes), "busy": (busy_pulls, busy_pushes)}
        say("max_concurrent %d: scan-all of %d artifacts in %.1f s (%.1f scans/s)" %
            (max_concurrent, scanned, elapsed, scanned / elapsed))
        for name, (pl, ps) in (("idle", row["idle"]), ("during scan-all", row["busy"])):
            say("  %-16s pull p50 %.1f p99 %.1f ms (%d)   push p50 %.1f p99 %.1f ms (%d)" %
                (name, statistics.median(pl), pct(pl, 0.99), len(pl), statistics.median(ps),
                 pct(ps, 0.99), len(ps)))
        return row
    finally:
        reg.cleanup()


def main():
    bh._BERTHD = os.environ.get("BERTHD_BIN") or os.path.join(BUILD, "bin", "berthd")
    work = tempfile.mkdtemp(prefix="berth-scanall-bench-")
    pg_dir = None
    try:
        if DB == "postgres":
            pg_dir = os.path.join(work, "pg")
            dsn = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server.sh"), "start", pg_dir],
                                 check=True, stdout=subprocess.PIPE).stdout.decode().strip()
            with open(os.path.join(work, "pg.dsn"), "w") as f:
                f.write(dsn)
            os.environ["BERTH_PROTOCOL_POSTGRES_DSN_FILE"] = os.path.join(work, "pg.dsn")
        if SCANNER == "example":
            plugins = build_example(work)
        else:
            plugins = os.path.join(BUILD, "test-plugins", "scanner")
            if not os.path.exists(os.path.join(plugins, "test-scanner.so")):
                raise SystemExit("build the test-scanner target first (%s)" % plugins)
        rows = [run(c, plugins, work) for c in CONCURRENCY]
    finally:
        if pg_dir:
            subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server.sh"), "stop", pg_dir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    print("| scanning.max_concurrent | artifacts scanned | scan-all (s) | scans/s | pull p50 / p99 idle (ms) | "
          "pull p50 / p99 during (ms) | push p50 / p99 idle (ms) | push p50 / p99 during (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        (ipl, ips), (bpl, bps) = r["idle"], r["busy"]
        print("| %d | %d | %.1f | %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f |" % (
            r["max_concurrent"], r["scans"], r["elapsed_s"], r["scans_per_s"],
            statistics.median(ipl), pct(ipl, 0.99), statistics.median(bpl), pct(bpl, 0.99),
            statistics.median(ips), pct(ips, 0.99), statistics.median(bps), pct(bps, 0.99)))


if __name__ == "__main__":
    main()
