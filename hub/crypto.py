"""Secrets at rest (IAM secret access keys): MultiFernet over HUB_FERNET_KEYS, so keys
rotate: the first key encrypts, every key decrypts, and `manage.py hub_reencrypt`
(hub/reencrypt.py) moves every stored secret onto the first key so old ones can go."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "on_first_key", "rotate"]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


@cache
def _first(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.HUB_FERNET_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.HUB_FERNET_KEYS)).decrypt(token.encode()).decode()


def on_first_key(token: str) -> bool:
    """Whether the first key of HUB_FERNET_KEYS decrypts `token`."""
    try:
        _first(settings.HUB_FERNET_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """`token` encrypted again with the first key (InvalidToken if no key decrypts it)."""
    return _fernet(tuple(settings.HUB_FERNET_KEYS)).rotate(token.encode()).decode()
