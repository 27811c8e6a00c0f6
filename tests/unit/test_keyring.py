"""The key ring: where it comes from, how it rotates, and that it is never lost or left readable."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from flask import Flask

from xometry_site.services.keyring import (
    KeyInUse,
    KeyRing,
    KeyRingError,
    UnknownKey,
    get_keyring,
    rotate,
)


def make_app(instance: Path, **config: object) -> Flask:
    app = Flask("keyring-test", instance_path=str(instance))
    app.config.update(KEYRING=None, KEYRING_PATH=None, KEYRING_AUTOCREATE=False)
    app.config.update(config)
    return app


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_development_ring_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", KEYRING_AUTOCREATE=True)
    ring = get_keyring(app)
    path = tmp_path / "instance" / "keyring.json"
    assert path.is_file() and mode(path) == 0o600
    assert ring.development and len(ring.primary_key) == 32
    assert json.loads(path.read_text())["development"] is True
    assert get_keyring(app) is ring

    other = make_app(tmp_path / "instance", KEYRING_AUTOCREATE=True)
    assert get_keyring(other).primary_key == ring.primary_key  # reused, never replaced
    assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]


def test_without_autocreate_a_missing_ring_stops_the_app(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance")
    with pytest.raises(KeyRingError, match="no key ring"):
        get_keyring(app)
    assert not (tmp_path / "instance" / "keyring.json").exists()


def test_a_development_ring_is_refused_where_autocreation_is_not_allowed(tmp_path: Path) -> None:
    get_keyring(make_app(tmp_path / "instance", KEYRING_AUTOCREATE=True))
    with pytest.raises(KeyRingError, match="development"):
        get_keyring(make_app(tmp_path / "instance"))


def test_ring_from_the_keyring_setting_wins_over_the_file(tmp_path: Path) -> None:
    get_keyring(make_app(tmp_path / "instance", KEYRING_AUTOCREATE=True))
    k1, k2 = b"1" * 32, b"2" * 32
    setting = json.dumps({"primary": "k2", "keys": {"k1": b64(k1), "k2": b64(k2)}})
    ring = get_keyring(make_app(tmp_path / "instance", KEYRING=setting))
    assert ring.primary == "k2" and ring.primary_key == k2 and ring.key("k1") == k1
    assert not ring.development and ring.path is None
    with pytest.raises(KeyRingError, match="KEYRING setting"):
        ring.save()


@pytest.mark.parametrize(
    "setting",
    [
        "not json",
        "[]",
        json.dumps({"keys": {"k1": b64(b"1" * 32)}}),
        json.dumps({"primary": "k9", "keys": {"k1": b64(b"1" * 32)}}),
        json.dumps({"primary": "k1", "keys": {"k1": b64(b"short")}}),
        json.dumps({"primary": "k1", "keys": {"k1": "not base64!"}}),
        json.dumps({"primary": "k.1", "keys": {"k.1": b64(b"1" * 32)}}),
    ],
)
def test_malformed_settings_are_refused(tmp_path: Path, setting: str) -> None:
    with pytest.raises(KeyRingError):
        get_keyring(make_app(tmp_path, KEYRING=setting))


def test_keyring_path_setting_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "ring.json"
    get_keyring(make_app(tmp_path / "instance", KEYRING_PATH=str(path), KEYRING_AUTOCREATE=True))
    assert path.is_file() and mode(path) == 0o600
    assert not (tmp_path / "instance" / "keyring.json").exists()


def test_add_promote_retire() -> None:
    ring = KeyRing.generate()
    first = ring.primary
    ids = {ring.add_key() for _ in range(20)}
    assert len(ids) == 20 and first not in ids
    new = sorted(ids)[0]
    ring.promote(new)
    assert ring.primary == new
    with pytest.raises(UnknownKey):
        ring.promote("nope")

    with pytest.raises(KeyInUse):
        ring.retire(new, in_use=lambda kid: False)  # the primary key
    with pytest.raises(KeyInUse):
        ring.retire(first, in_use=lambda kid: kid == first)
    assert first in ring.keys

    asked: list[str] = []
    ring.retire(first, in_use=lambda kid: asked.append(kid) or False)
    assert asked == [first] and first not in ring.keys
    with pytest.raises(UnknownKey):
        ring.key(first)


def test_save_is_atomic_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = KeyRing.generate(path=path)
    ring.promote(ring.add_key())
    ring.save()
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]
    loaded = KeyRing.load(path)
    assert loaded.keys == ring.keys and loaded.primary == ring.primary


def test_rotate_saves_the_new_key_before_anything_is_rewrapped(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", KEYRING_AUTOCREATE=True)
    ring = get_keyring(app)
    old = ring.primary
    seen_on_disk: list[str] = []

    def reencrypt(current: KeyRing) -> None:
        seen_on_disk.append(KeyRing.load(current.path).primary)

    new = rotate(ring, reencrypt)
    assert seen_on_disk == [new] and new != old
    assert set(KeyRing.load(ring.path).keys) == {old, new}


def test_rotation_by_another_process_is_picked_up(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", KEYRING_AUTOCREATE=True)
    ring = get_keyring(app)
    elsewhere = KeyRing.load(ring.path)  # e.g. `flask keys rotate` in another process
    new = rotate(elsewhere, lambda _: None)
    fresh = get_keyring(app)
    assert fresh.primary == new and fresh.key(new) == elsewhere.key(new)
