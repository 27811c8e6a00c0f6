"""Staff act on requests by contact (policy 5.2, 5.3 B, 5.4, 5.6, 5.7): identity first, audited,
the customer told; a transfer by a single-use link to an address the customer confirmed."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from conftest import sign_in
from privacy_support import (
    DRAWING,
    add_drawing,
    add_quote,
    fill_everything,
    links_in,
    messages_to,
    text_of,
)

from xometry_site.extensions import db
from xometry_site.models import (
    AuditEvent,
    DataExport,
    Drawing,
    InvoiceProfile,
    PrivacyRequest,
    Quote,
    ShippingAddress,
    User,
)
from xometry_site.services.privacy import requests as privacy_requests
from xometry_site.services.validators import uscc_check_character

ADDRESS = {
    "organization": "上海新公司",
    "recipient": "王五",
    "address": "浦东新区世纪大道100号",
    "phone": "13900002222",
    "province": "310000",
    "city": "310100",
    "district": "310115",
    "postal_code": "200120",
}


@pytest.fixture
def customer_request(make_user):
    """A customer with data in every category, who asked us by contact (a filed request)."""

    def make(kind="correction", lang="en", processor=None):
        owner = make_user(name="Li Lei")
        fill_everything(owner)
        owner.preferred_language = lang  # the customer reads our mail in this language
        db.session.commit()
        draft = privacy_requests.Draft(kind, "Please act for me.", processor)
        req = privacy_requests.file_for_user(owner, draft, lang)
        return owner, req

    return make


@pytest.fixture
def staff(client, make_user):
    member = make_user(is_staff=True, name="客服小周", preferred_language="en")
    sign_in(client, member)
    return member


def verify(client, req, method="phone_call", note="Called back on +86 139…"):
    return client.post(f"/admin/requests/{req.id}/identity", data={"method": method, "note": note})


def request_events(req) -> list[str]:
    """The audit log's rows tied to the request (staff reading it left out)."""
    return [
        e.action
        for e in db.session.scalars(
            db.select(AuditEvent).filter_by(target=f"request:{req.id}").order_by(AuditEvent.id)
        )
        if e.action != "staff.viewed_request"
    ]


def test_no_action_before_the_identity_is_recorded_as_verified(
    client, staff, customer_request, mailbox
):
    owner, req = customer_request("deletion")
    page = client.get(f"/admin/requests/{req.id}?lang=en").get_data(as_text=True)
    assert "Record the identity as verified" in page
    assert "Act for the customer" not in page and "Close the account" not in page
    address = db.session.scalar(db.select(ShippingAddress).filter_by(user_id=owner.id))
    drawing = db.session.scalar(db.select(Drawing).filter_by(user_id=owner.id))
    mailbox.clear()
    forged = [
        (f"/admin/requests/{req.id}/deregister", {}),
        (f"/admin/requests/{req.id}/export", {}),
        (f"/admin/requests/{req.id}/drawings/delete", {"drawings": [drawing.id]}),
        (f"/admin/requests/{req.id}/addresses/{address.id}/delete", {}),
        (f"/admin/requests/{req.id}/invoice/delete", {}),
        (f"/admin/requests/{req.id}/profile", {"name": "Forged"}),
    ]
    for url, data in forged:
        assert client.post(url, data=data).status_code == 403, url
    assert client.get(f"/admin/requests/{req.id}/profile").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, owner.id).deregistered_at is None
    assert db.session.get(User, owner.id).name == "Li Lei"
    assert db.session.get(Drawing, drawing.id).deleted_at is None
    assert db.session.get(ShippingAddress, address.id) is not None
    assert db.session.scalar(db.select(DataExport)) is None
    assert mailbox == []


def test_recording_the_identity_says_how_and_is_audited(client, staff, customer_request):
    _owner, req = customer_request()
    refused = verify(client, req, method="other", note="")
    assert refused.status_code == 400
    assert "Describe how you verified it." in refused.get_data(as_text=True)
    assert verify(client, req).status_code == 302
    db.session.expire_all()
    req = db.session.get(PrivacyRequest, req.id)
    assert req.identity_method == "phone_call" and req.identity_verified_by_id == staff.id
    page = client.get(f"/admin/requests/{req.id}?lang=en").get_data(as_text=True)
    assert "Verified by 客服小周" in page and "We called back the account" in page
    assert "Act for the customer" in page
    assert request_events(req)[-1] == "staff.request_identity_verified"


def test_staff_correct_the_account_information_and_the_customer_is_told(
    client, staff, customer_request, mailbox
):
    owner, req = customer_request(lang="zh_CN")
    verify(client, req)
    mailbox.clear()
    form = client.get(f"/admin/requests/{req.id}/profile?lang=en").get_data(as_text=True)
    assert 'value="Li Lei"' in form
    response = client.post(
        f"/admin/requests/{req.id}/profile",
        data={
            "name": "李雷",
            "job_title": "采购总监",
            "customer_type": "company",
            "invoice_email": "fapiao-person@example.com",
            "preferred_language": "zh_CN",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(User, owner.id)
    assert (saved.name, saved.job_title) == ("李雷", "采购总监")
    assert "staff.request_corrected_profile" in request_events(req)
    assert db.session.get(PrivacyRequest, req.id).status == "in_progress"
    [mail] = messages_to(mailbox, owner.email)
    body = text_of(mail)
    assert mail["Subject"] == "我们已按您的申请处理"
    assert "我们已更正了您的账户信息" in body and "名称" in body and "职位" in body
    assert "发票接收邮箱" not in body  # unchanged fields are not listed


def test_staff_correct_an_address_with_the_owners_form_and_checks(
    client, staff, customer_request, mailbox
):
    owner, req = customer_request()
    verify(client, req)
    address = db.session.scalar(db.select(ShippingAddress).filter_by(user_id=owner.id))
    page = client.get(f"/admin/requests/{req.id}/addresses/{address.id}?lang=en")
    assert page.status_code == 200 and "李四收货" in page.get_data(as_text=True)
    wrong = client.post(
        f"/admin/requests/{req.id}/addresses/{address.id}", data={**ADDRESS, "district": "110101"}
    )
    assert wrong.status_code == 400  # a district of another city, refused as on the owner's page
    mailbox.clear()
    done = client.post(f"/admin/requests/{req.id}/addresses/{address.id}", data=ADDRESS)
    assert done.status_code == 302
    db.session.expire_all()
    saved = db.session.get(ShippingAddress, address.id)
    assert (saved.recipient, saved.district, saved.phone) == ("王五", "310115", "+8613900002222")
    assert saved.is_default  # staff do not change which address is the default
    [mail] = messages_to(mailbox, owner.email)
    assert "corrected a shipping address" in text_of(mail)
    # another account's address is a 404, even with a verified request
    other = ShippingAddress(
        user_id=staff.id, recipient="x", address="x", phone="+8613900003333",
        province="310000", city="310100", district="310115", postal_code="200000",
    )  # fmt: skip
    db.session.add(other)
    db.session.commit()
    assert client.get(f"/admin/requests/{req.id}/addresses/{other.id}").status_code == 404


def test_staff_correct_invoice_details_but_cannot_consent_for_an_id_number(
    client, staff, customer_request, make_user
):
    owner, req = customer_request()
    verify(client, req)
    form = {
        "kind": "corporate",
        "fapiao_type": "normal",
        "company_name": "上海新公司有限公司",
        "tax_number": "91310000MA1FL3LK1" + uscc_check_character("91310000MA1FL3LK1"),
        "invoice_email": "invoice@example.com",
    }
    assert client.get(f"/admin/requests/{req.id}/invoice").status_code == 200
    assert "staff.viewed_invoice" in request_events(req)  # full numbers seen: on the record
    assert client.post(f"/admin/requests/{req.id}/invoice", data=form).status_code == 302
    db.session.expire_all()
    profile = db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=owner.id))
    assert (profile.kind, profile.company_name) == ("corporate", "上海新公司有限公司")
    assert "staff.request_corrected_invoice" in request_events(req)
    # an ID number needs the customer's own separate consent: staff cannot give it
    from privacy_support import ID_NUMBER

    other = make_user(preferred_language="en")
    db.session.add(InvoiceProfile(user_id=other.id, kind="personal", name="王小明"))
    db.session.commit()
    other_req = privacy_requests.file_for_user(other, privacy_requests.Draft("correction"), "en")
    verify(client, other_req)
    personal = {
        "kind": "personal",
        "fapiao_type": "normal",
        "name": "王小明",
        "tax_number": ID_NUMBER,
    }
    refused = client.post(f"/admin/requests/{other_req.id}/invoice?lang=en", data=personal)
    assert refused.status_code == 400
    assert "only the customer can give the separate consent" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=other.id)).tax_number is None
    )
    assert "staff.request_corrected_invoice" not in request_events(other_req)


def test_staff_delete_drawings_but_never_those_kept_with_an_order(
    client, staff, customer_request, mailbox
):
    owner, req = customer_request("deletion")
    verify(client, req)
    loose = db.session.scalar(db.select(Drawing).filter_by(user_id=owner.id))
    ordered = add_drawing(owner, quote=add_quote(owner, status="ordered"), filename="订单件.step")
    page = client.get(f"/admin/requests/{req.id}?lang=en").get_data(as_text=True)
    assert f'value="{loose.id}"' in page and f'value="{ordered.id}"' not in page
    assert "1 drawings belong to orders and are kept" in page
    mailbox.clear()
    # a kept drawing's id, forged into the form, is refused like any unknown choice
    forged = client.post(
        f"/admin/requests/{req.id}/drawings/delete", data={"drawings": [ordered.id]}
    )
    assert forged.status_code == 400
    done = client.post(f"/admin/requests/{req.id}/drawings/delete", data={"drawings": [loose.id]})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Drawing, loose.id).deleted_at is not None
    assert db.session.get(Drawing, ordered.id).deleted_at is None
    shredded = db.session.scalar(db.select(AuditEvent).filter_by(action="drawing.deleted"))
    assert (shredded.actor_id, shredded.subject_id) == (staff.id, owner.id)
    assert request_events(req)[-1] == "staff.request_deleted_drawings"
    [mail] = messages_to(mailbox, owner.email)
    assert "支架-bracket.step" in text_of(mail) and "订单件" not in text_of(mail)


def test_staff_delete_a_quote_an_address_and_the_invoice_details(
    client, staff, customer_request, mailbox
):
    owner, req = customer_request("deletion")
    verify(client, req)
    quote = db.session.scalar(db.select(Quote).filter_by(user_id=owner.id))
    ordered = add_quote(owner, status="ordered")
    db.session.commit()
    address = db.session.scalar(db.select(ShippingAddress).filter_by(user_id=owner.id))
    kept = client.post(f"/admin/requests/{req.id}/quotes/{ordered.ref}/delete")
    assert kept.status_code == 302
    assert db.session.get(Quote, ordered.id) is not None
    for url in (
        f"/admin/requests/{req.id}/quotes/{quote.ref}/delete",
        f"/admin/requests/{req.id}/addresses/{address.id}/delete",
        f"/admin/requests/{req.id}/invoice/delete",
    ):
        assert client.post(url).status_code == 302, url
    db.session.expire_all()
    assert db.session.scalar(db.select(Quote).filter_by(ref=quote.ref)) is None
    assert db.session.get(ShippingAddress, address.id) is None
    assert db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=owner.id)) is None
    assert request_events(req)[-3:] == [
        "staff.request_deleted_quote",
        "staff.request_deleted_address",
        "staff.request_deleted_invoice",
    ]
    deleted = db.session.scalar(db.select(AuditEvent).filter_by(action="quote.deleted"))
    assert deleted.actor_id == staff.id
    assert len(messages_to(mailbox, owner.email)) >= 3


def test_staff_start_deregistration_as_the_owner_would(client, staff, customer_request, mailbox):
    owner, req = customer_request("deletion")
    verify(client, req)
    mailbox.clear()
    assert client.post(f"/admin/requests/{req.id}/deregister").status_code == 302
    db.session.expire_all()
    closed = db.session.get(User, owner.id)
    assert closed.deregistered_at is not None and closed.erase_after is not None
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="account.deregistered"))
    assert (event.actor_id, event.subject_id) == (staff.id, owner.id)
    assert "staff.request_deregistered" in request_events(req)
    [mail] = messages_to(mailbox, owner.email)  # the owner's own mail, with the link to keep it
    assert any("/privacy/deregister/cancel/" in link for link in links_in(mail))
    again = client.post(f"/admin/requests/{req.id}/deregister", follow_redirects=True)
    assert "The account is already closed." in again.get_data(as_text=True)
    assert request_events(req).count("staff.request_deregistered") == 1


def test_staff_prepare_a_copy_the_owner_downloads(client, app, staff, customer_request, mailbox):
    owner, req = customer_request("copy")
    verify(client, req)
    mailbox.clear()
    assert client.post(f"/admin/requests/{req.id}/export").status_code == 302
    export = db.session.scalar(db.select(DataExport))
    assert export.status == "ready" and export.request_id == req.id
    requested = db.session.scalar(db.select(AuditEvent).filter_by(action="export.requested"))
    assert requested.actor_id == staff.id
    subjects = sorted(m["Subject"] for m in messages_to(mailbox, owner.email))
    assert subjects == ["We have acted on your request", "Your copy of your data is ready"]
    owner_browser = app.test_client()
    sign_in(owner_browser, owner)
    download = owner_browser.get(f"/privacy/export/{export.public_id}")
    assert download.status_code == 200


def test_a_transfer_goes_only_to_an_address_the_customer_confirmed_by_a_single_use_link(
    client, app, staff, customer_request, mailbox
):
    owner, req = customer_request("transfer", processor="Acme Data Ltd")
    verify(client, req)
    page = client.get(f"/admin/requests/{req.id}?lang=en").get_data(as_text=True)
    assert "Ask the customer to confirm this address" in page
    early = client.post(f"/admin/requests/{req.id}/transfer?lang=en", follow_redirects=True)
    assert "has not confirmed the processor" in early.get_data(as_text=True)
    assert db.session.scalar(db.select(DataExport)) is None
    mailbox.clear()
    client.post(
        f"/admin/requests/{req.id}/transfer/processor",
        data={"processor_email": "Intake@Acme.example"},
    )
    [confirm_mail] = messages_to(mailbox, owner.email)  # the customer's own address, not Acme
    assert messages_to(mailbox, "intake@acme.example") == []
    assert "intake@acme.example" in text_of(confirm_mail)
    [link] = [u for u in links_in(confirm_mail) if "/privacy/requests/transfer/" in u]
    path = link.split("localhost", 1)[1]
    customer_browser = app.test_client()
    assert "Yes, send my data" in customer_browser.get(path + "?lang=en").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).processor_confirmed_at is None  # GET: nothing
    customer_browser.post(path)
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).processor_confirmed_at is not None
    mailbox.clear()
    assert client.post(f"/admin/requests/{req.id}/transfer").status_code == 302
    export = db.session.scalar(db.select(DataExport).filter_by(request_id=req.id))
    assert export.recipient_email == "intake@acme.example" and export.status == "ready"
    [processor_mail] = messages_to(mailbox, "intake@acme.example")
    [download] = [u for u in links_in(processor_mail) if "/privacy/transfer/" in u]
    token = download.rsplit("/", 1)[1]
    assert token not in json.dumps([export.token_hash, export.public_id])  # only its hash kept
    told = messages_to(mailbox, owner.email)
    assert len(told) == 1 and "intake@acme.example" in text_of(told[0])
    # the owner's own download page does not serve the processor's copy
    owner_browser = app.test_client()
    sign_in(owner_browser, owner)
    assert owner_browser.get(f"/privacy/export/{export.public_id}").status_code == 404
    processor = app.test_client()
    path = download.split("localhost", 1)[1]
    landing = processor.get(path)  # a mail scanner opening the link spends nothing
    assert landing.status_code == 200
    zipped = processor.post(path)
    assert zipped.status_code == 200
    assert zipped.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        data = json.loads(archive.read("data.json"))
        assert data["account_id"] == owner.id
        assert any(
            archive.read(n) == DRAWING for n in archive.namelist() if n.startswith("drawings/")
        )
    assert processor.post(path).status_code == 404  # single use
    assert processor.get(path).status_code == 404
    collected = db.session.scalar(
        db.select(AuditEvent).filter_by(action="export.transfer_collected")
    )
    assert collected.subject_id == owner.id
    assert "staff.request_transferred" in request_events(req)
    assert "request.transfer_confirmed" in request_events(req)


def test_a_transfer_link_expires(client, app, staff, customer_request, mailbox):
    from datetime import timedelta

    from xometry_site.models.base import utcnow

    _owner, req = customer_request("transfer")
    verify(client, req)
    client.post(
        f"/admin/requests/{req.id}/transfer/processor", data={"processor_email": "p@example.com"}
    )
    req = db.session.get(PrivacyRequest, req.id)
    from xometry_site.services.privacy import staff_actions

    staff_actions.confirm_processor(req)
    client.post(f"/admin/requests/{req.id}/transfer")
    [mail] = messages_to(mailbox, "p@example.com")
    path = next(u for u in links_in(mail) if "/privacy/transfer/" in u).split("localhost", 1)[1]
    export = db.session.scalar(db.select(DataExport).filter_by(request_id=req.id))
    export.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert app.test_client().post(path).status_code == 404
    assert app.test_client().get("/privacy/transfer/not-a-token").status_code == 404


@pytest.mark.parametrize(
    ("lang", "reason_text", "status_text"),
    [
        ("en", "It repeats a request we have already answered", "Declined"),
        ("zh_CN", "该申请重复了我们已答复过的申请", "已拒绝"),
    ],
)
def test_declining_needs_a_reason_the_customer_sees(
    client, app, staff, customer_request, mailbox, lang, reason_text, status_text
):
    owner, req = customer_request("copy", lang=lang)
    mailbox.clear()
    no_reason = client.post(
        f"/admin/requests/{req.id}?lang=en",
        data={"status": "declined", "answer": "You asked twice this week."},
    )
    assert no_reason.status_code == 200
    assert "Choose why the request is declined." in no_reason.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).status == "open" and mailbox == []
    client.post(
        f"/admin/requests/{req.id}",
        data={
            "status": "declined",
            "decline_reason": "repetitive",
            "answer": "You asked twice this week.",
        },
    )
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).decline_reason == "repetitive"
    [mail] = messages_to(mailbox, owner.email)
    assert reason_text in text_of(mail) and "You asked twice this week." in text_of(mail)
    assert status_text in text_of(mail)
    owner_browser = app.test_client()
    sign_in(owner_browser, owner)
    page = owner_browser.get(f"/privacy/requests?lang={lang}").get_data(as_text=True)
    assert reason_text in page and status_text in page
    assert reason_text in owner_browser.get(f"/privacy?lang={lang}").get_data(as_text=True)
    assert "staff.request_declined" in request_events(req)


def test_the_customer_sees_what_staff_did_on_my_data(client, app, staff, customer_request):
    owner, req = customer_request("deletion")
    verify(client, req)
    client.post(f"/admin/requests/{req.id}/invoice/delete")
    owner_browser = app.test_client()
    sign_in(owner_browser, owner)
    page = owner_browser.get("/privacy?lang=en").get_data(as_text=True)
    assert "A staff member deleted your invoice information, as you asked" in page
    assert "A staff member verified that your request is yours" in page
    history = client.get(f"/admin/requests/{req.id}?lang=en").get_data(as_text=True)
    assert re.search(r"客服小周 · A staff member deleted your invoice information", history)


def test_customers_and_other_visitors_get_404_on_the_action_routes(
    client, make_user, customer_request
):
    owner, req = customer_request()
    for who in (None, owner, make_user()):
        if who is not None:
            sign_in(client, who)
        for url in (
            f"/admin/requests/{req.id}/identity",
            f"/admin/requests/{req.id}/deregister",
            f"/admin/requests/{req.id}/export",
        ):
            assert client.post(url, data={"method": "phone_call"}).status_code == 404, url
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).identity_verified_at is None
