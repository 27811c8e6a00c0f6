"""A local WeChat (网站应用微信登录 + 公众号网页授权) over real HTTP, for development and tests.

A WSGI app of its own, never the site's: serve it with `serve_in_thread()` or mount it under a
prefix of the development site, e.g. `DispatcherMiddleware(app.wsgi_app, {"/__wechat__":
create_simulator_app(...)})` with `WECHAT_OPEN_BASE_URL`/`WECHAT_API_BASE_URL` pointing there.
Test hooks: `POST /__sim/scan`, `POST /__sim/fail`, `POST /__sim/reset`, `GET /__sim/calls`.

It also plays the Mini Program side: `POST /wxa/login-code` gives what `wx.login` gives (a code,
for a new user, a chosen one, or the user with a given UnionID), `POST /wxa/phone-code` what the
phone-number button gives for a phone, and the server API answers `sns/jscode2session`,
`cgi-bin/token` and `wxa/business/getuserphonenumber` as WeChat does, errors included (invalid
code 40029, used code 40163; `__sim/fail` injects others, e.g. 45011 for too many calls).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template_string,
    request,
    url_for,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .wechat_sim_page import AVATAR, CSS, ERROR_PAGE, PAGE, qr_pattern
from .wechat_sim_state import (
    EXPIRED_MESSAGES,
    REUSE_MESSAGES,
    IssuedCode,
    SimApp,
    SimError,
    SimulatorState,
    SimUser,
)

DEFAULT_APPID = "wx-test-website-app"
DEFAULT_SECRET = "wx-test-website-secret"  # noqa: S105 - the simulator's test credentials
DEFAULT_MINIPROGRAM_APPID = "wx-test-miniprogram"
DEFAULT_MINIPROGRAM_SECRET = "wx-test-miniprogram-secret"  # noqa: S105 - test credentials
FLOWS = {"qrconnect": "website", "authorize": "mp"}

bp = Blueprint("wechat_sim", __name__)


class InvalidRequest(Exception):
    """A sign-in link WeChat would refuse with its "参数错误" page."""


def state() -> SimulatorState:
    """The simulator state of the app serving this request."""
    return current_app.extensions["wechat_simulator"]


def create_simulator_app(
    appid: str = DEFAULT_APPID,
    secret: str = DEFAULT_SECRET,
    *,
    mp_appid: str | None = None,
    mp_secret: str | None = None,
    miniprogram_appid: str | None = DEFAULT_MINIPROGRAM_APPID,
    miniprogram_secret: str | None = DEFAULT_MINIPROGRAM_SECRET,
    with_unionid: bool = True,
    redirect_hosts: set[str] | None = None,
    reuse_errcode: int = 40163,
    expired_errcode: int = 42003,
) -> Flask:
    """A WSGI app speaking WeChat's sign-in pages and /sns API for one website app (and an MP)."""
    if reuse_errcode not in REUSE_MESSAGES or expired_errcode not in EXPIRED_MESSAGES:
        raise ValueError("reuse_errcode must be 40163/40029, expired_errcode 42003/40029")
    apps = [SimApp(appid, secret, "website")]
    if mp_appid:
        apps.append(SimApp(mp_appid, mp_secret or "", "mp"))
    if miniprogram_appid:
        apps.append(SimApp(miniprogram_appid, miniprogram_secret or "", "miniprogram"))
    sim_state = SimulatorState.build(
        apps,
        with_unionid=with_unionid,
        redirect_hosts=frozenset(redirect_hosts) if redirect_hosts else None,
        reuse_errcode=reuse_errcode,
        expired_errcode=expired_errcode,
    )
    app = Flask(__name__, static_folder=None)
    app.extensions["wechat_simulator"] = sim_state
    app.register_blueprint(bp)
    return app


# --- the browser side: sign-in pages and their buttons --------------------------------------


def _checked_link(flow: str, values) -> tuple[SimApp, dict[str, str]]:
    """The app and parameters of a sign-in link, checked as WeChat checks them."""
    sim = state()
    app = sim.apps.get(values.get("appid", ""))
    if app is None or app.kind != FLOWS[flow]:
        raise InvalidRequest("AppID 参数错误 · invalid appid")
    if values.get("response_type") != "code":
        raise InvalidRequest("response_type 参数错误 · response_type must be code")
    scope = values.get("scope", "")
    allowed = {"snsapi_login"} if flow == "qrconnect" else {"snsapi_base", "snsapi_userinfo"}
    if scope not in allowed:
        raise InvalidRequest("Scope 参数错误或没有 Scope 权限 · invalid scope")
    redirect_uri = values.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidRequest("redirect_uri 参数错误 · invalid redirect_uri")
    if sim.redirect_hosts is not None and parts.hostname not in sim.redirect_hosts:
        raise InvalidRequest("redirect_uri 参数错误 · redirect_uri host not authorised")
    params = {
        "flow": flow,
        "appid": app.appid,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": values.get("state", ""),
    }
    return app, params


def _error_page(reason: str) -> Response:
    """WeChat's parameter-error page (400 here, so tests and people notice)."""
    css_url = url_for("wechat_sim.css")
    return Response(render_template_string(ERROR_PAGE, reason=reason, css_url=css_url), 400)


def _sign_in_page(flow: str):
    """The QR / authorisation page: preset identities, a random user, refusal, expired code."""
    try:
        app, params = _checked_link(flow, request.args)
    except InvalidRequest as error:
        return _error_page(str(error))
    sim = state()
    with sim.lock:
        users = [
            {
                "key": user.key,
                "nickname": user.nickname,
                "openid": sim.openid_for(user.key, app.appid),
                "unionid": sim.unionid_for(user.key) if sim.with_unionid else None,
            }
            for user in sim.users.values()
            if user.preset
        ]
    html = render_template_string(
        PAGE,
        flow=flow,
        app=app,
        scope=params["scope"],
        params=params,
        users=users,
        qr=qr_pattern(params["state"] + app.appid),
        confirm_url=url_for("wechat_sim.confirm"),
        css_url=url_for("wechat_sim.css"),
    )
    return Response(html, headers={"Cache-Control": "no-store"})


@bp.get("/connect/qrconnect")
def qrconnect():
    """Website-app QR sign-in (snsapi_login)."""
    return _sign_in_page("qrconnect")


@bp.get("/connect/oauth2/authorize")
def authorize():
    """Official Account authorisation inside WeChat's browser (snsapi_base/snsapi_userinfo)."""
    return _sign_in_page("authorize")


def redirect_url(redirect_uri: str, **params: str) -> str:
    """redirect_uri with WeChat's parameters appended to whatever query it already has."""
    parts = urlsplit(redirect_uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


@bp.post("/connect/confirm")
def confirm():
    """What the phone does after the scan: redirect with a code, or without one on refusal."""
    flow = request.form.get("flow", "")
    if flow not in FLOWS:
        return _error_page("flow 参数错误 · invalid flow")
    try:
        app, params = _checked_link(flow, request.form)
    except InvalidRequest as error:
        return _error_page(str(error))
    action = request.form.get("action", "scan")
    if action == "refuse":
        return redirect(redirect_url(params["redirect_uri"], state=params["state"]))
    sim = state()
    try:
        if action == "new":
            user = sim.new_user(request.form.get("nickname")).key
        else:
            user = sim.find_user(request.form.get("user", ""), app.appid).key
    except KeyError:
        return _error_page("用户不存在 · unknown user")
    issued = sim.issue_code(user, app.appid, params["scope"], expired=action == "expired")
    target = redirect_url(params["redirect_uri"], code=issued.code, state=params["state"])
    return redirect(target)


# --- the server side: WeChat's /sns API -----------------------------------------------------


def _json(body: dict) -> Response:
    """A WeChat API answer: always HTTP 200, errors included."""
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def _api(endpoint: str, handler) -> Response:
    """Run one API call through the injected failures, the handler and the call log."""
    sim = state()
    appid = request.args.get("appid")
    failure = sim.take_failure(endpoint)
    if failure is not None and failure.delay:
        time.sleep(failure.delay)
    if failure is not None and failure.status:
        sim.record(endpoint, appid, -1)
        return Response(f"<html><body>{failure.status} error</body></html>", failure.status)
    if failure is not None and failure.errcode is not None:
        sim.record(endpoint, appid, failure.errcode)
        return _json(SimError(failure.errcode, failure.errmsg or "system error").as_json())
    try:
        body = handler(sim, request.args)
    except SimError as error:
        sim.record(endpoint, appid, error.errcode)
        return _json(error.as_json())
    sim.record(endpoint, appid, 0)
    return _json(body)


@bp.get("/sns/oauth2/access_token")
def access_token():
    """Exchange a code for tokens and the user's OpenID (and UnionID)."""
    return _api(
        "access_token",
        lambda sim, a: sim.exchange_code(
            a.get("appid"), a.get("secret"), a.get("code"), a.get("grant_type")
        ),
    )


@bp.get("/sns/oauth2/refresh_token")
def refresh_token():
    """Refresh an access token."""
    return _api(
        "refresh_token",
        lambda sim, a: sim.refresh(a.get("appid"), a.get("grant_type"), a.get("refresh_token")),
    )


@bp.get("/sns/userinfo")
def userinfo():
    """Nickname, avatar and region of the token's user."""

    def handler(sim: SimulatorState, args) -> dict:
        with sim.lock:
            grant = sim.tokens.get(args.get("access_token") or "")
        key = grant.user_key if grant else "unknown"
        avatar = url_for("wechat_sim.avatar", key=key, _external=True)
        return sim.userinfo(args.get("access_token"), args.get("openid"), avatar)

    return _api("userinfo", handler)


@bp.get("/sns/auth")
def auth():
    """Whether an access token is valid."""
    return _api("auth", lambda sim, a: sim.check_token(a.get("access_token"), a.get("openid")))


# --- the Mini Program -----------------------------------------------------------------------


@bp.get("/sns/jscode2session")
def jscode2session():
    """A wx.login code for the user's OpenID (+ UnionID) and a session key."""
    return _api(
        "jscode2session",
        lambda sim, a: sim.code_to_session(
            a.get("appid"), a.get("secret"), a.get("js_code"), a.get("grant_type")
        ),
    )


@bp.get("/cgi-bin/token")
def client_token():
    """The app's own access token (client_credential), for the calls that need one."""
    return _api(
        "token",
        lambda sim, a: sim.client_token(a.get("appid"), a.get("secret"), a.get("grant_type")),
    )


@bp.post("/wxa/business/getuserphonenumber")
def getuserphonenumber():
    """The phone number behind the code of the phone-number button."""
    body = request.get_json(silent=True, force=True) or {}
    return _api(
        "getuserphonenumber",
        lambda sim, a: sim.phone_number(a.get("access_token"), body.get("code")),
    )


@bp.post("/wxa/login-code")
def login_code():
    """What wx.login gives: {"unionid"?, "user"?, "unionid_given"?} → {"code", "openid", "unionid"}."""
    data = request.get_json(silent=True) or {}
    try:
        issued = state().issue_login_code(
            data.get("user"),
            data.get("unionid"),
            with_unionid=data.get("with_unionid"),
            expired=bool(data.get("expired")),
        )
    except (KeyError, ValueError) as error:
        return _json({"error": f"unknown user or no mini program: {error}"}), 400
    return _json({"code": issued.code, "openid": issued.openid, "unionid": issued.unionid})


@bp.post("/wxa/phone-code")
def phone_code():
    """What the phone-number button gives: {"phone"} → {"code"}."""
    data = request.get_json(silent=True) or {}
    try:
        code = state().issue_phone_code(str(data.get("phone") or ""))
    except ValueError as error:
        return _json({"error": str(error)}), 400
    return _json({"code": code})


# --- test hooks -----------------------------------------------------------------------------


@bp.post("/__sim/scan")
def scan():
    """Issue a code without the browser: {"user" | "new", "redirect_uri", "state", ...}."""
    data = request.get_json(silent=True) or {}
    sim = state()
    try:
        user = (
            sim.new_user(data.get("nickname")).key
            if data.get("new")
            else data.get("user", "zhangwei")
        )
        issued = sim.issue_code(
            user,
            data.get("appid"),
            data.get("scope"),
            expired=bool(data.get("expired")),
            age_seconds=float(data.get("age_seconds", 0)),
            with_unionid=data.get("unionid"),
        )
    except (KeyError, ValueError) as error:
        return _json({"error": f"unknown user or app: {error}"}), 400
    body = {**dataclasses.asdict(issued), "redirect_url": None}
    if data.get("redirect_uri"):
        params = {"state": data.get("state", "")}
        if not data.get("refuse"):
            params = {"code": issued.code, **params}
        body["redirect_url"] = redirect_url(data["redirect_uri"], **params)
    return _json(body)


@bp.post("/__sim/fail")
def fail():
    """Make an endpoint fail: {"endpoint", "errcode", "errmsg", "status", "delay", "times"}."""
    data = request.get_json(silent=True) or {}
    options = {k: data[k] for k in ("errcode", "errmsg", "status", "delay", "times") if k in data}
    try:
        state().fail(data.get("endpoint", "*"), **options)
    except (TypeError, ValueError) as error:
        return _json({"error": str(error)}), 400
    return _json({"ok": True})


@bp.post("/__sim/reset")
def reset():
    """Forget every code, token, failure, call and random user."""
    state().reset()
    return _json({"ok": True})


@bp.get("/__sim/calls")
def calls():
    """The API calls so far: endpoint, appid, errcode (never codes, secrets or tokens)."""
    with state().lock:
        return _json({"calls": list(state().calls)})


@bp.get("/__sim/avatar/<key>.svg")
def avatar(key: str):
    """A generated avatar for headimgurl."""
    user = state().users.get(key) or SimUser(key, "?")
    colour = hashlib.sha256(user.key.encode()).hexdigest()[:6]
    svg = render_template_string(AVATAR, colour=colour, initial=user.nickname[:1])
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/__sim/sim.css")
def css():
    """The sign-in page's stylesheet (no inline style or script)."""
    return Response(CSS, mimetype="text/css")


# --- serving --------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log, whose query strings hold codes and secrets."""

    def log_request(self, code="-", size="-") -> None:
        """Log nothing."""


class SimulatorServer:
    """A simulator served on a real port by a background thread."""

    def __init__(self, server: BaseWSGIServer, app: Flask) -> None:
        self._server = server
        self.app = app
        self.state: SimulatorState = app.extensions["wechat_simulator"]
        self.base_url = f"http://{server.server_address[0]}:{server.server_port}"
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def issue_code(self, user: str = "zhangwei", appid: str | None = None, **kw) -> IssuedCode:
        """A code for a user (key or OpenID), as if the user had scanned and confirmed."""
        return self.state.issue_code(user, appid, **kw)

    def login_code(self, user: str | None = None, unionid: str | None = None, **kw) -> IssuedCode:
        """A wx.login code of the Mini Program (see `SimulatorState.issue_login_code`)."""
        return self.state.issue_login_code(user, unionid, **kw)

    def fail(self, endpoint: str, **failure) -> None:
        """Make an API endpoint fail (errcode, status, delay, times)."""
        self.state.fail(endpoint, **failure)

    def reset(self) -> None:
        """Forget every code, token, failure, call and random user."""
        self.state.reset()

    def shutdown(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, **options) -> SimulatorServer:
    """Start a simulator (options as for `create_simulator_app`) on host:port (0 = any free)."""
    app = create_simulator_app(**options)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    return SimulatorServer(server, app)
