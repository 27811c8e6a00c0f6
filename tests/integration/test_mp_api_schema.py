"""The Mini Program API against its own OpenAPI document (schemathesis, in process): generated
requests, signed in as a registered Mini Program user, never get a 5xx, and every answer has a
documented status, content type and shape. Then: each documented error of the Personal Center's
and the rights' operations is reachable by a request a client could really send."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from mp_api_support import VERBS, Reacher, documented_errors
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_mp_api import API, OTHER_PHONE, bearer, register, sign_in
from test_mp_api_third_parties import seed_recipient
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server

from xometry_site.models import ApiSession, DataExport

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def mp_user(client, sim):
    """A registered Mini Program user's tokens (the sign-in is fresh: re-authentication passes)."""
    return register(client, sim)


# Sign-out and deregistration end the sign-in every other operation runs with: they are tested
# on their own (test_mp_api.py, test_mp_api_center.py and the reachability test below).
SESSION_ENDERS = (("DELETE", f"{API}/session"), ("POST", f"{API}/deregistration"))


def _explicit_statuses(app) -> dict[str, set[int]]:
    """Each operation's documented statuses, without the catch-all `default` response."""
    spec = app.test_client().get(f"{API}/openapi.json").get_json()
    return {
        f"{method.upper()} {path}": {int(s) for s in operation["responses"] if s.isdigit()}
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in VERBS
    }


def _operations(app):
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    for method, path in SESSION_ENDERS:
        schema = schema.exclude(method=method, path=path)
    for result in schema.get_all_operations():
        yield result.ok()  # an operation the document describes wrongly fails here


def _fuzz(
    operation, mode: GenerationMode, headers: dict, seen: set[int], documented: set[int]
) -> None:
    """Bounded: a dozen cases per operation and mode, derandomised so a run repeats. A mode with
    nothing to vary (no parameters, no body, or only free text) has no case: that is fine."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        status = case.call_and_validate(headers=headers, checks=CHECKS).status_code
        # flask-smorest's `default` response would let any status pass: each must be listed
        assert status in documented, f"{status} is not documented for {operation.label}"
        seen.add(status)

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise


def test_every_operation_answers_as_documented(app, mp_user):
    """Valid and invalid requests alike: never a 5xx, always a documented status and shape."""
    failures = []
    statuses: dict[str, set[int]] = {}
    documented = _explicit_statuses(app)
    operations = list(_operations(app))
    assert len(operations) >= 30
    for operation in operations:
        seen = statuses.setdefault(operation.label, set())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, bearer(mp_user), seen, documented[operation.label])
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as failure:  # every operation's problems, not just the first
                failures.append(f"{operation.label} ({mode.value}): {str(failure)[:1500]}")
    assert not failures, "\n\n".join(failures)
    # the token opened the doors: reads of the signed-in account succeeded
    for label in ("GET /api/mp/v1/me", "GET /api/mp/v1/consents", "GET /api/mp/v1/collected"):
        assert 200 in statuses[label], (label, statuses[label])


# --- documented errors are reachable --------------------------------------------------------


def _age_sign_ins(db, user_id: int) -> None:
    for row in db.session.scalars(db.select(ApiSession).filter_by(user_id=user_id)):
        row.created_at = row.created_at - timedelta(days=1)
    db.session.commit()


def test_every_documented_error_of_the_center_and_the_rights_is_reachable(app, client, sim, db):
    """401, 403, 404, 409, 413 and 422 of each new operation, by requests a client could send
    (429 needs the limiter: test_mp_api_center_limits.py and test_mp_api_errors.py)."""
    spec = client.get(f"{API}/openapi.json").get_json()
    documented = documented_errors(spec, {"mp_center", "mp_rights"})
    owner = register(client, sim)
    owner_id = client.get(f"{API}/me", headers=bearer(owner)).get_json()["id"]
    stranger = register(client, sim, phone=OTHER_PHONE)
    registering = sign_in(client, sim)  # no account yet: 403 registration_required
    export = client.post(f"{API}/exports", headers=bearer(owner)).get_json()["id"]
    building = client.post(f"{API}/exports", headers=bearer(stranger)).get_json()["id"]
    row = db.session.scalar(db.select(DataExport).filter_by(public_id=building))
    row.status = "building"
    db.session.commit()
    lab = seed_recipient()  # a third party: needs separate consent
    entrusted = seed_recipient(name_en="Suzhou Precision", kind="entrusted")  # needs none
    values = {
        "export_id": export,
        "kind": "subscription",
        "edition_id": "2024",
        "recipient_id": lab.id,
    }
    reacher = Reacher(client, values)
    expect = reacher.expect
    limit = app.config["MAX_FORM_MEMORY_SIZE"]
    reacher.common(spec, documented, tokens=owner, registering=registering, limit=limit)
    expect("PATCH", "/me", 400, owner, data="[]", content_type="application/json")
    expect("PATCH", "/me", 422, owner, json={"name": ""})
    expect("POST", "/me/password", 400, owner, data="1", content_type="application/json")
    expect("POST", "/me/password", 422, owner, json={"new_password": "short"})
    expect("PUT", "/invoice", 400, owner, data="null", content_type="application/json")
    expect("PUT", "/invoice", 422, owner, json={"kind": "corporate"})
    expect("DELETE", "/invoice", 404, owner)
    expect("PUT", "/subscriptions", 400, owner, data='"x"', content_type="application/json")
    expect("PUT", "/subscriptions", 409, owner, json={"subscribed": True})  # no e-mail
    expect("PUT", "/subscriptions", 422, owner, json={})
    expect("GET", "/exports/{export_id}", 404, stranger)
    expect("GET", "/exports/{export_id}/download", 404, stranger)
    expect(
        "GET", "/exports/{export_id}/download", 409, stranger, path=f"/exports/{building}/download"
    )
    expect("POST", "/consents/{kind}/withdraw", 404, owner, path="/consents/marketing/withdraw")
    expect("POST", "/consents/{kind}/withdraw", 409, owner, path="/consents/policy/withdraw")
    give = "/consents/third-parties/{recipient_id}"
    expect("POST", give, 400, owner, json={}, code="agree_required")
    expect("POST", give, 404, owner, path="/consents/third-parties/999999", json={"agree": True})
    expect(
        "POST",
        give,
        409,
        owner,
        path=f"/consents/third-parties/{entrusted.id}",
        json={"agree": True},
        code="no_consent_needed",
    )
    expect("POST", give, 422, owner, json={"agree": "perhaps"})
    expect("POST", give + "/withdraw", 404, owner, path="/consents/third-parties/999999/withdraw")
    expect("POST", "/deregistration", 400, owner, data="[]", content_type="application/json")
    expect("POST", "/deregistration", 422, owner, json={"confirm": False})
    expect("POST", "/privacy-requests", 400, owner, data="3", content_type="application/json")
    expect("POST", "/privacy-requests", 422, owner, json={"kind": "nothing"})
    expect("GET", "/policy/editions/{edition_id}", 404, path="/policy/editions/1999-01-01")
    _age_sign_ins(db, owner_id)
    expect("PUT", "/invoice", 403, owner, json={"kind": "personal", "name": "王小明"})
    expect("POST", "/me/password", 403, owner, json={"new_password": "a long new password"})
    expect("POST", "/deregistration", 403, owner, json={"confirm": True})

    limited = {(m, p, s) for (m, p, s) in documented if s == 429}
    assert not (documented - limited) - reacher.reached, sorted(
        (documented - limited) - reacher.reached
    )
