"""`flask` commands; each feature keeps its own group in its package."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("make-staff")
@click.argument("email")
def make_staff(email: str) -> None:
    """Give an account staff rights (quote review, data requests, notices)."""
    from .extensions import db
    from .models import User

    user = db.session.scalar(db.select(User).filter_by(email=email.strip().lower()))
    if user is None:
        raise click.ClickException("No account with that e-mail address.")
    user.is_staff = True
    db.session.commit()
    click.echo(f"user {user.id} is now staff")


@users_cli.command("reset-second-factor")
@click.argument("email")
def reset_second_factor(email: str) -> None:
    """A staff member lost their authenticator and no colleague can reset it on the staff page."""
    from .extensions import db
    from .models import User
    from .services.accounts import second_factor

    user = db.session.scalar(db.select(User).filter_by(email=email.strip().lower()))
    if user is None or not user.is_staff:
        raise click.ClickException("No staff account with that e-mail address.")
    if not second_factor.reset(user, None):
        raise click.ClickException("That account has no second factor to reset.")
    click.echo(f"user {user.id}: second factor reset; they enrol again at their next sign-in")


def register(app: Flask) -> None:
    from .account.newsletter import newsletter_cli

    app.cli.add_command(users_cli)
    from .privacy.commands import privacy_cli

    app.cli.add_command(privacy_cli)
    app.cli.add_command(newsletter_cli)
    from .jobs_cli import register as register_jobs

    register_jobs(app)
    from .quotes.commands import keys_cli, quotes_cli

    app.cli.add_command(quotes_cli)
    app.cli.add_command(keys_cli)
