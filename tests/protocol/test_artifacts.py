#!/usr/bin/env python3
"""Artifact management: Harbor's repository, artifact, tag, accessory,
addition and artifact-label endpoints, /search and /statistics, on content
pushed through /v2: shapes (checked against Harbor's swagger), Harbor's
artifact types, index references, accessories hidden from lists and deleted
with their subject, copies that link blobs, batched pull times, q filters
and paging, bad input, and each role's grants and refusals.

Runs on SQLite, and on PostgreSQL as protocol_pg.artifacts. Python 3 with
PyYAML for the swagger checks (skipped without it).
"""

import json
import os
import time
import urllib.parse

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api

HERE = os.path.dirname(os.path.abspath(__file__))
CHARTS = os.path.join(HERE, "..", "unit", "testdata", "charts")
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def enc(repo):
    """A repository path parameter as Harbor's clients send it."""
    return urllib.parse.quote(urllib.parse.quote(repo, safe=""), safe="")


class ArtifactCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = Api(cls.reg)
        cls.swagger = ss.skip_reason() is None

    def shape(self, obj, definition):
        if self.swagger:
            ss.assert_shape(obj, definition)

    def assertRefused(self, r, status):
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                409: "CONFLICT", 412: "PRECONDITION"}[status]
        self.assertEqual(r.status, status, "%r" % r)
        self.assertEqual(r.error_codes(), [code], "%r" % r)

    def arts(self, project, repo, query="", auth="admin"):
        return self.api.ok("GET", "/projects/%s/repositories/%s/artifacts%s"
                           % (project, enc(repo), query), auth=auth)

    def art_path(self, project, repo, ref):
        return "/projects/%s/repositories/%s/artifacts/%s" % (project, enc(repo), ref)

    def push_index(self, full_repo, tag, platforms=(("amd64", "linux"), ("arm64", "linux"))):
        children = []
        for arch, os_ in platforms:
            body, digest = self.reg.push_image(full_repo)
            children.append({"mediaType": bh.OCI_MANIFEST, "digest": digest, "size": len(body),
                             "platform": {"architecture": arch, "os": os_}})
        index = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_INDEX, "manifests": children})
        r = self.reg.put_manifest(full_repo, tag, index, bh.OCI_INDEX)
        self.assertStatus(r, 201)
        return bh.sha256(index), [c["digest"] for c in children]

    def push_chart(self, repo, path, tag):
        with open(path, "rb") as f:
            tgz = f.read()
        config = json.dumps({"name": "berth-demo", "version": tag, "apiVersion": "v2",
                             "description": "a chart"}).encode()
        self.reg.push_blob(repo, config)
        self.reg.push_blob(repo, tgz)
        m = bh.dumps({"schemaVersion": 2, "config": bh.descriptor(HELM_CONFIG, config),
                      "layers": [bh.descriptor(HELM_LAYER, tgz)]})
        self.assertStatus(self.reg.put_manifest(repo, tag, m, bh.OCI_MANIFEST), 201)
        return bh.sha256(m)


class RepositoryTest(ArtifactCase):
    def test_list_get_update_delete(self):
        p = bh.unique("rp")
        self.api.create_project(p)
        self.reg.push_image(p + "/app", tag="v1")
        self.reg.push_image(p + "/team/tool", tag="v1")
        self.reg.push_image(p + "/team/tool", tag="v2")
        r = self.api.call("GET", "/projects/%s/repositories?page_size=1" % p)
        self.assertStatus(r, 200)
        self.assertEqual(r.header("X-Total-Count"), "2")
        self.assertIn('rel="next"', r.header("Link"))
        repos = self.api.ok("GET", "/projects/%s/repositories?page_size=10&sort=name" % p)
        self.assertEqual([x["name"] for x in repos], [p + "/app", p + "/team/tool"])
        self.shape(repos, {"type": "array", "items": {"$ref": "#/definitions/Repository"}})
        self.assertEqual([x["artifact_count"] for x in repos], [1, 2])
        self.assertEqual(repos[0]["pull_count"], 0)
        fuzzy = self.api.ok("GET", "/projects/%s/repositories?q=name%%3D~tool" % p)
        self.assertEqual([x["name"] for x in fuzzy], [p + "/team/tool"])

        one = self.api.ok("GET", "/projects/%s/repositories/%s" % (p, enc("team/tool")))
        self.assertEqual(one["name"], p + "/team/tool")
        # Once-encoded slashes work too.
        self.api.ok("GET", "/projects/%s/repositories/team%%2Ftool" % p)
        self.api.ok("PUT", "/projects/%s/repositories/%s" % (p, enc("team/tool")),
                    {"description": "the tool"})
        one = self.api.ok("GET", "/projects/%s/repositories/%s" % (p, enc("team/tool")))
        self.assertEqual(one["description"], "the tool")

        self.api.ok("DELETE", "/projects/%s/repositories/%s" % (p, enc("team/tool")))
        self.assertRefused(self.api.call("GET", "/projects/%s/repositories/%s"
                                         % (p, enc("team/tool"))), 404)
        self.assertError(self.reg.request("GET", "/v2/%s/team/tool/tags/list" % p), 404,
                         "NAME_UNKNOWN")
        self.assertRefused(self.api.call("DELETE", "/projects/%s/repositories/%s"
                                         % (p, enc("team/tool"))), 404)
        # The other repository is untouched.
        self.assertStatus(self.reg.request("GET", "/v2/%s/app/manifests/v1" % p), 200)

    def test_bad_input(self):
        p = bh.unique("rb")
        self.api.create_project(p)
        self.reg.push_image(p + "/app", tag="v1")
        base = "/projects/%s/repositories" % p
        self.assertRefused(self.api.call("GET", base + "/UPPER"), 400)
        self.assertRefused(self.api.call("GET", base + "/a..b"), 400)
        self.assertRefused(self.api.call("GET", base + "?page_size=0"), 400)
        self.assertRefused(self.api.call("GET", base + "?q=nosuchkey%3D1"), 400)
        self.assertRefused(self.api.call("GET", base + "?sort=nosuchkey"), 400)
        self.assertRefused(self.api.call("PUT", base + "/app", raw=b"{not json"), 400)
        self.assertRefused(self.api.call("PUT", base + "/app", {"description": 5}), 400)
        self.assertRefused(self.api.call("GET", "/projects/nosuchproject%s/repositories" % p), 404)
        self.assertRefused(self.api.call("GET", base + "/nosuchrepo"), 404)

    def test_all_repositories_search_statistics_by_visibility(self):
        pub, priv = bh.unique("pub"), bh.unique("priv")
        self.api.create_project(pub, public=True)
        self.api.create_project(priv)
        self.reg.push_image(pub + "/shared-thing", tag="v1")
        self.reg.push_image(priv + "/secret-thing", tag="v1")
        user = self.api.create_user(bh.unique("u"))

        names = lambda rs: {x["name"] for x in rs}  # noqa: E731
        admin = self.api.ok("GET", "/repositories?page_size=100")
        self.assertTrue({pub + "/shared-thing", priv + "/secret-thing"} <= names(admin))
        mine = self.api.ok("GET", "/repositories?page_size=100", auth=user)
        self.assertIn(pub + "/shared-thing", names(mine))
        self.assertNotIn(priv + "/secret-thing", names(mine))
        anon = self.api.ok("GET", "/repositories?page_size=100", auth=None)
        self.assertNotIn(priv + "/secret-thing", names(anon))

        found = self.api.ok("GET", "/search?q=" + priv)
        self.shape(found, "Search")
        self.assertEqual([x["name"] for x in found["project"]], [priv])
        self.assertEqual([x["repository_name"] for x in found["repository"]],
                         [priv + "/secret-thing"])
        self.assertEqual(found["repository"][0]["artifact_count"], 1)
        self.assertFalse(found["repository"][0]["project_public"])
        hidden = self.api.ok("GET", "/search?q=" + priv, auth=user)
        self.assertEqual((hidden["project"], hidden["repository"]), ([], []))
        seen = self.api.ok("GET", "/search?q=" + pub, auth=None)
        self.assertEqual([x["repository_name"] for x in seen["repository"]],
                         [pub + "/shared-thing"])

        stats = self.api.ok("GET", "/statistics")
        self.shape(stats, "Statistic")
        self.assertGreaterEqual(stats["total_project_count"], 3)
        self.assertGreaterEqual(stats["total_repo_count"], 2)
        self.assertGreater(stats["total_storage_consumption"], 0)
        user_stats = self.api.ok("GET", "/statistics", auth=user)
        self.assertEqual((user_stats["total_project_count"], user_stats["total_storage_consumption"],
                          user_stats["private_project_count"]), (0, 0, 0))
        self.assertGreaterEqual(user_stats["public_repo_count"], 1)
        self.assertRefused(self.api.call("GET", "/statistics", auth=None), 401)


class ArtifactTest(ArtifactCase):
    def test_image_list_get_shape_and_filters(self):
        p = bh.unique("ap")
        self.api.create_project(p)
        body1, d1 = self.reg.push_image(p + "/app", tag="v1")
        # (Re-pushed from what was pushed: a GET would be a pull.)
        self.assertStatus(self.reg.put_manifest(p + "/app", "latest", body1, bh.OCI_MANIFEST), 201)
        _, d2 = self.reg.push_image(p + "/app")  # untagged, pushed later
        arts = self.arts(p, "app")
        self.shape(arts, {"type": "array", "items": {"$ref": "#/definitions/Artifact"}})
        self.assertEqual([a["digest"] for a in arts], [d2, d1])  # newest push first
        a = arts[1]
        self.assertEqual(a["type"], "IMAGE")
        self.assertEqual(a["manifest_media_type"], bh.OCI_MANIFEST)
        self.assertEqual(a["media_type"], bh.OCI_CONFIG)
        self.assertEqual(a["repository_name"], p + "/app")
        self.assertEqual(sorted(t["name"] for t in a["tags"]), ["latest", "v1"])
        self.assertEqual(a["extra_attrs"]["architecture"], "amd64")
        self.assertEqual(a["extra_attrs"]["os"], "linux")
        self.assertTrue(a["icon"].startswith("sha256:"))
        self.assertEqual(set(a["addition_links"]), {"build_history"})
        self.assertFalse(a["addition_links"]["build_history"]["absolute"])
        self.assertEqual(a["pull_time"], "0001-01-01T00:00:00.000Z")
        icon = self.api.ok("GET", "/icons/" + a["icon"], auth=None)
        self.assertIn("content", icon)

        by_tag = self.api.ok("GET", self.art_path(p, "app", "v1"))
        by_digest = self.api.ok("GET", self.art_path(p, "app", d1))
        self.assertEqual(by_tag["id"], by_digest["id"])
        self.assertNotIn("tags", self.api.ok("GET", self.art_path(p, "app", d1) + "?with_tag=false"))

        def digests(query):
            return [x["digest"] for x in self.arts(p, "app", query)]
        self.assertEqual(digests("?q=tags%3Dnil"), [d2])
        self.assertEqual(digests("?q=tags%3D*"), [d1])
        self.assertEqual(digests("?q=tags%3D~lat"), [d1])
        self.assertEqual(digests("?q=digest%3D" + d2), [d2])
        self.assertEqual(digests("?q=type%3DIMAGE&sort=push_time"), [d1, d2])
        r = self.api.call("GET", self.art_path(p, "app", "")[:-1] + "?page=2&page_size=1")
        self.assertEqual(r.header("X-Total-Count"), "2")
        self.assertEqual([x["digest"] for x in r.json()], [d1])

        history = self.api.call("GET", self.art_path(p, "app", d1) + "/additions/build_history")
        self.assertStatus(history, 200)
        self.assertTrue(history.header("Content-Type").startswith("application/json"))
        self.assertRefused(self.api.call("GET", self.art_path(p, "app", d1) +
                                         "/additions/values.yaml"), 404)
        self.assertRefused(self.api.call("GET", self.art_path(p, "app", d1) +
                                         "/additions/nonsense"), 404)

    def test_bad_references_and_parameters(self):
        p = bh.unique("ab")
        self.api.create_project(p)
        self.reg.push_image(p + "/app", tag="v1")
        self.assertRefused(self.api.call("GET", self.art_path(p, "app", "sha256:nothex")), 400)
        self.assertRefused(self.api.call("GET", self.art_path(p, "app", "bad%20tag")), 400)
        self.assertRefused(self.api.call("GET", self.art_path(p, "app", "v2")), 404)
        self.assertRefused(self.api.call("GET", self.art_path(p, "nope", "v1")), 404)
        base = "/projects/%s/repositories/app/artifacts" % p
        self.assertRefused(self.api.call("GET", base + "?with_tag=maybe"), 400)
        self.assertRefused(self.api.call("GET", base + "?q=labels%3Dabc"), 400)
        self.assertRefused(self.api.call("GET", base + "?q=size%3Dbig"), 400)
        self.assertRefused(self.api.call("POST", base), 400)
        self.assertRefused(self.api.call("POST", base + "?from=nonsense"), 400)
        self.assertRefused(self.api.call("POST", base + "?from=%s/app:nosuchtag" % p), 404)

    def test_index_references_and_delete(self):
        p = bh.unique("ai")
        self.api.create_project(p)
        index, children = self.push_index(p + "/multi", "v1")
        arts = self.arts(p, "multi")
        self.assertEqual([a["digest"] for a in arts], [index])  # children listed under it
        self.assertEqual(arts[0]["type"], "IMAGE")
        refs = arts[0]["references"]
        self.assertEqual(sorted(r["child_digest"] for r in refs), sorted(children))
        self.assertEqual(sorted(r["platform"]["architecture"] for r in refs), ["amd64", "arm64"])
        self.assertEqual(arts[0]["addition_links"], {})
        repo = self.api.ok("GET", "/projects/%s/repositories/multi" % p)
        self.assertEqual(repo["artifact_count"], 1)
        # A child is still an artifact of its own.
        self.api.ok("GET", self.art_path(p, "multi", children[0]))
        self.assertRefused(self.api.call("DELETE", self.art_path(p, "multi", children[0])), 412)
        self.api.ok("DELETE", self.art_path(p, "multi", "v1"))
        self.assertEqual(self.arts(p, "multi"), [])
        self.assertRefused(self.api.call("GET", self.art_path(p, "multi", children[0])), 404)

    def test_accessories_hidden_listed_and_deleted_with_subject(self):
        p = bh.unique("ac")
        self.api.create_project(p)
        body, subject = self.reg.push_image(p + "/app", tag="v1")
        sig = self.reg.push_cosign_signature(p + "/app", subject)
        sbom = self.reg.push_sbom_referrer(p + "/app", subject, len(body))
        arts = self.arts(p, "app")
        self.assertEqual([a["digest"] for a in arts], [subject])
        self.assertNotIn("accessories", arts[0])
        arts = self.arts(p, "app", "?with_accessory=true")
        acc = {a["digest"]: a for a in arts[0]["accessories"]}
        self.assertEqual(set(acc), {sig, sbom})
        self.assertEqual(acc[sig]["type"], "signature.cosign")
        self.assertEqual(acc[sbom]["type"], "harbor.sbom")
        for a in acc.values():
            self.shape(a, "Accessory")
            self.assertEqual(a["subject_artifact_digest"], subject)
            self.assertEqual(a["subject_artifact_repo"], p + "/app")
            self.assertEqual(a["subject_artifact_id"], arts[0]["id"])
        listed = self.api.call("GET", self.art_path(p, "app", subject) + "/accessories")
        self.assertStatus(listed, 200)
        self.assertEqual(listed.header("X-Total-Count"), "2")
        self.assertEqual({a["digest"] for a in listed.json()}, {sig, sbom})
        # The accessories themselves are artifacts with Harbor's types.
        self.assertEqual(self.api.ok("GET", self.art_path(p, "app", sig))["type"], "SIGNATURE")
        self.assertEqual(self.api.ok("GET", self.art_path(p, "app", sbom))["type"], "SBOM")
        self.assertEqual(self.api.ok("GET", "/projects/%s/repositories/app" % p)["artifact_count"], 1)

        self.api.ok("DELETE", self.art_path(p, "app", "v1"))
        for d in (subject, sig, sbom):
            self.assertError(self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, d)), 404,
                             "MANIFEST_UNKNOWN")
        self.assertError(self.reg.request(
            "GET", "/v2/%s/app/manifests/%s.sig" % (p, subject.replace(":", "-"))), 404,
            "MANIFEST_UNKNOWN")

    def test_tags(self):
        p = bh.unique("at")
        self.api.create_project(p)
        _, d1 = self.reg.push_image(p + "/app", tag="v1")
        _, d2 = self.reg.push_image(p + "/app", tag="v2")
        tags = self.art_path(p, "app", d1) + "/tags"
        r = self.api.call("POST", tags, {"name": "stable"})
        self.assertStatus(r, 201)
        self.assertStatus(self.reg.request("GET", "/v2/%s/app/manifests/stable" % p), 200)
        self.assertRefused(self.api.call("POST", tags, {"name": "v2"}), 409)  # on another artifact
        self.assertRefused(self.api.call("POST", tags, {"name": "stable"}), 409)
        self.assertRefused(self.api.call("POST", tags, {"name": "-bad"}), 400)
        self.assertRefused(self.api.call("POST", tags, {}), 400)
        listed = self.api.ok("GET", tags)
        self.shape(listed, {"type": "array", "items": {"$ref": "#/definitions/Tag"}})
        self.assertEqual(sorted(t["name"] for t in listed), ["stable", "v1"])
        self.assertEqual([t["name"] for t in self.api.ok("GET", tags + "?q=name%3D~sta")],
                         ["stable"])
        self.assertRefused(self.api.call("DELETE", tags + "/v2"), 404)  # not this artifact's
        self.api.ok("DELETE", tags + "/stable")
        self.assertError(self.reg.request("GET", "/v2/%s/app/manifests/stable" % p), 404,
                         "MANIFEST_UNKNOWN")
        self.assertStatus(self.reg.request("GET", "/v2/%s/app/manifests/%s" % (p, d2)), 200)

    def test_labels_on_artifacts(self):
        p = bh.unique("al")
        pid = self.api.create_project(p)
        other = self.api.create_project(bh.unique("alo"))
        _, d1 = self.reg.push_image(p + "/app", tag="v1")
        _, d2 = self.reg.push_image(p + "/app", tag="v2")
        g = self.api.create_label({"name": bh.unique("gl"), "scope": "g"})
        mine = self.api.create_label({"name": bh.unique("pl"), "scope": "p", "project_id": pid})
        theirs = self.api.create_label({"name": bh.unique("ol"), "scope": "p", "project_id": other})
        labels = self.art_path(p, "app", d1) + "/labels"
        self.api.ok("POST", labels, {"id": g})
        self.api.ok("POST", labels, {"id": mine})
        self.assertRefused(self.api.call("POST", labels, {"id": g}), 409)
        self.assertRefused(self.api.call("POST", labels, {"id": theirs}), 400)
        self.assertRefused(self.api.call("POST", labels, {"id": 999999}), 404)
        self.assertRefused(self.api.call("POST", labels, {"id": "x"}), 400)
        got = self.api.ok("GET", self.art_path(p, "app", d1) + "?with_label=true")
        self.assertEqual(sorted(x["id"] for x in got["labels"]), sorted([g, mine]))
        self.assertEqual([a["digest"] for a in self.arts(p, "app", "?q=labels%%3D%d" % g)], [d1])
        self.assertEqual([a["digest"] for a in self.arts(p, "app", "?q=labels%%3D(%d%%20%d)"
                                                         % (g, mine))], [d1])
        self.assertEqual(self.arts(p, "app", "?q=labels%%3D%d" % theirs), [])
        self.api.ok("DELETE", labels + "/%d" % g)
        self.assertRefused(self.api.call("DELETE", labels + "/%d" % g), 404)
        got = self.api.ok("GET", self.art_path(p, "app", d1) + "?with_label=true")
        self.assertEqual([x["id"] for x in got["labels"]], [mine])
        self.assertNotIn(d2, [a["digest"] for a in self.arts(p, "app", "?q=labels%%3D%d" % mine)])

    def test_copy_links_blobs_with_tags_and_accessories(self):
        src, dst = bh.unique("cs"), bh.unique("cd")
        self.api.create_project(src)
        self.api.create_project(dst)
        body, subject = self.reg.push_image(src + "/app", tag="v1", layers=2)
        sig = self.reg.push_cosign_signature(src + "/app", subject)
        index, children = self.push_index(src + "/multi", "m1")
        r = self.api.call("POST", "/projects/%s/repositories/copied/artifacts?from=%s/app:v1"
                          % (dst, src))
        self.assertStatus(r, 201)
        self.assertTrue(r.header("Location").endswith("/artifacts/" + subject))
        arts = self.arts(dst, "copied", "?with_accessory=true")
        self.assertEqual([a["digest"] for a in arts], [subject])
        self.assertEqual([t["name"] for t in arts[0]["tags"]], ["v1"])
        self.assertEqual([a["digest"] for a in arts[0]["accessories"]], [sig])
        m = json.loads(body)
        for layer in m["layers"]:
            self.assertStatus(self.reg.request("GET", "/v2/%s/copied/blobs/%s"
                                               % (dst, layer["digest"])), 200)
        # An index by digest, with its children.
        self.assertStatus(self.api.call(
            "POST", "/projects/%s/repositories/%s/artifacts?from=%s/multi@%s"
            % (dst, enc("x/multi"), src, index)), 201)
        self.assertEqual([a["digest"] for a in self.arts(dst, "x/multi")], [index])
        for c in children:
            self.assertStatus(self.reg.request("GET", "/v2/%s/x/multi/manifests/%s" % (dst, c)), 200)
        # The source is untouched; copying onto itself is refused.
        self.assertEqual([a["digest"] for a in self.arts(src, "app")], [subject])
        self.assertRefused(self.api.call("POST", "/projects/%s/repositories/app/artifacts?from=%s/app:v1"
                                         % (src, src)), 400)

    def test_pull_time_and_count_recorded(self):
        p = bh.unique("pt")
        self.api.create_project(p)
        _, d = self.reg.push_image(p + "/app", tag="v1")
        for _ in range(3):
            self.assertStatus(self.reg.request("GET", "/v2/%s/app/manifests/v1" % p), 200)
        self.assertStatus(self.reg.request("HEAD", "/v2/%s/app/manifests/v1" % p), 200)
        deadline = time.time() + 10
        while True:
            repo = self.api.ok("GET", "/projects/%s/repositories/app" % p)
            art = self.api.ok("GET", self.art_path(p, "app", d))
            if repo["pull_count"] >= 3 or time.time() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(repo["pull_count"], 3)  # HEAD is not a pull
        self.assertNotEqual(art["pull_time"], "0001-01-01T00:00:00.000Z")
        self.assertNotEqual(art["tags"][0]["pull_time"], "0001-01-01T00:00:00.000Z")


class ChartTest(ArtifactCase):
    def test_chart_type_and_additions(self):
        p = bh.unique("ch")
        self.api.create_project(p)
        d = self.push_chart(p + "/charts/demo", os.path.join(CHARTS, "berth-demo-0.3.0.tgz"), "0.3.0")
        a = self.api.ok("GET", self.art_path(p, "charts/demo", "0.3.0"))
        self.assertEqual(a["digest"], d)
        self.assertEqual(a["type"], "CHART")
        self.assertEqual(a["extra_attrs"]["name"], "berth-demo")
        self.assertEqual(set(a["addition_links"]), {"values.yaml", "readme.md", "dependencies"})
        for name, ctype in (("values.yaml", "text/plain"), ("readme.md", "text/markdown"),
                            ("dependencies", "application/json")):
            r = self.api.call("GET", a["addition_links"][name]["href"][len("/api/v2.0"):])
            self.assertStatus(r, 200)
            self.assertTrue(r.header("Content-Type").startswith(ctype), "%r" % r)
        deps = self.api.ok("GET", self.art_path(p, "charts/demo", d) + "/additions/dependencies")
        self.assertIsInstance(deps, list)
        self.assertRefused(self.api.call("GET", self.art_path(p, "charts/demo", d) +
                                         "/additions/build_history"), 404)


class ProjectArtifactsTest(ArtifactCase):
    """GET /projects/{project_name_or_id}/artifacts: every repository's
    top-level artifacts, Harbor's filters, and latest_in_repository."""

    def test_across_repositories_filters_and_latest(self):
        p = bh.unique("pa")
        pid = self.api.create_project(p)
        _, a1 = self.reg.push_image(p + "/a", tag="v1")
        _, a2 = self.reg.push_image(p + "/a", tag="v2")
        _, b1 = self.reg.push_image(p + "/team/b", tag="v1")
        c1 = self.push_chart(p + "/charts/demo", os.path.join(CHARTS, "berth-demo-0.3.0.tgz"), "0.3.0")
        idx, children = self.push_index(p + "/multi", "m1")
        other = bh.unique("po")
        self.api.create_project(other)
        self.reg.push_image(other + "/x", tag="v1")

        base = "/projects/%s/artifacts" % p
        r = self.api.call("GET", base)
        self.assertStatus(r, 200)
        arts = r.json()
        self.shape(arts, {"type": "array", "items": {"$ref": "#/definitions/Artifact"}})
        # Top-level only (the index's children are not listed), newest first.
        self.assertEqual([a["digest"] for a in arts], [idx, c1, b1, a2, a1])
        self.assertEqual(r.header("X-Total-Count"), "5")
        repos = {a["digest"]: a["repository_name"] for a in arts}
        self.assertEqual(repos, {idx: p + "/multi", c1: p + "/charts/demo", b1: p + "/team/b",
                                 a2: p + "/a", a1: p + "/a"})
        self.assertEqual({a["project_id"] for a in arts}, {pid})
        self.assertEqual([t["name"] for t in arts[2]["tags"]], ["v1"])
        self.assertEqual(len(arts[0]["references"]), len(children))
        self.assertEqual(arts[1]["type"], "CHART")
        # By the project's id too.
        self.assertEqual([a["id"] for a in self.api.ok("GET", "/projects/%d/artifacts" % pid)],
                         [a["id"] for a in arts])

        def digests(query):
            return [a["digest"] for a in self.api.ok("GET", base + query)]
        self.assertEqual(digests("?q=tags%3Dv1"), [b1, a1])
        self.assertEqual(digests("?q=type%3DCHART"), [c1])
        self.assertEqual(digests("?q=media_type%3D" + urllib.parse.quote(HELM_CONFIG, safe="")), [c1])
        self.assertEqual(digests("?sort=push_time&page=2&page_size=2"), [b1, c1])
        r = self.api.call("GET", base + "?page=3&page_size=2")
        self.assertEqual(r.header("X-Total-Count"), "5")
        self.assertEqual([a["digest"] for a in r.json()], [a1])
        # latest_in_repository: each repository's newest of that type; Harbor
        # ignores it without a type in q.
        oci_config = urllib.parse.quote(bh.OCI_CONFIG, safe="")
        self.assertEqual(digests("?latest_in_repository=true&q=media_type%3D" + oci_config),
                         [b1, a2])
        self.assertEqual(digests("?latest_in_repository=true&q=artifact_type%3D" + oci_config),
                         [b1, a2])
        self.assertEqual(digests("?latest_in_repository=false&q=media_type%3D" + oci_config),
                         [b1, a2, a1])
        self.assertEqual(len(digests("?latest_in_repository=true")), 5)
        # Labels and the options of the repository list apply.
        label = self.api.create_label({"name": bh.unique("l"), "scope": "g"})
        self.api.ok("POST", self.art_path(p, "a", a1) + "/labels", {"id": label})
        self.assertEqual(digests("?q=labels%3D" + str(label)), [a1])
        labeled = self.api.ok("GET", base + "?with_label=true&q=labels%3D" + str(label))
        self.assertEqual([l["id"] for l in labeled[0]["labels"]], [label])
        self.assertNotIn("tags", self.api.ok("GET", base + "?with_tag=false")[0])
        # An empty project lists nothing.
        empty = bh.unique("pe")
        self.api.create_project(empty)
        r = self.api.call("GET", "/projects/%s/artifacts" % empty)
        self.assertEqual((r.json(), r.header("X-Total-Count")), ([], "0"))

    def test_bad_input(self):
        p = bh.unique("pb")
        self.api.create_project(p)
        base = "/projects/%s/artifacts" % p
        self.assertRefused(self.api.call("GET", base + "?with_tag=maybe"), 400)
        self.assertRefused(self.api.call("GET", base + "?latest_in_repository=1x"), 400)
        self.assertRefused(self.api.call("GET", base + "?q=size%3Dbig"), 400)
        self.assertRefused(self.api.call("GET", base + "?q=nosuchkey%3D1"), 400)
        self.assertRefused(self.api.call("GET", base + "?page_size=-1"), 400)
        self.assertRefused(self.api.call("GET", "/projects/%s/artifacts" % bh.unique("none")), 404)
        self.assertRefused(self.api.call("GET", "/projects/999999/artifacts"), 404)


class RbacTest(ArtifactCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p = bh.unique("rbac")
        cls.pid = cls.api.create_project(cls.p)
        cls.users = {}
        for role in ("guest", "developer", "maintainer"):
            u = cls.api.create_user(bh.unique(role[:4]))
            cls.api.add_member(cls.pid, u, role)
            cls.users[role] = u
        cls.users["outsider"] = cls.api.create_user(bh.unique("out"))

    def test_reads_by_role(self):
        _, d = self.reg.push_image(self.p + "/app", tag="v1")
        for role in ("guest", "developer", "maintainer"):
            u = self.users[role]
            self.assertEqual(len(self.arts(self.p, "app", auth=u)), 1)
            self.api.ok("GET", "/projects/%s/repositories/app" % self.p, auth=u)
            self.api.ok("GET", "/projects/%s/artifacts" % self.p, auth=u)
            self.api.ok("GET", self.art_path(self.p, "app", d) + "/tags", auth=u)
        for auth, status in ((None, 401), (self.users["outsider"], 403)):
            for path in ("/projects/%s/repositories" % self.p,
                         "/projects/%s/repositories/app" % self.p,
                         "/projects/%s/repositories/app/artifacts" % self.p,
                         "/projects/%s/artifacts" % self.p,
                         self.art_path(self.p, "app", d),
                         self.art_path(self.p, "app", d) + "/tags",
                         self.art_path(self.p, "app", d) + "/accessories",
                         self.art_path(self.p, "app", d) + "/additions/build_history"):
                self.assertRefused(self.api.call("GET", path, auth=auth), status)

    def test_writes_by_role(self):
        _, d = self.reg.push_image(self.p + "/w", tag="v1")
        tags = self.art_path(self.p, "w", d) + "/tags"
        g = self.api.create_label({"name": bh.unique("l"), "scope": "g"})
        guest, dev, maint = (self.users[r] for r in ("guest", "developer", "maintainer"))
        # Guests write nothing.
        self.assertRefused(self.api.call("POST", tags, {"name": "g1"}, auth=guest), 403)
        self.assertRefused(self.api.call("POST", self.art_path(self.p, "w", d) + "/labels",
                                         {"id": g}, auth=guest), 403)
        self.assertRefused(self.api.call("PUT", "/projects/%s/repositories/w" % self.p,
                                         {"description": "x"}, auth=guest), 403)
        self.assertRefused(self.api.call("DELETE", self.art_path(self.p, "w", d), auth=guest), 403)
        # Developers tag, label and describe, but do not delete.
        self.assertStatus(self.api.call("POST", tags, {"name": "d1"}, auth=dev), 201)
        self.api.ok("POST", self.art_path(self.p, "w", d) + "/labels", {"id": g}, auth=dev)
        self.api.ok("PUT", "/projects/%s/repositories/w" % self.p, {"description": "x"}, auth=dev)
        self.assertRefused(self.api.call("DELETE", tags + "/d1", auth=dev), 403)
        self.assertRefused(self.api.call("DELETE", self.art_path(self.p, "w", d), auth=dev), 403)
        self.assertRefused(self.api.call("DELETE", "/projects/%s/repositories/w" % self.p,
                                         auth=dev), 403)
        # Copies need create here and pull at the source.
        secret = bh.unique("sec")
        self.api.create_project(secret)
        self.reg.push_image(secret + "/hidden", tag="v1")
        self.assertRefused(self.api.call(
            "POST", "/projects/%s/repositories/c/artifacts?from=%s/hidden:v1" % (self.p, secret),
            auth=dev), 403)
        self.assertRefused(self.api.call(
            "POST", "/projects/%s/repositories/c/artifacts?from=%s/w:v1" % (self.p, self.p),
            auth=guest), 403)
        self.assertStatus(self.api.call(
            "POST", "/projects/%s/repositories/c/artifacts?from=%s/w:v1" % (self.p, self.p),
            auth=dev), 201)
        # Maintainers delete.
        self.api.ok("DELETE", tags + "/d1", auth=maint)
        self.api.ok("DELETE", self.art_path(self.p, "w", d), auth=maint)
        self.api.ok("DELETE", "/projects/%s/repositories/w" % self.p, auth=maint)
        self.assertRefused(self.api.call("DELETE", "/projects/%s/repositories/c" % self.p,
                                         auth=None), 401)


if __name__ == "__main__":
    bh.main()
