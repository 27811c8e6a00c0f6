"""A text field over MAX_TEXT_LENGTH: refused with a field error, the value never echoed back."""

from __future__ import annotations

import pytest
from auth_support import register
from test_quotes_support import cube_stl, post_quote, stored_files

from xometry_site.forms import MAX_TEXT_LENGTH
from xometry_site.models import Drawing, Quote, User

OVER_THE_LIMIT = "界" * (MAX_TEXT_LENGTH + 1)  # over the limit in characters
MARKER = "OVERSIZED-" + "y" * MAX_TEXT_LENGTH


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        (None, "内容过长：最多 10,000 个字符。"),
        ("en", "This is too long: at most 10,000 characters."),
    ],
)
def test_an_oversized_registration_field_is_refused_and_not_echoed(client, db, lang, message):
    response = register(client, lang=lang, name=MARKER)
    page = response.get_data(as_text=True)
    assert response.status_code == 200  # the form again, with the error beside the field
    assert message in page
    assert "OVERSIZED-" not in page and "y" * 100 not in page
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_every_text_field_is_limited_not_only_those_with_their_own_length(client, db):
    page = register(client, lang="en", email=OVER_THE_LIMIT).get_data(as_text=True)
    assert "This is too long: at most 10,000 characters." in page
    assert "界" * 100 not in page


def test_oversized_quote_notes_are_refused_stored_nowhere_and_not_echoed(app, client, db, customer):
    response = post_quote(client, [("part.stl", cube_stl())], notes=MARKER)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "内容过长" in page
    assert "OVERSIZED-" not in page
    db.session.rollback()
    assert db.session.query(Quote).count() == 0 and db.session.query(Drawing).count() == 0
    assert stored_files(app) == []
