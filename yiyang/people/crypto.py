"""Field encryption for personal data (ID numbers, phones): authenticated, versioned, searchable by a keyed hash.

Stored form: ``v<version>:<alg>:<base64(nonce | ciphertext | tag)>`` where alg is ``a`` (AES-256-GCM)
or ``s`` (SM4-GCM, 国密). The token names its key version and cipher, so keys rotate and the
configured cipher can change: old rows decrypt with their own key and cipher until `yiyang
rotate_keys` re-encrypts them under the current ones. The associated data binds a ciphertext to its
field, so an ID ciphertext copied into the phone column does not decrypt.

Keys: settings.FIELD_KEYS = "1:<base64 32 bytes>,2:<base64 32 bytes>", settings.FIELD_KEY_VERSION
selects the one that encrypts. The lookup hash (blind index) is an HMAC-SHA256 under its own key,
settings.BLIND_INDEX_KEY, so the encryption keys can rotate without rebuilding the indexes.
"""

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from yiyang.conf import DEMO_PREFIX

CIPHERS = {"aes-gcm": "a", "sm4-gcm": "s"}
NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(Exception):
    """A stored value could not be decrypted (wrong key, tampered, unknown version). Carries no plaintext."""


@lru_cache(maxsize=8)
def _parse_keys(spec: str, current: int, production: bool) -> dict[int, bytes]:
    if spec.startswith(DEMO_PREFIX):
        if production:
            raise ImproperlyConfigured("YIYANG_FIELD_KEYS must be a real key list in production")
        # Demo only: a deterministic key derived from the placeholder, so a demo database stays readable across restarts.
        return {current: hashlib.sha256(b"yiyang-demo-field-key:" + spec.encode()).digest()}
    keys: dict[int, bytes] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        version, _, encoded = part.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
            number = int(version)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured("YIYANG_FIELD_KEYS must be 'version:base64key,...'") from exc
        if len(key) not in (16, 32):
            raise ImproperlyConfigured(f"field key version {number} must be 16 or 32 bytes")
        keys[number] = key
    if current not in keys:
        raise ImproperlyConfigured(f"YIYANG_FIELD_KEY_VERSION={current} has no key in YIYANG_FIELD_KEYS")
    return keys


def field_keys() -> dict[int, bytes]:
    return _parse_keys(settings.FIELD_KEYS, settings.FIELD_KEY_VERSION, getattr(settings, "PRODUCTION", False))


def current_version() -> int:
    return settings.FIELD_KEY_VERSION


def current_cipher() -> str:
    name = settings.FIELD_CIPHER.lower()
    if name not in CIPHERS:
        raise ImproperlyConfigured(f"YIYANG_FIELD_CIPHER must be one of {', '.join(CIPHERS)}")
    return CIPHERS[name]


def _sm4_key(key: bytes) -> bytes:
    # SM4 has a 128-bit key: a 32-byte key is reduced by a domain-separated HMAC-SHA256, not truncated.
    return key if len(key) == 16 else hmac.new(key, b"yiyang-sm4-gcm", hashlib.sha256).digest()[:16]


def _encrypt(alg: str, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    if alg == "a":
        return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)
    encryptor = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + body + encryptor.tag


def _decrypt(alg: str, key: bytes, blob: bytes, aad: bytes) -> bytes:
    nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    if alg == "a":
        return AESGCM(key).decrypt(nonce, body, aad)
    if alg == "s":
        ciphertext, tag = body[:-TAG_BYTES], body[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(ciphertext) + decryptor.finalize()
    raise DecryptionError("unknown cipher")


def encrypt(plaintext: str, *, field: str) -> str:
    """Encrypt under the current key version and cipher. Empty stays empty."""
    if not plaintext:
        return ""
    version = current_version()
    alg = current_cipher()
    blob = _encrypt(alg, field_keys()[version], plaintext.encode(), field.encode())
    return f"v{version}:{alg}:{base64.b64encode(blob).decode()}"


def token_version(token: str) -> tuple[int, str] | None:
    try:
        version, alg, _ = token.split(":", 2)
        return int(version.removeprefix("v")), alg
    except ValueError:
        return None


def is_current(token: str) -> bool:
    return not token or token_version(token) == (current_version(), current_cipher())


def decrypt(token: str, *, field: str) -> str:
    if not token:
        return ""
    parsed = token_version(token)
    if parsed is None:
        raise DecryptionError("malformed token")
    version, alg = parsed
    key = field_keys().get(version)
    if key is None:
        raise DecryptionError(f"no key for version {version}")
    try:
        blob = base64.b64decode(token.split(":", 2)[2])
        return _decrypt(alg, key, blob, field.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("authentication failed") from exc


def reencrypt(token: str, *, field: str) -> str:
    return token if is_current(token) else encrypt(decrypt(token, field=field), field=field)


def blind_index(value: str, *, field: str) -> str:
    """Keyed hash for exact lookups: equal inputs give equal hashes, nothing else is learnt."""
    key = settings.BLIND_INDEX_KEY.encode()
    return hmac.new(key, field.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()


# Masked display ------------------------------------------------------------


def mask_id_number(number: str) -> str:
    """3311**********123X: area prefix and the last four, enough to tell two people apart on a screen."""
    if not number:
        return ""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) <= 7:
        return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
