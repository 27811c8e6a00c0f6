"""Forms of the order pages: only state changes, so only the CSRF token."""

from __future__ import annotations

from ..forms import SiteForm


class ReorderForm(SiteForm):
    """Order the same parts again (a new quote at today's prices)."""


class WeChatPayForm(SiteForm):
    """Start paying what is due with WeChat Pay."""
