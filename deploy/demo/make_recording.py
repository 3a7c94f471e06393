#!/usr/bin/env python3
"""Generates recording.jsonl: the venue simulator's bundled price tape.

600 seconds, one line per second per symbol: {"t": <offset s>, "symbol": "...", "price": "..."}.
Deterministic (fixed seed, splitmix64) and exact: prices are integers in ticks, printed as
decimal strings, so no binary floating point ever touches them.

Usage: python3 make_recording.py [OUTPUT]   (default: recording.jsonl beside this script)
"""
import json
import os
import sys

MASK = (1 << 64) - 1
SEED = 0x706C756D626C696E  # "plumblin"
DURATION_S = 600

# symbol, start price in ticks, decimals, max step per second in ticks
SYMBOLS = [
    ("BTC/USD", 6700000, 2, 900),   # 67000.00, up to +-9.00 per second
    ("ETH/USD", 350000, 2, 60),     # 3500.00, up to +-0.60
    ("SOL/USD", 150000, 3, 40),     # 150.000, up to +-0.040
]

# US equities (tokenized stocks follow these in the simulator). A separate random stream, so the
# crypto series above stay exactly what they were before equities were added.
EQUITY_SEED = 0x6571756974696573  # "equities"
EQUITIES = [
    ("AAPL/USD", 19000, 2, 5),      # 190.00, up to +-0.05 per second
    ("TSLA/USD", 25000, 2, 10),     # 250.00, up to +-0.10
    ("SPY/USD", 55000, 2, 5),       # 550.00, up to +-0.05
]


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def fmt(ticks, decimals):
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    whole, frac = divmod(ticks, 10 ** decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def walk(seed, symbols):
    """One line per second per symbol, from its own random stream."""
    state = seed
    prices = {sym: start for sym, start, _, _ in symbols}
    lines = []
    for t in range(DURATION_S):
        for sym, start, decimals, max_step in symbols:
            if t > 0:
                state, r = splitmix64(state)
                step = r % (2 * max_step + 1) - max_step
                # Pull gently back toward the start so a looped tape has no runaway trend.
                step -= (prices[sym] - start) // 400
                prices[sym] = max(prices[sym] + step, 1)
            lines.append(json.dumps(
                {"t": t, "symbol": sym, "price": fmt(prices[sym], decimals)},
                separators=(",", ":")))
    return lines


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "recording.jsonl")
    lines = walk(SEED, SYMBOLS) + walk(EQUITY_SEED, EQUITIES)
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
