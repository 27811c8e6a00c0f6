"""Shipping address workflows: always fetched by id *and* owner; exactly one default."""

from __future__ import annotations

from dataclasses import dataclass

from ...extensions import db
from ...models import ShippingAddress, User
from .. import divisions


@dataclass(frozen=True)
class AddressData:
    """What the form hands over, already validated and normalised (phone in E.164)."""

    organization: str | None
    recipient: str
    address: str
    phone: str
    province: str
    city: str
    district: str | None
    postal_code: str
    is_default: bool


def needs_district(address: ShippingAddress) -> bool:
    """Saved before districts were asked: the city has districts but the address names none."""
    return not address.district and divisions.has_districts(address.city)


def list_for(user: User) -> list[ShippingAddress]:
    """The default first, then oldest first."""
    return list(
        db.session.scalars(
            db.select(ShippingAddress)
            .filter_by(user_id=user.id)
            .order_by(ShippingAddress.is_default.desc(), ShippingAddress.id)
        )
    )


MAX_ROW_ID = 2**31 - 1  # the largest INTEGER id on PostgreSQL


def get_owned(user: User, address_id: int) -> ShippingAddress | None:
    """The address if it belongs to `user`; None for anyone else's (the view answers 404), and
    for an id no row can have (the database refuses integers past 32 bits with an error)."""
    if not 0 < address_id <= MAX_ROW_ID:
        return None
    return db.session.scalar(db.select(ShippingAddress).filter_by(id=address_id, user_id=user.id))


def default_for(user: User) -> ShippingAddress | None:
    """The one address marked default, if the user has any."""
    return db.session.scalar(db.select(ShippingAddress).filter_by(user_id=user.id, is_default=True))


def create(user: User, data: AddressData) -> ShippingAddress:
    """Add an address; the first one is the default whatever the box said."""
    first = default_for(user) is None
    address = ShippingAddress(user_id=user.id, is_default=False)
    _apply(address, data)
    db.session.add(address)
    db.session.flush()
    if first or data.is_default:
        _move_default(user, address)
    db.session.commit()
    return address


def update(user: User, address: ShippingAddress, data: AddressData) -> None:
    """Correct an address; ticking the box makes it the default (unticking never leaves none)."""
    _apply(address, data)
    if data.is_default and not address.is_default:
        _move_default(user, address)
    db.session.commit()


def delete(user: User, address: ShippingAddress) -> None:
    """Remove it; if it was the default, the oldest remaining address becomes the default."""
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        successor = db.session.scalar(
            db.select(ShippingAddress).filter_by(user_id=user.id).order_by(ShippingAddress.id)
        )
        if successor is not None:
            successor.is_default = True
    db.session.commit()


def make_default(user: User, address: ShippingAddress) -> None:
    """Make this address the one parts are sent to unless the user picks another."""
    _move_default(user, address)
    db.session.commit()


def _move_default(user: User, address: ShippingAddress) -> None:
    """Move the flag in two steps, so the one-default index never sees two (caller commits)."""
    current = default_for(user)
    if current is not None and current.id != address.id:
        current.is_default = False
        db.session.flush()
    address.is_default = True
    db.session.flush()


def _apply(address: ShippingAddress, data: AddressData) -> None:
    address.organization = data.organization
    address.recipient = data.recipient
    address.address = data.address
    address.phone = data.phone
    address.province = data.province
    address.city = data.city
    address.district = data.district
    address.postal_code = data.postal_code
