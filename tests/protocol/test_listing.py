#!/usr/bin/python3
"""Listing: tags (/v2/<name>/tags/list), catalog (/v2/_catalog) and referrers
(/v2/<name>/referrers/<digest>)."""

import base64
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from berth_harness import (  # noqa: E402
    OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, RegistryTestCase, descriptor, dumps, main,
    sha256, unique)

LINK_RE = re.compile(r'^<([^>]+)>;\s*rel="next"$')


def assertLinkTo(test, link, path, n, last):
    """A next link to `path` with n and last (percent-encoding of last optional)."""
    parts = urllib.parse.urlsplit(link)
    test.assertEqual(parts.path, path, link)
    test.assertFalse(parts.scheme or parts.netloc, link)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    test.assertEqual(query, {"n": [str(n)], "last": [last]}, link)
    test.assertTrue(parts.query.startswith("n=%d&last=" % n), link)


def next_link(resp):
    link = resp.header("Link")
    if link is None:
        return None
    m = LINK_RE.match(link)
    if not m:
        raise AssertionError("malformed Link header %r" % link)
    return m.group(1)


class Tags(RegistryTestCase):

    # Deliberately unsorted; ASCII order puts digits, then uppercase, then
    # '_', then lowercase.
    TAGS = ["latest", "v1.0", "V2", "1.0", "10", "9", "_private", "Zeta", "alpha-1",
            "alpha_1", "alpha.1", "a", "B"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.repo = unique("tags")
        body, cls.digest = cls.reg.push_image(cls.repo, tag=cls.TAGS[0])
        for t in cls.TAGS[1:]:
            r = cls.reg.put_manifest(cls.repo, t, body, OCI_MANIFEST)
            assert r.status == 201, r

    def tags(self, query="", repo=None):
        return self.reg.request("GET", "/v2/%s/tags/list%s" % (repo or self.repo, query))

    def test_full_list_sorted(self):
        r = self.tags()
        self.assertStatus(r, 200)
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r)
        doc = r.json()
        self.assertEqual(doc["name"], self.repo)
        self.assertEqual(doc["tags"], sorted(self.TAGS))  # Python sorts by code point
        self.assertEqual(doc["tags"][:4], ["1.0", "10", "9", "B"])
        self.assertIsNone(r.header("Link"))

    def test_pagination_walk(self):
        expected = sorted(self.TAGS)
        for n in (1, 2, 5, 12):
            got, path, pages = [], "/v2/%s/tags/list?n=%d" % (self.repo, n), 0
            while path is not None:
                r = self.reg.request("GET", path)
                self.assertStatus(r, 200)
                page = r.json()["tags"]
                self.assertLessEqual(len(page), n)
                got += page
                pages += 1
                path = next_link(r)
                if path is not None:
                    self.assertEqual(len(page), n)
                    assertLinkTo(self, path, "/v2/%s/tags/list" % self.repo, n, page[-1])
                self.assertLess(pages, 20)
            self.assertEqual(got, expected, "n=%d" % n)
            self.assertEqual(pages, -(-len(expected) // n), "n=%d" % n)

    def test_exact_page_has_no_link(self):
        r = self.tags("?n=%d" % len(self.TAGS))
        self.assertEqual(r.json()["tags"], sorted(self.TAGS))
        self.assertIsNone(r.header("Link"))
        r = self.tags("?n=1000")
        self.assertEqual(r.json()["tags"], sorted(self.TAGS))
        self.assertIsNone(r.header("Link"))

    def test_first_page_link_exact(self):
        r = self.tags("?n=3")
        self.assertEqual(r.json()["tags"], ["1.0", "10", "9"])
        self.assertHeader(r, "Link", '</v2/%s/tags/list?n=3&last=9>; rel="next"' % self.repo)

    def test_last_only(self):
        r = self.tags("?last=V2")
        self.assertEqual(r.json()["tags"], [t for t in sorted(self.TAGS) if t > "V2"])
        r = self.tags("?last=zzz")
        self.assertEqual(r.json()["tags"], [])
        # last need not be an existing tag.
        r = self.tags("?n=2&last=alpha")
        self.assertEqual(r.json()["tags"], ["alpha-1", "alpha.1"])

    def test_n_zero(self):
        r = self.tags("?n=0")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["tags"], [])
        self.assertIsNone(r.header("Link"))

    def test_invalid_n(self):
        for n in ("abc", "-1", "1.5", "", "0x10", "99999999999999999999999"):
            r = self.tags("?n=" + urllib.parse.quote(n))
            if n == "":
                # An empty n is either ignored or refused; never a server error.
                self.assertIn(r.status, (200, 400), r)
                continue
            self.assertError(r, 400, ("PAGINATION_NUMBER_INVALID", "UNSUPPORTED"))

    def test_unknown_repository(self):
        r = self.tags(repo=unique("nosuchrepo"))
        self.assertError(r, 404, "NAME_UNKNOWN")
        r = self.tags("?n=0", repo=unique("nosuchrepo"))
        self.assertError(r, 404, "NAME_UNKNOWN")

    def test_repository_without_tags(self):
        repo = unique("untagged")
        self.reg.push_image(repo)  # by digest only
        r = self.tags(repo=repo)
        self.assertStatus(r, 200)
        self.assertIn(b'"tags":[]', r.body.replace(b" ", b""))
        self.assertEqual(r.json(), {"name": repo, "tags": []})
        # Tagged, then the only tag deleted.
        repo2 = unique("detagged")
        self.reg.push_image(repo2, tag="gone")
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/manifests/gone" % repo2), 202)
        r = self.tags(repo=repo2)
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["tags"], [])

    def test_retag_moves_tag(self):
        repo = unique("retag")
        _, d1 = self.reg.push_image(repo, tag="t")
        _, d2 = self.reg.push_image(repo, tag="t")
        self.assertNotEqual(d1, d2)
        self.assertEqual(self.tags(repo=repo).json()["tags"], ["t"])
        r = self.reg.request("HEAD", "/v2/%s/manifests/t" % repo)
        self.assertHeader(r, "Docker-Content-Digest", d2)
        # The previous manifest stays reachable by digest.
        self.assertStatus(self.reg.request("HEAD", "/v2/%s/manifests/%s" % (repo, d1)), 200)


class Catalog(RegistryTestCase):
    """A registry of its own, so the catalog's content is known exactly."""

    REPOS = ["zeta", "alpha/beta", "alpha", "alpha-beta", "alpha/beta/gamma", "b0", "a9",
             "library/ubuntu"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in cls.REPOS:
            cls.reg.push_image(name, tag="latest", seed=name)

    def test_empty_catalog_before_push(self):
        # A fresh registry lists nothing (and repositories is [] not null).
        from berth_harness import Registry
        fresh = Registry().start()
        try:
            r = fresh.request("GET", "/v2/_catalog")
            self.assertStatus(r, 200)
            self.assertEqual(r.json(), {"repositories": []})
            self.assertIsNone(r.header("Link"))
        finally:
            fresh.cleanup()

    def test_full_catalog_sorted(self):
        r = self.reg.request("GET", "/v2/_catalog")
        self.assertStatus(r, 200)
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r)
        self.assertEqual(r.json(), {"repositories": sorted(self.REPOS)})
        self.assertIsNone(r.header("Link"))

    def test_pagination_walk(self):
        expected = sorted(self.REPOS)
        for n in (1, 3, 8):
            got, path, pages = [], "/v2/_catalog?n=%d" % n, 0
            while path is not None:
                r = self.reg.request("GET", path)
                self.assertStatus(r, 200)
                page = r.json()["repositories"]
                got += page
                pages += 1
                path = next_link(r)
                if path is not None:
                    self.assertEqual(len(page), n)
                    assertLinkTo(self, path, "/v2/_catalog", n, page[-1])
                self.assertLess(pages, 20)
            self.assertEqual(got, expected, "n=%d" % n)

    def test_first_page_link_exact(self):
        r = self.reg.request("GET", "/v2/_catalog?n=2")
        self.assertEqual(r.json()["repositories"], ["a9", "alpha"])
        self.assertHeader(r, "Link", '</v2/_catalog?n=2&last=alpha>; rel="next"')
        # A name with '/' as `last`, encoded or not.
        for last in ("alpha/beta", "alpha%2Fbeta"):
            r = self.reg.request("GET", "/v2/_catalog?n=2&last=" + last)
            self.assertEqual(r.json()["repositories"], ["alpha/beta/gamma", "b0"], last)
        r = self.reg.request("GET", "/v2/_catalog?n=3&last=alpha")
        self.assertEqual(r.json()["repositories"], ["alpha-beta", "alpha/beta", "alpha/beta/gamma"])
        assertLinkTo(self, next_link(r), "/v2/_catalog", 3, "alpha/beta/gamma")

    def test_n_zero(self):
        r = self.reg.request("GET", "/v2/_catalog?n=0")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"repositories": []})
        self.assertIsNone(r.header("Link"))

    def test_invalid_n(self):
        for n in ("x", "-5", "2.0"):
            r = self.reg.request("GET", "/v2/_catalog?n=" + n)
            self.assertError(r, 400, ("PAGINATION_NUMBER_INVALID", "UNSUPPORTED"))


class Referrers(RegistryTestCase):

    SBOM = "application/vnd.example.sbom.v1"
    SIG_CONFIG = "application/vnd.example.signature.config.v1+json"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reg = cls.reg
        cls.repo = unique("refs")
        cls.subject_body, cls.subject = reg.push_image(cls.repo, tag="app")
        subject_desc = descriptor(OCI_MANIFEST, cls.subject_body)
        empty = b"{}"
        reg.push_blob(cls.repo, empty)
        sbom_blob = b"{\"sbom\": true}"
        reg.push_blob(cls.repo, sbom_blob)
        # 1: artifactType set explicitly, with annotations.
        cls.sbom_body = dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": cls.SBOM,
            "config": descriptor(OCI_EMPTY, empty),
            "layers": [descriptor("application/json", sbom_blob)],
            "subject": subject_desc,
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z",
                            "com.example.kind": "sbom"}})
        r = reg.put_manifest(cls.repo, sha256(cls.sbom_body), cls.sbom_body, OCI_MANIFEST)
        assert r.status == 201, r
        # 2: no artifactType: the config media type stands in for it.
        sig_config = b"{\"sig\": 1}"
        reg.push_blob(cls.repo, sig_config)
        cls.sig_body = dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": descriptor(cls.SIG_CONFIG, sig_config),
            "layers": [descriptor("application/octet-stream", b"{}")],
            "subject": subject_desc})
        r = reg.put_manifest(cls.repo, "sig", cls.sig_body, OCI_MANIFEST)
        assert r.status == 201, r
        # 3: an index referrer.
        cls.index_body = dumps({
            "schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": cls.SBOM,
            "manifests": [descriptor(OCI_MANIFEST, cls.sbom_body)],
            "subject": subject_desc})
        r = reg.put_manifest(cls.repo, sha256(cls.index_body), cls.index_body, OCI_INDEX)
        assert r.status == 201, r

    def referrers(self, digest=None, query="", repo=None):
        return self.reg.request("GET", "/v2/%s/referrers/%s%s" % (repo or self.repo,
                                                                 digest or self.subject, query))

    def assertIndex(self, r):
        self.assertStatus(r, 200)
        self.assertEqual(r.header("Content-Type").split(";")[0].strip(), OCI_INDEX, r)
        doc = r.json()
        self.assertEqual(doc.get("schemaVersion"), 2, doc)
        self.assertEqual(doc.get("mediaType"), OCI_INDEX, doc)
        self.assertIsInstance(doc.get("manifests"), list, doc)
        return doc["manifests"]

    def test_lists_all_referrers(self):
        ms = self.assertIndex(self.referrers())
        self.assertIsNone(self.referrers().header("OCI-Filters-Applied"))
        by_digest = {m["digest"]: m for m in ms}
        self.assertEqual(set(by_digest), {sha256(self.sbom_body), sha256(self.sig_body),
                                          sha256(self.index_body)})
        sbom = by_digest[sha256(self.sbom_body)]
        self.assertEqual(sbom, {
            "mediaType": OCI_MANIFEST, "digest": sha256(self.sbom_body),
            "size": len(self.sbom_body), "artifactType": self.SBOM,
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z",
                            "com.example.kind": "sbom"}})
        sig = by_digest[sha256(self.sig_body)]
        self.assertEqual(sig["mediaType"], OCI_MANIFEST)
        self.assertEqual(sig["size"], len(self.sig_body))
        self.assertEqual(sig["artifactType"], self.SIG_CONFIG)
        self.assertFalse(sig.get("annotations"), sig)
        idx = by_digest[sha256(self.index_body)]
        self.assertEqual(idx["mediaType"], OCI_INDEX)
        self.assertEqual(idx["artifactType"], self.SBOM)
        self.assertEqual(idx["size"], len(self.index_body))

    def test_filter_by_artifact_type(self):
        r = self.referrers(query="?artifactType=" + urllib.parse.quote(self.SBOM, safe=""))
        ms = self.assertIndex(r)
        self.assertHeader(r, "OCI-Filters-Applied", "artifactType")
        self.assertEqual(sorted(m["digest"] for m in ms),
                         sorted([sha256(self.sbom_body), sha256(self.index_body)]))
        r = self.referrers(query="?artifactType=" + urllib.parse.quote(self.SIG_CONFIG))
        ms = self.assertIndex(r)
        self.assertEqual([m["digest"] for m in ms], [sha256(self.sig_body)])
        r = self.referrers(query="?artifactType=application/vnd.none")
        self.assertEqual(self.assertIndex(r), [])
        self.assertHeader(r, "OCI-Filters-Applied", "artifactType")

    def test_no_referrers(self):
        # A manifest without referrers, and a digest the repository never saw.
        for d in (sha256(self.sbom_body), sha256(b"unknown subject")):
            r = self.referrers(digest=d)
            self.assertEqual(self.assertIndex(r), [])
            self.assertIn(b'"manifests":[]', r.body.replace(b" ", b""))

    def test_referrers_scoped_to_repository(self):
        other = unique("otherrefs")
        self.reg.push_image(other, tag="x")
        self.assertEqual(self.assertIndex(self.referrers(repo=other)), [])

    def test_invalid_digest(self):
        for bad in ("sha256:abc", "notadigest", "sha256:" + "G" * 64, "md5:" + "0" * 32,
                    "sha256:" + "A" * 64):
            r = self.referrers(digest=bad)
            self.assertError(r, 400, "DIGEST_INVALID")

    def test_referrer_removed_with_its_manifest(self):
        repo = unique("refdel")
        body, subject = self.reg.push_image(repo, tag="s")
        ref_body, ref_digest = self.reg.push_image(
            repo, artifactType="application/vnd.example.x",
            subject=descriptor(OCI_MANIFEST, body))
        ms = self.assertIndex(self.referrers(digest=subject, repo=repo))
        self.assertEqual([m["digest"] for m in ms], [ref_digest])
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/manifests/%s" % (repo, ref_digest)),
                          202)
        self.assertEqual(self.assertIndex(self.referrers(digest=subject, repo=repo)), [])

    def test_referrer_pushed_before_subject(self):
        repo = unique("early")
        subject_body = dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                              "config": descriptor(OCI_CONFIG, b"{\"early\":1}"), "layers": []})
        _, ref_digest = self.reg.push_image(repo, subject=descriptor(OCI_MANIFEST, subject_body),
                                            artifactType="application/vnd.example.early")
        ms = self.assertIndex(self.referrers(digest=sha256(subject_body), repo=repo))
        self.assertEqual([m["digest"] for m in ms], [ref_digest])
        self.assertEqual(ms[0]["artifactType"], "application/vnd.example.early")


class ReferrersEmptyRepository(RegistryTestCase):
    """A repository with nothing pushed yet: the spec forbids a 404 from the
    referrers API, so whoever may pull the repository gets an empty index;
    whoever may not still gets 401/403 as for any other pull."""

    PASSWORD = "Referrers-Passw0rd"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private = unique("refpriv")
        cls.reg.create_project(cls.private)  # private by default, as in Harbor
        cls.user = unique("outsider")
        r = cls.reg.request("POST", "/api/v2.0/users", dumps({
            "username": cls.user, "email": cls.user + "@example.com", "realname": cls.user,
            "password": cls.PASSWORD}), {"Content-Type": "application/json"}, check=False)
        assert r.status == 201, r

    def referrers(self, repo, headers=None, auth=True):
        return self.reg.request("GET", "/v2/%s/referrers/%s" % (repo, sha256(b"any subject")),
                                headers=headers, auth=auth)

    def assertEmptyIndex(self, r):
        self.assertStatus(r, 200)
        self.assertEqual(r.header("Content-Type").split(";")[0].strip(), OCI_INDEX, r)
        self.assertEqual(r.json(), {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                    "manifests": []})

    def basic(self, user, password):
        return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    def test_empty_repository_in_private_project(self):
        self.assertEmptyIndex(self.referrers(self.private + "/nothing-yet"))

    def test_empty_repository_with_artifact_type_filter(self):
        r = self.reg.request("GET", "/v2/%s/nothing/referrers/%s?artifactType=a%%2Fb" %
                             (self.private, sha256(b"x")))
        self.assertEmptyIndex(r)
        self.assertHeader(r, "OCI-Filters-Applied", "artifactType")

    def test_public_project_anonymous_token(self):
        # library is public: an anonymous token carries pull.
        repo = "library/" + unique("empty")
        r = self.reg.request("GET", "/service/token?service=harbor-registry&scope=" +
                             urllib.parse.quote("repository:%s:pull" % repo), auth=False,
                             check=False)
        self.assertStatus(r, 200)
        token = r.json()["token"]
        self.assertEmptyIndex(self.referrers(repo, {"Authorization": "Bearer " + token}))

    def test_anonymous_still_challenged(self):
        r = self.referrers(self.private + "/nothing-yet", auth=False)
        self.assertError(r, 401, "UNAUTHORIZED")
        self.assertTrue(r.header("WWW-Authenticate").startswith("Bearer "), r)

    def test_non_member_still_denied(self):
        r = self.referrers(self.private + "/nothing-yet",
                           {"Authorization": self.basic(self.user, self.PASSWORD)})
        self.assertError(r, 403, "DENIED")

    def test_unknown_project_still_unknown(self):
        # No project, so nobody may pull there: not a referrers answer.
        r = self.reg.request("GET", "/v2/%s/x/referrers/%s" % (unique("noproj"), sha256(b"x")),
                             headers={"Authorization": self.reg.auth_header()})
        self.assertError(r, 404, "NAME_UNKNOWN")


if __name__ == "__main__":
    main()
