#!/usr/bin/python3
"""Push ingestion and the stream end to end: the real daemon, a publisher that signs with Python's
`cryptography` (tests/interop/publish_observations.py), and an SSE subscriber that verifies the
streamed snapshot with `cryptography` as well. Nothing of Plumbline's code is on the client side.

  PLUMBLINE_BIN=build/release/bin/plumbline /usr/bin/python3 tests/e2e/ingest_e2e_test.py
"""
import base64
import json
import os
import subprocess
import sys
import time
import unittest

INTEROP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop")
sys.path.insert(0, INTEROP)
from cryptography.hazmat.primitives.serialization import load_pem_public_key  # noqa: E402

import publish_observations as pub  # noqa: E402
from push_harness import Daemon, SseReader, decode_envelope_payload  # noqa: E402

PLUMBLINE = os.environ["PLUMBLINE_BIN"]
SNAPSHOT_TYPE = "application/vnd.plumbline.snapshot.v2+json"


class PushEndToEnd(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(PLUMBLINE, publishers=("desk1", "desk2"), publish_interval_ms=200)

    def tearDown(self):
        self.d.close()

    def test_python_signed_batch_reaches_a_streamed_signed_snapshot(self):
        desk1 = self.d.publishers["desk1"]
        stream = SseReader(self.d.port, "/v1/stream")
        self.assertEqual(stream.status, 200)
        self.assertEqual(stream.response.getheader("Content-Type"), "text/event-stream")
        status, doc, _ = pub.post(self.d.base, pub.sign_batch(desk1, "desk1", 1, [
            pub.observation("BTC/USD", "67000.125", bid="67000.00", ask="67000.25")]))
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc, {"publisher": "desk1", "sequence": 1, "accepted": 1})

        with open(self.d.pub, "rb") as f:
            daemon_key = load_pem_public_key(f.read())
        deadline = time.time() + 10
        for ident, event, data in stream.events():
            self.assertLess(time.time(), deadline, "no snapshot with the pushed price")
            self.assertEqual(event, "snapshot")
            body = json.loads(data)
            env = body["envelope"]
            self.assertEqual(env["payloadType"], SNAPSHOT_TYPE)
            payload = base64.b64decode(env["payload"])
            daemon_key.verify(base64.b64decode(env["signatures"][0]["sig"]), pub.pae(SNAPSHOT_TYPE.encode(), payload))
            snap = json.loads(payload)
            self.assertEqual(str(snap["sequence"]), ident)
            btc = snap["marks"][0]
            if btc["status"] == "ok":
                self.assertEqual(btc["price"], "67000.125")
                self.assertEqual([s["source"] for s in btc["sources"]], ["desk1"])
                break
        stream.close()

    def test_rejections_are_problem_documents(self):
        desk1, desk2 = self.d.publishers["desk1"], self.d.publishers["desk2"]
        now = time.time_ns()
        good = pub.sign_batch(desk1, "desk1", 7, [pub.observation("BTC/USD", "1.5", now)])
        self.assertEqual(pub.post(self.d.base, good)[0], 200)
        env = json.loads(good)
        env["signatures"][0]["sig"] = base64.b64encode(bytes(64)).decode()
        forged = pub.canonical_json(env)
        cases = [
            (good, 409, "replayed-batch"),
            (pub.sign_batch(desk2, "desk1", 8, [pub.observation("BTC/USD", "1.5", now + 1)]), 403, "publisher-mismatch"),
            (pub.sign_batch(desk1, "desk1", 8, [pub.observation("ETH/USD", "1.5", now + 1)]), 422, "unknown-symbol"),
            (pub.sign_batch(desk1, "desk1", 8, [pub.observation("BTC/USD", "1.5", now - 60 * 10**9)]), 422,
             "stale-observation"),
            (pub.sign_batch(desk1, "desk1", 8, [pub.observation("BTC/USD", "1e3", now + 1)]), 400, "invalid-observations"),
            (forged, 401, "bad-signature"),
        ]
        for body, status, problem in cases:
            got, doc, headers = pub.post(self.d.base, body)
            self.assertEqual((got, doc.get("type")), (status, "/problems/" + problem), doc)
            self.assertTrue(doc.get("detail"), doc)
        # The key id rule is the documented one: SHA-256 of the raw public key.
        self.assertEqual(env["signatures"][0]["keyid"], pub.key_id(desk1))

    def test_filtered_stream_and_resume(self):
        desk1 = self.d.publishers["desk1"]
        self.assertEqual(pub.post(self.d.base, pub.sign_batch(desk1, "desk1", 1, [pub.observation("BTC/USD", "2.5")]))[0], 200)
        stream = SseReader(self.d.port, "/v1/stream?symbols=BTC/USD")
        ids = []
        for ident, event, data in stream.events():
            self.assertEqual(event, "marks")
            marks = json.loads(data)["marks"]
            self.assertEqual([m["symbol"] for m in marks], ["BTC/USD"])
            ids.append(int(ident))
            if len(ids) == 3:
                break
        stream.close()
        self.assertEqual(ids, list(range(ids[0], ids[0] + 3)))
        # Reconnect with Last-Event-ID: continues right after the last one seen.
        stream = SseReader(self.d.port, "/v1/stream", headers={"Last-Event-ID": str(ids[-1])})
        ident, event, data = next(stream.events())
        self.assertEqual(int(ident), ids[-1] + 1)
        self.assertEqual(decode_envelope_payload(json.loads(data)["envelope"])["sequence"], ids[-1] + 1)
        stream.close()


    def test_restart_refuses_what_a_snapshot_already_used(self):
        desk1 = self.d.publishers["desk1"]
        batch = pub.sign_batch(desk1, "desk1", 1, [pub.observation("BTC/USD", "3.25")])
        self.assertEqual(pub.post(self.d.base, batch)[0], 200)
        stream = SseReader(self.d.port, "/v1/stream?symbols=BTC/USD")
        for _, _, data in stream.events():
            if json.loads(data)["marks"][0]["price"] == "3.25":
                break
        stream.close()
        self.d.restart()
        status, doc, _ = pub.post(self.d.base, batch)
        self.assertEqual((status, doc.get("type")), (409, "/problems/replayed-batch"), doc)
        # The sequence floor survives the restart (the ingest journal, docs/ingest.md): a new
        # observation needs a new sequence.
        fresh = pub.sign_batch(desk1, "desk1", 1, [pub.observation("BTC/USD", "3.50")])
        status, doc, _ = pub.post(self.d.base, fresh)
        self.assertEqual((status, doc.get("type")), (409, "/problems/replayed-batch"), doc)
        fresh = pub.sign_batch(desk1, "desk1", 2, [pub.observation("BTC/USD", "3.50")])
        self.assertEqual(pub.post(self.d.base, fresh)[0], 200)


    def test_openssl_shell_recipe_publishes(self):
        key_path = os.path.join(self.d.dir, "desk1.key")  # the harness wrote it (PKCS#8 PEM)
        out = subprocess.run([os.path.join(INTEROP, "publish_with_openssl.sh"), self.d.base, key_path, "desk1",
                              "BTC/USD", "64000.5"], capture_output=True, check=True, text=True).stdout
        self.assertEqual(json.loads(out)["accepted"], 1, out)


if __name__ == "__main__":
    unittest.main()
