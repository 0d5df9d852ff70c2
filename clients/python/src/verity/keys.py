"""Ed25519 account keys, compatible with the ``verity`` CLI's key files.

A key file is JSON ``{"address": "verity1…", "public_key": hex32, "secret": hex32}`` readable by
its owner only (mode 600).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Union

import nacl.signing

from .crypto import address_bytes_of_key, address_of_key, signed_message
from .errors import KeyFileError

PathLike = Union[str, "os.PathLike[str]"]


class Key:
    """An ed25519 key pair: the account's address, public key and signing."""

    def __init__(self, signing_key: nacl.signing.SigningKey) -> None:
        self._sk = signing_key

    @classmethod
    def generate(cls) -> "Key":
        """A fresh random key."""
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_secret(cls, secret: Union[bytes, str]) -> "Key":
        """The key of a 32-byte secret (bytes or 64 hex digits)."""
        raw = bytes.fromhex(secret) if isinstance(secret, str) else bytes(secret)
        if len(raw) != 32:
            raise ValueError(f"an ed25519 secret is 32 bytes, got {len(raw)}")
        return cls(nacl.signing.SigningKey(raw))

    @classmethod
    def load(cls, path: PathLike) -> "Key":
        """Read a CLI key file, refusing one that others can read."""
        p = Path(path)
        try:
            mode = p.stat().st_mode
        except OSError as e:
            raise KeyFileError(
                f"cannot read key file {p}: {e.strerror}; create one with `verity keys new`",
                code="key_unreadable",
            ) from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {p} is readable by other users (mode {stat.S_IMODE(mode):o}); "
                f"restrict it with `chmod 600 {p}`",
                code="key_permissions",
            )
        try:
            data = json.loads(p.read_text())
            key = cls.from_secret(data["secret"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise KeyFileError(
                f"{p} is not a verity key file ({e}); expected JSON with a 32-byte hex 'secret'",
                code="key_malformed",
            ) from None
        if "address" in data and data["address"] != key.address:
            raise KeyFileError(
                f"{p} names address {data['address']} but its secret belongs to {key.address}",
                code="key_malformed",
            )
        return key

    def save(self, path: PathLike) -> None:
        """Write the key as a CLI key file with mode 600."""
        p = Path(path)
        body = json.dumps(
            {"address": self.address, "public_key": self.public_key.hex(), "secret": self.secret.hex()},
            indent=2,
        )
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(body + "\n")
        os.chmod(p, 0o600)

    @property
    def secret(self) -> bytes:
        """The 32-byte secret."""
        return bytes(self._sk)

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return bytes(self._sk.verify_key)

    @property
    def address(self) -> str:
        """The account's ``verity1…`` address."""
        return address_of_key(self.public_key)

    @property
    def address_bytes(self) -> bytes:
        """The account's 20 address bytes."""
        return address_bytes_of_key(self.public_key)

    def sign(self, namespace: bytes, message: bytes) -> bytes:
        """The 64-byte signature of ``message`` under ``namespace``."""
        return bytes(self._sk.sign(signed_message(namespace, message)).signature)

    def __repr__(self) -> str:
        return f"Key({self.address})"
