"""The in-site inbox: service messages about the user's quotes and orders, newest first."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from ..security import no_store
from ..services import notifications
from . import bp

MAX_PAGE = 10_000  # a page number past any inbox: keeps the OFFSET inside a 64-bit integer


@bp.get("/notifications", endpoint="notifications")
@no_store
@login_required
def inbox():
    """Opening a page of messages marks the ones on it read (older pages stay unread until seen)."""
    page = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)
    rows, has_more = notifications.inbox_page(current_user, page)
    messages = [notifications.as_message(row) for row in rows]
    unread = current_user.unread_notification_count or 0  # loaded with the user, before reading
    marked = notifications.mark_read(current_user, [m.id for m in messages if m.unread])
    return render_template(
        "account/notifications.html",
        messages=messages,
        page=page,
        has_more=has_more,
        inbox_unread=max(0, unread - marked),  # what the header shows once these are read
    )
