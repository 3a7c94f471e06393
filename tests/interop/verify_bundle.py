#!/usr/bin/python3
"""Independent verifier for Plumbline snapshot bundles (C2SP tlog-proof files).

    verify_bundle.py BUNDLE --key PUBKEY.pem --origin ORIGIN

Written from the specifications (c2sp.org/tlog-proof, signed-note, tlog-checkpoint, RFC 9162,
DSSE v1), sharing no code with Plumbline, so that Plumbline's C++ verifier and this one agreeing
means both agree with the specifications. Uses only the Python standard library and the
`cryptography` package (Debian: python3-cryptography).

What a bundle is: a tlog-proof whose `extra` line holds the logged leaf data, which in Plumbline
is a snapshot's DSSE envelope JSON, byte for byte as stored. The leaf hash is
SHA-256(0x00 || extra).

Checks, one output line each:
  1. the bundle parses as a tlog-proof, and its checkpoint as a signed note and a checkpoint;
  2. the checkpoint origin equals ORIGIN;
  3. the signature line named ORIGIN with key id SHA-256(ORIGIN || 0x0A || 0x01 || pub)[:4]
     verifies (Ed25519) over the note text (every such line must verify; others are ignored);
  4. the RFC 9162 inclusion proof leads from the leaf hash at `index` to the checkpoint root;
  5. the DSSE envelope in `extra` carries a signature with key id hex(SHA-256(pub)) that
     verifies over PAE(payloadType, payload).
Exit status 0 if every check passes, 1 otherwise (2 for usage errors).

Witness cosignatures in the checkpoint are not checked here: which witnesses to trust is the
reader's policy.
"""

import argparse
import base64
import binascii
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PROOF_HEADER = b"c2sp.org/tlog-proof@v1"
SIG_PREFIX = "\u2014 ".encode("utf-8")  # em dash, space
ED25519_TYPE = b"\x01"


class BundleError(Exception):
    pass


def b64decode_strict(text, what):
    """Standard base64 with padding, in its one canonical encoding."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BundleError(f"{what}: bad base64 ({e})")
    if base64.b64encode(raw) != text:
        raise BundleError(f"{what}: non-canonical base64")
    return raw


def decimal_strict(text, what):
    if not text or not text.isdigit() or not text.isascii() or (len(text) > 1 and text[:1] == b"0"):
        raise BundleError(f"{what}: {text!r} is not a decimal without leading zeros")
    value = int(text)
    if value >= 1 << 64:
        raise BundleError(f"{what}: {text!r} does not fit in 64 bits")
    return value


def parse_tlog_proof(data):
    """Returns (extra bytes or None, index, [proof hashes], checkpoint note bytes)."""
    lines = data.split(b"\n")
    pos = 0

    def next_line(what):
        nonlocal pos
        if pos >= len(lines) - 1:  # the last element is what follows the final newline
            raise BundleError(f"tlog-proof: truncated before {what}")
        pos += 1
        return lines[pos - 1]

    if next_line("the header") != PROOF_HEADER:
        raise BundleError("tlog-proof: first line is not c2sp.org/tlog-proof@v1")
    line = next_line("the index line")
    extra = None
    if line.startswith(b"extra "):
        extra = b64decode_strict(line[len(b"extra "):], "tlog-proof extra")
        line = next_line("the index line")
    if not line.startswith(b"index "):
        raise BundleError("tlog-proof: expected 'index <n>'")
    index = decimal_strict(line[len(b"index "):], "tlog-proof index")
    proof = []
    while True:
        line = next_line("the blank line before the checkpoint")
        if line == b"":
            break
        node = b64decode_strict(line, f"tlog-proof hash {len(proof) + 1}")
        if len(node) != 32:
            raise BundleError(f"tlog-proof hash {len(proof) + 1}: {len(node)} bytes, not 32")
        proof.append(node)
    checkpoint = b"\n".join(lines[pos:])
    return extra, index, proof, checkpoint


def parse_note(note):
    """Returns (text, [(name, key id bytes, signature bytes)])."""
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError("signed note: not UTF-8")
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise BundleError("signed note: control character")
    split = note.rfind(b"\n\n")
    if split < 0:
        raise BundleError("signed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2:]
    if not block or not block.endswith(b"\n"):
        raise BundleError("signed note: missing or unterminated signature lines")
    signatures = []
    for line in block[:-1].split(b"\n"):
        if not line.startswith(SIG_PREFIX):
            raise BundleError(f"signed note: bad signature line {line!r}")
        name, sep, sig64 = line[len(SIG_PREFIX):].partition(b" ")
        if not sep or not name or b"+" in name or any(c.isspace() for c in name.decode("utf-8")):
            raise BundleError(f"signed note: bad signature line {line!r}")
        sig = b64decode_strict(sig64, "signed note signature")
        if len(sig) < 5:
            raise BundleError("signed note: signature too short")
        signatures.append((name, sig[:4], sig[4:]))
    return text, signatures


def parse_checkpoint(text):
    """Returns (origin, size, root)."""
    if not text.endswith(b"\n"):
        raise BundleError("checkpoint: no final newline")
    lines = text[:-1].split(b"\n")
    if len(lines) < 3 or any(line == b"" for line in lines):
        raise BundleError("checkpoint: needs origin, size and root lines, none empty")
    size = decimal_strict(lines[1], "checkpoint size")
    root = b64decode_strict(lines[2], "checkpoint root")
    if len(root) != 32:
        raise BundleError("checkpoint root: not 32 bytes")
    return lines[0], size, root


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index, size, leaf_hash, proof):
    """RFC 9162 section 2.1.3.2, step by step. Returns the root or None if the proof is invalid."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def pae(payload_type, payload):
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)


def verify_envelope(envelope_bytes, key):
    """Returns a description of the verified envelope; raises BundleError."""
    try:
        env = json.loads(envelope_bytes)
        payload_type = env["payloadType"].encode("utf-8")
        payload = b64decode_strict(env["payload"].encode("ascii"), "envelope payload")
        signatures = env["signatures"]
        if not isinstance(signatures, list):
            raise TypeError("signatures is not a list")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeError) as e:
        raise BundleError(f"not a DSSE envelope ({type(e).__name__}: {str(e)[:80]})")
    raw_pub = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keyid = hashlib.sha256(raw_pub).hexdigest()
    matching = [s for s in signatures if isinstance(s, dict) and s.get("keyid") == keyid]
    if not matching:
        raise BundleError(f"no signature with keyid {keyid}")
    message = pae(payload_type, payload)
    for s in matching:
        sig = b64decode_strict(str(s.get("sig", "")).encode("ascii"), "envelope signature")
        try:
            key.verify(sig, message)
        except InvalidSignature:
            raise BundleError(f"signature by keyid {keyid[:16]}... does not verify")
    return f"{payload_type.decode()} ({len(payload)} payload bytes), keyid {keyid[:16]}..."


def main(argv):
    ap = argparse.ArgumentParser(description="Verify a Plumbline snapshot bundle (C2SP tlog-proof).")
    ap.add_argument("bundle", help="the .tlog-proof file")
    ap.add_argument("--key", required=True, help="the log's Ed25519 public key (PEM)")
    ap.add_argument("--origin", required=True, help="the log origin (checkpoint key name)")
    args = ap.parse_args(argv)

    try:
        with open(args.key, "rb") as f:
            key = serialization.load_pem_public_key(f.read())
        with open(args.bundle, "rb") as f:
            data = f.read()
    except (OSError, ValueError) as e:
        print(f"FAIL input: {e}")
        return 1
    if not isinstance(key, Ed25519PublicKey):
        print(f"FAIL key: {args.key} is not an Ed25519 public key")
        return 1
    raw_pub = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    origin = args.origin.encode("utf-8")

    failures = 0

    def report(ok, what):
        nonlocal failures
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures += 1

    try:
        extra, index, proof, note = parse_tlog_proof(data)
        text, signatures = parse_note(note)
        cp_origin, size, root = parse_checkpoint(text)
        if extra is None:
            raise BundleError("tlog-proof: no extra line (the leaf data)")
    except BundleError as e:
        report(False, f"parse: {e}")
        return 1
    report(True, f"parse: index {index} in tree of size {size}, {len(proof)} proof hashes, "
                 f"{len(signatures)} signature line(s)")

    report(cp_origin == origin, f"origin: checkpoint says {cp_origin.decode()!r}, expected {args.origin!r}")

    key_id = hashlib.sha256(origin + b"\n" + ED25519_TYPE + raw_pub).digest()[:4]
    ours = [sig for name, kid, sig in signatures if name == origin and kid == key_id]
    verified = 0
    for sig in ours:
        try:
            key.verify(sig, text)
            verified += 1
        except InvalidSignature:
            pass
    report(bool(ours) and verified == len(ours),
           f"checkpoint signature: {verified} of {len(ours)} line(s) with key id {key_id.hex()} verify")

    leaf_hash = hashlib.sha256(b"\x00" + extra).digest()
    computed = root_from_inclusion(index, size, leaf_hash, proof)
    report(computed == root, f"inclusion: leaf {leaf_hash.hex()[:16]}... at index {index} "
                             + ("leads to the checkpoint root" if computed == root else "does not lead to the root"))

    try:
        report(True, "envelope: " + verify_envelope(extra, key))
    except (BundleError, UnicodeError) as e:
        report(False, f"envelope: {e}")

    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
