"""Password setting (policy 1.6 / 5.3 A(2)): current password, site rules, other sessions end."""

from __future__ import annotations

from xometry_site.extensions import db
from xometry_site.models import User

OLD = "correct horse battery staple"
NEW = "a brand new long passphrase"


def change(client, current=OLD, new=NEW, confirm=None):
    data = {"new_password": new, "new_password_confirm": confirm if confirm is not None else new}
    if current is not None:
        data["current_password"] = current
    return client.post("/account/password", data=data)


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_change_needs_the_current_password(client, user, login_as):
    login_as(user)
    response = change(client, current="wrong password here")
    assert response.status_code == 200
    assert "当前密码不正确" in response.get_data(as_text=True)
    assert reload(user).check_password(OLD)


def test_mismatch_and_short_and_common_passwords_are_refused_beside_the_field(
    client, user, login_as
):
    login_as(user)
    page = change(client, confirm="something else entirely").get_data(as_text=True)
    assert "两次输入的密码不一致" in page
    page = change(client, new="short", confirm="short").get_data(as_text=True)
    assert 'id="new_password-errors"' in page
    page = change(client, new="password", confirm="password").get_data(as_text=True)
    assert 'id="new_password-errors"' in page
    assert reload(user).check_password(OLD)


def test_change_ends_other_sessions_keeps_this_one_and_mails_a_notice(
    app, client, user, login_as, mailbox
):
    other_device = app.test_client()
    from conftest import sign_in

    sign_in(other_device, user)
    assert other_device.get("/account").status_code == 200
    login_as(user)
    response = change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    saved = reload(user)
    assert saved.check_password(NEW) and not saved.check_password(OLD)
    assert client.get("/account").status_code == 200  # this browser stays signed in
    gone = other_device.get("/account")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert len(mailbox) == 1 and mailbox[0]["To"] == user.email


def test_wechat_user_sets_a_first_password_without_a_current_one(client, make_user, login_as):
    user = make_user(password=None, email="wx@example.com")
    login_as(user)
    page = client.get("/account/password").get_data(as_text=True)
    assert 'name="current_password"' not in page
    assert 'name="new_password"' in page
    assert change(client, current=None).status_code == 302
    assert reload(user).check_password(NEW)


def test_setting_a_first_password_needs_a_recent_sign_in(client, make_user, login_as):
    user = make_user(password=None)
    login_as(user, fresh=False)
    for response in (client.get("/account/password"), change(client, current=None)):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/reauthenticate")
    assert not reload(user).has_password


def test_password_holders_prove_themselves_with_the_current_password(client, user, login_as):
    login_as(user, fresh=False)
    assert change(client).status_code == 302
    assert reload(user).check_password(NEW)


def test_each_password_rule_has_its_own_message(client, user, login_as):
    login_as(user)
    client.get("/?lang=en")
    for new, message in (
        ("short", "Use at least 8 characters."),
        ("x" * 1025 + "y", "Use at most 1024 characters."),
        ("iloveyou123", "most common ones"),
        (user.email, "Do not use your e-mail address or your name"),
    ):
        page = change(client, new=new).get_data(as_text=True)
        errors = page.split('id="new_password-errors"', 1)[1].split("</ul>", 1)[0]
        assert message in errors, new[:20]
    assert reload(user).check_password(OLD)
