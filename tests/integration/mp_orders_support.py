"""Shared by the Mini Program ordering tests: the WeChat and WeChat Pay simulators over real HTTP
(the merchant with the Mini Program's AppID too), API calls that check for cookies and caching,
and a quote, an address and invoice details ready to order.

A test module takes the fixtures with `from mp_orders_support import *` (only they are exported).
"""

from __future__ import annotations

import pytest
import wechatpay_support
from test_mp_api import API, bearer
from test_quotes_support import cube_stl, multipart
from wechat_support import sim, sim_server, wechat_settings
from wechatpay_support import APPID

from xometry_site.devtools.wechatpay_simulator import serve_in_thread
from xometry_site.models import InvoiceProfile, User

# the fixtures: the WeChat simulator's, and ours
__all__ = ["app_config", "mp_paysim_server", "pay_keys", "paysim", "sim", "sim_server"]

pay_keys = wechatpay_support.pay_keys  # the session's merchant and platform keys (a fixture)
MINI_APPID = "wx-test-miniprogram"  # TestingConfig's Mini Program, bound to the merchant too
FAPIAO = b"%PDF-1.7\n% e-fapiao 24312000000099998888\n%%EOF\n"
ADDRESS = {
    "recipient": "张伟",
    "address": "张江路 88 号",
    "phone": "13912345678",
    "province": "310000",
    "city": "310100",
    "district": "310115",
    "postal_code": "201203",
}


@pytest.fixture(scope="module")
def mp_paysim_server(pay_keys):
    """The WeChat Pay simulator for a merchant with two AppIDs: its Official Account and the
    Mini Program."""
    server = serve_in_thread(pay_keys, {APPID, MINI_APPID}, refund_delay=0.1)
    yield server
    server.shutdown()


@pytest.fixture
def paysim(mp_paysim_server):
    mp_paysim_server.reset()
    return mp_paysim_server


@pytest.fixture
def app_config(request, sim, paysim):
    return {
        **wechat_settings(sim),
        **paysim.keys.site_settings(APPID, paysim.base_url),
        "WECHATPAY_TIMEOUT": 2,
        **getattr(request, "param", {}),  # a test's own settings (parametrized indirectly)
    }


def call(client, method: str, path: str, tokens: dict, **kw):
    """One API request, with the website's language and consent cookies a WeChat web view may
    hold: they are not read (the language is the account's or Accept-Language's), and every
    answer is uncached and sets no cookie."""
    headers = bearer(tokens, Cookie="lang=en; cookie_consent=necessary", **kw.pop("headers", {}))
    answer = getattr(client, method)(f"{API}{path}", headers=headers, **kw)
    assert "Set-Cookie" not in answer.headers, path
    assert answer.headers.get("Cache-Control") == "no-store", path
    return answer


def account(db, tokens_client, tokens) -> User:
    me = call(tokens_client, "get", "/me", tokens).get_json()
    return db.session.get(User, me["id"])


def set_language(db, user: User, language: str | None) -> None:
    user.preferred_language = language
    db.session.commit()


def uploaded(client, tokens, name: str = "bracket.stl") -> dict:
    body, content_type = multipart([], [(name, cube_stl())])
    answer = client.post(
        f"{API}/quotes", data=body, content_type=content_type, headers=bearer(tokens)
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def ready_to_order(client, db, tokens) -> tuple[dict, int]:
    """A priced quote, a shipping address (through the API) and saved invoice details."""
    quote = uploaded(client, tokens)
    address = call(client, "post", "/addresses", tokens, json=ADDRESS)
    assert address.status_code == 201
    user = account(db, client, tokens)
    db.session.add(
        InvoiceProfile(
            user_id=user.id,
            kind="corporate",
            fapiao_type="special",
            company_name="上海测试机械有限公司",
            tax_number="91310000MA1FL0000X",
        )
    )
    db.session.commit()
    return quote, address.get_json()["id"]


def ordered(client, db, tokens, lead_time: str = "standard") -> dict:
    quote, address_id = ready_to_order(client, db, tokens)
    answer = call(
        client,
        "post",
        f"/quotes/{quote['ref']}/accept",
        tokens,
        json={"address_id": address_id, "lead_time": lead_time},
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def price(client, tokens, quote: dict, **options):
    part = quote["parts"][0]["id"]
    return call(client, "get", f"/quotes/{quote['ref']}/parts/{part}/price", tokens, **options)
