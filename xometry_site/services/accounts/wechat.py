"""WeChat sign-in: authorisation links and code exchange, with every WeChat failure made a kind.

Website app (网站应用, QR code, `snsapi_login`) everywhere; inside WeChat's own browser the
Official Account (`snsapi_base`) when one is configured. The caller must remember which of the
two it started (e.g. next to `state` in the session) and pass the same `in_wechat` to
`exchange_code`. Nothing here reads or stores nicknames: the identity is UnionID or AppID+OpenID.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

log = logging.getLogger(__name__)

DEFAULT_OPEN_BASE_URL = "https://open.weixin.qq.com"
DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT = 5.0

KINDS = (
    "code_used",  # the code was already exchanged (a duplicate callback, a reload)
    "code_invalid",  # unknown code
    "code_expired",  # older than 10 minutes
    "unreachable",  # timeout, connection refused, HTTP error, not JSON, or WeChat busy
    "bad_config",  # our app id / secret / IP allow-list / scope is wrong
    "refused",  # the user refused: the callback came without a code
    "not_mobile",  # the Mini Program's phone number is not a mainland mobile number
    "other",
)
_KIND_OF_ERRCODE = {
    40163: "code_used",  # code been used
    40029: "code_invalid",  # invalid code (also what WeChat often says for an old one)
    42003: "code_expired",  # oauth_code expired
    40013: "bad_config",  # invalid appid
    40125: "bad_config",  # invalid appsecret
    40001: "bad_config",  # invalid credential (AppSecret wrong)
    41002: "bad_config",  # appid missing
    41004: "bad_config",  # appsecret missing
    40164: "bad_config",  # server IP not on the app's allow-list
    48001: "bad_config",  # api unauthorised (scope not granted to the app)
    -1: "unreachable",  # system busy: try again later
    45009: "unreachable",  # API call quota reached: try again later
    45011: "unreachable",  # API called too often: try again later
}


def kind_of(errcode: int) -> str:
    """The kind of failure an errcode of WeChat's API means."""
    return _KIND_OF_ERRCODE.get(errcode, "other")


class WeChatError(Exception):
    """A WeChat sign-in that did not give an identity; `kind` says what the user can do next."""

    def __init__(self, kind: str, errcode: int | None = None) -> None:
        super().__init__(f"wechat {kind} (errcode {errcode})")
        self.kind = kind
        self.errcode = errcode


@dataclass(frozen=True)
class WeChatIdentity:
    """Who signed in: the app that asked, its OpenID and, when WeChat gives it, the UnionID."""

    appid: str
    openid: str
    unionid: str | None

    @property
    def key(self) -> str:
        """The account key: UnionID when present (same for all our apps), else AppID + OpenID."""
        if self.unionid:
            return f"unionid:{self.unionid}"
        return f"openid:{self.appid}:{self.openid}"


class _OAuthClient(WeChatOAuth):
    """wechatpy's client pointed at configured base URLs, with a timeout on every request."""

    def __init__(
        self,
        app_id: str,
        secret: str,
        redirect_uri: str,
        scope: str,
        state: str,
        *,
        open_base_url: str,
        api_base_url: str,
        timeout: float,
    ) -> None:
        super().__init__(app_id, secret, redirect_uri, scope=scope, state=state)
        self.OAUTH_BASE_URL = open_base_url.rstrip("/") + "/connect/"
        self.API_BASE_URL = api_base_url.rstrip("/") + "/"
        self.timeout = timeout

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> dict:
        """wechatpy's request with our timeout (it sets none, so a stalled WeChat would hang)."""
        kwargs.setdefault("timeout", self.timeout)
        return super()._request(method, url_or_endpoint, **kwargs)

    def close(self) -> None:
        """Release the HTTP session."""
        self._http.close()


def _app_credentials(settings: Mapping[str, Any], in_wechat: bool) -> tuple[str, str, str]:
    """(app id, secret, scope) of the app to use: the Official Account inside WeChat if set."""
    mp_id, mp_secret = settings.get("WECHAT_MP_APP_ID"), settings.get("WECHAT_MP_APP_SECRET")
    if in_wechat and mp_id and mp_secret:
        return mp_id, mp_secret, "snsapi_base"
    app_id, secret = settings.get("WECHAT_APP_ID"), settings.get("WECHAT_APP_SECRET")
    if not app_id or not secret:
        raise _fail("bad_config", None, " (app not configured)")
    return app_id, secret, "snsapi_login"


def _client(
    settings: Mapping[str, Any], in_wechat: bool, redirect_uri: str = "", state: str = ""
) -> _OAuthClient:
    """A fresh client for one request: wechatpy keeps tokens on it, so it is never shared."""
    app_id, secret, scope = _app_credentials(settings, in_wechat)
    return _OAuthClient(
        app_id,
        secret,
        redirect_uri,
        scope,
        state,
        open_base_url=settings.get("WECHAT_OPEN_BASE_URL") or DEFAULT_OPEN_BASE_URL,
        api_base_url=settings.get("WECHAT_API_BASE_URL") or DEFAULT_API_BASE_URL,
        timeout=float(settings.get("WECHAT_TIMEOUT") or DEFAULT_TIMEOUT),
    )


def is_wechat_browser(user_agent: str | None) -> bool:
    """Whether the page is open in WeChat's own browser (its user agent says MicroMessenger)."""
    return "micromessenger" in (user_agent or "").lower()


def build_authorize_url(
    settings: Mapping[str, Any], redirect_uri: str, state: str, in_wechat: bool
) -> str:
    """The WeChat link to send the browser to: QR sign-in, or in-WeChat authorisation."""
    if not state:
        raise ValueError("a random state bound to the session is required")
    client = _client(settings, in_wechat, redirect_uri, quote(state, safe=""))
    try:
        client.app_id = quote(client.app_id, safe="")
        return client.authorize_url if client.scope == "snsapi_base" else client.qrconnect_url
    finally:
        client.close()


def _fail(kind: str, errcode: int | None, detail: str = "") -> WeChatError:
    """Log one line (kind and errcode only: never the code, secret or OpenID) and make the error."""
    level = logging.INFO if kind == "refused" else logging.WARNING
    log.log(level, "wechat sign-in failed kind=%s errcode=%s%s", kind, errcode, detail)
    return WeChatError(kind, errcode)


def exchange_code(
    settings: Mapping[str, Any], code: str | None, in_wechat: bool = False
) -> WeChatIdentity:
    """Trade the callback's code for the user's identity; raise WeChatError on any failure."""
    if not code:
        raise _fail("refused", None)
    client = _client(settings, in_wechat)
    try:
        answer = client.fetch_access_token(code)
    except WeChatOAuthException as error:
        # errcode None means an HTTP error status: WeChat (or a proxy) is not answering properly
        errcode = error.errcode
        kind = "unreachable" if errcode is None else kind_of(errcode)
        raise _fail(kind, errcode) from None
    except KeyError:
        raise _fail("other", None, " (incomplete answer)") from None
    except (requests.RequestException, ValueError) as error:
        # timeouts, refused connections, and bodies that are not JSON; the exception text
        # holds the request URL (secret and code), so only its type is logged
        raise _fail("unreachable", None, f" error={type(error).__name__}") from None
    finally:
        client.close()
    openid = answer.get("openid")
    if not openid:
        raise _fail("other", None, " (no openid in answer)")
    return WeChatIdentity(client.app_id, openid, answer.get("unionid") or None)
