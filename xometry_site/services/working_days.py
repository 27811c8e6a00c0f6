"""Working days by China's official calendar, for promises like "we answer within 15 working days".

Public holidays and the weekends made working days in exchange (调休) come from the
`chinese-calendar` package, which knows the years the State Council has published (2004 to the
package's last year; see `official_calendar_years`). For a date outside those years (the coming
year's arrangement is published only around November) it falls back to Monday-Friday without
holidays: it never crashes, and `is_official(d)` tells a caller that a date is only an estimate.
Upgrading `chinese-calendar` each year turns those estimates into official dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache

import chinese_calendar

CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991


@cache
def official_calendar_years() -> range:
    """The years for which the installed `chinese-calendar` has the official arrangement."""
    years = [day.year for day in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def is_official(day: date) -> bool:
    """True when `day` is in a year the official calendar covers, False when we only estimate."""
    return china_date(day).year in official_calendar_years()


def china_date(moment: date | datetime) -> date:
    """The calendar date in China: aware datetimes are converted, naive ones are taken as UTC."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(CHINA_TIME).date()
    return moment


def is_working_day(day: date | datetime) -> bool:
    """Whether offices work that day: official calendar when known, otherwise Monday to Friday."""
    day = china_date(day)
    if day.year in official_calendar_years():
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def add_working_days(start: date | datetime, n: int) -> date:
    """The date `n` working days after `start`; the start day never counts, the next one is day 1.

    A request made on Friday 2024-09-27 with n=15 is due on 2024-10-23: National Day (1-7 October)
    is skipped and the adjusted working days 29 September and 12 October count.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    day = china_date(start)
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date | datetime, b: date | datetime) -> int:
    """Working days after `a` up to and including `b`; negative when `b` is before `a`.

    The inverse of `add_working_days`: working_days_between(a, add_working_days(a, n)) == n.
    """
    a, b = china_date(a), china_date(b)
    if b < a:
        return -working_days_between(b, a)
    return sum(is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))
