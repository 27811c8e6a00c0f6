"""Our CSRF token (csrf_token.py) is Flask-WTF's, made without its zlib attempt."""

from __future__ import annotations

import pytest
from flask import session
from flask_wtf.csrf import generate_csrf as flask_wtf_token
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from xometry_site import create_app
from xometry_site.csrf_token import generate_csrf


@pytest.fixture
def app(tmp_path):
    return create_app({"SECRET_KEY": "s" * 48, "INSTANCE_PATH": str(tmp_path), "TESTING": True})


def test_flask_wtf_accepts_our_token_and_shares_it_within_a_request(app):
    with app.test_request_context():
        token = generate_csrf()
        validate_csrf(token)  # raises ValidationError if refused
        assert flask_wtf_token() == token == generate_csrf()
        assert len(session["csrf_token"]) == 40


def test_our_token_is_flask_wtfs_for_the_same_session(app):
    with app.test_request_context():
        raw = flask_wtf_token() and session["csrf_token"]
    with app.test_request_context():
        session["csrf_token"] = raw
        ours = generate_csrf()
    with app.test_request_context():
        session["csrf_token"] = raw
        assert ours.split(".")[0] == flask_wtf_token().split(".")[0]  # same payload, same format


def test_a_token_of_another_session_is_refused(app):
    with app.test_request_context():
        token = generate_csrf()
    with app.test_request_context():
        session["csrf_token"] = "0" * 40
        with pytest.raises(ValidationError):
            validate_csrf(token)


def test_without_a_time_limit_a_session_keeps_one_signed_token(app, monkeypatch):
    import time

    app.config["WTF_CSRF_TIME_LIMIT"] = None  # as configured (config.py)
    with app.test_request_context():
        first = generate_csrf()
        raw = session["csrf_token"]
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000)  # a later visit
    with app.test_request_context():
        session["csrf_token"] = raw
        assert generate_csrf() == first
        validate_csrf(first)


def test_with_a_time_limit_each_page_gets_a_freshly_signed_token(app, monkeypatch):
    import time

    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    with app.test_request_context():
        first = generate_csrf()
        raw = session["csrf_token"]
    later = time.time() + 1800
    monkeypatch.setattr(time, "time", lambda: later)
    with app.test_request_context():
        session["csrf_token"] = raw
        fresh = generate_csrf()
        assert fresh != first
        validate_csrf(fresh)
