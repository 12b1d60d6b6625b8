"""berthd refuses to start on a bad plugin file or a bad provider config, with
one clear message, and `berthd plugins list|inspect` report the same reasons.

The library-level loader is covered by tests/plugins/plugin_registry_test.cc;
this checks what an operator sees from the berthd binary.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))
import berth_harness as h  # noqa: E402  (path set above)

# The ABI version this berthd and the in-tree plugins are built with.
_HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "plugin-api",
                       "include", "berth", "plugin.h")
with open(_HEADER) as _f:
    _text = _f.read()
ABI = "%s.%s" % (re.search(r"#define BERTH_ABI_MAJOR (\d+)", _text).group(1),
                 re.search(r"#define BERTH_ABI_MINOR (\d+)", _text).group(1))
NEWER = "%s.%d" % (ABI.split(".")[0], int(ABI.split(".")[1]) + 1)

# fixture directory -> (file the message must name, fragments of the reason)
BAD_PLUGINS = {
    "abi_major": ("abi_major.so",
                  ["ABI major mismatch", "plugin built for ABI 2.0", "berthd implements ABI " + ABI]),
    "abi_newer_minor": ("abi_newer_minor.so",
                        ["plugin built for newer ABI %s than berthd's %s" % (NEWER, ABI),
                         "upgrade berthd"]),
    "dup": ("dup_provider_2.so",
            ["duplicate notifier provider 'dup'", "already provided by",
             "dup_provider_1.so"]),
    "truncated": ("truncated_descriptor.so", ["missing or truncated plugin descriptor"]),
    "missing_slot": ("missing_slot.so",
                     ["provider 'holes'", "storage vtable lacks a required operation"]),
    "not_a_plugin": ("not_a_plugin.so", ["no berth_plugin_entry symbol", "not a Berth plugin"]),
    # The loader's own reason (dlerror), not a stand-in errno.
    "garbage": ("garbage.so", ["not a loadable shared object (file too short)",
                               "not a Berth plugin"]),
}

# The in-tree plugins next to berthd: always loaded, so always listed.
GOOD_PLUGINS = ["storage-fs 1.0.0 (ABI %s)" % ABI, "notifier-webhook 1.0.0 (ABI %s)" % ABI]


class Refusal(h.ServerTestCase):

    def config(self, **cfg):
        d = self.tmpdir()
        cfg.setdefault("listen", "127.0.0.1:0")
        cfg.setdefault("data_dir", os.path.join(d, "data"))
        return h.write_config(os.path.join(d, "berth.yml"), cfg)

    def assertRefusedToStart(self, config_path, fragments):
        """berthd exits 1 quickly without listening, and stderr holds exactly
        one line that is not a JSON log object: `berthd: ...` with every
        fragment. Returns that line."""
        r = h.run_berthd(["--config", config_path])
        self.assertEqual(r.rc, 1, r)
        self.assertLess(r.seconds, 5, "refusing to start took too long: %r" % r)
        self.assertNotIn("listening", r.stdout, r)
        logs, lines = h.json_lines(r.stderr)
        self.assertEqual(len(lines), 1, "expected exactly one message on stderr: %r" % r)
        msg = lines[0]
        self.assertTrue(msg.startswith("berthd: "), r)
        for f in fragments:
            self.assertIn(f, msg, r)
        # The one message is not drowned in, nor preceded by, error log lines.
        self.assertEqual([x for x in logs if x.get("level") == "error"], [], r)
        return msg

    def test_bad_plugin_files(self):
        for name, (filename, reasons) in BAD_PLUGINS.items():
            with self.subTest(fixture=name):
                d = h.fixture_dir(name)
                bad = os.path.join(d, filename)
                cfg = self.config(plugins={"dirs": [d]})
                msg = self.assertRefusedToStart(cfg, [bad + ": "] + reasons)
                self.assertIn("refusing to start", msg)
                # Nothing but the bad file is blamed.
                for other in ("storage-fs.so", "notifier-webhook.so"):
                    self.assertNotIn(other, msg)

                r = h.run_berthd(["plugins", "list", "--config", cfg])
                self.assertEqual(r.rc, 1, r)
                for good in GOOD_PLUGINS:
                    self.assertIn(good, r.stdout, r)
                # REFUSED <file>, then the reason on the next line.
                m = re.search(r"^REFUSED (\S+)\n  reason: (.*)$", r.stdout, re.M)
                self.assertIsNotNone(m, r)
                self.assertEqual(m.group(1), bad, r)
                for f in reasons:
                    self.assertIn(f, m.group(2), r)
                self.assertEqual(r.stdout.count("REFUSED "), 1, r)
                # The refused file is not listed as a loaded plugin.
                self.assertNotIn("file: " + bad, r.stdout, r)
                if name == "dup":
                    # The first provider of "dup" is good and listed.
                    self.assertIn("file: " + os.path.join(d, "dup_provider_1.so"), r.stdout, r)
                    self.assertIn("provider notifier/dup", r.stdout, r)

    def test_plugins_list_without_bad_plugins_succeeds(self):
        # The control for the case above: the same command exits 0 when
        # nothing is refused.
        r = h.run_berthd(["plugins", "list", "--config",
                          self.config(plugins={"dirs": [h.fixture_dir("strict")]})])
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("REFUSED", r.stdout, r)
        for good in GOOD_PLUGINS + ["strict 1.0.0 (ABI %s)" % ABI]:
            self.assertIn(good, r.stdout, r)

    def strict_config(self, strict_cfg):
        cfg = {"plugins": {"dirs": [h.fixture_dir("strict")]},
               "notifications": {"endpoints": [
                   {"name": "audit", "type": "strict", "address": "http://127.0.0.1:9/x"}]}}
        if strict_cfg is not None:
            cfg["plugins"]["config"] = {"strict": strict_cfg}
        return self.config(**cfg)

    def test_provider_config_rejected_by_schema(self):
        so = os.path.join(h.fixture_dir("strict"), "strict_config.so")
        cases = {
            "missing target": (None, "'target' is required"),
            "empty object": ({}, "'target' is required"),
            "unknown key": ({"target": "x", "colour": "blue"}, "unknown key 'colour'"),
            "empty target": ({"target": ""}, "config.target"),
            "wrong type": ({"target": 7}, "config.target"),
        }
        for label, (strict_cfg, reason) in cases.items():
            with self.subTest(label):
                self.assertRefusedToStart(self.strict_config(strict_cfg), [
                    "notifier provider 'strict'", so,
                    "configuration rejected by the plugin's schema", reason])

    def test_provider_config_accepted(self):
        # The control: a config the schema accepts starts berthd.
        with open(self.strict_config({"target": "audit-log"})) as f:
            b = self.start_berthd(json.load(f))
        st = b.request("GET", "/health", check=False).status
        self.assertEqual(st, 200)

    def test_provider_create_fails(self):
        cfg = self.config(
            plugins={"dirs": [h.fixture_dir("initfail")]},
            notifications={"endpoints": [
                {"name": "mq", "type": "initfail", "address": "amqp://mq.invalid:5672"}]})
        self.assertRefusedToStart(cfg, [
            "notifier provider 'initfail'", os.path.join(h.fixture_dir("initfail"), "init_fails.so"),
            "failed to initialise", "cannot reach the notification broker at mq.invalid:5672"])

    def test_unknown_notifier_type(self):
        cfg = self.config(notifications={"endpoints": [
            {"name": "bus", "type": "kafka", "address": "kafka://k.invalid:9092"}]})
        self.assertRefusedToStart(cfg, ["notification endpoint 'bus'", "type 'kafka'",
                                        "no loaded notifier plugin provides"])

    def test_unknown_storage_driver(self):
        cfg = self.config(storage={"driver": "swift", "config": {"container": "b"}})
        self.assertRefusedToStart(cfg, ["storage.driver 'swift'",
                                        "is not provided by any loaded plugin",
                                        "berthd plugins list"])

    def test_storage_provider_of_another_kind(self):
        # "http" exists, but as a notifier: kinds are separate namespaces.
        cfg = self.config(storage={"driver": "http"})
        self.assertRefusedToStart(cfg, ["storage.driver 'http'",
                                        "is not provided by any loaded plugin"])

    def test_storage_config_rejected_by_schema(self):
        cfg = self.config(storage={"driver": "fs", "config": {"root": "/tmp/x", "bucket": "b"}})
        self.assertRefusedToStart(cfg, ["storage provider 'fs'", "storage-fs.so",
                                        "unknown key 'bucket'"])

    def test_inspect_storage_fs(self):
        so = os.path.join(h.PLUGINS, "storage-fs.so")
        r = h.run_berthd(["plugins", "inspect", so])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.stderr, "", r)
        self.assertTrue(r.stdout.startswith("storage-fs 1.0.0 (ABI %s)\n  file: %s\n" % (ABI, so)), r)
        self.assertIn("  provider storage/fs (reentrant): ", r.stdout, r)
        m = re.search(r"^    config schema: (.*)$", r.stdout, re.M)
        self.assertIsNotNone(m, r)
        schema = json.loads(m.group(1))
        self.assertEqual(schema["type"], "object")
        self.assertEqual(schema["required"], ["root"])
        self.assertEqual(schema["properties"]["root"]["type"], "string")
        self.assertIs(schema["additionalProperties"], False)

    def test_inspect_garbage(self):
        so = os.path.join(h.fixture_dir("garbage"), "garbage.so")
        r = h.run_berthd(["plugins", "inspect", so])
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.stdout, "", r)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r)
        self.assertTrue(lines[0].startswith("berthd: %s: " % so), r)
        for f in BAD_PLUGINS["garbage"][1]:
            self.assertIn(f, lines[0], r)

    def test_inspect_missing_file(self):
        so = os.path.join(self.tmpdir(), "absent.so")
        r = h.run_berthd(["plugins", "inspect", so])
        self.assertEqual(r.rc, 1, r)
        self.assertIn(so, r.stderr, r)
        self.assertEqual(r.stdout, "", r)


if __name__ == "__main__":
    h.main()
