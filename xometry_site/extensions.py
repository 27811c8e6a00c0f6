"""Extensions live unbound here so that blueprints can import them without an app."""

from collections.abc import Callable
from functools import partial
from typing import Any

from babel import support
from flask import Flask, current_app, request, session
from flask_babel import Babel, Domain, get_locale
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations can alter SQLite tables."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class CatalogueDomain(Domain):
    """Loads translations/zh_CN for Babel's zh_Hans_CN (Flask-Babel would look for zh_Hans_CN)."""

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        name = "zh_CN" if locale.language == "zh" else str(locale)
        cache = self.get_translations_cache(None)
        if (name, self.domain[0]) not in cache:
            translations = support.Translations()
            for dirname in self.translation_directories:
                loaded = support.Translations.load(dirname, [name], self.domain[0])
                translations.merge(loaded)
                # merge() copies messages, not the catalogue's plural rule: without this, zh_CN
                # used English plurals and showed the msgid_plural ("3 parts") for n != 1
                if isinstance(loaded, support.Translations):
                    translations.plural = loaded.plural
            cache[(name, self.domain[0])] = translations
        return cache[(name, self.domain[0])]


class SiteBabel(Babel):
    """Flask-Babel with the catalogue naming above."""

    @property
    def domain_instance(self):
        instance = self.__dict__.get("_catalogue_domain")
        if instance is None:
            instance = self.__dict__["_catalogue_domain"] = CatalogueDomain(domain=self.domain)
        return instance


class SiteLimiter(Limiter):
    """Flask-Limiter that leaves alone the pages no limit applies to: the public pages marked
    `rate_limit_free` (nginx's per-address limit stands in front of them, see deploy/nginx) and
    every page for which no limit is declared at all. For those, its before-request check did its
    per-request bookkeeping before finding nothing to count, and its after- and teardown-request
    hooks built a per-request context only to find no limit in it: a tenth of a page served from
    the cache, 8 % of a signed-in quote list."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        self._declares_none: dict[str, bool] = {}  # per endpoint; limits are declared up front
        after = app.after_request_funcs.setdefault(None, [])
        after[:] = [_after_unless_free(f) if _hook_of(self, f) else f for f in after]
        teardown = app.teardown_request_funcs.setdefault(None, [])
        teardown[:] = [_teardown_unless_free(f) if _hook_of(self, f) else f for f in teardown]

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        if in_middleware and self.limit_free(request.endpoint):
            return
        super()._check_request_limit(callable_name, in_middleware)

    def limit_free(self, endpoint: str | None) -> bool:
        """No limit can apply to `endpoint` (a helper inside a view may still have its own: such
        a limit checks itself when called, and leaves a hint that makes the view not free)."""
        if not endpoint:
            return False
        free = self._declares_none.get(endpoint)
        if free is None:
            free = self._declares_none[endpoint] = self._declares_no_limit(endpoint)
        return free and not self.limit_manager.has_hints(endpoint)

    def _declares_no_limit(self, endpoint: str) -> bool:
        view = current_app.view_functions.get(endpoint)
        if view is None:
            return False
        if getattr(view, "rate_limit_free", False):
            return True
        manager = self.limit_manager
        # Flask-Limiter keeps these lists private; tests/integration/test_limit_free.py checks every
        # endpoint against its own resolution, so an upgrade that moves them fails there.
        return not (
            manager._default_limits
            or manager._application_limits
            or manager._blueprint_limits
            or self._meta_limits
            or self._in_memory_fallback
            or get_qualified_name(view) in self._marked_for_limiting
        )


class SiteLoginManager(LoginManager):
    """Flask-Login, not hashing the visitor's address and browser for session protection when the
    session is empty: it compared that hash with the session's only to find nothing there, on
    every page a first-time visitor opened (3 % of a page served from the cache)."""

    def _session_protection_failed(self) -> bool:
        return bool(session) and super()._session_protection_failed()


class SiteCSRFProtect(CSRFProtect):
    """Flask-WTF, looking up a request's view among the exempt ones only when its method needs a
    token: its before-request hook did so for every GET, then found that GET needs none."""

    def init_app(self, app: Flask) -> None:
        before = app.before_request_funcs.setdefault(None, [])
        known = list(before)
        super().init_app(app)
        before[:] = [f if f in known else _when_token_needed(f) for f in before]


def _when_token_needed(hook: Callable[[], Any]) -> Callable[[], Any]:
    def csrf_protect() -> Any:
        if request.method in current_app.config["WTF_CSRF_METHODS"]:
            return hook()
        return None

    return csrf_protect


def _free_view() -> bool:
    return limiter.limit_free(request.endpoint)


def _hook_of(limiter: Limiter, hook: Any) -> bool:
    """Flask-Limiter's own after hook (a partial over the limiter) or teardown (a bound method)."""
    owner = (
        hook.args[0] if isinstance(hook, partial) and hook.args else getattr(hook, "__self__", None)
    )
    return owner is limiter


def _after_unless_free(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def limiter_after_request(response: Any) -> Any:
        return response if _free_view() else hook(response)

    return limiter_after_request


def _teardown_unless_free(hook: Callable[..., None]) -> Callable[..., None]:
    def limiter_teardown(exc: BaseException | None = None) -> None:
        if not _free_view():
            hook(exc)

    return limiter_teardown


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = SiteLoginManager()
csrf = SiteCSRFProtect()
babel = SiteBabel()
cache = Cache()
limiter = SiteLimiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
