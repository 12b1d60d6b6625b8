#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_token (tests/fuzz/corpus/token/) from the
fixed test key token_key.pem: valid RS256 tokens the way TokenService issues
them (exp in 2100), and near misses (tampered signature or claims, alg none
and HS256, wrong or non-string kid, missing claims). Files starting with 'S'
are claims-mode inputs: the harness signs the JSON after the 'S' itself.
Needs python3-cryptography. Run: tests/fuzz/make_token_seeds.py"""
import base64, hashlib, json, os
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

here = os.path.dirname(os.path.abspath(__file__))
key = serialization.load_pem_private_key(open(os.path.join(here, "token_key.pem"), "rb").read(), None)
der = key.public_key().public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
kid = ":".join(b32[i:i + 4] for i in range(0, 48, 4))

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def token(header, claims, sign=True):
    h = b64(json.dumps(header, separators=(",", ":")).encode())
    p = b64(json.dumps(claims, separators=(",", ":")).encode())
    data = (h + "." + p).encode()
    sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256()) if sign else b""
    return h + "." + p + "." + b64(sig)

hdr = {"typ": "JWT", "alg": "RS256", "kid": kid}
claims = {"iss": "harbor-token-issuer", "sub": "admin", "aud": "harbor-registry",
          "exp": 4102444800, "nbf": 1700000000, "iat": 1700000000, "jti": "0123456789abcdef",
          "access": [{"type": "repository", "name": "library/nginx", "actions": ["pull", "push"]}]}
valid = token(hdr, claims)
seeds = {
    "valid": valid,
    "valid_no_access": token(hdr, dict(claims, access=[])),
    "valid_aud_array": token(hdr, dict(claims, aud=["x", "harbor-registry"])),
    "valid_float_dates": token(hdr, dict(claims, exp=4102444800.5, iat=1700000000.25)),
    "tampered_sig": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
    "tampered_claims": valid.split(".")[0] + "." + b64(json.dumps(dict(claims, sub="root")).encode()) + "." + valid.split(".")[2],
    "expired": token(hdr, dict(claims, exp=1000000000)),
    "wrong_issuer": token(hdr, dict(claims, iss="someone")),
    "wrong_kid": token(dict(hdr, kid="AAAA:BBBB"), claims),
    "alg_none": token(dict(hdr, alg="none"), claims, sign=False),
    "alg_hs256": token(dict(hdr, alg="HS256"), claims, sign=False),
    "crit": token(dict(hdr, crit=["exp"]), claims),
    "no_sub": token(hdr, {k: v for k, v in claims.items() if k != "sub"}),
    "two_dots": "a.b",
    "four_parts": valid + ".x",
}
claims_mode = {
    "claims_valid": claims,
    "claims_access_strings": dict(claims, access=["repository:x:pull"]),
    "claims_iat_string": dict(claims, iat="1700000000"),
    "claims_sub_number": dict(claims, sub=5),
    "claims_no_exp": {k: v for k, v in claims.items() if k != "exp"},
    "claims_actions_object": dict(claims, access=[{"type": "repository", "name": "a", "actions": {"x": 1}}]),
}
out = os.path.join(here, "corpus", "token")
os.makedirs(out, exist_ok=True)
for name, t in seeds.items():
    open(os.path.join(out, name), "w").write("T" + t)
for name, c in claims_mode.items():
    open(os.path.join(out, name), "w").write("S" + json.dumps(c, separators=(",", ":")))
# The first finding (a non-string kid threw out of TokenService::Verify)
# lives with the regressions.
reg = os.path.join(here, "regressions", "token")
os.makedirs(reg, exist_ok=True)
open(os.path.join(reg, "kid_number"), "w").write("T" + token(dict(hdr, kid=12), claims, sign=False))
print(kid)
