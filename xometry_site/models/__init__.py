"""Every model module is imported here so that Alembic and `db.create_all` see all tables."""

from sqlalchemy import func, select
from sqlalchemy.orm import column_property

from .address import ShippingAddress
from .api_session import ApiSession
from .audit import AuditEvent, SignInEvent
from .consent import Consent
from .invoice import InvoiceProfile
from .notification import Notification
from .order import Order, OrderEvent, Payment
from .outbox import OutboxMessage, StaffAlert
from .phone_code import PhoneVerification
from .privacy import DataExport, Notice, NoticeReceipt, PrivacyRequest, PurgeLock
from .quote import Drawing, Quote, QuoteEvent, QuoteMessage
from .share import QuoteShare, QuoteShareView
from .sharing import Provision, Recipient
from .staff_auth import StaffRecoveryCode, StaffSecondFactor
from .user import User, WeChatIdentity

# What the banner and the header's inbox count on every signed-in page need, as SQL expressions
# loaded with the user in the one query Flask-Login makes anyway (auth.loading undefers the
# group): three fewer queries a page.
User.accepted_policy_edition = column_property(
    select(Consent.policy_edition)
    .where(Consent.user_id == User.id, Consent.kind == "policy", Consent.withdrawn_at.is_(None))
    .order_by(Consent.given_at.desc(), Consent.id.desc())
    .limit(1)
    .correlate_except(Consent)
    .scalar_subquery(),
    deferred=True,
    group="banner",
)
User.unread_notice_count = column_property(
    select(func.count(NoticeReceipt.id))
    .where(NoticeReceipt.user_id == User.id, NoticeReceipt.dismissed_at.is_(None))
    .correlate_except(NoticeReceipt)
    .scalar_subquery(),
    deferred=True,
    group="banner",
)
User.unread_notification_count = column_property(
    select(func.count(Notification.id))
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .correlate_except(Notification)
    .scalar_subquery(),
    deferred=True,
    group="banner",
)
# A quote list shows each quote's part count: counted by the database, not by loading drawings.
Quote.part_count = column_property(
    select(func.count(Drawing.id))
    .where(Drawing.quote_id == Quote.id, Drawing.deleted_at.is_(None), Drawing.part_of_id.is_(None))
    .correlate_except(Drawing)
    .scalar_subquery(),
    deferred=True,
)

__all__ = [
    "ApiSession",
    "AuditEvent",
    "Consent",
    "DataExport",
    "Drawing",
    "InvoiceProfile",
    "Notice",
    "NoticeReceipt",
    "Notification",
    "Order",
    "OrderEvent",
    "OutboxMessage",
    "Payment",
    "PhoneVerification",
    "PrivacyRequest",
    "Provision",
    "PurgeLock",
    "Quote",
    "QuoteEvent",
    "QuoteMessage",
    "QuoteShare",
    "QuoteShareView",
    "Recipient",
    "ShippingAddress",
    "SignInEvent",
    "StaffAlert",
    "StaffRecoveryCode",
    "StaffSecondFactor",
    "User",
    "WeChatIdentity",
]
