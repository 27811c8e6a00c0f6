"""What the Mini Program collected about an account (policy appendix, Mini Program rows): the phone
WeChat proved, the Mini Program's OpenID (and the UnionID), its sign-ins and the drawings held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ...extensions import db
from ...models import Drawing, SignInEvent, User
from ..accounts.miniprogram_accounts import CHANNEL


@dataclass(frozen=True)
class Collected:
    """The registry's columns that the Mini Program fills, read from the account's rows."""

    phone: str | None
    phone_verified_at: datetime | None
    openid_linked: bool
    unionid_linked: bool
    linked_at: datetime | None
    sign_ins: int
    last_sign_in_at: datetime | None
    uploads: int


def collected(user: User, appid: str | None) -> Collected:
    """The phone and when it was proved, this Mini Program's identity and when it was bound, the
    Mini Program sign-ins and the drawings held (uploads are the same on both channels)."""
    identity = next((i for i in user.wechat_identities if appid and i.appid == appid), None)
    count, last = db.session.execute(
        sa.select(sa.func.count(SignInEvent.id), sa.func.max(SignInEvent.created_at)).where(
            SignInEvent.user_id == user.id, SignInEvent.method == CHANNEL
        )
    ).one()
    uploads = db.session.scalar(
        sa.select(sa.func.count(Drawing.id)).where(
            Drawing.user_id == user.id, Drawing.deleted_at.is_(None), Drawing.part_of_id.is_(None)
        )
    )
    return Collected(
        phone=user.phone,
        phone_verified_at=user.phone_verified_at,
        openid_linked=identity is not None,
        unionid_linked=any(i.unionid for i in user.wechat_identities),
        linked_at=identity.created_at if identity is not None else None,
        sign_ins=count or 0,
        last_sign_in_at=last,
        uploads=uploads or 0,
    )
