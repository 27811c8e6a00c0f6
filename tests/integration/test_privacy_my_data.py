"""My data (policy 5.1): everything held about the signed-in user, by the appendix's categories."""

from __future__ import annotations

import re

import pytest
from privacy_support import add_drawing, fill_everything

from xometry_site.extensions import db
from xometry_site.models import AuditEvent


def test_my_data_needs_signing_in(client):
    response = client.get("/privacy")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_my_data_shows_every_category_with_purpose_and_correction_links(client, user, login_as):
    fill_everything(user)
    login_as(user)
    response = client.get("/privacy?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    for title in (
        "Registration",
        "Request a quote",
        "Personal Center – account information",
        "Personal Center – shipping information",
        "Personal Center – invoice information",
        "Running your account",
    ):
        assert title in page
    assert "To ship ordered products." in page  # the appendix's purpose
    # registration, account, shipping, invoice, quotes, running: the values themselves
    for value in (
        user.email,
        user.phone,
        "采购经理",
        "李四收货",
        "王小明发票",
        "支架-bracket.step",
    ):
        assert value in page
    assert "o-OPENID-123456" in page  # WeChat OpenID (appendix: registration)
    assert "203.0.113.7" in page  # sign-in history
    assert "上海市" in page or "Shanghai" in page  # region codes shown as names
    assert "Hongkou District" in page and "310109" not in page  # the district too, by name
    # sensitive values are masked on the page
    from privacy_support import ID_NUMBER

    assert ID_NUMBER not in page
    assert ID_NUMBER[-4:] in page
    # where to correct each kind
    assert 'href="/account/profile"' in page
    assert 'href="/account/addresses"' in page
    assert 'href="/account/invoice"' in page
    assert "/account/addresses/" in page and "/edit" in page
    # consents with their edition
    assert "Data Protection Policy" in page
    assert re.search(r">\s*2024\s*<", page)  # the edition's name


def test_my_data_in_chinese_by_default(client, user, login_as):
    login_as(user)
    page = client.get("/privacy").get_data(as_text=True)
    assert "我的数据" in page
    assert "注册" in page


def test_no_one_elses_data_is_shown(client, make_user, login_as):
    me, other = make_user(), make_user()
    fill_everything(other)
    login_as(me)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert other.email not in page
    assert "李四收货" not in page
    assert "支架-bracket.step" not in page


def test_staff_access_to_my_drawings_is_shown_but_not_my_own_actions(client, make_user, login_as):
    user = make_user()
    staff = make_user(name="工程师王", is_staff=True)
    drawing = add_drawing(user)
    db.session.add(
        AuditEvent(
            actor_id=staff.id,
            subject_id=user.id,
            action="drawing.download",
            target=f"drawing:{drawing.id}",
        )
    )
    db.session.add(AuditEvent(actor_id=user.id, subject_id=user.id, action="export.requested"))
    db.session.commit()
    login_as(user)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "A staff member downloaded your drawing" in page
    assert "工程师王" in page
    assert f"Drawing #{drawing.id}" in page
    assert "export.requested" not in page


# --- the customer's language: names, money, the drawing's quote, deletion only where possible ---


def _ordered_and_open_drawings(owner):
    """A CNC quote that became an order (its drawing kept by law) and one still open."""
    from datetime import timedelta
    from decimal import Decimal

    from xometry_site.models import Order, Quote
    from xometry_site.models.base import utcnow

    ordered = Quote(
        user_id=owner.id,
        quantity=1,
        status="ordered",
        process="cnc_machining",
        material="al6061",
        finish="anodized_black",
        total=Decimal("1234.50"),
        ordered_total=Decimal("1234.50"),
    )
    open_quote = Quote(
        user_id=owner.id, quantity=1, status="quoted", process="sla", material="resin_clear"
    )
    db.session.add_all([ordered, open_quote])
    db.session.flush()
    order = Order(
        user_id=owner.id,
        quote_id=ordered.id,
        number="XA-2026-000042",
        lead_choice="standard",
        lead_days=7,
        ship_by=utcnow().date() + timedelta(days=10),
        subtotal=Decimal("1092.48"),
        vat_rate=Decimal("0.13"),
        vat=Decimal("142.02"),
        total=Decimal("1234.50"),
        remittance_reference="XA26000042",
        parts=[],
        shipping={"recipient": "张三"},
    )
    order.invoice = {"kind": "corporate", "company_name": "上海测试有限公司"}
    db.session.add(order)
    db.session.commit()
    kept = add_drawing(owner, quote=ordered, filename="订单件.step")
    kept.process, kept.material, kept.finish = "cnc_machining", "al6061", "anodized_black"
    loose = add_drawing(owner, quote=open_quote, filename="样件.stl")
    db.session.commit()
    return ordered, kept, open_quote, loose


@pytest.mark.parametrize(
    ("lang", "material", "finish", "resin", "kept_reason"),
    [
        ("zh_CN", "铝合金 6061-T6", "阳极氧化（黑色）", "透明树脂", "随订单 XA-2026-000042 保留"),
        (
            "en",
            "Aluminium 6061-T6",
            "Anodized, black",
            "Clear resin",
            "Kept with order XA-2026-000042",
        ),
    ],
)
def test_my_data_speaks_the_customers_language(
    client, make_user, login_as, lang, material, finish, resin, kept_reason
):
    owner = make_user()
    ordered, kept, open_quote, loose = _ordered_and_open_drawings(owner)
    login_as(owner)
    page = client.get(f"/privacy?lang={lang}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", page)
    # names, never codes
    assert material in text and finish in text and resin in text
    for code in ("al6061", "anodized_black", "resin_clear", "cnc_machining"):
        assert code not in text, code
    # money in yuan with two decimals
    assert "¥1,234.50" in text and "1234.50" not in text
    # each drawing names its quote, linked
    assert f'href="/quotes/{ordered.ref}"' in page and f'href="/quotes/{open_quote.ref}"' in page
    # delete only what can be deleted; the kept drawing says why instead
    assert f'action="/privacy/drawings/{loose.id}/delete"' in page
    assert f'action="/privacy/drawings/{kept.id}/delete"' not in page
    assert kept_reason in text
    assert f'action="/privacy/quotes/{ordered.ref}/delete"' not in page


def test_staff_access_names_the_record_instead_of_its_code(client, make_user, login_as):
    user = make_user()
    staff = make_user(is_staff=True)
    drawing = add_drawing(user)
    db.session.add(
        AuditEvent(
            actor_id=staff.id, subject_id=user.id, action="drawing.download",
            target=f"drawing:{drawing.id}",
        )
    )  # fmt: skip
    db.session.commit()
    login_as(user)
    assert f"图纸 #{drawing.id}" in client.get("/privacy?lang=zh_CN").get_data(as_text=True)
    page = client.get("/privacy?lang=en").get_data(as_text=True)
    assert f"Drawing #{drawing.id}" in page and f"drawing:{drawing.id}" not in page
