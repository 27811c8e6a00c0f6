"""Signing in to the Mini Program: a `wx.login` code → the account, a first sign-in registers,
an account found by the phone is linked only when the user asks — no request here.

One person, one account: the identity is matched as the website's WeChat sign-in matches it
(UnionID, else app id + OpenID), so the same UnionID from the website's QR code and from the Mini
Program is one account. A phone number that already has an account never opens a second one and
is never merged silently: registration answers `link_required`, and `link` binds this WeChat
identity to that account when the user confirms (a phone the account verified, or its password).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...extensions import db
from ...models import ApiSession, User
from ...models.base import utcnow
from . import api_tokens, miniprogram, wechat_accounts
from .sign_in import record_sign_in
from .wechat import WeChatIdentity

log = logging.getLogger(__name__)
CHANNEL = "miniprogram"  # consents' source and the sign-in method


class MiniProgramAccountError(Exception):
    """A step that cannot go on; `kind` is the API's error code.

    inactive: the account was deregistered; registered: this sign-in has its account already;
    link_required: the phone has an account, which may be linked; phone_in_use: it has one that
    cannot be linked from here; nothing_to_link; password_required / wrong_password: linking an
    account whose phone was never verified; identity_taken / other_wechat: as for the website.
    """

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Client:
    """Who is calling, for the sign-in history."""

    ip: str | None
    user_agent: str | None
    language: str | None = None


@dataclass(frozen=True)
class SignIn:
    tokens: api_tokens.IssuedTokens
    registered: bool


def sign_in(settings: Mapping[str, Any], code: str, client: Client) -> SignIn:
    """Tokens for the account of a `wx.login` code; without an account, tokens to register with.
    Raises WeChatError for a code WeChat refuses."""
    identity = miniprogram.code_to_session(settings, code)
    user = wechat_accounts.find_user(identity)
    if user is None:
        return SignIn(api_tokens.issue(None, identity), registered=False)
    if not user.is_active:
        raise MiniProgramAccountError("inactive")
    wechat_accounts.remember_app(user, identity)  # the website's account: keep this app's OpenID
    record_sign_in(user, CHANNEL, client.ip, client.user_agent)
    log.info("auth.signed_in user=%s method=%s", user.id, CHANNEL)
    return SignIn(api_tokens.issue(user), registered=True)


def _identity(row: ApiSession) -> WeChatIdentity:
    if row.user_id is not None or not row.appid or not row.openid:
        raise MiniProgramAccountError("registered")
    return WeChatIdentity(row.appid, row.openid, row.unionid)


def register(
    settings: Mapping[str, Any], row: ApiSession, phone_code: str, client: Client
) -> api_tokens.IssuedTokens:
    """A first sign-in opens the account with the phone WeChat verified and the consents given
    (the caller has checked both boxes were ticked). New tokens: the registering ones stop."""
    identity = _identity(row)
    phone = miniprogram.phone_number(settings, phone_code)
    owner = wechat_accounts.phone_owner(phone)
    if owner is not None:
        return _ask_to_link(row, owner)
    try:
        user = wechat_accounts.register(
            identity, phone, ip=client.ip, language=client.language, channel=CHANNEL
        )
    except wechat_accounts.WeChatAccountError as error:
        if error.kind == "identity_taken":  # registered a moment ago (a double tap)
            user = wechat_accounts.find_user(identity)
            if user is None or not user.is_active:
                raise MiniProgramAccountError("inactive") from None
        else:
            owner = wechat_accounts.phone_owner(phone)  # taken between the check and the insert
            if owner is None:
                raise MiniProgramAccountError("phone_in_use") from None
            return _ask_to_link(row, owner)
    record_sign_in(user, CHANNEL, client.ip, client.user_agent)
    return api_tokens.attach(row, user)


def _ask_to_link(row: ApiSession, owner: User) -> api_tokens.IssuedTokens:
    """Remember which account holds the phone WeChat just proved, and ask the user."""
    row.link_user_id = owner.id
    db.session.commit()
    log.info("api.link_offered session=%s", row.id)
    if not owner.is_active or not (owner.phone_verified_at or owner.has_password):
        raise MiniProgramAccountError("phone_in_use")
    raise MiniProgramAccountError("link_required")


def link_methods(owner: User) -> list[str]:
    """How the holder of a phone's account can confirm it is theirs from the Mini Program."""
    methods = []
    if owner.phone_verified_at is not None:
        methods.append("phone")
    if owner.has_password:
        methods.append("password")
    return methods


def link_offer(row: ApiSession) -> User | None:
    """The account this registering sign-in was offered to link, if it still can be."""
    if row.user_id is not None or row.link_user_id is None:
        return None
    owner = db.session.get(User, row.link_user_id)
    return owner if owner is not None and owner.is_active else None


def link(row: ApiSession, password: str | None, client: Client) -> api_tokens.IssuedTokens:
    """Bind this WeChat identity to the account holding the phone WeChat proved, on request.

    The phone proof is enough when that account verified the same phone itself; otherwise the
    account's password is asked. Then the phone counts as verified (WeChat proved it)."""
    identity = _identity(row)
    owner = link_offer(row)
    if owner is None:
        raise MiniProgramAccountError("nothing_to_link")
    if password:
        if not owner.check_password(password):
            raise MiniProgramAccountError("wrong_password")
    elif owner.phone_verified_at is None:
        raise MiniProgramAccountError("password_required")
    try:
        wechat_accounts.bind(owner, identity)
    except wechat_accounts.WeChatAccountError as error:
        raise MiniProgramAccountError(error.kind) from None
    if owner.phone_verified_at is None:
        owner.phone_verified_at = utcnow()
    log.info("wechat.linked user=%s channel=%s", owner.id, CHANNEL)
    record_sign_in(owner, CHANNEL, client.ip, client.user_agent)
    return api_tokens.attach(row, owner)
