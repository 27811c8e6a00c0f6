"""The privacy center's logs say what happened to which record id, never whose data it was."""

from __future__ import annotations

import logging
import re

from conftest import sign_in
from privacy_support import fill_everything, messages_to, notice_form, personal_strings, text_of

from xometry_site.extensions import db
from xometry_site.models import User
from xometry_site.services.privacy import erasure


def test_no_personal_data_in_the_logs_of_any_right(app, client, make_user, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user(preferred_language="en")
    fill_everything(user)
    secrets = personal_strings(user)
    staff = app.test_client()
    sign_in(staff, make_user(is_staff=True))
    sign_in(client, user)

    client.post("/privacy/export", data={})
    client.post(
        "/privacy/requests", data={"kind": "transfer", "processor": "某公司", "details": "x"}
    )
    visitor = app.test_client()
    visitor.post("/privacy/requests", data={"kind": "other", "email": "Visitor.Log@Example.com"})
    code = re.search(r"\b(\d{6})\b", text_of(messages_to(mailbox, "visitor.log@example.com")[0]))
    visitor.post("/privacy/requests/confirm", data={"code": "000000"})
    visitor.post("/privacy/requests/confirm", data={"code": code.group(1)})
    staff.get(f"/admin/users/{user.id}")
    staff.get(f"/admin/users?q={user.email}")
    staff.post(
        "/admin/notices",
        data=notice_form("通知", "N", "正文", "B", audience="all"),
    )
    client.post("/privacy/deregister", data={"confirm": "y"})
    db.session.expire_all()
    account = db.session.get(User, user.id)
    account.erase_after = account.deregistered_at
    db.session.commit()
    assert erasure.erase_account(user.id) is not None

    ours = [r for r in caplog.records if r.name.startswith(("xometry_site", "flask", "werkzeug"))]
    logged = "\n".join(r.getMessage() for r in ours)
    assert "audit action=account.erased" in logged  # the events are there, by id
    leaks = [s for s in [*secrets, "visitor.log@example.com", code.group(1)] if s in logged]
    assert leaks == []
