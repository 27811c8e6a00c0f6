"""`flask quotes sweep|recover` and `flask keys rotate|rewrap|retire`.

Key rotation touches every wrapped data key and every encrypted column in the database. Tables
are found by convention, so features added later are covered without editing this file:
  wrapped data keys   column pairs (`<p>key_id`, `<p>wrapped_key`) or (`<p>kid`, `<p>wrapped_dek`)
  encrypted columns   columns of type crypto.EncryptedText
  blob references     columns named `blob_id` or `*_blob_id` (the sweeper spares those blobs)
"""

from __future__ import annotations

from collections.abc import Iterator

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from ..services import crypto, keyring, vault
from ..services.storage import get_storage

quotes_cli = AppGroup("quotes", help="Quotes and their drawings.")
keys_cli = AppGroup("keys", help="The key ring that protects drawings and encrypted fields.")


@quotes_cli.command("sweep")
@click.option(
    "--grace-hours", default=6.0, show_default=True, help="Spare blobs younger than this."
)
def sweep(grace_hours: float) -> None:
    """Delete stored blobs that no row refers to (left by crashes between blob and commit)."""
    from datetime import timedelta

    from ..services.blob_sweep import known_blob_ids

    storage = get_storage(current_app._get_current_object())  # type: ignore[attr-defined]
    removed = vault.sweep_orphans(
        storage, known_blob_ids(), older_than=timedelta(hours=grace_hours)
    )
    missing = vault.find_missing(storage, sorted(known_blob_ids()))
    click.echo(
        f"removed {len(removed)} orphaned blob(s); {len(missing)} referenced blob(s) missing"
    )


@quotes_cli.command("recover")
def recover() -> None:
    """Queue again drawings whose analysing worker died (to an engineer after a few tries)."""
    from ..services.quotes.analysis_recovery import recover_stale_claims

    click.echo(f"recovered {recover_stale_claims()} stalled drawing analysis(es)")


# --- key ring --------------------------------------------------------------------------------


def wrapped_key_columns() -> Iterator[tuple[sa.Table, sa.Column, sa.Column]]:
    """(table, key id column, wrapped key column) for every wrapped data key in the schema."""
    for table in db.metadata.sorted_tables:
        names = set(table.columns.keys())
        for name in names:
            for kid_suffix, wrapped_suffix in (("key_id", "wrapped_key"), ("kid", "wrapped_dek")):
                if name.endswith(kid_suffix):
                    partner = name[: -len(kid_suffix)] + wrapped_suffix
                    if partner in names:
                        yield table, table.c[name], table.c[partner]


def encrypted_columns() -> Iterator[sa.Column]:
    """Every column stored as an EncryptedText token."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, crypto.EncryptedText):
                yield column


def rewrap_everything(ring: keyring.KeyRing) -> tuple[int, int]:
    """Move every wrapped data key and encrypted field to the primary key; idempotent.

    Blobs are not touched: only their small wrapped keys change. Returns (keys, fields) changed.
    """
    keys = fields = 0
    with db.engine.begin() as conn:
        for table, kid_col, wrapped_col in wrapped_key_columns():
            pk = list(table.primary_key.columns)
            rows = conn.execute(
                sa.select(*pk, kid_col, wrapped_col).where(
                    kid_col.is_not(None), wrapped_col.is_not(None), kid_col != ring.primary
                )
            ).all()
            for row in rows:
                mapping = row._mapping
                new_kid, new_wrapped = crypto.rewrap(ring, mapping[kid_col], mapping[wrapped_col])
                where = sa.and_(*(col == mapping[col] for col in pk))
                conn.execute(
                    sa.update(table)
                    .where(where)
                    .values({kid_col.name: new_kid, wrapped_col.name: new_wrapped})
                )
                keys += 1
        for column in encrypted_columns():
            fields += crypto.reencrypt_column(conn, column, ring)
    db.session.expire_all()  # rows loaded before were changed underneath the ORM
    return keys, fields


def key_in_use(kid: str) -> bool:
    """Whether any wrapped data key or encrypted field still depends on `kid`."""
    with db.engine.connect() as conn:
        for _table, kid_col, wrapped_col in wrapped_key_columns():
            query = sa.select(sa.literal(1)).where(kid_col == kid, wrapped_col.is_not(None))
            if conn.execute(query.limit(1)).first() is not None:
                return True
        return any(crypto.column_uses_key(conn, column, kid) for column in encrypted_columns())


def _ring() -> keyring.KeyRing:
    return keyring.get_keyring(current_app._get_current_object())  # type: ignore[attr-defined]


@keys_cli.command("rotate")
def rotate() -> None:
    """Add a key, make it primary, then re-wrap every data key and re-encrypt every field.

    With a key ring file the new ring is saved before anything is re-wrapped. With the KEYRING
    setting the new ring is printed: deploy it everywhere, then run `flask keys rewrap`.
    """
    ring = _ring()
    if ring.path is None:
        kid = ring.add_key()
        ring.promote(kid)
        click.echo(ring.to_json(), nl=False)
        click.echo(
            f"new primary key {kid}: set KEYRING to the JSON above on every process, "
            "then run `flask keys rewrap`",
            err=True,
        )
        return
    counts: dict[str, int] = {}

    def reencrypt(new_ring: keyring.KeyRing) -> None:
        counts["keys"], counts["fields"] = rewrap_everything(new_ring)

    try:
        kid = keyring.rotate(ring, reencrypt)
    except keyring.KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"new primary key {kid}; re-wrapped {counts['keys']} data key(s), "
        f"re-encrypted {counts['fields']} field(s)"
    )


@keys_cli.command("rewrap")
def rewrap() -> None:
    """Re-wrap data keys and re-encrypt fields still under an older key (safe to repeat)."""
    keys, fields = rewrap_everything(_ring())
    click.echo(f"re-wrapped {keys} data key(s), re-encrypted {fields} field(s)")


@keys_cli.command("retire")
@click.argument("kid")
def retire(kid: str) -> None:
    """Remove an old key from the ring; refused while anything is still protected by it."""
    ring = _ring()
    try:
        ring.retire(kid, key_in_use)
    except keyring.KeyRingError as exc:
        raise click.ClickException(str(exc)) from None
    if ring.path is None:
        click.echo(ring.to_json(), nl=False)
        click.echo(f"key {kid} removed: set KEYRING to the JSON above on every process", err=True)
        return
    ring.save()
    click.echo(f"key {kid} retired")


@keys_cli.command("list")
def list_keys() -> None:
    """Key ids in the ring, the primary marked, and whether each still protects data."""
    ring = _ring()
    for kid in sorted(ring.keys):
        marker = "*" if kid == ring.primary else " "
        click.echo(f"{marker} {kid}{'' if key_in_use(kid) else '  (unused)'}")
