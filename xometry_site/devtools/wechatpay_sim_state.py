"""In-memory state of the WeChat Pay simulator: transactions, refunds, what it sent, and the
platform's side of the cryptography (signing answers and notifications, AES-GCM resources)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHINA = timezone(timedelta(hours=8))
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
AUTH_MAX_AGE = 300  # WeChat Pay refuses a request signed more than five minutes away
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
_ALNUM = string.ascii_letters + string.digits


class ApiError(Exception):
    """An API v3 error: HTTP status and {code, message}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class SimTransaction:
    """One prepay order and what became of it."""

    mchid: str
    appid: str
    out_trade_no: str
    description: str
    total: int
    currency: str
    notify_url: str
    trade_type: str  # NATIVE | JSAPI
    payer_openid: str | None
    pay_token: str  # in the code URL / pay page
    confirm_token: str  # the pay page's form token (no other page can post the form)
    created: float
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    refunded: int = 0

    def request_matches(self, other: SimTransaction) -> bool:
        """A repeated prepay with the same parameters (WeChat Pay answers it again)."""
        return (self.appid, self.description, self.total, self.trade_type, self.notify_url) == (
            other.appid,
            other.description,
            other.total,
            other.trade_type,
            other.notify_url,
        )

    def resource(self) -> dict:
        """The transaction as API v3 shows it (query answer, notification resource)."""
        body = {
            "mchid": self.mchid,
            "appid": self.appid,
            "out_trade_no": self.out_trade_no,
            "trade_type": self.trade_type,
            "trade_state": self.trade_state,
            "trade_state_desc": TRADE_STATE_DESC.get(self.trade_state, ""),
            "attach": "",
            "amount": {"total": self.total, "currency": self.currency},
        }
        if self.transaction_id:
            body.update(
                transaction_id=self.transaction_id,
                bank_type="OTHERS",
                success_time=self.success_time,
                payer={"openid": self.payer_openid or ""},
                amount={
                    "total": self.total,
                    "payer_total": self.total,
                    "currency": self.currency,
                    "payer_currency": self.currency,
                },
            )
        return body


TRADE_STATE_DESC = {
    "NOTPAY": "未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "已关闭",
    "REFUND": "转入退款",
}


@dataclass
class SimRefund:
    """One refund of a transaction."""

    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    notify_url: str | None
    created: str
    status: str = "PROCESSING"
    success_time: str | None = None

    def resource(self, mchid: str) -> dict:
        return {
            "mchid": mchid,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "success_time": self.success_time,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": self.total,
                "refund": self.refund,
                "payer_total": self.total,
                "payer_refund": self.refund,
            },
        }


@dataclass
class SentNotification:
    """A notification as sent: exactly these headers and body (tests replay and alter them)."""

    url: str
    headers: dict[str, str]
    body: bytes
    answer_status: int | None = None


@dataclass
class Failure:
    """A failure injected for tests: an HTTP status and/or a delay before answering."""

    status: int | None = None
    code: str = "SYSTEM_ERROR"
    delay: float = 0.0
    times: int = 1


def china_now() -> str:
    """Now as WeChat Pay writes times (RFC 3339, +08:00)."""
    return datetime.now(CHINA).replace(microsecond=0).isoformat()


def _sign(private_key, message: str) -> str:
    raw = private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


@dataclass
class PaySimulatorState:
    """Everything the simulator knows; every method is safe to call from several threads."""

    mchid: str
    appids: frozenset[str]
    merchant_serial: str
    merchant_public_key_pem: str
    apiv3_key: str
    platform_private_key_pem: str
    platform_key_id: str
    refund_delay: float = 0.2
    transactions: dict[str, SimTransaction] = field(default_factory=dict)
    refunds: dict[str, SimRefund] = field(default_factory=dict)
    sent: list[SentNotification] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    calls: list[dict] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._merchant_key = serialization.load_pem_public_key(
            self.merchant_public_key_pem.encode()
        )
        self._platform_key = serialization.load_pem_private_key(
            self.platform_private_key_pem.encode(), password=None
        )

    @property
    def platform_public_key_pem(self) -> str:
        return (
            self._platform_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def reset(self) -> None:
        """Forget every transaction, refund, notification, failure and call."""
        with self.lock:
            self.transactions.clear()
            self.refunds.clear()
            self.sent.clear()
            self.failures.clear()
            self.calls.clear()

    # --- the merchant's requests and our answers ------------------------------------------

    def check_authorization(self, method: str, path: str, body: str, header: str) -> str:
        """The merchant id of a request signed with the merchant's key; ApiError otherwise."""
        if not header.startswith(SIGNATURE_TYPE + " "):
            raise ApiError(
                401, "SIGN_ERROR", "Authorization 缺失或类型错误 · missing or wrong scheme"
            )
        fields = dict(re.findall(r'(\w+)="([^"]*)"', header[len(SIGNATURE_TYPE) + 1 :]))
        if fields.get("mchid") != self.mchid:
            raise ApiError(401, "SIGN_ERROR", "商户号错误 · unknown mchid")
        if fields.get("serial_no") != self.merchant_serial:
            raise ApiError(401, "SIGN_ERROR", "证书序列号错误 · unknown serial_no")
        try:
            stamp = int(fields.get("timestamp", ""))
        except ValueError:
            stamp = 0
        if abs(time.time() - stamp) > AUTH_MAX_AGE:
            raise ApiError(401, "SIGN_ERROR", "时间戳过期 · timestamp out of range")
        message = f"{method}\n{path}\n{stamp}\n{fields.get('nonce_str', '')}\n{body}\n"
        try:
            self._merchant_key.verify(
                base64.b64decode(fields.get("signature", "")),
                message.encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            raise ApiError(401, "SIGN_ERROR", "签名错误 · signature verification failed") from None
        return self.mchid

    def signed_headers(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """Wechatpay-* headers signing a body with the platform key (answers, notifications)."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        nonce = "".join(secrets.choice(_ALNUM) for _ in range(32))
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": _sign(self._platform_key, f"{stamp}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": self.platform_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def take_failure(self, endpoint: str) -> Failure | None:
        with self.lock:
            for key in (endpoint, "*"):
                queue = self.failures.get(key)
                if queue:
                    failure = queue[0]
                    failure.times -= 1
                    if failure.times <= 0:
                        queue.pop(0)
                    return failure
        return None

    def fail(self, endpoint: str, **failure) -> None:
        with self.lock:
            self.failures.setdefault(endpoint, []).append(Failure(**failure))

    # --- transactions ---------------------------------------------------------------------

    def prepay(self, trade_type: str, data: dict) -> SimTransaction:
        """Create (or repeat) a prepay order, checked as WeChat Pay checks it."""
        if data.get("mchid") != self.mchid:
            raise ApiError(400, "MCH_NOT_EXISTS", "商户号不存在 · mchid does not match")
        if data.get("appid") not in self.appids:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid 和 mch_id 不匹配")
        out_trade_no = str(data.get("out_trade_no") or "")
        if not OUT_TRADE_NO.match(out_trade_no):
            raise ApiError(400, "PARAM_ERROR", "out_trade_no 格式错误 · 6-32 characters")
        amount = data.get("amount") or {}
        total = amount.get("total")
        if not isinstance(total, int) or total <= 0:
            raise ApiError(400, "PARAM_ERROR", "amount.total 必须为正整数 · positive fen")
        if amount.get("currency", "CNY") != "CNY":
            raise ApiError(400, "PARAM_ERROR", "currency 仅支持 CNY")
        description = str(data.get("description") or "")
        if not description or len(description) > 127:
            raise ApiError(400, "PARAM_ERROR", "description 不能为空且不超过 127 字符")
        notify_url = str(data.get("notify_url") or "")
        if not notify_url.startswith(("https://", "http://")):
            raise ApiError(400, "PARAM_ERROR", "notify_url 格式错误")
        openid = (data.get("payer") or {}).get("openid")
        if trade_type == "JSAPI" and not openid:
            raise ApiError(400, "PARAM_ERROR", "JSAPI 下单缺少 payer.openid")
        wanted = SimTransaction(
            mchid=self.mchid,
            appid=data["appid"],
            out_trade_no=out_trade_no,
            description=description,
            total=total,
            currency="CNY",
            notify_url=notify_url,
            trade_type=trade_type,
            payer_openid=openid,
            pay_token=secrets.token_urlsafe(16),
            confirm_token=secrets.token_urlsafe(24),
            created=time.time(),
        )
        with self.lock:
            known = self.transactions.get(out_trade_no)
            if known is not None:
                if known.trade_state == "SUCCESS":
                    raise ApiError(400, "ORDERPAID", "该订单已支付 · already paid")
                if known.trade_state == "CLOSED":
                    raise ApiError(400, "ORDER_CLOSED", "订单已关闭 · order closed")
                if not known.request_matches(wanted):
                    raise ApiError(400, "INVALID_REQUEST", "out_trade_no 重复且参数不一致")
                return known
            self.transactions[out_trade_no] = wanted
            return wanted

    def transaction(self, out_trade_no: str) -> SimTransaction:
        with self.lock:
            found = self.transactions.get(out_trade_no)
        if found is None:
            raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在 · no such order")
        return found

    def by_pay_token(self, token: str) -> SimTransaction | None:
        with self.lock:
            return next((t for t in self.transactions.values() if t.pay_token == token), None)

    def close(self, out_trade_no: str) -> None:
        with self.lock:
            found = self.transaction(out_trade_no)
            if found.trade_state == "SUCCESS":
                raise ApiError(400, "ORDERPAID", "订单已支付，不能关闭 · already paid")
            found.trade_state = "CLOSED"

    def pay(self, out_trade_no: str, payer_openid: str | None = None) -> SimTransaction:
        """The payer confirmed: NOTPAY → SUCCESS with a transaction id (once)."""
        with self.lock:
            found = self.transaction(out_trade_no)
            if found.trade_state == "CLOSED":
                raise ApiError(400, "ORDER_CLOSED", "订单已关闭 · order closed")
            if found.trade_state == "NOTPAY":
                found.trade_state = "SUCCESS"
                found.transaction_id = "4200" + time.strftime("%Y%m%d") + secrets.token_hex(7)[:14]
                found.success_time = china_now()
                found.payer_openid = found.payer_openid or payer_openid or _scanner_openid(found)
            return found

    # --- refunds --------------------------------------------------------------------------

    def refund(self, data: dict) -> SimRefund:
        out_refund_no = str(data.get("out_refund_no") or "")
        if not OUT_REFUND_NO.match(out_refund_no):
            raise ApiError(400, "PARAM_ERROR", "out_refund_no 格式错误")
        amount = data.get("amount") or {}
        with self.lock:
            if out_refund_no in self.refunds:
                return self.refunds[out_refund_no]
            found = self.transaction(str(data.get("out_trade_no") or ""))
            if found.trade_state not in ("SUCCESS", "REFUND"):
                raise ApiError(400, "INVALID_REQUEST", "订单未支付，不能退款 · not paid")
            refund, total = amount.get("refund"), amount.get("total")
            if total != found.total:
                raise ApiError(400, "PARAM_ERROR", "订单金额与原订单不一致 · total mismatch")
            if not isinstance(refund, int) or refund <= 0 or refund > found.total - found.refunded:
                raise ApiError(400, "NOT_ENOUGH", "退款金额超过可退金额 · refund too large")
            found.refunded += refund
            found.trade_state = "REFUND"
            made = SimRefund(
                out_refund_no=out_refund_no,
                refund_id="5030" + secrets.token_hex(12),
                out_trade_no=found.out_trade_no,
                transaction_id=found.transaction_id or "",
                refund=refund,
                total=found.total,
                notify_url=data.get("notify_url") or found.notify_url,
                created=china_now(),
            )
            self.refunds[out_refund_no] = made
            return made

    def finish_refund(self, out_refund_no: str) -> SimRefund:
        with self.lock:
            made = self.refunds[out_refund_no]
            made.status = "SUCCESS"
            made.success_time = china_now()
            return made

    # --- notifications --------------------------------------------------------------------

    def encrypt(self, plain: dict, associated_data: str) -> dict:
        """A v3 resource: AEAD_AES_256_GCM with the APIv3 key, base64."""
        nonce = "".join(secrets.choice(_ALNUM) for _ in range(12))
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), text.encode(), associated_data.encode()
        )
        return {
            "original_type": associated_data,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(),
            "associated_data": associated_data,
            "nonce": nonce,
        }

    def notification(self, event_type: str, summary: str, resource: dict, kind: str) -> bytes:
        """The body of a notification: resource encrypted, nothing else secret."""
        body = {
            "id": str(uuid.uuid4()),
            "create_time": china_now(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": self.encrypt(resource, kind),
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def payment_notification(self, found: SimTransaction) -> bytes:
        return self.notification("TRANSACTION.SUCCESS", "支付成功", found.resource(), "transaction")

    def refund_notification(self, made: SimRefund) -> bytes:
        event = "REFUND.SUCCESS" if made.status == "SUCCESS" else f"REFUND.{made.status}"
        return self.notification(event, "退款成功", made.resource(self.mchid), "refund")

    def record(self, endpoint: str, status: int) -> None:
        with self.lock:
            self.calls.append({"endpoint": endpoint, "status": status})


def _scanner_openid(found: SimTransaction) -> str:
    """The OpenID of whoever scanned the code (a stable simulated payer for the app)."""
    digest = hashlib.sha256(f"payer|{found.appid}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]
