"""The session cookie's JSON (session_interface.py): Flask's, written faster for plain sessions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from xometry_site import create_app
from xometry_site.session_interface import CookieSessionInterface, SessionJSON

PLAIN = {"csrf_token": "a" * 40, "_user_id": "7:abc", "_fresh": True, "_reauth_at": 1.5, "n": None}
TAGGED = [
    {"_flashes": [("success", "已保存")]},  # a list of tuples
    {"when": datetime(2026, 11, 26, 8, 30, tzinfo=UTC)},
    {"raw": b"\x00\x01"},
    {" t": "looks like a tag"},  # a lone key that reads as a tag must be escaped
    {"nested": {"a": 1}},
]


@pytest.fixture
def app(tmp_path):
    return create_app({"SECRET_KEY": "s" * 48, "INSTANCE_PATH": str(tmp_path), "TESTING": True})


@pytest.mark.parametrize("session", [PLAIN, {"csrf_token": "b" * 40}, {}, *TAGGED])
def test_flask_reads_back_what_was_written_and_writes_the_same_text(app, session):
    ours, flasks = SessionJSON(), TaggedJSONSerializer()
    with app.app_context():
        text = ours.dumps(session)
        assert text == flasks.dumps(session)
        assert flasks.loads(text) == session


def test_a_plain_session_is_written_without_tagging(app, monkeypatch):
    def no_tagging(*_args):
        raise AssertionError("tagged")

    monkeypatch.setattr(TaggedJSONSerializer, "tag", no_tagging)
    with app.app_context():
        assert SessionJSON().dumps(PLAIN).startswith('{"_fresh":true,')
        with pytest.raises(AssertionError):
            SessionJSON().dumps(TAGGED[0])


def test_a_cookie_signed_here_is_read_by_flasks_own_session_interface(app):
    with app.app_context():
        cookie = CookieSessionInterface().get_signing_serializer(app).dumps(PLAIN)
        assert SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie) == PLAIN


def test_a_cookie_signed_by_flask_is_read_here_and_a_forged_one_is_not(app):
    with app.app_context():
        cookie = SecureCookieSessionInterface().get_signing_serializer(app).dumps(PLAIN)
        ours = CookieSessionInterface().get_signing_serializer(app)
        assert ours.loads(cookie) == PLAIN
        payload, stamp, signature = cookie.rsplit(".", 2)
        forged = ".".join(
            (payload[:-2] + ("AB" if payload[-2:] != "AB" else "BA"), stamp, signature)
        )
        with pytest.raises(BadSignature):
            ours.loads(forged)


@pytest.mark.parametrize("vary", [None, "Accept-Language"])
@pytest.mark.parametrize("permanent", [False, True])
def test_the_cookie_and_vary_header_written_are_flasks(app, vary, permanent):
    from flask.sessions import SecureCookieSession

    def written(interface):
        response = app.response_class("page")
        if vary:
            response.headers["Vary"] = vary
        session = SecureCookieSession({"csrf_token": "c" * 40})
        session.permanent = permanent
        interface.save_session(app, session, response)
        attributes = response.headers["Set-Cookie"].split("; ")[1:]
        expires = [a for a in attributes if a.startswith("Expires=")]
        assert len(expires) == (1 if permanent else 0)
        return [a for a in attributes if a not in expires], response.headers["Vary"]  # same second

    with app.test_request_context():
        ours = written(CookieSessionInterface())
        assert ours == written(SecureCookieSessionInterface())
        assert ours[1] == ("Accept-Language, Cookie" if vary else "Cookie")


def test_an_emptied_session_is_deleted_as_flask_deletes_it(app):
    from flask.sessions import SecureCookieSession

    with app.test_request_context():
        response = app.response_class("page")
        session = SecureCookieSession({"csrf_token": "c" * 40})
        session.clear()
        CookieSessionInterface().save_session(app, session, response)
        assert "Max-Age=0" in response.headers["Set-Cookie"]
