"""The population the matrix tests run against, built through the API as the
initial administrator:

  P = iam-p   private project      Q = iam-q   public project
  sa          a user promoted to system administrator (PUT /users/{id}/sysadmin)
  pA pM pD pG pL   members of P as projectAdmin, maintainer, developer, guest,
                   limitedGuest (role_id 1, 4, 2, 3, 5)
  qA qM qD qG qL   the same roles in Q
  non         a signed-in user who is a member of neither
  anon        no credentials at all
  rPul        project robot robot$iam-p+pull: repository pull in P
  rPsh        project robot robot$iam-p+push: repository pull, push in P
  rSys        system robot robot$iam-sys: project "*" repository pull, push,
              delete, scanner-pull, and system catalog read
  rDis        a project robot of P with pull+push, created disabled
  rExp        a project robot of P with pull+push whose expiry has passed
              (created with duration 1 day, then expires_at moved into the
              past in the database: a robot's duration must be whole days)

rDis and rExp are refused at sign-in, and berthd counts every refused
sign-in (5 per name, 30 per address in 5 minutes, then 429): each use of
them creates a fresh robot of that kind and sends from a fresh loopback
source address, so every cell sees the first refusal, never the lockout.

P/base:v1 and Q/base:v1 hold one image each (pushed by the administrator).
"""

import json
import time
import urllib.parse

import iam_lib as L

COLUMNS = ["sa", "pA", "pM", "pD", "pG", "pL", "qA", "qM", "qD", "qG", "qL", "non", "anon",
           "rPul", "rPsh", "rSys", "rDis", "rExp"]
ROLE_IDS = {"A": 1, "D": 2, "G": 3, "M": 4, "L": 5}
USERS = ["sa", "pA", "pM", "pD", "pG", "pL", "qA", "qM", "qD", "qG", "qL", "non"]


def repo_access(resource_actions):
    return [{"resource": "repository", "action": a} for a in resource_actions]


class TokenRefused(Exception):
    """/service/token refused the caller's credentials; `status` is the cell."""

    def __init__(self, resp):
        super().__init__(L.short(resp))
        self.status = resp.status
        self.resp = resp


class Ident:
    def __init__(self, key, kind, name=None, secret=None, user_id=None, factory=None):
        self.key = key
        self.kind = kind  # user | anon | robot | refused
        self.name = name
        self.secret = secret
        self.user_id = user_id
        self.factory = factory  # -> (name, secret) of a fresh refused robot

    @property
    def is_user(self):
        return self.kind == "user"


class Caller:
    """One identity for one matrix cell: the same credentials for every
    request the cell makes; in token mode each distinct scope list is
    fetched once from /service/token and sent as a bearer token."""

    def __init__(self, world, ident, mode):
        self.world = world
        self.ident = ident
        self.mode = mode
        self.source = None
        if ident.kind == "anon":
            self.auth = None
        elif ident.kind == "refused":
            name, secret = ident.factory()
            self.auth = L.basic(name, secret)
            self.source = world.pool.fresh()
        else:
            self.auth = L.basic(ident.name, ident.secret)
        self.tokens = {}

    def bearer(self, scopes):
        key = tuple(scopes)
        if key not in self.tokens:
            resp, tok = self.world.b.token(scopes, auth=self.auth, source=self.source)
            if tok is None:
                raise TokenRefused(resp)
            self.tokens[key] = tok
        return "Bearer " + self.tokens[key]

    def v2(self, method, path, body=None, headers=None, scopes=()):
        auth = self.bearer(scopes) if self.mode == "token" else self.auth
        return self.world.b.call(method, path, body, auth=auth, headers=headers,
                                 source=self.source)

    def api(self, method, path, body=None, headers=None):
        return self.world.b.call(method, path, body, auth=self.auth, headers=headers,
                                 source=self.source)


class World:
    P = "iam-p"
    Q = "iam-q"

    def __init__(self, reg):
        self.reg = reg
        self.b = L.Berth(reg)
        self.pool = L.AddressPool()
        self.ids = {}
        self.project_ids = {}
        self.base = {}  # project -> {"manifest": digest, "config": digest}
        self.counter = 0

    # -- helpers -----------------------------------------------------------

    def next(self):
        self.counter += 1
        return self.counter

    def create_user(self, username, password=L.PASSWORD):
        r = self.b.admin("POST", L.API + "/users",
                         {"username": username, "email": username + "@example.com",
                          "realname": username, "password": password, "comment": "iam"},
                         expect=201)
        return int(r.header("Location").rsplit("/", 1)[1])

    def create_project(self, name, public, metadata=None):
        md = {"public": "true" if public else "false"}
        md.update(metadata or {})
        self.b.admin("POST", L.API + "/projects", {"project_name": name, "metadata": md},
                     expect=201)
        r = self.b.admin("GET", L.API + "/projects/" + name, expect=200)
        return r.json()["project_id"]

    def add_member(self, project, username, role_id):
        r = self.b.admin("POST", "%s/projects/%s/members" % (L.API, project),
                         {"role_id": role_id, "member_user": {"username": username}}, expect=201)
        return int(r.header("Location").rsplit("/", 1)[1])

    def create_robot(self, body, who=None):
        r = self.b.admin("POST", L.API + "/robots", body, expect=201)
        j = r.json()
        return j["id"], j["name"], j["secret"]

    def project_robot(self, project, name, actions, **extra):
        body = {"name": name, "level": "project", "duration": -1, "description": "iam",
                "permissions": [{"kind": "project", "namespace": project,
                                 "access": repo_access(actions)}]}
        body.update(extra)
        return self.create_robot(body)

    def push_image(self, repo, tag=None):
        """As the administrator; returns (manifest digest, config digest)."""
        body, digest = self.reg.push_image(repo, tag=tag)
        return digest, json.loads(body)["config"]["digest"]

    # -- refused robots ------------------------------------------------------

    def disabled_robot(self):
        n = self.next()
        _, name, secret = self.project_robot(self.P, "dis-%d" % n, ["pull", "push"], disable=True)
        return name, secret

    def expired_robot(self):
        n = self.next()
        rid, name, secret = self.project_robot(self.P, "exp-%d" % n, ["pull", "push"], duration=1)
        past = int(time.time()) - 3600
        with self.b.db() as db:
            cur = db.execute("UPDATE robot SET expires_at = ? WHERE id = ?", (past, rid))
            if cur.rowcount != 1:
                raise AssertionError("could not expire robot %d" % rid)
        r = self.b.admin("GET", "%s/robots/%d" % (L.API, rid), expect=200)
        if r.json()["expires_at"] != past:
            raise AssertionError("robot %d did not expire: %r" % (rid, r))
        return name, secret

    # -- the population --------------------------------------------------------

    def build(self):
        P, Q = self.P, self.Q
        self.project_ids[P] = self.create_project(P, False, {"auto_scan": "false"})
        self.project_ids[Q] = self.create_project(Q, True, {"auto_scan": "false"})
        self.reg.projects.update([P, Q])
        for key in USERS:
            name = "iam-" + key.lower()
            user_id = self.create_user(name)
            self.ids[key] = Ident(key, "user", name, L.PASSWORD, user_id)
        self.b.admin("PUT", "%s/users/%d/sysadmin" % (L.API, self.ids["sa"].user_id),
                     {"sysadmin_flag": True}, expect=200)
        for key in USERS:
            if key[0] in "pq" and len(key) == 2:
                project = P if key[0] == "p" else Q
                self.add_member(project, self.ids[key].name, ROLE_IDS[key[1]])
        self.ids["anon"] = Ident("anon", "anon")

        _, name, secret = self.project_robot(P, "pull", ["pull"])
        assert name == "robot$%s+pull" % P, name
        self.ids["rPul"] = Ident("rPul", "robot", name, secret)
        _, name, secret = self.project_robot(P, "push", ["pull", "push"])
        self.ids["rPsh"] = Ident("rPsh", "robot", name, secret)
        _, name, secret = self.create_robot(
            {"name": "iam-sys", "level": "system", "duration": -1,
             "permissions": [
                 {"kind": "project", "namespace": "*",
                  "access": repo_access(["pull", "push", "delete", "scanner-pull"])},
                 {"kind": "system", "namespace": "/",
                  "access": [{"resource": "catalog", "action": "read"}]}]})
        assert name == "robot$iam-sys", name
        self.ids["rSys"] = Ident("rSys", "robot", name, secret)
        self.ids["rDis"] = Ident("rDis", "refused", factory=self.disabled_robot)
        self.ids["rExp"] = Ident("rExp", "refused", factory=self.expired_robot)

        for project in (P, Q):
            manifest, config = self.push_image(project + "/base", "v1")
            self.base[project] = {"manifest": manifest, "config": config}
        return self

    def caller(self, key, mode):
        return Caller(self, self.ids[key], mode)

    def pid(self, project):
        return self.project_ids[project]

    def admin_v2(self, method, path, **kw):
        return self.reg.request(method, path, auth=True, **kw)

    def quote(self, s):
        return urllib.parse.quote(s, safe="")
