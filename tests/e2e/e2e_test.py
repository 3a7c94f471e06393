#!/usr/bin/python3
"""End-to-end tests: the real daemon, the real venue simulator and the real attest CLI, over real
HTTP on loopback, with an independent verifier (Python `cryptography`) and `openssl`.

Run through ctest (tests/CMakeLists.txt passes the binary paths in the environment), or by hand:
  PLUMBLINE_BIN=... ATTEST_BIN=... SIM_BIN=... RECORDING=... /usr/bin/python3 tests/e2e/e2e_test.py
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import random
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key, Encoding, PublicFormat

PLUMBLINE = os.environ["PLUMBLINE_BIN"]
ATTEST = os.environ["ATTEST_BIN"]
SIM = os.environ["SIM_BIN"]
RECORDING = os.environ["RECORDING"]
SNAPSHOT_TYPE = "application/vnd.plumbline.snapshot.v2+json"


def free_port():
    """A free port below the kernel's ephemeral range. A daemon restarted on the same port (the
    crash-loop and restart tests) must find it free again: a port from bind(0) is ephemeral, so
    another test's outgoing connection may take it between a kill and the restart."""
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    lo, hi = (10000, low - 1) if low > 11000 else (1024, low - 1)
    for _ in range(1000):
        port = random.SystemRandom().randint(lo, hi)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # no luck: fall back to an ephemeral one
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def pae(payload_type: bytes, body: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)


def independent_verify(envelope_text: bytes, public_pem: bytes):
    """Verifies a snapshot envelope with nothing of Plumbline's: returns the payload document."""
    env = json.loads(envelope_text)
    assert env["payloadType"] == SNAPSHOT_TYPE
    payload = base64.b64decode(env["payload"], validate=True)
    key = load_pem_public_key(public_pem)
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()
    sigs = [s for s in env["signatures"] if s["keyid"] == key_id]
    assert sigs, "no signature by the pinned key"
    key.verify(base64.b64decode(sigs[0]["sig"]), pae(env["payloadType"].encode(), payload))
    doc = json.loads(payload)
    # Snapshot payloads hold only strings, integers, nulls, arrays and objects with ASCII keys, for
    # which RFC 8785 output equals sorted keys without whitespace.
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical == payload, "payload is not canonical"
    assert doc["key_id"] == key_id
    return doc, payload


class Deployment:
    """A temp directory with a key, a config pointing at a running simulator, and a daemon."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="plumbline-e2e-")
        self.ports = {v: free_port() for v in ("kraken", "coinbase", "bitstamp")}
        # The simulator's output goes to a file (a pipe nobody drains could fill up and block it).
        self.sim_log = open(os.path.join(self.dir, "sim.log"), "wb")
        self.sim = subprocess.Popen(
            [SIM, "--recording", RECORDING, "--kraken-port", str(self.ports["kraken"]),
             "--coinbase-port", str(self.ports["coinbase"]), "--bitstamp-port", str(self.ports["bitstamp"])],
            stdout=self.sim_log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while b"venue-sim:" not in read_bytes(self.sim_log.name):
            assert time.time() < deadline and self.sim.poll() is None, read_bytes(self.sim_log.name)
            time.sleep(0.02)
        self.key_prefix = os.path.join(self.dir, "signing")
        subprocess.run([ATTEST, "keygen", "--out", self.key_prefix], check=True, capture_output=True)
        self.pub = self.key_prefix + ".pub"
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.config = os.path.join(self.dir, "plumbline.toml")
        self.write_config()
        self.daemon = None
        self.log = open(os.path.join(self.dir, "daemon.log"), "ab")

    def write_config(self, key_file=None, extra=""):
        symbols = {"kraken": ("XBTUSD", "ETHUSD"), "coinbase": ("BTC-USD", "ETH-USD"), "bitstamp": ("btcusd", "ethusd")}
        text = f'''origin = "plumbline.test/e2e"
listen = "127.0.0.1:{self.port}"
data_dir = "{self.data}"
key_file = "{key_file or self.key_prefix + '.key'}"
publish_interval_ms = 200
{extra}
[[symbols]]
symbol = "BTC/USD"
[[symbols]]
symbol = "ETH/USD"
'''
        for venue, (btc, eth) in symbols.items():
            text += f'''
[[sources]]
name = "{venue}"
format = "{venue}"
base_url = "http://127.0.0.1:{self.ports[venue]}"
poll_interval_ms = 100
read_timeout_ms = 500
max_age_ms = 5000
symbols = {{ "BTC/USD" = "{btc}", "ETH/USD" = "{eth}" }}
'''
        with open(self.config, "w") as f:
            f.write(text)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args):
        self.daemon = subprocess.Popen([PLUMBLINE, "--config", self.config, *args], stdout=self.log, stderr=self.log)

    def run_to_exit(self, *args, timeout=20):
        return subprocess.run([PLUMBLINE, "--config", self.config, *args], capture_output=True, timeout=timeout)

    def wait_for_sequence(self, at_least, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                status, body = http_get(self.base + "/v1/snapshots/latest", timeout=2)
                if status == 200:
                    seq = json.loads(base64.b64decode(json.loads(body)["payload"]))["sequence"]
                    if seq >= at_least:
                        return seq
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            if self.daemon and self.daemon.poll() is not None:
                raise AssertionError("daemon exited with %s" % self.daemon.returncode)
            time.sleep(0.05)
        raise AssertionError("sequence %d not reached" % at_least)

    def stop(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            return self.daemon.wait(timeout=15)
        return self.daemon.returncode if self.daemon else None

    def close(self):
        for p in (self.daemon, self.sim):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        self.log.close()
        self.sim_log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class EndToEnd(unittest.TestCase):
    def setUp(self):
        self.d = Deployment()

    def tearDown(self):
        self.d.close()

    def test_publishes_signed_snapshots_verifiable_three_ways(self):
        self.d.start()
        seq = self.d.wait_for_sequence(3)
        status, body = http_get(f"{self.d.base}/v1/snapshots/{seq}")
        self.assertEqual(status, 200)
        pub_pem = read_bytes(self.d.pub)
        # 1. An independent verifier (Python cryptography).
        doc, payload = independent_verify(body, pub_pem)
        self.assertEqual(doc["sequence"], seq)
        self.assertEqual(doc["config_digest"], hashlib.sha256(read_bytes(self.d.config)).hexdigest())
        btc = next(m for m in doc["marks"] if m["symbol"] == "BTC/USD")
        self.assertEqual(btc["status"], "ok", btc)
        self.assertEqual(len(btc["sources"]), 3)
        prices = sorted((s["price"] for s in btc["sources"]), key=lambda p: tuple(map(int, p.split("."))))
        self.assertEqual(btc["price"], prices[1])  # median of three
        # 2. openssl, per the README's auditor recipe.
        env = json.loads(body)
        work = self.d.dir
        write_bytes(os.path.join(work, "pae.bin"), pae(env["payloadType"].encode(), payload))
        write_bytes(os.path.join(work, "sig.bin"), base64.b64decode(env["signatures"][0]["sig"]))
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", self.d.pub, "-rawin",
                            "-in", os.path.join(work, "pae.bin"), "-sigfile", os.path.join(work, "sig.bin")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Signature Verified Successfully", r.stdout)
        # 3. attest verify against the URL.
        r = subprocess.run([ATTEST, "verify", f"{self.d.base}/v1/snapshots/{seq}", "--key", self.d.pub],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # A different key must not verify it.
        other = os.path.join(work, "other")
        subprocess.run([ATTEST, "keygen", "--out", other], check=True, capture_output=True)
        r = subprocess.run([ATTEST, "verify", f"{self.d.base}/v1/snapshots/{seq}", "--key", other + ".pub"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(self.d.stop(), 0)

    def test_readme_openssl_recipe_verifies(self):
        """Runs the README's auditor recipe verbatim (curl, jq, base64, openssl)."""
        self.d.start()
        seq = self.d.wait_for_sequence(2)
        readme = read_bytes(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).decode()
        block = readme.split("curl -s http://HOST:8420/v1/snapshots/42 > env.json", 1)[1].split("```", 1)[0]
        audit = os.path.join(self.d.dir, "audit")
        os.mkdir(audit)
        script = f"set -e\ncd {audit}\ncp {self.d.pub} signing.pub\n" \
                 f"curl -s {self.d.base}/v1/snapshots/{seq} > env.json" + block
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Signature Verified Successfully", r.stdout)
        # The same recipe must fail on a tampered payload.
        tampered = script.replace("base64 -d > payload.bin", "base64 -d | sed 's/\"sequence\"/\"sequencf\"/' > payload.bin", 1)
        r = subprocess.run(["bash", "-c", tampered], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.d.stop(), 0)

    def test_sigkill_then_restart_continues_sequence_and_chain(self):
        self.d.start()
        before_kill = self.d.wait_for_sequence(3)
        served = {}
        for s in range(1, before_kill + 1):
            status, body = http_get(f"{self.d.base}/v1/snapshots/{s}")
            self.assertEqual(status, 200, s)
            served[s] = body
        self.d.daemon.send_signal(signal.SIGKILL)
        self.d.daemon.wait()
        self.d.start()
        first_after = self.d.wait_for_sequence(before_kill + 1)
        last = self.d.wait_for_sequence(first_after + 3)
        r = subprocess.run([ATTEST, "verify-chain", self.d.base, "--from", "1", "--to", str(last), "--key", self.d.pub],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        pub_pem = read_bytes(self.d.pub)
        prev = "0" * 64
        for s in range(1, last + 1):
            status, body = http_get(f"{self.d.base}/v1/snapshots/{s}")
            self.assertEqual(status, 200)
            if s in served:
                self.assertEqual(body, served[s], "snapshot %d changed across restart" % s)
            doc, payload = independent_verify(body, pub_pem)
            self.assertEqual(doc["sequence"], s)
            self.assertEqual(doc["previous_hash"], prev, "chain broken at %d" % s)
            prev = hashlib.sha256(payload).hexdigest()
        self.assertEqual(self.d.stop(), 0)

    def test_sigterm_finishes_the_round_and_exits_cleanly(self):
        self.d.start()
        self.d.wait_for_sequence(2)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        seq = self.d.wait_for_sequence(1)
        # The restarted daemon found a complete, verifiable last snapshot.
        status, body = http_get(f"{self.d.base}/v1/snapshots/{seq}")
        independent_verify(body, read_bytes(self.d.pub))
        self.assertEqual(self.d.stop(), 0)

    def test_refuses_world_readable_key(self):
        os.chmod(self.d.key_prefix + ".key", 0o644)
        r = self.d.run_to_exit()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"chmod 600", r.stderr)
        self.assertNotIn(b"PRIVATE KEY", r.stderr)

    def test_refuses_data_dir_of_another_key(self):
        self.d.start()
        self.d.wait_for_sequence(1)
        self.assertEqual(self.d.stop(), 0)
        other = os.path.join(self.d.dir, "other")
        subprocess.run([ATTEST, "keygen", "--out", other], check=True, capture_output=True)
        self.d.write_config(key_file=other + ".key")
        r = self.d.run_to_exit()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"belongs to signing key", r.stderr)

    def test_refuses_corrupt_data_dir(self):
        self.d.start()
        self.d.wait_for_sequence(1)
        self.assertEqual(self.d.stop(), 0)
        for name in os.listdir(self.d.data):
            if name.startswith("MANIFEST-"):
                write_bytes(os.path.join(self.d.data, name), b"\x5a" * 100)
        r = self.d.run_to_exit()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(self.d.data.encode(), r.stderr)

    def test_bad_config_names_the_key(self):
        self.d.write_config(extra="publish_interval_ms_typo = 5")
        r = self.d.run_to_exit()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"'publish_interval_ms_typo': unknown key", r.stderr)


if __name__ == "__main__":
    unittest.main()
