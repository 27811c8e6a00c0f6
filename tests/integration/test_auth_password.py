"""Forgotten password: a neutral answer, a single-use expiring link, every session ended, a notice."""

from __future__ import annotations

from auth_support import (
    NEW_PASSWORD,
    links_in,
    old_token,
    only_message_to,
    path_of,
    signed_in,
    without_csrf,
)
from conftest import PASSWORD

from xometry_site.models.base import utcnow
from xometry_site.services.accounts.password_reset import RESET_PURPOSE, reset_token
from xometry_site.services.tokens import fingerprint


def _reset_path(mailbox, address: str) -> str:
    message = only_message_to(mailbox, address)
    return path_of(next(u for u in links_in(message) if "/password/reset/" in u))


def test_forgot_form(client):
    response = client.get("/password/forgot")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert 'name="email"' in response.get_data(as_text=True)


def test_same_answer_for_known_and_unknown_addresses(client, user, mailbox):
    known = client.post("/password/forgot?lang=en", data={"email": user.email})
    unknown = client.post("/password/forgot?lang=en", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known) == without_csrf(unknown)
    assert "If an account uses this address" in known.get_data(as_text=True)
    assert [m["X-Envelope-To"] for m in mailbox] == [user.email]


def test_no_link_for_a_deregistered_account(client, make_user, mailbox):
    make_user(email="gone@example.com", deregistered_at=utcnow())
    client.post("/password/forgot", data={"email": "gone@example.com"})
    assert mailbox == []


def test_malformed_address_is_explained(client, mailbox):
    page = client.post("/password/forgot?lang=en", data={"email": "no-at-sign"})
    assert "Please enter a valid e-mail address" in page.get_data(as_text=True)
    assert mailbox == []


def test_reset_changes_the_password_once_ends_sessions_and_tells_the_owner(
    app, client, db, user, mailbox
):
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    assert signed_in(other_device)

    client.post("/password/forgot", data={"email": user.email})
    path = _reset_path(mailbox, user.email)
    mailbox.clear()
    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"

    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    assert not signed_in(other_device)  # every other session ended
    notice = only_message_to(mailbox, user.email)
    assert notice["Subject"] == "您的密码已修改"
    assert NEW_PASSWORD not in notice.as_string()

    reused = client.get(path + "?lang=en")  # single use: bound to the old password hash
    assert reused.status_code == 400
    assert "already used" in reused.get_data(as_text=True)
    again = client.post(
        path,
        data={"password": "another fine passphrase", "password_confirm": "another fine passphrase"},
    )
    assert again.status_code == 400
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)

    assert (
        client.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_reset_refuses_weak_passwords_and_keeps_the_link(client, db, user):
    path = f"/password/reset/{reset_token(user)}"
    for weak, message in (
        ("iloveyou123", "most common ones"),
        ("short", "at least 8 characters"),
        (user.email, "Do not use your e-mail address"),
    ):
        page = client.post(path + "?lang=en", data={"password": weak, "password_confirm": weak})
        assert page.status_code == 200
        assert message in page.get_data(as_text=True)
    mismatch = client.post(
        path + "?lang=en", data={"password": NEW_PASSWORD, "password_confirm": "x"}
    )
    assert "The two passwords do not match." in mismatch.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
    assert client.get(path).status_code == 200


def test_expired_reset_link(client, user):
    payload = {"uid": user.id, "pw": fingerprint(user.password_hash)}
    token = old_token(RESET_PURPOSE, payload, age_seconds=3600 + 60)
    response = client.get(f"/password/reset/{token}?lang=en")
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    assert (
        client.get(f"/password/reset/{old_token(RESET_PURPOSE, payload, 3000)}").status_code == 200
    )


def test_forged_reset_link(client, user):
    assert client.get(f"/password/reset/{reset_token(user)[:-3]}abc").status_code == 400
    assert client.get("/password/reset/not-a-token").status_code == 400


def test_reset_link_of_an_account_deregistered_since(client, db, user):
    token = reset_token(user)
    user.deregistered_at = utcnow()
    db.session.commit()
    assert client.get(f"/password/reset/{token}").status_code == 400


def test_reset_mail_language_follows_the_account(client, make_user, mailbox):
    make_user(email="en@example.com", preferred_language="en")
    client.post("/password/forgot", data={"email": "en@example.com"})  # from a Chinese page
    message = only_message_to(mailbox, "en@example.com")
    assert message["Subject"] == "Choose a new password"
