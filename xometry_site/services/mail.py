"""One mail service: bilingual templates rendered in the recipient's language, delivered off-request.

Messages are rendered where they are sent (templates `mail/<name>.txt` and `.html`, the subject
set by `{% set subject = _("…") %}`) and written to the outbox in the caller's transaction
(services/outbox.py), which delivers them after the commit: to `instance/outbox/*.eml` by default,
or by SMTP. Links in mail are built from SITE_URL, never from the request's Host header.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, has_request_context, render_template, url_for

from ..models.base import new_token
from . import outbox
from .jobs import task
from .languages import in_language

log = logging.getLogger(__name__)


def external_url(endpoint: str, **values) -> str:
    """Absolute link for mail, from the configured site URL (no Host-header poisoning)."""
    base = current_app.config["SERVER_NAME_FOR_MAIL"].rstrip("/")
    with _render_context():
        return base + url_for(endpoint, **values)


def outbox_dir() -> Path:
    path = current_app.config.get("MAIL_OUTBOX_DIR") or os.path.join(
        current_app.instance_path, "outbox"
    )
    return Path(path)


def build_message(
    to: str, template: str, lang: str | None, headers: dict | None = None, **context
) -> EmailMessage:
    """Render `mail/<template>` in `lang` into a text + HTML message."""
    locale = lang if lang in current_app.config["LANGUAGES"] else "zh_CN"
    with _render_context(), in_language(locale):
        module = current_app.jinja_env.get_template(f"mail/{template}.txt").make_module(
            dict(context, lang=locale, **_globals())
        )
        text = str(module)
        subject = str(getattr(module, "subject", current_app.config["SITE_NAME"]))
        html = render_template(f"mail/{template}.html", lang=locale, **context)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="xometry.asia")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    # after the parts exist: building them moves Content-* headers into the first part
    msg["Content-Language"] = "zh-CN" if locale == "zh_CN" else "en"
    return msg


def _render_context():
    """Jobs and commands render mail outside a request: lend them one on the site's URL."""
    if has_request_context():
        return contextlib.nullcontext()
    base = current_app.config["SERVER_NAME_FOR_MAIL"]
    return current_app.test_request_context("/", base_url=base)


def _globals() -> dict:
    env = current_app.jinja_env
    return {k: env.globals[k] for k in ("_", "gettext", "ngettext", "url_for") if k in env.globals}


def send_mail(
    to: str,
    template: str,
    lang: str | None,
    headers: dict | None = None,
    *,
    db_session=None,
    **context,
) -> None:
    """Render now and write the message to the outbox in the caller's transaction.

    The caller commits it with the event that causes it (or after, when nothing else changes);
    it is delivered after that commit, with retries. A rendering failure is logged, never raised.
    """
    key = new_token()
    try:
        msg = build_message(to, template, lang, headers=headers, **context)
        del msg["Message-ID"]
        msg["Message-ID"] = f"<{key}@xometry.asia>"  # the same id on every attempt
        raw = msg.as_bytes()
    except Exception:
        log.exception("mail.render_failed template=%s", template)
        return
    outbox.add(outbox.MAIL, to, outbox.mail_content(raw), template, key=key, session=db_session)


def transmit(raw: bytes) -> None:
    """Hand one rendered message to the configured backend; raises unless it was accepted."""
    config = current_app.config
    if config["MAIL_BACKEND"] == "smtp":
        _deliver_smtp(raw, config)
    else:
        _deliver_file(raw)


@task
def deliver(raw: bytes) -> None:
    """Jobs queued before the outbox carried the message itself: send those as they were."""
    try:
        transmit(raw)
    except Exception:
        log.exception("mail.legacy_job_failed")
        raise


def _deliver_file(raw: bytes) -> None:
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    from datetime import UTC, datetime

    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    tmp = folder / (name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    log.info("mail.written outbox=%s", folder)


def _deliver_smtp(raw: bytes, config) -> None:
    from email import message_from_bytes

    msg = message_from_bytes(raw)
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    context = ssl.create_default_context()
    if config["SMTP_SSL"]:
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
            client.starttls(context=context)
        if config["SMTP_USERNAME"]:
            client.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
        client.send_message(msg)
    log.info("mail.sent backend=smtp")
