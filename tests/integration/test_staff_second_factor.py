"""Staff second factor: enrol TOTP before /admin/ opens, a code at each staff sign-in, recovery."""

from __future__ import annotations

import re

import pyotp
import pytest
from conftest import PASSWORD, STAFF_TOTP_SECRET, enrol_staff, sign_in, totp_code

from xometry_site.extensions import db
from xometry_site.models import AuditEvent, StaffRecoveryCode, StaffSecondFactor, User
from xometry_site.services.accounts import second_factor


def password_sign_in(client, user):
    return client.post("/login", data={"email": user.email, "password": PASSWORD})


def enrol_through_the_page(client) -> tuple[str, list[str]]:
    """Scan (read) the key the page shows, enter the app's code; the secret and recovery codes."""
    page = client.get("/login/second-factor/enrol?lang=en").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = client.post("/login/second-factor/enrol?lang=en", data={"code": totp_code(secret)})
    assert done.status_code == 200
    codes = re.findall(
        r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", done.get_data(as_text=True)
    )
    return secret, codes


def test_a_staff_member_without_an_authenticator_is_sent_to_enrol_before_any_admin_page(
    client, make_user
):
    staff = make_user(is_staff=True)
    sign_in(client, staff, second_factor=False)
    for url in ("/admin/", "/admin/requests", "/admin/quotes", "/admin/audit"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login/second-factor"), url
    follow = client.get("/admin/requests", follow_redirects=True)
    assert follow.request.path == "/login/second-factor/enrol"
    page = follow.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn here (CSP: img data:)
    factor = db.session.scalar(db.select(StaffSecondFactor).filter_by(user_id=staff.id))
    assert second_factor.grouped(factor.secret) in page  # the key as text too
    assert factor.confirmed_at is None
    assert client.get("/admin/").status_code == 302  # not enrolled until a code proves it


def test_enrolment_needs_a_right_code_then_shows_ten_recovery_codes_once(client, make_user):
    staff = make_user(is_staff=True, preferred_language="en")
    sign_in(client, staff, second_factor=False)
    page = client.get("/login/second-factor/enrol?lang=en").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    wrong = client.post("/login/second-factor/enrol?lang=en", data={"code": "000000"})
    assert wrong.status_code == 400
    assert "This code is not right" in wrong.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    done = client.post("/login/second-factor/enrol?lang=en", data={"code": totp_code(secret)})
    codes = re.findall(
        r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", done.get_data(as_text=True)
    )
    assert len(set(codes)) == 10
    assert done.headers["Cache-Control"] == "no-store"
    assert client.get("/admin/").status_code == 200  # this session gave the code
    # the page never shows them again; the database has the secret encrypted, the codes hashed
    assert client.get("/login/second-factor/enrol").status_code == 302
    with db.engine.connect() as conn:
        stored = conn.execute(db.text("SELECT secret FROM staff_second_factors")).scalar()
        hashes = set(conn.execute(db.text("SELECT code_hash FROM staff_recovery_codes")).scalars())
    assert secret not in stored and len(hashes) == 10
    assert not {c.replace("-", "") for c in codes} & hashes
    event = db.session.scalar(
        db.select(AuditEvent).filter_by(action="staff.second_factor_enrolled")
    )
    assert (event.actor_id, event.subject_id) == (staff.id, staff.id)


def test_enrolment_asks_for_a_recent_password(client, make_user):
    staff = make_user(is_staff=True)
    sign_in(client, staff, fresh=False, second_factor=False)
    response = client.get("/login/second-factor/enrol")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/reauthenticate")


def test_each_staff_sign_in_asks_for_the_code_after_the_password(client, make_user):
    staff = make_user(is_staff=True)
    enrol_staff(staff)
    response = password_sign_in(client, staff)
    assert response.headers["Location"].startswith("/login/second-factor")
    # signed in, but not as staff: no staff page, no other customer's quote
    assert client.get("/account").status_code == 200
    assert client.get("/admin/requests").headers["Location"].startswith("/login/second-factor")
    page = client.get("/login/second-factor?lang=en").get_data(as_text=True)
    assert "six-digit code" in page
    passed = client.post(
        "/login/second-factor?next=/admin/requests", data={"code": totp_code(STAFF_TOTP_SECRET)}
    )
    assert passed.headers["Location"] == "/admin/requests"
    assert client.get("/admin/requests").status_code == 200
    # signing out and in again: the code is asked again
    client.post("/logout")
    password_sign_in(client, staff)
    assert client.get("/admin/").status_code == 302


def test_a_code_works_once(app, make_user):
    staff = make_user(is_staff=True)
    enrol_staff(staff)
    code = totp_code(STAFF_TOTP_SECRET)
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        password_sign_in(client, staff)
    assert first.post("/login/second-factor", data={"code": code}).status_code == 302
    replay = second.post("/login/second-factor?lang=en", data={"code": code})
    assert replay.status_code == 400
    assert second.get("/admin/").status_code == 302
    # the next step's code (a clock a little ahead) is fine
    assert second.post("/login/second-factor", data={"code": totp_code(steps=1)}).status_code == 302


def test_codes_from_far_off_clocks_and_other_keys_are_refused(client, make_user):
    staff = make_user(is_staff=True)
    enrol_staff(staff)
    password_sign_in(client, staff)
    other_key = pyotp.TOTP(pyotp.random_base32()).now()
    for code in (totp_code(steps=-3), totp_code(steps=3), other_key, "12345", "abcdef", ""):
        assert client.post("/login/second-factor", data={"code": code}).status_code == 400, code
    assert client.get("/admin/").status_code == 302


def test_a_full_width_code_from_a_chinese_input_method_is_read(client, make_user):
    staff = make_user(is_staff=True)
    enrol_staff(staff)
    password_sign_in(client, staff)
    code = totp_code().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.post("/login/second-factor", data={"code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_signs_in_once_and_is_audited(client, make_user):
    staff = make_user(is_staff=True)
    sign_in(client, staff, second_factor=False)
    _secret, codes = enrol_through_the_page(client)
    client.post("/logout")
    password_sign_in(client, staff)
    used = client.post(
        "/login/second-factor?lang=en", data={"code": codes[0].upper()}, follow_redirects=True
    )
    assert used.request.path == "/admin/"
    assert "recovery code" in used.get_data(as_text=True)
    client.post("/logout")
    password_sign_in(client, staff)
    again = client.post("/login/second-factor", data={"code": codes[0]})
    assert again.status_code == 400
    assert client.post("/login/second-factor", data={"code": codes[1]}).status_code == 302
    assert second_factor.recovery_codes_left(staff) == 8
    used_events = db.session.scalars(
        db.select(AuditEvent).filter_by(action="staff.recovery_code_used")
    ).all()
    assert len(used_events) == 2


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
@pytest.mark.parametrize(("lang", "text"), [("en", "Too many attempts"), ("zh_CN", "尝试次数过多")])
def test_wrong_codes_are_throttled_per_account(client, make_user, lang, text):
    staff = make_user(is_staff=True)
    enrol_staff(staff)
    password_sign_in(client, staff)
    for _ in range(5):
        assert client.post("/login/second-factor", data={"code": "000000"}).status_code == 400
    blocked = client.post(f"/login/second-factor?lang={lang}", data={"code": totp_code()})
    assert blocked.status_code == 429
    assert text in blocked.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_customers_never_see_the_second_factor_pages(client, make_user):
    sign_in(client, make_user())
    assert client.get("/login/second-factor").status_code == 404
    assert client.get("/login/second-factor/enrol").status_code == 404
    assert client.post("/login/second-factor", data={"code": "123456"}).status_code == 404


def test_without_the_code_a_staff_session_sees_no_other_customers_quote(client, make_user):
    from privacy_support import add_quote

    owner = make_user()
    quote = add_quote(owner)
    db.session.commit()
    staff = make_user(is_staff=True)
    sign_in(client, staff, second_factor=False)
    assert client.get(f"/quotes/{quote.ref}").status_code == 404
    sign_in(client, staff)
    assert client.get(f"/quotes/{quote.ref}").status_code == 200


def test_another_staff_member_resets_a_lost_authenticator(app, client, make_user, mailbox):
    lost = make_user(is_staff=True, name="小张", preferred_language="en")
    colleague = make_user(is_staff=True)
    their_browser = app.test_client()
    sign_in(their_browser, lost, second_factor=False)
    enrol_through_the_page(their_browser)
    assert their_browser.get("/admin/").status_code == 200
    sign_in(client, colleague)
    page = client.get(f"/admin/users/{lost.id}?lang=en").get_data(as_text=True)
    assert "Reset the second factor" in page
    response = client.post(f"/admin/users/{lost.id}/second-factor/reset")
    assert response.status_code == 302
    assert db.session.scalar(db.select(StaffSecondFactor).filter_by(user_id=lost.id)) is None
    assert db.session.scalar(db.select(db.func.count(StaffRecoveryCode.id))) == 0
    # every session of the account ended; the next sign-in enrols again
    assert their_browser.get("/admin/").status_code == 404
    password_sign_in(their_browser, lost)
    assert their_browser.get("/admin/", follow_redirects=True).request.path == (
        "/login/second-factor/enrol"
    )
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.second_factor_reset"))
    assert (event.actor_id, event.subject_id) == (colleague.id, lost.id)
    [mail] = [m for m in mailbox if m["To"] == lost.email]
    assert mail["Subject"] == "Your staff second factor has been reset"
    assert "Another staff member has just reset" in mail.get_body(("plain",)).get_content()


def test_one_cannot_reset_ones_own_second_factor_nor_a_customers(client, make_user):
    staff, customer = make_user(is_staff=True), make_user()
    sign_in(client, staff)
    assert client.post(f"/admin/users/{staff.id}/second-factor/reset").status_code == 400
    assert client.post(f"/admin/users/{customer.id}/second-factor/reset").status_code == 404
    assert second_factor.is_enrolled(staff)


def test_the_command_resets_when_no_colleague_can(app, make_user):
    staff = make_user(is_staff=True, email="boss@example.com")
    enrol_staff(staff)
    result = app.test_cli_runner().invoke(args=["users", "reset-second-factor", "BOSS@example.com"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not second_factor.is_enrolled(db.session.get(User, staff.id))
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="staff.second_factor_reset"))
    assert event.actor_id is None and event.subject_id == staff.id


def test_a_staff_sign_in_by_sms_code_asks_for_the_second_factor_too(app, client, make_user):
    from sms_support import ask_code, enter_code, last_code, proved

    staff = proved(make_user, is_staff=True)
    enrol_staff(staff)
    ask_code(client)
    response = enter_code(client, last_code(app), query="?next=/admin/requests")
    assert response.headers["Location"].startswith("/login/second-factor")
    assert client.get("/admin/requests").status_code == 302
    passed = client.post("/login/second-factor?next=/admin/requests", data={"code": totp_code()})
    assert passed.headers["Location"] == "/admin/requests"
    assert client.get("/admin/requests").status_code == 200
