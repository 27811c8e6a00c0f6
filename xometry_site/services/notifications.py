"""Service messages to customers: an inbox row and a mail (or a text message) from one call.

`notify(user, kind, link, **params)` is the one place features tell a customer that something
happened to their quote or order. In the caller's transaction (it never commits: the caller
commits it with the event) it adds the row of the in-site inbox (`/account/notifications`) and
writes the same message to the outbox: a mail in the user's preferred language with the link made
absolute, or, when the account has no e-mail address we may use, a short text message through
`sms.send_text`. A rolled-back event sends nothing. These are service messages (notices about a
contract or a transaction the customer asked for): they go whatever the newsletter subscription,
and nothing marketing ever goes through here.

    kind               params (plain values only)                             link to
    quote_priced       ref, total (money), valid_until (date)                 the quote
    engineer_question  ref (a quote ref or an order number)                   where to answer
    order_confirmed    number, total (money)                                  the order
    payment_received   number, amount (money)                                 the order
    shipped            number, carrier (a code of orders.carriers.CARRIERS), tracking_number  the order
    fapiao_issued      number                                                 the order

    notify(owner, "shipped", path_for("orders.detail", number=n),
           number=n, carrier="sf", tracking_number="SF1234567890")

Values: text (a ref, a number, a code) up to 64 characters on one line; money a Decimal, an int
or its string; dates a `date` or an aware `datetime`. Never free text a person wrote (a question,
a note, a name): the message points to it. An unknown kind, a missing or extra parameter, or a
link that is not a site path is a programming error (NotificationError).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Notification, User
from ..models.base import utcnow
from . import sms
from .languages import in_language
from .mail import external_url, send_mail

log = logging.getLogger(__name__)

PAGE_SIZE = 20  # messages per inbox page
MAX_VALUE = 64  # a parameter is a ref, a number or a code: never a paragraph
TEXT, MONEY, DATE, CARRIER = "text", "money", "date", "carrier"


class NotificationError(ValueError):
    """A caller's mistake: an unknown kind, wrong parameters or a link off the site."""


@dataclass(frozen=True)
class Kind:
    """One kind of message: its name, title, one-line text and button, from its parameters."""

    name: Any  # what "My data" calls it
    title: Any
    text: Any
    action: Any  # the mail's button
    params: dict[str, str]  # parameter → TEXT, MONEY, DATE or CARRIER


KINDS: dict[str, Kind] = {
    "quote_priced": Kind(
        _l("Quote priced"),
        _l("Your quote %(ref)s is ready"),
        _l(
            "Our engineer has priced your quote %(ref)s: %(total)s including VAT, valid until "
            "%(valid_until)s."
        ),
        _l("See my quote"),
        {"ref": TEXT, "total": MONEY, "valid_until": DATE},
    ),
    "engineer_question": Kind(
        _l("Question from an engineer"),
        _l("A question from our engineer about %(ref)s"),
        _l("Our engineer has a question about %(ref)s. Please read it and answer on the page."),
        _l("Read and answer"),
        {"ref": TEXT},
    ),
    "order_confirmed": Kind(
        _l("Order confirmed"),
        _l("Order %(number)s is confirmed"),
        _l("We have confirmed your order %(number)s for %(total)s including VAT."),
        _l("See my order"),
        {"number": TEXT, "total": MONEY},
    ),
    "payment_received": Kind(
        _l("Payment received"),
        _l("Payment received for order %(number)s"),
        _l("We have received your payment of %(amount)s for order %(number)s."),
        _l("See my order"),
        {"number": TEXT, "amount": MONEY},
    ),
    "shipped": Kind(
        _l("Order shipped"),
        _l("Order %(number)s has shipped"),
        _l("Order %(number)s has shipped with %(carrier)s, tracking number %(tracking_number)s."),
        _l("Track my order"),
        {"number": TEXT, "carrier": CARRIER, "tracking_number": TEXT},
    ),
    "fapiao_issued": Kind(
        _l("Fapiao issued"),
        _l("The fapiao for order %(number)s is issued"),
        _l("The fapiao (VAT invoice) for order %(number)s has been issued; see it on the order."),
        _l("See my order"),
        {"number": TEXT},
    ),
}


# --- sending -------------------------------------------------------------------------------------


def notify(user: User, kind: str, link: str, **params: Any) -> Notification | None:
    """Add the inbox row and write its mail (or text) to the outbox, in the caller's transaction.

    Returns the row; None for an erased account (nobody to tell). Never commits.
    """
    spec = _kind(kind)
    values = _clean_params(kind, spec, params)
    path = _clean_link(link)
    if user.erased_at is not None:
        log.info("notification.skipped kind=%s user=%s reason=erased", kind, user.id)
        return None
    row = Notification(user_id=user.id, kind=kind, params=values, link_path=path)
    db.session.add(row)
    channel = _deliver(user, kind, spec, values, path)
    log.info("notification.added kind=%s user=%s channel=%s", kind, user.id, channel)
    return row


def path_for(endpoint: str, **values: Any) -> str:
    """The site path of an endpoint, for `notify`'s link, inside a request or outside one (jobs)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)


def channel_for(user: User) -> str | None:
    """Mail to the account's address, unless it was never confirmed while the phone was (the
    unconfirmed address a WeChat account typed for the newsletter may be anybody's); else a text
    to the phone; else nothing."""
    if user.email and (user.email_verified_at or not user.phone_verified_at):
        return "mail"
    if user.phone:
        return "sms"
    return None


def _deliver(user: User, kind: str, spec: Kind, values: dict[str, str], path: str) -> str:
    lang = user.preferred_language
    lang = lang if lang in current_app.config["LANGUAGES"] else "zh_CN"
    url = current_app.config["SERVER_NAME_FOR_MAIL"].rstrip("/") + path
    channel = channel_for(user)
    if channel == "mail":
        with in_language(lang):
            title, text = _render(spec, values)
            action = str(spec.action)
        send_mail(
            user.email,
            "notification",
            lang,
            user_name=user.name,
            title=title,
            text=text,
            action=action,
            link=url,
            inbox_url=external_url("account.notifications"),
        )
    elif channel == "sms":
        with in_language(lang):
            _title, text = _render(spec, values)
            message = _("[Xometry Asia] %(text)s %(url)s", text=text, url=url)
        try:
            sms.send_text(user.phone, message, purpose=f"sms_{kind}")
        except sms.SmsError:  # a misconfigured provider: the inbox still has it
            log.error("notification.sms_failed kind=%s user=%s", kind, user.id)
            return "none"
    else:
        log.warning("notification.no_channel kind=%s user=%s", kind, user.id)
    return channel or "none"


def _kind(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise NotificationError(f"unknown notification kind {kind!r}") from None


def _clean_params(kind: str, spec: Kind, params: dict[str, Any]) -> dict[str, str]:
    """Plain JSON values, exactly the kind's parameters: no free text slips into the inbox."""
    if set(params) != set(spec.params):
        raise NotificationError(f"{kind} takes {sorted(spec.params)}, not {sorted(params)}")
    return {name: _clean_value(name, spec.params[name], params[name]) for name in spec.params}


def _clean_value(name: str, kind: str, value: Any) -> str:
    if kind == MONEY:
        if isinstance(value, float | bool):  # money is never a float
            raise NotificationError(f"{name} is not an amount")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise NotificationError(f"{name} is not an amount") from None
        if not amount.is_finite():
            raise NotificationError(f"{name} is not an amount")
        return str(amount.quantize(Decimal("0.01")))
    if kind == DATE:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise NotificationError(f"{name} must be an aware datetime")
            return value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        raise NotificationError(f"{name} is not a date")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise NotificationError(f"{name} must be text or a number")
    text = str(value).strip()
    if not text or len(text) > MAX_VALUE or not text.isprintable():
        raise NotificationError(f"{name} must be one short line")
    return text


def _clean_link(link: str) -> str:
    """A path on this site ("/orders/XA-…"): the mail makes it absolute with SITE_URL."""
    if (
        not isinstance(link, str)
        or not link.startswith("/")
        or link.startswith("//")
        or "\\" in link
        or len(link) > 200
        or not link.isprintable()
        or " " in link
    ):
        raise NotificationError(f"link {link!r} is not a site path")
    return link


# --- reading -------------------------------------------------------------------------------------


def _render(spec: Kind, params: dict[str, Any]) -> tuple[str, str]:
    """Title and text in the current locale (a parameter a row lacks reads as a dash)."""
    values = {name: _show(kind, params.get(name)) for name, kind in spec.params.items()}
    return str(spec.title) % values, str(spec.text) % values


def _show(kind: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        if kind == MONEY:
            return f"¥{Decimal(str(value)):,.2f}"  # as the `cny` filter shows money
        if kind == DATE:
            moment = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
            return format_date(moment, "long")
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    if kind == CARRIER:  # the shipping form's list (services/orders/carriers.py)
        from .orders.carriers import carrier_name

        return str(carrier_name(value))
    return str(value)


def kind_name(kind: str) -> str:
    """What a kind is called ("Order shipped"), for "My data"."""
    spec = KINDS.get(kind)
    return str(spec.name) if spec else kind


@dataclass(frozen=True)
class Message:
    """One inbox line as the reader sees it, in the page's language."""

    id: int
    created_at: datetime
    title: str
    text: str
    link: str
    unread: bool


def as_message(row: Notification) -> Message:
    """The row in words; a kind this release no longer knows still shows, without words."""
    spec = KINDS.get(row.kind)
    if spec is None:
        title, text = str(_l("Message")), ""
    else:
        title, text = _render(spec, row.params or {})
    return Message(row.id, row.created_at, title, text, row.link_path, row.read_at is None)


def inbox_page(user: User, page: int) -> tuple[list[Notification], bool]:
    """One page of the user's messages, newest first, and whether older ones follow."""
    rows = list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def mark_read(user: User, ids: list[int]) -> int:
    """Mark the messages the user has now seen as read; returns how many were unread."""
    if not ids:
        return 0
    marked = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.id.in_(ids),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    ).rowcount
    db.session.commit()
    return marked
