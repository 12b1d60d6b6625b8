#!/usr/bin/python3
"""Helpers for Berth's end-to-end tests (Python standard library only).

Subcommands:
  make-layout DIR TAG SIZE [SIZE...]
      Writes an OCI image layout in DIR holding one image tagged TAG, with one
      gzip'd tar layer per SIZE (bytes of fresh random, incompressible data).
      Prints the manifest digest. DIR/e2e-image.json records the digests.
      The config says linux and $E2E_IMAGE_ARCH (default amd64).
  verify-dir DIR MANIFEST_DIGEST [LAYOUT_DIR]
      Checks an image pulled with `skopeo copy ... dir:DIR`: every blob's
      sha256 equals its name, manifest.json hashes to MANIFEST_DIGEST, every
      descriptor of the manifest is present with its size, and (given
      LAYOUT_DIR from make-layout) the blobs are exactly the pushed ones.
  sha256 FILE
      Prints sha256:<hex> of FILE.
  throttle-proxy PORT_FILE UPSTREAM_HOST:PORT BYTES_PER_SECOND
      A TCP proxy on 127.0.0.1 (free port, written to PORT_FILE) that limits
      each connection's client-to-server direction to BYTES_PER_SECOND.
      Runs until killed.
"""
import gzip
import hashlib
import io
import json
import os
import socket
import sys
import tarfile
import threading
import time


def sha256_bytes(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def die(msg):
    sys.stderr.write("e2e_helper: " + msg + "\n")
    sys.exit(1)


def write_blob(layout, data):
    digest = sha256_bytes(data)
    path = os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])
    with open(path, "wb") as f:
        f.write(data)
    return digest


def make_layout(layout, tag, sizes):
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for i, size in enumerate(sizes):
        payload = os.urandom(size)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("e2e/layer%d.bin" % i)
            info.size = size
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(payload))
        raw = buf.getvalue()
        diff_ids.append(sha256_bytes(raw))
        gz = gzip.compress(raw, compresslevel=1, mtime=0)
        layers.append({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": write_blob(layout, gz),
            "size": len(gz),
        })
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": os.environ.get("E2E_IMAGE_ARCH", "amd64"),
        "os": "linux",
        "config": {"Labels": {"berth.e2e.nonce": os.urandom(8).hex()}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "berth e2e"}
                    for _ in sizes],
    }
    cfg = json.dumps(config, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": write_blob(layout, cfg),
            "size": len(cfg),
        },
        "layers": layers,
    }
    mbytes = json.dumps(manifest, separators=(",", ":")).encode()
    mdigest = write_blob(layout, mbytes)
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdigest,
            "size": len(mbytes),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    summary = {
        "manifest": mdigest,
        "config": manifest["config"]["digest"],
        "layers": [l["digest"] for l in layers],
        "layer_sizes": [l["size"] for l in layers],
        "blobs": [manifest["config"]["digest"]] + [l["digest"] for l in layers],
    }
    with open(os.path.join(layout, "e2e-image.json"), "w") as f:
        json.dump(summary, f)
    print(mdigest)


def verify_dir(pulled, manifest_digest, layout=None):
    names = sorted(os.listdir(pulled))
    if "manifest.json" not in names:
        die("%s has no manifest.json" % pulled)
    blobs = {}
    for n in names:
        if n in ("manifest.json", "version") or n.startswith("signature"):
            continue
        got = sha256_file(os.path.join(pulled, n))
        want = "sha256:" + n
        if got != want:
            die("pulled blob %s hashes to %s" % (want, got))
        blobs[want] = os.path.getsize(os.path.join(pulled, n))
    with open(os.path.join(pulled, "manifest.json"), "rb") as f:
        mbytes = f.read()
    got = sha256_bytes(mbytes)
    if got != manifest_digest:
        die("pulled manifest hashes to %s, pushed digest was %s" % (got, manifest_digest))
    m = json.loads(mbytes)
    descs = [m["config"]] + m.get("layers", [])
    for d in descs:
        if d["digest"] not in blobs:
            die("blob %s of the manifest was not pulled" % d["digest"])
        if blobs[d["digest"]] != d["size"]:
            die("blob %s is %d bytes, the manifest says %d" %
                (d["digest"], blobs[d["digest"]], d["size"]))
    if len(blobs) != len({d["digest"] for d in descs}):
        die("pulled blobs %s do not match the manifest's %s" %
            (sorted(blobs), sorted(d["digest"] for d in descs)))
    if layout:
        with open(os.path.join(layout, "e2e-image.json")) as f:
            summary = json.load(f)
        if summary["manifest"] != manifest_digest:
            die("layout manifest %s differs from %s" % (summary["manifest"], manifest_digest))
        if sorted(summary["blobs"]) != sorted(blobs):
            die("pulled blobs %s differ from the pushed %s" %
                (sorted(blobs), sorted(summary["blobs"])))
    print("verified %s: manifest %s and %d blobs (%d bytes)" %
          (pulled, manifest_digest, len(blobs), sum(blobs.values())))


def throttle_proxy(port_file, upstream, rate):
    host, port = upstream.rsplit(":", 1)
    rate = float(rate)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(tmp, port_file)

    def pump(src, dst, limit):
        # Token bucket with a small burst, so an idle keep-alive connection
        # cannot save up credit: by any time t after the first byte at most
        # burst + limit * t bytes have gone through.
        burst = 65536.0
        tokens, last = 0.0, time.monotonic()
        try:
            while True:
                data = src.recv(16384 if limit else 262144)
                if not data:
                    break
                if limit:
                    now = time.monotonic()
                    tokens = min(tokens + (now - last) * limit, burst) - len(data)
                    last = now
                    if tokens < 0:
                        time.sleep(-tokens / limit)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(client):
        try:
            up = socket.create_connection((host, int(port)), timeout=30)
            up.settimeout(None)
        except OSError:
            client.close()
            return
        t1 = threading.Thread(target=pump, args=(client, up, rate), daemon=True)
        t2 = threading.Thread(target=pump, args=(up, client, 0), daemon=True)
        t1.start()
        t2.start()
        t1.join()
        t2.join()
        client.close()
        up.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "make-layout" and len(args) >= 3:
        make_layout(args[0], args[1], [int(s) for s in args[2:]])
    elif cmd == "verify-dir" and len(args) in (2, 3):
        verify_dir(*args)
    elif cmd == "sha256" and len(args) == 1:
        print(sha256_file(args[0]))
    elif cmd == "throttle-proxy" and len(args) == 3:
        throttle_proxy(*args)
    else:
        die("bad arguments\n" + __doc__)


if __name__ == "__main__":
    main(sys.argv)
