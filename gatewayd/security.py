"""Secrets: argon2id hashes for passwords, random tokens, and token digests for storage."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from gatewayd.errors import ValidationError

# RFC 9106's second recommended option (64 MiB, 3 passes): about 40 ms on these machines.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)

MIN_PASSWORD_LENGTH = 12
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def check_smpp_password(password: str) -> None:
    # SMPP 3.4 carries the password in a 9-octet C string: 8 characters at most.
    if not 1 <= len(password) <= 8 or not password.isascii():
        raise ValidationError("an SMPP password is 1 to 8 ASCII characters")


def generate_password(length: int = 16) -> str:
    """A random password without look-alike characters (no 0/O, 1/l/I)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database stores for a bearer token: a leaked table grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
