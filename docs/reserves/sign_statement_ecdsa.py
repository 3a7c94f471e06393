#!/usr/bin/env python3
"""Signs a custodian statement with ECDSA P-256 under an X.509 certificate (docs/reserves.md).

Usage: sign_statement_ecdsa.py signer.key signer.crt statement.json > submission.json
statement.json must hold the RFC 8785 canonical bytes (no trailing newline).
Needs only the `cryptography` package (Debian: python3-cryptography).
"""
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
cert_pem = open(sys.argv[2]).read()
payload = open(sys.argv[3], "rb").read()
ptype = b"application/vnd.plumbline.custodian-statement.v1+json"
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
r, s = decode_dss_signature(key.sign(pae, ec.ECDSA(hashes.SHA256())))
sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # IEEE P1363 r||s: 64 bytes
spki = x509.load_pem_x509_certificate(cert_pem.encode()).public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
print(json.dumps({"certificate": cert_pem, "envelope": {
    "payloadType": ptype.decode(), "payload": base64.b64encode(payload).decode(),
    "signatures": [{"keyid": hashlib.sha256(spki).hexdigest(), "sig": base64.b64encode(sig).decode()}]}}))
