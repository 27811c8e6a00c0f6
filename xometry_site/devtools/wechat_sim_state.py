"""In-memory state of the WeChat simulator: apps, users, codes, tokens and injected failures."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CODE_LIFETIME = 600  # WeChat: a code is valid for 10 minutes
LOGIN_CODE_LIFETIME = 300  # a Mini Program's wx.login code: 5 minutes
ACCESS_TOKEN_LIFETIME = 7200
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600
API_ENDPOINTS = (
    "access_token",
    "refresh_token",
    "userinfo",
    "auth",
    "jscode2session",
    "token",
    "getuserphonenumber",
)
_ALNUM = string.ascii_letters + string.digits


class SimError(Exception):
    """A WeChat API error: answered with HTTP 200 and an errcode/errmsg body, as WeChat does."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def as_json(self) -> dict:
        """The body WeChat sends, including its `rid` hint suffix."""
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg}, rid: {secrets.token_hex(8)}"}


@dataclass(frozen=True)
class SimApp:
    """A WeChat application: a website app ("website", QR login), an Official Account ("mp") or
    a Mini Program ("miniprogram")."""

    appid: str
    secret: str
    kind: str


@dataclass(frozen=True)
class SimUser:
    """A WeChat user the simulator can "scan" as; the profile is what /sns/userinfo returns."""

    key: str
    nickname: str
    province: str = ""
    city: str = ""
    country: str = ""
    preset: bool = True


PRESET_USERS = (
    SimUser("zhangwei", "张伟", "Guangdong", "Shenzhen", "CN"),
    SimUser("lina", "李娜 Li Na", "Shanghai", "Shanghai", "CN"),
    SimUser("wangfang", "王芳", "Jiangsu", "Suzhou", "CN"),
    SimUser("tricky", '🔧工程师 <b>"Eng"</b> & Co', "", "", ""),
)


@dataclass
class CodeGrant:
    """An authorisation code handed to a redirect_uri; single use, 10 minutes."""

    appid: str
    user_key: str
    scope: str
    issued_at: float
    with_unionid: bool
    used: bool = False
    expired: bool = False


@dataclass
class TokenGrant:
    """An access or refresh token and whom it belongs to."""

    appid: str
    user_key: str
    scope: str
    expires_at: float
    with_unionid: bool


@dataclass
class Failure:
    """A failure injected for tests: an errcode, an HTTP status, and/or a delay before answering."""

    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class PhoneGrant:
    """The code of a Mini Program's phone-number button: single use, for one phone."""

    phone: str
    issued_at: float
    used: bool = False


@dataclass(frozen=True)
class IssuedCode:
    """A code issued without the browser, with the identity WeChat will report for it."""

    code: str
    user: str
    appid: str
    openid: str
    unionid: str | None


def _derive(salt: str, *parts: str) -> str:
    """A stable, WeChat-looking 28-character id ("o" + 27) derived from its parts."""
    digest = hashlib.sha256("|".join((salt, *parts)).encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode()[:27]


def _random_code() -> str:
    """A 32-character alphanumeric code, like WeChat's."""
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


@dataclass
class SimulatorState:
    """Everything the simulator knows; every method is safe to call from several threads."""

    apps: dict[str, SimApp]
    with_unionid: bool = True
    redirect_hosts: frozenset[str] | None = None
    reuse_errcode: int = 40163
    expired_errcode: int = 42003
    clock: Callable[[], float] = time.time
    users: dict[str, SimUser] = field(default_factory=dict)
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    tokens: dict[str, TokenGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, TokenGrant] = field(default_factory=dict)
    client_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # → (appid, expiry)
    phone_codes: dict[str, PhoneGrant] = field(default_factory=dict)
    unionids: dict[str, str] = field(default_factory=dict)  # user key → a UnionID asked for
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    calls: list[dict] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def build(cls, apps: Iterable[SimApp], **options) -> SimulatorState:
        """A fresh state holding the given apps and the preset users."""
        state = cls(apps={app.appid: app for app in apps}, **options)
        state.reset()
        return state

    # --- users and identities -------------------------------------------------------------

    def openid_for(self, user_key: str, appid: str) -> str:
        """The user's OpenID for one app: different for each app, as on WeChat."""
        return _derive("openid", appid, user_key)

    def unionid_for(self, user_key: str) -> str:
        """The user's UnionID: the same for every app of the Open Platform account."""
        return self.unionids.get(user_key) or _derive("unionid", user_key)

    def user_with_unionid(self, unionid: str) -> SimUser:
        """The user with this UnionID (a website identity), or a new one given it."""
        with self.lock:
            for user in self.users.values():
                if self.unionid_for(user.key) == unionid:
                    return user
            user = self.new_user()
            self.unionids[user.key] = unionid
            return user

    def new_user(self, nickname: str | None = None) -> SimUser:
        """A new random user, as if a stranger scanned the code."""
        key = "new-" + secrets.token_hex(6)
        user = SimUser(key, (nickname or "").strip()[:32] or f"微信用户 {key[4:10]}", preset=False)
        with self.lock:
            self.users[key] = user
        return user

    def find_user(self, user: str, appid: str) -> SimUser:
        """A user by key, or by OpenID for this app; KeyError if none."""
        with self.lock:
            if user in self.users:
                return self.users[user]
            for candidate in self.users.values():
                if self.openid_for(candidate.key, appid) == user:
                    return candidate
        raise KeyError(user)

    def app_of_kind(self, kind: str) -> SimApp | None:
        """The first configured app of a kind ("website" or "mp")."""
        return next((app for app in self.apps.values() if app.kind == kind), None)

    # --- codes ----------------------------------------------------------------------------

    def issue_code(
        self,
        user: str = "zhangwei",
        appid: str | None = None,
        scope: str | None = None,
        *,
        expired: bool = False,
        age_seconds: float = 0.0,
        with_unionid: bool | None = None,
    ) -> IssuedCode:
        """Issue a code for a user (key or OpenID) as a completed scan would."""
        app = self.apps[appid] if appid else self.app_of_kind("website")
        if app is None:
            raise KeyError("no website app configured")
        found = self.find_user(user, app.appid)
        if scope is None:
            scope = "snsapi_login" if app.kind == "website" else "snsapi_base"
        unionid = self.with_unionid if with_unionid is None else with_unionid
        code = _random_code()
        grant = CodeGrant(
            app.appid, found.key, scope, self.clock() - age_seconds, unionid, expired=expired
        )
        with self.lock:
            self.codes[code] = grant
        return IssuedCode(
            code,
            found.key,
            app.appid,
            self.openid_for(found.key, app.appid),
            self.unionid_for(found.key) if unionid else None,
        )

    # --- injected failures and call log ---------------------------------------------------

    def fail(self, endpoint: str, **failure) -> None:
        """Make an API endpoint fail the next `times` calls ("*" for every endpoint)."""
        name = endpoint_name(endpoint)
        if name != "*" and name not in API_ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self.lock:
            self.failures.setdefault(name, []).append(Failure(**failure))

    def take_failure(self, endpoint: str) -> Failure | None:
        """The next injected failure for an endpoint, counting it down."""
        with self.lock:
            for name in (endpoint, "*"):
                queue = self.failures.get(name) or []
                if queue:
                    failure = queue[0]
                    failure.times -= 1
                    if failure.times <= 0:
                        queue.pop(0)
                    return failure
        return None

    def record(self, endpoint: str, appid: str | None, errcode: int) -> None:
        """Remember an API call (never its code, secret or token) for tests to inspect."""
        with self.lock:
            self.calls.append({"endpoint": endpoint, "appid": appid, "errcode": errcode})

    def reset(self) -> None:
        """Forget codes, tokens, failures, calls and random users."""
        with self.lock:
            self.users = {user.key: user for user in PRESET_USERS}
            self.codes.clear()
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.client_tokens.clear()
            self.phone_codes.clear()
            self.unionids.clear()
            self.failures.clear()
            self.calls.clear()

    # --- the API --------------------------------------------------------------------------

    def _check_app(self, appid: str | None, secret: str | None, need_secret: bool) -> SimApp:
        """The app named by appid (and secret), or WeChat's error for it."""
        if not appid:
            raise SimError(41002, "appid missing")
        app = self.apps.get(appid)
        if app is None:
            raise SimError(40013, "invalid appid")
        if need_secret and not secret:
            raise SimError(41004, "appsecret missing")
        if need_secret and not secrets.compare_digest(secret or "", app.secret):
            raise SimError(40125, "invalid appsecret")
        return app

    def _grant_tokens(self, app: SimApp, user_key: str, scope: str, unionid: bool) -> dict:
        """New access token (and the refresh token), answered as WeChat does."""
        now = self.clock()
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        self.tokens[access] = TokenGrant(
            app.appid, user_key, scope, now + ACCESS_TOKEN_LIFETIME, unionid
        )
        self.refresh_tokens[refresh] = TokenGrant(
            app.appid, user_key, scope, now + REFRESH_TOKEN_LIFETIME, unionid
        )
        body = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "refresh_token": refresh,
            "openid": self.openid_for(user_key, app.appid),
            "scope": scope,
        }
        if unionid:
            body["unionid"] = self.unionid_for(user_key)
        return body

    def exchange_code(self, appid, secret, code, grant_type) -> dict:
        """/sns/oauth2/access_token: a code for tokens, once, within 10 minutes."""
        with self.lock:
            app = self._check_app(appid, secret, need_secret=True)
            if grant_type != "authorization_code":
                raise SimError(40002, "invalid grant_type")
            if not code:
                raise SimError(41008, "missing code")
            grant = self.codes.get(code)
            if grant is None or grant.appid != app.appid:
                raise SimError(40029, "invalid code")
            if grant.used:
                raise SimError(self.reuse_errcode, REUSE_MESSAGES[self.reuse_errcode])
            if grant.expired or self.clock() - grant.issued_at > CODE_LIFETIME:
                raise SimError(self.expired_errcode, EXPIRED_MESSAGES[self.expired_errcode])
            grant.used = True
            return self._grant_tokens(app, grant.user_key, grant.scope, grant.with_unionid)

    def refresh(self, appid, grant_type, refresh_token) -> dict:
        """/sns/oauth2/refresh_token: a new access token; the refresh token stays the same."""
        with self.lock:
            app = self._check_app(appid, None, need_secret=False)
            if grant_type != "refresh_token":
                raise SimError(40002, "invalid grant_type")
            grant = self.refresh_tokens.get(refresh_token or "")
            if grant is None or grant.appid != app.appid:
                raise SimError(40030, "invalid refresh_token")
            if self.clock() > grant.expires_at:
                raise SimError(42002, "refresh_token expired")
            body = self._grant_tokens(app, grant.user_key, grant.scope, grant.with_unionid)
            del self.refresh_tokens[body["refresh_token"]]
            body["refresh_token"] = refresh_token
            return body

    def _check_token(self, access_token: str | None, openid: str | None) -> TokenGrant:
        """The grant behind a valid access token for this OpenID, or WeChat's error."""
        if not access_token:
            raise SimError(41001, "access_token missing")
        grant = self.tokens.get(access_token)
        if grant is None:
            raise SimError(40001, "invalid credential, access_token is invalid or not latest")
        if self.clock() > grant.expires_at:
            raise SimError(42001, "access_token expired")
        if openid != self.openid_for(grant.user_key, grant.appid):
            raise SimError(40003, "invalid openid")
        return grant

    def userinfo(self, access_token, openid, avatar_url: str) -> dict:
        """/sns/userinfo: nickname, avatar and region; never a phone number or e-mail."""
        with self.lock:
            grant = self._check_token(access_token, openid)
            if grant.scope == "snsapi_base":
                raise SimError(48001, "api unauthorized")
            user = self.users[grant.user_key]
            body = {
                "openid": openid,
                "nickname": user.nickname,
                "sex": 0,
                "province": user.province,
                "city": user.city,
                "country": user.country,
                "headimgurl": avatar_url,
                "privilege": [],
            }
            if grant.with_unionid:
                body["unionid"] = self.unionid_for(grant.user_key)
            return body

    def check_token(self, access_token, openid) -> dict:
        """/sns/auth: whether an access token is still valid for this OpenID."""
        with self.lock:
            self._check_token(access_token, openid)
            return {"errcode": 0, "errmsg": "ok"}

    # --- the Mini Program ------------------------------------------------------------------

    def issue_login_code(
        self,
        user: str | None = None,
        unionid: str | None = None,
        *,
        with_unionid: bool | None = None,
        expired: bool = False,
    ) -> IssuedCode:
        """What `wx.login` gives the Mini Program: a code for a user (key or OpenID), for the
        user with a UnionID (the same person as a website identity), or for a new user."""
        app = self.app_of_kind("miniprogram")
        if app is None:
            raise KeyError("no mini program configured")
        if unionid:
            found = self.user_with_unionid(unionid)
        elif user:
            found = self.find_user(user, app.appid)
        else:
            found = self.new_user()
        return self.issue_code(
            found.key, app.appid, "jscode", with_unionid=with_unionid, expired=expired
        )

    def code_to_session(self, appid, secret, js_code, grant_type) -> dict:
        """/sns/jscode2session: a wx.login code for the OpenID (+ UnionID) and a session key."""
        with self.lock:
            app = self._check_app(appid, secret, need_secret=True)
            if grant_type != "authorization_code":
                raise SimError(40002, "invalid grant_type")
            grant = self.codes.get(js_code or "")
            if grant is None or grant.appid != app.appid or grant.scope != "jscode":
                raise SimError(40029, "invalid code")
            if grant.used:
                raise SimError(40163, "code been used")
            if grant.expired or self.clock() - grant.issued_at > LOGIN_CODE_LIFETIME:
                raise SimError(40029, "invalid code")
            grant.used = True
            body = {
                "openid": self.openid_for(grant.user_key, app.appid),
                "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
            }
            if grant.with_unionid:
                body["unionid"] = self.unionid_for(grant.user_key)
            return body

    def client_token(self, appid, secret, grant_type) -> dict:
        """/cgi-bin/token: the app's own access token (client_credential)."""
        with self.lock:
            app = self._check_app(appid, secret, need_secret=True)
            if grant_type != "client_credential":
                raise SimError(40002, "invalid grant_type")
            token = secrets.token_urlsafe(48)
            self.client_tokens[token] = (app.appid, self.clock() + ACCESS_TOKEN_LIFETIME)
            return {"access_token": token, "expires_in": ACCESS_TOKEN_LIFETIME}

    def issue_phone_code(self, phone: str) -> str:
        """What the phone-number button gives the Mini Program for the user's phone."""
        if not phone:
            raise ValueError("phone required")
        code = _random_code()
        with self.lock:
            self.phone_codes[code] = PhoneGrant(phone, self.clock())
        return code

    def phone_number(self, access_token, code) -> dict:
        """/wxa/business/getuserphonenumber: the phone behind a button's code, once."""
        with self.lock:
            held = self.client_tokens.get(access_token or "")
            if held is None:
                raise SimError(40001, "invalid credential, access_token is invalid or not latest")
            appid, expires_at = held
            if self.clock() > expires_at:
                raise SimError(42001, "access_token expired")
            grant = self.phone_codes.get(code or "")
            if grant is None or grant.used or self.clock() - grant.issued_at > LOGIN_CODE_LIFETIME:
                raise SimError(40029, "invalid code")
            grant.used = True
            pure = grant.phone.removeprefix("+86")
            country = "86" if grant.phone.startswith("+86") or pure == grant.phone else ""
            if not country:  # another country: "+1…" → its code and number
                country, pure = grant.phone[1:3], grant.phone[3:]
            return {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": grant.phone if grant.phone.startswith("+") else pure,
                    "purePhoneNumber": pure,
                    "countryCode": country,
                    "watermark": {"timestamp": int(self.clock()), "appid": appid},
                },
            }


REUSE_MESSAGES = {40163: "code been used", 40029: "invalid code"}
EXPIRED_MESSAGES = {42003: "code expired", 40029: "invalid code"}


def endpoint_name(endpoint: str) -> str:
    """ "/sns/oauth2/access_token" or "access_token" → "access_token"."""
    return endpoint.rstrip("/").rsplit("/", 1)[-1]
