"""Where a Personal Center form goes after saving: back to the page that sent the customer
(`?next=`, e.g. a quote's accept page), same-site only, else the Personal Center's own page."""

from __future__ import annotations

from flask import redirect, request
from werkzeug.wrappers import Response

from ..security import is_safe_next, safe_next


def next_target() -> str | None:
    """The safe `next` of this request, for the form to carry into its POST; None if unsafe."""
    target = request.args.get("next")
    return target if is_safe_next(target) else None


def back_or(default_endpoint: str) -> Response:
    """Redirect to the safe `next`, or to `default_endpoint`."""
    return redirect(safe_next(request.args.get("next"), default_endpoint))
