"""WeChat accounts: find the user of an identity, register one, bind and unbind — no request here.

An identity is matched by UnionID when WeChat gives one (the same for all our apps), else by
app id + OpenID. Only those ids are stored: never a nickname, avatar or region.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import User, WeChatIdentity
from ...models.base import utcnow
from . import phone_codes, phones, registration
from .opening import GivenConsents, open_account, send_subscription_confirmation
from .wechat import WeChatIdentity as Identity

log = logging.getLogger(__name__)


class WeChatAccountError(Exception):
    """A workflow that cannot go on; `kind` tells the view which explanation to show.

    phone_taken: another account proved the phone (never merged automatically);
    identity_taken: this WeChat account is bound to another user;
    other_wechat: the user already has a different WeChat account bound;
    last_method: unbinding would leave no way to sign in;
    not_bound: nothing to unbind; inactive: the account was deregistered.
    """

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _rows_for(identity: Identity) -> list[WeChatIdentity]:
    """Stored rows that are this WeChat user: same UnionID, or same app and OpenID."""
    same_app = (WeChatIdentity.appid == identity.appid) & (WeChatIdentity.openid == identity.openid)
    condition = (
        (WeChatIdentity.unionid == identity.unionid) | same_app if identity.unionid else same_app
    )
    return list(db.session.scalars(db.select(WeChatIdentity).where(condition)))


def find_user(identity: Identity) -> User | None:
    """The account this WeChat user signed up with or bound, if any."""
    rows = _rows_for(identity)
    return rows[0].user if rows else None


def _same_person(row: WeChatIdentity, identity: Identity) -> bool:
    """Whether a stored row and an identity name the same WeChat user."""
    if identity.unionid and row.unionid:
        return row.unionid == identity.unionid
    return row.appid == identity.appid and row.openid == identity.openid


def remember_app(user: User, identity: Identity) -> None:
    """Keep the OpenID of the app used now (QR app vs Official Account), once per app."""
    rows = user.wechat_identities
    if any(r.appid == identity.appid and r.openid == identity.openid for r in rows):
        row = next(r for r in rows if r.appid == identity.appid and r.openid == identity.openid)
        if identity.unionid and not row.unionid:
            row.unionid = identity.unionid
        return
    db.session.add(
        WeChatIdentity(
            user=user, appid=identity.appid, openid=identity.openid, unionid=identity.unionid
        )
    )


def phone_owner(phone: str) -> User | None:
    """The account that proved this phone number, if any: an unproved claim owns nothing."""
    return phones.proved_owner(phone)


def register(
    identity: Identity,
    phone: str,
    *,
    ip: str | None,
    language: str | None,
    newsletter_email: str | None = None,
    channel: str = "wechat",
) -> User:
    """A new account from a WeChat identity and a verified phone, with policy and age consents
    recorded as given through `channel` ("wechat": the website; "miniprogram").

    With `newsletter_email` (normalised) the address becomes the account's unverified e-mail and
    an unconfirmed subscription is mailed its double opt-in link, unless another account holds
    the address: then the account opens without either and nobody is mailed, so the visitor
    learns nothing about that address (the view answers the same).

    Other accounts' unproved claims to the phone are dropped (the proved owner wins).
    Raises WeChatAccountError("phone_taken") when another account proved the phone, or
    ("identity_taken") when the same WeChat user registered a moment ago (double submit).
    """
    if phone_owner(phone) is not None:
        raise WeChatAccountError("phone_taken")
    if find_user(identity) is not None:
        raise WeChatAccountError("identity_taken")
    email = newsletter_email
    if email and registration.find_user_by_email(email) is not None:
        log.info("wechat.newsletter_address_taken")
        email = None
    now = utcnow()
    user = User(phone=phone, phone_verified_at=now, preferred_language=language, email=email)
    bound = WeChatIdentity(
        user=user, appid=identity.appid, openid=identity.openid, unionid=identity.unionid
    )
    given = GivenConsents(channel=channel, ip=ip, subscribe=bool(email))
    phones.drop_unproved_claims(phone)
    try:
        subscription = open_account(user, given, related=[bound])
    except IntegrityError:
        # a concurrent request took the phone, the identity or the address between our checks
        if find_user(identity) is not None:
            raise WeChatAccountError("identity_taken") from None
        if email and phone_owner(phone) is None:  # the address went to someone else meanwhile
            return register(identity, phone, ip=ip, language=language, channel=channel)
        raise WeChatAccountError("phone_taken") from None
    if subscription is not None:
        send_subscription_confirmation(user, subscription, commit=False)
    db.session.commit()  # the account, its consents and its mail: one transaction
    log.info("wechat.registered user=%s channel=%s", user.id, channel)
    return user


def sign_up(
    identity: Identity,
    phone: str,
    code: str,
    *,
    ip: str | None,
    language: str | None,
    newsletter_email: str | None = None,
) -> User:
    """A first WeChat sign-in: prove the phone with its SMS code, then open the account.

    Raises phone_codes.PhoneCodeError when the code does not prove the phone (nothing is
    created), else as `register`.
    """
    phone_codes.verify(phone, code, purpose=phone_codes.SIGN_UP)
    return register(identity, phone, ip=ip, language=language, newsletter_email=newsletter_email)


def bind(user: User, identity: Identity) -> bool:
    """Attach a WeChat identity to a signed-in user; False when it was already theirs. Commits."""
    owner = find_user(identity)
    if owner is not None and owner.id != user.id:
        raise WeChatAccountError("identity_taken")
    if owner is None and any(not _same_person(r, identity) for r in user.wechat_identities):
        raise WeChatAccountError("other_wechat")
    already = owner is not None
    remember_app(user, identity)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise WeChatAccountError("identity_taken") from None
    if not already:
        log.info("wechat.bound user=%s", user.id)
    return not already


def has_other_sign_in(user: User) -> bool:
    """Whether the user can still sign in without WeChat: an e-mail with a password or a
    verified address (sign-in is by e-mail; a verified address can reset the password)."""
    return bool(user.email) and (user.has_password or user.email_verified_at is not None)


def unbind(user: User) -> None:
    """Remove every WeChat identity of the user, unless it is their last way in. Commits."""
    if not user.wechat_identities:
        raise WeChatAccountError("not_bound")
    if not has_other_sign_in(user):
        raise WeChatAccountError("last_method")
    user.wechat_identities.clear()  # delete-orphan: the rows are deleted
    db.session.commit()
    log.info("wechat.unbound user=%s", user.id)
