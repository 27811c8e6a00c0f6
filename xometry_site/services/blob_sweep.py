"""The storage sweeper as a job: blobs no row refers to (a crash between storage and commit)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from ..extensions import db
from .storage import get_storage
from .vault import DEFAULT_GRACE, sweep_orphans

log = logging.getLogger(__name__)


def known_blob_ids() -> set[str]:
    """Every blob id any table refers to (columns named `blob_id` or `*_blob_id`), for the
    sweeper: blobs of exports and other features are never taken for orphans."""
    ids: set[str] = set()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if column.name == "blob_id" or column.name.endswith("_blob_id"):
                    rows = conn.execute(db.select(column).where(column.is_not(None)))
                    ids.update(value for (value,) in rows)
    return ids


def sweep_blobs(now: datetime | None = None) -> list[str]:
    """Remove unreferenced blobs older than the grace period (as `flask quotes sweep` does).

    The ids are read before storage is listed, so a blob written meanwhile is young and spared.
    """
    known = known_blob_ids()
    db.session.rollback()  # no transaction held open during the long listing
    storage = get_storage(current_app._get_current_object())  # type: ignore[attr-defined]
    removed = sweep_orphans(storage, known, older_than=DEFAULT_GRACE, now=now)
    log.info("storage.sweep removed=%d referenced=%d", len(removed), len(known))
    return removed
