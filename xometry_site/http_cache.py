"""A shared HTTP cache inside each worker, for the pages the app itself marks `public`.

It does for gunicorn what nginx's cache does in front of it (deploy/nginx), by the same rules:
only a GET or HEAD without a session or "remember me" cookie is looked up; only a 200 marked
`Cache-Control: public` with a max-age, and setting no cookie, is kept, for that max-age; the
request headers the response names in `Vary` choose among the copies of one address; a matching
`If-None-Match` is answered 304. The app decides what is public (pages/cache.py); this only
remembers its answers, as Django's per-site cache middleware does.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header, parse_etags

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Kept:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    etag: str | None
    expires: float


class HttpCache:
    """WSGI middleware keeping public responses in memory, at most `entries` of them."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], *, bypass_cookies: Iterable[str], entries: int
    ) -> None:
        self.app = app
        self.bypass = tuple(f"{name}=" for name in bypass_cookies)
        self.entries = entries
        self.kept: OrderedDict[tuple, Kept] = OrderedDict()
        self.vary: dict[tuple, tuple[str, ...]] = {}  # address → the request headers it varies on
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse):
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or self._personal(environ):
            return self.app(environ, start_response)
        address = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )
        names = self.vary.get(address)
        if names is not None:
            kept = self.kept.get((address, _values(environ, names)))
            if kept is not None and kept.expires > time.monotonic():
                return self._serve(kept, environ, start_response)
        return self._fetch(address, environ, start_response)

    def _personal(self, environ: dict[str, Any]) -> bool:
        cookie = environ.get("HTTP_COOKIE", "")
        return bool(cookie) and any(
            part.strip().startswith(self.bypass) for part in cookie.split(";")
        )

    def _serve(self, kept: Kept, environ: dict[str, Any], start_response: StartResponse):
        wanted = environ.get("HTTP_IF_NONE_MATCH")
        if wanted and kept.etag and parse_etags(wanted).contains(kept.etag):
            headers = [(k, v) for k, v in kept.headers if k.lower() != "content-length"]
            start_response("304 Not Modified", headers)
            return []
        start_response(kept.status, list(kept.headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [kept.body]

    def _fetch(self, address: tuple, environ: dict[str, Any], start_response: StartResponse):
        """Ask the app; keep its answer if it says anyone may."""
        answer: dict[str, Any] = {}

        def noting(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            answer["status"], answer["headers"] = status, headers
            answer["lifetime"] = _public_lifetime(status, headers)
            return start_response(status, headers, exc_info)

        body = self.app(environ, noting)
        if environ["REQUEST_METHOD"] == "HEAD" or answer.get("lifetime") == 0:
            return body  # nothing to keep: the body passes through untouched
        return self._keeping(address, environ, answer, body)

    def _keeping(self, address, environ, answer, body) -> Iterator[bytes]:
        """Pass the body on, and keep it once it has all been sent (never a part of it)."""
        chunks: list[bytes] = []
        try:
            for chunk in body:
                chunks.append(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        lifetime = _public_lifetime(answer.get("status", ""), answer.get("headers", []))
        if lifetime:
            self._keep(address, environ, answer, b"".join(chunks), lifetime)

    def _keep(self, address, environ, answer, body, lifetime) -> None:
        headers, status = answer["headers"], answer["status"]
        names = tuple(
            name.strip().lower()
            for value in _all(headers, "vary")
            for name in value.split(",")
            if name.strip()
        )
        etag = next(iter(_all(headers, "etag")), None)
        kept = Kept(
            status=status,
            headers=tuple(headers),
            body=body,
            etag=parse_etags(etag).as_set().pop() if etag else None,
            expires=time.monotonic() + lifetime,
        )
        with self.lock:
            if self.vary.get(address, names) != names:
                self._forget(address)  # the app changed what the address varies on
            self.vary[address] = names
            self.kept[(address, _values(environ, names))] = kept
            while len(self.kept) > self.entries:
                self.kept.popitem(last=False)
            if len(self.vary) > self.entries:  # addresses whose answers all made room
                live = {key[0] for key in self.kept}
                self.vary = {where: vary for where, vary in self.vary.items() if where in live}

    def _forget(self, address: tuple) -> None:
        for key in [key for key in self.kept if key[0] == address]:
            del self.kept[key]


def _all(headers: list[tuple[str, str]] | tuple, name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def _values(environ: dict[str, Any], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(environ.get("HTTP_" + name.upper().replace("-", "_"), "") for name in names)


def _public_lifetime(status: str, headers) -> int:
    """Seconds a shared cache may keep this answer: 0 unless a 200 marked public with a
    max-age, setting no cookie and varying on nothing unknowable (`Vary: *`)."""
    if not status.startswith("200 ") or _all(headers, "set-cookie"):
        return 0
    if any(value.strip() == "*" for value in _all(headers, "vary")):
        return 0
    control = parse_cache_control_header(
        ", ".join(_all(headers, "cache-control")), cls=ResponseCacheControl
    )
    if not control.public or control.private or control.no_store or control.no_cache:
        return 0
    return int(control.s_maxage or control.max_age or 0)
