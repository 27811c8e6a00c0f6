"""个人信息收集清单 (/policy/collection-list): generated from the PI registry, in both languages."""

from __future__ import annotations

import re

import pytest

from xometry_site.extensions import db
from xometry_site.services.privacy import pi_registry


def declared(metadata) -> set[str]:
    """Every personal column the registry declares for a live table."""
    return {
        f"{entry.table}.{column.name}"
        for entry, table in pi_registry.live_entries(metadata)
        for column in entry.columns(table)
    }


def listed(page: str) -> list[str]:
    return [key for keys in re.findall(r'data-pi="([^"]*)"', page) for key in keys.split()]


def test_the_list_and_the_registry_name_the_same_columns(client):
    response = client.get("/policy/collection-list?lang=en")
    assert response.status_code == 200
    keys = listed(response.get_data(as_text=True))
    assert len(keys) == len(set(keys)), "each column once"
    assert set(keys) == declared(db.metadata)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "en",
            [
                "Personal information collection list",
                "IP address",
                "Sign-in",
                "Access by our staff",
                "Your request",
                "Phone verification code",
                "To hold our staff accountable",
            ],
        ),
        ("zh_CN", ["个人信息收集清单", "IP 地址", "登录", "员工访问记录", "您的申请", "收集场景"]),
    ],
)
def test_the_list_names_what_the_appendix_does_not(client, lang, words):
    page = client.get(f"/policy/collection-list?lang={lang}").get_data(as_text=True)
    for word in words:
        assert word in page, word
    assert "consents.ip_address" in page and "sign_in_events.ip_address" in page
    assert "audit_events.action" in page and "privacy_requests.details" in page


def test_the_list_is_a_public_page_linked_from_the_policy_and_the_footer(client):
    response = client.get("/policy/collection-list")
    assert "public" in response.headers["Cache-Control"] and response.headers.get("ETag")
    assert "Set-Cookie" not in response.headers
    policy = client.get("/policy").get_data(as_text=True)
    article = policy[policy.index("<article") : policy.index("</article>")]
    assert 'href="/policy/collection-list"' in article
    footer = policy[policy.index("<footer") :]
    assert 'href="/policy/collection-list"' in footer


def test_a_table_declared_in_the_registry_is_listed_at_once(client, monkeypatch):
    """The list is generated: a new declaration (orders and payments, later) needs no page edit."""
    extra = pi_registry.Entry(
        table="sign_in_events",
        category="running",
        title="Payments (test)",
        owner="user_id",
        personal=(pi_registry.Column("user_agent", "Payer's browser (test)", pi_registry.ERASE),),
        technical={},
        purpose="To take payments (test).",
    )
    monkeypatch.setattr(pi_registry, "REGISTRY", (*pi_registry.REGISTRY, extra))
    page = client.get("/policy/collection-list?lang=en").get_data(as_text=True)
    assert "Payments (test)" in page and "To take payments (test)." in page


def test_the_policy_appendix_stays_as_published(client):
    policy = client.get("/policy?lang=en").get_data(as_text=True)
    appendix = policy[policy.index('class="policy-appendix"') :]
    appendix = appendix[: appendix.index("</table>")]
    assert "IP address" not in appendix and "Sign-in" not in appendix
