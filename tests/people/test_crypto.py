import base64

import pytest
from django.core.exceptions import ImproperlyConfigured

from yiyang.people import crypto

KEY1 = base64.b64encode(b"k" * 32).decode()
KEY2 = base64.b64encode(b"q" * 32).decode()


@pytest.fixture(autouse=True)
def _keys(settings):
    crypto._parse_keys.cache_clear()
    settings.FIELD_KEYS = f"1:{KEY1},2:{KEY2}"
    settings.FIELD_KEY_VERSION = 1
    settings.FIELD_CIPHER = "aes-gcm"
    yield
    crypto._parse_keys.cache_clear()


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_round_trip_and_token_names_version_and_cipher(settings, cipher):
    settings.FIELD_CIPHER = cipher
    token = crypto.encrypt("33110219450517123X", field="f")
    assert token.startswith("v1:" + crypto.CIPHERS[cipher] + ":")
    assert "33110219450517123X" not in token
    assert crypto.decrypt(token, field="f") == "33110219450517123X"
    # A fresh nonce each time: equal inputs give different ciphertexts.
    assert crypto.encrypt("33110219450517123X", field="f") != token


def test_ciphertext_is_bound_to_its_field_and_tamper_evident():
    token = crypto.encrypt("13905781234", field="phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, field="id")
    raw = bytearray(base64.b64decode(token.split(":", 2)[2]))
    raw[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("v1:a:" + base64.b64encode(bytes(raw)).decode(), field="phone")


def test_rotation_reencrypts_old_tokens_under_current_version_and_cipher(settings):
    old = crypto.encrypt("secret", field="f")
    settings.FIELD_KEY_VERSION = 2
    settings.FIELD_CIPHER = "sm4-gcm"
    assert not crypto.is_current(old)
    assert crypto.decrypt(old, field="f") == "secret"
    new = crypto.reencrypt(old, field="f")
    assert new.startswith("v2:s:") and crypto.is_current(new)
    assert crypto.decrypt(new, field="f") == "secret"
    # A removed old key makes old tokens unreadable, never silently wrong.
    crypto._parse_keys.cache_clear()
    settings.FIELD_KEYS = f"2:{KEY2}"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old, field="f")


def test_blind_index_is_keyed_and_deterministic(settings):
    a = crypto.blind_index("13905781234", field="phone")
    assert a == crypto.blind_index("13905781234", field="phone")
    assert a != crypto.blind_index("13905781234", field="contact")
    settings.BLIND_INDEX_KEY = "another-key"
    assert a != crypto.blind_index("13905781234", field="phone")


def test_demo_placeholder_key_is_derived_but_refused_in_production(settings):
    settings.FIELD_KEYS = "demo-insecure-1"
    assert len(crypto.field_keys()[1]) == 32
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured):
        crypto.field_keys()


def test_bad_key_configuration_fails_fast(settings):
    settings.FIELD_KEYS = "1:not-base64!"
    with pytest.raises(ImproperlyConfigured):
        crypto.field_keys()
    settings.FIELD_KEYS = f"2:{KEY2}"
    with pytest.raises(ImproperlyConfigured):
        crypto.field_keys()
    settings.FIELD_CIPHER = "des"
    with pytest.raises(ImproperlyConfigured):
        crypto.current_cipher()


def test_masks():
    assert crypto.mask_id_number("33110219450517123X") == "3311**********123X"
    assert crypto.mask_phone("13905781234") == "139****1234"
    assert crypto.mask_phone("05782123456") == "057****3456"
    assert crypto.mask_id_number("") == ""
