"""China's provinces, cities and districts (GB/T 2260 codes) for address and invoice forms, in zh
or en.

The data is xometry_site/data/china_divisions.json (see its "notes" and
scripts/build_china_divisions.py): 34 provincial-level divisions; under each, its prefecture-level
divisions plus the county-level units a province administers directly; municipalities, Hong Kong,
Macao and Taiwan list themselves as their one city; under each city its districts (区/县/县级市/旗…),
none for the cities that have no subdivisions (东莞市, 仙桃市…). Codes are what forms submit and the
database stores; names are for display only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

PREFECTURE_KINDS = frozenset({"prefecture_city", "prefecture", "autonomous_prefecture", "league"})


@dataclass(frozen=True, slots=True)
class Division:
    """One province or city: its code, names in both languages, and its kind."""

    code: str
    zh: str
    en: str
    kind: str
    parent: str | None = None  # the province's code for a city, the city's for a district
    level: str = "province"  # province | city | district

    def name(self, locale: object = None) -> str:
        """The English name for an English locale, the Chinese one otherwise."""
        return self.en if _is_english(locale) else self.zh


@dataclass(frozen=True, slots=True)
class _Index:
    provinces: tuple[Division, ...]
    cities: dict[str, tuple[Division, ...]]  # province code -> its cities, by code
    districts: dict[str, tuple[Division, ...]]  # city code -> its districts, by code
    by_code: dict[str, Division]


def _is_english(locale: object) -> bool:
    """Accepts "en", "en_US", "en-GB" or a babel Locale; anything else means Chinese (default)."""
    return str(locale or "").lower().startswith("en")


@cache
def _index() -> _Index:
    """Read the JSON once per process; it never changes at run time."""
    raw = (
        resources.files("xometry_site").joinpath("data", "china_divisions.json").read_text("utf-8")
    )
    provinces: list[Division] = []
    cities: dict[str, tuple[Division, ...]] = {}
    districts: dict[str, tuple[Division, ...]] = {}
    by_code: dict[str, Division] = {}

    def add(division: Division) -> None:
        if division.code in by_code:
            raise ValueError(f"duplicate division code {division.code}")
        by_code[division.code] = division

    for item in json.loads(raw)["provinces"]:
        province = Division(item["code"], item["zh"], item["en"], item["kind"])
        provinces.append(province)
        add(province)
        children = []
        for c in item["cities"]:
            city = Division(c["code"], c["zh"], c["en"], c["kind"], province.code, "city")
            children.append(city)
            add(city)
            districts[city.code] = tuple(
                Division(d["code"], d["zh"], d["en"], d["kind"], city.code, "district")
                for d in c["districts"]
            )
            for district in districts[city.code]:
                add(district)
        cities[province.code] = tuple(children)
    return _Index(tuple(provinces), cities, districts, by_code)


def provinces(locale: object = None) -> list[tuple[str, str]]:
    """(code, name) of the 34 provincial-level divisions, in code order (the official order)."""
    return [(p.code, p.name(locale)) for p in _index().provinces]


def cities(province_code: str, locale: object = None) -> list[tuple[str, str]]:
    """(code, name) of the cities of one province, in code order; [] for an unknown province."""
    return [(c.code, c.name(locale)) for c in _index().cities.get(province_code, ())]


def districts(city_code: str, locale: object = None) -> list[tuple[str, str]]:
    """(code, name) of the districts of one city, in code order; [] for an unknown city or one
    without districts (东莞市, 仙桃市, Hong Kong…)."""
    return [(d.code, d.name(locale)) for d in _index().districts.get(city_code, ())]


def has_districts(city_code: str | None) -> bool:
    """Whether an address in this city must name its district (most cities; not 东莞市)."""
    return bool(_index().districts.get(city_code or ""))


def is_valid_pair(province_code: str | None, city_code: str | None) -> bool:
    """True when both codes exist and the city belongs to that province (a tampered form fails)."""
    city = _index().by_code.get(city_code or "")
    return city is not None and city.level == "city" and city.parent == province_code


def is_valid_district(city_code: str | None, district_code: str | None) -> bool:
    """True when the district exists and belongs to that city (a tampered form fails)."""
    district = _index().by_code.get(district_code or "")
    return district is not None and district.level == "district" and district.parent == city_code


def get(code: str | None) -> Division | None:
    """The province, city or district with this code, or None."""
    return _index().by_code.get(code or "")


def province_of(code: str | None) -> Division | None:
    """The province with this code, or None (for an unknown code, a city or a district)."""
    division = get(code)
    return division if division is not None and division.level == "province" else None


def city_of(code: str | None) -> Division | None:
    """The city with this code, or None (for an unknown code, a province or a district)."""
    division = get(code)
    return division if division is not None and division.level == "city" else None


def name_of(code: str | None, locale: object = None) -> str | None:
    """Display name of a province, city or district code, or None when the code is unknown."""
    division = get(code)
    return division.name(locale) if division else None


def is_prefecture_level(code: str) -> bool:
    """True for 地级市, 地区, 自治州 and 盟, False for everything else (and unknown codes)."""
    division = city_of(code)
    return division is not None and division.kind in PREFECTURE_KINDS


def as_json(locale: object = None) -> dict[str, list[dict[str, object]]]:
    """The whole tree as a jsonify-ready dict, for the small endpoint that fills the city menu."""
    return {
        "provinces": [
            {
                "code": code,
                "name": name,
                "cities": [{"code": c, "name": n} for c, n in cities(code, locale)],
            }
            for code, name in provinces(locale)
        ]
    }
