"""Every response carries the security headers, and every cookie the production flags [A5 3.4, 3.3].

The app runs with ProductionConfig's cookie and HSTS settings over https://localhost; every rule of
`app.url_map` is requested (GET anonymous and signed in, POST anonymous), so a new route is checked
as soon as it exists. Personal pages must not be stored by browsers or proxies [A5 14.3.2].
"""

from __future__ import annotations

import pytest
from conftest import PASSWORD, sign_in
from records_support import make_records, rule_path

from xometry_site.config import ProductionConfig

PRODUCTION_COOKIES = {
    name: getattr(ProductionConfig, name)
    for name in (
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "REMEMBER_COOKIE_NAME",
        "REMEMBER_COOKIE_SECURE",
        "PREFERRED_URL_SCHEME",
        "HSTS_SECONDS",
    )
}
BASE = "https://localhost"
STRICT_REFERRERS = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
# Blueprints whose pages show a signed-in person's data: never cached.
PERSONAL = ("account.", "privacy.", "quotes.", "admin.")
# Personal-blueprint endpoints that show nothing about anyone, with the reason.
NOT_PERSONAL = {"account.divisions_json": "China's administrative divisions, the same for all"}


@pytest.fixture
def app_config():
    return dict(PRODUCTION_COOKIES)


def header_problems(response) -> list[str]:
    """What is missing or weak in one response's headers."""
    h = response.headers
    problems = []
    csp = h.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'"):
        if directive not in csp:
            problems.append(f"CSP lacks {directive}")
    if "frame-ancestors 'none'" not in csp:
        problems.append("CSP allows framing")
    script = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
    if "unsafe-inline" in script or "unsafe-eval" in script:
        problems.append("CSP allows inline script")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if h.get("Referrer-Policy") not in STRICT_REFERRERS:
        problems.append(f"Referrer-Policy {h.get('Referrer-Policy')!r}")
    if h.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options")
    hsts = h.get("Strict-Transport-Security", "")
    if not hsts.startswith("max-age=") or int(hsts.split("=")[1].split(";")[0]) < 31536000:
        problems.append(f"HSTS {hsts!r}")
    if not h.get("X-Request-ID"):
        problems.append("no X-Request-ID")
    return problems + cookie_problems(response)


def cookie_problems(response) -> list[str]:
    problems = []
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        flags = {part.strip().split("=")[0].lower(): part for part in header.split(";")[1:]}
        for flag in ("secure", "httponly"):
            if flag not in flags:
                problems.append(f"cookie {name} without {flag}")
        if flags.get("samesite", "").split("=")[-1].strip().lower() not in ("lax", "strict"):
            problems.append(f"cookie {name} without SameSite=Lax/Strict")
        if name.startswith("__Host-") and ("domain" in flags or "path=/" not in header.lower()):
            problems.append(f"cookie {name} breaks the __Host- rules")
        if name in ("session", "remember_token"):
            problems.append(f"cookie {name} is not __Host- prefixed")
    return problems


def _walk(app, values, client, methods=("GET",)):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in methods:
            if method in rule.methods:
                yield rule, method, client.open(rule_path(rule, values), method=method)


def test_every_response_of_every_route_has_the_headers(app, make_user):
    owner = make_user()
    values = make_records(app, owner)
    anonymous = app.test_client()
    signed_in = app.test_client()
    sign_in(signed_in, owner)
    walked, problems = 0, []
    for client, methods in ((anonymous, ("GET", "POST")), (signed_in, ("GET",))):
        for rule, method, response in _walk(app, values, client, methods):
            walked += 1
            found = header_problems(response)
            if found:
                problems.append(f"{method} {rule.rule} {response.status_code}: {found}")
            response.close()
    assert walked > 60
    assert problems == []


def test_personal_pages_are_never_cached(app, make_user):
    owner = make_user()
    staff = make_user(is_staff=True)
    values = make_records(app, owner)
    cached = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PERSONAL) or rule.endpoint in NOT_PERSONAL:
            continue
        if "GET" not in rule.methods:
            continue
        client = app.test_client()
        sign_in(client, staff if rule.endpoint.startswith("admin.") else owner)
        response = client.get(rule_path(rule, values))
        if response.status_code == 200 and "no-store" not in response.headers.get(
            "Cache-Control", ""
        ):
            cached.append(rule.rule)
        response.close()
    assert cached == []


def test_cookies_set_by_signing_in_have_production_flags(app, client, user):
    """Session, consent and remember-me cookies, set through the real forms, over HTTPS."""
    chosen = client.post(f"{BASE}/cookies", data={"accept_all": "1"})  # remember-me allowed
    assert "cookie_consent" in chosen.headers.get("Set-Cookie", "")
    assert cookie_problems(chosen) == []
    response = client.post(
        f"{BASE}/login",
        data={"email": user.email, "password": PASSWORD, "remember": "y"},
    )
    assert response.status_code == 302
    names = {h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")}
    assert {"__Host-session", "__Host-remember_token"} <= names, names
    assert cookie_problems(response) == []
    consent = client.get(f"{BASE}/cookies")
    assert cookie_problems(consent) == []


def test_a_response_that_sets_a_security_header_itself_keeps_its_own():
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from xometry_site.security import SecurityHeaders

    def embeddable(environ, start_response):
        response = Response("ok", headers={"X-Frame-Options": "SAMEORIGIN"})
        return response(environ, start_response)

    headers = Client(SecurityHeaders(embeddable, hsts_seconds=600)).get("/").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    assert "Strict-Transport-Security" not in Client(SecurityHeaders(embeddable)).get("/").headers
