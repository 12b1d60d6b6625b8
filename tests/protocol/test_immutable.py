#!/usr/bin/env python3
"""Immutable tag rules: Harbor's /projects/{p}/immutabletagrules (list with
paging, create, update and toggle, delete; shapes checked against Harbor's
swagger), bad input naming the field, the 15-rule limit and duplicates,
each role's grants and refusals, and enforcement: a tag a rule matches
cannot be moved by a push or deleted on any path — /v2 manifest PUT and
DELETE (tag or digest), the API's tag, artifact and repository deletes,
copies — by anyone, administrators included (412 PRECONDITION naming the
rule); pushing the same digest again is allowed; disabled rules and
excludes decorations; tags' immutable status in lists; rules going with
their project.

Runs on SQLite, and on PostgreSQL as protocol_pg.immutable. Python 3 with
PyYAML for the swagger checks (skipped without it).
"""

import base64
import urllib.parse

import berth_harness as bh
import swagger_shape as ss
from harbor_api import Api


def enc(repo):
    """A repository path parameter as Harbor's clients send it."""
    return urllib.parse.quote(urllib.parse.quote(repo, safe=""), safe="")


def rule(tag="**", repo="**", tag_decoration="matches", repo_decoration="repoMatches", **extra):
    body = {"action": "immutable", "template": "immutable_template", "priority": 0,
            "disabled": False,
            "tag_selectors": [{"kind": "doublestar", "decoration": tag_decoration,
                               "pattern": tag}],
            "scope_selectors": {"repository": [{"kind": "doublestar",
                                                "decoration": repo_decoration,
                                                "pattern": repo}]}}
    body.update(extra)
    return body


class ImmutableCase(bh.RegistryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = Api(cls.reg)
        cls.swagger = ss.skip_reason() is None

    def shape(self, obj, schema):
        if self.swagger:
            ss.assert_shape(obj, schema)

    def assertRefused(self, r, status, mentions=None):
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                409: "CONFLICT", 412: "PRECONDITION"}[status]
        self.assertEqual(r.status, status, "%r" % r)
        self.assertEqual(r.error_codes(), [code], "%r" % r)
        if mentions is not None:
            self.assertIn(mentions, r.json()["errors"][0]["message"], "%r" % r)

    def rules_path(self, project):
        return "/projects/%s/immutabletagrules" % project

    def create_rule(self, project, body, auth="admin"):
        r = self.api.call("POST", self.rules_path(project), body, auth=auth)
        self.assertEqual(r.status, 201, "%r" % r)
        loc = r.header("Location")
        self.assertRegex(loc, r"^/api/v2\.0/projects/[^/]+/immutabletagrules/\d+$")
        return int(loc.rsplit("/", 1)[1])

    def rules(self, project, query=""):
        return self.api.ok("GET", self.rules_path(project) + query)

    def art_path(self, project, repo, ref):
        return "/projects/%s/repositories/%s/artifacts/%s" % (project, enc(repo), ref)

    def immutable_refusal(self, r, rule_id, what):
        """412 with Harbor's error body (code PRECONDITION, on /v2 too) and a
        message saying which tag and which rule."""
        self.assertEqual(r.status, 412, "%r" % r)
        self.assertTrue(r.header("X-Request-Id"), "%r" % r)
        ctype = (r.header("Content-Type") or "").split(";")[0].strip()
        self.assertEqual(ctype, "application/json", "%r" % r)
        errors = r.json()["errors"]
        self.assertEqual([e["code"] for e in errors], ["PRECONDITION"], "%r" % r)
        msg = errors[0]["message"]
        self.assertIn("configured as immutable", msg)
        self.assertIn("immutable tag rule %d" % rule_id, msg)
        self.assertIn(what, msg)
        return msg

    def v2(self, method, path, body=None, headers=None):
        # Harbor's PRECONDITION is not a distribution-spec code: the harness's
        # spec check is skipped here and immutable_refusal checks the format.
        return self.reg.request(method, path, body, headers, check=False)

    def tag_target(self, full_repo, tag):
        r = self.reg.request("HEAD", "/v2/%s/manifests/%s" % (full_repo, tag),
                             headers={"Accept": bh.OCI_MANIFEST})
        return r.header("Docker-Content-Digest") if r.status == 200 else None


class RuleApiTest(ImmutableCase):
    def test_crud_paging_and_shapes(self):
        p = bh.unique("ir")
        pid = self.api.create_project(p)
        first = self.create_rule(p, rule(tag="v*", repo="team/**", priority=3))
        second = self.create_rule(p, rule(tag="release-*", tag_decoration="excludes",
                                          repo="tmp/**", repo_decoration="repoExcludes"))
        listed = self.rules(p)
        self.shape(listed, {"type": "array", "items": {"$ref": "#/definitions/ImmutableRule"}})
        self.assertEqual([x["id"] for x in listed], [first, second])
        self.assertEqual(listed[0], {
            "id": first, "priority": 3, "disabled": False, "action": "immutable",
            "template": "immutable_template",
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar",
                                                "decoration": "repoMatches",
                                                "pattern": "team/**"}]}})
        self.assertEqual(listed[1]["tag_selectors"][0]["decoration"], "excludes")
        self.assertEqual(listed[1]["scope_selectors"]["repository"][0]["decoration"],
                         "repoExcludes")
        # Paging, by id or by name.
        r = self.api.call("GET", "/projects/%d/immutabletagrules?page=1&page_size=1" % pid)
        self.assertEqual(r.status, 200, "%r" % r)
        self.assertEqual(r.header("X-Total-Count"), "2")
        self.assertIn('rel="next"', r.header("Link"))
        self.assertEqual([x["id"] for x in r.json()], [first])
        page2 = self.rules(p, "?page=2&page_size=1")
        self.assertEqual([x["id"] for x in page2], [second])
        self.assertEqual([x["id"] for x in self.rules(p, "?sort=-id")], [second, first])

        # Update: everything changes, including disabled (Harbor's toggle).
        body = rule(tag="{v1,v2}", repo="app", disabled=True, priority=9)
        body["id"] = first
        self.api.ok("PUT", self.rules_path(p) + "/%d" % first, body)
        got = [x for x in self.rules(p) if x["id"] == first][0]
        self.assertTrue(got["disabled"])
        self.assertEqual(got["priority"], 9)
        self.assertEqual(got["tag_selectors"][0]["pattern"], "{v1,v2}")
        self.assertEqual(got["scope_selectors"]["repository"][0]["pattern"], "app")
        self.assertEqual(self.rules(p, "?q=disabled%3Dtrue")[0]["id"], first)
        # The body's id may be left out; a different one is refused.
        self.api.ok("PUT", self.rules_path(p) + "/%d" % first, rule(tag="v3"))
        self.assertFalse([x for x in self.rules(p) if x["id"] == first][0]["disabled"])
        bad = rule()
        bad["id"] = second
        self.assertRefused(self.api.call("PUT", self.rules_path(p) + "/%d" % first, bad), 400,
                           "immutable_rule_id")
        # Another project's rule is unknown here.
        other = bh.unique("ir")
        self.api.create_project(other)
        self.assertRefused(self.api.call("PUT", self.rules_path(other) + "/%d" % first,
                                         rule()), 404)
        self.assertRefused(self.api.call("DELETE", self.rules_path(other) + "/%d" % first), 404)
        self.assertRefused(self.api.call("PUT", self.rules_path(p) + "/999999", rule()), 404)

        self.api.ok("DELETE", self.rules_path(p) + "/%d" % first)
        self.assertEqual([x["id"] for x in self.rules(p)], [second])
        self.assertRefused(self.api.call("DELETE", self.rules_path(p) + "/%d" % first), 404)
        self.assertRefused(self.api.call("GET", "/projects/%s/immutabletagrules" %
                                         bh.unique("none")), 404)

    def test_bad_input_names_the_field(self):
        p = bh.unique("ib")
        self.api.create_project(p)
        path = self.rules_path(p)

        def selectors(**kw):
            b = rule()
            b.update(kw)
            return b

        cases = [
            (selectors(tag_selectors=None), "tag_selectors"),
            (selectors(tag_selectors=[]), "tag_selectors"),
            (selectors(tag_selectors=[rule()["tag_selectors"][0]] * 2), "tag_selectors"),
            (selectors(tag_selectors="v1"), "tag_selectors"),
            (selectors(tag_selectors=[{"kind": "regexp", "decoration": "matches",
                                       "pattern": "v.*"}]), "tag_selectors[0].kind"),
            (selectors(tag_selectors=[{"kind": "doublestar", "decoration": "repoMatches",
                                       "pattern": "v*"}]), "tag_selectors[0].decoration"),
            (selectors(tag_selectors=[{"kind": "doublestar", "decoration": "matches",
                                       "pattern": ""}]), "tag_selectors[0].pattern"),
            (selectors(tag_selectors=[{"kind": "doublestar", "decoration": "matches",
                                       "pattern": "v[1"}]), "tag_selectors[0].pattern"),
            (selectors(tag_selectors=[{"kind": "doublestar", "decoration": "matches",
                                       "pattern": 7}]), "tag_selectors[0].pattern"),
            (selectors(scope_selectors=None), "scope_selectors"),
            (selectors(scope_selectors={}), "scope_selectors.repository"),
            (selectors(scope_selectors={"repository": []}), "scope_selectors.repository"),
            (selectors(scope_selectors={"namespace": []}), "scope_selectors.namespace"),
            (selectors(scope_selectors={"repository": [{"kind": "doublestar",
                                                        "decoration": "matches",
                                                        "pattern": "**"}]}),
             "scope_selectors.repository[0].decoration"),
            (selectors(scope_selectors={"repository": [{"kind": "doublestar",
                                                        "decoration": "repoMatches",
                                                        "pattern": "{a,b"}]}),
             "scope_selectors.repository[0].pattern"),
            (selectors(action="retain"), "action"),
            (selectors(template="latestPushedK"), "template"),
            (selectors(disabled="yes"), "disabled"),
            (selectors(priority="high"), "priority"),
        ]
        for body, field in cases:
            r = self.api.call("POST", path, body)
            self.assertRefused(r, 400, field)
        self.assertRefused(self.api.call("POST", path, raw=b"{not json"), 400)
        self.assertRefused(self.api.call("PUT", path + "/abc", rule()), 400)
        self.assertEqual(self.rules(p), [])

        # A rule with the same selectors: 409, whatever else differs.
        self.create_rule(p, rule(tag="v*"))
        self.assertRefused(self.api.call("POST", path, rule(tag="v*", priority=5,
                                                            disabled=True)), 409)
        # At most 15 rules per project.
        for i in range(14):
            self.create_rule(p, rule(tag="t%d" % i))
        self.assertRefused(self.api.call("POST", path, rule(tag="t99")), 400, "15")
        self.assertEqual(len(self.rules(p, "?page_size=100")), 15)
        # Updating onto another rule's selectors: 409.
        ids = [x["id"] for x in self.rules(p, "?page_size=100")]
        self.assertRefused(self.api.call("PUT", path + "/%d" % ids[1], rule(tag="v*")), 409)


class RuleRbacTest(ImmutableCase):
    ROLES = ("limitedGuest", "guest", "developer", "maintainer", "projectAdmin")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p = bh.unique("irbac")
        cls.pid = cls.api.create_project(cls.p, public=True)
        cls.users = {}
        for role in cls.ROLES:
            u = cls.api.create_user(bh.unique(role[:4].lower()))
            cls.api.add_member(cls.pid, u, role)
            cls.users[role] = u
        cls.users["outsider"] = cls.api.create_user(bh.unique("out"))

    def test_grants_and_refusals_by_role(self):
        managers = {"maintainer", "projectAdmin", "admin"}
        path = self.rules_path(self.p)
        kept = self.create_rule(self.p, rule(tag="kept"))
        for name in ("anonymous", "outsider") + self.ROLES + ("admin",):
            auth = {"anonymous": None, "admin": "admin"}.get(name, self.users.get(name))
            denied = 401 if auth is None else 403
            if name in managers:
                self.assertEqual(self.api.call("GET", path, auth=auth).status, 200, name)
                rid = self.create_rule(self.p, rule(tag=bh.unique(name[:4])), auth=auth)
                self.api.ok("PUT", path + "/%d" % rid, rule(tag=bh.unique("x"), disabled=True),
                            auth=auth)
                self.api.ok("DELETE", path + "/%d" % rid, auth=auth)
            else:
                # Not even a public project's members or visitors read them
                # (Harbor has no read action for immutable-tag).
                self.assertRefused(self.api.call("GET", path, auth=auth), denied)
                self.assertRefused(self.api.call("POST", path, rule(tag="no"), auth=auth), denied)
                # Refused before the body is judged.
                self.assertRefused(self.api.call("POST", path, raw=b"{bad", auth=auth), denied)
                self.assertRefused(self.api.call("PUT", path + "/%d" % kept, rule(tag="no"),
                                                 auth=auth), denied)
                self.assertRefused(self.api.call("DELETE", path + "/%d" % kept, auth=auth),
                                   denied)
        self.assertEqual([x["id"] for x in self.rules(self.p)], [kept])


class EnforcementTest(ImmutableCase):
    def setUp(self):
        super().setUp()
        self.p = bh.unique("ie")
        self.pid = self.api.create_project(self.p)
        self.rule_id = self.create_rule(self.p, rule(tag="v*", repo="**"))
        self.repo = self.p + "/team/app"
        self.body_a, self.a = self.reg.push_image(self.repo, tag="v1")
        self.assertStatus(self.reg.put_manifest(self.repo, "dev", self.body_a, bh.OCI_MANIFEST),
                          201)

    def test_every_refusal_path(self):
        repo, a = self.repo, self.a
        body_b, b = self.reg.push_image(repo)  # by digest: no tag moves
        what = "'team/app:v1'"
        # /v2 push of another digest under the tag.
        r = self.v2("PUT", "/v2/%s/manifests/v1" % repo, body_b, {"Content-Type": bh.OCI_MANIFEST})
        msg = self.immutable_refusal(r, self.rule_id, what)
        self.assertIn("Failed to process request due to", msg)  # Harbor's wording
        self.assertEqual(self.tag_target(repo, "v1"), a)
        # The same digest again is allowed (Harbor).
        self.assertStatus(self.reg.put_manifest(repo, "v1", self.body_a, bh.OCI_MANIFEST), 201)
        # /v2 delete by tag and by digest.
        self.immutable_refusal(self.v2("DELETE", "/v2/%s/manifests/v1" % repo),
                               self.rule_id, what)
        self.immutable_refusal(self.v2("DELETE", "/v2/%s/manifests/%s" % (repo, a)),
                               self.rule_id, what)
        # The API's tag, artifact and repository deletes.
        tag_del = self.api.call("DELETE", self.art_path(self.p, "team/app", a) + "/tags/v1")
        msg = self.immutable_refusal(tag_del, self.rule_id, what)
        self.assertIn("cannot be deleted", msg)
        self.immutable_refusal(self.api.call("DELETE", self.art_path(self.p, "team/app", a)),
                               self.rule_id, what)
        self.immutable_refusal(self.api.call("DELETE", "/projects/%s/repositories/%s"
                                             % (self.p, enc("team/app"))), self.rule_id, what)
        # Copying another artifact's v1 over it.
        src = bh.unique("src")
        self.api.create_project(src)
        self.reg.push_image(src + "/app", tag="v1")
        r = self.api.call("POST", "/projects/%s/repositories/%s/artifacts?from=%s/app:v1"
                          % (self.p, enc("team/app"), src))
        self.immutable_refusal(r, self.rule_id, what)
        # Nothing changed.
        self.assertEqual(self.tag_target(repo, "v1"), a)
        tags = self.api.ok("GET", self.art_path(self.p, "team/app", a) + "/tags")
        self.assertEqual(sorted(t["name"] for t in tags), ["dev", "v1"])

        # Mutable tags go on as ever: moved by a push, deleted on /v2 and API.
        self.assertStatus(self.reg.put_manifest(repo, "dev", body_b, bh.OCI_MANIFEST), 201)
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/manifests/dev" % repo), 202)
        self.assertStatus(self.reg.put_manifest(repo, "dev2", body_b, bh.OCI_MANIFEST), 201)
        self.api.ok("DELETE", self.art_path(self.p, "team/app", b) + "/tags/dev2")
        # A new immutable tag can be pushed once.
        self.assertStatus(self.reg.put_manifest(repo, "v2", body_b, bh.OCI_MANIFEST), 201)
        self.immutable_refusal(self.v2("PUT", "/v2/%s/manifests/v2" % repo, self.body_a,
                                       {"Content-Type": bh.OCI_MANIFEST}),
                               self.rule_id, "'team/app:v2'")

    def test_nobody_is_exempt(self):
        maint = self.api.create_user(bh.unique("mnt"))
        self.api.add_member(self.pid, maint, "maintainer")
        r = self.api.call("DELETE", self.art_path(self.p, "team/app", self.a) + "/tags/v1",
                          auth=maint)
        self.immutable_refusal(r, self.rule_id, "'team/app:v1'")
        # A robot or a user pushing with Basic credentials gets the same.
        hdr = {"Authorization": "Basic " + base64.b64encode(
            ("%s:%s" % maint).encode()).decode()}
        r = self.reg.request("DELETE", "/v2/%s/manifests/v1" % self.repo, headers=hdr,
                             check=False)
        self.immutable_refusal(r, self.rule_id, "'team/app:v1'")

    def test_disabled_rules_are_not_enforced(self):
        repo = self.repo
        body = rule(tag="v*", repo="**", disabled=True)
        self.api.ok("PUT", self.rules_path(self.p) + "/%d" % self.rule_id, body)
        body_b, b = self.reg.push_image(repo)
        self.assertStatus(self.reg.put_manifest(repo, "v1", body_b, bh.OCI_MANIFEST), 201)
        self.assertEqual(self.tag_target(repo, "v1"), b)
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/manifests/v1" % repo), 202)
        # Enabled again, it protects again.
        self.api.ok("PUT", self.rules_path(self.p) + "/%d" % self.rule_id, rule(tag="v*"))
        self.assertStatus(self.reg.put_manifest(repo, "v1", body_b, bh.OCI_MANIFEST), 201)
        self.immutable_refusal(self.v2("DELETE", "/v2/%s/manifests/v1" % repo), self.rule_id,
                               "'team/app:v1'")
        # Deleted, the rule is gone for good.
        self.api.ok("DELETE", self.rules_path(self.p) + "/%d" % self.rule_id)
        self.api.ok("DELETE", "/projects/%s/repositories/%s" % (self.p, enc("team/app")))

    def test_excludes_and_repository_paths(self):
        p = bh.unique("ix")
        self.api.create_project(p)
        rid = self.create_rule(p, rule(tag="dev-*", tag_decoration="excludes",
                                       repo="tmp/**", repo_decoration="repoExcludes"))
        body1, _ = self.reg.push_image(p + "/app", tag="1.0")
        body2, _ = self.reg.push_image(p + "/app", tag="dev-1")
        # 1.0 is not excluded: immutable. dev-1 is: mutable.
        self.immutable_refusal(self.v2("PUT", "/v2/%s/app/manifests/1.0" % p, body2,
                                       {"Content-Type": bh.OCI_MANIFEST}), rid, "'app:1.0'")
        self.assertStatus(self.reg.put_manifest(p + "/app", "dev-1", body1, bh.OCI_MANIFEST), 201)
        # Repositories under tmp/ are excluded from the rule.
        self.reg.push_image(p + "/tmp/x", tag="1.0")
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/tmp/x/manifests/1.0" % p), 202)
        # Repository patterns see the path inside the project, not the project.
        q = bh.unique("iy")
        self.api.create_project(q)
        self.create_rule(q, rule(tag="**", repo=q + "/**"))
        self.reg.push_image(q + "/app", tag="v1")
        self.assertStatus(self.reg.request("DELETE", "/v2/%s/app/manifests/v1" % q), 202)

    def test_immutable_status_in_lists(self):
        base = self.art_path(self.p, "team/app", self.a)
        for query in ("", "?with_immutable_status=false"):
            arts = self.api.ok("GET", "/projects/%s/repositories/%s/artifacts%s"
                               % (self.p, enc("team/app"), query))
            self.assertEqual({t["name"]: t["immutable"] for t in arts[0]["tags"]},
                             {"v1": False, "dev": False})
        arts = self.api.ok("GET", "/projects/%s/repositories/%s/artifacts?with_immutable_status="
                           "true" % (self.p, enc("team/app")))
        self.shape(arts, {"type": "array", "items": {"$ref": "#/definitions/Artifact"}})
        self.assertEqual({t["name"]: t["immutable"] for t in arts[0]["tags"]},
                         {"v1": True, "dev": False})
        one = self.api.ok("GET", base + "?with_immutable_status=true")
        self.assertEqual({t["name"]: t["immutable"] for t in one["tags"]},
                         {"v1": True, "dev": False})
        tags = self.api.ok("GET", base + "/tags?with_immutable_status=true")
        self.shape(tags, {"type": "array", "items": {"$ref": "#/definitions/Tag"}})
        self.assertEqual({t["name"]: t["immutable"] for t in tags}, {"v1": True, "dev": False})
        tags = self.api.ok("GET", base + "/tags")
        self.assertEqual({t["name"]: t["immutable"] for t in tags}, {"v1": False, "dev": False})
        self.assertRefused(self.api.call("GET", base + "/tags?with_immutable_status=maybe"), 400)
        # Disabled: nothing is immutable.
        self.api.ok("PUT", self.rules_path(self.p) + "/%d" % self.rule_id, rule(tag="v*",
                                                                              disabled=True))
        tags = self.api.ok("GET", base + "/tags?with_immutable_status=true")
        self.assertEqual({t["name"]: t["immutable"] for t in tags}, {"v1": False, "dev": False})


class ProjectLifecycleTest(ImmutableCase):
    def test_rules_go_with_their_project(self):
        p = bh.unique("ig")
        pid = self.api.create_project(p)
        self.create_rule(p, rule(tag="v*"))
        self.create_rule(p, rule(tag="**", repo="app"))
        self.assertEqual(len(self.rules(p)), 2)
        self.api.ok("DELETE", "/projects/%d" % pid)
        self.assertRefused(self.api.call("GET", self.rules_path(p)), 404)
        self.assertRefused(self.api.call("GET", "/projects/%d/immutabletagrules" % pid), 404)
        # A project of the same name starts without them, and is unprotected.
        self.api.create_project(p)
        self.assertEqual(self.rules(p), [])
        body_a, _ = self.reg.push_image(p + "/app", tag="v1")
        body_b, _ = self.reg.push_image(p + "/app")
        self.assertStatus(self.reg.put_manifest(p + "/app", "v1", body_b, bh.OCI_MANIFEST), 201)


if __name__ == "__main__":
    bh.main()
