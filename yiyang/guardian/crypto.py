"""Device secrets (encrypted at rest) and message signatures (HMAC-SHA256 over canonical JSON)."""

import hashlib
import hmac
import json
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = b"\x01"


def _key() -> bytes:
    # A dedicated setting when present; otherwise derived from SECRET_KEY (which production refuses to leave at its demo value).
    material = getattr(settings, "GUARDIAN_DEVICE_KEY", "") or settings.SECRET_KEY
    return hashlib.sha256(b"yiyang-guardian-device-secret:" + material.encode()).digest()


def new_device_secret() -> str:
    return secrets.token_urlsafe(24)


def encrypt_secret(plain: str) -> bytes:
    nonce = os.urandom(12)
    return VERSION + nonce + AESGCM(_key()).encrypt(nonce, plain.encode(), b"guardian-device")


def decrypt_secret(blob: bytes | memoryview) -> str:
    blob = bytes(blob)
    if blob[:1] != VERSION:
        raise ValueError("unknown secret version")
    return AESGCM(_key()).decrypt(blob[1:13], blob[13:], b"guardian-device").decode()


def canonical(payload: dict) -> bytes:
    """The signed bytes: the payload without "sig", keys sorted, no spaces, UTF-8."""
    body = {k: v for k, v in payload.items() if k != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(payload: dict, secret: str) -> str:
    return hmac.new(secret.encode(), canonical(payload), hashlib.sha256).hexdigest()


def signature_valid(payload: dict, secret: str) -> bool:
    given = payload.get("sig")
    return isinstance(given, str) and hmac.compare_digest(given, sign(payload, secret))
