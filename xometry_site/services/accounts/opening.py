"""Opening an account by any channel (e-mail form, WeChat): the user with the consents given, in one commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Consent, User
from ..privacy import consents
from .subscriptions import send_confirmation

REQUIRED_CONSENTS = ("policy", "adult")  # every way in asks for both, unticked


@dataclass(frozen=True)
class GivenConsents:
    """What the visitor ticked while opening the account, and where they did it."""

    channel: str  # recorded as each consent's source: "register" (e-mail form) or "wechat"
    ip: str | None
    subscribe: bool = (
        False  # the optional newsletter box: an unconfirmed subscription (double opt-in)
    )
    edition: str | None = None  # the policy edition accepted; None: the one in force


def open_account(user: User, given: GivenConsents, related: Iterable[Any] = ()) -> Consent | None:
    """Add the account (and rows that belong to it) and record its consents, flushed but not
    committed: the channel commits them together with the mail they cause (the outbox).

    Returns the unconfirmed subscription, to be confirmed with `send_subscription_confirmation`
    in the same transaction, or None. On IntegrityError (a concurrent opening took the e-mail
    address, the phone or the WeChat identity) the session is rolled back and the error raised
    for the channel to explain.
    """
    db.session.add(user)
    db.session.add_all(list(related))
    try:
        db.session.flush()
        for kind in REQUIRED_CONSENTS:
            consents.record(user, kind, ip=given.ip, source=given.channel, edition=given.edition)
        subscription = None
        if given.subscribe:
            subscription = consents.record(
                user,
                "subscription",
                ip=given.ip,
                source=given.channel,
                confirmed=False,
                edition=given.edition,
            )
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise
    return subscription


def send_subscription_confirmation(user: User, consent: Consent, *, commit: bool = True) -> None:
    """Ask the new subscriber to confirm (double opt-in) with the subscription's mail and link."""
    send_confirmation(user, consent, commit=commit)
