"""The limiter skips only pages no limit applies to, by Flask-Limiter's own reckoning."""

from __future__ import annotations

import pytest
from flask_limiter.util import get_qualified_name

from xometry_site.extensions import limiter

LIMITED = {"RATELIMIT_ENABLED": True}


def _limits_of(app, endpoint: str) -> list:
    """Every limit Flask-Limiter would weigh for a request to `endpoint`, before it or in it."""
    name = get_qualified_name(app.view_functions[endpoint])
    blueprint = endpoint.rpartition(".")[0] or None
    found = []
    for in_middleware in (True, False):
        found += [
            limit
            for limits in limiter.limit_manager.resolve_limits(
                app, endpoint, blueprint, name, in_middleware, name in limiter._marked_for_limiting
            )
            for limit in limits
        ]
    return found


@pytest.mark.parametrize("app_config", [LIMITED])
def test_every_endpoint_is_free_exactly_when_no_limit_applies(app):
    free, limited = [], []
    with app.test_request_context():
        for endpoint, view in app.view_functions.items():
            if getattr(view, "rate_limit_free", False):
                assert limiter.limit_free(endpoint), endpoint
                continue
            has_limits = bool(_limits_of(app, endpoint))
            assert limiter.limit_free(endpoint) is not has_limits, endpoint
            (limited if has_limits else free).append(endpoint)
    assert {"auth.login", "auth.register", "privacy.export_request"} <= set(limited)
    assert {"quotes.index", "account.index", "privacy.index"} <= set(free)


@pytest.fixture
def default_limit_forgotten():
    """Flask-Limiter keeps a configured default limit for every later app in the process."""
    yield
    limiter.limit_manager.set_default_limits([])


@pytest.mark.parametrize("app_config", [{**LIMITED, "RATELIMIT_DEFAULT": "2 per minute"}])
def test_a_default_limit_still_counts_pages_without_limits_of_their_own(
    default_limit_forgotten, app
):
    with app.test_request_context():
        assert not limiter.limit_free("quotes.index")
    client = app.test_client()
    assert [client.get("/quotes/").status_code for _ in range(3)] == [302, 302, 429]
