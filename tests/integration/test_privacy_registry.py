"""The personal-information registry covers every column the models hold."""

from __future__ import annotations

import sqlalchemy as sa

from xometry_site.extensions import db
from xometry_site.services.privacy import pi_registry


def test_every_column_of_every_table_is_classified(app):
    """A new model column must be declared personal (with category and erasure) or technical."""
    missing = pi_registry.unclassified_columns(db.metadata)
    assert missing == [], (
        "columns the personal-information registry does not classify "
        f"(add them to services/privacy/pi_registry.py): {missing}"
    )


def test_registry_declares_no_column_that_does_not_exist(app):
    assert pi_registry.stale_declarations(db.metadata) == []


def test_an_undeclared_column_is_caught(app):
    """The check above can fail: a copy of the schema with one more column is reported."""
    copy = sa.MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(copy)
    sa.Table("shipping_addresses", copy, sa.Column("mobile_imei", sa.String), extend_existing=True)
    sa.Table("mystery_table", copy, sa.Column("id", sa.Integer, primary_key=True))
    missing = pi_registry.unclassified_columns(copy)
    assert "shipping_addresses.mobile_imei" in missing
    assert "mystery_table.id" in missing


def test_every_personal_column_has_a_known_category_and_erasure(app):
    for entry, table in pi_registry.live_entries(db.metadata):
        assert entry.category in pi_registry.CATEGORY_BY_KEY, entry.table
        for column in entry.columns(table):
            assert (column.category or entry.category) in pi_registry.CATEGORY_BY_KEY
            assert column.erasure in pi_registry.ERASURE_LABELS, (entry.table, column.name)


def test_categories_follow_the_policy_appendix(app):
    keys = [c.key for c in pi_registry.CATEGORIES]
    assert keys == ["registration", "quotes", "account", "shipping", "invoice", "running"]
    registry_columns = {
        (e.table, c.name): (c.category or e.category)
        for e in pi_registry.REGISTRY
        for c in e.personal
    }
    # the appendix's rows, column by column
    assert registry_columns[("users", "email")] == "registration"
    assert registry_columns[("users", "phone")] == "registration"
    assert registry_columns[("wechat_identities", "openid")] == "registration"
    assert registry_columns[("drawings", "filename")] == "quotes"
    assert registry_columns[("users", "job_title")] == "account"
    assert registry_columns[("users", "preferred_language")] == "account"
    assert registry_columns[("shipping_addresses", "recipient")] == "shipping"
    assert registry_columns[("invoice_profiles", "bank_account")] == "invoice"
    assert registry_columns[("sign_in_events", "ip_address")] == "running"
