"""The site's foundation: health, languages, error pages, security headers, configuration."""

from __future__ import annotations

import pytest

from xometry_site import create_app
from xometry_site.config import DEV_SECRET_KEY, ProductionConfig


def test_healthz_reports_each_dependency_and_is_never_kept(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    # development and tests: no Redis (limits in memory, jobs inline), blobs on local disk
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "disabled",
        "storage": "ok",
    }
    assert "no-store" in response.headers["Cache-Control"]


def test_home_speaks_chinese_by_default_with_a_call_to_action(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "申请报价" in page  # "Request a quote"
    assert 'href="/quotes/new"' in page
    assert 'href="/policy"' in page  # the footer link the policy promises


def test_lang_parameter_switches_and_is_remembered(client):
    assert '<html lang="en">' in client.get("/?lang=en").get_data(as_text=True)
    # the stored choice applies to the next page without the parameter
    assert "Request a quote" in client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/?lang=zh_CN").get_data(as_text=True)


def test_accept_language_is_used_when_nothing_was_chosen(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    page = client.get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page


def test_language_links_keep_the_page(client):
    page = client.get("/cookies").get_data(as_text=True)
    assert 'href="/cookies?lang=en"' in page


@pytest.mark.parametrize(("lang", "text"), [("zh_CN", "页面不存在"), ("en", "Page not found")])
def test_404_page_in_both_languages(client, lang, text):
    response = client.get(f"/no-such-page?lang={lang}")
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("code", "zh", "en"),
    [
        (400, "请求有误", "Bad request"),
        (403, "禁止访问", "Forbidden"),
        (413, "文件过大", "File too large"),
        (429, "尝试次数过多", "Too many attempts"),
        (500, "出错了", "Something went wrong"),
    ],
)
def test_error_pages_in_both_languages(app, code, zh, en):
    from flask import abort

    @app.get(f"/_boom/{code}")
    def boom():
        if code == 500:
            raise RuntimeError("internal detail that must not leak")
        abort(code)

    client = app.test_client()
    for lang, text in (("zh_CN", zh), ("en", en)):
        response = client.get(f"/_boom/{code}?lang={lang}")
        assert response.status_code == code
        body = response.get_data(as_text=True)
        assert text in body
        assert "internal detail" not in body
        assert "Traceback" not in body


def test_security_headers_on_every_response(client):
    for path in ("/", "/cookies", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_no_inline_script_in_pages(client):
    import re

    page = client.get("/").get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag
    assert "onclick=" not in page and "style=" not in page


def test_session_and_language_cookie_flags(client, user):
    from conftest import sign_in

    client.get("/?lang=en")  # stores the choice in a cookie of its own
    sign_in(client, user)
    for name in ("session", "lang"):
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        assert cookie.http_only
        assert cookie.same_site == "Lax"


def test_csrf_is_required_on_posts(app, user):
    from conftest import PASSWORD

    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert client.get("/login").status_code == 200  # a form: a session with a token
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302  # not signed in


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}, "PostgreSQL"),
    ],
)
def test_production_refuses_unsafe_settings(override, complaint):
    config = {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": None, **override}
    with pytest.raises(RuntimeError, match=complaint):
        ProductionConfig.validate(config)


def test_production_app_refuses_to_start_with_development_key(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(env="production")


def test_production_cookies_are_secure_and_host_prefixed():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_NAME.startswith("__Host-")
    assert ProductionConfig.HSTS_SECONDS >= 31536000
