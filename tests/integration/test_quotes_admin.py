"""Staff review: the queue, audited downloads the owner can see, per-part prices, the mail."""

from __future__ import annotations

import re

import pytest
from test_quotes_support import cube_stl, pdf_bytes, post_quote

from xometry_site.models import AuditEvent, Quote


@pytest.fixture
def reviewed(client, db, make_user, login_as):
    """An English-speaking customer's quote: one STL (instant price) and one PDF (review)."""
    owner = make_user(preferred_language="en")
    login_as(owner)
    response = post_quote(client, [("cube.stl", cube_stl()), ("plan.pdf", pdf_bytes())])
    assert response.status_code == 303
    quote = db.session.scalar(db.select(Quote))
    assert quote.status == "in_review"
    staff = make_user(is_staff=True)
    login_as(staff)
    return owner, staff, quote


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_dashboard_and_queue_list_quotes_waiting_for_review(client, reviewed):
    _owner, _staff, quote = reviewed
    assert "/admin/quotes" in client.get("/admin/").get_data(as_text=True)
    page = text(client.get("/admin/quotes?lang=en"))
    assert quote.ref in page
    assert "In review (1)" in page
    assert "An engineer reads this file format" in page


def test_staff_download_is_audited_and_shown_to_the_owner(client, db, reviewed, login_as):
    owner, staff, quote = reviewed
    pdf = next(d for d in quote.drawings if d.extension == "pdf")
    response = client.get(f"/admin/quotes/{quote.ref}/files/{pdf.id}")
    assert response.status_code == 200
    assert response.data == pdf_bytes()
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="drawing.download"))
    assert (event.actor_id, event.subject_id, event.target) == (
        staff.id,
        owner.id,
        f"drawing:{pdf.id}",
    )
    login_as(owner)
    assert "Downloaded by our staff" in text(client.get(f"/quotes/{quote.ref}?lang=en"))
    # the owner's own downloads are not audited as staff access
    client.get(f"/quotes/{quote.ref}/files/{pdf.id}")
    assert db.session.query(AuditEvent).count() == 1


def test_engineer_prices_each_part_and_the_customer_is_mailed_in_english(
    client, db, reviewed, mailbox, login_as
):
    owner, staff, quote = reviewed
    stl = next(d for d in quote.drawings if d.extension == "stl")
    pdf = next(d for d in quote.drawings if d.extension == "pdf")
    form = client.get(f"/admin/quotes/{quote.ref}").get_data(as_text=True)
    assert f'name="price_{stl.id}"' in form and f'value="{stl.unit_price}"' in form  # pre-filled
    response = client.post(
        f"/admin/quotes/{quote.ref}",
        data={
            f"price_{stl.id}": str(stl.unit_price),
            f"price_{pdf.id}": "88.50",
            "lead_days_standard": "10",
            "lead_days_expedited": "6",
            "expedite_percent": "40",
            "note": "Threads M6 tapped.",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "quoted"
    assert quote.price_source == "engineer"
    assert pdf.line_total == pdf.unit_price * quote.quantity
    assert quote.subtotal == stl.line_total + pdf.line_total
    assert quote.reviewed_by_id == staff.id
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["X-Envelope-To"] == owner.email
    assert message["Subject"] == f"Your quote {quote.ref} is ready"
    assert f"/quotes/{quote.ref}" in message.get_body(("plain",)).get_content()
    login_as(owner)
    page = text(client.get(f"/quotes/{quote.ref}?lang=en"))
    assert "Reviewed by an engineer" in page
    assert "Threads M6 tapped." in page


def test_a_missing_or_zero_part_price_is_refused(client, db, reviewed, mailbox):
    _owner, _staff, quote = reviewed
    stl = next(d for d in quote.drawings if d.extension == "stl")
    pdf = next(d for d in quote.drawings if d.extension == "pdf")
    response = client.post(
        f"/admin/quotes/{quote.ref}",
        data={f"price_{stl.id}": "10", f"price_{pdf.id}": "0", "lead_days_standard": "5"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert quote.status == "in_review"
    assert mailbox == []


def test_a_chinese_customer_is_mailed_in_chinese_whatever_the_staff_page_language(
    client, db, make_user, login_as, mailbox
):
    owner = make_user(preferred_language="zh_CN")
    login_as(owner)
    assert post_quote(client, [("plan.pdf", pdf_bytes())]).status_code == 303
    quote = db.session.scalar(db.select(Quote))
    pdf = quote.drawings[0]
    login_as(make_user(is_staff=True, preferred_language="en"))
    response = client.post(
        f"/admin/quotes/{quote.ref}?lang=en",
        data={f"price_{pdf.id}": "120.00", "lead_days_standard": "8"},
    )
    assert response.status_code == 302
    assert [m["Subject"] for m in mailbox] == [f"您的报价 {quote.ref} 已生成"]
    body = mailbox[0].get_body(("plain",)).get_content()
    assert "¥271.20" in body  # 2 pcs × ¥120.00 + 13 % VAT
