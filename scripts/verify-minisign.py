#!/usr/bin/env python3
"""Verifies a Tauri updater signature (minisign, Ed25519) against a Tauri updater public key, as the app does.

Usage: verify-minisign.py PUBKEY FILE SIGFILE   (PUBKEY and SIGFILE's content are Tauri's base64 of minisign text)
Exit 0 when FILE is signed by PUBKEY's key (signature and trusted comment), 1 otherwise.
"""
import base64
import hashlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def lines(b64: str) -> list[str]:
    return base64.b64decode(b64.strip()).decode().splitlines()


def main(pubkey_b64: str, path: str, sig_path: str) -> int:
    pk = base64.b64decode(lines(pubkey_b64)[1])
    if len(pk) != 42 or pk[:2] != b"Ed":
        print("not a minisign public key", file=sys.stderr)
        return 1
    sig_lines = lines(open(sig_path).read())
    sig = base64.b64decode(sig_lines[1])
    trusted = sig_lines[2].removeprefix("trusted comment: ").encode()
    global_sig = base64.b64decode(sig_lines[3])
    if sig[2:10] != pk[2:10]:
        print("signed by another key (key ids differ)", file=sys.stderr)
        return 1
    data = open(path, "rb").read()
    message = hashlib.blake2b(data, digest_size=64).digest() if sig[:2] == b"ED" else data
    key = Ed25519PublicKey.from_public_bytes(pk[10:])
    try:
        key.verify(sig[10:], message)
        key.verify(global_sig, sig[10:] + trusted)
    except InvalidSignature:
        print("the signature does not verify", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
