"""SECURITY.md on the account pages: CSRF on every POST, no-store on every page with personal
information, no mass assignment, and no personal data in the logs of account changes."""

from __future__ import annotations

import logging
import re

from conftest import PASSWORD

from xometry_site.extensions import db
from xometry_site.models import InvoiceProfile, ShippingAddress, User
from xometry_site.services.validators import uscc_check_character

USCC = "91310000MA1FL3LK1" + uscc_check_character("91310000MA1FL3LK1")
ADDRESS = {
    "organization": "上海某某机械有限公司",
    "recipient": "王小明",
    "address": "虹口区黎阳路735号4号楼",
    "phone": "138 1234 5678",
    "province": "310000",
    "city": "310100",
    "district": "310109",
    "postal_code": "200080",
}
INVOICE = {
    "kind": "corporate",
    "company_name": "上海某某机械有限公司",
    "tax_number": USCC,
    "province": "310000",
    "city": "310100",
    "district": "310109",
    "address": "虹口区黎阳路735号",
    "postal_code": "200080",
    "bank_name": "中国银行上海虹口支行",
    "bank_account": "6222020200112233445",
    "invoice_email": "fapiao@example.com",
}
# POST routes that must work without our CSRF token: RFC 8058 one-click unsubscribe from mail programs
CSRF_EXEMPT = {"mailing.unsubscribe"}


def address_of(user, **overrides) -> ShippingAddress:
    values = {**ADDRESS, "phone": "+8613812345678", "is_default": True, **overrides}
    address = ShippingAddress(user_id=user.id, **values)
    db.session.add(address)
    db.session.commit()
    return address


def token_on(page) -> str:
    """The CSRF token of the first form on the page (attributes in any order)."""
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


def with_csrf(app) -> None:
    app.config["WTF_CSRF_ENABLED"] = True  # as in production


# --- CSRF ------------------------------------------------------------------------------------


def test_sign_in_without_the_token_is_refused(app, client, user):
    with_csrf(app)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302  # not signed in
    form = client.get("/login").get_data(as_text=True)  # the real form carries the token
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token_on(form)}
    assert client.post("/login", data=data).status_code == 302
    assert client.get("/account").status_code == 200


def test_deleting_an_address_without_the_token_is_refused(app, client, user, login_as):
    address = address_of(user)
    login_as(user)
    with_csrf(app)
    assert client.post(f"/account/addresses/{address.id}/delete").status_code == 400
    assert db.session.get(ShippingAddress, address.id) is not None
    confirm = client.get(f"/account/addresses/{address.id}/delete").get_data(as_text=True)
    deleted = client.post(
        f"/account/addresses/{address.id}/delete", data={"csrf_token": token_on(confirm)}
    )
    assert deleted.status_code == 302
    db.session.expire_all()
    assert db.session.get(ShippingAddress, address.id) is None


def test_saving_the_invoice_without_the_token_is_refused(app, client, user, login_as):
    login_as(user)
    with_csrf(app)
    assert client.post("/account/invoice", data=INVOICE).status_code == 400
    assert db.session.scalar(db.select(InvoiceProfile)) is None
    form = client.get("/account/invoice").get_data(as_text=True)
    saved = client.post("/account/invoice", data={**INVOICE, "csrf_token": token_on(form)})
    assert saved.status_code == 302
    assert db.session.scalar(db.select(InvoiceProfile)).user_id == user.id


def _post_routes(app):
    """Every POST route of the auth and account blueprints, with example arguments."""
    examples = {"address_id": 1, "token": "any-token"}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint not in ("auth", "account", "mailing") or rule.endpoint in CSRF_EXEMPT:
            continue
        if "POST" in (rule.methods or ()):
            yield rule.endpoint, rule.build({a: examples[a] for a in rule.arguments})[1]


def test_every_post_of_the_auth_and_account_pages_needs_the_token(app, client, user, login_as):
    address_of(user)  # id 1 exists, so a route that fetches it gets as far as CSRF allows
    routes = dict(_post_routes(app))
    for expected in ("auth.login", "auth.logout", "account.address_delete", "account.invoice"):
        assert expected in routes  # the walk sees the routes named above
    with_csrf(app)
    for endpoint, path in sorted(routes.items()):
        login_as(user)
        response = client.post(path, data={})
        assert response.status_code == 400, (endpoint, path, response.status_code)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(ShippingAddress.id))) == 1


# --- no-store ---------------------------------------------------------------------------------


def _get_pages(app, address_id: int):
    """Every GET page of the Personal Center, plus re-authentication and the WeChat phone form."""
    examples = {"address_id": address_id, "token": "any-token"}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "account.divisions_json":
            continue
        if rule.endpoint.startswith("account.") or rule.endpoint in (
            "auth.reauthenticate",
            "auth.wechat_complete",
            "auth.verify_pending",
            "mailing.unsubscribe",
        ):
            yield rule.build({a: examples[a] for a in rule.arguments})[1]


def test_every_page_with_personal_information_is_never_cached(app, client, user, login_as):
    address = address_of(user)
    login_as(user)
    pages = list(_get_pages(app, address.id))
    assert {"/account", "/account/invoice", "/reauthenticate", "/auth/wechat/complete"} <= set(
        pages
    )
    for path in pages:
        response = client.get(path)
        assert response.headers.get("Cache-Control") == "no-store", (path, response.status_code)
    # a page that is not personal is cacheable as usual: the header is not set everywhere
    assert client.get("/policy").headers.get("Cache-Control") != "no-store"


# --- mass assignment ----------------------------------------------------------------------------


def test_the_profile_form_cannot_set_verification_staff_phone_or_session(
    client, db, user, login_as
):
    before = db.session.get(User, user.id)
    token, phone, verified = before.session_token, before.phone, before.email_verified_at
    login_as(user)
    response = client.post(
        "/account/profile",
        data={
            "name": "李雷",
            "is_staff": "y",
            "email_verified_at": "",
            "phone": "+8613900000000",
            "session_token": "chosen",
            "password_hash": "x",
            "deregistered_at": "2020-01-01",
            "id": "999",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.name == "李雷"  # the form did save…
    assert not saved.is_staff  # …but only its own fields
    assert (saved.session_token, saved.phone, saved.email_verified_at) == (token, phone, verified)
    assert saved.check_password(PASSWORD) and saved.deregistered_at is None


def test_address_and_invoice_forms_cannot_choose_their_owner(client, db, make_user, login_as):
    user, other = make_user(), make_user()
    login_as(user)
    client.post("/account/addresses/new", data={**ADDRESS, "user_id": other.id, "id": 999})
    [address] = db.session.scalars(db.select(ShippingAddress)).all()
    assert address.user_id == user.id and address.id != 999
    client.post(f"/account/addresses/{address.id}/edit", data={**ADDRESS, "user_id": other.id})
    client.post("/account/invoice", data={**INVOICE, "user_id": other.id})
    db.session.expire_all()
    assert db.session.get(ShippingAddress, address.id).user_id == user.id
    [profile] = db.session.scalars(db.select(InvoiceProfile)).all()
    assert profile.user_id == user.id


# --- logs -------------------------------------------------------------------------------------


def test_account_changes_log_no_personal_data(client, db, user, login_as, caplog):
    caplog.set_level(logging.DEBUG)
    login_as(user)
    client.post("/account/profile", data={"name": "李雷", "job_title": "采购经理"})
    client.post("/account/addresses/new", data=ADDRESS)
    address = db.session.scalar(db.select(ShippingAddress))
    client.post(f"/account/addresses/{address.id}/edit", data={**ADDRESS, "recipient": "韩梅梅"})
    client.post(f"/account/addresses/{address.id}/delete")
    client.post("/account/invoice", data=INVOICE)
    client.post("/account/email", data={"email": "new.address@example.com"})
    new_password = "a brand new long passphrase"
    client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
    )
    ours = [r for r in caplog.records if r.name.startswith("xometry_site")]
    text = "\n".join(logging.Formatter().format(r) for r in ours)
    for secret in (
        "李雷",
        "采购经理",
        "王小明",
        "韩梅梅",
        "黎阳路",
        "13812345678",
        "200080",
        USCC,
        "6222020200112233445",
        "new.address@example.com",
        user.email,
        PASSWORD,
        new_password,
    ):
        assert secret not in text, secret
