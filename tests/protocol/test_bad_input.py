#!/usr/bin/python3
"""Bad input: invalid repository names, digests, tags, ranges, bodies and
methods. Every refusal must be a 4xx with a spec error body (the harness
fails on any 5xx), and invalid names must not write anything to disk."""

import json
import os
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, RegistryTestCase, descriptor, dumps, main, sha256,
    unique)

D = sha256(b"some blob")

INVALID_NAMES = [
    "../x", "a/../b", "a/..", "..", ".", "./a", "Library/x", "UPPER", "a//b", "a/b/", "/a",
    "a" * 256, "a..b", "a___b", "a_-b", "-a", "a-", "_a", "a.", "a/.b", "a%20b",
    "%2e%2e/x", "%2e%2e%2fx", "x/%2e%2e/%2e%2e/y", "%2E%2E/x", "a%00b", "a%5cb", "a\\b",
    "a:b", "a@b", "a%2f%2fb", "%252e%252e/x", "%C3%A9t%C3%A9", "a%0d%0ab",
]

BAD_DIGESTS = [
    "sha256:abc", "sha256:" + "A" * 64, "sha256:" + "g" * 64, "sha256:" + "0" * 63,
    "sha256:" + "0" * 65, "sha512:" + "0" * 64, "md5:" + "0" * 32, "notadigest", "sha256",
    "sha256:", ":" + "0" * 64, "SHA256:" + "0" * 64, "sha256:%s" % ("0" * 63 + "%00"),
]


class InvalidNames(RegistryTestCase):

    def requests_for(self, name):
        """Every kind of /v2 request, addressed to repository `name`."""
        manifest = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "config": descriptor(OCI_CONFIG, b"{}"), "layers": []})
        u = str(uuidlib.uuid4())
        return [
            ("GET", "/v2/%s/tags/list" % name, None, {}),
            ("GET", "/v2/%s/manifests/latest" % name, None, {}),
            ("HEAD", "/v2/%s/manifests/latest" % name, None, {}),
            ("PUT", "/v2/%s/manifests/latest" % name, manifest, {"Content-Type": OCI_MANIFEST}),
            ("PUT", "/v2/%s/manifests/%s" % (name, sha256(manifest)), manifest,
             {"Content-Type": OCI_MANIFEST}),
            ("DELETE", "/v2/%s/manifests/latest" % name, None, {}),
            ("GET", "/v2/%s/blobs/%s" % (name, D), None, {}),
            ("HEAD", "/v2/%s/blobs/%s" % (name, D), None, {}),
            ("DELETE", "/v2/%s/blobs/%s" % (name, D), None, {}),
            ("POST", "/v2/%s/blobs/uploads/" % name, None, {}),
            ("POST", "/v2/%s/blobs/uploads/?digest=%s" % (name, D), b"some blob", {}),
            ("POST", "/v2/%s/blobs/uploads/?mount=%s&from=library/ok" % (name, D), None, {}),
            ("GET", "/v2/%s/blobs/uploads/%s" % (name, u), None, {}),
            ("PATCH", "/v2/%s/blobs/uploads/%s" % (name, u), b"data", {}),
            ("PUT", "/v2/%s/blobs/uploads/%s?digest=%s" % (name, u, D), b"some blob", {}),
            ("DELETE", "/v2/%s/blobs/uploads/%s" % (name, u), None, {}),
            ("GET", "/v2/%s/referrers/%s" % (name, D), None, {}),
        ]

    def test_invalid_names_refused_and_nothing_written(self):
        # The registry holds something, so the data directory has its layout.
        self.reg.push_image("library/ok", tag="latest")
        before = self.reg.data_tree()
        root_before = set(os.listdir(self.reg.root))
        for name in INVALID_NAMES:
            for method, path, body, headers in self.requests_for(name):
                r = self.reg.request(method, path, body, headers)
                # 400 NAME_INVALID; a 404 only as "not a /v2 route" (NAME_UNKNOWN), never
                # as an answer about blobs, uploads or manifests of that name.
                if r.status == 404:
                    if method != "HEAD":
                        self.assertEqual(r.error_codes(), ["NAME_UNKNOWN"], r)
                    continue
                self.assertError(r, 400, "NAME_INVALID")
        self.assertTrue(self.reg.alive())
        self.assertEqual(self.reg.data_tree() - before, set(),
                         "invalid names wrote to the data directory")
        top = set(os.listdir(self.reg.data_dir))
        self.assertLessEqual(top, {"storage", "berth.db", "berth.db-wal", "berth.db-shm",
                                   "berth.db-journal", "token", "secret.key"}, top)
        self.assertEqual(set(os.listdir(self.reg.root)), root_before)
        # No repository was created by any of them.
        cat = self.reg.request("GET", "/v2/_catalog").json()["repositories"]
        self.assertEqual(cat, ["library/ok"])

    def test_name_validated_on_common_routes(self):
        # The well-formed subset must be refused as NAME_INVALID, not 404.
        for name in ("../x", "a/../b", "Library/x", "a//b", "a/b/", "a" * 256, "a..b",
                     "a___b", "%2e%2e/x", "%2e%2e%2f%2e%2e%2fetc"):
            for method, path in (("GET", "/v2/%s/tags/list" % name),
                                 ("POST", "/v2/%s/blobs/uploads/" % name),
                                 ("GET", "/v2/%s/manifests/latest" % name),
                                 ("GET", "/v2/%s/blobs/%s" % (name, D))):
                r = self.reg.request(method, path)
                self.assertError(r, 400, "NAME_INVALID")

    def test_mount_from_invalid_name(self):
        for src in ("../x", "Library/x", "a//b", "%2e%2e"):
            r = self.reg.request("POST", "/v2/library/ok/blobs/uploads/?mount=%s&from=%s" %
                                 (D, src))
            if r.status == 202:  # a mount that cannot be served may fall back to an upload
                self.reg.request("DELETE", r.header("Location"))
                continue
            self.assertError(r, 400, "NAME_INVALID")

    def test_longest_valid_name_and_components(self):
        long_name = "/".join(["a" * 63] * 3 + ["b" * 63])  # 255 characters
        self.assertEqual(len(long_name), 255)
        # "__" and "---" are valid in repository names but not in project
        # names (the first component), as in Harbor.
        for name in (long_name, "a", "0", "a.b", "a_b", "library/a__b", "a-b", "library/a---b",
                     "a/b/c/d/e", "blobs/uploads", "x/manifests", "tags/list", "v2", "x/blobs"):
            body, d = self.reg.push_image(name, tag="t")
            r = self.reg.request("GET", "/v2/%s/manifests/t" % name)
            self.assertStatus(r, 200)
            self.assertEqual(r.body, body)
            self.assertEqual(self.reg.request("GET", "/v2/%s/tags/list" % name).json(),
                             {"name": name, "tags": ["t"]})
            loc = self.reg.start_upload(name)
            self.assertStatus(self.reg.request("GET", loc), 204)
            self.assertStatus(self.reg.request("DELETE", loc), 204)


class InvalidDigestsAndTags(RegistryTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.repo = unique("bad")
        cls.body, cls.digest = cls.reg.push_image(cls.repo, tag="good")

    def test_invalid_digest_in_blob_paths(self):
        for bad in BAD_DIGESTS:
            for method in ("GET", "HEAD", "DELETE"):
                r = self.reg.request(method, "/v2/%s/blobs/%s" % (self.repo, bad))
                if r.status == 404:  # "sha256:" + "%00"... may not parse as a route
                    continue
                self.assertError(r, 400, "DIGEST_INVALID")

    def test_invalid_digest_in_manifest_paths(self):
        for bad in BAD_DIGESTS:
            if ":" not in bad:
                continue  # a tag-shaped reference, not a digest
            for method in ("GET", "HEAD", "DELETE"):
                r = self.reg.request(method, "/v2/%s/manifests/%s" % (self.repo, bad))
                self.assertError(r, 400, "DIGEST_INVALID")
            r = self.reg.put_manifest(self.repo, bad, self.body, OCI_MANIFEST)
            self.assertError(r, 400, "DIGEST_INVALID")

    def test_invalid_digest_in_upload_queries(self):
        for bad in BAD_DIGESTS:
            q = bad.replace("%", "%25")
            r = self.reg.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo, q),
                                 b"some blob")
            self.assertError(r, 400, "DIGEST_INVALID")
            r = self.reg.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" %
                                 (self.repo, q, self.repo))
            self.assertError(r, 400, "DIGEST_INVALID")
            loc = self.reg.start_upload(self.repo)
            r = self.reg.request("PUT", loc + "?digest=" + q, b"some blob")
            self.assertError(r, 400, "DIGEST_INVALID")
            self.reg.request("DELETE", loc)

    def test_invalid_tags_on_put(self):
        for tag in (".bad", "-bad", "a" * 129, "bad!", "bad%20tag", "bad%3Atag", "%2e%2e",
                    "t%00", "bad+tag", "b%C3%A4d", "bad~1"):
            r = self.reg.put_manifest(self.repo, tag, self.body, OCI_MANIFEST)
            if "%3A" in tag:  # decodes to "bad:tag", which reads as a digest
                self.assertError(r, 400, ("TAG_INVALID", "DIGEST_INVALID"))
            else:
                self.assertError(r, 400, "TAG_INVALID")
            r = self.reg.request("GET", "/v2/%s/manifests/%s" % (self.repo, tag))
            self.assertIn(r.status, (400, 404), r)
        tags = self.reg.request("GET", "/v2/%s/tags/list" % self.repo).json()["tags"]
        self.assertEqual(tags, ["good"])

    def test_longest_valid_tag(self):
        for tag in ("a" * 128, "_", "A.B-c_d", "0"):
            r = self.reg.put_manifest(self.repo, tag, self.body, OCI_MANIFEST)
            self.assertStatus(r, 201)
            self.assertEqual(self.reg.request("GET", "/v2/%s/manifests/%s" %
                                              (self.repo, tag)).body, self.body)
            self.assertStatus(self.reg.request("DELETE", "/v2/%s/manifests/%s" %
                                               (self.repo, tag)), 202)


class BadRequests(RegistryTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.repo = unique("garbage")
        cls.data = b"0123456789" * 10
        cls.digest = cls.reg.push_blob(cls.repo, cls.data)

    def test_methods_not_allowed(self):
        u = str(uuidlib.uuid4())
        for method, path in (("POST", "/v2/%s/tags/list" % self.repo),
                             ("DELETE", "/v2/%s/tags/list" % self.repo),
                             ("PUT", "/v2/%s/blobs/%s" % (self.repo, self.digest)),
                             ("POST", "/v2/%s/blobs/%s" % (self.repo, self.digest)),
                             ("PATCH", "/v2/%s/manifests/x" % self.repo),
                             ("POST", "/v2/%s/manifests/x" % self.repo),
                             ("GET", "/v2/%s/blobs/uploads/" % self.repo),
                             ("PUT", "/v2/%s/blobs/uploads/" % self.repo),
                             ("POST", "/v2/%s/blobs/uploads/%s" % (self.repo, u)),
                             ("POST", "/v2/_catalog"), ("DELETE", "/v2/"),
                             ("PUT", "/v2/%s/referrers/%s" % (self.repo, self.digest))):
            r = self.reg.request(method, path, b"" if method in ("POST", "PUT", "PATCH")
                                 else None)
            self.assertError(r, 405, "UNSUPPORTED")

    def test_unroutable_paths(self):
        for path in ("/v2/%s" % self.repo, "/v2/%s/" % self.repo, "/v2/%s/unknown/x" % self.repo,
                     "/v2/%s/blobs/" % self.repo, "/v2/%s/manifests/" % self.repo,
                     "/v2/%s/blobs/uploads/%s/extra" % (self.repo, uuidlib.uuid4()),
                     "/v2/%s/tags" % self.repo, "/v2/_catalog/x", "/v2//tags/list"):
            r = self.reg.request("GET", path)
            self.assertIn(r.status, (400, 404), r)

    def test_raw_bytes_in_path(self):
        # Bytes http.client refuses to send: non-ASCII, dot segments.
        for path in (b"/v2/\xc3\xa9t\xc3\xa9/tags/list",
                     b"/v2/x/manifests/\xff", b"/v2/x/blobs/sha256:\xff",
                     b"/v2/../../../../etc/passwd", b"/v2/x/tags/list?n=\xff"):
            r = self.reg.raw_request("GET", path.decode("latin-1"), [])
            self.assertIn(r.status, (400, 404), r)
        # A space splits the request line: not HTTP at all, refused by the
        # HTTP layer before berthd sees it (so no /v2 headers to check).
        r = self.reg.raw_request("GET", "/v2/a b/tags/list", [], check=False)
        self.assertEqual(r.status, 400, r)
        self.assertTrue(self.reg.alive())

    def test_undecodable_percent_escape(self):
        # Still a /v2 response: spec error code and the API version header.
        for path in ("/v2/foo%zz/tags/list", "/v2/foo%/manifests/latest",
                     "/v2/%s/blobs/sha256:%%g0" % self.repo):
            r = self.reg.request("GET", path)
            self.assertIn(r.status, (400, 404), r)

    def test_bad_content_range_on_patch(self):
        for cr, ok_codes in (("abc", (400, 416)), ("5", (400, 416)), ("-5", (400, 416)),
                             ("10-5", (400, 416)), ("0-99999999999999999999", (400, 416)),
                             ("9223372036854775806-9223372036854775806", (416,)),
                             ("bytes 0-3/4", (202,)), ("-1-3", (400, 416))):
            loc = self.reg.start_upload(self.repo)
            r = self.reg.request("PATCH", loc, b"abcd", {"Content-Range": cr})
            if ok_codes == (202,):
                self.assertStatus(r, 202)
                self.assertHeader(r, "Range", "0-3")
            else:
                self.assertError(r, ok_codes, ("BLOB_UPLOAD_INVALID", "RANGE_INVALID",
                                               "SIZE_INVALID"))
                # Nothing was appended.
                self.assertHeader(self.reg.request("GET", loc), "Range", "0-0")
            self.reg.request("DELETE", loc)

    def test_odd_range_headers_on_blob_get(self):
        path = "/v2/%s/blobs/%s" % (self.repo, self.digest)
        for rng in ("bytes=99999999999999999999-", "bytes=0-99999999999999999999",
                    "bytes=-99999999999999999999", "bytes=--1", "bytes=-", "bytes= 1-2",
                    "bytes=1-2-3", "bytes=\u00ff", "bytes=0-0,-1",
                    "BYTES=0-1"):
            r = self.reg.request("GET", path, headers={"Range": rng})
            self.assertIn(r.status, (200, 206, 416), "%s: %r" % (rng, r))
            if r.status == 200:
                self.assertEqual(r.body, self.data)
            if r.status == 206:
                self.assertTrue(r.header("Content-Range").startswith("bytes "), r)

    def test_truncated_monolithic_upload(self):
        data = b"x" * 1000
        r = self.reg.raw_request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (self.repo,
                                                                              sha256(data)),
                                 [("Content-Length", str(len(data)))], data[:300],
                                 half_close=True)
        self.assertIn(r.status, (400,), r)
        for method in ("HEAD", "GET"):
            self.assertError(self.reg.request(method, "/v2/%s/blobs/%s" % (self.repo,
                                                                         sha256(data))),
                             404, "BLOB_UNKNOWN")
        self.assertError(self.reg.request("HEAD", "/v2/%s/blobs/%s" %
                                          (self.repo, sha256(data[:300]))), 404, None)

    def test_truncated_manifest(self):
        repo = unique("trunc")
        body, _ = self.reg.push_image(repo, tag="t")
        r = self.reg.raw_request("PUT", "/v2/%s/manifests/t2" % repo,
                                 [("Content-Type", OCI_MANIFEST),
                                  ("Content-Length", str(len(body)))], body[:len(body) // 2],
                                 half_close=True)
        self.assertIn(r.status, (400,), r)
        self.assertError(self.reg.request("GET", "/v2/%s/manifests/t2" % repo),
                         404, "MANIFEST_UNKNOWN")

    def test_hostile_manifest_bodies(self):
        repo = unique("hostile")
        cfg = b"{}"
        self.reg.push_blob(repo, cfg)
        good_cfg = descriptor(OCI_CONFIG, cfg)

        def m(**kw):
            base = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": good_cfg,
                    "layers": []}
            base.update(kw)
            return json.dumps(base).encode()

        depth = 100000
        bodies = [
            b"[" * depth + b"]" * depth,
            b'{"schemaVersion":2,"x":' + b"[" * depth + b"]" * depth + b"}",
            b'{"schemaVersion":2,"x":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}",
            b"[" * depth,  # unterminated
            m(config=dict(good_cfg, size=10 ** 30)),
            m(config=dict(good_cfg, size=18446744073709551615)),
            m(config=dict(good_cfg, size=1.5)),
            m(config=dict(good_cfg, size="2")),
            m(config=dict(good_cfg, mediaType=5)),
            m(config=[good_cfg]),
            m(layers=[None]),
            m(layers=[dict(good_cfg, urls="http://x")]),
            m(annotations={"a": 1}),
            m(annotations=[]),
            m(subject={"digest": "sha256:zz"}),
            m(subject="sha256:" + "0" * 64),
            m(artifactType=7),
            m(mediaType=["x"]),
            m(mediaType="application/vnd.example.unknown+json"),
            m(manifests=[]),
            b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":'
            + json.dumps(good_cfg).encode() + b',"layers":[],"annotations":{"k":"\xff\xfe"}}',
            b"\x00" * 100,
        ]
        for i, body in enumerate(bodies):
            r = self.reg.put_manifest(repo, "h%d" % i, body, OCI_MANIFEST)
            self.assertTrue(self.reg.alive(), "berthd died on hostile body %d" % i)
            self.assertError(r, 400, ("MANIFEST_INVALID", "MANIFEST_BLOB_UNKNOWN",
                                      "UNSUPPORTED"))
        tags = self.reg.request("GET", "/v2/%s/tags/list" % repo)
        self.assertEqual(tags.json()["tags"] if tags.status == 200 else [], [])

    def test_odd_accept_and_query(self):
        repo = unique("odd")
        body, d = self.reg.push_image(repo, tag="t")
        for accept in (",,,;;;", "*", "application/*", "x" * 5000, OCI_MANIFEST + ";q=abc"):
            r = self.reg.request("GET", "/v2/%s/manifests/t" % repo, headers={"Accept": accept})
            self.assertIn(r.status, (200, 404), r)
            if r.status == 200:
                self.assertEqual(r.body, body)
        for q in ("?n=5&n=6", "?last=%ff", "?n=%zz", "?last=" + "z" * 5000, "?&&&=&",
                  "?n=1&last=%C3%A9"):
            r = self.reg.request("GET", "/v2/%s/tags/list%s" % (repo, q))
            self.assertIn(r.status, (200, 400), r)
            r = self.reg.request("GET", "/v2/_catalog%s" % q)
            self.assertIn(r.status, (200, 400), r)

    def test_unusable_request_id_replaced(self):
        for rid in ("x" * 500, "has space", ""):
            r = self.reg.request("GET", "/v2/", headers={"X-Request-Id": rid}, check=False)
            got = r.header("X-Request-Id")
            self.assertTrue(got, r)
            self.assertNotEqual(got, rid)
            self.assertLessEqual(len(got), 128)
            self.assertTrue(got.isprintable() and " " not in got, got)

    def test_server_survives(self):
        # After everything above, the registry still serves correctly.
        r = self.reg.request("GET", "/v2/%s/blobs/%s" % (self.repo, self.digest))
        self.assertStatus(r, 200)
        self.assertEqual(r.body, self.data)


if __name__ == "__main__":
    main()
