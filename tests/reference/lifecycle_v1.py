#!/usr/bin/env python3
"""Independent reference for tests/vectors/lifecycle-v1.txt, written from docs/derivation.md
on top of derive_v1.py: fingerprints (HMAC-SHA256 keyed by okm(32) of format "fingerprint"),
what a `gen=current keep=N` keyring writes at a current generation, and RSA search hints
(the step counts of the prime searches and their MAC). Reads the vectors on stdin, prints
`ok N` or the first mismatch. TEST ONLY."""
import hashlib, hmac, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import derive_v1 as d

def info(fmt, ident, gen):
    return b"keyseed/v1\0" + fmt.encode() + b"\0" + ident.encode() + b"\0" + str(gen).encode()

def fingerprint(seed, value):
    key = d.okm(seed, info("fingerprint", "", 0), 32)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]

def rotated(seed, spec, key, ident, current):
    words = spec.split()
    fmt, opts = words[0], dict(w.split("=", 1) for w in words[1:])
    assert opts.get("gen") == "current"
    join = opts.get("join")
    keyring = "{gen}" in key or join is not None
    if keyring:
        keep = int(opts.get("keep", "2"))
        gens = list(range(max(0, current - keep + 1), current + 1))
    else:
        gens = [current]
    value = lambda g: d.derive(seed, fmt, ident, g)
    if join is not None:
        vals = [value(g) for g in gens]
        if opts.get("order", "desc") == "desc":
            vals.reverse()
        return [f"{key}={join.join(vals)}"]
    if "{gen}" in key:
        return [f"{key.replace('{gen}', str(g))}={value(g)}" for g in gens]
    return [f"{key}={value(gens[0])}"]

def first_start_steps(s, bits):
    """The prime search of derive_v1.rsa_prime, returning (prime, steps from the first start)
    or (prime, None) when the first start ran out of range."""
    first = True
    while True:
        b = bytearray(d.take(s, bits // 8))
        b[0] |= 0xC0
        b[-1] |= 1
        start = p = int.from_bytes(b, "big")
        while p < 1 << bits:
            if p % 65537 != 1 and d.probable_prime(p):
                return p, ((p - start) // 2 if first else None)
            p += 2
        first = False

def rsa_hint(seed, fmt, ident, gen):
    bits = int(fmt.split(":")[1])
    i = info(fmt, ident, gen)
    s = d.stream(seed, i)
    p, jp = first_start_steps(s, bits // 2)
    q, jq = first_start_steps(s, bits // 2)
    assert p != q and jp is not None and jq is not None
    key = d.okm(seed, info("rsa-hint", "", 0), 32)
    msg = b"keyseed/v1 rsa-hint\0" + i + b"\0" + str(bits).encode() + b"\0" + f"{jp},{jq}".encode()
    return f"v1:{jp},{jq}:" + hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]

n = 0
for block in sys.stdin.read().split("\n\n"):
    lines = [l for l in block.splitlines() if not l.startswith("#")]
    v = dict(l.split(": ", 1) for l in lines if ": " in l)
    if "seed" not in v:
        continue
    seed = bytes.fromhex(v["seed"])
    pinned = [l for l in lines if l.startswith(("fingerprint: ", "value: ", "hint: "))]
    if v["kind"] == "fingerprint":
        got = ["fingerprint: " + fingerprint(seed, d.derive(seed, v["format"], v["id"], int(v["gen"])))]
    elif v["kind"] == "rotated":
        got = ["value: " + x for x in rotated(seed, v["spec"], v["key"], v["id"], int(v["current"]))]
    elif v["kind"] == "rsa-hint":
        got = ["hint: " + rsa_hint(seed, v["format"], v["id"], int(v["gen"]))]
    else:
        sys.exit(f"unknown kind {v['kind']}")
    if got != pinned:
        print(f"MISMATCH {v['kind']} {v.get('id')}\n want {pinned}\n got  {got}")
        sys.exit(1)
    n += 1
print(f"ok {n}")
