"""Invoice information workflows; the ID-number-as-tax-number case needs separate consent."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import InvoiceProfile, User
from ..privacy import consents
from ..validators import is_valid_resident_id, mask_secret

SENSITIVE_KIND = "sensitive_tax_id"
FAPIAO_TYPE_LABELS = {
    "normal": _l("Electronic normal VAT invoice (增值税普通发票)"),
    "special": _l("Electronic special VAT invoice (增值税专用发票)"),
}
# why a save was refused, beside the consent box (the website's form and the API alike)
SENSITIVE_CONSENT_MESSAGE = _l(
    "This tax number is a national ID number, which is sensitive personal "
    "information. Tick the box to give your separate consent, or leave the tax "
    "number empty."
)


class SensitiveConsentMissing(Exception):
    """A personal tax number is a national ID number and the separate consent was not given."""


@dataclass(frozen=True)
class InvoiceData:
    """Validated form data; fields that do not belong to `kind` are dropped on save."""

    kind: str
    fapiao_type: str
    company_name: str | None
    name: str | None
    tax_number: str | None
    company_address: str | None
    company_phone: str | None  # E.164
    province: str | None
    city: str | None
    district: str | None
    address: str | None
    postal_code: str | None
    bank_name: str | None
    bank_account: str | None
    invoice_email: str | None


def get_for(user: User) -> InvoiceProfile | None:
    """A user has at most one invoice profile."""
    return db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=user.id))


def holds_id_number(data: InvoiceData) -> bool:
    """A personal tax number that is a national ID number is sensitive (PIPL art. 28)."""
    return (
        data.kind == "personal"
        and bool(data.tax_number)
        and is_valid_resident_id(data.tax_number or "")
    )


def has_sensitive_consent(user: User) -> bool:
    """Whether the separate ID-number consent is in force, so the box need not be asked again."""
    return consents.active(user, SENSITIVE_KIND) is not None


def save(
    user: User,
    data: InvoiceData,
    *,
    consent_given: bool,
    ip: str | None,
    source: str = "invoice",
) -> InvoiceProfile:
    """Create or correct the profile; raise SensitiveConsentMissing before storing an ID number.
    `source` is the channel a consent given here is recorded with."""
    if holds_id_number(data):
        if not has_sensitive_consent(user):
            if not consent_given:
                raise SensitiveConsentMissing
            consents.record(user, SENSITIVE_KIND, ip=ip, source=source)
    else:
        consents.withdraw(user, SENSITIVE_KIND)  # no ID number held any more: the consent ends
    profile = get_for(user) or InvoiceProfile(user_id=user.id)
    corporate = data.kind == "corporate"
    profile.kind = data.kind
    profile.fapiao_type = data.fapiao_type if corporate else "normal"  # special: companies only
    profile.company_name = data.company_name if corporate else None
    profile.name = None if corporate else data.name
    profile.tax_number = data.tax_number
    profile.company_address = data.company_address if corporate else None
    profile.company_phone = data.company_phone if corporate else None
    profile.province = data.province
    profile.city = data.city
    profile.district = data.district
    profile.address = data.address
    profile.postal_code = data.postal_code
    profile.bank_name = data.bank_name if corporate else None  # personal invoices need no bank
    profile.bank_account = data.bank_account if corporate else None
    profile.invoice_email = data.invoice_email.lower() if data.invoice_email else None
    db.session.add(profile)
    db.session.commit()
    return profile


def delete(user: User) -> bool:
    """Remove the profile and end the ID-number consent with it; False if there was none."""
    profile = get_for(user)
    if profile is None:
        return False
    db.session.delete(profile)
    consents.withdraw(user, SENSITIVE_KIND)
    db.session.commit()
    return True


def forget_id_number(user: User) -> None:
    """For a withdrawal of the sensitive consent elsewhere (privacy pages): drop the ID number."""
    profile = get_for(user)
    if profile is not None and profile.tax_number and is_valid_resident_id(profile.tax_number):
        profile.tax_number = None
    consents.withdraw(user, SENSITIVE_KIND)
    db.session.commit()


def masked(value: str | None) -> str | None:
    """How a tax number or bank account is shown anywhere but the owner's edit form."""
    return mask_secret(value) if value else None
