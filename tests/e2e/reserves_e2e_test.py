#!/usr/bin/python3
"""Proof of reserve end to end: the real daemon with [[reserves]], plumbline-chain-sim as two
Ethereum and two Solana JSON-RPC nodes, a custodian statement signed and uploaded over HTTP, and an
auditor that re-derives every number from the served evidence with nothing of Plumbline's (Python's
`cryptography`, `hashlib`, `fractions`), then with `attest reserves`.

Environment as for e2e_test.py, plus CHAIN_SIM_BIN.
"""
import base64
import hashlib
import json
import os
import subprocess
import time
import unittest
import urllib.request
from fractions import Fraction

from cryptography.hazmat.primitives.serialization import load_pem_public_key, Encoding, PublicFormat

from e2e_test import ATTEST, Deployment, free_port, http_get, independent_verify, pae, read_bytes

CHAIN_SIM = os.environ["CHAIN_SIM_BIN"]
TOKEN = "0x00000000000000000000000000000000000000aa"
TREASURY = "0x00000000000000000000000000000000000000b1"
MINT = "SimMint1111111111111111111111111111111111111"
SOL_TREASURY = "SimTreasury11111111111111111111111111111111"
STATEMENT_TYPE = b"application/vnd.plumbline.custodian-statement.v1+json"


def fixed(value: Fraction, digits: int, up: bool) -> str:
    """value rounded to `digits` fractional digits (up or down), printed with exactly that many."""
    scaled = value * 10**digits
    n = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    return f"{n // 10**digits}.{n % 10**digits:0{digits}d}"


def rpc_result(raw: bytes):
    doc = json.loads(raw)
    assert "error" not in doc, doc
    return doc["result"]


class ReservesEndToEnd(unittest.TestCase):
    def setUp(self):
        self.d = Deployment()
        self.ports = [free_port() for _ in range(4)]
        self.chain_log = open(os.path.join(self.d.dir, "chain.log"), "wb")
        self.chain = subprocess.Popen(
            [CHAIN_SIM, "serve", "--evm-port", str(self.ports[0]), "--evm-port", str(self.ports[1]),
             "--solana-port", str(self.ports[2]), "--solana-port", str(self.ports[3]),
             "--evm-token", TOKEN, "--supply", "1000000000000000000000",
             "--evm-balance", f"{TREASURY}=150000000000000000000",
             "--solana-mint", MINT, "--solana-decimals", "6", "--solana-supply", "200000000",
             "--solana-balance", f"{SOL_TREASURY}=50000000"],
            stdout=self.chain_log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while read_bytes(self.chain_log.name).count(b"node on") < 4:
            assert time.time() < deadline and self.chain.poll() is None, read_bytes(self.chain_log.name)
            time.sleep(0.02)
        self.custodian = os.path.join(self.d.dir, "custodian")
        subprocess.run([ATTEST, "keygen", "--out", self.custodian], check=True, capture_output=True)
        p = self.ports
        self.d.write_config(extra=f'''
[reserves_round]
interval_ms = 300
[[reserves]]
asset = "TSLAx"
isin = "US88160R1014"
multiplier = "1/3"
tolerance = "0.001"
max_supply_age_ms = 30000
max_statement_age_ms = 3600000
custodian_id = "e2e-custody"
custodian_account = "E2E-1"
custodian_public_key = "{self.custodian}.pub"
[[reserves.chains]]
name = "ethereum"
kind = "evm"
token = "{TOKEN}"
decimals = 18
confirmations = 2
providers = [ {{ name = "eth-a", url = "http://127.0.0.1:{p[0]}/" }}, {{ name = "eth-b", url = "http://127.0.0.1:{p[1]}/" }} ]
excluded = [ {{ address = "{TREASURY}", label = "treasury" }} ]
[[reserves.chains]]
name = "solana"
kind = "solana"
token = "{MINT}"
decimals = 6
providers = [ {{ name = "sol-a", url = "http://127.0.0.1:{p[2]}/" }}, {{ name = "sol-b", url = "http://127.0.0.1:{p[3]}/" }} ]
excluded = [ {{ address = "{SOL_TREASURY}", label = "treasury" }} ]
''')

    def tearDown(self):
        if self.chain.poll() is None:
            self.chain.kill()
            self.chain.wait()
        self.chain_log.close()
        self.d.close()

    def post(self, path, body: bytes):
        req = urllib.request.Request(self.d.base + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_auditor_rederives_every_number_from_served_evidence(self):
        self.d.start()
        self.d.wait_for_sequence(1)
        statement = subprocess.run(
            [os.environ["CHAIN_SIM_BIN"], "sign-statement", "--key", self.custodian + ".key", "--custodian",
             "e2e-custody", "--account", "E2E-1", "--isin", "US88160R1014", "--settled", "333.34",
             "--in-transit", "10", "--sequence", "1"], check=True, capture_output=True).stdout.strip()
        status, body = self.post("/v1/custodian/statements", statement)
        self.assertEqual(status, 201, body)
        status, body = self.post("/v1/custodian/statements", statement)
        self.assertEqual((status, body["type"]), (409, "/problems/stale-statement"), body)

        # The first snapshot whose attestation is fully backed.
        deadline = time.time() + 20
        while True:
            _, view = http_get(self.d.base + "/v1/reserves")
            view = json.loads(view)
            if view["reserves"] and view["reserves"][0]["status"] == "fully_backed":
                break
            self.assertLess(time.time(), deadline, view)
            time.sleep(0.1)
        seq = view["snapshot"]["sequence"]
        _, envelope = http_get(f"{self.d.base}/v1/snapshots/{seq}")
        doc, _ = independent_verify(envelope, read_bytes(self.d.pub))
        (a,) = doc["reserves"]

        def evidence(sha):
            code, raw = http_get(f"{self.d.base}/v1/reserves/evidence/{sha}")
            self.assertEqual(code, 200)
            self.assertEqual(hashlib.sha256(raw).hexdigest(), sha)
            return raw

        total = Fraction(0)
        for chain in a["chains"]:
            providers = set()
            for e in chain["evidence"]:
                result = rpc_result(evidence(e["sha256"]))
                if e["kind"] == "block":
                    self.assertEqual((int(result["number"], 16), result["hash"]),
                                     (chain["block_number"], chain["block_hash"]))
                    continue
                amount = int(result, 16) if chain["kind"] == "evm" else int(result["value"]["amount"])
                if e["kind"] in ("total_supply", "token_supply"):
                    self.assertEqual(amount, int(chain["gross"]))
                    providers.add(e["provider"])
                else:
                    (x,) = [x for x in chain["excluded"] if x["address"] == e["address"]]
                    self.assertEqual(amount, int(x["amount"]))
            self.assertEqual(len(providers), 2)
            circulating = int(chain["gross"]) - sum(int(x["amount"]) for x in chain["excluded"])
            self.assertEqual(circulating, int(chain["circulating"]))
            total += Fraction(circulating, 10 ** chain["decimals"])
        self.assertEqual(total, 1000)  # 850 on Ethereum + 150 on Solana
        num, den = a["multiplier"].split("/")
        required = total * Fraction(num) / Fraction(den)
        self.assertEqual(a["required_shares"], fixed(required, 9, up=True))  # 333.333333334
        # The statement: its signature under the custodian's key, and its numbers.
        submission = json.loads(evidence(a["custodian"]["statement_sha256"]))
        payload = base64.b64decode(submission["payload"])
        key = load_pem_public_key(read_bytes(self.custodian + ".pub"))
        key.verify(base64.b64decode(submission["signatures"][0]["sig"]), pae(STATEMENT_TYPE, payload))
        settled = json.loads(payload)["settled_shares"]
        self.assertEqual(settled, a["custodian"]["settled_shares"])
        self.assertEqual(a["ratio"], fixed(Fraction(settled) / Fraction(a["required_shares"]), 8, up=False))
        self.assertEqual(a["ratio"], "1.00001999")

        # And the attest CLI agrees.
        out = subprocess.run([ATTEST, "reserves", f"{self.d.base}/v1/snapshots/{seq}", "--key", self.d.pub,
                              "--evidence", self.d.base], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("OK TSLAx fully_backed ratio=1.00001999", out.stdout)
        self.assertEqual(self.d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
