"""Entry point for `flask` and gunicorn: `app = create_app()` (APP_ENV picks the config)."""

from xometry_site import create_app

app = create_app()
