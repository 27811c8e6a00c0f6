"""Staff review from the instant price and the findings: price, decline with a reason, or ask the
customer a question they answer on the quote page; the customer is mailed either way."""

from __future__ import annotations

import re

import pytest
from test_quotes_support import cube_stl, pdf_bytes, post_quote

from xometry_site.models import AuditEvent, Quote, QuoteEvent, QuoteMessage
from xometry_site.services.quotes import dfm


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def block(html: str, element_id: str, raw: bool = False) -> str:
    """The text (or `raw` HTML) of the element with this id, up to the first closing tag of its
    kind."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, element_id
    return match.group(2) if raw else text(match.group(2))


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def review_quote(client, db, make_user, login_as):
    """An English-speaking customer's quote: a cube (instant price) and a plan (review)."""
    owner = make_user(preferred_language="en")
    login_as(owner)
    response = post_quote(client, [("cube.stl", cube_stl()), ("plan.pdf", pdf_bytes())])
    assert response.status_code == 303
    quote = db.session.scalar(db.select(Quote))
    assert quote.status == "in_review"
    staff = make_user(is_staff=True)
    login_as(staff)
    return owner, staff, quote


def parts_of(quote):
    stl = next(d for d in quote.parts if d.extension == "stl")
    pdf = next(d for d in quote.parts if d.extension == "pdf")
    return stl, pdf


def test_staff_start_from_the_instant_price_the_findings_and_the_review_reason(
    client, review_quote, monkeypatch
):
    _owner, _staff, quote = review_quote
    stl, pdf = parts_of(quote)
    monkeypatch.setattr(
        dfm,
        "findings",
        lambda *args, **kwargs: [dfm.Finding("thin_walls", "warning", "Wall of 0.6 mm", {})],
    )
    html = client.get(f"/admin/quotes/{quote.ref}?lang=en").get_data(as_text=True)

    cube = block(html, f"part-{stl.id}")
    standard = stl.price_breakdown["standard"]
    assert "CNC machining" in cube and "Aluminium 6061-T6" in cube  # names, not codes
    assert "Standard inspection" in cube and "al6061" not in cube
    assert f"¥{stl.unit_price:,.2f} per part" in cube
    assert f"2 pcs: ¥{stl.line_total:,.2f} before VAT" in cube
    expedited = stl.price_breakdown["expedited"]["lead_days_expedited"]
    lead = f"Lead time: {standard['lead_days_standard']} working days, expedited {expedited}"
    assert lead in cube
    assert "Check Wall of 0.6 mm" in cube  # the finding with its severity

    plan = block(html, f"part-{pdf.id}")
    assert "No instant price: An engineer reads this file format" in plan
    assert "per part" not in plan

    # the price fields: the instant part's pre-filled, the reviewed part's empty
    assert re.search(rf'name="price_{stl.id}"[^>]*value="{stl.unit_price}"', html)
    assert not re.search(rf'name="price_{pdf.id}"[^>]*value="[^"]', html)


def test_attached_drawings_are_listed_with_their_audited_downloads(client, db, make_user, login_as):
    owner = make_user()
    login_as(owner)
    files = [("bracket.stl", cube_stl()), ("bracket.pdf", pdf_bytes()), ("lone.dxf", b"0\n")]
    assert post_quote(client, files).status_code == 303
    quote = db.session.scalar(db.select(Quote))
    solid = next(d for d in quote.drawings if d.filename == "bracket.stl")
    sheet = next(d for d in quote.drawings if d.filename == "bracket.pdf")
    assert sheet.part_of_id == solid.id
    staff = make_user(is_staff=True)
    login_as(staff)
    url = f"/admin/quotes/{quote.ref}/files/{sheet.id}"
    html = client.get(f"/admin/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    assert f'href="{url}">bracket.pdf</a>' in block(html, f"part-{solid.id}", raw=True)
    assert "Downloaded by staff" not in block(html, f"part-{sheet.id}")
    assert client.get(url).data == pdf_bytes()
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="drawing.download"))
    assert (event.actor_id, event.subject_id) == (staff.id, owner.id)
    html = client.get(f"/admin/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    assert "Downloaded by staff on" in block(html, f"part-{sheet.id}")
    assert html.count('class="card part staff-part"') == 2  # the attached drawing is no part


def test_declined_quote_mails_the_chinese_customer_shows_the_reason_and_cannot_be_ordered(
    client, db, make_user, login_as, mailbox
):
    owner = make_user(preferred_language="zh_CN")
    login_as(owner)
    assert post_quote(client, [("plan.pdf", pdf_bytes())]).status_code == 303
    quote = db.session.scalar(db.select(Quote))
    part = quote.parts[0]
    staff = make_user(is_staff=True, preferred_language="en")
    login_as(staff)
    response = client.post(
        f"/admin/quotes/{quote.ref}/decline?lang=en",
        data={"reason": "drawing_incomplete", "decline_note": "缺少螺纹规格。"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "declined" and quote.decline_reason == "drawing_incomplete"
    event = quote.events[-1]
    assert (event.status, event.reason, event.actor_id) == (
        "declined",
        "drawing_incomplete",
        staff.id,
    )
    audit = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.quote_declined"))
    assert (audit.actor_id, audit.subject_id) == (staff.id, owner.id)

    assert [m["Subject"] for m in mailbox] == [f"我们无法为 {quote.ref} 报价"]
    assert mailbox[0]["X-Envelope-To"] == owner.email
    body = body_of(mailbox[0])
    assert "图纸不完整" in body and "缺少螺纹规格。" in body and f"/quotes/{quote.ref}" in body

    login_as(owner)
    html = client.get(f"/quotes/{quote.ref}?lang=zh_CN").get_data(as_text=True)
    notice = block(html, "quote-declined")
    assert "图纸不完整：缺少必要信息，我们无法报价。" in notice and "缺少螺纹规格。" in notice
    assert '<span class="status status-declined">已拒绝</span>' in html
    assert "我们已拒绝报价" in block(html, "timeline")
    assert "accept-link" not in html and 'class="part-form"' not in html
    my_data = text(client.get("/privacy?lang=en").get_data(as_text=True))
    assert "Why we could not quote it The drawing is incomplete" in my_data
    assert "A staff member declined to quote your quote" in my_data
    # neither ordered, nor changed, nor cancelled
    assert client.get(f"/quotes/{quote.ref}/accept").status_code == 302
    refused = client.post(f"/quotes/{quote.ref}/accept", data={"lead_choice": "standard"})
    assert refused.status_code == 302
    options = {"process": "cnc_machining", "material": "al6061", "finish": "as_machined"}
    options |= {"quantity": "5", "tolerance": "iso2768m", "threads": "0", "inspection": "standard"}
    assert client.post(f"/quotes/{quote.ref}/parts/{part.id}", data=options).status_code == 400
    client.post(f"/quotes/{quote.ref}/cancel")
    db.session.expire_all()
    assert quote.status == "declined" and part.quantity != 5
    # and staff can no longer price it
    login_as(staff)
    priced = client.post(
        f"/admin/quotes/{quote.ref}", data={f"price_{part.id}": "50", "lead_days_standard": "5"}
    )
    assert priced.status_code == 400
    db.session.expire_all()
    assert quote.status == "declined" and len(mailbox) == 1


def test_declining_needs_a_reason_and_other_needs_a_note(client, db, review_quote, mailbox):
    _owner, _staff, quote = review_quote
    url = f"/admin/quotes/{quote.ref}/decline?lang=en"
    response = client.post(url, data={"reason": "", "decline_note": ""})
    assert response.status_code == 400
    assert "Please choose a reason." in text(response.get_data(as_text=True))
    response = client.post(url, data={"reason": "other", "decline_note": "   "})
    assert response.status_code == 400
    assert "Please say in the note why we cannot quote it." in response.get_data(as_text=True)
    assert client.post(url, data={"reason": "bogus"}).status_code == 400
    db.session.expire_all()
    assert quote.status == "in_review" and mailbox == []


def test_a_question_is_mailed_answered_on_the_quote_page_and_seen_by_staff(
    client, db, review_quote, login_as, mailbox
):
    owner, staff, quote = review_quote
    response = client.post(
        f"/admin/quotes/{quote.ref}/question", data={"question": "Which thread, M6 or 1/4-20?"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert quote.status == "in_review"
    audit = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.quote_question"))
    assert (audit.actor_id, audit.subject_id) == (staff.id, owner.id)
    assert [m["Subject"] for m in mailbox] == [f"A question about your quote {quote.ref}"]
    body = body_of(mailbox[0])
    assert "Which thread, M6 or 1/4-20?" in body
    link = re.search(r"https?://\S+/quotes/" + re.escape(quote.ref), body).group(0)
    queue = text(client.get("/admin/quotes?lang=en").get_data(as_text=True))
    assert "Waiting for the customer" in queue and "New answer" not in queue

    login_as(owner)
    path = "/" + link.split("/", 3)[3]
    html = client.get(path + "?lang=en").get_data(as_text=True)
    assert "Waiting for your answer" in block(html, "questions")
    assert "Which thread, M6 or 1/4-20?" in block(html, "questions")
    assert 'name="answer"' in html
    response = client.post(f"/quotes/{quote.ref}/answer", data={"answer": "  M6 coarse, 10 deep. "})
    assert response.status_code == 302
    html = client.get(path + "?lang=en").get_data(as_text=True)
    assert "M6 coarse, 10 deep." in block(html, "questions")
    assert "Waiting for your answer" not in html and 'name="answer"' not in html
    answer = db.session.scalar(db.select(QuoteMessage).filter_by(kind="answer"))
    assert (answer.author_id, answer.body) == (owner.id, "M6 coarse, 10 deep.")

    login_as(staff)
    queue = client.get("/admin/quotes?lang=en").get_data(as_text=True)
    row = next(r for r in queue.split("<tr>") if quote.ref in r)
    assert "New answer" in text(row)
    detail = client.get(f"/admin/quotes/{quote.ref}?lang=en").get_data(as_text=True)
    assert "M6 coarse, 10 deep." in block(detail, "questions")
    assert "The customer has answered." in detail and 'id="send-price"' in detail
    # staff may ask again: the customer gets a new mail and a new form
    client.post(f"/admin/quotes/{quote.ref}/question", data={"question": "Anodised black?"})
    assert len(mailbox) == 2
    login_as(owner)
    assert 'name="answer"' in client.get(path).get_data(as_text=True)


def test_a_chinese_customer_gets_the_question_in_chinese(client, db, make_user, login_as, mailbox):
    owner = make_user(preferred_language="zh_CN")
    login_as(owner)
    assert post_quote(client, [("plan.pdf", pdf_bytes())]).status_code == 303
    quote = db.session.scalar(db.select(Quote))
    login_as(make_user(is_staff=True))
    client.post(f"/admin/quotes/{quote.ref}/question?lang=en", data={"question": "材料可以换吗？"})
    assert [m["Subject"] for m in mailbox] == [f"关于您的报价 {quote.ref} 的问题"]
    assert "请在报价页面上回答" in body_of(mailbox[0])


def test_an_empty_or_too_long_answer_is_refused_with_a_message(client, db, review_quote, login_as):
    owner, _staff, quote = review_quote
    client.post(f"/admin/quotes/{quote.ref}/question", data={"question": "Material?"})
    login_as(owner)
    for answer in ("", "   \n "):
        response = client.post(f"/quotes/{quote.ref}/answer?lang=en", data={"answer": answer})
        assert response.status_code == 400
        assert "Please write your answer." in block(response.get_data(as_text=True), "questions")
    response = client.post(f"/quotes/{quote.ref}/answer?lang=en", data={"answer": "x" * 2001})
    assert response.status_code == 400
    assert "cannot be longer than 2000 characters" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(QuoteMessage).filter_by(kind="answer")) is None


def test_only_the_owner_answers_and_only_an_open_question(
    client, db, review_quote, make_user, login_as
):
    owner, staff, quote = review_quote
    url = f"/quotes/{quote.ref}/answer"
    login_as(owner)
    client.post(url, data={"answer": "Nothing was asked."})  # no question yet
    assert db.session.scalar(db.select(QuoteMessage)) is None
    login_as(staff)
    client.post(f"/admin/quotes/{quote.ref}/question", data={"question": "Material?"})
    assert client.post(url, data={"answer": "Staff answering"}).status_code == 404
    login_as(make_user())
    assert client.post(url, data={"answer": "Someone else"}).status_code == 404
    assert client.get(f"/quotes/{quote.ref}").status_code == 404
    kinds = db.session.scalars(db.select(QuoteMessage.kind)).all()
    assert kinds == ["question"]


def test_customers_cannot_ask_or_decline(client, db, review_quote, login_as, mailbox):
    owner, _staff, quote = review_quote
    login_as(owner)
    ask = client.post(f"/admin/quotes/{quote.ref}/question", data={"question": "Me?"})
    decline = client.post(f"/admin/quotes/{quote.ref}/decline", data={"reason": "cannot_make"})
    assert (ask.status_code, decline.status_code) == (404, 404)
    db.session.expire_all()
    assert quote.status == "in_review" and db.session.scalar(db.select(QuoteMessage)) is None
    assert db.session.scalar(db.select(QuoteEvent).filter_by(status="declined")) is None
    assert mailbox == []


def test_the_answer_form_needs_its_csrf_token(app, client, db, review_quote, login_as):
    owner, _staff, quote = review_quote
    client.post(f"/admin/quotes/{quote.ref}/question", data={"question": "Material?"})
    app.config["WTF_CSRF_ENABLED"] = True
    login_as(owner)
    url = f"/quotes/{quote.ref}/answer"
    assert client.post(url, data={"answer": "Forged"}).status_code == 400
    page = client.get(f"/quotes/{quote.ref}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post(url, data={"answer": "Real", "csrf_token": token}).status_code == 302
    bodies = db.session.scalars(db.select(QuoteMessage.body).filter_by(kind="answer")).all()
    assert bodies == ["Real"]


def test_the_exchange_is_on_my_data_and_goes_with_the_quote(client, db, review_quote, login_as):
    owner, _staff, quote = review_quote
    client.post(f"/admin/quotes/{quote.ref}/question", data={"question": "Material?"})
    login_as(owner)
    client.post(f"/quotes/{quote.ref}/answer", data={"answer": "Brass, please."})
    page = text(client.get("/privacy?lang=en").get_data(as_text=True))
    assert "Questions about your quotes and your answers" in page
    assert "Brass, please." in page and "Material?" in page
    assert "A staff member asked you a question about your quote" in page
    assert client.post(f"/privacy/quotes/{quote.ref}/delete").status_code in (302, 303)
    assert db.session.scalar(db.select(QuoteMessage)) is None
