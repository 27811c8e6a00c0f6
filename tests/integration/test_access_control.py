"""Every route that names a record answers 404 to anyone but its owner, on every verb [A5 8.2.2].

The routes come from `app.url_map`, so a new route is walked as soon as it exists; one whose
argument `records_support` cannot fill (and does not exempt, with a reason) fails the first test.
"""

from __future__ import annotations

from conftest import sign_in
from records_support import (
    CALLERS_OWN_RULES,
    EXEMPT_ARGUMENTS,
    make_records,
    rule_path,
    unknown_arguments,
)

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
API = "/api/mp/v1/"


def credentials(rule, user) -> dict:
    """The Mini Program's API opens with a bearer token, never the website's session cookie."""
    if not rule.rule.startswith(API):
        return {}
    from xometry_site.services.accounts import api_tokens

    return {"Authorization": f"Bearer {api_tokens.issue(user).access_token}"}


def record_rules(app, values):
    """Rules with at least one argument that names a record."""
    named = set(values) - set(EXEMPT_ARGUMENTS)
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.arguments & named),
        key=lambda rule: rule.rule,
    )


def _state(db):
    """What a refused request must not have changed."""
    from xometry_site.models import (
        Consent,
        DataExport,
        Drawing,
        NoticeReceipt,
        PrivacyRequest,
        Quote,
        ShippingAddress,
    )

    db.session.expire_all()
    return {
        "quotes": [(q.id, q.status) for q in db.session.scalars(db.select(Quote))],
        "drawings": [(d.id, d.deleted_at) for d in db.session.scalars(db.select(Drawing))],
        "addresses": [
            (a.id, a.is_default, a.recipient)
            for a in db.session.scalars(db.select(ShippingAddress))
        ],
        "exports": [(e.id, e.status) for e in db.session.scalars(db.select(DataExport))],
        "requests": [(r.id, r.status) for r in db.session.scalars(db.select(PrivacyRequest))],
        "receipts": [(r.id, r.dismissed_at) for r in db.session.scalars(db.select(NoticeReceipt))],
        "consents": [(c.id, c.withdrawn_at) for c in db.session.scalars(db.select(Consent))],
    }


def test_every_route_argument_is_covered(app, make_user):
    values = make_records(app, make_user())
    assert unknown_arguments(app, values) == [], (
        "a route names a record that records_support.make_records does not create: add it"
    )


def test_another_users_record_is_404_on_every_route_and_verb(app, db, make_user):
    owner, intruder = make_user(), make_user()
    values = make_records(app, owner)
    rules = record_rules(app, values)
    assert len(rules) >= 10, [r.rule for r in rules]
    before = _state(db)
    client = app.test_client()
    sign_in(client, intruder)
    answered = []
    for rule in rules:
        path = rule_path(rule, values)
        for verb in VERBS:
            response = client.open(path, method=verb, headers=credentials(rule, intruder))
            own = rule.rule in CALLERS_OWN_RULES  # answered about the intruder's own
            if verb in rule.methods and response.status_code != 404 and not own:
                answered.append(f"{verb} {rule.rule} → {response.status_code}")
            response.close()
    assert answered == [], "another user's record must be a 404"
    assert _state(db) == before, "a refused request changed the owner's records"


def test_the_owner_or_staff_does_reach_every_such_page(app, make_user):
    """So the 404s above mean "not yours", not a broken URL."""
    owner = make_user()
    staff = make_user(is_staff=True)
    values = make_records(app, owner)
    missing = []
    for rule in record_rules(app, values):
        if "GET" not in rule.methods:
            continue
        client = app.test_client()
        user = staff if rule.endpoint.startswith("admin.") else owner
        sign_in(client, user)
        response = client.get(rule_path(rule, values), headers=credentials(rule, user))
        if response.status_code == 404:
            missing.append(rule.rule)
        response.close()
    assert missing == []


def test_signed_out_visitors_never_see_a_record(app, make_user):
    values = make_records(app, make_user())
    client = app.test_client()
    shown = []
    for rule in record_rules(app, values):
        for verb in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(rule_path(rule, values), method=verb)
            if response.status_code not in (302, 401, 404):
                shown.append(f"{verb} {rule.rule} → {response.status_code}")
            response.close()
    assert shown == []
