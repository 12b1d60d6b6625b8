#!/usr/bin/python3
"""A throwaway single-node Ceph cluster with radosgw, for the S3 tests.

    radosgw.py start DIR   # prints DIR/s3.json: endpoint, region, bucket, keys
    radosgw.py stop DIR    # kills the daemons and removes DIR

One monitor, one memstore OSD (everything in memory, nothing on disk but logs),
pools of size 1, no cephx between the daemons, and radosgw on the beast
frontend on a free port of 127.0.0.1. S3 requests are still signed: radosgw
checks every SigV4 signature against the user created here with
radosgw-admin. Runs as the current user; every daemon writes its pid file
under DIR/run so `stop` kills exactly what `start` started.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

ACCESS_KEY = "BERTHTESTACCESSKEY01"
SECRET_KEY = "berth-test-secret-key-0123456789abcdefghij"
BUCKET = "berth-test"
REGION = "default"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # radosgw's zonegroup name, the SigV4 region it accepts


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def conf_text(d, mon_port, rgw_port):
    return f"""[global]
fsid = {uuid.uuid4()}
mon host = [v2:127.0.0.1:{mon_port}]
mon initial members = a
ms bind ipv6 = false
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
ms bind ipv4 = true
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
auth supported = none
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
ms service mode = crc
ms mon service mode = crc
run dir = {d}/run
admin socket = {d}/run/$name.asok
log file = {d}/log/$name.log
log to stderr = false
err to stderr = false
debug ms = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# Pool creation (radosgw makes ~7 pools) waits on paxos rounds: make them short.
paxos propose interval = 0.05
paxos min wait = 0.01
mon data avail warn = 1
mon data avail crit = 0
mon osd full ratio = 0.99
mon osd nearfull ratio = 0.98
osd failsafe full ratio = 0.995
osd objectstore = memstore
memstore device bytes = 8589934592
osd data = {d}/osd.$id
osd op num shards = 1
osd op num threads per shard = 2
mon data = {d}/mon.$id
keyring = {d}/keyring

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {d}/rgw
rgw thread pool size = 64
rgw dns name = 127.0.0.1
rgw gc obj min wait = 10
rgw gc processor period = 30
"""


class Cluster:
    def __init__(self, d):
        self.d = os.path.abspath(d)
        self.conf = os.path.join(self.d, "ceph.conf")

    def run(self, *args, timeout=60, check=True):
        p = subprocess.run(list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s\n%s" % (
                " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"), self.logs_tail()))
        return p.stdout.decode(errors="replace")

    def ceph(self, *args, timeout=60):
        return self.run("ceph", "-c", self.conf, "--connect-timeout", "20", *args,
                        timeout=timeout)

    def logs_tail(self):
        out = []
        logdir = os.path.join(self.d, "log")
        if os.path.isdir(logdir):
            for n in sorted(os.listdir(logdir)):
                with open(os.path.join(logdir, n), errors="replace") as f:
                    lines = f.readlines()[-15:]
                out.append("== %s ==\n%s" % (n, "".join(lines)))
        return "\n".join(out)

    def daemon(self, *args):
        """Starts a daemon in the foreground (-f) of its own session and
        records its pid, so stop() can kill it whatever state it is in."""
        log = open(os.path.join(self.d, "log", "%s.out" % args[0]), "ab")
        p = subprocess.Popen([args[0], "-f", "-c", self.conf] + list(args[1:]),
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
        log.close()
        with open(os.path.join(self.d, "pids"), "a") as f:
            f.write("%d\n" % p.pid)
        if args[0] == "ceph-mon":
            self.ceph("mon", "stat", timeout=60)  # answers once the monitor is up
        return p

    def start(self):
        for sub in ("run", "log", "mon.a", "osd.0", "rgw"):
            os.makedirs(os.path.join(self.d, sub), exist_ok=True)
        mon_port, rgw_port = free_port(), free_port()
        with open(self.conf, "w") as f:
            f.write(conf_text(self.d, mon_port, rgw_port))
        keyring = os.path.join(self.d, "keyring")
        self.run("ceph-authtool", "--create-keyring", keyring, "--gen-key", "-n", "mon.",
                 "--cap", "mon", "allow *")
        monmap = os.path.join(self.d, "monmap")
        fsid = [l.split("=", 1)[1].strip() for l in open(self.conf) if l.startswith("fsid")][0]
        self.run("monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                 "[v2:127.0.0.1:%d]" % mon_port, monmap)
        self.run("ceph-mon", "-c", self.conf, "--mkfs", "-i", "a", "--monmap", monmap,
                 "--keyring", keyring)
        self.daemon("ceph-mon", "-i", "a")
        osd_uuid = str(uuid.uuid4())
        osd_id = self.ceph("osd", "new", osd_uuid).strip()
        if osd_id != "0":
            raise RuntimeError("unexpected OSD id %r" % osd_id)
        self.run("ceph-osd", "-c", self.conf, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid,
                 timeout=120)
        self.daemon("ceph-osd", "-i", "0")
        self.wait_osd_up()
        self.daemon("radosgw", "-n", "client.rgw")
        self.run("radosgw-admin", "-c", self.conf, "user", "create", "--uid", "berth",
                 "--display-name", "Berth tests", "--access-key", ACCESS_KEY,
                 "--secret-key", SECRET_KEY, timeout=120)
        endpoint = "http://127.0.0.1:%d" % rgw_port
        self.wait_rgw(endpoint)
        info = {"endpoint": endpoint, "region": REGION, "bucket": BUCKET,
                "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
        self.create_bucket(info)
        with open(os.path.join(self.d, "s3.json"), "w") as f:
            json.dump(info, f, indent=1)
        # For the storage conformance suite (BERTH_STORAGE_CONFORMANCE_CONFIG):
        # a fresh key prefix per test, small parts so multipart paths run.
        conformance = {"s3": {"endpoint": endpoint, "region": REGION, "bucket": BUCKET,
                              "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
                              "force_path_style": True, "root_prefix": "{{UNIQUE}}",
                              "multipart_chunk_size": 5 << 20, "redirect": True}}
        with open(os.path.join(self.d, "conformance.json"), "w") as f:
            json.dump(conformance, f, indent=1)
        return info

    def wait_osd_up(self):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            st = json.loads(self.ceph("osd", "stat", "--format", "json"))
            st = st.get("osdmap", st)
            if st.get("num_up_osds", 0) >= 1 and st.get("num_in_osds", 0) >= 1:
                return
            time.sleep(0.3)
        raise RuntimeError("the OSD did not come up\n" + self.logs_tail())

    def wait_rgw(self, endpoint):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(endpoint + "/", timeout=5).read()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer: the frontend is serving
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("radosgw did not answer on %s\n%s" % (endpoint, self.logs_tail()))

    def create_bucket(self, info):
        # curl signs with SigV4 itself (--aws-sigv4): one less client to depend on.
        url = "%s/%s" % (info["endpoint"], info["bucket"])
        deadline = time.monotonic() + 60
        while True:
            out = self.run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                           "--aws-sigv4", "aws:amz:%s:s3" % info["region"], "--user",
                           "%s:%s" % (info["access_key"], info["secret_key"]),
                           # curl 7.88 signs this header but does not add it; radosgw needs it
                           "-H", "x-amz-content-sha256: " + EMPTY_SHA256, url, check=False)
            if out.strip() in ("200", "409"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("creating bucket %s answered %s\n%s" % (
                    url, out, self.logs_tail()))
            time.sleep(0.5)

    def stop(self):
        pids = []
        try:
            with open(os.path.join(self.d, "pids")) as f:
                pids = [int(l) for l in f if l.strip()]
        except OSError:
            pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)  # nothing to keep: all in memory
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for pid in pids:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        if not os.environ.get("BERTH_RADOSGW_KEEP"):
            shutil.rmtree(self.d, ignore_errors=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: radosgw.py start|stop DIR")
    c = Cluster(sys.argv[2])
    if sys.argv[1] == "stop":
        c.stop()
        return
    if os.path.exists(os.path.join(c.d, "pids")):
        c.stop()  # a leftover from an interrupted run
    t0 = time.monotonic()
    try:
        info = c.start()
    except BaseException:
        sys.stderr.write("radosgw start failed; logs:\n%s\n" % c.logs_tail())
        c.stop()
        raise
    print("radosgw ready at %s in %.1f s (config %s)" % (
        info["endpoint"], time.monotonic() - t0, os.path.join(c.d, "s3.json")))


if __name__ == "__main__":
    main()
