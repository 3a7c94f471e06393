#!/usr/bin/python3
"""Latency from a pushed observation's arrival to its inclusion in a published snapshot, measured
against a running daemon (target: p99 <= one publish interval + 2 ms).

Starts `plumbline` with one push publisher (tests/interop/push_harness.py), subscribes to
GET /v1/stream?symbols=BTC/USD, then repeatedly: waits a random fraction of the interval (so
arrivals fall at every phase of the round), signs a batch with a new price, and measures from just
before the POST is sent until the stream event carrying that price is read. That span contains the
HTTP request, the wait for the next round, aggregation, signing, the synced RocksDB write and the
SSE delivery, so it bounds the arrival-to-inclusion latency from above.

  bench/ingest_latency.py [--bin build/release/bin/plumbline] [--interval-ms 100] [--samples 150]
"""
import argparse
import json
import os
import queue
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
import publish_observations as pub  # noqa: E402
from push_harness import Daemon, SseReader, decode_envelope_payload  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "release", "bin", "plumbline"))
    ap.add_argument("--interval-ms", type=int, default=100)
    ap.add_argument("--samples", type=int, default=150)
    args = ap.parse_args()

    d = Daemon(args.bin, publishers=("desk1",), publish_interval_ms=args.interval_ms)
    try:
        stream = SseReader(d.port, "/v1/stream", timeout=30)
        arrivals = queue.Queue()
        round_times = []

        def read():
            try:
                for _, _, data in stream.events():
                    snap = decode_envelope_payload(json.loads(data)["envelope"])
                    round_times.append(int(snap["time"]))
                    mark = snap["marks"][0]
                    if mark["status"] != "ok":
                        continue
                    # Server side, from the signed snapshot itself: its time minus the daemon's
                    # receipt time of the observation.
                    server_ms = (int(snap["time"]) - int(mark["sources"][0]["received_time"])) / 1e6
                    arrivals.put((time.perf_counter(), mark["price"], server_ms))
            except (AttributeError, OSError, ValueError):
                pass  # closed at the end

        threading.Thread(target=read, daemon=True).start()
        key = d.publishers["desk1"]
        latencies, server = [], []
        for i in range(args.samples):
            time.sleep(random.uniform(0, args.interval_ms / 1000))
            price = f"67000.{i + 1:04d}"
            body = pub.sign_batch(key, "desk1", i + 1, [pub.observation("BTC/USD", price)])
            started = time.perf_counter()
            status, doc, _ = pub.post(d.base, body)
            assert status == 200, doc
            while True:
                at, seen, server_ms = arrivals.get(timeout=10)
                if seen == price:
                    latencies.append((at - started) * 1000)
                    server.append(server_ms)
                    break
        stream.close()
    finally:
        d.close()

    bound = args.interval_ms + 2
    print(f"publish interval {args.interval_ms} ms, {len(latencies)} samples")
    print(f"{'measured span':44} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99/target':>11}")
    for name, values in (("daemon: received -> snapshot time (signed)", server),
                         ("client: POST sent -> stream event read", latencies)):
        values = sorted(values)

        def pct(p):
            return values[min(len(values) - 1, max(0, -(-p * len(values) // 100) - 1))]

        print(f"{name:44} {pct(50):8.2f} {pct(90):8.2f} {pct(99):8.2f} {values[-1]:8.2f} {pct(99) / bound:11.2f}")
    gaps = sorted((b - a) / 1e6 for a, b in zip(round_times, round_times[1:]))
    print(f"target: p99 <= {bound} ms (one publish interval + 2 ms)")
    print(f"gaps between consecutive snapshot times: p50 {gaps[len(gaps) // 2]:.2f} ms, "
          f"p99 {gaps[-(-99 * len(gaps) // 100) - 1]:.2f} ms, max {gaps[-1]:.2f} ms "
          f"({sum(g > 1.5 * args.interval_ms for g in gaps)} of {len(gaps)} rounds late by more than half an interval)")

if __name__ == "__main__":
    main()
