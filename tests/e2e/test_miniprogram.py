"""The Mini Program's pages against the live site: `npm run e2e` in miniprogram/ drives the pages'
logic with a `wx` that speaks real HTTP to this live server, the WeChat simulator (sign-in, phone
number) and the WeChat Pay simulator (the payment sheet of wx.requestPayment)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import cannot_run
from integration.privacy_support import register_recipient

from xometry_site.devtools import wechatpay_simulator
from xometry_site.devtools.wechat_simulator import DEFAULT_APPID, serve_in_thread
from xometry_site.devtools.wechatpay_keys import TestKeys
from xometry_site.models import Consent, PrivacyRequest, User

pytestmark = [pytest.mark.slow]

MINIPROGRAM = Path(__file__).resolve().parents[2] / "miniprogram"
ACCESS_TOKEN_SECONDS = 2  # short, so the flow meets an expired token and renews it
REAUTH_SECONDS = 3  # short, so deregistering proves the person again with a silent wx.login
PAY_APPID = "wx-test-pay-official-account"  # the merchant's Official Account; the Mini Program too


@pytest.fixture(scope="module")
def simulator():
    server = serve_in_thread()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def paysim():
    """WeChat Pay for a merchant bound to the Official Account and the Mini Program."""
    keys = TestKeys.generate(mchid="1900000109")
    server = wechatpay_simulator.serve_in_thread(keys, {PAY_APPID, "wx-test-miniprogram"})
    yield server
    server.shutdown()


@pytest.fixture
def app_config(simulator, paysim) -> dict:
    simulator.reset()
    paysim.reset()
    return {
        **paysim.keys.site_settings(PAY_APPID, paysim.base_url),
        "WECHATPAY_TIMEOUT": 5,
        "WECHAT_APP_ID": DEFAULT_APPID,
        "WECHAT_OPEN_BASE_URL": simulator.base_url,
        "WECHAT_API_BASE_URL": simulator.base_url,
        "WECHAT_TIMEOUT": 5,
        "WECHAT_MP_APP_ID": None,
        "SMS_BACKEND": "console",
        "API_ACCESS_TOKEN_SECONDS": ACCESS_TOKEN_SECONDS,
        "REAUTH_MAX_AGE": REAUTH_SECONDS,
    }


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        cannot_run("node and npm are not installed (apt-get install nodejs npm)")
    if not (MINIPROGRAM / "node_modules" / ".bin" / "jest").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=MINIPROGRAM, check=True, timeout=600
        )
    return npm


def test_the_mini_program_flow_against_the_live_site(app, db, live_server, simulator, paysim):
    npm = _npm()
    lab = register_recipient(categories=["drawings", "phone"])  # My data asks consent to it
    env = {
        **os.environ,
        "SITE_URL": live_server.url,
        "SIM_URL": simulator.base_url,
        "PAY_URL": paysim.base_url,
        "ACCESS_TOKEN_SECONDS": str(ACCESS_TOKEN_SECONDS),
        "REAUTH_SECONDS": str(REAUTH_SECONDS),
    }
    run = subprocess.run(
        [npm, "run", "--silent", "e2e"],
        cwd=MINIPROGRAM,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stderr[-3000:])  # jest's report, shown with -s or on failure
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    counts = re.search(r"^Tests:\s+(\d+) passed, (\d+) total", run.stderr, re.MULTILINE)
    assert counts and counts[1] == counts[2] and int(counts[1]) >= 14, run.stderr[-3000:]

    # one account for the person, known to both the Mini Program and the website app
    users = db.session.scalars(db.select(User).filter_by(is_staff=False)).all()
    assert len(users) == 1
    apps = {identity.appid for identity in users[0].wechat_identities}
    assert apps == {DEFAULT_APPID, app.config["WECHAT_MINIPROGRAM_APP_ID"]}

    # what the Personal Center and My data left behind: one request filed (the refused transfer
    # stored nothing), the ID-number consent withdrawn with the number, no newsletter, no password
    requests = db.session.scalars(db.select(PrivacyRequest)).all()
    assert [(r.user_id, r.kind, r.status) for r in requests] == [(users[0].id, "copy", "open")]
    assert requests[0].due_on is not None
    sensitive = db.session.scalars(
        db.select(Consent).filter_by(user_id=users[0].id, kind="sensitive_tax_id")
    ).all()
    assert len(sensitive) == 1 and sensitive[0].withdrawn_at is not None
    subscription = db.session.scalars(
        db.select(Consent).filter_by(user_id=users[0].id, kind="subscription")
    ).all()
    assert subscription == []
    assert not users[0].has_password

    # the laboratory's separate consent: given once from My data, then withdrawn
    [consent] = db.session.scalars(
        db.select(Consent).filter_by(user_id=users[0].id, kind="third_party")
    ).all()
    assert consent.recipient_id == lab.id and consent.source == "miniprogram"
    assert consent.withdrawn_at is not None
