"""The province/city data behind address and invoice forms: complete, consistent, bilingual."""

from __future__ import annotations

import json
import re
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


def test_every_county_level_division_is_under_its_city_with_both_names():
    document = _document()
    districts = [
        (city, d) for p in document["provinces"] for city in p["cities"] for d in city["districts"]
    ]
    assert 2800 <= len(districts) <= 2900  # 2,844 county-level divisions at the end of 2023
    codes = [d["code"] for _city, d in districts]
    codes += [c["code"] for p in document["provinces"] for c in p["cities"]]
    codes += [p["code"] for p in document["provinces"]]
    assert len(codes) == len(set(codes))
    suffixes = ("District", "County", "City", "Banner", "New Area", "Special District")
    for city, district in districts:
        assert district["code"][:2] == city["code"][:2]
        assert district["zh"].strip() and district["en"].endswith(suffixes), district
        assert re.fullmatch(r"[A-Z][A-Za-züê' ,]+", district["en"]), district  # Lüshunkou
        assert "  " not in district["en"] and district["en"][0].isupper(), district
    kinds = {d["kind"] for _city, d in districts}
    assert {"district", "county", "county_city", "banner", "autonomous_county"} <= kinds


@pytest.mark.parametrize(
    ("city", "district", "zh", "en"),
    [
        ("110100", "110108", "海淀区", "Haidian District"),
        ("310100", "310115", "浦东新区", "Pudong New Area"),
        ("440300", "440305", "南山区", "Nanshan District"),
        ("430100", "430121", "长沙县", "Changsha County"),  # 长 read as in place names
        ("500100", "500240", "石柱土家族自治县", "Shizhu Tujia Autonomous County"),  # 重庆's
        ("150500", "150521", "科尔沁左翼中旗", "Horqin Left Middle Banner"),
        ("653100", "653101", "喀什市", "Kashgar City"),  # the prefecture's English name
        ("522700", "522732", "三都水族自治县", "Sandu Sui Autonomous County"),
        ("130700", "130726", "蔚县", "Yu County"),  # corrected by hand
    ],
)
def test_known_districts_have_their_code_and_both_names(city, district, zh, en):
    assert (district, zh) in divisions.districts(city, "zh_CN")
    assert (district, en) in divisions.districts(city, "en")
    assert divisions.is_valid_district(city, district)
    assert divisions.name_of(district, "en") == en


def test_a_district_must_belong_to_its_city():
    assert not divisions.is_valid_district("440100", "440305")  # 南山区 is in 深圳, not 广州
    assert not divisions.is_valid_district("440300", "440300")  # a city is not its own district
    assert not divisions.is_valid_district("440300", "449999")
    assert not divisions.is_valid_district(None, None)
    assert not divisions.is_valid_pair("440000", "440305")  # nor is a district a city


def test_cities_without_districts_say_so():
    for city in ("441900", "442000", "460400", "620200", "429004", "810100"):
        assert divisions.districts(city) == [] and not divisions.has_districts(city)
    assert divisions.has_districts("440300")
    assert len(divisions.districts("110100")) == 16  # Beijing's districts
