"""The province/city data behind address and invoice forms: complete, consistent, bilingual."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from xometry_site.services import divisions


def _document() -> dict:
    raw = (
        resources.files("xometry_site").joinpath("data", "china_divisions.json").read_text("utf-8")
    )
    return json.loads(raw)


def test_there_are_34_provincial_level_divisions_in_official_code_order():
    codes = [code for code, _ in divisions.provinces("zh_CN")]
    assert len(codes) == 34
    assert codes == sorted(codes)
    assert codes[0] == "110000" and "710000" in codes and codes[-1] == "820000"


def test_mainland_has_333_prefecture_level_divisions_by_kind():
    kinds = Counter(
        city["kind"] for province in _document()["provinces"] for city in province["cities"]
    )
    # Official 2023 totals: 293 prefecture-level cities, 7 prefectures,
    # 30 autonomous prefectures, 3 leagues.
    assert kinds["prefecture_city"] == 293
    assert kinds["prefecture"] == 7
    assert kinds["autonomous_prefecture"] == 30
    assert kinds["league"] == 3


def test_every_province_has_a_city_and_every_name_is_filled_in_both_languages():
    for code, name_zh in divisions.provinces("zh_CN"):
        assert name_zh.strip()
        assert divisions.name_of(code, "en").strip()
        cities = divisions.cities(code, "zh_CN")
        assert cities, code
        for city_code, city_zh in cities:
            assert city_zh.strip()
            assert divisions.name_of(city_code, "en").strip()
            assert city_code.isdigit() and len(city_code) == 6


def test_all_codes_are_unique_across_provinces_and_cities():
    document = _document()
    codes = [p["code"] for p in document["provinces"]]
    codes += [c["code"] for p in document["provinces"] for c in p["cities"]]
    assert len(codes) == len(set(codes))


def test_city_codes_start_with_their_province_prefix():
    for code, _ in divisions.provinces():
        for city_code, _ in divisions.cities(code):
            assert city_code[:2] == code[:2]


@pytest.mark.parametrize(
    ("province", "city", "zh", "en"),
    [
        ("440000", "440100", "广州市", "Guangzhou"),
        ("530000", "532800", "西双版纳傣族自治州", "Xishuangbanna Dai Autonomous Prefecture"),
        ("150000", "152500", "锡林郭勒盟", "Xilingol League"),
        ("650000", "653100", "喀什地区", "Kashgar Prefecture"),
        ("110000", "110100", "北京市", "Beijing"),
        ("500000", "500100", "重庆市", "Chongqing"),
        ("420000", "429004", "仙桃市", "Xiantao"),  # county-level city under the province
        ("810000", "810100", "香港特别行政区", "Hong Kong"),
    ],
)
def test_known_cities_have_their_official_code_and_both_names(province, city, zh, en):
    assert (city, zh) in divisions.cities(province, "zh_CN")
    assert (city, en) in divisions.cities(province, "en")
    assert divisions.is_valid_pair(province, city)


def test_municipalities_list_themselves_as_their_single_city():
    for province in ("110000", "120000", "310000", "500000"):
        [(code, name)] = divisions.cities(province, "zh_CN")
        assert name == divisions.name_of(province, "zh_CN")
        assert code == province[:2] + "0100"


def test_merged_or_abolished_cities_are_absent():
    # 莱芜市 (371200) was merged into 济南 in 2019;
    # 巢湖市 (341400) stopped being a prefecture in 2011.
    assert divisions.get("371200") is None
    assert divisions.get("341400") is None
    assert len(divisions.cities("370000")) == 16


def test_a_city_from_another_province_or_a_made_up_code_is_not_a_valid_pair():
    assert not divisions.is_valid_pair("440000", "110100")  # Beijing is not in Guangdong
    assert not divisions.is_valid_pair("440000", "440000")  # a province is not its own city
    assert not divisions.is_valid_pair("440000", "449900")
    assert not divisions.is_valid_pair("", "")
    assert not divisions.is_valid_pair(None, None)


def test_locale_picks_the_language_and_chinese_is_the_default():
    assert divisions.name_of("440300") == "深圳市"
    assert divisions.name_of("440300", "zh_CN") == "深圳市"
    assert divisions.name_of("440300", "en") == "Shenzhen"
    assert divisions.name_of("440300", "en_US") == "Shenzhen"
    assert divisions.name_of("999999", "en") is None
    assert divisions.cities("999999") == []


def test_prefecture_level_is_told_apart_from_province_administered_counties():
    assert divisions.is_prefecture_level("440100")
    assert divisions.is_prefecture_level("232700")  # 大兴安岭地区
    assert not divisions.is_prefecture_level("659001")  # 石河子市, county-level
    assert not divisions.is_prefecture_level("440000")


def test_as_json_serialises_the_whole_tree_for_the_city_menu():
    tree = divisions.as_json("en")
    text = json.dumps(tree, ensure_ascii=False)
    assert len(tree["provinces"]) == 34
    guangdong = next(p for p in tree["provinces"] if p["code"] == "440000")
    assert guangdong["name"] == "Guangdong"
    assert {"code": "440300", "name": "Shenzhen"} in guangdong["cities"]
    assert "深圳" not in text
