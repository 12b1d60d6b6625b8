#!/usr/bin/env python3
"""Password guessing: the sign-in limiter and what failures reveal.

berthd counts failed sign-ins per username (5 within 5 minutes) and per
client address (30 within 5 minutes); past either limit every attempt for
that name (or from that address) is refused with 429 TOO_MANY_REQUEST for 5
minutes, the right password included. Both limits are exercised here:

  * per username: failures for one name from one address, then the lockout
    seen from a *different* address (so it is the name that is locked), in
    upper case too, on every sign-in path (/service/token, /v2 Basic,
    /api Basic, /c/login);
  * per address: 30 failures from one loopback address, each with a
    different unknown name, then a correct sign-in from that address (429)
    and from another one (200).

The client address is chosen with the socket's source address (berthd
listens on 127.0.0.1; any 127.x.y.z reaches it), which is also how the
timing test keeps clear of the per-address limit. Unknown users and wrong
passwords must look the same: same status, same body, same challenge, and a
latency within a factor of 2 (unknown users are checked against a dummy
argon2id hash).
"""

import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iam_lib as L  # noqa: E402

bh = L.bh
API = L.API


class LoginLimits(unittest.TestCase):
    reg = None

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry().start()
        cls.b = L.Berth(cls.reg)
        cls.pool = L.AddressPool()
        cls.users = {}

    @classmethod
    def tearDownClass(cls):
        if cls.reg is not None:
            cls.reg.cleanup_checked(cls.__name__)

    def user(self, prefix):
        name = L.uid(prefix)
        self.b.admin("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                              "realname": name, "password": L.PASSWORD},
                     expect=201)
        return name

    # -- the four sign-in paths ----------------------------------------------------------

    def via_token(self, user, pw, source):
        return self.b.call("GET", "/service/token?service=harbor-registry", auth=L.basic(user, pw),
                           source=source)

    def via_v2(self, user, pw, source):
        return self.b.call("GET", "/v2/", auth=L.basic(user, pw), source=source)

    def via_api(self, user, pw, source):
        return self.b.call("GET", API + "/users/current", auth=L.basic(user, pw), source=source)

    def via_login(self, user, pw, source):
        body = "principal=%s&password=%s" % (L.q(user), L.q(pw))
        return self.b.call("POST", "/c/login", body, source=source,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    PATHS = ("via_token", "via_v2", "via_api", "via_login")

    @staticmethod
    def shape(r):
        """What a client can tell apart: status, error code and message,
        challenge."""
        try:
            err = r.json()["errors"][0]
            code, message = err["code"], err["message"]
        except (ValueError, KeyError, IndexError):
            code = message = None
        return r.status, code, message, r.header("WWW-Authenticate")

    # -- tests ---------------------------------------------------------------------------

    def test_unknown_user_looks_like_wrong_password(self):
        """On every path the answer for an unknown user equals the answer for
        a known user with a wrong password."""
        for path in self.PATHS:
            send = getattr(self, path)
            known = self.user("iam-known")
            src = self.pool.fresh()
            wrong = send(known, "Wrong-Passw0rd", src)
            unknown = send(L.uid("iam-nobody"), "Wrong-Passw0rd", src)
            self.assertEqual(wrong.status, 401, "%s: %s" % (path, L.short(wrong)))
            self.assertEqual(self.shape(wrong), self.shape(unknown), path)
            if path != "via_v2":
                self.assertEqual(self.shape(wrong)[1:3],
                                 ("UNAUTHORIZED", "invalid username or password"), path)
            # An empty password and an empty user name are just as uninformative.
            empty = send(known, "", src)
            self.assertEqual(self.shape(empty)[:3], self.shape(wrong)[:3], path + " empty password")
            # The right password still works (the failures did not lock it).
            ok = send(known, L.PASSWORD, src)
            self.assertEqual(ok.status, 200, "%s: %s" % (path, L.short(ok)))

    def test_five_failures_lock_the_username(self):
        name = self.user("iam-flood")
        src = self.pool.fresh()
        for i in range(5):
            r = self.via_token(name, "Wrong-Passw0rd-%d" % i, src)
            self.assertEqual(r.status, 401, "failure %d: %s" % (i + 1, L.short(r)))
        # The right password, from another address: the name is locked.
        r = self.via_token(name, L.PASSWORD, self.pool.fresh())
        self.assertEqual(r.status, 429, L.short(r))
        err = r.json()["errors"]
        self.assertEqual(len(err), 1)
        self.assertEqual(err[0]["code"], "TOO_MANY_REQUEST")
        self.assertRegex(err[0]["message"], r"retry in \d+ seconds")
        self.assertNotIn(name, err[0]["message"])
        # Every sign-in path refuses it, whatever the case of the name.
        for path in self.PATHS:
            for who in (name, name.upper()):
                r = getattr(self, path)(who, L.PASSWORD, self.pool.fresh())
                self.assertEqual(r.status, 429, "%s %s: %s" % (path, who, L.short(r)))
                codes = r.error_codes()
                self.assertEqual(codes, ["TOOMANYREQUESTS" if path == "via_v2" else
                                         "TOO_MANY_REQUEST"], path)
        # The lock is the name's: another user signs in from the same address.
        other = self.user("iam-other")
        r = self.via_token(other, L.PASSWORD, src)
        self.assertEqual(r.status, 200, L.short(r))

    def test_unknown_names_lock_the_same_way(self):
        """Locking does not reveal which names exist."""
        ghost = L.uid("iam-ghost")
        src = self.pool.fresh()
        answers = [self.via_token(ghost, "Wrong-Passw0rd", src).status for _ in range(6)]
        self.assertEqual(answers, [401] * 5 + [429])

    def test_thirty_failures_lock_the_address(self):
        known = self.user("iam-addr")
        src = self.pool.fresh()
        for i in range(30):
            r = self.via_token(L.uid("iam-spray"), "Wrong-Passw0rd", src)
            self.assertEqual(r.status, 401, "failure %d: %s" % (i + 1, L.short(r)))
        r = self.via_token(known, L.PASSWORD, src)
        self.assertEqual(r.status, 429, "the address should be locked: " + L.short(r))
        r = self.via_login(known, L.PASSWORD, src)
        self.assertEqual(r.status, 429, L.short(r))
        r = self.via_token(known, L.PASSWORD, self.pool.fresh())
        self.assertEqual(r.status, 200, "another address is not locked: " + L.short(r))

    def test_timing_unknown_user_vs_wrong_password(self):
        """Median latency of 10 unknown-user and 10 wrong-password sign-ins
        (fresh names and addresses each, so no limit is reached) within a
        factor of 2."""
        known = [self.user("iam-time") for _ in range(10)]
        # Warm up both paths once.
        self.via_token(known[0], "Warm-Passw0rd", self.pool.fresh())
        self.via_token(L.uid("iam-warm"), "Warm-Passw0rd", self.pool.fresh())
        unknown_t, wrong_t = [], []
        for i in range(10):
            for kind in ((0, 1) if i % 2 == 0 else (1, 0)):
                user = L.uid("iam-nobody") if kind == 0 else known[i]
                src = self.pool.fresh()
                t0 = time.perf_counter()
                r = self.via_token(user, "Wrong-Passw0rd", src)
                dt = time.perf_counter() - t0
                self.assertEqual(r.status, 401, L.short(r))
                (unknown_t if kind == 0 else wrong_t).append(dt)
        mu, mw = statistics.median(unknown_t), statistics.median(wrong_t)
        ratio = max(mu, mw) / min(mu, mw)
        sys.stderr.write("sign-in latency median: unknown user %.1f ms, wrong password %.1f ms "
                         "(ratio %.2f)\n" % (mu * 1000, mw * 1000, ratio))
        self.assertLess(ratio, 2.0, "unknown %r vs wrong %r" % (unknown_t, wrong_t))
        # A KDF runs for both: neither answer is a quick table miss. Compare
        # with a request that signs nobody in.
        base = []
        for _ in range(10):
            t0 = time.perf_counter()
            self.b.call("GET", API + "/ping")
            base.append(time.perf_counter() - t0)
        mb = statistics.median(base)
        self.assertGreater(min(mu, mw), 2 * mb,
                           "sign-ins (%.1f / %.1f ms) barely slower than a ping (%.1f ms)" %
                           (mu * 1000, mw * 1000, mb * 1000))


class BehindAProxy(unittest.TestCase):
    """With http.trusted_proxies, the address limit applies to the client a
    trusted proxy forwards for (X-Forwarded-For), not to the proxy: a client
    guessing passwords through the load balancer locks itself out, not
    everybody behind it. From any other peer the header is ignored, so it
    cannot be used to dodge the limit."""

    PROXY = "127.0.3.9"

    @classmethod
    def setUpClass(cls):
        cls.reg = bh.Registry(config="http:\n  trusted_proxies: [%s, 10.0.0.0/8]\n"
                              % cls.PROXY).start()
        cls.b = L.Berth(cls.reg)
        cls.pool = L.AddressPool()

    @classmethod
    def tearDownClass(cls):
        cls.reg.cleanup_checked(cls.__name__)

    def token(self, user, pw, source, forwarded_for=None):
        h = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        return self.b.call("GET", "/service/token?service=harbor-registry", auth=L.basic(user, pw),
                           source=source, headers=h)

    def test_the_forwarded_client_is_locked_not_the_proxy(self):
        name = L.uid("iam-lb")
        self.b.admin("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                              "realname": name, "password": L.PASSWORD},
                     expect=201)
        # 30 failures from one client, through the proxy and a 10/8 hop; the
        # left-most entry is whatever the client wrote and is not believed.
        for i in range(30):
            r = self.token(L.uid("iam-spray"), "Wrong-Passw0rd", self.PROXY,
                           "198.51.100.%d, 203.0.113.7, 10.1.1.1" % i)
            self.assertEqual(r.status, 401, "failure %d: %s" % (i + 1, L.short(r)))
        r = self.token(name, L.PASSWORD, self.PROXY, "203.0.113.7")
        self.assertEqual(r.status, 429, "the forwarded client should be locked: " + L.short(r))
        # Another client behind the same proxy, and the proxy itself, are not.
        r = self.token(name, L.PASSWORD, self.PROXY, "203.0.113.8")
        self.assertEqual(r.status, 200, L.short(r))
        r = self.token(name, L.PASSWORD, self.PROXY)
        self.assertEqual(r.status, 200, L.short(r))

    def test_an_untrusted_peer_cannot_choose_its_address(self):
        name = L.uid("iam-spoof")
        self.b.admin("POST", API + "/users", {"username": name, "email": name + "@example.com",
                                              "realname": name, "password": L.PASSWORD},
                     expect=201)
        src = self.pool.fresh()
        for i in range(30):
            r = self.token(L.uid("iam-spray"), "Wrong-Passw0rd", src, "192.0.2.%d" % i)
            self.assertEqual(r.status, 401, "failure %d: %s" % (i + 1, L.short(r)))
        r = self.token(name, L.PASSWORD, src, "192.0.2.200")
        self.assertEqual(r.status, 429, "the peer's own address is locked: " + L.short(r))
        # The header named addresses that were never counted.
        r = self.token(name, L.PASSWORD, self.PROXY, "192.0.2.1")
        self.assertEqual(r.status, 200, L.short(r))


if __name__ == "__main__":
    bh.main()
