"""Notices to users: security-incident notices (policy 3.2) and policy updates (policy 7).

Incident notices are written by staff in both languages, in the parts policy 3.2 lists (what
happened, possible impact, measures taken, advice for self-protection, remedies), for everyone or
for a list of addresses. Each recipient (accounts in their cooling-off period too: their data is
still held) gets a receipt, sees the notice on their pages until they dismiss it, gets it by mail
in their own language and, with a phone number (WeChat-only accounts too), by text message. A policy update is noticed when a user's newest consent to the policy
is for an older edition than the one in force.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Notice, NoticeReceipt, User
from ...models.base import utcnow
from .. import sms
from ..jobs import enqueue, task
from ..languages import in_language
from ..mail import external_url, send_mail
from . import audit_trail

log = logging.getLogger(__name__)


# the parts of an incident notice, in the order policy 3.2 lists them
PARTS = (
    ("happened", _l("What happened")),
    ("impact", _l("Possible impact")),
    ("measures", _l("Measures we took and will take")),
    ("advice", _l("How to protect yourself")),
    ("remedies", _l("Remedies available to you")),
)


@dataclass(frozen=True)
class NoticeText:
    """What staff wrote, in both languages."""

    title_zh: str
    title_en: str
    body_zh: str
    body_en: str

    @classmethod
    def from_parts(
        cls, title_zh: str, title_en: str, zh: dict[str, str], en: dict[str, str]
    ) -> NoticeText:
        """A notice from the parts policy 3.2 lists (keys of PARTS), each under its heading."""
        return cls(title_zh, title_en, _compose(zh, "zh_CN"), _compose(en, "en"))


def _compose(parts: dict[str, str], lang: str) -> str:
    with in_language(lang):
        return "\n\n".join(
            f"{heading}\n{parts[key].strip()}"
            for key, heading in PARTS
            if parts.get(key, "").strip()
        )


def parse_addresses(text: str | None) -> list[str]:
    """E-mail addresses from a pasted list: commas, semicolons, spaces or lines; lower-cased, once."""
    seen: dict[str, None] = {}
    for part in (text or "").replace(",", " ").replace(";", " ").split():
        seen.setdefault(part.strip().lower(), None)
    return list(seen)


def publish(
    staff: User, text: NoticeText, audience: str, addresses: list[str] | None = None
) -> tuple[Notice, int, list[str]]:
    """Create the notice and a receipt per recipient, then mail them; returns unknown addresses."""
    notice = Notice(
        title_zh=text.title_zh,
        title_en=text.title_en,
        body_zh=text.body_zh,
        body_en=text.body_en,
        audience=audience,
        created_by_id=staff.id,
    )
    db.session.add(notice)
    db.session.flush()
    # accounts in their cooling-off period are affected too: their data is held until erasure
    query = sa.select(User.id, User.email).where(User.erased_at.is_(None))
    unknown: list[str] = []
    if audience == "selected":
        wanted = addresses or []
        query = query.where(User.email.in_(wanted))
        found = {email for _id, email in db.session.execute(query)}
        unknown = [a for a in wanted if a not in found]
    recipients = [user_id for user_id, _email in db.session.execute(query)]
    db.session.add_all(NoticeReceipt(notice_id=notice.id, user_id=uid) for uid in recipients)
    audit_trail.record(
        "staff.notice_published",
        subject_id=None,
        actor_id=staff.id,
        target=f"notice:{notice.id}:{len(recipients)}",
    )
    db.session.commit()
    enqueue(mail_notice_job, notice.id, queue="mail")
    enqueue(text_notice_job, notice.id, queue="mail")
    return notice, len(recipients), unknown


@task
def mail_notice_job(notice_id: int) -> None:
    """Mail every receipt not mailed yet, each in the recipient's language (idempotent)."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return
    pending = db.session.execute(
        sa.select(NoticeReceipt, User)
        .join(User, NoticeReceipt.user_id == User.id)
        .where(NoticeReceipt.notice_id == notice_id, NoticeReceipt.mailed_at.is_(None))
        .order_by(NoticeReceipt.id)
    ).all()
    for receipt, user in pending:
        if user.email:
            lang = (
                user.preferred_language or "zh_CN"
            )  # send_mail and Notice read any other as Chinese
            send_mail(
                user.email,
                "notice",
                lang,
                title=notice.title(lang),
                body=notice.body(lang),
                privacy_url=external_url("privacy.index"),
            )
        receipt.mailed_at = utcnow()
        db.session.commit()


def notice_sms(notice: Notice, lang: str) -> str:
    """The text message: the title and where the whole notice is (a text cannot hold it)."""
    with in_language(lang if lang in current_app.config["LANGUAGES"] else "zh_CN"):
        return _(
            "[Xometry Asia] %(title)s. What happened, its impact, what we did, how to protect "
            "yourself and your remedies: %(url)s",
            title=notice.title(lang),
            url=external_url("privacy.index"),
        )


@task
def text_notice_job(notice_id: int) -> None:
    """Text every recipient with a phone not texted yet, in their language (idempotent); one
    failure does not stop the others, and a later run retries what failed."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return
    pending = db.session.execute(
        sa.select(NoticeReceipt, User)
        .join(User, NoticeReceipt.user_id == User.id)
        .where(
            NoticeReceipt.notice_id == notice_id,
            NoticeReceipt.texted_at.is_(None),
            User.phone.is_not(None),
            User.erased_at.is_(None),
        )
        .order_by(NoticeReceipt.id)
    ).all()
    for receipt, user in pending:
        try:
            text = notice_sms(notice, user.preferred_language or "zh_CN")
            sms.send_text(user.phone, text, purpose="sms_notice")
        except sms.SmsError:
            log.warning("notice.sms_failed notice=%s receipt=%s", notice_id, receipt.id)
            continue
        receipt.texted_at = utcnow()  # handed to the outbox, in the same transaction
        db.session.commit()


def published() -> list[Notice]:
    """Every notice staff have sent, newest first (the staff notices page)."""
    return list(db.session.scalars(sa.select(Notice).order_by(Notice.created_at.desc())))


def visible_to(user: User) -> list[Notice]:
    """Notices the user has not dismissed, newest first (the banner on every page)."""
    return list(
        db.session.scalars(
            sa.select(Notice)
            .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
            .where(NoticeReceipt.user_id == user.id, NoticeReceipt.dismissed_at.is_(None))
            .order_by(Notice.created_at.desc(), Notice.id.desc())
        )
    )


def all_for(user: User) -> list[tuple[Notice, NoticeReceipt]]:
    """Every notice sent to the user, dismissed or not ("My data")."""
    rows = db.session.execute(
        sa.select(Notice, NoticeReceipt)
        .join(NoticeReceipt, NoticeReceipt.notice_id == Notice.id)
        .where(NoticeReceipt.user_id == user.id)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    ).all()
    return [(notice, receipt) for notice, receipt in rows]


def dismiss(user: User, notice_id: int) -> bool:
    """Hide a notice from the banner (it stays listed under "My data")."""
    receipt = db.session.scalar(
        sa.select(NoticeReceipt).filter_by(user_id=user.id, notice_id=notice_id)
    )
    if receipt is None:
        return False
    receipt.dismissed_at = receipt.dismissed_at or utcnow()
    db.session.commit()
    return True


# --- policy updates ------------------------------------------------------------------------------


def outdated_policy_edition(user: User) -> str | None:
    """The id of the edition the user last accepted, when an edition in force is newer; else None.

    A consent recorded under an edition's former date id counts as that edition's."""
    from ...policies import current_edition, get_edition, is_older

    accepted = user.accepted_policy_edition  # loaded with the user (models.User)
    if accepted is None:
        return None
    config = current_app.config
    if not is_older(config, accepted, current_edition(config)):
        return None
    edition = get_edition(config, accepted)
    return edition.id if edition else accepted


def accept_current_policy(user: User, ip: str | None) -> None:
    """Agreeing to a new edition is a new consent record; the older ones stay as evidence."""
    from . import consents

    consents.record(user, "policy", ip=ip, source="policy_update")
    db.session.commit()
