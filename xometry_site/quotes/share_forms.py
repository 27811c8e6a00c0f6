"""Forms of the share links on the quote page: each only carries the CSRF token."""

from __future__ import annotations

from ..forms import SiteForm


class ShareForm(SiteForm):
    """Make a read-only link to the quote."""


class RevokeShareForm(SiteForm):
    """End a link at once."""
