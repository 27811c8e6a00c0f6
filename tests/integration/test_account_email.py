"""Changing the login e-mail: re-authentication, a link to the new address, no enumeration."""

from __future__ import annotations

import re

from xometry_site.extensions import db
from xometry_site.models import User


def email_of(user):
    db.session.expire_all()
    return db.session.get(User, user.id).email


def confirm_path(message):
    body = message.get_body(("plain",)).get_content()
    url = re.search(r"https?://\S*/account/email/confirm/\S+", body).group(0)
    return "/" + url.split("/", 3)[3]


def test_change_takes_effect_only_after_the_link_and_tells_the_old_address(
    client, user, login_as, mailbox
):
    old = user.email
    login_as(user)
    response = client.post("/account/email", data={"email": "New.Address@Example.com"})
    assert response.status_code == 302
    assert email_of(user) == old  # nothing changes yet
    [verify] = mailbox
    assert verify["To"] == "new.address@example.com"
    path = confirm_path(verify)
    assert client.get(path).status_code == 200
    assert email_of(user) == "new.address@example.com"
    notice = mailbox[-1]
    assert (
        notice["To"] == old
        and "new.address@example.com" in notice.get_body(("plain",)).get_content()
    )
    # single use: the old address is gone, so the same link no longer matches
    assert client.get(path).status_code == 400


def test_an_address_in_use_is_not_revealed_and_not_taken(client, make_user, login_as, mailbox):
    user, other = make_user(), make_user()
    login_as(user)
    response = client.post("/account/email", data={"email": other.email}, follow_redirects=True)
    assert "确认链接" in response.get_data(as_text=True)  # the same answer as for a free address
    [message] = mailbox
    assert message["To"] == other.email
    assert "/account/email/confirm/" not in message.get_body(("plain",)).get_content()
    assert email_of(user) != other.email


def test_bad_address_refused_beside_the_field(client, user, login_as):
    login_as(user)
    page = client.post("/account/email", data={"email": "nope@"}).get_data(as_text=True)
    assert "请填写有效的电子邮箱地址" in page and 'value="nope@"' in page
    page = client.post("/account/email", data={"email": user.email}).get_data(as_text=True)
    assert "这已经是您的电子邮箱地址" in page


def test_changing_the_email_needs_a_recent_sign_in(client, user, login_as, mailbox):
    login_as(user, fresh=False)
    for response in (
        client.get("/account/email"),
        client.post("/account/email", data={"email": "x@example.com"}),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/reauthenticate")
    assert mailbox == []
