"""第三方信息共享清单: the public list of who receives personal information from us (policy 4)."""

from __future__ import annotations

from flask import render_template
from flask_babel import get_locale

from ..models.base import utcnow
from ..read_only import reads_only
from ..services.privacy import recipients
from ..services.working_days import china_date
from . import bp
from .cache import public_page


@bp.get("/policy/third-parties")
@reads_only
@public_page
def third_parties():
    """Generated from the staff register: an edit shows here once the page's public lifetime
    (PUBLIC_PAGE_SECONDS) has passed."""
    today = china_date(utcnow())
    locale = get_locale()
    return render_template(
        "pages/third_parties.html",
        in_use=recipients.in_use(today),
        ended=recipients.ended_listed(today),
        locale=locale,
        country=lambda code: recipients.country_name(code, locale),
        pi_type=recipients.pi_type_name,
        roles=recipients.ROLE_LABELS,
        kinds=recipients.KIND_LABELS,
    )
