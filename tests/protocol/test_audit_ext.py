"""Harbor 2.13's extended audit log (/auditlog-exts, /auditlog-exts/events,
/projects/{p}/auditlog-exts) and forwarding audit entries to a syslog
endpoint (audit.forward_endpoint, RFC 5424 over TCP, octet-counted), with
audit.skip_database keeping them out of the database."""

import base64
import json
import re
import socket
import threading
import time

import berth_harness as h


class SyslogSink:
    """A TCP syslog receiver on 127.0.0.1 that collects RFC 6587
    octet-counted messages."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while True:
                m = re.match(rb"^(\d+) ", buf)
                if not m:
                    break
                n = int(m.group(1))
                start = m.end()
                if len(buf) < start + n:
                    break
                with self.lock:
                    self.messages.append(buf[start:start + n].decode("utf-8"))
                buf = buf[start + n:]

    def wait_for(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.messages if needle in m]
            if found:
                return found
            time.sleep(0.05)
        with self.lock:
            raise AssertionError("no syslog message with %r in %r" % (needle, self.messages))

    def close(self):
        self.sock.close()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class AuditLogExt(h.RegistryTestCase):

    def api(self, method, path, body=None, auth=None, status=200):
        headers = {"Content-Type": "application/json"}
        if auth:  # None: the administrator; "": anonymous
            headers["Authorization"] = auth
        data = json.dumps(body).encode() if body is not None else None
        resp = self.reg.request(method, "/api/v2.0" + path, body=data, headers=headers,
                                auth=auth is None, check=False)
        self.assertEqual(resp.status, status, "%s %s: %s %s" % (method, path, resp.status, resp.body[:300]))
        return resp

    def test_events_and_entries_in_harbor_shape(self):
        self.api("POST", "/projects", {"project_name": "audext", "metadata": {"public": "false"}},
                 status=201)
        self.reg.push_image("audext/app", tag="v1")
        events = self.api("GET", "/auditlog-exts/events").json()
        names = {e["event_type"] for e in events}
        for want in ("create_project", "push_artifact", "delete_artifact", "login_user"):
            self.assertIn(want, names)
        for e in events:
            self.assertEqual(set(e), {"event_type"})
        entries = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            entries = self.api("GET", "/auditlog-exts?q=resource_type=project,resource=audext").json()
            if entries:
                break
            time.sleep(0.1)
        self.assertEqual(len(entries), 1, entries)
        e = entries[0]
        self.assertEqual(set(e), {"id", "username", "resource", "resource_type", "operation",
                                  "operation_description", "operation_result", "op_time"})
        self.assertIs(e["operation_result"], True)
        self.assertIsInstance(e["id"], int)
        self.assertEqual(e["operation"], "create")
        self.assertIn("audext", e["operation_description"])
        self.assertRegex(e["op_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        # The project view holds its artifact push too, and pages.
        resp = self.api("GET", "/projects/audext/auditlog-exts?page_size=1")
        self.assertEqual(len(resp.json()), 1)
        self.assertGreaterEqual(int(resp.header("X-Total-Count")), 2)
        ops = {(x["resource_type"], x["operation"])
               for x in self.api("GET", "/projects/audext/auditlog-exts?page_size=100").json()}
        self.assertIn(("artifact", "push"), ops)
        # A failed sign-in is an entry whose result is false.
        self.api("GET", "/users/current", auth=basic("admin", "wrong-password"), status=401)
        failed = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not failed:
            failed = self.api("GET", "/auditlog-exts?q=operation=login,operation_result=failure").json()
            time.sleep(0.1)
        self.assertTrue(failed)
        self.assertIs(failed[0]["operation_result"], False)

    def test_refusals(self):
        self.api("GET", "/auditlog-exts", auth="", status=401)
        self.api("GET", "/auditlog-exts/events", auth="", status=401)
        self.api("GET", "/auditlog-exts?q=op_time=[bad~worse]", status=400)
        self.api("GET", "/projects/no-such-project/auditlog-exts", status=404)
        # A user who is no member of a private project sees none of its entries.
        self.api("POST", "/projects", {"project_name": "audpriv", "metadata": {"public": "false"}},
                 status=201)
        self.api("POST", "/users", {"username": "auditor", "email": "a@example.test",
                                    "realname": "A", "password": "Auditor-Pass1"}, status=201)
        who = basic("auditor", "Auditor-Pass1")
        self.api("GET", "/projects/audpriv/auditlog-exts", auth=who, status=403)
        mine = self.api("GET", "/auditlog-exts?page_size=100", auth=who).json()
        self.assertFalse([x for x in mine if x["resource"] == "audpriv"], mine)


class AuditForwarding(h.RegistryTestCase):
    """Entries also go to syslog; with skip_database only there."""

    def start_with(self, sink, skip):
        reg = h.Registry(config="audit:\n  forward_endpoint: 127.0.0.1:%d\n  skip_database: %s\n"
                         % (sink.port, "true" if skip else "false"))
        reg.start()
        self.addCleanup(reg.cleanup)
        return reg

    def create_project(self, reg, name):
        resp = reg.request("POST", "/api/v2.0/projects",
                           body=json.dumps({"project_name": name}).encode(),
                           headers={"Content-Type": "application/json"}, check=False)
        self.assertEqual(resp.status, 201, resp.body)

    def test_forwarded_and_kept(self):
        sink = SyslogSink()
        self.addCleanup(sink.close)
        reg = self.start_with(sink, skip=False)
        self.create_project(reg, "fwd-one")
        msgs = sink.wait_for('resource="fwd-one"')
        m = msgs[0]
        self.assertRegex(m, r"^<\d+>1 \d{4}-\d\d-\d\dT[0-9:.]+Z \S+ berthd - audit - ")
        self.assertIn('operation="create"', m)
        self.assertIn('resource_type="project"', m)
        self.assertIn('operator="admin"', m)
        resp = reg.request("GET", "/api/v2.0/auditlog-exts?q=resource=fwd-one", check=False)
        self.assertEqual(len(json.loads(resp.body)), 1)

    def test_skip_database(self):
        sink = SyslogSink()
        self.addCleanup(sink.close)
        reg = self.start_with(sink, skip=True)
        self.create_project(reg, "fwd-two")
        sink.wait_for('resource="fwd-two"')
        resp = reg.request("GET", "/api/v2.0/auditlog-exts?q=resource=fwd-two", check=False)
        self.assertEqual(json.loads(resp.body), [])

    def test_endpoint_down_does_not_block(self):
        sink = SyslogSink()
        port = sink.port
        sink.close()  # nothing listens there now
        reg = h.Registry(config="audit:\n  forward_endpoint: 127.0.0.1:%d\n" % port)
        reg.start()
        self.addCleanup(reg.cleanup)
        t0 = time.monotonic()
        self.create_project(reg, "fwd-three")
        self.assertLess(time.monotonic() - t0, 5)
        deadline = time.monotonic() + 10
        rows = []
        while time.monotonic() < deadline and not rows:
            resp = reg.request("GET", "/api/v2.0/auditlog-exts?q=resource=fwd-three", check=False)
            rows = json.loads(resp.body)
            time.sleep(0.1)
        self.assertEqual(len(rows), 1, "kept in the database while the endpoint is down")

    def test_bad_config_is_refused(self):
        reg = h.Registry(config="audit:\n  skip_database: true\n")
        with self.assertRaises(RuntimeError):
            reg.start()
        reg.cleanup()


if __name__ == "__main__":
    h.main()
