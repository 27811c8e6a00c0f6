"""Time to verify and apply one WeChat Pay notification, against a same-run baseline.

    .venv/bin/python benchmarks/wechatpay_notify.py [--count 200] [--database-url URL]

The site (testing configuration, SQLite in a temporary folder unless --database-url names a
PostgreSQL database to use) gets N orders waiting for a WeChat payment. Each payment's
notification is made beforehand as WeChat Pay makes it (the simulator's platform key signs it,
its resource is AES-256-GCM encrypted under the APIv3 key), then POSTed through the app:
signature, decryption, the checks, the conditional claim, apply_payment and the commit, answered
204. As in production, the customer's "payment received" mail and text are written to the outbox
in the same transaction and their delivery is queued on Redis (--redis-url, a database of its own
that is emptied; the jobs are not run): sending them is a worker's job, not the notification's.
The baseline, interleaved with it: the same endpoint given an empty request (refused at the
first header check, 401) — the cost of the request itself. Goal: median < 20 ms.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

GOAL_MS = 20.0
REDIS_URL = "redis://127.0.0.1:6379/12"


def build(database_url: str | None, redis_url: str, instance: Path, count: int):
    from xometry_site import create_app
    from xometry_site.devtools.wechatpay_keys import TestKeys, public_key_pem
    from xometry_site.devtools.wechatpay_sim_state import PaySimulatorState
    from xometry_site.extensions import db
    from xometry_site.models import Order, Payment, User

    keys = TestKeys.generate()
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'bench.sqlite3'}",
            "SERVER_NAME_FOR_MAIL": "https://www.xometry.test",
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": redis_url,
            **keys.site_settings("wx-bench-app", "https://api.mch.weixin.qq.com"),
        }
    )
    platform = PaySimulatorState(
        mchid=keys.mchid,
        appids=frozenset({"wx-bench-app"}),
        merchant_serial=keys.merchant_serial,
        merchant_public_key_pem=public_key_pem(keys.merchant_private_key),
        apiv3_key=keys.apiv3_key,
        platform_private_key_pem=keys.platform_private_key,
        platform_key_id=keys.platform_key_id,
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        user = User(email="bench@example.com", name="基准", customer_type="company")
        db.session.add(user)
        db.session.flush()
        trades = []
        for n in range(count):
            order = Order(
                user_id=user.id,
                number=f"XA-2026-{n + 1:06d}",
                status="awaiting_payment",
                lead_choice="standard",
                lead_days=7,
                ship_by=date.today() + timedelta(days=10),
                subtotal=Decimal("1000.00"),
                vat_rate=Decimal("0.13"),
                vat=Decimal("130.00"),
                total=Decimal("1130.00"),
                amount_paid=Decimal(0),
                remittance_reference=f"XA26{n + 1:06d}",
                parts=[],
                shipping={},
            )
            order.invoice = {}
            trade = f"XA-2026-{n + 1:06d}-bench"
            order.payments.append(
                Payment(
                    method="wechat", status="pending", amount=Decimal("1130.00"), out_trade_no=trade
                )
            )
            db.session.add(order)
            trades.append(trade)
        db.session.commit()
    notifications = []
    for trade in trades:
        prepaid = platform.prepay(
            "NATIVE",
            {
                "mchid": keys.mchid,
                "appid": "wx-bench-app",
                "out_trade_no": trade,
                "description": "Xometry Asia 订单",
                "notify_url": "https://www.xometry.test/payments/wechat/notify",
                "amount": {"total": 113000, "currency": "CNY"},
            },
        )
        body = platform.payment_notification(platform.pay(prepaid.out_trade_no))
        notifications.append((body, platform.signed_headers(body.decode())))
    return app, notifications


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="notifications (and baselines)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    parser.add_argument(
        "--redis-url", default=REDIS_URL, help=f"a Redis database to empty (default {REDIS_URL})"
    )
    args = parser.parse_args()
    from redis import Redis

    queue = Redis.from_url(args.redis_url)
    queue.flushdb()  # a database of its own: the queued deliveries are dropped at the end
    logging.disable(logging.WARNING)  # a log line per request would be timed too

    with tempfile.TemporaryDirectory(prefix="wxpay-bench-") as folder:
        app, notifications = build(args.database_url, args.redis_url, Path(folder), args.count + 20)
        client = app.test_client()
        applied, empty = [], []
        for index, (body, headers) in enumerate(notifications):
            started = time.perf_counter()
            baseline = client.post("/payments/wechat/notify", data=b"")
            middle = time.perf_counter()
            answer = client.post(
                "/payments/wechat/notify",
                data=body,
                headers={**headers, "Content-Type": "application/json"},
            )
            done = time.perf_counter()
            assert baseline.status_code == 401, baseline.status_code
            assert answer.status_code == 204, (answer.status_code, answer.get_data())
            if index >= 20:  # the first ones warm the caches and the key objects
                empty.append((middle - started) * 1000)
                applied.append((done - middle) * 1000)

        with app.app_context():
            from xometry_site.extensions import db
            from xometry_site.models import Order

            paid = db.session.scalar(db.select(db.func.count(Order.id)).filter_by(status="paid"))
        assert paid == len(notifications), paid
        queued = queue.llen("rq:queue:mail")
        queue.flushdb()

    median, baseline = statistics.median(applied), statistics.median(empty)
    p90 = statistics.quantiles(applied, n=10)[-1]
    print(
        f"notifications verified and applied: {len(applied)} (database: "
        f"{'PostgreSQL' if args.database_url else 'SQLite'})"
    )
    print(f"  deliveries queued for the mail worker: {queued}")
    print(f"  empty request (baseline)   median {baseline:6.2f} ms")
    print(
        f"  verify + decrypt + apply   median {median:6.2f} ms   p90 {p90:6.2f} ms"
        f"   ({median / baseline:.1f}× the baseline)"
    )
    print(f"  goal median < {GOAL_MS:.0f} ms: {'PASS' if median < GOAL_MS else 'MISS'}")


if __name__ == "__main__":
    main()
