"""Shared by the test_auth_* modules: a valid registration, reading mail, crafting old tokens."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from xometry_site.services import tokens

NEW_PASSWORD = "purple elephants dance at noon"
REGISTRATION = {
    "name": "张伟",
    "email": "zhang.wei@example.com",
    "phone": "139 1234 5678",
    "customer_type": "company",
    "password": NEW_PASSWORD,
    "password_confirm": NEW_PASSWORD,
    "accept_policy": "y",
    "confirm_adult": "y",
}


def register(client, lang: str | None = None, environ_base=None, **overrides):
    """POST the registration form (a field set to None is left out, like an unticked box)."""
    data = {**REGISTRATION, **overrides}
    data = {k: v for k, v in data.items() if v is not None}
    url = "/register" + (f"?lang={lang}" if lang else "")
    return client.post(url, data=data, environ_base=environ_base or {})


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def links_in(message) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text_of(message))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def only_message_to(mailbox, address: str):
    found = [m for m in mailbox if address in m["X-Envelope-To"]]
    assert len(found) == 1, [m["Subject"] for m in mailbox]
    return found[0]


def without_csrf(response) -> str:
    """The page without its CSRF token values, which are timestamped per rendering."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def old_token(purpose: str, payload, age_seconds: int) -> str:
    """A genuine token made `age_seconds` ago (signed as services.tokens signs, back-dated)."""
    from flask import current_app

    class BackDated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    serializer = URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=tokens.SALT_PREFIX + purpose, signer=BackDated
    )
    return serializer.dumps(payload)


def signed_in(client) -> bool:
    """Whether the client's session opens a signed-in-only page."""
    return client.get("/reauthenticate").status_code == 200
