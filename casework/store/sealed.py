"""Personal data sealed at rest: a column type that encrypts JSON with Fernet keys.

The keys come from the settings (`CIG_DATA_KEYS`, newest first) and are installed once per
process with `install_keys`. Several keys allow rotation: new data is sealed with the first key,
old data still opens with the others, and `cig keys rotate` re-seals everything with the first.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

_cipher: MultiFernet | None = None


class KeyProblem(RuntimeError):
    """The data keys are missing or cannot open the stored data."""


def install_keys(keys: list[str]) -> None:
    """Use these Fernet keys (newest first) for sealing and opening personal data in this process."""
    global _cipher
    if not keys:
        raise KeyProblem("no data key is configured: set CIG_DATA_KEYS")
    try:
        _cipher = MultiFernet([Fernet(k.strip().encode()) for k in keys])
    except ValueError:
        raise KeyProblem("CIG_DATA_KEYS holds a value that is not a Fernet key (generate one with `cig keys new`)") from None


def cipher() -> MultiFernet:
    if _cipher is None:
        raise KeyProblem("personal data keys were not installed; open the store with casework.store.open_store")
    return _cipher


def new_key() -> str:
    return Fernet.generate_key().decode()


class SealedJSON(TypeDecorator[Any]):
    """JSON stored encrypted; reads back as the original value."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return cipher().encrypt(json.dumps(value, default=str).encode()).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        try:
            return json.loads(cipher().decrypt(value.encode()))
        except InvalidToken:
            raise KeyProblem("stored personal data does not open with the configured keys (CIG_DATA_KEYS)") from None


def reseal(token: str) -> str:
    """Re-encrypt a sealed value with the newest key."""
    return cipher().rotate(token.encode()).decode()
