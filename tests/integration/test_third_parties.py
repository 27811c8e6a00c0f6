"""Policy section 4: the register of recipients, the public third-party sharing list (第三方信息共享
清单), provisions recorded from an order and shown to the customer, and separate consent."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from privacy_support import LABORATORY, add_drawing, add_quote

from xometry_site.extensions import db
from xometry_site.models import AuditEvent, Consent, Order, Provision, Recipient, User
from xometry_site.services.privacy import erasure, retention

TODAY = date.today()


def add_recipient(**values) -> Recipient:
    fields = {
        "name_zh": "苏州精密机械有限公司",
        "name_en": "Suzhou Precision Machining Co.",
        "role": "manufacturer",
        "kind": "entrusted",
        "purpose_zh": "按订单加工零件",
        "purpose_en": "Machines the ordered parts",
        "categories": ["drawings", "order"],
        "country": "CN",
        "contact": "privacy@sz-precision.example",
        "since": TODAY - timedelta(days=30),
        "until": None,
    }
    fields.update(values)
    recipient = Recipient(**fields)
    db.session.add(recipient)
    db.session.commit()
    return recipient


def third_party(**values) -> Recipient:
    """A recipient that decides for itself what it does with the data (PIPL art. 23)."""
    return add_recipient(**{**LABORATORY, **values})


def add_order(owner) -> Order:
    """An order of a quote with one drawing, as placing one leaves it."""
    quote = add_quote(owner, status="ordered", ordered_at=datetime.now(UTC))
    add_drawing(owner, b"solid bracket\nendsolid\n", quote=quote, filename="支架-bracket.step")
    order = Order(
        user_id=owner.id,
        quote_id=quote.id,
        number=f"XA-2026-{owner.id:06d}",
        lead_choice="standard",
        lead_days=7,
        ship_by=TODAY + timedelta(days=10),
        subtotal=Decimal("100.00"),
        vat_rate=Decimal("0.13"),
        vat=Decimal("13.00"),
        total=Decimal("113.00"),
        remittance_reference=f"XA26{owner.id:06d}",
        parts=[
            {
                "drawing_id": None,
                "name": "支架-bracket.step",
                "drawings": [],
                "process": "cnc_machining",
                "material": "al6061",
                "finish": "as_machined",
                "tolerance": "iso2768m",
                "threads": 0,
                "inspection": "standard",
                "quantity": 1,
                "unit_price": "100.00",
                "line_total": "100.00",
            }
        ],
        shipping={"recipient": "张三"},
    )
    order.invoice = {"kind": "corporate", "company_name": "上海测试有限公司"}
    db.session.add(order)
    db.session.commit()
    return order


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True, name="王客服")


def send(
    client, order, recipient, categories=("drawings", "order"), purpose="manufacture", **extra
):
    data = {
        "recipient": recipient.id,
        "categories": list(categories),
        "purpose": purpose,
        **extra,
    }
    return client.post(f"/admin/orders/{order.number}/provisions?lang=en", data=data)


def provisions_of(user) -> list[Provision]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Provision).filter_by(user_id=user.id)))


# --- the public list ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "Third-party sharing list",
                "Suzhou Precision Machining Co.",
                "Machines the ordered parts",
                "Drawings and part requirements",
                "Entrusted processing",
                "Mainland China",
                "Shanghai Inspection Centre",
                "Needs your separate consent",
                "Tokyo Metrology K.K.",
                "outside mainland China",
                "Japan",
                "Recipients we no longer use",
                "Old Courier Ltd.",
            ],
        ),
        (
            "zh-CN",
            [
                "第三方信息共享清单",
                "苏州精密机械有限公司",
                "按订单加工零件",
                "图纸及零件要求",
                "委托处理",
                "需要您的单独同意",
                "日本",
                "境外",
                "不再使用",
                "旧快递公司",
            ],
        ),
    ],
)
def test_the_list_is_a_public_page_made_from_the_register(app, language, words):
    add_recipient()
    third_party()
    add_recipient(
        name_zh="东京计量株式会社",
        name_en="Tokyo Metrology K.K.",
        kind="entrusted",
        country="JP",
        contact="info@tokyo-metrology.example",
    )
    add_recipient(
        name_zh="旧快递公司",
        name_en="Old Courier Ltd.",
        role="logistics",
        until=TODAY - timedelta(days=10),
    )
    add_recipient(
        name_zh="很久以前的供应商",
        name_en="Long Gone Supplier",
        since=TODAY - timedelta(days=5000),
        until=TODAY - timedelta(days=4 * 365),
    )
    add_recipient(
        name_zh="明年的合作方", name_en="Next Year's Partner", since=TODAY + timedelta(days=365)
    )
    client = app.test_client()
    response = client.get("/policy/third-parties", headers={"Accept-Language": language})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for word in words:
        assert word in page, word
    # ended long ago (records of it no longer kept) and not yet started: not listed
    assert "Long Gone Supplier" not in page and "很久以前的供应商" not in page
    assert "Next Year" not in page and "明年的合作方" not in page
    ended = page[page.index('id="ended"') :]
    assert ("Old Courier Ltd." in ended) or ("旧快递公司" in ended)
    assert "Suzhou Precision" not in ended and "苏州精密" not in ended
    # a public page: no session, cacheable by anyone, 304 when the browser has it
    assert response.headers.getlist("Set-Cookie") == []
    assert response.cache_control.public and response.cache_control.max_age == 300
    etag = response.headers["ETag"]
    again = client.get(
        "/policy/third-parties", headers={"Accept-Language": language, "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.get_data() == b""


def test_the_list_is_linked_from_the_policy_section_4_and_the_footer(client):
    policy = client.get("/policy?lang=en").get_data(as_text=True)
    section = policy[policy.index('id="section-4"') : policy.index('id="section-5"')]
    assert 'href="/policy/third-parties"' in section
    footer = policy[policy.index("<footer") :]
    assert 'href="/policy/third-parties"' in footer
    empty = client.get("/policy/third-parties?lang=en").get_data(as_text=True)
    assert "We give personal information to no one at present." in empty


# --- the register (staff) -------------------------------------------------------------------------


RECIPIENT_FORM = {
    "name_zh": "顺丰速运",
    "name_en": "SF Express",
    "role": "logistics",
    "kind": "entrusted",
    "purpose_zh": "配送订单",
    "purpose_en": "Delivers orders",
    "categories": ["name", "shipping"],
    "country": "CN",
    "contact": "",
    "since": TODAY.isoformat(),
    "until": "",
}


def test_staff_add_edit_and_end_a_recipient(client, login_as, staff):
    login_as(staff)
    page = client.get("/admin/recipients/new?lang=en")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    response = client.post("/admin/recipients/new?lang=en", data=RECIPIENT_FORM)
    assert response.status_code == 302
    recipient = db.session.scalar(db.select(Recipient))
    assert (recipient.name_en, recipient.categories, recipient.until) == (
        "SF Express",
        ["name", "shipping"],
        None,
    )
    listing = client.get("/admin/recipients?lang=en").get_data(as_text=True)
    assert "SF Express" in listing and "Shipping details" in listing

    edited = {**RECIPIENT_FORM, "purpose_en": "Delivers your parts", "categories": ["shipping"]}
    response = client.post(f"/admin/recipients/{recipient.id}/edit?lang=en", data=edited)
    assert response.status_code == 302
    db.session.expire_all()
    assert recipient.purpose_en == "Delivers your parts" and recipient.categories == ["shipping"]

    assert client.post(f"/admin/recipients/{recipient.id}/end").status_code == 302
    db.session.expire_all()
    assert recipient.until is not None
    public = client.get("/policy/third-parties?lang=en").get_data(as_text=True)
    assert "SF Express" in public[public.index('id="ended"') :]
    actions = {e.action for e in db.session.scalars(db.select(AuditEvent))}
    assert {"staff.recipient_saved", "staff.recipient_ended"} <= actions


def test_a_third_party_or_a_recipient_abroad_needs_a_contact(client, login_as, staff):
    login_as(staff)
    for change in ({"kind": "provided"}, {"country": "SG"}):
        response = client.post("/admin/recipients/new?lang=en", data={**RECIPIENT_FORM, **change})
        assert response.status_code == 400
        assert "needs a contact" in response.get_data(as_text=True)
    response = client.post(
        "/admin/recipients/new?lang=zh_CN", data={**RECIPIENT_FORM, "categories": []}
    )
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Recipient.id))) == 0


def test_only_staff_reach_the_register_and_the_provision_form(app, client, make_user, login_as):
    customer = make_user()
    recipient = add_recipient()
    order = add_order(customer)
    paths = [
        ("GET", "/admin/recipients"),
        ("GET", "/admin/recipients/new"),
        ("POST", "/admin/recipients/new"),
        ("GET", f"/admin/recipients/{recipient.id}/edit"),
        ("POST", f"/admin/recipients/{recipient.id}/end"),
        ("POST", f"/admin/orders/{order.number}/provisions"),
    ]
    anonymous = app.test_client()
    login_as(customer)
    for method, path in paths:
        assert anonymous.open(path, method=method, data=RECIPIENT_FORM).status_code == 404, path
        assert client.open(path, method=method, data=RECIPIENT_FORM).status_code == 404, path
    db.session.expire_all()
    assert recipient.until is None and provisions_of(customer) == []
    assert db.session.scalar(db.select(db.func.count(Recipient.id))) == 1


# --- provisions -----------------------------------------------------------------------------------


def test_sending_to_a_manufacturer_is_recorded_and_shown_to_the_customer(
    app, client, login_as, make_user, staff
):
    customer = make_user(preferred_language="zh_CN")
    manufacturer = add_recipient()
    order = add_order(customer)
    login_as(staff)
    page = client.get(f"/admin/orders/{order.number}?lang=en").get_data(as_text=True)
    assert "Send to a recipient" in page and "Suzhou Precision Machining Co." in page

    response = send(client, order, manufacturer, note="Batch 1 of 2")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/orders/{order.number}#provisions")
    [provision] = provisions_of(customer)
    assert provision.recipient_id == manufacturer.id and provision.basis == "entrusted"
    assert provision.categories == ["drawings", "order"] and provision.order_number == order.number
    assert [d["filename"] for d in provision.drawings] == ["支架-bracket.step"]
    assert provision.staff_id == staff.id and provision.consent_id is None
    assert "苏州精密机械有限公司" in provision.recipient_name
    shown = client.get(f"/admin/orders/{order.number}?lang=en").get_data(as_text=True)
    assert "To manufacture the parts you ordered" in shown and "Batch 1 of 2" in shown

    # the customer sees who, what, when and why under My data, in their language
    mine = app.test_client()
    from conftest import sign_in

    sign_in(mine, customer)
    my_data = mine.get("/privacy").get_data(as_text=True)
    section = my_data[my_data.index('id="provisions"') :]
    section = section[: section.index("</section>")]
    for words in ("苏州精密机械有限公司", "图纸及零件要求", order.number, "支架-bracket.step"):
        assert words in section, words
    assert "生产您订购的零件" in section and "Batch 1 of 2" in section
    english = mine.get("/privacy?lang=en").get_data(as_text=True)
    assert (
        "Suzhou Precision Machining Co." in english and "Who received your information" in english
    )
    # and the staff member's act is on the customer's list of staff access
    assert "A staff member gave your information to a recipient" in english

    # the copy of their data carries it (registry-driven)
    assert mine.post("/privacy/export", data={}).status_code == 302
    from xometry_site.models import DataExport

    export = db.session.scalar(db.select(DataExport).filter_by(user_id=customer.id))
    archive = zipfile.ZipFile(
        io.BytesIO(mine.get(f"/privacy/export/{export.public_id}").get_data())
    )
    data = json.loads(archive.read("data.json"))
    [record] = [r for r in data["categories"]["running"]["records"] if r["table"] == "provisions"]
    fields = record["fields"]
    assert fields["order_number"]["value"] == order.number
    assert fields["categories"]["value"] == ["drawings", "order"]
    assert "Suzhou Precision Machining Co." in fields["recipient_name"]["value"]
    assert fields["purpose"]["value"] == "manufacture" and fields["note"]["value"] == "Batch 1 of 2"


def test_a_third_party_needs_the_customers_separate_consent(
    app, client, login_as, make_user, staff
):
    customer = make_user(preferred_language="en")
    lab = third_party()
    order = add_order(customer)
    login_as(staff)

    refused = send(client, order, lab, categories=["drawings"], purpose="inspection")
    assert refused.status_code == 400
    assert "separate consent" in refused.get_data(as_text=True)
    assert "Nothing was sent or recorded" in refused.get_data(as_text=True)
    assert provisions_of(customer) == []

    # the customer gives it, on the consents page, by ticking a box that names the recipient
    from conftest import sign_in

    mine = app.test_client()
    sign_in(mine, customer)
    consents_page = mine.get("/privacy/consents?lang=en").get_data(as_text=True)
    section = consents_page[consents_page.index('id="third-parties"') :]
    assert (
        "Shanghai Inspection Centre" in section
        and "Issues independent inspection reports" in section
    )
    unticked = mine.post(
        "/privacy/consents/third-parties?lang=en",
        data={"recipient_id": lab.id, "decision": "give"},
    )
    assert unticked.status_code == 400 and "Tick the box" in unticked.get_data(as_text=True)
    unknown = mine.post(
        "/privacy/consents/third-parties?lang=en",
        data={"recipient_id": 999999, "decision": "give", "agree": "y"},
    )
    assert unknown.status_code == 400
    assert "does not ask for your consent" in unknown.get_data(as_text=True)
    given = mine.post(
        "/privacy/consents/third-parties",
        data={"recipient_id": lab.id, "decision": "give", "agree": "y"},
    )
    assert given.status_code == 302
    consent = db.session.scalar(
        db.select(Consent).filter_by(user_id=customer.id, kind="third_party")
    )
    assert consent.recipient_id == lab.id and consent.withdrawn_at is None
    assert consent.policy_edition and consent.ip_address

    allowed = send(client, order, lab, categories=["drawings"], purpose="inspection")
    assert allowed.status_code == 302
    [provision] = provisions_of(customer)
    assert provision.basis == "consent" and provision.consent_id == consent.id

    # My data shows the consent with the recipient's name, and the provision's basis
    my_data = mine.get("/privacy?lang=en").get_data(as_text=True)
    consents_section = my_data[my_data.index('id="consents"') :]
    assert "Shanghai Inspection Centre" in consents_section
    assert "Your separate consent" in my_data[my_data.index('id="provisions"') :]

    # withdrawn: refused again, and what was given before stays recorded
    withdrawn = mine.post(
        "/privacy/consents/third-parties",
        data={"recipient_id": lab.id, "decision": "withdraw"},
    )
    assert withdrawn.status_code == 302
    db.session.expire_all()
    assert consent.withdrawn_at is not None
    again = send(client, order, lab, categories=["drawings"], purpose="inspection")
    assert again.status_code == 400 and "separate consent" in again.get_data(as_text=True)
    assert len(provisions_of(customer)) == 1


def test_an_entrusted_recipient_abroad_needs_consent_too(client, login_as, make_user, staff):
    """PIPL art. 39: information leaving mainland China needs separate consent."""
    customer = make_user()
    abroad = add_recipient(name_en="Tokyo Metrology K.K.", country="JP")
    order = add_order(customer)
    login_as(staff)
    response = send(client, order, abroad)
    assert response.status_code == 400 and "separate consent" in response.get_data(as_text=True)
    assert provisions_of(customer) == []


def test_a_provision_must_stay_within_the_register(client, login_as, make_user, staff):
    customer = make_user()
    manufacturer = add_recipient()
    ended = add_recipient(name_en="Closed Workshop", until=TODAY - timedelta(days=1))
    order = add_order(customer)
    login_as(staff)
    beyond = send(client, order, manufacturer, categories=["drawings", "bank_account"])
    assert beyond.status_code == 400
    assert "does not list this information" in beyond.get_data(as_text=True)
    other = send(client, order, manufacturer, purpose="other")
    assert other.status_code == 400 and "other purpose" in other.get_data(as_text=True)
    gone = send(client, order, ended)
    assert gone.status_code == 400
    assert provisions_of(customer) == []
    unknown = client.post(
        f"/admin/orders/{order.number}/provisions?lang=zh_CN",
        data={"recipient": "abc", "categories": ["drawings"], "purpose": "manufacture"},
    )
    assert unknown.status_code == 400


def test_erasure_keeps_the_record_and_the_purge_ends_it(app, make_user, staff, login_as, client):
    customer = make_user()
    manufacturer = add_recipient()
    order = add_order(customer)
    login_as(staff)
    assert send(client, order, manufacturer).status_code == 302
    customer.deregistered_at = customer.erase_after = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    uid = customer.id
    assert erasure.erase_account(uid) is not None
    db.session.expire_all()
    [provision] = db.session.scalars(db.select(Provision).filter_by(user_id=uid)).all()
    assert provision.order_number == order.number  # PIPL art. 56: kept at least three years
    retention.purge()
    assert db.session.scalar(db.select(db.func.count(Provision.id))) == 1
    provision.provided_at = datetime.now(UTC) - timedelta(days=3 * 365 + 1)
    db.session.commit()
    report = retention.purge()
    assert report.counts["old records of provisions deleted"] == 1
    assert db.session.scalar(db.select(db.func.count(Provision.id))) == 0
    assert db.session.get(User, uid).erased_at is not None


def test_every_role_kind_and_kind_of_information_has_a_name_and_a_registry_category(app):
    from xometry_site.models.sharing import RECIPIENT_KINDS, RECIPIENT_ROLES
    from xometry_site.services.privacy import pi_registry, recipients

    assert set(recipients.ROLE_LABELS) == set(RECIPIENT_ROLES)
    assert set(recipients.KIND_LABELS) == set(RECIPIENT_KINDS)
    for kind in recipients.PI_TYPES:
        assert kind.category in pi_registry.CATEGORY_BY_KEY, kind.code


# --- the first register ---------------------------------------------------------------------------


def test_seed_fills_an_empty_register_with_marked_placeholders(runner, app):
    result = runner.invoke(args=["privacy", "seed-recipients"])
    assert result.exit_code == 0, result.output
    register = list(db.session.scalars(db.select(Recipient)))
    roles = {r.role for r in register}
    assert roles == {"manufacturer", "sms", "mail", "cloud_storage", "payment", "logistics"}
    unnamed = [r for r in register if r.role in ("manufacturer", "sms", "mail", "cloud_storage")]
    assert all(
        "待运营方填写" in r.name_zh and "to be named by the operator" in r.name_en for r in unnamed
    )
    assert all(r.contact is None and r.kind == "entrusted" and r.country == "CN" for r in register)
    assert {"顺丰速运", "SF Express"} <= {n for r in register for n in (r.name_zh, r.name_en)}
    again = runner.invoke(args=["privacy", "seed-recipients"])
    assert "nothing added" in again.output
    assert db.session.scalar(db.select(db.func.count(Recipient.id))) == len(register)
