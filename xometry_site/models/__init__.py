"""Every model module is imported here so that Alembic and `db.create_all` see all tables."""

from .address import ShippingAddress
from .audit import AuditEvent, SignInEvent
from .consent import Consent
from .invoice import InvoiceProfile
from .phone_code import PhoneVerification
from .privacy import DataExport, Notice, NoticeReceipt, PrivacyRequest, PurgeLock
from .quote import Drawing, Quote, QuoteEvent
from .user import User, WeChatIdentity

__all__ = [
    "AuditEvent",
    "Consent",
    "DataExport",
    "Drawing",
    "InvoiceProfile",
    "Notice",
    "NoticeReceipt",
    "PhoneVerification",
    "PrivacyRequest",
    "PurgeLock",
    "Quote",
    "QuoteEvent",
    "ShippingAddress",
    "SignInEvent",
    "User",
    "WeChatIdentity",
]
