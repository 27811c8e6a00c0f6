"""What a WeChat sign-in keeps in the (signed) session between its requests, and signing in.

`wechat_flow`: the random state of the one sign-in in progress, with what it is for (login, bind,
reauth), where to go next, and whether it used the Official Account (inside WeChat).
`wechat_done`: a digest of the last state that succeeded, so a duplicate callback is recognised.
`wechat_pending`: a new WeChat identity waiting for its phone number, for 15 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from flask import current_app, session, url_for

from ..models import User
from ..security import safe_next
from ..services.accounts.wechat import WeChatIdentity

FLOW_KEY = "wechat_flow"
DONE_KEY = "wechat_done"
PENDING_KEY = "wechat_pending"
PURPOSES = ("login", "bind", "reauth")
FLOW_MAX_AGE = 15 * 60  # from the click to the callback
PENDING_MAX_AGE = 15 * 60  # from the callback to the completed phone form


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress, as started by /auth/wechat/login."""

    state: str
    purpose: str
    next: str | None
    in_wechat: bool
    user_id: int | None
    started_at: int

    @property
    def destination(self) -> str:
        """Where to go once done."""
        return destination(self.next, self.purpose)


def destination(next_url: str | None, purpose: str) -> str:
    """`next` when it is a same-site path, else the page the purpose belongs to."""
    return safe_next(next_url, "account.wechat" if purpose == "bind" else "account.index")


def redirect_uri() -> str:
    """The callback URL WeChat is told about: configured, never taken from the Host header."""
    configured = current_app.config.get("WECHAT_REDIRECT_URI")
    if configured:
        return configured
    base = current_app.config["SERVER_NAME_FOR_MAIL"].rstrip("/")
    return base + url_for("auth.wechat_callback")


def start(purpose: str, next_url: str | None, in_wechat: bool, user_id: int | None) -> Flow:
    """A new flow with a fresh random state; it replaces any earlier one."""
    flow = Flow(secrets.token_urlsafe(32), purpose, next_url, in_wechat, user_id, int(time.time()))
    session[FLOW_KEY] = {
        "state": flow.state,
        "purpose": flow.purpose,
        "next": flow.next,
        "in_wechat": flow.in_wechat,
        "user_id": flow.user_id,
        "at": flow.started_at,
    }
    return flow


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def matching(state: str | None) -> Flow | None:
    """The flow this callback's state belongs to (still in the session), or None."""
    data = session.get(FLOW_KEY)
    if not state or not isinstance(data, dict) or not isinstance(data.get("state"), str):
        return None
    if not secrets.compare_digest(data["state"].encode(), state.encode()):
        return None
    if time.time() - data.get("at", 0) > FLOW_MAX_AGE:
        return None
    return Flow(
        data["state"],
        data.get("purpose") if data.get("purpose") in PURPOSES else "login",
        data.get("next"),
        bool(data.get("in_wechat")),
        data.get("user_id"),
        data.get("at", 0),
    )


def discard() -> None:
    """Forget the flow in progress: a state is checked once."""
    session.pop(FLOW_KEY, None)


def finish(flow: Flow, destination: str) -> None:
    """The state was used successfully: forget it, remember its digest for duplicates."""
    session.pop(FLOW_KEY, None)
    session[DONE_KEY] = {"state": _digest(flow.state), "to": destination}


def already_done(state: str | None) -> str | None:
    """Where a duplicate of a finished callback should go (e.g. a double-click), else None."""
    done = session.get(DONE_KEY)
    if state and isinstance(done, dict) and done.get("state") == _digest(state):
        return done.get("to")
    return None


# --- a new identity waiting for its phone number ---------------------------------------------


def keep_pending(identity: WeChatIdentity, next_url: str | None) -> None:
    """Hold a WeChat identity that has no account yet, for the phone form."""
    session[PENDING_KEY] = {
        "appid": identity.appid,
        "openid": identity.openid,
        "unionid": identity.unionid,
        "next": next_url,
        "at": int(time.time()),
    }


def pending() -> tuple[WeChatIdentity, str | None] | None:
    """The identity waiting for its phone number and where to go after, unless expired."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > PENDING_MAX_AGE:
        return None
    if not data.get("appid") or not data.get("openid"):
        return None
    return WeChatIdentity(data["appid"], data["openid"], data.get("unionid")), data.get("next")


def remember_phone(phone: str) -> None:
    """The number a code was sent to, to fill the form in again."""
    data = session.get(PENDING_KEY)
    if isinstance(data, dict):
        session[PENDING_KEY] = {**data, "phone": phone}


def pending_phone() -> str | None:
    """The number a code was last sent to, to fill the form in again."""
    data = session.get(PENDING_KEY)
    return data.get("phone") if isinstance(data, dict) else None


def drop_pending() -> None:
    """The waiting identity got its account (or is abandoned)."""
    session.pop(PENDING_KEY, None)


# --- signing in -----------------------------------------------------------------------------


def sign_in(user: User) -> None:
    """Sign in as the e-mail form does (the auth feature's `start_session`): a new session, a
    sign-in event, and a fresh proof of identity — a WeChat confirmation counts as one."""
    from .sessions import start_session

    start_session(user, method="wechat")
