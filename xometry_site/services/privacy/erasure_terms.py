"""What erasure keeps and for how long, as the deregister page and My data explain it: the periods
in force (settings), the fields erasure deletes by category, and the orders kept by law."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from ...extensions import db
from ...models import Quote, User
from .pi_registry import ERASE, live_entries


def _shift_years(moment: datetime, years: int) -> datetime:
    """The same day `years` later (or earlier); 29 February becomes the 28th."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def order_retention_until(ordered_at: datetime | None) -> datetime | None:
    """Until when an order's records are kept (E-Commerce Law art. 31: three years)."""
    if ordered_at is None:
        return None
    return _shift_years(ordered_at, current_app.config["RETENTION_ORDER_YEARS"])


def order_retention_cutoff(now: datetime) -> datetime:
    """Orders placed before this moment have been kept their full legal period (calendar years)."""
    return _shift_years(now, -current_app.config["RETENTION_ORDER_YEARS"])


@dataclass(frozen=True)
class DeregistrationTerms:
    """What the deregister page promises, from the settings: when erasure runs, what stays how long."""

    cooling_off_days: int
    working_days: int
    evidence_years: int
    audit_years: int
    order_years: int


def deregistration_terms() -> DeregistrationTerms:
    """The periods in force now (settings), so the page never promises other numbers."""
    config = current_app.config
    return DeregistrationTerms(
        cooling_off_days=config["DEREGISTRATION_COOLING_OFF_DAYS"],
        working_days=config["PRIVACY_REQUEST_WORKING_DAYS"],
        evidence_years=config["RETENTION_EVIDENCE_DAYS"] // 365,
        audit_years=config["RETENTION_AUDIT_DAYS"] // 365,
        order_years=config["RETENTION_ORDER_YEARS"],
    )


def erased_fields_by_category() -> list[tuple[object, list[tuple[object, list[object]]]]]:
    """For the deregister page: what erasure deletes, by appendix category, then by kind of record
    (so "When" reads as "Sign-in: when")."""
    from .pi_registry import CATEGORIES

    groups: dict[str, dict[object, list[object]]] = {c.key: {} for c in CATEGORIES}
    for entry, table in live_entries(db.metadata):
        if entry.on_erasure == "keep":
            continue
        for column in entry.columns(table):
            if column.erasure == ERASE:
                labels = groups[column.category or entry.category].setdefault(entry.title, [])
                labels.append(column.label)
    return [(c, list(groups[c.key].items())) for c in CATEGORIES if groups[c.key]]


def ordered_quotes(user: User) -> list[Quote]:
    """The user's quotes that became orders: kept as long as the law requires."""
    return list(
        db.session.scalars(
            sa.select(Quote).where(Quote.user_id == user.id, Quote.status == "ordered")
        )
    )
