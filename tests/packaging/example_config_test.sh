#!/usr/bin/env bash
# deploy/etc/plumbline.toml is accepted by the daemon's config loader. There is no check-only
# mode, so the daemon runs on a copy whose key_file names a missing file: a config error exits 2
# (and names the key), getting past the config stops at the key with exit 3, before any network.
set -euo pipefail

conf=${1:?usage: example_config_test.sh CONFIG PLUMBLINE_BINARY}
plumbline=${2:?usage: example_config_test.sh CONFIG PLUMBLINE_BINARY}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

grep -q '^key_file = ' "$conf" || { echo "example_config_test: FAIL: $conf has no key_file line" >&2; exit 1; }
sed "s#^key_file = .*#key_file = \"$scratch/missing.key\"#" "$conf" >"$scratch/plumbline.toml"
status=0
timeout 30 "$plumbline" --config "$scratch/plumbline.toml" --data-dir "$scratch/data" --listen 127.0.0.1:0 \
  >"$scratch/out" 2>&1 || status=$?
if [ "$status" -ne 3 ] || ! grep -q 'signing key' "$scratch/out"; then
  echo "example_config_test: FAIL: expected exit 3 at the signing key, got $status:" >&2
  cat "$scratch/out" >&2
  exit 1
fi
echo "example_config_test: OK: $conf parses (stopped at the missing key as intended)"
