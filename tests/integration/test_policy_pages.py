"""The policy pages as a visitor gets them: both languages, anchors, the appendix table, editions."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None = None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return " ".join(
            " ".join((c if isinstance(c, str) else c.text()).split()) for c in self.children
        ).strip()

    def iter(self, tag: str | None = None, **attrs):
        """Descendants by tag and attributes (class_ matches one of the classes)."""
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and child.matches(attrs):
                    yield child
                yield from child.iter(tag, **attrs)

    def matches(self, attrs: dict[str, str]) -> bool:
        for key, wanted in attrs.items():
            name = key.rstrip("_")
            actual = self.attrs.get(name)
            if name == "class" and wanted not in (actual or "").split():
                return False
            if name != "class" and actual != wanted:
                return False
        return True

    def find(self, tag: str | None = None, **attrs) -> Node:
        found = next(self.iter(tag, **attrs), None)
        assert found is not None, f"no <{tag}> with {attrs}"
        return found


class Tree(HTMLParser):
    """A small DOM from the standard library's parser (no third-party HTML parser here)."""

    def __init__(self, html: str):
        super().__init__()
        self.root = self.node = Node("#root", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_endtag(self, tag):
        node = self.node
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def page(client, url: str) -> tuple[str, Node]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.get_data(as_text=True)
    return html, Tree(html).root


def selected(select: Node) -> list[str]:
    return [o.attrs["value"] for o in select.iter("option") if "selected" in o.attrs]


SECTIONS = [f"section-{n}" for n in range(1, 9)]


@pytest.mark.parametrize(
    ("url", "title", "contact_title"),
    [
        ("/policy", "个人信息保护政策", "如何联系我们"),
        ("/policy?lang=en", "Data Protection Policy", "How to Contact Us"),
    ],
)
def test_current_policy_has_contents_sections_and_anchors(client, url, title, contact_title):
    html, root = page(client, url)
    assert root.find("h1").text() == title
    toc = root.find("nav", class_="policy-toc")
    links = [a.attrs["href"] for a in toc.iter("a")]
    for anchor in [*SECTIONS, "section-1-2", "section-5-7", "appendix"]:
        assert f"#{anchor}" in links
        assert root.find(id=anchor), anchor
    assert [s.attrs["id"] for s in root.iter("section", class_="policy-section")] == [
        *SECTIONS,
        "appendix",
    ]
    assert contact_title in root.find("section", id="section-8").text()
    for artefact in (
        "[bookmark",
        "OLE_LINK",
        "xomery",
        "[    ]",
        "{contact_email}",
        "{effective_date}",
    ):
        assert artefact not in html


def test_english_and_chinese_pages_say_the_same_in_their_language(client):
    _html, zh = page(client, "/policy")
    _html, en = page(client, "/policy?lang=en")
    assert "我们如何使用Cookie" in zh.find(id="section-2").text()
    assert "How We Use Cookies" in en.find(id="section-2").text()
    assert "15个工作日" in zh.find(id="section-5-7").text()
    assert "15 working days" in en.find(id="section-5-7").text()


@pytest.mark.parametrize(
    ("url", "center", "subs"),
    [
        ("/policy", "个人中心", ["账户信息", "收货信息", "发票信息"]),
        (
            "/policy?lang=en",
            "Personal Center",
            ["Account Information", "Shipping Information", "Invoice Information"],
        ),
    ],
)
def test_appendix_is_a_real_table_with_personal_center_sub_rows(client, url, center, subs):
    _html, root = page(client, url)
    table = root.find("section", id="appendix").find("table")
    header_cells = list(table.find("thead").iter("th"))
    assert len(header_cells) == 4
    groups = list(table.iter("tbody"))
    assert len(groups) == 3
    personal = groups[2]
    rows = list(personal.iter("tr"))
    assert len(rows) == 3
    spanning = rows[0].find("th", rowspan="3")
    assert spanning.text() == center
    assert [row.find("th", class_="policy-subscenario").text() for row in rows] == subs
    for row in rows:
        assert len(list(row.iter("td"))) == 3
    invoice = rows[2].text()
    assert ("邮政编码" in invoice) or ("postal code" in invoice)


@pytest.mark.parametrize(
    "app_config",
    [{"POLICY_EFFECTIVE_DATE": "2024-09-02", "CONTACT_EMAIL": "privacy@example.cn"}],
)
def test_effective_date_and_contact_address_come_from_settings(client):
    _html, root = page(client, "/policy?lang=en")
    assert "Effective date: September 2, 2024" in root.find(class_="policy-meta").text()
    assert "last updated on September 2, 2024." in root.find(class_="policy-intro").text()
    contact = root.find("section", id="section-8").find("a")
    assert contact.attrs["href"] == "mailto:privacy@example.cn"
    assert "info@xometry.asia" not in root.find("article").text()
    _html, zh = page(client, "/policy?lang=zh_CN")  # the English choice is remembered otherwise
    assert "生效日期：2024年9月2日" in zh.find(class_="policy-meta").text()
    assert "privacy@example.cn" in zh.find("section", id="section-8").text()
    # the archived edition keeps the address it was published with
    _html, archived = page(client, "/policy/2022?lang=en")
    assert "info@xometry.asia" in archived.find("article").text()
    assert "privacy@example.cn" not in archived.find("article").text()
    assert client.get("/policy/2024").status_code == 200
    # the date moves no address: the date ids of the past redirect to the edition's name
    for old in ("/policy/2024-09-02", "/policy/2024-07-01"):
        response = client.get(old)
        assert response.status_code == 302, old
        assert response.headers["Location"].endswith("/policy/2024")


def test_default_settings_give_the_default_date_and_address(client):
    _html, root = page(client, "/policy?lang=en")
    assert "Effective date: July 1, 2024" in root.find(class_="policy-meta").text()
    assert (
        root.find("section", id="section-8").find("a").attrs["href"] == "mailto:info@xometry.asia"
    )


@pytest.mark.parametrize("app_config", [{"CONTACT_EMAIL": '<script>x</script>"@example.cn'}])
def test_settings_and_content_are_escaped(client):
    html, _root = page(client, "/policy?lang=en")
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("url", "current_word", "archived_word"),
    [("/policy", "现行", "已归档"), ("/policy?lang=en", "current", "archived")],
)
def test_editions_list_marks_the_current_one(client, url, current_word, archived_word):
    _html, root = page(client, url)
    items = list(root.find("ul", class_="policy-edition-list").iter("li"))
    assert len(items) == 2
    assert items[0].find("a").attrs["href"] == "/policy/2024"
    assert items[0].find("a").attrs.get("aria-current") == "page"
    assert items[0].find(class_="policy-badge").text() == current_word
    assert items[1].find("a").attrs["href"] == "/policy/2022"
    assert items[1].find(class_="policy-badge").text() == archived_word
    compare = root.find("a", class_="policy-compare-link").attrs["href"]
    assert compare == "/policy/compare?a=2022&b=2024"
    assert root.find("ul", class_="policy-changes")


def test_archived_edition_is_served_with_a_notice_and_its_own_text(client):
    _html, root = page(client, "/policy/2022?lang=en")
    notice = root.find(class_="policy-notice-archived")
    assert "archived edition" in notice.text()
    assert notice.find("a").attrs["href"] == "/policy"
    assert "March 15, 2022" in root.find(class_="policy-meta").text()
    article = root.find("article").text()
    assert "Room 5208, Building 5" in article and "Room 4225" not in article
    assert "International Transfer" in article
    assert not list(root.iter(id="appendix"))
    assert root.find("a", class_="policy-compare-link").attrs["href"] == (
        "/policy/compare?a=2022&b=2024"
    )
    _html, zh = page(client, "/policy/2022?lang=zh_CN")
    assert "5号楼5208室" in zh.find("article").text()
    assert "历史版本" in zh.find(class_="policy-notice-archived").text()


def test_current_page_has_no_archived_notice(client):
    _html, root = page(client, "/policy")
    assert not list(root.iter(class_="policy-notice-archived"))


def test_unknown_edition_is_404_and_date_addresses_redirect_to_the_name(client):
    assert client.get("/policy/2019-01-01").status_code == 404  # before any configured date
    assert client.get("/policy/2023").status_code == 404
    assert client.get("/policy/../etc").status_code == 404
    for old, name in (("2024-07-01", "2024"), ("2022-03-15", "2022")):
        response = client.get(f"/policy/{old}")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/policy/{name}")
    assert client.get("/policy/compare?a=2022&b=nope").status_code == 404
    old_comparison = client.get("/policy/compare?a=2022-03-15&b=2024-07-01&lang=en")
    assert old_comparison.status_code == 200


@pytest.mark.parametrize(
    ("url", "unchanged", "missing"),
    [
        ("/policy/compare", "未变更", "本版本无此内容。"),
        ("/policy/compare?lang=en", "unchanged", "Not in this edition."),
    ],
)
def test_compare_page_shows_both_editions_section_by_section(client, url, unchanged, missing):
    _html, root = page(client, url)
    assert selected(root.find("select", id="compare-a")) == ["2022"]
    assert selected(root.find("select", id="compare-b")) == ["2024"]
    rows = {r.attrs["id"]: r for r in root.iter("section", class_="compare-row")}
    assert list(rows)[:2] == ["compare-intro", "compare-processing"]
    cookies = rows["compare-cookies"]
    assert len(list(cookies.iter("div", class_="compare-col"))) == 2
    assert unchanged in cookies.find("h2").text()
    transfer_a, transfer_b = rows["compare-transfer"].iter("div", class_="compare-col")
    assert missing in transfer_b.text() and missing not in transfer_a.text()
    minors_a, _minors_b = rows["compare-minors"].iter("div", class_="compare-col")
    assert missing in minors_a.text()
    assert rows["compare-appendix"].find("table")
    assert root.find("ul", class_="policy-changes")


def test_compare_page_accepts_any_two_editions(client):
    _html, root = page(client, "/policy/compare?lang=en&a=2024&b=2022")
    first, second = list(root.find(id="compare-intro").iter("div", class_="compare-col"))
    assert "Room 4225" in first.text() and "Room 5208" in second.text()
    assert not list(root.iter("ul", class_="policy-changes"))  # no summary backwards


@pytest.mark.parametrize("url", ["/policy", "/policy/2022", "/policy/compare"])
def test_pages_have_no_inline_script_or_style(client, url):
    html, _root = page(client, url)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert "css/policy.css" in html
