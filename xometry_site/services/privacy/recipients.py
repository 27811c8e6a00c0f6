"""The register of entrusted processors and third parties (policy 4), and the public list of it.

Staff keep the register; `/policy/third-parties` (第三方信息共享清单) is generated from it. A
recipient is ended, never deleted: provisions and consents keep naming it. The public list shows
the recipients in use today, and the ended ones for as long as records of provisions to them are
kept (RETENTION_EVIDENCE_DAYS, three years by default: PIPL art. 56), so anyone whose information
went to one can still read who it was; after that an ended recipient drops off the public list and
stays in the staff register.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Recipient, User
from ...models.sharing import MAINLAND_CHINA
from ..accounts.addresses import MAX_ROW_ID
from ..languages import in_language
from . import audit_trail

ROLE_LABELS = {
    "manufacturer": _l("Manufacturer"),
    "logistics": _l("Logistics"),
    "payment": _l("Payment"),
    "sms": _l("Text messages (SMS)"),
    "mail": _l("E-mail"),
    "cloud_storage": _l("Cloud storage"),
}
KIND_LABELS = {
    "entrusted": _l("Entrusted processing (processes it only on our instructions)"),
    "provided": _l("Provided to a third party (only with your separate consent)"),
}


@dataclass(frozen=True)
class PIType:
    """A kind of personal information a recipient may receive, and the registry category
    (pi_registry.CATEGORIES) it is collected under."""

    code: str
    label: Any
    category: str


PI_TYPES: tuple[PIType, ...] = (
    PIType("name", _l("Name"), "registration"),
    PIType("phone", _l("Phone number"), "registration"),
    PIType("email", _l("E-mail address"), "registration"),
    PIType("wechat_openid", _l("WeChat OpenID"), "registration"),
    PIType("drawings", _l("Drawings and part requirements"), "quotes"),
    PIType("order", _l("Order details (parts, quantities, amounts)"), "quotes"),
    PIType("payment", _l("Payment details (amount, transaction number)"), "quotes"),
    PIType("shipping", _l("Shipping details (recipient, phone, address)"), "shipping"),
    PIType("invoice", _l("Invoice details (company name, tax number, invoice e-mail)"), "invoice"),
    PIType("bank_account", _l("Bank account"), "invoice"),
    PIType(
        "messages", _l("Messages to you (text messages and e-mails, with their content)"), "running"
    ),
    PIType(
        "encrypted_files",
        _l("Files we store, encrypted (drawings, fapiao, copies of your data)"),
        "quotes",
    ),
)
PI_TYPE_BY_CODE = {t.code: t for t in PI_TYPES}


def pi_type_name(code: str) -> str:
    kind = PI_TYPE_BY_CODE.get(code)
    return str(kind.label) if kind else code


def country_name(code: str, locale: Any) -> str:
    """The country or region in the page's language (Babel's CLDR names)."""
    return locale.territories.get(code, code) if locale is not None else code


def country_codes(locale: Any) -> list[tuple[str, str]]:
    """Every ISO 3166-1 country or region as (code, name), mainland China first."""
    names = {c: n for c, n in locale.territories.items() if len(c) == 2 and c.isalpha()}
    rest = sorted((c for c in names if c != MAINLAND_CHINA), key=lambda c: names[c])
    return [(MAINLAND_CHINA, names.get(MAINLAND_CHINA, MAINLAND_CHINA))] + [
        (c, names[c]) for c in rest
    ]


# --- the register (staff) ------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientData:
    """What staff write about a recipient, as the form hands it over."""

    name_zh: str
    name_en: str
    role: str
    kind: str
    purpose_zh: str
    purpose_en: str
    categories: list[str]
    country: str
    contact: str | None
    since: date
    until: date | None


def register() -> list[Recipient]:
    """Every recipient, in use first, then by role and name (the staff list)."""
    return list(
        db.session.scalars(
            sa.select(Recipient).order_by(
                Recipient.until.is_not(None), Recipient.role, Recipient.name_en, Recipient.id
            )
        )
    )


def get(recipient_id: int) -> Recipient | None:
    """The recipient, or None; also for an id no row can have (the database refuses integers
    past 32 bits with an error)."""
    if not 0 < recipient_id <= MAX_ROW_ID:
        return None
    return db.session.get(Recipient, recipient_id)


def save(staff: User, data: RecipientData, recipient: Recipient | None = None) -> Recipient:
    """Add a recipient or change one; the audit log says which staff member did it."""
    if recipient is None:
        recipient = Recipient()
        db.session.add(recipient)
    for name, value in asdict(data).items():
        setattr(recipient, name, value)
    db.session.flush()
    audit_trail.record(
        "staff.recipient_saved",
        subject_id=None,
        actor_id=staff.id,
        target=f"recipient:{recipient.id}",
    )
    db.session.commit()
    return recipient


def end(staff: User, recipient: Recipient, day: date) -> None:
    """Stop using a recipient from `day` on: no new provision or consent; the lists say so."""
    recipient.until = max(day, recipient.since)
    audit_trail.record(
        "staff.recipient_ended",
        subject_id=None,
        actor_id=staff.id,
        target=f"recipient:{recipient.id}",
    )
    db.session.commit()


# --- the public list ------------------------------------------------------------------------------


def in_use(today: date) -> list[Recipient]:
    """Recipients used today, by role and name."""
    return list(
        db.session.scalars(
            sa.select(Recipient)
            .where(
                Recipient.since <= today,
                sa.or_(Recipient.until.is_(None), Recipient.until > today),
            )
            .order_by(Recipient.role, Recipient.name_en, Recipient.id)
        )
    )


def ended_listed(today: date) -> list[Recipient]:
    """Recipients no longer used, listed while records of provisions to them are kept."""
    shown_from = today - timedelta(days=current_app.config["RETENTION_EVIDENCE_DAYS"])
    return list(
        db.session.scalars(
            sa.select(Recipient)
            .where(Recipient.until <= today, Recipient.until > shown_from)
            .order_by(Recipient.until.desc(), Recipient.name_en, Recipient.id)
        )
    )


def name_of(recipient_id: int | str | None, locale: Any) -> str:
    """A recipient's name in the page's language ("—" for none)."""
    if recipient_id in (None, ""):
        return "—"
    recipient = db.session.get(Recipient, int(recipient_id))
    return recipient.name(locale) if recipient else str(recipient_id)


# --- the first register: what the site itself uses ----------------------------------------------


def _placeholder(zh: str, en: str) -> tuple[str, str]:
    return f"{zh}（待运营方填写）", f"{en} (to be named by the operator)"


def starting_register(today: date) -> list[RecipientData]:
    """The processors the site's code really hands personal information to. Where the code does
    not know the company (the SMS, mail and storage providers are settings; the manufacturers are
    the operator's partners), the name says it is a placeholder; contacts are left for the
    operator. Carriers are the site's own list of carriers staff ship with."""
    from ..orders.carriers import CARRIERS

    def entry(names, role, purposes, categories, kind="entrusted") -> RecipientData:
        return RecipientData(
            name_zh=names[0],
            name_en=names[1],
            role=role,
            kind=kind,
            purpose_zh=purposes[0],
            purpose_en=purposes[1],
            categories=categories,
            country=MAINLAND_CHINA,
            contact=None,
            since=today,
            until=None,
        )

    found = [
        entry(
            _placeholder("制造合作伙伴", "Manufacturing partner"),
            "manufacturer",
            ("按您的订单生产零件", "To manufacture the parts you order"),
            ["drawings", "order"],
        ),
        entry(
            _placeholder("短信服务商", "SMS provider"),
            "sms",
            ("发送验证码和服务通知短信", "To send sign-in codes and service text messages"),
            ["phone", "messages"],
        ),
        entry(
            _placeholder("邮件服务商", "E-mail service"),
            "mail",
            (
                "发送服务邮件（验证、订单、数据申请）",
                "To deliver service e-mails (verification, orders, data requests)",
            ),
            ["name", "email", "messages"],
        ),
        entry(
            _placeholder("对象存储服务商", "Object storage provider"),
            "cloud_storage",
            (
                "存储加密后的图纸、发票和数据副本；服务商无法读取其内容",
                "To store drawings, fapiao and copies of your data, encrypted: the provider cannot read them",
            ),
            ["encrypted_files"],
        ),
        entry(
            ("微信支付（腾讯）", "WeChat Pay (Tencent)"),
            "payment",
            ("处理您通过微信支付的订单付款", "To process the payments you make with WeChat Pay"),
            ["order", "payment", "wechat_openid"],
        ),
    ]
    for code, (name, _url) in CARRIERS.items():
        if code == "other":
            continue
        with in_language("zh_CN"):
            zh = str(name)
        with in_language("en"):
            en = str(name)
        found.append(
            entry(
                (zh, en),
                "logistics",
                ("配送您订购的零件", "To deliver the parts you ordered"),
                ["name", "shipping"],
            )
        )
    return found


def seed(staff: User | None, today: date) -> int:
    """Fill an empty register with `starting_register`; a register with anything in it is left
    alone (the operator's edits win). Returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count(Recipient.id))):
        return 0
    entries = starting_register(today)
    for data in entries:
        recipient = Recipient(**asdict(data))
        db.session.add(recipient)
    audit_trail.record(
        "staff.recipients_seeded", subject_id=None, actor_id=staff.id if staff else None
    )
    db.session.commit()
    return len(entries)
