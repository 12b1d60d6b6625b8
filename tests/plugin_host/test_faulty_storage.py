"""A misbehaving storage plugin seen through HTTP.

berthd runs on the "faulty" fixture provider (storage-fs whose reads fail as
<root>/fault says: "error" returns an I/O error, "throw" throws a C++
exception inside the plugin, "slow" sleeps 1500 ms, past the 500 ms
storage.call_timeout_ms). For each fault a blob GET (OpenReader: the
provider has no file descriptors) and a cold manifest GET (GetContent) must
end in a clean 5xx JSON error that hides the cause, the access-log line of
that request must carry the cause, and berthd must keep serving: with the
fault removed the same requests succeed and /health is 200.
"""

import json
import os
import sys
import threading
import time
import uuid as uuidlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))
import berth_harness as h  # noqa: E402  (path set above)

CALL_TIMEOUT_MS = 500

# mode -> (HTTP status, fragments of the access log's "error" field)
FAULTS = {
    "error": (500, ["storage plugin 'faulty'", "injected storage failure"]),
    "throw": (500, ["storage plugin 'faulty'", "plugin threw",
                    "injected exception from the faulty plugin"]),
    "slow": (504, ["storage plugin 'faulty' missed the deadline"]),
}

GENERIC_ERROR = {"errors": [{"code": "UNKNOWN", "message": "internal server error"}]}


class FaultyStorage(h.ServerTestCase):

    def setUp(self):
        self.store = os.path.join(self.tmpdir(), "store")
        self.cfg = {"storage": {"driver": "faulty", "config": {"root": self.store},
                                "call_timeout_ms": CALL_TIMEOUT_MS},
                    "plugins": {"dirs": [h.fixture_dir("faulty")]}}

    def set_fault(self, mode):
        path = os.path.join(self.store, "fault")
        if mode is None:
            os.unlink(path)
        else:
            with open(path, "w") as f:
                f.write(mode + "\n")

    def assertCleanFailure(self, b, method, path, mode):
        want_status, causes = FAULTS[mode]
        t0 = time.monotonic()
        rid = "ph-" + uuidlib.uuid4().hex
        r = b.request(method, path, headers={"X-Request-Id": rid}, check=False)
        st, body = r.status, r.body
        took = time.monotonic() - t0
        ctx = "%s %s under fault %r -> %d %r" % (method, path, mode, st, body)
        self.assertEqual(st, want_status, ctx)
        self.assertEqual((r.header("Content-Type") or "").split(";")[0], "application/json", ctx)
        self.assertEqual(r.header("X-Request-Id"), rid, ctx)
        # The body says nothing about the cause ...
        self.assertEqual(json.loads(body), GENERIC_ERROR, ctx)
        for c in causes:
            self.assertNotIn(c, body.decode(), ctx)
        # ... the access log does.
        line = b.access_log(rid)
        self.assertEqual(line["status"], want_status, line)
        self.assertEqual(line["method"], method, line)
        self.assertEqual(line["path"], path, line)
        for c in causes:
            self.assertIn(c, line.get("error", ""), line)
        if mode == "slow":
            # The host waited for the plugin (it cannot abandon a C call),
            # then refused its late result.
            self.assertGreaterEqual(took, 1.4, ctx)
        return line

    def test_faults_are_contained(self):
        b = self.start_berthd(self.cfg)
        repo = "library/faulty"
        blob = os.urandom(3000)
        digest = b.push_blob(repo, blob)
        manifest, mdigest = b.push_image(repo, tag="v1", layers=0)
        blob_path = "/v2/%s/blobs/%s" % (repo, digest)
        manifest_path = "/v2/%s/manifests/%s" % (repo, mdigest)

        r = b.request("GET", blob_path, check=False)
        st, body = r.status, r.body
        self.assertEqual((st, body), (200, blob))

        for mode in FAULTS:
            with self.subTest(mode=mode):
                self.set_fault(mode)
                self.assertCleanFailure(b, "GET", blob_path, mode)
                # The plugin's failure is also logged as such.
                b.wait_log(lambda r: r.get("msg") == "storage plugin call failed" and
                           r.get("operation") == "reader_open" and
                           FAULTS[mode][1][-1] in r.get("error", ""))
                self.set_fault(None)
                r = b.request("GET", blob_path, check=False)
                st, body = r.status, r.body
                self.assertEqual(st, 200)
                self.assertEqual(body, blob)
                r = b.request("GET", "/health", check=False)
                st, body = r.status, r.body
                self.assertEqual(st, 200, body)
                self.assertTrue(b.alive())

        # Manifests are cached once written or read; a restart empties the
        # cache, so the manifest GET after it reads storage (GetContent).
        for mode in FAULTS:
            with self.subTest(mode=mode, what="manifest"):
                self.assertEqual(b.stop(), 0)
                b.start()
                self.set_fault(mode)
                self.assertCleanFailure(b, "GET", manifest_path, mode)
                self.set_fault(None)
                r = b.request("GET", manifest_path, headers={"Accept": h.OCI_MANIFEST},
                              check=False)
                st, body = r.status, r.body
                self.assertEqual(st, 200, body)
                self.assertEqual(body, manifest)
        # Once read, the manifest is cached: a fault no longer reaches it,
        # while blobs still fail cleanly.
        self.set_fault("error")
        r = b.request("GET", manifest_path, headers={"Accept": h.OCI_MANIFEST}, check=False)
        st, body = r.status, r.body
        self.assertEqual((st, body), (200, manifest))
        self.assertCleanFailure(b, "GET", blob_path, "error")
        self.set_fault(None)
        st = b.request("GET", "/health", check=False).status
        self.assertEqual(st, 200)

    def test_concurrent_requests_during_a_slow_call(self):
        # One request stuck in a slow plugin call does not block the others.
        b = self.start_berthd(self.cfg)
        repo = "library/slow"
        digest = b.push_blob(repo, b"x" * 1024)
        self.set_fault("slow")
        result = {}

        def slow_get():
            result["r"] = b.request("GET", "/v2/%s/blobs/%s" % (repo, digest), check=False)
        t = threading.Thread(target=slow_get)
        t.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        st = b.request("GET", "/health", check=False).status  # Stat("/"): not a faulty read
        self.assertEqual(st, 200)
        # Metadata only:
        st = b.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest), check=False).status
        self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 1.0)
        t.join(10)
        self.assertEqual(result["r"].status, 504)
        self.set_fault(None)


if __name__ == "__main__":
    h.main()
