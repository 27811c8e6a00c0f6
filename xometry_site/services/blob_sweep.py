"""The storage sweeper: blobs no row refers to (a crash between storage and commit) are removed."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from . import pi_registry
from .storage import get_storage
from .vault import DEFAULT_GRACE, sweep_orphans

log = logging.getLogger(__name__)


def referenced_blob_ids() -> set[str]:
    """Every blob id a row still points at, from the registry's blob columns (drawings, exports)."""
    known: set[str] = set()
    for entry, table in pi_registry.live_entries(db.metadata):
        for blob in entry.blobs:
            column = table.c[blob.blob_id]
            known.update(db.session.scalars(sa.select(column).where(column.is_not(None))))
    return known


def sweep_blobs(now: datetime | None = None) -> list[str]:
    """Remove unreferenced blobs older than the grace period; returns their ids.

    The ids are read before storage is listed, so a blob written meanwhile is young and spared.
    """
    known = referenced_blob_ids()
    db.session.rollback()  # end the read transaction before the long listing
    storage = get_storage(current_app._get_current_object())  # type: ignore[attr-defined]
    removed = sweep_orphans(storage, known, older_than=DEFAULT_GRACE, now=now)
    log.info("storage.sweep removed=%d referenced=%d", len(removed), len(known))
    return removed
