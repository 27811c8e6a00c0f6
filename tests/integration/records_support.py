"""One record of each kind a URL can name, owned by one user, for the route-walking security tests.

`make_records(owner)` returns the URL argument values (by the names the routes use: `ref`,
`drawing_id`, `address_id`, …) so a test can fill in every rule of `app.url_map`. A route whose
argument has no entry here and no reason in EXEMPT_ARGUMENTS makes those tests fail: a new route
must say how its record is reached.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from flask import Flask

# Arguments that do not name somebody's record, and why they need no ownership check.
EXEMPT_ARGUMENTS = {
    "filename": "static files are public",
    "edition_id": "policy editions are public",
    "token": "a signed mail link, or a share link's random secret, is itself the credential "
    "(tested by its feature)",
    "kind": "a kind of consent names the caller's own consent, never another's record",
}
# Rules whose record argument names a record of nobody's (a recipient of the public third-party
# list) to act on the caller's *own* consent to it: another user is answered about their own
# consent, never 404, and the owner's stays as it was (the walk compares the consents too).
CALLERS_OWN_RULES = {
    f"/api/mp/v1/consents/third-parties/<int:recipient_id>{tail}": "the caller's own consent"
    for tail in ("", "/withdraw")
}
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4a00000000049454e44ae426082"
)
SAMPLE = {
    "filename": "css/site.css",
    "edition_id": "2024",
    "token": "not-a-real-token",
    "kind": "subscription",
}


def _store(app: Flask, data: bytes):
    from xometry_site.services.keyring import get_keyring
    from xometry_site.services.storage import get_storage
    from xometry_site.services.vault import store_encrypted

    return store_encrypted(get_storage(app), get_keyring(app), [data])


def make_records(app: Flask, owner) -> dict[str, Any]:
    """A quote with a drawing (preview and viewer mesh) and a share link, an order with its
    fapiao, an address, an export, a request, a notice, a third party the owner consented to."""
    from xometry_site.extensions import db
    from xometry_site.models import (
        DataExport,
        Notice,
        NoticeReceipt,
        Order,
        PrivacyRequest,
        Quote,
        QuoteShare,
        ShippingAddress,
    )
    from xometry_site.models.base import utcnow
    from xometry_site.services.quotes import viewer_mesh
    from xometry_site.services.quotes.drawing_files import stored_drawing

    quote = Quote(user_id=owner.id, process="cnc_machining", material="al6061", quantity=1)
    db.session.add(quote)
    db.session.flush()
    stored = _store(app, b"solid part\nendsolid part\n")
    preview = _store(app, PNG_1PX)
    mesh = _store(app, viewer_mesh.encode(np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]])))
    drawing = stored_drawing(
        stored,
        quote_id=quote.id,
        user_id=owner.id,
        filename="part.stl",
        extension="stl",
        preview_blob_id=preview.blob_id,
        preview_key_id=preview.kid,
        preview_wrapped_key=preview.wrapped_dek,
        mesh_blob_id=mesh.blob_id,
        mesh_key_id=mesh.kid,
        mesh_wrapped_key=mesh.wrapped_dek,
        analysis_status="analysed",
        process="cnc_machining",
        material="al6061",
        finish="as_machined",
        quantity=1,
        tolerance="iso2768m",
        threads=0,
        inspection="standard",
    )
    address = ShippingAddress(
        user_id=owner.id,
        recipient="张三",
        address="浦东新区世纪大道 100 号",
        phone="+8613800000001",
        province="310000",
        city="310100",
        postal_code="200120",
        is_default=True,
    )
    archive = _store(app, b"PK\x05\x06" + b"\0" * 18)
    export = DataExport(
        user_id=owner.id,
        status="ready",
        ready_at=utcnow(),
        expires_at=utcnow() + timedelta(days=7),
        blob_id=archive.blob_id,
        kid=archive.kid,
        wrapped_dek=archive.wrapped_dek,
        size=archive.size,
        sha256=archive.sha256,
        drawing_count=0,
    )
    request = PrivacyRequest(user_id=owner.id, kind="copy", email=owner.email, status="open")
    notice = Notice(
        title_zh="通知", title_en="Notice", body_zh="内容", body_en="Body", audience="selected"
    )
    share = QuoteShare(
        quote_id=quote.id,
        created_by_id=owner.id,
        token_hash=secrets.token_hex(32),
        expires_at=utcnow() + timedelta(days=14),
    )
    db.session.add_all([drawing, address, export, request, notice, share])
    db.session.flush()
    db.session.add(NoticeReceipt(notice_id=notice.id, user_id=owner.id))
    order = Order(
        user_id=owner.id,
        number=f"XA-2026-{owner.id:06d}",
        lead_choice="standard",
        lead_days=7,
        ship_by=utcnow().date() + timedelta(days=10),
        subtotal=Decimal("100.00"),
        vat_rate=Decimal("0.13"),
        vat=Decimal("13.00"),
        total=Decimal("113.00"),
        remittance_reference=f"XA26{owner.id:06d}",
        parts=[],
        shipping={"recipient": "张三"},
    )
    order.invoice = {"kind": "corporate", "company_name": "上海测试有限公司"}
    fapiao = _store(app, b"%PDF-1.7\n%%EOF\n")
    order.fapiao_number, order.fapiao_filename = "24312000000000000001", "fapiao.pdf"
    order.fapiao_blob_id, order.fapiao_key_id = fapiao.blob_id, fapiao.kid
    order.fapiao_wrapped_key = fapiao.wrapped_dek
    db.session.add(order)
    from xometry_site.models import StaffAlert  # staff's own records: 404 for everyone else

    alert = StaffAlert(kind="unknown_key", subject="key:k0")
    db.session.add(alert)
    from xometry_site.models import Consent, Recipient  # the register: 404 but to staff

    recipient = Recipient(  # a third party, which the owner consented to (policy 4)
        name_zh="检测机构",
        name_en="Inspection laboratory",
        role="manufacturer",
        kind="provided",
        purpose_zh="检测",
        purpose_en="Inspection",
        categories=["drawings"],
        country="CN",
        contact="lab@example.com",
        since=utcnow().date() - timedelta(days=1),
    )
    db.session.add(recipient)
    db.session.flush()
    db.session.add(
        Consent(
            user_id=owner.id,
            kind="third_party",
            recipient_id=recipient.id,
            policy_edition="2024",
            source="consents",
            confirmed_at=utcnow(),
        )
    )
    db.session.commit()
    return {
        "alert_id": alert.id,
        "recipient_id": recipient.id,
        "ref": quote.ref,
        "drawing_id": drawing.id,
        "part_id": drawing.id,
        "number": order.number,
        "share_id": share.id,
        "address_id": address.id,
        "public_id": export.public_id,
        "export_id": export.public_id,
        "request_id": request.id,
        "notice_id": notice.id,
        "user_id": owner.id,
        **SAMPLE,
    }


def rule_path(rule, values: dict[str, Any]) -> str:
    """The rule's path with each `<converter:name>` replaced by values[name]."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def unknown_arguments(app: Flask, values: dict[str, Any]) -> list[str]:
    """`rule argument` pairs that neither name a record here nor are exempt, with a reason."""
    missing = []
    for rule in app.url_map.iter_rules():
        for name in sorted(rule.arguments):
            if name not in values and name not in EXEMPT_ARGUMENTS:
                missing.append(f"{rule.rule} <{name}>")
    return missing
