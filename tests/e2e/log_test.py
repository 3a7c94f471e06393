#!/usr/bin/python3
"""End-to-end tests of the append-only log: checkpoints, proofs, offline bundles, audits, witness
cosignatures, and a crash loop that SIGKILLs the daemon hundreds of times while it publishes.

Independent checks use only Python's hashlib/base64 and the `cryptography` package (no Plumbline
code): tests/interop/verify_bundle.py for bundles and the RFC 6962 helpers below for roots.

Run through ctest, or by hand with the same environment as e2e_test.py.
"""
import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from e2e_test import ATTEST, PLUMBLINE, Deployment, http_get, read_bytes, write_bytes  # noqa: E402

from cryptography.hazmat.primitives.serialization import load_pem_public_key, Encoding, PublicFormat  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
INTEROP = os.path.join(ROOT, "tests", "interop", "verify_bundle.py")
ORIGIN = "plumbline.test/e2e"
CRASH_KILLS = int(os.environ.get("PLUMBLINE_CRASH_KILLS", "200"))


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def prefix_roots(leaves):
    """RFC 6962 roots of every prefix of `leaves` (index k-1 holds MTH(leaves[:k])), via a frontier."""
    frontier = []  # (height, hash) of perfect subtrees, left to right
    roots = []
    for lh in leaves:
        frontier.append((0, lh))
        while len(frontier) >= 2 and frontier[-1][0] == frontier[-2][0]:
            (h, right), (_, left) = frontier.pop(), frontier.pop()
            frontier.append((h + 1, node_hash(left, right)))
        acc = frontier[-1][1]
        for _, h in reversed(frontier[:-1]):
            acc = node_hash(h, acc)
        roots.append(acc)
    return roots


def parse_checkpoint(note: bytes, public_pem: bytes):
    """Checks the log's Ed25519 signed-note signature independently; returns (size, root)."""
    text, sigs = note.decode().split("\n\n", 1)
    text += "\n"
    key = load_pem_public_key(public_pem)
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    verified = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), line
        name, b64 = line[2:].rsplit(" ", 1)
        blob = base64.b64decode(b64)
        if name == ORIGIN and blob[:4] == key_id:
            key.verify(blob[4:], text.encode())
            verified = True
    assert verified, "no valid log signature on checkpoint:\n" + note.decode()
    origin, size, root = text.splitlines()[:3]
    assert origin == ORIGIN
    return int(size), base64.b64decode(root)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


class LogEndToEnd(unittest.TestCase):
    def setUp(self):
        self.d = Deployment()

    def tearDown(self):
        self.d.close()

    def audit(self, state, *extra):
        return run(ATTEST, "audit", self.d.base, "--key", self.d.pub, "--state", state, *extra)

    def test_checkpoints_bundles_and_audits_verify_independently(self):
        witness = os.path.join(self.d.dir, "witness")
        run(ATTEST, "keygen", "--out", witness)
        self.d.write_config(extra=f'[[witnesses]]\nname = "witness.test"\npublic_key_file = "{witness}.pub"\n')
        self.d.start()
        self.d.wait_for_sequence(4)
        state = os.path.join(self.d.dir, "audit-state")
        r = self.audit(state)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("OK audit", r.stdout)
        seq = self.d.wait_for_sequence(8)
        # Second audit: consistent with the remembered checkpoint, cosigns as a witness.
        r = self.audit(state, "--witness-key", witness + ".key", "--witness-name", "witness.test")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("OK cosigned", r.stdout)
        size = json.loads(read_bytes(os.path.join(state, "state.json")))["tree_size"]
        status, cosigned = http_get(f"{self.d.base}/v1/log/checkpoints/{size}")
        self.assertEqual(status, 200)
        self.assertIn("\u2014 witness.test ", cosigned.decode())

        # Every stored checkpoint signs the root of exactly the snapshots served before it.
        pub = read_bytes(self.d.pub)
        status, latest = http_get(f"{self.d.base}/v1/log/checkpoint")
        top, _ = parse_checkpoint(latest, pub)
        leaves = [leaf_hash(http_get(f"{self.d.base}/v1/snapshots/{s}")[1]) for s in range(1, top + 1)]
        roots = prefix_roots(leaves)
        for k in range(1, top + 1):
            status, note = http_get(f"{self.d.base}/v1/log/checkpoints/{k}")
            self.assertEqual(status, 200, k)
            self.assertEqual(parse_checkpoint(note, pub), (k, roots[k - 1]), k)

        # An offline bundle verifies with attest and with the independent script; tampering fails both.
        status, bundle = http_get(f"{self.d.base}/v1/snapshots/{seq - 2}/bundle?size={size}")
        self.assertEqual(status, 200, bundle)
        path = os.path.join(self.d.dir, "snap.tlog-proof")
        write_bytes(path, bundle)
        r = run(ATTEST, "verify-bundle", path, "--key", self.d.pub)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run(sys.executable, INTEROP, path, "--key", self.d.pub, "--origin", ORIGIN)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = bundle.decode().split("\n")
        proof_line = 3  # header, extra, index, then the first proof hash
        envelope = json.loads(base64.b64decode(lines[1][len("extra "):]))
        payload = base64.b64decode(envelope["payload"]).replace(b'"sequence":', b'"sequence":1')
        envelope["payload"] = base64.b64encode(payload).decode()
        forged_leaf = "extra " + base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()
        log_line = next(i for i, l in enumerate(lines) if l.startswith("\u2014 " + ORIGIN + " "))
        sig = lines[log_line]
        forged_sig = sig[:-6] + ("AAAA" if sig[-6:-2] != "AAAA" else "BBBB") + sig[-2:]
        tampered = {
            "leaf": bundle.replace(lines[1].encode(), forged_leaf.encode()),
            "proof hash": bundle.replace(lines[proof_line].encode(), base64.b64encode(b"\x07" * 32)),
            "size": bundle.replace(f"\n{size}\n".encode(), f"\n{size + 1}\n".encode(), 1),
            "root": bundle.replace(lines[lines.index(str(size)) + 1].encode(), base64.b64encode(b"\x00" * 32)),
            "signature": bundle.replace(sig.encode(), forged_sig.encode()),
        }
        for what, bad in tampered.items():
            self.assertNotEqual(bad, bundle, what)
            write_bytes(path, bad)
            r = run(ATTEST, "verify-bundle", path, "--key", self.d.pub)
            self.assertEqual(r.returncode, 1, what + ": " + r.stdout + r.stderr)
            r = run(sys.executable, INTEROP, path, "--key", self.d.pub, "--origin", ORIGIN)
            self.assertNotEqual(r.returncode, 0, what + ": " + r.stdout + r.stderr)
        # A bundle checked against a key the auditor does not pin fails.
        other = os.path.join(self.d.dir, "other")
        run(ATTEST, "keygen", "--out", other)
        write_bytes(path, bundle)
        r = run(ATTEST, "verify-bundle", path, "--key", other + ".pub")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(self.d.stop(), 0)

    def test_docs_recipes_check_checkpoint_and_inclusion(self):
        """The openssl and Python recipes of docs/log.md, run as written against a live daemon."""
        with open(os.path.join(ROOT, "docs", "log.md")) as f:
            doc = f.read()

        def block(after, lang):
            start = doc.index("```" + lang + "\n", doc.index(after)) + len(lang) + 4
            return doc[start:doc.index("```", start)]

        self.d.start()
        self.d.wait_for_sequence(5)
        shell = block("**Checkpoint signature with OpenSSL**", "sh")
        shell = shell.replace("ORIGIN=plumbline.example/log", "ORIGIN=" + ORIGIN)
        shell = shell.replace("http://HOST:8420", self.d.base).replace("signing.pub", self.d.pub)
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", shell], capture_output=True, text=True, cwd=self.d.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Signature Verified Successfully", r.stdout)
        key_ids = [l for l in r.stdout.splitlines() if len(l) == 8]
        self.assertEqual(len(key_ids), 2, r.stdout)
        self.assertEqual(key_ids[0], key_ids[1])
        python = block("**Inclusion proof with Python**", "python").replace("http://HOST:8420", self.d.base)
        for seq in (1, 2, 3, 5):
            r = run(sys.executable, "-c", python.replace('", 42\n', '", %d\n' % seq, 1))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(f"snapshot {seq} is in the tree", r.stdout)
        self.assertEqual(self.d.stop(), 0)

    def test_rotate_key_command_keeps_old_proofs_and_audits_green(self):
        self.d.start()
        self.d.wait_for_sequence(3)
        state = os.path.join(self.d.dir, "audit-state")
        r = self.audit(state)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        status, old_bundle = http_get(f"{self.d.base}/v1/snapshots/2/bundle")
        self.assertEqual(status, 200)
        # rotate-key refuses while the daemon holds the directory.
        new = os.path.join(self.d.dir, "signing-2")
        run(ATTEST, "keygen", "--out", new)
        r = run(PLUMBLINE, "rotate-key", "--config", self.d.config, "--new-key", new + ".key")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertEqual(self.d.stop(), 0)
        r = run(PLUMBLINE, "rotate-key", "--config", self.d.config, "--new-key", new + ".key")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        announcement = json.loads(r.stdout)
        self.assertEqual(announcement["payloadType"], "application/vnd.plumbline.key-announcement.v1+json")
        # The old key no longer opens the directory; the new one does and continues the chain.
        self.d.start()
        self.assertNotEqual(self.d.daemon.wait(timeout=20), 0)
        self.d.write_config(key_file=new + ".key")
        self.d.start()
        top = self.d.wait_for_sequence(int(json.loads(base64.b64decode(announcement["payload"]))["tree_size"]) + 3)
        # The auditor pinned the old key: the signed history carries it over to the new one.
        r = self.audit(state)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = os.path.join(self.d.dir, "old.tlog-proof")
        write_bytes(path, old_bundle)
        r = run(ATTEST, "verify-bundle", path, "--key", self.d.pub)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        status, history = http_get(f"{self.d.base}/v1/keys/history")
        keys = json.loads(history)["keys"]
        self.assertEqual([k["first_sequence"] for k in keys][1], keys[0]["last_sequence"] + 1)
        self.assertGreaterEqual(top, keys[1]["first_sequence"])
        self.assertEqual(self.d.stop(), 0)

    def test_audit_fails_loudly_on_a_forked_log(self):
        self.d.start()
        self.d.wait_for_sequence(3)
        state = os.path.join(self.d.dir, "audit-state")
        r = self.audit(state)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        remembered = json.loads(read_bytes(os.path.join(state, "state.json")))["tree_size"]
        self.assertEqual(self.d.stop(), 0)
        # The operator "loses" the data directory and starts over with the same key: a fork.
        os.rename(self.d.data, self.d.data + ".old")
        self.d.start()
        self.d.wait_for_sequence(remembered + 3)
        r = self.audit(state)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("INCONSISTENT", r.stdout + r.stderr)
        evidence = [n for n in os.listdir(state) if n.startswith("evidence-")]
        self.assertEqual(len(evidence), 1)
        self.assertTrue(os.path.exists(os.path.join(state, evidence[0], "served.checkpoint")))
        # The remembered state is untouched, so the next run fails the same way.
        self.assertEqual(json.loads(read_bytes(os.path.join(state, "state.json")))["tree_size"], remembered)
        self.assertEqual(self.d.stop(), 0)

    def test_crash_loop_keeps_one_verifiable_history(self):
        self.d.write_config()
        with open(self.d.config) as f:
            text = f.read().replace("publish_interval_ms = 200", "publish_interval_ms = 50")
        with open(self.d.config, "w") as f:
            f.write(text)
        pub = read_bytes(self.d.pub)
        rng = random.Random(6962)
        state = os.path.join(self.d.dir, "audit-state")
        served = {}        # seq -> sha256 of the body first served
        checkpoints = {}   # size -> root of every checkpoint ever served
        kills = 0
        while kills < CRASH_KILLS:
            self.d.start()
            if rng.random() < 0.25:
                # Kill at a random moment of start-up, before it necessarily serves anything.
                time.sleep(rng.uniform(0, 0.15))
            else:
                self.d.wait_for_sequence(1, timeout=30)
                status, note = http_get(f"{self.d.base}/v1/log/checkpoint")
                self.assertEqual(status, 200)
                size, root = parse_checkpoint(note, pub)
                self.assertEqual(checkpoints.setdefault(size, root), root, "two checkpoints for size %d" % size)
                # The log verifies from the first leaf: the audit checks consistency with every
                # earlier audit and verifies each new snapshot (signature, chain link, inclusion).
                r = self.audit(state)
                self.assertEqual(r.returncode, 0, "after %d kills: %s%s" % (kills, r.stdout, r.stderr))
                if served:  # a snapshot served before an earlier kill is still there, unchanged
                    s = rng.choice(list(served))
                    status, body = http_get(f"{self.d.base}/v1/snapshots/{s}")
                    self.assertEqual((status, hashlib.sha256(body).hexdigest()), (200, served[s]), s)
                last = max(served) if served else 0
                for s in range(last + 1, size + 1):
                    status, body = http_get(f"{self.d.base}/v1/snapshots/{s}")
                    self.assertEqual(status, 200, "gap at %d" % s)
                    served[s] = hashlib.sha256(body).hexdigest()
                time.sleep(rng.uniform(0, 0.2))  # let it publish, then kill mid-round at a random moment
            self.d.daemon.send_signal(signal.SIGKILL)
            self.d.daemon.wait()
            kills += 1

        self.d.start()
        self.d.wait_for_sequence(1, timeout=30)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.d.wait_for_sequence(max(served) + 1, timeout=30)
        r = self.audit(state)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        status, latest = http_get(f"{self.d.base}/v1/log/checkpoint")
        self.assertEqual(status, 200)
        top, _ = parse_checkpoint(latest, pub)  # the daemon keeps publishing; check up to this size
        # Every snapshot ever served is still there, unchanged, with no gap in the sequence.
        leaves = []
        for s in range(1, top + 1):
            status, body = http_get(f"{self.d.base}/v1/snapshots/{s}")
            self.assertEqual(status, 200, "gap at %d" % s)
            if s in served:
                self.assertEqual(hashlib.sha256(body).hexdigest(), served[s], "snapshot %d changed" % s)
            leaves.append(leaf_hash(body))
        # Every checkpoint ever seen or stored is the root of a prefix of this one history.
        roots = prefix_roots(leaves)
        for size, root in checkpoints.items():
            self.assertEqual(root, roots[size - 1], "checkpoint %d is not a prefix of the log" % size)
        for k in range(1, top + 1):
            status, note = http_get(f"{self.d.base}/v1/log/checkpoints/{k}")
            if status == 404:
                continue  # a kill between a snapshot's append and its checkpoint: signed at the next start
            self.assertEqual(parse_checkpoint(note, pub), (k, roots[k - 1]), k)
        self.assertGreaterEqual(kills, CRASH_KILLS)
        print(f"crash loop: {kills} kills, {top} snapshots, {len(checkpoints)} distinct checkpoints seen")
        self.assertEqual(self.d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
