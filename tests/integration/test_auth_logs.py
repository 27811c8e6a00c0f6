"""Logs: one line per sign-in, failure and denial, with the user id or "unknown" and never the
address, the password or a token."""

from __future__ import annotations

import logging

from auth_support import NEW_PASSWORD, REGISTRATION, links_in, only_message_to, path_of, register
from conftest import PASSWORD

from xometry_site.models import User

WRONG = "Wr0ng-Guess-Passw0rd"
THE_TEST_SMTP_SERVER = ("mail.log", "asyncio")  # aiosmtpd's own debug lines, not the site's


def test_account_events_are_logged_without_secrets(client, db, user, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    register(client)
    verify_link = next(u for u in links_in(mailbox[-1]) if "/verify-email/" in u)
    client.get(path_of(verify_link))
    client.post("/logout")
    client.post("/login", data={"email": "nobody@example.com", "password": WRONG})
    client.post("/login", data={"email": user.email, "password": WRONG})
    client.post("/login?next=//evil.com", data={"email": user.email, "password": PASSWORD})
    client.post("/logout")
    mailbox.clear()
    client.post("/password/forgot", data={"email": user.email})
    reset_link = next(u for u in links_in(only_message_to(mailbox, user.email)) if "/reset/" in u)
    client.post(
        path_of(reset_link), data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    client.get(path_of(reset_link))  # used: denied
    client.get("/verify-email/forged-token")

    new_user = db.session.scalar(db.select(User).filter_by(email=REGISTRATION["email"]))
    ours = [r for r in caplog.records if not r.name.startswith(THE_TEST_SMTP_SERVER)]
    lines = [r.getMessage() for r in ours]
    text = "\n".join(logging.Formatter().format(r) for r in ours)  # tracebacks included
    for secret in (
        user.email,
        REGISTRATION["email"],
        "nobody@example.com",
        "example.com",
        PASSWORD,
        NEW_PASSWORD,
        WRONG,
        REGISTRATION["phone"].replace(" ", ""),
        verify_link.rsplit("/", 1)[1],
        reset_link.rsplit("/", 1)[1],
    ):
        assert secret not in text, secret
    expected = [
        f"auth.registered user={new_user.id}",
        f"auth.email_verified user={new_user.id}",
        f"auth.signed_in user={new_user.id} method=verify_link",
        "auth.sign_in_failed user=unknown reason=unknown",
        f"auth.sign_in_failed user={user.id} reason=password",
        f"auth.signed_in user={user.id} method=password",
        "security.next_refused",
        f"auth.signed_out user={user.id}",
        f"auth.reset_requested user={user.id}",
        f"auth.password_changed user={user.id} reason=reset",
        "auth.reset_denied reason=invalid",
        "auth.verify_denied reason=invalid",
    ]
    for event in expected:
        matching = [line for line in lines if line.startswith(event)]
        assert len(matching) == 1, (event, lines)
    assert all("\n" not in line for line in lines)


def test_an_unknown_reset_request_is_logged_as_unknown(client, caplog):
    caplog.set_level(logging.INFO, logger="xometry_site")
    client.post("/password/forgot", data={"email": "ghost@example.com"})
    assert "auth.reset_requested user=unknown" in caplog.text
    assert "ghost" not in caplog.text
