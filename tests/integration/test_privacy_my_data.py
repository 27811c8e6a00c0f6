"""My data (policy 5.1): everything held about the signed-in user, by the appendix's categories."""

from __future__ import annotations

import re

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
    assert f"drawing:{drawing.id}" in page
    assert "export.requested" not in page
