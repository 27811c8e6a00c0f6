"""Flask's signed-cookie sessions, built once per key set and signed without compression."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode


class _UncompressedSerializer(URLSafeTimedSerializer):
    """Our sessions hold a few short ids and tokens: zlib (which itsdangerous tries on every
    cookie, allocating its 256 KB state each time) never shrank one, so it is skipped. Reading
    still accepts compressed cookies, so sessions issued before keep working."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask builds a new serializer twice a request (opening and saving), and building one
    serializes a test value: 5 % of a cached page's time. The serializer is immutable, so one
    per key set (secret key and fallbacks) is kept."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = tuple(app.config["SECRET_KEY_FALLBACKS"] or ())
        keys = (app.secret_key, fallbacks)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = _UncompressedSerializer(
                [*fallbacks, app.secret_key],  # itsdangerous signs with the last key
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
            self._serializers = {keys: serializer}  # a key change replaces, never accumulates
        return serializer
