#!/usr/bin/python3
"""Blobs and blob uploads: /v2/<name>/blobs/<digest> and /v2/<name>/blobs/uploads/."""

import http.client
import os
import re
import select
import socket
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    UUID_RE, RegistryTestCase, location_path, main, sha256, sha512, unique)


class BaseAndHeaders(RegistryTestCase):

    def test_base_endpoint(self):
        for path in ("/v2/", "/v2"):
            r = self.reg.request("GET", path)
            self.assertStatus(r, 200)
            self.assertHeader(r, "Docker-Distribution-API-Version", "registry/2.0")
        r = self.reg.request("HEAD", "/v2/")
        self.assertStatus(r, 200)
        self.assertHeader(r, "Docker-Distribution-API-Version", "registry/2.0")

    def test_request_id_echoed_and_logged(self):
        rid = "proto-" + uuidlib.uuid4().hex
        r = self.reg.request("GET", "/v2/", headers={"X-Request-Id": rid})
        self.assertHeader(r, "X-Request-Id", rid)
        r2 = self.reg.request("GET", "/v2/%s/blobs/%s" % (unique(), sha256(b"nope")),
                              headers={"X-Request-Id": rid + "-2"})
        self.assertError(r2, 404, "BLOB_UNKNOWN")
        self.assertHeader(r2, "X-Request-Id", rid + "-2")
        # One JSON log object per request, carrying the id, path and status.
        logs = self.reg.log_for(rid + "-2", wait=10)
        self.assertEqual(len(logs), 1, logs)
        self.assertEqual(logs[0].get("status"), 404, logs)
        self.assertEqual(logs[0].get("path"), r2.path, logs)

    def test_request_id_outside_v2(self):
        for path in ("/nonexistent", "/v2x/", "/health"):
            r = self.reg.request("GET", path, headers={"X-Request-Id": "outside-1"})
            self.assertHeader(r, "X-Request-Id", "outside-1")
            r = self.reg.request("GET", path)
            self.assertTrue(r.header("X-Request-Id"), r)

    def test_request_id_generated_and_unique(self):
        a = self.reg.request("GET", "/v2/").header("X-Request-Id")
        b = self.reg.request("GET", "/v2/").header("X-Request-Id")
        self.assertTrue(a and b)
        self.assertNotEqual(a, b)


class BlobReads(RegistryTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.repo = unique("blobs")
        cls.data = bytes(range(256)) * 4 + b"tail"  # 1028 bytes
        cls.digest = cls.reg.push_blob(cls.repo, cls.data)

    def get(self, headers=None, method="GET", digest=None, repo=None):
        return self.reg.request(method, "/v2/%s/blobs/%s" % (repo or self.repo,
                                                             digest or self.digest),
                                headers=headers)

    def test_head(self):
        r = self.get(method="HEAD")
        self.assertStatus(r, 200)
        self.assertHeader(r, "Docker-Content-Digest", self.digest)
        self.assertHeader(r, "Content-Length", str(len(self.data)))
        self.assertHeader(r, "Accept-Ranges", "bytes")
        self.assertEqual(r.body, b"")

    def test_get_whole(self):
        r = self.get()
        self.assertStatus(r, 200)
        self.assertEqual(r.body, self.data)
        self.assertHeader(r, "Docker-Content-Digest", self.digest)
        self.assertHeader(r, "Content-Length", str(len(self.data)))
        self.assertHeader(r, "Accept-Ranges", "bytes")

    def test_range_closed(self):
        r = self.get({"Range": "bytes=10-19"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, self.data[10:20])
        self.assertHeader(r, "Content-Range", "bytes 10-19/%d" % len(self.data))
        self.assertHeader(r, "Content-Length", "10")
        self.assertHeader(r, "Docker-Content-Digest", self.digest)

    def test_range_open_ended(self):
        r = self.get({"Range": "bytes=1000-"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, self.data[1000:])
        self.assertHeader(r, "Content-Range", "bytes 1000-1027/1028")

    def test_range_suffix(self):
        r = self.get({"Range": "bytes=-4"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, b"tail")
        self.assertHeader(r, "Content-Range", "bytes 1024-1027/1028")
        # A suffix longer than the blob is the whole blob, still 206.
        r = self.get({"Range": "bytes=-5000"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, self.data)
        self.assertHeader(r, "Content-Range", "bytes 0-1027/1028")

    def test_range_end_clamped(self):
        r = self.get({"Range": "bytes=1020-99999"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, self.data[1020:])
        self.assertHeader(r, "Content-Range", "bytes 1020-1027/1028")

    def test_range_single_byte(self):
        r = self.get({"Range": "bytes=0-0"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, self.data[:1])
        self.assertHeader(r, "Content-Range", "bytes 0-0/1028")

    def test_range_unsatisfiable(self):
        for rng in ("bytes=1028-", "bytes=1028-2000", "bytes=5000-6000"):
            r = self.get({"Range": rng})
            self.assertEqual(r.status, 416, "%s: %r" % (rng, r))
            self.assertHeader(r, "Content-Range", "bytes */1028")

    def test_range_malformed_serves_whole_blob(self):
        for rng in ("bytes=abc", "bytes=5-2", "items=0-1", "bytes=", "bytes=0-1,5-6",
                    "bytes=x-", "garbage"):
            r = self.get({"Range": rng})
            self.assertEqual(r.status, 200, "%s: %r" % (rng, r))
            self.assertEqual(r.body, self.data, rng)
            self.assertIsNone(r.header("Content-Range"), rng)

    def test_unknown_blob(self):
        other = sha256(b"never uploaded")
        for method in ("GET", "HEAD"):
            r = self.get(method=method, digest=other)
            self.assertError(r, 404, "BLOB_UNKNOWN")

    def test_blob_scoped_to_repository(self):
        # Unknown repository.
        r = self.get(repo=unique("elsewhere"))
        self.assertError(r, 404, "BLOB_UNKNOWN")
        # Existing repository that does not hold the blob.
        other = unique("other")
        self.reg.push_blob(other, b"something else")
        for method in ("GET", "HEAD"):
            r = self.get(method=method, repo=other)
            self.assertError(r, 404, "BLOB_UNKNOWN")
        self.assertError(self.reg.request("DELETE", "/v2/%s/blobs/%s" % (other, self.digest)),
                         404, "BLOB_UNKNOWN")
        # Still there in its own repository.
        self.assertStatus(self.get(method="HEAD"), 200)

    def test_empty_blob(self):
        repo = unique("empty")
        d = self.reg.push_blob(repo, b"")
        self.assertEqual(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")
        self.assertHeader(r, "Content-Length", "0")
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d), headers={"Range": "bytes=0-"})
        self.assertEqual(r.status, 416, "%r" % r)
        self.assertHeader(r, "Content-Range", "bytes */0")

    def test_delete_blob(self):
        repo = unique("del")
        d = self.reg.push_blob(repo, b"to be deleted")
        keep = unique("keep")
        self.reg.push_blob(keep, b"to be deleted")
        r = self.reg.request("DELETE", "/v2/%s/blobs/%s" % (repo, d))
        self.assertStatus(r, 202)
        for method in ("GET", "HEAD"):
            self.assertError(self.reg.request(method, "/v2/%s/blobs/%s" % (repo, d)),
                             404, "BLOB_UNKNOWN")
        self.assertError(self.reg.request("DELETE", "/v2/%s/blobs/%s" % (repo, d)),
                         404, "BLOB_UNKNOWN")
        # Deleting from one repository leaves the other repository's link alone.
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (keep, d))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"to be deleted")

    def test_large_blob_ranges(self):
        repo = unique("large")
        data = os.urandom(3 * 1024 * 1024 + 123)
        d = self.reg.push_blob(repo, data)
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, data)
        for a, b in ((1, 2 * 1024 * 1024), (262143, 262144 * 3), (len(data) - 300000,
                                                                  len(data) - 1)):
            r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d),
                                 headers={"Range": "bytes=%d-%d" % (a, b)})
            self.assertStatus(r, 206)
            self.assertHeader(r, "Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))
            self.assertEqual(r.body, data[a:b + 1])

    def test_keep_alive_connection_reuse(self):
        # Several requests, including errors, over one connection.
        conn = self.reg.connect()
        try:
            for _ in range(3):
                r = self.reg.request("GET", "/v2/%s/blobs/%s" % (self.repo, self.digest),
                                     conn=conn)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, self.data)
                r = self.reg.request("GET", "/v2/%s/blobs/%s" % (self.repo, sha256(b"x")),
                                     conn=conn)
                self.assertError(r, 404, "BLOB_UNKNOWN")
        finally:
            conn.close()


class Uploads(RegistryTestCase):

    def assertUploadAccepted(self, r, repo, status, range_end):
        self.assertStatus(r, status)
        loc = location_path(r)
        m = re.fullmatch("/v2/%s/blobs/uploads/(%s)" % (re.escape(repo), UUID_RE), loc)
        self.assertIsNotNone(m, "Location %r: %r" % (loc, r))
        self.assertHeader(r, "Docker-Upload-UUID", m.group(1))
        self.assertHeader(r, "Range", "0-%d" % range_end)
        return loc

    def assertBlob(self, repo, digest, data):
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, digest))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, data)
        self.assertHeader(r, "Docker-Content-Digest", digest)

    def assertCreated(self, r, repo, digest):
        self.assertStatus(r, 201)
        self.assertEqual(location_path(r), "/v2/%s/blobs/%s" % (repo, digest))
        self.assertHeader(r, "Docker-Content-Digest", digest)

    def test_start_upload(self):
        repo = unique("up")
        for path in ("/v2/%s/blobs/uploads/" % repo, "/v2/%s/blobs/uploads" % repo):
            r = self.reg.request("POST", path)
            loc = self.assertUploadAccepted(r, repo, 202, 0)
            st = self.reg.request("GET", loc)
            self.assertUploadAccepted(st, repo, 204, 0)
            self.assertEqual(location_path(st), loc)

    def test_nested_repository_name(self):
        repo = "a-%s/b_c/d.e/f__g/h--i" % unique("ns")
        data = b"nested"
        d = self.reg.push_blob(repo, data)
        self.assertBlob(repo, d, data)
        loc = self.reg.start_upload(repo)
        self.assertTrue(loc.startswith("/v2/%s/blobs/uploads/" % repo), loc)

    def test_monolithic_post(self):
        repo = unique("mono")
        data = os.urandom(100 * 1024)
        d = sha256(data)
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), data,
                             {"Content-Type": "application/octet-stream"})
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)

    def test_monolithic_post_chunked(self):
        repo = unique("monochunked")
        data = os.urandom(300 * 1024)
        d = sha256(data)
        body = (data[i:i + 65536] for i in range(0, len(data), 65536))
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), body,
                             {"Transfer-Encoding": "chunked"})
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)

    def test_expect_100_continue(self):
        repo = unique("expect")
        data = b"sent after 100 Continue" * 100
        d = sha256(data)
        self.reg.ensure_project("/v2/%s/blobs/uploads/" % repo)
        sock = socket.create_connection(("127.0.0.1", self.reg.port), timeout=30)
        try:
            sock.sendall(("POST /v2/%s/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: %s\r\n"
                          "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" %
                          (repo, d, self.reg.auth_header(), len(data))).encode())
            readable, _, _ = select.select([sock], [], [], 10)
            self.assertTrue(readable, "no interim response to Expect: 100-continue")
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                c = sock.recv(1)
                self.assertTrue(c, "connection closed: %r" % interim)
                interim += c
            self.assertTrue(interim.startswith(b"HTTP/1.1 100"), interim)
            sock.sendall(data)
            resp = http.client.HTTPResponse(sock, method="POST")
            resp.begin()
            resp.read()
            self.assertEqual(resp.status, 201)
            self.assertEqual(resp.getheader("Docker-Content-Digest"), d)
        finally:
            sock.close()
        self.assertBlob(repo, d, data)

    def test_monolithic_post_wrong_digest(self):
        repo = unique("mono")
        data = b"monolithic content"
        wrong = sha256(b"something different")
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, wrong), data)
        self.assertError(r, 400, "DIGEST_INVALID")
        for d in (wrong, sha256(data)):
            self.assertError(self.reg.request("HEAD", "/v2/%s/blobs/%s" % (repo, d)), 404, None)

    def test_post_then_put_whole_body(self):
        repo = unique("put")
        data = b"single PUT body" * 100
        d = sha256(data)
        loc = self.reg.start_upload(repo)
        r = self.reg.request("PUT", loc + "?digest=" + d, data,
                             {"Content-Type": "application/octet-stream"})
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)
        # The session is gone after completion.
        self.assertError(self.reg.request("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")

    def test_chunked_upload_with_content_range(self):
        repo = unique("chunks")
        data = os.urandom(300 * 1024 + 17)
        d = sha256(data)
        loc = self.reg.start_upload(repo)
        bounds = [0, 100 * 1024, 250 * 1024, len(data)]
        for a, b in zip(bounds, bounds[1:]):
            r = self.reg.request("PATCH", loc, data[a:b], {
                "Content-Type": "application/octet-stream",
                "Content-Range": "%d-%d" % (a, b - 1)})
            loc2 = self.assertUploadAccepted(r, repo, 202, b - 1)
            self.assertEqual(loc2, loc)
            st = self.reg.request("GET", loc)
            self.assertUploadAccepted(st, repo, 204, b - 1)
        r = self.reg.request("PUT", loc + "?digest=" + d)
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)

    def test_chunk_out_of_order_rejected(self):
        repo = unique("order")
        data = b"0123456789abcdefghij"
        loc = self.reg.start_upload(repo)
        r = self.reg.request("PATCH", loc, data[:10], {"Content-Range": "0-9"})
        self.assertUploadAccepted(r, repo, 202, 9)
        # Overlapping, skipping ahead, and restarting at 0.
        for rng, body in (("5-14", data[5:15]), ("12-19", data[12:]), ("0-9", data[:10])):
            r = self.reg.request("PATCH", loc, body, {"Content-Range": rng})
            self.assertError(r, 416, None)
            self.assertHeader(r, "Range", "0-9")
        st = self.reg.request("GET", loc)
        self.assertUploadAccepted(st, repo, 204, 9)
        r = self.reg.request("PATCH", loc, data[10:], {"Content-Range": "10-19"})
        self.assertUploadAccepted(r, repo, 202, 19)
        r = self.reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertCreated(r, repo, sha256(data))
        self.assertBlob(repo, sha256(data), data)

    def test_chunk_length_mismatch_rejected(self):
        repo = unique("mismatch")
        loc = self.reg.start_upload(repo)
        r = self.reg.request("PATCH", loc, b"12345", {"Content-Range": "0-9"})
        self.assertError(r, 416, None)
        self.assertHeader(r, "Range", "0-0")
        r = self.reg.request("PATCH", loc, b"0123456789", {"Content-Range": "0-4"})
        self.assertError(r, 416, None)
        self.assertHeader(r, "Range", "0-0")
        # Nothing was appended.
        r = self.reg.request("PATCH", loc, b"abc", {"Content-Range": "0-2"})
        self.assertUploadAccepted(r, repo, 202, 2)
        r = self.reg.request("PUT", loc + "?digest=" + sha256(b"abc"))
        self.assertCreated(r, repo, sha256(b"abc"))
        self.assertBlob(repo, sha256(b"abc"), b"abc")

    def test_streamed_patch_appends(self):
        repo = unique("stream")
        parts = [b"first part;", os.urandom(70000), b"third part"]
        data = b"".join(parts)
        loc = self.reg.start_upload(repo)
        # Content-Length, no Content-Range.
        r = self.reg.request("PATCH", loc, parts[0], {"Content-Type": "application/octet-stream"})
        self.assertUploadAccepted(r, repo, 202, len(parts[0]) - 1)
        # Transfer-Encoding: chunked, no Content-Range.
        body = iter([parts[1][:30000], parts[1][30000:]])
        r = self.reg.request("PATCH", loc, body, {"Content-Type": "application/octet-stream",
                                                  "Transfer-Encoding": "chunked"})
        self.assertUploadAccepted(r, repo, 202, len(parts[0]) + len(parts[1]) - 1)
        # Final chunk in the PUT, also chunked.
        r = self.reg.request("PUT", loc + "?digest=" + sha256(data), iter([parts[2]]),
                             {"Transfer-Encoding": "chunked"})
        self.assertCreated(r, repo, sha256(data))
        self.assertBlob(repo, sha256(data), data)

    def test_large_streamed_patch(self):
        # Several MiB, chunked, in pieces that do not line up with any buffer.
        repo = unique("bigstream")
        data = os.urandom(2 * 1024 * 1024 + 4321)
        loc = self.reg.start_upload(repo)
        pieces = (data[i:i + 100003] for i in range(0, len(data), 100003))
        r = self.reg.request("PATCH", loc, pieces, {"Transfer-Encoding": "chunked"})
        self.assertUploadAccepted(r, repo, 202, len(data) - 1)
        r = self.reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertCreated(r, repo, sha256(data))
        self.assertBlob(repo, sha256(data), data)

    def test_resume_after_client_gave_up_mid_chunk(self):
        # The client announces 200 KiB, sends 50 KiB and shuts its side: the
        # request fails (4xx), the upload keeps a prefix and says so in Range,
        # and the client can resume from there.
        repo = unique("gaveup")
        data = os.urandom(200 * 1024)
        loc = self.reg.start_upload(repo)
        r = self.reg.raw_request("PATCH", loc, [("Content-Length", str(len(data))),
                                                ("Content-Range", "0-%d" % (len(data) - 1))],
                                 data[:50 * 1024], half_close=True)
        self.assertIn(r.status, (400, 416), r)
        st = self.reg.request("GET", loc)
        self.assertStatus(st, 204)
        got = int(st.header("Range").split("-")[1]) + 1
        self.assertIn(got, (1, 50 * 1024), st)  # "0-0": nothing kept
        got = 0 if got == 1 else got
        r = self.reg.request("PATCH", loc, data[got:],
                             {"Content-Range": "%d-%d" % (got, len(data) - 1)})
        self.assertUploadAccepted(r, repo, 202, len(data) - 1)
        r = self.reg.request("PUT", loc + "?digest=" + sha256(data))
        self.assertCreated(r, repo, sha256(data))
        self.assertBlob(repo, sha256(data), data)

    def test_put_final_chunk_out_of_order(self):
        repo = unique("finalbad")
        data = b"0123456789"
        loc = self.reg.start_upload(repo)
        self.reg.request("PATCH", loc, data[:5], {"Content-Range": "0-4"})
        r = self.reg.request("PUT", loc + "?digest=" + sha256(data), data[3:],
                             {"Content-Range": "3-9"})
        self.assertError(r, 416, None)
        self.assertHeader(self.reg.request("GET", loc), "Range", "0-4")
        r = self.reg.request("PUT", loc + "?digest=" + sha256(data), data[5:],
                             {"Content-Range": "5-9"})
        self.assertCreated(r, repo, sha256(data))

    def test_put_with_final_chunk_and_range(self):
        repo = unique("final")
        data = b"A" * 1000 + b"B" * 500
        d = sha256(data)
        loc = self.reg.start_upload(repo)
        r = self.reg.request("PATCH", loc, data[:1000], {"Content-Range": "0-999"})
        self.assertUploadAccepted(r, repo, 202, 999)
        r = self.reg.request("PUT", loc + "?digest=" + d, data[1000:],
                             {"Content-Range": "1000-1499",
                              "Content-Type": "application/octet-stream"})
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)

    def test_put_wrong_digest_discards_upload(self):
        repo = unique("baddigest")
        data = b"the real content"
        loc = self.reg.start_upload(repo)
        self.reg.request("PATCH", loc, data)
        wrong = sha256(b"not the content")
        r = self.reg.request("PUT", loc + "?digest=" + wrong)
        self.assertError(r, 400, "DIGEST_INVALID")
        self.assertError(self.reg.request("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.reg.request("PATCH", loc, b"more"), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.reg.request("PUT", loc + "?digest=" + sha256(data)),
                         404, "BLOB_UPLOAD_UNKNOWN")
        for d in (wrong, sha256(data)):
            self.assertError(self.reg.request("HEAD", "/v2/%s/blobs/%s" % (repo, d)), 404, None)
            self.assertError(self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d)),
                             404, "BLOB_UNKNOWN")

    def test_put_without_digest(self):
        repo = unique("nodigest")
        loc = self.reg.start_upload(repo)
        self.reg.request("PATCH", loc, b"xyz")
        r = self.reg.request("PUT", loc)
        self.assertError(r, 400, "DIGEST_INVALID")
        r = self.reg.request("PUT", loc + "?digest=")
        self.assertError(r, 400, "DIGEST_INVALID")
        r = self.reg.request("PUT", loc + "?digest=sha256:1234")
        self.assertError(r, 400, "DIGEST_INVALID")

    def test_cancel_upload(self):
        repo = unique("cancel")
        loc = self.reg.start_upload(repo)
        self.reg.request("PATCH", loc, b"partial")
        r = self.reg.request("DELETE", loc)
        self.assertStatus(r, 204)
        for method, body in (("GET", None), ("PATCH", b"x"), ("DELETE", None)):
            self.assertError(self.reg.request(method, loc, body), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.reg.request("PUT", loc + "?digest=" + sha256(b"partial")),
                         404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.reg.request("HEAD", "/v2/%s/blobs/%s" % (repo, sha256(b"partial"))),
                         404, None)

    def test_unknown_and_malformed_upload_ids(self):
        repo = unique("ids")
        ids = [str(uuidlib.uuid4()), "not-a-uuid", "0" * 36, str(uuidlib.uuid4()).upper(),
               "..", "%2e%2e", "x" * 300]
        for uid in ids:
            loc = "/v2/%s/blobs/uploads/%s" % (repo, uid)
            for method, path, body in (("GET", loc, None), ("PATCH", loc, b"data"),
                                       ("PUT", loc + "?digest=" + sha256(b"data"), b"data"),
                                       ("DELETE", loc, None)):
                r = self.reg.request(method, path, body)
                self.assertError(r, 404, "BLOB_UPLOAD_UNKNOWN")

    def test_upload_id_bound_to_repository(self):
        repo, other = unique("owner"), unique("thief")
        self.reg.push_blob(other, b"other exists")
        loc = self.reg.start_upload(repo)
        uid = loc.rsplit("/", 1)[1]
        self.reg.request("PATCH", loc, b"hello")
        wrong = "/v2/%s/blobs/uploads/%s" % (other, uid)
        for method, path, body in (("GET", wrong, None), ("PATCH", wrong, b" world"),
                                   ("PUT", wrong + "?digest=" + sha256(b"hello"), None),
                                   ("DELETE", wrong, None)):
            self.assertError(self.reg.request(method, path, body), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.reg.request("HEAD", "/v2/%s/blobs/%s" % (other, sha256(b"hello"))),
                         404, None)
        # The session is intact in its own repository.
        st = self.reg.request("GET", loc)
        self.assertUploadAccepted(st, repo, 204, 4)
        r = self.reg.request("PUT", loc + "?digest=" + sha256(b"hello"))
        self.assertCreated(r, repo, sha256(b"hello"))

    def test_sha512_monolithic(self):
        repo = unique("sha512")
        data = os.urandom(5000)
        d = sha512(data)
        self.assertEqual(len(d), len("sha512:") + 128)
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, d), data)
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)
        r = self.reg.request("HEAD", "/v2/%s/blobs/%s" % (repo, d))
        self.assertStatus(r, 200)
        self.assertHeader(r, "Content-Length", "5000")
        # A sha512 digest that does not match.
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, sha512(b"x")),
                             data)
        self.assertError(r, 400, "DIGEST_INVALID")

    def test_sha512_chunked(self):
        repo = unique("sha512c")
        data = os.urandom(9000)
        d = sha512(data)
        loc = self.reg.start_upload(repo)
        r = self.reg.request("PATCH", loc, data[:4000], {"Content-Range": "0-3999"})
        self.assertUploadAccepted(r, repo, 202, 3999)
        r = self.reg.request("PATCH", loc, data[4000:], {"Content-Range": "4000-8999"})
        self.assertUploadAccepted(r, repo, 202, 8999)
        r = self.reg.request("PUT", loc + "?digest=" + d)
        self.assertCreated(r, repo, d)
        self.assertBlob(repo, d, data)
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (repo, d), headers={"Range": "bytes=-10"})
        self.assertStatus(r, 206)
        self.assertEqual(r.body, data[-10:])

    def test_cross_repository_mount(self):
        src, dst = unique("src"), unique("dst")
        data = b"mount me" * 50
        d = self.reg.push_blob(src, data)
        r = self.reg.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (dst, d, src))
        self.assertCreated(r, dst, d)
        self.assertBlob(dst, d, data)
        r = self.reg.request("HEAD", "/v2/%s/blobs/%s" % (dst, d))
        self.assertHeader(r, "Content-Length", str(len(data)))
        # The source keeps it.
        self.assertBlob(src, d, data)

    def test_mount_falls_back_to_upload(self):
        src, dst = unique("src"), unique("dst")
        self.reg.push_blob(src, b"source has something")
        missing = b"source does not have this"
        d = sha256(missing)
        for from_repo in (src, unique("nosuchrepo")):
            r = self.reg.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" %
                                 (dst, d, from_repo))
            loc = self.assertUploadAccepted(r, dst, 202, 0)
            self.assertError(self.reg.request("HEAD", "/v2/%s/blobs/%s" % (dst, d)), 404, None)
            # The session is a working upload.
            r = self.reg.request("PUT", loc + "?digest=" + d, missing)
            self.assertCreated(r, dst, d)
            self.assertBlob(dst, d, missing)
            self.reg.request("DELETE", "/v2/%s/blobs/%s" % (dst, d))


if __name__ == "__main__":
    main()
