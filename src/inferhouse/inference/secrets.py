"""API keys of remote services, encrypted at rest with a key that never enters the database.

The key is ``INFERHOUSE_SECRET_KEY`` when set (a Fernet key, or any passphrase, which is stretched into
one), else a key file in the data directory created on first use with owner-only permissions. A copy
of the database alone therefore reveals no API key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from inferhouse.errors import SecretUnreadable

KEY_FILE = "secret.key"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> SecretBox:
        if secret_key:
            return cls(_as_fernet_key(secret_key))
        return cls(_key_file(data_dir / KEY_FILE))

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes, owner: str) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise SecretUnreadable(
                f"The secret of inference endpoint [{owner}] cannot be decrypted: the secret key changed. "
                "Restore the old key or delete and recreate the endpoint"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"


def _as_fernet_key(secret_key: str) -> bytes:
    raw = secret_key.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
        file.flush()
        os.fsync(file.fileno())
    return key
