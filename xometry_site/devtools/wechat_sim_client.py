"""Drive the simulator's sign-in page over HTTP as a browser would, for tests without a browser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


@dataclass
class PageForm:
    """One form of the sign-in page: where it posts, its hidden fields, its buttons."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[dict[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    """Collects forms, their named inputs and their submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[PageForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(PageForm(values.get("action", "")))
        elif self.forms and tag == "input" and values.get("name"):
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif self.forms and tag == "button":
            self.forms[-1].buttons.append(values)


def page_forms(html: str) -> list[PageForm]:
    """The forms of a page."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def click(
    authorize_url: str,
    user: str = "zhangwei",
    action: str = "scan",
    nickname: str = "",
    session: requests.Session | None = None,
) -> str:
    """Open a sign-in link, press a button ("scan"/"expired" for a user, "new", "refuse"),
    and return where the simulator redirects the browser (the site's callback URL)."""
    http = session or requests.Session()
    page = http.get(authorize_url, timeout=10)
    page.raise_for_status()
    for form in page_forms(page.text):
        for button in form.buttons:
            wanted = button.get("value") == action and (
                action in {"new", "refuse"} or button.get("data-user") == user
            )
            if wanted:
                data = {**form.fields, button["name"]: button["value"]}
                if action == "new":
                    data["nickname"] = nickname
                answer = http.post(
                    urljoin(page.url, form.action), data=data, allow_redirects=False, timeout=10
                )
                if answer.status_code != 302:
                    raise RuntimeError(f"simulator answered {answer.status_code}")
                return answer.headers["Location"]
    raise LookupError(f"no {action!r} button for {user!r} on the page")
