"""My data (driven by the personal-information registry, as the website's page) and the policy
link, for the Mini Program."""

from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..i18n import current_language
from ..policies import current_edition, editions, load_document
from ..privacy.presenters import show_value
from ..security import no_store
from ..services.mail import external_url
from ..services.privacy import pi_registry
from .bearer import current_account
from .blueprints import privacy_bp as bp
from .schemas import MyDataSchema, PolicySchema


@bp.route("/my-data", methods=["GET"])
@bp.signed_in
@no_store
@bp.response(200, MyDataSchema)
def my_data():
    """Everything held about the account, by the policy appendix's categories."""
    found = pi_registry.collect(db.session, db.metadata, current_account().id)
    categories = []
    for category, tables in pi_registry.by_category(found):
        records = [
            {
                "title": str(entry.title),
                "items": [
                    {"label": str(column.label), "value": show_value(column, value)}
                    for column, value in record.values
                ],
            }
            for entry, rows in tables
            for record in rows
        ]
        categories.append(
            {
                "key": category.key,
                "title": str(category.title),
                "purpose": str(category.purpose),
                "method": str(category.method),
                "records": records,
            }
        )
    return {"categories": categories}


@bp.route("/policy", methods=["GET"])
@bp.response(200, PolicySchema)
def policy():
    """The edition in force, its title in the caller's language and its page on the website."""
    edition = current_edition(current_app.config)
    document = load_document(edition, current_language())
    return {
        "edition": edition.id,
        "title": document.get("title") or "",
        "effective_date": edition.effective_date.isoformat(),
        "url": external_url("pages.policy", lang=current_language()),
        "editions": [e.id for e in editions(current_app.config)],
    }
