#!/usr/bin/env python3
"""Independent check of gmfield's envelope, blind-index and key-directory vectors.

Implements docs/format.md with Python's `cryptography` package (OpenSSL), the
`openssl` command line for SM2 (which Python's package does not expose), and
the standard library only; it shares no code with the Go implementation.

Usage: verify_vectors.py format-vectors.json index-vectors.json [format-vectors-v1.json negative-vectors.json]
       verify_vectors.py --keyring keyring-vector.json
"""
import base64
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import unicodedata

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WHITE_SPACE = set(
    [chr(c) for c in range(0x09, 0x0E)]
    + ["\u0020", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)
B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
KEY_ID = re.compile(r"[a-z0-9][a-z0-9._:-]{0,63}")
# format.md section 8.1.
NAME = r"[a-z_][a-z0-9_]{0,62}"
TENANT = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}"
QTABLE = rf"{NAME}(?:\.{NAME})?"
KEYSPACE = re.compile(rf"{QTABLE}\.{NAME}|{QTABLE}\.\*|tenant/{TENANT}/{QTABLE}\.{NAME}")
GOOD_KEYSPACES = ["citizen.phone", "public.citizen.phone", "citizen.*", "public.citizen.*", "tenant/acme/citizen.phone",
                  "tenant/a.b-c_D/public.citizen.phone", "_t._c"]
BAD_KEYSPACES = ["citizen", "a.b.c.d", "Citizen.phone", "citizen.*.x", "tenant/acme/citizen.*", "tenant//t.c", "tenant/.a/t.c",
                 "gmfield:index-root", "t.c/", "t.1c", "t." + "c" * 64, "tenant/" + "a" * 65 + "/t.c"]


class Malformed(Exception):
    pass


class UnsupportedVersion(Exception):
    pass


class KeyMismatch(Exception):
    pass


class Authentication(Exception):
    pass


ERRORS = {"malformed": Malformed, "unsupported-version": UnsupportedVersion, "key-mismatch": KeyMismatch, "authentication": Authentication}


def lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def decode_text(text: str) -> bytes:
    """Section 2: prefix, canonical base64, prefix agrees with the version byte."""
    prefix, body = text[:5], text[5:]
    if prefix not in ("gmf1:", "gmf2:"):
        raise Malformed("prefix")
    if len(body) % 4 != 0 or not B64.fullmatch(body):
        raise Malformed("not canonical base64")
    env = base64.b64decode(body, validate=True)
    if base64.b64encode(env).decode() != body:
        raise Malformed("non-zero padding bits")
    if env and prefix != "gmf%d:" % env[0]:
        raise Malformed("prefix does not match the version byte")
    return env


def parse(env: bytes):
    """Section 4 step 2."""
    if len(env) < 1:
        raise Malformed("empty")
    if env[0] not in (1, 2):
        raise UnsupportedVersion(env[0])
    if len(env) < 3 + 1 + 12 + 16:
        raise Malformed("too short")
    if env[1] != 0x01:
        raise Malformed("algorithm")
    n = env[2]
    if not 1 <= n <= 64 or len(env) < 3 + n + 12 + 16:
        raise Malformed("key id length")
    key_id = env[3 : 3 + n].decode("ascii", errors="replace")
    if not KEY_ID.fullmatch(key_id) or key_id.startswith("index-root"):
        raise Malformed("key id")
    header = env[: 3 + n]
    nonce = env[3 + n : 15 + n]
    body = env[15 + n :]
    return env[0], header, key_id, nonce, body[:-16], body[-16:]


def aad(version, header, keyspace, schema, table, column, row_key) -> bytes:
    """Section 3."""
    e = lambda s: s.encode("utf-8")
    if version == 1:
        return b"gmfield:aad:v1" + header + lp(e(table)) + lp(e(column)) + lp(e(row_key))
    return b"gmfield:aad:v2" + header + lp(e(keyspace)) + lp(e(schema)) + lp(e(table)) + lp(e(column)) + lp(e(row_key))


def sm4_gcm_open(key, nonce, ad, ct, tag) -> bytes:
    d = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    d.authenticate_additional_data(ad)
    try:
        return d.update(ct) + d.finalize()
    except Exception as exc:  # InvalidTag
        raise Authentication(str(exc))


def sm4_gcm_seal(key, nonce, ad, pt):
    e = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    e.authenticate_additional_data(ad)
    ct = e.update(pt) + e.finalize()
    return ct, e.tag


def open_value(env: bytes, dek: bytes, dek_id: str, dek_keyspace: str, keyspace, schema, table, column, row_key) -> bytes:
    """Section 4, steps 2 to 6, with the DEK the key ring found under dek_id."""
    version, header, key_id, nonce, ct, tag = parse(env)
    if key_id != dek_id:
        raise AssertionError("the reader looked up another key")
    if dek_keyspace != keyspace:
        raise KeyMismatch(f"DEK of {dek_keyspace!r} read at {keyspace!r}")
    if version == 1 and schema != "":
        raise UnsupportedVersion("version 1 opens only where no schema is declared")
    return sm4_gcm_open(dek, nonce, aad(version, header, keyspace, schema, table, column, row_key), ct, tag)


def check_format(path, version):
    cases = json.load(open(path, encoding="utf-8"))
    for i, c in enumerate(cases):
        key = bytes.fromhex(c["dek_hex"])
        env = decode_text(c["text"])
        assert c["text"].startswith("gmf%d:" % version), i
        assert env.hex() == c["binary_hex"], f"case {i}: text and binary differ"
        v, header, key_id, nonce, ct, tag = parse(env)
        assert v == version and key_id == c["dek_id"], i
        assert nonce.hex() == c["nonce_hex"], i
        place = (c["keyspace"], c["schema"], c["table"], c["column"], c["row_key"])
        assert aad(v, header, *place).hex() == c["aad_hex"], f"case {i}: AAD"
        pt = open_value(env, key, c["dek_id"], c["keyspace"], *place)
        assert pt.decode("utf-8") == c["plaintext"], f"case {i}: plaintext"
        # Seal again from the inputs and compare every byte.
        hdr = bytes([version, 1, len(c["dek_id"])]) + c["dek_id"].encode("ascii")
        ct2, tag2 = sm4_gcm_seal(key, bytes.fromhex(c["nonce_hex"]), aad(version, hdr, *place), c["plaintext"].encode())
        again = hdr + bytes.fromhex(c["nonce_hex"]) + ct2 + tag2
        assert again.hex() == c["binary_hex"], f"case {i}: reseal"
        # A wrong column must fail.
        try:
            open_value(env, key, c["dek_id"], c["keyspace"], c["keyspace"], c["schema"], c["table"], c["column"] + "x", c["row_key"])
        except Authentication:
            pass
        else:
            raise AssertionError(f"case {i}: opened under the wrong column")
    return len(cases)


def check_negative(path):
    cases = json.load(open(path, encoding="utf-8"))
    for i, c in enumerate(cases):
        want = ERRORS[c["error"]]
        try:
            env = bytes.fromhex(c["input_hex"]) if c.get("input_hex") else decode_text(c["input"])
            open_value(env, bytes.fromhex(c["dek_hex"]), c["dek_id"], c["dek_keyspace"], c["keyspace"], c["schema"], c["table"], c["column"], c["row_key"])
        except want:
            continue
        except (Malformed, UnsupportedVersion, KeyMismatch, Authentication) as exc:
            raise AssertionError(f"negative case {i} ({c['comment']}): {type(exc).__name__}, want {c['error']}")
        raise AssertionError(f"negative case {i} ({c['comment']}): opened")
    return len(cases)


UNICODE_DATA = os.environ.get("UNICODE_DATA", "/usr/share/unicode/UnicodeData.txt")
_SIMPLE = None


def simple_case():
    """Simple case mappings (UnicodeData.txt fields 12 and 13), as format.md
    section 5 says: Python's str.lower/upper apply the full mappings
    (SpecialCasing.txt), which differ. (NFKC comes from Python's own
    unicodedata, whose version may be older than 15.0: the vectors use no
    character added since.)"""
    global _SIMPLE
    if _SIMPLE is None:
        if not os.path.exists(UNICODE_DATA):
            print(f"skip: {UNICODE_DATA} not found (Debian: apt-get install unicode-data)")
            sys.exit(3)
        upper, lower = {}, {}
        for line in open(UNICODE_DATA, encoding="ascii"):
            f = line.rstrip("\n").split(";")
            if f[12]:
                upper[chr(int(f[0], 16))] = chr(int(f[12], 16))
            if f[13]:
                lower[chr(int(f[0], 16))] = chr(int(f[13], 16))
        _SIMPLE = (upper, lower)
    return _SIMPLE


def normalize(transform: str, value: str) -> str:
    v = unicodedata.normalize("NFKC", value)
    while v and v[0] in WHITE_SPACE:
        v = v[1:]
    while v and v[-1] in WHITE_SPACE:
        v = v[:-1]
    if transform == "full":
        return v
    if transform == "lower":
        return "".join(simple_case()[1].get(ch, ch) for ch in v)
    if transform == "upper":
        return "".join(simple_case()[0].get(ch, ch) for ch in v)
    digits = "".join(ch for ch in v if "0" <= ch <= "9")
    if transform == "digits":
        return digits
    if transform == "last4":
        return digits[-4:]
    raise ValueError(transform)


def check_index(path):
    cases = json.load(open(path, encoding="utf-8"))
    for i, c in enumerate(cases):
        info = b"gmfield:bidx:v1" + lp(c["table"].encode()) + lp(c["column"].encode()) + lp(c["transform"].encode())
        assert info.hex() == c["info_hex"], f"index case {i}: info"
        key = HKDF(algorithm=hashes.SM3(), length=32, salt=None, info=info).derive(bytes.fromhex(c["root_hex"]))
        assert key.hex() == c["key_hex"], f"index case {i}: derived key"
        n = normalize(c["transform"], c["value"])
        assert n == c["normalized"], f"index case {i}: normalized {n!r}"
        m = hmac.HMAC(key, hashes.SM3())
        m.update(n.encode("utf-8"))
        got = m.finalize()[: c["size"]].hex()
        assert got == c["index_hex"], f"index case {i}: index"
    return len(cases)


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm2_decrypt(private_pem: str, ciphertext: bytes) -> bytes:
    """GM/T 0009 ASN.1 SM2 decryption with the openssl command line."""
    with tempfile.TemporaryDirectory() as d:
        key, ct = os.path.join(d, "k.pem"), os.path.join(d, "c.bin")
        open(key, "w").write(private_pem)
        open(ct, "wb").write(ciphertext)
        return subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", key, "-in", ct], check=True, capture_output=True).stdout


def sm2_verify(public_pem: str, msg: bytes, sig: bytes) -> bool:
    """SM2 signature check (SM3, default user id) with the openssl command line."""
    with tempfile.TemporaryDirectory() as d:
        key, m, sg = os.path.join(d, "k.pem"), os.path.join(d, "m.bin"), os.path.join(d, "s.bin")
        open(key, "w").write(public_pem)
        open(m, "wb").write(msg)
        open(sg, "wb").write(sig)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-digest", "sm3",
                            "-pkeyopt", "distid:1234567812345678", "-in", m, "-sigfile", sg],
                           capture_output=True)
        return r.returncode == 0


def check_keyring(path):
    """Unwrap a DEK from a key-directory record (format.md section 8) with
    the KEK, then open a value sealed with it."""
    v = json.load(open(path, encoding="utf-8"))
    rec = v["record"]
    assert KEY_ID.fullmatch(rec["id"]) and ":" not in rec["id"], "record id"
    for ks in GOOD_KEYSPACES:
        assert KEYSPACE.fullmatch(ks), f"grammar refuses {ks}"
    for ks in BAD_KEYSPACES:
        assert not KEYSPACE.fullmatch(ks), f"grammar accepts {ks}"
    assert KEYSPACE.fullmatch(rec["keyspace"]), "keyspace grammar"
    assert not rec["id"].startswith("index-root"), "a DEK id is not reserved"
    ad = b"gmfield:dek:v1" + lp(rec["id"].encode()) + lp(rec["keyspace"].encode())
    assert ad.hex() == v["ad_hex"], "DEK associated data"
    wrapped = base64.b64decode(rec["wrapped"], validate=True)
    if "master_key_hex" in v:
        assert rec["kek"].startswith("sm4:")
        master = bytes.fromhex(v["master_key_hex"])
        assert wrapped[0] == 0x01, "wrap version"
        dek = sm4_gcm_open(master, wrapped[1:13], ad, wrapped[13:-16], wrapped[-16:])
        fp = sm3(b"gmfield:kek-fingerprint:sm4:" + master)[:8].hex()
    else:
        assert rec["kek"].startswith("sm2:")
        msg = sm2_decrypt(v["private_key_pem"], wrapped)
        assert msg[:32] == sm3(ad), "SM3(AD) prefix"
        dek = msg[32:]
        fp = sm3(b"gmfield:kek-fingerprint:sm2:" + v["public_key_pem"].encode())[:8].hex()
        # Section 8.5: the record is signed by the private key.
        signed = b"gmfield:record:v1" + lp(rec["id"].encode()) + lp(rec["keyspace"].encode()) + lp(wrapped)
        sig = base64.b64decode(rec["sig"], validate=True)
        assert sm2_verify(v["public_key_pem"], signed, sig), "record signature"
        assert not sm2_verify(v["public_key_pem"], signed[:-1] + bytes([signed[-1] ^ 1]), sig), "a changed record still verified"
        other = b"gmfield:record:v1" + lp(rec["id"].encode()) + lp(b"citizen.phone") + lp(wrapped)
        assert not sm2_verify(v["public_key_pem"], other, sig), "the signature does not bind the keyspace"
    assert rec["kek"] == rec["kek"][:4] + fp, "KEK fingerprint"
    assert len(dek) == 16, "DEK length"
    assert dek.hex() == v["dek_hex"], "DEK"
    env = decode_text(v["text"])
    _, _, key_id, _, _, _ = parse(env)
    assert key_id == rec["id"], "the value names the DEK"
    pt = open_value(env, dek, rec["id"], rec["keyspace"], v["keyspace"], v["schema"], v["table"], v["column"], v["row_key"])
    assert pt.decode() == v["plaintext"], "plaintext"
    try:
        open_value(env, dek, rec["id"], rec["keyspace"], "other.col", "", "other", "col", v["row_key"])
    except KeyMismatch:
        pass
    else:
        raise AssertionError("a DEK opened a value of another keyspace")


if __name__ == "__main__":
    if sys.argv[1] == "--keyring":
        check_keyring(sys.argv[2])
        print("keyring vector verified")
        sys.exit(0)
    nf = check_format(sys.argv[1], 2)
    ni = check_index(sys.argv[2])
    n1 = check_format(sys.argv[3], 1) if len(sys.argv) > 3 else 0
    nn = check_negative(sys.argv[4]) if len(sys.argv) > 4 else 0
    print(f"all vectors verified: {nf} version 2 envelopes, {n1} version 1 envelopes, {nn} negative cases, {ni} blind indexes")
