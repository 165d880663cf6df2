"""Secrets at rest (IAM secret access keys): MultiFernet over HUB_FERNET_KEYS, so keys
rotate: the first key encrypts, every key decrypts."""

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.HUB_FERNET_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.HUB_FERNET_KEYS)).decrypt(token.encode()).decode()
