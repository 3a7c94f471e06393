#!/usr/bin/env bash
# Quick start, command 1: install dependencies, build, and run the daemon on the demo config with
# eight simulated venues on loopback (crypto, US equities, tokenized stocks). Ctrl-C stops both (the daemon finishes its round first).
# State lives in var/demo/ (RocksDB data and the demo signing key); delete it to start over.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target plumbline attest plumbline-venue-sim plumbline-replay

build=build/release
mkdir -p var/demo
if [ ! -f var/demo/signing.key ]; then
  "$build/bin/attest" keygen --out var/demo/signing
fi

"$build/bin/plumbline-venue-sim" --recording deploy/demo/recording.jsonl \
  --binance-port 18424 --okx-port 18425 --alpaca-port 18426 --polygon-port 18427 --finnhub-port 18428 &
sim=$!
trap 'kill -TERM $sim 2>/dev/null || true; wait $sim 2>/dev/null || true' EXIT

cat <<MSG
plumbline demo: http://127.0.0.1:8420/v1/snapshots/latest  (also /v1/marks, /v1/keys, /healthz)
verify it:       $build/bin/attest verify http://127.0.0.1:8420/v1/snapshots/latest --key var/demo/signing.pub
replay it:       $build/bin/plumbline-replay --config deploy/demo/plumbline.toml --observations var/demo/observations.jsonl --server http://127.0.0.1:8420
MSG
"$build/bin/plumbline" --config deploy/demo/plumbline.toml "$@"
