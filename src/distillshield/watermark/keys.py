"""Watermark keys: one secret master key per deployment, one derived key per account.

The master key file holds one key per line, ``<64 hex digits> <created, RFC 3339>``, oldest first;
the last line is the key in use. Rotating appends a new line and keeps the old ones, so text marked
before the rotation can still be detected. The file is created with mode 0600, and a key file that
others can read is refused (as ssh refuses a private key): a watermark key that leaks lets anyone
forge or scrub the mark.

Each account's key is ``HMAC-SHA256(master, account id)``: accounts get independent marks, and the
gateway never stores per-account secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from distillshield.errors import ConfigError
from distillshield.records import format_ts

KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class KeyVersion:
    secret: bytes
    created: str                      # RFC 3339; '' for a key file written by hand without one

    @property
    def key_id(self) -> str:
        """A public name for the key (a hash prefix), safe to log and print."""
        return hashlib.sha256(b"distillshield-watermark-key-id\0" + self.secret).hexdigest()[:12]


def key_path(watermark_key_path: str, store_url: str) -> Path:
    """The master key file: the ``watermark_key_path`` setting, or ``distillshield.key`` beside a SQLite
    store (in the working folder for PostgreSQL)."""
    if watermark_key_path:
        return Path(watermark_key_path)
    if "://" in store_url and not store_url.startswith("sqlite"):
        return Path("distillshield.key")
    return Path(store_url.removeprefix("sqlite:///")).with_name("distillshield.key")


def account_key(master: bytes, account_id: str) -> bytes:
    """The account's watermark key: HMAC-SHA256(master key, account id)."""
    return hmac.new(master, account_id.encode(), hashlib.sha256).digest()


class MasterKey:
    """The deployment's master key file: every version ever used, the newest in use."""

    def __init__(self, path: Path, versions: list[KeyVersion]):
        assert versions, "a master key has at least one version"
        self.path = path
        self.versions = versions

    @property
    def current(self) -> KeyVersion:
        return self.versions[-1]

    @classmethod
    def load(cls, path: str | Path) -> MasterKey:
        path = Path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(f"watermark key file {path} does not exist") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"watermark key file {path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
                              f"run: chmod 600 {path}")
        return cls(path, _parse(path, path.read_text()))

    @classmethod
    def load_or_create(cls, path: str | Path) -> MasterKey:
        """Read the key file, or create it with a fresh random key (mode 0600) on first start."""
        path = Path(path)
        if not path.exists():
            version = KeyVersion(secrets.token_bytes(KEY_BYTES), format_ts(time.time()))
            try:
                _write(path, [version], exclusive=True)
            except FileExistsError:
                pass  # another process created it first: use theirs
        return cls.load(path)

    def rotate(self) -> KeyVersion:
        """Start using a new random key; the old ones stay in the file for detection."""
        version = KeyVersion(secrets.token_bytes(KEY_BYTES), format_ts(time.time()))
        self.versions = [*self.versions, version]
        _write(self.path, self.versions, exclusive=False)
        return version

    def account_keys(self, account_id: str) -> list[bytes]:
        """The account's key under every master key version, newest first (what detection must try)."""
        return [account_key(version.secret, account_id) for version in reversed(self.versions)]

    def commitment(self, ts: str | None = None) -> dict:
        """A public commitment to the key in use: SHA-256 over the key and a timestamp.

        Publishing it (or handing it to a notary) before a dispute, then revealing the key, proves
        the key existed at that time and was not chosen after seeing the suspect model's output.
        """
        ts = ts or format_ts(time.time())
        return {"key_id": self.current.key_id, "ts": ts, "commitment": _commitment(self.current.secret, ts)}

    def verify_commitment(self, published: dict) -> bool:
        """Whether a commitment published earlier (``commitment()``'s dict) was made to one of these keys."""
        try:
            key_id, ts, digest = published["key_id"], published["ts"], published["commitment"]
        except (KeyError, TypeError):
            return False
        return any(version.key_id == key_id and hmac.compare_digest(_commitment(version.secret, str(ts)), str(digest))
                   for version in self.versions)


def _commitment(secret: bytes, ts: str) -> str:
    return hashlib.sha256(b"distillshield-watermark-commitment\0" + secret + ts.encode()).hexdigest()


def _parse(path: Path, text: str) -> list[KeyVersion]:
    versions = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            secret = bytes.fromhex(fields[0])
        except ValueError:
            secret = b""
        if len(secret) != KEY_BYTES:
            raise ConfigError(f"watermark key file {path}, line {number}: the key must be {2 * KEY_BYTES} hex digits")
        versions.append(KeyVersion(secret, fields[1] if len(fields) > 1 else ""))
    if not versions:
        raise ConfigError(f"watermark key file {path} holds no key")
    return versions


def _write(path: Path, versions: list[KeyVersion], *, exclusive: bool) -> None:
    text = "".join(f"{v.secret.hex()} {v.created}".rstrip() + "\n" for v in versions)
    target = path if exclusive else path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    if not exclusive:
        os.replace(target, path)  # atomic: a reader sees the old file or the new one, never half of one
