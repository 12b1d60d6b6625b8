#!/usr/bin/python3
"""Manifests: PUT/GET/HEAD/DELETE /v2/<name>/manifests/<reference>."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
    RegistryTestCase, descriptor, dumps, location_path, main, sha256, sha512, unique)


class Manifests(RegistryTestCase):

    def image_parts(self, repo, docker=False, seed=None):
        """Uploads a config and a layer; returns their descriptors."""
        seed = seed or unique("seed")
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        layer = ("layer for " + seed).encode() * 10
        self.reg.push_blob(repo, config)
        self.reg.push_blob(repo, layer)
        return (descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config),
                descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer))

    def oci_manifest(self, repo, **extra):
        cfg, layer = self.image_parts(repo)
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer]}
        m.update(extra)
        return dumps(m)

    def assertPushed(self, r, repo, digest):
        self.assertStatus(r, 201)
        self.assertEqual(location_path(r), "/v2/%s/manifests/%s" % (repo, digest))
        self.assertHeader(r, "Docker-Content-Digest", digest)

    def assertManifest(self, repo, ref, body, media_type, accept=None):
        headers = {"Accept": accept} if accept else {}
        r = self.reg.request("GET", "/v2/%s/manifests/%s" % (repo, ref), headers=headers)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, body)
        self.assertHeader(r, "Content-Type", media_type)
        self.assertHeader(r, "Docker-Content-Digest", sha256(body))
        h = self.reg.request("HEAD", "/v2/%s/manifests/%s" % (repo, ref), headers=headers)
        self.assertStatus(h, 200)
        self.assertEqual(h.body, b"")
        self.assertHeader(h, "Content-Type", media_type)
        self.assertHeader(h, "Docker-Content-Digest", sha256(body))
        self.assertHeader(h, "Content-Length", str(len(body)))

    def assertNoManifest(self, repo, ref):
        for method in ("GET", "HEAD"):
            r = self.reg.request(method, "/v2/%s/manifests/%s" % (repo, ref))
            self.assertError(r, 404, "MANIFEST_UNKNOWN")

    # -- push and pull -------------------------------------------------------

    def test_oci_manifest_by_tag(self):
        repo = unique("oci")
        body = self.oci_manifest(repo)
        d = sha256(body)
        r = self.reg.put_manifest(repo, "v1.0", body, OCI_MANIFEST)
        self.assertPushed(r, repo, d)
        self.assertIsNone(r.header("OCI-Subject"))
        self.assertManifest(repo, "v1.0", body, OCI_MANIFEST)
        self.assertManifest(repo, d, body, OCI_MANIFEST)

    def test_oci_manifest_by_digest(self):
        repo = unique("ocid")
        body = self.oci_manifest(repo)
        d = sha256(body)
        r = self.reg.put_manifest(repo, d, body, OCI_MANIFEST)
        self.assertPushed(r, repo, d)
        self.assertManifest(repo, d, body, OCI_MANIFEST)
        # Pushing the same bytes again is idempotent.
        self.assertPushed(self.reg.put_manifest(repo, d, body, OCI_MANIFEST), repo, d)
        self.assertPushed(self.reg.put_manifest(repo, "again", body, OCI_MANIFEST), repo, d)
        self.assertManifest(repo, "again", body, OCI_MANIFEST)

    def test_content_type_parameters_ignored(self):
        repo = unique("ctparam")
        body = self.oci_manifest(repo)
        r = self.reg.put_manifest(repo, "t", body, OCI_MANIFEST + "; charset=utf-8")
        self.assertPushed(r, repo, sha256(body))
        self.assertManifest(repo, "t", body, OCI_MANIFEST)

    def test_manifest_by_sha512_digest(self):
        repo = unique("sha512m")
        body = self.oci_manifest(repo)
        d = sha512(body)
        r = self.reg.put_manifest(repo, d, body, OCI_MANIFEST)
        self.assertPushed(r, repo, d)
        g = self.reg.request("GET", "/v2/%s/manifests/%s" % (repo, d))
        self.assertStatus(g, 200)
        self.assertEqual(g.body, body)
        self.assertHeader(g, "Docker-Content-Digest", d)

    def test_docker_schema2(self):
        repo = unique("docker")
        cfg, layer = self.image_parts(repo, docker=True)
        body = dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": cfg,
                      "layers": [layer]})
        r = self.reg.put_manifest(repo, "latest", body, DOCKER_MANIFEST)
        self.assertPushed(r, repo, sha256(body))
        self.assertManifest(repo, "latest", body, DOCKER_MANIFEST)
        self.assertManifest(repo, sha256(body), body, DOCKER_MANIFEST)

    def test_artifact_manifest_with_empty_config(self):
        repo = unique("artifact")
        empty = b"{}"
        self.reg.push_blob(repo, empty)
        blob = b"artifact payload"
        self.reg.push_blob(repo, blob)
        body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "artifactType": "application/vnd.example.thing",
                      "config": descriptor(OCI_EMPTY, empty),
                      "layers": [descriptor("application/octet-stream", blob)]})
        r = self.reg.put_manifest(repo, "art", body, OCI_MANIFEST)
        self.assertPushed(r, repo, sha256(body))
        self.assertManifest(repo, "art", body, OCI_MANIFEST)

    def push_index(self, repo, media_type, child_type, tag="multi"):
        children = []
        for arch in ("arm64", "amd64"):
            cfg, layer = self.image_parts(repo, docker=child_type == DOCKER_MANIFEST)
            body = dumps({"schemaVersion": 2, "mediaType": child_type, "config": cfg,
                          "layers": [layer]})
            self.assertPushed(self.reg.put_manifest(repo, sha256(body), body, child_type),
                              repo, sha256(body))
            children.append((arch, body))
        index = dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
            descriptor(child_type, body, platform={"architecture": arch, "os": "linux"})
            for arch, body in children]})
        r = self.reg.put_manifest(repo, tag, index, media_type)
        self.assertPushed(r, repo, sha256(index))
        return index, dict(children)

    def test_oci_index(self):
        repo = unique("index")
        index, children = self.push_index(repo, OCI_INDEX, OCI_MANIFEST)
        self.assertManifest(repo, "multi", index, OCI_INDEX)
        self.assertManifest(repo, sha256(index), index, OCI_INDEX)
        for body in children.values():
            self.assertManifest(repo, sha256(body), body, OCI_MANIFEST)

    def test_docker_manifest_list(self):
        repo = unique("list")
        index, children = self.push_index(repo, DOCKER_LIST, DOCKER_MANIFEST)
        self.assertManifest(repo, "multi", index, DOCKER_LIST)
        self.assertManifest(repo, "multi", index, DOCKER_LIST,
                            accept="%s, %s" % (DOCKER_MANIFEST, DOCKER_LIST))

    # -- refused pushes --------------------------------------------------------

    def test_schema1_refused(self):
        repo = unique("schema1")
        self.reg.push_blob(repo, b"x")
        s1 = dumps({"schemaVersion": 1, "name": repo, "tag": "old", "architecture": "amd64",
                    "fsLayers": [{"blobSum": sha256(b"x")}],
                    "history": [{"v1Compatibility": "{}"}]})
        for ct in (DOCKER_SCHEMA1_SIGNED, DOCKER_SCHEMA1, "application/json", OCI_MANIFEST):
            r = self.reg.put_manifest(repo, "old", s1, ct)
            self.assertError(r, 400, "MANIFEST_INVALID")
        # A schema 2 body labelled as signed schema 1.
        body = self.oci_manifest(repo)
        r = self.reg.put_manifest(repo, "old", body, DOCKER_SCHEMA1_SIGNED)
        self.assertError(r, 400, "MANIFEST_INVALID")
        self.assertNoManifest(repo, "old")

    def test_malformed_json(self):
        repo = unique("badjson")
        self.reg.push_blob(repo, b"x")
        for body in (b"{not json", b"", b"[]", b"null", b"\"string\"", b"{\"schemaVersion\": 2",
                     b"{\"schemaVersion\":\"2\",\"mediaType\":\"%s\"}" % OCI_MANIFEST.encode()):
            r = self.reg.put_manifest(repo, "bad", body, OCI_MANIFEST)
            self.assertError(r, 400, "MANIFEST_INVALID")
        self.assertNoManifest(repo, "bad")

    def test_structurally_invalid_manifests(self):
        repo = unique("badshape")
        cfg, layer = self.image_parts(repo)
        cases = [
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [layer]},  # no config
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": layer},
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": dict(cfg, size=-1),
             "layers": [layer]},
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": dict(cfg, digest="sha256:nothex"), "layers": [layer]},
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": {k: v for k, v in cfg.items() if k != "mediaType"}, "layers": [layer]},
            {"schemaVersion": 3, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer]},
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}},
        ]
        for m in cases:
            ct = m["mediaType"]
            r = self.reg.put_manifest(repo, "shape", dumps(m), ct)
            self.assertError(r, 400, "MANIFEST_INVALID")
        self.assertNoManifest(repo, "shape")

    def test_content_type_mismatch(self):
        repo = unique("ctmismatch")
        body = self.oci_manifest(repo)
        for ct in (DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST):
            r = self.reg.put_manifest(repo, "mismatch", body, ct)
            self.assertError(r, 400, "MANIFEST_INVALID")
        self.assertNoManifest(repo, "mismatch")

    def test_missing_blob(self):
        repo = unique("missing")
        cfg, _ = self.image_parts(repo)
        absent = b"never uploaded layer"
        body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                      "layers": [descriptor(OCI_LAYER, absent)]})
        r = self.reg.put_manifest(repo, "broken", body, OCI_MANIFEST)
        self.assertError(r, 400, "MANIFEST_BLOB_UNKNOWN")
        err = [e for e in r.json()["errors"] if e["code"] == "MANIFEST_BLOB_UNKNOWN"][0]
        self.assertIn(sha256(absent), json.dumps(err.get("detail")), r)
        self.assertNoManifest(repo, "broken")
        self.assertNoManifest(repo, sha256(body))
        tags = self.reg.request("GET", "/v2/%s/tags/list" % repo)
        self.assertStatus(tags, 200)
        self.assertNotIn("broken", tags.json()["tags"])

    def test_missing_config_blob(self):
        repo = unique("missingcfg")
        _, layer = self.image_parts(repo)
        cfg = descriptor(OCI_CONFIG, b"{\"never\":\"uploaded\"}")
        body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                      "layers": [layer]})
        r = self.reg.put_manifest(repo, sha256(body), body, OCI_MANIFEST)
        self.assertError(r, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertIn(cfg["digest"], r.body.decode())
        self.assertNoManifest(repo, sha256(body))

    def test_blob_of_other_repository_does_not_count(self):
        repo, other = unique("mine"), unique("theirs")
        cfg, layer = self.image_parts(other)
        self.reg.push_blob(repo, b"something")
        body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                      "layers": [layer]})
        r = self.reg.put_manifest(repo, "borrowed", body, OCI_MANIFEST)
        self.assertError(r, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertNoManifest(repo, "borrowed")

    def test_deleted_blob_no_longer_satisfies_manifest(self):
        repo = unique("blobgone")
        cfg, layer = self.image_parts(repo)
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/blobs/%s" %
                                           (repo, layer["digest"])), 202)
        body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                      "layers": [layer]})
        r = self.reg.put_manifest(repo, "t", body, OCI_MANIFEST)
        self.assertError(r, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertIn(layer["digest"], r.body.decode())
        self.assertNoManifest(repo, "t")

    def test_index_with_missing_child(self):
        repo = unique("orphanidx")
        cfg, layer = self.image_parts(repo)
        child = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                       "layers": [layer]})  # never pushed
        index = dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            descriptor(OCI_MANIFEST, child, platform={"architecture": "amd64", "os": "linux"})]})
        r = self.reg.put_manifest(repo, "idx", index, OCI_INDEX)
        self.assertError(r, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertIn(sha256(child), r.body.decode())
        self.assertNoManifest(repo, "idx")

    def test_digest_mismatch(self):
        repo = unique("digestmm")
        body = self.oci_manifest(repo)
        wrong = sha256(body + b" ")
        r = self.reg.put_manifest(repo, wrong, body, OCI_MANIFEST)
        self.assertError(r, 400, "DIGEST_INVALID")
        self.assertNoManifest(repo, wrong)
        self.assertNoManifest(repo, sha256(body))

    def test_too_large(self):
        repo = unique("big")
        cfg, layer = self.image_parts(repo)
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": [layer],
             "annotations": {"padding": "x" * (4 * 1024 * 1024)}}
        body = json.dumps(m).encode()
        self.assertGreater(len(body), 4 * 1024 * 1024)
        # Declared length.
        r = self.reg.raw_request("PUT", "/v2/%s/manifests/big" % repo,
                                 [("Content-Type", OCI_MANIFEST),
                                  ("Content-Length", str(len(body)))], body)
        self.assertError(r, 413, "SIZE_INVALID")
        # Chunked: the size is only known while reading.
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                           for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
        r = self.reg.raw_request("PUT", "/v2/%s/manifests/big" % repo,
                                 [("Content-Type", OCI_MANIFEST),
                                  ("Transfer-Encoding", "chunked")], chunked)
        self.assertError(r, 413, "SIZE_INVALID")
        self.assertNoManifest(repo, "big")
        # Exactly at the limit is not "too large" (it is pushed or refused on content).
        m["annotations"]["padding"] = ""
        base = len(json.dumps(m).encode())
        m["annotations"]["padding"] = "x" * (4 * 1024 * 1024 - base)
        body = json.dumps(m).encode()
        self.assertEqual(len(body), 4 * 1024 * 1024)
        r = self.reg.put_manifest(repo, "limit", body, OCI_MANIFEST)
        self.assertStatus(r, 201)
        g = self.reg.request("GET", "/v2/%s/manifests/limit" % repo)
        self.assertEqual(g.body, body)

    # -- content negotiation -----------------------------------------------------

    def test_accept_negotiation_single_manifest(self):
        repo = unique("accept")
        body = self.oci_manifest(repo)
        self.assertStatus(self.reg.put_manifest(repo, "t", body, OCI_MANIFEST), 201)
        for accept in (OCI_MANIFEST, "%s, %s" % (DOCKER_MANIFEST, OCI_MANIFEST), "*/*",
                       "%s;q=0.5, %s" % (OCI_INDEX, OCI_MANIFEST)):
            self.assertManifest(repo, "t", body, OCI_MANIFEST, accept=accept)
        # Several Accept header lines.
        conn = self.reg.connect()
        try:
            conn.putrequest("GET", "/v2/%s/manifests/t" % repo)
            conn.putheader("Authorization", self.reg.auth_header())
            conn.putheader("Accept", DOCKER_MANIFEST)
            conn.putheader("Accept", OCI_MANIFEST)
            conn.endheaders()
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.read(), body)
        finally:
            conn.close()
        for accept in (DOCKER_MANIFEST, "%s, %s" % (DOCKER_MANIFEST, DOCKER_LIST), OCI_INDEX):
            for method in ("GET", "HEAD"):
                r = self.reg.request(method, "/v2/%s/manifests/t" % repo,
                                     headers={"Accept": accept})
                self.assertError(r, 404, "MANIFEST_UNKNOWN")

    def test_accept_index_falls_back_to_linux_amd64(self):
        repo = unique("fallback")
        index, children = self.push_index(repo, OCI_INDEX, OCI_MANIFEST)
        r = self.reg.request("GET", "/v2/%s/manifests/multi" % repo,
                             headers={"Accept": OCI_MANIFEST})
        self.assertStatus(r, 200)
        self.assertEqual(r.body, children["amd64"])
        self.assertHeader(r, "Content-Type", OCI_MANIFEST)
        self.assertHeader(r, "Docker-Content-Digest", sha256(children["amd64"]))
        # Docker list asked for by a schema-2-only client.
        repo2 = unique("fallback2")
        _, dchildren = self.push_index(repo2, DOCKER_LIST, DOCKER_MANIFEST)
        r = self.reg.request("GET", "/v2/%s/manifests/multi" % repo2,
                             headers={"Accept": DOCKER_MANIFEST})
        self.assertStatus(r, 200)
        self.assertEqual(r.body, dchildren["amd64"])
        self.assertHeader(r, "Content-Type", DOCKER_MANIFEST)
        # Asking for the index type itself returns the index.
        self.assertManifest(repo, "multi", index, OCI_INDEX, accept=OCI_INDEX)

    def test_fallback_skips_platforms_with_odd_member_types(self):
        """Platform members that are not strings (only the platform's being an
        object is checked on push) are skipped by the linux/amd64 fallback
        rather than throwing out of it (a 500 before)."""
        repo = unique("oddplat")
        children = []
        for platform in ({"os": 1, "architecture": "amd64"},
                         {"os": "linux", "architecture": ["amd64"]},
                         {"os": "linux", "architecture": "amd64"}):
            cfg, layer = self.image_parts(repo)
            body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg,
                          "layers": [layer]})
            self.assertStatus(self.reg.put_manifest(repo, sha256(body), body, OCI_MANIFEST), 201)
            children.append(descriptor(OCI_MANIFEST, body, platform=platform))
        index = dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
        self.assertStatus(self.reg.put_manifest(repo, "multi", index, OCI_INDEX), 201)
        r = self.reg.request("GET", "/v2/%s/manifests/multi" % repo,
                             headers={"Accept": OCI_MANIFEST})
        self.assertStatus(r, 200)
        self.assertHeader(r, "Docker-Content-Digest", children[2]["digest"])

    def test_deeply_nested_json_refused(self):
        """JSON nesting beyond 128 levels is refused: it used to parse and then
        overflow the handler's stack when the platform was re-serialised."""
        repo = unique("deep")
        cfg, layer = self.image_parts(repo)
        deep = "[" * 20000 + "]" * 20000
        body = ('{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s",'
                '"digest":"%s","size":1,"platform":{"a":%s}}]}'
                % (OCI_INDEX, OCI_MANIFEST, cfg["digest"], deep)).encode()
        self.assertError(self.reg.put_manifest(repo, "deep", body, OCI_INDEX), 400,
                         "MANIFEST_INVALID")
        # The registry is still there.
        self.assertStatus(self.reg.request("GET", "/v2/"), 200)

    # -- deletes ----------------------------------------------------------------

    def test_delete_tag_keeps_manifest(self):
        repo = unique("deltag")
        body = self.oci_manifest(repo)
        d = sha256(body)
        for tag in ("one", "two"):
            self.assertStatus(self.reg.put_manifest(repo, tag, body, OCI_MANIFEST), 201)
        r = self.reg.request("DELETE", "/v2/%s/manifests/one" % repo)
        self.assertStatus(r, 202)
        self.assertNoManifest(repo, "one")
        self.assertManifest(repo, "two", body, OCI_MANIFEST)
        self.assertManifest(repo, d, body, OCI_MANIFEST)
        tags = self.reg.request("GET", "/v2/%s/tags/list" % repo).json()["tags"]
        self.assertEqual(tags, ["two"])
        self.assertError(self.reg.request("DELETE", "/v2/%s/manifests/one" % repo),
                         404, "MANIFEST_UNKNOWN")

    def test_delete_by_digest_removes_tags(self):
        repo = unique("deldigest")
        body = self.oci_manifest(repo)
        other = self.oci_manifest(repo)
        d = sha256(body)
        for tag in ("a", "b"):
            self.assertStatus(self.reg.put_manifest(repo, tag, body, OCI_MANIFEST), 201)
        self.assertStatus(self.reg.put_manifest(repo, "c", other, OCI_MANIFEST), 201)
        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, d))
        self.assertStatus(r, 202)
        for ref in (d, "a", "b"):
            self.assertNoManifest(repo, ref)
        self.assertManifest(repo, "c", other, OCI_MANIFEST)
        tags = self.reg.request("GET", "/v2/%s/tags/list" % repo).json()["tags"]
        self.assertEqual(tags, ["c"])
        self.assertError(self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, d)),
                         404, "MANIFEST_UNKNOWN")
        # Pushing it again brings it back.
        self.assertStatus(self.reg.put_manifest(repo, "a", body, OCI_MANIFEST), 201)
        self.assertManifest(repo, "a", body, OCI_MANIFEST)

    def test_delete_unknown(self):
        repo = unique("delunknown")
        self.oci_manifest(repo)
        self.assertError(self.reg.request("DELETE", "/v2/%s/manifests/nosuchtag" % repo),
                         404, "MANIFEST_UNKNOWN")
        self.assertError(self.reg.request("DELETE", "/v2/%s/manifests/%s" %
                                          (repo, sha256(b"nothing"))), 404, "MANIFEST_UNKNOWN")

    def test_delete_child_of_index_refused(self):
        repo = unique("delchild")
        index, children = self.push_index(repo, OCI_INDEX, OCI_MANIFEST)
        child = sha256(children["amd64"])
        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, child))
        self.assertError(r, 412, None)
        self.assertManifest(repo, child, children["amd64"], OCI_MANIFEST)
        # Once the index is gone the child can be deleted.
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/manifests/%s" %
                                           (repo, sha256(index))), 202)
        self.assertNoManifest(repo, "multi")
        # An untagged child is collected with its index, or deletable now.
        r = self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, child))
        self.assertIn(r.status, (202, 404), r)
        self.assertNoManifest(repo, child)

    def test_manifest_in_one_repository_only(self):
        repo, other = unique("here"), unique("there")
        body = self.oci_manifest(repo)
        self.assertStatus(self.reg.put_manifest(repo, "t", body, OCI_MANIFEST), 201)
        self.oci_manifest(other)  # the other repository exists
        self.assertNoManifest(other, sha256(body))
        self.assertNoManifest(other, "t")

    def test_unknown_repository(self):
        repo = unique("nosuchrepo")
        for ref in ("latest", sha256(b"x")):
            r = self.reg.request("GET", "/v2/%s/manifests/%s" % (repo, ref))
            self.assertError(r, 404, ("NAME_UNKNOWN", "MANIFEST_UNKNOWN"))

    # -- subject -------------------------------------------------------------------

    def test_subject_header(self):
        repo = unique("subject")
        subject_body = self.oci_manifest(repo)
        self.assertStatus(self.reg.put_manifest(repo, "base", subject_body, OCI_MANIFEST), 201)
        sbody = self.oci_manifest(repo, subject=descriptor(OCI_MANIFEST, subject_body),
                                  artifactType="application/vnd.example.sig")
        r = self.reg.put_manifest(repo, sha256(sbody), sbody, OCI_MANIFEST)
        self.assertPushed(r, repo, sha256(sbody))
        self.assertHeader(r, "OCI-Subject", sha256(subject_body))
        self.assertManifest(repo, sha256(sbody), sbody, OCI_MANIFEST)

    def test_subject_need_not_exist(self):
        repo = unique("dangling")
        ghost = b"a manifest nobody pushed"
        body = self.oci_manifest(repo, subject=descriptor(OCI_MANIFEST, ghost))
        r = self.reg.put_manifest(repo, sha256(body), body, OCI_MANIFEST)
        self.assertPushed(r, repo, sha256(body))
        self.assertHeader(r, "OCI-Subject", sha256(ghost))
        # An index may have a subject too.
        index = dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            descriptor(OCI_MANIFEST, body)], "subject": descriptor(OCI_MANIFEST, ghost)})
        r = self.reg.put_manifest(repo, "idx", index, OCI_INDEX)
        self.assertPushed(r, repo, sha256(index))
        self.assertHeader(r, "OCI-Subject", sha256(ghost))


if __name__ == "__main__":
    main()
