"""The Mini Program's side of WeChat: `wx.login` codes and phone-number codes, through wechatpy.

`code2session` (jscode2session) turns a `wx.login` code into the user's OpenID (+ UnionID);
`phone_number` turns the code of the phone-number button into the number WeChat verified
(`wxa/business/getuserphonenumber`, which wechatpy 1.8 has no helper for: it is called through
the client's public `post`). Both need no request; every WeChat failure becomes a `WeChatError`
with a kind, and nothing here logs a code, a secret, an OpenID or a number.

wechatpy keeps the app's access token in its session storage: Redis when REDIS_URL is set (one
token for every worker and host, as WeChat wants: a new token invalidates the old one after five
minutes), else the memory of this process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from ..validators import InvalidPhone, normalize_phone
from .wechat import DEFAULT_API_BASE_URL, DEFAULT_TIMEOUT, WeChatError, WeChatIdentity, kind_of

log = logging.getLogger(__name__)

TOKEN_MARGIN = 300  # seconds: a stored access token is dropped this long before WeChat's expiry
_MEMORY = MemoryStorage()  # the access token of this process when there is no Redis


class MiniProgramClient(WeChatClient):
    """wechatpy's client for the Mini Program, at the configured host, every call with a deadline.

    wechatpy's own token fetch goes to api.weixin.qq.com without a timeout, so this client
    implements `fetch_access_token` (the method wechatpy leaves to each client) against the
    configured host, and keeps the token in the given storage as wechatpy's fetch would."""

    def __init__(
        self, appid: str, secret: str, *, api_base_url: str, timeout: float, storage: Any
    ) -> None:
        super().__init__(appid, secret, session=storage, timeout=timeout)
        self.api_base_url = api_base_url.rstrip("/") + "/"
        self.API_BASE_URL = self.api_base_url + "cgi-bin/"
        self.wxa.API_BASE_URL = self.api_base_url

    def fetch_access_token(self) -> dict:
        """GET cgi-bin/token (client_credential) and store the token until just before expiry."""
        answer = requests.get(
            self.api_base_url + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        answer.raise_for_status()
        result = answer.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        expires_in = int(result.get("expires_in") or 7200)
        ttl = max(60, expires_in - TOKEN_MARGIN)
        self.session.set(self.access_token_key, result["access_token"], ttl)
        self.expires_at = int(time.time()) + ttl
        return result

    def phone_number(self, code: str) -> dict:
        """wxa/business/getuserphonenumber: the phone_info of a phone-number button's code."""
        return self.post(self.api_base_url + "wxa/business/getuserphonenumber", data={"code": code})

    def close(self) -> None:
        """Release the HTTP connections of this client (one client per request)."""
        self._http.close()


@lru_cache(maxsize=4)
def _redis_storage(url: str, timeout: float) -> SessionStorage:
    """wechatpy's Redis storage on a client with our deadlines (one per URL and process)."""
    from redis import Redis
    from wechatpy.session.redisstorage import RedisStorage

    from ...deadlines import redis_options

    return RedisStorage(Redis.from_url(url, **redis_options(timeout)), prefix="xometry:wechatpy")


def token_storage(settings: Mapping[str, Any]) -> SessionStorage:
    """Where the Mini Program's access token is kept: Redis when configured, else memory."""
    url = settings.get("REDIS_URL")
    if url:
        return _redis_storage(url, float(settings.get("WECHAT_REDIS_TIMEOUT") or 1.0))
    return _MEMORY


def is_configured(settings: Mapping[str, Any]) -> bool:
    """Whether a Mini Program app id and secret are set."""
    return bool(settings.get("WECHAT_MINIPROGRAM_APP_ID")) and bool(
        settings.get("WECHAT_MINIPROGRAM_APP_SECRET")
    )


def _client(settings: Mapping[str, Any]) -> MiniProgramClient:
    """A fresh client for one request: wechatpy keeps state on it, so it is never shared."""
    if not is_configured(settings):
        raise _fail("bad_config", None, " (mini program not configured)")
    return MiniProgramClient(
        settings["WECHAT_MINIPROGRAM_APP_ID"],
        settings["WECHAT_MINIPROGRAM_APP_SECRET"],
        api_base_url=settings.get("WECHAT_API_BASE_URL") or DEFAULT_API_BASE_URL,
        timeout=float(settings.get("WECHAT_TIMEOUT") or DEFAULT_TIMEOUT),
        storage=token_storage(settings),
    )


def _fail(kind: str, errcode: int | None, detail: str = "") -> WeChatError:
    """One log line (kind and errcode only) and the error."""
    log.warning("wechat.miniprogram_failed kind=%s errcode=%s%s", kind, errcode, detail)
    return WeChatError(kind, errcode)


def _call(settings: Mapping[str, Any], what: str, call) -> dict:
    """Run one WeChat call; every failure a WeChatError (the exception texts hold the URL with
    the secret and the code, so only their type is logged)."""
    client = _client(settings)
    try:
        return call(client)
    except WeChatClientException as error:
        errcode = error.errcode
        kind = "unreachable" if errcode is None else kind_of(errcode)
        raise _fail(kind, errcode, f" call={what}") from None
    except (requests.RequestException, ValueError, KeyError) as error:
        raise _fail("unreachable", None, f" call={what} error={type(error).__name__}") from None
    finally:
        client.close()


def code_to_session(settings: Mapping[str, Any], code: str) -> WeChatIdentity:
    """The identity behind a `wx.login` code (jscode2session through wechatpy's WeChatWxa).

    The session_key WeChat also returns is not kept: nothing here decrypts user data with it."""
    if not code:
        raise _fail("code_invalid", None, " (no code)")
    answer = _call(settings, "jscode2session", lambda client: client.wxa.code_to_session(code))
    openid = answer.get("openid") if isinstance(answer, dict) else None
    if not openid:
        raise _fail("other", None, " (no openid in answer)")
    appid = settings["WECHAT_MINIPROGRAM_APP_ID"]
    return WeChatIdentity(appid, openid, answer.get("unionid") or None)


def phone_number(settings: Mapping[str, Any], code: str) -> str:
    """The mobile number (E.164) WeChat verified for the phone-number button's `code`.

    Raises WeChatError("not_mobile") for a number the site cannot take (another country, a
    landline), else as any WeChat failure."""
    if not code:
        raise _fail("code_invalid", None, " (no phone code)")
    answer = _call(settings, "getuserphonenumber", lambda client: client.phone_number(code))
    info = answer.get("phone_info") if isinstance(answer, dict) else None
    if not isinstance(info, dict) or not info.get("purePhoneNumber"):
        raise _fail("other", None, " (no phone_info in answer)")
    raw = f"+{info.get('countryCode') or '86'}{info['purePhoneNumber']}"
    try:
        return normalize_phone(raw, allow_landline=False)
    except InvalidPhone:
        raise _fail("not_mobile", None) from None
