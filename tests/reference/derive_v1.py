#!/usr/bin/env python3
"""Independent reference implementation of keyseed derivation v1, written from
docs/derivation.md with Python `cryptography` (HKDF-SHA256, ChaCha20). It reads the vector
file on stdin and prints `ok N` or the first mismatch. TEST ONLY."""
import base64, sys, uuid
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand, HKDF
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
PASSWORD = ALNUM + b"-_.~!@#%^*+="

def okm(seed, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=b"keyseed/v1", info=info).derive(seed)

def stream(seed, info):
    key = okm(seed, info, 32)
    # cryptography's ChaCha20 nonce = 4-byte little-endian counter || 12-byte nonce: all zero.
    enc = Cipher(algorithms.ChaCha20(key, b"\0" * 16), mode=None).encryptor()
    while True:
        for b in enc.update(b"\0" * 64):
            yield b

def sample(s, alphabet, n):
    limit = 256 - 256 % len(alphabet)
    out = bytearray()
    while len(out) < n:
        b = next(s)
        if b < limit:
            out.append(alphabet[b % len(alphabet)])
    return out.decode()

def derive(seed, fmt, ident, gen):
    info = b"keyseed/v1\0" + fmt.encode() + b"\0" + ident.encode() + b"\0" + str(gen).encode()
    name, _, arg = fmt.partition(":")
    def raw(n):
        if n <= 8160:
            return okm(seed, info, n)
        s = stream(seed, info)
        return bytes(next(s) for _ in range(n))
    if name == "base64":
        return base64.b64encode(raw(int(arg))).decode()
    if name == "base64url":
        return base64.urlsafe_b64encode(raw(int(arg))).decode()
    if name == "hex":
        return raw(int(arg)).hex()
    if name == "fernet":
        return base64.urlsafe_b64encode(okm(seed, info, 32)).decode()
    if name == "uuid":
        b = bytearray(okm(seed, info, 16))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return str(uuid.UUID(bytes=bytes(b)))
    if name == "alnum":
        return sample(stream(seed, info), ALNUM, int(arg))
    if name == "password":
        s = stream(seed, info)
        while True:
            c = sample(s, PASSWORD, int(arg))
            if (any(x.islower() for x in c) and any(x.isupper() for x in c)
                    and any(x.isdigit() for x in c) and any(not x.isalnum() for x in c)):
                return c
    raise SystemExit(f"reference does not know format {fmt}")

def vectors(text):
    cur = {}
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                yield cur
            cur = {}
            continue
        k, _, v = line.partition(": ")
        cur[k] = v

n = 0
for v in vectors(sys.stdin.read()):
    got = derive(bytes.fromhex(v["seed"]), v["format"], v["id"], int(v["gen"]))
    if got != v["value"]:
        print(f"MISMATCH format={v['format']} id={v['id']} gen={v['gen']}\n want {v['value']}\n got  {got}")
        sys.exit(1)
    n += 1
print(f"ok {n}")
