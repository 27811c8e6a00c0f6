"""`flask privacy …`: the retention purge (run it daily from cron or a scheduler)."""

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
