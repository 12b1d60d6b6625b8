#!/usr/bin/env python3
"""Round trips of a manifest GET and a 1 KiB blob GET against a real berthd,
for relating the plugin ABI's per-call cost to a whole request.

    e2e.py --berthd PATH [--duration S] > e2e.json

Starts berthd (temporary data directory, port 0, log level warn, storage-fs),
pushes a small image as the administrator, then runs `wrk -t1 -c1` (one
connection: one request at a time) against
GET /v2/library/abi/manifests/v1 and GET /v2/library/abi/blobs/<1 KiB layer>,
each request authenticated with Basic credentials as a client would send them.
The round trip reported is wrk's median latency (its mean is dominated by
scheduling outliers on a busy machine), the median over --runs runs. Prints
JSON: {"tool", "auth", "round_trip_us": {"manifest_get", "blob_get"},
"requests_per_s": {...}}.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PASSWORD = "Abi-Bench-1"
AUTH = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def request(port, method, path, body=None, headers=None):
    h = {"Authorization": AUTH}
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wrk(url, duration, headers):
    """(median latency in us, requests/s) of one `wrk -t1 -c1` run."""
    cmd = ["wrk", "-t1", "-c1", "-d%ds" % duration, "--latency"]
    for k, v in headers.items():
        cmd += ["-H", "%s: %s" % (k, v)]
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
    m = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m or not rps or "Non-2xx" in out:
        raise RuntimeError("unexpected wrk output:\n" + out)
    lat = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    return lat, float(rps.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berthd", required=True)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("e2e.py needs wrk (Debian: apt-get install wrk)")

    root = tempfile.mkdtemp(prefix="berth-abi-e2e-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env.update(BERTH_LISTEN="127.0.0.1:0", BERTH_DATA_DIR=os.path.join(root, "data"),
               BERTH_LOG_LEVEL="warn", BERTH_ADMIN_PASSWORD=PASSWORD)
    out_path = os.path.join(root, "stdout")
    with open(out_path, "wb") as out, open(os.path.join(root, "stderr"), "wb") as err:
        proc = subprocess.Popen([args.berthd], env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
    try:
        port = None
        for _ in range(1500):
            with open(out_path) as f:
                line = f.readline()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                sys.exit("berthd exited: " + open(os.path.join(root, "stderr")).read())
            time.sleep(0.02)
        if port is None:
            sys.exit("berthd did not start")

        repo = "library/abi"
        layer = os.urandom(1024)
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        for blob in (config, layer):
            st, body = request(port, "POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha256(blob)),
                               blob, {"Content-Type": "application/octet-stream"})
            if st != 201:
                sys.exit("blob upload failed: %d %r" % (st, body))
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": sha256(layer), "size": len(layer)}]}).encode()
        st, body = request(port, "PUT", "/v2/%s/manifests/v1" % repo, manifest,
                           {"Content-Type": OCI_MANIFEST})
        if st != 201:
            sys.exit("manifest push failed: %d %r" % (st, body))

        base = "http://127.0.0.1:%d/v2/%s" % (port, repo)
        result = {"tool": "wrk -t1 -c1 -d%ds, median latency, median of %d runs" % (
                      args.duration, args.runs),
                  "auth": "Basic credentials",
                  "round_trip_us": {}, "requests_per_s": {}}
        for name, url, hdrs in (
                ("manifest_get", base + "/manifests/v1", {"Accept": OCI_MANIFEST}),
                ("blob_get", base + "/blobs/" + sha256(layer), {})):
            hdrs = dict(hdrs, Authorization=AUTH)
            wrk(url, 1, hdrs)  # warm-up: caches, the verified-password cache
            runs = sorted(wrk(url, args.duration, hdrs) for _ in range(args.runs))
            lat, rps = runs[len(runs) // 2]
            result["round_trip_us"][name] = lat
            result["requests_per_s"][name] = rps
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
