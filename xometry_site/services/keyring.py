"""Key ring of key-encryption keys (KEKs) by id: what wraps every data key and encrypted field.

Rotation with a ring file (development, or KEYRING_PATH): `rotate()` adds a key, promotes it,
saves the file, then lets the caller re-wrap data keys and re-encrypt columns; running processes
notice the new file on their next `get_keyring()`. Retire the old key later with `retire()`.

Rotation with the KEYRING setting (production): the environment cannot be written from here, so
(1) build the new ring with `add_key()` + `promote()` and print `to_json()`; (2) deploy it to every
process; (3) only then re-wrap (crypto.rewrap_rows / reencrypt_column); (4) `retire()` the old key,
print and deploy again. Re-wrapping before step 2 would leave servers unable to read new wraps.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EXTENSION = "keyring"
_lock = threading.Lock()


class KeyRingError(Exception):
    """The key ring is missing, malformed, or an operation on it is refused."""


class KeyInUse(KeyRingError):
    """A key cannot be retired while data is still wrapped or encrypted with it."""


class UnknownKey(KeyRingError):
    """Data names a key id that the ring does not hold (retired too early, or wrong ring)."""


@dataclass
class KeyRing:
    """Ids → 32-byte KEKs; the primary wraps new data, the others only unwrap old data."""

    keys: dict[str, bytes]
    primary: str
    development: bool = False
    path: Path | None = None  # None: came from the KEYRING setting and cannot be saved
    loaded_stamp: tuple[int, int] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for kid, key in self.keys.items():
            if not KEY_ID_PATTERN.match(kid):
                raise KeyRingError(f"invalid key id {kid!r}")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {kid!r} must be {KEY_BYTES} bytes")
        if self.primary not in self.keys:
            raise KeyRingError(f"primary key {self.primary!r} is not in the ring")

    def key(self, kid: str) -> bytes:
        """The KEK with this id; UnknownKey if it was never here or is retired."""
        try:
            return self.keys[kid]
        except KeyError:
            raise UnknownKey(f"key {kid!r} is not in the key ring") from None

    @property
    def primary_key(self) -> bytes:
        """The KEK that wraps everything written from now on."""
        return self.keys[self.primary]

    def add_key(self) -> str:
        """Add a fresh random KEK and return its id (ids sort by creation day, never reused)."""
        while True:
            kid = datetime.now(UTC).strftime("k%Y%m%d") + "-" + secrets.token_hex(3)
            if kid not in self.keys:
                break
        self.keys[kid] = secrets.token_bytes(KEY_BYTES)
        return kid

    def promote(self, kid: str) -> None:
        """Make an existing key the primary one."""
        self.key(kid)
        self.primary = kid

    def retire(self, kid: str, in_use: Callable[[str], bool]) -> None:
        """Remove a key, but only when it is not primary and nothing is encrypted under it."""
        self.key(kid)
        if kid == self.primary:
            raise KeyInUse(f"key {kid!r} is the primary key; promote another one first")
        if in_use(kid):
            raise KeyInUse(f"key {kid!r} still protects data; re-wrap it before retiring")
        del self.keys[kid]

    def to_json(self) -> str:
        """The ring in the format of the KEYRING setting and of the key ring file."""
        data: dict[str, Any] = {
            "primary": self.primary,
            "keys": {kid: base64.b64encode(key).decode("ascii") for kid, key in self.keys.items()},
        }
        if self.development:
            data["development"] = True
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def save(self) -> None:
        """Write the ring file atomically with mode 0600 (temp file, fsync, rename, fsync dir)."""
        if self.path is None:
            raise KeyRingError(
                "this key ring comes from the KEYRING setting; update that setting instead"
            )
        _write_atomically(self.path, self.to_json().encode("utf-8"))
        self.loaded_stamp = _stamp(self.path)

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> KeyRing:
        """Parse the KEYRING JSON format; any defect is a KeyRingError, never a silent default."""
        try:
            data = json.loads(text)
            encoded = data["keys"].items()
            keys = {kid: base64.b64decode(value, validate=True) for kid, value in encoded}
            return cls(
                keys=keys,
                primary=data["primary"],
                development=bool(data.get("development", False)),
                path=path,
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise KeyRingError(f"malformed key ring: {exc.__class__.__name__}") from None

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """Read a key ring file, remembering its mtime so that a rotation elsewhere is noticed."""
        stamp = _stamp(path)
        ring = cls.from_json(path.read_text("utf-8"), path=path)
        ring.loaded_stamp = stamp
        return ring

    @classmethod
    def generate(cls, path: Path | None = None, development: bool = False) -> KeyRing:
        """A new ring holding one random key."""
        kid = "k1"
        return cls(
            keys={kid: secrets.token_bytes(KEY_BYTES)},
            primary=kid,
            development=development,
            path=path,
        )


def rotate(ring: KeyRing, reencrypt: Callable[[KeyRing], None]) -> str:
    """Add a key, make it primary, persist the ring, then let the caller re-wrap everything.

    The ring is saved *before* anything is re-wrapped: data must never be wrapped by a key that a
    crash could lose.
    """
    if ring.path is None:
        raise KeyRingError("this key ring comes from the KEYRING setting; rotate it there")
    kid = ring.add_key()
    ring.promote(kid)
    ring.save()
    reencrypt(ring)
    return kid


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory (0600) → fsync → os.replace → fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _create_exclusively(path: Path, ring: KeyRing) -> bool:
    """Publish a new ring file only if none exists (two processes starting together agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    _write_atomically(tmp, ring.to_json().encode("utf-8"))
    try:
        os.link(tmp, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return created


def _stamp(path: Path) -> tuple[int, int]:
    """Identity of the file's current version: a rename changes the inode, a write the mtime."""
    info = path.stat()
    return (info.st_ino, info.st_mtime_ns)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory entry (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def keyring_path(app: Flask) -> Path:
    """Where the ring file lives: KEYRING_PATH, else `<instance>/keyring.json`."""
    configured = app.config.get("KEYRING_PATH")
    return Path(configured) if configured else Path(app.instance_path) / "keyring.json"


def _load_for_app(app: Flask) -> KeyRing:
    """KEYRING setting first, then the file; create a development ring only where allowed."""
    autocreate = bool(app.config.get("KEYRING_AUTOCREATE"))
    setting = app.config.get("KEYRING")
    if setting:
        ring = KeyRing.from_json(setting)
    else:
        path = keyring_path(app)
        if not path.exists():
            if not autocreate:
                raise KeyRingError(
                    f"no key ring: set KEYRING or create {path} (auto-creation is development-only)"
                )
            _create_exclusively(path, KeyRing.generate(path=path, development=True))
        ring = KeyRing.load(path)
    if ring.development and not autocreate:
        raise KeyRingError("refusing a development key ring outside development and testing")
    return ring


def get_keyring(app: Flask) -> KeyRing:
    """The app's key ring, cached in app.extensions and re-read when its file changes."""
    with _lock:
        ring: KeyRing | None = app.extensions.get(_EXTENSION)
        if ring is not None and ring.path is not None:
            try:
                changed = _stamp(ring.path) != ring.loaded_stamp
            except FileNotFoundError:
                changed = True
            if changed:
                ring = None
        if ring is None:
            ring = _load_for_app(app)
            app.extensions[_EXTENSION] = ring
        return ring
