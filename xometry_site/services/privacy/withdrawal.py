"""Withdrawing consent (policy 5.5): one call per consent, taking effect at once with what it implies.

A newsletter subscription ends (no further mail goes out), functional cookies stop (every
"remember me" ends with the account's sessions; the caller clears the cookies from the browser
and keeps its own sign-in), and withdrawing the separate consent to an ID number as tax number
erases that number. The consent to the policy itself is not withdrawn here: without it there is no
account, so withdrawing it is deregistration (`erasure.deregister`).
"""

from __future__ import annotations

import sqlalchemy as sa

from ...extensions import db
from ...models import Consent, User
from ..accounts import invoicing, subscriptions
from . import consents

WITHDRAWABLE = ("subscription", "cookies_functional", "sensitive_tax_id")


def withdraw(user: User, kind: str) -> None:
    """Withdraw one kind of consent and apply its consequence in the same commit."""
    if kind not in WITHDRAWABLE:
        raise ValueError(kind)
    if kind == "subscription":
        subscriptions.unsubscribe(user)
    elif kind == "sensitive_tax_id":
        invoicing.forget_id_number(user)
    else:
        consents.withdraw(user, kind)
        user.end_all_sessions()  # no "remember me" keeps working anywhere (the caller keeps its own)
        db.session.commit()


def in_force(user: User, *, functional_cookies_in_browser: bool) -> set[str]:
    """Kinds the user has agreed to now; cookies count when this browser holds the choice too
    (a visitor may accept them on the banner before signing in)."""
    active = {kind for kind in consents.GENERAL if consents.active(user, kind)}
    if functional_cookies_in_browser:
        active.add("cookies_functional")
    return active


def history(user: User) -> list[Consent]:
    """Every consent record of the user, newest first: what, which edition, when, withdrawn when."""
    return list(
        db.session.scalars(
            sa.select(Consent)
            .filter_by(user_id=user.id)
            .order_by(Consent.given_at.desc(), Consent.id.desc())
        )
    )
