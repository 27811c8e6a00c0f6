"""Withdrawing consent to functional cookies stops every "remember me" cookie, on every device."""

from __future__ import annotations

import pytest
from conftest import PASSWORD


def remembered_cookie(app, user) -> str:
    """Sign in on "another device" with remember-me (functional cookies accepted there)."""
    device = app.test_client()
    device.set_cookie("cookie_consent", "functional.necessary")
    response = device.post(
        "/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    cookie = device.get_cookie(app.config["REMEMBER_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def opens_account_with(app, remember_value: str) -> bool:
    """A browser holding only the remember cookie: is it signed in?"""
    browser = app.test_client()
    browser.set_cookie(app.config["REMEMBER_COOKIE_NAME"], remember_value)
    browser.set_cookie("cookie_consent", "functional.necessary")
    return browser.get("/account").status_code == 200


@pytest.mark.parametrize("where", ["privacy", "cookies"])
def test_withdrawing_functional_cookies_ends_remembered_devices(app, user, where):
    from xometry_site.services.privacy import consents

    consents.record(user, "cookies_functional", ip="127.0.0.1", source="test")
    from xometry_site.extensions import db

    db.session.commit()
    value = remembered_cookie(app, user)
    assert opens_account_with(app, value)

    here = app.test_client()
    here.set_cookie("cookie_consent", "functional.necessary")
    here.post("/login", data={"email": user.email, "password": PASSWORD})
    if where == "privacy":
        response = here.post("/privacy/consents", data={"kind": "cookies_functional"})
    else:
        response = here.post("/cookies", data={"necessary_only": "1"})
    assert response.status_code == 302

    assert not opens_account_with(app, value)
    assert here.get("/account").status_code == 200  # this browser stays signed in
    assert consents.active(user, "cookies_functional") is None
