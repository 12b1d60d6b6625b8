#!/usr/bin/env python3
"""Hostile registry tokens: each is refused on /v2 with 401 and nothing
changes (the manifest stays, no blob or upload appears, the data directory
is untouched).

berthd verifies tokens fully (/work/shared/reference/harbor.md §3): RS256
only, kid equal to the server key's libtrust kid, the signature, iss
"harbor-token-issuer", aud "harbor-registry", exp and nbf with 60 s leeway,
iat required; a token issued before its project was (re)created is refused;
a token speaks of the repositories it names and nothing else.

The forged tokens are built here: RS256 signatures with `openssl dgst
-sha256 -sign` and the server's own key (read from
<data>/token/private_key.pem), HS256 with hmac. Positive controls show that a
token re-signed here with the real key and honest claims *is* accepted, so
each refusal is due to the one defect the case introduces.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402

bh = L.bh
API = L.API
PROJECT = "iam-tok"
REPO = PROJECT + "/base"


class HostileTokens(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        cls.tmp = L.tmpdir()
        try:
            cls.b = L.Berth(cls.reg)
            b = cls.b
            b.admin("POST", API + "/projects", {"project_name": PROJECT}, expect=201)
            cls.reg.projects.add(PROJECT)
            body, cls.digest = cls.reg.push_image(REPO, "v1")
            # A guest: its honest token carries pull only.
            b.admin("POST", API + "/users", {"username": "iam-guest", "email": "g@example.com",
                                             "realname": "g", "password": L.PASSWORD}, expect=201)
            b.admin("POST", "%s/projects/%s/members" % (API, PROJECT),
                    {"role_id": 3, "member_user": {"username": "iam-guest"}}, expect=201)
            cls.key = b.key_path()
            cls.other_key = L.new_rsa_key(cls.tmp)
            _, tok = b.token(["repository:%s:pull,push,delete" % REPO],
                             auth=L.basic(L.ADMIN, L.ADMIN_PASSWORD))
            cls.admin_token = tok
            cls.header, cls.claims, _ = L.jwt_decode(tok)
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    # -- helpers -------------------------------------------------------------------

    def honest_claims(self, **changes):
        now = int(time.time())
        c = {"iss": "harbor-token-issuer", "sub": "admin", "aud": "harbor-registry",
             "exp": now + 600, "nbf": now, "iat": now, "jti": L.uid("j"),
             "access": [{"type": "repository", "name": REPO,
                         "actions": ["pull", "push", "delete"]}]}
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def rs256(self, claims, key=None, **header):
        h = {"alg": "RS256", "typ": "JWT", "kid": self.header["kid"]}
        h.update(header)
        return L.jwt_forge(h, claims, L.rs256_signer(key or self.key))

    def state(self):
        """What a successful attack would change."""
        manifest = self.reg.request("GET", "/v2/%s/manifests/v1" % REPO,
                                    headers={"Accept": bh.OCI_MANIFEST}).status
        catalog = self.reg.request("GET", "/v2/_catalog?n=1000").json()["repositories"]
        return manifest, sorted(catalog), sorted(self.reg.data_tree())

    def attack(self, token, scheme="Bearer"):
        """Pull, delete and push with the token; returns the statuses."""
        auth = token if scheme is None else "%s %s" % (scheme, token)
        got = []
        r = self.b.call("GET", "/v2/%s/manifests/v1" % REPO, auth=auth,
                        headers={"Accept": bh.OCI_MANIFEST})
        got.append(r)
        r = self.b.call("DELETE", "/v2/%s/manifests/%s" % (REPO, self.digest), auth=auth)
        got.append(r)
        data = L.uid("blob").encode()
        r = self.b.call("POST", "/v2/%s/blobs/uploads/?digest=%s" % (REPO, bh.sha256(data)),
                        data, auth=auth, headers={"Content-Type": "application/octet-stream"})
        got.append(r)
        r = self.b.call("POST", "/v2/%s/blobs/uploads/" % REPO, auth=auth)
        got.append(r)
        return got

    def assertRefused(self, token, scheme="Bearer", what=""):
        before = self.state()
        for r in self.attack(token, scheme):
            self.assertEqual(r.status, 401, "%s: %s" % (what, L.short(r)))
            self.assertIn("UNAUTHORIZED", r.error_codes(), what)
            self.assertTrue((r.header("WWW-Authenticate") or "").split(" ")[0] in
                            ("Bearer", "Basic"), "%s: no challenge: %r" % (what, r))
        self.assertEqual(self.state(), before, what + ": something changed")

    def assertAccepted(self, token, what=""):
        r = self.b.call("GET", "/v2/%s/manifests/v1" % REPO, auth="Bearer " + token,
                        headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 200, "%s: %s" % (what, L.short(r)))

    # -- controls ------------------------------------------------------------------

    def test_00_issued_token_shape(self):
        """Harbor's token: RS256, typ JWT, kid = libtrust kid of the key,
        iss/aud/sub, exp = iat + 30 min, nbf, and full access for the admin."""
        h, c = self.header, self.claims
        self.assertEqual(h["alg"], "RS256")
        self.assertEqual(h["kid"], L.libtrust_kid(L.public_der(self.key)))
        self.assertEqual(c["iss"], "harbor-token-issuer")
        self.assertEqual(c["aud"], "harbor-registry")
        self.assertEqual(c["sub"], "admin")
        self.assertEqual(c["exp"] - c["iat"], 1800)
        self.assertLessEqual(c["nbf"], c["iat"])
        self.assertEqual(sorted(c["access"][0]["actions"]), ["delete", "pull", "push"])

    def test_01_controls_are_accepted(self):
        """The real token, a token re-signed here with the real key, and one
        expired or not-yet-valid by less than the 60 s leeway all work."""
        self.assertAccepted(self.admin_token, "issued token")
        self.assertAccepted(self.rs256(self.honest_claims()), "re-signed token")
        now = int(time.time())
        # (iat stays "now": a token issued before the project's creation is
        # refused for that reason, and the project is only seconds old.)
        self.assertAccepted(self.rs256(self.honest_claims(exp=now - 20)),
                            "expired 20 s ago (within leeway)")
        self.assertAccepted(self.rs256(self.honest_claims(nbf=now + 20)),
                            "valid in 20 s (within leeway)")

    # -- algorithm and key attacks ---------------------------------------------------

    def test_alg_none(self):
        for alg in ("none", "None", "NONE"):
            tok = L.jwt_forge({"alg": alg, "typ": "JWT", "kid": self.header["kid"]},
                              self.honest_claims(), None)
            self.assertRefused(tok, what="alg %s, empty signature" % alg)
        # alg none but the real signature of the same input kept
        good = self.rs256(self.honest_claims())
        h, c, s = good.split(".")
        none_header = L.b64u('{"alg":"none","typ":"JWT","kid":"%s"}' % self.header["kid"])
        self.assertRefused("%s.%s.%s" % (none_header, c, s), what="alg none, old signature")
        self.assertRefused("%s.%s." % (none_header, c), what="alg none, nothing after the dot")

    def test_hs256_with_public_key(self):
        pem, der = L.public_pem(self.key), L.public_der(self.key)
        for name, secret in (("PEM", pem), ("PEM without newline", pem.rstrip(b"\n")),
                             ("DER", der)):
            tok = L.jwt_forge({"alg": "HS256", "typ": "JWT", "kid": self.header["kid"]},
                              self.honest_claims(), L.hs256_signer(secret))
            self.assertRefused(tok, what="HS256 keyed with the public key " + name)

    def test_other_key_with_server_kid(self):
        tok = self.rs256(self.honest_claims(), key=self.other_key)
        self.assertRefused(tok, what="signed by another RSA key")
        # ... and that key's own kid is unknown too
        other_kid = L.libtrust_kid(L.public_der(self.other_key))
        tok = self.rs256(self.honest_claims(), key=self.other_key, kid=other_kid)
        self.assertRefused(tok, what="another key with its own kid")

    def test_unknown_kid(self):
        kid = ":".join(["ABCD"] * 12)
        self.assertRefused(self.rs256(self.honest_claims(), kid=kid), what="unknown kid")
        h = {"alg": "RS256", "typ": "JWT"}
        tok = L.jwt_forge(h, self.honest_claims(), L.rs256_signer(self.key))
        self.assertRefused(tok, what="no kid")

    def test_other_rsa_algorithms(self):
        """RS512 with the right key and kid is still not RS256."""
        def rs512(data):
            return L.openssl("dgst", "-sha512", "-sign", self.key, data=data)
        tok = L.jwt_forge({"alg": "RS512", "typ": "JWT", "kid": self.header["kid"]},
                          self.honest_claims(), rs512)
        self.assertRefused(tok, what="RS512")

    # -- claim attacks ---------------------------------------------------------------

    def test_expired(self):
        now = int(time.time())
        # iat "now" as in the leeway control, so expiry is the only defect.
        tok = self.rs256(self.honest_claims(exp=now - 120))
        self.assertRefused(tok, what="expired 120 s ago")
        tok = self.rs256(self.honest_claims(exp=now - 61))
        self.assertRefused(tok, what="expired 61 s ago")
        tok = self.rs256(self.honest_claims(exp=None))
        self.assertRefused(tok, what="no exp")

    def test_wrong_audience(self):
        for aud in ("harbor-notary", "", ["other"], "harbor-registry2"):
            self.assertRefused(self.rs256(self.honest_claims(aud=aud)), what="aud %r" % aud)
        self.assertRefused(self.rs256(self.honest_claims(aud=None)), what="no aud")

    def test_wrong_issuer(self):
        for iss in ("harbor-token-issuer2", "", "evil"):
            self.assertRefused(self.rs256(self.honest_claims(iss=iss)), what="iss %r" % iss)
        self.assertRefused(self.rs256(self.honest_claims(iss=None)), what="no iss")

    def test_not_yet_valid(self):
        now = int(time.time())
        self.assertRefused(self.rs256(self.honest_claims(nbf=now + 3600)), what="nbf in an hour")
        self.assertRefused(self.rs256(self.honest_claims(iat=now + 3600)), what="iat in an hour")

    def test_missing_iat(self):
        self.assertRefused(self.rs256(self.honest_claims(iat=None)), what="no iat")

    def test_claims_edited_after_signing(self):
        """A guest's honest token (pull only) with push and delete added."""
        resp, tok = self.b.token(["repository:%s:pull,push,delete" % REPO],
                                 auth=L.basic("iam-guest", L.PASSWORD))
        self.assertEqual(resp.status, 200, resp)
        h, c, s = tok.split(".")
        claims = L.jwt_decode(tok)[1]
        self.assertEqual(claims["access"][0]["actions"], ["pull"])
        # The honest token pulls, and cannot delete.
        self.assertAccepted(tok, "guest token")
        r = self.b.call("DELETE", "/v2/%s/manifests/%s" % (REPO, self.digest),
                        auth="Bearer " + tok)
        self.assertEqual(r.status, 401, L.short(r))
        claims["access"][0]["actions"] = ["pull", "push", "delete"]
        import json
        edited = L.b64u(json.dumps(claims, separators=(",", ":")))
        self.assertRefused("%s.%s.%s" % (h, edited, s), what="claims edited after signing")
        # The same edit signed with the wrong key, and the signature of the admin token.
        self.assertRefused("%s.%s.%s" % (h, edited, self.admin_token.split(".")[2]),
                           what="edited claims with another token's signature")

    def test_token_for_another_repository(self):
        resp, tok = self.b.token(["repository:%s/other:pull,push,delete" % PROJECT],
                                 auth=L.basic(L.ADMIN, L.ADMIN_PASSWORD))
        self.assertEqual(resp.status, 200)
        self.assertEqual(L.jwt_decode(tok)[1]["access"][0]["name"], PROJECT + "/other")
        self.assertRefused(tok, what="token naming another repository")
        # A forged token naming the repository's project only, or a prefix of it.
        for name in (PROJECT, PROJECT + "/bas", PROJECT + "/base/x", "*"):
            c = self.honest_claims(access=[{"type": "repository", "name": name,
                                            "actions": ["pull", "push", "delete"]}])
            self.assertRefused(self.rs256(c), what="access names %r" % name)
        c = self.honest_claims(access=[{"type": "registry", "name": "catalog",
                                        "actions": ["*"]}])
        self.assertRefused(self.rs256(c), what="catalog-only token")

    def test_token_from_before_the_project_was_recreated(self):
        b = self.b
        name = "iam-recreated"
        b.admin("POST", API + "/projects", {"project_name": name}, expect=201)
        repo = name + "/app"
        resp, tok = b.token(["repository:%s:pull,push,delete" % repo],
                            auth=L.basic(L.ADMIN, L.ADMIN_PASSWORD))
        self.assertEqual(sorted(L.jwt_decode(tok)[1]["access"][0]["actions"]),
                         ["delete", "pull", "push"])
        # The token works while the project lives (an upload session is harmless).
        r = b.call("POST", "/v2/%s/blobs/uploads/" % repo, auth="Bearer " + tok)
        self.assertEqual(r.status, 202, L.short(r))
        b.call("DELETE", bh.location_path(r), auth="Bearer " + tok)
        # Tokens carry whole seconds: make the re-creation clearly later.
        time.sleep(2.2)
        b.admin("DELETE", API + "/projects/" + name, expect=200)
        b.admin("POST", API + "/projects", {"project_name": name}, expect=201)
        before = sorted(self.reg.data_tree())
        data = b"after re-creation"
        for method, path, body in (
                ("GET", "/v2/%s/tags/list" % repo, None),
                ("POST", "/v2/%s/blobs/uploads/" % repo, None),
                ("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, bh.sha256(data)), data)):
            r = b.call(method, path, body, auth="Bearer " + tok)
            self.assertEqual(r.status, 401, "stale token: " + L.short(r))
        self.assertEqual(sorted(self.reg.data_tree()), before)
        # A fresh token works again.
        resp, fresh = b.token(["repository:%s:pull,push" % repo],
                              auth=L.basic(L.ADMIN, L.ADMIN_PASSWORD))
        r = b.call("POST", "/v2/%s/blobs/uploads/" % repo, auth="Bearer " + fresh)
        self.assertEqual(r.status, 202, L.short(r))

    # -- malformed headers -------------------------------------------------------------

    def test_garbage_authorization(self):
        cases = [("Bearer", "garbage"), ("Bearer", "a.b.c"), ("Bearer", "..."),
                 ("Bearer", self.admin_token + "x"), ("Bearer", self.admin_token[:-5]),
                 ("Bearer", self.admin_token.replace(".", "..", 1)),
                 ("Bearer", "eyJhbGciOiJSUzI1NiJ9.eyJ9.AAAA"),
                 ("Bearer", L.b64u("{") + "." + L.b64u("[]") + "." + L.b64u("x")),
                 (None, "Bearer"), (None, "Bearer  "), (None, "Negotiate abc"),
                 (None, "Basic !!!"), (None, "Basic " + L.b64u("no-colon")),
                 (None, "bearer" + self.admin_token), (None, "\x01\x02")]
        for scheme, value in cases:
            self.assertRefused(value, scheme=scheme,
                               what="Authorization %r" % ((scheme or "") + " " + value[:40]))

    def test_registry_token_is_not_an_api_credential(self):
        """A /v2 token does not sign anyone in on the management API."""
        r = self.b.call("GET", API + "/users/current", auth="Bearer " + self.admin_token)
        self.assertEqual(r.status, 401, L.short(r))
        r = self.b.call("DELETE", API + "/projects/" + PROJECT, auth="Bearer " + self.admin_token)
        self.assertEqual(r.status, 401, L.short(r))
        self.b.admin("GET", API + "/projects/" + PROJECT, expect=200)


class StaleCredentials(unittest.TestCase):
    """Credentials that outlive what they were issued for: robots of a
    deleted project, grants naming a re-created project, sessions and cached
    passwords of deleted or demoted users."""

    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        cls.b = L.Berth(cls.reg)
        cls.pool = L.AddressPool()

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def project(self, name, public=False):
        self.b.admin("POST", API + "/projects",
                     {"project_name": name, "metadata": {"public": str(public).lower()}},
                     expect=201)

    def user(self, name):
        r = self.b.admin("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                                  "realname": name, "password": L.PASSWORD},
                         expect=201)
        return int(r.header("Location").rsplit("/", 1)[1])

    def push_status(self, repo, auth, source=None):
        data = L.uid("blob").encode()
        return self.b.call("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, bh.sha256(data)),
                           data, auth=auth, source=source,
                           headers={"Content-Type": "application/octet-stream"}).status

    def test_project_robot_goes_with_its_project(self):
        """Harbor deletes a project's robots with the project: the robot no
        longer exists, cannot sign in, and its name is free again."""
        name = L.uid("iam-gone")
        self.project(name)
        body = {"name": "ci", "level": "project", "duration": -1,
                "permissions": [{"kind": "project", "namespace": name,
                                 "access": [{"resource": "repository", "action": "pull"}]}]}
        j = self.b.admin("POST", API + "/robots", body, expect=201).json()
        auth = L.basic(j["name"], j["secret"])
        r = self.b.call("GET", "/v2/%s/app/tags/list" % name, auth=auth)
        self.assertEqual(r.status, 404, "the robot works before: " + L.short(r))
        self.b.admin("DELETE", API + "/projects/" + name, expect=200)
        r = self.b.admin("GET", API + "/robots?q=" + L.q("name=" + j["name"]), expect=200)
        self.assertEqual(r.json(), [], "the robot outlived its project")
        r, tok = self.b.token([], auth=auth, source=self.pool.fresh())
        self.assertEqual(r.status, 401, "the robot of a deleted project still signs in")
        # Re-creating the project does not bring the robot back ...
        self.project(name)
        r = self.b.call("GET", "/v2/%s/app/tags/list" % name, auth=auth, source=self.pool.fresh())
        self.assertEqual(r.status, 401, L.short(r))
        # ... and its name can be used again.
        self.b.admin("POST", API + "/robots", body, expect=201)

    def test_system_robot_grant_does_not_follow_a_recreated_name(self):
        """Harbor turns a robot's project grant into /project/<id> when the
        robot is created: a project deleted and re-created under the same
        name (by someone else) is a different project, out of its reach."""
        name = L.uid("iam-name")
        self.project(name)
        j = self.b.admin("POST", API + "/robots",
                         {"name": L.uid("sys"), "level": "system", "duration": -1,
                          "permissions": [{"kind": "project", "namespace": name,
                                           "access": [{"resource": "repository", "action": "pull"},
                                                      {"resource": "repository",
                                                       "action": "push"}]}]},
                         expect=201).json()
        auth = L.basic(j["name"], j["secret"])
        r = self.b.call("GET", "/v2/%s/app/tags/list" % name, auth=auth)
        self.assertEqual(r.status, 404, "the grant works before: " + L.short(r))
        time.sleep(1.2)  # clearly after the robot (berthd allows 1 s of clock skew)
        self.b.admin("DELETE", API + "/projects/" + name, expect=200)
        owner = L.uid("iam-owner")
        self.user(owner)
        r = self.b.call("POST", API + "/projects", {"project_name": name},
                        auth=L.basic(owner, L.PASSWORD))
        self.assertEqual(r.status, 201, L.short(r))
        self.assertEqual(self.push_status(name + "/app", auth), 403,
                         "a grant on the old project reaches the re-created one")
        r = self.b.call("GET", "/v2/%s/app/tags/list" % name, auth=auth)
        self.assertEqual(r.status, 403, L.short(r))
        # Updating the robot binds the grant to the project that now has the name.
        j2 = self.b.admin("GET", "%s/robots/%d" % (API, j["id"]), expect=200).json()
        self.b.admin("PUT", "%s/robots/%d" % (API, j["id"]),
                     {"name": j2["name"], "level": "system", "duration": -1, "description": "",
                      "permissions": j2["permissions"]}, expect=200)
        r = self.b.call("GET", "/v2/%s/app/tags/list" % name, auth=auth)
        self.assertEqual(r.status, 404, "after the update: " + L.short(r))

    def test_deleted_user_session_and_cached_password(self):
        name = L.uid("iam-bye")
        user_id = self.user(name)
        auth = L.basic(name, L.PASSWORD)
        self.assertEqual(self.b.call("GET", API + "/users/current", auth=auth).status, 200)
        r = self.b.call("POST", "/c/login", "principal=%s&password=%s" % (name, L.PASSWORD),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        cookie = r.header("Set-Cookie").split(";")[0]
        self.assertEqual(self.b.call("GET", API + "/users/current", cookie=cookie).status, 200)
        self.b.admin("DELETE", "%s/users/%d" % (API, user_id), expect=200)
        r = self.b.call("GET", API + "/users/current", auth=auth, source=self.pool.fresh())
        self.assertEqual(r.status, 401, "cached Basic credentials of a deleted user: " + L.short(r))
        r = self.b.call("GET", API + "/users/current", cookie=cookie)
        self.assertEqual(r.status, 401, "session of a deleted user: " + L.short(r))
        r, tok = self.b.token([], auth=auth, source=self.pool.fresh())
        self.assertEqual(r.status, 401, L.short(r))

    def test_demoted_administrator(self):
        name = L.uid("iam-demoted")
        user_id = self.user(name)
        self.b.admin("PUT", "%s/users/%d/sysadmin" % (API, user_id), {"sysadmin_flag": True},
                     expect=200)
        auth = L.basic(name, L.PASSWORD)
        self.assertEqual(self.b.call("GET", API + "/users", auth=auth).status, 200)
        r = self.b.call("POST", "/c/login", "principal=%s&password=%s" % (name, L.PASSWORD),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        cookie = r.header("Set-Cookie").split(";")[0]
        r, tok = self.b.token(["registry:catalog:*"], auth=auth)
        self.assertEqual(L.jwt_decode(tok)[1]["access"][0]["actions"], ["*"])
        self.b.admin("PUT", "%s/users/%d/sysadmin" % (API, user_id), {"sysadmin_flag": False},
                     expect=200)
        self.assertEqual(self.b.call("GET", API + "/users", auth=auth).status, 403)
        self.assertEqual(self.b.call("GET", API + "/users", cookie=cookie).status, 403)
        self.assertEqual(self.b.call("GET", "/v2/_catalog", auth=auth).status, 403)
        r, tok = self.b.token(["registry:catalog:*"], auth=auth)
        self.assertEqual(L.jwt_decode(tok)[1]["access"][0]["actions"], [])


if __name__ == "__main__":
    bh.main()
