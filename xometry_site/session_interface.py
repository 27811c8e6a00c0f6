"""Flask's signed-cookie sessions, with the serializer and its signer built once per key set."""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from flask import Flask
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response
from itsdangerous import Serializer, Signer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes

# Below this many bytes of JSON a session is a few ids and tokens, which zlib cannot shrink.
COMPRESS_FROM = 512
PLAIN = frozenset({str, int, float, bool, type(None)})


class SessionJSON(TaggedJSONSerializer):
    """Flask's session JSON, written straight out when every value is a string, number, boolean
    or None (ids, tokens, flags: most sessions). Tagging changes nothing there, and Flask's JSON
    provider set up a new encoder for every cookie. Anything else (flashed messages, dates)
    goes the tagged way; reading is Flask's either way."""

    _encoder = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # Flask's settings

    def dumps(self, value: Any) -> str:
        if (
            type(value) is dict
            and all(type(v) in PLAIN for v in value.values())
            and not (len(value) == 1 and next(iter(value)) in self.tags)  # would read as a tag
        ):
            return self._encoder.encode(value)
        return super().dumps(value)


class KeptKeySigner(TimestampSigner):
    """Derives each secret key's signing key once, not for every signature and check (an HMAC
    each time); the keys and the salt never change in a signer's life."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(key)
        return derived


class CompactSerializer(URLSafeTimedSerializer):
    """itsdangerous tries zlib on every cookie, allocating its 256 KB state each time, and a
    small session never gets shorter; a large one (flashed messages piling up) must, or the
    cookie passes the browsers' 4 KB limit and is dropped. Same format either way.

    It also builds a new signer for every cookie or token it signs or reads; a signer holds
    nothing that changes, so one per salt is kept. SHA-1 is named as hashlib's own constructor,
    not itsdangerous's lazy wrapper around it: given the wrapper, Python's hmac falls back to
    its pure-Python HMAC instead of OpenSSL's (same signatures, a third of the time)."""

    default_signer = KeptKeySigner

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["signer_kwargs"] = {
            "digest_method": hashlib.sha1,
            **(kwargs.get("signer_kwargs") or {}),
        }
        super().__init__(*args, **kwargs)
        self._signers: dict[str | bytes, Signer] = {}

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        salt = self.salt if salt is None else salt
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer

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

    digest_method = staticmethod(hashlib.sha1)  # Flask's SHA-1, as hashlib's (see above)
    serializer = SessionJSON()

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

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Flask's, with a cookie to write done without its repeats: it parsed and rewrote the
        Vary header twice (before and after the cookie) and looked up each cookie setting even
        when nothing was written. Deleting and leaving alone stay Flask's own."""
        if not session or not self.should_set_cookie(app, session):
            super().save_session(app, session, response)
            return
        vary = response.headers.get("Vary")
        if vary is None:
            response.headers["Vary"] = "Cookie"
        else:
            response.vary.add("Cookie")  # Werkzeug merges it into what the view set
        response.set_cookie(
            self.get_cookie_name(app),
            self.get_signing_serializer(app).dumps(dict(session)),  # type: ignore[union-attr]
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            partitioned=self.get_cookie_partitioned(app),
            samesite=self.get_cookie_samesite(app),
        )
