#!/usr/bin/env bash
# Signs a custodian statement with Ed25519 using openssl and jq only (docs/reserves.md).
# Usage: sign_statement_ed25519.sh custodian.key statement.json > submission.json
# statement.json must hold the RFC 8785 canonical bytes (no trailing newline).
set -euo pipefail
key=$1 statement=$2
type=application/vnd.plumbline.custodian-statement.v1+json
pae=$(mktemp)
trap 'rm -f "$pae" "$pae.sig"' EXIT
{ printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(stat -c%s "$statement")"; cat "$statement"; } >"$pae"
openssl pkeyutl -sign -inkey "$key" -rawin -in "$pae" -out "$pae.sig"
keyid=$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
jq -cn --arg t "$type" --arg p "$(base64 -w0 "$statement")" --arg k "$keyid" --arg s "$(base64 -w0 "$pae.sig")" \
  '{payloadType: $t, payload: $p, signatures: [{keyid: $k, sig: $s}]}'
