"""The personal-information registry: every column of every table, classified against the policy.

The policy's appendix ("List of Personal Information Collection") is the contract for what we store.
Each table the site keeps about a user is an `Entry`: its appendix category, how to find a user's
rows (`owner`), which columns are personal (with label, how shown, how erased) and which are
technical (with the reason). "My data", the export and the erasure all read this list, and a test
fails when a model holds a column that is neither here nor in NON_PERSONAL_TABLES.

Erasure vocabulary (what happens when an account is erased):
  erase              the value is deleted (row removed or column emptied)
  anonymise          the value stays in a record that no longer identifies anyone
  keep-pseudonymised the value stays, linked only to an HMAC of the account id (consent evidence)
  keep-by-law        the value stays as long as a law requires, then is deleted
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

ERASE = "erase"
ANONYMISE = "anonymise"
PSEUDONYMISE = "keep-pseudonymised"
KEEP_BY_LAW = "keep-by-law"
ERASURE_LABELS = {
    ERASE: _l("deleted"),
    ANONYMISE: _l("kept without anything that identifies you"),
    PSEUDONYMISE: _l("kept as evidence under a pseudonym"),
    KEEP_BY_LAW: _l("kept as long as the law requires"),
}

# how a value is shown on "My data" (the export always carries the full value)
TEXT, MASKED, SECRET, DATA, TIME, FLAG, REGION, LANGUAGE, CONSENT_KIND, MONEY = (
    "text",
    "masked",
    "secret",  # never shown nor exported: only whether it is set (the password hash)
    "data",  # structured data, too long for the page: in the copy only
    "time",
    "flag",
    "region",
    "language",
    "consent_kind",
    "money",  # an amount in CNY: ¥1,234.50 on the page, the decimal in the copy
)


@dataclass(frozen=True)
class Category:
    """A row of the policy appendix (or "running the account", which the site records itself)."""

    key: str
    title: Any
    purpose: Any
    method: Any
    correct_path: str | None  # where the user corrects it (route contract paths)
    correct_label: Any = None


CATEGORIES: tuple[Category, ...] = (
    Category(
        "registration",
        _l("Registration"),
        _l("To register your account and verify your identity when you sign in."),
        _l("You entered it on the website, or WeChat gave it to us when you agreed."),
        "/account/profile",
        _l("Correct it in Account Details"),
    ),
    Category(
        "quotes",
        _l("Request a quote"),
        _l("To receive the drawings you upload and quote them, by AI or by our engineers."),
        _l("You uploaded it."),
        "/quotes",
        _l("See your quotes"),
    ),
    Category(
        "account",
        _l("Personal Center – account information"),
        _l("To understand and contact you."),
        _l("You filled it in."),
        "/account/profile",
        _l("Correct it in Account Details"),
    ),
    Category(
        "shipping",
        _l("Personal Center – shipping information"),
        _l("To ship ordered products."),
        _l("You filled it in."),
        "/account/addresses",
        _l("Correct or delete your addresses"),
    ),
    Category(
        "invoice",
        _l("Personal Center – invoice information"),
        _l("To issue VAT invoices accurately."),
        _l("You filled it in."),
        "/account/invoice",
        _l("Correct or delete your invoice details"),
    ),
    Category(
        "running",
        _l("Running your account"),
        _l(
            "To keep your account secure, prove what you agreed to, and answer your requests "
            "(policy sections 3.2, 5 and 7)."
        ),
        _l("Recorded by the site while you use it."),
        None,
    ),
)
CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}


@dataclass(frozen=True)
class Column:
    """A personal column: its label, how "My data" shows it, what erasure does to it."""

    name: str
    label: Any
    erasure: str
    show: str = TEXT
    category: str | None = None  # when it differs from its table's (the users table spans four)
    codes: str | None = None  # the value is a code: which list of names reads it on the page


@dataclass(frozen=True)
class Blob:
    """Columns that point at an encrypted blob: the drawing or export itself."""

    blob_id: str
    kid: str
    wrapped_dek: str
    filename: str | None = None


@dataclass(frozen=True)
class Entry:
    """One table holding information about users."""

    table: str
    category: str
    title: Any  # what one row is called
    # "id" (the users table), "<fk column>", "<fk>><table>.<column>" via a parent, or
    # "<column>=<users column>" for rows keyed by a value (a phone number) rather than an id
    owner: str
    personal: tuple[Column, ...]
    technical: dict[str, str]  # column → why it is not personal information
    on_erasure: str = "delete"  # "delete" rows, "update" (erase columns, pseudonymise the link)
    blobs: tuple[Blob, ...] = ()
    edit_path: str | None = None  # per-row: "{id}" is replaced
    edit_label: Any = None  # the link's words when the page there cannot correct or delete
    layout: str = "record"  # "record" (one card per row) or "table" (one line per row)
    shown: bool = True  # on the "My data" category list (some have their own section)
    where: Callable[[sa.Table], Any] | None = None  # only these rows belong on the list
    keep_by_law: Callable[[sa.Table], Any] | None = None  # rows a law makes us keep
    order_by: str | None = None
    # the collection list's purpose and method when they are narrower than the category's
    purpose: Any = None
    method: Any = None

    def columns(self, table: sa.Table) -> list[Column]:
        """Personal columns the live table really has (a model may be newer than this list)."""
        return [c for c in self.personal if c.name in table.c]


USERS = Entry(
    table="users",
    category="registration",
    title=_l("Your account"),
    owner="id",
    on_erasure="update",
    personal=(
        Column("name", _l("Name"), ERASE),
        Column("email", _l("E-mail address"), ERASE),
        Column("phone", _l("Phone number"), ERASE),
        Column("customer_type", _l("Customer type"), ERASE, codes="customer_type"),
        Column("job_title", _l("Job title"), ERASE, category="account"),
        Column("invoice_email", _l("Invoice e-mail"), ERASE, category="account"),
        Column("preferred_language", _l("Preferred language"), ERASE, LANGUAGE, "account"),
        Column("password_hash", _l("Password"), ERASE, SECRET, "running"),
        Column("email_verified_at", _l("E-mail verified"), ERASE, TIME, "running"),
        Column("phone_verified_at", _l("Phone verified"), ERASE, TIME, "running"),
        Column("created_at", _l("Account created"), ANONYMISE, TIME, "running"),
        Column("last_login_at", _l("Last sign-in"), ERASE, TIME, "running"),
        Column("is_minor", _l("Marked as a minor's account"), ANONYMISE, FLAG, "running"),
    ),
    technical={
        "id": "row id; after erasure an empty stub keeps it so audit records stay consistent",
        "session_token": "random secret that ends old sessions; says nothing about the person",
        "is_staff": "role of operator employees, not information about customers",
        "deregistered_at": "lifecycle bookkeeping of the (anonymised) account stub",
        "erase_after": "lifecycle bookkeeping of the (anonymised) account stub",
        "erased_at": "lifecycle bookkeeping of the (anonymised) account stub",
    },
)


def _ordered_quote_ids(table: sa.Table) -> sa.Select:
    """Quotes that became orders: rows hanging off them are kept by law."""
    quotes = table.metadata.tables["quotes"]
    return sa.select(quotes.c.id).where(quotes.c.status == "ordered")


QUOTES = Entry(
    table="quotes",
    category="quotes",
    title=_l("Quote"),
    owner="user_id",
    keep_by_law=lambda t: t.c.status == "ordered",
    personal=(
        Column("ref", _l("Quote"), ERASE),
        Column("created_at", _l("Requested"), ERASE, TIME),
        Column("process", _l("Process"), ERASE, codes="process"),
        Column("material", _l("Material"), ERASE, codes="material"),
        Column("finish", _l("Finish"), ERASE, codes="finish"),
        Column("quantity", _l("Quantity"), ERASE),
        Column("notes", _l("Notes"), ERASE),
        Column("status", _l("Status"), ERASE, codes="quote_status"),
        Column("total", _l("Total"), ERASE, MONEY),
        Column("engineer_note", _l("Our engineer's note"), ERASE),
        Column("decline_reason", _l("Why we could not quote it"), ERASE, codes="decline_reason"),
        Column("decline_note", _l("Our note on declining it"), ERASE),
        Column("ordered_at", _l("Ordered"), ERASE, TIME),
        Column("lead_choice", _l("Lead time ordered"), ERASE, codes="lead_choice"),
        Column("ordered_total", _l("Total ordered"), ERASE, MONEY),
    ),
    technical={
        "id": "row id",
        "user_id": "link to the account",
        "currency": "price bookkeeping",
        "subtotal": "our price",
        "vat_rate": "our price",
        "vat": "our price",
        "price_source": "how we priced",
        "valid_until": "how long our price holds",
        "lead_days_standard": "our lead time",
        "lead_days_expedited": "our lead time",
        "expedite_total": "our price",
        "warnings": "pricing sanity codes",
        "review_reason": "why an engineer reviews it (a code)",
        "review_due": "our promised reply date",
        "reviewed_by_id": "the staff member who reviewed it",
        "shipping_address_id": "link to a shipping address (itself registered)",
        "invoice_profile_id": "link to the invoice details (themselves registered)",
        "updated_at": "row bookkeeping",
        "quoted_at": "when we priced it",
    },
    edit_path="/quotes/{ref}",
    edit_label=_l("Open this quote"),
    order_by="-created_at",
)

REGISTRY_QUOTES: tuple[Entry, ...] = (
    QUOTES,
    Entry(
        table="drawings",
        category="quotes",
        title=_l("Drawing"),
        owner="user_id",
        keep_by_law=lambda t: t.c.quote_id.in_(_ordered_quote_ids(t)),
        where=lambda t: t.c.deleted_at.is_(None),
        blobs=(
            Blob("blob_id", "key_id", "wrapped_key", "filename"),
            Blob("preview_blob_id", "preview_key_id", "preview_wrapped_key"),
            Blob("mesh_blob_id", "mesh_key_id", "mesh_wrapped_key"),
        ),
        personal=(
            Column("filename", _l("File name"), ERASE),
            Column("size", _l("Size (bytes)"), ERASE),
            Column("created_at", _l("Uploaded"), ERASE, TIME),
            Column("geometry", _l("Measured geometry"), ERASE, DATA),
            Column("deleted_at", _l("Deleted"), ERASE, TIME),
            Column("process", _l("Process"), ERASE, codes="process"),
            Column("material", _l("Material"), ERASE, codes="material"),
            Column("finish", _l("Finish"), ERASE, codes="finish"),
            Column("quantity", _l("Quantity"), ERASE),
            Column("tolerance", _l("Tolerance"), ERASE, codes="tolerance"),
            Column("threads", _l("Tapped holes"), ERASE),
            Column("inspection", _l("Inspection"), ERASE, codes="inspection"),
        ),
        technical={
            "id": "row id",
            "quote_id": "link to the quote",
            "user_id": "link to the account",
            "extension": "file type",
            "sha256": "checksum of the file (useless without the file)",
            "blob_id": "where the encrypted file is stored",
            "key_id": "which key wraps the file's data key",
            "wrapped_key": "the file's data key, encrypted (deleting it shreds the file)",
            "preview_blob_id": "where the encrypted preview is stored",
            "preview_key_id": "which key wraps the preview's data key",
            "preview_wrapped_key": "the preview's data key, encrypted",
            "mesh_blob_id": "where the encrypted 3D viewer mesh is stored",
            "mesh_key_id": "which key wraps the mesh's data key",
            "mesh_wrapped_key": "the mesh's data key, encrypted",
            "analysis_status": "state of our analysis",
            "claimed_at": "when a worker began analysing it (a dead worker's claim is freed)",
            "analysis_attempts": "how many analyses were started (engineer review after a few)",
            "review_reason": "why an engineer reviews it (a code)",
            "part_of_id": "the part a 2D drawing belongs to",
            "unit_price": "our price",
            "line_total": "our price",
            "price_breakdown": "how we priced",
        },
        order_by="id",
    ),
    Entry(
        table="quote_events",
        category="quotes",
        title=_l("Quote history"),
        owner="quote_id>quotes.user_id",
        keep_by_law=lambda t: t.c.quote_id.in_(_ordered_quote_ids(t)),
        shown=False,  # the quote page shows its timeline
        layout="table",
        personal=(
            Column("created_at", _l("When"), ERASE, TIME),
            Column("status", _l("Status"), ERASE),
            Column("reason", _l("Reason"), ERASE),
        ),
        technical={"id": "row id", "quote_id": "link to the quote", "actor_id": "who acted"},
        order_by="id",
    ),
    Entry(
        table="orders",
        category="quotes",
        title=_l("Order"),
        owner="user_id",
        keep_by_law=lambda t: sa.true(),  # E-Commerce Law art. 31: three years after the order
        purpose=_l("To carry out your order: payment, production, shipping and the fapiao."),
        method=_l("You accepted a quote; we copied its parts, your address and invoice details."),
        personal=(
            Column("number", _l("Order"), KEEP_BY_LAW),
            Column("created_at", _l("Placed"), KEEP_BY_LAW, TIME),
            Column("status", _l("Status"), KEEP_BY_LAW, codes="order_status"),
            Column("total", _l("Total"), KEEP_BY_LAW, MONEY),
            Column("lead_choice", _l("Lead time ordered"), KEEP_BY_LAW, codes="lead_choice"),
            Column("amount_paid", _l("Paid"), KEEP_BY_LAW, MONEY),
            Column("parts", _l("Parts ordered"), KEEP_BY_LAW, DATA),
            Column("shipping", _l("Shipping address of the order"), KEEP_BY_LAW, DATA, "shipping"),
            Column(
                "invoice_sealed", _l("Invoice details of the order"), KEEP_BY_LAW, DATA, "invoice"
            ),
            Column("carrier", _l("Carrier"), KEEP_BY_LAW, codes="carrier"),
            Column("tracking_number", _l("Tracking number"), KEEP_BY_LAW),
            Column("fapiao_number", _l("Fapiao number"), KEEP_BY_LAW, category="invoice"),
            Column("paid_at", _l("Paid on"), KEEP_BY_LAW, TIME),
            Column("shipped_at", _l("Shipped"), KEEP_BY_LAW, TIME),
            Column("delivered_at", _l("Delivered"), KEEP_BY_LAW, TIME),
            Column("fapiao_issued_at", _l("Fapiao issued"), KEEP_BY_LAW, TIME, "invoice"),
            Column("cancelled_at", _l("Cancelled"), KEEP_BY_LAW, TIME),
        ),
        blobs=(Blob("fapiao_blob_id", "fapiao_key_id", "fapiao_wrapped_key", "fapiao_filename"),),
        technical={
            "id": "row id",
            "user_id": "link to the account",
            "quote_id": "link to the quote it came from",
            "lead_days": "our lead time",
            "ship_by": "our ship-by date",
            "currency": "price bookkeeping",
            "subtotal": "our price",
            "vat_rate": "our price",
            "vat": "our price",
            "remittance_reference": "our reference for matching a transfer",
            "fapiao_filename": "name we give the fapiao file",
            "fapiao_blob_id": "where the encrypted fapiao is stored",
            "fapiao_key_id": "which key wraps the fapiao's data key",
            "fapiao_wrapped_key": "the fapiao's data key, encrypted",
            "updated_at": "row bookkeeping",
        },
        order_by="id",
    ),
    Entry(
        table="order_events",
        category="quotes",
        title=_l("Order history"),
        owner="order_id>orders.user_id",
        keep_by_law=lambda t: sa.true(),
        shown=False,  # the order page shows its timeline
        layout="table",
        personal=(
            Column("created_at", _l("When"), KEEP_BY_LAW, TIME),
            Column("status", _l("Status"), KEEP_BY_LAW, codes="order_status"),
            Column("note", _l("Note"), KEEP_BY_LAW),
        ),
        technical={"id": "row id", "order_id": "link to the order", "actor_id": "who acted"},
        order_by="id",
    ),
    Entry(
        table="payments",
        category="quotes",
        title=_l("Payment"),
        owner="order_id>orders.user_id",
        keep_by_law=lambda t: sa.true(),  # accounting records
        purpose=_l("To record what you paid for an order."),
        method=_l("Your bank or WeChat Pay told us, or you paid by transfer and we recorded it."),
        layout="table",
        personal=(
            Column("method", _l("Method"), KEEP_BY_LAW, codes="payment_method"),
            Column("amount", _l("Amount"), KEEP_BY_LAW, MONEY),
            Column("status", _l("Status"), KEEP_BY_LAW, codes="payment_status"),
            Column("reference", _l("Reference"), KEEP_BY_LAW),
            Column("received_on", _l("Received on"), KEEP_BY_LAW, TIME),
            Column("succeeded_at", _l("Confirmed"), KEEP_BY_LAW, TIME),
            Column("refunded_amount", _l("Refunded"), KEEP_BY_LAW, MONEY),
        ),
        technical={
            "id": "row id",
            "order_id": "link to the order",
            "flag": "our check of the amount",
            "out_trade_no": "our number for the payment at WeChat Pay",
            "recorded_by_id": "the staff member who recorded it",
            "created_at": "row bookkeeping",
        },
        order_by="id",
    ),
    Entry(
        table="quote_messages",
        category="quotes",
        title=_l("Questions about your quotes and your answers"),
        owner="quote_id>quotes.user_id",
        keep_by_law=lambda t: t.c.quote_id.in_(_ordered_quote_ids(t)),
        layout="table",
        personal=(
            Column("created_at", _l("When"), ERASE, TIME),
            Column("kind", _l("Who wrote it"), ERASE, codes="quote_message_kind"),
            Column("body", _l("Message"), ERASE),
        ),
        technical={
            "id": "row id",
            "quote_id": "link to the quote",
            "author_id": "who wrote it (the customer or a staff member)",
        },
        order_by="id",
    ),
    Entry(
        table="quote_shares",
        category="quotes",
        title=_l("Link to a quote you shared"),
        purpose=_l("To let a colleague you chose read a quote without your account."),
        method=_l("Recorded when you make a link to share a quote."),
        owner="created_by_id",
        layout="table",
        personal=(
            Column("created_at", _l("Made"), ERASE, TIME),
            Column("expires_at", _l("Works until"), ERASE, TIME),
            Column("revoked_at", _l("Revoked"), ERASE, TIME),
        ),
        technical={
            "id": "row id",
            "quote_id": "link to the quote",
            "created_by_id": "link to the account that made it",
            "token_hash": "SHA-256 of the link's random secret; useless without the link",
        },
        order_by="-created_at",
    ),
    Entry(
        table="quote_share_views",
        category="quotes",
        title=_l("Opening of a link you shared"),
        purpose=_l("To show you when the links you shared were opened."),
        method=_l("Recorded each time someone opens a link you shared (only the time)."),
        owner="share_id>quote_shares.created_by_id",
        layout="table",
        personal=(Column("viewed_at", _l("Opened"), ERASE, TIME),),
        technical={"id": "row id", "share_id": "which link was opened"},
        order_by="-viewed_at",
    ),
    Entry(
        table="api_sessions",
        category="running",
        title=_l("Signed in to the Mini Program"),
        purpose=_l("To keep you signed in to the WeChat Mini Program on your phone."),
        method=_l("Recorded when you sign in to the Mini Program."),
        owner="user_id",
        layout="table",
        personal=(
            Column("created_at", _l("Signed in"), ERASE, TIME),
            Column("refreshed_at", _l("Last renewed"), ERASE, TIME),
            # only while a first sign-in is registering (emptied once the account exists)
            Column("openid", _l("WeChat OpenID"), ERASE),
            Column("unionid", _l("WeChat UnionID"), ERASE),
        ),
        technical={
            "id": "row id",
            "user_id": "link to the account",
            "generation": "copy of the account's random session token (a change ends the sign-in)",
            "access_hash": "SHA-256 of a random access token; useless without the token",
            "access_expires_at": "token bookkeeping",
            "refresh_hash": "SHA-256 of a random refresh token; useless without the token",
            "previous_refresh_hash": "SHA-256 of the spent refresh token (reuse detection)",
            "refresh_expires_at": "token bookkeeping",
            "appid": "our Mini Program's id",
            "link_user_id": "the account holding the phone WeChat proved, offered for linking",
        },
        order_by="-created_at",
    ),
    Entry(
        table="phone_verifications",
        category="registration",
        title=_l("Phone verification code"),
        purpose=_l("To verify that the phone number is yours."),
        method=_l("You entered the number; we sent it a one-time code by text message."),
        owner="phone=phone",
        shown=False,  # short-lived; purged by retention
        personal=(
            Column("phone", _l("Phone number"), ERASE),
            Column("created_at", _l("Sent"), ERASE, TIME),
        ),
        technical={
            "id": "row id",
            "code_hash": "keyed hash of a one-time code; useless once it expires",
            "purpose": "which workflow the code may finish (sign-up, sign-in, re-authentication)",
            "expires_at": "one-time code bookkeeping",
            "attempts": "one-time code bookkeeping",
            "consumed_at": "one-time code bookkeeping",
        },
    ),
)

REGISTRY: tuple[Entry, ...] = (
    USERS,
    Entry(
        table="wechat_identities",
        category="registration",
        title=_l("WeChat account"),
        owner="user_id",
        personal=(
            Column("openid", _l("WeChat OpenID"), ERASE),
            Column("unionid", _l("WeChat UnionID"), ERASE),
            Column("created_at", _l("Bound on"), ERASE, TIME),
        ),
        technical={"id": "row id", "user_id": "link to the account", "appid": "our app's id"},
        edit_path="/account/wechat",
    ),
    Entry(
        table="shipping_addresses",
        category="shipping",
        title=_l("Shipping address"),
        owner="user_id",
        personal=(
            Column("organization", _l("Organization name"), ERASE),
            Column("recipient", _l("Recipient's name"), ERASE),
            Column("address", _l("Shipping address"), ERASE),
            Column("phone", _l("Phone number"), ERASE),
            Column("province", _l("Province"), ERASE, REGION),
            Column("city", _l("City"), ERASE, REGION),
            Column("district", _l("District / county"), ERASE, REGION),
            Column("postal_code", _l("Postal code"), ERASE),
            Column("is_default", _l("Default address"), ERASE, FLAG),
        ),
        technical={
            "id": "row id",
            "user_id": "link to the account",
            "created_at": "row bookkeeping",
            "updated_at": "row bookkeeping",
        },
        edit_path="/account/addresses/{id}/edit",
        order_by="id",
    ),
    Entry(
        table="invoice_profiles",
        category="invoice",
        title=_l("Invoice details"),
        owner="user_id",
        personal=(
            Column("kind", _l("Invoice type"), ERASE, codes="invoice_kind"),
            Column("fapiao_type", _l("VAT invoice"), ERASE, codes="fapiao_type"),
            Column("company_name", _l("Company name"), ERASE),
            Column("name", _l("Name"), ERASE),
            Column("tax_number", _l("Tax number"), ERASE, MASKED),
            Column("company_address", _l("Registered address"), ERASE),
            Column("company_phone", _l("Registered phone"), ERASE),
            Column("province", _l("Province"), ERASE, REGION),
            Column("city", _l("City"), ERASE, REGION),
            Column("district", _l("District / county"), ERASE, REGION),
            Column("address", _l("Mailing address"), ERASE),
            Column("postal_code", _l("Postal code"), ERASE),
            Column("bank_name", _l("Bank name"), ERASE),
            Column("bank_account", _l("Bank account"), ERASE, MASKED),
            Column("invoice_email", _l("Invoice e-mail"), ERASE),
        ),
        technical={
            "id": "row id",
            "user_id": "link to the account",
            "created_at": "row bookkeeping",
            "updated_at": "row bookkeeping",
        },
        edit_path="/account/invoice",
    ),
    Entry(
        table="consents",
        category="running",
        title=_l("Consent"),
        purpose=_l("To prove what you agreed to, when, and under which edition of the policy."),
        method=_l("Recorded when you agree or withdraw, with the address you did it from."),
        owner="user_id",
        on_erasure="update",
        layout="table",
        shown=False,  # its own section, with the withdraw buttons
        personal=(
            Column("kind", _l("What"), PSEUDONYMISE, CONSENT_KIND),
            Column("policy_edition", _l("Policy edition"), PSEUDONYMISE),
            Column("given_at", _l("Given"), PSEUDONYMISE, TIME),
            Column("confirmed_at", _l("Confirmed"), PSEUDONYMISE, TIME),
            Column("withdrawn_at", _l("Withdrawn"), PSEUDONYMISE, TIME),
            Column("source", _l("Where"), PSEUDONYMISE, codes="consent_source"),
            Column("recipient_id", _l("Recipient"), PSEUDONYMISE, codes="recipient"),
            Column("ip_address", _l("IP address"), ERASE),
        ),
        technical={
            "id": "row id",
            "user_id": "link to the account (emptied on erasure)",
            "subject_ref": "the pseudonym that replaces the link after erasure",
        },
        order_by="given_at",
    ),
    Entry(
        table="provisions",
        category="running",
        title=_l("Information we gave to a recipient"),
        purpose=_l(
            "To show you, and to be able to prove, who received your information from us, what, "
            "when and why (policy 4)."
        ),
        method=_l(
            "Recorded by the site when our staff give your information to a recipient on our "
            "third-party sharing list."
        ),
        owner="user_id",
        # PIPL art. 56: records of entrusting and providing are kept at least three years; after
        # an erasure `flask privacy purge` deletes them once RETENTION_EVIDENCE_DAYS have passed
        keep_by_law=lambda t: sa.true(),
        shown=False,  # its own section: who received what, when and why
        layout="table",
        personal=(
            Column("provided_at", _l("When"), KEEP_BY_LAW, TIME),
            Column("recipient_name", _l("Recipient"), KEEP_BY_LAW),
            Column("basis", _l("On what basis"), KEEP_BY_LAW, codes="provision_basis"),
            Column("categories", _l("What"), KEEP_BY_LAW, DATA),
            Column("order_number", _l("Order"), KEEP_BY_LAW),
            Column("drawings", _l("Drawings"), KEEP_BY_LAW, DATA),
            Column("purpose", _l("Why"), KEEP_BY_LAW, codes="provision_purpose"),
            Column("note", _l("Our note"), KEEP_BY_LAW),
        ),
        technical={
            "id": "row id",
            "user_id": "link to the account",
            "recipient_id": "which entry of the public third-party sharing list",
            "consent_id": "the separate consent it relied on (itself registered)",
            "order_id": "link to the order",
            "staff_id": "the staff member who did it (accountability)",
        },
        order_by="-provided_at",
    ),
    Entry(
        table="sign_in_events",
        category="running",
        title=_l("Sign-in"),
        purpose=_l("To keep your account secure and show you where it was used (policy 3.2)."),
        method=_l("Recorded by the site each time you sign in."),
        owner="user_id",
        layout="table",
        personal=(
            Column("created_at", _l("When"), ERASE, TIME),
            Column("method", _l("How"), ERASE, codes="sign_in_method"),
            Column("ip_address", _l("IP address"), ERASE),
            Column("user_agent", _l("Browser"), ERASE),
        ),
        technical={"id": "row id", "user_id": "link to the account"},
        order_by="-created_at",
    ),
    Entry(
        table="audit_events",
        category="running",
        title=_l("Access by our staff"),
        purpose=_l("To hold our staff accountable for every look at your data (the audit log)."),
        method=_l("Recorded by the site when a staff member opens or acts on your data."),
        owner="subject_id",
        on_erasure="keep",
        layout="table",
        shown=False,  # its own section: who looked at your data and drawings
        where=lambda t: sa.or_(t.c.actor_id.is_(None), t.c.actor_id != t.c.subject_id),
        personal=(
            Column("created_at", _l("When"), ANONYMISE, TIME),
            Column("action", _l("What"), ANONYMISE),
            Column("target", _l("Which record"), ANONYMISE),
        ),
        technical={
            "id": "row id",
            "subject_id": "link to the (anonymised) account stub",
            "actor_id": "the staff member who acted (accountability)",
        },
        order_by="-created_at",
    ),
    Entry(
        table="data_exports",
        category="running",
        title=_l("Copy of your data"),
        purpose=_l("To give you a copy of your personal information (policy 5.1)."),
        method=_l("Recorded when you ask for a copy."),
        owner="user_id",
        shown=False,  # its own section, with the download links
        blobs=(Blob("blob_id", "kid", "wrapped_dek"),),
        personal=(
            Column("requested_at", _l("Requested"), ERASE, TIME),
            Column("ready_at", _l("Ready"), ERASE, TIME),
            Column("expires_at", _l("Available until"), ERASE, TIME),
            Column("status", _l("Status"), ERASE),
            Column("recipient_email", _l("Sent to (a transfer)"), ERASE),
            Column("collected_at", _l("Downloaded by the recipient"), ERASE, TIME),
        ),
        technical={
            "id": "row id",
            "public_id": "random id in the download link",
            "request_id": "the data request it answers",
            "token_hash": "SHA-256 of a transfer link's secret; useless without the link",
            "user_id": "link to the account",
            "language": "language of the README in the archive",
            "claimed_at": "job bookkeeping",
            "blob_id": "where the encrypted archive is stored",
            "kid": "which key wraps the archive's data key",
            "wrapped_dek": "the archive's data key, encrypted",
            "size": "archive size",
            "sha256": "archive checksum",
            "drawing_count": "number of files in the archive",
        },
    ),
    Entry(
        table="privacy_requests",
        category="running",
        title=_l("Your request"),
        purpose=_l("To answer your data requests within 15 working days (policy 5.7)."),
        method=_l("You sent it to us."),
        owner="user_id",
        on_erasure="update",
        shown=False,  # its own page: /privacy/requests
        personal=(
            Column("email", _l("E-mail address"), ERASE),
            Column("kind", _l("Kind"), PSEUDONYMISE),
            Column("processor", _l("Transfer to"), PSEUDONYMISE),
            Column("details", _l("Details"), ERASE),
            Column("status", _l("Status"), PSEUDONYMISE),
            Column("created_at", _l("Sent"), PSEUDONYMISE, TIME),
            Column("verified_at", _l("E-mail confirmed"), PSEUDONYMISE, TIME),
            Column("due_on", _l("Due"), PSEUDONYMISE),
            Column("answer", _l("Our answer"), ERASE),
            Column("answered_at", _l("Answered"), PSEUDONYMISE, TIME),
            Column("decline_reason", _l("Why we declined"), PSEUDONYMISE, codes="request_decline"),
            Column("identity_verified_at", _l("Identity verified"), PSEUDONYMISE, TIME),
            Column(
                "identity_method", _l("How we verified it"), PSEUDONYMISE, codes="identity_method"
            ),
            Column("identity_note", _l("Our note on verifying it"), ERASE),
            Column("processor_email", _l("Transfer to (e-mail address)"), ERASE),
            Column("processor_confirmed_at", _l("You confirmed the address"), PSEUDONYMISE, TIME),
        ),
        technical={
            "id": "row id",
            "public_id": "random id in links",
            "user_id": "link to the account (emptied on erasure)",
            "subject_ref": "the pseudonym that replaces the link after erasure",
            "language": "language of our answer",
            "code_hash": "hash of a one-time code; useless once it expires",
            "code_expires_at": "one-time code bookkeeping",
            "code_attempts": "one-time code bookkeeping",
            "answered_by_id": "the staff member who answered (accountability)",
            "identity_verified_by_id": "the staff member who verified it (accountability)",
        },
    ),
    Entry(
        table="notice_receipts",
        category="running",
        title=_l("Notice sent to you"),
        purpose=_l("To tell you of a security incident and of policy updates (policy 3.2, 7)."),
        method=_l("Recorded by the site when we send you a notice."),
        owner="user_id",
        shown=False,  # its own section, with the notices' text
        personal=(
            Column("created_at", _l("Sent"), ERASE, TIME),
            Column("mailed_at", _l("Mailed"), ERASE, TIME),
            Column("texted_at", _l("Sent by text message"), ERASE, TIME),
            Column("dismissed_at", _l("Dismissed"), ERASE, TIME),
        ),
        technical={"id": "row id", "notice_id": "which notice", "user_id": "link to the account"},
    ),
    Entry(
        table="notifications",
        category="running",
        title=_l("Message in your inbox"),
        purpose=_l(
            "To tell you what happens to your quotes and orders (priced, confirmed, paid, "
            "shipped, invoiced, a question from our engineer): service messages, never marketing."
        ),
        method=_l("Recorded by the site when something happens to your quote or order."),
        owner="user_id",
        layout="table",
        personal=(
            Column("created_at", _l("When"), ERASE, TIME),
            Column("kind", _l("What"), ERASE, codes="notification_kind"),
            Column("params", _l("Details"), ERASE, DATA),
            Column("link_path", _l("Link"), ERASE),
            Column("read_at", _l("Read"), ERASE, TIME),
        ),
        technical={"id": "row id", "user_id": "link to the account"},
        order_by="-created_at",
    ),
    Entry(
        table="outbox_messages",
        category="running",
        title=_l("Message to you"),
        owner="recipient=email",  # only while waiting: address and content go once it is sent
        shown=False,  # delivery bookkeeping; the content is encrypted
        personal=(
            Column("recipient", _l("Sent to"), ERASE),
            Column("content", _l("Message"), ERASE, SECRET),  # may hold a reset link
            Column("created_at", _l("Written"), ERASE, TIME),
            Column("sent_at", _l("Sent"), ERASE, TIME),
        ),
        technical={
            "id": "row id",
            "key": "random idempotency key (also the mail's Message-ID)",
            "channel": "mail or text message",
            "purpose": "which kind of message (template name)",
            "status": "delivery bookkeeping",
            "attempts": "delivery bookkeeping",
            "next_attempt_at": "delivery bookkeeping",
            "claimed_at": "delivery bookkeeping",
            "expires_at": "delivery bookkeeping (a code's lifetime)",
            "last_error": "the transport's error class and code, never the address",
        },
    ),
    Entry(
        table="staff_second_factors",
        category="running",
        title=_l("Staff sign-in authenticator"),
        purpose=_l(
            "To make sure only our staff open the staff pages: a code from a staff member's "
            "authenticator app at each sign-in (staff accounts only)."
        ),
        method=_l("Recorded when a staff member sets up their authenticator app."),
        owner="user_id",
        shown=False,  # staff accounts only; never a customer's
        personal=(
            Column("secret", _l("Authenticator key"), ERASE, SECRET),  # encrypted column
            Column("created_at", _l("Set up started"), ERASE, TIME),
            Column("confirmed_at", _l("Set up"), ERASE, TIME),
            Column("last_used_at", _l("Last used"), ERASE, TIME),
        ),
        technical={
            "id": "row id",
            "user_id": "link to the (staff) account",
            "last_step": "the 30-second step of the last code, so no code works twice",
        },
    ),
    Entry(
        table="staff_recovery_codes",
        category="running",
        title=_l("Staff recovery code"),
        purpose=_l(
            "To let a staff member who lost their phone sign in once (staff accounts only)."
        ),
        method=_l("Made when a staff member sets up their authenticator app."),
        owner="factor_id>staff_second_factors.user_id",
        shown=False,
        personal=(
            Column("code_hash", _l("Recovery code"), ERASE, SECRET),  # SHA-256 only
            Column("used_at", _l("Used"), ERASE, TIME),
        ),
        technical={"id": "row id", "factor_id": "link to the authenticator"},
    ),
    *REGISTRY_QUOTES,
)

# tables that hold no information about a person at all
NON_PERSONAL_TABLES: dict[str, str] = {
    "notices": "texts our staff write to everyone or to a list; the recipients are receipts",
    "recipients": "the register of companies we entrust or provide information to (the public "
    "third-party sharing list); it names no customer",
    "purge_locks": "which purge run holds the lock",
    "staff_alerts": "problems for staff, named by row and key ids (drawing:12, key:k1), no person",
}

ENTRY_BY_TABLE = {entry.table: entry for entry in REGISTRY}


def live_entries(metadata: sa.MetaData) -> Iterator[tuple[Entry, sa.Table]]:
    """Entries whose table exists in the models, in registry order."""
    for entry in REGISTRY:
        table = metadata.tables.get(entry.table)
        if table is not None:
            yield entry, table


def unclassified_columns(metadata: sa.MetaData) -> list[str]:
    """`table.column` of every column neither declared personal nor explained as technical."""
    missing = []
    for name, table in sorted(metadata.tables.items()):
        if name in NON_PERSONAL_TABLES:
            continue
        entry = ENTRY_BY_TABLE.get(name)
        known = set()
        if entry is not None:
            known = {c.name for c in entry.personal} | set(entry.technical)
        missing.extend(f"{name}.{col.name}" for col in table.columns if col.name not in known)
    return missing


def stale_declarations(metadata: sa.MetaData) -> list[str]:
    """Declared columns a live table no longer has (the registry must not promise fiction)."""
    stale = []
    for entry, table in live_entries(metadata):
        declared = [c.name for c in entry.personal] + list(entry.technical)
        stale.extend(f"{entry.table}.{name}" for name in declared if name not in table.c)
    return stale


def owner_clause(entry: Entry, table: sa.Table, metadata: sa.MetaData, user_id: int) -> Any:
    """SQL condition selecting the rows of `table` that belong to the user."""
    if "=" in entry.owner:
        column, _, user_column = entry.owner.partition("=")
        users = metadata.tables["users"]
        value = sa.select(users.c[user_column]).where(users.c.id == user_id).scalar_subquery()
        return table.c[column] == value
    if ">" not in entry.owner:
        return table.c[entry.owner] == user_id
    fk, _, target = entry.owner.partition(">")
    parent_name, _, parent_owner = target.partition(".")
    parent = metadata.tables[parent_name]
    parent_ids = sa.select(parent.c.id).where(parent.c[parent_owner] == user_id)
    return table.c[fk].in_(parent_ids.scalar_subquery())


def select_rows(
    entry: Entry, table: sa.Table, metadata: sa.MetaData, user_id: int, *, listed: bool = True
) -> sa.Select:
    """The user's rows of one registry entry (only the listed ones when `where` narrows it)."""
    query = sa.select(table).where(owner_clause(entry, table, metadata, user_id))
    if listed and entry.where is not None:
        query = query.where(entry.where(table))
    if entry.order_by:
        name = entry.order_by.lstrip("-")
        column = table.c[name]
        query = query.order_by(column.desc() if entry.order_by.startswith("-") else column)
    elif "id" in table.c:
        query = query.order_by(table.c.id)
    return query


@dataclass
class Record:
    """One row as shown or exported: (column, value) pairs in registry order."""

    entry: Entry
    row_id: Any
    values: list[tuple[Column, Any]] = field(default_factory=list)

    row_key: dict[str, Any] = field(default_factory=dict)  # id and ref, for links

    @property
    def edit_path(self) -> str | None:
        """Where this very row is corrected (a quote's page, an address's form)."""
        if not self.entry.edit_path:
            return None
        path = self.entry.edit_path
        for name, value in self.row_key.items():
            path = path.replace("{" + name + "}", str(value))
        return path


def collect(session: Any, metadata: sa.MetaData, user_id: int) -> dict[str, list[Record]]:
    """Everything held about a user, by table name: what "My data" and the export are built from."""
    found: dict[str, list[Record]] = {}
    for entry, table in live_entries(metadata):
        columns = entry.columns(table)
        rows = session.execute(select_rows(entry, table, metadata, user_id)).mappings()
        found[entry.table] = [
            Record(
                entry,
                row.get("id"),
                [(c, row[c.name]) for c in columns],
                {k: row[k] for k in ("id", "ref") if k in row},
            )
            for row in rows
        ]
    return found


@dataclass(frozen=True)
class CollectedItem:
    """One line of the personal-information collection list (个人信息收集清单)."""

    entry: Entry
    columns: tuple[Column, ...]
    purpose: Any
    method: Any

    @property
    def keys(self) -> list[str]:
        return [f"{self.entry.table}.{c.name}" for c in self.columns]


def collection_list(metadata: sa.MetaData) -> list[tuple[Category, list[CollectedItem]]]:
    """Every personal column the site holds, by scenario (category), with purpose and method:
    generated from the registry, so a table declared here is on the public list at once."""
    groups: dict[str, list[CollectedItem]] = {c.key: [] for c in CATEGORIES}
    for entry, table in live_entries(metadata):
        by_key: dict[str, list[Column]] = {}
        for column in entry.columns(table):
            by_key.setdefault(column.category or entry.category, []).append(column)
        for key, columns in by_key.items():
            category = CATEGORY_BY_KEY[key]
            narrower = key == entry.category  # an entry's own purpose is for its own category
            groups[key].append(
                CollectedItem(
                    entry,
                    tuple(columns),
                    (narrower and entry.purpose) or category.purpose,
                    (narrower and entry.method) or category.method,
                )
            )
    return [(CATEGORY_BY_KEY[key], items) for key, items in groups.items() if items]


def by_category(
    found: dict[str, list[Record]],
) -> list[tuple[Category, list[tuple[Entry, list[Record]]]]]:
    """Group collected records by appendix category, then by table; the users row is split."""
    groups: dict[str, dict[str, list[Record]]] = {c.key: {} for c in CATEGORIES}
    for table, records in found.items():
        entry = ENTRY_BY_TABLE[table]
        if not entry.shown:
            continue
        for record in records:
            split: dict[str, Record] = {}
            for column, value in record.values:
                key = column.category or entry.category
                part = split.setdefault(key, Record(entry, record.row_id, row_key=record.row_key))
                part.values.append((column, value))
            for key, part in split.items():
                groups[key].setdefault(table, []).append(part)
    return [
        (CATEGORY_BY_KEY[key], [(ENTRY_BY_TABLE[t], recs) for t, recs in tables.items()])
        for key, tables in groups.items()
    ]
