#!/usr/bin/python3
"""Operations end-to-end tests: the real daemon as systemd would run it. sd_notify over a real
NOTIFY_SOCKET datagram socket, SIGHUP and POST /v1/admin/reload, /metrics, journald-style
logging, HTTPS, and the signing key never leaking anywhere an outsider can look.

Run through ctest (tests/CMakeLists.txt), or by hand with the variables e2e_test.py documents.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.serialization import load_pem_private_key, Encoding, PrivateFormat, NoEncryption

from e2e_test import PLUMBLINE, Deployment, http_get, independent_verify, read_bytes

TOKEN = "e2e-admin-token-" + "0123456789abcdef0123456789"
SOL = '\n[[symbols]]\nsymbol = "SOL/USD"\n'


def http(method, url, body=None, headers=None, timeout=10, context=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def latest_doc(base):
    status, body = http_get(base + "/v1/snapshots/latest")
    assert status == 200, body
    return json.loads(base64.b64decode(json.loads(body)["payload"]))


class Notifications:
    """A NOTIFY_SOCKET: a datagram socket like systemd's, recording every message."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []

    def pump(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return

    def wait_for(self, predicate, timeout=15, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.pump()
            for i in range(start, len(self.messages)):
                if predicate(self.messages[i]):
                    return i
        raise AssertionError("no matching notification in %r" % self.messages[start:])

    def close(self):
        self.sock.close()


class Operations(unittest.TestCase):
    def setUp(self):
        self.d = Deployment()
        self.token_file = os.path.join(self.d.dir, "admin.token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(self.token_file, 0o600)

    def tearDown(self):
        self.d.close()

    def start(self, env_extra=None, args=()):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("JOURNAL_STREAM", None)
        env.update(env_extra or {})
        self.d.daemon = subprocess.Popen([PLUMBLINE, "--config", self.d.config, *args], stdout=self.d.log,
                                         stderr=self.d.log, env=env)

    def log_text(self):
        self.d.log.flush()
        return read_bytes(self.d.log.name)

    def wait_log(self, needle, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log_text():
                return
            time.sleep(0.05)
        raise AssertionError("%r not in log:\n%s" % (needle, self.log_text().decode(errors="replace")))

    def wait_marks(self, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            doc = latest_doc(self.d.base)
            if len(doc["marks"]) == count:
                return doc
            time.sleep(0.05)
        raise AssertionError("no snapshot with %d marks" % count)

    def test_sd_notify_ready_status_watchdog_reload_stopping(self):
        n = Notifications(self.d.dir)
        try:
            self.start({"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "10000000"})
            ready = n.wait_for(lambda m: "READY=1" in m.split("\n"))
            # READY comes after the HTTP port is bound and the log resumed: the API answers now.
            status, _ = http_get(self.d.base + "/healthz")
            self.assertIn(status, (200, 503))
            n.wait_for(lambda m: m.startswith("STATUS=snapshot ") and "marks ok" in m, start=ready)
            first_ping = n.wait_for(lambda m: m == "WATCHDOG=1", start=ready)
            self.d.wait_for_sequence(3)
            n.pump()
            pings = sum(1 for m in n.messages if m == "WATCHDOG=1")
            seq = latest_doc(self.d.base)["sequence"]  # read after the pings: it can only be ahead
            # One ping at READY plus one per stored round: pings prove progress, not a timer.
            self.assertGreaterEqual(pings, 3)
            self.assertLessEqual(pings, seq + 1)
            self.d.daemon.send_signal(signal.SIGHUP)
            reloading = n.wait_for(lambda m: "RELOADING=1" in m.split("\n"), start=first_ping)
            self.assertRegex(n.messages[reloading], r"MONOTONIC_USEC=\d+")
            n.wait_for(lambda m: "READY=1" in m.split("\n") and "reloaded" in m, start=reloading)
            self.assertEqual(self.d.stop(), 0)
            n.wait_for(lambda m: m == "STOPPING=1", timeout=5)
        finally:
            n.close()

    def test_sighup_reload_adds_a_symbol_and_keeps_the_log(self):
        self.start()
        self.d.wait_for_sequence(2)
        before = latest_doc(self.d.base)
        status, served = http_get(f"{self.d.base}/v1/snapshots/1")
        self.assertEqual(status, 200)
        with open(self.d.config, "a") as f:
            f.write(SOL)
        self.d.daemon.send_signal(signal.SIGHUP)
        after = self.wait_marks(3)
        self.assertIn("SOL/USD", [m["symbol"] for m in after["marks"]])
        self.assertNotEqual(after["config_digest"], before["config_digest"])
        self.wait_log(b"reloaded config")
        # The log continues: same chain, earlier snapshots unchanged and verifiable.
        self.assertEqual(http_get(f"{self.d.base}/v1/snapshots/1")[1], served)
        pub = read_bytes(self.d.pub)
        prev = None
        for s in range(1, after["sequence"] + 1):
            doc, payload = independent_verify(http_get(f"{self.d.base}/v1/snapshots/{s}")[1], pub)
            if prev is not None:
                self.assertEqual(doc["previous_hash"], hashlib.sha256(prev).hexdigest(), "chain broken at %d" % s)
            prev = payload
        self.assertEqual(self.d.stop(), 0)

    def test_sighup_bad_config_is_rejected_and_names_the_key(self):
        self.start()
        self.d.wait_for_sequence(1)
        digest = latest_doc(self.d.base)["config_digest"]
        self.d.write_config(extra="publish_interval_ms_typo = 5")
        self.d.daemon.send_signal(signal.SIGHUP)
        self.wait_log(b"reload rejected, keeping the running configuration")
        self.assertIn(b"'publish_interval_ms_typo': unknown key", self.log_text())
        # A key bound at start-up is refused by name, and the running config keeps publishing.
        self.d.write_config(extra=f'data_dir = "{self.d.dir}/elsewhere"')
        with open(self.d.config) as f:  # drop the original data_dir line: the new one is the change
            text = f.read().replace(f'data_dir = "{self.d.data}"\n', "", 1)
        with open(self.d.config, "w") as f:
            f.write(text)
        self.d.daemon.send_signal(signal.SIGHUP)
        self.wait_log(b"key 'data_dir' cannot change while running")
        seq = latest_doc(self.d.base)["sequence"]
        self.d.wait_for_sequence(seq + 2)
        self.assertEqual(latest_doc(self.d.base)["config_digest"], digest)
        self.assertFalse(os.path.exists(f"{self.d.dir}/elsewhere"))
        status, body = http_get(self.d.base + "/metrics")
        self.assertIn(b'plumbline_config_reloads_total{result="rejected"} 2', body)
        self.assertEqual(self.d.stop(), 0)

    def test_admin_reload_endpoint(self):
        self.d.write_config(extra=f'admin_token_file = "{self.token_file}"')
        self.start()
        self.d.wait_for_sequence(1)
        url = self.d.base + "/v1/admin/reload"
        status, body, headers = http("POST", url, b"")
        self.assertEqual(status, 401, body)
        self.assertEqual(headers.get("Content-Type"), "application/problem+json")
        status, body, _ = http("POST", url, b"", {"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        self.assertEqual(status, 401, body)
        status, body, _ = http("POST", url, b"{", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["type"], "/problems/invalid-body")
        with open(self.d.config, "a") as f:
            f.write('\n[[symbols]]\nsymbol = "SOL/USD"\nquorum = "three"\n')
        status, body, _ = http("POST", url, b"", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 400, body)
        self.assertIn("'symbols[2].quorum'", json.loads(body)["detail"])
        self.assertEqual(len(latest_doc(self.d.base)["marks"]), 2)
        self.d.write_config(extra=f'admin_token_file = "{self.token_file}"')
        with open(self.d.config, "a") as f:
            f.write(SOL)
        status, body, _ = http("POST", url, b"", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["status"], "reloaded")
        self.wait_marks(3)
        self.assertNotIn(TOKEN.encode(), self.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_refuses_world_readable_admin_token(self):
        os.chmod(self.token_file, 0o644)
        self.d.write_config(extra=f'admin_token_file = "{self.token_file}"')
        r = self.d.run_to_exit()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"chmod 600", r.stderr)
        self.assertNotIn(TOKEN.encode(), r.stderr)

    def test_key_file_flag_overrides_the_config(self):
        # As the unit runs it: the config names a path the service cannot read, the flag the credential.
        key = self.d.key_prefix + ".key"
        self.d.write_config(key_file=os.path.join(self.d.dir, "not-here.key"))
        self.start(args=("--key-file", key))
        self.d.wait_for_sequence(1)
        self.assertEqual(self.d.stop(), 0)
        # The same refusal as for key_file: a world-readable credential does not start.
        os.chmod(key, 0o644)
        r = self.d.run_to_exit("--key-file", key)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"chmod 600", r.stderr)
        self.assertNotIn(b"PRIVATE KEY", r.stderr)

    def test_check_config_before_a_reload(self):
        r = self.d.run_to_exit("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"OK", r.stdout)
        self.assertIn(b"2 symbols, 3 sources", r.stdout)
        self.assertFalse(os.path.exists(self.d.data), "checking must not open the data directory")
        self.d.write_config(extra="[http]\nthreads = 0")
        r = self.d.run_to_exit("--check-config")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"key 'http.threads': expected an integer in [1, 1024], got 0", r.stderr)

    def test_metrics(self):
        self.start()
        self.d.wait_for_sequence(3)
        http_get(self.d.base + "/v1/snapshots/1")
        http_get(self.d.base + "/no/such/path/12345")
        deadline = time.time() + 10
        while True:
            status, body = http_get(self.d.base + "/metrics")
            text = body.decode()
            # A request is counted after its answer is sent, so the 404 may land a moment later.
            if ('plumbline_source_up{source="kraken"} 1' in text and 'code="404"' in text) or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(status, 200)
        for needle in ('plumbline_source_up{source="kraken"} 1', 'plumbline_source_up{source="bitstamp"} 1',
                       "plumbline_published_sequence ", "plumbline_log_tree_size ", 'plumbline_marks{status="ok"} 2',
                       "plumbline_round_duration_seconds_bucket", 'plumbline_source_poll_duration_seconds{source="coinbase"}',
                       'route="/v1/snapshots/{seq}",method="GET",code="200"', 'route="unmatched",method="GET",code="404"'):
            self.assertIn(needle, text)
        self.assertNotIn("/no/such/path", text)
        tree = int(next(l for l in text.splitlines() if l.startswith("plumbline_log_tree_size ")).split()[1])
        self.assertGreaterEqual(tree, 3)
        self.assertEqual(self.d.stop(), 0)

    def test_journal_stream_gets_priority_prefixes(self):
        st = os.fstat(self.d.log.fileno())
        self.start({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        self.d.wait_for_sequence(1)
        self.assertEqual(self.d.stop(), 0)
        lines = [l for l in self.log_text().splitlines() if l]
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("journald is running: messages went to it, not to the stream")
        self.assertTrue(lines)
        ours = [l for l in lines if b"plumbline: " in l and not l.startswith(b"plumbline: source")]
        for line in ours:
            self.assertRegex(line, rb"^<[3-7]>plumbline: ")
        self.assertTrue(any(l.startswith(b"<6>plumbline: started") for l in ours), lines)
        self.assertTrue(any(l.startswith(b"<5>plumbline: received SIGTERM") for l in ours), lines)

    def test_journald_gets_structured_fields(self):
        # A stand-in journald: a datagram socket at the fixed path libsystemd sends to. Only where
        # no journald runs and we may create it (root in CI containers); removed afterwards.
        jdir = "/run/systemd/journal"
        if os.path.exists(jdir) or os.geteuid() != 0:
            self.skipTest("journald present or not root: cannot stand in for it")
        created = "/run/systemd" if not os.path.exists("/run/systemd") else jdir
        os.makedirs(jdir)
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(jdir + "/socket")
            sock.settimeout(0.2)
            st = os.fstat(self.d.log.fileno())
            self.start({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
            self.d.wait_for_sequence(1)
            self.assertEqual(self.d.stop(), 0)
            entries = []
            while True:
                try:
                    datagram = sock.recv(65536).decode()
                except socket.timeout:
                    break
                entries.append(dict(l.split("=", 1) for l in datagram.split("\n") if "=" in l))
            sock.close()
        finally:
            shutil.rmtree(created, ignore_errors=True)
        started = [e for e in entries if e.get("MESSAGE", "").startswith("started ")]
        self.assertTrue(started, entries)
        self.assertEqual(started[0]["PRIORITY"], "6")
        self.assertEqual(started[0]["SYSLOG_IDENTIFIER"], "plumbline")
        self.assertEqual(started[0]["PLUMBLINE_NEXT_SEQUENCE"], "1")
        published = [e for e in entries if e.get("MESSAGE", "").startswith("published snapshot")]
        self.assertTrue(published, entries)
        self.assertEqual(published[0]["PLUMBLINE_SEQUENCE"], "1")
        self.assertTrue(any(e.get("PRIORITY") == "5" and "SIGTERM" in e["MESSAGE"] for e in entries), entries)
        # Nothing of ours went to the stream when journald took it.
        self.assertNotIn(b"plumbline: started", self.log_text())

    def test_https_with_a_self_signed_certificate(self):
        crt, key = os.path.join(self.d.dir, "tls.crt"), os.path.join(self.d.dir, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", crt], check=True, capture_output=True)
        os.chmod(key, 0o600)
        self.d.write_config(extra=f'[tls]\ncert_file = "{crt}"\nkey_file = "{key}"')
        self.start()
        ctx = ssl.create_default_context(cafile=crt)
        deadline = time.time() + 15
        while True:
            try:
                status, body, _ = http("GET", f"https://127.0.0.1:{self.d.port}/v1/snapshots/latest", context=ctx)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            self.assertLess(time.time(), deadline, self.log_text())
            time.sleep(0.1)
        independent_verify(body, read_bytes(self.d.pub))
        self.assertIn(b"listening on https://", self.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_signing_key_never_leaks(self):
        self.d.write_config(extra=f'admin_token_file = "{self.token_file}"')
        self.start()
        self.d.wait_for_sequence(2)
        pem = read_bytes(self.d.key_prefix + ".key")
        seed = load_pem_private_key(pem, None).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        pem_body = b"".join(l for l in pem.splitlines() if not l.startswith(b"-----"))
        secrets = [pem_body, base64.b64encode(seed), seed.hex().encode(), b"PRIVATE KEY", TOKEN.encode()]
        seen = []
        for path in ("/v1/snapshots/latest", "/v1/snapshots/1", "/v1/marks", "/v1/keys", "/healthz", "/metrics",
                     "/v1/snapshots/999999", "/v1/snapshots/abc", "/v1/marks/NOPE", "/../../etc/passwd", "/x" * 3000):
            seen.append(http("GET", self.d.base + path)[1])
        for method, path, body, headers in (("POST", "/v1/admin/reload", b"", {}),
                                            ("POST", "/v1/admin/reload", b"{", {"Authorization": "Bearer nope"}),
                                            ("POST", "/v1/admin/reload", b"", {"Authorization": "Bearer " + TOKEN}),
                                            ("PUT", "/v1/marks", b"x" * 100000, {}),
                                            ("DELETE", "/v1/keys", b"", {})):
            seen.append(http(method, self.d.base + path, body, headers)[1])
        self.d.daemon.send_signal(signal.SIGHUP)
        self.wait_log(b"reloaded config")
        self.assertEqual(self.d.stop(), 0)
        seen.append(self.log_text())
        everything = b"\n".join(seen)
        self.assertIn(b"public_key_pem", everything)  # the outputs were really collected
        for s in secrets:
            self.assertNotIn(s, everything, "secret material found in an output")


if __name__ == "__main__":
    unittest.main()
