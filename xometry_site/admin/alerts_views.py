"""Staff alerts on the dashboard: listed there, resolved with one button (services/alerts.py)."""

from flask import redirect, url_for

from ..extensions import db
from ..models import StaffAlert
from ..security import no_store, staff_required
from ..services import alerts
from . import bp


@bp.app_template_global()
def staff_alerts() -> list[StaffAlert]:
    """Open alerts, newest first, for the staff dashboard (queried only when shown)."""
    return alerts.open_alerts(db.session)


@bp.app_template_global()
def staff_alert_label(kind: str) -> str:
    return str(alerts.KIND_LABELS.get(kind, kind))


@bp.post("/alerts/<int:alert_id>/resolve")
@staff_required
@no_store
def resolve_alert(alert_id: int):
    alerts.resolve(db.session, alert_id)
    return redirect(url_for("admin.index"))
