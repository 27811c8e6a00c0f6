"""WeChat Pay's notification endpoint: no session, no CSRF token (the signature is the proof)."""

from __future__ import annotations

from flask import Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import csrf
from ..services.payments.wechatpay_notify import handle_notification
from . import bp

# A notification is about 1 KB; nothing larger is read.
NOTIFY_MAX_BYTES = 64 * 1024


@bp.post("/wechat/notify")
@csrf.exempt
def wechat_notify():
    """Verify and apply one notification; answer as API v3 asks (204, or 4xx/5xx JSON)."""
    request.max_content_length = NOTIFY_MAX_BYTES
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _answer(413, "too large")
    answer = handle_notification(request.headers, body)
    if answer.body is None:
        return Response(status=answer.status)
    return _answer(answer.status, answer.message or "")


def _answer(status: int, message: str):
    response = jsonify(code="FAIL", message=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
