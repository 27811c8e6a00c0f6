"""Every model module is imported here so that Alembic and `db.create_all` see all tables."""

from .address import ShippingAddress
from .audit import AuditEvent, SignInEvent
from .consent import Consent
from .invoice import InvoiceProfile
from .phone_code import PhoneVerification
from .user import User, WeChatIdentity

__all__ = [
    "AuditEvent",
    "Consent",
    "InvoiceProfile",
    "PhoneVerification",
    "ShippingAddress",
    "SignInEvent",
    "User",
    "WeChatIdentity",
]
