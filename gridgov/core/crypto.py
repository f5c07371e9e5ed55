"""Field encryption for personal data: AES-256-GCM by default, SM4-GCM where national cryptography
is required, plus a keyed blind index so an exact value can still be searched.

Stored form: ``g1$<alg>$<key id>$<base64(nonce ‖ ciphertext ‖ tag)>``. The key id lets old rows
be read after a key rotation; `gridgov rotate_field_keys` re-encrypts them under the active key.
The field's purpose (e.g. "resident.id_number") is bound as associated data, so a ciphertext
copied into another column does not decrypt.

Settings:
  FIELD_ENCRYPTION_KEYS      {key_id: base64 32-byte key}; the first key is the default
  FIELD_ENCRYPTION_KEY_ID    id of the active key for new writes
  FIELD_ENCRYPTION_ALGORITHM "aes-256-gcm" (default) or "sm4-gcm"
  FIELD_BLIND_INDEX_KEY      base64 key for the blind index (independent of the rotation)
"""

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "g1"
ALG_AES = "a256gcm"
ALG_SM4 = "sm4gcm"
_NONCE = 12
_TAG = 16


class DecryptionError(Exception):
    pass


@lru_cache(maxsize=32)
def _raw_key(key_id: str) -> bytes:
    keys = settings.FIELD_ENCRYPTION_KEYS
    if key_id not in keys:
        raise DecryptionError(f"unknown field key id {key_id!r}")
    key = base64.b64decode(keys[key_id])
    if len(key) != 32:
        raise ValueError(f"field key {key_id!r} must be 32 bytes")
    return key


@lru_cache(maxsize=32)
def _sm4_key(key_id: str) -> bytes:
    # SM4 takes 128-bit keys: derive one from the 256-bit key rather than truncate it.
    return HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"gridgov-sm4").derive(_raw_key(key_id))


@lru_cache(maxsize=32)
def _aes(key_id: str) -> AESGCM:
    return AESGCM(_raw_key(key_id))


def active_key_id() -> str:
    return settings.FIELD_ENCRYPTION_KEY_ID


def active_algorithm() -> str:
    return ALG_SM4 if settings.FIELD_ENCRYPTION_ALGORITHM.lower().startswith("sm4") else ALG_AES


def encrypt(plaintext: str, purpose: str, *, key_id: str | None = None, algorithm: str | None = None) -> str:
    key_id = key_id or active_key_id()
    algorithm = algorithm or active_algorithm()
    nonce = os.urandom(_NONCE)
    aad = purpose.encode()
    data = plaintext.encode()
    if algorithm == ALG_AES:
        sealed = _aes(key_id).encrypt(nonce, data, aad)
    elif algorithm == ALG_SM4:
        enc = Cipher(algorithms.SM4(_sm4_key(key_id)), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        sealed = enc.update(data) + enc.finalize() + enc.tag
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    return f"{PREFIX}${algorithm}${key_id}${base64.b64encode(nonce + sealed).decode()}"


def encryptor(purpose: str, *, key_id: str | None = None, algorithm: str | None = None) -> Callable[[str], str]:
    """`encrypt(value, purpose)` with the key and algorithm fixed, for bulk work such as imports:
    one cipher object and no settings lookups per value. The same stored form as `encrypt`."""
    key_id = key_id or active_key_id()
    algorithm = algorithm or active_algorithm()
    if algorithm != ALG_AES:
        return lambda plaintext: encrypt(plaintext, purpose, key_id=key_id, algorithm=algorithm)
    seal = _aes(key_id).encrypt
    aad = purpose.encode()
    head = f"{PREFIX}${algorithm}${key_id}$"
    urandom, b64encode = os.urandom, base64.b64encode

    def encrypt_one(plaintext: str) -> str:
        nonce = urandom(_NONCE)
        return head + b64encode(nonce + seal(nonce, plaintext.encode(), aad)).decode()

    return encrypt_one


def parse(token: str) -> tuple[str, str, bytes]:
    try:
        prefix, algorithm, key_id, payload = token.split("$", 3)
        if prefix != PREFIX:
            raise ValueError
        return algorithm, key_id, base64.b64decode(payload, validate=True)
    except (ValueError, TypeError):
        raise DecryptionError("not an encrypted value") from None


def decrypt(token: str, purpose: str) -> str:
    algorithm, key_id, blob = parse(token)
    nonce, sealed = blob[:_NONCE], blob[_NONCE:]
    aad = purpose.encode()
    try:
        if algorithm == ALG_AES:
            data = _aes(key_id).decrypt(nonce, sealed, aad)
        elif algorithm == ALG_SM4:
            dec = Cipher(algorithms.SM4(_sm4_key(key_id)), modes.GCM(nonce, sealed[-_TAG:])).decryptor()
            dec.authenticate_additional_data(aad)
            data = dec.update(sealed[:-_TAG]) + dec.finalize()
        else:
            raise DecryptionError(f"unknown algorithm {algorithm!r}")
    except InvalidTag:
        raise DecryptionError("ciphertext does not authenticate (wrong key, field or tampered)") from None
    return data.decode()


def needs_rotation(token: str) -> bool:
    algorithm, key_id, _ = parse(token)
    return key_id != active_key_id() or algorithm != active_algorithm()


@lru_cache(maxsize=1)
def _index_key() -> bytes:
    return base64.b64decode(settings.FIELD_BLIND_INDEX_KEY)


def blind_index(value: str, purpose: str) -> str:
    """HMAC-SHA256 of a normalised value: equal values give equal indexes, nothing else leaks."""
    normalised = value.strip().upper()
    return hmac.new(_index_key(), f"{purpose}\x00{normalised}".encode(), hashlib.sha256).hexdigest()


def blind_indexer(purpose: str) -> Callable[[str], str]:
    """`blind_index(value, purpose)` for bulk work: the HMAC is keyed and fed the purpose once,
    then copied per value (the same digest: HMAC input is a stream)."""
    keyed = hmac.new(_index_key(), f"{purpose}\x00".encode(), hashlib.sha256)
    copy = keyed.copy

    def index(value: str) -> str:
        h = copy()
        h.update(value.strip().upper().encode())
        return h.hexdigest()

    return index


def clear_caches() -> None:
    """For tests and the rotation command, after settings change."""
    _raw_key.cache_clear()
    _aes.cache_clear()
    _sm4_key.cache_clear()
    _index_key.cache_clear()
