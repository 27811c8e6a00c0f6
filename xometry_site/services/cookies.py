"""The one registry of every cookie the site sets, and the visitor's choice of categories.

The cookie notice, `/cookies` and the test that inspects every response all read this list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

CONSENT_COOKIE = "cookie_consent"
LANGUAGE_COOKIE = "lang"
NECESSARY = "necessary"
FUNCTIONAL = "functional"
CATEGORIES = {
    NECESSARY: _l("Strictly necessary"),
    FUNCTIONAL: _l("Functional"),
}
OPTIONAL_CATEGORIES = (FUNCTIONAL,)


@dataclass(frozen=True)
class CookieSpec:
    config_name: str | None  # config key holding the real name, when it differs per environment
    default_name: str
    category: str
    purpose: object  # lazy string
    lifetime: object  # lazy string
    persistent: bool

    @property
    def name(self) -> str:
        if self.config_name:
            return current_app.config.get(self.config_name, self.default_name)
        return self.default_name


REGISTRY: tuple[CookieSpec, ...] = (
    CookieSpec(
        "SESSION_COOKIE_NAME",
        "session",
        NECESSARY,
        _l(
            "Keeps you signed in while you browse and protects forms against forgery; set only "
            "when you sign in or fill in a form."
        ),
        _l("Until you close the browser"),
        persistent=False,
    ),
    CookieSpec(
        None,
        LANGUAGE_COOKIE,
        NECESSARY,
        _l("Remembers the language you chose, so every page speaks it."),
        _l("1 year"),
        persistent=True,
    ),
    CookieSpec(
        None,
        CONSENT_COOKIE,
        NECESSARY,
        _l("Remembers which cookie categories you accepted, so we do not ask on every page."),
        _l("1 year"),
        persistent=True,
    ),
    CookieSpec(
        "REMEMBER_COOKIE_NAME",
        "remember_token",
        FUNCTIONAL,
        _l(
            "Keeps you signed in on this device after you close the browser (\u201cRemember me\u201d)."
        ),
        _l("30 days"),
        persistent=True,
    ),
)


def registered_names() -> set[str]:
    return {spec.name for spec in REGISTRY}


def category_of(name: str) -> str | None:
    for spec in REGISTRY:
        if spec.name == name:
            return spec.category
    return None


def parse_choice(value: str | None) -> set[str] | None:
    """The categories in a consent cookie value, or None when the visitor has not chosen yet."""
    if not value:
        return None
    parts = {p for p in value.split(".") if p}
    if NECESSARY not in parts:
        return None
    return parts & set(CATEGORIES)


def current_choice() -> set[str] | None:
    return parse_choice(request.cookies.get(CONSENT_COOKIE))


def allows(category: str) -> bool:
    if category == NECESSARY:
        return True
    choice = current_choice()
    return bool(choice and category in choice)


def encode_choice(categories: set[str]) -> str:
    return ".".join(sorted(categories | {NECESSARY}))


def set_choice(response, categories: set[str]) -> None:
    """Store the choice and clear every cookie of a refused category at once."""
    config = current_app.config
    response.set_cookie(
        CONSENT_COOKIE,
        encode_choice(categories),
        max_age=config["COOKIE_CONSENT_MAX_AGE"],
        httponly=True,
        samesite="Lax",
        secure=config["SESSION_COOKIE_SECURE"],
        path="/",
    )
    for spec in REGISTRY:
        refused = spec.category != NECESSARY and spec.category not in categories
        if refused and spec.name in request.cookies:
            response.delete_cookie(
                spec.name, path="/", secure=config["SESSION_COOKIE_SECURE"], samesite="Lax"
            )


def enforce(response):
    """Last line of defence: drop any non-consented cookie; refuse unregistered ones in tests.
    A response that sets a cookie is this visitor's own: no shared cache may keep it."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return response
    if response.cache_control.public:
        response.cache_control.public = False
        response.cache_control.private = True
    keep = []
    for header in cookies:
        name = header.split("=", 1)[0].strip()
        category = category_of(name)
        deleting = "Max-Age=0" in header or "Expires=Thu, 01 Jan 1970" in header
        if category is None:
            log.error("cookie.unregistered name=%s", name)
            if current_app.testing:
                raise RuntimeError(f"cookie {name!r} is not in the cookie registry")
        elif category != NECESSARY and not deleting and not allows(category):
            log.warning("cookie.dropped_without_consent name=%s", name)
            continue
        keep.append(header)
    response.headers.remove("Set-Cookie")
    for header in keep:
        response.headers.add("Set-Cookie", header)
    return response
