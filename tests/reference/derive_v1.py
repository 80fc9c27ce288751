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

SMALL_PRIMES = [p for p in range(3, 20000, 2) if all(p % q for q in range(3, int(p ** 0.5) + 1, 2))]

def probable_prime(n):
    if any(n % p == 0 for p in SMALL_PRIMES if p < n):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2; r += 1
    for a in [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True

def take(s, n):
    return bytes(next(s) for _ in range(n))

def rsa_prime(s, bits):
    while True:
        b = bytearray(take(s, bits // 8))
        b[0] |= 0xC0
        b[-1] |= 1
        p = int.from_bytes(b, "big")
        while p < 1 << bits:
            if p % 65537 != 1 and probable_prime(p):
                return p
            p += 2

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

def bech32_encode(hrp, data):
    def polymod(values):
        gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
        chk = 1
        for v in values:
            b = chk >> 25
            chk = (chk & 0x1ffffff) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if ((b >> i) & 1) else 0
        return chk
    acc, bits, five = 0, 0, []
    for byte in data:
        acc = (acc << 8) | byte; bits += 8
        while bits >= 5:
            bits -= 5; five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    hv = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(hv + five + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return (hrp + "1" + "".join(BECH32[d] for d in five + chk)).upper()

def check_key(seed, fmt, ident, gen, value):
    """Derives the key material per docs/derivation.md and checks the PEM keyseed wrote
    holds exactly it (the bytes themselves are pinned by the Rust vector test)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, ec, rsa
    name = fmt.split()[0]
    if name.startswith("ca-key:"):
        # The key derived CA ID signs with: the ecdsa-p256 key of id ca/ID, generation 0.
        name, ident, gen = "ecdsa-p256", "ca/" + name.split(":", 1)[1], 0
    info = b"keyseed/v1\0" + name.encode() + b"\0" + ident.encode() + b"\0" + str(gen).encode()
    s = stream(seed, info)
    if name == "age":
        return bech32_encode("age-secret-key-", take(s, 32)) == value
    pem_text = base64.b64decode(value) if "encoding=base64" in fmt else value.encode()
    key = serialization.load_pem_private_key(pem_text, password=None)
    if name == "ed25519":
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        return isinstance(key, ed25519.Ed25519PrivateKey) and raw == take(s, 32)
    if name == "ecdsa-p256":
        while True:
            d = int.from_bytes(take(s, 32), "big")
            if 0 < d < P256_N:
                return isinstance(key, ec.EllipticCurvePrivateKey) and key.private_numbers().private_value == d
    if name.startswith("rsa:"):
        bits = int(name.split(":")[1])
        p = rsa_prime(s, bits // 2)
        q = rsa_prime(s, bits // 2)
        while q == p:
            q = rsa_prime(s, bits // 2)
        n = key.private_numbers()
        lam = (p - 1) * (q - 1) // __import__("math").gcd(p - 1, q - 1)
        return {n.p, n.q} == {p, q} and n.d == pow(65537, -1, lam) and n.public_numbers.e == 65537
    raise SystemExit(f"reference does not know format {fmt}")

BCRYPT64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

def bcrypt64(b):
    """bcrypt's own radix-64 (no padding): 16 salt bytes become 22 characters."""
    bits = int.from_bytes(b, "big") << 4  # 128 bits + 4 zero bits = 22 six-bit groups
    return "".join(BCRYPT64[(bits >> (6 * (21 - i))) & 63] for i in range(22))

def finish(seed, fmt, ident, gen, value):
    """Output options of docs/derivation.md: pad=false, hash=bcrypt [cost=N]."""
    words = fmt.split()
    opts = dict(w.split("=", 1) for w in words[1:])
    if opts.get("pad") == "false":
        value = value.rstrip("=")
    if opts.get("hash") == "bcrypt":
        import bcrypt
        cost = int(opts.get("cost", "10"))
        info = b"keyseed/v1\0bcrypt-salt:" + words[0].encode() + b"\0" + ident.encode() + b"\0" + str(gen).encode()
        salt = okm(seed, info, 16)
        h = bcrypt.hashpw(value.encode(), f"$2y${cost:02d}${bcrypt64(salt)}".encode()).decode()
        assert bcrypt.checkpw(value.encode(), h.encode())
        value = h
    return value

def derive(seed, fmt, ident, gen):
    value = derive_plain(seed, fmt.split()[0], ident, gen)
    return finish(seed, fmt, ident, gen, value)

def derive_plain(seed, fmt, ident, gen):
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

def main():
    n = 0
    for v in vectors(sys.stdin.read()):
        if v["format"].split()[0] in ("ed25519", "ecdsa-p256", "age") or v["format"].startswith(("rsa:", "ca-key:")):
            if not check_key(bytes.fromhex(v["seed"]), v["format"], v["id"], int(v["gen"]), v["value"]):
                print(f"MISMATCH format={v['format']} id={v['id']} gen={v['gen']}")
                sys.exit(1)
            n += 1
            continue
        got = derive(bytes.fromhex(v["seed"]), v["format"], v["id"], int(v["gen"]))
        if got != v["value"]:
            print(f"MISMATCH format={v['format']} id={v['id']} gen={v['gen']}\n want {v['value']}\n got  {got}")
            sys.exit(1)
        n += 1
    print(f"ok {n}")

if __name__ == "__main__":
    main()
