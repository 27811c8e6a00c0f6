"""The issued e-fapiao (PDF or OFD): stored encrypted like a drawing, its number on the order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime

from ...extensions import db
from ...models import Order, OrderEvent, User
from ...models.base import utcnow
from .. import vault
from ..quotes.drawing_files import blob_storage, key_ring
from .fulfilment import OrderError

log = logging.getLogger(__name__)

FAPIAO_FORMATS = {"pdf": b"%PDF-", "ofd": b"PK\x03\x04"}  # OFD is a zip package (GB/T 33190)
MAX_FAPIAO_BYTES = 450 * 1024  # e-fapiao are tens of KB; under the form limit, so kept in memory
MAX_NUMBER = 40


def attach_fapiao(
    order: Order,
    staff: User,
    number: str,
    filename: str,
    content: bytes,
    now: datetime | None = None,
) -> None:
    """Store the fapiao file encrypted, note its number, tell the customer (committed)."""
    if not staff.is_staff:
        raise OrderError("not_staff")
    number = (number or "").strip()
    if not number or len(number) > MAX_NUMBER:
        raise OrderError("no_fapiao_number")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    magic = FAPIAO_FORMATS.get(extension)
    if magic is None or not content.startswith(magic) or len(content) > MAX_FAPIAO_BYTES:
        raise OrderError("bad_fapiao_file")
    stored = vault.store_encrypted(blob_storage(), key_ring(), [content])
    old_blob = order.fapiao_blob_id
    order.fapiao_number = number
    order.fapiao_filename = f"fapiao-{order.number}.{extension}"
    order.fapiao_blob_id, order.fapiao_key_id = stored.blob_id, stored.kid
    order.fapiao_wrapped_key = stored.wrapped_dek
    order.fapiao_issued_at = now or utcnow()
    order.events.append(OrderEvent(status=order.status, note="fapiao_issued", actor_id=staff.id))
    from .notices import tell_customer

    tell_customer(order, "fapiao_issued")
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        vault.destroy(blob_storage(), stored.blob_id)
        raise
    if old_blob:  # a corrected fapiao replaces the first
        with contextlib.suppress(Exception):
            vault.destroy(blob_storage(), old_blob)
    log.info("order.fapiao order=%s", order.id)


def open_fapiao(order: Order) -> Iterator[bytes]:
    """Plaintext chunks of the fapiao, decrypted as they stream."""
    if not order.has_fapiao or not order.fapiao_blob_id or not order.fapiao_key_id:
        raise OrderError("no_fapiao")
    return vault.open_decrypted(
        blob_storage(),
        key_ring(),
        order.fapiao_blob_id,
        order.fapiao_key_id,
        order.fapiao_wrapped_key or b"",
    )


def content_type(filename: str | None) -> str:
    return "application/ofd" if (filename or "").endswith(".ofd") else "application/pdf"
