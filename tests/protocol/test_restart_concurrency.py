#!/usr/bin/python3
"""Restarts (SIGTERM and SIGKILL on the same data directory) and concurrent
clients."""

import json
import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Registry, RegistryTestCase, descriptor, dumps,
    location_path, main, sha256, sha512, unique)


class Restart(unittest.TestCase):
    """Each test owns a berthd it stops and restarts."""

    def setUp(self):
        self.reg = Registry().start()

    def tearDown(self):
        self.reg.cleanup()

    def upload_across_restart(self, sig):
        reg = self.reg
        repo = unique("resume")
        data = os.urandom(200 * 1024 + 3)
        first = 128 * 1024
        loc = reg.start_upload(repo)
        r = reg.request("PATCH", loc, data[:first], {"Content-Range": "0-%d" % (first - 1),
                                                     "Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-%d" % (first - 1))
        rc = reg.restart(sig)
        if sig == signal.SIGTERM:
            self.assertEqual(rc, 0, "berthd exit code after SIGTERM:\n" + reg.stderr_tail())
        else:
            self.assertEqual(rc, -signal.SIGKILL)
        st = reg.request("GET", loc)
        self.assertEqual(st.status, 204, st)
        self.assertEqual(st.header("Range"), "0-%d" % (first - 1), st)
        self.assertEqual(location_path(st), loc)
        self.assertEqual(st.header("Docker-Upload-UUID"), loc.rsplit("/", 1)[1])
        r = reg.request("PATCH", loc, data[first:], {
            "Content-Range": "%d-%d" % (first, len(data) - 1),
            "Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.header("Range"), "0-%d" % (len(data) - 1))
        r = reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Docker-Content-Digest"), sha256(data))
        g = reg.request("GET", "/v2/%s/blobs/%s" % (repo, sha256(data)))
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.body, data)

    def test_upload_survives_sigterm(self):
        self.upload_across_restart(signal.SIGTERM)

    def test_upload_survives_sigkill(self):
        self.upload_across_restart(signal.SIGKILL)

    def test_wrong_digest_after_restart(self):
        reg = self.reg
        repo = unique("resumebad")
        loc = reg.start_upload(repo)
        reg.request("PATCH", loc, b"before restart")
        reg.restart(signal.SIGKILL)
        r = reg.request("PUT", loc + "?digest=" + sha256(b"something else"), b" and after")
        self.assertEqual(r.status, 400, r)
        self.assertIn("DIGEST_INVALID", r.error_codes())
        r = reg.request("GET", loc)
        self.assertEqual(r.status, 404, r)
        self.assertIn("BLOB_UPLOAD_UNKNOWN", r.error_codes())

    def test_sha512_upload_across_restart(self):
        reg = self.reg
        repo = unique("resume512")
        data = os.urandom(10000)
        loc = reg.start_upload(repo)
        reg.request("PATCH", loc, data[:6000], {"Content-Range": "0-5999"})
        reg.restart(signal.SIGTERM)
        reg.request("PATCH", loc, data[6000:], {"Content-Range": "6000-9999"})
        r = reg.request("PUT", loc + "?digest=" + sha512(data))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(reg.request("GET", "/v2/%s/blobs/%s" % (repo, sha512(data))).body, data)

    def test_crash_during_streamed_patch(self):
        # SIGKILL while a PATCH body is arriving: afterwards the upload holds
        # a prefix of what was sent, says how much in Range, and resumes.
        reg = self.reg
        repo = unique("midcrash")
        data = os.urandom(600 * 1024)
        loc = reg.start_upload(repo)
        r = reg.request("PATCH", loc, data[:10], {"Content-Range": "0-9"})
        self.assertEqual(r.status, 202, r)
        sock = socket.create_connection(("127.0.0.1", reg.port), timeout=30)
        try:
            sock.sendall(("PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                          "Content-Length: %d\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n" %
                          (loc, reg.auth_header(), len(data) - 10)).encode() + data[10:300 * 1024])
            time.sleep(0.5)
            reg.restart(signal.SIGKILL)
        finally:
            sock.close()
        st = reg.request("GET", loc)
        self.assertEqual(st.status, 204, st)
        end = int(st.header("Range").split("-")[1])
        self.assertGreaterEqual(end, 9)
        self.assertLess(end, 300 * 1024)
        r = reg.request("PATCH", loc, data[end + 1:],
                        {"Content-Range": "%d-%d" % (end + 1, len(data) - 1)})
        self.assertEqual(r.status, 202, r)
        r = reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(reg.request("GET", "/v2/%s/blobs/%s" % (repo, sha256(data))).body, data)

    def test_content_survives_restarts(self):
        reg = self.reg
        repo = unique("persist")
        body, d = reg.push_image(repo, tag="v1")
        blob = reg.push_blob(repo, b"a loose blob")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            reg.restart(sig)
            r = reg.request("GET", "/v2/%s/manifests/v1" % repo)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, body)
            self.assertEqual(r.header("Docker-Content-Digest"), d)
            self.assertEqual(r.header("Content-Type"), OCI_MANIFEST)
            self.assertEqual(reg.request("GET", "/v2/%s/blobs/%s" % (repo, blob)).body,
                             b"a loose blob")
            self.assertEqual(reg.request("GET", "/v2/%s/tags/list" % repo).json()["tags"], ["v1"])
            self.assertIn(repo, reg.request("GET", "/v2/_catalog").json()["repositories"])
        # A cancelled upload stays cancelled across a restart.
        loc = reg.start_upload(repo)
        self.assertEqual(reg.request("DELETE", loc).status, 204)
        reg.restart(signal.SIGKILL)
        r = reg.request("GET", loc)
        self.assertEqual(r.status, 404, r)

    def test_sigterm_lets_inflight_request_finish(self):
        reg = self.reg
        repo = unique("graceful")
        loc = reg.start_upload(repo)
        data = os.urandom(64 * 1024)
        sock = socket.create_connection(("127.0.0.1", reg.port), timeout=30)
        try:
            head = ("PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                    "Content-Length: %d\r\n"
                    "Content-Range: 0-%d\r\nContent-Type: application/octet-stream\r\n\r\n" %
                    (loc, reg.auth_header(), len(data), len(data) - 1))
            sock.sendall(head.encode() + data[:1000])
            time.sleep(0.3)
            reg.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(reg.proc.poll(), "berthd quit with a request in flight")
            sock.sendall(data[1000:])
            import http.client
            resp = http.client.HTTPResponse(sock, method="PATCH")
            resp.begin()
            resp.read()
            self.assertEqual(resp.status, 202)
            self.assertEqual(resp.getheader("Range"), "0-%d" % (len(data) - 1))
        finally:
            sock.close()
        rc = reg.stop(signal.SIGTERM, timeout=20)
        self.assertEqual(rc, 0, reg.stderr_tail())
        reg.start()
        r = reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertEqual(r.status, 201, r)


def run_threads(n, fn):
    """Runs fn(i) in n threads released together; returns results or raises."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except BaseException as e:  # noqa: B902 - reported below
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise AssertionError("%d of %d threads failed; first: %r" % (len(errors), n, errors[0]))
    return results


class Concurrency(RegistryTestCase):

    def test_concurrent_pushes_to_one_tag(self):
        reg = self.reg
        repo = unique("race")
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        layer = b"shared layer" * 100
        reg.push_blob(repo, config)
        reg.push_blob(repo, layer)
        bodies = [dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                         "config": descriptor(OCI_CONFIG, config),
                         "layers": [descriptor(OCI_LAYER, layer)],
                         "annotations": {"writer": str(i)}}) for i in range(20)]
        digests = [sha256(b) for b in bodies]
        self.assertEqual(len(set(digests)), 20)

        results = run_threads(20, lambda i: reg.put_manifest(repo, "contested", bodies[i],
                                                             OCI_MANIFEST))
        for i, r in enumerate(results):
            self.assertEqual(r.status, 201, "writer %d: %r" % (i, r))
            self.assertEqual(r.header("Docker-Content-Digest"), digests[i])
        r = reg.request("GET", "/v2/%s/manifests/contested" % repo)
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.body, bodies)
        winner = r.header("Docker-Content-Digest")
        self.assertEqual(winner, sha256(r.body))
        g = reg.request("GET", "/v2/%s/manifests/%s" % (repo, winner))
        self.assertEqual(g.status, 200, g)
        self.assertEqual(g.body, r.body)
        # Every writer's manifest exists by digest; the tag exists once.
        for b, d in zip(bodies, digests):
            self.assertEqual(reg.request("GET", "/v2/%s/manifests/%s" % (repo, d)).body, b)
        self.assertEqual(reg.request("GET", "/v2/%s/tags/list" % repo).json()["tags"],
                         ["contested"])

    def test_concurrent_tags_in_one_repository(self):
        reg = self.reg
        repo = unique("manytags")
        body, d = reg.push_image(repo)
        results = run_threads(20, lambda i: reg.put_manifest(repo, "t%02d" % i, body,
                                                             OCI_MANIFEST))
        for r in results:
            self.assertEqual(r.status, 201, r)
        tags = reg.request("GET", "/v2/%s/tags/list" % repo).json()["tags"]
        self.assertEqual(tags, ["t%02d" % i for i in range(20)])

    def test_concurrent_uploads_of_one_blob(self):
        reg = self.reg
        data = os.urandom(256 * 1024)
        d = sha256(data)
        repos = [unique("same%02d" % i) for i in range(10)]

        def push(i):
            return reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repos[i % 10], d),
                               data, {"Content-Type": "application/octet-stream"})

        # 10 repositories, two uploads to each, all at once.
        for i, r in enumerate(run_threads(20, push)):
            self.assertEqual(r.status, 201, "upload %d: %r" % (i, r))
            self.assertEqual(r.header("Docker-Content-Digest"), d)
        for repo in repos:
            g = reg.request("GET", "/v2/%s/blobs/%s" % (repo, d))
            self.assertEqual(g.status, 200, g)
            self.assertEqual(g.body, data)

    def test_concurrent_chunked_uploads(self):
        reg = self.reg
        repo = unique("parallel")
        blobs = [os.urandom(50 * 1024 + i) for i in range(8)]

        def upload(i):
            data = blobs[i]
            loc = reg.start_upload(repo)
            for a in range(0, len(data), 16 * 1024):
                chunk = data[a:a + 16 * 1024]
                r = reg.request("PATCH", loc, chunk,
                                {"Content-Range": "%d-%d" % (a, a + len(chunk) - 1)})
                if r.status != 202:
                    return r
            return reg.request("PUT", loc + "?digest=" + sha256(data))

        for i, r in enumerate(run_threads(8, upload)):
            self.assertEqual(r.status, 201, "upload %d: %r" % (i, r))
        for data in blobs:
            self.assertEqual(reg.request("GET", "/v2/%s/blobs/%s" % (repo, sha256(data))).body,
                             data)

    def test_racing_chunks_on_one_session(self):
        # The same first chunk sent five times at once: exactly one lands.
        reg = self.reg
        repo = unique("samechunk")
        data = os.urandom(100000)
        loc = reg.start_upload(repo)
        results = run_threads(5, lambda i: reg.request(
            "PATCH", loc, data, {"Content-Range": "0-%d" % (len(data) - 1)}))
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [202, 416, 416, 416, 416], results)
        for r in results:
            self.assertEqual(r.header("Range"), "0-%d" % (len(data) - 1), r)
        r = reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertEqual(r.status, 201, r)

    def test_reads_during_writes(self):
        reg = self.reg
        repo = unique("rw")
        body, d = reg.push_image(repo, tag="stable")

        def work(i):
            if i % 2 == 0:
                r = reg.request("GET", "/v2/%s/manifests/stable" % repo)
                return r.status == 200 and r.body == body
            _, d2 = reg.push_image(repo, tag="moving")
            return reg.request("HEAD", "/v2/%s/manifests/%s" % (repo, d2)).status == 200

        self.assertEqual(run_threads(16, work), [True] * 16)


if __name__ == "__main__":
    main()
