"""The policy as site content: complete in both languages, free of the source's artefacts, configurable."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from xometry_site.policies import (
    CONTENT_DIR,
    LOCALES,
    content_keys,
    current_edition,
    editions,
    get_edition,
    load_document,
)
from xometry_site.policies.compare import compare_rows

EDITION_IDS = ("2024", "2022")  # names, whatever the effective dates
ARTEFACTS = (
    "[bookmark",
    "[ ",
    "[\u3000",
    "xomery",
    "OLE_LINK",
    "_List_of_Personal",
    "**",
    "{",
    "}",
)


def all_documents():
    for edition in editions({}):
        for locale in LOCALES:
            yield edition, locale, load_document(edition, locale)


def strings(value):
    """Every string in a document tree, keys excluded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def anchors(document) -> list[str]:
    found = []

    def walk(blocks):
        for block in blocks:
            if block["type"] == "subsection":
                found.append(block["anchor"])
                walk(block["blocks"])

    for section in document["sections"]:
        found.append(section["anchor"])
        walk(section["blocks"])
    if document["appendix"]:
        found.append(document["appendix"]["anchor"])
    return found


def block_shape(value):
    """The document with its texts blanked: what both languages must share."""
    if isinstance(value, dict):
        return {k: block_shape(v) for k, v in value.items() if k not in {"text", "title", "label"}}
    if isinstance(value, list):
        return [block_shape(v) for v in value]
    return "·" if isinstance(value, str) else value


def personal_center(document):
    return next(g for g in document["appendix"]["rows"] if len(g["rows"]) > 1)


def invoice_item(document):
    """Item (4) of 5.3 A: correcting invoice information."""
    section = next(s for s in document["sections"] if s["anchor"] == "section-5")
    sub = next(b for b in section["blocks"] if b.get("anchor") == "section-5-3")
    items = next(b for b in sub["blocks"] if b["type"] == "ol")["items"]
    return items[0]["items"][3]["text"]


def test_both_editions_in_both_languages_load_newest_first():
    assert [e.id for e in editions({})] == list(EDITION_IDS)
    for edition, _locale, document in all_documents():
        assert document["title"]
        assert document["sections"], edition
    assert load_document(editions({})[0], "en")["title"] == "Data Protection Policy"
    assert load_document(editions({})[0], "zh_CN")["title"] == "个人信息保护政策"


def test_current_edition_has_sections_1_to_8_and_the_appendix():
    document = load_document(current_edition({}), "en")
    assert [s["anchor"] for s in document["sections"]] == [f"section-{n}" for n in range(1, 9)]
    assert "section-1-2" in anchors(document)
    assert "section-5-7" in anchors(document)
    assert document["appendix"]["anchor"] == "appendix"
    assert len(document["appendix"]["columns"]) == 4


@pytest.mark.parametrize("edition_id", EDITION_IDS)
def test_languages_share_anchors_and_structure(edition_id):
    edition = get_edition({}, edition_id)
    english, chinese = load_document(edition, "en"), load_document(edition, "zh_CN")
    assert anchors(english) == anchors(chinese)
    assert block_shape(english["sections"]) == block_shape(chinese["sections"])
    assert block_shape(english["intro"]) == block_shape(chinese["intro"])
    assert block_shape(english["appendix"]) == block_shape(chinese["appendix"])
    assert len(english["changes"]) == len(chinese["changes"])


def test_chinese_rendering_is_chinese_throughout():
    """Every paragraph and item of the Chinese documents is written in Chinese, not left in English."""
    for edition in editions({}):
        document = load_document(edition, "zh_CN")
        for text in strings(document["sections"]):
            if len(text) > 12:
                assert re.search(r"[\u4e00-\u9fff]", text), (edition.id, text)


def test_no_source_artefacts_anywhere():
    for edition, locale, document in all_documents():
        text = "\n".join(strings(document))
        for artefact in ARTEFACTS:
            assert artefact not in text, (edition.id, locale, artefact)
        assert "Xometry" in text or "xometry" in text


def test_raw_files_hold_placeholders_not_the_settings():
    """The date and address come from settings: the stored text must not hard-code them (an
    archived edition names the address it was published with in its own field)."""
    for path in CONTENT_DIR.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        document.pop("contact_email", None)
        raw = json.dumps(document, ensure_ascii=False)
        assert "info@" not in raw, path.name
        assert "[" + " " * 4 + "]" not in raw, path.name
    raw_2024 = (CONTENT_DIR / "2024.en.json").read_text(encoding="utf-8")
    assert "{effective_date}" in raw_2024
    assert "{contact_email}" in raw_2024


def test_postal_code_once_for_personal_invoices():
    english = invoice_item(load_document(current_edition({}), "en"))
    corporate, personal = english.split("for corporate invoice")
    assert corporate.count("postal code") == 1
    assert personal.count("postal code") == 1
    chinese = invoice_item(load_document(current_edition({}), "zh_CN"))
    corporate_zh, personal_zh = chinese.split("个人发票")
    assert corporate_zh.count("邮政编码") == 1
    assert personal_zh.count("邮政编码") == 1


@pytest.mark.parametrize(
    ("locale", "subs"),
    [
        ("en", ["Account Information", "Shipping Information", "Invoice Information"]),
        ("zh_CN", ["账户信息", "收货信息", "发票信息"]),
    ],
)
def test_appendix_personal_center_has_three_sub_rows(locale, subs):
    document = load_document(current_edition({}), locale)
    groups = document["appendix"]["rows"]
    assert len(groups) == 3
    center = personal_center(document)
    assert center["scenario"] in {"Personal Center", "个人中心"}
    assert [row["sub"] for row in center["rows"]] == subs
    for group in groups:
        for row in group["rows"]:
            assert row["information"] and row["purpose"] and row["method"]


@pytest.mark.parametrize("locale", LOCALES)
def test_each_edition_keeps_its_own_office_address(locale):
    def text(edition_id):  # the policy itself, without the summary of changes that names both
        document = load_document(get_edition({}, edition_id), locale)
        return json.dumps({k: v for k, v in document.items() if k != "changes"}, ensure_ascii=False)

    new, old = text("2024"), text("2022")
    new_room, old_room = ("Room 4225", "Room 5208") if locale == "en" else ("4225室", "5208室")
    assert new_room in new and old_room not in new
    assert old_room in old and new_room not in old


def test_settings_change_the_effective_date_and_the_contact_address():
    config = {"POLICY_EFFECTIVE_DATE": "2024-09-02", "CONTACT_EMAIL": "privacy@example.cn"}
    edition = current_edition(config)
    assert edition.id == "2024"  # the date is not the name
    assert edition.effective_date == date(2024, 9, 2)
    english = json.dumps(load_document(edition, "en"), ensure_ascii=False)
    chinese = json.dumps(load_document(edition, "zh_CN"), ensure_ascii=False)
    assert "last updated on September 2, 2024." in english
    assert "最近更新于2024年9月2日" in chinese
    assert "privacy@example.cn" in english and "privacy@example.cn" in chinese
    assert "info@xometry.asia" not in english
    # defaults
    default = load_document(current_edition({}), "en")
    assert "last updated on July 1, 2024." in json.dumps(default)
    assert "info@xometry.asia" in json.dumps(default)
    # the archived edition keeps its own date whatever the setting
    assert get_edition(config, "2022").effective_date == date(2022, 3, 15)
    # ... and its own contact address, whatever the setting
    archived = load_document(get_edition(config, "2022"), "en")
    assert "info@xometry.asia" in json.dumps(archived)
    assert "privacy@example.cn" not in json.dumps(archived)
    # ids of the past (effective dates) still find their edition, the setting's and the default
    for old_id in ("2024-09-02", "2024-07-01"):
        assert get_edition(config, old_id) == edition
    assert get_edition(config, "2022-03-15").id == "2022"


def test_archived_and_current_flags_and_lookup():
    current, archived = editions({})
    assert current.is_current and not current.is_archived
    assert archived.is_archived and archived.id == current.previous_id
    assert get_edition({}, "2024-07-01") == current  # the date id of the past
    assert get_edition({}, "1999-01-01") is None


def test_publishing_a_new_edition_is_content_plus_one_setting(monkeypatch, tmp_path):
    """Draft files are not published until POLICY_CURRENT_EDITION names them."""
    import xometry_site.policies as policies

    for path in CONTENT_DIR.glob("*.json"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    for locale in LOCALES:
        draft = json.loads((CONTENT_DIR / f"2024.{locale}.json").read_text(encoding="utf-8"))
        draft["effective_date"] = "2026-01-01"
        draft["title"] += " 2026"
        (tmp_path / f"2026.{locale}.json").write_text(json.dumps(draft), encoding="utf-8")
    monkeypatch.setattr(policies, "CONTENT_DIR", tmp_path)
    policies.load_document.cache_clear()
    policies.content_keys.cache_clear()
    policies.read_raw.cache_clear()
    try:
        pinned = {"POLICY_CURRENT_EDITION": "2024"}
        assert [e.id for e in editions(pinned)] == list(EDITION_IDS)
        assert get_edition(pinned, "2026-01-01") == current_edition(pinned)  # a date in 2024's time
        assert get_edition(pinned, "2026") is None
        published = {"POLICY_CURRENT_EDITION": "2026"}
        ids = [e.id for e in editions(published)]
        assert ids == ["2026", *EDITION_IDS]
        assert current_edition(published).previous_id == "2024"
        assert not get_edition(published, "2024-07-01").is_current
        assert get_edition(published, "2026-01-01").id == "2026"
    finally:
        policies.content_keys.cache_clear()
        policies.read_raw.cache_clear()
        policies.load_document.cache_clear()


def test_unknown_current_edition_setting_is_refused():
    with pytest.raises(LookupError):
        editions({"POLICY_CURRENT_EDITION": "2031"})


def test_comparison_lines_up_sections_by_topic():
    old, new = (load_document(get_edition({}, i), "en") for i in ("2022", "2024"))
    rows = {row.topic: row for row in compare_rows(old, new)}
    assert rows["cookies"].unchanged
    assert not rows["rights"].unchanged
    assert rows["transfer"].a and not rows["transfer"].b
    assert rows["minors"].b and not rows["minors"].a
    assert rows["appendix"].b and not rows["appendix"].a
    assert next(iter(rows)) == "intro"


def test_content_keys_are_complete_pairs():
    assert set(content_keys()) == {"2022", "2024"}
