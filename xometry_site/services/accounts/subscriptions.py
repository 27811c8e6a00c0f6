"""E-mail subscription (policy 1.7): double opt-in, withdrawal at once, one-click unsubscribe."""

from __future__ import annotations

from ...extensions import db
from ...models import Consent, User
from ...models.base import utcnow
from ..mail import external_url, send_mail
from ..privacy import consents
from . import mail_links

KIND = "subscription"
CONFIRM_PURPOSE = "subscription-confirm"
CONFIRM_MAX_AGE = 7 * 24 * 3600
UNSUBSCRIBE_PURPOSE = "unsubscribe"
# An unsubscribe link in a year-old newsletter must still work; it can only ever stop mail.
UNSUBSCRIBE_MAX_AGE = None


def mail_language(user: User) -> str:
    """Every mail to a user speaks their preferred language (Chinese when they chose none)."""
    return user.preferred_language if user.preferred_language in ("zh_CN", "en") else "zh_CN"


def pending(user: User) -> Consent | None:
    """A subscription asked for but not yet confirmed from the mailbox."""
    return db.session.scalar(
        db.select(Consent)
        .filter_by(user_id=user.id, kind=KIND, withdrawn_at=None, confirmed_at=None)
        .order_by(Consent.id.desc())
        .limit(1)
    )


def state(user: User) -> str:
    """ "subscribed", "pending" (waiting for the confirmation link) or "none"."""
    if consents.active(user, KIND) is not None:
        return "subscribed"
    return "pending" if pending(user) is not None else "none"


def subscribe(user: User, *, ip: str | None, source: str) -> str:
    """Record the wish (unconfirmed) and mail the confirmation link; returns the new state."""
    if not user.email:
        raise ValueError("a subscription needs an e-mail address")
    if consents.active(user, KIND) is not None:
        return "subscribed"
    consent = pending(user) or consents.record(user, KIND, ip=ip, source=source, confirmed=False)
    db.session.flush()
    send_confirmation(user, consent)  # commits the wish with its mail
    return "pending"


def send_confirmation(user: User, consent: Consent, *, commit: bool = True) -> None:
    """The double opt-in mail; it already carries an unsubscribe link and header. Commits it
    (with the caller's pending event) unless the caller commits it itself."""
    token = mail_links.make(CONFIRM_PURPOSE, {"c": consent.id, "u": user.id})
    send_mail(
        user.email,
        "subscription_confirm",
        mail_language(user),
        headers=unsubscribe_headers(user),
        user_name=user.name,
        confirm_url=external_url("account.confirm_subscription", token=token),
        unsubscribe_url=unsubscribe_url(user),
    )
    if commit:
        db.session.commit()


def confirm(token: str) -> str:
    """Open the confirmation link: "confirmed", "withdrawn" (cancelled meanwhile) or "invalid"."""
    payload = mail_links.read(CONFIRM_PURPOSE, token, CONFIRM_MAX_AGE)
    if not isinstance(payload, dict):
        return "invalid"
    consent = db.session.get(Consent, payload.get("c"))
    if consent is None or consent.kind != KIND or consent.user_id != payload.get("u"):
        return "invalid"
    if consent.withdrawn_at is not None:
        return "withdrawn"
    if consent.confirmed_at is None:
        consent.confirmed_at = utcnow()
        db.session.commit()
    return "confirmed"


def unsubscribe(user: User) -> int:
    """Withdraw at once, pending requests included; returns how many consents ended."""
    ended = consents.withdraw(user, KIND)
    db.session.commit()
    return ended


def unsubscribe_url(user: User) -> str:
    """A signed link that unsubscribes without signing in, valid as long as mail may carry it."""
    return external_url("mailing.unsubscribe", token=mail_links.make(UNSUBSCRIBE_PURPOSE, user.id))


def user_from_unsubscribe_token(token: str) -> User | None:
    """The subscriber a genuine unsubscribe link names, or None."""
    user_id = mail_links.read(UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_MAX_AGE)
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def unsubscribe_headers(user: User) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail programs show an "Unsubscribe" button that POSTs."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def subscribers() -> list[User]:
    """Active accounts with an e-mail address and a confirmed, not withdrawn subscription."""
    confirmed = (
        db.select(Consent.user_id)
        .filter_by(kind=KIND, withdrawn_at=None)
        .filter(Consent.confirmed_at.is_not(None))
    )
    users = db.session.scalars(
        db.select(User).filter(User.id.in_(confirmed), User.email.is_not(None)).order_by(User.id)
    )
    return [user for user in users if user.is_active]


def send_newsletter(subjects: dict[str, str], bodies: dict[str, str]) -> int:
    """One mail per subscriber in their language, through the mail queue; returns how many."""
    sent = 0
    for user in subscribers():
        lang = mail_language(user)
        send_mail(
            user.email,
            "newsletter",
            lang,
            headers=unsubscribe_headers(user),
            newsletter_subject=subjects[lang],
            body=bodies[lang],
            user_name=user.name,
            unsubscribe_url=unsubscribe_url(user),
        )
        db.session.commit()  # each subscriber's mail on its own: a failure half-way loses none
        sent += 1
    return sent
