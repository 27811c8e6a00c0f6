"""Text messages: `send_code` (verification codes) and `send_text` (any other message, e.g. an
incident notice, policy 3.2), both written to the outbox (services/outbox.py) like mail and
delivered from there through the backend SMS_BACKEND names.
"console" (the default, development only) logs the message and appends it to
`instance/outbox/sms.log`, where developers and browser tests read the code. Any other value is a
dotted path ("package.module:Name" or "package.module.Name") to a provider's backend: a class
taking the app config, or an object, with `send(phone, text)`.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext as _

from ..deadlines import call_with_deadline
from ..extensions import db
from ..models.base import utcnow
from . import outbox
from .languages import in_language
from .validators import mask_phone

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The message could not be handed to the provider; the caller tells the visitor to retry."""


class SmsBackend(Protocol):
    """A provider: delivers one text to one E.164 number or raises."""

    def send(self, phone: str, text: str) -> None:
        """A provider's only duty: deliver `text` to the E.164 `phone` or raise."""


class ConsoleBackend:
    """Development: the message goes to the log and to instance/outbox/sms.log, never to a phone."""

    def __init__(self, config: Any) -> None:
        if config.get("APP_ENV") == "production":
            raise SmsError("SMS_BACKEND=console is for development; configure a provider")
        folder = config.get("MAIL_OUTBOX_DIR") or os.path.join(current_app.instance_path, "outbox")
        self.path = Path(folder) / "sms.log"

    def send(self, phone: str, text: str) -> None:
        """Log and append one JSON line (codes are dev-only information)."""
        log.info("SMS to %s: %s", mask_phone(phone), text)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {"at": datetime.now(UTC).isoformat(), "to": phone, "text": text}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def _load(path: str) -> Any:
    """The object a dotted path names ("module:attr" or "module.attr")."""
    module_name, _sep, attr = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not attr:
        raise SmsError(f"SMS_BACKEND {path!r} is not a dotted path")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as error:
        raise SmsError(f"SMS_BACKEND {path!r} cannot be loaded") from error


def backend() -> SmsBackend:
    """The configured backend, built for the current app."""
    name = current_app.config.get("SMS_BACKEND") or "console"
    target = ConsoleBackend if name == "console" else _load(name)
    return target(current_app.config) if isinstance(target, type) else target


def code_text(code: str, lang: str, minutes: int) -> str:
    """The message in the recipient's language (Chinese operators require the 【signature】)."""
    with in_language(lang if lang in current_app.config["LANGUAGES"] else "zh_CN"):
        return _(
            "[Xometry Asia] Your verification code is %(code)s. It is valid for %(minutes)s "
            "minutes. Do not share it with anyone.",
            code=code,
            minutes=minutes,
        )


def transmit(phone: str, text: str) -> None:
    """Hand one text to the provider, within SMS_TIMEOUT whatever its client does (DeadlineExceeded
    past it: the outbox tries again later; the late text, if it still goes, carries a valid code)."""
    provider = backend()
    call_with_deadline(
        float(current_app.config.get("SMS_TIMEOUT") or 3), provider.send, phone, text
    )


def send_code(phone: str, code: str, lang: str, minutes: int = 10) -> None:
    """Write the code's text message to the outbox, commit, and have it delivered.

    The message dies with the code (`expires_at`): a text arriving after the code expired would
    only confuse. SmsError when the backend is misconfigured, or when the delivery attempted at
    once (no queue) failed: the visitor is told to try again, while the outbox keeps retrying
    until the code expires.
    """
    try:
        backend()  # a misconfigured provider is refused before anything is written
    except SmsError:
        log.error("sms.failed to=%s reason=configuration", mask_phone(phone))
        raise
    except Exception as error:  # a provider's constructor failing: the same answer
        log.error("sms.failed to=%s error=%s", mask_phone(phone), type(error).__name__)
        raise SmsError("provider failed") from error
    message = outbox.add(
        outbox.SMS,
        phone,
        code_text(code, lang, minutes),
        "sms_code",
        expires_at=utcnow() + timedelta(minutes=minutes),
    )
    db.session.commit()  # delivered (or queued) from here
    state = outbox.outcome(message.id)
    if state in ("retry", "failed", "expired"):
        log.error("sms.failed to=%s outbox=%s", mask_phone(phone), message.id)
        raise SmsError("provider failed")
    log.info("sms.queued to=%s outbox=%s state=%s", mask_phone(phone), message.id, state)


def send_text(phone: str, text: str, purpose: str = "sms_text") -> None:
    """Put one text message (an incident notice, say) into the outbox in the caller's
    transaction: it leaves after the caller commits, with the outbox's retries. SmsError when
    the backend is misconfigured, before anything is written."""
    try:
        backend()
    except SmsError:
        log.error("sms.failed to=%s reason=configuration", mask_phone(phone))
        raise
    except Exception as error:  # a provider's constructor failing: the same answer
        log.error("sms.failed to=%s error=%s", mask_phone(phone), type(error).__name__)
        raise SmsError("provider failed") from error
    outbox.add(outbox.SMS, phone, text, purpose)
