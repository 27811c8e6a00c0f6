"""Withdrawing consent (policy 5.5): every consent listed, one click, effective at once."""

from __future__ import annotations

from privacy_support import ID_NUMBER, fill_everything

from xometry_site.extensions import db
from xometry_site.models import Consent, InvoiceProfile
from xometry_site.services.privacy import consents

REMEMBER = "remember_token"


def test_consents_page_lists_each_consent_with_edition_and_date(client, user, login_as):
    login_as(user)
    response = client.get("/privacy/consents?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Data Protection Policy" in page
    assert "18 or older, or acting for an organisation" in page
    assert 'href="/policy/2024"' in page  # the edition agreed to, linked
    assert "withdraw and close my account" in page  # the policy consent → deregistration


def test_withdrawing_the_subscription_stops_it_at_once(client, user, login_as):
    consents.record(user, "subscription", ip=None, source="test")
    db.session.commit()
    login_as(user)
    response = client.post("/privacy/consents?lang=en", data={"kind": "subscription"})
    assert response.status_code == 302
    assert consents.active(user, "subscription") is None
    withdrawn = db.session.scalar(
        db.select(Consent).filter_by(user_id=user.id, kind="subscription")
    )
    assert withdrawn.withdrawn_at is not None  # kept as a record, with the date
    page = client.get("/privacy/consents?lang=en").get_data(as_text=True)
    assert "You will receive no more newsletters from us." in page


def test_withdrawing_functional_cookies_clears_the_remember_cookie(client, user, login_as):
    client.post("/cookies", data={"accept_all": "1"})
    consents.record(user, "cookies_functional", ip=None, source="cookies")
    db.session.commit()
    login_as(user)
    client.set_cookie(REMEMBER, "remembered-session")
    response = client.post("/privacy/consents", data={"kind": "cookies_functional"})
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{REMEMBER}=")]
    assert deleted and ("Max-Age=0" in deleted[0] or "1970" in deleted[0])
    assert client.get_cookie(REMEMBER) is None
    assert client.get_cookie("cookie_consent").value == "necessary"
    assert consents.active(user, "cookies_functional") is None


def test_withdrawing_the_id_number_consent_erases_the_stored_id_number(client, user, login_as):
    fill_everything(user)
    consents.record(user, "sensitive_tax_id", ip=None, source="invoice")
    db.session.commit()
    login_as(user)
    client.post("/privacy/consents", data={"kind": "sensitive_tax_id"})
    db.session.expire_all()
    profile = db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=user.id))
    assert profile.tax_number is None
    assert profile.name == "王小明发票"  # the rest of the invoice details stay
    assert consents.active(user, "sensitive_tax_id") is None
    assert ID_NUMBER not in client.get("/privacy").get_data(as_text=True)


def test_the_policy_consent_cannot_be_withdrawn_by_the_button(client, user, login_as):
    login_as(user)
    response = client.post("/privacy/consents", data={"kind": "policy"})
    assert response.status_code == 400
    assert consents.active(user, "policy") is not None


def test_consents_of_another_user_are_untouched(client, make_user, login_as):
    me, other = make_user(), make_user()
    consents.record(other, "subscription", ip=None, source="test")
    db.session.commit()
    login_as(me)
    client.post("/privacy/consents", data={"kind": "subscription"})
    assert consents.active(other, "subscription") is not None


def test_cookies_accepted_before_signing_in_can_be_withdrawn_here(client, user, login_as):
    """Giving took one click on the banner as a visitor: withdrawing is one click here."""
    client.post("/cookies", data={"accept_all": "1"})  # not signed in: no consent record
    login_as(user)
    page = client.get("/privacy/consents?lang=en").get_data(as_text=True)
    item = page[page.index("Functional cookies (remember me)") :][:600]
    assert "given" in item and 'value="cookies_functional"' in item
    client.post("/privacy/consents", data={"kind": "cookies_functional"})
    assert client.get_cookie("cookie_consent").value == "necessary"
    page = client.get("/privacy/consents?lang=en").get_data(as_text=True)
    assert 'value="cookies_functional"' not in page


def test_a_withdrawn_subscriber_gets_no_further_newsletter(client, user, login_as):
    from xometry_site.services.accounts import subscriptions

    consents.record(user, "subscription", ip=None, source="test")
    db.session.commit()
    assert user in subscriptions.subscribers()
    login_as(user)
    client.post("/privacy/consents", data={"kind": "subscription"})
    db.session.expire_all()
    assert user.id not in [u.id for u in subscriptions.subscribers()]
