"""The carriers staff may ship with, their names and their public tracking pages."""

from __future__ import annotations

from urllib.parse import quote

from flask_babel import lazy_gettext as _l

CARRIERS = {
    "sf": (_l("SF Express"), "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{number}"),
    "jd": (_l("JD Logistics"), "https://www.jdl.com/orderSearch/?waybillCodes={number}"),
    "deppon": (
        _l("Deppon"),
        "https://www.deppon.com/gwapi/trackService/eco/track/search?waybill={number}",
    ),
    "zto": (_l("ZTO Express"), "https://www.zto.com/?num={number}"),
    "yto": (_l("YTO Express"), "https://www.yto.net.cn/gw/index/index.html?waybill={number}"),
    "ems": (_l("EMS"), "https://www.ems.com.cn/queryList?mailNum={number}"),
    "other": (_l("Other carrier"), None),
}


def carrier_name(code: str | None):
    return CARRIERS[code][0] if code in CARRIERS else (code or "")


def tracking_url(code: str | None, number: str | None) -> str | None:
    """The carrier's public page for this waybill, when it has one."""
    if code not in CARRIERS or not number or CARRIERS[code][1] is None:
        return None
    return CARRIERS[code][1].format(number=quote(number, safe=""))
