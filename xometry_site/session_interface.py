"""The browser's signed-cookie session everywhere but the Mini Program's API, which has none.

The API signs in with bearer tokens: it must neither read nor set a cookie. Flask opens the
session of every request before any view runs; under the API's prefix this interface hands it
Flask's null session instead, so no cookie is read, nothing is saved (Flask saves no null
session, so no `Set-Cookie` can follow), and code that tried to write to it would fail loudly.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from .api.errors import PREFIX


class SiteSessionInterface(SecureCookieSessionInterface):
    """Flask's own cookie session, except on the API."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        path = request.path
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.null_session_class()
        return super().open_session(app, request)
