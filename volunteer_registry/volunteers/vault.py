"""Encryption at rest and the keyed hash of ID numbers.

The key lives outside the database (environment or instance folder). Two subkeys are derived from it with HKDF:
one for AES-256-GCM encryption, one for the HMAC that makes ID numbers unique without storing them in clear.
"""
from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_VERSION = b"\x01"


def _subkey(purpose: bytes) -> bytes:
    master = current_app.config["ID_ENCRYPTION_KEY"].encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"volunteer-registry " + purpose).derive(master)


def encrypt_id_number(number: str, *, context: bytes = b"") -> bytes:
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(_subkey(b"id-number encryption")).encrypt(nonce, number.encode(), context)


def decrypt_id_number(blob: bytes, *, context: bytes = b"") -> str:
    if blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    nonce, ciphertext = blob[1:13], blob[13:]
    return AESGCM(_subkey(b"id-number encryption")).decrypt(nonce, ciphertext, context).decode()


def id_number_hash(id_type: str, number: str) -> str:
    """A keyed hash (HMAC-SHA256) of the document type and number: equal for one document, useless without the key."""
    message = f"{id_type}:{number}".encode()
    return hmac.new(_subkey(b"id-number index"), message, hashlib.sha256).hexdigest()


def volunteer_pseudonym(volunteer_id: int) -> str:
    """A stable, keyed reference to a volunteer for public data (the ledger's leaves): it names nobody without the
    key, and it stays valid when the person's details are erased."""
    return hmac.new(_subkey(b"volunteer pseudonym"), str(volunteer_id).encode(), hashlib.sha256).hexdigest()[:32]
