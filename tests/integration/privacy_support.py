"""Shared by the test_privacy_* modules: a user with data in every category, stored drawings."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flask import current_app

from xometry_site.extensions import db
from xometry_site.models import (
    Drawing,
    InvoiceProfile,
    Quote,
    QuoteMessage,
    Recipient,
    ShippingAddress,
    SignInEvent,
    User,
    WeChatIdentity,
)
from xometry_site.services.keyring import get_keyring
from xometry_site.services.privacy import recipients
from xometry_site.services.storage import get_storage
from xometry_site.services.vault import store_encrypted

ID_17 = "11010519491231002"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER = (
    ID_17 + "10X98765432"[sum(int(d) * w for d, w in zip(ID_17, _WEIGHTS, strict=True)) % 11]
)
ANSWER = "螺纹按 M6 粗牙 — my answer"
DRAWING = b"ISO-10303-21;\nHEADER;\n/* a bracket, secret dimensions 42.5 */\nENDSEC;\n" * 50


# a recipient that decides for itself what it does with the information (PIPL art. 23): it needs
# the customer's separate consent
LABORATORY = {
    "name_zh": "上海检测认证中心",
    "name_en": "Shanghai Inspection Centre",
    "role": "manufacturer",
    "kind": "provided",
    "purpose_zh": "出具第三方检测报告",
    "purpose_en": "Issues independent inspection reports",
    "categories": ["drawings", "name", "phone"],
    "contact": "021-0000 0000",
}


def register_recipient(**values) -> Recipient:
    """A recipient saved on the staff register as staff save one (audited); the laboratory
    unless `values` say otherwise."""
    staff = db.session.scalar(db.select(User).filter_by(email="register-staff@example.com"))
    if staff is None:
        staff = User(email="register-staff@example.com", name="王客服", is_staff=True)
        db.session.add(staff)
        db.session.commit()
    fields = {
        **LABORATORY,
        "country": "CN",
        "since": date.today() - timedelta(days=30),
        "until": None,
        **values,
    }
    return recipients.save(staff, recipients.RecipientData(**fields))


def storage():
    return get_storage(current_app._get_current_object())


def add_quote(user, status: str = "quoted", **values) -> Quote:
    quote = Quote(
        user_id=user.id,
        process="cnc",
        material="aluminium_6061",
        quantity=2,
        status=status,
        notes="请加工倒角 — confidential note",
        **values,
    )
    db.session.add(quote)
    db.session.flush()
    return quote


def add_drawing(user, content: bytes = DRAWING, *, quote=None, filename="支架-bracket.step"):
    """A drawing stored the way uploads store it: encrypted blob + wrapped key on the row."""
    app = current_app._get_current_object()
    stored = store_encrypted(get_storage(app), get_keyring(app), [content])
    quote = quote or add_quote(user)
    drawing = Drawing(
        quote_id=quote.id,
        user_id=user.id,
        filename=filename,
        extension="step",
        size=stored.size,
        sha256=stored.sha256,
        blob_id=stored.blob_id,
        key_id=stored.kid,
        wrapped_key=stored.wrapped_dek,
        geometry={"volume_mm3": 1234.5},
    )
    db.session.add(drawing)
    db.session.commit()
    return drawing


def fill_everything(user) -> dict:
    """Give the user data in every appendix category, as the features would store it."""
    user.job_title = "采购经理"
    user.invoice_email = "fapiao-person@example.com"
    user.preferred_language = "zh_CN"
    db.session.add(
        ShippingAddress(
            user_id=user.id,
            organization="上海某某机械有限公司",
            recipient="李四收货",
            address="虹口区黎阳路735号4号楼",
            phone="+8613900001111",
            province="310000",
            city="310100",
            district="310109",
            postal_code="200080",
            is_default=True,
        )
    )
    db.session.add(
        InvoiceProfile(
            user_id=user.id,
            kind="personal",
            name="王小明发票",
            tax_number=ID_NUMBER,
            province="310000",
            city="310100",
            address="黎阳路1号",
            postal_code="200080",
            invoice_email="me-invoice@example.com",
        )
    )
    db.session.add(WeChatIdentity(user_id=user.id, appid="wx-test", openid="o-OPENID-123456"))
    db.session.add(
        SignInEvent(
            user_id=user.id, method="password", ip_address="203.0.113.7", user_agent="TestBrowser/1"
        )
    )
    db.session.commit()
    drawing = add_drawing(user)
    db.session.add_all(
        [
            QuoteMessage(quote_id=drawing.quote_id, kind="question", body="Which thread?"),
            QuoteMessage(quote_id=drawing.quote_id, author_id=user.id, kind="answer", body=ANSWER),
        ]
    )
    db.session.commit()
    return {"drawing": drawing}


def personal_strings(user) -> list[str]:
    """Values that identify this user and must be gone after erasure."""
    return [
        user.email,
        user.name,
        user.phone,
        "采购经理",
        "fapiao-person@example.com",
        "李四收货",
        "黎阳路735号4号楼",
        "王小明发票",
        "me-invoice@example.com",
        "o-OPENID-123456",
        "203.0.113.7",
        "支架-bracket.step",
        "confidential note",
        ANSWER,
    ]


def dump_database() -> str:
    """Every value of every row of every table, as one string (to prove something is gone)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            parts.extend(repr(value) for value in row)
    return "\n".join(parts)


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def links_in(message) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text_of(message))


def messages_to(mailbox, address: str) -> list:
    return [m for m in mailbox if address in m["X-Envelope-To"]]


def aware(year, month, day, hour=12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def notice_form(title_zh: str, title_en: str, body_zh: str, body_en: str, **extra) -> dict:
    """The staff notice form: the parts policy 3.2 lists, `body_*` as what happened."""
    data = {"title_zh": title_zh, "title_en": title_en, **extra}
    for part in ("happened", "impact", "measures", "advice", "remedies"):
        data[f"{part}_zh"] = body_zh if part == "happened" else f"{part}（中文）"
        data[f"{part}_en"] = body_en if part == "happened" else f"{part} (English)"
    return data
