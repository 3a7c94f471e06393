"""A local Plumbline daemon with push publishers, and a Server-Sent Events reader: shared by
tests/e2e/ingest_e2e_test.py and bench/ingest_latency.py. Standard library + `cryptography` only."""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat,
                                                          PublicFormat)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_key_pair(directory, name):
    """PKCS#8 private key (mode 0600) and SubjectPublicKeyInfo public key; returns (key, key path, pub path)."""
    key = Ed25519PrivateKey.generate()
    key_path = os.path.join(directory, name + ".key")
    pub_path = os.path.join(directory, name + ".pub")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with open(pub_path, "wb") as f:
        f.write(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return key, key_path, pub_path


class Daemon:
    """plumbline with one symbol (BTC/USD, quorum 1), a dead polled source and push publishers."""

    def __init__(self, binary, publishers=("desk1",), publish_interval_ms=200, extra=""):
        self.dir = tempfile.mkdtemp(prefix="plumbline-push-")
        self.key, _, self.pub = write_key_pair(self.dir, "signing")
        self.publishers = {}
        blocks = ""
        for name in publishers:
            key, _, pub = write_key_pair(self.dir, name)
            self.publishers[name] = key
            blocks += f'''
[[publishers]]
name = "{name}"
public_key_file = "{pub}"
symbols = ["BTC/USD"]
max_age_ms = 5000
batches_per_second = 1000
burst = 1000
'''
        self.port = free_port()
        self.config = os.path.join(self.dir, "plumbline.toml")
        with open(self.config, "w") as f:
            f.write(f'''origin = "plumbline.test/push"
listen = "127.0.0.1:{self.port}"
data_dir = "{os.path.join(self.dir, "data")}"
key_file = "{os.path.join(self.dir, "signing.key")}"
publish_interval_ms = {publish_interval_ms}
{extra}
[[symbols]]
symbol = "BTC/USD"
quorum = 1
[[sources]]
name = "dead"
format = "kraken"
base_url = "http://127.0.0.1:9"
poll_interval_ms = 60000
connect_timeout_ms = 50
symbols = {{ "BTC/USD" = "XBTUSD" }}
{blocks}''')
        self.log = open(os.path.join(self.dir, "daemon.log"), "wb")
        self.proc = subprocess.Popen([binary, "--config", self.config], stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    break
            except urllib.error.HTTPError:
                break  # 503 before the first round: it is serving
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                if time.time() > deadline or self.proc.poll() is not None:
                    raise AssertionError("daemon did not start: " + open(self.log.name).read())
                time.sleep(0.05)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SseReader:
    """GET a text/event-stream and yield (id, event, data) tuples; comments are skipped."""

    def __init__(self, port, path, headers=None, timeout=10):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def events(self):
        ident = event = None
        data = []
        while True:
            line = self.response.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line == "":
                if event:
                    yield ident, event, "\n".join(data)
                ident = event = None
                data = []
            elif line.startswith("id: "):
                ident = line[4:]
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])

    def close(self):
        self.conn.close()


def decode_envelope_payload(envelope):
    return json.loads(base64.b64decode(envelope["payload"]))
