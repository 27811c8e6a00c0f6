"""Shared by the WeChat Pay tests: the simulator over real HTTP, its merchant's settings for the
site, and orders waiting for payment.

A test module takes the fixtures with `from wechatpay_support import *` (only they are exported).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from xometry_site.devtools.wechatpay_keys import TestKeys
from xometry_site.devtools.wechatpay_simulator import serve_in_thread

__all__ = ["app_config", "pay_keys", "paysim", "paysim_server"]  # the fixtures

APPID = "wx-test-pay-official-account"
TOTAL = Decimal("1130.00")


@pytest.fixture(scope="session")
def pay_keys() -> TestKeys:
    """One merchant and platform key set for the session (RSA keys take a moment to make)."""
    return TestKeys.generate(mchid="1900000109")


@pytest.fixture(scope="module")
def paysim_server(pay_keys):
    server = serve_in_thread(pay_keys, {APPID}, refund_delay=0.1)
    yield server
    server.shutdown()


@pytest.fixture
def paysim(paysim_server):
    paysim_server.reset()
    return paysim_server


def wechatpay_settings(paysim) -> dict:
    """The site's WECHATPAY_* settings, pointed at the simulator."""
    return {**paysim.keys.site_settings(APPID, paysim.base_url), "WECHATPAY_TIMEOUT": 2}


@pytest.fixture
def app_config(paysim) -> dict:
    return wechatpay_settings(paysim)


def make_order(db, user, total: Decimal = TOTAL, status: str = "awaiting_payment"):
    """An order as placement makes it (one part), waiting for its payment."""
    from xometry_site.models import Order, OrderEvent

    subtotal = (total / Decimal("1.13")).quantize(Decimal("0.01"))
    order = Order(
        user_id=user.id,
        status=status,
        lead_choice="standard",
        lead_days=7,
        ship_by=date.today() + timedelta(days=10),
        subtotal=subtotal,
        vat_rate=Decimal("0.13"),
        vat=total - subtotal,
        total=total,
        amount_paid=Decimal(0),
        remittance_reference="-",
        parts=[
            {
                "name": "bracket.step",
                "drawings": [],
                "process": "cnc_machining",
                "material": "al6061",
                "finish": "as_machined",
                "tolerance": "iso2768m",
                "threads": 0,
                "inspection": "standard",
                "quantity": 10,
                "unit_price": str((subtotal / 10).quantize(Decimal("0.01"))),
                "line_total": str(subtotal),
            }
        ],
        shipping={"recipient": "王工", "phone": "+8613800000001", "province": "310000",
                  "city": "310100", "address": "张江路 100 号", "postal_code": "201203"},
    )  # fmt: skip
    order.invoice = {"kind": "corporate", "company_name": "上海测试机械有限公司"}
    order.events.append(OrderEvent(status="awaiting_payment", actor_id=user.id))
    db.session.add(order)
    db.session.flush()
    order.number = f"XA-{date.today().year}-{order.id:06d}"
    order.remittance_reference = f"XA{date.today().year % 100:02d}{order.id:06d}"
    db.session.commit()
    return order


def csrf_token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def start_payment(client, order, headers: dict | None = None):
    """Press "Pay with WeChat Pay" on the order page: the pay page's answer."""
    from xometry_site.extensions import db

    db.session.expire_all()  # requests share the test's session: forget what it read before
    token = csrf_token(client, f"/orders/{order.number}")
    return client.post(
        f"/orders/{order.number}/pay/wechat", data={"csrf_token": token}, headers=headers or {}
    )


def code_url(html: str) -> str:
    return re.search(r'data-code-url="([^"]+)"', html).group(1)
