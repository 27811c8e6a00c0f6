"""What the Mini Program collected about the account, and every edition of the policy (its text
in the caller's language) for the Mini Program's own policy pages."""

from __future__ import annotations

from dataclasses import asdict

from flask import current_app

from ..i18n import current_language
from ..policies import editions, get_edition, load_document
from ..security import no_store
from ..services.mail import external_url
from ..services.privacy.miniprogram_data import collected
from ..services.validators import mask_phone
from .bearer import current_account
from .blueprints import rights_bp as bp
from .center_schemas import CollectedSchema, EditionSchema, EditionTextSchema
from .errors import ApiError
from .schemas import ErrorSchema


@bp.route("/collected", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, CollectedSchema)
def collected_data():
    """The phone (masked) and when it was proved, OpenID/UnionID bound when, sign-ins, uploads."""
    found = collected(current_account(), current_app.config.get("WECHAT_MINIPROGRAM_APP_ID"))
    return {**asdict(found), "phone": mask_phone(found.phone) if found.phone else None}


def edition_json(edition) -> dict:
    return {
        "edition": edition.id,
        "effective_date": edition.effective_date,
        "is_current": edition.is_current,
        "url": external_url("pages.policy_edition", edition_id=edition.id, lang=current_language()),
    }


@bp.route("/policy/editions", methods=["GET"])
@bp.response(200, EditionSchema(many=True))
def edition_list():
    """Every published edition, the one in force first."""
    return [edition_json(e) for e in editions(current_app.config)]


@bp.route("/policy/editions/<edition_id>", methods=["GET"])
@bp.response(200, EditionTextSchema)
@bp.alt_response(404, schema=ErrorSchema, description="No such edition")
def edition_text(edition_id: str):
    """One edition's text (a date id of the past names its edition), in the caller's language."""
    edition = get_edition(current_app.config, edition_id)
    if edition is None:
        raise ApiError(404, "not_found")
    document = load_document(edition, current_language())
    sections = [
        {k: section.get(k) for k in ("anchor", "number", "title", "blocks") if k in section}
        for section in document.get("sections") or []
    ]
    return {
        **edition_json(edition),
        "title": document.get("title") or "",
        "intro": document.get("intro") or [],
        "sections": sections,
        "appendix": document.get("appendix"),
        "changes": document.get("changes") or [],
    }
