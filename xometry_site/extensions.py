"""Extensions live unbound here so that blueprints can import them without an app."""

from functools import cached_property

from babel import support
from flask_babel import Babel, Domain, get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
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

    @cached_property
    def domain_instance(self):
        return CatalogueDomain(domain=self.domain)


class SiteApi(Api):
    """flask-smorest's Api, documenting the API's error body as every operation's default error
    (the answers themselves come from api/errors.py through the site's error handlers)."""

    from .api.schemas import ErrorSchema as ERROR_SCHEMA


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = SiteBabel()
openapi = SiteApi()  # the Mini Program API's OpenAPI document (api/blueprints.py)
limiter = Limiter(key_func=get_remote_address, default_limits=[])  # headers: config.py
