#!/usr/bin/env python3
"""Role x action matrix on /v2: who may pull, push, delete, mount and list
the catalog, with HTTP Basic credentials sent directly to /v2 and with a
bearer token fetched from /service/token; and what the token's `access`
list grants.

The identities (columns) are described in iam_world.py. The expectations
below are written out cell by cell from Harbor's project role matrix
(src/common/rbac/project/rbac_role.go, /work/shared/reference/harbor.md §2)
and its /v2 rules (§3):

  * GET/HEAD need pull; POST/PATCH/PUT need pull+push; DELETE needs delete.
  * pull: every role; push: projectAdmin, maintainer, developer; delete:
    projectAdmin, maintainer. Public projects give everyone pull.
  * A cross-repository mount needs pull+push on the target and pull on the
    source; without pull on the source it silently becomes an ordinary
    upload (202), so it reveals nothing about the source.
  * /v2/_catalog needs system "catalog read": system administrators, and
    (Harbor's v2auth checks the permission, not the flag) a robot granted
    catalog read. A token only ever carries registry:catalog:* for a system
    administrator (Harbor's registryFilter), so in token mode the robot gets
    a challenge.
  * Basic: refused -> 403 DENIED; no credentials -> 401 with a Bearer
    challenge naming the scope (public projects included); credentials that
    do not sign in (disabled/expired robot) -> 401.
  * Token: a token lacking the action -> 401 with a Bearer challenge;
    /service/token refuses the disabled/expired robot outright (401); an
    anonymous token carries pull on public projects only.

Every cell that changes something is checked afterwards through the
administrator: a refused push leaves no manifest, a refused delete leaves
the manifest, a mount answered 201 put the blob in the target and a 202 or
403 did not.
"""

import json
import sys
import os
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402
from iam_world import COLUMNS, TokenRefused, World  # noqa: E402

bh = L.bh

# --- /v2 with HTTP Basic credentials -----------------------------------------
#                   sa  pA  pM  pD  pG  pL  qA  qM  qD  qG  qL  non anon rPul rPsh rSys rDis rExp
BASIC = """
pull-manifest P     200 200 200 200 200 200 403 403 403 403 403 403 401  200  200  200  401  401
pull-blob P         200 200 200 200 200 200 403 403 403 403 403 403 401  200  200  200  401  401
push P              201 201 201 201 403 403 403 403 403 403 403 403 401  403  201  201  401  401
delete P            202 202 202 403 403 403 403 403 403 403 403 403 401  403  403  202  401  401
pull-manifest Q     200 200 200 200 200 200 200 200 200 200 200 200 401  200  200  200  401  401
pull-blob Q         200 200 200 200 200 200 200 200 200 200 200 200 401  200  200  200  401  401
push Q              201 403 403 403 403 403 201 201 201 403 403 403 401  403  403  201  401  401
delete Q            202 403 403 403 403 403 202 202 403 403 403 403 401  403  403  202  401  401
mount P->Q          201 403 403 403 403 403 202 202 202 403 403 403 401  403  403  201  401  401
mount Q->P          201 201 201 201 403 403 403 403 403 403 403 403 401  403  201  201  401  401
catalog             200 403 403 403 403 403 403 403 403 403 403 403 401  403  403  200  401  401
"""

# --- /v2 with a bearer token from /service/token --------------------------------
#                   sa  pA  pM  pD  pG  pL  qA  qM  qD  qG  qL  non anon rPul rPsh rSys rDis rExp
TOKEN = """
pull-manifest P     200 200 200 200 200 200 401 401 401 401 401 401 401  200  200  200  401  401
pull-blob P         200 200 200 200 200 200 401 401 401 401 401 401 401  200  200  200  401  401
push P              201 201 201 201 401 401 401 401 401 401 401 401 401  401  201  201  401  401
delete P            202 202 202 401 401 401 401 401 401 401 401 401 401  401  401  202  401  401
pull-manifest Q     200 200 200 200 200 200 200 200 200 200 200 200 200  200  200  200  401  401
pull-blob Q         200 200 200 200 200 200 200 200 200 200 200 200 200  200  200  200  401  401
push Q              201 401 401 401 401 401 201 201 201 401 401 401 401  401  401  201  401  401
delete Q            202 401 401 401 401 401 202 202 401 401 401 401 401  401  401  202  401  401
mount P->Q          201 401 401 401 401 401 202 202 202 401 401 401 401  401  401  201  401  401
mount Q->P          201 201 201 201 401 401 401 401 401 401 401 401 401  401  201  201  401  401
catalog             200 401 401 401 401 401 401 401 401 401 401 401 401  401  401  401  401  401
"""

# --- the token's access list ---------------------------------------------------
# Asked for repository:iam-p/base:pull, repository:iam-q/base:push and
# registry:catalog:* ; the token must list exactly these actions (order
# aside) whatever was asked. "-" = an empty list; "401" = no token at all.
#          iam-p/base                     iam-q/base                     catalog
ACCESS = """
sa         pull,push,delete               pull,push,delete               *
pA         pull,push,delete               pull                           -
pM         pull,push,delete               pull                           -
pD         pull,push                      pull                           -
pG         pull                           pull                           -
pL         pull                           pull                           -
qA         -                              pull,push,delete               -
qM         -                              pull,push,delete               -
qD         -                              pull,push                      -
qG         -                              pull                           -
qL         -                              pull                           -
non        -                              pull                           -
anon       -                              pull                           -
rPul       pull                           pull                           -
rPsh       pull,push                      pull                           -
rSys       pull,push,delete,scanner-pull  pull,push,delete,scanner-pull  -
rDis       401                            401                            401
rExp       401                            401                            401
"""


class MatrixV2(unittest.TestCase):
    reg = None
    world = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        try:
            cls.world = World(cls.reg).build()
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    # -- operations: each returns the response that decides the cell -----------

    def n(self):
        return self.world.next()

    def admin_status(self, method, path, accept=bh.OCI_MANIFEST):
        return self.world.admin_v2(method, path, headers={"Accept": accept}).status

    def op_pull_manifest(self, c, project):
        return c.v2("GET", "/v2/%s/base/manifests/v1" % project,
                    headers={"Accept": bh.OCI_MANIFEST},
                    scopes=["repository:%s/base:pull" % project])

    def op_pull_blob(self, c, project):
        r = c.v2("GET", "/v2/%s/base/blobs/%s" % (project, self.world.base[project]["config"]),
                 scopes=["repository:%s/base:pull" % project])
        if r.status == 200 and bh.sha256(r.body) != self.world.base[project]["config"]:
            raise AssertionError("wrong blob content: %r" % r)
        return r

    def op_push(self, c, project):
        repo = "%s/push-%d" % (project, self.n())
        scopes = ["repository:%s:pull,push" % repo]
        seed = "push %s %d" % (c.ident.key, self.n())
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
        layer = ("layer of " + seed).encode() * 5
        for data in (config, layer):
            r = c.v2("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, bh.sha256(data)), data,
                     {"Content-Type": "application/octet-stream"}, scopes)
            if r.status != 201:
                if self.admin_status("HEAD", "/v2/%s/blobs/%s" % (repo, bh.sha256(data))) != 404:
                    raise AssertionError("a refused blob upload stored the blob: %r" % r)
                return r
        body = bh.dumps({"schemaVersion": 2, "mediaType": bh.OCI_MANIFEST,
                         "config": bh.descriptor(bh.OCI_CONFIG, config),
                         "layers": [bh.descriptor(bh.OCI_LAYER, layer)]})
        r = c.v2("PUT", "/v2/%s/manifests/t1" % repo, body,
                 {"Content-Type": bh.OCI_MANIFEST}, scopes)
        stored = self.admin_status("GET", "/v2/%s/manifests/t1" % repo) == 200
        if stored != (r.status == 201):
            raise AssertionError("manifest push answered %d but stored=%s" % (r.status, stored))
        return r

    def op_delete(self, c, project):
        repo = "%s/del-%d" % (project, self.n())
        digest, _ = self.world.push_image(repo)
        r = c.v2("DELETE", "/v2/%s/manifests/%s" % (repo, digest),
                 scopes=["repository:%s:delete" % repo])
        still = self.admin_status("GET", "/v2/%s/manifests/%s" % (repo, digest)) == 200
        if still == (r.status == 202):
            raise AssertionError("manifest delete answered %d but the manifest %s" %
                                 (r.status, "is still there" if still else "is gone"))
        return r

    def op_mount(self, c, source, target):
        repo = "%s/mnt-%d" % (target, self.n())
        blob = self.world.base[source]["config"]
        r = c.v2("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s/base" % (repo, blob, source),
                 scopes=["repository:%s:pull,push" % repo, "repository:%s/base:pull" % source])
        present = self.admin_status("HEAD", "/v2/%s/blobs/%s" % (repo, blob)) == 200
        if present != (r.status == 201):
            raise AssertionError("mount answered %d but blob present=%s" % (r.status, present))
        if r.status == 202 and not (r.header("Location") or "").split("?")[0].startswith(
                "/v2/%s/blobs/uploads/" % repo):
            raise AssertionError("fallback upload without an upload Location: %r" % r)
        return r

    def op_catalog(self, c):
        r = c.v2("GET", "/v2/_catalog?n=1000", scopes=["registry:catalog:*"])
        if r.status == 200 and "%s/base" % World.P not in r.json().get("repositories", []):
            raise AssertionError("catalog misses %s/base: %r" % (World.P, r))
        return r

    def ops(self):
        P, Q = World.P, World.Q
        return {
            "pull-manifest P": lambda c: self.op_pull_manifest(c, P),
            "pull-blob P": lambda c: self.op_pull_blob(c, P),
            "push P": lambda c: self.op_push(c, P),
            "delete P": lambda c: self.op_delete(c, P),
            "pull-manifest Q": lambda c: self.op_pull_manifest(c, Q),
            "pull-blob Q": lambda c: self.op_pull_blob(c, Q),
            "push Q": lambda c: self.op_push(c, Q),
            "delete Q": lambda c: self.op_delete(c, Q),
            "mount P->Q": lambda c: self.op_mount(c, P, Q),
            "mount Q->P": lambda c: self.op_mount(c, Q, P),
            "catalog": lambda c: self.op_catalog(c),
        }

    # -- the grids -----------------------------------------------------------------

    def run_grid(self, grid, mode):
        ops = self.ops()
        out = L.Mismatches("/v2 " + mode)
        for op, cells in L.parse_grid(grid, COLUMNS):
            for who in COLUMNS:
                caller = self.world.caller(who, mode)
                try:
                    r = ops[op](caller)
                except TokenRefused as e:
                    out.check(op, who, cells[who], e.status, "token refused: " + L.short(e.resp))
                    continue
                except AssertionError as e:
                    out.check(op, who, cells[who], "broken", str(e))
                    continue
                detail = L.short(r)
                problem = self.response_problem(r, caller, mode)
                if problem:
                    out.check(op, who, cells[who], "bad-%d" % r.status, problem + "; " + detail)
                else:
                    out.check(op, who, cells[who], r.status, detail)
        self.assertGreater(out.checked, 150)
        msg = out.report()
        if msg:
            self.fail(msg)

    def response_problem(self, r, caller, mode):
        """How refusals must look besides their status."""
        challenge = r.header("WWW-Authenticate") or ""
        if r.status == 403:
            if mode != "basic":
                return "403 for a token (a token lacking a scope gets a challenge)"
            if "DENIED" not in r.error_codes():
                return "403 without DENIED"
        if r.status == 401:
            if caller.ident.kind == "anon" or mode == "token":
                if not challenge.startswith('Bearer realm="') or \
                        'service="harbor-registry"' not in challenge:
                    return "401 without a Bearer challenge"
                if "/_catalog" not in r.path and 'scope="repository:' not in challenge:
                    return "challenge without the repository scope"
            if "UNAUTHORIZED" not in r.error_codes():
                return "401 without UNAUTHORIZED"
        return None

    def test_basic_grid(self):
        """Every identity x /v2 operation with Basic credentials on /v2."""
        self.run_grid(BASIC, "basic")

    def test_token_grid(self):
        """Every identity x /v2 operation with a bearer token."""
        self.run_grid(TOKEN, "token")

    def test_token_access_lists(self):
        """The token lists every action the caller holds, whatever was asked."""
        P, Q = World.P, World.Q
        scopes = ["repository:%s/base:pull" % P, "repository:%s/base:push" % Q,
                  "registry:catalog:*"]
        names = ["%s/base" % P, "%s/base" % Q, "catalog"]
        out = L.Mismatches("token access")
        for line in ACCESS.strip().splitlines():
            who, *want = line.split()
            caller = self.world.caller(who, "token")
            resp, tok = self.world.b.token(scopes, auth=caller.auth, source=caller.source)
            if tok is None:
                for name, w in zip(names, want):
                    out.check("access " + name, who, w, resp.status, L.short(resp))
                continue
            header, claims, _ = L.jwt_decode(tok)
            got = {(a["type"], a["name"]): a.get("actions") or [] for a in claims["access"]}
            if len(claims["access"]) != 3:
                out.check("access entries", who, "3", len(claims["access"]), json.dumps(claims))
            for name, w in zip(names, want):
                typ = "registry" if name == "catalog" else "repository"
                actions = got.get((typ, name))
                if actions is None:
                    out.check("access " + name, who, w, "missing", json.dumps(claims["access"]))
                    continue
                if len(set(actions)) != len(actions):
                    out.check("access " + name, who, w, "dup", json.dumps(actions))
                have = ",".join(sorted(actions)) or "-"
                expected = ",".join(sorted(w.split(","))) if w != "-" else "-"
                out.check("access " + name, who, expected, have)
            if claims.get("sub") != (caller.ident.name or ""):
                out.check("sub", who, caller.ident.name or "''", claims.get("sub"))
        msg = out.report()
        if msg:
            self.fail(msg)

    def test_base_and_unknown_project(self):
        """GET /v2/ needs credentials (anonymous: a Bearer challenge without a
        scope); a repository in a project that does not exist is 404
        NAME_UNKNOWN for any signed-in caller (and still 401 anonymously),
        and nothing creates the project behind the caller's back."""
        w = self.world
        r = w.b.call("GET", "/v2/")
        self.assertEqual(r.status, 401, L.short(r))
        challenge = r.header("WWW-Authenticate") or ""
        self.assertTrue(challenge.startswith('Bearer realm="http://127.0.0.1:%d/service/token"'
                                             % self.reg.port), challenge)
        self.assertIn('service="harbor-registry"', challenge)
        self.assertNotIn("scope=", challenge)
        for who in ("sa", "pG", "non", "rPul", "rSys"):
            for mode in ("basic", "token"):
                c = self.world.caller(who, mode)
                r = c.v2("GET", "/v2/", scopes=[])
                self.assertEqual(r.status, 200, "%s %s: %s" % (who, mode, L.short(r)))
                for method, path in (("GET", "/v2/iam-nosuch/app/manifests/v1"),
                                     ("GET", "/v2/iam-nosuch/app/tags/list"),
                                     ("POST", "/v2/iam-nosuch/app/blobs/uploads/"),
                                     ("DELETE", "/v2/iam-nosuch/app/manifests/" + "sha256:" +
                                      "0" * 64)):
                    r = c.v2(method, path, scopes=["repository:iam-nosuch/app:pull,push,delete"])
                    self.assertEqual(r.status, 404, "%s %s: %s" % (who, mode, L.short(r)))
                    self.assertIn("NAME_UNKNOWN", r.error_codes())
        for key in ("rDis", "rExp"):
            c = self.world.caller(key, "basic")
            self.assertEqual(c.v2("GET", "/v2/").status, 401)
        r = w.b.call("GET", "/v2/iam-nosuch/app/tags/list")
        self.assertEqual(r.status, 401, L.short(r))
        self.assertIn('scope="repository:iam-nosuch/app:pull"', r.header("WWW-Authenticate"))
        r = w.b.admin("GET", L.API + "/projects/iam-nosuch")
        self.assertEqual(r.status, 404, L.short(r))
        # An anonymous token opens /v2/ but nothing private.
        resp, tok = w.b.token(["repository:%s/base:pull" % World.P])
        self.assertEqual(L.jwt_decode(tok)[1]["access"][0]["actions"], [])
        r = w.b.call("GET", "/v2/", auth="Bearer " + tok)
        self.assertEqual(r.status, 200, L.short(r))
        # `docker login` without credentials gets nothing.
        r = w.b.call("GET", "/service/token?service=harbor-registry")
        self.assertEqual(r.status, 401, L.short(r))
        r = w.b.call("GET", "/service/token?service=other&scope=" +
                     L.q("repository:%s/base:pull" % World.Q))
        self.assertEqual(r.status, 400, L.short(r))

    def test_disabled_and_expired_robots_really_exist(self):
        """The refused robots are refused because of their state: the same
        permission set signs in while enabled and unexpired."""
        w = self.world
        rid, name, secret = w.project_robot(World.P, "alive-%d" % self.n(), ["pull", "push"])
        r = w.b.call("GET", "/v2/%s/base/manifests/v1" % World.P, auth=L.basic(name, secret),
                     headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, L.short(r))
        # Disable it: refused from now on, and re-enabling restores it.
        body = {"name": "alive", "level": "project", "duration": -1, "disable": True,
                "description": "", "permissions": [{"kind": "project", "namespace": World.P,
                                                    "access": [{"resource": "repository",
                                                                "action": "pull"}]}]}
        w.b.admin("PUT", "%s/robots/%d" % (L.API, rid), body, expect=200)
        r = w.b.call("GET", "/v2/%s/base/manifests/v1" % World.P, auth=L.basic(name, secret),
                     headers={"Accept": bh.OCI_MANIFEST}, source=w.pool.fresh())
        self.assertEqual(r.status, 401, L.short(r))
        body["disable"] = False
        w.b.admin("PUT", "%s/robots/%d" % (L.API, rid), body, expect=200)
        r = w.b.call("GET", "/v2/%s/base/manifests/v1" % World.P, auth=L.basic(name, secret),
                     headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, L.short(r))


if __name__ == "__main__":
    L.main([("v2 basic", BASIC), ("v2 token", TOKEN)], COLUMNS)
