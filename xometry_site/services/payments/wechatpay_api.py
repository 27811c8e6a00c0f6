"""Calls to WeChat Pay's API v3 over `requests`, signed and checked with wechatpayv3's public
helpers; notifications verified and decrypted by wechatpayv3's own `WeChatPay.callback`.

wechatpayv3's client sends its requests to a gateway it keeps in a private attribute, so the
requests are made here, against WECHATPAY_API_BASE_URL (WeChat Pay, or the simulator in
development and tests), each with a deadline (WECHATPAY_TIMEOUT): the Authorization header comes
from `utils.build_authorization` and every 2xx answer's signature is checked with
`utils.rsa_verify` against the platform public key, as the library's client does.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import build_authorization, load_private_key, load_public_key, rsa_verify

from .wechatpay_settings import WeChatPaySettings, read_settings

log = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
USER_AGENT = "xometry-site (wechatpayv3 helpers)"


class WeChatPayError(Exception):
    """A call that gave no usable answer. `kind`: unreachable (timeout, refused, 5xx, an answer
    whose signature fails), refused (a 4xx with WeChat's `code`)."""

    def __init__(self, kind: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(f"wechatpay {kind} status={status} code={code}")
        self.kind = kind
        self.status = status
        self.code = code


class WeChatPayApi:
    """One merchant's client; its keys are loaded once, it holds no per-call state."""

    def __init__(self, settings: WeChatPaySettings) -> None:
        self.settings = settings
        self._private_key = load_private_key(settings.private_key)
        self._platform_key = load_public_key(settings.platform_public_key)
        # platform public key mode: the library never downloads certificates
        self.verifier = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=settings.mchid,
            private_key=settings.private_key,
            cert_serial_no=settings.merchant_serial,
            appid=settings.appid,
            apiv3_key=settings.apiv3_key,
            notify_url=settings.notify_url,
            public_key=settings.platform_public_key,
            public_key_id=settings.platform_key_id,
            timeout=settings.timeout,
        )

    # --- the calls the site makes -----------------------------------------------------------

    def native_prepay(self, out_trade_no: str, description: str, total_fen: int) -> str:
        """A Native order: the code_url to show as a QR code."""
        body = self._order(out_trade_no, description, total_fen)
        return str(self._call("POST", "/v3/pay/transactions/native", body)["code_url"])

    def jsapi_prepay(
        self,
        out_trade_no: str,
        description: str,
        total_fen: int,
        openid: str,
        appid: str | None = None,
    ) -> str:
        """A JSAPI order for a payer (their OpenID under `appid`, by default the merchant's
        AppID; the Mini Program's for wx.requestPayment): the prepay_id."""
        body = {
            **self._order(out_trade_no, description, total_fen, appid),
            "payer": {"openid": openid},
        }
        return str(self._call("POST", "/v3/pay/transactions/jsapi", body)["prepay_id"])

    def jsapi_parameters(self, prepay_id: str, appid: str | None = None) -> dict[str, str]:
        """What WeixinJSBridge's getBrandWCPayRequest (or the Mini Program's
        wx.requestPayment) takes, signed with the merchant key for that AppID."""
        appid = appid or self.settings.appid
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        signature = self.verifier.sign([appid, timestamp, nonce, package])
        return {
            "appId": appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": signature,
        }

    def query(self, out_trade_no: str) -> dict[str, Any]:
        """The transaction as WeChat Pay knows it (trade_state …)."""
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}"
        return self._call("GET", f"{path}?mchid={quote(self.settings.mchid, safe='')}")

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid transaction, so its code can no longer be paid."""
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close"
        self._call("POST", path, {"mchid": self.settings.mchid})

    def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int
    ) -> dict[str, Any]:
        """Ask for a refund (idempotent per out_refund_no): the refund, status PROCESSING or
        SUCCESS; the result comes again by notification."""
        body = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "reason": "订单取消",
            "notify_url": self.settings.notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        return self._call("POST", "/v3/refund/domestic/refunds", body)

    # --- notifications ----------------------------------------------------------------------

    def callback(self, headers: Mapping[str, str], body: str) -> dict[str, Any] | None:
        """The library's verification and AES-GCM decryption; None when either fails."""
        return self.verifier.callback(dict(headers), body)

    def signature_holds(self, headers: Mapping[str, str], body: str) -> bool:
        """Whether the platform signed this body (to say why a callback failed)."""
        return rsa_verify(
            headers.get("Wechatpay-Timestamp", ""),
            headers.get("Wechatpay-Nonce", ""),
            body,
            headers.get("Wechatpay-Signature", ""),
            self._platform_key,
        )

    # --- plumbing -------------------------------------------------------------------------

    def _order(
        self, out_trade_no: str, description: str, total_fen: int, appid: str | None = None
    ) -> dict[str, Any]:
        return {
            "appid": appid or self.settings.appid,
            "mchid": self.settings.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "notify_url": self.settings.notify_url,
            "amount": {"total": total_fen, "currency": "CNY"},
        }

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One signed request within the deadline; the answer's signature checked."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body else ""
        headers = {
            "Authorization": build_authorization(
                path,
                method,
                self.settings.mchid,
                self.settings.merchant_serial,
                self._private_key,
                data=data,
            ),
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Wechatpay-Serial": self.settings.platform_key_id,
        }
        endpoint = path.split("?", 1)[0]
        try:
            answer = requests.request(
                method,
                self.settings.api_base_url + path,
                data=data.encode() if data else None,
                headers=headers,
                timeout=self.settings.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            log.warning("wechatpay.call_failed path=%s error=%s", endpoint, type(error).__name__)
            raise WeChatPayError("unreachable") from None
        if answer.status_code >= 500 or answer.status_code < 200:
            log.warning("wechatpay.call_failed path=%s status=%s", endpoint, answer.status_code)
            raise WeChatPayError("unreachable", answer.status_code)
        if answer.status_code >= 300:
            code = _error_code(answer)
            log.warning(
                "wechatpay.call_refused path=%s status=%s code=%s",
                endpoint,
                answer.status_code,
                code,
            )
            raise WeChatPayError("refused", answer.status_code, code)
        if not self._answer_signed(answer):
            log.warning("wechatpay.answer_unsigned path=%s", endpoint)
            raise WeChatPayError("unreachable", answer.status_code, "SIGNATURE")
        if not answer.content:
            return {}
        try:
            parsed = answer.json()
        except ValueError:
            raise WeChatPayError("unreachable", answer.status_code, "NOT_JSON") from None
        return parsed if isinstance(parsed, dict) else {}

    def _answer_signed(self, answer: requests.Response) -> bool:
        """Signed by the platform key we hold, recently (as notifications are checked)."""
        headers = answer.headers
        if headers.get("Wechatpay-Serial") != self.settings.platform_key_id:
            return False
        if not fresh(headers.get("Wechatpay-Timestamp"), self.settings.notify_max_age):
            return False
        return rsa_verify(
            headers.get("Wechatpay-Timestamp", ""),
            headers.get("Wechatpay-Nonce", ""),
            answer.text,
            headers.get("Wechatpay-Signature", ""),
            self._platform_key,
        )


def fresh(timestamp: str | None, max_age: int, now: float | None = None) -> bool:
    """A Wechatpay-Timestamp within max_age seconds of now (either way)."""
    try:
        stamp = int(timestamp or "")
    except ValueError:
        return False
    return abs((now if now is not None else time.time()) - stamp) <= max_age


def _error_code(answer: requests.Response) -> str | None:
    try:
        parsed = answer.json()
    except ValueError:
        return None
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return str(code)[:40] if code else None


def client_for(app: Any) -> WeChatPayApi:
    """The app's client, rebuilt only when its settings change (keys load once, not per call)."""
    config = app.config
    fingerprint = tuple(
        str(config.get(name))
        for name in sorted(config)
        if name.startswith("WECHATPAY_")
        or name in ("SERVER_NAME_FOR_MAIL", "WECHAT_MINIPROGRAM_APP_ID")
    )
    known = app.extensions.get("wechatpay_client")
    if known is not None and known[0] == fingerprint:
        return known[1]
    client = WeChatPayApi(read_settings(config))
    app.extensions["wechatpay_client"] = (fingerprint, client)
    return client
