#!/usr/bin/python3
"""A push publisher for Plumbline written with nothing of Plumbline's: Python's standard library
and the `cryptography` package (Debian: python3-cryptography). It is the reference for
docs/ingest.md and the interop proof used by tests/e2e/ingest_e2e_test.py and bench/ingest_latency.py.

  publish_observations.py --url http://127.0.0.1:8420 --key desk1.key --publisher desk1 \
      --sequence 1 BTC/USD=67000.50 ETH/USD=3500.25:bid=3500.00:ask=3500.50 SOL/USD=150.1:confidence=0.05

Each observation is SYMBOL=PRICE[:bid=B:ask=A | :confidence=C][:time=UNIX_NS] (time defaults to
now). The key is a PKCS#8 PEM Ed25519 private key, e.g. from `openssl genpkey -algorithm ed25519`.
Prints the daemon's answer; exits 0 on 200, 1 otherwise.
"""
import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

PAYLOAD_TYPE = "application/vnd.plumbline.observations.v1+json"


def canonical_json(doc) -> bytes:
    """RFC 8785 for documents of strings, integers, arrays and objects with ASCII keys (all a batch
    holds): sorted keys, no whitespace, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pae(payload_type: bytes, body: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(body), body)


def key_id(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_batch(private_key: Ed25519PrivateKey, publisher: str, sequence: int, observations: list) -> bytes:
    """The request body: a DSSE envelope over the canonical batch payload."""
    payload = canonical_json({"publisher": publisher, "sequence": sequence, "observations": observations})
    sig = private_key.sign(pae(PAYLOAD_TYPE.encode(), payload))
    envelope = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": key_id(private_key), "sig": base64.b64encode(sig).decode()}]}
    return canonical_json(envelope)


def observation(symbol: str, price: str, observed_time_ns: int = None, **extra) -> dict:
    o = {"symbol": symbol, "price": price, "observed_time": str(observed_time_ns or time.time_ns())}
    o.update({k: str(v) for k, v in extra.items()})
    return o


def post(url: str, body: bytes, timeout: float = 5):
    """Returns (status, parsed JSON body, headers)."""
    req = urllib.request.Request(url.rstrip("/") + "/v1/observations", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), dict(e.headers)


def load_key(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        key = load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path}: not an Ed25519 private key")
    return key


def parse_observation(text: str) -> dict:
    head, *options = text.split(":")
    symbol, _, price = head.partition("=")
    if not symbol or not price:
        raise SystemExit(f"observation {text!r}: expected SYMBOL=PRICE[:bid=B:ask=A|:confidence=C][:time=NS]")
    extra = dict(opt.split("=", 1) for opt in options)
    t = int(extra.pop("time")) if "time" in extra else None
    return observation(symbol, price, t, **extra)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True, help="PKCS#8 PEM Ed25519 private key")
    ap.add_argument("--publisher", required=True)
    ap.add_argument("--sequence", type=int, default=None,
                    help="batch sequence, an integer < 2^53 (default: now in microseconds)")
    ap.add_argument("observations", nargs="+")
    args = ap.parse_args()
    body = sign_batch(load_key(args.key), args.publisher, args.sequence or time.time_ns() // 1000,
                      [parse_observation(o) for o in args.observations])
    status, doc, _ = post(args.url, body)
    print(status, json.dumps(doc))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
