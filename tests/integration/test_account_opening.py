"""Opening an account: the e-mail form and the first WeChat sign-in share one workflow."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from xometry_site.extensions import db
from xometry_site.models import Consent, User
from xometry_site.models.base import utcnow
from xometry_site.services.accounts.opening import GivenConsents, open_account
from xometry_site.services.privacy.consents import current_policy_edition


def consents_of(user: User) -> dict[str, Consent]:
    rows = db.session.scalars(db.select(Consent).filter_by(user_id=user.id))
    return {row.kind: row for row in rows}


def test_opening_leaves_the_commit_to_the_channel(app):
    user = User(phone="+8613800138003")
    open_account(user, GivenConsents(channel="register", ip=None))
    db.session.rollback()  # the channel's mail failed to be written: nothing stays
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


@pytest.mark.parametrize("channel", ["register", "wechat"])
def test_an_account_opens_with_its_consents_by_edition_and_channel(app, channel):
    user = User(phone="+8613800138000", preferred_language="en")
    subscription = open_account(user, GivenConsents(channel=channel, ip="203.0.113.9"))
    assert subscription is None
    given = consents_of(user)
    assert set(given) == {"policy", "adult"}
    for consent in given.values():
        assert consent.source == channel
        assert consent.policy_edition == current_policy_edition()
        assert consent.ip_address == "203.0.113.9"
        assert consent.confirmed_at is not None


def test_the_newsletter_box_gives_an_unconfirmed_subscription_and_an_edition_is_kept(app):
    user = User(phone="+8613800138001", email="new@example.com", preferred_language="en")
    given = GivenConsents(channel="register", ip=None, subscribe=True, edition="2022")
    subscription = open_account(user, given)
    assert subscription is not None and subscription.confirmed_at is None
    assert {c.policy_edition for c in consents_of(user).values()} == {"2022"}


def test_a_taken_phone_rolls_back_and_records_nothing(app):
    """A proved number is one account's (a WeChat sign-up proves it); a concurrent second
    opening with it fails as a whole."""
    proved = {"phone": "+8613800138002", "phone_verified_at": utcnow()}
    open_account(User(**proved), GivenConsents(channel="wechat", ip=None))
    db.session.commit()  # the channel commits the account with its mail
    with pytest.raises(IntegrityError):
        open_account(User(**proved), GivenConsents(channel="wechat", ip=None))
    assert db.session.scalar(db.select(db.func.count(Consent.id))) == 2
