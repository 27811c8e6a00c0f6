"""The API's blueprints, each documented by flask-smorest in the one OpenAPI document.

`register` mounts them under /api/mp/v1 through the `openapi` extension (extensions.py), exempts
them from CSRF (bearer tokens, no cookies: nothing a browser sends by itself opens them) and
describes the bearer scheme and the error shape every operation may answer with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_smorest import Api, Blueprint

from . import bearer
from .errors import PREFIX
from .schemas import ErrorSchema


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint with the API's two kinds of bearer access as decorators.

    Put them right under the route, so the token is checked before the body is read."""

    def signed_in(self, view: Callable[..., Any]) -> Callable[..., Any]:
        return self._documented(bearer.signed_in(view), registration=True)

    def registering(self, view: Callable[..., Any]) -> Callable[..., Any]:
        return self._documented(bearer.registering(view), registration=False)

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[..., Any]:
        """flask-smorest's, also documenting the 400 of a body that is not a JSON object and the
        413 of one above MAX_FORM_MEMORY_SIZE (body_limits.py)."""
        parse = super().arguments(schema, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse
        bad_body = self.alt_response(400, schema=ErrorSchema, description="Not a JSON object")
        too_large = self.alt_response(413, schema=ErrorSchema, description="Larger than we accept")

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            return too_large(bad_body(parse(view)))

        return decorator

    def _documented(self, view: Callable[..., Any], *, registration: bool) -> Callable[..., Any]:
        view = self.doc(security=bearer.BEARER)(view)
        view = self.alt_response(401, schema=ErrorSchema, description="No or a dead token")(view)
        if registration:
            view = self.alt_response(403, schema=ErrorSchema, description="Still registering")(view)
        return view


session_bp = ApiBlueprint(
    "mp_session", __name__, url_prefix=PREFIX, description="Sign-in with wx.login, registration"
)
account_bp = ApiBlueprint("mp_account", __name__, url_prefix=PREFIX, description="Personal Center")
quotes_bp = ApiBlueprint("mp_quotes", __name__, url_prefix=PREFIX, description="Quotes")
privacy_bp = ApiBlueprint(
    "mp_privacy", __name__, url_prefix=PREFIX, description="My data and the policy"
)
orders_bp = ApiBlueprint("mp_orders", __name__, url_prefix=PREFIX, description="Orders and payment")
center_bp = ApiBlueprint(
    "mp_center", __name__, url_prefix=PREFIX, description="Personal Center: edits and settings"
)
rights_bp = ApiBlueprint(
    "mp_rights",
    __name__,
    url_prefix=PREFIX,
    description="The policy's rights: copy, consents, "
    "deregistration, requests, editions, what was collected",
)
BLUEPRINTS = (session_bp, account_bp, quotes_bp, privacy_bp, orders_bp, center_bp, rights_bp)

from . import (  # noqa: E402,F401
    account_views,
    catalogue_views,
    disclosure_views,
    export_views,
    order_views,
    part_views,
    privacy_views,
    profile_views,
    quote_views,
    rights_views,
    session_views,
)


def register(app: Flask, api: Api) -> None:
    """Mount the API's blueprints, documented, without CSRF (bearer tokens only)."""
    from ..extensions import csrf

    api.spec.components.security_scheme(
        "bearer",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "The access token of POST /session (or /session/refresh).",
        },
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    _document_the_document(app, api)


def _document_the_document(app: Flask, api: Api) -> None:
    """The OpenAPI document's own address is an API route too: list it."""
    rule = next(r for r in app.url_map.iter_rules() if r.rule == f"{PREFIX}/openapi.json")
    api.spec.path(
        rule=rule,
        operations={
            "get": {
                "tags": ["mp_session"],
                "summary": "This OpenAPI document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3 document of the API",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    )
