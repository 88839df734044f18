"""Encryption of server access data (Fernet: AES-128-CBC with HMAC-SHA256).

Keys come from settings.SECRET_ENCRYPTION_KEYS, newest first: the first encrypts, every
key decrypts, so a new key can be put in front and `manage.py rotate_secret_keys`
re-encrypts the stored data before the old key is removed.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _cipher() -> MultiFernet:
    keys = settings.SECRET_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("HELPDESK_SECRET_ENCRYPTION_KEYS is empty: access data cannot be stored.")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def encrypt(plaintext: str) -> bytes:
    return _cipher().encrypt(plaintext.encode("utf-8"))


def decrypt(token: bytes) -> str:
    try:
        return _cipher().decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise ImproperlyConfigured("Access data cannot be decrypted with the configured keys.") from exc


def rotate(token: bytes) -> bytes:
    return _cipher().rotate(bytes(token))


def generate_key() -> str:
    return Fernet.generate_key().decode()
