#!/usr/bin/env python3
"""Role x action matrix on the management API (/api/v2.0): every identity of
iam_world.py against every operation below, with the answer Harbor gives.

Sources for the expectations (one cell per identity x operation):
  * project resources: Harbor's role matrix (src/common/rbac/project/
    rbac_role.go, /work/shared/reference/harbor.md §2) and the public-project
    policies (everyone, anonymous included, may read a public project, its
    summary, and pull from it; nothing else);
  * users (src/server/v2.0/handler/user.go): list/create/sysadmin/delete are
    for system administrators; a user reads and edits himself; changing your
    own password needs the old one and a wrong one is 403; /users/current is
    412 for robots (swagger: "Returns 412 if the caller is authenticated via
    a non-local context such as a robot account");
    /users/current/permissions lists what the caller *can* do in the scope
    (robots included, public-project grants included); /users/search and
    /usergroups/search are open to every signed-in caller;
  * projects (project.go): HEAD /projects needs a signed-in caller; POST
    /projects is open to every signed-in user (project_creation_restriction
    "everyone"), refused to project-level robots and allowed to system-level
    robots; a robot whose permissions cover all projects ("*") lists them all,
    a project robot lists its project plus the public ones;
  * robots: project robots are managed by whoever holds robot create/
    read/update/delete in the project (projectAdmin; read/list also
    maintainer, developer, guest); system robots by administrators;
  * audit logs: administrators see everything, others only the projects
    whose log they may list (projectAdmin).

Cell values: a status code; Y/N for what a listing shows; "a|b" where
Harbor's documented answers differ only in the error status it picks;
"-" where the operation does not apply (e.g. /users/{self} for a robot).
Refusals are 401 UNAUTHORIZED without credentials and 403 FORBIDDEN for a
signed-in caller. The disabled/expired robots (rDis, rExp) are refused at
sign-in and then, as in Harbor, carry on as anonymous callers: endpoints
open to everyone (ping, health, systeminfo, the public project's reads)
answer them as they answer anon, and everything else is 401.

Whatever a refused call would have changed is checked afterwards through
the administrator ("nothing changed"), and what an allowed call changed is
checked to have happened.
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402
from iam_world import COLUMNS, ROLE_IDS, World  # noqa: E402

bh = L.bh
API = L.API

# --- system-wide operations -----------------------------------------------------------
#                                   sa  pA  pM  pD  pG  pL  qA  qM  qD  qG  qL  non anon rPul    rPsh    rSys    rDis rExp
SYSTEM = """
GET ping                            200 200 200 200 200 200 200 200 200 200 200 200 200  200     200     200     200  200
GET health                          200 200 200 200 200 200 200 200 200 200 200 200 200  200     200     200     200  200
GET systeminfo                      200 200 200 200 200 200 200 200 200 200 200 200 200  200     200     200     200  200
GET permissions                     200 200 200 200 200 200 200 200 200 200 200 200 401  200|403 200|403 200|403 401  401
permissions include system          Y   N   N   N   N   N   N   N   N   N   N   N   -    -       -       -       -    -
GET plugins                         200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET users                           200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
POST users                          201 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET users/current                   200 200 200 200 200 200 200 200 200 200 200 200 401  412     412     412     401  401
GET users/current/permissions       200 200 200 200 200 200 200 200 200 200 200 200 401  200     200     200     401  401
my P permissions: repository push   Y   Y   Y   Y   N   N   N   N   N   N   N   N   -    N       Y       Y       -    -
my P permissions: member create     Y   Y   N   N   N   N   N   N   N   N   N   N   -    N       N       N       -    -
my Q permissions: repository pull   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   -    Y       Y       Y       -    -
GET users/search                    200 200 200 200 200 200 200 200 200 200 200 200 401  200     200     200     401  401
GET users/{victim}                  200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET users/{self}                    200 200 200 200 200 200 200 200 200 200 200 200 -    -       -       -       -    -
PUT users/{victim}                  200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
PUT users/{self}                    200 200 200 200 200 200 200 200 200 200 200 200 -    -       -       -       -    -
PUT users/{victim}/password         200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
PUT users/{self}/password           200 200 200 200 200 200 200 200 200 200 200 200 -    -       -       -       -    -
PUT users/{self}/password bad old   403 403 403 403 403 403 403 403 403 403 403 403 -    -       -       -       -    -
PUT users/{victim}/sysadmin         200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
PUT users/{self}/sysadmin true      200 403 403 403 403 403 403 403 403 403 403 403 -    -       -       -       -    -
DELETE users/{other}                200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
PUT users/{victim}/cli_secret       400|412 403 403 403 403 403 403 403 403 403 403 403 401 403 403   403     401  401
PUT users/{self}/cli_secret         400|412 400|412 400|412 400|412 400|412 400|412 400|412 400|412 400|412 400|412 400|412 400|412 - - - - - -
GET usergroups                      200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
POST usergroups                     201 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET usergroups/{id}                 200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
PUT usergroups/{id}                 200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
DELETE usergroups/{id}              200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET usergroups/search               200 200 200 200 200 200 200 200 200 200 200 200 401  200     200     200     401  401
GET projects                        200 200 200 200 200 200 200 200 200 200 200 200 200  200     200     200     200  200
projects list shows P               Y   Y   Y   Y   Y   Y   N   N   N   N   N   N   N    Y       Y       Y       N    N
projects list shows Q               Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y    Y       Y       Y       Y    Y
HEAD projects?project_name=P        200 200 200 200 200 200 200 200 200 200 200 200 401  200     200     200     401  401
POST projects                       201 201 201 201 201 201 201 201 201 201 201 201 401  403     403     201     401  401
GET robots                          200 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
POST robots (system)                201 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET audit-logs                      200 200 200 200 200 200 200 200 200 200 200 200 401  200     200     200     401  401
audit-logs show P                   Y   Y   N   N   N   N   N   N   N   N   N   N   -    N       N       N       -    -
audit-logs show Q                   Y   N   N   N   N   N   Y   N   N   N   N   N   -    N       N       N       -    -
POST ldap/ping                      400 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET ldap/users/search               400 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
POST ldap/users/import              400 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
GET ldap/groups/search              400 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
POST system/oidc/ping               400 403 403 403 403 403 403 403 403 403 403 403 401  403     403     403     401  401
DELETE users/{self}                 403 403 403 403 403 403 403 403 403 403 403 403 -    -       -       -       -    -
"""

# --- operations on the private project P (iam-p) -----------------------------------------
#                                   sa  pA  pM  pD  pG  pL  qA  qM  qD  qG  qL  non anon rPul rPsh rSys rDis rExp
PROJECT_P = """
GET project                         200 200 200 200 200 200 403 403 403 403 403 403 401  403  403  403  401  401
PUT project                         200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
DELETE project                      200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET _deletable                      200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET summary                         200 200 200 200 200 200 403 403 403 403 403 403 401  403  403  403  401  401
GET metadatas                       200 200 200 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET metadatas/{name}                200 200 200 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
POST metadatas                      200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
PUT metadatas/{name}                200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
DELETE metadatas/{name}             200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET members                         200 200 200 200 200 403 403 403 403 403 403 403 401  403  403  403  401  401
POST members                        201 201 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET members/{mid}                   200 200 200 200 200 403 403 403 403 403 403 403 401  403  403  403  401  401
PUT members/{mid}                   200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
DELETE members/{mid}                200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET logs                            200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET robots?q=ProjectID              200 200 200 200 200 403 403 403 403 403 403 403 401  403  403  403  401  401
POST robots (project)               201 201 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
GET robots/{id}                     200 200 200 200 200 403 403 403 403 403 403 403 401  403  403  403  401  401
PUT robots/{id}                     200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
PATCH robots/{id}                   200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
DELETE robots/{id}                  200 200 403 403 403 403 403 403 403 403 403 403 401  403  403  403  401  401
"""

# --- the same operations on the public project Q (iam-q) --------------------------------
#                                   sa  pA  pM  pD  pG  pL  qA  qM  qD  qG  qL  non anon rPul rPsh rSys rDis rExp
PROJECT_Q = """
GET project                         200 200 200 200 200 200 200 200 200 200 200 200 200  200  200  200  200  200
PUT project                         200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
DELETE project                      200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
GET _deletable                      200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
GET summary                         200 200 200 200 200 200 200 200 200 200 200 200 200  200  200  200  200  200
GET metadatas                       200 403 403 403 403 403 200 200 403 403 403 403 401  403  403  403  401  401
GET metadatas/{name}                200 403 403 403 403 403 200 200 403 403 403 403 401  403  403  403  401  401
POST metadatas                      200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
PUT metadatas/{name}                200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
DELETE metadatas/{name}             200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
GET members                         200 403 403 403 403 403 200 200 200 200 403 403 401  403  403  403  401  401
POST members                        201 403 403 403 403 403 201 403 403 403 403 403 401  403  403  403  401  401
GET members/{mid}                   200 403 403 403 403 403 200 200 200 200 403 403 401  403  403  403  401  401
PUT members/{mid}                   200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
DELETE members/{mid}                200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
GET logs                            200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
GET robots?q=ProjectID              200 403 403 403 403 403 200 200 200 200 403 403 401  403  403  403  401  401
POST robots (project)               201 403 403 403 403 403 201 403 403 403 403 403 401  403  403  403  401  401
GET robots/{id}                     200 403 403 403 403 403 200 200 200 200 403 403 401  403  403  403  401  401
PUT robots/{id}                     200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
PATCH robots/{id}                   200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
DELETE robots/{id}                  200 403 403 403 403 403 200 403 403 403 403 403 401  403  403  403  401  401
"""


def yn(flag):
    return "Y" if flag else "N"


class MatrixApi(unittest.TestCase):
    reg = None
    world = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        try:
            cls.world = World(cls.reg).build()
            cls.extra_setup()
        except Exception:
            cls.reg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    @classmethod
    def extra_setup(cls):
        w = cls.world
        b = w.b
        cls.victim = {"name": "iam-victim", "password": L.PASSWORD}
        cls.victim["id"] = w.create_user("iam-victim")
        cls.group_id = int(b.admin("POST", API + "/usergroups",
                                   {"group_name": "iam-group", "group_type": 2},
                                   expect=201).header("Location").rsplit("/", 1)[1])
        cls.extra = {}      # project -> member id of iam-extra (guest)
        cls.target = {}     # project -> [robot id, name, secret]
        w.create_user("iam-extra")
        for project in (World.P, World.Q):
            w.create_user("iam-pool-" + project[-1])
            w.create_user("iam-pool2-" + project[-1])
            cls.extra[project] = w.add_member(project, "iam-extra", 3)
            cls.target[project] = list(w.project_robot(project, "target", ["pull"]))
        # Audit entries exist for both projects (their creation).
        for project in (World.P, World.Q):
            r = b.admin("GET", API + "/audit-logs?q=" + L.q("project_id=%d" % w.pid(project)),
                        expect=200)
            assert r.json(), "no audit entries for %s" % project

    # -- small helpers ---------------------------------------------------------------

    @property
    def b(self):
        return self.world.b

    def n(self):
        return self.world.next()

    def user_exists(self, name):
        r = self.b.admin("GET", API + "/users?page_size=100&q=" + L.q("username=" + name),
                         expect=200)
        return any(u["username"] == name for u in r.json())

    def user(self, user_id):
        return self.b.admin("GET", "%s/users/%d" % (API, user_id), expect=200).json()

    def signs_in(self, name, password, source=None):
        r, tok = self.b.token([], auth=L.basic(name, password), source=source)
        return tok is not None

    def member_id(self, project, username):
        r = self.b.admin("GET", "%s/projects/%s/members?page_size=100&entityname=%s" %
                         (API, project, L.q(username)), expect=200)
        for m in r.json():
            if m["entity_name"] == username:
                return m["id"]
        return None

    def metadata(self, project):
        return self.b.admin("GET", "%s/projects/%s/metadatas" % (API, project), expect=200).json()

    def robot_pulls(self, project, name, secret):
        r = self.b.call("GET", "/v2/%s/base/manifests/v1" % project, auth=L.basic(name, secret),
                        headers={"Accept": bh.OCI_MANIFEST})
        return r.status == 200

    @staticmethod
    def consistent(r, ok_status, changed, what):
        """An allowed call changed things and a refused one did not."""
        if (r.status == ok_status) != bool(changed):
            raise AssertionError("%s answered %d but %s" %
                                 (what, r.status, "it happened" if changed else "nothing happened"))
        return r

    # -- system operations -----------------------------------------------------------------

    def system_ops(self):
        b, w, v = self.b, self.world, self.victim

        def get(path):
            return lambda c: c.api("GET", API + path)

        def perms_include(c, project, resource, action):
            r = c.api("GET", "%s/users/current/permissions?scope=%s&relative=true" %
                      (API, L.q("/project/%d" % w.pid(project))))
            if r.status != 200:
                return r
            return yn({"resource": resource, "action": action} in r.json()), L.short(r)

        def permissions_system(c):
            r = c.api("GET", API + "/permissions")
            if r.status != 200:
                return r
            return yn(bool(r.json().get("system"))), L.short(r)

        def create_user(c):
            name = L.uid("iam-new")
            r = c.api("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                               "realname": name, "password": L.PASSWORD})
            return self.consistent(r, 201, self.user_exists(name), "user creation")

        def put_user(c, user_id):
            realname = L.uid("rn")
            r = c.api("PUT", "%s/users/%d" % (API, user_id),
                      {"email": "%s@example.com" % realname, "realname": realname, "comment": "c"})
            return self.consistent(r, 200, self.user(user_id)["realname"] == realname,
                                   "profile update")

        def victim_password(c):
            new = "Vict1m-" + L.uid("pw")
            r = c.api("PUT", "%s/users/%d/password" % (API, v["id"]), {"new_password": new})
            if r.status == 200:
                v["password"] = new
            if not self.signs_in(v["name"], v["password"]):
                raise AssertionError("the victim cannot sign in with %s password" %
                                     ("the new" if r.status == 200 else "the old"))
            return r

        def self_password(c):
            ident = c.ident
            old, new = ident.secret, "Self-" + L.uid("Pw1")
            r = c.api("PUT", "%s/users/%d/password" % (API, ident.user_id),
                      {"old_password": old, "new_password": new})
            if r.status == 200:
                ident.secret = new
                if self.signs_in(ident.name, old, source=w.pool.fresh()):
                    raise AssertionError("the old password still signs in after a change")
            if not self.signs_in(ident.name, ident.secret):
                raise AssertionError("the current password does not sign in")
            return r

        def self_password_bad_old(c):
            ident = c.ident
            r = c.api("PUT", "%s/users/%d/password" % (API, ident.user_id),
                      {"old_password": "Wrong-Passw0rd", "new_password": "Other-" + L.uid("Pw1")})
            if not self.signs_in(ident.name, ident.secret):
                raise AssertionError("a refused password change changed the password")
            return r

        def victim_sysadmin(c):
            r = c.api("PUT", "%s/users/%d/sysadmin" % (API, v["id"]), {"sysadmin_flag": False})
            if self.user(v["id"])["sysadmin_flag"]:
                raise AssertionError("the victim became an administrator")
            return r

        def self_sysadmin(c):
            ident = c.ident
            before = self.user(ident.user_id)["sysadmin_flag"]
            r = c.api("PUT", "%s/users/%d/sysadmin" % (API, ident.user_id), {"sysadmin_flag": True})
            after = self.user(ident.user_id)["sysadmin_flag"]
            if after and not before:
                b.admin("PUT", "%s/users/%d/sysadmin" % (API, ident.user_id),
                        {"sysadmin_flag": False}, expect=200)
                raise AssertionError("a user made himself administrator (answer %d)" % r.status)
            return r

        def delete_user(c):
            name = L.uid("iam-del")
            user_id = w.create_user(name)
            r = c.api("DELETE", "%s/users/%d" % (API, user_id))
            return self.consistent(r, 200, not self.user_exists(name), "user deletion")

        def delete_self(c):
            r = c.api("DELETE", "%s/users/%d" % (API, c.ident.user_id))
            if not self.user_exists(c.ident.name):
                raise AssertionError("a user deleted himself (answer %d)" % r.status)
            return r

        def cli_secret(c, user_id):
            return c.api("PUT", "%s/users/%d/cli_secret" % (API, user_id),
                         {"secret": "Cli-Secret-1a"})

        def group_exists(group_id):
            return b.admin("GET", "%s/usergroups/%d" % (API, group_id)).status == 200

        def create_group(c):
            name = L.uid("iam-g")
            r = c.api("POST", API + "/usergroups", {"group_name": name, "group_type": 2})
            lst = b.admin("GET", API + "/usergroups?page_size=100&group_name=" + L.q(name),
                          expect=200).json()
            return self.consistent(r, 201, any(g["group_name"] == name for g in lst),
                                   "group creation")

        def rename_group(c):
            name = L.uid("iam-group")
            r = c.api("PUT", "%s/usergroups/%d" % (API, self.group_id), {"group_name": name})
            now = b.admin("GET", "%s/usergroups/%d" % (API, self.group_id), expect=200).json()
            return self.consistent(r, 200, now["group_name"] == name, "group rename")

        def delete_group(c):
            gid = int(b.admin("POST", API + "/usergroups",
                              {"group_name": L.uid("iam-gd"), "group_type": 2},
                              expect=201).header("Location").rsplit("/", 1)[1])
            r = c.api("DELETE", "%s/usergroups/%d" % (API, gid))
            return self.consistent(r, 200, not group_exists(gid), "group deletion")

        def lists_project(c, project):
            r = c.api("GET", "%s/projects?page_size=100&name=%s" % (API, project))
            if r.status != 200:
                return r
            return yn(project in [p["name"] for p in r.json()]), L.short(r)

        def head_project(c):
            return c.api("HEAD", API + "/projects?project_name=" + World.P)

        def create_project(c):
            name = L.uid("iam-c")
            r = c.api("POST", API + "/projects", {"project_name": name})
            exists = b.admin("GET", API + "/projects/" + name).status == 200
            self.consistent(r, 201, exists, "project creation")
            if exists and c.ident.is_user:
                # The creator becomes the project's administrator.
                mid = self.member_id(name, c.ident.name)
                m = mid and b.admin("GET", "%s/projects/%s/members/%d" % (API, name, mid),
                                    expect=200).json()
                if not m or m["role_id"] != 1:
                    raise AssertionError("the creator is not projectAdmin of %s: %r" % (name, m))
            return r

        def create_system_robot(c):
            name = L.uid("iam-sr")
            r = c.api("POST", API + "/robots",
                      {"name": name, "level": "system", "duration": -1,
                       "permissions": [{"kind": "project", "namespace": "*",
                                        "access": [{"resource": "repository", "action": "pull"}]}]})
            lst = b.admin("GET", API + "/robots?page_size=100&q=" + L.q("name=robot$" + name),
                          expect=200).json()
            return self.consistent(r, 201, len(lst) == 1, "system robot creation")

        def audit_shows(c, project):
            r = c.api("GET", API + "/audit-logs?page_size=100&q=" +
                      L.q("project_id=%d" % w.pid(project)))
            if r.status != 200:
                return r
            return yn(len(r.json()) > 0), L.short(r)

        return {
            "GET ping": get("/ping"),
            "GET health": get("/health"),
            "GET systeminfo": get("/systeminfo"),
            "GET permissions": get("/permissions"),
            "permissions include system": permissions_system,
            "GET plugins": get("/plugins"),
            "GET users": get("/users"),
            "POST users": create_user,
            "GET users/current": get("/users/current"),
            "GET users/current/permissions": lambda c: c.api(
                "GET", "%s/users/current/permissions?scope=%s&relative=true" %
                (API, L.q("/project/%d" % w.pid(World.P)))),
            "my P permissions: repository push": lambda c: perms_include(c, World.P, "repository",
                                                                         "push"),
            "my P permissions: member create": lambda c: perms_include(c, World.P, "member",
                                                                       "create"),
            "my Q permissions: repository pull": lambda c: perms_include(c, World.Q, "repository",
                                                                         "pull"),
            "GET users/search": get("/users/search?username=iam"),
            "GET users/{victim}": lambda c: c.api("GET", "%s/users/%d" % (API, v["id"])),
            "GET users/{self}": lambda c: c.api("GET", "%s/users/%d" % (API, c.ident.user_id)),
            "PUT users/{victim}": lambda c: put_user(c, v["id"]),
            "PUT users/{self}": lambda c: put_user(c, c.ident.user_id),
            "PUT users/{victim}/password": victim_password,
            "PUT users/{self}/password": self_password,
            "PUT users/{self}/password bad old": self_password_bad_old,
            "PUT users/{victim}/sysadmin": victim_sysadmin,
            "PUT users/{self}/sysadmin true": self_sysadmin,
            "DELETE users/{other}": delete_user,
            "PUT users/{victim}/cli_secret": lambda c: cli_secret(c, v["id"]),
            "PUT users/{self}/cli_secret": lambda c: cli_secret(c, c.ident.user_id),
            "GET usergroups": get("/usergroups"),
            "POST usergroups": create_group,
            "GET usergroups/{id}": lambda c: c.api("GET", "%s/usergroups/%d" % (API, self.group_id)),
            "PUT usergroups/{id}": rename_group,
            "DELETE usergroups/{id}": delete_group,
            "GET usergroups/search": get("/usergroups/search?groupname=iam"),
            "GET projects": get("/projects"),
            "projects list shows P": lambda c: lists_project(c, World.P),
            "projects list shows Q": lambda c: lists_project(c, World.Q),
            "HEAD projects?project_name=P": head_project,
            "POST projects": create_project,
            "GET robots": get("/robots"),
            "POST robots (system)": create_system_robot,
            "GET audit-logs": get("/audit-logs"),
            "audit-logs show P": lambda c: audit_shows(c, World.P),
            "audit-logs show Q": lambda c: audit_shows(c, World.Q),
            "POST ldap/ping": lambda c: c.api("POST", API + "/ldap/ping",
                                              {"ldap_url": "ldap://127.0.0.1:9"}),
            "GET ldap/users/search": get("/ldap/users/search?username=x"),
            "POST ldap/users/import": lambda c: c.api("POST", API + "/ldap/users/import",
                                                      {"ldap_uid_list": ["x"]}),
            "GET ldap/groups/search": get("/ldap/groups/search?groupname=x"),
            "POST system/oidc/ping": lambda c: c.api("POST", API + "/system/oidc/ping",
                                                     {"url": "https://127.0.0.1:9"}),
            "DELETE users/{self}": delete_self,
        }

    # -- project operations ----------------------------------------------------------------

    def project_ops(self, X):
        b, w = self.b, self.world
        base = "%s/projects/%s" % (API, X)
        pool, pool2 = "iam-pool-" + X[-1], "iam-pool2-" + X[-1]

        def twin_delete(c):
            # A fresh empty project where the caller holds the role it holds in X.
            name = "iam-tw-%d" % self.n()
            w.create_project(name, X == World.Q)
            key = c.ident.key
            if c.ident.is_user and key[0] == X[-1] and len(key) == 2:
                w.add_member(name, c.ident.name, ROLE_IDS[key[1]])
            r = c.api("DELETE", "%s/projects/%s" % (API, name))
            gone = b.admin("GET", "%s/projects/%s" % (API, name)).status == 404
            return self.consistent(r, 200, gone, "project deletion")

        def put_project(c):
            value = "true" if self.metadata(X).get("auto_scan") != "true" else "false"
            r = c.api("PUT", base, {"metadata": {"auto_scan": value}})
            return self.consistent(r, 200, self.metadata(X).get("auto_scan") == value,
                                   "project update")

        def post_metadata(c):
            b.admin("DELETE", base + "/metadatas/prevent_vul")
            assert "prevent_vul" not in self.metadata(X)
            r = c.api("POST", base + "/metadatas", {"prevent_vul": "false"})
            return self.consistent(r, 200, "prevent_vul" in self.metadata(X), "metadata add")

        def put_metadata(c):
            value = "true" if self.metadata(X).get("auto_scan") != "true" else "false"
            r = c.api("PUT", base + "/metadatas/auto_scan", {"auto_scan": value})
            return self.consistent(r, 200, self.metadata(X).get("auto_scan") == value,
                                   "metadata update")

        def delete_metadata(c):
            b.admin("POST", base + "/metadatas", {"severity": "low"}, expect=200)
            r = c.api("DELETE", base + "/metadatas/severity")
            return self.consistent(r, 200, "severity" not in self.metadata(X), "metadata delete")

        def add_member(c):
            r = c.api("POST", base + "/members",
                      {"role_id": 3, "member_user": {"username": pool}})
            mid = self.member_id(X, pool)
            if mid:
                b.admin("DELETE", "%s/members/%d" % (base, mid), expect=200)
            return self.consistent(r, 201, mid, "member add")

        def put_member(c):
            mid = self.extra[X]
            now = b.admin("GET", "%s/members/%d" % (base, mid), expect=200).json()["role_id"]
            role = 5 if now == 3 else 3
            r = c.api("PUT", "%s/members/%d" % (base, mid), {"role_id": role})
            after = b.admin("GET", "%s/members/%d" % (base, mid), expect=200).json()["role_id"]
            return self.consistent(r, 200, after == role, "member role change")

        def delete_member(c):
            mid = w.add_member(X, pool2, 3)
            r = c.api("DELETE", "%s/members/%d" % (base, mid))
            still = self.member_id(X, pool2)
            if still:
                b.admin("DELETE", "%s/members/%d" % (base, still), expect=200)
            return self.consistent(r, 200, not still, "member delete")

        def robots_of_project(c):
            return c.api("GET", API + "/robots?q=" +
                         L.q("Level=project,ProjectID=%d" % w.pid(X)))

        def robot_exists(name):
            return len(b.admin("GET", API + "/robots?page_size=100&q=" + L.q("name=" + name),
                               expect=200).json()) == 1

        def create_robot(c):
            short = L.uid("r")
            r = c.api("POST", API + "/robots",
                      {"name": short, "level": "project", "duration": -1,
                       "permissions": [{"kind": "project", "namespace": X,
                                        "access": [{"resource": "repository", "action": "pull"}]}]})
            return self.consistent(r, 201, robot_exists("robot$%s+%s" % (X, short)),
                                   "project robot creation")

        def put_robot(c):
            rid = self.target[X][0]
            desc = L.uid("d")
            r = c.api("PUT", "%s/robots/%d" % (API, rid),
                      {"name": "target", "level": "project", "duration": -1, "description": desc,
                       "disable": False,
                       "permissions": [{"kind": "project", "namespace": X,
                                        "access": [{"resource": "repository", "action": "pull"}]}]})
            now = b.admin("GET", "%s/robots/%d" % (API, rid), expect=200).json()
            return self.consistent(r, 200, now["description"] == desc, "robot update")

        def patch_robot(c):
            rid, name, secret = self.target[X]
            r = c.api("PATCH", "%s/robots/%d" % (API, rid))
            if r.status == 200:
                new = r.json()["secret"]
                if not self.robot_pulls(X, name, new):
                    raise AssertionError("the refreshed secret does not sign in")
                self.target[X][2] = new
            elif not self.robot_pulls(X, name, secret):
                raise AssertionError("a refused refresh changed the secret")
            return r

        def delete_robot(c):
            rid, name, _ = w.project_robot(X, L.uid("rd"), ["pull"])
            r = c.api("DELETE", "%s/robots/%d" % (API, rid))
            return self.consistent(r, 200, not robot_exists(name), "robot deletion")

        return {
            "GET project": lambda c: c.api("GET", base),
            "PUT project": put_project,
            "DELETE project": twin_delete,
            "GET _deletable": lambda c: c.api("GET", base + "/_deletable"),
            "GET summary": lambda c: c.api("GET", base + "/summary"),
            "GET metadatas": lambda c: c.api("GET", base + "/metadatas"),
            "GET metadatas/{name}": lambda c: c.api("GET", base + "/metadatas/auto_scan"),
            "POST metadatas": post_metadata,
            "PUT metadatas/{name}": put_metadata,
            "DELETE metadatas/{name}": delete_metadata,
            "GET members": lambda c: c.api("GET", base + "/members"),
            "POST members": add_member,
            "GET members/{mid}": lambda c: c.api("GET", "%s/members/%d" % (base, self.extra[X])),
            "PUT members/{mid}": put_member,
            "DELETE members/{mid}": delete_member,
            "GET logs": lambda c: c.api("GET", base + "/logs"),
            "GET robots?q=ProjectID": robots_of_project,
            "POST robots (project)": create_robot,
            "GET robots/{id}": lambda c: c.api("GET", "%s/robots/%d" % (API, self.target[X][0])),
            "PUT robots/{id}": put_robot,
            "PATCH robots/{id}": patch_robot,
            "DELETE robots/{id}": delete_robot,
        }

    # -- the runner ------------------------------------------------------------------------

    def run_grid(self, title, grid, ops):
        out = L.Mismatches(title)
        rows = L.parse_grid(grid, COLUMNS)
        self.assertEqual(sorted(op for op, _ in rows), sorted(ops), "grid and operations differ")
        for op, cells in rows:
            for who in COLUMNS:
                if cells[who] == "-":
                    continue
                caller = self.world.caller(who, "api")
                try:
                    got = ops[op](caller)
                except AssertionError as e:
                    out.check(op, who, cells[who], "broken", str(e))
                    continue
                if isinstance(got, tuple):
                    out.check(op, who, cells[who], got[0], got[1])
                else:
                    out.check(op, who, cells[who], got.status, L.short(got))
        msg = out.report()
        if msg:
            self.fail(msg)

    def test_1_project_p(self):
        """Every identity x operation on the private project."""
        self.run_grid("private project " + World.P, PROJECT_P, self.project_ops(World.P))

    def test_2_project_q(self):
        """Every identity x operation on the public project."""
        self.run_grid("public project " + World.Q, PROJECT_Q, self.project_ops(World.Q))

    def test_3_system(self):
        """Every identity x system-wide operation (users, groups, robots, ...).
        Runs last: it changes passwords and tries self-deletion."""
        self.run_grid("system", SYSTEM, self.system_ops())

    def test_5_name_or_id(self):
        """A numeric reference is an id unless X-Is-Resource-Name: true; the
        permission check applies to the project actually resolved."""
        w = self.world
        pid = w.pid(World.P)
        w.create_project(str(pid), False)
        name = L.uid("iam-num")
        w.create_user(name)
        by_name = {"X-Is-Resource-Name": "true"}
        w.b.admin("POST", "%s/projects/%d/members" % (API, pid),
                  {"role_id": 1, "member_user": {"username": name}}, headers=by_name, expect=201)
        self.assertIsNone(self.member_id(World.P, name))
        auth = L.basic(name, L.PASSWORD)
        r = w.b.call("GET", "%s/projects/%d" % (API, pid), auth=auth)
        self.assertEqual(r.status, 403, "id %d is %s: %s" % (pid, World.P, L.short(r)))
        r = w.b.call("GET", "%s/projects/%d" % (API, pid), auth=auth, headers=by_name)
        self.assertEqual(r.status, 200, L.short(r))
        self.assertEqual(r.json()["name"], str(pid))
        r = w.b.call("GET", "%s/projects/%d/members" % (API, pid), auth=auth, headers=by_name)
        self.assertEqual(r.status, 200, L.short(r))
        r = w.b.call("DELETE", "%s/projects/%d" % (API, pid), auth=auth)
        self.assertEqual(r.status, 403, L.short(r))
        r = w.b.call("DELETE", "%s/projects/%d" % (API, pid), auth=auth, headers=by_name)
        self.assertEqual(r.status, 200, L.short(r))
        w.b.admin("GET", API + "/projects/" + World.P, expect=200)
        r = w.b.admin("GET", "%s/projects/%d" % (API, pid), headers=by_name)
        self.assertEqual(r.status, 404, L.short(r))

    def test_9_initial_admin_is_not_deletable(self):
        """Harbor refuses to delete user 1 (the initial administrator), even
        for another administrator (user.go requireDeletable)."""
        r = self.b.admin("GET", API + "/users?q=" + L.q("username=admin"), expect=200)
        admin_id = r.json()[0]["user_id"]
        self.assertEqual(admin_id, 1, r)
        sa = self.world.caller("sa", "api")
        r = sa.api("DELETE", "%s/users/%d" % (API, admin_id))
        self.assertEqual(r.status, 403, L.short(r))
        self.assertTrue(self.user_exists("admin"))

    def test_4_role_change_takes_effect_at_once(self):
        """Demoting a member takes effect on the next request, for cached
        Basic credentials and for /v2."""
        w = self.world
        name = L.uid("iam-demo")
        w.create_user(name)
        mid = w.add_member(World.P, name, 1)
        auth = L.basic(name, L.PASSWORD)
        r = w.b.call("GET", API + "/projects/%s/metadatas" % World.P, auth=auth)
        self.assertEqual(r.status, 200, L.short(r))
        w.b.admin("PUT", "%s/projects/%s/members/%d" % (API, World.P, mid), {"role_id": 3},
                  expect=200)
        r = w.b.call("GET", API + "/projects/%s/metadatas" % World.P, auth=auth)
        self.assertEqual(r.status, 403, L.short(r))
        w.b.admin("DELETE", "%s/projects/%s/members/%d" % (API, World.P, mid), expect=200)
        r = w.b.call("GET", "/v2/%s/base/manifests/v1" % World.P, auth=auth,
                     headers={"Accept": bh.OCI_MANIFEST})
        self.assertEqual(r.status, 403, L.short(r))
        r = w.b.call("GET", API + "/projects/" + World.P, auth=auth)
        self.assertEqual(r.status, 403, L.short(r))


if __name__ == "__main__":
    L.main([("api system", SYSTEM), ("api project P", PROJECT_P), ("api project Q", PROJECT_Q)], COLUMNS)
