"""The optional newsletter of a first WeChat sign-in: an address typed in, double opt-in by mail."""

from __future__ import annotations

import re

import pytest
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server
from wechat_support import PHONE, complete, last_code, scan, send_code

from xometry_site.devtools.wechat_simulator import DEFAULT_APPID
from xometry_site.models import Consent, User, WeChatIdentity

pytestmark = pytest.mark.slow

ADDRESS = "zhang.wei@example.cn"
OTHER_PHONE = "+8613987654321"


def wechat_user(db, openid_owner: str, sim) -> User:
    """The account the simulator's `openid_owner` opened."""
    openid = sim.state.openid_for(openid_owner, DEFAULT_APPID)
    identity = db.session.scalars(db.select(WeChatIdentity).filter_by(openid=openid)).one()
    return db.session.get(User, identity.user_id)


def subscriptions(db) -> list[Consent]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Consent).filter_by(kind="subscription")))


def users(db) -> int:
    return db.session.scalar(db.select(db.func.count(User.id)))


def on_phone_form(client, app, who: str = "zhangwei", phone: str = PHONE) -> str:
    """Back from WeChat as a new user with a code sent to `phone`; returns the code."""
    assert scan(client, who).headers["Location"].endswith("/auth/wechat/complete")
    assert send_code(client, phone).status_code == 302
    return last_code(app, phone)


def flashes(client) -> list:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def confirm_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://\S*/account/subscriptions/confirm/\S+", body)
    assert found, body
    return "/" + found.group(0).split("/", 3)[3]


def test_the_box_is_unticked_and_the_address_field_is_beside_it(client, sim):
    scan(client, "zhangwei")
    page = client.get("/auth/wechat/complete").get_data(as_text=True)
    assert 'name="subscribe" type="checkbox" value="y">' in page  # no "checked"
    box, field = page.index('name="subscribe"'), page.index('name="email"')
    assert 0 < field - box < 600  # shown next to the box, no script needed
    assert page.index('name="confirm_adult"') < box < page.index('name="submit"')
    assert "接收订阅邮件的电子邮箱" in page


def test_left_unticked_nothing_is_stored_and_nothing_is_mailed(app, client, db, sim, mailbox):
    code = on_phone_form(client, app)
    # an address typed without the box is ignored, not checked
    done = complete(client, code, email="not an address")
    assert done.status_code == 302
    user = db.session.scalars(db.select(User)).one()
    assert user.email is None
    assert subscriptions(db) == []
    assert mailbox == []
    assert [text for _, text in flashes(client)] == ["欢迎！您的账户已创建。"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请输入接收订阅邮件的电子邮箱地址，或取消勾选该复选框。"),
        ("zhang.wei@", "请输入有效的电子邮箱，例如 name@example.com。"),
    ],
)
def test_ticked_without_a_valid_address_the_field_says_why(
    app, client, db, sim, mailbox, typed, message
):
    code = on_phone_form(client, app)
    answer = complete(client, code, subscribe="y", email=typed)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    errors = re.search(r'<ul class="errors" id="email-errors">(.*?)</ul>', page, re.S)
    assert errors and message in errors.group(1)
    assert '<input checked id="subscribe" name="subscribe"' in page  # kept ticked
    assert users(db) == 0 and subscriptions(db) == [] and mailbox == []


def test_ticked_with_an_address_double_opt_in_in_chinese(app, client, db, sim, mailbox):
    code = on_phone_form(client, app)
    done = complete(client, code, subscribe="y", email="  Zhang.Wei@Example.CN ")
    assert done.status_code == 302
    user = db.session.scalars(db.select(User)).one()
    assert user.email == ADDRESS and user.email_verified_at is None
    [consent] = subscriptions(db)
    assert consent.user_id == user.id and consent.source == "wechat"
    assert consent.confirmed_at is None and consent.withdrawn_at is None
    assert consent.policy_edition and consent.ip_address == "127.0.0.1"
    [message] = mailbox
    assert message["To"] == ADDRESS
    assert message["Subject"] == "请确认您的订阅"
    assert message["Content-Language"] == "zh-CN"
    assert ADDRESS in flashes(client)[-1][1]

    assert client.get(confirm_link(message)).status_code == 200
    [consent] = subscriptions(db)
    assert consent.confirmed_at is not None


def test_an_address_of_another_account_is_not_attached_and_not_revealed(app, db, sim, mailbox):
    first, second = app.test_client(), app.test_client()
    answer_free = complete(first, on_phone_form(first, app), subscribe="y", email=ADDRESS)
    flashes_free = flashes(first)
    [owner_consent] = subscriptions(db)
    mailbox.clear()

    code = on_phone_form(second, app, "lina", OTHER_PHONE)
    answer_taken = complete(second, code, OTHER_PHONE, subscribe="y", email=ADDRESS.upper())
    assert answer_taken.status_code == answer_free.status_code == 302
    assert answer_taken.headers["Location"] == answer_free.headers["Location"]
    assert answer_taken.get_data() == answer_free.get_data()
    assert flashes(second) == flashes_free

    newcomer = wechat_user(db, "lina", sim)
    assert newcomer.phone == OTHER_PHONE and newcomer.email is None
    assert [c.id for c in subscriptions(db)] == [owner_consent.id]  # none for the newcomer
    assert mailbox == []  # the address's owner is not mailed
    assert wechat_user(db, "zhangwei", sim).email == ADDRESS


def test_an_address_registered_by_e_mail_is_left_alone(app, client, db, sim, mailbox, user):
    code = on_phone_form(client, app, "lina", OTHER_PHONE)
    done = complete(client, code, OTHER_PHONE, subscribe="y", email=user.email)
    assert done.status_code == 302
    newcomer = wechat_user(db, "lina", sim)
    assert newcomer.email is None and newcomer.id != user.id
    assert subscriptions(db) == [] and mailbox == []
