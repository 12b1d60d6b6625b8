#!/usr/bin/python3
"""Push and pull throughput of 1, 2 and 3 berthd nodes behind HAProxy, all on
one PostgreSQL database and one S3 bucket (Ceph radosgw), on this machine's
loopback: the deployment of docs/scale-out.md, built the way
tests/protocol/test_multinode.py builds it.

    scripts/bench/scaleout_bench.py --berthd build/bin/berthd

For each node count, BENCH_RUNS runs (3) of:
  * push: BENCH_CLIENTS threads (8) push BENCH_IMAGES images (48) through the
    proxy, each a config and BENCH_LAYERS (2) layers of BENCH_LAYER_KIB KiB
    (1024) of fresh random bytes (monolithic POST ?digest=, then the
    manifest PUT), each request on its own connection as the proxy balances
    per request;
  * pull: the same threads GET every image's manifest and blobs back.
Prints images/s and MiB/s (medians) and the ratio to one node, and the load
average. The machine's other work counts: read the load average with them.

Needs: the berthd binary (and its storage-s3 plugin beside it), PostgreSQL 15
(scripts/pg-test-server.sh), radosgw (tests/s3/radosgw.py), haproxy, openssl.
"""

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "protocol"))
import berth_harness as h  # noqa: E402
import test_multinode as mn  # noqa: E402  (Cluster: radosgw, nodes, HAProxy)

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
IMAGES = int(os.environ.get("BENCH_IMAGES", "48"))
LAYERS = int(os.environ.get("BENCH_LAYERS", "2"))
LAYER_KIB = int(os.environ.get("BENCH_LAYER_KIB", "1024"))
NODE_COUNTS = [int(x) for x in os.environ.get("BENCH_NODES", "1,2,3").split(",")]


def make_images(tag_prefix):
    """Fresh content for one run: (tag, [(digest, bytes)...], manifest)."""
    out = []
    for i in range(IMAGES):
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "nonce": os.urandom(8).hex()}).encode()
        layers = [os.urandom(LAYER_KIB * 1024) for _ in range(LAYERS)]
        manifest = h.dumps({"schemaVersion": 2, "mediaType": h.OCI_MANIFEST,
                            "config": h.descriptor(h.OCI_CONFIG, config),
                            "layers": [h.descriptor(h.OCI_LAYER, l) for l in layers]})
        out.append(("%s-%d" % (tag_prefix, i), [(h.sha256(b), b) for b in [config] + layers],
                    manifest))
    return out


def image_bytes(images):
    return sum(len(b) for _, blobs, m in images for _, b in blobs) + \
        sum(len(m) for _, _, m in images)


def push_one(proxy, repo, image):
    tag, blobs, manifest = image
    for digest, data in blobs:
        r = proxy.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest), data,
                          {"Content-Type": "application/octet-stream"})
        if r.status != 201:
            raise AssertionError("blob push: %r" % r)
    r = proxy.put_manifest(repo, tag, manifest, h.OCI_MANIFEST)
    if r.status != 201:
        raise AssertionError("manifest push: %r" % r)


def pull_one(proxy, repo, image):
    tag, blobs, manifest = image
    r = proxy.request("GET", "/v2/%s/manifests/%s" % (repo, tag), headers={"Accept": h.OCI_MANIFEST})
    if r.status != 200 or r.body != manifest:
        raise AssertionError("manifest pull: %r" % r)
    for digest, data in blobs:
        r = proxy.request("GET", "/v2/%s/blobs/%s" % (repo, digest))
        if r.status != 200 or len(r.body) != len(data):
            raise AssertionError("blob pull: %r" % r)


CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """utime + stime of the processes (those that exited count 0)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK


def machine_busy_seconds():
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / CLK  # minus idle and iowait


def component_pids(cluster, nodes):
    ceph = []
    try:
        with open(os.path.join(cluster.rgw_dir, "pids")) as f:
            ceph = [int(x) for x in f if x.strip()]
    except OSError:
        pass
    return {"berthd": [n.proc.pid for n in nodes], "ceph": ceph,
            "haproxy": [cluster.haproxy.pid], "client": [os.getpid()]}


def cpu_snapshot(pids):
    return {k: cpu_seconds(v) for k, v in pids.items()}


def timed(fn, proxy, repo, images):
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        t0 = time.monotonic()
        list(pool.map(lambda im: fn(proxy, repo, im), images))
        return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berthd", default=os.path.join(ROOT, "build", "bin", "berthd"))
    args = ap.parse_args()
    h._BERTHD = os.path.abspath(args.berthd)
    work = tempfile.mkdtemp(prefix="berth-scaleout-bench-")
    pg_dir = os.path.join(work, "pg")
    dsn = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pg-test-server.sh"), "start", pg_dir],
                         stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    dsn_file = os.path.join(work, "dsn")
    with open(dsn_file, "w") as f:
        f.write(dsn)
    os.environ["BERTH_PROTOCOL_POSTGRES_DSN_FILE"] = dsn_file
    cluster = mn.Cluster()
    results = {}
    try:
        why = cluster.start_radosgw()
        if why:
            sys.exit("radosgw did not start:\n" + why)
        cluster.start_nodes(count=0, extra_env={"BERTH_LOG_LEVEL": "warn"})
        project = "bench"
        for n in NODE_COUNTS:
            while len(cluster.nodes) < n:
                cluster.add_node()
            cluster.start_proxy(cluster.nodes[:n])
            proxy = cluster.proxy
            proxy.request("POST", "/api/v2.0/projects", json.dumps({"project_name": project}).encode(),
                          {"Content-Type": "application/json"}, check=False)
            proxy.projects.add(project)
            time.sleep(1)  # first health checks
            pushes, pulls = [], []
            pids = component_pids(cluster, cluster.nodes[:n])
            cpu0, busy0, wall0 = cpu_snapshot(pids), machine_busy_seconds(), time.monotonic()
            for run in range(RUNS):
                images = make_images("n%d-r%d" % (n, run))
                size = image_bytes(images)
                repo = "%s/n%d" % (project, n)
                t = timed(push_one, proxy, repo, images)
                pushes.append((IMAGES / t, size / t / (1 << 20)))
                t = timed(pull_one, proxy, repo, images)
                pulls.append((IMAGES / t, size / t / (1 << 20)))
                print("nodes=%d run=%d push %.1f img/s %.1f MiB/s, pull %.1f img/s %.1f MiB/s, load %s" % (
                    n, run, pushes[-1][0], pushes[-1][1], pulls[-1][0], pulls[-1][1],
                    " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
            cpu1, wall = cpu_snapshot(pids), time.monotonic() - wall0
            cpu = {k: (cpu1[k] - cpu0[k]) / wall for k in cpu1}  # cores busy, on average
            results[n] = {
                "cpu": cpu,
                "load_cpu": (machine_busy_seconds() - busy0) / wall,
                "push_img_s": statistics.median(x[0] for x in pushes),
                "push_mib_s": statistics.median(x[1] for x in pushes),
                "pull_img_s": statistics.median(x[0] for x in pulls),
                "pull_mib_s": statistics.median(x[1] for x in pulls),
                "load": os.getloadavg()[0],
            }
    finally:
        try:
            cluster.stop()
        finally:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "pg-test-server.sh"), "stop", pg_dir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["rm", "-rf", work])
    base = results[NODE_COUNTS[0]]
    print()
    print("%d clients, %d images of %d x %d KiB + config per run, median of %d runs" % (
        CLIENTS, IMAGES, LAYERS, LAYER_KIB, RUNS))
    print("| nodes | push images/s | push MiB/s | pull images/s | pull MiB/s | push ratio | pull ratio | load (1 min) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        print("| %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f |" % (
            n, r["push_img_s"], r["push_mib_s"], r["pull_img_s"], r["pull_mib_s"],
            r["push_mib_s"] / base["push_mib_s"], r["pull_mib_s"] / base["pull_mib_s"], r["load"]))
    print()
    print("CPU used during the runs, in cores (utime+stime / wall time; 2 cores here):")
    print("| nodes | berthd (all nodes) | radosgw + OSD + mon | haproxy | client | rest of the machine (PostgreSQL, other work) | machine busy |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in results.items():
        c = r["cpu"]
        print("| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            n, c["berthd"], c["ceph"], c["haproxy"], c["client"],
            max(0.0, r["load_cpu"] - sum(c.values())), r["load_cpu"]))


if __name__ == "__main__":
    main()
