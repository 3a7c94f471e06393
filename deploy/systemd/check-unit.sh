#!/usr/bin/env bash
# Checks the systemd unit offline (no running systemd needed):
#   1. `systemd-analyze verify`: the file parses, every setting is known, the binaries exist;
#   2. `systemd-analyze security --offline=yes`: overall exposure at most MAX_EXPOSURE (2.0);
#   3. with a real PLUMBLINE_BINARY, every --flag of ExecStart= appears in its --help.
#
#   check-unit.sh [UNIT_FILE] [PLUMBLINE_BINARY]
#
# verify insists that ExecStart='s binary exists, and the unit names the installed path
# (/usr/bin/plumbline), so a copy pointing at PLUMBLINE_BINARY (the one just built; a stub if not
# given) is verified in a scratch directory. Exit 0 pass, 1 fail, 77 skip (no systemd-analyze).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
unit=${1:-$here/plumbline.service}
binary=${2:-}
max_exposure=${MAX_EXPOSURE:-2.0}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check-unit: SKIP: systemd-analyze not found (apt-get install systemd)"
  exit 77
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -z "$binary" ]; then
  binary=$scratch/plumbline
  printf '#!/bin/sh\nexit 0\n' >"$binary"
  chmod +x "$binary"
fi
[ -x "$binary" ] || { echo "check-unit: FAIL: $binary is not an executable" >&2; exit 1; }
name=$(basename "$unit")
copy=$scratch/$name
grep -q '^ExecStart=/usr/bin/plumbline ' "$unit" || { echo "check-unit: FAIL: $unit: ExecStart is not /usr/bin/plumbline ..." >&2; exit 1; }
sed "s#^ExecStart=/usr/bin/plumbline #ExecStart=$binary #" "$unit" >"$copy"

# The command line must be one the binary accepts: every --flag of ExecStart= is in its --help
# (only with a real binary; the stub knows no flags).
if [ -n "${2:-}" ]; then
  help=$("$binary" --help 2>&1) || { echo "check-unit: FAIL: $binary --help failed" >&2; exit 1; }
  for flag in $(sed -n 's/^ExecStart=//p' "$unit" | grep -o -- '--[a-z][a-z0-9-]*'); do
    grep -qE -- "${flag}([^a-z0-9-]|$)" <<<"$help" || { echo "check-unit: FAIL: ExecStart uses $flag, which $binary does not accept" >&2; exit 1; }
  done
  echo "check-unit: ExecStart flags accepted by $(basename "$binary")"
fi

status=0
# verify's exit status ignores most warnings (an unknown key, a bad value), so any line it
# prints about our file counts as a failure. --man=no: the doc links are to installed files.
verify_out=$(cd "$scratch" && systemd-analyze verify --man=no "$copy" 2>&1) || status=1
if grep -F "$name" <<<"$verify_out" >/dev/null; then status=1; fi
if [ "$status" -ne 0 ]; then
  echo "check-unit: FAIL: systemd-analyze verify $unit:" >&2
  echo "$verify_out" >&2
  exit 1
fi
echo "check-unit: verify OK"

security_out=$(systemd-analyze security --offline=yes --no-pager "$copy" 2>&1) || true
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' <<<"$security_out" | tail -n 1)
if [ -z "$exposure" ]; then
  echo "check-unit: FAIL: no exposure level in systemd-analyze security output:" >&2
  echo "$security_out" >&2
  exit 1
fi
if awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
  echo "check-unit: FAIL: exposure $exposure > $max_exposure; the findings:" >&2
  grep -E '^✗' <<<"$security_out" >&2 || echo "$security_out" >&2
  exit 1
fi
echo "check-unit: security exposure $exposure <= $max_exposure OK"
