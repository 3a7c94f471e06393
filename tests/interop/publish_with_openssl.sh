#!/usr/bin/env bash
# Push one observation with standard tools only (openssl, base64, sha256sum, curl): the shell
# recipe of docs/ingest.md, run by tests/e2e/ingest_e2e_test.py.
#   publish_with_openssl.sh URL KEY.pem PUBLISHER SYMBOL PRICE
# Works for payloads whose strings need no JSON escaping (symbols, decimals, digits), which is
# every observation batch: the printf below then writes RFC 8785 canonical JSON (keys sorted).
set -euo pipefail
url=$1 key=$2 publisher=$3 symbol=$4 price=$5
type=application/vnd.plumbline.observations.v1+json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '{"observations":[{"observed_time":"%s","price":"%s","symbol":"%s"}],"publisher":"%s","sequence":%s}' \
  "$(date +%s%N)" "$price" "$symbol" "$publisher" "$(date +%s%6N)" >"$work/payload"
# PAE = "DSSEv1" SP len(type) SP type SP len(payload) SP payload
printf 'DSSEv1 %d %s %d ' ${#type} "$type" "$(wc -c <"$work/payload")" >"$work/pae"
cat "$work/payload" >>"$work/pae"
openssl pkeyutl -sign -rawin -inkey "$key" -in "$work/pae" -out "$work/sig"
keyid=$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
printf '{"payload":"%s","payloadType":"%s","signatures":[{"keyid":"%s","sig":"%s"}]}' \
  "$(base64 -w0 "$work/payload")" "$type" "$keyid" "$(base64 -w0 "$work/sig")" >"$work/body"
curl -sS -X POST -H 'Content-Type: application/json' --data-binary @"$work/body" "$url/v1/observations"
echo
