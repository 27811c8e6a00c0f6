"""The Mini Program's API from a priced part to a paid order: the catalogue in the caller's
language, the live price and saving a part's options (as the website's part form), accepting a
quote, the orders with their transfer details and timeline, WeChat Pay with wx.requestPayment
through the WeChat Pay simulator over real HTTP, and the fapiao — owners only, no cookies."""

from __future__ import annotations

import base64
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from conftest import sign_in as website_sign_in
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from mp_orders_support import *  # noqa: F403 - the fixtures app_config, paysim, sim …
from mp_orders_support import (
    ADDRESS,
    FAPIAO,
    MINI_APPID,
    account,
    call,
    ordered,
    price,
    ready_to_order,
    set_language,
    uploaded,
)
from test_mp_api import OTHER_PHONE, register

from xometry_site.devtools.wechatpay_keys import public_key_pem
from xometry_site.models import Drawing, Order, Quote, ShippingAddress

# --- catalogue ----------------------------------------------------------------------------------


def test_the_catalogue_names_every_choice_in_the_callers_language(client, sim, db):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    set_language(db, user, None)  # the header decides
    english = call(client, "get", "/catalogue", tokens, headers={"Accept-Language": "en"})
    chinese = call(client, "get", "/catalogue", tokens, headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 200
    en, zh = english.get_json(), chinese.get_json()
    cnc_en = next(p for p in en["processes"] if p["code"] == "cnc_machining")
    cnc_zh = next(p for p in zh["processes"] if p["code"] == "cnc_machining")
    assert (cnc_en["name"], cnc_zh["name"]) == ("CNC machining", "CNC 数控加工")
    al_en = next(m["name"] for m in cnc_en["materials"] if m["code"] == "al6061")
    al_zh = next(m["name"] for m in cnc_zh["materials"] if m["code"] == "al6061")
    assert "6061" in al_en and al_en != al_zh and re.search(r"[\u4e00-\u9fff]", al_zh)
    anodized = next(f for f in cnc_zh["finishes"] if f["code"] == "anodized_black")
    assert anodized["name"] == "阳极氧化（黑色）" and "al6061" in anodized["materials"]
    assert cnc_en["lead_days"] == {"standard": 7, "expedited": 4}
    custom = next(t for t in en["tolerances"] if t["code"] == "custom")
    assert custom["review"] is True and custom["name"] == "Custom, from my drawing"
    assert next(t for t in zh["tolerances"] if t["code"] == "custom")["name"] == "按图纸自定义公差"
    assert [i["code"] for i in en["inspections"]] == ["standard", "coc", "cmm"]
    assert next(i for i in zh["inspections"] if i["code"] == "cmm")["name"].startswith("三坐标")
    assert en["lead_times"] == [
        {"code": "standard", "name": "Standard"},
        {"code": "expedited", "name": "Expedited"},
    ]
    assert [t["code"] for t in zh["lead_times"]] == ["standard", "expedited"]
    assert zh["lead_times"][0]["name"] != "Standard"
    assert en["threads"]["name"] == "Tapped holes" and zh["threads"]["name"] != "Tapped holes"
    assert en["threads"]["max"] == 1000 and en["threads"]["instant_max"] == 50
    # the account's preference wins over the header
    set_language(db, user, "zh_CN")
    again = call(client, "get", "/catalogue", tokens, headers={"Accept-Language": "en"})
    assert again.get_json()["processes"][0]["name"] == zh["processes"][0]["name"]


# --- a part: the live price, saving its options ------------------------------------------------


def test_the_live_price_follows_the_options_and_is_the_websites(app, client, sim, db):
    tokens = register(client, sim)
    quote = uploaded(client, tokens)
    part_id = quote["parts"][0]["id"]
    base = price(client, tokens, quote).get_json()
    assert base["instant"] is True and base["currency"] == "CNY" and base["review"] is None
    assert re.fullmatch(r"\d+\.\d\d", base["unit_price"]) and re.fullmatch(
        r"\d+\.\d\d", base["total"]
    )
    assert base["quote"]["complete"] is True and re.fullmatch(r"\d+\.\d\d", base["quote"]["total"])

    def unit(**options) -> Decimal:
        answer = price(client, tokens, quote, query_string=options)
        assert answer.status_code == 200, answer.get_json()
        return Decimal(answer.get_json()["unit_price"])

    assert unit(material="ti_tc4") > unit()
    assert unit(tolerance="iso2768f") > unit()
    assert unit(threads=4) == unit() + 4 * Decimal("4.00")
    assert unit(inspection="cmm") > unit(inspection="coc") > unit()
    seven = price(client, tokens, quote, query_string={"quantity": 7}).get_json()
    assert [b["quantity"] for b in seven["breaks"]] == [1, 7, 10, 50, 100]
    assert Decimal(seven["total"]) == Decimal(seven["unit_price"]) * 7
    db.session.expire_all()
    assert db.session.get(Drawing, part_id).quantity == 1  # nothing was saved

    # the website's own endpoint, for the same owner and the same options, says the same
    options = {
        "process": "cnc_machining",
        "material": "ss304",
        "finish": "passivated",
        "quantity": "12",
        "tolerance": "iso2768f",
        "threads": "2",
        "inspection": "coc",
    }
    website = app.test_client()
    website_sign_in(website, account(db, client, tokens))
    on_the_website = website.get(
        f"/quotes/{quote['ref']}/parts/{part_id}/price", query_string={**options, "lang": "zh_CN"}
    )
    assert on_the_website.status_code == 200
    expected = {k: v for k, v in on_the_website.get_json().items() if k != "text"}
    in_the_api = price(client, tokens, quote, query_string=options).get_json()
    assert in_the_api == expected
    custom = {**options, "tolerance": "custom"}
    website_review = website.get(
        f"/quotes/{quote['ref']}/parts/{part_id}/price", query_string={**custom, "lang": "zh_CN"}
    ).get_json()
    api_review = price(client, tokens, quote, query_string=custom).get_json()
    assert api_review["instant"] is False and api_review["unit_price"] is None
    assert api_review["review"] == website_review["review"]
    assert (
        api_review["review"]["field"] == "tolerance" and "工程师" in api_review["review"]["message"]
    )


def test_saving_options_reprices_and_a_custom_tolerance_sends_the_quote_to_review(client, sim, db):
    tokens = register(client, sim)
    quote = uploaded(client, tokens)
    part_id = quote["parts"][0]["id"]
    path = f"/quotes/{quote['ref']}/parts/{part_id}"
    live = price(client, tokens, quote, query_string={"material": "ss304", "quantity": 5})
    live = live.get_json()
    saved = call(
        client,
        "put",
        path,
        tokens,
        json={"material": "ss304", "quantity": 5, "notes": "请去毛刺"},
    )
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    part = body["parts"][0]
    assert part["options"]["material"] == "ss304" and part["options"]["quantity"] == 5
    assert part["options"]["finish"] == quote["parts"][0]["options"]["finish"]  # left as it was
    assert part["price"]["unit_price"] == live["unit_price"]
    assert body["total"] == live["quote"]["total"] and body["status"] == "quoted"
    assert body["notes"] == "请去毛刺"
    db.session.expire_all()
    stored = db.session.get(Drawing, part_id)
    assert (stored.material, stored.quantity) == ("ss304", 5)
    assert stored.unit_price == Decimal(live["unit_price"])

    review = call(client, "put", path, tokens, json={"tolerance": "custom"})
    assert review.status_code == 200
    body = review.get_json()
    assert body["status"] == "in_review" and body["status_name"] == "人工审核中"
    assert body["parts"][0]["price"]["instant"] is False
    assert body["parts"][0]["price"]["review_reason"] == "custom_tolerance"
    db.session.expire_all()
    assert db.session.scalar(db.select(Quote.status).filter_by(ref=quote["ref"])) == "in_review"
    assert db.session.get(Drawing, part_id).unit_price is None


def test_options_not_offered_are_422_with_the_field_and_nothing_is_saved(client, sim, db):
    tokens = register(client, sim)
    quote = uploaded(client, tokens)
    part_id = quote["parts"][0]["id"]
    english = {"Accept-Language": "en"}
    set_language(db, account(db, client, tokens), None)
    for options, field in (
        ({"quantity": 0}, "quantity"),
        ({"quantity": "x"}, "quantity"),
        ({"threads": -1}, "threads"),
        ({"process": "nope"}, "process"),
        ({"tolerance": "tight"}, "tolerance"),
        ({"inspection": "xray"}, "inspection"),
        ({"material": "no-such-material"}, "material"),
        ({"finish": "gold-leaf"}, "finish"),
    ):
        asked = price(client, tokens, quote, query_string=options, headers=english)
        assert asked.status_code == 422, options
        error = asked.get_json()["error"]
        assert error["code"] == "invalid" and field in error["fields"], (options, error)
        saved = call(
            client,
            "put",
            f"/quotes/{quote['ref']}/parts/{part_id}",
            tokens,
            json=options,
            headers=english,
        )
        assert saved.status_code == 422 and field in saved.get_json()["error"]["fields"]
    wrong = call(
        client,
        "put",
        f"/quotes/{quote['ref']}/parts/{part_id}",
        tokens,
        json={"material": "pla"},
        headers=english,
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"] == {
        "material": "This material or finish is not offered for the chosen process."
    }
    chinese = price(
        client, tokens, quote, query_string={"quantity": 0}, headers={"Accept-Language": "zh-CN"}
    )
    assert re.search(r"[\u4e00-\u9fff]", chinese.get_json()["error"]["fields"]["quantity"])
    db.session.expire_all()
    assert db.session.get(Drawing, part_id).material == "al6061"


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "RATELIMIT_ENABLED": True,
            "PART_PRICE_LIMIT": "3 per minute",
            "WECHATPAY_PAY_LIMIT": "1/minute",
        }
    ],
    indirect=True,
)
def test_live_prices_and_payments_are_limited_per_account_as_on_the_website(client, sim, db):
    tokens = register(client, sim)
    quote = uploaded(client, tokens)
    for quantity in (1, 2, 3):
        assert price(client, tokens, quote, query_string={"quantity": quantity}).status_code == 200
    limited = price(client, tokens, quote, headers={"Accept-Language": "en"})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    other = register(client, sim, phone=OTHER_PHONE)
    assert price(client, other, uploaded(client, other)).status_code == 200  # per account

    order = ordered(client, db, tokens)
    assert call(client, "post", f"/orders/{order['number']}/wechat-pay", tokens).status_code == 200
    again = call(client, "post", f"/orders/{order['number']}/wechat-pay", tokens)
    assert again.status_code == 429 and again.get_json()["error"]["code"] == "rate_limited"


# --- ordering ------------------------------------------------------------------------------------


def test_accepting_makes_a_numbered_order_with_a_snapshot_transfer_details_and_a_timeline(
    app, client, sim, db
):
    tokens = register(client, sim)
    quote, address_id = ready_to_order(client, db, tokens)
    ref = quote["ref"]
    no_invoice = call(
        client,
        "post",
        f"/quotes/{ref}/accept",
        tokens,
        json={"address_id": address_id, "invoice": False},
    )
    assert no_invoice.status_code == 422 and "invoice" in no_invoice.get_json()["error"]["fields"]
    no_address = call(client, "post", f"/quotes/{ref}/accept", tokens, json={})
    assert (
        no_address.status_code == 422 and "address_id" in no_address.get_json()["error"]["fields"]
    )
    bad_lead = call(
        client,
        "post",
        f"/quotes/{ref}/accept",
        tokens,
        json={"address_id": address_id, "lead_time": "now"},
    )
    assert bad_lead.status_code == 422 and "lead_time" in bad_lead.get_json()["error"]["fields"]

    answer = call(
        client,
        "post",
        f"/quotes/{ref}/accept",
        tokens,
        json={"address_id": address_id, "lead_time": "expedited", "invoice": True},
    )
    assert answer.status_code == 201, answer.get_json()
    order = answer.get_json()
    assert re.fullmatch(rf"XA-{date.today().year}-\d{{6}}", order["number"])
    assert order["status"] == "awaiting_payment" and order["status_name"] == "待付款"
    assert order["quote_ref"] == ref and order["lead_time"] == "expedited"
    stored = db.session.scalar(db.select(Order).filter_by(number=order["number"]))
    assert order["total"] == f"{stored.total:.2f}" == f"{stored.subtotal + stored.vat:.2f}"
    part = order["parts"][0]
    assert part["name"] == "bracket.stl" and part["material"] == "al6061"
    assert (
        part["process_name"] == "CNC 数控加工"
        and part["line_total"] == stored.parts[0]["line_total"]
    )
    assert (
        order["address"]["recipient"] == "张伟" and order["address"]["phone"] == "+86 139****5678"
    )
    assert "上海" in order["address"]["region"]
    assert order["invoice"]["name"] == "上海测试机械有限公司"
    bank = order["bank_transfer"]
    assert bank["amount"] == order["total"] == order["outstanding"]
    assert bank["remittance_reference"] == stored.remittance_reference
    assert bank["account_number"] == app.config["BANK_ACCOUNT_NUMBER"]
    assert [e["status"] for e in order["timeline"]] == ["awaiting_payment"]
    assert order["timeline"][0]["name"] and order["timeline"][0]["at"]
    assert order["fapiao"] == {"issued": False, "number": None, "issued_at": None}
    assert order["wechat_pay"] is True

    # later edits of the address do not change the order; the quote cannot be ordered twice
    db.session.execute(db.update(ShippingAddress).values(recipient="李工"))
    db.session.commit()
    detail = call(
        client, "get", f"/orders/{order['number']}", tokens, headers={"Accept-Language": "en"}
    )
    assert detail.status_code == 200 and detail.get_json()["address"]["recipient"] == "张伟"
    again = call(client, "post", f"/quotes/{ref}/accept", tokens, json={"address_id": address_id})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_acceptable"
    listed = call(client, "get", "/orders", tokens).get_json()["orders"]
    assert [(o["number"], o["total"], o["quote_ref"]) for o in listed] == [
        (order["number"], order["total"], ref)
    ]
    assert listed[0]["status_name"] == "待付款" and listed[0]["placed_at"]


def test_another_accounts_quote_part_and_order_are_404(client, sim, db):
    owner = register(client, sim)
    order = ordered(client, db, owner)
    quote = call(client, "get", f"/quotes/{order['quote_ref']}", owner).get_json()
    part_id = quote["parts"][0]["id"]
    stranger = register(client, sim, phone=OTHER_PHONE)
    address = call(client, "post", "/addresses", stranger, json=ADDRESS).get_json()["id"]
    ref, number = order["quote_ref"], order["number"]
    for method, path, kw in [
        ("get", f"/quotes/{ref}/parts/{part_id}/price", {}),
        ("get", f"/quotes/{ref}/parts/{part_id}/price", {"query_string": {"quantity": 0}}),
        ("put", f"/quotes/{ref}/parts/{part_id}", {"json": {"quantity": 3}}),
        ("put", f"/quotes/{ref}/parts/{part_id}", {"json": {"quantity": 0}}),
        ("post", f"/quotes/{ref}/accept", {"json": {"address_id": address}}),
        ("get", f"/orders/{number}", {}),
        ("post", f"/orders/{number}/wechat-pay", {}),
        ("get", f"/orders/{number}/fapiao", {}),
    ]:
        answer = call(client, method, path, stranger, **kw)
        assert answer.status_code == 404, (method, path, answer.get_json())
        assert answer.get_json()["error"]["code"] == "not_found"
    assert call(client, "get", "/orders", stranger).get_json()["orders"] == []
    # the owner's part of another quote is not a part of this one either
    assert (
        call(client, "get", f"/quotes/{ref}/parts/{part_id + 999}/price", owner).status_code == 404
    )


# --- WeChat Pay in the Mini Program --------------------------------------------------------------


def test_wechat_pay_gives_signed_requestpayment_parameters_and_only_the_notification_pays(
    client,
    sim,
    db,
    paysim,
    pay_keys,
    live_server,
):
    tokens = register(client, sim)
    user = account(db, client, tokens)
    openid = next(i.openid for i in user.wechat_identities if i.appid == MINI_APPID)
    order = ordered(client, db, tokens)
    answer = call(client, "post", f"/orders/{order['number']}/wechat-pay", tokens)
    assert answer.status_code == 200, answer.get_json()
    params = answer.get_json()
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign", "amount"}
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=wx")
    assert params["amount"] == order["total"]
    # signed by the merchant for the Mini Program's AppID, as wx.requestPayment checks
    message = "\n".join([MINI_APPID, params["timeStamp"], params["nonceStr"], params["package"]])
    merchant = serialization.load_pem_public_key(
        public_key_pem(pay_keys.merchant_private_key).encode()
    )
    merchant.verify(
        base64.b64decode(params["paySign"]),
        (message + "\n").encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    db.session.expire_all()
    payment = db.session.scalar(db.select(Order).filter_by(number=order["number"])).payments[0]
    sent = paysim.state.transaction(payment.out_trade_no)
    assert (sent.trade_type, sent.appid, sent.payer_openid) == ("JSAPI", MINI_APPID, openid)
    assert sent.total == int(Decimal(order["total"]) * 100)
    pending = call(client, "get", f"/orders/{order['number']}", tokens).get_json()
    assert pending["status"] == "awaiting_payment"  # wx.requestPayment's success proves nothing

    notified = paysim.pay(payment.out_trade_no)  # WeChat Pay's signed notification, over HTTP
    assert notified.answer_status == 204
    db.session.expire_all()
    paid = call(client, "get", f"/orders/{order['number']}", tokens).get_json()
    assert paid["status"] == "paid" and paid["amount_paid"] == order["total"]
    assert paid["outstanding"] == "0.00" and paid["bank_transfer"] is None
    assert paid["wechat_pay"] is False
    assert [e["status"] for e in paid["timeline"]][-1] == "paid"
    assert any(e["note"] == "payment_received" for e in paid["timeline"])
    again = call(client, "post", f"/orders/{order['number']}/wechat-pay", tokens)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_payable"


def test_wechat_pay_unavailable_is_503_and_the_order_stays_payable(client, sim, db, paysim):
    tokens = register(client, sim)
    order = ordered(client, db, tokens)
    paysim.fail("jsapi", status=503)
    answer = call(client, "post", f"/orders/{order['number']}/wechat-pay", tokens)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.get_json()["error"]["code"] == "pay_unreachable"
    detail = call(client, "get", f"/orders/{order['number']}", tokens).get_json()
    assert detail["status"] == "awaiting_payment" and detail["bank_transfer"]


@pytest.mark.parametrize("app_config", [{"WECHATPAY_MCHID": None}], indirect=True)
def test_without_wechat_pay_only_the_transfer_is_offered(client, sim, db, paysim):
    tokens = register(client, sim)
    order = ordered(client, db, tokens)
    assert order["wechat_pay"] is False and order["bank_transfer"]["remittance_reference"]
    answer = call(
        client,
        "post",
        f"/orders/{order['number']}/wechat-pay",
        tokens,
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"] == {  # in the account's language, over the header's
        "code": "pay_not_configured",
        "message": "微信支付暂不可用，请使用银行转账付款。",
    }
    assert paysim.state.calls == []


# --- the fapiao ----------------------------------------------------------------------------------


def test_the_fapiao_is_downloaded_by_its_owner_only_once_staff_attached_it(
    app, client, sim, db, make_user
):
    tokens = register(client, sim)
    order = ordered(client, db, tokens)
    path = f"/orders/{order['number']}/fapiao"
    assert call(client, "get", path, tokens).status_code == 404  # none issued yet

    staff = app.test_client()
    website_sign_in(staff, make_user(is_staff=True))
    attached = staff.post(
        f"/admin/orders/{order['number']}/fapiao",
        data={"number": "24312000000099998888", "file": (io.BytesIO(FAPIAO), "发票.pdf")},
        content_type="multipart/form-data",
    )
    assert attached.status_code == 302

    download = call(client, "get", path, tokens)
    assert download.status_code == 200 and download.data == FAPIAO
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    detail = call(client, "get", f"/orders/{order['number']}", tokens).get_json()
    assert detail["fapiao"]["issued"] is True
    assert detail["fapiao"]["number"] == "24312000000099998888"
    assert any(e["note"] == "fapiao_issued" for e in detail["timeline"])
    stranger = register(client, sim, phone=OTHER_PHONE)
    assert call(client, "get", path, stranger).status_code == 404
