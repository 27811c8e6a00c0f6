"""The xometry.asia website: `create_app` only wires configuration, extensions and blueprints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from .config import CONFIGS


def create_app(config: dict[str, Any] | None = None, env: str | None = None) -> Flask:
    """Build the app for `env` (APP_ENV, default development); a dict means tests."""
    env = env or ("testing" if config is not None else os.environ.get("APP_ENV", "development"))
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    configure(app, env, config)
    register_http_cache(app)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_hooks(app)
    register_commands(app)
    register_middleware(app)
    return app


def configure(app: Flask, env: str, overrides: dict[str, Any] | None) -> None:
    """Load the environment's config class, then overrides; refuse unsafe production settings."""
    config_class = CONFIGS[env]
    app.config.from_object(config_class)
    app.config["APP_ENV"] = env
    if overrides:
        app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        db_path = Path(app.instance_path) / "xometry.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://") or uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    config_class.validate(app.config)


def register_http_cache(app: Flask) -> None:
    """Public answers kept in each worker, right around Flask: logged and given headers as any."""
    entries = app.config["HTTP_CACHE_ENTRIES"]
    if entries:
        from .http_cache import HttpCache

        bypass = (app.config["SESSION_COOKIE_NAME"], app.config["REMEMBER_COOKIE_NAME"])
        app.wsgi_app = HttpCache(app.wsgi_app, bypass_cookies=bypass, entries=entries)  # type: ignore[method-assign]


def register_logging(app: Flask) -> None:
    """One line per event, newlines escaped, with the request id; JSON in production."""
    from .log_setup import configure_logging

    configure_logging(app)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions; the cookie guard first so it sees every cookie set after it."""
    from . import models  # noqa: F401 - tables must be known to Alembic
    from .deadlines import init_app as deadlines
    from .extensions import babel, csrf, db, limiter, login_manager, migrate, openapi
    from .i18n import select_locale
    from .read_only import init_app as read_only_views
    from .services import cookies
    from .session_interface import SiteSessionInterface

    deadlines(app)  # before the limiter reads its storage options
    app.after_request(cookies.enforce)
    db.init_app(app)
    read_only_views(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.session_interface = SiteSessionInterface()  # none on the API: no cookie read or set
    openapi.init_app(app)  # before register_errorhandlers: the site's handlers answer errors
    from .auth.loading import configure_login

    configure_login(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .orders import bp as orders_bp
    from .pages import bp as pages_bp
    from .payments import bp as payments_bp
    from .privacy import bp as privacy_bp
    from .quotes import bp as quotes_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(quotes_bp, url_prefix="/quotes")
    app.register_blueprint(orders_bp, url_prefix="/orders")
    app.register_blueprint(payments_bp, url_prefix="/payments")
    app.register_blueprint(privacy_bp, url_prefix="/privacy")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    from .api.blueprints import register as register_api
    from .extensions import openapi

    register_api(app, openapi)


def register_errorhandlers(app: Flask) -> None:
    """Friendly error pages in the visitor's language for every error a visitor can meet."""
    from .errors import register

    register(app)


def register_hooks(app: Flask) -> None:
    """Security headers, template helpers and request-body limits on every request."""
    from . import body_limits
    from .security import SecurityHeaders
    from .templating import register_template_helpers

    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.config.get("HSTS_SECONDS") or 0)  # type: ignore[method-assign]
    register_template_helpers(app)
    body_limits.init_app(app)


def register_commands(app: Flask) -> None:
    """`flask …` commands of every feature."""
    from .cli import register

    register(app)


def register_middleware(app: Flask) -> None:
    """Trusted proxy headers in production; the WeChat and WeChat Pay simulators in development."""
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    if app.config.get("WECHAT_SIMULATOR") and app.config["APP_ENV"] == "development":
        from .devtools.mount import mount_simulator

        mount_simulator(app)
    if app.config.get("WECHATPAY_SIMULATOR") and app.config["APP_ENV"] == "development":
        from .devtools.mount import mount_wechatpay_simulator

        mount_wechatpay_simulator(app)
