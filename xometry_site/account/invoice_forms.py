"""The invoice information form (policy 1.5): corporate or personal, special or normal VAT invoice,
checked per kind and type."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.validators import Length, Optional

from ..forms import PhoneNumberField, SiteForm, blank_is_none, choices, nfkc_blank_is_none
from ..models.invoice import FAPIAO_TYPES, INVOICE_KINDS
from ..services.accounts.invoicing import FAPIAO_TYPE_LABELS, InvoiceData
from ..services.validators import (
    is_valid_postal_code,
    is_valid_resident_id,
    is_valid_uscc,
    normalize_resident_id,
    normalize_uscc,
)
from .division_fields import DivisionFieldsMixin, add_error
from .forms import invoice_email_field

KIND_LABELS = {"corporate": _l("Corporate invoice"), "personal": _l("Personal invoice")}


def squash(value):
    """Full-width to ASCII, upper case, no spaces or hyphens: how codes are stored."""
    if not isinstance(value, str):
        return value
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value)).upper() or None


class InvoiceForm(DivisionFieldsMixin, SiteForm):
    """Corporate or personal invoice details (policy 1.5); rules depend on the kind and on the
    fapiao type: a special VAT invoice prints the company's registered address, phone and bank."""

    def invoice_data(self) -> InvoiceData:
        """What the service saves, once the form is valid (the owner's page and staff's alike)."""
        return InvoiceData(
            kind=self.kind.data,
            fapiao_type=self.fapiao_type.data,
            company_name=self.company_name.data,
            name=self.name.data,
            tax_number=self.tax_number.data,
            company_address=self.company_address.data,
            company_phone=self.company_phone.e164,
            province=self.province.data or None,
            city=self.city.data or None,
            district=self.district.data or None,
            address=self.address.data,
            postal_code=self.postal_code.data,
            bank_name=self.bank_name.data,
            bank_account=self.bank_account.data,
            invoice_email=self.invoice_email.data,
        )

    kind = RadioField(_l("Invoice type"), choices=choices(KIND_LABELS.items()), default="corporate")
    fapiao_type = RadioField(
        _l("VAT invoice"), choices=choices(FAPIAO_TYPE_LABELS.items()), default="normal"
    )
    company_name = StringField(
        _l("Company name"), filters=[blank_is_none], validators=[Optional(), Length(max=200)]
    )
    name = StringField(
        _l("Name"), filters=[blank_is_none], validators=[Optional(), Length(max=100)]
    )
    tax_number = StringField(_l("Tax number"), filters=[squash])
    company_address = StringField(
        _l("Registered address"),
        filters=[blank_is_none],
        validators=[Optional(), Length(max=300)],
    )
    company_phone = PhoneNumberField(
        _l("Registered phone"),
        validators=[Optional(), Length(max=32)],
        allow_landline=True,
        message=_l("Please enter a Chinese mobile number or a landline with its area code."),
    )
    address = StringField(
        _l("Street address"), filters=[blank_is_none], validators=[Optional(), Length(max=300)]
    )
    postal_code = StringField(_l("Postal code"), filters=[nfkc_blank_is_none])
    bank_name = StringField(
        _l("Bank name"), filters=[blank_is_none], validators=[Optional(), Length(max=200)]
    )
    bank_account = StringField(_l("Bank account number"), filters=[squash])
    invoice_email = invoice_email_field()
    consent_sensitive = BooleanField(
        _l(
            "I separately consent to Xometry Asia processing my national ID number as my tax "
            "number, only to issue my invoices. It is sensitive personal information; I can "
            "withdraw this consent at any time by removing the number."
        )
    )
    submit = SubmitField(_l("Save invoice information"))

    def validate(self, extra_validators=None) -> bool:
        """Field checks first, then the rules of the chosen kind and fapiao type."""
        ok = super().validate(extra_validators)
        if self.kind.data not in INVOICE_KINDS or self.fapiao_type.data not in FAPIAO_TYPES:
            return False
        corporate = self.kind.data == "corporate"
        ok = self.check_division_pair(required=False) and ok  # a personal one is always normal
        kind_ok = self._check_corporate() if corporate else self._check_personal()
        ok = kind_ok and ok
        if self.postal_code.data and not is_valid_postal_code(self.postal_code.data):
            add_error(self.postal_code, _l("A postal code has six digits."))
            ok = False
        return ok

    def _required(self, field, message) -> bool:
        if not field.data:
            add_error(field, message)
            return False
        return True

    def _check_corporate(self) -> bool:
        """Name and credit code always; registered address, phone and bank for a special one."""
        ok = self._required(self.company_name, _l("Please enter the company name."))
        if self.fapiao_type.data == "special":
            ok = self._check_special() and ok
        if self._required(
            self.tax_number, _l("Please enter the unified social credit code (18 characters).")
        ):
            self.tax_number.data = normalize_uscc(self.tax_number.data)
            if not is_valid_uscc(self.tax_number.data):
                add_error(
                    self.tax_number,
                    _l(
                        "This is not a valid unified social credit code: it must have 18 "
                        "characters and a correct check character."
                    ),
                )
                ok = False
        else:
            ok = False
        if self.bank_account.data and not re.fullmatch(r"[0-9]{8,30}", self.bank_account.data):
            add_error(self.bank_account, _l("A bank account number has 8 to 30 digits."))
            ok = False
        return ok

    def _check_special(self) -> bool:
        """What a special VAT invoice prints besides the name and credit code."""
        ok = self._required(
            self.company_address,
            _l("A special VAT invoice needs the company's registered address."),
        )
        ok = (
            self._required(
                self.company_phone,
                _l("A special VAT invoice needs the company's registered phone number."),
            )
            and ok
        )
        ok = self._required(self.bank_name, _l("A special VAT invoice needs the bank name.")) and ok
        return (
            self._required(
                self.bank_account, _l("A special VAT invoice needs the bank account number.")
            )
            and ok
        )

    def _check_personal(self) -> bool:
        ok = self._required(self.name, _l("Please enter your name."))
        number = self.tax_number.data
        if number and not (is_valid_resident_id(number) or is_valid_uscc(number)):
            message = (
                _l("This national ID number is not valid; please check it.")
                if re.fullmatch(r"[0-9]{17}[0-9X]", number)
                else _l("Please enter a national ID number or a unified social credit code.")
            )
            add_error(self.tax_number, message)
            ok = False
        elif number and is_valid_resident_id(number):
            self.tax_number.data = normalize_resident_id(number)
        return ok

    @property
    def tax_number_is_id_number(self) -> bool:
        """A personal tax number that is a national ID number: sensitive, needs separate consent."""
        number = self.tax_number.data
        return self.kind.data == "personal" and bool(number) and is_valid_resident_id(number)
