"""Flask's signed-cookie sessions, with the serializer built once per key set."""

from __future__ import annotations

import zlib
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

# Below this many bytes of JSON a session is a few ids and tokens, which zlib cannot shrink.
COMPRESS_FROM = 512


class CompactSerializer(URLSafeTimedSerializer):
    """itsdangerous tries zlib on every cookie, allocating its 256 KB state each time, and a
    small session never gets shorter; a large one (flashed messages piling up) must, or the
    cookie passes the browsers' 4 KB limit and is dropped. Same format either way."""

    def dump_payload(self, obj: Any) -> bytes:
        json = Serializer.dump_payload(self, obj)
        if len(json) >= COMPRESS_FROM:
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:
                return b"." + base64_encode(compressed)
        return base64_encode(json)


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
            serializer = CompactSerializer(
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
