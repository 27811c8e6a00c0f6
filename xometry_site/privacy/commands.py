"""`flask privacy …`: the retention purge (run it daily from cron or a scheduler), and the first
register of recipients (policy 4)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

privacy_cli = AppGroup("privacy", help="Retention and erasure of personal information.")


@privacy_cli.command("purge")
def purge_command() -> None:
    """Erase or anonymise everything whose retention period is over; safe to run concurrently."""
    from ..services.privacy import retention

    try:
        report = retention.purge()
    except retention.PurgeBusy:
        click.echo("another purge is running; nothing done")
        return
    for line in report.lines():
        click.echo(line)


@privacy_cli.command("retention")
def retention_command() -> None:
    """Print the retention periods in force (the RETENTION_* settings)."""
    from flask import current_app

    for name in sorted(current_app.config):
        if name.startswith("RETENTION_") or name == "DEREGISTRATION_COOLING_OFF_DAYS":
            click.echo(f"{name} = {current_app.config[name]}")


@privacy_cli.command("seed-recipients")
def seed_recipients_command() -> None:
    """Fill an empty register of recipients with the processors the site itself uses, as
    placeholders for the operator to complete at /admin/recipients; a register in use is left alone."""
    from ..models.base import utcnow
    from ..services.privacy import recipients
    from ..services.working_days import china_date

    added = recipients.seed(None, china_date(utcnow()))
    if not added:
        click.echo("the register already has recipients; nothing added")
        return
    click.echo(f"{added} recipients added; complete the placeholders at /admin/recipients")
