"""deploy/backup.sh and deploy/restore.sh really round-trip a PostgreSQL database and its blobs.

A database with accounts, a quote and a drawing (wrapped key bytes, Chinese text) is dumped with
pg_dump, its encrypted blobs pulled from S3 (moto); then restored into a new database and a new
bucket, and the rows and the bytes are compared. A restore is tried, not assumed (SECURITY.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from production_support import (
    ROOT,
    _psycopg_url,
    admin_engine,
    fresh_database,
    real_keyring,
    s3_endpoint,
)

pytestmark = pytest.mark.slow
__all__ = ["fresh_database", "s3_endpoint"]

BACKUP = ROOT / "deploy" / "backup.sh"
RESTORE = ROOT / "deploy" / "restore.sh"
TABLES = ("users", "consents", "quotes", "drawings")


@pytest.fixture(scope="module", autouse=True)
def pg_tools():
    from conftest import cannot_run

    for tool in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(tool) is None:
            cannot_run(f"{tool} is not on PATH (apt-get install postgresql-client-15)")


@pytest.fixture
def empty_database():
    """A second, empty database to restore into."""
    name = "xrestore_" + secrets.token_hex(4)
    engine = admin_engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = _admin_base()
    yield f"{base}/{name}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _admin_base() -> str:
    from production_support import PG_ADMIN_URL

    return PG_ADMIN_URL.rsplit("/", 1)[0]


def _s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": bucket,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "test-access-key",
        "S3_SECRET_ACCESS_KEY": "test-secret-key",
    }


def _storage(endpoint: str, bucket: str, create: bool = False):
    from xometry_site.services.s3_storage import S3Storage

    storage = S3Storage(
        bucket,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key="test-access-key",
        secret_key="test-secret-key",
    )
    if create:
        storage.client.create_bucket(Bucket=bucket)
    return storage


def _fill(database_url: str, endpoint: str, bucket: str, tmp_path: Path) -> dict:
    """Accounts, consents, a quote with an encrypted drawing in S3: what a backup must keep."""
    from xometry_site import create_app
    from xometry_site.extensions import db
    from xometry_site.models import Quote, User
    from xometry_site.models.base import utcnow
    from xometry_site.services.keyring import KeyRing
    from xometry_site.services.privacy import consents
    from xometry_site.services.quotes.drawing_files import stored_drawing
    from xometry_site.services.vault import store_encrypted

    keyring = real_keyring()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "fill"),
            "KEYRING": keyring,
        }
    )
    storage = _storage(endpoint, bucket, create=True)
    drawing_bytes = b"solid part\n" + secrets.token_bytes(4096)
    with app.app_context():
        db.create_all()
        users = []
        for n in range(3):
            user = User(
                email=f"backup{n}@example.com",
                name=f"备份用户{n}",
                phone=f"+861380000010{n}",
                customer_type="company",
                email_verified_at=utcnow(),
            )
            user.set_password("correct horse battery staple")
            db.session.add(user)
            db.session.flush()
            consents.record(user, "policy", ip="127.0.0.1", source="test")
            users.append(user)
        quote = Quote(user_id=users[0].id, process="cnc_machining", material="al6061", quantity=3)
        quote.notes = "公差 ±0.01，螺纹 M6"
        db.session.add(quote)
        db.session.flush()
        stored = store_encrypted(storage, KeyRing.from_json(keyring), [drawing_bytes])
        db.session.add(
            stored_drawing(
                stored,
                quote_id=quote.id,
                user_id=users[0].id,
                filename="支架.stl",
                extension="stl",
            )
        )
        db.session.commit()
        snapshot = _snapshot(db.engine)
        db.session.remove()
        db.engine.dispose()
    return {"snapshot": snapshot, "keyring": keyring, "plaintext": drawing_bytes}


def _snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of the tables that matter, in id order."""
    result = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()  # noqa: S608
            result[table] = [tuple(row) for row in rows]
    return result


def _run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), *args],
        env={**os.environ, "PYTHON": str(ROOT / ".venv" / "bin" / "python"), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_backup_then_restore_into_a_fresh_database_keeps_every_row_and_blob(
    fresh_database, empty_database, s3_endpoint, tmp_path
):
    from xometry_site.services.keyring import KeyRing
    from xometry_site.services.vault import open_decrypted

    source_bucket, target_bucket = "backup-source", "backup-target"
    filled = _fill(_psycopg_url(fresh_database), s3_endpoint, source_bucket, tmp_path)
    backup_dir = tmp_path / "backups"

    made = _run(
        BACKUP,
        {"DATABASE_URL": fresh_database, "BACKUP_DIR": str(backup_dir)}
        | _s3_env(s3_endpoint, source_bucket),
    )
    assert made.returncode == 0, made.stderr
    dumps = list((backup_dir / "db").glob("*.dump"))
    assert len(dumps) == 1 and dumps[0].stat().st_mode & 0o077 == 0, "one private dump"
    assert "blobs pulled: 1" in made.stdout

    _storage(s3_endpoint, target_bucket, create=True)
    restored = _run(
        RESTORE,
        {"DATABASE_URL": empty_database} | _s3_env(s3_endpoint, target_bucket),
        str(dumps[0]),
        str(backup_dir / "blobs"),
    )
    assert restored.returncode == 0, restored.stderr
    assert "blobs pushed: 1" in restored.stdout

    engine = sa.create_engine(_psycopg_url(empty_database))
    try:
        assert _snapshot(engine) == filled["snapshot"]
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT blob_id, key_id, wrapped_key FROM drawings")).one()
            notes = conn.execute(sa.text("SELECT notes FROM quotes")).scalar_one()
    finally:
        engine.dispose()
    assert notes == "公差 ±0.01，螺纹 M6"
    # the drawing decrypts from the restored bucket with the restored wrapped key
    ring = KeyRing.from_json(filled["keyring"])
    target = _storage(s3_endpoint, target_bucket)
    chunks = open_decrypted(target, ring, row.blob_id, row.key_id, bytes(row.wrapped_key))
    assert b"".join(chunks) == filled["plaintext"]


def test_restore_refuses_a_database_that_is_not_empty(fresh_database, tmp_path, s3_endpoint):
    engine = sa.create_engine(_psycopg_url(fresh_database))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS precious (id int)"))
    engine.dispose()
    backup_dir = tmp_path / "b"
    made = _run(
        BACKUP,
        {"DATABASE_URL": fresh_database, "BACKUP_DIR": str(backup_dir)}
        | _s3_env(s3_endpoint, "backup-source"),
    )
    assert made.returncode == 0, made.stderr
    dump = next((backup_dir / "db").glob("*.dump"))
    refused = _run(RESTORE, {"DATABASE_URL": fresh_database}, str(dump))
    assert refused.returncode == 3
    assert "refusing" in refused.stderr
