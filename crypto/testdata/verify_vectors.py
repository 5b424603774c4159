#!/usr/bin/env python3
"""Independent check of gmfield's envelope and blind-index vectors.

Implements docs/format.md with Python's `cryptography` package (OpenSSL) and
the standard library only; it shares no code with the Go implementation.
Usage: verify_vectors.py format-vectors.json index-vectors.json
       verify_vectors.py --keyring keyring-vector.json
"""
import base64
import json
import struct
import sys
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


def lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def parse(env: bytes):
    assert env[0] == 0x01, "version"
    assert env[1] == 0x01, "algorithm SM4-GCM"
    n = env[2]
    assert 1 <= n <= 64
    header = env[: 3 + n]
    key_id = env[3 : 3 + n].decode("ascii")
    nonce = env[3 + n : 15 + n]
    body = env[15 + n :]
    assert len(body) >= 16
    return header, key_id, nonce, body[:-16], body[-16:]


def aad(header: bytes, table: str, column: str, row_key: str) -> bytes:
    return (
        b"gmfield:aad:v1"
        + header
        + lp(table.encode())
        + lp(column.encode())
        + lp(row_key.encode())
    )


def sm4_gcm_open(key, nonce, ad, ct, tag) -> bytes:
    d = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    d.authenticate_additional_data(ad)
    return d.update(ct) + d.finalize()


def sm4_gcm_seal(key, nonce, ad, pt):
    e = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    e.authenticate_additional_data(ad)
    ct = e.update(pt) + e.finalize()
    return ct, e.tag


def check_format(path):
    cases = json.load(open(path, encoding="utf-8"))
    for i, c in enumerate(cases):
        key = bytes.fromhex(c["dek_hex"])
        text = c["text"]
        assert text.startswith("gmf1:"), i
        env = base64.b64decode(text[5:], validate=True)
        assert env.hex() == c["binary_hex"], f"case {i}: text and binary differ"
        header, key_id, nonce, ct, tag = parse(env)
        assert key_id == c["dek_id"], i
        assert nonce.hex() == c["nonce_hex"], i
        ad = aad(header, c["table"], c["column"], c["row_key"])
        assert ad.hex() == c["aad_hex"], f"case {i}: AAD"
        pt = sm4_gcm_open(key, nonce, ad, ct, tag)
        assert pt.decode("utf-8") == c["plaintext"], f"case {i}: plaintext"
        # Seal again from the inputs and compare every byte.
        hdr = bytes([1, 1, len(c["dek_id"])]) + c["dek_id"].encode("ascii")
        ct2, tag2 = sm4_gcm_seal(key, bytes.fromhex(c["nonce_hex"]), aad(hdr, c["table"], c["column"], c["row_key"]), c["plaintext"].encode())
        again = hdr + bytes.fromhex(c["nonce_hex"]) + ct2 + tag2
        assert again.hex() == c["binary_hex"], f"case {i}: reseal"
        # A wrong column must fail.
        try:
            sm4_gcm_open(key, nonce, aad(header, c["table"], c["column"] + "x", c["row_key"]), ct, tag)
        except Exception:
            pass
        else:
            raise AssertionError(f"case {i}: opened under the wrong column")
    return len(cases)


def normalize(transform: str, value: str) -> str:
    v = unicodedata.normalize("NFKC", value)
    while v and v[0] in WHITE_SPACE:
        v = v[1:]
    while v and v[-1] in WHITE_SPACE:
        v = v[:-1]
    if transform == "full":
        return v
    if transform == "lower":
        return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in v)
    if transform == "upper":
        return "".join(ch.upper() if len(ch.upper()) == 1 else ch for ch in v)
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


def check_keyring(path):
    """Unwrap a DEK from a key-directory record with the SM4 master key
    (format.md section 8), then open a value sealed with it."""
    v = json.load(open(path, encoding="utf-8"))
    rec = v["record"]
    master = bytes.fromhex(v["master_key_hex"])
    ad = b"gmfield:dek:v1" + lp(rec["id"].encode()) + lp(rec["keyspace"].encode())
    assert ad.hex() == v["ad_hex"], "DEK associated data"
    wrapped = base64.b64decode(rec["wrapped"], validate=True)
    assert wrapped[0] == 0x01, "wrap version"
    dek = sm4_gcm_open(master, wrapped[1:13], ad, wrapped[13:-16], wrapped[-16:])
    assert dek.hex() == v["dek_hex"], "DEK"
    env = base64.b64decode(v["text"][5:], validate=True)
    header, key_id, nonce, ct, tag = parse(env)
    assert key_id == rec["id"], "the value names the DEK"
    pt = sm4_gcm_open(dek, nonce, aad(header, v["table"], v["column"], v["row_key"]), ct, tag)
    assert pt.decode() == v["plaintext"], "plaintext"


if __name__ == "__main__":
    if sys.argv[1] == "--keyring":
        check_keyring(sys.argv[2])
        print("keyring vector verified")
        sys.exit(0)
    nf = check_format(sys.argv[1])
    ni = check_index(sys.argv[2])
    print(f"all vectors verified: {nf} envelopes, {ni} blind indexes")
