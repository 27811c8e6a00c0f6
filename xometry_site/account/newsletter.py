"""`flask newsletter send`: staff send one newsletter, in each subscriber's language."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

newsletter_cli = AppGroup("newsletter", help="E-mail to confirmed subscribers.")


@newsletter_cli.command("send")
@click.argument("subject_zh")
@click.argument("subject_en")
@click.argument("body_zh_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("body_en_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def send(subject_zh: str, subject_en: str, body_zh_file: Path, body_en_file: Path) -> None:
    """Send to every confirmed, not withdrawn subscriber (plain-text bodies, UTF-8 files)."""
    from ..services.accounts.subscriptions import send_newsletter

    subjects = {"zh_CN": subject_zh.strip(), "en": subject_en.strip()}
    bodies = {
        "zh_CN": body_zh_file.read_text("utf-8").strip(),
        "en": body_en_file.read_text("utf-8").strip(),
    }
    if not all(subjects.values()) or not all(bodies.values()):
        raise click.ClickException("Both subjects and both bodies must be non-empty.")
    base_url = current_app.config["SERVER_NAME_FOR_MAIL"]
    # links in mail are built with url_for, which needs a request context outside of requests
    with current_app.test_request_context("/", base_url=base_url):
        sent = send_newsletter(subjects, bodies)
    click.echo(f"newsletter queued for {sent} subscriber(s)")
