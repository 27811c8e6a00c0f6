"""A local WeChat Pay (API v3) over real HTTP, for development and tests.

A WSGI app of its own, never the site's: `serve_in_thread()` for tests, or mounted under
/__wechatpay__ of the development site (mount.py). It verifies the merchant's Authorization
signature with the merchant's public key, answers signed with its own platform key pair, keeps
prepay orders in memory, shows a pay page for a Native code URL with one confirm form, and on
confirm POSTs a real notification (resource AES-256-GCM encrypted with the APIv3 key, signed)
to the order's notify_url. Test hooks: `POST /__sim/pay`, `/__sim/fail`, `/__sim/reset`.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time

import requests
from flask import Blueprint, Flask, Response, abort, current_app, render_template_string, request
from flask import url_for as flask_url_for
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .wechatpay_keys import TestKeys, public_key_pem
from .wechatpay_sim_page import CSS, ERROR_PAGE, PAY_PAGE
from .wechatpay_sim_state import ApiError, PaySimulatorState, SentNotification, SimTransaction

log = logging.getLogger(__name__)
NOTIFY_TIMEOUT = 10  # seconds the simulator waits for the merchant's answer

bp = Blueprint("wechatpay_sim", __name__)


def state() -> PaySimulatorState:
    """The simulator state of the app serving this request."""
    return current_app.extensions["wechatpay_simulator"]


def create_simulator_app(keys: TestKeys, appids: set[str], refund_delay: float = 0.2) -> Flask:
    """A WSGI app speaking WeChat Pay's v3 API for one merchant (its AppIDs, its keys)."""
    sim_state = PaySimulatorState(
        mchid=keys.mchid,
        appids=frozenset(appids),
        merchant_serial=keys.merchant_serial,
        merchant_public_key_pem=public_key_pem(keys.merchant_private_key),
        apiv3_key=keys.apiv3_key,
        platform_private_key_pem=keys.platform_private_key,
        platform_key_id=keys.platform_key_id,
        refund_delay=refund_delay,
    )
    app = Flask(__name__, static_folder=None)
    app.extensions["wechatpay_simulator"] = sim_state
    app.register_blueprint(bp)
    return app


# --- sending notifications ------------------------------------------------------------------


def send(sim: PaySimulatorState, url: str, body: bytes, headers: dict[str, str] | None = None):
    """POST a notification to the merchant (signed now unless headers are given): what it got."""
    headers = headers or sim.signed_headers(body.decode())
    sent = SentNotification(url, {**headers, "Content-Type": "application/json"}, body)
    try:
        answer = requests.post(url, data=body, headers=sent.headers, timeout=NOTIFY_TIMEOUT)
        sent.answer_status = answer.status_code
    except requests.RequestException as error:
        log.warning("wechatpay simulator: notify failed error=%s", type(error).__name__)
    with sim.lock:
        sim.sent.append(sent)
    return sent


def _finish_refund_later(sim: PaySimulatorState, out_refund_no: str) -> None:
    """WeChat Pay settles a refund a little later and then notifies the merchant."""

    def settle() -> None:
        time.sleep(sim.refund_delay)
        made = sim.finish_refund(out_refund_no)
        if made.notify_url:
            send(sim, made.notify_url, sim.refund_notification(made))

    threading.Thread(target=settle, daemon=True).start()


# --- the API --------------------------------------------------------------------------------


def _answer(sim: PaySimulatorState, body: dict | None, status: int = 200) -> Response:
    """A signed API answer (an empty 204 too)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
    response = Response(text, status, mimetype="application/json" if text else None)
    response.headers.update(sim.signed_headers(text))
    return response


def _api(endpoint: str, handler) -> Response:
    """Authenticate the merchant, apply injected failures, run the handler, log the call."""
    sim = state()
    failure = sim.take_failure(endpoint)
    if failure is not None and failure.delay:
        time.sleep(failure.delay)
    if failure is not None and failure.status:
        sim.record(endpoint, failure.status)
        return _answer(sim, {"code": failure.code, "message": "injected"}, failure.status)
    body = request.get_data(as_text=True)
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    try:
        sim.check_authorization(
            request.method, path, body, request.headers.get("Authorization", "")
        )
        data = json.loads(body) if body else {}
        if not isinstance(data, dict):
            raise ApiError(400, "PARAM_ERROR", "请求体必须是 JSON 对象")
        result = handler(sim, data)
    except ValueError:
        sim.record(endpoint, 400)
        return _answer(sim, {"code": "PARAM_ERROR", "message": "JSON 格式错误"}, 400)
    except ApiError as error:
        sim.record(endpoint, error.status)
        return _answer(sim, {"code": error.code, "message": error.message}, error.status)
    sim.record(endpoint, 200 if result is not None else 204)
    return _answer(sim, result, 200 if result is not None else 204)


def _pay_url(found: SimTransaction) -> str:
    return flask_url_for("wechatpay_sim.pay_page", token=found.pay_token, _external=True)


@bp.post("/v3/pay/transactions/native")
def native():
    """Native prepay: the code URL (here, the simulator's pay page)."""
    return _api("native", lambda sim, d: {"code_url": _pay_url(sim.prepay("NATIVE", d))})


@bp.post("/v3/pay/transactions/jsapi")
def jsapi():
    """JSAPI prepay for a payer's OpenID: the prepay_id."""
    return _api("jsapi", lambda sim, d: {"prepay_id": "wx" + sim.prepay("JSAPI", d).pay_token[:30]})


@bp.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
def query(out_trade_no: str):
    """A transaction by our out_trade_no."""

    def handler(sim: PaySimulatorState, _data: dict) -> dict:
        if request.args.get("mchid") != sim.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 参数错误")
        return sim.transaction(out_trade_no).resource()

    return _api("query", handler)


@bp.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
def close(out_trade_no: str):
    """Close an unpaid transaction: 204."""

    def handler(sim: PaySimulatorState, data: dict) -> None:
        if data.get("mchid") != sim.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 参数错误")
        sim.close(out_trade_no)

    return _api("close", handler)


@bp.post("/v3/refund/domestic/refunds")
def refund():
    """Refund (PROCESSING now, SUCCESS and a notification a moment later)."""

    def handler(sim: PaySimulatorState, data: dict) -> dict:
        known = data.get("out_refund_no") in sim.refunds
        made = sim.refund(data)
        if not known:
            _finish_refund_later(sim, made.out_refund_no)
        answer = made.resource(sim.mchid)
        answer["status"] = answer.pop("refund_status")
        return answer

    return _api("refund", handler)


@bp.get("/v3/refund/domestic/refunds/<out_refund_no>")
def refund_query(out_refund_no: str):
    def handler(sim: PaySimulatorState, _data: dict) -> dict:
        made = sim.refunds.get(out_refund_no)
        if made is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        answer = made.resource(sim.mchid)
        answer["status"] = answer.pop("refund_status")
        return answer

    return _api("refund_query", handler)


# --- the payer's side: the pay page of a code URL -------------------------------------------


def _page(found: SimTransaction, answer: int | None = None, status: int = 200) -> Response:
    html = render_template_string(
        PAY_PAGE,
        t=found,
        answer=answer,
        confirm_url=flask_url_for("wechatpay_sim.confirm", token=found.pay_token),
        css_url=flask_url_for("wechatpay_sim.css"),
    )
    return Response(html, status, headers={"Cache-Control": "no-store"})


@bp.get("/pay/<token>")
def pay_page(token: str):
    """What WeChat shows after scanning a Native code: amount, merchant, "confirm payment"."""
    found = state().by_pay_token(token)
    if found is None:
        html = render_template_string(
            ERROR_PAGE,
            reason="二维码无效 · unknown code",
            css_url=flask_url_for("wechatpay_sim.css"),
        )
        return Response(html, 404)
    return _page(found)


@bp.post("/pay/<token>/confirm")
def confirm(token: str):
    """The payer confirms: the transaction succeeds and the merchant is notified over HTTP."""
    sim = state()
    found = sim.by_pay_token(token)
    if found is None:
        abort(404)
    offered = request.form.get("confirm_token", "")
    if not hmac.compare_digest(offered.encode(), found.confirm_token.encode()):
        abort(403)  # only the pay page itself carries the token
    return _page(*_pay_and_notify(sim, found))


def _pay_and_notify(
    sim: PaySimulatorState, found: SimTransaction
) -> tuple[SimTransaction, int | None]:
    already = found.trade_state != "NOTPAY"
    try:
        found = sim.pay(found.out_trade_no)
    except ApiError:
        return found, None
    if already:
        return found, None
    sent = send(sim, found.notify_url, sim.payment_notification(found))
    return found, sent.answer_status


@bp.get("/__sim/sim.css")
def css():
    return Response(CSS, mimetype="text/css")


# --- test hooks -----------------------------------------------------------------------------


@bp.post("/__sim/pay")
def sim_pay():
    """Pay a transaction without the browser (JSAPI too): {"out_trade_no"}."""
    sim = state()
    data = request.get_json(silent=True) or {}
    try:
        found = sim.transaction(str(data.get("out_trade_no") or ""))
    except ApiError as error:
        return {"error": error.code}, error.status
    found, answer = _pay_and_notify(sim, found)
    return {"trade_state": found.trade_state, "notify_status": answer}


@bp.post("/__sim/fail")
def sim_fail():
    """Make an endpoint fail: {"endpoint", "status", "code", "delay", "times"}."""
    data = request.get_json(silent=True) or {}
    options = {k: data[k] for k in ("status", "code", "delay", "times") if k in data}
    state().fail(data.get("endpoint", "*"), **options)
    return {"ok": True}


@bp.post("/__sim/reset")
def sim_reset():
    state().reset()
    return {"ok": True}


# --- serving --------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log."""

    def log_request(self, code="-", size="-") -> None:
        """Log nothing."""


class PaySimulatorServer:
    """A simulator served on a real port by a background thread, with helpers for tests."""

    def __init__(self, server: BaseWSGIServer, app: Flask, keys: TestKeys) -> None:
        self._server = server
        self.app = app
        self.keys = keys
        self.state: PaySimulatorState = app.extensions["wechatpay_simulator"]
        self.base_url = f"http://{server.server_address[0]}:{server.server_port}"
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def pay(self, out_trade_no: str) -> SentNotification | None:
        """The payer confirms (as on the pay page); the notification as sent, if one was."""
        found = self.state.transaction(out_trade_no)
        before = len(self.state.sent)
        _pay_and_notify(self.state, found)
        return self.state.sent[before] if len(self.state.sent) > before else None

    def send(self, url: str, body: bytes, headers: dict[str, str] | None = None):
        """POST a notification body (signed now unless headers are given) to `url`."""
        return send(self.state, url, body, headers)

    def reset(self) -> None:
        self.state.reset()

    def fail(self, endpoint: str, **failure) -> None:
        self.state.fail(endpoint, **failure)

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> PaySimulatorServer:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def serve_in_thread(
    keys: TestKeys, appids: set[str], host: str = "127.0.0.1", port: int = 0, **options
) -> PaySimulatorServer:
    """Start a simulator for this merchant on host:port (0 = any free)."""
    app = create_simulator_app(keys, appids, **options)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    return PaySimulatorServer(server, app, keys)
