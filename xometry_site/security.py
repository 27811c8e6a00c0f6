"""Cross-cutting protections: response headers, safe redirects, re-authentication, no-store."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
REAUTH_KEY = "_reauth_at"
STAFF_PROOF_KEY = "_staff_second_factor"
log = logging.getLogger(__name__)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    """WSGI middleware: SECURITY_HEADERS (and HSTS when configured) on every response, the error
    pages and static files included; a view that set one of them itself keeps its own. The pairs
    are constants appended to the WSGI header list as they are: added one by one through
    Werkzeug's Headers, each was checked for line breaks again on every response (5 % of a page
    served from the cache)."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], hsts_seconds: int = 0) -> None:
        self.wsgi_app = wsgi_app
        pairs = list(SECURITY_HEADERS)
        if hsts_seconds:
            pairs.append(
                ("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains")
            )
        self.pairs = tuple((name.lower(), (name, value)) for name, value in pairs)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        def with_headers(status: str, headers: list, exc_info: Any = None) -> Any:
            present = {name.lower() for name, _value in headers}
            headers.extend(pair for name, pair in self.pairs if name not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, with_headers)


def no_store(view):
    """Pages with personal information must not be kept by browsers or proxies."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        response = current_app.make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    return wrapped


def may_be_signed_in() -> bool:
    """Without a session or "remember me" cookie nobody is signed in, and nothing waits in a
    session: the page is the anonymous one without asking Flask-Login or opening the session."""
    config = current_app.config
    cookies_sent = request.cookies
    return config["SESSION_COOKIE_NAME"] in cookies_sent or (
        config["REMEMBER_COOKIE_NAME"] in cookies_sent
    )


def from_this_site() -> bool:
    """A state-changing request that carries no session (so no CSRF token) came from our own
    pages: the browser's Fetch Metadata (`Sec-Fetch-Site`) says so, or else its `Origin`, or else
    its `Referer`, names this site. A request that says nothing of where it came from is refused:
    every browser we serve sends at least `Origin` with a POST."""
    own = f"{request.scheme}://{request.host}"
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == own
    referrer = request.headers.get("Referer")
    if referrer:
        parts = urlsplit(referrer)
        return f"{parts.scheme}://{parts.netloc}" == own
    return False


def same_origin_only(view):
    """For a form posted without a session: cross-site requests are refused with 403."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS") and not from_this_site():
            log.warning("security.cross_site_refused path=%s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def is_safe_next(target: str | None) -> bool:
    """Only same-site absolute paths: refuses //x, \\\\x, /\\x, schemes and control characters."""
    if not target or not isinstance(target, str):
        return False
    if any(ord(c) < 32 or c == "\\" for c in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str = "pages.home") -> str:
    return target if is_safe_next(target) else url_for(default)


def mark_fresh_auth() -> None:
    """Remember when the user last proved who they are (password or fresh WeChat sign-in)."""
    session[REAUTH_KEY] = int(time.time())


def is_recently_authenticated() -> bool:
    at = session.get(REAUTH_KEY)
    return bool(at) and time.time() - at <= current_app.config["REAUTH_MAX_AGE"]


def reauth_required(view):
    """Sensitive changes ask for the password again when the last proof is a few minutes old."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.is_authenticated and not is_recently_authenticated():
            return redirect(url_for("auth.reauthenticate", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def mark_staff_proof(user) -> None:
    """The staff member gave a right code from their authenticator in this session. Bound to the
    per-user token: signing out everywhere (or a reset of the enrolment) ends the proof too."""
    session[STAFF_PROOF_KEY] = f"{user.id}:{user.session_token}"


def has_staff_proof() -> bool:
    """This session passed the staff second factor (each sign-in starts a session without it)."""
    user = current_user
    return bool(user.is_authenticated) and session.get(STAFF_PROOF_KEY) == (
        f"{user.id}:{user.session_token}"
    )


def acts_as_staff() -> bool:
    """Staff privileges for this request: a staff account whose session gave the second factor."""
    return bool(current_user.is_authenticated and current_user.is_staff) and has_staff_proof()


def staff_required(view):
    """Staff pages: 404 for everyone else, so their existence is not advertised; a staff member
    whose session has not given the second factor (or who has not enrolled) is sent to do so."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not (current_user.is_authenticated and current_user.is_staff):
            abort(404)
        if not has_staff_proof():
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.second_factor_code", next=target))
        return view(*args, **kwargs)

    return wrapped
