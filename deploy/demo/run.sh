#!/usr/bin/env bash
# Quick start, command 1: install dependencies, build, and run the daemon on the demo config with
# eight simulated venues on loopback (crypto, US equities, tokenized stocks) and two simulated chains.
# Ctrl-C stops them all (the daemon finishes its round first).
# State lives in var/demo/ (RocksDB data and the demo signing key); delete it to start over.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target plumbline attest plumbline-venue-sim plumbline-chain-sim plumbline-replay

build=build/release
mkdir -p var/demo
if [ ! -f var/demo/signing.key ]; then
  "$build/bin/attest" keygen --out var/demo/signing
fi

if [ ! -f var/demo/admin.token ]; then
  (umask 077 && openssl rand -base64 32 >var/demo/admin.token)
fi

if [ ! -f var/demo/custodian.key ]; then
  "$build/bin/attest" keygen --out var/demo/custodian >/dev/null
fi

"$build/bin/plumbline-venue-sim" --recording deploy/demo/recording.jsonl \
  --binance-port 18424 --okx-port 18425 --alpaca-port 18426 --polygon-port 18427 --finnhub-port 18428 &
sim=$!
# Proof of reserve: TSLAx on Ethereum (1000 tokens, 150 in the treasury) and Solana (200 tokens,
# 50 in the treasury): 1000 circulating, backed by the 1000 shares of the statement below.
"$build/bin/plumbline-chain-sim" serve --evm-port 18545 --evm-port 18546 --solana-port 18899 --solana-port 18900 \
  --evm-token 0x00000000000000000000000000000000000000aa --supply 1000000000000000000000 \
  --evm-balance 0x00000000000000000000000000000000000000b1=150000000000000000000 \
  --solana-mint SimMint1111111111111111111111111111111111111 --solana-decimals 6 --solana-supply 200000000 \
  --solana-balance SimTreasury11111111111111111111111111111111=50000000 &
chain=$!
trap 'kill -TERM $sim $chain 2>/dev/null || true; wait $sim $chain 2>/dev/null || true' EXIT
# The custodian's statement, uploaded once the daemon answers (sequence = Unix seconds, so each
# demo start sends a newer one).
(
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8420/healthz >/dev/null && break; sleep 0.2; done
  "$build/bin/plumbline-chain-sim" sign-statement --key var/demo/custodian.key --custodian demo-custody \
    --account DEMO-1 --isin US88160R1014 --settled 1000 --in-transit 5 --sequence "$(date +%s)" |
    curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- \
      http://127.0.0.1:8420/v1/custodian/statements >/dev/null || echo "demo: statement upload failed" >&2
) &

cat <<MSG
plumbline demo: http://127.0.0.1:8420/v1/snapshots/latest  (also /v1/marks, /v1/keys, /healthz)
verify it:       $build/bin/attest verify http://127.0.0.1:8420/v1/snapshots/latest --key var/demo/signing.pub
reserves:        http://127.0.0.1:8420/v1/reserves  (re-derive: $build/bin/attest reserves http://127.0.0.1:8420/v1/snapshots/latest --key var/demo/signing.pub --evidence http://127.0.0.1:8420)
halt a symbol:   curl -X PUT -H "Authorization: Bearer \$(cat var/demo/admin.token)" -d '{"reason":"test"}' http://127.0.0.1:8420/v1/admin/halts/AAPLx-USD  (lift: -X DELETE; list: /v1/halts)
replay it:       $build/bin/plumbline-replay --config deploy/demo/plumbline.toml --observations var/demo/observations.jsonl --server http://127.0.0.1:8420
MSG
"$build/bin/plumbline" --config deploy/demo/plumbline.toml "$@"
