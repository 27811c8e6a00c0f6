"""WeChat Pay over real HTTP: the site on a live server, the simulator on its own port. Only the
signed notification pays an order; replays, forgeries, tampering and mismatches change nothing."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from decimal import Decimal

import pytest
import requests
from conftest import wait_for
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from wechatpay_support import *  # noqa: F403 - the fixtures app_config, pay_keys, paysim, paysim_server
from wechatpay_support import APPID, TOTAL, code_url, csrf_token, make_order, start_payment

from xometry_site.devtools.wechatpay_keys import new_private_key_pem, public_key_pem
from xometry_site.models import Order, Payment, StaffAlert, WeChatIdentity

pytestmark = pytest.mark.slow

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


def notify_url(live_server) -> str:
    return live_server.url + "/payments/wechat/notify"


def fresh(db, model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def pending_payment(db, order) -> Payment:
    db.session.expire_all()
    return db.session.scalars(
        db.select(Payment).filter_by(order_id=order.id, status="pending")
    ).one()


def payment_notes(db, order) -> list[str]:
    order = fresh(db, Order, order.id)
    return [e.note for e in order.events if e.note and e.note.startswith("payment")]


def paid_resource(paysim, payment: Payment, **changes) -> dict:
    """The SUCCESS resource WeChat Pay would send for a payment (paid in the simulator)."""
    resource = paysim.state.pay(payment.out_trade_no).resource()
    resource.update(changes)
    return resource


def body_of(paysim, resource: dict) -> bytes:
    return paysim.state.notification("TRANSACTION.SUCCESS", "支付成功", resource, "transaction")


def unchanged(db, order) -> bool:
    order = fresh(db, Order, order.id)
    return (
        order.status == "awaiting_payment"
        and order.amount_paid == 0
        and not [p for p in order.payments if p.status == "succeeded"]
    )


# --- Native: the QR code, the pay page, the notification --------------------------------------


def test_a_native_payment_is_proved_by_the_signed_notification_and_counted_once(
    client, db, customer, paysim, live_server
):
    order = make_order(db, customer)
    answer = start_payment(client, order, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "no-store" in answer.headers["Cache-Control"]
    assert "<svg" in html and "¥1,130.00" in html
    url = code_url(html)
    assert url.startswith(paysim.base_url + "/pay/")

    payment = pending_payment(db, order)
    assert payment.method == "wechat" and payment.amount == TOTAL
    assert payment.out_trade_no.startswith(order.number + "-")
    sent = paysim.state.transaction(payment.out_trade_no)
    assert sent.total == 113000 and sent.trade_type == "NATIVE"
    assert sent.notify_url == notify_url(live_server)
    assert "订单" in sent.description and customer.name not in sent.description
    assert unchanged(db, order), "nothing is paid before WeChat Pay says so"

    # the payer opens the code and confirms; the simulator notifies the site over HTTP
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert "¥1130.00" in page.text
    token = re.search(r'name="confirm_token" value="([^"]+)"', page.text).group(1)
    done = browser.post(url + "/confirm", data={"confirm_token": token}, timeout=10)
    assert "支付成功" in done.text and "HTTP 204" in done.text

    order = fresh(db, Order, order.id)
    assert order.status == "paid" and order.amount_paid == TOTAL and order.paid_at
    payment = fresh(db, Payment, payment.id)
    assert payment.status == "succeeded" and payment.flag is None
    assert payment.reference == paysim.state.transaction(payment.out_trade_no).transaction_id
    assert payment_notes(db, order) == ["payment_received"]
    assert client.get(f"/orders/{order.number}/status").get_json()["status"] == "paid"


def test_the_pay_page_of_a_code_refuses_a_confirm_without_its_token(
    db, customer, client, paysim, live_server
):
    order = make_order(db, customer)
    url = code_url(start_payment(client, order).get_data(as_text=True))
    forged = requests.post(url + "/confirm", data={"confirm_token": "guess"}, timeout=10)
    assert forged.status_code == 403
    assert unchanged(db, order)


def test_a_replayed_notification_is_answered_as_success_and_applies_nothing(
    client, db, customer, paysim, live_server, caplog
):
    order = make_order(db, customer)
    start_payment(client, order)
    payment = pending_payment(db, order)
    first = paysim.pay(payment.out_trade_no)
    assert first.answer_status == 204
    caplog.set_level(logging.INFO, logger="xometry_site")
    # the same request again, byte for byte, and the same body signed anew (WeChat's retry)
    again = paysim.send(first.url, first.body, first.headers)
    retried = paysim.send(first.url, first.body)
    assert (again.answer_status, retried.answer_status) == (204, 204)
    order = fresh(db, Order, order.id)
    assert order.amount_paid == TOTAL and order.status == "paid"
    assert payment_notes(db, order) == ["payment_received"]
    assert sum("outcome=replayed" in r.getMessage() for r in caplog.records) == 2


def test_two_deliveries_at_once_apply_the_payment_once(client, db, customer, paysim, live_server):
    order = make_order(db, customer)
    start_payment(client, order)
    payment = pending_payment(db, order)
    body = paysim.state.payment_notification(paysim.state.pay(payment.out_trade_no))
    headers = paysim.state.signed_headers(body.decode())
    gate = threading.Barrier(4)
    answers = []

    def deliver():
        gate.wait()
        answers.append(paysim.send(notify_url(live_server), body, headers).answer_status)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [204] * 4
    order = fresh(db, Order, order.id)
    assert order.amount_paid == TOTAL and order.status == "paid"
    assert payment_notes(db, order) == ["payment_received"]


# --- refused: forged, tampered, stale, mismatched ----------------------------------------------


def test_a_forged_signature_is_refused_logged_and_changes_nothing(
    client, db, customer, paysim, live_server, caplog
):
    order = make_order(db, customer)
    start_payment(client, order)
    payment = pending_payment(db, order)
    body = body_of(paysim, paid_resource(paysim, payment))
    headers = paysim.state.signed_headers(body.decode())
    forger = serialization.load_pem_private_key(new_private_key_pem().encode(), password=None)
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body.decode()}\n"
    signature = forger.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Wechatpay-Signature"] = base64.b64encode(signature).decode()
    caplog.set_level(logging.INFO, logger="xometry_site")

    answer = requests.post(notify_url(live_server), data=body, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["code"] == "FAIL"
    assert "Set-Cookie" not in answer.headers
    assert unchanged(db, order)
    refused = [
        r.getMessage() for r in caplog.records if "wechatpay.notify_refused" in r.getMessage()
    ]
    assert refused and "reason=bad_signature" in refused[0]
    assert customer.name not in caplog.text and customer.email not in caplog.text


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}, 401, "unknown_serial"),
        ({"Wechatpay-Serial": "not-hex-at-all"}, 401, "unknown_serial"),
        ({"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, 401, "signature_type"),
        ({"Wechatpay-Signature": ""}, 401, "unsigned"),
    ],
)
def test_headers_that_do_not_name_our_platform_key_are_refused(
    client, db, customer, paysim, live_server, caplog, change, status, reason
):
    order = make_order(db, customer)
    start_payment(client, order)
    body = body_of(paysim, paid_resource(paysim, pending_payment(db, order)))
    headers = {**paysim.state.signed_headers(body.decode()), **change}
    caplog.set_level(logging.WARNING, logger="xometry_site")
    answer = paysim.send(notify_url(live_server), body, headers)
    assert answer.answer_status == status
    assert f"reason={reason}" in caplog.text
    assert unchanged(db, order)


def test_a_notification_signed_too_long_ago_is_refused(client, db, customer, paysim, live_server):
    import time

    order = make_order(db, customer)
    start_payment(client, order)
    body = body_of(paysim, paid_resource(paysim, pending_payment(db, order)))
    old = paysim.state.signed_headers(body.decode(), timestamp=int(time.time()) - 301)
    assert paysim.send(notify_url(live_server), body, old).answer_status == 401
    assert unchanged(db, order)


def test_tampered_ciphertext_is_refused(client, db, customer, paysim, live_server, caplog):
    order = make_order(db, customer)
    start_payment(client, order)
    event = json.loads(body_of(paysim, paid_resource(paysim, pending_payment(db, order))))
    sealed = bytearray(base64.b64decode(event["resource"]["ciphertext"]))
    sealed[5] ^= 0x01
    event["resource"]["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    tampered = json.dumps(event, ensure_ascii=False).encode()
    caplog.set_level(logging.WARNING, logger="xometry_site")
    # signed by the platform (an insider, or a bug): the AES-GCM tag still refuses it
    assert paysim.send(notify_url(live_server), tampered).answer_status == 400
    assert "reason=undecryptable" in caplog.text
    # altered on the way: the signature refuses it
    original = paysim.state.signed_headers(body_of(paysim, {"x": 1}).decode())
    assert paysim.send(notify_url(live_server), tampered, original).answer_status == 401
    assert unchanged(db, order)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": {"total": 100, "payer_total": 100, "currency": "CNY"}}, "wrong_amount"),
        ({"amount": {"total": 113000, "payer_total": 113000, "currency": "USD"}}, "wrong_amount"),
        ({"amount": [113000, "CNY"]}, "wrong_amount"),
        ({"out_trade_no": "XA-2026-999999-deadbeef"}, "unknown_out_trade_no"),
        ({"mchid": "1900000999"}, "wrong_mchid"),
        ({"appid": "wx-someone-elses-app"}, "wrong_appid"),
    ],
)
def test_a_signed_notification_that_does_not_match_is_refused_and_alerts_staff(
    client, db, customer, paysim, live_server, caplog, changes, reason
):
    order = make_order(db, customer)
    start_payment(client, order)
    body = body_of(paysim, paid_resource(paysim, pending_payment(db, order), **changes))
    caplog.set_level(logging.WARNING, logger="xometry_site")
    assert paysim.send(notify_url(live_server), body).answer_status == 400
    assert f"reason={reason}" in caplog.text
    assert unchanged(db, order)
    alert = db.session.scalars(db.select(StaffAlert)).one()
    assert alert.kind == "wechatpay_mismatch"


def test_the_notify_endpoint_answers_bad_requests_without_a_session_or_a_500(app, live_server):
    url = notify_url(live_server)
    for body, headers in (
        (b"", {}),
        (b"not json", {"Wechatpay-Serial": "x"}),
        (b"\xff\xfe", {"Content-Type": "application/json"}),
    ):
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        assert 400 <= answer.status_code < 500, answer.status_code
        assert answer.json()["code"] == "FAIL" and "Set-Cookie" not in answer.headers
    huge = requests.post(url, data=b"{" + b" " * 70_000 + b"}", timeout=10)
    assert huge.status_code == 413


# --- inside WeChat: JSAPI ------------------------------------------------------------------------


def test_inside_wechat_a_linked_account_gets_signed_jsapi_parameters(
    client, db, customer, paysim, pay_keys, live_server
):
    db.session.add(WeChatIdentity(user_id=customer.id, appid=APPID, openid="oPayerOpenId123"))
    db.session.commit()
    order = make_order(db, customer)
    html = start_payment(client, order, headers={"User-Agent": WECHAT_UA}).get_data(as_text=True)
    assert 'id="wechat-jsapi"' in html and "wechat_pay.js" in html
    assert 'id="wechat-qr"' not in html
    params = dict(
        re.findall(r'data-(app-id|time-stamp|nonce-str|package|sign-type|pay-sign)="([^"]*)"', html)
    )
    assert params["app-id"] == APPID and params["sign-type"] == "RSA"
    assert params["package"].startswith("prepay_id=wx")
    message = "\n".join(params[k] for k in ("app-id", "time-stamp", "nonce-str", "package")) + "\n"
    merchant = serialization.load_pem_public_key(
        public_key_pem(pay_keys.merchant_private_key).encode()
    )
    merchant.verify(  # raises if the signature is not the merchant's
        base64.b64decode(params["pay-sign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    payment = pending_payment(db, order)
    sent = paysim.state.transaction(payment.out_trade_no)
    assert sent.trade_type == "JSAPI" and sent.payer_openid == "oPayerOpenId123"
    assert paysim.pay(payment.out_trade_no).answer_status == 204
    assert fresh(db, Order, order.id).status == "paid"


def test_inside_wechat_without_a_linked_account_the_qr_code_is_shown_with_a_note(
    client, db, customer, paysim, live_server
):
    order = make_order(db, customer)
    html = start_payment(
        client, order, headers={"User-Agent": WECHAT_UA, "Accept-Language": "zh-CN"}
    )
    html = html.get_data(as_text=True)
    assert 'id="wechat-qr"' in html and 'id="wechat-qr-note"' in html
    assert "识别图中二维码" in html and 'id="wechat-jsapi"' not in html


# --- attempts, failures, access ------------------------------------------------------------------


def test_a_new_attempt_closes_the_unpaid_one(client, db, customer, paysim, live_server):
    order = make_order(db, customer)
    first_url = code_url(start_payment(client, order).get_data(as_text=True))
    first = pending_payment(db, order)
    start_payment(client, order)
    assert fresh(db, Payment, first.id).status == "closed"
    assert paysim.state.transaction(first.out_trade_no).trade_state == "CLOSED"
    assert "订单已关闭" in requests.get(first_url, timeout=10).text
    assert len(fresh(db, Order, order.id).payments) == 2


def test_wechat_pay_not_answering_is_told_and_the_order_stays_payable(
    app, client, db, customer, paysim, live_server
):
    order = make_order(db, customer)
    paysim.fail("native", status=503)
    answer = start_payment(client, order)
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"])  # the customer reads Chinese
    assert "微信支付暂无响应" in page.get_data(as_text=True)
    assert fresh(db, Order, order.id).payments[0].status == "closed"
    # an answer not signed by the platform key we hold is not trusted either
    app.config["WECHATPAY_PUBLIC_KEY"] = public_key_pem(new_private_key_pem())
    assert start_payment(client, order).status_code == 303
    assert all(p.status == "closed" for p in fresh(db, Order, order.id).payments)


def test_another_customers_order_is_404_and_nothing_is_asked_of_wechat(
    client, db, customer, make_user, login_as, paysim, live_server
):
    order = make_order(db, customer)
    token = csrf_token(client, f"/orders/{order.number}")
    login_as(make_user())
    answer = client.post(f"/orders/{order.number}/pay/wechat", data={"csrf_token": token})
    assert answer.status_code == 404
    assert paysim.state.calls == [] and fresh(db, Order, order.id).payments == []


def test_a_paid_order_cannot_start_another_payment(client, db, customer, paysim, live_server):
    order = make_order(db, customer)
    start_payment(client, order)
    paysim.pay(pending_payment(db, order).out_trade_no)
    answer = start_payment(client, order)
    assert answer.status_code in (303, 400)
    assert len(fresh(db, Order, order.id).payments) == 1


def test_the_simulator_refuses_requests_not_signed_by_the_merchant(paysim):
    answer = requests.post(
        paysim.base_url + "/v3/pay/transactions/native",
        json={"mchid": paysim.keys.mchid, "appid": APPID},
        headers={"Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",signature="x"'},
        timeout=10,
    )
    assert answer.status_code == 401 and answer.json()["code"] == "SIGN_ERROR"


# --- refunds --------------------------------------------------------------------------------------


def test_cancelling_a_paid_order_refunds_it_through_wechat_pay(
    client, db, customer, make_user, login_as, paysim, live_server
):
    order = make_order(db, customer)
    start_payment(client, order)
    payment = pending_payment(db, order)
    assert paysim.pay(payment.out_trade_no).answer_status == 204
    staff = make_user(is_staff=True)
    login_as(staff)
    token = csrf_token(client, f"/admin/orders/{order.number}")
    answer = client.post(
        f"/admin/orders/{order.number}/status?lang=en",
        data={"csrf_token": token, "status": "cancelled"},
        follow_redirects=True,
    )
    assert "WeChat Pay refund requested" in answer.get_data(as_text=True)
    refund = paysim.state.refunds[f"{payment.out_trade_no}-R"]
    assert refund.refund == refund.total == 113000

    def refunded():
        return fresh(db, Order, order.id).status == "refunded"

    assert wait_for(refunded, timeout=10)
    payment = fresh(db, Payment, payment.id)
    assert payment.status == "refunded" and payment.refunded_amount == TOTAL
    notes = [e.note for e in fresh(db, Order, order.id).events if e.note]
    assert notes.count("refund_requested") == 1 and notes.count("wechat_refunded") == 1
    # the refund notification again: answered, nothing twice
    last = paysim.state.sent[-1]
    assert paysim.send(last.url, last.body).answer_status == 204
    notes = [e.note for e in fresh(db, Order, order.id).events if e.note]
    assert notes.count("wechat_refunded") == 1
    assert Decimal(fresh(db, Payment, payment.id).refunded_amount) == TOTAL


def test_a_refund_wechat_cannot_take_alerts_staff_and_can_be_asked_again(
    client, db, customer, make_user, login_as, paysim, live_server
):
    order = make_order(db, customer)
    start_payment(client, order)
    payment = pending_payment(db, order)
    paysim.pay(payment.out_trade_no)
    login_as(make_user(is_staff=True))
    paysim.fail("refund", status=500)
    token = csrf_token(client, f"/admin/orders/{order.number}")
    page = client.post(
        f"/admin/orders/{order.number}/status?lang=en",
        data={"csrf_token": token, "status": "cancelled"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "could not be asked for the refund" in page and 'id="retry-refund"' in page
    assert db.session.scalars(db.select(StaffAlert)).one().kind == "wechatpay_refund_failed"
    token = csrf_token(client, f"/admin/orders/{order.number}")
    client.post(f"/admin/orders/{order.number}/refund", data={"csrf_token": token})
    assert wait_for(lambda: fresh(db, Order, order.id).status == "refunded", timeout=10)


def test_cancelling_an_unpaid_order_closes_its_open_payment_code(
    client, db, customer, make_user, login_as, paysim, live_server
):
    order = make_order(db, customer)
    url = code_url(start_payment(client, order).get_data(as_text=True))
    payment = pending_payment(db, order)
    login_as(make_user(is_staff=True))
    token = csrf_token(client, f"/admin/orders/{order.number}")
    client.post(
        f"/admin/orders/{order.number}/status", data={"csrf_token": token, "status": "cancelled"}
    )
    assert fresh(db, Payment, payment.id).status == "closed"
    assert paysim.state.transaction(payment.out_trade_no).trade_state == "CLOSED"
    assert "订单已关闭" in requests.get(url, timeout=10).text


@pytest.mark.parametrize("app_config", [{"WECHATPAY_MCHID": None}])  # no merchant set
def test_without_wechat_pay_settings_only_the_transfer_is_offered(client, db, customer, app_config):
    order = make_order(db, customer)
    html = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert 'id="bank-transfer"' in html and 'id="wechat-pay"' not in html
    token = csrf_token(client, f"/orders/{order.number}")
    answer = client.post(f"/orders/{order.number}/pay/wechat", data={"csrf_token": token})
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "微信支付暂不可用" in page
    assert fresh(db, Order, order.id).payments == []
