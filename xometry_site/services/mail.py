"""One mail service: bilingual templates rendered in the recipient's language, delivered off-request.

Messages are rendered where they are sent (templates `mail/<name>.txt` and `.html`, the subject
set by `{% set subject = _("…") %}`) and written to the outbox in the caller's transaction
(services/outbox.py), which delivers them after the commit: to `instance/outbox/*.eml` by default,
or by SMTP. Links in mail are built from SITE_URL, never from the request's Host header.

What the outbox keeps is the rendered text, HTML and headers (`Rendered`, JSON); the MIME message
is composed when it is delivered. Composing it (Python's email package parsing and folding every
header) cost more than rendering the templates, and it was paid inside the event's transaction:
a WeChat Pay notification held its database transaction for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, url_for

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


@dataclass(frozen=True)
class Rendered:
    """A mail as its templates made it, before it is a MIME message."""

    to: str
    subject: str
    text: str
    html: str
    language: str  # zh_CN or en
    headers: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps({"v": 1, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Rendered:
        fields = json.loads(data)
        fields.pop("v", None)
        fields["headers"] = tuple(tuple(pair) for pair in fields.get("headers") or ())
        return cls(**fields)


def render(
    to: str, template: str, lang: str | None, headers: dict | None = None, **context
) -> Rendered:
    """Render `mail/<template>` in `lang`: subject, text and HTML."""
    locale = lang if lang in current_app.config["LANGUAGES"] else "zh_CN"
    with _render_context(), in_language(locale):
        module = current_app.jinja_env.get_template(f"mail/{template}.txt").make_module(
            dict(context, lang=locale, **_globals())
        )
        text = str(module)
        subject = str(getattr(module, "subject", current_app.config["SITE_NAME"]))
        html = render_template(f"mail/{template}.html", lang=locale, **context)
    return Rendered(to, subject, text, html, locale, tuple((headers or {}).items()))


def compose(rendered: Rendered, message_id: str | None = None) -> EmailMessage:
    """The text + HTML message of `rendered`, from the configured sender."""
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = rendered.to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or make_msgid(domain="xometry.asia")
    for name, value in rendered.headers:
        msg[name] = value
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    # after the parts exist: building them moves Content-* headers into the first part
    msg["Content-Language"] = "zh-CN" if rendered.language == "zh_CN" else "en"
    return msg


def build_message(
    to: str, template: str, lang: str | None, headers: dict | None = None, **context
) -> EmailMessage:
    """Render `mail/<template>` in `lang` into a text + HTML message."""
    return compose(render(to, template, lang, headers=headers, **context))


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
    try:
        rendered = render(to, template, lang, headers=headers, **context)
    except Exception:
        log.exception("mail.render_failed template=%s", template)
        return
    outbox.add(outbox.MAIL, to, rendered.to_json(), template, session=db_session)


def outbox_bytes(content: str, key: str) -> bytes:
    """The message an outbox row holds, as it goes out: composed now from what was rendered,
    with the row's key as its Message-ID (the same on every attempt). Rows written before the
    outbox kept rendered parts hold the finished message, base64-encoded."""
    if not content.startswith("{"):
        return base64.b64decode(content)
    return compose(Rendered.from_json(content), f"<{key}@xometry.asia>").as_bytes()


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


def _helo_name(config) -> str:
    """SMTP_HELO_NAME, else SITE_URL's host: receiving servers check the name we greet them with,
    and smtplib's default asks the resolver for this machine's name on every connection."""
    site = urlsplit(config.get("SERVER_NAME_FOR_MAIL") or "").hostname
    return config.get("SMTP_HELO_NAME") or site or "localhost"


def _deliver_smtp(raw: bytes, config) -> None:
    from email import message_from_bytes

    msg = message_from_bytes(raw)
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    context = ssl.create_default_context()
    helo = _helo_name(config)
    if config["SMTP_SSL"]:
        client = smtplib.SMTP_SSL(host, port, helo, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, helo, timeout=timeout)
    with client:
        if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
            client.starttls(context=context)
        if config["SMTP_USERNAME"]:
            client.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
        client.send_message(msg)
    log.info("mail.sent backend=smtp")
