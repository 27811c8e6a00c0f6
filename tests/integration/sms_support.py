"""Shared by the tests of SMS codes outside the WeChat sign-up: reading texts, the two steps of
`/login/sms`, accounts with a proved phone."""

from __future__ import annotations

import json
import re
from pathlib import Path

PHONE = "+8613912345678"
TYPED = "139 1234 5678"  # the same number as people type it


def sms_lines(app) -> list[dict]:
    """What the console SMS backend wrote to instance/outbox/sms.log."""
    path = Path(app.instance_path) / "outbox" / "sms.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def texts_to(app, phone: str = PHONE) -> list[str]:
    return [line["text"] for line in sms_lines(app) if line["to"] == phone]


def last_code(app, phone: str = PHONE) -> str:
    """The code in the newest text sent to `phone`."""
    texts = texts_to(app, phone)
    assert texts, f"no text was sent to {phone}"
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def wrong(code: str) -> str:
    """Another six digits."""
    return f"{(int(code) + 1) % 10**6:06d}"


def ask_code(client, phone: str = TYPED, query: str = ""):
    """Step one of /login/sms: the number."""
    return client.post("/login/sms" + query, data={"phone": phone})


def enter_code(client, code: str, phone: str = PHONE, query: str = ""):
    """Step two of /login/sms: the number (hidden on the page) and the code."""
    return client.post("/login/sms" + query, data={"phone": phone, "code": code})


def proved(make_user, phone: str = PHONE, **values):
    """An account whose phone was proved by SMS (as a WeChat sign-up proves it)."""
    from xometry_site.models.base import utcnow

    return make_user(phone=phone, phone_verified_at=utcnow(), **values)


def signed_in_as(client) -> str | None:
    """The `_user_id` of the client's session (id:token), or None."""
    with client.session_transaction() as session:
        return session.get("_user_id")
